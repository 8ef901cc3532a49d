// How many workers to start: `spotme --watch` keeps about ceil(backlog / pagesPerWorker) workers
// alive, never more than `max`. It only ever starts workers: an idle worker stops itself
// (`bookpipeline --autostop … --shutdown`), so a draining backlog needs nothing from here.
//
// The decision is a pure function (`scaleDecision`); `watchFleet` is the loop around it.

import type { Logger } from 'pino';
import { ConfigError, describeError, TransientError } from './errors.js';
import { isLive, SpotPriceTooLowError, type Fleet, type WorkerInstance } from './fleet.js';
import type { Queue } from './ports.js';

export interface ScaleInput {
  /** Messages waiting or in flight on the polled queues. */
  backlog: number;
  /** The fleet's listing: pending and running instances count as workers. */
  instances: ReadonlyArray<Pick<WorkerInstance, 'id' | 'state'>>;
  /**
   * Ids started lately that the listing may not show yet (EC2's DescribeInstances is eventually
   * consistent): counted as workers unless the listing shows them in a dead state.
   */
  recentlyStarted?: readonly string[];
  /** Never more workers than this. */
  max: number;
  /** Backlog one worker is expected to take on. */
  pagesPerWorker: number;
}

export interface ScaleDecision {
  backlog: number;
  /** Workers wanted: ceil(backlog / pagesPerWorker), at most max; 0 for no backlog. */
  desired: number;
  /** Workers alive or on their way (pending, running, started but not listed yet). */
  live: number;
  /** Workers to start now. */
  start: number;
}

export function scaleDecision(i: ScaleInput): ScaleDecision {
  if (!Number.isInteger(i.max) || i.max < 0) throw new RangeError(`max must be a whole number ≥ 0, got ${i.max}`);
  if (!(i.pagesPerWorker > 0)) throw new RangeError(`pagesPerWorker must be > 0, got ${i.pagesPerWorker}`);
  const backlog = Math.max(0, i.backlog);
  const listed = new Map(i.instances.map((x) => [x.id, x]));
  let live = i.instances.filter(isLive).length;
  for (const id of i.recentlyStarted ?? []) if (!listed.has(id)) live += 1;
  const desired = backlog > 0 ? Math.min(i.max, Math.ceil(backlog / i.pagesPerWorker)) : 0;
  return { backlog, desired, live, start: Math.max(0, desired - live) };
}

/** Backlog of some queues: visible + in flight (+ delayed) messages, in total and by queue. */
export async function backlogOf(queues: readonly Queue[]): Promise<{ total: number; byQueue: Record<string, number> }> {
  const counts = await Promise.all(queues.map(async (q) => [q.name, await q.counts()] as const));
  const byQueue = Object.fromEntries(counts.map(([name, c]) => [name, c.available + c.inFlight]));
  return { total: Object.values(byQueue).reduce((a, b) => a + b, 0), byQueue };
}

export interface WatchRound {
  at: Date;
  decision: ScaleDecision;
  byQueue?: Record<string, number>;
  started: string[];
  /** A failure this round (the watch goes on): no capacity, price too low, throttling, network. */
  error?: string;
}

export interface WatchOptions {
  fleet: Fleet;
  backlog: () => Promise<{ total: number; byQueue?: Record<string, number> }>;
  max: number;
  pagesPerWorker: number;
  /** Between rounds. */
  intervalMs: number;
  signal: AbortSignal;
  /** How long a started id counts as a worker while the listing does not show it. Default 5 min. */
  rememberMs?: number;
  onRound?: (r: WatchRound) => void;
  log?: Logger;
  now?: () => number;
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((res) => {
    if (signal.aborted) return res();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      res();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Rounds of: backlog → listing → decision → start, every `intervalMs`, until `signal` aborts
 * (then resolves). No capacity, a spot price above the maximum, throttling or a network error end
 * only that round; a settings or permission error (ConfigError) rejects.
 */
export async function watchFleet(o: WatchOptions): Promise<void> {
  const now = o.now ?? Date.now;
  const remember = o.rememberMs ?? 5 * 60_000;
  const recent = new Map<string, number>(); // id → when started
  while (!o.signal.aborted) {
    const round: WatchRound = { at: new Date(now()), decision: { backlog: 0, desired: 0, live: 0, start: 0 }, started: [] };
    try {
      const [backlog, instances] = await Promise.all([o.backlog(), o.fleet.list({ signal: o.signal })]);
      for (const [id, t] of recent) if (now() - t > remember || instances.some((i) => i.id === id)) recent.delete(id);
      round.decision = scaleDecision({
        backlog: backlog.total,
        instances,
        recentlyStarted: [...recent.keys()],
        max: o.max,
        pagesPerWorker: o.pagesPerWorker,
      });
      if (backlog.byQueue) round.byQueue = backlog.byQueue;
      if (round.decision.start > 0 && !o.signal.aborted) {
        const started = await o.fleet.start(round.decision.start, { signal: o.signal });
        for (const s of started) recent.set(s.id, now());
        round.started = started.map((s) => s.id);
      }
    } catch (e) {
      if (o.signal.aborted) break;
      if (e instanceof ConfigError && !(e instanceof SpotPriceTooLowError)) throw e;
      if (!(e instanceof TransientError) && !(e instanceof SpotPriceTooLowError)) throw e;
      round.error = describeError(e);
      o.log?.warn({ err: round.error }, 'scaling round failed; trying again next round');
    }
    o.onRound?.(round);
    await wait(o.intervalMs, o.signal);
  }
}
