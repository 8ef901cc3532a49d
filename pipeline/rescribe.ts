import { copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { hostname } from 'node:os';
import type { OcrEngine } from '../ocr/engine.js';
import { EmbeddedEngine } from '../ocr/embedded.js';
import { SystemEngine, systemTesseractVersion } from '../ocr/system.js';
import { resolveTraining } from '../ocr/training.js';
import { bookNameFromDir, keys, listBookImages, naturalCompare, parseVariantName } from './book.js';
import { ConfigError, type RescribeConfig } from './config.js';
import { DirStore } from './local/store.js';
import { describeJob, failureRecorder, jobSettings, parseJob, pipelineHandlers, type JobDeps, type JobEvents } from './jobs.js';
import { MemoryQueueAdmin } from './memory/queue.js';
import { formatMessage, QUEUE_KINDS, type Job, type QueueKind } from './messages.js';
import type { Queue } from './ports.js';
import { startWorker } from './runner.js';
import type { AnalyseResult } from './stages/analyse.js';
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

export async function makeEngine(cfg: Pick<RescribeConfig, 'engine' | 'training' | 'systemTessdata' | 'concurrency' | 'recycleAfter' | 'tesscmd'>): Promise<OcrEngine> {
  const training = resolveTraining(cfg.training, { prefer: cfg.engine, systemDirs: cfg.systemTessdata });
  if (cfg.engine === 'system') {
    await systemTesseractVersion(cfg.tesscmd);
    return new SystemEngine(training, { command: cfg.tesscmd, processes: cfg.concurrency });
  }
  return new EmbeddedEngine(training, { workers: cfg.concurrency, recycleAfter: cfg.recycleAfter });
}

/**
 * The local product: the same stages, wiring and job runner as the `bookpipeline` worker
 * (pipeline/jobs.ts, pipeline/runner.ts), on local adapters: the pages uploaded into a directory
 * store in a temporary folder, one book job on an in-memory queue (prenowipe, or preprocess with
 * --wipe), a worker that runs until every queue is empty; then the results laid out in `savedir`.
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
  const byName = new Map(pages.map((p) => [p.name, p]));
  ui.log.info({ book, pages: pages.length, engine: engine.name, training: cfg.training }, 'start');
  try {
    for (const p of pages) await store.putFile(keys.original(book, p.name, p.ext), p.path);

    const pre = ui.stage('Preprocessing', pages.length);
    const ocr = ui.stage('OCR', cfg.allVariants ? pages.length * cfg.thresholds.length : pages.length);
    let analysis: AnalyseResult | null = null;
    const failPage = (page: string, reason: string) => {
      const p = byName.get(page);
      if (!p || failed.some((f) => f.file === p.file)) return;
      failed.push({ file: p.file, reason });
      ui.notice(`error: ${p.path}: ${reason}`);
      ui.log.error({ page, file: p.file, err: reason }, 'page failed');
    };
    const events: JobEvents = {
      pagePreprocessed: (_b, meta) => {
        pre.tick();
        ui.log.info({ page: meta.page, angle: meta.angle, dpi: meta.dpi, denoised: meta.denoised }, 'preprocessed');
      },
      pageFailed: (_b, page, _o, reason) => {
        pre.tick();
        failPage(page, reason);
        ocr.setTotal(Math.max(0, (pages.length - failed.length) * (cfg.allVariants ? cfg.thresholds.length : 1)));
      },
      variantRead: () => {
        if (cfg.allVariants) ocr.tick();
      },
      pageRead: (_b, page, stop) => {
        ocr.tick();
        ui.log.info({ page, stop }, 'ocred');
      },
      analysed: (_b, result) => {
        analysis = result;
      },
    };

    // The queues: in memory, one attempt per message (a page's failure is recorded by the stages;
    // anything else is dead-lettered at once with its record, never retried).
    const admin = new MemoryQueueAdmin({ pollMs: 10 });
    const queues = {} as Record<QueueKind, Queue>;
    for (const k of QUEUE_KINDS) {
      await admin.ensureQueue(k, { visibilitySeconds: 600, maxReceiveCount: 1 });
      queues[k] = await admin.open(k);
    }
    const deps: JobDeps = {
      store,
      queues,
      engines: { get: async () => engine },
      settings: jobSettings(cfg, { compat: false, analyseDelay: () => 1 }),
      worker: { host: hostname(), pid: process.pid },
      events,
    };
    const handlers = pipelineHandlers(deps);
    const recorder = failureRecorder(deps);
    const dead: Array<{ job: Job | undefined; why: string }> = [];
    await queues[cfg.wipe ? 'preprocess' : 'prenowipe'].send(formatMessage({ type: 'book', book }));
    // Preprocessing holds one slot for the whole book (a page at a time, on this thread, a little
    // ahead of OCR); the other slots OCR, one variant each, so every OCR worker has work.
    const result = await startWorker<QueueKind, Job>({
      queues: QUEUE_KINDS.map((kind) => ({
        kind,
        queue: queues[kind],
        weight: kind === 'ocrpage' ? 3 : 1,
        ...(kind === 'ocrpage' ? { maxInFlight: cfg.concurrency } : {}),
      })),
      parse: parseJob,
      handlers,
      describe: describeJob,
      recordFailure: async (record, job) => {
        dead.push({ job, why: record.why });
        await recorder(record, job);
      },
      concurrency: cfg.concurrency + 1,
      visibilitySeconds: 600,
      heartbeatSeconds: 300,
      waitSeconds: 1,
      autostopSeconds: 0,
      exitOnComplete: true,
      idleCheckSeconds: 0.1,
      maxReceiveCount: 1,
      backoff: () => 0,
      log: ui.log,
    }).finished;
    if (result.reason === 'fatal') throw result.error ?? new Error('the pipeline stopped');
    for (const d of dead) {
      if (d.job?.type === 'ocr') {
        const v = parseVariantName(d.job.variant);
        if (v) failPage(v.page, d.why);
      } else if (d.job?.type === 'analyse') {
        throw new Error(`analysing ${book} failed: ${d.why}`);
      } else if (failed.length < pages.length) {
        // The book job itself failed, not one page (those are recorded and skipped).
        throw new Error(`preprocessing ${book} failed: ${d.why}`);
      }
    }
    pre.done();
    ocr.done();
    if (analysis) {
      const an = ui.stage('Analysing', 1);
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
