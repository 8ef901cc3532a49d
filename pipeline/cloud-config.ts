import { existsSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { QUEUE_KINDS, type QueueKind } from './messages.js';

/**
 * Where the pipeline lives: connection kind, region, endpoint, bucket and queue names. Built once,
 * from flags > environment > config file > defaults, validated and frozen. Every command that talks
 * to the pipeline takes these settings; `--help` lists them.
 */
export const pipelineSchema = z.object({
  conn: z.enum(['aws', 'local']),
  region: z.string().min(1),
  endpoint: z.string().url().optional(),
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'bucket must be a valid S3 bucket name'),
  queuePrefix: z.string().regex(/^[A-Za-z0-9_-]{0,40}$/, 'queue prefix may hold letters, digits, - and _'),
  /** Folder for `-c local`: the store and the queues. */
  localDir: z.string().min(1),
  visibilitySeconds: z.number().int().min(1).max(43200),
  maxReceiveCount: z.number().int().min(1).max(1000),
});

export type PipelineConfig = Readonly<z.infer<typeof pipelineSchema>>;

export const PIPELINE_DEFAULTS = {
  conn: 'aws',
  region: 'eu-west-2',
  bucket: 'rescribeinprogress',
  queuePrefix: 'rescribe',
  localDir: join(tmpdir(), 'bookpipeline'),
  visibilitySeconds: 120,
  maxReceiveCount: 5,
} as const;

/** Settings as flags give them; undefined means not given. */
export interface PipelineFlags {
  conn?: string;
  region?: string;
  endpoint?: string;
  bucket?: string;
  queuePrefix?: string;
  localDir?: string;
  config?: string;
}

export const PIPELINE_ENV_HELP = `Settings (flag > environment > config file > default):
  -c, --conn aws|local       BOOKPIPELINE_CONN          default aws
  --region R                 AWS_REGION                 default eu-west-2
  --endpoint URL             AWS_ENDPOINT_URL           (an S3/SQS compatible server)
  --bucket NAME              BOOKPIPELINE_BUCKET        default rescribeinprogress
  --queue-prefix P           BOOKPIPELINE_QUEUE_PREFIX  default rescribe (queues rescribepreprocess, ...)
  --local-dir DIR            BOOKPIPELINE_LOCAL_DIR     default $TMPDIR/bookpipeline (for -c local)
  --config FILE              BOOKPIPELINE_CONFIG        default ~/.config/bookpipeline/config.json
  Credentials come from the AWS SDK's default chain (environment, profile, instance role).`;

export function readConfigFile(path: string | undefined, required: boolean): Record<string, unknown> {
  const p = path ?? join(homedir(), '.config', 'bookpipeline', 'config.json');
  if (!existsSync(p)) {
    if (required) throw new ConfigError(`config file ${p} does not exist`);
    return {};
  }
  try {
    const v: unknown = JSON.parse(readFileSync(p, 'utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`config file ${p}: ${(e as Error).message}`);
  }
}

export function buildPipelineConfig(flags: PipelineFlags, env: NodeJS.ProcessEnv = process.env): PipelineConfig {
  const cfgPath = flags.config ?? env.BOOKPIPELINE_CONFIG;
  const file = readConfigFile(cfgPath, cfgPath !== undefined);
  const pick = (flag: string | undefined, envName: string, key: string): unknown => flag ?? env[envName] ?? file[key];
  const raw = {
    conn: pick(flags.conn, 'BOOKPIPELINE_CONN', 'conn') ?? PIPELINE_DEFAULTS.conn,
    region: pick(flags.region, 'AWS_REGION', 'region') ?? env.AWS_DEFAULT_REGION ?? PIPELINE_DEFAULTS.region,
    endpoint: pick(flags.endpoint, 'AWS_ENDPOINT_URL', 'endpoint') || undefined,
    bucket: pick(flags.bucket, 'BOOKPIPELINE_BUCKET', 'bucket') ?? PIPELINE_DEFAULTS.bucket,
    queuePrefix: pick(flags.queuePrefix, 'BOOKPIPELINE_QUEUE_PREFIX', 'queuePrefix') ?? PIPELINE_DEFAULTS.queuePrefix,
    localDir: pick(flags.localDir, 'BOOKPIPELINE_LOCAL_DIR', 'localDir') ?? PIPELINE_DEFAULTS.localDir,
    visibilitySeconds: file.visibilitySeconds ?? PIPELINE_DEFAULTS.visibilitySeconds,
    maxReceiveCount: file.maxReceiveCount ?? PIPELINE_DEFAULTS.maxReceiveCount,
  };
  const r = pipelineSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ConfigError(`${i.path.join('.')}: ${i.message}`);
  }
  return Object.freeze(r.data);
}

/** The queue name for a logical queue: `<prefix><kind>`, e.g. `rescribeocrpage`. */
export function queueName(cfg: Pick<PipelineConfig, 'queuePrefix'>, kind: QueueKind): string {
  return `${cfg.queuePrefix}${kind}`;
}

export function allQueueNames(cfg: Pick<PipelineConfig, 'queuePrefix'>): Record<QueueKind, string> {
  return Object.fromEntries(QUEUE_KINDS.map((k) => [k, queueName(cfg, k)])) as Record<QueueKind, string>;
}
