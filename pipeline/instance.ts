// A worker's life on a spot instance, around a running worker (runner.ts):
//
// - Spot interruption (interruption.ts): on a notice, stop taking work and let running jobs
//   finish; `marginSeconds` before the deadline, release what is still running (visibility 0,
//   so other workers take it at once). The worker then stops and this resolves: ship the logs,
//   exit 0. The machine is taken away at the deadline; nothing is powered off here.
// - Autostop with `--shutdown`: when the worker stopped for being idle, ship the logs and run the
//   power-off command (poweroff.ts).
// - Logs (logship.ts): closed (the last part shipped) before power-off and before resolving.
//
// cmd/bookpipeline.ts wires it:
//   const ship = new LogShipper({ store: conn.store, host });   // also a pino stream
//   const { worker, done } = await startPipelineWorker(cfg, log);
//   const life = await runInstanceLife({ worker: { stop: (m) => worker.stop(m), get inFlight() { return worker.inFlight; }, finished: done },
//     log, logs: ship, interruption: cfg.spot ? { endpoint } : false, shutdown: cfg.shutdown ? cfg.poweroffCommand : undefined });

import type { Logger } from 'pino';
import { watchInterruption, type InterruptionNotice, type InterruptionWatcherOptions } from './interruption.js';
import type { LogShipper } from './logship.js';
import { powerOff, type PowerOffResult } from './poweroff.js';
import type { WorkerResult } from './runner.js';

export interface SupervisedWorker<R extends Pick<WorkerResult, 'reason'>> {
  stop(mode?: 'graceful' | 'now'): void;
  readonly inFlight: number;
  /** Resolves when the worker has stopped. */
  readonly finished: Promise<R>;
}

export interface InstanceLifeOptions<R extends Pick<WorkerResult, 'reason'>> {
  worker: SupervisedWorker<R>;
  log: Logger;
  /** Watch the metadata service for spot interruption notices; false (or absent) = don't. */
  interruption?: false | Pick<InterruptionWatcherOptions, 'endpoint' | 'intervalMs' | 'tokenTtlSeconds' | 'requestTimeoutMs'>;
  /** Release unfinished jobs this long before the interruption deadline. Default 30. */
  marginSeconds?: number;
  /** Shipped and closed before power-off and before this resolves. */
  logs?: Pick<LogShipper, 'flush' | 'close'>;
  /** `--shutdown`: run this command after an autostop. */
  shutdown?: readonly string[];
  /** Tests: the clock. */
  now?: () => number;
}

export interface InstanceLifeResult<R> {
  result: R;
  /** The notice, when the worker stopped for a spot interruption. */
  interrupted?: InterruptionNotice;
  /** The power-off command's outcome, when it ran. */
  poweredOff?: PowerOffResult;
}

export async function runInstanceLife<R extends Pick<WorkerResult, 'reason'>>(o: InstanceLifeOptions<R>): Promise<InstanceLifeResult<R>> {
  const now = o.now ?? Date.now;
  const margin = (o.marginSeconds ?? 30) * 1000;
  let releaseTimer: NodeJS.Timeout | undefined;
  let interrupted: InterruptionNotice | undefined;
  const watcher = o.interruption
    ? watchInterruption({
        ...o.interruption,
        now,
        onNotice: (n) => {
          interrupted = n;
          const left = n.deadline.getTime() - now();
          o.log.warn(
            { action: n.action, deadline: n.deadline.toISOString(), secondsLeft: Math.round(left / 1000), jobs: o.worker.inFlight },
            'spot interruption notice: taking no more work; running jobs may finish until shortly before the deadline',
          );
          o.worker.stop('graceful');
          releaseTimer = setTimeout(
            () => {
              o.log.warn({ jobs: o.worker.inFlight }, 'interruption deadline near: releasing unfinished jobs');
              o.worker.stop('now');
            },
            Math.max(0, left - margin),
          );
        },
        onError: (e) => o.log.debug({ err: e.message }, 'instance metadata: no answer (not on EC2, or IMDS off?)'),
      })
    : undefined;
  let result: R;
  try {
    result = await o.worker.finished;
  } finally {
    watcher?.stop();
    if (releaseTimer) clearTimeout(releaseTimer);
  }
  const out: InstanceLifeResult<R> = { result, ...(interrupted ? { interrupted } : {}) };
  if (interrupted) {
    o.log.info({ deadline: interrupted.deadline.toISOString(), secondsLeft: Math.round((interrupted.deadline.getTime() - now()) / 1000) }, 'stopped for the spot interruption');
  }
  if (result.reason === 'autostop' && o.shutdown && !interrupted) {
    o.log.info({ command: o.shutdown }, 'idle: shipping logs, then powering off (--shutdown)');
    await o.logs?.flush();
    out.poweredOff = await powerOff(o.shutdown, { log: o.log });
  }
  await o.logs?.close();
  return out;
}
