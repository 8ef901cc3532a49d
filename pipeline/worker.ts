// The `bookpipeline` worker put together: connection, queues, OCR engines, stage handlers and the
// runner. cmd/bookpipeline.ts parses flags and calls this; tests call it in-process (with an
// `intercept` to inject AWS faults and count requests).

import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { resolveTraining, TrainingError, DEFAULT_SYSTEM_TESSDATA } from '../ocr/training.js';
import type { AwsInterceptor } from './aws/options.js';
import { allQueueNames } from './cloud-config.js';
import { connect, type Connection } from './connect.js';
import { EngineCache } from './engines.js';
import { ConfigError, TransientError } from './errors.js';
import { describeJob, failureRecorder, jobSettings, parseJob, pipelineHandlers, type JobDeps } from './jobs.js';
import { QUEUE_KINDS, type QueueKind } from './messages.js';
import type { Queue, Store } from './ports.js';
import { RequestCounter, type RequestCounts } from './request-counter.js';
import { makeEngine } from './rescribe.js';
import { startWorker, type RunningWorker, type WorkerResult } from './runner.js';
import type { WorkerConfig } from './worker-config.js';

export interface PipelineWorker {
  worker: RunningWorker;
  /** Resolves when the worker has stopped and its OCR engines are closed. */
  done: Promise<WorkerResult & { requests: RequestCounts }>;
  /** The pipeline's store (e.g. for shipping logs until `close`). */
  store: Store;
  /** Closes the connection; call after `done` (and after the last use of `store`). Safe twice. */
  close(): Promise<void>;
}

export interface PipelineWorkerOptions {
  /** Called before every AWS request (after counting it): fault injection in tests. */
  intercept?: AwsInterceptor;
  /** Test hook: runner timing overrides (e.g. a short idle check). */
  idleCheckSeconds?: number;
  /** Test hook: a connection to use instead of connecting from the config. */
  connection?: Connection;
}

function systemTessdata(): string[] {
  return [...(process.env.TESSDATA_PREFIX ? [process.env.TESSDATA_PREFIX] : []), ...DEFAULT_SYSTEM_TESSDATA];
}

/** Start-up waits between tries of a call that failed transiently (throttling, 5xx, network). */
export const STARTUP_RETRY_MS = [500, 1000, 2000, 4000, 8000, 16000];

/**
 * `fn`, tried again after each wait of `waits` while it fails with a TransientError: a fleet that
 * boots at once can be throttled, and a worker that exits for that only burns its restarts.
 */
export async function retryTransient<T>(what: string, fn: () => Promise<T>, log: Logger, waits: readonly number[] = STARTUP_RETRY_MS): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const wait = waits[attempt];
      if (!(e instanceof TransientError) || wait === undefined) throw e;
      log.warn({ what, err: e.message, attempt: attempt + 1, retryInMs: wait }, 'start-up call failed; trying again');
      await sleep(wait);
    }
  }
}

async function openQueues(conn: Connection, cfg: WorkerConfig, log: Logger): Promise<Record<QueueKind, Queue>> {
  const names = allQueueNames(cfg.pipeline);
  const entries = await Promise.all(
    QUEUE_KINDS.map(async (k) => {
      try {
        return [k, await retryTransient(`open queue ${names[k]}`, () => conn.queues.open(names[k]), log)] as const;
      } catch (e) {
        if (e instanceof ConfigError && /does not exist/.test(e.message)) {
          throw new ConfigError(`queue ${names[k]} does not exist (create the pipeline with mkpipeline)`, { cause: e });
        }
        throw e;
      }
    }),
  );
  return Object.fromEntries(entries) as Record<QueueKind, Queue>;
}

/** Connects, checks the setup and starts the worker. Rejects with ConfigError on a bad setup. */
export async function startPipelineWorker(cfg: WorkerConfig, log: Logger, opts: PipelineWorkerOptions = {}): Promise<PipelineWorker> {
  // The default training must exist before any job is taken.
  try {
    resolveTraining(cfg.training, { prefer: cfg.engine, systemDirs: systemTessdata() });
  } catch (e) {
    if (e instanceof TrainingError) throw new ConfigError(`-t ${cfg.training}: ${e.message}`);
    throw e;
  }
  const counter = new RequestCounter();
  const conn = opts.connection ?? (await connect(cfg.pipeline, { intercept: counter.interceptor(opts.intercept) }));
  const engines = new EngineCache((training) =>
    makeEngine({
      engine: cfg.engine,
      training,
      systemTessdata: systemTessdata(),
      concurrency: cfg.concurrency,
      recycleAfter: cfg.recycleAfter,
      tesscmd: cfg.tesscmd,
    }),
  );
  let closed: Promise<void> | undefined;
  const closeConnection = (): Promise<void> => (closed ??= opts.connection ? Promise.resolve() : conn.close());
  const close = async (): Promise<void> => {
    await engines.close();
    await closeConnection();
  };
  let queues: Record<QueueKind, Queue>;
  try {
    queues = await openQueues(conn, cfg, log);
  } catch (e) {
    await close();
    throw e;
  }
  const deps: JobDeps = {
    store: conn.store,
    queues,
    engines,
    settings: jobSettings(cfg, { compat: cfg.compat }),
    worker: { host: hostname(), pid: process.pid },
  };
  let worker: RunningWorker;
  try {
    worker = startWorker<QueueKind, ReturnType<typeof parseJob>>({
      // -j N: N OCR jobs at once (the engine's N workers), and one slot more for the other
      // queues, as rescribe -j N has: preprocessing a new book does not wait for a free OCR slot.
      queues: cfg.queues.map((q) => ({
        kind: q.kind,
        queue: queues[q.kind],
        weight: q.weight,
        ...(q.kind === 'ocrpage' ? { maxInFlight: cfg.concurrency } : {}),
      })),
      parse: parseJob,
      handlers: pipelineHandlers(deps),
      describe: describeJob,
      recordFailure: failureRecorder(deps),
      concurrency: cfg.concurrency + (cfg.queues.some((q) => q.kind !== 'ocrpage') ? 1 : 0),
      visibilitySeconds: cfg.visibilitySeconds,
      heartbeatSeconds: cfg.heartbeatSeconds,
      autostopSeconds: cfg.autostopSeconds,
      exitOnComplete: cfg.exitOnComplete,
      graceSeconds: cfg.graceSeconds,
      maxReceiveCount: cfg.pipeline.maxReceiveCount,
      ...(opts.idleCheckSeconds !== undefined ? { idleCheckSeconds: opts.idleCheckSeconds } : {}),
      log,
    });
  } catch (e) {
    await close();
    throw e;
  }
  const done = worker.finished.then(async (r) => {
    await engines.close();
    const requests = counter.snapshot();
    if (cfg.pipeline.conn === 'aws') log.info({ requests }, 'AWS requests');
    return { ...r, requests };
  });
  return { worker, done, store: conn.store, close: closeConnection };
}
