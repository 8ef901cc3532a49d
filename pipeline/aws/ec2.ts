// Fleet on Amazon EC2: one-time spot instances started with RunInstances.
//
// Why RunInstances with InstanceMarketOptions (spot, one-time) rather than RequestSpotInstances:
// - One call gives instance ids at once, or fails at once with a clear error (no capacity, price
//   too low): a spot request instead stays `open` (capacity-not-available, price-too-low) and has
//   to be polled, and cancelled when it is not wanted any more.
// - TagSpecifications tag the instances and their volumes at launch, so a worker is never
//   untagged even for a moment (RequestSpotInstances tags only the request, not the instances),
//   and IAM can require the tags (aws:RequestTag) and scope TerminateInstances to them.
// - ClientToken makes a retried call idempotent: a retry after a lost answer starts nothing new.
// - AWS calls RequestSpotInstances a legacy API and recommends RunInstances for spot.
//
// Every setting comes from FleetConfig. Workers are tagged `bookpipeline:role=worker` and
// `bookpipeline:pipeline=<bucket>/<queuePrefix>` (plus Name and the user's tags); `list` and
// `terminate` only ever see instances with both tags. Instances shut down by the worker
// (`--shutdown`) terminate (InstanceInitiatedShutdownBehavior), and the metadata service is
// IMDSv2 only.
//
// Retries: the SDK's own retries are off (maxAttempts 1); `call` retries transient errors
// (RequestLimitExceeded, 5xx, network) with exponential backoff and full jitter, which EC2's
// account-wide token buckets need. Capacity and price errors are not retried: `start` tries the
// next instance type / subnet, then fails with a message that says what to change.

import { randomUUID } from 'node:crypto';
import {
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type Instance,
  type RunInstancesCommandInput,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import type { Logger } from 'pino';
import { AbortedError, ConfigError, PipelineError, TransientError } from '../errors.js';
import {
  FLEET_TAGS,
  FleetCapacityError,
  FleetRefusedError,
  INSTANCE_STATES,
  LIVE_STATES,
  pipelineTagValue,
  SpotPriceTooLowError,
  type Fleet,
  type InstanceState,
  type StartOptions,
  type WorkerInstance,
} from '../fleet.js';
import { workerTags, type FleetConfig } from '../fleet-config.js';
import type { PipelineConfig } from '../cloud-config.js';
import { classifyAwsError } from './classify.js';
import { clientConfig, installIntercept, type AwsCredentials, type AwsInterceptor } from './options.js';

export interface RetryPolicy {
  /** Attempts per call, the first included. Default 6. */
  attempts: number;
  /** Backoff before retry n: random(0, min(maxMs, baseMs · 2^n)). Defaults 500 ms, 20 s. */
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ attempts: 6, baseMs: 500, maxMs: 20_000 });

export interface Ec2FleetOptions {
  fleet: FleetConfig;
  pipeline: Pick<PipelineConfig, 'bucket' | 'queuePrefix'>;
  /** The rendered user data script (fleet-config.ts loadUserData); required to start workers. */
  userData?: string;
  credentials?: AwsCredentials;
  retry?: Partial<RetryPolicy>;
  intercept?: AwsInterceptor;
  log?: Logger;
  /** Tests: how to wait between retries. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** One place EC2 could start workers: an instance type in a subnet (or the default subnet). */
interface Candidate {
  type: string;
  subnetId?: string;
}

/** What to change, by EC2 error code, added to the message when no worker could be started. */
const HINTS: Record<string, string> = {
  InsufficientInstanceCapacity:
    'add instance types (fleet.instanceTypes, --instance-type) or subnets in other availability zones (fleet.subnetIds), or try again later',
  SpotMaxPriceTooLow: 'raise fleet.maxPrice (--max-price), or remove it to pay up to the on-demand price',
  MaxSpotInstanceCountExceeded: 'the account may not run more spot instances: ask for a higher Spot quota in Service Quotas',
  VcpuLimitExceeded:
    'the account\'s spot vCPU quota is used up: ask for more "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests" vCPUs in Service Quotas, or use smaller instance types',
  Unsupported: 'that instance type is not offered in that availability zone: use another type or subnet',
  UnauthorizedOperation: 'the caller lacks permissions: attach infra/iam/launcher.json (mkpipeline --print-iam launcher)',
  'InvalidAMIID.NotFound': 'fleet.imageId does not exist in this region',
  'InvalidAMIID.Malformed': 'fleet.imageId is not an AMI id',
  'InvalidSubnetID.NotFound': 'a subnet in fleet.subnetIds does not exist in this region',
  'InvalidGroup.NotFound': 'a security group in fleet.securityGroupIds does not exist (or is in another VPC than the subnet)',
  'InvalidKeyPair.NotFound': 'fleet.keyName is not a key pair in this region',
  'InvalidParameterValue': 'check fleet.instanceProfile (an instance profile name or ARN that exists) and the other fleet settings',
};

function codeOf(e: PipelineError): string {
  const c = e.cause as { name?: unknown } | undefined;
  return typeof c?.name === 'string' ? c.name : e.name;
}

function withHint(e: PipelineError): string {
  const hint = HINTS[codeOf(e)];
  return hint ? `${e.message} — ${hint}` : e.message;
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res, rej) => {
    if (signal?.aborted) return rej(new AbortedError('aborted'));
    const t = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', onAbort);
      res();
    }
    function onAbort(): void {
      clearTimeout(t);
      rej(new AbortedError('aborted'));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function toWorker(i: Instance): WorkerInstance {
  const state = (i.State?.Name ?? 'pending') as InstanceState;
  const name = i.Tags?.find((t) => t.Key === 'Name')?.Value;
  return {
    id: i.InstanceId ?? '?',
    type: String(i.InstanceType ?? '?'),
    state: INSTANCE_STATES.includes(state) ? state : 'pending',
    ...(i.LaunchTime ? { launchedAt: new Date(i.LaunchTime) } : {}),
    ...(i.SpotInstanceRequestId ? { spotRequestId: i.SpotInstanceRequestId } : {}),
    lifecycle: i.InstanceLifecycle === 'spot' ? 'spot' : 'on-demand',
    ...(i.PublicIpAddress ? { publicIp: i.PublicIpAddress } : {}),
    ...(i.PrivateIpAddress ? { privateIp: i.PrivateIpAddress } : {}),
    ...(name !== undefined ? { name } : {}),
  };
}

export class Ec2Fleet implements Fleet {
  private readonly client: EC2Client;
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly tagValue: string;

  constructor(private readonly o: Ec2FleetOptions) {
    this.client = new EC2Client({
      ...clientConfig({
        region: o.fleet.region,
        ...(o.fleet.endpoint !== undefined ? { endpoint: o.fleet.endpoint } : {}),
        ...(o.credentials !== undefined ? { credentials: o.credentials } : {}),
      }),
      maxAttempts: 1,
    });
    installIntercept(this.client.middlewareStack, 'ec2', o.intercept);
    this.retry = { ...DEFAULT_RETRY, ...o.retry };
    this.sleep = o.sleep ?? abortableSleep;
    this.tagValue = pipelineTagValue(o.pipeline);
  }

  destroy(): void {
    this.client.destroy();
  }

  /** Run one SDK call, retrying transient errors with backoff; failures come out classified. */
  private async call<T>(operation: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const e = classifyAwsError(err, { operation, service: 'ec2' });
        const retryable = e instanceof TransientError && !(e instanceof FleetCapacityError) && !(e instanceof AbortedError);
        if (!retryable || attempt >= this.retry.attempts || signal?.aborted) throw e;
        const ms = Math.floor(Math.random() * Math.min(this.retry.maxMs, this.retry.baseMs * 2 ** attempt));
        this.o.log?.warn({ operation, attempt, retryInMs: ms, err: e.message }, 'EC2 call failed; retrying');
        await this.sleep(ms, signal);
      }
    }
  }

  /** Where to try, in order: each instance type in each subnet. */
  private candidates(): Candidate[] {
    const subnets: Array<string | undefined> = this.o.fleet.subnetIds.length ? [...this.o.fleet.subnetIds] : [undefined];
    return this.o.fleet.instanceTypes.flatMap((type) => subnets.map((subnetId) => (subnetId ? { type, subnetId } : { type })));
  }

  /** The RunInstances request for `count` workers of one candidate. */
  private request(count: number, c: Candidate, clientToken?: string): RunInstancesCommandInput {
    const f = this.o.fleet;
    if (this.o.userData === undefined) throw new ConfigError('no user data: the fleet cannot start workers without it');
    const tags = Object.entries(workerTags(f, this.o.pipeline)).map(([Key, Value]) => ({ Key, Value }));
    return {
      ImageId: f.imageId,
      InstanceType: c.type as _InstanceType,
      MinCount: 1,
      MaxCount: count,
      ...(c.subnetId ? { SubnetId: c.subnetId } : {}),
      ...(f.securityGroupIds.length ? { SecurityGroupIds: [...f.securityGroupIds] } : {}),
      IamInstanceProfile: f.instanceProfile.startsWith('arn:') ? { Arn: f.instanceProfile } : { Name: f.instanceProfile },
      ...(f.keyName ? { KeyName: f.keyName } : {}),
      UserData: Buffer.from(this.o.userData, 'utf8').toString('base64'),
      InstanceMarketOptions: {
        MarketType: 'spot',
        SpotOptions: {
          SpotInstanceType: 'one-time',
          InstanceInterruptionBehavior: 'terminate',
          ...(f.maxPrice !== undefined ? { MaxPrice: f.maxPrice } : {}),
        },
      },
      // A worker that powers itself off (autostop with --shutdown) is gone, volume and all.
      InstanceInitiatedShutdownBehavior: 'terminate',
      // IMDSv2 only: the interruption watcher and the user data use tokens.
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tags },
        { ResourceType: 'volume', Tags: tags },
      ],
      ...(clientToken ? { ClientToken: clientToken } : {}),
    };
  }

  /**
   * The RunInstances requests `start(count)` would make, first choice first (the later ones only
   * when the earlier have no capacity), as plain JSON: for `spotme --dry-run`.
   */
  describeStart(count: number): Array<Record<string, unknown>> {
    return this.candidates().map((c) => JSON.parse(JSON.stringify(this.request(count, c))) as Record<string, unknown>);
  }

  /** Ask EC2 whether the first request would succeed (DryRun): permissions, AMI, subnet, profile. Starts nothing. */
  async check(count = 1): Promise<void> {
    const req = { ...this.request(count, this.candidates()[0]!), DryRun: true };
    try {
      await this.call('RunInstances (dry run)', () => this.client.send(new RunInstancesCommand(req)));
    } catch (e) {
      if (e instanceof PipelineError && codeOf(e) === 'DryRunOperation') return;
      if (e instanceof PipelineError) throw new ConfigError(withHint(e), { cause: e });
      throw e;
    }
  }

  async start(count: number, opts: StartOptions = {}): Promise<WorkerInstance[]> {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`start: count must be a whole number ≥ 1, got ${count}`);
    const started: WorkerInstance[] = [];
    const failures: PipelineError[] = [];
    for (const c of this.candidates()) {
      const want = count - started.length;
      if (want === 0) break;
      opts.signal?.throwIfAborted();
      const req = this.request(want, c, randomUUID());
      try {
        const out = await this.call(
          `RunInstances ${want} × ${c.type}${c.subnetId ? ` in ${c.subnetId}` : ''}`,
          () => this.client.send(new RunInstancesCommand(req), opts.signal ? { abortSignal: opts.signal } : {}),
          opts.signal,
        );
        const got = (out.Instances ?? []).map(toWorker);
        started.push(...got);
        this.o.log?.info({ type: c.type, subnet: c.subnetId, asked: want, started: got.map((i) => i.id) }, 'started spot workers');
      } catch (e) {
        const pe = e instanceof PipelineError ? e : classifyAwsError(e, { operation: 'RunInstances', service: 'ec2' });
        const tryNext = pe instanceof FleetCapacityError || pe instanceof SpotPriceTooLowError || codeOf(pe) === 'Unsupported';
        if (!tryNext) {
          if (started.length > 0) {
            this.o.log?.warn({ err: pe.message, started: started.length }, 'stopped starting workers after an error');
            return started;
          }
          throw pe instanceof ConfigError ? new ConfigError(withHint(pe), { cause: pe }) : pe;
        }
        failures.push(pe);
        this.o.log?.warn({ type: c.type, subnet: c.subnetId, err: pe.message }, 'no spot worker here; trying the next instance type / subnet');
      }
    }
    if (started.length > 0 || failures.length === 0) return started;
    const detail = failures.map((f) => f.message).join('; ');
    if (failures.every((f) => f instanceof SpotPriceTooLowError)) {
      throw new SpotPriceTooLowError(`could not start any worker: the spot price is above fleet.maxPrice ${this.o.fleet.maxPrice} (${detail}) — ${HINTS.SpotMaxPriceTooLow}`);
    }
    const hints = [...new Set(failures.map((f) => HINTS[codeOf(f)]).filter(Boolean))].join('; ');
    throw new FleetCapacityError(`could not start any worker: ${detail}${hints ? ` — ${hints}` : ''}`);
  }

  private async describe(filters: Array<{ Name: string; Values: string[] }>, signal?: AbortSignal): Promise<WorkerInstance[]> {
    const out: WorkerInstance[] = [];
    let token: string | undefined;
    do {
      const page = await this.call(
        'DescribeInstances',
        () =>
          this.client.send(
            new DescribeInstancesCommand({
              Filters: [
                { Name: `tag:${FLEET_TAGS.role}`, Values: [FLEET_TAGS.roleValue] },
                { Name: `tag:${FLEET_TAGS.pipeline}`, Values: [this.tagValue] },
                ...filters,
              ],
              MaxResults: 1000,
              ...(token ? { NextToken: token } : {}),
            }),
            signal ? { abortSignal: signal } : {},
          ),
        signal,
      );
      for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) out.push(toWorker(i));
      token = page.NextToken || undefined;
    } while (token);
    return out.sort((a, b) => (a.launchedAt?.getTime() ?? 0) - (b.launchedAt?.getTime() ?? 0) || (a.id < b.id ? -1 : 1));
  }

  async list(opts: { states?: readonly InstanceState[]; signal?: AbortSignal } = {}): Promise<WorkerInstance[]> {
    const states = opts.states ?? LIVE_STATES;
    if (states.length === 0) return [];
    return this.describe([{ Name: 'instance-state-name', Values: [...states] }], opts.signal);
  }

  async terminate(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const ours = new Set((await this.describe([{ Name: 'instance-id', Values: [...ids] }])).map((i) => i.id));
    const foreign = ids.filter((id) => !ours.has(id));
    if (foreign.length) {
      throw new FleetRefusedError(`not workers of pipeline ${this.tagValue} (no ${FLEET_TAGS.role}/${FLEET_TAGS.pipeline} tags): ${foreign.join(', ')}; nothing terminated`);
    }
    for (let k = 0; k < ids.length; k += 1000) {
      const batch = ids.slice(k, k + 1000);
      await this.call(`TerminateInstances ${batch.length}`, () => this.client.send(new TerminateInstancesCommand({ InstanceIds: [...batch] })));
    }
  }
}
