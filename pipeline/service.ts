// The `bookpipeline` command's whole run: the log (stderr, and the bucket with --ship-logs), the
// worker, two-stage shutdown on signals, and on an instance of its own (--shutdown / --spot) the
// spot interruption watch and the power-off after an autostop (instance.ts).

import { pino } from 'pino';
import { runInstanceLife } from './instance.js';
import { LogShipper } from './logship.js';
import type { Store } from './ports.js';
import { stopOnSignals } from './signals.js';
import { startPipelineWorker } from './worker.js';
import type { WorkerConfig } from './worker-config.js';

export interface ServiceResult {
  /** 0 stopped normally; 2 a configuration error stopped the worker. */
  code: 0 | 2;
  error?: Error;
}

export async function runWorkerService(cfg: WorkerConfig): Promise<ServiceResult> {
  const level = cfg.verbose ? 'debug' : 'info';
  let store: Store | undefined;
  // The shipper buffers lines from the start; it uploads once the worker is connected.
  const ship = cfg.shipLogs
    ? new LogShipper({
        store: { put: (key, body, opts) => (store ? store.put(key, body, opts) : Promise.reject(new Error('not connected yet'))) },
        onError: (e) => process.stderr.write(`bookpipeline: log shipping: ${e instanceof Error ? e.message : String(e)}\n`),
      })
    : undefined;
  const stderr = pino.destination({ dest: 2, sync: true });
  const log = pino(
    { name: 'bookpipeline', level, timestamp: pino.stdTimeFunctions.isoTime },
    ship ? pino.multistream([{ stream: stderr, level }, { stream: ship, level }]) : stderr,
  );
  let pw;
  try {
    pw = await startPipelineWorker(cfg, log);
  } catch (e) {
    await ship?.close();
    throw e;
  }
  store = pw.store;
  const { worker } = pw;
  const offSignals = stopOnSignals(worker, log);
  try {
    const life = await runInstanceLife({
      worker: { stop: (m) => worker.stop(m), get inFlight() { return worker.inFlight; }, finished: pw.done },
      log,
      ...(ship ? { logs: ship } : {}),
      interruption: cfg.spot ? { endpoint: cfg.imdsEndpoint } : false,
      ...(cfg.shutdown ? { shutdown: cfg.poweroffCommand } : {}),
    });
    const r = life.result;
    return r.reason === 'fatal' ? { code: 2, ...(r.error ? { error: r.error } : {}) } : { code: 0 };
  } finally {
    offSignals();
    await pw.close();
  }
}
