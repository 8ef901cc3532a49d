import { Command } from 'commander';
import { bookNameProblem } from '../pipeline/book.js';
import { addPipelineOptions, EXIT, runTool, storeLabel, ToolError, toolHelp, type PipelineOpts } from '../pipeline/cli.js';
import { downloadBook, type DownloadSet } from '../pipeline/download.js';

interface Opts extends PipelineOpts {
  all: boolean;
  graph: boolean;
  pdf: boolean;
  png: boolean;
  binarisedpdf: boolean;
  colourpdf: boolean;
  output?: string;
}

const program = addPipelineOptions(
  new Command('getpipelinebook')
    .description(
      'Download a book\'s results from the pipeline into a folder. Without a set flag: best, the best\n' +
        'hOCR of each page, the PDFs, conf, graph.png, <book>.txt and text/. Set flags combine.',
    )
    .argument('<bookname>', 'the book\'s name in the pipeline')
    .option('-a, --all', 'every object of the book (originals, variants, hOCRs, ...), keeping text/ and errors/', false)
    .option('--graph', 'only graph.png', false)
    .option('--pdf', 'only the PDFs (binarised, colour, original; at least one must exist)', false)
    .option('--png', 'only the best binarised page images', false)
    .option('--binarisedpdf', 'only <book>.binarised.pdf', false)
    .option('--colourpdf', 'only <book>.colour.pdf', false)
    .option('-o, --output <dir>', 'folder to write into (default ./<bookname>); existing files are replaced'),
).addHelpText('after', toolHelp('Exit 1 for an unknown book, an unfinished one, or a requested file that does not exist.'));

runTool<Opts>(program, async ([book], o, { cfg, ui, connection }) => {
  const problem = bookNameProblem(book!);
  if (problem) throw new ToolError(`book name ${JSON.stringify(book)} ${problem}`, 2);
  const sets = new Set<DownloadSet>();
  if (o.all) sets.add('all');
  if (o.graph) sets.add('graph');
  if (o.pdf) sets.add('pdf');
  if (o.png) sets.add('png');
  if (o.binarisedpdf) sets.add('binarisedpdf');
  if (o.colourpdf) sets.add('colourpdf');
  if (sets.size === 0) sets.add('default');
  const out = o.output ?? book!;
  const conn = await connection();
  let bar: ReturnType<typeof ui.stage> | undefined;
  const r = await downloadBook(conn.store, book!, out, {
    sets,
    where: storeLabel(cfg),
    onPlanned: (n) => {
      bar = ui.stage('Downloading', n);
    },
    onFile: (item) => {
      bar?.tick();
      ui.log.debug({ key: item.key, file: item.file }, 'downloaded');
    },
  });
  bar?.done();
  ui.stop();
  process.stdout.write(`Downloaded ${r.files.length} files (${(r.bytes / 1e6).toFixed(1)} MB) of book ${book} into ${out}\n`);
  return EXIT.ok;
});
