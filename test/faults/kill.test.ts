// Scenario 1 (SIGKILL matrix), scenario 2 (duplicate delivery), both on fauxqs and with
// `-c local` (directory queues and store), and the whole-machine kill of scenario 7: real worker
// processes, a tiny book of 6 pages; the output must equal an uninterrupted rescribe run's.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useFauxqs } from '../support/fauxqs.js';
import { logLines, type Running, type RunResult } from '../support/run.js';
import { useRefBook } from './books.js';
import { checkBook, expectAllExited0, makeBackendPipeline, waitForLog, withBook, type Backend, type Pipeline } from './harness.js';

const fx = useFauxqs();
const PAGES = 6;
const POINTS = ['after-receive', 'during-ocr', 'after-outputs', 'after-send', 'during-analyse'] as const;
const BOOK = 'killbook';

const tiny = useRefBook(PAGES);

/** One scenario on a fresh pipeline on `backend` with the book queued. */
const onBook = (backend: Backend, fn: (p: Pipeline, t0: number) => Promise<void>) => withBook(() => makeBackendPipeline(backend, fx, tiny.work), BOOK, tiny.book, fn);

const scenario = (name: string, backend: Backend): string => (backend === 'local' ? `${name} (-c local)` : name);

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

describe.each(['fauxqs', 'local'] as const)('on %s', (backend) => {
  it('SIGKILL matrix: three workers, each kill point fires once; killed workers restarted; the book comes out whole, once, as uninterrupted', async () => {
    await onBook(backend, async (p, t0) => {
      const markers = join(tiny.work, `markers-${backend}`);
      const hook = { BOOKPIPELINE_TEST_KILL_AT: POINTS.join(','), BOOKPIPELINE_TEST_KILL_MARKERS: markers };
      // A restarted worker keeps the hook: points that fired already (a marker each) do not fire again.
      const { results, killed } = await keepRunning([p.startWorker(hook), p.startWorker(hook), p.startWorker(hook)], () => p.startWorker(hook));
      expectAllExited0(results.filter((r) => r.signal !== 'SIGKILL'));
      const fired = (await readdir(markers)).sort();
      expect(fired).toEqual([...POINTS].sort());
      expect(killed).toBe(POINTS.length);
      await checkBook(p, tiny.book, BOOK, tiny.work, { scenario: scenario('SIGKILL matrix', backend), injected: `SIGKILL at ${POINTS.join(', ')} (once each), restart`, t0 });
    });
  }, 180_000);

  it('duplicate delivery: every ocrpage and analyse message sent twice, same outputs', async () => {
    await onBook(backend, async (p, t0) => {
      const dup = { BOOKPIPELINE_TEST_DUPLICATE_SENDS: '1' };
      const rs = await Promise.all([p.startWorker(dup).done, p.startWorker(dup).done, p.startWorker(dup).done]);
      expectAllExited0(rs);
      const logs = rs.flatMap((r) => logLines(r.stderr));
      // The duplicates were delivered and run: more OCR jobs done than variants read.
      const ocrDone = logs.filter((l) => l.msg === 'job done' && l.variant).length;
      const conf = (await p.conn.store.get(`${BOOK}/conf`)).toString('utf8');
      const read = conf.split('\n').filter((l) => /(^|\s)read(\s|$)/.test(l)).length;
      expect(ocrDone).toBeGreaterThan(read);
      await checkBook(p, tiny.book, BOOK, tiny.work, { scenario: scenario('duplicate delivery', backend), injected: `every ocrpage+analyse message sent twice (${ocrDone} OCR jobs for ${read} variants)`, t0 });
    });
  }, 180_000);
});

describe('on fauxqs', () => {
  it('whole machine: every worker killed at once mid-book, fresh workers finish it once', async () => {
    await onBook('fauxqs', async (p, t0) => {
      const first = [p.startWorker(), p.startWorker(), p.startWorker()];
      // Mid-book: once some OCR job is done (read from the workers' log), kill all three at once.
      await Promise.any(first.map((w) => waitForLog(w, (l) => l.msg === 'job done' && l.variant !== undefined)));
      for (const w of first) w.child.kill('SIGKILL');
      const gone = await Promise.all(first.map((w) => w.done));
      expect(gone.every((r) => r.signal === 'SIGKILL' || r.code === 0)).toBe(true);
      const fresh = await Promise.all([p.startWorker().done, p.startWorker().done, p.startWorker().done]);
      expectAllExited0(fresh);
      await checkBook(p, tiny.book, BOOK, tiny.work, { scenario: 'whole-machine kill', injected: 'SIGKILL all 3 workers after 1st OCR job, 3 fresh', t0 });
    });
  }, 180_000);

  it('slow job: visibility 4 s, heartbeat 2 s, a page of 10 s is never worked on by two workers at once', async () => {
    await onBook('fauxqs', async (p, t0) => {
      const slowVariant = `${tiny.book.pages[2]}_bin0.2.png`;
      const env = { BOOKPIPELINE_TEST_SLOW: `${slowVariant}:10000` };
      const rs = await Promise.all([0, 1, 2].map(() => p.startWorker(env, ['-v']).done));
      expectAllExited0(rs);
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
      await checkBook(p, tiny.book, BOOK, tiny.work, { scenario: 'slow job', injected: `${slowVariant} takes 10 s; visibility 4 s, heartbeat 2 s; ${spans.length} job spans, 0 overlaps`, t0 });
    });
  }, 180_000);
});
