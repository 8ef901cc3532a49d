// The fleet's settings: how spotme starts workers. Built once from flags > environment > the
// `fleet` section of the config file > defaults, validated (zod) and frozen. The user data is the
// template infra/user-data.sh (or a file of your own) with the pipeline's settings filled in.
//
// Config file (BOOKPIPELINE_CONFIG or ~/.config/bookpipeline/config.json):
//   { "bucket": "...", "queuePrefix": "...", "region": "eu-west-2",
//     "fleet": { "imageId": "ami-…", "instanceTypes": ["m5.large", "m6i.large"],
//                "subnetIds": ["subnet-…"], "securityGroupIds": ["sg-…"],
//                "instanceProfile": "bookpipeline-worker", "keyName": "mykey",
//                "maxPrice": "0.05", "tags": { "project": "ocr" },
//                "projectSource": "s3://<bucket>/dist/bookpipeline.tar.gz",
//                "workerArgs": "--engine system", "autostopSeconds": 300 } }

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { readConfigFile, type PipelineConfig } from './cloud-config.js';
import { ConfigError } from './errors.js';
import { FLEET_TAGS, pipelineTagValue } from './fleet.js';

/** The project's own user data template. */
export const DEFAULT_USER_DATA_FILE = fileURLToPath(new URL('../infra/user-data.sh', import.meta.url));

/** Debian 12 (bookworm), the latest amd64 image, through the public SSM parameter Debian publishes. */
export const DEFAULT_IMAGE = 'resolve:ssm:/aws/service/debian/release/bookworm/latest/amd64';

/** The line of the user data template that is replaced with the settings. */
export const USER_DATA_MARKER = '#@BOOKPIPELINE_SETTINGS@';

/** EC2's limit on user data, before base64. */
export const USER_DATA_MAX_BYTES = 16_384;

const tags = z.record(z.string().min(1).max(128), z.string().max(256)).superRefine((t, ctx) => {
  for (const k of Object.keys(t)) {
    if (/^(aws:|bookpipeline:)/i.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: 'tag keys starting with aws: or bookpipeline: are reserved' });
    if (k === 'Name') ctx.addIssue({ code: 'custom', path: [k], message: 'set the Name tag with fleet.name' });
  }
});

export const fleetSchema = z.object({
  region: z.string().min(1),
  /** EC2 endpoint (tests: the fake EC2 server). */
  endpoint: z.string().url().optional(),
  /** An AMI id, or `resolve:ssm:<parameter>` (EC2 looks the parameter up at launch). */
  imageId: z.string().regex(/^(ami-[0-9a-f]{8,17}|resolve:ssm:\/\S+)$/, 'imageId must be ami-… or resolve:ssm:/…'),
  /** Tried in order: the next is used when there is no spot capacity (or the price is too low) for one. */
  instanceTypes: z.array(z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'instance types look like m5.large')).min(1),
  /** Subnets (availability zones) tried in order; none = the default VPC's choice. */
  subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'subnet ids look like subnet-0123abcd')),
  /** None = the VPC's default security group. Workers need no inbound rule (SSH only if you want it). */
  securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'security group ids look like sg-0123abcd')),
  /** Instance profile name or ARN: the worker's AWS permissions (infra/iam/worker.json). */
  instanceProfile: z.string().min(1),
  keyName: z.string().min(1).optional(),
  /** Highest price per instance hour in USD, e.g. "0.05"; none = up to the on-demand price. */
  maxPrice: z.string().regex(/^\d+(\.\d+)?$/, 'maxPrice is a price in USD per hour, e.g. "0.05"').optional(),
  /** Extra tags on instances and volumes (besides Name and the bookpipeline: tags). */
  tags,
  /** The Name tag. */
  name: z.string().min(1).max(256),
  /** The user data template (a shell script with the #@BOOKPIPELINE_SETTINGS@ line), or your own script. */
  userDataFile: z.string().min(1),
  /** Where instances get this project: s3://bucket/key.tar.gz, https://…tar.gz, or a git URL (optionally #ref). */
  projectSource: z.string().regex(/^(s3:\/\/[a-z0-9][a-z0-9.-]+\/\S+|https:\/\/\S+|git@\S+|git\+\S+|ssh:\/\/\S+)$/, 'projectSource is s3://bucket/key, https://… or a git URL'),
  /** More bookpipeline flags for the workers, e.g. `--engine system -j 2`. */
  workerArgs: z.string().regex(/^[A-Za-z0-9 ._=,:/+-]*$/, 'workerArgs may hold flags and plain values only'),
  autostopSeconds: z.number().int().min(0).max(86_400),
});

export type FleetConfig = Readonly<z.infer<typeof fleetSchema>>;

export interface FleetFlags {
  config?: string;
  instanceType?: string;
  ami?: string;
  maxPrice?: string;
  ec2Endpoint?: string;
}

export const FLEET_ENV_HELP = `Fleet settings (the "fleet" section of the config file; flags win):
  imageId           --ami ID              default ${DEFAULT_IMAGE}
  instanceTypes     --instance-type LIST  default ["m5.large"] (tried in order when one has no capacity)
  subnetIds, securityGroupIds, keyName, maxPrice (--max-price), tags, name (default bookpipeline-worker)
  instanceProfile                         default bookpipeline-worker
  projectSource                           default s3://<bucket>/dist/bookpipeline.tar.gz
  workerArgs, autostopSeconds (default 300), userDataFile (default infra/user-data.sh)
  endpoint          --ec2-endpoint URL    BOOKPIPELINE_EC2_ENDPOINT (a fake EC2 for tests)`;

function list(v: unknown): unknown {
  return typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v;
}

/**
 * The fleet settings. `pipeline` gives the region, bucket and queue prefix; `file` is the parsed
 * config file (read again from flags.config / BOOKPIPELINE_CONFIG when not given).
 */
export function buildFleetConfig(
  pipeline: Pick<PipelineConfig, 'region' | 'bucket' | 'queuePrefix'>,
  flags: FleetFlags = {},
  env: NodeJS.ProcessEnv = process.env,
  file?: Record<string, unknown>,
): FleetConfig {
  const cfgPath = flags.config ?? env.BOOKPIPELINE_CONFIG;
  const whole = file ?? readConfigFile(cfgPath, cfgPath !== undefined);
  const f = whole.fleet ?? {};
  if (typeof f !== 'object' || f === null || Array.isArray(f)) throw new ConfigError('config file: "fleet" must be an object');
  const fl = f as Record<string, unknown>;
  const raw = {
    region: fl.region ?? pipeline.region,
    endpoint: flags.ec2Endpoint ?? env.BOOKPIPELINE_EC2_ENDPOINT ?? fl.endpoint ?? undefined,
    imageId: flags.ami ?? fl.imageId ?? DEFAULT_IMAGE,
    instanceTypes: list(flags.instanceType ?? fl.instanceTypes ?? ['m5.large']),
    subnetIds: list(fl.subnetIds ?? []),
    securityGroupIds: list(fl.securityGroupIds ?? []),
    instanceProfile: fl.instanceProfile ?? 'bookpipeline-worker',
    keyName: fl.keyName ?? undefined,
    maxPrice: flags.maxPrice ?? fl.maxPrice ?? undefined,
    tags: fl.tags ?? {},
    name: fl.name ?? 'bookpipeline-worker',
    userDataFile: fl.userDataFile ?? DEFAULT_USER_DATA_FILE,
    projectSource: fl.projectSource ?? `s3://${pipeline.bucket}/dist/bookpipeline.tar.gz`,
    workerArgs: fl.workerArgs ?? '',
    autostopSeconds: fl.autostopSeconds ?? 300,
  };
  const r = fleetSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ConfigError(`fleet.${i.path.join('.')}: ${i.message}`);
  }
  return Object.freeze(r.data);
}

/** The tags of every worker of this pipeline (instances and their volumes). */
export function workerTags(fleet: Pick<FleetConfig, 'tags' | 'name'>, pipeline: Pick<PipelineConfig, 'bucket' | 'queuePrefix'>): Record<string, string> {
  return {
    ...fleet.tags,
    Name: fleet.name,
    [FLEET_TAGS.role]: FLEET_TAGS.roleValue,
    [FLEET_TAGS.pipeline]: pipelineTagValue(pipeline),
  };
}

/** A shell word: single-quoted. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The settings the user data script gets (shell variables), from the pipeline and fleet settings. */
export function userDataSettings(
  pipeline: Pick<PipelineConfig, 'region' | 'bucket' | 'queuePrefix' | 'visibilitySeconds' | 'maxReceiveCount'>,
  fleet: Pick<FleetConfig, 'projectSource' | 'workerArgs' | 'autostopSeconds'>,
): Record<string, string> {
  // The worker reads these through BOOKPIPELINE_CONFIG on the instance.
  const workerConfig = {
    conn: 'aws',
    region: pipeline.region,
    bucket: pipeline.bucket,
    queuePrefix: pipeline.queuePrefix,
    visibilitySeconds: pipeline.visibilitySeconds,
    maxReceiveCount: pipeline.maxReceiveCount,
  };
  return {
    BOOKPIPELINE_REGION: pipeline.region,
    BOOKPIPELINE_PROJECT_SOURCE: fleet.projectSource,
    BOOKPIPELINE_CONFIG_JSON: JSON.stringify(workerConfig),
    BOOKPIPELINE_AUTOSTOP: String(fleet.autostopSeconds),
    BOOKPIPELINE_ARGS: fleet.workerArgs,
  };
}

/**
 * Fills the settings into a user data template: the line `#@BOOKPIPELINE_SETTINGS@` becomes
 * `NAME='value'` lines. A script without that line is used as it is (your own user data).
 * Throws ConfigError past EC2's 16 KB.
 */
export function renderUserData(template: string, settings: Record<string, string>): string {
  const lines = template.split('\n');
  const at = lines.findIndex((l) => l.trim() === USER_DATA_MARKER);
  let out = template;
  if (at >= 0) {
    const block = Object.entries(settings).map(([k, v]) => `${k}=${shellQuote(v)}`);
    out = [...lines.slice(0, at), ...block, ...lines.slice(at + 1)].join('\n');
  }
  const bytes = Buffer.byteLength(out, 'utf8');
  if (bytes > USER_DATA_MAX_BYTES) throw new ConfigError(`user data is ${bytes} bytes; EC2 takes at most ${USER_DATA_MAX_BYTES}`);
  return out;
}

/** Reads the fleet's user data file and fills in the settings. */
export function loadUserData(
  fleet: FleetConfig,
  pipeline: Pick<PipelineConfig, 'region' | 'bucket' | 'queuePrefix' | 'visibilitySeconds' | 'maxReceiveCount'>,
): string {
  let template: string;
  try {
    template = readFileSync(fleet.userDataFile, 'utf8');
  } catch (e) {
    throw new ConfigError(`fleet.userDataFile ${fleet.userDataFile}: ${(e as Error).message}`);
  }
  return renderUserData(template, userDataSettings(pipeline, fleet));
}
