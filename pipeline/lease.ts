// The heartbeat of one message in flight: extends its visibility every `heartbeatSeconds`, so a
// job that runs longer than the visibility timeout stays hidden from other workers. A heartbeat
// that cannot keep the lease (the handle went stale, SQS's 12-hour ceiling, or transient
// failures until the lease ran out) calls `onLost` once; the runner then aborts that job only.

import type { Logger } from 'pino';
import { HeartbeatCeilingError, LeaseLostError, describeError, actionFor } from './errors.js';
import type { Queue } from './ports.js';

export interface LeaseOptions {
  visibilitySeconds: number;
  heartbeatSeconds: number;
  log: Logger;
  /** Called once, with LeaseLostError, HeartbeatCeilingError or the permanent error that ended the lease. */
  onLost(err: Error): void;
}

export class Lease {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** When the lease runs out unless extended (ms since the epoch). */
  private expiresAt: number;
  private lostWith: Error | undefined;
  /** Successful extensions, for logs and tests. */
  beats = 0;

  constructor(
    private readonly queue: Queue,
    private readonly handle: string,
    private readonly opts: LeaseOptions,
    receivedAt: number = Date.now(),
  ) {
    this.expiresAt = receivedAt + opts.visibilitySeconds * 1000;
  }

  /** Why the lease was lost, if it was. */
  get lost(): Error | undefined {
    return this.lostWith;
  }

  start(): this {
    this.schedule(this.opts.heartbeatSeconds * 1000);
    return this;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.beat(), Math.max(0, ms));
    this.timer.unref?.();
  }

  private lose(err: Error): void {
    if (this.stopped || this.lostWith) return;
    this.lostWith = err;
    this.stop();
    this.opts.onLost(err);
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    const started = Date.now();
    try {
      await this.queue.extend(this.handle, this.opts.visibilitySeconds);
      if (this.stopped) return;
      this.beats += 1;
      this.expiresAt = started + this.opts.visibilitySeconds * 1000;
      this.opts.log.debug({ beats: this.beats }, 'heartbeat');
      this.schedule(this.opts.heartbeatSeconds * 1000);
    } catch (err) {
      if (this.stopped) return;
      if (err instanceof LeaseLostError || err instanceof HeartbeatCeilingError) return this.lose(err);
      const action = actionFor(err);
      if (action === 'dead-letter' || action === 'exit' || action === 'abandon') {
        return this.lose(err instanceof Error ? err : new LeaseLostError(describeError(err)));
      }
      // Transient (throttling, network): try again sooner, while the lease still holds.
      const left = this.expiresAt - Date.now();
      const retryIn = Math.min(this.opts.heartbeatSeconds * 1000, Math.max(250, left / 4));
      if (left - retryIn < 1000) {
        return this.lose(new LeaseLostError(`heartbeats failed until the lease ran out: ${describeError(err)}`, { cause: err }));
      }
      this.opts.log.warn({ err: describeError(err), retryInMs: Math.round(retryIn) }, 'heartbeat failed; retrying');
      this.schedule(retryIn);
    }
  }
}
