import { Command } from 'commander';
import { queueName } from '../pipeline/cloud-config.js';
import { addPipelineOptions, EXIT, intArg, runTool, ToolError, toolHelp, type PipelineOpts } from '../pipeline/cli.js';
import { describeError } from '../pipeline/errors.js';
import { buildFleetConfig, FLEET_ENV_HELP, loadUserData } from '../pipeline/fleet-config.js';
import { QUEUE_KINDS } from '../pipeline/messages.js';
import { backlogOf, scaleDecision, watchFleet, type WatchRound } from '../pipeline/scale.js';

interface Opts extends PipelineOpts {
  count: number;
  dryRun: boolean;
  check: boolean;
  watch: boolean;
  max?: number;
  pagesPerWorker?: number;
  interval: number;
  instanceType?: string;
  ami?: string;
  maxPrice?: string;
  ec2Endpoint?: string;
}

const program = addPipelineOptions(
  new Command('spotme')
    .description(
      'Start bookpipeline workers on EC2 spot instances (one-time; terminated when they power off). ' +
        'Each worker installs this project from its user data, runs `bookpipeline --autostop … --shutdown` ' +
        'and powers itself off when idle. With --watch, keep about ceil(backlog / P) workers running ' +
        '(backlog: messages waiting or in flight on every queue of the pipeline), never more than M; ' +
        'spotme never stops workers.',
    )
    .option('-n, --count <n>', 'workers to start', intArg('-n', 1, 1000), 1)
    .option('--dry-run', 'print the RunInstances request (and the user data) and start nothing', false)
    .option('--check', 'ask EC2 whether the request would succeed (a DryRun call: permissions, image, subnet, profile); start nothing', false)
    .option('--watch', 'keep starting workers as the backlog grows (needs --max and --pages-per-worker)', false)
    .option('--max <m>', 'with --watch: never more workers than this', intArg('--max', 0, 1000))
    .option('--pages-per-worker <p>', 'with --watch: backlog messages per worker', intArg('--pages-per-worker', 1))
    .option('--interval <seconds>', 'with --watch: seconds between looks at the backlog', intArg('--interval', 1, 3600), 60)
    .option('--instance-type <list>', 'instance types to try in order, e.g. m5.large,m6i.large (fleet.instanceTypes)')
    .option('--ami <id>', 'image: ami-… or resolve:ssm:/… (fleet.imageId)')
    .option('--max-price <usd>', 'highest price per instance hour, e.g. 0.05 (fleet.maxPrice)')
    .option('--ec2-endpoint <url>', 'EC2 endpoint (BOOKPIPELINE_EC2_ENDPOINT; tests)'),
).addHelpText(
  'after',
  `${toolHelp('Exit 1 also when no worker could be started (no spot capacity): the message says what to try.')}\n\n${FLEET_ENV_HELP}`,
);

runTool<Opts>(program, async (args, o, { cfg, ui, connection }) => {
  if (args.length) throw new ToolError(`unexpected argument ${JSON.stringify(args[0])}`, 2);
  if (cfg.conn !== 'aws') throw new ToolError('spotme starts EC2 instances: it works with -c aws only', 2);
  if (o.watch && (o.max === undefined || o.pagesPerWorker === undefined)) {
    throw new ToolError('--watch needs --max and --pages-per-worker', 2);
  }
  if (!o.watch && (o.max !== undefined || o.pagesPerWorker !== undefined)) {
    throw new ToolError('--max and --pages-per-worker go with --watch', 2);
  }
  const fleetCfg = buildFleetConfig(cfg, { config: o.config, instanceType: o.instanceType, ami: o.ami, maxPrice: o.maxPrice, ec2Endpoint: o.ec2Endpoint });
  const userData = loadUserData(fleetCfg, cfg);
  const { Ec2Fleet } = await import('../pipeline/aws/ec2.js');
  const fleet = new Ec2Fleet({ fleet: fleetCfg, pipeline: cfg, userData, log: ui.log });
  const out = (s: string) => process.stdout.write(`${s}\n`);
  try {
    if (o.dryRun && !o.watch) {
      const reqs = fleet.describeStart(o.count);
      out(`Would start ${o.count} spot worker(s) of pipeline ${cfg.bucket}/${cfg.queuePrefix} in ${fleetCfg.region} with:`);
      reqs.forEach((r, k) => {
        if (k === 1) out('then, for what the first could not start (no capacity or price too low), in order:');
        const shown = { ...r, UserData: `<base64 of the ${Buffer.byteLength(userData)}-byte script below>` };
        out(k === 0 ? JSON.stringify(shown, null, 2) : `  ${r.InstanceType}${typeof r.SubnetId === 'string' ? ` in ${r.SubnetId}` : ''}`);
      });
      out('--- user data ---');
      process.stdout.write(userData.endsWith('\n') ? userData : `${userData}\n`);
      return EXIT.ok;
    }
    if (o.check) {
      await fleet.check(o.count);
      out(`EC2 would accept the request (DryRun): ${fleetCfg.instanceTypes[0]} from ${fleetCfg.imageId}, profile ${fleetCfg.instanceProfile}; nothing started`);
      return EXIT.ok;
    }
    if (!o.watch) {
      const started = await fleet.start(o.count);
      for (const w of started) {
        out(`started ${w.id} (${w.type}${w.spotRequestId ? `, spot request ${w.spotRequestId}` : ''})`);
      }
      out(started.length === o.count ? `${started.length} worker(s) started` : `${started.length} of ${o.count} worker(s) started (no spot capacity for more)`);
      return EXIT.ok;
    }

    const conn = await connection();
    const queues = await Promise.all(QUEUE_KINDS.map((k) => conn.queues.open(queueName(cfg, k))));
    const backlog = () => backlogOf(queues);
    const short = (name: string) => name.slice(cfg.queuePrefix.length);
    const report = (r: WatchRound) => {
      const by = Object.entries(r.byQueue ?? {})
        .filter(([, n]) => n > 0)
        .map(([q, n]) => `${short(q)} ${n}`)
        .join(', ');
      const d = r.decision;
      const what = r.error ? `failed: ${r.error}` : r.started.length ? `started ${r.started.join(', ')}` : 'started none';
      out(`${r.at.toISOString()} backlog ${d.backlog}${by ? ` (${by})` : ''}; workers ${d.live}, wanted ${d.desired} (max ${o.max}); ${what}`);
    };
    if (o.dryRun) {
      const [b, instances] = await Promise.all([backlog(), fleet.list()]);
      const d = scaleDecision({ backlog: b.total, instances, max: o.max!, pagesPerWorker: o.pagesPerWorker! });
      report({ at: new Date(), decision: d, byQueue: b.byQueue, started: [] });
      if (d.start > 0) out(`would start ${d.start} (dry run: nothing started; spotme -n ${d.start} --dry-run shows the request)`);
      return EXIT.ok;
    }
    const ac = new AbortController();
    const onSignal = () => {
      ui.notice('spotme: stopping (workers keep running; they stop themselves when idle)');
      ac.abort();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    out(`watching pipeline ${cfg.bucket}/${cfg.queuePrefix}: about 1 worker per ${o.pagesPerWorker} queued message(s), at most ${o.max}, every ${o.interval} s`);
    try {
      await watchFleet({
        fleet,
        backlog,
        max: o.max!,
        pagesPerWorker: o.pagesPerWorker!,
        intervalMs: o.interval * 1000,
        signal: ac.signal,
        onRound: report,
        log: ui.log,
      });
    } catch (e) {
      throw new ToolError(`stopped watching: ${describeError(e).replace(/^[A-Za-z]+Error: /, '')}`, 2);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return EXIT.ok;
  } finally {
    fleet.destroy();
  }
});
