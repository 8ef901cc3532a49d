// What lspipeline shows of the fleet: the workers (through the Fleet port, when the pipeline is on
// AWS and EC2 can be asked) and the last lines of each running worker's log, read from the bucket
// (logs/<start>-<host>/, written by logship.ts); no SSH.

import type { PipelineConfig } from './cloud-config.js';
import { buildFleetConfig, type FleetFlags } from './fleet-config.js';
import { INSTANCE_STATES, type WorkerInstance } from './fleet.js';
import { formatLogLine, listWorkerLogs, tailWorkerLog, type WorkerLog } from './logship.js';
import type { StoreReader } from './ports.js';
import type { InstanceInfo, WorkerLogTail } from './status.js';

export function instanceInfo(w: WorkerInstance): InstanceInfo {
  return {
    id: w.id,
    state: w.state,
    type: w.type,
    ...(w.name !== undefined ? { name: w.name } : {}),
    ...(w.publicIp ? { ip: w.publicIp } : {}),
    ...(w.privateIp ? { privateIp: w.privateIp } : {}),
    ...(w.launchedAt ? { launchedAt: w.launchedAt } : {}),
    ...(w.spotRequestId ? { spotRequestId: w.spotRequestId } : {}),
  };
}

/**
 * A function listing this pipeline's workers (every state but terminated), or undefined when
 * there is nothing to ask: a local pipeline, or a test setup (an S3/SQS endpoint given and no EC2
 * endpoint). Rejects (with the reason) when EC2 cannot be asked: no permission, not reachable.
 */
export function fleetLister(
  cfg: PipelineConfig,
  flags: FleetFlags = {},
  env: NodeJS.ProcessEnv = process.env,
  opts: { timeoutMs?: number } = {},
): (() => Promise<InstanceInfo[]>) | undefined {
  if (cfg.conn !== 'aws') return undefined;
  if (cfg.endpoint !== undefined && flags.ec2Endpoint === undefined && env.BOOKPIPELINE_EC2_ENDPOINT === undefined) return undefined;
  return async () => {
    const fleetCfg = buildFleetConfig(cfg, flags, env);
    const { Ec2Fleet } = await import('./aws/ec2.js');
    const fleet = new Ec2Fleet({ fleet: fleetCfg, pipeline: cfg, retry: { attempts: 2 } });
    try {
      const listed = await fleet.list({
        states: INSTANCE_STATES.filter((s) => s !== 'terminated'),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
      });
      return listed.map(instanceInfo);
    } finally {
      fleet.destroy();
    }
  };
}

/** Is this log the instance's? Its host is the instance id, or EC2's `ip-a-b-c-d` name. */
export function logBelongsTo(log: Pick<WorkerLog, 'host'>, i: Pick<InstanceInfo, 'id' | 'privateIp'>): boolean {
  if (log.host === i.id || log.host.startsWith(`${i.id}.`)) return true;
  if (!i.privateIp) return false;
  const name = `ip-${i.privateIp.replace(/\./g, '-')}`;
  return log.host === name || log.host.startsWith(`${name}.`);
}

/**
 * The last `lines` lines of each running worker's log. With instances: the newest log of each
 * running instance. Without (local, or EC2 not available): every log shipped to within `activeMs`.
 */
export async function recentWorkerLogs(
  store: Pick<StoreReader, 'list' | 'get'>,
  instances: InstanceInfo[] | undefined,
  opts: { lines: number; activeMs?: number; now?: number },
): Promise<WorkerLogTail[]> {
  if (opts.lines <= 0) return [];
  const logs = await listWorkerLogs(store);
  const picked: Array<{ log: WorkerLog; instanceId?: string }> = [];
  if (instances) {
    for (const i of instances.filter((x) => x.state === 'running')) {
      const mine = logs.filter((l) => logBelongsTo(l, i));
      const newest = mine.at(-1);
      if (newest) picked.push({ log: newest, instanceId: i.id });
    }
  } else {
    const since = (opts.now ?? Date.now()) - (opts.activeMs ?? 15 * 60_000);
    for (const l of logs) if (l.updatedAt.getTime() >= since) picked.push({ log: l });
  }
  return Promise.all(
    picked.map(async ({ log, instanceId }) => ({
      prefix: log.prefix,
      host: log.host,
      ...(instanceId ? { instanceId } : {}),
      updatedAt: log.updatedAt,
      lines: (await tailWorkerLog(store, log.prefix, opts.lines)).map((l) => formatLogLine(l)),
    })),
  );
}
