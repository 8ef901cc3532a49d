// What the AWS adapters (sqs.ts, s3.ts, ec2.ts) are built from, and the client plumbing they share.
// Nothing here leaks SDK types: the intercept hook speaks plain objects.

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * A hook called before every SDK command is sent (installed as an `initialize` step middleware).
 * Throw an AWS-shaped error (`Object.assign(new Error(msg), { name, $metadata: { httpStatusCode } })`)
 * to inject a fault, or await to add latency. Tests only.
 */
export type AwsService = 'sqs' | 's3' | 'ec2';

export type AwsInterceptor = (call: {
  service: AwsService;
  /** e.g. `ChangeMessageVisibilityCommand` */
  command: string;
  input: Readonly<Record<string, unknown>>;
}) => void | Promise<void>;

export interface AwsOptions {
  region: string;
  /** e.g. `http://127.0.0.1:4566`. Passed to the client constructor (fauxqs needs it there). */
  endpoint?: string;
  /** Default: the SDK's provider chain (environment, profile, instance role). */
  credentials?: AwsCredentials;
  /** SDK attempts per call, retries included (default 3, the SDK's). */
  maxAttempts?: number;
  intercept?: AwsInterceptor;
}

/** The subset of an SDK client's middleware stack we use (structural, so no SDK type leaks). */
interface StackLike {
  add(
    mw: (
      next: (args: { input: object }) => Promise<unknown>,
      context: { commandName?: string },
    ) => (args: { input: object }) => Promise<unknown>,
    opts: { step: 'initialize'; name: string },
  ): void;
}

export function installIntercept(
  stack: unknown,
  service: AwsService,
  intercept: AwsInterceptor | undefined,
): void {
  if (!intercept) return;
  // The SDK's MiddlewareStack is generic over each client's input and output unions; our
  // middleware only reads the input and passes the output through, so the narrower view is safe.
  (stack as StackLike).add(
    (next, context) => async (args) => {
      await intercept({
        service,
        command: context.commandName ?? 'unknown',
        input: args.input as Readonly<Record<string, unknown>>,
      });
      return next(args);
    },
    { step: 'initialize', name: 'bookpipelineIntercept' },
  );
}

export function clientConfig(opts: AwsOptions): {
  region: string;
  endpoint?: string;
  credentials?: AwsCredentials;
  maxAttempts?: number;
} {
  return {
    region: opts.region,
    ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials !== undefined ? { credentials: opts.credentials } : {}),
    ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
  };
}
