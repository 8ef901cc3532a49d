// getpipelinebook's work: which of a book's objects to fetch (the download sets of spec §2.1), and
// fetching them into a folder with bounded concurrency.
//
// Sets (combinable; each runs alone, unlike the original where -a and -png fell through to the
// default set):
//   default       best, the hOCRs named in best, the PDFs, conf, graph.png, <book>.txt, text/*
//   all (-a)      every object under <book>/, keeping the folders below <book>/ (text/, errors/)
//   graph         graph.png
//   pdf           every PDF there is (<book>.binarised.pdf, .colour.pdf, .original.pdf); one at least
//   binarisedpdf  <book>.binarised.pdf
//   colourpdf     <book>.colour.pdf
//   png           the best variant images (the names in best, .hocr → .png)

import { mkdir } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import pLimit from 'p-limit';
import { parseBest } from '../analyse/files.js';
import { keys } from './book.js';
import { ToolError } from './cli.js';
import type { ObjectInfo, StoreReader } from './ports.js';
import { progressText, scanBook, type BookStatus } from './status.js';

export type DownloadSet = 'default' | 'all' | 'graph' | 'pdf' | 'binarisedpdf' | 'colourpdf' | 'png';

export interface DownloadItem {
  key: string;
  /** Path relative to the output folder. */
  file: string;
}

export interface DownloadPlan {
  items: DownloadItem[];
  /** Keys a chosen set needs that are not stored (each one an error). */
  missing: string[];
}


const base = (key: string) => key.slice(key.lastIndexOf('/') + 1);

/**
 * The objects to fetch for `sets`, given the book's stored keys and its `best` entries (null when
 * there is no best file). Pure.
 */
export function planDownload(
  book: string,
  stored: ReadonlySet<string>,
  best: readonly string[] | null,
  sets: ReadonlySet<DownloadSet>,
): DownloadPlan {
  const prefix = keys.prefix(book);
  const items = new Map<string, DownloadItem>();
  const missing = new Set<string>();
  const flat = (key: string) => ({ key, file: base(key) });
  const want = (key: string, required: boolean, item: DownloadItem = flat(key)) => {
    if (stored.has(key)) items.set(key, item);
    else if (required) missing.add(key);
  };
  const pdfs = [keys.binarisedPdf(book), keys.colourPdf(book), `${prefix}${book}.original.pdf`];
  const bestNames = (best ?? []).map(base);

  for (const set of sets) {
    switch (set) {
      case 'all':
        for (const key of stored) if (key.startsWith(prefix)) items.set(key, { key, file: key.slice(prefix.length) });
        break;
      case 'graph':
        want(keys.graph(book), true);
        break;
      case 'binarisedpdf':
        want(keys.binarisedPdf(book), true);
        break;
      case 'colourpdf':
        want(keys.colourPdf(book), true);
        break;
      case 'pdf':
        if (!pdfs.some((k) => stored.has(k))) missing.add(`${prefix}${book}.*.pdf`);
        for (const k of pdfs) want(k, false);
        break;
      case 'png':
        want(keys.best(book), true);
        for (const n of bestNames) want(`${prefix}${n.replace(/\.hocr$/, '.png')}`, true);
        break;
      case 'default':
        want(keys.best(book), true);
        for (const n of bestNames) want(`${prefix}${n}`, true);
        for (const k of pdfs) want(k, false);
        want(keys.conf(book), false);
        // A 1-page book from a Go worker has no graph: not an error.
        want(keys.graph(book), false);
        want(keys.text(book), false);
        for (const key of stored) {
          if (key.startsWith(`${prefix}text/`)) items.set(key, { key, file: key.slice(prefix.length) });
        }
        break;
    }
  }
  return { items: [...items.values()].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)), missing: [...missing].sort() };
}

/** Lists `<book>/` once: its objects and its status. ToolError (1) when nothing is stored. */
export async function listBook(store: StoreReader, book: string, where: string): Promise<{ objects: ObjectInfo[]; status: BookStatus }> {
  const found = await scanBook(store, book);
  if (!found) throw new ToolError(`no book named ${JSON.stringify(book)} in ${where}`);
  return found;
}

export interface DownloadResult {
  files: string[];
  bytes: number;
  status: BookStatus;
}

/**
 * Downloads the chosen sets of `book` into `outDir` (created if needed; existing files are
 * replaced). ToolError (1) for an unknown book, an unfinished one, or a required object that is
 * missing; nothing is downloaded then.
 */
export async function downloadBook(
  store: StoreReader,
  book: string,
  outDir: string,
  opts: {
    sets: ReadonlySet<DownloadSet>;
    /** For messages: `bucket rescribeinprogress`. */
    where: string;
    concurrency?: number;
    onPlanned?: (n: number) => void;
    onFile?: (item: DownloadItem) => void;
  },
): Promise<DownloadResult> {
  const { objects, status } = await listBook(store, book, opts.where);
  const stored = new Set(objects.map((o) => o.key));
  // The default set is the finished book; --png needs only best. Other sets say what is missing.
  if ((opts.sets.has('default') && !status.done) || (opts.sets.has('png') && !status.hasBest)) {
    throw new ToolError(`book ${JSON.stringify(book)} is not finished yet: ${progressText(status)}`);
  }
  let best: string[] | null = null;
  if (stored.has(keys.best(book))) best = parseBest((await store.get(keys.best(book))).toString('utf8'));
  const plan = planDownload(book, stored, best, opts.sets);
  if (plan.missing.length > 0) {
    const unfinished = !status.done ? ` (the book is not finished: ${progressText(status)})` : '';
    const list = plan.missing.slice(0, 5).join(', ') + (plan.missing.length > 5 ? `, and ${plan.missing.length - 5} more` : '');
    throw new ToolError(`book ${JSON.stringify(book)} has no ${list}${unfinished}`);
  }

  const root = resolve(outDir);
  await mkdir(root, { recursive: true });
  const sizes = new Map(objects.map((o) => [o.key, o.size]));
  opts.onPlanned?.(plan.items.length);
  const limit = pLimit(opts.concurrency ?? 8);
  let bytes = 0;
  await Promise.all(
    plan.items.map((item) =>
      limit(async () => {
        const path = resolve(root, item.file);
        // Keys never hold `..` segments (ports.ts checkKey), but a path must stay inside the folder.
        const rel = relative(root, path);
        if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..') throw new ToolError(`refusing to write ${item.key} outside ${root}`);
        await mkdir(dirname(path), { recursive: true });
        await store.getToFile(item.key, path);
        bytes += sizes.get(item.key) ?? 0;
        opts.onFile?.(item);
      }),
    ),
  );
  return { files: plan.items.map((i) => join(root, i.file)), bytes, status };
}
