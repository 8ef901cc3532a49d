import { Command } from 'commander';
import { makePipeline } from '../pipeline/admin.js';
import { addPipelineOptions, EXIT, runTool, toolHelp, type PipelineOpts } from '../pipeline/cli.js';

const program = addPipelineOptions(
  new Command('mkpipeline').description(
    'Create the pipeline: the bucket, the queues preprocess, prenowipe, wipeonly, ocrpage and analyse,\n' +
      'and a dead-letter queue for each (a message received maxReceiveCount times moves there; default 5,\n' +
      'visibility timeout 120 s; both from the config file). Safe to run again: existing queues keep\n' +
      'their messages and get these settings.',
  ),
).addHelpText('after', toolHelp());

runTool<PipelineOpts>(program, async (_args, _o, { cfg, connection }) => {
  const made = await makePipeline(await connection(), cfg);
  const w = Math.max(...made.map((m) => `${m.what} ${m.name}`.length));
  for (const m of made) process.stdout.write(`${`${m.what} ${m.name}`.padEnd(w)}  ${m.result}\n`);
  const created = made.filter((m) => m.result === 'created').length;
  process.stdout.write(
    `${created} created, ${made.length - created} existed (maxReceiveCount ${cfg.maxReceiveCount}, visibility ${cfg.visibilitySeconds} s)\n`,
  );
  return EXIT.ok;
});
