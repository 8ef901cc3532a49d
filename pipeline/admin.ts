// The small operations tools: mkpipeline, addtoqueue, peekqueue, redrive, rmbook.

import { keys } from './book.js';
import { queueName, type PipelineConfig } from './cloud-config.js';
import { ToolError } from './cli.js';
import { ConfigError } from './errors.js';
import { formatMessage, parseMessage, QUEUE_KINDS, type QueueKind } from './messages.js';
import { defaultDlqName, type Queue, type QueueAdmin, type QueueMessage, type Store, type StoreReader, type StoreWriter } from './ports.js';

/** A logical queue name (`preprocess`, ...) or ToolError (exit 2) listing the valid ones. */
export function queueKindOf(name: string): QueueKind {
  if ((QUEUE_KINDS as readonly string[]).includes(name)) return name as QueueKind;
  throw new ToolError(`unknown queue ${JSON.stringify(name)}: expected one of ${QUEUE_KINDS.join(', ')}`, 2);
}

// ───────────────────────────── mkpipeline ─────────────────────────────

export interface Made {
  what: 'bucket' | 'queue' | 'dead-letter queue';
  name: string;
  result: 'created' | 'existed';
}

async function queueExists(queues: QueueAdmin, name: string): Promise<boolean> {
  try {
    await queues.open(name);
    return true;
  } catch (e) {
    if (e instanceof ConfigError && /does not exist/.test(e.message)) return false;
    throw e;
  }
}

/**
 * Creates the bucket, the five queues and their dead-letter queues (redrive after
 * `cfg.maxReceiveCount` receives, visibility `cfg.visibilitySeconds`), or brings the settings of
 * existing ones up to date. Idempotent. Returns what was created and what existed, in order.
 */
export async function makePipeline(
  conn: { store: Store; queues: QueueAdmin },
  cfg: Pick<PipelineConfig, 'queuePrefix' | 'bucket' | 'visibilitySeconds' | 'maxReceiveCount'>,
): Promise<Made[]> {
  const made: Made[] = [{ what: 'bucket', name: cfg.bucket, result: await conn.store.ensureBucket() }];
  const perQueue = await Promise.all(
    QUEUE_KINDS.map(async (kind): Promise<Made[]> => {
      const name = queueName(cfg, kind);
      const dlqName = defaultDlqName(name);
      const dlqExisted = await queueExists(conn.queues, dlqName);
      const result = await conn.queues.ensureQueue(name, {
        visibilitySeconds: cfg.visibilitySeconds,
        maxReceiveCount: cfg.maxReceiveCount,
        dlqName,
      });
      return [
        { what: 'queue', name, result },
        { what: 'dead-letter queue', name: dlqName, result: dlqExisted ? 'existed' : 'created' },
      ];
    }),
  );
  return [...made, ...perQueue.flat()];
}

// ───────────────────────────── addtoqueue ─────────────────────────────

/**
 * Validates `message` as a message of queue `kind` (JSON or the Go text format) and sends it: as
 * JSON, or with `compat` in the Go text format. Returns the body sent. BadMessageError when invalid.
 */
export async function addToQueue(
  queues: QueueAdmin,
  cfg: Pick<PipelineConfig, 'queuePrefix'>,
  kind: QueueKind,
  message: string,
  opts: { compat: boolean },
): Promise<{ queue: string; body: string }> {
  const job = parseMessage(kind, message);
  const body = formatMessage(job, { compat: opts.compat });
  const name = queueName(cfg, kind);
  await (await queues.open(name)).send(body);
  return { queue: name, body };
}

// ───────────────────────────── peekqueue ─────────────────────────────

export interface PeekOptions {
  max: number;
  /** How long the peeked messages are hidden at most (they are released as soon as the peek ends). */
  holdSeconds?: number;
  /** Long-poll wait of each receive (s); the peek ends at the first receive with nothing new. */
  waitSeconds?: number;
}

/**
 * Up to `max` messages of the queue, WITHOUT keeping them: they are received (hidden for at most
 * `holdSeconds`) only to be read, and all released (visibility 0) when the peek ends, failed or not.
 * Each peek counts as a receive: SQS moves a message to its dead-letter queue after maxReceiveCount
 * receives, peeks included.
 */
export async function peekQueue(queue: Queue, opts: PeekOptions): Promise<QueueMessage[]> {
  const seen = new Map<string, QueueMessage>();
  const held: string[] = [];
  try {
    while (seen.size < opts.max) {
      const got = await queue.receive({
        max: Math.min(10, opts.max - seen.size),
        waitSeconds: opts.waitSeconds ?? 1,
        visibilitySeconds: opts.holdSeconds ?? 30,
      });
      let fresh = 0;
      for (const m of got) {
        held.push(m.handle);
        if (!seen.has(m.id)) {
          seen.set(m.id, m);
          fresh++;
        }
      }
      if (fresh === 0) break;
    }
  } finally {
    await Promise.allSettled(held.map((h) => queue.release(h)));
  }
  return [...seen.values()];
}

// ───────────────────────────── redrive ─────────────────────────────

/**
 * Moves every message of the queue's dead-letter queue back to the queue (at most `max`): send to
 * the queue, then delete from the DLQ. Returns how many moved.
 */
export async function redriveQueue(
  queues: QueueAdmin,
  name: string,
  opts: { max?: number; onMoved?: (m: QueueMessage) => void } = {},
): Promise<{ moved: number; dlq: string }> {
  const dlqName = defaultDlqName(name);
  const [queue, dlq] = await Promise.all([queues.open(name), queues.open(dlqName)]);
  const max = opts.max ?? Number.POSITIVE_INFINITY;
  let moved = 0;
  while (moved < max) {
    const got = await dlq.receive({ max: Math.min(10, max - moved), waitSeconds: 1, visibilitySeconds: 60 });
    if (got.length === 0) break;
    for (const m of got) {
      await queue.send(m.body);
      await dlq.delete(m.handle);
      moved++;
      opts.onMoved?.(m);
    }
  }
  return { moved, dlq: dlqName };
}

// ───────────────────────────── rmbook ─────────────────────────────

/** Every key under `<book>/` (with the slash: `Book1` leaves `Book10` alone). */
export async function bookKeys(store: StoreReader, book: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(keys.prefix(book))) out.push(o.key);
  return out;
}

/** Deletes the keys in batches of 1000 (S3's DeleteObjects limit), calling `onBatch` after each. */
export async function deleteKeys(store: StoreWriter, keyList: readonly string[], onBatch?: (n: number) => void): Promise<number> {
  for (let i = 0; i < keyList.length; i += 1000) {
    const batch = keyList.slice(i, i + 1000);
    await store.delete(batch);
    onBatch?.(batch.length);
  }
  return keyList.length;
}
