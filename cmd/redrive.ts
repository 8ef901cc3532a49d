import { Command } from 'commander';
import { queueKindOf, redriveQueue } from '../pipeline/admin.js';
import { addPipelineOptions, EXIT, intArg, runTool, toolHelp, type PipelineOpts } from '../pipeline/cli.js';
import { queueName } from '../pipeline/cloud-config.js';
import { QUEUE_KINDS } from '../pipeline/messages.js';

interface Opts extends PipelineOpts {
  max?: number;
}

const program = addPipelineOptions(
  new Command('redrive')
    .description("Move every message of a queue's dead-letter queue back to the queue, to be tried again.")
    .argument('<queue>', QUEUE_KINDS.join(', '))
    .option('-n, --max <n>', 'move at most this many', intArg('--max', 1)),
).addHelpText('after', toolHelp());

runTool<Opts>(program, async ([queue], o, { cfg, ui, connection }) => {
  const name = queueName(cfg, queueKindOf(queue!));
  const r = await redriveQueue((await connection()).queues, name, {
    max: o.max,
    onMoved: (m) => ui.log.debug({ body: m.body }, 'moved'),
  });
  process.stdout.write(`Moved ${r.moved} message(s) from ${r.dlq} back to ${name}\n`);
  return EXIT.ok;
});
