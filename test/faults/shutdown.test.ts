// Scenario 7 (shutdown) on a whole book: three real `bookpipeline` processes on fauxqs are sent
// SIGTERM while each holds a slow OCR job (BOOKPIPELINE_TEST_SLOW: 60 s); the unfinished
// jobs are released, every worker exits 0, and fresh workers finish the book once. (The
// whole-machine SIGKILL is in kill.test.ts.)
import { describe, expect, it } from 'vitest';
import { useFauxqs } from '../support/fauxqs.js';
import type { Running } from '../support/run.js';
import { useRefBook } from './books.js';
import { checkBook, expectAllExited0, makeFauxqsPipeline, sumField, waitForLog, withBook, workerLogs } from './harness.js';

const fx = useFauxqs();
const PAGES = 4;
const BOOK = 'termbook';
const SLOW_MS = 60_000;
/** A worker that held the slow job to its end would take SLOW_MS; released, it exits well within this. */
const EXIT_WITHIN_MS = 30_000;
/** pipeline/signals.ts's line for the first signal (with `jobs`: how many were in flight). */
const STOPPING = 'stopping: no new jobs; running jobs may finish (signal again to stop at once)';

const tiny = useRefBook(PAGES);

const running = (w: Running): boolean => w.child.exitCode === null && w.child.signalCode === null;

describe.each([
  { signals: 1, grace: '1', scenario: 'SIGTERM, jobs in flight', why: 'grace period over' },
  { signals: 2, grace: '60', scenario: 'second SIGTERM', why: 'stopped at once' },
])('$scenario', ({ signals, grace, scenario, why }) => {
  it(`${signals === 1 ? 'one SIGTERM (--grace 1)' : 'two SIGTERMs (--grace 60)'}: unfinished jobs released, exit 0; fresh workers finish the book once`, async () => {
    await withBook(() => makeFauxqsPipeline(fx), BOOK, tiny.book, async (p, t0) => {
      // Every page's first OCR job (its k=0.3 variant) takes a minute: once each of the three
      // workers has taken one, all three hold a job when the signal comes.
      const slow = '_bin0.3.png';
      const ws = [0, 1, 2].map(() => p.startWorker({ BOOKPIPELINE_TEST_SLOW: `${slow}:${SLOW_MS}` }, ['-v', '--grace', grace]));
      await Promise.all(ws.map((w) => waitForLog(w, (l) => l.msg === 'job started' && String(l.variant).endsWith(slow))));
      const signalled = Date.now();
      for (const w of ws) w.child.kill('SIGTERM');
      if (signals === 2) {
        // The second signal once the first has been taken (its log line).
        for (const w of ws) {
          await waitForLog(w, (l) => l.msg === STOPPING, 20_000);
          if (running(w)) w.child.kill('SIGTERM');
        }
      }
      const rs = await Promise.all(ws.map((w) => w.done));
      const exitMs = Date.now() - signalled;
      expectAllExited0(rs);
      expect(exitMs).toBeLessThan(EXIT_WITHIN_MS);
      // Each worker released its job (visibility 0), for the reason the signals give.
      for (const r of rs) {
        const own = workerLogs([r]);
        expect(own.filter((l) => l.msg === 'releasing unfinished jobs').map((l) => l.why), r.stderr.slice(-2000)).toEqual([why]);
        if (signals === 2) expect(own.some((l) => String(l.msg).startsWith('stopping at once'))).toBe(true);
      }
      const logs = workerLogs(rs);
      const inFlight = sumField(logs, STOPPING, 'jobs');
      const released = sumField(logs, 'worker stopped', 'released');
      // Each worker holds its slow OCR job; a worker may also be finishing the book's preprocess
      // or an analyse check in its spare slot (-j 1 is one OCR job plus one slot for the others),
      // which can end within the grace period rather than be released.
      expect(inFlight).toBeGreaterThanOrEqual(3);
      expect(released).toBeGreaterThanOrEqual(3);
      expect(released).toBeLessThanOrEqual(inFlight);

      // Fresh workers (no slow job) take the released message at once and finish the book.
      const fresh = await Promise.all([p.startWorker({}, ['-v']).done, p.startWorker({}, ['-v']).done]);
      expectAllExited0(fresh);
      const again = workerLogs(fresh).filter((l) => l.msg === 'job done' && String(l.variant).endsWith(slow));
      expect(new Set(again.map((l) => l.variant)).size).toBe(PAGES);
      await checkBook(p, tiny.book, BOOK, tiny.work, {
        scenario,
        injected: `${signals === 1 ? 'SIGTERM' : '2× SIGTERM'} to 3 workers (--grace ${grace}), ${inFlight} jobs in flight (60-s OCR each): ${released} released, all exit 0 in ${(exitMs / 1000).toFixed(1)} s; 2 fresh workers`,
        t0,
      });
    });
  }, 180_000);
});
