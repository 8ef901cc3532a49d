// The job runner: receive → heartbeat → handler → delete / dead-letter / retry. It knows leases
// and retries, nothing of books or OCR: the queues, the message parser, the handlers and the
// error-record writer are functions handed in. Used by the `bookpipeline` worker on SQS or the
// directory queues, and usable by any other command on any Queue adapter.
//
// - Up to `concurrency` jobs in flight. Each free slot looks for work: a receive without waiting
//   on every polled queue in a weighted random order (weight 3 is tried first three times as
//   often as weight 1), then one long poll; free slots spread their long polls over the queues,
//   so a message that arrives on any of them is taken at once (with fewer free slots than
//   queues, the long polls are shortened so every queue is looked at every few seconds: see
//   longPollLength). Never a
//   tight loop: a long poll that comes back empty early, or a receive that fails, is followed by
//   a pause.
// - Each message in flight has its own heartbeat (lease.ts). A heartbeat that fails aborts that
//   job through its AbortSignal; a stale lease is abandoned, SQS's 12-hour ceiling dead-letters
//   the message with a record.
// - The handler's outcome decides the message: success → delete (the handler has stored its
//   outputs and sent the next messages by then); PermanentError (bad message, corrupt input) →
//   dead-letter at once with a record; ConfigError → release and stop (exit 2); anything else →
//   release with a growing delay, and dead-letter with a record at the last receipt the redrive
//   policy allows (so a failing job is never moved silently).
// - Stop: `stop()` (first signal) stops receiving and lets jobs finish within `graceSeconds`,
//   then releases what is left (visibility 0); `stop('now')` (second signal) releases at once.
//   Autostop after `autostopSeconds` with nothing to do; with `exitOnComplete`, stop when every
//   polled queue is empty (nothing visible, in flight or delayed) and this worker holds nothing.

import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import {
  AbortedError,
  ConfigError,
  HeartbeatCeilingError,
  LeaseLostError,
  TransientError,
  actionFor,
  describeError,
} from './errors.js';
import { Lease } from './lease.js';
import type { Queue, QueueMessage } from './ports.js';
import { testKillPoint } from './test-hooks.js';

export interface WorkerQueue<K extends string> {
  kind: K;
  queue: Queue;
  /** Relative share of first picks; a whole number ≥ 1. */
  weight: number;
  /**
   * At most this many of this queue's jobs at once, counting receives in progress (default: only
   * `concurrency`). With `concurrency` one above an OCR queue's cap, the last slot is kept for the
   * other queues: a worker busy reading pages still starts a new book at once.
   */
  maxInFlight?: number;
}

export interface JobContext<K extends string> {
  kind: K;
  queue: Queue;
  msg: QueueMessage;
  /** Aborted when the lease is lost or the worker stops before the job ends. */
  signal: AbortSignal;
  log: Logger;
}

export type JobHandler<K extends string, J> = (job: J, ctx: JobContext<K>) => Promise<void>;

/** What the runner knows about a message it dead-letters: what, why, when, which worker. */
export interface FailureRecord<K extends string> {
  what: { queue: string; kind: K; messageId: string; receiveCount: number; body: string };
  why: string;
  when: string;
  worker: { host: string; pid: number };
}

export interface WorkerOptions<K extends string, J> {
  queues: ReadonlyArray<WorkerQueue<K>>;
  /** Parses a body received on the `kind` queue; throws a PermanentError (BadMessageError) for a bad one. */
  parse(kind: K, body: string): J;
  handlers: Readonly<Record<K, JobHandler<K, J>>>;
  /** Log fields for a job (book, page, ...). */
  describe?(job: J): Record<string, unknown>;
  /**
   * Store the record of a message about to be dead-lettered (`job` is undefined when the body did
   * not parse). Its failure is logged and does not stop the dead-lettering.
   */
  recordFailure?(record: FailureRecord<K>, job: J | undefined): Promise<void>;
  concurrency: number;
  /** Visibility of received messages and of each heartbeat extension. Default 120. */
  visibilitySeconds?: number;
  /** Default 60; must be less than visibilitySeconds. */
  heartbeatSeconds?: number;
  /** Long poll length, 1..20. Default 20. */
  waitSeconds?: number;
  /** Stop after this long with nothing to do; 0 = never. Default 300. */
  autostopSeconds?: number;
  exitOnComplete?: boolean;
  /** After a first stop, how long jobs may run on before their messages are released. Default 60. */
  graceSeconds?: number;
  /** The redrive policy's maxReceiveCount: a retryable failure at this receipt is dead-lettered. Default 5. */
  maxReceiveCount?: number;
  /** How often to look for autostop / completion while idle (s). Default 2. */
  idleCheckSeconds?: number;
  /** Delay before a failed message comes back, by its receive count. Default {@link backoffSeconds}. */
  backoff?: (receiveCount: number) => number;
  log: Logger;
  /** For tests: the random source of the weighted choice. */
  random?: () => number;
}

export type StopReason = 'autostop' | 'complete' | 'stopped' | 'fatal';

export interface WorkerStats {
  received: number;
  succeeded: number;
  deadLettered: number;
  retried: number;
  abandoned: number;
  released: number;
}

export interface WorkerResult {
  reason: StopReason;
  /** The ConfigError that stopped the worker, for reason 'fatal'. */
  error?: Error;
  stats: WorkerStats;
}

export interface RunningWorker {
  readonly finished: Promise<WorkerResult>;
  /** First call: stop receiving, let jobs finish within the grace period. Second call or 'now': release at once. */
  stop(mode?: 'graceful' | 'now'): void;
  /** Jobs in flight now. */
  readonly inFlight: number;
}

/** Delay before a failed message is offered again: min(2^n · 5 s, 300 s) for its n-th receipt. */
export function backoffSeconds(receiveCount: number): number {
  const n = Math.max(1, Math.min(receiveCount, 16));
  return Math.min(2 ** n * 5, 300);
}

/** Checks the timing settings together; throws ConfigError. */
export function checkWorkerTiming(t: { visibilitySeconds: number; heartbeatSeconds: number; waitSeconds?: number }): void {
  if (!Number.isInteger(t.visibilitySeconds) || t.visibilitySeconds < 2 || t.visibilitySeconds > 43_200) {
    throw new ConfigError(`--visibility ${t.visibilitySeconds}: expected whole seconds in 2..43200`);
  }
  if (!Number.isInteger(t.heartbeatSeconds) || t.heartbeatSeconds < 1 || t.heartbeatSeconds >= t.visibilitySeconds) {
    throw new ConfigError(
      `--heartbeat ${t.heartbeatSeconds}: must be whole seconds, at least 1 and less than --visibility ${t.visibilitySeconds}`,
    );
  }
  if (t.waitSeconds !== undefined && (!Number.isInteger(t.waitSeconds) || t.waitSeconds < 1 || t.waitSeconds > 20)) {
    throw new ConfigError(`long poll wait ${t.waitSeconds}: expected whole seconds in 1..20`);
  }
}

/** With fewer free slots than queues, the free slots between them look at every queue this often. */
export const LOOK_AGAIN_SECONDS = 4;

/**
 * A long poll's length: the full wait when the free slots can keep a long poll on every queue;
 * when they cannot, short enough that taking turns they look at every queue again within
 * {@link LOOK_AGAIN_SECONDS} (a delayed message, e.g. analyse's next check, is not left waiting
 * for its queue's turn: with 1 free slot, 4 queues and a 20 s wait it waited up to 20 s).
 */
export function longPollLength(free: number, queues: number, waitSeconds: number): number {
  if (free >= queues) return waitSeconds;
  return Math.min(waitSeconds, Math.max(1, Math.floor((LOOK_AGAIN_SECONDS * free) / queues)));
}

/** Queues in a weighted random order: each next pick has probability weight / (sum of weights left). */
export function weightedOrder<T extends { weight: number }>(items: readonly T[], random: () => number = Math.random): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (pool.length > 0) {
    const total = pool.reduce((a, q) => a + q.weight, 0);
    let r = random() * total;
    let i = 0;
    while (i < pool.length - 1 && r >= pool[i]!.weight) {
      r -= pool[i]!.weight;
      i++;
    }
    out.push(pool.splice(i, 1)[0]!);
  }
  return out;
}

/**
 * How long the quick look between jobs skips a queue found empty. A busy worker then spends about
 * one receive per job; an idle one still covers every queue with its rotating long polls.
 */
const EMPTY_SKIP_MS = 10_000;

interface InFlight<K extends string> {
  wq: WorkerQueue<K>;
  msg: QueueMessage;
  abort: AbortController;
  lease: Lease;
  /** Released by a stop: the outcome of the handler no longer matters. */
  released: boolean;
  /** The dead-lettering of a job whose heartbeat hit the ceiling (or failed for good). */
  givenUp?: Promise<void>;
}

function givenUpReason(err: Error): string {
  return err instanceof HeartbeatCeilingError
    ? `ran past the queue's 12-hour visibility ceiling; given up (${describeError(err)})`
    : `heartbeat failed: ${describeError(err)}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res) => {
    if (signal?.aborted) return res();
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      res();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

class Worker<K extends string, J> implements RunningWorker {
  readonly finished: Promise<WorkerResult>;
  private resolveFinished!: (r: WorkerResult) => void;
  private readonly o: Required<Omit<WorkerOptions<K, J>, 'describe' | 'recordFailure'>> &
    Pick<WorkerOptions<K, J>, 'describe' | 'recordFailure'>;
  private readonly running = new Set<InFlight<K>>();
  private readonly pollAbort = new AbortController();
  private readonly longPolls = new Map<WorkerQueue<K>, number>();
  /** Per queue: its messages being received or worked on by a slot (for `maxInFlight`). */
  private readonly taken = new Map<WorkerQueue<K>, number>();
  /** Until when the quick look skips a queue that was just found empty. */
  private readonly emptyUntil = new Map<WorkerQueue<K>, number>();
  /** When each queue was last received from. */
  private readonly lastPolled = new Map<WorkerQueue<K>, number>();
  private stopping: 'graceful' | 'now' | null = null;
  private reason: StopReason = 'stopped';
  private fatal: Error | undefined;
  private lastActivity = Date.now();
  private emptyChecks = 0;
  /** The completion check backs off while other workers hold the remaining work: × 2 up to × 8. */
  private idleFactor = 1;
  private idleTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private receiveFailures = 0;
  private readonly stats: WorkerStats = { received: 0, succeeded: 0, deadLettered: 0, retried: 0, abandoned: 0, released: 0 };
  private readonly worker = { host: hostname(), pid: process.pid };

  constructor(opts: WorkerOptions<K, J>) {
    this.o = {
      visibilitySeconds: 120,
      heartbeatSeconds: 60,
      waitSeconds: 20,
      autostopSeconds: 300,
      exitOnComplete: false,
      graceSeconds: 60,
      maxReceiveCount: 5,
      idleCheckSeconds: 2,
      backoff: backoffSeconds,
      random: Math.random,
      ...opts,
    };
    checkWorkerTiming(this.o);
    if (this.o.queues.length === 0) throw new ConfigError('no queues to poll');
    if (!Number.isInteger(this.o.concurrency) || this.o.concurrency < 1) throw new ConfigError(`concurrency ${this.o.concurrency}: expected a whole number ≥ 1`);
    for (const q of this.o.queues) {
      if (!Number.isInteger(q.weight) || q.weight < 1) throw new ConfigError(`queue ${q.kind}: weight ${q.weight} must be a whole number ≥ 1`);
      if (q.maxInFlight !== undefined && !(Number.isInteger(q.maxInFlight) && q.maxInFlight >= 1)) {
        throw new ConfigError(`queue ${q.kind}: maxInFlight ${q.maxInFlight} must be a whole number ≥ 1`);
      }
      if (typeof this.o.handlers[q.kind] !== 'function') throw new ConfigError(`no handler for queue ${q.kind}`);
      this.longPolls.set(q, 0);
    }
    // Every free slot's receive (and pause) listens on the one poll signal: with -j above ~10 Node
    // would warn of a listener leak that is not one.
    setMaxListeners(this.o.concurrency * 2 + 10, this.pollAbort.signal);
    this.finished = new Promise((res) => (this.resolveFinished = res));
    void this.run();
  }

  get inFlight(): number {
    return this.running.size;
  }

  private get log(): Logger {
    return this.o.log;
  }

  private async run(): Promise<void> {
    this.log.info(
      {
        queues: this.o.queues.map((q) => `${q.queue.name}=${q.weight}`),
        concurrency: this.o.concurrency,
        visibility: this.o.visibilitySeconds,
        heartbeat: this.o.heartbeatSeconds,
        autostop: this.o.autostopSeconds,
        exitOnComplete: this.o.exitOnComplete,
      },
      'worker started',
    );
    this.scheduleIdleCheck();
    const slots = Array.from({ length: this.o.concurrency }, (_, i) => this.slot(i));
    await Promise.all(slots);
    this.finish();
  }

  private finish(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.log.info({ reason: this.reason, ...this.stats }, 'worker stopped');
    this.resolveFinished({ reason: this.reason, ...(this.fatal ? { error: this.fatal } : {}), stats: { ...this.stats } });
  }

  // ───────────── stopping ─────────────

  stop(mode: 'graceful' | 'now' = 'graceful'): void {
    if (this.stopping === null && mode === 'graceful') {
      this.beginStop('stopped');
      if (this.running.size > 0) {
        this.log.info({ jobs: this.running.size, graceSeconds: this.o.graceSeconds }, 'stopping: letting jobs finish');
        this.graceTimer = setTimeout(() => void this.releaseAll('grace period over'), this.o.graceSeconds * 1000);
      }
      return;
    }
    if (this.stopping === 'now') return;
    if (this.stopping === null) this.beginStop('stopped');
    this.stopping = 'now';
    void this.releaseAll('stopped at once');
  }

  private beginStop(reason: StopReason): void {
    if (this.stopping !== null) return;
    this.stopping = 'graceful';
    this.reason = reason;
    this.pollAbort.abort();
  }

  /** Releases every message still in flight (visibility 0) and aborts its job. */
  private async releaseAll(why: string): Promise<void> {
    const jobs = [...this.running].filter((j) => !j.released);
    if (jobs.length === 0) return;
    this.log.info({ jobs: jobs.length, why }, 'releasing unfinished jobs');
    await Promise.all(
      jobs.map(async (j) => {
        j.released = true;
        j.lease.stop();
        try {
          await j.wq.queue.release(j.msg.handle);
          this.stats.released += 1;
        } catch (err) {
          this.log.warn({ msgId: j.msg.id, err: describeError(err) }, 'could not release message');
        }
        j.abort.abort(new AbortedError(`worker stopping: ${why}`));
      }),
    );
    // Jobs that ignore their signal must not hold the process: they are released already.
    this.unblock?.();
  }

  /** Lets slots that wait on a released job give up waiting. */
  private unblock: (() => void) | undefined;
  private readonly released = new Promise<void>((res) => (this.unblock = res));

  // ───────────── idle: autostop, exit on complete ─────────────

  private scheduleIdleCheck(): void {
    if (this.stopping) return;
    this.idleTimer = setTimeout(() => void this.idleCheck(), this.o.idleCheckSeconds * this.idleFactor * 1000);
    this.idleTimer.unref?.();
  }

  private async idleCheck(): Promise<void> {
    try {
      if (this.stopping) return;
      if (this.running.size > 0) {
        this.lastActivity = Date.now();
        this.emptyChecks = 0;
        this.idleFactor = 1;
        return;
      }
      const idleMs = Date.now() - this.lastActivity;
      if (this.o.autostopSeconds > 0 && idleMs >= this.o.autostopSeconds * 1000) {
        this.log.info({ idleSeconds: Math.round(idleMs / 1000) }, 'autostop: nothing to do');
        this.beginStop('autostop');
        return;
      }
      if (this.o.exitOnComplete) {
        const counts = await Promise.all(this.o.queues.map((q) => q.queue.counts()));
        const left = counts.reduce((a, c) => a + c.available + c.inFlight, 0);
        if (this.stopping) return;
        if (left === 0 && this.running.size === 0) {
          this.idleFactor = 1;
          this.emptyChecks += 1;
          // Twice in a row: SQS's counts are approximate.
          if (this.emptyChecks >= 2) {
            this.log.info('every polled queue is empty: done');
            this.beginStop('complete');
            return;
          }
        } else {
          this.emptyChecks = 0;
          // Work left, held by other workers (or delayed): look less often.
          if (Date.now() - this.lastActivity > this.o.idleCheckSeconds * 1000) this.idleFactor = Math.min(8, this.idleFactor * 2);
        }
      }
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'idle check failed');
    } finally {
      this.scheduleIdleCheck();
    }
  }

  // ───────────── receiving ─────────────

  private async slot(i: number): Promise<void> {
    while (!this.stopping) {
      const got = await this.acquire();
      if (!got) continue;
      try {
        if (this.stopping) {
          // Received while stopping: hand it back at once.
          await got.wq.queue.release(got.msg.handle).catch(() => undefined);
          break;
        }
        await this.runJob(got.wq, got.msg);
      } catch (err) {
        // A bug in the runner's own bookkeeping must not stop the slot; the message comes back.
        this.log.error({ err: describeError(err), msgId: got.msg.id }, 'unexpected error around a job');
        await sleep(1000, this.pollAbort.signal);
      } finally {
        this.untake(got.wq);
      }
    }
    this.log.debug({ slot: i }, 'slot done');
  }

  /** Whether `wq` is below its `maxInFlight` (receives in progress and jobs running). */
  private isOpen(wq: WorkerQueue<K>): boolean {
    return wq.maxInFlight === undefined || (this.taken.get(wq) ?? 0) < wq.maxInFlight;
  }

  /** Whether a slot may receive from `wq` now; if so, counts it as taken. */
  private take(wq: WorkerQueue<K>): boolean {
    if (!this.isOpen(wq)) return false;
    this.taken.set(wq, (this.taken.get(wq) ?? 0) + 1);
    return true;
  }

  private untake(wq: WorkerQueue<K>): void {
    this.taken.set(wq, Math.max(0, (this.taken.get(wq) ?? 0) - 1));
  }

  /** A receive of up to one message from `wq`, counted against its `maxInFlight`; null when at its cap or empty. */
  private async receiveTaken(wq: WorkerQueue<K>, waitSeconds: number): Promise<QueueMessage | null> {
    if (!this.take(wq)) return null;
    let msg: QueueMessage | null = null;
    try {
      msg = await this.receiveOne(wq, waitSeconds);
      return msg;
    } finally {
      if (!msg) this.untake(wq);
    }
  }

  /** The queue for a long poll: the fewest long polls on it now, then the longest unpolled. */
  private pickLongPoll(order: ReadonlyArray<WorkerQueue<K>>): WorkerQueue<K> {
    let best = order[0]!;
    const polls = (q: WorkerQueue<K>) => this.longPolls.get(q) ?? 0;
    const last = (q: WorkerQueue<K>) => this.lastPolled.get(q) ?? 0;
    for (const q of order) if (polls(q) < polls(best) || (polls(q) === polls(best) && last(q) < last(best))) best = q;
    return best;
  }

  /** A message for a slot, counted against its queue's `maxInFlight` (the slot gives it back). */
  private async acquire(): Promise<{ wq: WorkerQueue<K>; msg: QueueMessage } | null> {
    const order = weightedOrder(this.o.queues.filter((q) => this.isOpen(q)), this.o.random);
    if (order.length === 0) {
      // Every queue this slot could take from is at its cap: wait for a job to end.
      await sleep(250, this.pollAbort.signal);
      return null;
    }
    if (order.length > 1) {
      // A quick look at each queue, in weighted order; a queue found empty a moment ago is
      // skipped (the long polls still cover it), so a busy worker spends one receive per job.
      const now = Date.now();
      for (const wq of order) {
        if (this.stopping) return null;
        if ((this.emptyUntil.get(wq) ?? 0) > now) continue;
        const msg = await this.receiveTaken(wq, 0);
        if (msg) return { wq, msg };
      }
    }
    if (this.stopping) return null;
    const still = order.filter((q) => this.isOpen(q));
    if (still.length === 0) {
      await sleep(250, this.pollAbort.signal);
      return null;
    }
    const wq = this.pickLongPoll(still);
    this.longPolls.set(wq, (this.longPolls.get(wq) ?? 0) + 1);
    const t0 = Date.now();
    let msg: QueueMessage | null;
    try {
      msg = await this.receiveTaken(wq, this.longPollSeconds());
    } finally {
      this.longPolls.set(wq, (this.longPolls.get(wq) ?? 1) - 1);
    }
    if (msg) return { wq, msg };
    // A long poll that came back empty well before its time: never spin.
    if (!this.stopping && Date.now() - t0 < 500) await sleep(1000, this.pollAbort.signal);
    return null;
  }

  /** The long poll's length now: {@link longPollLength} of the free slots and the queues open to them. */
  private longPollSeconds(): number {
    const free = Math.max(1, this.o.concurrency - this.running.size);
    const open = this.o.queues.filter((q) => this.isOpen(q)).length;
    return longPollLength(free, Math.max(1, open), this.o.waitSeconds);
  }

  private async receiveOne(wq: WorkerQueue<K>, waitSeconds: number): Promise<QueueMessage | null> {
    try {
      const [msg] = await wq.queue.receive({
        max: 1,
        waitSeconds,
        visibilitySeconds: this.o.visibilitySeconds,
        signal: this.pollAbort.signal,
      });
      this.receiveFailures = 0;
      const now = Date.now();
      this.lastPolled.set(wq, now);
      if (msg) this.emptyUntil.delete(wq);
      else this.emptyUntil.set(wq, now + EMPTY_SKIP_MS);
      return msg ?? null;
    } catch (err) {
      if (err instanceof ConfigError) {
        this.stopFatal(err);
        return null;
      }
      this.receiveFailures += 1;
      const pause = Math.min(30_000, 1000 * 2 ** Math.min(this.receiveFailures - 1, 5));
      this.log.warn({ queue: wq.queue.name, err: describeError(err), pauseMs: pause }, 'receive failed');
      await sleep(pause, this.pollAbort.signal);
      return null;
    }
  }

  private stopFatal(err: Error): void {
    if (this.fatal) return;
    this.fatal = err;
    this.log.error({ err: describeError(err) }, 'configuration error: stopping');
    this.beginStop('fatal');
    this.reason = 'fatal';
  }

  // ───────────── one job ─────────────

  private async runJob(wq: WorkerQueue<K>, msg: QueueMessage): Promise<void> {
    this.stats.received += 1;
    this.lastActivity = Date.now();
    let log = this.log.child({ queue: wq.queue.name, msgId: msg.id, receiveCount: msg.receiveCount });
    let job: J;
    try {
      job = this.o.parse(wq.kind, msg.body);
    } catch (err) {
      if (actionFor(err) === 'dead-letter') {
        await this.deadLetter(wq, msg, undefined, describeError(err), log);
      } else {
        log.error({ err: describeError(err) }, 'could not parse message; retrying later');
        await this.retryLater(wq, msg, undefined, err, log);
      }
      return;
    }
    if (this.o.describe) log = log.child(this.o.describe(job));
    testKillPoint('after-receive');

    const abort = new AbortController();
    const entry: InFlight<K> = {
      wq,
      msg,
      abort,
      released: false,
      lease: new Lease(wq.queue, msg.handle, {
        visibilitySeconds: this.o.visibilitySeconds,
        heartbeatSeconds: this.o.heartbeatSeconds,
        log,
        onLost: (err) => {
          log.warn({ err: describeError(err) }, 'lease lost: aborting the job');
          // Past the ceiling the handle still holds until the visibility runs out: dead-letter now,
          // before the message is offered again, not after the job has wound down.
          if (!(err instanceof LeaseLostError)) entry.givenUp = this.deadLetter(wq, msg, job, givenUpReason(err), log);
          abort.abort(err);
        },
      }),
    };
    this.running.add(entry);
    entry.lease.start();
    const started = Date.now();
    log.debug('job started');
    let failure: { err: unknown } | undefined;
    try {
      const handler = this.o.handlers[wq.kind];
      const work = handler(job, { kind: wq.kind, queue: wq.queue, msg, signal: abort.signal, log });
      // If a stop releases the message first, the job's late failure is of no interest.
      work.catch(() => undefined);
      await Promise.race([
        work,
        // A stop released the message: do not wait for a job that ignores its signal.
        this.released.then(() => {
          if (entry.released) throw new AbortedError('released');
          return new Promise<void>(() => undefined);
        }),
      ]);
    } catch (err) {
      failure = { err };
    } finally {
      entry.lease.stop();
    }
    try {
      await this.settle(entry, job, failure, Date.now() - started, log);
    } finally {
      this.running.delete(entry);
      this.lastActivity = Date.now();
    }
  }

  private async settle(
    entry: InFlight<K>,
    job: J,
    failure: { err: unknown } | undefined,
    ms: number,
    log: Logger,
  ): Promise<void> {
    const { wq, msg } = entry;
    if (entry.released) {
      log.info({ ms }, 'job stopped; message released');
      return;
    }
    const lost = entry.lease.lost;
    if (lost) {
      if (lost instanceof LeaseLostError) {
        this.stats.abandoned += 1;
        log.warn({ ms, err: describeError(lost) }, 'job abandoned: lease lost');
        return;
      }
      await entry.givenUp;
      return;
    }
    if (!failure) {
      testKillPoint('after-send');
      await this.deleteWithRetry(wq.queue, msg, log);
      this.stats.succeeded += 1;
      log.info({ ms }, 'job done');
      return;
    }
    const err = failure.err;
    switch (actionFor(err)) {
      case 'dead-letter':
        log.warn({ ms, err: describeError(err) }, 'job failed permanently');
        await this.deadLetter(wq, msg, job, describeError(err), log);
        return;
      case 'abandon':
        this.stats.abandoned += 1;
        log.warn({ ms, err: describeError(err) }, 'job abandoned');
        return;
      case 'exit':
        log.error({ ms, err: describeError(err) }, 'job hit a configuration error');
        await wq.queue.release(msg.handle).catch(() => undefined);
        this.stopFatal(err instanceof Error ? err : new ConfigError(describeError(err)));
        return;
      case 'retry':
        await this.retryLater(wq, msg, job, err, log, ms);
        return;
    }
  }

  /** Release with a growing delay; dead-letter at the last receipt the redrive allows. */
  private async retryLater(wq: WorkerQueue<K>, msg: QueueMessage, job: J | undefined, err: unknown, log: Logger, ms?: number): Promise<void> {
    if (msg.receiveCount >= this.o.maxReceiveCount) {
      log.warn({ ms, err: describeError(err) }, 'job failed on its last attempt');
      await this.deadLetter(wq, msg, job, `failed ${msg.receiveCount} times; last error: ${describeError(err)}`, log);
      return;
    }
    const delay = Math.max(0, Math.min(43_200, Math.round(this.o.backoff(msg.receiveCount))));
    log.warn({ ms, err: describeError(err), retryInSeconds: delay }, 'job failed; will retry');
    this.stats.retried += 1;
    try {
      await wq.queue.extend(msg.handle, delay);
    } catch (e) {
      log.warn({ err: describeError(e) }, 'could not delay the retry; the message comes back when its visibility runs out');
    }
  }

  private async deadLetter(wq: WorkerQueue<K>, msg: QueueMessage, job: J | undefined, why: string, log: Logger): Promise<void> {
    const record: FailureRecord<K> = {
      what: { queue: wq.queue.name, kind: wq.kind, messageId: msg.id, receiveCount: msg.receiveCount, body: msg.body.slice(0, 1000) },
      why,
      when: new Date().toISOString(),
      worker: this.worker,
    };
    if (this.o.recordFailure) {
      try {
        await this.o.recordFailure(record, job);
      } catch (err) {
        log.warn({ err: describeError(err) }, 'could not store the error record');
      }
    }
    try {
      await wq.queue.deadLetter(msg, `${why} [${record.when} ${this.worker.host} pid ${this.worker.pid}]`);
      this.stats.deadLettered += 1;
      log.warn({ why }, 'message dead-lettered');
    } catch (err) {
      log.error({ err: describeError(err), why }, 'could not dead-letter the message; it comes back later');
      if (err instanceof ConfigError) this.stopFatal(err);
    }
  }

  private async deleteWithRetry(queue: Queue, msg: QueueMessage, log: Logger): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await queue.delete(msg.handle);
        return;
      } catch (err) {
        if (err instanceof TransientError && attempt < 3 && !this.stopping) {
          await sleep(500 * attempt);
          continue;
        }
        // The outputs are stored; the message comes back and the job runs again (idempotent).
        log.warn({ err: describeError(err) }, 'could not delete the finished message');
        return;
      }
    }
  }
}

/** Starts a worker; see RunningWorker for stopping it. */
export function startWorker<K extends string, J>(opts: WorkerOptions<K, J>): RunningWorker {
  return new Worker(opts);
}

/** Runs a worker until it stops by itself (autostop, exit on complete, a fatal error). */
export function runWorker<K extends string, J>(opts: WorkerOptions<K, J>): Promise<WorkerResult> {
  return startWorker(opts).finished;
}
