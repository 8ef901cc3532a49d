import { Command } from 'commander';
import { addPipelineOptions, EXIT, intArg, runTool, toolHelp, type PipelineOpts } from '../pipeline/cli.js';
import { formatReport, gatherReport } from '../pipeline/status.js';

interface Opts extends PipelineOpts {
  json: boolean;
  nobooks: boolean;
  concurrency: number;
}

const program = addPipelineOptions(
  new Command('lspipeline')
    .description(
      'Show the pipeline: every queue and its dead-letter queue (messages available, in flight), the\n' +
        'books in progress with pages OCRed / total, and the finished books (graph.png) by date.',
    )
    .option('--json', 'print the report as JSON', false)
    .option('--nobooks', 'skip the books (listing a big bucket takes a while)', false)
    .option('--concurrency <n>', 'store requests at once for per-book details', intArg('--concurrency', 1, 64), 8),
).addHelpText('after', toolHelp());

runTool<Opts>(program, async (_args, o, { cfg, connection }) => {
  const conn = await connection();
  const report = await gatherReport(conn, cfg, { books: !o.nobooks, concurrency: o.concurrency });
  process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return EXIT.ok;
});
