// The job runner on the in-memory queue with fake handlers.

import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError, LeaseLostError, PermanentError, TransientError } from '../../pipeline/errors.js';
import { failureRecorder } from '../../pipeline/jobs.js';
import { BadMessageError, type Job } from '../../pipeline/messages.js';
import { MemoryQueueAdmin } from '../../pipeline/memory/queue.js';
import { MemoryStore } from '../../pipeline/memory/store.js';
import type { Queue, QueueMessage } from '../../pipeline/ports.js';
import {
  backoffSeconds,
  checkWorkerTiming,
  longPollLength,
  startWorker,
  weightedOrder,
  type FailureRecord,
  type JobHandler,
  type WorkerOptions,
} from '../../pipeline/runner.js';

const silent = pino({ level: 'silent' });

interface TJob {
  id: string;
  book?: string;
  ms?: number;
  fail?: 'permanent' | 'transient' | 'config' | 'transient-once';
}

type Kind = 'a' | 'b';

async function setup(opts: { leaseCeilingSeconds?: number; maxReceiveCount?: number } = {}) {
  const admin = new MemoryQueueAdmin({ pollMs: 10, ...(opts.leaseCeilingSeconds ? { leaseCeilingSeconds: opts.leaseCeilingSeconds } : {}) });
  for (const n of ['qa', 'qb']) await admin.ensureQueue(n, { visibilitySeconds: 30, maxReceiveCount: opts.maxReceiveCount ?? 5 });
  return {
    admin,
    qa: await admin.open('qa'),
    qb: await admin.open('qb'),
    dlqa: await admin.open('qa-dlq'),
  };
}

function parse(_kind: Kind, body: string): TJob {
  if (!body.startsWith('{')) throw new BadMessageError(`bad message ${JSON.stringify(body)}`);
  return JSON.parse(body) as TJob;
}

const send = (q: Queue, j: TJob) => q.send(JSON.stringify(j));

/** Waits for `ms` or the signal, whichever first; rejects on abort. */
function work(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((res, rej) => {
    const t = setTimeout(res, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      rej(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    });
  });
}

const seen = new Map<string, number>();
const handler: JobHandler<Kind, TJob> = async (job, ctx) => {
  seen.set(job.id, (seen.get(job.id) ?? 0) + 1);
  await work(job.ms ?? 0, ctx.signal);
  if (job.fail === 'permanent') throw new PermanentError(`job ${job.id} is broken`);
  if (job.fail === 'transient') throw new TransientError(`job ${job.id} hit a blip`);
  if (job.fail === 'transient-once' && seen.get(job.id) === 1) throw new TransientError(`job ${job.id} hit a blip`);
  if (job.fail === 'config') throw new ConfigError('no permission');
};

function options(queues: Array<{ kind: Kind; queue: Queue; weight?: number; maxInFlight?: number }>, extra: Partial<WorkerOptions<Kind, TJob>> = {}): WorkerOptions<Kind, TJob> {
  return {
    queues: queues.map((q) => ({ weight: 1, ...q })),
    parse,
    handlers: { a: handler, b: handler },
    concurrency: 2,
    waitSeconds: 1,
    idleCheckSeconds: 0.1,
    autostopSeconds: 0,
    exitOnComplete: true,
    graceSeconds: 1,
    backoff: () => 0,
    log: silent,
    ...extra,
  };
}

async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('runner: long polls', () => {
  it('waits the full time when every queue has a free slot, else takes turns that come round within a few seconds', () => {
    expect(longPollLength(5, 5, 20)).toBe(20);
    expect(longPollLength(3, 5, 20)).toBe(2);
    expect(longPollLength(1, 4, 20)).toBe(1);
    expect(longPollLength(2, 3, 1)).toBe(1);
    // Taking turns, the free slots come round to every queue within 4 s (a poll is never under 1 s).
    for (const [free, n] of [[1, 5], [2, 5], [3, 5], [4, 5], [1, 2]] as const) {
      expect((longPollLength(free, n, 20) * n) / free).toBeLessThanOrEqual(Math.max(4, n / free));
    }
  });
});

describe('runner: per-queue caps', () => {
  it('maxInFlight: never more of a queue\'s jobs at once than its cap, and the spare slot takes the other queue\'s job at once', async () => {
    const { qa, qb } = await setup();
    for (let i = 0; i < 6; i++) await send(qa, { id: `cap-a${i}`, ms: 150 });
    let running = 0;
    let most = 0;
    let bStartedWhileABusy = false;
    const counting: JobHandler<Kind, TJob> = async (job, ctx) => {
      running++;
      most = Math.max(most, running);
      try {
        await work(job.ms ?? 0, ctx.signal);
      } finally {
        running--;
      }
    };
    const w = startWorker(
      options([{ kind: 'a', queue: qa, weight: 3, maxInFlight: 2 }, { kind: 'b', queue: qb }], {
        concurrency: 3,
        handlers: {
          a: counting,
          b: async () => {
            bStartedWhileABusy = running === 2;
          },
        },
      }),
    );
    await until(() => running === 2);
    await send(qb, { id: 'cap-b' });
    const r = await w.finished;
    expect(r.stats).toMatchObject({ received: 7, succeeded: 7 });
    expect(most).toBe(2);
    expect(bStartedWhileABusy).toBe(true);
  });

  it('refuses a maxInFlight that is not a whole number ≥ 1', async () => {
    const { qa } = await setup();
    expect(() => startWorker(options([{ kind: 'a', queue: qa, maxInFlight: 0 }]))).toThrow(/maxInFlight 0/);
  });
});

describe('runner: outcomes', () => {
  it('deletes a message after its job succeeds, and exits when every queue is empty', async () => {
    const { qa, qb } = await setup();
    for (let i = 0; i < 5; i++) await send(qa, { id: `ok-a${i}` });
    for (let i = 0; i < 3; i++) await send(qb, { id: `ok-b${i}` });
    const r = await startWorker(options([{ kind: 'a', queue: qa }, { kind: 'b', queue: qb }])).finished;
    expect(r.reason).toBe('complete');
    expect(r.stats).toMatchObject({ received: 8, succeeded: 8, deadLettered: 0 });
    expect(await qa.counts()).toEqual({ available: 0, inFlight: 0 });
    expect(await qb.counts()).toEqual({ available: 0, inFlight: 0 });
  });

  it('dead-letters a permanent failure at once, with an error record under <book>/errors/', async () => {
    const { qa, dlqa } = await setup();
    const store = new MemoryStore();
    await store.put('Book1/page_0001.jpg', 'x');
    await send(qa, { id: 'perm', book: 'Book1', fail: 'permanent' });
    const records: FailureRecord<Kind>[] = [];
    const recorder = failureRecorder({ store });
    const r = await startWorker(
      options([{ kind: 'a', queue: qa }], {
        recordFailure: async (rec, job) => {
          records.push(rec);
          // The real recorder, with the test job dressed as a pipeline job.
          if (job?.book) await recorder({ ...rec, what: { ...rec.what, kind: 'preprocess' } }, { type: 'book', book: job.book } satisfies Job);
        },
      }),
    ).finished;
    expect(r.stats).toMatchObject({ received: 1, deadLettered: 1, retried: 0 });
    expect(seen.get('perm')).toBe(1);
    const [dead] = await dlqa.receive({ max: 10, waitSeconds: 0, visibilitySeconds: 30 });
    expect(dead?.deadLetter?.reason).toMatch(/job perm is broken/);
    expect(dead?.deadLetter?.sourceQueue).toBe('qa');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ why: expect.stringMatching(/job perm is broken/), what: { queue: 'qa', kind: 'a' }, worker: { pid: process.pid } });
    const keys: string[] = [];
    for await (const o of store.list('Book1/errors/')) keys.push(o.key);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^Book1\/errors\/\d{8}T\d{6}\.\d{3}Z-qa-.+\.json$/);
    const rec = JSON.parse((await store.get(keys[0]!)).toString()) as Record<string, unknown>;
    expect(rec).toMatchObject({ book: 'Book1', why: expect.stringMatching(/broken/), when: expect.any(String), worker: { host: expect.any(String), pid: process.pid } });
  });

  it('dead-letters a bad message without a record in the store (its book is unknown)', async () => {
    const { qa, dlqa } = await setup();
    await qa.send('garbage!');
    const calls: Array<TJob | undefined> = [];
    const r = await startWorker(options([{ kind: 'a', queue: qa }], { recordFailure: async (_r, job) => void calls.push(job) })).finished;
    expect(r.stats.deadLettered).toBe(1);
    expect(calls).toEqual([undefined]);
    const [dead] = await dlqa.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 30 });
    expect(dead?.body).toBe('garbage!');
    expect(dead?.deadLetter?.reason).toMatch(/bad message/);
  });

  it('releases a transient failure for redelivery (with the backoff delay), and it succeeds the next time', async () => {
    const { qa } = await setup();
    await send(qa, { id: 'blip', fail: 'transient-once' });
    const delays: number[] = [];
    const r = await startWorker(
      options([{ kind: 'a', queue: qa }], {
        backoff: (n) => {
          delays.push(n);
          return 1;
        },
      }),
    ).finished;
    expect(seen.get('blip')).toBe(2);
    expect(delays).toEqual([1]);
    expect(r.stats).toMatchObject({ received: 2, retried: 1, succeeded: 1, deadLettered: 0 });
  });

  it('dead-letters with a record at the last receipt the redrive allows, instead of a silent redrive', async () => {
    const { qa, dlqa } = await setup({ maxReceiveCount: 3 });
    await send(qa, { id: 'always', book: 'B', fail: 'transient' });
    const records: FailureRecord<Kind>[] = [];
    const r = await startWorker(
      options([{ kind: 'a', queue: qa }], { maxReceiveCount: 3, recordFailure: async (rec) => void records.push(rec) }),
    ).finished;
    expect(seen.get('always')).toBe(3);
    expect(r.stats).toMatchObject({ retried: 2, deadLettered: 1 });
    expect(records[0]?.why).toMatch(/failed 3 times; last error: TransientError/);
    expect((await dlqa.counts()).available).toBe(1);
  });

  it('releases the message and stops with reason fatal on a ConfigError', async () => {
    const { qa } = await setup();
    await send(qa, { id: 'cfg', fail: 'config' });
    const r = await startWorker(options([{ kind: 'a', queue: qa }], { exitOnComplete: false })).finished;
    expect(r.reason).toBe('fatal');
    expect(r.error).toBeInstanceOf(ConfigError);
    expect(await qa.counts()).toEqual({ available: 1, inFlight: 0 });
  });

  it('backoff grows 10, 20, 40, ... and stops at 300 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(backoffSeconds)).toEqual([10, 20, 40, 80, 160, 300, 300]);
  });
});

describe('runner: heartbeats', () => {
  it('keeps a slow job hidden: visibility 2 s, heartbeat 1 s, a 5 s job, two workers: it runs once, never twice at once', async () => {
    const { qa } = await setup();
    await send(qa, { id: 'slow' });
    const runs: Array<{ start: number; end: number }> = [];
    const slow: JobHandler<Kind, TJob> = async (_job, ctx) => {
      const start = Date.now();
      await work(5_000, ctx.signal);
      runs.push({ start, end: Date.now() });
    };
    const make = () =>
      startWorker(options([{ kind: 'a', queue: qa }], { handlers: { a: slow, b: slow }, visibilitySeconds: 2, heartbeatSeconds: 1 }));
    const [r1, r2] = await Promise.all([make().finished, make().finished]);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.end - runs[0]!.start).toBeGreaterThanOrEqual(4_900);
    expect(r1.stats.succeeded + r2.stats.succeeded).toBe(1);
    expect(r1.stats.received + r2.stats.received).toBe(1);
  }, 20_000);

  it('a failing heartbeat aborts that job only; the other job finishes', async () => {
    const { qa } = await setup();
    const losing = new Set<string>();
    // A queue whose heartbeats fail for the message "lose".
    const flaky: Queue = Object.assign(Object.create(qa) as Queue, {
      name: qa.name,
      receive: async (o: Parameters<Queue['receive']>[0]) => {
        const got: QueueMessage[] = await qa.receive(o);
        for (const m of got) if (m.body.includes('lose')) losing.add(m.handle);
        return got;
      },
      extend: async (h: string, s: number) => {
        if (losing.has(h)) throw new LeaseLostError('someone else has it');
        return qa.extend(h, s);
      },
    });
    await send(qa, { id: 'lose', ms: 4_000 });
    await send(qa, { id: 'keep', ms: 3_000 });
    const aborted: string[] = [];
    const h: JobHandler<Kind, TJob> = async (job, ctx) => {
      ctx.signal.addEventListener('abort', () => aborted.push(job.id));
      await work(job.ms ?? 0, ctx.signal);
    };
    const w = startWorker(
      options([{ kind: 'a', queue: flaky }], { handlers: { a: h, b: h }, visibilitySeconds: 10, heartbeatSeconds: 1, exitOnComplete: false }),
    );
    await until(() => aborted.includes('lose') && w.inFlight === 1);
    await until(() => w.inFlight === 0);
    w.stop('now');
    const r = await w.finished;
    expect(aborted).toEqual(['lose']);
    expect(r.stats).toMatchObject({ succeeded: 1, abandoned: 1, deadLettered: 0 });
    // The abandoned message is left alone: still in flight until its visibility runs out.
    expect(await qa.counts()).toEqual({ available: 0, inFlight: 1 });
  }, 20_000);

  it("SQS's 12-hour ceiling (here 3 s) ends the job cleanly: dead-lettered with a record, not retried", async () => {
    const { qa, dlqa } = await setup({ leaseCeilingSeconds: 3 });
    await send(qa, { id: 'forever', book: 'B', ms: 60_000 });
    const records: FailureRecord<Kind>[] = [];
    const r = await startWorker(
      options([{ kind: 'a', queue: qa }], { visibilitySeconds: 2, heartbeatSeconds: 1, recordFailure: async (rec) => void records.push(rec) }),
    ).finished;
    expect(r.stats).toMatchObject({ received: 1, deadLettered: 1, retried: 0 });
    expect(records[0]?.why).toMatch(/12-hour visibility ceiling/);
    expect((await dlqa.counts()).available).toBe(1);
  }, 20_000);
});

describe('runner: stopping', () => {
  it('first stop: no new jobs, running ones finish within the grace period', async () => {
    const { qa } = await setup();
    await send(qa, { id: 'g1', ms: 500 });
    await send(qa, { id: 'g2', ms: 500 });
    await send(qa, { id: 'g3', ms: 500 });
    const w = startWorker(options([{ kind: 'a', queue: qa }], { exitOnComplete: false, graceSeconds: 5 }));
    await until(() => w.inFlight === 2);
    w.stop();
    const r = await w.finished;
    expect(r.reason).toBe('stopped');
    expect(r.stats).toMatchObject({ succeeded: 2, released: 0 });
    expect(await qa.counts()).toEqual({ available: 1, inFlight: 0 });
  });

  it('after the grace period, unfinished jobs are aborted and their messages released (visible at once)', async () => {
    const { qa } = await setup();
    await send(qa, { id: 'long1', ms: 30_000 });
    await send(qa, { id: 'long2', ms: 30_000 });
    const w = startWorker(options([{ kind: 'a', queue: qa }], { exitOnComplete: false, graceSeconds: 1 }));
    await until(() => w.inFlight === 2);
    const t0 = Date.now();
    w.stop();
    const r = await w.finished;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(r.stats).toMatchObject({ released: 2, succeeded: 0, deadLettered: 0 });
    expect(await qa.counts()).toEqual({ available: 2, inFlight: 0 });
  });

  it('a second stop releases at once, even a job that ignores its signal', async () => {
    const { qa } = await setup();
    await send(qa, { id: 'stubborn' });
    const deaf: JobHandler<Kind, TJob> = () => sleep(20_000);
    const w = startWorker(options([{ kind: 'a', queue: qa }], { handlers: { a: deaf, b: deaf }, exitOnComplete: false, graceSeconds: 60 }));
    await until(() => w.inFlight === 1);
    const t0 = Date.now();
    w.stop();
    await sleep(100);
    w.stop();
    const r = await w.finished;
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(r.stats.released).toBe(1);
    expect(await qa.counts()).toEqual({ available: 1, inFlight: 0 });
  });

  it('autostop: stops after the idle time with nothing to do', async () => {
    const { qa } = await setup();
    const t0 = Date.now();
    const r = await startWorker(options([{ kind: 'a', queue: qa }], { exitOnComplete: false, autostopSeconds: 1 })).finished;
    expect(r.reason).toBe('autostop');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('exit on complete waits for delayed messages (they count as not yet done)', async () => {
    const { qa } = await setup();
    await qa.send(JSON.stringify({ id: 'later' }), { delaySeconds: 1 });
    const r = await startWorker(options([{ kind: 'a', queue: qa }])).finished;
    expect(r.reason).toBe('complete');
    expect(r.stats.succeeded).toBe(1);
  });
});

describe('runner: receiving', () => {
  it('weighted order: weight 3 comes first about three times as often as weight 1', () => {
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const items = [{ k: 'ocr', weight: 3 }, { k: 'pre', weight: 1 }];
    let first = 0;
    for (let i = 0; i < 4000; i++) if (weightedOrder(items, random)[0]!.k === 'ocr') first++;
    expect(first / 4000).toBeGreaterThan(0.7);
    expect(first / 4000).toBeLessThan(0.8);
    expect(weightedOrder(items, random)).toHaveLength(2);
  });

  it('a failing receive is retried with a pause, never in a tight loop', async () => {
    const { qa } = await setup();
    let calls = 0;
    const broken: Queue = Object.assign(Object.create(qa) as Queue, {
      name: 'broken',
      receive: async () => {
        calls += 1;
        throw new TransientError('Throttling: Rate exceeded');
      },
    });
    const w = startWorker(options([{ kind: 'a', queue: broken }], { exitOnComplete: false }));
    await sleep(2_500);
    w.stop('now');
    await w.finished;
    // 1 s, then 2 s pauses: a handful of calls, not thousands.
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThanOrEqual(4);
  });

  it('polls several queues: work on any of them is taken', async () => {
    const { qa, qb } = await setup();
    const w = startWorker(options([{ kind: 'a', queue: qa, weight: 3 }, { kind: 'b', queue: qb }], { exitOnComplete: false, concurrency: 1 }));
    await sleep(300);
    const t0 = Date.now();
    await send(qb, { id: 'late-b' });
    await until(() => seen.get('late-b') === 1);
    // The long polls (1 s here, as there are more queues than free slots) take turns: qb's
    // comes within two of them.
    expect(Date.now() - t0).toBeLessThan(2_500);
    w.stop('now');
    await w.finished;
  });

  it('checks the timing settings: the heartbeat must come before the visibility runs out', () => {
    expect(() => checkWorkerTiming({ visibilitySeconds: 120, heartbeatSeconds: 60 })).not.toThrow();
    expect(() => checkWorkerTiming({ visibilitySeconds: 60, heartbeatSeconds: 60 })).toThrow(ConfigError);
    expect(() => checkWorkerTiming({ visibilitySeconds: 60, heartbeatSeconds: 0 })).toThrow(ConfigError);
    expect(() => startWorker(options([], {}))).toThrow(ConfigError);
  });
});
