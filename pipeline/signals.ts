// Two-stage shutdown on SIGTERM / SIGINT: the first stops taking work and lets jobs finish
// within the grace period; the second releases what is left at once.

import type { Logger } from 'pino';
import type { RunningWorker } from './runner.js';

/** Installs the handlers; returns a function that removes them. */
export function stopOnSignals(worker: Pick<RunningWorker, 'stop' | 'inFlight'>, log: Logger): () => void {
  let count = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    count += 1;
    if (count === 1) {
      log.info({ signal, jobs: worker.inFlight }, 'stopping: no new jobs; running jobs may finish (signal again to stop at once)');
      worker.stop('graceful');
    } else {
      log.info({ signal, jobs: worker.inFlight }, 'stopping at once: releasing running jobs');
      worker.stop('now');
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}
