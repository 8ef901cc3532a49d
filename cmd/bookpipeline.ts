import { Command, CommanderError, Option } from 'commander';
import { addPipelineOptions, describeToolError, intArg } from '../pipeline/cli.js';
import { ConfigError } from '../pipeline/errors.js';
import { runWorkerService } from '../pipeline/service.js';
import { buildWorkerConfig, DEFAULT_CLOUD_THRESHOLDS, WORKER_DEFAULTS, type WorkerFlags } from '../pipeline/worker-config.js';
import { PIPELINE_ENV_HELP } from '../pipeline/cloud-config.js';

const program = addPipelineOptions(
  new Command('bookpipeline')
    .description(
      'The pipeline worker: takes jobs from the queues (preprocess, prenowipe, wipeonly, ocrpage, ' +
        'analyse), runs them and passes each book on to the next stage. Run any number of workers on ' +
        'any number of machines. Logs are JSON lines on stderr (-v adds debug lines: each job\'s start, heartbeats).',
    )
    .option('--queues <list>', 'queues to poll, with weights, e.g. ocrpage=3,preprocess=1 (default: all five, weight 1)')
    .option('-j, --concurrency <n>', 'OCR jobs in flight at once, plus one slot for book and analyse jobs (default: number of cores)', intArg('--concurrency', 1, 64))
    .option('--visibility <secs>', `how long a received message stays hidden (default ${WORKER_DEFAULTS.visibilitySeconds})`, intArg('--visibility', 2, 43_200))
    .option('--heartbeat <secs>', `extend each message in flight this often; less than --visibility (default ${WORKER_DEFAULTS.heartbeatSeconds})`, intArg('--heartbeat', 1, 43_199))
    .option('--autostop <secs>', `exit after this long with nothing to do; 0 never (default ${WORKER_DEFAULTS.autostopSeconds})`, intArg('--autostop', 0))
    .option('--exit-on-complete', 'exit when every polled queue is empty and no job is running')
    .option('--grace <secs>', `on SIGTERM/SIGINT, let running jobs finish this long, then release them (default ${WORKER_DEFAULTS.graceSeconds})`, intArg('--grace', 0, 43_200))
    .option('-t, --training <name>', `training for jobs that name none (default ${WORKER_DEFAULTS.training})`)
    .addOption(new Option('--engine <engine>', 'embedded (tesseract.js) or system (the tesseract command)').choices(['embedded', 'system']))
    .option('--tesscmd <cmd>', 'tesseract command for --engine system (default tesseract)')
    .option('--thresholds <list>', `Sauvola k values, one variant each (default ${DEFAULT_CLOUD_THRESHOLDS.join(',')})`)
    .option('--nodeskew', 'do not straighten skewed pages')
    .addOption(new Option('--denoise <mode>', 'auto (a 3×3 median at 200 dpi or more), on or off').choices(['auto', 'on', 'off']))
    .option('--max-pixels <n>', 'refuse page images larger than this many pixels', intArg('--max-pixels', 1))
    .option('--recycle-after <n>', 'replace an embedded OCR worker after this many pages', intArg('--recycle-after', 1))
    .option('--compat', "write next messages in the Go original's text format (to share queues with Go workers)")
    .option('--all-variants', 'preprocessing sends an OCR job for every variant like the original (default: adaptive, each OCR job sends the next variant only while it could win)')
    .option('--shutdown', 'power the machine off after --autostop (for a worker on an instance of its own; implies --spot and --ship-logs)')
    .option('--poweroff-command <cmd>', 'the command --shutdown runs (default: sudo systemctl poweroff)')
    .option('--spot', 'watch the instance metadata for a spot interruption notice: then take no more work and release what cannot finish')
    .option('--no-spot', 'do not watch for spot interruptions, even with --shutdown')
    .option('--ship-logs', 'also ship the log to the bucket, in parts under logs/<start>-<host>/')
    .option('--no-ship-logs', 'do not ship the log, even with --shutdown')
    .addOption(new Option('--imds <url>', 'instance metadata service (tests)').hideHelp()),
).addHelpText(
  'after',
  `\n${PIPELINE_ENV_HELP}\n\n` +
    'Exit codes: 0 stopped normally (autostop, --exit-on-complete, SIGTERM/SIGINT); 2 bad usage or\n' +
    'configuration (missing queue, unknown training, wrong credentials); 1 anything else.\n' +
    'A first SIGTERM/SIGINT stops taking jobs and lets running ones finish within --grace; a second\n' +
    'releases them at once (they go back to their queue).',
);

async function main(): Promise<number> {
  program.exitOverride();
  try {
    program.parse();
  } catch (e) {
    if (e instanceof CommanderError) return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
    throw e;
  }
  const r = await runWorkerService(buildWorkerConfig(program.opts<WorkerFlags>()));
  if (r.error) process.stderr.write(`bookpipeline: ${describeToolError(r.error)}\n`);
  return r.code;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bookpipeline: ${describeToolError(e)}\n`);
    if (process.env.DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exit(e instanceof ConfigError ? 2 : 1);
  },
);
