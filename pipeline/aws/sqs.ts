// Queue and QueueAdmin on Amazon SQS (standard queues).

import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { ConfigError, LeaseLostError, NotFoundError, PermanentError, TransientError } from '../errors.js';
import {
  checkBody,
  checkSendOptions,
  cleanReason,
  checkQueueName,
  checkQueueSettings,
  checkReceiveOptions,
  checkVisibility,
  defaultDlqName,
  QUEUE_LIMITS,
  type Queue,
  type QueueAdmin,
  type QueueCounts,
  type QueueMessage,
  type QueueSettings,
  type ReceiveOptions,
  type SendOptions,
} from '../ports.js';
import { classifyAwsError } from './classify.js';
import { clientConfig, installIntercept, type AwsOptions } from './options.js';

export type SqsOptions = AwsOptions;

const ATTR_REASON = 'DeadLetterReason';
const ATTR_SOURCE = 'DeadLetterSource';

/** Run an SDK call and classify its failure. */
async function call<T>(operation: string, queue: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw classifyAwsError(err, { operation, ...(queue !== undefined ? { queue } : {}) });
  }
}

export class SqsQueueAdmin implements QueueAdmin {
  private readonly client: SQSClient;
  private readonly urls = new Map<string, string>();
  private readonly queues = new Map<string, SqsQueue>();

  constructor(opts: SqsOptions) {
    this.client = new SQSClient(clientConfig(opts));
    installIntercept(this.client.middlewareStack, 'sqs', opts.intercept);
  }

  /** Queue URL by name, looked up once and cached. Rejects with NotFoundError('queue'). */
  async urlOf(name: string): Promise<string> {
    const cached = this.urls.get(name);
    if (cached !== undefined) return cached;
    const out = await call(`GetQueueUrl ${name}`, name, () =>
      this.client.send(new GetQueueUrlCommand({ QueueName: name })),
    );
    if (!out.QueueUrl) throw new NotFoundError('queue', name);
    this.urls.set(name, out.QueueUrl);
    return out.QueueUrl;
  }

  private async exists(name: string): Promise<boolean> {
    try {
      await this.urlOf(name);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  /** Create the queue with `attrs`, or set them on the existing queue. */
  private async upsert(name: string, attrs: Record<string, string>): Promise<'created' | 'existed'> {
    if (await this.exists(name)) {
      const url = await this.urlOf(name);
      await call(`SetQueueAttributes ${name}`, name, () =>
        this.client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attrs })),
      );
      return 'existed';
    }
    try {
      const out = await this.client.send(new CreateQueueCommand({ QueueName: name, Attributes: attrs }));
      if (out.QueueUrl) this.urls.set(name, out.QueueUrl);
      return 'created';
    } catch (err) {
      // Created meanwhile by someone else, with other attributes: converge on ours.
      if (err instanceof Error && /QueueNameExists|QueueAlreadyExists/.test(err.name)) {
        await this.upsert(name, attrs);
        return 'existed';
      }
      throw classifyAwsError(err, { operation: `CreateQueue ${name}`, queue: name });
    }
  }

  async ensureQueue(name: string, settings: QueueSettings): Promise<'created' | 'existed'> {
    checkQueueSettings(name, settings);
    const dlqName = settings.dlqName ?? defaultDlqName(name);
    const retention = String(QUEUE_LIMITS.retentionSeconds);
    await this.upsert(dlqName, { MessageRetentionPeriod: retention });
    const dlqArn = await this.attribute(dlqName, 'QueueArn');
    if (!dlqArn) throw new ConfigError(`dead-letter queue ${dlqName} has no QueueArn`);
    return this.upsert(name, {
      VisibilityTimeout: String(settings.visibilitySeconds),
      MessageRetentionPeriod: retention,
      ReceiveMessageWaitTimeSeconds: String(QUEUE_LIMITS.maxWaitSeconds),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: settings.maxReceiveCount }),
    });
  }

  async attribute(name: string, attr: 'QueueArn' | 'RedrivePolicy'): Promise<string | undefined> {
    const url = await this.urlOf(name);
    const out = await call(`GetQueueAttributes ${name}`, name, () =>
      this.client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: [attr] })),
    );
    return out.Attributes?.[attr];
  }

  /** The URL of a queue that must exist: a missing queue is a ConfigError. */
  private async existingUrl(name: string): Promise<string> {
    try {
      return await this.urlOf(name);
    } catch (err) {
      if (err instanceof NotFoundError) {
        throw new ConfigError(`queue ${name} does not exist (create it with ensureQueue / mkpipeline)`, { cause: err });
      }
      throw err;
    }
  }

  async open(name: string): Promise<Queue> {
    checkQueueName(name);
    const existing = this.queues.get(name);
    if (existing) return existing;
    const q = new SqsQueue(this, this.client, name, await this.existingUrl(name));
    this.queues.set(name, q);
    return q;
  }

  async purge(name: string): Promise<void> {
    const url = await this.existingUrl(name);
    await call(`PurgeQueue ${name}`, name, () => this.client.send(new PurgeQueueCommand({ QueueUrl: url })));
  }

  /** Close the HTTP connections. */
  destroy(): void {
    this.client.destroy();
  }
}

class SqsQueue implements Queue {
  private dlqUrl: Promise<{ name: string; url: string }> | undefined;

  constructor(
    private readonly admin: SqsQueueAdmin,
    private readonly client: SQSClient,
    readonly name: string,
    private readonly url: string,
  ) {}

  private call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return call(`${operation} ${this.name}`, this.name, fn);
  }

  async send(body: string, opts?: SendOptions): Promise<void> {
    checkBody(body);
    checkSendOptions(opts);
    const delay = opts?.delaySeconds;
    await this.call('SendMessage', () =>
      this.client.send(
        new SendMessageCommand({ QueueUrl: this.url, MessageBody: body, ...(delay ? { DelaySeconds: delay } : {}) }),
      ),
    );
  }

  async sendBatch(bodies: readonly string[], opts?: SendOptions): Promise<void> {
    for (const b of bodies) checkBody(b);
    checkSendOptions(opts);
    const delay = opts?.delaySeconds;
    // SendMessageBatch: at most 10 entries and 256 KiB in all per request.
    const batches: string[][] = [];
    let cur: string[] = [];
    let bytes = 0;
    for (const b of bodies) {
      const n = Buffer.byteLength(b, 'utf8');
      if (cur.length === 10 || (cur.length > 0 && bytes + n > QUEUE_LIMITS.maxBodyBytes)) {
        batches.push(cur);
        cur = [];
        bytes = 0;
      }
      cur.push(b);
      bytes += n;
    }
    if (cur.length) batches.push(cur);
    for (const batch of batches) {
      let entries = batch.map((body, i) => ({ Id: String(i), MessageBody: body, ...(delay ? { DelaySeconds: delay } : {}) }));
      // Entries that failed for the server's reasons are tried once more.
      for (let attempt = 1; entries.length > 0; attempt++) {
        const out = await this.call('SendMessageBatch', () =>
          this.client.send(new SendMessageBatchCommand({ QueueUrl: this.url, Entries: entries })),
        );
        const failed = out.Failed ?? [];
        if (failed.length === 0) break;
        const f = failed[0]!;
        const why = `SendMessageBatch ${this.name}: ${failed.length} of ${entries.length} not sent (${f.Code ?? '?'}: ${f.Message ?? ''})`;
        if (failed.some((x) => x.SenderFault) || attempt >= 2) {
          throw failed.some((x) => x.SenderFault) ? new PermanentError(why) : new TransientError(why);
        }
        const ids = new Set(failed.map((x) => x.Id));
        entries = entries.filter((e) => ids.has(e.Id));
      }
    }
  }

  async receive(opts: ReceiveOptions): Promise<QueueMessage[]> {
    checkReceiveOptions(opts);
    if (opts.signal?.aborted) return [];
    let out;
    try {
      out = await this.call('ReceiveMessage', () =>
        this.client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.url,
            MaxNumberOfMessages: opts.max,
            WaitTimeSeconds: opts.waitSeconds,
            VisibilityTimeout: opts.visibilitySeconds,
            MessageSystemAttributeNames: ['ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp'],
            MessageAttributeNames: [ATTR_REASON, ATTR_SOURCE],
          }),
          opts.signal ? { abortSignal: opts.signal } : {},
        ),
      );
    } catch (err) {
      if (opts.signal?.aborted) return [];
      throw err;
    }
    return (out.Messages ?? []).map(toQueueMessage);
  }

  async extend(handle: string, visibilitySeconds: number): Promise<void> {
    checkVisibility(visibilitySeconds);
    await this.changeVisibility(handle, visibilitySeconds);
  }

  private async changeVisibility(handle: string, visibilitySeconds: number): Promise<void> {
    await this.call('ChangeMessageVisibility', () =>
      this.client.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: this.url, ReceiptHandle: handle, VisibilityTimeout: visibilitySeconds }),
      ),
    );
  }

  async delete(handle: string): Promise<void> {
    try {
      await this.call('DeleteMessage', () =>
        this.client.send(new DeleteMessageCommand({ QueueUrl: this.url, ReceiptHandle: handle })),
      );
    } catch (err) {
      if (err instanceof LeaseLostError) return; // stale handle: ignored (see ports.ts)
      throw err;
    }
  }

  async release(handle: string): Promise<void> {
    try {
      await this.changeVisibility(handle, 0);
    } catch (err) {
      if (err instanceof LeaseLostError) return; // nothing to release
      throw err;
    }
  }

  private deadLetterQueue(): Promise<{ name: string; url: string }> {
    this.dlqUrl ??= (async () => {
      const policy = await this.admin.attribute(this.name, 'RedrivePolicy');
      let arn: unknown;
      try {
        arn = policy ? (JSON.parse(policy) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn : undefined;
      } catch {
        arn = undefined;
      }
      if (typeof arn !== 'string') throw new ConfigError(`queue ${this.name} has no dead-letter queue (RedrivePolicy)`);
      const name = arn.slice(arn.lastIndexOf(':') + 1);
      return { name, url: await this.admin.urlOf(name) };
    })();
    this.dlqUrl.catch(() => {
      this.dlqUrl = undefined;
    });
    return this.dlqUrl;
  }

  async deadLetter(msg: QueueMessage, reason: string): Promise<void> {
    await this.sendDeadLetter(msg.body, reason);
    await this.delete(msg.handle);
  }

  async sendDeadLetter(body: string, reason: string): Promise<void> {
    const dlq = await this.deadLetterQueue();
    await this.call('SendMessage(dead letter)', () =>
      this.client.send(
        new SendMessageCommand({
          QueueUrl: dlq.url,
          MessageBody: body,
          MessageAttributes: {
            [ATTR_REASON]: { DataType: 'String', StringValue: cleanReason(reason) },
            [ATTR_SOURCE]: { DataType: 'String', StringValue: this.name },
          },
        }),
      ),
    );
  }

  async counts(): Promise<QueueCounts> {
    const out = await this.call('GetQueueAttributes', () =>
      this.client.send(
        new GetQueueAttributesCommand({
          QueueUrl: this.url,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      ),
    );
    // Delayed messages are not visible either; the other adapters count them in `inFlight` too.
    return {
      available: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
      inFlight:
        Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) +
        Number(out.Attributes?.ApproximateNumberOfMessagesDelayed ?? 0),
    };
  }
}

function toQueueMessage(m: Message): QueueMessage {
  const attrs = m.Attributes ?? {};
  const first = Number(attrs.ApproximateFirstReceiveTimestamp);
  const reason = m.MessageAttributes?.[ATTR_REASON]?.StringValue;
  const source = m.MessageAttributes?.[ATTR_SOURCE]?.StringValue;
  return {
    id: m.MessageId ?? '',
    handle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    receiveCount: Number(attrs.ApproximateReceiveCount ?? 1),
    ...(Number.isFinite(first) && first > 0 ? { firstReceivedAt: new Date(first) } : {}),
    ...(reason !== undefined ? { deadLetter: { reason, sourceQueue: source ?? '' } } : {}),
  };
}
