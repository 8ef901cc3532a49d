import { Command } from 'commander';
import { addToQueue, queueKindOf } from '../pipeline/admin.js';
import { addPipelineOptions, EXIT, runTool, toolHelp, type PipelineOpts } from '../pipeline/cli.js';
import { QUEUE_KINDS } from '../pipeline/messages.js';

interface Opts extends PipelineOpts {
  compat: boolean;
}

const program = addPipelineOptions(
  new Command('addtoqueue')
    .description(
      'Validate a message and add it to a queue. The message may be JSON ({"v":1,"type":"book","book":"b"})\n' +
        'or the Go text format (<book>[ <training>] for the book queues, <book>/<variant>.png[ <training>]\n' +
        'for ocrpage, <book> for analyse). It is sent as JSON, or in the Go text format with --compat.',
    )
    .argument('<queue>', QUEUE_KINDS.join(', '))
    .argument('<message>', 'the message body')
    .option('--compat', 'send the Go bookpipeline text format', false),
).addHelpText('after', toolHelp('Exit 2 also for an unknown queue or a message that does not validate.'));

runTool<Opts>(program, async ([queue, message], o, { cfg, connection }) => {
  const kind = queueKindOf(queue!);
  const r = await addToQueue((await connection()).queues, cfg, kind, message!, { compat: o.compat });
  process.stdout.write(`Added message to the queue ${r.queue}: ${r.body}\n`);
  return EXIT.ok;
});
