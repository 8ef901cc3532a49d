import { copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import pLimit from 'p-limit';
import type { OcrEngine } from '../ocr/engine.js';
import { EmbeddedEngine } from '../ocr/embedded.js';
import { SystemEngine, systemTesseractVersion } from '../ocr/system.js';
import { resolveTraining } from '../ocr/training.js';
import { ImageDecodeError } from '../preprocess/codec.js';
import { bookNameFromDir, keys, listBookImages, naturalCompare, type BookPage } from './book.js';
import { ConfigError, type RescribeConfig } from './config.js';
import { DirStore } from './local/store.js';
import { analyseBook, type AnalyseResult } from './stages/analyse.js';
import { ocrPage } from './stages/ocr.js';
import { effectiveDpi, preprocessPage } from './stages/preprocess.js';
import type { Ui } from './ui.js';

export interface FailedPage {
  file: string;
  reason: string;
}

export interface RescribeResult {
  book: string;
  savedir: string;
  pages: number;
  failed: FailedPage[];
  analysis: AnalyseResult | null;
  seconds: number;
}

/** `<bookdir>-ocr` beside the book. */
export function defaultSavedir(bookdir: string): string {
  const abs = resolve(bookdir);
  return join(dirname(abs), `${basename(abs)}-ocr`);
}

async function checkSavedir(savedir: string, force: boolean): Promise<void> {
  let entries: string[];
  try {
    if (!(await stat(savedir)).isDirectory()) throw new ConfigError(`${savedir}: exists and is not a folder`);
    entries = await readdir(savedir);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    return;
  }
  if (entries.length && !force) {
    throw new ConfigError(`${savedir}: folder exists and is not empty (use --force to write into it)`);
  }
}

function reasonOf(e: unknown): string {
  if (e instanceof ImageDecodeError) return e.message;
  return e instanceof Error ? e.message : String(e);
}

export async function makeEngine(cfg: Pick<RescribeConfig, 'engine' | 'training' | 'systemTessdata' | 'concurrency' | 'recycleAfter' | 'tesscmd'>): Promise<OcrEngine> {
  const training = resolveTraining(cfg.training, { prefer: cfg.engine, systemDirs: cfg.systemTessdata });
  if (cfg.engine === 'system') {
    await systemTesseractVersion(cfg.tesscmd);
    return new SystemEngine(training, { command: cfg.tesscmd, processes: cfg.concurrency });
  }
  return new EmbeddedEngine(training, { workers: cfg.concurrency, recycleAfter: cfg.recycleAfter });
}

/**
 * The local product: every page through preprocess → OCR (every variant) → analyse, on a directory
 * store in a temporary folder, then the results laid out in `savedir`.
 */
export async function rescribe(cfg: RescribeConfig, ui: Ui): Promise<RescribeResult> {
  const started = Date.now();
  const listing = await listBookImages(cfg.bookdir);
  await checkSavedir(cfg.savedir, cfg.force);
  for (const s of listing.skipped) ui.notice(`skipping ${join(cfg.bookdir, s.file)}: ${s.reason}`);
  const book = bookNameFromDir(basename(resolve(cfg.bookdir)));
  const engine = await makeEngine(cfg);
  const work = await mkdtemp(join(tmpdir(), 'rescribe-'));
  const store = new DirStore(work);
  const failed: FailedPage[] = [];
  const pages = listing.pages;
  ui.log.info({ book, pages: pages.length, engine: engine.name, training: cfg.training }, 'start');
  try {
    const pre = ui.stage('Preprocessing', pages.length);
    const ocr = ui.stage('OCR', pages.length);
    // Preprocessing is JavaScript on this thread: one page at a time, a little ahead of OCR, so
    // memory stays bounded while every OCR worker has work.
    const prepLimit = pLimit(1);
    const pageLimit = pLimit(cfg.concurrency + 1);
    const doPage = async (p: BookPage) => {
      const log = ui.log.child({ page: p.name, file: p.file });
      try {
        const originalKey = keys.original(book, p.name, p.ext);
        await store.putFile(originalKey, p.path);
        const meta = await prepLimit(() =>
          preprocessPage(store, book, p.name, originalKey, {
            ks: cfg.thresholds,
            wipe: cfg.wipe,
            deskew: cfg.deskew,
            denoise: cfg.denoise,
            maxPixels: cfg.maxPixels,
          }),
        );
        pre.tick();
        log.info({ angle: meta.angle, dpi: meta.dpi, denoised: meta.denoised }, 'preprocessed');
        const dpi = effectiveDpi(meta.width, meta.height, meta.dpi);
        const reading = await ocrPage(store, engine, meta, { all: cfg.allVariants, dpi });
        ocr.tick();
        log.info({ read: reading.read, skipped: Object.fromEntries(reading.skipped), stop: reading.stop }, 'ocred');
      } catch (e) {
        const reason = reasonOf(e);
        failed.push({ file: p.file, reason });
        ui.notice(`error: ${p.path}: ${reason}`);
        log.error({ err: reason }, 'page failed');
        ocr.setTotal(Math.max(0, pages.length - failed.length));
      }
    };
    await Promise.all(pages.map((p) => pageLimit(() => doPage(p))));
    pre.done();
    ocr.done();

    let analysis: AnalyseResult | null = null;
    if (failed.length < pages.length) {
      const an = ui.stage('Analysing', 1);
      analysis = await analyseBook(store, book);
      an.tick();
      an.done();
    }
    ui.stop();
    await mkdir(cfg.savedir, { recursive: true });
    if (analysis) await layOut(store, work, book, cfg.savedir, analysis);
    failed.sort((a, b) => naturalCompare(a.file, b.file));
    const failedPath = join(cfg.savedir, 'failed.txt');
    if (failed.length) await writeFile(failedPath, failed.map((f) => `${f.file}\t${f.reason}\n`).join(''));
    else await rm(failedPath, { force: true });
    return { book, savedir: cfg.savedir, pages: pages.length, failed, analysis, seconds: (Date.now() - started) / 1000 };
  } finally {
    ui.stop();
    await engine.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** Copies the analysed book from the store into the user's folder, in rescribe's layout. */
async function layOut(store: DirStore, work: string, book: string, savedir: string, a: AnalyseResult): Promise<void> {
  const src = (key: string) => join(work, ...key.split('/'));
  await mkdir(join(savedir, 'hocr'), { recursive: true });
  await mkdir(join(savedir, 'png'), { recursive: true });
  await mkdir(join(savedir, 'text'), { recursive: true });
  for (const p of a.pages) {
    await copyFile(src(`${book}/${p.best}`), join(savedir, 'hocr', p.best));
    const png = p.best.replace(/\.hocr$/, '.png');
    await copyFile(src(`${book}/${png}`), join(savedir, 'png', png));
    await copyFile(src(keys.pageText(book, p.page)), join(savedir, 'text', `${p.page}.txt`));
  }
  await copyFile(src(keys.text(book)), join(savedir, `${book}.txt`));
  await copyFile(src(keys.colourPdf(book)), join(savedir, `${book} searchable.pdf`));
  await copyFile(src(keys.binarisedPdf(book)), join(savedir, `${book} binarised.pdf`));
  await copyFile(src(keys.conf(book)), join(savedir, 'conf'));
  await copyFile(src(keys.best(book)), join(savedir, 'best'));
  await copyFile(src(keys.graph(book)), join(savedir, 'graph.png'));
  void store;
}
