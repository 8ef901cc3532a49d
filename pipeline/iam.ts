// Least-privilege IAM policies for the pipeline, from the templates in infra/iam/ with the
// pipeline's bucket, queue prefix, region and account filled in (`mkpipeline --print-iam`).
//
//   worker-trust  trust policy of the workers' role: EC2 instances may assume it
//   worker        the workers' role (bookpipeline): its queues, its bucket; never dist/
//   uploader      booktopipeline: send to the three entry queues, upload pages; never dist/ or logs/
//   monitor       lspipeline, getpipelinebook: queue counts, read the bucket, list instances
//   launcher      spotme: launch tagged spot workers, pass the workers' role, see the queues

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors.js';

export const IAM_POLICY_NAMES = ['worker-trust', 'worker', 'uploader', 'monitor', 'launcher'] as const;
export type IamPolicyName = (typeof IAM_POLICY_NAMES)[number];

export interface IamVars {
  region: string;
  /** 12-digit account id; `*` (any account) when not known. */
  account: string;
  bucket: string;
  queuePrefix: string;
  /** The workers' role name (what the instance profile holds). */
  workerRole: string;
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function fill(v: Json, vars: Record<string, string>): Json {
  if (typeof v === 'string') {
    const out = v.replace(/\{\{(\w+)\}\}/g, (m, name: string) => {
      const val = vars[name];
      if (val === undefined) throw new Error(`IAM template: unknown placeholder ${m}`);
      return val;
    });
    return out;
  }
  if (Array.isArray(v)) return v.map((x) => fill(x, vars));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [fill(k, vars) as string, fill(x, vars)]));
  return v;
}

export function iamPolicy(name: IamPolicyName, vars: IamVars): Json {
  if (!/^(\d{12}|\*)$/.test(vars.account)) throw new ConfigError(`account id ${JSON.stringify(vars.account)}: expected 12 digits`);
  if (!/^[\w+=,.@-]{1,64}$/.test(vars.workerRole)) throw new ConfigError(`worker role ${JSON.stringify(vars.workerRole)} is not a valid role name`);
  const file = fileURLToPath(new URL(`../infra/iam/${name}.json`, import.meta.url));
  const template = JSON.parse(readFileSync(file, 'utf8')) as Json;
  return fill(template, {
    Region: vars.region,
    Account: vars.account,
    Bucket: vars.bucket,
    QueuePrefix: vars.queuePrefix,
    WorkerRole: vars.workerRole,
  });
}

export function iamPolicies(vars: IamVars): Record<IamPolicyName, Json> {
  return Object.fromEntries(IAM_POLICY_NAMES.map((n) => [n, iamPolicy(n, vars)])) as Record<IamPolicyName, Json>;
}
