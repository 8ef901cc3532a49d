// One contract for the Queue port, run against every adapter:
// SQS on fauxqs, the directory queue in a temp dir, the in-memory queue.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { SqsQueueAdmin } from '../../pipeline/aws/sqs.js';
import { ConfigError, HeartbeatCeilingError, LeaseLostError } from '../../pipeline/errors.js';
import { DirQueueAdmin } from '../../pipeline/local/queue.js';
import { MemoryQueueAdmin } from '../../pipeline/memory/queue.js';
import type { Queue, QueueAdmin, QueueMessage, QueueSettings } from '../../pipeline/ports.js';
import { uniqueQueueName, useFauxqs } from '../support/fauxqs.js';

const fauxqs = useFauxqs();
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface AdapterOptions {
  /** Make the 12-hour ceiling this many seconds (the SQS fixture injects AWS's error instead). */
  leaseCeilingSeconds?: number;
}

interface Adapter {
  name: string;
  make(opts?: AdapterOptions): Promise<QueueAdmin>;
}

const adapters: Adapter[] = [
  {
    name: 'sqs (fauxqs)',
    async make(opts = {}) {
      const ceiling = opts.leaseCeilingSeconds;
      const admin = new SqsQueueAdmin(
        fauxqs.aws(
          ceiling === undefined
            ? {}
            : {
                // fauxqs has no 12-hour ceiling: answer like AWS does past it.
                intercept: ({ command, input }) => {
                  if (command === 'ChangeMessageVisibilityCommand' && Number(input.VisibilityTimeout) >= ceiling) {
                    throw Object.assign(
                      new Error(
                        `Value ${String(input.VisibilityTimeout)} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds].`,
                      ),
                      { name: 'InvalidParameterValue', $fault: 'client', $metadata: { httpStatusCode: 400 } },
                    );
                  }
                },
              },
        ),
      );
      cleanups.push(async () => admin.destroy());
      return admin;
    },
  },
  {
    name: 'dir',
    async make(opts = {}) {
      const root = await mkdtemp(join(tmpdir(), 'bp-dirqueue-'));
      cleanups.push(() => rm(root, { recursive: true, force: true }));
      return new DirQueueAdmin({ root, pollMs: 50, ...opts });
    },
  },
  {
    name: 'memory',
    async make(opts = {}) {
      return new MemoryQueueAdmin(opts);
    },
  },
];

const SETTINGS: QueueSettings = { visibilitySeconds: 30, maxReceiveCount: 5 };

async function drain(q: Queue): Promise<QueueMessage[]> {
  const all: QueueMessage[] = [];
  for (;;) {
    const got = await q.receive({ max: 10, waitSeconds: 0, visibilitySeconds: 30 });
    if (got.length === 0) return all;
    all.push(...got);
  }
}

describe.each(adapters)('Queue contract: $name', (adapter) => {
  let admin: QueueAdmin;
  async function fresh(settings: Partial<QueueSettings> = {}, opts?: AdapterOptions): Promise<{ q: Queue; name: string; a: QueueAdmin }> {
    const a = opts ? await adapter.make(opts) : (admin ??= await adapter.make());
    const name = uniqueQueueName();
    await a.ensureQueue(name, { ...SETTINGS, ...settings });
    return { q: await a.open(name), name, a };
  }

  it('ensureQueue is idempotent and creates the DLQ; open of a missing queue is a ConfigError', async () => {
    const { name, a } = await fresh();
    expect(await a.ensureQueue(name, SETTINGS)).toBe('existed');
    expect(await a.ensureQueue(name, { ...SETTINGS, visibilitySeconds: 60 })).toBe('existed');
    const dlq = await a.open(`${name}-dlq`);
    expect(dlq.name).toBe(`${name}-dlq`);
    await expect(a.open(uniqueQueueName('missing'))).rejects.toBeInstanceOf(ConfigError);
    const custom = uniqueQueueName();
    expect(await a.ensureQueue(custom, { ...SETTINGS, dlqName: `${custom}-failed` })).toBe('created');
    await a.open(`${custom}-failed`);
  });

  it('send / receive / delete with ids, handles, receive count and first receipt time', async () => {
    const { q } = await fresh();
    // (No astral characters such as emoji: SQS allows them, fauxqs 1.9.2 rejects them.)
    const bodies = ['book1', 'book2/page_0001_bin0.2.png rescribelatv7', 'ünïcödé 書 {"json":true}\t\n ', 'x'.repeat(10_000)];
    for (const b of bodies) await q.send(b);
    const t0 = Date.now();
    const got = await drain(q);
    expect(got.map((m) => m.body).sort()).toEqual([...bodies].sort());
    for (const m of got) {
      expect(m.id).toEqual(expect.any(String));
      expect(m.handle).toEqual(expect.any(String));
      expect(m.receiveCount).toBe(1);
      expect(m.firstReceivedAt).toBeInstanceOf(Date);
      expect(Math.abs((m.firstReceivedAt?.getTime() ?? 0) - t0)).toBeLessThan(5_000);
      expect(m.deadLetter).toBeUndefined();
    }
    expect(new Set(got.map((m) => m.id)).size).toBe(bodies.length);
    expect(await q.counts()).toEqual({ available: 0, inFlight: bodies.length });
    for (const m of got) await q.delete(m.handle);
    expect(await q.counts()).toEqual({ available: 0, inFlight: 0 });
    expect(await q.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 30 })).toEqual([]);
  });

  it('rejects what SQS rejects (max > 10, wait > 20, visibility > 12 h, empty body)', async () => {
    const { q } = await fresh();
    await expect(q.receive({ max: 11, waitSeconds: 0, visibilitySeconds: 1 })).rejects.toBeInstanceOf(RangeError);
    await expect(q.receive({ max: 1, waitSeconds: 21, visibilitySeconds: 1 })).rejects.toBeInstanceOf(RangeError);
    await expect(q.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 43_201 })).rejects.toBeInstanceOf(RangeError);
    await expect(q.send('')).rejects.toBeInstanceOf(RangeError);
    await expect(q.send('nul \u0000 inside')).rejects.toBeInstanceOf(RangeError);
    await expect(q.send('x'.repeat(262_145))).rejects.toBeInstanceOf(RangeError);
  });

  it('counts available and in-flight messages apart', async () => {
    const { q } = await fresh();
    for (const b of ['a', 'b', 'c']) await q.send(b);
    expect(await q.counts()).toEqual({ available: 3, inFlight: 0 });
    const [m] = await q.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 30 });
    expect(m).toBeDefined();
    expect(await q.counts()).toEqual({ available: 2, inFlight: 1 });
  });

  it('sendBatch sends every body, past 10 per request, delayed when asked', async () => {
    const { q } = await fresh();
    const bodies = Array.from({ length: 23 }, (_, i) => `batch ${i}`);
    await q.sendBatch(bodies);
    expect((await drain(q)).map((m) => m.body).sort()).toEqual([...bodies].sort());
    await q.sendBatch(['d1', 'd2'], { delaySeconds: 1 });
    expect(await q.counts()).toEqual({ available: 0, inFlight: 25 });
    await q.sendBatch([]);
    await expect(q.sendBatch(['ok', ''])).rejects.toBeInstanceOf(RangeError);
  });

  it('a delayed send stays hidden (counted as not visible) until its delay runs out; a long poll then gets it', async () => {
    const { q } = await fresh();
    await q.send('later', { delaySeconds: 2 });
    expect(await q.counts()).toEqual({ available: 0, inFlight: 1 });
    expect(await q.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 30 })).toEqual([]);
    const t0 = Date.now();
    const got = await q.receive({ max: 1, waitSeconds: 5, visibilitySeconds: 30 });
    expect(got.map((m) => m.body)).toEqual(['later']);
    expect(got[0]?.receiveCount).toBe(1);
    expect(Date.now() - t0).toBeLessThan(4_000);
    await expect(q.send('x', { delaySeconds: 901 })).rejects.toBeInstanceOf(RangeError);
  });

  it('hides a received message until its visibility runs out, then redelivers it with receiveCount 2; old handles are stale', async () => {
    const { q } = await fresh();
    await q.send('lease me');
    const [first] = await q.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 1 });
    expect(first?.body).toBe('lease me');
    expect(await q.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 1 })).toEqual([]);
    await sleep(1_200);
    const [again] = await q.receive({ max: 1, waitSeconds: 2, visibilitySeconds: 30 });
    expect(again?.id).toBe(first?.id);
    expect(again?.receiveCount).toBe(2);
    expect(again?.handle).not.toBe(first?.handle);
    expect(again?.firstReceivedAt?.getTime()).toBe(first?.firstReceivedAt?.getTime());
    if (!first || !again) return;
    // The first receipt is stale now: extend fails, delete and release are ignored (the message stays with its new holder).
    await expect(q.extend(first.handle, 30)).rejects.toBeInstanceOf(LeaseLostError);
    await q.delete(first.handle);
    await q.release(first.handle);
    expect(await q.counts()).toEqual({ available: 0, inFlight: 1 });
    await q.delete(again.handle);
    expect(await q.counts()).toEqual({ available: 0, inFlight: 0 });
  });

  it('extend keeps a message hidden past its first timeout; release makes it visible at once', async () => {
    const { q } = await fresh();
    await q.send('long job');
    const [m] = await q.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 1 });
    if (!m) throw new Error('no message');
    await sleep(400);
    await q.extend(m.handle, 3);
    await q.extend(m.handle, 3); // twice: the handle stays valid across extends
    await sleep(1_100); // past the first timeout
    expect(await q.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 30 })).toEqual([]);
    expect(await q.counts()).toEqual({ available: 0, inFlight: 1 });
    await q.release(m.handle);
    const [back] = await q.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 30 });
    expect(back?.id).toBe(m.id);
    expect(back?.receiveCount).toBe(2);
    // A released receipt is no longer in flight.
    await expect(q.extend(m.handle, 30)).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('extend past the in-flight ceiling is a HeartbeatCeilingError', async () => {
    const { q } = await fresh({}, { leaseCeilingSeconds: 2 });
    await q.send('too long');
    const [m] = await q.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 1 });
    if (!m) throw new Error('no message');
    await q.extend(m.handle, 1);
    await expect(q.extend(m.handle, 3)).rejects.toBeInstanceOf(HeartbeatCeilingError);
  });

  it('redrives to the DLQ on the receive after maxReceiveCount receipts', async () => {
    const { q, name, a } = await fresh({ maxReceiveCount: 2 });
    await q.send('poison');
    const [r1] = await q.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 1 });
    expect(r1?.receiveCount).toBe(1);
    await sleep(1_100);
    const [r2] = await q.receive({ max: 1, waitSeconds: 1, visibilitySeconds: 1 });
    expect(r2?.receiveCount).toBe(2);
    await sleep(1_100);
    expect(await q.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 1 })).toEqual([]);
    expect(await q.counts()).toEqual({ available: 0, inFlight: 0 });
    const dlq = await a.open(`${name}-dlq`);
    const [dead] = await dlq.receive({ max: 1, waitSeconds: 1, visibilitySeconds: 30 });
    expect(dead?.body).toBe('poison');
    expect(dead?.id).toBe(r1?.id);
  });

  it('deadLetter() sends the body with a reason to the DLQ and deletes the message', async () => {
    const { q, name, a } = await fresh();
    await q.send('corrupt.png');
    const [m] = await q.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 30 });
    if (!m) throw new Error('no message');
    await q.deadLetter(m, 'PermanentError: unsupported image format');
    expect(await q.counts()).toEqual({ available: 0, inFlight: 0 });
    const dlq = await a.open(`${name}-dlq`);
    const [dead] = await dlq.receive({ max: 1, waitSeconds: 1, visibilitySeconds: 30 });
    expect(dead?.body).toBe('corrupt.png');
    expect(dead?.deadLetter).toEqual({ reason: 'PermanentError: unsupported image format', sourceQueue: name });
    // A reason with characters SQS refuses (terminal colours, NUL) is stored cleaned, not refused.
    await q.send('second');
    const [m2] = await q.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 30 });
    if (!m2) throw new Error('no message');
    await q.deadLetter(m2, '\u001b[31mred\u001b[39m \u0000');
    const [dead2] = await dlq.receive({ max: 1, waitSeconds: 1, visibilitySeconds: 30 });
    expect(dead2?.deadLetter?.reason).toBe('\ufffd[31mred\ufffd[39m \ufffd');
  });

  it('sendDeadLetter() puts a body with a reason into the DLQ and leaves the queue alone', async () => {
    const { q, name, a } = await fresh();
    await q.send('the book');
    await q.sendDeadLetter('{"page":"bad_0003"}', 'ImageDecodeError: bad_0003.jpg: truncated');
    expect(await q.counts()).toEqual({ available: 1, inFlight: 0 });
    const dlq = await a.open(`${name}-dlq`);
    const [dead] = await dlq.receive({ max: 1, waitSeconds: 1, visibilitySeconds: 30 });
    expect(dead?.body).toBe('{"page":"bad_0003"}');
    expect(dead?.deadLetter).toEqual({ reason: 'ImageDecodeError: bad_0003.jpg: truncated', sourceQueue: name });
  });

  it('purge removes visible and in-flight messages', async () => {
    const { q, name, a } = await fresh();
    for (const b of ['a', 'b', 'c']) await q.send(b);
    await q.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 30 });
    await a.purge(name);
    expect(await q.counts()).toEqual({ available: 0, inFlight: 0 });
  });

  it('never delivers one message to two of 5 concurrent receivers', async () => {
    const { q, name, a } = await fresh();
    const n = 40;
    await Promise.all(Array.from({ length: n }, (_, i) => q.send(`m${i}`)));
    const seen: string[] = [];
    const receivers = await Promise.all(Array.from({ length: 5 }, () => a.open(name)));
    const deadline = Date.now() + 15_000;
    await Promise.all(
      receivers.map(async (r) => {
        while (seen.length < n && Date.now() < deadline) {
          const got = await r.receive({ max: 3, waitSeconds: 1, visibilitySeconds: 30 });
          for (const m of got) {
            seen.push(m.body);
            await r.delete(m.handle);
          }
        }
      }),
    );
    expect(seen.length).toBe(n);
    expect(new Set(seen).size).toBe(n);
    expect(await q.counts()).toEqual({ available: 0, inFlight: 0 });
  });

  it('a long poll returns as soon as a message arrives', async () => {
    const { q } = await fresh();
    const t0 = Date.now();
    const pending = q.receive({ max: 1, waitSeconds: 10, visibilitySeconds: 30 });
    await sleep(300);
    await q.send('wake up');
    const got = await pending;
    const took = Date.now() - t0;
    expect(got.map((m) => m.body)).toEqual(['wake up']);
    expect(took).toBeLessThan(2_000);
  });

  it('a long poll ends early with [] when its signal aborts', async () => {
    const { q } = await fresh();
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 200);
    const got = await q.receive({ max: 1, waitSeconds: 10, visibilitySeconds: 30, signal: ac.signal });
    expect(got).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });
});
