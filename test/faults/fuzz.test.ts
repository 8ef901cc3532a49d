// Scenario 5 (message fuzzing), in-process and fast: 10,000 generated bodies (random bytes, wrong
// JSON types, huge strings, `..`, absolute paths, NUL, other books' prefixes) through the runner
// with the pipeline's real parser and handlers on the memory adapters. No crash, nothing written
// outside the prefix of a book that already existed, every message dead-lettered.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { OcrEngine } from '../../ocr/engine.js';
import { PermanentError } from '../../pipeline/errors.js';
import { describeJob, failureRecorder, parseJob, pipelineHandlers, type JobDeps } from '../../pipeline/jobs.js';
import { parseMessage, QUEUE_KINDS, type Job, type QueueKind } from '../../pipeline/messages.js';
import { MemoryQueueAdmin } from '../../pipeline/memory/queue.js';
import { MemoryStore } from '../../pipeline/memory/store.js';
import type { Queue, QueueMessage } from '../../pipeline/ports.js';
import { startWorker } from '../../pipeline/runner.js';
// A seeded PRNG, so that a failure can be reproduced.
import { prng } from '../../pipeline/test-hooks.js';
import { addRow } from './table.js';

const N = 10_000;
const EXISTING = ['Victim', 'Other'];

function bodies(n: number, rnd: () => number): string[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const bytes = (len: number) => Buffer.from(Array.from({ length: len }, () => Math.floor(rnd() * 256))).toString(pick(['utf8', 'latin1'] as const));
  const books = ['Victim', 'Other', 'Missing', '../Victim', 'Victim/..', '/etc', '/abs/Victim', '..', '.', '', 'a\u0000b', 'Vic tim', 'logs', 'Victim\\x', 'x'.repeat(5000), 'Other/Victim', 'V\u0007'];
  const variants = ['p_0001_bin0.2.png', '../p_0001_bin0.2.png', '/etc/p_0001_bin0.2.png', 'Other/p_0001_bin0.2.png', '..p_0001_bin0.2.png', 'p_0001_bin0.2.png\u0000', 'p_0001.jpg', '', 'x'.repeat(400)];
  const wrongTypes: unknown[] = [1, -1, 1e309, null, true, [], {}, ['Victim'], { book: 'Victim' }, 'Victim'];
  const gens: Array<() => string> = [
    () => bytes(1 + Math.floor(rnd() * 200)),
    () => JSON.stringify({ v: pick([1, 2, '1', null]), type: pick(['book', 'ocr', 'analyse', 'x', 1]), book: pick([...wrongTypes, ...books]) }),
    () => JSON.stringify({ v: 1, type: 'ocr', book: pick(books), variant: pick([...variants, ...wrongTypes]), training: pick(['eng', '../eng', '/x', 'eng\u0000', 1, undefined]) }),
    () => JSON.stringify({ v: 1, type: pick(['book', 'analyse']), book: pick(books), extra: pick(['..', '/etc/passwd']) }),
    () => JSON.stringify({ v: 1, type: 'analyse', book: pick(books), stalled: pick([-1, 1.5, 1e9, '3', null]) }),
    () => `${pick(books)}${pick(['', ' eng', ' ../eng', ' eng extra', '/' + pick(variants), '/' + pick(variants) + ' eng'])}`,
    () => 'x'.repeat(pick([4096, 4097, 100_000])),
    () => `{"v":1,"type":"book","book":"${'Victim'.repeat(Math.floor(rnd() * 60))}"}`,
    () => pick(['', ' ', '\n', '{', '}', 'null', '[]', '"Victim"', '{"v":1}', '{"__proto__":{"type":"book"}}', '\u0000', '{"v":1,"type":"book","book":"Victim","book":"../x"}']),
  ];
  return Array.from({ length: n }, () => pick(gens)());
}

/** A valid key inside the prefix of a book that existed before the fuzzing. */
function insideExistingBook(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash <= 0) return false;
  const book = key.slice(0, slash);
  const rest = key.slice(slash + 1);
  return EXISTING.includes(book) && rest.length > 0 && !rest.split('/').some((s) => s === '..' || s === '.' || s === '') && !/[\u0000]/.test(rest);
}

describe('message fuzzing', () => {
  it(`${N} generated bodies: no crash, nothing written outside an existing book's prefix, every one dead-lettered`, async () => {
    const t0 = Date.now();
    const rnd = prng(20261204);
    const all = bodies(N, rnd);
    // parseMessage alone: it either returns a job or throws its BadMessageError, never anything else.
    let parsed = 0;
    for (const [i, b] of all.entries()) {
      const kind = QUEUE_KINDS[i % QUEUE_KINDS.length]!;
      try {
        parseMessage(kind, b);
        parsed += 1;
      } catch (err) {
        expect((err as Error).constructor.name, b.slice(0, 100)).toBe('BadMessageError');
      }
    }

    // Then through the runner and the real handlers.
    const admin = new MemoryQueueAdmin({ pollMs: 5 });
    const queues = {} as Record<QueueKind, Queue>;
    for (const k of QUEUE_KINDS) {
      await admin.ensureQueue(k, { visibilitySeconds: 30, maxReceiveCount: 1 });
      queues[k] = await admin.open(k);
    }
    const store = new MemoryStore();
    // Existing books with no pages: valid jobs on them fail; nothing else exists.
    await store.put('Victim/notes.txt', 'not a page');
    await store.put('Other/notes.txt', 'not a page');
    const written: string[] = [];
    const put = store.put.bind(store);
    store.put = (key, body, opts) => (written.push(key), put(key, body, opts));
    const putFile = store.putFile.bind(store);
    store.putFile = (key, path, opts) => (written.push(key), putFile(key, path, opts));
    const engine: OcrEngine = {
      name: 'embedded',
      recognize: async () => {
        throw new PermanentError('the fuzz engine reads nothing');
      },
      close: async () => undefined,
    };
    const deps: JobDeps = {
      store,
      queues,
      engines: { get: async () => engine },
      settings: { thresholds: [0.2], defaultTraining: 'eng', deskew: true, denoise: 'auto', maxPixels: 1e8, compat: false, analyseDelay: () => 0, stallChecks: 1 },
      worker: { host: 'fuzz', pid: 1 },
    };
    // Bodies SQS cannot carry (NUL and other control characters, lone surrogates, over 256 KiB)
    // are refused by the queue's send, as by SQS: they never reach a worker (parseMessage above
    // still had them). The rest go to the workers.
    let refused = 0;
    for (const [i, b] of all.entries()) {
      try {
        await queues[QUEUE_KINDS[i % QUEUE_KINDS.length]!].send(b);
      } catch (err) {
        expect(err).toBeInstanceOf(RangeError);
        refused += 1;
      }
    }
    const sent = N - refused;
    const result = await startWorker<QueueKind, Job>({
      queues: QUEUE_KINDS.map((kind) => ({ kind, queue: queues[kind], weight: 1 })),
      parse: parseJob,
      handlers: pipelineHandlers(deps),
      describe: describeJob,
      recordFailure: failureRecorder(deps),
      concurrency: 16,
      waitSeconds: 1,
      idleCheckSeconds: 0.2,
      autostopSeconds: 0,
      exitOnComplete: true,
      maxReceiveCount: 1,
      log: pino({ level: 'silent' }),
    }).finished;
    expect(result.reason).toBe('complete');

    const dead: QueueMessage[] = [];
    for (const k of QUEUE_KINDS) {
      const dlq = await admin.open(`${k}-dlq`);
      for (;;) {
        const got = await dlq.receive({ max: 10, waitSeconds: 0, visibilitySeconds: 60 });
        if (got.length === 0) break;
        dead.push(...got);
      }
    }
    const outside = written.filter((k) => !insideExistingBook(k));
    const keysNow: string[] = [];
    for await (const o of store.list('')) keysNow.push(o.key);
    addRow({ scenario: 'message fuzzing', injected: `${N} generated bodies (${refused} refused by the queue's send; ${parsed} parse as jobs), in-process`, expected: sent, out: dead.length, lost: sent - dead.length, duplicated: Math.max(0, dead.length - sent), dlq: dead.length, seconds: (Date.now() - t0) / 1000 });
    expect(outside).toEqual([]);
    expect(keysNow.filter((k) => !insideExistingBook(k))).toEqual([]);
    expect(result.stats.succeeded).toBe(0);
    expect(dead).toHaveLength(sent);
    expect(dead.every((m) => typeof m.deadLetter?.reason === 'string' && m.deadLetter.reason.length > 0)).toBe(true);
  }, 120_000);
});
