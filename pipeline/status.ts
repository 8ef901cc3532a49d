// Where the pipeline stands: queue counts, books in progress (pages done / total), books done.
// Used by lspipeline and by `booktopipeline --wait`; getpipelinebook uses `bookStatus` to tell an
// unknown book from an unfinished one.
//
// A book's progress is read from its stored keys (spec §5):
//   <book>/<base>_<NNNN>.<jpg|png|tif>   an original page
//   <book>/<page>_bin<k>.png             a variant; <page>_bin<k>.hocr is its OCR
//   <book>/<page>.meta.json              preprocessing of the page finished (our workers)
//   <book>/best, <book>/graph.png        analyse ran; graph.png is the "done" marker
//   <book>/errors/*.json                 error records of dead-lettered jobs
//   <book>/manifest.json                 if a worker writes one: the number of pages expected
// A page is done when it has at least one variant and every variant has its hOCR (and, for books
// preprocessed by our workers, its meta.json exists, so a page whose variants are still being
// written does not count).

import pLimit from 'p-limit';
import { keys, parseVariantName } from './book.js';
import { queueName, type PipelineConfig } from './cloud-config.js';
import { ConfigError } from './errors.js';
import { QUEUE_KINDS, type QueueKind } from './messages.js';
import { defaultDlqName, type ObjectInfo, type QueueAdmin, type QueueCounts, type StoreReader } from './ports.js';

export interface BookStatus {
  book: string;
  /** Objects stored under `<book>/`. */
  objects: number;
  /** Original page images stored. */
  originals: number;
  /** Pages expected: from the manifest when there is one, else the originals. */
  pagesTotal: number;
  /** Pages whose every variant has been OCRed. */
  pagesDone: number;
  /** Variant images stored, and how many of them have their hOCR. */
  variants: number;
  variantsOcred: number;
  /** `<book>/errors/*.json` records (dead-lettered jobs). */
  errors: number;
  hasBest: boolean;
  /** graph.png exists (or, for a 1-page book from a Go worker, which makes no graph, best does). */
  done: boolean;
  /** When the book was done: graph.png's (or best's) date. */
  finishedAt?: Date;
  /** The newest object's date. */
  updatedAt: Date;
  /** Where pagesTotal came from. */
  totalFrom: 'manifest' | 'originals';
}

const ORIGINAL = /_\d{4}\.(jpg|png|tif)$/;

/** Counts one book's keys; feed it every object under `<book>/` in any order. */
export class BookTally {
  private objects = 0;
  private readonly originals = new Set<string>();
  /** page → variant base names (without extension) */
  private readonly variants = new Map<string, Set<string>>();
  private readonly hocrs = new Set<string>();
  private readonly metas = new Set<string>();
  private errors = 0;
  private graph: Date | undefined;
  private best: Date | undefined;
  private updated = new Date(0);
  hasManifest = false;

  constructor(readonly book: string) {}

  get objectCount(): number {
    return this.objects;
  }

  /** `rest` is the key without `<book>/`. */
  add(rest: string, info: Pick<ObjectInfo, 'modified'>): void {
    this.objects++;
    if (info.modified > this.updated) this.updated = info.modified;
    if (rest.includes('/')) {
      if (rest.startsWith('errors/') && rest.endsWith('.json')) this.errors++;
      return;
    }
    if (rest === 'graph.png') this.graph = info.modified;
    else if (rest === 'best') this.best = info.modified;
    else if (rest === 'manifest.json') this.hasManifest = true;
    else if (rest.endsWith('.meta.json')) this.metas.add(rest.slice(0, -'.meta.json'.length));
    else {
      const v = parseVariantName(rest);
      if (v && rest.endsWith('.png')) {
        let set = this.variants.get(v.page);
        if (!set) this.variants.set(v.page, (set = new Set()));
        set.add(rest.slice(0, -'.png'.length));
      } else if (v && rest.endsWith('.hocr')) {
        this.hocrs.add(rest.slice(0, -'.hocr'.length));
      } else if (!v && ORIGINAL.test(rest)) {
        this.originals.add(rest);
      }
    }
  }

  result(manifestPages?: number): BookStatus {
    let variants = 0;
    let variantsOcred = 0;
    let pagesDone = 0;
    const needMeta = this.metas.size > 0;
    for (const [page, set] of this.variants) {
      let ocred = 0;
      for (const v of set) if (this.hocrs.has(v)) ocred++;
      variants += set.size;
      variantsOcred += ocred;
      if (set.size > 0 && ocred === set.size && (!needMeta || this.metas.has(page))) pagesDone++;
    }
    const pagesTotal = manifestPages ?? Math.max(this.originals.size, this.variants.size);
    const goOnePage = this.best !== undefined && pagesTotal <= 1;
    const done = this.graph !== undefined || goOnePage;
    const finishedAt = this.graph ?? (goOnePage ? this.best : undefined);
    return {
      book: this.book,
      objects: this.objects,
      originals: this.originals.size,
      pagesTotal,
      pagesDone,
      variants,
      variantsOcred,
      errors: this.errors,
      hasBest: this.best !== undefined,
      done,
      ...(finishedAt ? { finishedAt } : {}),
      updatedAt: this.updated,
      totalFrom: manifestPages !== undefined ? 'manifest' : 'originals',
    };
  }
}

/**
 * The number of pages a manifest expects, read defensively (the manifest belongs to the worker):
 * `pages` as a number or a list, or `pageCount`/`total`. Undefined when it says nothing usable.
 */
export function manifestPages(bytes: Buffer | string): number | undefined {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString());
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  for (const field of ['pages', 'pageCount', 'total']) {
    const f = o[field];
    if (typeof f === 'number' && Number.isInteger(f) && f >= 0) return f;
    if (Array.isArray(f)) return f.length;
  }
  return undefined;
}

async function readManifest(store: StoreReader, book: string): Promise<number | undefined> {
  try {
    return manifestPages(await store.get(`${keys.prefix(book)}manifest.json`));
  } catch {
    return undefined; // deleted meanwhile, or unreadable: fall back to the listing
  }
}

/** One book's status from a listing of `<book>/`; null when nothing is stored under it. */
export async function bookStatus(store: StoreReader, book: string): Promise<BookStatus | null> {
  const prefix = keys.prefix(book);
  const tally = new BookTally(book);
  for await (const o of store.list(prefix)) tally.add(o.key.slice(prefix.length), o);
  if (tally.objectCount === 0) return null;
  return tally.result(tally.hasManifest ? await readManifest(store, book) : undefined);
}

export interface BookList {
  inProgress: BookStatus[];
  /** Sorted by finishedAt, oldest first. */
  done: BookStatus[];
}

/**
 * Every book in the store, from one listing of the whole store (keys at the root, such as worker
 * logs, are not books). Manifests are read with at most `concurrency` requests at once.
 */
export async function listBooks(store: StoreReader, opts: { concurrency?: number } = {}): Promise<BookList> {
  const tallies = new Map<string, BookTally>();
  for await (const o of store.list('')) {
    const slash = o.key.indexOf('/');
    if (slash <= 0) continue;
    const book = o.key.slice(0, slash);
    let t = tallies.get(book);
    if (!t) tallies.set(book, (t = new BookTally(book)));
    t.add(o.key.slice(slash + 1), o);
  }
  const limit = pLimit(opts.concurrency ?? 8);
  const all = await Promise.all(
    [...tallies.values()].map((t) => limit(async () => t.result(t.hasManifest ? await readManifest(store, t.book) : undefined))),
  );
  const time = (d: Date | undefined) => d?.getTime() ?? 0;
  const byName = (a: BookStatus, b: BookStatus) => (a.book < b.book ? -1 : a.book > b.book ? 1 : 0);
  return {
    inProgress: all.filter((b) => !b.done).sort((a, b) => time(a.updatedAt) - time(b.updatedAt) || byName(a, b)),
    done: all.filter((b) => b.done).sort((a, b) => time(a.finishedAt) - time(b.finishedAt) || byName(a, b)),
  };
}

// ───────────────────────────── queues ─────────────────────────────

export interface QueueStatus {
  kind: QueueKind;
  name: string;
  /** null when the queue does not exist. */
  counts: QueueCounts | null;
  dlq: { name: string; counts: QueueCounts | null };
}

async function countsOf(queues: QueueAdmin, name: string): Promise<QueueCounts | null> {
  try {
    return await (await queues.open(name)).counts();
  } catch (e) {
    if (e instanceof ConfigError && /does not exist/.test(e.message)) return null;
    throw e;
  }
}

/** Every queue of the pipeline (all five, prenowipe too) and its dead-letter queue. */
export async function queueStatus(queues: QueueAdmin, cfg: Pick<PipelineConfig, 'queuePrefix'>): Promise<QueueStatus[]> {
  return Promise.all(
    QUEUE_KINDS.map(async (kind) => {
      const name = queueName(cfg, kind);
      const dlqName = defaultDlqName(name);
      const [counts, dlqCounts] = await Promise.all([countsOf(queues, name), countsOf(queues, dlqName)]);
      return { kind, name, counts, dlq: { name: dlqName, counts: dlqCounts } };
    }),
  );
}

// ───────────────────────────── the report ─────────────────────────────

/**
 * A worker machine. Not filled yet: the Fleet port (spot instances) comes with a later issue and
 * plugs in through `gatherReport`'s `instances` option.
 */
export interface InstanceInfo {
  id: string;
  state: string;
  type?: string;
  name?: string;
  ip?: string;
  launchedAt?: Date;
}

export interface PipelineReport {
  conn: 'aws' | 'local';
  bucket: string;
  queues: QueueStatus[];
  /** Absent with --nobooks. */
  books?: BookList;
  /** Absent until a Fleet is given. */
  instances?: InstanceInfo[];
}

export async function gatherReport(
  conn: { store: StoreReader; queues: QueueAdmin },
  cfg: Pick<PipelineConfig, 'conn' | 'bucket' | 'queuePrefix'>,
  opts: { books: boolean; instances?: () => Promise<InstanceInfo[]>; concurrency?: number },
): Promise<PipelineReport> {
  const [queues, books, instances] = await Promise.all([
    queueStatus(conn.queues, cfg),
    opts.books ? listBooks(conn.store, { concurrency: opts.concurrency }) : Promise.resolve(undefined),
    opts.instances ? opts.instances() : Promise.resolve(undefined),
  ]);
  return {
    conn: cfg.conn,
    bucket: cfg.bucket,
    queues,
    ...(books ? { books } : {}),
    ...(instances ? { instances } : {}),
  };
}

function when(d: Date | undefined): string {
  return d ? d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
}

function countsText(c: QueueCounts | null): string {
  return c ? `${c.available} available, ${c.inFlight} in flight` : 'does not exist (run mkpipeline)';
}

/** "12/40 pages OCRed (48/160 variants)" and friends. */
export function progressText(b: BookStatus): string {
  const parts = [`${b.pagesDone}/${b.pagesTotal} pages OCRed`];
  if (b.variants > 0) parts.push(`(${b.variantsOcred}/${b.variants} variants)`);
  else if (b.originals > 0) parts.push('(not preprocessed yet)');
  if (b.hasBest && !b.done) parts.push('analysing');
  if (b.errors > 0) parts.push(`${b.errors} error record${b.errors === 1 ? '' : 's'} in ${keys.prefix(b.book)}errors/`);
  return parts.join(' ');
}

/** The text lspipeline prints. */
export function formatReport(r: PipelineReport): string {
  const out: string[] = [];
  if (r.instances) {
    out.push('# Instances');
    for (const i of r.instances) {
      out.push(
        [`ID: ${i.id}`, i.type && `Type: ${i.type}`, i.launchedAt && `LaunchTime: ${when(i.launchedAt)}`, `State: ${i.state}`, i.name && `Name: ${i.name}`, i.ip && `IP: ${i.ip}`]
          .filter(Boolean)
          .join(', '),
      );
    }
    out.push('');
  }
  out.push('# Queues');
  const w = Math.max(...r.queues.map((q) => q.kind.length));
  for (const q of r.queues) {
    out.push(`${q.kind.padEnd(w)}  ${countsText(q.counts)}; dead letters: ${countsText(q.dlq.counts)}`);
  }
  if (r.books) {
    const bw = Math.max(0, ...[...r.books.inProgress, ...r.books.done].map((b) => b.book.length));
    out.push('', '# Books not completed');
    for (const b of r.books.inProgress) out.push(`${b.book.padEnd(bw)}  ${progressText(b)}; last change ${when(b.updatedAt)}`);
    out.push('', '# Books done');
    for (const b of r.books.done) out.push(`${b.book.padEnd(bw)}  ${when(b.finishedAt)}${b.errors ? `  (${b.errors} error records)` : ''}`);
  }
  return `${out.join('\n')}\n`;
}

// ───────────────────────────── waiting for a book ─────────────────────────────

/**
 * Polls the book's keys every `intervalMs` until it is done (graph.png), calling `onStatus` after
 * each look. Resolves with the final status; rejects only on store errors. Aborting stops it
 * (resolves with the last status seen, or null).
 */
export async function waitForBook(
  store: StoreReader,
  book: string,
  opts: { intervalMs?: number; signal?: AbortSignal; onStatus?: (s: BookStatus | null) => void },
): Promise<BookStatus | null> {
  const interval = opts.intervalMs ?? 5000;
  let last: BookStatus | null = null;
  for (;;) {
    if (opts.signal?.aborted) return last;
    last = await bookStatus(store, book);
    opts.onStatus?.(last);
    if (last?.done) return last;
    await new Promise<void>((res) => {
      const t = setTimeout(done, interval);
      function done(): void {
        clearTimeout(t);
        opts.signal?.removeEventListener('abort', done);
        res();
      }
      opts.signal?.addEventListener('abort', done, { once: true });
    });
  }
}
