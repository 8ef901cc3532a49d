// booktopipeline's work: check a book folder, upload its pages under `<book>/` and enqueue it.

import { basename, resolve } from 'node:path';
import pLimit from 'p-limit';
import { ImageDecodeError, decodeGrey } from '../preprocess/codec.js';
import { bookNameFromDir, bookNameProblem, keys, listBookImages, type BookPage } from './book.js';
import { queueName, type PipelineConfig } from './cloud-config.js';
import { storeLabel, ToolError } from './cli.js';
import { formatMessage, parseMessage, type BookJob } from './messages.js';
import type { Queue, QueueAdmin, Store, StoreReader, StoreWriter } from './ports.js';
import type { Ui } from './ui.js';

/** The queues a book can be submitted to. */
export type BookQueueKind = 'preprocess' | 'prenowipe' | 'wipeonly';

export interface QueueFlags {
  prebinarised?: boolean;
  notbinarised?: boolean;
  nowipe?: boolean;
}

/**
 * The queue for a book, with the original's precedence: `nowipe` (prenowipe) beats `notbinarised`
 * (preprocess), which beats `prebinarised` (wipeonly); the default is preprocess.
 */
export function chooseBookQueue(f: QueueFlags): BookQueueKind {
  if (f.nowipe) return 'prenowipe';
  if (f.notbinarised) return 'preprocess';
  if (f.prebinarised) return 'wipeonly';
  return 'preprocess';
}

const CONTENT_TYPES: Record<string, string> = { '.jpg': 'image/jpeg', '.png': 'image/png', '.tif': 'image/tiff' };

export interface ImageProblem {
  file: string;
  problem: string;
}

/** Decodes every page (bounded concurrency); returns the ones that do not decode, in page order. */
export async function checkImages(
  pages: readonly BookPage[],
  opts: { maxPixels: number; concurrency?: number; onChecked?: () => void },
): Promise<ImageProblem[]> {
  const limit = pLimit(opts.concurrency ?? 4);
  const results = await Promise.all(
    pages.map((p) =>
      limit(async (): Promise<ImageProblem | null> => {
        try {
          await decodeGrey(p.path, { maxPixels: opts.maxPixels });
          return null;
        } catch (e) {
          if (e instanceof ImageDecodeError) return { file: p.file, problem: e.message };
          const code = (e as NodeJS.ErrnoException).code;
          if (code) return { file: p.file, problem: `cannot read: ${code}` };
          return { file: p.file, problem: e instanceof Error ? e.message : String(e) };
        } finally {
          opts.onChecked?.();
        }
      }),
    ),
  );
  return results.filter((r): r is ImageProblem => r !== null);
}

/** True when any object exists under `<book>/` (with the slash: `Book1` is not `Book10`). */
export async function bookExists(store: StoreReader, book: string): Promise<boolean> {
  for await (const _ of store.list(keys.prefix(book))) return true;
  return false;
}

/** The key of each page: `<book>/<name><ext>`. */
export function pageKeys(book: string, pages: readonly BookPage[]): string[] {
  return pages.map((p) => keys.original(book, p.name, p.ext));
}

/**
 * Uploads the pages (at most `concurrency` at once). When one fails, the others are stopped and
 * what was uploaded is deleted, so a retry does not find a half book in its way; the error is
 * rethrown.
 */
export async function uploadPages(
  store: StoreWriter,
  book: string,
  pages: readonly BookPage[],
  opts: { concurrency?: number; onUploaded?: () => void } = {},
): Promise<string[]> {
  const limit = pLimit(opts.concurrency ?? 8);
  const controller = new AbortController();
  const keyList = pageKeys(book, pages);
  try {
    await Promise.all(
      pages.map((p, i) =>
        limit(async () => {
          if (controller.signal.aborted) return;
          const key = keyList[i]!;
          await store.putFile(key, p.path, { contentType: CONTENT_TYPES[p.ext] ?? 'application/octet-stream', signal: controller.signal });
          opts.onUploaded?.();
        }),
      ),
    );
  } catch (e) {
    controller.abort();
    limit.clearQueue();
    // Wait for uploads already running, then remove everything this call wrote.
    while (limit.activeCount > 0) await new Promise((r) => setTimeout(r, 20));
    await store.delete(keyList).catch(() => undefined);
    throw e;
  }
  return keyList;
}

export interface SubmitOptions {
  dir: string;
  /** Default: the folder's name with whitespace → `_`. */
  book?: string;
  training?: string;
  queue: BookQueueKind;
  compat: boolean;
  maxPixels: number;
  uploadConcurrency?: number;
}

export interface SubmitResult {
  book: string;
  pages: number;
  queue: string;
  body: string;
  keys: string[];
}

/** The book name to use, or a ToolError (exit 2) saying why it is refused. */
export function resolveBookName(dir: string, given?: string): string {
  const book = given ?? bookNameFromDir(basename(resolve(dir)));
  const problem = bookNameProblem(book);
  if (problem) {
    throw new ToolError(
      given !== undefined
        ? `book name ${JSON.stringify(book)} ${problem}`
        : `book name ${JSON.stringify(book)} (from the folder name) ${problem}; give a name as the second argument`,
      2,
    );
  }
  return book;
}

/**
 * Checks the book folder and every page, refuses a book that exists, uploads the pages renamed as
 * `<book>/<base>_<NNNN>.<ext>` and enqueues one book message. Nothing is uploaded when a check
 * fails.
 */
export async function submitBook(
  conn: { store: Store; queues: QueueAdmin },
  cfg: PipelineConfig,
  opts: SubmitOptions,
  ui: Ui,
): Promise<SubmitResult> {
  const listing = await listBookImages(opts.dir);
  for (const s of listing.skipped) ui.notice(`skipping ${s.file}: ${s.reason}`);
  const book = resolveBookName(opts.dir, opts.book);
  const job: BookJob = { type: 'book', book, ...(opts.training !== undefined ? { training: opts.training } : {}) };
  const body = formatMessage(job, { compat: opts.compat });
  parseMessage(opts.queue, body); // a bad training name is refused before anything is uploaded
  // Cheap refusals first (missing queue, existing book), then every page is decoded.
  const pages = listing.pages;
  if (opts.compat) {
    const notJpeg = pages.filter((p) => p.ext !== '.jpg').length;
    if (notJpeg > 0 && opts.queue !== 'wipeonly') {
      ui.notice(`note: ${notJpeg} page(s) are not JPEG; Go bookpipeline workers preprocess only .jpg pages`);
    }
  }

  const qname = queueName(cfg, opts.queue);
  const queue: Queue = await conn.queues.open(qname); // a missing queue stops us before the upload
  if (await bookExists(conn.store, book)) {
    throw new ToolError(
      `a book named ${JSON.stringify(book)} already exists in ${storeLabel(cfg)}; ` +
        `remove it with rmbook or give another name`,
    );
  }

  const checking = ui.stage('Checking', pages.length);
  const problems = await checkImages(pages, { maxPixels: opts.maxPixels, onChecked: () => checking.tick() });
  checking.done();
  if (problems.length > 0) {
    for (const p of problems) ui.notice(`${p.file}: ${p.problem}`);
    throw new ToolError(
      `${problems.length} of ${pages.length} page image(s) in ${opts.dir} do not decode (listed above); nothing was uploaded`,
    );
  }

  ui.log.info({ book, pages: pages.length, queue: qname }, 'uploading');
  const uploading = ui.stage('Uploading', pages.length);
  const stored = await uploadPages(conn.store, book, pages, {
    concurrency: opts.uploadConcurrency ?? 8,
    onUploaded: () => uploading.tick(),
  });
  uploading.done();
  try {
    await queue.send(body);
  } catch (e) {
    // Not queued: take the pages away again, so that submitting the book once more works.
    await conn.store.delete(stored).catch(() => undefined);
    throw e;
  }
  ui.log.info({ book, queue: qname, body }, 'queued');
  return { book, pages: pages.length, queue: qname, body, keys: stored };
}
