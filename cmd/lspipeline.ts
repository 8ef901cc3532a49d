import { Command } from 'commander';
import { addPipelineOptions, EXIT, intArg, runTool, toolHelp, type PipelineOpts } from '../pipeline/cli.js';
import { fleetLister, recentWorkerLogs } from '../pipeline/fleet-status.js';
import { formatReport, gatherReport } from '../pipeline/status.js';

interface Opts extends PipelineOpts {
  json: boolean;
  nobooks: boolean;
  concurrency: number;
  lines: number;
}

const program = addPipelineOptions(
  new Command('lspipeline')
    .description(
      'Show the pipeline: the workers (EC2 instances, with -c aws), every queue and its dead-letter queue\n' +
        '(messages available, in flight), the last log lines of each running worker (from the bucket),\n' +
        'the books in progress with pages OCRed / total, and the finished books (graph.png) by date.',
    )
    .option('--json', 'print the report as JSON', false)
    .option('--nobooks', 'skip the books (listing a big bucket takes a while)', false)
    .option('--concurrency <n>', 'store requests at once for per-book details', intArg('--concurrency', 1, 64), 8)
    .option('-n, --lines <n>', 'log lines per running worker (0: none)', intArg('--lines', 0, 1000), 5),
).addHelpText(
  'after',
  toolHelp(
    'Workers (-c aws): this pipeline\'s EC2 instances (tagged by spotme), listed with DescribeInstances;\n' +
      'BOOKPIPELINE_EC2_ENDPOINT for another EC2 endpoint; not asked when --endpoint is given without it.\n' +
      'When EC2 cannot be asked, the report says why and goes on.',
  ),
);

runTool<Opts>(program, async (_args, o, { cfg, connection }) => {
  const conn = await connection();
  const instances = fleetLister(cfg, { config: o.config });
  const report = await gatherReport(conn, cfg, {
    books: !o.nobooks,
    concurrency: o.concurrency,
    ...(instances ? { instances } : {}),
    logs: (listed) => recentWorkerLogs(conn.store, listed, { lines: o.lines }),
  });
  process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return EXIT.ok;
});
