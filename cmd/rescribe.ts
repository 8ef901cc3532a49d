import { Command, InvalidArgumentError } from 'commander';
import { BookError } from '../pipeline/book.js';
import {
  buildConfig,
  ConfigError,
  DEFAULT_LOCAL_THRESHOLDS,
  defaultConcurrency,
  intOption,
  parseThresholds,
  rescribeSchema,
} from '../pipeline/config.js';
import { defaultSavedir, rescribe } from '../pipeline/rescribe.js';
import { createUi } from '../pipeline/ui.js';
import { DEFAULT_SYSTEM_TESSDATA, TrainingError } from '../ocr/training.js';
import { OcrError } from '../ocr/engine.js';

const wrap = <T>(f: (v: string) => T) => (v: string): T => {
  try {
    return f(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

const program = new Command('rescribe')
  .description(
    'OCR a folder of scanned page images (JPEG, PNG, TIFF) on this machine: deskew, binarise each page\n' +
      'several ways, OCR every variant, keep the best of each page, and write hOCR, text, searchable\n' +
      'PDFs, conf, best and a confidence graph into savedir (default: <bookdir>-ocr beside the book).',
  )
  .argument('<bookdir>', 'folder of page images, read in natural name order (page2 before page10)')
  .argument('[savedir]', 'where to write the results (default <bookdir>-ocr)')
  .option('-t, --training <name|path>', 'language(s) such as eng or eng+fra, or a .traineddata file', 'eng')
  .option('--engine <engine>', 'embedded (tesseract.js, no install needed) or system (the tesseract command)', 'embedded')
  .option('--tesscmd <cmd>', 'tesseract command for --engine system', 'tesseract')
  .option('-j, --concurrency <n>', 'OCR workers or processes at once (default: number of cores)', wrap((v) => intOption('--concurrency', v)))
  .option('--thresholds <list>', 'Sauvola k values, one binarised variant each', DEFAULT_LOCAL_THRESHOLDS.join(','))
  .option('--wipe', 'also wipe gutters and page edges (can remove marginal notes)', false)
  .option('--all-variants', 'OCR every variant like the original (default: adaptive, only those that could win)', false)
  .option('--nodeskew', 'do not straighten skewed pages', false)
  .option('--denoise <mode>', 'auto (a 3×3 median at 200 dpi or more), on or off', 'auto')
  .option('--max-pixels <n>', 'refuse page images larger than this many pixels', wrap((v) => intOption('--max-pixels', v)), 150_000_000)
  .option('--recycle-after <n>', 'replace an embedded OCR worker after this many pages (bounds memory)', wrap((v) => intOption('--recycle-after', v)), 40)
  .option('-f, --force', 'write into a savedir that is not empty', false)
  .option('-v, --verbose', 'structured JSON logs on stderr', false)
  .addHelpText(
    'after',
    '\nExit codes: 0 done; 2 bad arguments, missing or empty folder, unknown training; 3 some pages\n' +
      'failed (listed in savedir/failed.txt, the rest of the book is done); 1 anything else.\n' +
      'Environment: TESSDATA_PREFIX adds a folder of .traineddata files to look in.',
  )
  .showHelpAfterError();

interface Opts {
  training: string;
  engine: string;
  tesscmd: string;
  concurrency?: number;
  thresholds: string;
  wipe: boolean;
  allVariants: boolean;
  nodeskew: boolean;
  denoise: string;
  maxPixels: number;
  recycleAfter: number;
  force: boolean;
  verbose: boolean;
}

async function main(): Promise<number> {
  program.parse();
  const [bookdir, savedirArg] = program.args as [string, string | undefined];
  const o = program.opts<Opts>();
  const systemTessdata = [...(process.env.TESSDATA_PREFIX ? [process.env.TESSDATA_PREFIX] : []), ...DEFAULT_SYSTEM_TESSDATA];
  const cfg = buildConfig(rescribeSchema, {
    bookdir,
    savedir: savedirArg ?? defaultSavedir(bookdir),
    training: o.training,
    engine: o.engine,
    tesscmd: o.tesscmd,
    concurrency: o.concurrency ?? defaultConcurrency(),
    thresholds: parseThresholds(o.thresholds),
    wipe: o.wipe,
    allVariants: o.allVariants,
    deskew: !o.nodeskew,
    denoise: o.denoise,
    maxPixels: o.maxPixels,
    recycleAfter: o.recycleAfter,
    force: o.force,
    verbose: o.verbose,
    systemTessdata,
  });
  const ui = createUi({ verbose: cfg.verbose });
  const r = await rescribe(cfg, ui);
  const a = r.analysis;
  const lines = [`Done: ${r.pages - r.failed.length}/${r.pages} pages of "${r.book}" in ${r.seconds.toFixed(1)} s, saved in ${r.savedir}`];
  if (a) {
    lines.push(`Mean confidence ${a.meanConf === null ? 'n/a' : a.meanConf.toFixed(1)}`);
    const worst = a.pages.filter((p) => p.conf !== null).sort((x, y) => x.conf! - y.conf!).slice(0, 3);
    if (worst.length) lines.push(`Lowest: ${worst.map((p) => `${p.page} (${p.conf!.toFixed(0)})`).join(', ')}`);
    const blank = a.pages.filter((p) => p.blank);
    if (blank.length) lines.push(`Blank (no text found): ${blank.map((p) => p.page).join(', ')}`);
  }
  if (r.failed.length) lines.push(`${r.failed.length} page(s) failed, listed in ${r.savedir}/failed.txt`);
  process.stdout.write(lines.join('\n') + '\n');
  return r.failed.length ? 3 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const usage = e instanceof ConfigError || e instanceof BookError || e instanceof TrainingError;
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`rescribe: ${msg}\n`);
    if (!usage && !(e instanceof OcrError) && process.env.DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(usage ? 2 : 1);
  },
);
