// What the AWS adapters (sqs.ts, s3.ts, ec2.ts) are built from, and the client plumbing they share.
// Nothing here leaks SDK types: the intercept hook speaks plain objects.

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export type AwsService = 'sqs' | 's3' | 'ec2';

/** One SDK command as the hooks see it. */
export interface AwsCall {
  service: AwsService;
  /** e.g. `ChangeMessageVisibilityCommand` */
  command: string;
  input: Readonly<Record<string, unknown>>;
}

/**
 * A hook called before an SDK command is sent. Throw an AWS-shaped error
 * (`Object.assign(new Error(msg), { name, $metadata: { httpStatusCode } })`) to inject a fault, or
 * await to add latency. Tests only.
 */
export type AwsInterceptor = (call: AwsCall) => void | Promise<void>;

/**
 * Hooks by where they sit (tests only):
 * - `call`: once per command, before the SDK's retry loop (an `initialize` step middleware). An
 *   error thrown here is NOT retried by the SDK: it reaches the adapter (and the runner) at once.
 * - `attempt`: once per HTTP attempt, inside the SDK's retry loop (right after its
 *   `retryMiddleware`). An error thrown here is retried by the SDK exactly as the same error from
 *   the server would be (throttling, 5xx and network errors: yes, up to `maxAttempts`; 4xx: no).
 * - `done`: after a command succeeded (retries included), with its output as a plain object.
 */
export interface AwsHooks {
  call?: AwsInterceptor;
  attempt?: AwsInterceptor;
  done?: (call: AwsCall, output: Readonly<Record<string, unknown>>) => void;
}

export interface AwsOptions {
  region: string;
  /** e.g. `http://127.0.0.1:4566`. Passed to the client constructor (fauxqs needs it there). */
  endpoint?: string;
  /** Default: the SDK's provider chain (environment, profile, instance role). */
  credentials?: AwsCredentials;
  /** SDK attempts per call, retries included (default 3, the SDK's). */
  maxAttempts?: number;
  /** A plain interceptor sits at `call` (see AwsHooks). */
  intercept?: AwsInterceptor | AwsHooks;
}

type Handler = (args: { input: object }) => Promise<unknown>;
type Middleware = (next: Handler, context: { commandName?: string }) => Handler;

/** The subset of an SDK client's middleware stack we use (structural, so no SDK type leaks). */
interface StackLike {
  add(mw: Middleware, opts: { step: 'initialize'; name: string }): void;
  addRelativeTo(mw: Middleware, opts: { relation: 'after'; toMiddleware: string; name: string }): void;
}

/** The SDK's retry middleware (@smithy/core's retryMiddlewareOptions.name). */
const SDK_RETRY_MIDDLEWARE = 'retryMiddleware';

export function installIntercept(
  stack: unknown,
  service: AwsService,
  intercept: AwsInterceptor | AwsHooks | undefined,
): void {
  if (!intercept) return;
  const hooks: AwsHooks = typeof intercept === 'function' ? { call: intercept } : intercept;
  // The SDK's MiddlewareStack is generic over each client's input and output unions; our
  // middleware only reads the input (and the output) and passes both through, so the narrower
  // view is safe.
  const s = stack as StackLike;
  const describe = (args: { input: object }, context: { commandName?: string }): AwsCall => ({
    service,
    command: context.commandName ?? 'unknown',
    input: args.input as Readonly<Record<string, unknown>>,
  });
  const { call, attempt, done } = hooks;
  if (call || done) {
    s.add(
      (next, context) => async (args) => {
        if (call) await call(describe(args, context));
        const result = await next(args);
        if (done) {
          const output = (result as { output?: unknown }).output;
          if (typeof output === 'object' && output !== null) done(describe(args, context), output as Readonly<Record<string, unknown>>);
        }
        return result;
      },
      { step: 'initialize', name: 'bookpipelineIntercept' },
    );
  }
  if (attempt) {
    s.addRelativeTo(
      (next, context) => async (args) => {
        await attempt(describe(args, context));
        return next(args);
      },
      { relation: 'after', toMiddleware: SDK_RETRY_MIDDLEWARE, name: 'bookpipelineInterceptAttempt' },
    );
  }
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
