// Where the pipeline stands: queue counts, books in progress (pages done / total), books done.
// Used by lspipeline and by `booktopipeline --wait`; getpipelinebook uses `bookStatus` to tell an
// unknown book from an unfinished one.
//
// A book's progress is read from its stored keys (spec §5):
//   <book>/<base>_<NNNN>.<jpg|png|tif>   an original page
//   <book>/<page>_bin<k>.png             a variant; <page>_bin<k>.hocr is its OCR
//   <book>/<page>.meta.json              preprocessing of the page finished (our workers)
//   <book>/best, <book>/graph.png        analyse ran; graph.png is the "done" marker
//   <book>/errors/*.json                 error records (pipeline/book-state.ts)
//   <book>/failed/<name>                 a page or variant the worker gave up on
//   <book>/manifest.json                 written by our workers once a book's fan-out is complete:
//                                        every page and the variants expected of it
// A variant is settled when it has its hOCR or a failed marker. A page is done when it has at
// least one variant and all of them are settled: the manifest's variants when there is a manifest;
// else the variants stored, and for books preprocessed by our workers only once the page's
// meta.json exists (so a page whose variants are still being written does not count).

import pLimit from 'p-limit';
import { keys, parseVariantName, RESERVED_BOOK_NAMES } from './book.js';
import { hocrName, isOriginalName, parseManifest, stateKeys, type BookManifest } from './book-state.js';
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
  /** Pages whose every variant is settled (OCRed, or given up on). */
  pagesDone: number;
  /** Pages the worker gave up on (`<book>/failed/<original>`). */
  pagesFailed: number;
  /** Variants (expected by the manifest, else stored), and how many of them have their hOCR. */
  variants: number;
  variantsOcred: number;
  /** `<book>/errors/*.json` records (dead-lettered jobs). */
  errors: number;
  hasBest: boolean;
  /** graph.png exists (or, for a 1-page book from a Go worker, which makes no graph, best does). */
  done: boolean;
  /** Not done and never will be: every page failed. */
  failed: boolean;
  /** When the book was done: graph.png's (or best's) date. */
  finishedAt?: Date;
  /** The newest object's date. */
  updatedAt: Date;
  /** Where pagesTotal came from. */
  totalFrom: 'manifest' | 'originals';
}

/** Counts one book's keys; feed it every object under `<book>/` in any order. */
export class BookTally {
  private objects = 0;
  private readonly originals = new Set<string>();
  /** page → variant base names (without extension) */
  private readonly variants = new Map<string, Set<string>>();
  private readonly hocrs = new Set<string>();
  private readonly metas = new Set<string>();
  private readonly failedNames = new Set<string>();
  private errors = 0;
  private graph: Date | undefined;
  private best: Date | undefined;
  private updated = new Date(0);
  hasManifest = false;

  constructor(readonly book: string) {}

  /** `rest` is the key without `<book>/`. */
  add(rest: string, info: Pick<ObjectInfo, 'modified'>): void {
    this.objects++;
    if (info.modified > this.updated) this.updated = info.modified;
    if (rest.includes('/')) {
      if (rest.startsWith('errors/') && rest.endsWith('.json')) this.errors++;
      else if (rest.startsWith('failed/') && rest.length > 'failed/'.length) this.failedNames.add(rest.slice('failed/'.length));
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
      } else if (isOriginalName(rest)) {
        this.originals.add(rest);
      }
    }
  }

  /** `variant` is a variant's base name without `.png`. */
  private settled(variant: string): { ocred: boolean; settled: boolean } {
    const ocred = this.hocrs.has(variant);
    return { ocred, settled: ocred || this.failedNames.has(`${variant}.png`) };
  }

  /** The status; pass the book's manifest when it has one (it then decides pages and variants). */
  result(manifest?: Pick<BookManifest, 'pages' | 'failed'>): BookStatus {
    let variants = 0;
    let variantsOcred = 0;
    let pagesDone = 0;
    let pagesTotal: number;
    if (manifest) {
      for (const p of manifest.pages) {
        let settledCount = 0;
        for (const file of p.variants) {
          const s = this.settled(hocrName(file).slice(0, -'.hocr'.length));
          if (s.ocred) variantsOcred++;
          if (s.settled) settledCount++;
        }
        variants += p.variants.length;
        if (p.variants.length > 0 && settledCount === p.variants.length) pagesDone++;
      }
      pagesTotal = manifest.pages.length + manifest.failed.length;
    } else {
      const needMeta = this.metas.size > 0;
      for (const [page, set] of this.variants) {
        let settledCount = 0;
        for (const v of set) {
          const s = this.settled(v);
          if (s.ocred) variantsOcred++;
          if (s.settled) settledCount++;
        }
        variants += set.size;
        if (set.size > 0 && settledCount === set.size && (!needMeta || this.metas.has(page))) pagesDone++;
      }
      pagesTotal = Math.max(this.originals.size, this.variants.size);
    }
    let pagesFailed = 0;
    for (const name of this.failedNames) if (isOriginalName(name)) pagesFailed++;
    const goOnePage = this.best !== undefined && pagesTotal <= 1;
    const done = this.graph !== undefined || goOnePage;
    const finishedAt = this.graph ?? (goOnePage ? this.best : undefined);
    return {
      book: this.book,
      objects: this.objects,
      originals: this.originals.size,
      pagesTotal,
      pagesDone,
      pagesFailed,
      variants,
      variantsOcred,
      errors: this.errors,
      hasBest: this.best !== undefined,
      done,
      failed: !done && pagesTotal > 0 && pagesFailed >= pagesTotal,
      ...(finishedAt ? { finishedAt } : {}),
      updatedAt: this.updated,
      totalFrom: manifest ? 'manifest' : 'originals',
    };
  }
}

/** The book's manifest, or undefined when it is gone or unreadable (the listing decides then). */
export async function readManifest(store: StoreReader, book: string): Promise<BookManifest | undefined> {
  const key = stateKeys.manifest(book);
  try {
    return parseManifest((await store.get(key)).toString('utf8'), key);
  } catch {
    return undefined;
  }
}

/** One listing of `<book>/`: its objects and its status; null when nothing is stored under it. */
export async function scanBook(store: StoreReader, book: string): Promise<{ objects: ObjectInfo[]; status: BookStatus } | null> {
  const prefix = keys.prefix(book);
  const tally = new BookTally(book);
  const objects: ObjectInfo[] = [];
  for await (const o of store.list(prefix)) {
    objects.push(o);
    tally.add(o.key.slice(prefix.length), o);
  }
  if (objects.length === 0) return null;
  return { objects, status: tally.result(tally.hasManifest ? await readManifest(store, book) : undefined) };
}

/** One book's status; null when nothing is stored under `<book>/`. */
export async function bookStatus(store: StoreReader, book: string): Promise<BookStatus | null> {
  return (await scanBook(store, book))?.status ?? null;
}

export interface BookList {
  inProgress: BookStatus[];
  /** Sorted by finishedAt, oldest first. */
  done: BookStatus[];
}

/**
 * Every book in the store, from one listing of the whole store (keys at the root and the reserved
 * folders `logs/` and `dist/` are not books). Manifests are read with at most `concurrency` requests at once.
 */
export async function listBooks(store: StoreReader, opts: { concurrency?: number } = {}): Promise<BookList> {
  const tallies = new Map<string, BookTally>();
  for await (const o of store.list('')) {
    const slash = o.key.indexOf('/');
    if (slash <= 0) continue;
    const book = o.key.slice(0, slash);
    if (RESERVED_BOOK_NAMES.has(book)) continue;
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

/** A worker machine (from the Fleet port: pipeline/fleet-status.ts). */
export interface InstanceInfo {
  id: string;
  state: string;
  type?: string;
  name?: string;
  ip?: string;
  /** Used to find the worker's log (its host name is `ip-a-b-c-d` on EC2). */
  privateIp?: string;
  launchedAt?: Date;
  /** The spot instance request (`sir-…`). */
  spotRequestId?: string;
}

/** The last lines of one worker's log, read from the bucket (`logs/<start>-<host>/`). */
export interface WorkerLogTail {
  prefix: string;
  host: string;
  /** The instance the log belongs to, when known. */
  instanceId?: string;
  updatedAt: Date;
  lines: string[];
}

export interface PipelineReport {
  conn: 'aws' | 'local';
  bucket: string;
  queues: QueueStatus[];
  /** Absent with --nobooks. */
  books?: BookList;
  /** Absent when no Fleet is given (local, or skipped). */
  instances?: InstanceInfo[];
  /** Why the instances could not be listed (no permission, EC2 not reachable). */
  instancesError?: string;
  /** Recent log lines of the running workers. */
  logs?: WorkerLogTail[];
}

export async function gatherReport(
  conn: { store: StoreReader; queues: QueueAdmin },
  cfg: Pick<PipelineConfig, 'conn' | 'bucket' | 'queuePrefix'>,
  opts: {
    books: boolean;
    /** Lists the workers; a rejection is reported in the report (instancesError), not thrown. */
    instances?: () => Promise<InstanceInfo[]>;
    /** Recent log lines, given the instances when they could be listed. */
    logs?: (instances: InstanceInfo[] | undefined) => Promise<WorkerLogTail[]>;
    concurrency?: number;
  },
): Promise<PipelineReport> {
  let instancesError: string | undefined;
  const listed = opts.instances
    ? opts.instances().catch((e: unknown) => {
        instancesError = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').slice(0, 300);
        return undefined;
      })
    : Promise.resolve(undefined);
  const [queues, books, instances, logs] = await Promise.all([
    queueStatus(conn.queues, cfg),
    opts.books ? listBooks(conn.store, { concurrency: opts.concurrency }) : Promise.resolve(undefined),
    listed,
    opts.logs ? listed.then((i) => opts.logs!(i)) : Promise.resolve(undefined),
  ]);
  return {
    conn: cfg.conn,
    bucket: cfg.bucket,
    queues,
    ...(books ? { books } : {}),
    ...(instances ? { instances } : {}),
    ...(instancesError !== undefined ? { instancesError } : {}),
    ...(logs?.length ? { logs } : {}),
  };
}

function when(d: Date | undefined): string {
  return d ? d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
}

function countsText(c: QueueCounts | null): string {
  return c ? `${c.available} available, ${c.inFlight} in flight` : 'does not exist (run mkpipeline)';
}

/** "12/40 pages OCRed (48/160 variants), 1 page(s) failed, 2 error records in b/errors/" and the like. */
export function progressText(b: BookStatus): string {
  let head = `${b.pagesDone}/${b.pagesTotal} pages OCRed`;
  if (b.variants > 0) head += ` (${b.variantsOcred}/${b.variants} variants)`;
  else if (b.originals > 0) head += ' (not preprocessed yet)';
  const parts = [head];
  if (b.pagesFailed > 0) parts.push(`${b.pagesFailed} page(s) failed`);
  if (b.hasBest && !b.done) parts.push('analysing');
  if (b.errors > 0) parts.push(`${b.errors} error record${b.errors === 1 ? '' : 's'} in ${keys.prefix(b.book)}errors/`);
  return parts.join(', ');
}

/** The text lspipeline prints. */
export function formatReport(r: PipelineReport): string {
  const out: string[] = [];
  if (r.instances || r.instancesError !== undefined) {
    out.push('# Instances');
    if (r.instancesError !== undefined) out.push(`(not available: ${r.instancesError})`);
    else if (r.instances!.length === 0) out.push('(no workers)');
    for (const i of r.instances ?? []) {
      out.push(
        [
          `ID: ${i.id}`,
          i.type && `Type: ${i.type}`,
          i.launchedAt && `LaunchTime: ${when(i.launchedAt)}`,
          `State: ${i.state}`,
          i.name && `Name: ${i.name}`,
          i.ip && `IP: ${i.ip}`,
          i.spotRequestId && `SpotRequest: ${i.spotRequestId}`,
        ]
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
  if (r.logs?.length) {
    out.push('', '# Recent logs');
    for (const l of r.logs) {
      out.push('', `${l.host}${l.instanceId && l.instanceId !== l.host ? ` (${l.instanceId})` : ''}, last shipped ${when(l.updatedAt)}:`);
      for (const line of l.lines) out.push(`  ${line}`);
    }
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
 * Polls the book's keys every `intervalMs` until it is done (graph.png) or every page failed, calling `onStatus` after
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
    if (last?.done || last?.failed) return last;
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
