// AWS errors become pipeline errors in one place (pipeline/aws/classify.ts): by shape, and
// end to end through the SDK with faults injected by the adapters' intercept hook (fauxqs does
// not produce these errors itself).

import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { classifyAwsError } from '../../pipeline/aws/classify.js';
import type { AwsInterceptor } from '../../pipeline/aws/options.js';
import { S3Store } from '../../pipeline/aws/s3.js';
import { SqsQueueAdmin } from '../../pipeline/aws/sqs.js';
import {
  AbortedError,
  actionFor,
  ConfigError,
  HeartbeatCeilingError,
  LeaseLostError,
  NotFoundError,
  PermanentError,
  TransientError,
  type PipelineError,
} from '../../pipeline/errors.js';
import { TEST_CREDENTIALS, TEST_REGION, uniqueBucketName, uniqueQueueName, useFauxqs } from '../support/fauxqs.js';

const fauxqs = useFauxqs();

function awsError(name: string, status?: number, message = `${name} happened`, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status !== undefined && status >= 500 ? 'server' : 'client',
    ...(status !== undefined ? { $metadata: { httpStatusCode: status } } : {}),
    ...extra,
  });
}

type ErrorClass = abstract new (...args: never[]) => PipelineError;

describe('classifyAwsError', () => {
  const cases: Array<[string, Error, ErrorClass]> = [
    ['SQS throttling', awsError('RequestThrottled', 400), TransientError],
    ['$retryable throttling', awsError('SomethingNew', 400, 'x', { $retryable: { throttling: true } }), TransientError],
    ['S3 SlowDown', awsError('SlowDown', 503), TransientError],
    ['500', awsError('InternalError', 500), TransientError],
    ['502 without a name we know', awsError('UnknownError', 502), TransientError],
    ['socket reset', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), TransientError],
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), TransientError],
    ['SDK timeout', awsError('TimeoutError'), TransientError],
    ['purge in progress', awsError('PurgeQueueInProgress', 403), TransientError],
    [
      '12-hour ceiling',
      awsError(
        'InvalidParameterValue',
        400,
        'Value 43300 for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds].',
      ),
      HeartbeatCeilingError,
    ],
    [
      'visibility change of a message not in flight',
      awsError(
        'InvalidParameterValue',
        400,
        'Value abc for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.',
      ),
      LeaseLostError,
    ],
    ['other invalid parameter', awsError('InvalidParameterValue', 400, 'Value for parameter MaxNumberOfMessages is invalid'), PermanentError],
    ['ReceiptHandleIsInvalid', awsError('ReceiptHandleIsInvalid', 400), LeaseLostError],
    ['MessageNotInflight', awsError('MessageNotInflight', 400), LeaseLostError],
    ['NoSuchKey', awsError('NoSuchKey', 404), NotFoundError],
    ['HeadObject 404', awsError('NotFound', 404), NotFoundError],
    ['QueueDoesNotExist', awsError('QueueDoesNotExist', 400), NotFoundError],
    ['query-protocol NonExistentQueue', awsError('AWS.SimpleQueueService.NonExistentQueue', 400), NotFoundError],
    ['NoSuchBucket', awsError('NoSuchBucket', 404), NotFoundError],
    ['AccessDenied', awsError('AccessDenied', 403), ConfigError],
    ['bad credentials', awsError('InvalidClientTokenId', 403), ConfigError],
    ['no credentials', awsError('CredentialsProviderError'), ConfigError],
    ['unresolvable endpoint', Object.assign(new Error('getaddrinfo ENOTFOUND sqs.example'), { code: 'ENOTFOUND' }), ConfigError],
    ['bad message contents', awsError('InvalidMessageContents', 400), PermanentError],
    ['abort', awsError('AbortError'), AbortedError],
  ];
  it.each(cases)('%s', (_, err, cls) => {
    const got = classifyAwsError(err, { operation: 'Op thing', key: 'k', queue: 'q', bucket: 'b' });
    expect(got).toBeInstanceOf(cls);
    expect(got.cause).toBe(err);
  });

  it('maps S3 404s without a key context to NotFound only by name', () => {
    expect(classifyAwsError(awsError('Whatever', 404))).toBeInstanceOf(PermanentError);
  });

  it('passes pipeline errors through and tells the runner what to do', () => {
    const e = new LeaseLostError('gone');
    expect(classifyAwsError(e)).toBe(e);
    expect(actionFor(new PermanentError('x'))).toBe('dead-letter');
    expect(actionFor(new HeartbeatCeilingError('x'))).toBe('dead-letter');
    expect(actionFor(new NotFoundError('object', 'k'))).toBe('dead-letter');
    expect(actionFor(new TransientError('x'))).toBe('retry');
    expect(actionFor(new AbortedError('x'))).toBe('retry');
    expect(actionFor(new LeaseLostError('x'))).toBe('abandon');
    expect(actionFor(new ConfigError('x'))).toBe('exit');
    expect(new ConfigError('x').exitCode).toBe(2);
    expect(actionFor(new Error('unknown'))).toBe('retry');
    expect(new HeartbeatCeilingError('x').name).toBe('HeartbeatCeilingError');
  });
});

/** An interceptor that throws `err` for the named command while `armed`. */
function faults(): { intercept: AwsInterceptor; fail(command: string, err: Error): void; clear(): void } {
  const plan = new Map<string, Error>();
  return {
    intercept: ({ command }) => {
      const err = plan.get(command);
      if (err) throw err;
    },
    fail: (command, err) => plan.set(command, err),
    clear: () => plan.clear(),
  };
}

describe('AWS adapters classify SDK failures (faults injected through the middleware stack)', () => {
  it('SQS: a stale or invalid receipt handle is LeaseLost on extend and ignored by delete and release', async () => {
    const f = faults();
    const admin = new SqsQueueAdmin(fauxqs.aws({ intercept: f.intercept }));
    const name = uniqueQueueName();
    await admin.ensureQueue(name, { visibilitySeconds: 30, maxReceiveCount: 3 });
    const q = await admin.open(name);
    await q.send('x');
    const [m] = await q.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 30 });
    if (!m) throw new Error('no message');
    f.fail('ChangeMessageVisibilityCommand', awsError('ReceiptHandleIsInvalid', 400, 'The input receipt handle is invalid.'));
    f.fail('DeleteMessageCommand', awsError('ReceiptHandleIsInvalid', 400, 'The input receipt handle is invalid.'));
    await expect(q.extend(m.handle, 60)).rejects.toBeInstanceOf(LeaseLostError);
    await q.release(m.handle);
    await q.delete(m.handle);
    f.clear();
    await q.delete(m.handle);
    expect(await q.counts()).toEqual({ available: 0, inFlight: 0 });
    admin.destroy();
  });

  it('SQS: throttling is transient, access denied is a config error', async () => {
    const f = faults();
    const admin = new SqsQueueAdmin(fauxqs.aws({ intercept: f.intercept }));
    const name = uniqueQueueName();
    await admin.ensureQueue(name, { visibilitySeconds: 30, maxReceiveCount: 3 });
    const q = await admin.open(name);
    f.fail('SendMessageCommand', awsError('RequestThrottled', 403, 'Rate exceeded'));
    await expect(q.send('x')).rejects.toBeInstanceOf(TransientError);
    f.fail('SendMessageCommand', awsError('AccessDenied', 403, 'not authorized to perform sqs:SendMessage'));
    const err = await q.send('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(String(err)).toMatch(/SendMessage .*AccessDenied/);
    admin.destroy();
  });

  it('SQS: a refused connection is transient; a missing queue is a config error', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 1));
      });
    });
    const dead = new SqsQueueAdmin({ region: TEST_REGION, endpoint: `http://127.0.0.1:${port}`, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
    await expect(dead.open('anything')).rejects.toBeInstanceOf(TransientError);
    dead.destroy();
    const admin = new SqsQueueAdmin(fauxqs.aws());
    await expect(admin.open(uniqueQueueName('nope'))).rejects.toBeInstanceOf(ConfigError);
    await expect(admin.purge(uniqueQueueName('nope'))).rejects.toBeInstanceOf(ConfigError);
    admin.destroy();
  });

  it('S3: SlowDown is transient, AccessDenied is a config error, a missing key is NotFound', async () => {
    const f = faults();
    const store = new S3Store({ ...fauxqs.aws({ intercept: f.intercept }), bucket: uniqueBucketName() });
    await store.ensureBucket();
    await store.put('a/b', 'x');
    f.fail('GetObjectCommand', awsError('SlowDown', 503, 'Please reduce your request rate.'));
    await expect(store.get('a/b')).rejects.toBeInstanceOf(TransientError);
    f.fail('PutObjectCommand', awsError('AccessDenied', 403, 'Access Denied'));
    await expect(store.put('a/c', 'x')).rejects.toBeInstanceOf(ConfigError);
    f.clear();
    const nf = await store.get('a/missing').catch((e: unknown) => e);
    expect(nf).toBeInstanceOf(NotFoundError);
    expect(nf).toMatchObject({ what: 'object', id: 'a/missing' });
    store.destroy();
  });
});
