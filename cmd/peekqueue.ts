import { Command } from 'commander';
import { peekQueue, queueKindOf } from '../pipeline/admin.js';
import { addPipelineOptions, EXIT, intArg, runTool, toolHelp, type PipelineOpts } from '../pipeline/cli.js';
import { queueName } from '../pipeline/cloud-config.js';
import { QUEUE_KINDS } from '../pipeline/messages.js';
import { defaultDlqName } from '../pipeline/ports.js';

interface Opts extends PipelineOpts {
  dlq: boolean;
  max: number;
  json: boolean;
}

const program = addPipelineOptions(
  new Command('peekqueue')
    .description(
      'Show the messages waiting in a queue without taking them: each is received for a moment and\n' +
        'released again at once (not hidden for minutes like logwholequeue). Note: a peek counts as a\n' +
        'receive, and a message received maxReceiveCount times moves to the dead-letter queue.',
    )
    .argument('<queue>', QUEUE_KINDS.join(', '))
    .option('--dlq', "peek the queue's dead-letter queue instead (shows why each message failed)", false)
    .option('-n, --max <n>', 'show at most this many messages', intArg('--max', 1, 10_000), 50)
    .option('--json', 'print the messages as JSON', false),
).addHelpText('after', toolHelp());

runTool<Opts>(program, async ([queue], o, { cfg, connection }) => {
  const main = queueName(cfg, queueKindOf(queue!));
  const name = o.dlq ? defaultDlqName(main) : main;
  const q = await (await connection()).queues.open(name);
  const msgs = await peekQueue(q, { max: o.max });
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ queue: name, messages: msgs.map(({ handle: _h, ...m }) => m) }, null, 2)}\n`);
    return EXIT.ok;
  }
  for (const m of msgs) {
    const why = m.deadLetter ? `  dead-lettered from ${m.deadLetter.sourceQueue}: ${m.deadLetter.reason}` : '';
    process.stdout.write(`${m.body}\t(receives: ${m.receiveCount}, id ${m.id})${why}\n`);
  }
  process.stdout.write(`${msgs.length} message(s) in ${name}${msgs.length === o.max ? ' shown (there may be more; use -n)' : ''}\n`);
  return EXIT.ok;
});
