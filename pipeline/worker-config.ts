// The `bookpipeline` worker's settings: built once from flags (and the pipeline settings of
// cloud-config.ts), validated, frozen. Timing rules are checked here, before anything starts.

import { z } from 'zod';
import { buildPipelineConfig, type PipelineConfig, type PipelineFlags } from './cloud-config.js';
import { defaultConcurrency, parseThresholds } from './config.js';
import { ConfigError } from './errors.js';
import { IMDS_ENDPOINT } from './interruption.js';
import { QUEUE_KINDS, type QueueKind } from './messages.js';
import { DEFAULT_POWEROFF_COMMAND, parseCommand } from './poweroff.js';
import { checkWorkerTiming } from './runner.js';

/** The original's cloud thresholds (spec §2.1). */
export const DEFAULT_CLOUD_THRESHOLDS = [0.1, 0.2, 0.4, 0.5] as const;

export const WORKER_DEFAULTS = {
  visibilitySeconds: 120,
  heartbeatSeconds: 60,
  autostopSeconds: 300,
  graceSeconds: 60,
  training: 'eng',
  engine: 'embedded',
  tesscmd: 'tesseract',
  recycleAfter: 40,
  maxPixels: 150_000_000,
} as const;

export interface PolledQueue {
  kind: QueueKind;
  weight: number;
}

/** `ocrpage=3,preprocess=1` or `ocrpage,analyse` (weight 1); every kind at most once. */
export function parseQueueWeights(s: string): PolledQueue[] {
  const out: PolledQueue[] = [];
  for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [name = '', w, ...rest] = part.split('=');
    const kind = name.trim() as QueueKind;
    if (!QUEUE_KINDS.includes(kind)) {
      throw new ConfigError(`--queues: unknown queue "${name}"; expected some of ${QUEUE_KINDS.join(', ')}`);
    }
    const weight = w === undefined ? 1 : Number(w);
    if (rest.length || !Number.isInteger(weight) || weight < 1 || weight > 100) {
      throw new ConfigError(`--queues: "${part}": the weight must be a whole number in 1..100`);
    }
    if (out.some((q) => q.kind === kind)) throw new ConfigError(`--queues: ${kind} is given twice`);
    out.push({ kind, weight });
  }
  if (out.length === 0) throw new ConfigError('--queues: no queue given');
  return out;
}

export interface WorkerFlags extends PipelineFlags {
  queues?: string;
  concurrency?: number;
  visibility?: number;
  heartbeat?: number;
  autostop?: number;
  exitOnComplete?: boolean;
  grace?: number;
  training?: string;
  engine?: string;
  tesscmd?: string;
  thresholds?: string;
  nodeskew?: boolean;
  denoise?: string;
  maxPixels?: number;
  recycleAfter?: number;
  compat?: boolean;
  allVariants?: boolean;
  shutdown?: boolean;
  poweroffCommand?: string;
  spot?: boolean;
  shipLogs?: boolean;
  imds?: string;
  verbose?: boolean;
}

const workerSchema = z.object({
  queues: z.array(z.object({ kind: z.enum(QUEUE_KINDS as [QueueKind, ...QueueKind[]]), weight: z.number().int().min(1) })).min(1),
  concurrency: z.number().int().min(1).max(64),
  visibilitySeconds: z.number().int(),
  heartbeatSeconds: z.number().int(),
  autostopSeconds: z.number().int().min(0),
  exitOnComplete: z.boolean(),
  graceSeconds: z.number().int().min(0).max(43_200),
  training: z.string().min(1),
  engine: z.enum(['embedded', 'system']),
  tesscmd: z.string().min(1),
  thresholds: z.array(z.number().gt(0).lt(1)).min(1),
  deskew: z.boolean(),
  denoise: z.enum(['auto', 'on', 'off']),
  maxPixels: z.number().int().min(1),
  recycleAfter: z.number().int().min(1),
  compat: z.boolean(),
  /** Preprocess sends an OCR job for every variant (the original's way) instead of the adaptive search. */
  allVariants: z.boolean(),
  /** After an autostop, power the machine off with `poweroffCommand`. */
  shutdown: z.boolean(),
  poweroffCommand: z.array(z.string()).min(1),
  /** Watch the instance metadata for spot interruption notices. */
  spot: z.boolean(),
  imdsEndpoint: z.string().url(),
  /** Ship the log to the bucket (logs/<start>-<host>/) in parts. */
  shipLogs: z.boolean(),
  verbose: z.boolean(),
});

export type WorkerConfig = Readonly<z.infer<typeof workerSchema>> & { readonly pipeline: PipelineConfig };

export function buildWorkerConfig(flags: WorkerFlags, env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const pipeline = buildPipelineConfig(flags, env);
  const raw = {
    queues: parseQueueWeights(flags.queues ?? QUEUE_KINDS.join(',')),
    concurrency: flags.concurrency ?? defaultConcurrency(),
    visibilitySeconds: flags.visibility ?? pipeline.visibilitySeconds,
    heartbeatSeconds: flags.heartbeat ?? WORKER_DEFAULTS.heartbeatSeconds,
    autostopSeconds: flags.autostop ?? WORKER_DEFAULTS.autostopSeconds,
    exitOnComplete: flags.exitOnComplete ?? false,
    graceSeconds: flags.grace ?? WORKER_DEFAULTS.graceSeconds,
    training: flags.training ?? WORKER_DEFAULTS.training,
    engine: flags.engine ?? WORKER_DEFAULTS.engine,
    tesscmd: flags.tesscmd ?? WORKER_DEFAULTS.tesscmd,
    thresholds: flags.thresholds === undefined ? [...DEFAULT_CLOUD_THRESHOLDS] : parseThresholds(flags.thresholds),
    deskew: !flags.nodeskew,
    denoise: flags.denoise ?? 'auto',
    maxPixels: flags.maxPixels ?? WORKER_DEFAULTS.maxPixels,
    recycleAfter: flags.recycleAfter ?? WORKER_DEFAULTS.recycleAfter,
    compat: flags.compat ?? false,
    allVariants: flags.allVariants ?? false,
    shutdown: flags.shutdown ?? false,
    poweroffCommand: flags.poweroffCommand === undefined ? [...DEFAULT_POWEROFF_COMMAND] : parseCommand(flags.poweroffCommand),
    // A worker that powers its machine off runs on an instance of its own: watch for spot
    // interruptions and ship the log there too, unless told otherwise.
    spot: flags.spot ?? flags.shutdown ?? false,
    imdsEndpoint: flags.imds ?? env.BOOKPIPELINE_IMDS_ENDPOINT ?? IMDS_ENDPOINT,
    shipLogs: flags.shipLogs ?? flags.shutdown ?? false,
    verbose: flags.verbose ?? false,
  };
  const r = workerSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ConfigError(`${i.path.join('.') || 'config'}: ${i.message}`);
  }
  // The heartbeat must come well within the visibility timeout (checked here, not at the first job).
  checkWorkerTiming({ visibilitySeconds: r.data.visibilitySeconds, heartbeatSeconds: r.data.heartbeatSeconds });
  return Object.freeze({ ...r.data, pipeline });
}
