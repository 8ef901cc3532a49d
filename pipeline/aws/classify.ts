// The one place where AWS SDK errors become pipeline errors (pipeline/errors.ts).
// Matches by error name (loosely: the Query and JSON protocols spell some codes differently,
// e.g. `AWS.SimpleQueueService.NonExistentQueue`), then by HTTP status, then by `$retryable`.

import { FleetCapacityError, SpotPriceTooLowError } from '../fleet.js';
import {
  AbortedError,
  ConfigError,
  HeartbeatCeilingError,
  LeaseLostError,
  NotFoundError,
  PermanentError,
  PipelineError,
  TransientError,
} from '../errors.js';

export interface ClassifyContext {
  /** What we were doing, for the message: `ChangeMessageVisibility rescribeocrpage`, `GetObject book/x.png`. */
  operation?: string;
  /** Set for S3 object operations: a 404 becomes NotFoundError('object', key). */
  key?: string;
  bucket?: string;
  queue?: string;
  /** Set by the EC2 adapter: EC2's InvalidParameterValue is a settings problem, not a heartbeat one. */
  service?: 'sqs' | 's3' | 'ec2';
}

/** The fields of an SDK error we look at; read defensively from an unknown value. */
interface AwsErrorShape {
  name: string;
  message: string;
  code?: string;
  status?: number;
  retryable: boolean;
  throttling: boolean;
}

function shape(err: unknown): AwsErrorShape {
  const o = (typeof err === 'object' && err !== null ? err : {}) as Record<string, unknown>;
  const meta = (typeof o.$metadata === 'object' && o.$metadata !== null ? o.$metadata : {}) as Record<string, unknown>;
  const retry = (typeof o.$retryable === 'object' && o.$retryable !== null ? o.$retryable : undefined) as
    | Record<string, unknown>
    | undefined;
  const res = (typeof o.$response === 'object' && o.$response !== null ? o.$response : {}) as Record<string, unknown>;
  const status =
    typeof meta.httpStatusCode === 'number'
      ? meta.httpStatusCode
      : typeof res.statusCode === 'number'
        ? res.statusCode
        : undefined;
  return {
    name: typeof o.name === 'string' ? o.name : typeof o.Code === 'string' ? o.Code : 'Error',
    message: typeof o.message === 'string' ? o.message : String(err),
    code: typeof o.code === 'string' ? o.code : typeof o.Code === 'string' ? o.Code : undefined,
    status,
    retryable: retry !== undefined,
    throttling: retry?.throttling === true,
  };
}

const THROTTLING = /Throttl|SlowDown|RequestLimitExceeded|TooManyRequests|OverLimit|ProvisionedThroughputExceeded|BandwidthLimitExceeded|RequestThrottled|KmsThrottled/i;
const TRANSIENT_NAMES = /^(InternalError|InternalFailure|ServiceUnavailable|ServiceUnavailableException|RequestTimeout|RequestTimeoutException|TimeoutError|RequestExpired|ExpiredToken|ExpiredTokenException|PurgeQueueInProgress|QueueDeletedRecently|OperationAborted)$/;
const NETWORK_CODES = /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|EPIPE|ETIMEDOUT|EAI_AGAIN|ENETUNREACH|EHOSTUNREACH|ENETDOWN|ESOCKETTIMEDOUT|UND_ERR_SOCKET|UND_ERR_CONNECT_TIMEOUT)$/;
const ACCESS = /AccessDenied|AccessDeniedException|Forbidden|InvalidClientTokenId|UnrecognizedClientException|SignatureDoesNotMatch|InvalidAccessKeyId|InvalidSecurity|MissingAuthenticationToken|CredentialsProviderError|AuthFailure|UnauthorizedOperation|KmsAccessDenied|KmsDisabled|KmsNotFound|KmsOptInRequired|KmsInvalidState|KmsInvalidKeyUsage/;
const NOT_FOUND_QUEUE = /QueueDoesNotExist|NonExistentQueue/;
const NOT_FOUND_BUCKET = /NoSuchBucket/;
const NOT_FOUND_KEY = /^(NoSuchKey|NotFound)$/;
const STALE_HANDLE = /ReceiptHandleIsInvalid|MessageNotInflight/;
/** AWS's text for the 12-hour ceiling: "... Total VisibilityTimeout for the message is beyond the limit [43200 seconds]". */
const CEILING_TEXT = /beyond the limit|43200 seconds|maximum visibility|12 hours/i;
/** AWS's text for a handle that cannot be changed: "Message does not exist or is not available for visibility timeout change". */
const STALE_TEXT = /ReceiptHandle|does not exist or is not available|not in ?flight/i;

// EC2 (the fleet side). Capacity comes and goes: try another instance type or subnet, or later.
const EC2_CAPACITY = /^(InsufficientInstanceCapacity|InsufficientCapacity|InsufficientHostCapacity|InsufficientReservedInstanceCapacity|InsufficientAddressCapacity|InsufficientFreeAddressesInSubnet|InsufficientCapacityOnOutpost)$/;
/** Account limits and settings EC2 rejects: fixed by changing settings or asking for a higher quota. */
const EC2_SETTINGS = /^(MaxSpotInstanceCountExceeded|VcpuLimitExceeded|InstanceLimitExceeded|Unsupported|UnsupportedOperation|InvalidParameterCombination|InvalidParameter|MissingParameter|InvalidBlockDeviceMapping|InvalidUserData\.Malformed|OptInRequired|PendingVerification|Blocked|DryRunOperation)$|^Invalid[A-Za-z0-9]*\.(NotFound|Malformed|Duplicate|InUse|Unavailable)$/;

/**
 * Map an error thrown by an AWS SDK call to a PipelineError (the original is kept as `cause`).
 * Pipeline errors pass through unchanged.
 */
export function classifyAwsError(err: unknown, ctx: ClassifyContext = {}): PipelineError {
  if (err instanceof PipelineError) return err;
  const e = shape(err);
  const where = ctx.operation ? `${ctx.operation}: ` : '';
  const msg = `${where}${e.name}: ${e.message}`;
  const cause = { cause: err };

  if (e.name === 'AbortError' || e.code === 'ABORT_ERR') return new AbortedError(msg, cause);

  if (EC2_CAPACITY.test(e.name)) return new FleetCapacityError(msg, cause);
  if (e.name === 'SpotMaxPriceTooLow') return new SpotPriceTooLowError(msg, cause);
  if (EC2_SETTINGS.test(e.name) || (ctx.service === 'ec2' && /^InvalidParameterValue$/.test(e.name))) {
    return new ConfigError(msg, cause);
  }

  // The heartbeat family (ChangeMessageVisibility) first: InvalidParameterValue is overloaded.
  if (/InvalidParameterValue/.test(e.name)) {
    if (CEILING_TEXT.test(e.message)) return new HeartbeatCeilingError(msg, cause);
    if (STALE_TEXT.test(e.message)) return new LeaseLostError(msg, cause);
    return new PermanentError(msg, cause);
  }
  if (STALE_HANDLE.test(e.name)) return new LeaseLostError(msg, cause);

  if (NOT_FOUND_QUEUE.test(e.name)) return new NotFoundError('queue', ctx.queue ?? '?', cause);
  if (NOT_FOUND_BUCKET.test(e.name)) return new NotFoundError('bucket', ctx.bucket ?? '?', cause);
  if (NOT_FOUND_KEY.test(e.name) || (e.status === 404 && ctx.key !== undefined)) {
    return new NotFoundError('object', ctx.key ?? '?', cause);
  }

  if (ACCESS.test(e.name)) return new ConfigError(msg, cause);
  // Before the generic 403 rule: SQS answers RequestThrottled and PurgeQueueInProgress with 403.
  if (e.throttling || THROTTLING.test(e.name) || e.status === 429 || e.status === 503) {
    return new TransientError(msg, cause);
  }
  if (TRANSIENT_NAMES.test(e.name) || (e.code !== undefined && NETWORK_CODES.test(e.code)) || NETWORK_CODES.test(e.name)) {
    return new TransientError(msg, cause);
  }
  if (e.status === 401 || e.status === 403) return new ConfigError(msg, cause);
  if (e.name === 'ENOTFOUND' || e.code === 'ENOTFOUND') {
    // An endpoint that does not resolve is a configuration problem, not a blip.
    return new ConfigError(`${msg} (check the endpoint and region)`, cause);
  }
  if (e.status !== undefined && e.status >= 500) return new TransientError(msg, cause);
  if (e.retryable) return new TransientError(msg, cause);
  if (e.status !== undefined && e.status >= 400) return new PermanentError(msg, cause);
  // No HTTP status at all: the request never got an answer (socket, DNS, timeout): retry.
  return new TransientError(msg, cause);
}
