// Scenario 1 (SIGKILL matrix) and the whole-machine kill of scenario 7: real worker processes on
// fauxqs, a tiny book of 6 pages; the output must equal an uninterrupted rescribe run's.
import { readdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFauxqs } from '../support/fauxqs.js';
import { logLines, run, type Running, type RunResult } from '../support/run.js';
import { makeTinyBook } from '../support/tinybook.js';
import { awsEnv, countPages, dlqCount, expectSameAsReference, makeFauxqsPipeline, queueBook, THRESHOLDS, type Pipeline } from './harness.js';
import { addRow } from './table.js';

const fx = useFauxqs();
const PAGES = 6;
const POINTS = ['after-receive', 'during-ocr', 'after-outputs', 'after-send', 'during-analyse'] as const;

let work: string;
let bookdir: string;
let ref: string;
let expected: string[];

beforeAll(async () => {
  Object.assign(process.env, awsEnv());
  work = await mkdtemp(join(tmpdir(), 'bp-faults-kill-'));
  bookdir = join(work, 'killbook');
  expected = (await makeTinyBook(bookdir, PAGES)).map((n) => n.replace(/\.jpg$/, ''));
  ref = join(work, 'ref');
  const r = await run('rescribe', ['--thresholds', THRESHOLDS, '-j', '2', bookdir, ref]);
  expect(r.code, r.stderr).toBe(0);
  expected = (await readdir(join(ref, 'text'))).map((f) => f.replace(/\.txt$/, '')).sort();
  expect(expected).toHaveLength(PAGES);
}, 120_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** Keeps `n` workers going: a worker killed by a signal is replaced by `restart()`; until all exit 0. */
async function keepRunning(first: Running[], restart: () => Running): Promise<{ results: RunResult[]; killed: number }> {
  const results: RunResult[] = [];
  let killed = 0;
  const slot = async (w: Running): Promise<void> => {
    for (;;) {
      const r = await w.done;
      results.push(r);
      if (r.signal === 'SIGKILL') {
        killed += 1;
        w = restart();
        continue;
      }
      return;
    }
  };
  await Promise.all(first.map(slot));
  return { results, killed };
}

async function finish(p: Pipeline, book: string, scenario: string, injected: string, t0: number): Promise<void> {
  const c = await countPages(p, book, expected, work);
  const dlq = await dlqCount(p);
  addRow({ scenario, injected, expected: expected.length, out: c.out, lost: c.lost, duplicated: c.duplicated, dlq, seconds: (Date.now() - t0) / 1000 });
  expect(c.lost).toBe(0);
  expect(c.duplicated).toBe(0);
  expect(c.best.sort()).toEqual(expected);
  expect(c.text.sort()).toEqual(expected);
  expect(c.pdfPages).toEqual([PAGES, PAGES]);
  expect(dlq).toBe(0);
  await expectSameAsReference(p, book, ref);
}

describe('SIGKILL', () => {
  it('matrix: three workers, each kill point fires once; killed workers restarted; the book comes out whole, once, as uninterrupted', async () => {
    const t0 = Date.now();
    const p = await makeFauxqsPipeline(fx);
    try {
      const book = 'killbook';
      await queueBook(p, book, bookdir);
      const markers = join(work, 'markers');
      const hook = { BOOKPIPELINE_TEST_KILL_AT: POINTS.join(','), BOOKPIPELINE_TEST_KILL_MARKERS: markers };
      // A restarted worker keeps the hook: points that fired already (a marker each) do not fire again.
      const { results, killed } = await keepRunning([p.startWorker(hook), p.startWorker(hook), p.startWorker(hook)], () => p.startWorker(hook));
      for (const r of results) if (r.signal !== 'SIGKILL') expect(r.code, r.stderr.slice(-3000)).toBe(0);
      const fired = (await readdir(markers)).sort();
      expect(fired).toEqual([...POINTS].sort());
      expect(killed).toBe(POINTS.length);
      await finish(p, book, 'SIGKILL matrix', `SIGKILL at ${POINTS.join(', ')} (once each), restart`, t0);
    } finally {
      await p.close();
    }
  }, 180_000);

  it('whole machine: every worker killed at once mid-book, fresh workers finish it once', async () => {
    const t0 = Date.now();
    const p = await makeFauxqsPipeline(fx);
    try {
      const book = 'killbook';
      await queueBook(p, book, bookdir);
      const first = [p.startWorker(), p.startWorker(), p.startWorker()];
      // Mid-book: once some OCR job is done (read from the workers' log), kill all three at once.
      const deadline = Date.now() + 90_000;
      while (!first.some((w) => logLines(w.stderr()).some((l) => l.msg === 'job done' && l.variant))) {
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const w of first) w.child.kill('SIGKILL');
      const gone = await Promise.all(first.map((w) => w.done));
      expect(gone.every((r) => r.signal === 'SIGKILL' || r.code === 0)).toBe(true);
      const fresh = await Promise.all([p.startWorker().done, p.startWorker().done, p.startWorker().done]);
      for (const r of fresh) expect(r.code, r.stderr.slice(-3000)).toBe(0);
      await finish(p, book, 'whole-machine kill', 'SIGKILL all 3 workers after 1st OCR job, 3 fresh', t0);
    } finally {
      await p.close();
    }
  }, 180_000);
});

describe('at-least-once delivery', () => {
  it('duplicate delivery: every ocrpage and analyse message sent twice, same outputs', async () => {
    const t0 = Date.now();
    const p = await makeFauxqsPipeline(fx);
    try {
      const book = 'killbook';
      await queueBook(p, book, bookdir);
      const dup = { BOOKPIPELINE_TEST_DUPLICATE_SENDS: '1' };
      const rs = await Promise.all([p.startWorker(dup).done, p.startWorker(dup).done, p.startWorker(dup).done]);
      for (const r of rs) expect(r.code, r.stderr.slice(-3000)).toBe(0);
      const logs = rs.flatMap((r) => logLines(r.stderr));
      // The duplicates were delivered and run: more OCR jobs done than variants read.
      const ocrDone = logs.filter((l) => l.msg === 'job done' && l.variant).length;
      const conf = (await p.conn.store.get(`${book}/conf`)).toString('utf8');
      const read = conf.split('\n').filter((l) => /(^|\s)read(\s|$)/.test(l)).length;
      expect(ocrDone).toBeGreaterThan(read);
      await finish(p, book, 'duplicate delivery', `every ocrpage+analyse message sent twice (${ocrDone} OCR jobs for ${read} variants)`, t0);
    } finally {
      await p.close();
    }
  }, 180_000);

  it('slow job: visibility 4 s, heartbeat 2 s, a page of 10 s is never worked on by two workers at once', async () => {
    const t0 = Date.now();
    const p = await makeFauxqsPipeline(fx);
    try {
      const book = 'killbook';
      await queueBook(p, book, bookdir);
      const slowVariant = `${expected[2]}_bin0.2.png`;
      const env = { BOOKPIPELINE_TEST_SLOW: `${slowVariant}:10000` };
      const rs = await Promise.all([0, 1, 2].map(() => p.startWorker(env, ['-v']).done));
      for (const r of rs) expect(r.code, r.stderr.slice(-3000)).toBe(0);
      // Each worker's jobs from its records: start (debug 'job started') to its end record.
      interface Span { worker: number; msgId: string; what: string; from: number; to: number }
      const spans: Span[] = [];
      rs.forEach((r, worker) => {
        const open = new Map<string, { what: string; from: number }>();
        for (const l of logLines(r.stderr)) {
          const msgId = l.msgId as string | undefined;
          if (!msgId) continue;
          const what = `${String(l.book ?? '')}/${String(l.variant ?? l.queue ?? '')}`;
          if (l.msg === 'job started') open.set(msgId, { what, from: Date.parse(String(l.time)) });
          else if (/^job (done|failed|abandoned|stopped)|dead-lettered|will retry/.test(String(l.msg)) && open.has(msgId)) {
            const o = open.get(msgId)!;
            spans.push({ worker, msgId, what: o.what, from: o.from, to: Date.parse(String(l.time)) });
            open.delete(msgId);
          }
        }
        expect([...open.keys()], 'jobs started and never ended').toEqual([]);
      });
      const slowSpans = spans.filter((s) => s.what.endsWith(slowVariant));
      expect(slowSpans.length).toBeGreaterThanOrEqual(1);
      expect(slowSpans[0]!.to - slowSpans[0]!.from).toBeGreaterThanOrEqual(10_000);
      // Never two workers on the same message, or the same variant, at the same time.
      let overlaps = 0;
      for (const a of spans) for (const b of spans) if (a !== b && a.worker !== b.worker && (a.msgId === b.msgId || (a.what === b.what && a.what.endsWith('.png'))) && a.from < b.to && b.from < a.to) overlaps += 1;
      expect(overlaps).toBe(0);
      expect(rs.flatMap((r) => logLines(r.stderr)).filter((l) => l.msg === 'lease lost: aborting the job')).toEqual([]);
      await finish(p, book, 'slow job', `${slowVariant} takes 10 s; visibility 4 s, heartbeat 2 s; ${spans.length} job spans, 0 overlaps`, t0);
    } finally {
      await p.close();
    }
  }, 180_000);
});
