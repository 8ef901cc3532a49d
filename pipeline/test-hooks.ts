// TEST-ONLY fault injection, read in this one place. Never set these in production.
//
// BOOKPIPELINE_TEST_KILL_AT=<point>[,<point>...]  the worker SIGKILLs itself at each named point
//   once: after-receive | during-ocr | after-outputs | after-send | during-analyse.
// BOOKPIPELINE_TEST_DUPLICATE_SENDS=1  every next message a job sends (ocrpage, analyse) is sent
//   twice: SQS's at-least-once delivery, made certain.
// BOOKPIPELINE_TEST_SLOW=<text>:<ms>  an OCR job whose variant name contains <text> first waits
//   <ms> (a slow page, for the lease tests).
// BOOKPIPELINE_TEST_KILL_MARKERS=<dir>  where "fired" markers live (one file per point, created
//   exclusively), so that a restarted worker, or another worker with the same setting, does not
//   fire the same point again. Without it a point fires once per process.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type KillPoint = 'after-receive' | 'during-ocr' | 'after-outputs' | 'after-send' | 'during-analyse';

const points = new Set((process.env.BOOKPIPELINE_TEST_KILL_AT ?? '').split(',').map((s) => s.trim()).filter(Boolean));
const markers = process.env.BOOKPIPELINE_TEST_KILL_MARKERS;
const fired = new Set<string>();

/** Kills this process with SIGKILL if the test hook names `point` and it has not fired yet. */
export function testKillPoint(point: KillPoint): void {
  if (points.size === 0 || !points.has(point) || fired.has(point)) return;
  fired.add(point);
  if (markers) {
    try {
      mkdirSync(markers, { recursive: true });
      writeFileSync(join(markers, point), `${process.pid}\n`, { flag: 'wx' });
    } catch {
      return; // fired already (by this or another worker)
    }
  }
  process.stderr.write(`${JSON.stringify({ level: 60, msg: 'test hook: SIGKILL', point, pid: process.pid })}\n`);
  process.kill(process.pid, 'SIGKILL');
}

/** Whether the test hook asks for every next message to be sent twice. */
export const testDuplicateSends = process.env.BOOKPIPELINE_TEST_DUPLICATE_SENDS === '1';

const slow = /^(.+):(\d+)$/.exec(process.env.BOOKPIPELINE_TEST_SLOW ?? '');

/** Waits as long as the test hook asks for a job on `name` (aborted by `signal`). */
export async function testDelay(name: string, signal: AbortSignal): Promise<void> {
  if (!slow || !name.includes(slow[1]!)) return;
  await new Promise<void>((res) => {
    const t = setTimeout(res, Number(slow[2]));
    signal.addEventListener('abort', () => (clearTimeout(t), res()), { once: true });
  });
  signal.throwIfAborted();
}
