// Error classes that tell the runner what to do with the message a failing job came from.
//
//   action        runner does
//   dead-letter   Queue.deadLetter(msg, reason): the job can never succeed as it is
//   retry         leave the message alone (or release it); it comes back after its visibility
//                 timeout, and redrive moves it to the DLQ after maxReceiveCount receipts
//   abandon       stop the job and touch nothing: the lease is gone, someone else may hold it
//   exit          configuration is wrong: stop the process with `exitCode` (2)
//
// AWS SDK errors are mapped onto these classes in one place: pipeline/aws/classify.ts.

export type ErrorAction = 'dead-letter' | 'retry' | 'abandon' | 'exit';

export abstract class PipelineError extends Error {
  abstract readonly action: ErrorAction;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The job can never succeed as it is (corrupt image, bad message): dead-letter it. */
export class PermanentError extends PipelineError {
  readonly action: ErrorAction = 'dead-letter';
}

/** Throttling, 5xx, network: let the message come back and try again. */
export class TransientError extends PipelineError {
  readonly action: ErrorAction = 'retry';
}

/** Wrong configuration or permissions: the process exits with code 2. */
export class ConfigError extends PipelineError {
  readonly action: ErrorAction = 'exit';
  readonly exitCode = 2;
}

/** An object, queue or bucket that does not exist. */
export class NotFoundError extends PermanentError {
  constructor(
    readonly what: 'object' | 'queue' | 'bucket' | 'message',
    readonly id: string,
    options?: { cause?: unknown },
  ) {
    super(`${what} not found: ${id}`, options);
  }
}

/** A store key that breaks the rules in ports.ts `checkKey`. */
export class InvalidKeyError extends PermanentError {
  constructor(
    readonly key: string,
    readonly why: string,
  ) {
    super(`invalid key ${JSON.stringify(key)}: ${why}`);
  }
}

/**
 * The message would stay in flight more than 12 h after its receipt (SQS rejects the
 * ChangeMessageVisibility). The job has run too long to ever finish: give it up (dead-letter),
 * do not retry it in a loop.
 */
export class HeartbeatCeilingError extends PermanentError {}

/**
 * The receipt handle is no longer the current one: the message was deleted, its visibility
 * expired, or someone else received it. Stop the job and leave the message alone.
 */
export class LeaseLostError extends PipelineError {
  readonly action: ErrorAction = 'abandon';
}

/** The operation was aborted through its AbortSignal (shutdown, failed heartbeat). */
export class AbortedError extends TransientError {}

export function isPipelineError(err: unknown): err is PipelineError {
  return err instanceof PipelineError;
}

/** What the runner should do after `err`. Unknown errors are retried (redrive bounds the retries). */
export function actionFor(err: unknown): ErrorAction {
  return err instanceof PipelineError ? err.action : 'retry';
}

/** A short, single-line description of an error for logs and dead-letter records. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`.replace(/\s+/g, ' ').slice(0, 1000);
  return String(err).slice(0, 1000);
}
