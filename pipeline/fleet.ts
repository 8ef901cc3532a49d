// The Fleet port: the worker machines of one pipeline, in our own words. Adapters:
// pipeline/aws/ec2.ts (EC2 spot instances) and pipeline/memory/fleet.ts (tests, the scaler's
// contract). Only the workers of this pipeline are ever seen or touched: the EC2 adapter tags what
// it starts (FLEET_TAGS) and lists and terminates by those tags.

import { ConfigError, TransientError } from './errors.js';

/** EC2's instance states. `pending` and `running` are live: they cost money and will take work. */
export type InstanceState = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

export const INSTANCE_STATES: readonly InstanceState[] = ['pending', 'running', 'shutting-down', 'terminated', 'stopping', 'stopped'];
export const LIVE_STATES: readonly InstanceState[] = ['pending', 'running'];

export interface WorkerInstance {
  id: string;
  /** e.g. `m5.large` */
  type: string;
  state: InstanceState;
  launchedAt?: Date;
  /** The spot instance request behind a spot instance (`sir-…`). */
  spotRequestId?: string;
  /** `spot` or `on-demand`. */
  lifecycle: 'spot' | 'on-demand';
  publicIp?: string;
  privateIp?: string;
  /** The Name tag. */
  name?: string;
}

export interface StartOptions {
  signal?: AbortSignal;
}

export interface Fleet {
  /**
   * Start up to `count` workers. Resolves with what was started, possibly fewer than asked for
   * (not enough spot capacity); rejects when none could be started: FleetCapacityError (no
   * capacity for any instance type / subnet), SpotPriceTooLowError, ConfigError (permissions, a
   * missing AMI, subnet, security group or instance profile).
   */
  start(count: number, opts?: StartOptions): Promise<WorkerInstance[]>;
  /** This pipeline's workers in the given states (default: pending and running). */
  list(opts?: { states?: readonly InstanceState[]; signal?: AbortSignal }): Promise<WorkerInstance[]>;
  /** Terminate workers of this pipeline. Rejects with FleetRefusedError, touching nothing, when an id is not one of them. */
  terminate(ids: readonly string[]): Promise<void>;
}

/** Tags every worker carries, so that only a pipeline's own workers are listed and stopped. */
export const FLEET_TAGS = Object.freeze({
  role: 'bookpipeline:role',
  roleValue: 'worker',
  /** Value: `<bucket>/<queuePrefix>` of the pipeline the worker serves. */
  pipeline: 'bookpipeline:pipeline',
});

/** The value of the `bookpipeline:pipeline` tag for a pipeline. */
export function pipelineTagValue(cfg: { bucket: string; queuePrefix: string }): string {
  return `${cfg.bucket}/${cfg.queuePrefix}`;
}

/**
 * No spot capacity for any instance type / subnet that was tried. Transient: capacity comes back;
 * `spotme --watch` tries again at its next round.
 */
export class FleetCapacityError extends TransientError {}

/**
 * The maximum price is below the current spot price of every instance type tried. A settings
 * problem (`fleet.maxPrice`), though spot prices move: `spotme --watch` logs it and tries again.
 */
export class SpotPriceTooLowError extends ConfigError {}

/** An instance that is not one of this pipeline's workers: nothing was done. */
export class FleetRefusedError extends ConfigError {}

/** Live instances (pending or running). */
export function isLive(i: Pick<WorkerInstance, 'state'>): boolean {
  return LIVE_STATES.includes(i.state);
}
