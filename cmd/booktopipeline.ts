import { Command } from 'commander';
import { addPipelineOptions, EXIT, intArg, runTool, ToolError, toolHelp, type PipelineOpts } from '../pipeline/cli.js';
import { progressText, waitForBook } from '../pipeline/status.js';
import { chooseBookQueue, submitBook } from '../pipeline/upload.js';

interface Opts extends PipelineOpts {
  training?: string;
  prebinarised: boolean;
  notbinarised: boolean;
  nowipe: boolean;
  compat: boolean;
  wait: boolean;
  interval: number;
  maxPixels: number;
  uploads: number;
}

const program = addPipelineOptions(
  new Command('booktopipeline')
    .description(
      'Upload a folder of page images (JPEG, PNG, TIFF) as a book and queue it for the pipeline.\n' +
        'Every image must decode; pages are stored as <book>/<name>_<NNNN>.<ext> in natural name order.',
    )
    .argument('<bookdir>', 'folder of page images (the top level only)')
    .argument('[bookname]', 'name of the book in the pipeline (default: the folder name, whitespace → _)')
    .option('-t, --training <name>', 'OCR language(s) for this book, e.g. eng or lat+eng (default: the worker\'s)')
    .option('--prebinarised', 'pages are already binarised: queue wipeonly', false)
    .option('--notbinarised', 'binarise and wipe: queue preprocess (the default; beats --prebinarised)', false)
    .option('--nowipe', 'binarise without wiping margins: queue prenowipe (beats both)', false)
    .option('--compat', 'write the queue message in the Go bookpipeline text format', false)
    .option('--wait', 'then show progress until the book is done', false)
    .option('--interval <seconds>', 'seconds between progress checks with --wait', intArg('--interval', 1, 3600), 5)
    .option('--max-pixels <n>', 'refuse page images larger than this many pixels', intArg('--max-pixels', 1), 150_000_000)
    .option('--uploads <n>', 'uploads at once', intArg('--uploads', 1, 64), 8),
).addHelpText(
  'after',
  toolHelp(
    'Refused (exit 1, nothing uploaded): a page that does not decode, a book name already in the store.\n' +
      'Refused (exit 2): an unsafe book name (slash, "..", leading dot, whitespace, control characters).',
  ),
);

runTool<Opts>(program, async ([dir, name], o, { cfg, ui, connection }) => {
  const queue = chooseBookQueue(o);
  const conn = await connection();
  const r = await submitBook(
    conn,
    cfg,
    { dir: dir!, book: name, training: o.training, queue, compat: o.compat, maxPixels: o.maxPixels, uploadConcurrency: o.uploads },
    ui,
  );
  ui.stop();
  process.stdout.write(`Uploaded ${r.pages} pages of book ${r.book} and queued it on ${r.queue}\n`);
  if (!o.wait) return EXIT.ok;

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const bar = ui.stage('OCR', r.pages);
  let shown = 0;
  let total = r.pages;
  let errors = 0;
  let analysing = false;
  const final = await waitForBook(conn.store, r.book, {
    intervalMs: o.interval * 1000,
    signal: stop.signal,
    onStatus: (s) => {
      if (!s) return;
      if (s.pagesTotal !== total && s.pagesTotal > 0) bar.setTotal((total = s.pagesTotal));
      if (s.pagesDone > shown) {
        bar.tick(s.pagesDone - shown);
        shown = s.pagesDone;
      }
      if (s.errors > errors) {
        ui.notice(`${s.errors - errors} new error record(s) in ${r.book}/errors/ (a page or job failed; see lspipeline)`);
        errors = s.errors;
      }
      if (s.hasBest && !s.done && !analysing) {
        analysing = true;
        ui.notice('analysing');
      }
      ui.log.debug({ book: r.book, status: progressText(s) }, 'progress');
    },
  });
  bar.done();
  ui.stop();
  if (final?.failed) {
    throw new ToolError(`book ${r.book} failed: every page was given up on (${progressText(final)})`);
  }
  if (!final?.done) {
    process.stdout.write(`Stopped waiting; book ${r.book}: ${final ? progressText(final) : 'no objects'}\n`);
    return 130;
  }
  process.stdout.write(`Book ${r.book} is done; fetch it with: getpipelinebook ${r.book}\n`);
  return EXIT.ok;
});
