// Which stage serves which queue, and the chain between them (spec §3, with §11's bugs fixed):
//
//   preprocess | prenowipe | wipeonly  (BookJob)
//       list the book once; every page image (jpg, png, tif) → variants + meta; as soon as its
//       page is done, one OcrJob for the page's first variant (the adaptive search, default) or
//       one per variant (`allVariants`, the original's way); a page that cannot be decoded is recorded and
//       skipped; then <book>/manifest.json (AFTER the whole fan-out) and ONE AnalyseJob, delayed.
//   ocrpage  (OcrJob)
//       one variant → its hOCR, with the job's training or the worker's. In the adaptive search
//       (the page's meta says so) it then replays the page's search over its stored hOCRs and
//       sends the OcrJob of the next variant only if another could still win.
//   analyse  (AnalyseJob)
//       one listing: are all the manifest's variants OCRed (or given up on)? In the adaptive
//       search, is every page's search stopped (its meta and stored hOCRs read for the pages
//       with variants unread)? If not, send a fresh
//       delayed AnalyseJob and finish this one (a deferral is not a failure and never nears the
//       redrive's maxReceiveCount). If yes: conf, best, text, PDFs, graph (analyseBook, which
//       writes deterministic keys, so running twice is harmless).
//
// So analyse is triggered once per book in normal operation, never before the fan-out is
// complete, and the completion check costs one listing per check, not one per page.

import { basename } from 'node:path';
import { ImageDecodeError } from '../preprocess/codec.js';
import type { OcrEngine } from '../ocr/engine.js';
import { keys, parseVariantName } from './book.js';
import {
  completion,
  hocrName,
  parseManifest,
  readBookState,
  stateKeys,
  type BookManifest,
  type BookState,
} from './book-state.js';
import { NotFoundError, PermanentError, describeError } from './errors.js';
import { BadMessageError, formatMessage, parseMessage, type AnalyseJob, type BookJob, type Job, type OcrJob, type QueueKind } from './messages.js';
import { pngDpi } from './png-density.js';
import type { Queue, Store } from './ports.js';
import type { FailureRecord, JobContext, JobHandler } from './runner.js';
import { testDelay, testDuplicateSends, testKillPoint } from './test-hooks.js';
import { analyseBook, type AnalyseResult } from './stages/analyse.js';
import { ocrVariant, replayPage, storedStats, type PageStep } from './stages/ocr.js';
import { preprocessPage, type PageMeta } from './stages/preprocess.js';
import type { StageStore } from './stages/store.js';
import { wipePage } from './stages/wipe.js';

export interface JobSettings {
  /** Sauvola k values for preprocess and prenowipe. */
  thresholds: readonly number[];
  /** Training for jobs that name none. */
  defaultTraining: string;
  deskew: boolean;
  denoise: 'auto' | 'on' | 'off';
  maxPixels: number;
  /** Write next messages in the Go original's text format (to share queues with Go workers). */
  compat: boolean;
  /**
   * OCR every variant of every page (the original's way) instead of the adaptive search
   * (analyse/adaptive): the preprocess family then sends one OCR job per variant. Default false.
   */
  allVariants?: boolean;
  /** Checks in a row that find variants missing while the ocrpage queue is empty before analysing what there is. Default 3. */
  stallChecks?: number;
  /** Delay of the analyse job by the number of variants not OCRed yet. Default {@link analyseDelaySeconds}. */
  analyseDelay?: (missing: number) => number;
}

/** The stages' settings from a command's config (rescribe's or the worker's), with what differs. */
export function jobSettings(
  cfg: Pick<JobSettings, 'thresholds' | 'deskew' | 'denoise' | 'maxPixels'> & { training: string; allVariants: boolean },
  extra: Pick<JobSettings, 'compat'> & Partial<JobSettings>,
): JobSettings {
  return {
    thresholds: cfg.thresholds,
    defaultTraining: cfg.training,
    deskew: cfg.deskew,
    denoise: cfg.denoise,
    maxPixels: cfg.maxPixels,
    allVariants: cfg.allVariants,
    ...extra,
  };
}

/** What the stages report as they go, for a command that shows progress (rescribe). All optional. */
export interface JobEvents {
  /** A page's variants and meta are stored. */
  pagePreprocessed?(book: string, meta: PageMeta): void;
  /** A page could not be preprocessed: recorded and skipped. */
  pageFailed?(book: string, page: string, original: string, reason: string): void;
  /** One variant's hOCR is stored. */
  variantRead?(book: string, variant: string): void;
  /** The adaptive search of a page stopped after this OCR job. */
  pageRead?(book: string, page: string, stop: string): void;
  /** The book is analysed. */
  analysed?(book: string, result: AnalyseResult): void;
}

export interface JobDeps {
  store: Store;
  /** Every queue of the pipeline, for the next messages (not only the polled ones). */
  queues: Readonly<Record<QueueKind, Queue>>;
  engines: { get(training: string): Promise<OcrEngine> };
  settings: JobSettings;
  worker: { host: string; pid: number };
  events?: JobEvents;
}

type Ctx = JobContext<QueueKind>;

/**
 * How long to wait before looking again at a book with `missing` variants not OCRed: half a
 * second each, 2..30 s. A look costs one listing of the book and one queue count, so looking a
 * little early is cheap; looking late leaves the workers idle (at 2 s each, a 20-page book on a
 * 2-job worker waited 16 s after its last OCR: the bench's cloud overhead).
 */
export function analyseDelaySeconds(missing: number): number {
  return Math.min(30, Math.max(2, Math.ceil(missing / 2)));
}

export function parseJob(kind: QueueKind, body: string): Job {
  return parseMessage(kind, body);
}

export function describeJob(job: Job): Record<string, unknown> {
  return job.type === 'ocr' ? { book: job.book, variant: job.variant } : { book: job.book };
}

/** A failure tied to one page's image: record it and go on with the book. */
function isPageProblem(err: unknown): boolean {
  return err instanceof ImageDecodeError || err instanceof PermanentError;
}

async function send(d: JobDeps, kind: QueueKind, job: Job, delaySeconds?: number): Promise<void> {
  const body = formatMessage(job, { compat: d.settings.compat });
  await d.queues[kind].send(body, delaySeconds ? { delaySeconds } : undefined);
  if (testDuplicateSends) await d.queues[kind].send(body, delaySeconds ? { delaySeconds } : undefined);
}

// ───────────── preprocess | prenowipe | wipeonly ─────────────

async function bookJob(d: JobDeps, job: BookJob, ctx: Ctx): Promise<void> {
  const { store } = d;
  const { book } = job;
  const state = await readBookState(store, book);
  if (!state.exists) throw new PermanentError(`no such book: nothing is stored under ${book}/`);
  if (state.originals.length === 0) {
    throw new PermanentError(`book ${book} has no page images (.jpg, .png or .tif named like page_0001.jpg) under ${book}/`);
  }
  const kind = ctx.kind;
  if (kind !== 'preprocess' && kind !== 'prenowipe' && kind !== 'wipeonly') throw new BadMessageError(`a book job on the ${kind} queue`);
  const ks = kind === 'wipeonly' ? [0] : [...d.settings.thresholds];
  const search: 'adaptive' | 'all' = kind === 'wipeonly' || d.settings.allVariants ? 'all' : 'adaptive';
  const pages: BookManifest['pages'] = [];
  const failed: BookManifest['failed'] = [];
  let sent = 0;
  let reused = 0;
  // A retry of some pages (a page's dead letter, redriven): those pages alone, merged into the
  // book's manifest below.
  const only = job.pages ? new Set(job.pages) : null;
  const originals = only ? state.originals.filter((o) => only.has(o.page)) : state.originals;
  if (only) {
    const unknown = [...only].filter((pg) => !originals.some((o) => o.page === pg));
    if (unknown.length > 0) throw new PermanentError(`book ${book} has no page image named ${unknown.join(', ')}`);
  }

  for (const o of originals) {
    ctx.signal.throwIfAborted();
    const expected = ks.map((k) => basename(keys.variant(book, o.page, k)));
    let variants: string[];
    let meta: PageMeta | null = null;
    if (state.metas.has(o.page) && expected.every((v) => state.variants.has(v))) {
      // A redelivered message: this page is done already.
      variants = expected;
      reused += 1;
    } else {
      try {
        meta =
          kind === 'wipeonly'
            ? await wipePage(store, book, o.page, o.key, { maxPixels: d.settings.maxPixels })
            : await preprocessPage(store, book, o.page, o.key, {
                ks,
                wipe: kind === 'preprocess',
                deskew: d.settings.deskew,
                denoise: d.settings.denoise,
                maxPixels: d.settings.maxPixels,
                search,
              });
        variants = meta.variants.map((k) => basename(k));
        ctx.log.debug({ page: o.page, angle: meta.angle, variants: variants.length }, 'page preprocessed');
        d.events?.pagePreprocessed?.(book, meta);
      } catch (err) {
        if (!isPageProblem(err)) throw err;
        const reason = describeError(err);
        failed.push({ page: o.page, original: o.key, reason });
        ctx.log.warn({ page: o.page, err: reason }, 'page failed; the rest of the book goes on');
        await recordPageFailure(d, ctx, book, o.page, o.key, reason);
        d.events?.pageFailed?.(book, o.page, o.key, reason);
        continue;
      }
      // Preprocessed now: a failure marker from an earlier try (this is a retry) no longer holds.
      if (state.failed.has(basename(o.key))) {
        await store.delete([stateKeys.failedMarker(book, basename(o.key))]);
        state.failed.delete(basename(o.key));
      }
    }
    pages.push({ page: o.page, original: o.key, variants });
    // The page's OCR jobs, as soon as its variants are stored (one batch request per page):
    // every variant without hOCR, or in the adaptive search the next one to read (the first,
    // unless a redelivered message finds readings stored already).
    let todo = variants.filter((v) => !state.hocr.has(hocrName(v)));
    if (search === 'adaptive' && todo.length > 0) {
      meta ??= await readMeta(store, book, o.page);
      if (meta?.search === 'adaptive') {
        const step = await pageStep(store, book, meta, state);
        todo = 'next' in step ? [basename(step.next)] : [];
      }
    }
    const ocrJobs = todo
      .map((v) => formatMessage({ type: 'ocr', book, variant: v, ...(job.training ? { training: job.training } : {}) }, { compat: d.settings.compat }));
    await d.queues.ocrpage.sendBatch(ocrJobs);
    sent += ocrJobs.length;
  }

  if (only && state.manifest) {
    // Keep what the book's manifest says of every other page, in the book's page order.
    const key = stateKeys.manifest(book);
    const before = parseManifest((await store.get(key)).toString('utf8'), key);
    const order = new Map(state.originals.map((o, i) => [o.page, i]));
    const byOrder = (a: { page: string }, b: { page: string }) => (order.get(a.page) ?? 0) - (order.get(b.page) ?? 0);
    pages.push(...before.pages.filter((pg) => !only.has(pg.page)));
    pages.sort(byOrder);
    failed.push(...before.failed.filter((f) => !only.has(f.page)));
    failed.sort(byOrder);
  }
  const manifest: BookManifest = {
    v: 1,
    book,
    queue: kind,
    ...(job.training ? { training: job.training } : {}),
    thresholds: ks,
    search,
    pages,
    failed,
    created: new Date().toISOString(),
  };
  await store.put(stateKeys.manifest(book), `${JSON.stringify(manifest, null, 1)}\n`, { contentType: 'application/json' });
  if (pages.length === 0) {
    throw new PermanentError(`no page of ${book} could be preprocessed (${failed.length} failed; first: ${failed[0]?.reason ?? '?'})`);
  }
  // The rest of the book goes on; each page that failed now goes to the dead-letter queue as a
  // retry of that page alone (after the book's record and marker), for `redrive` once it is fixed.
  // A whole book that fails is dead-lettered as one message instead (above).
  for (const f of failed) {
    if (only && !only.has(f.page)) continue;
    const retry: BookJob = { type: 'book', book, pages: [f.page], ...(job.training ? { training: job.training } : {}) };
    await ctx.queue.sendDeadLetter(formatMessage(retry), `page ${f.original}: ${f.reason}`);
  }
  const missing = search === 'adaptive' ? sent : completion(pages.flatMap((p) => p.variants), state).missing.length;
  const delay = (d.settings.analyseDelay ?? analyseDelaySeconds)(missing);
  await send(d, 'analyse', { type: 'analyse', book, ...(job.training ? { training: job.training } : {}) }, delay);
  ctx.log.info({ pages: pages.length, failed: failed.length, reused, ocrJobs: sent, analyseInSeconds: delay }, 'book preprocessed');
}

async function recordPageFailure(d: JobDeps, ctx: Ctx, book: string, page: string, original: string, reason: string): Promise<void> {
  const when = new Date();
  const record = {
    v: 1,
    book,
    what: { queue: ctx.queue.name, kind: ctx.kind, messageId: ctx.msg.id, receiveCount: ctx.msg.receiveCount, page, original },
    why: reason,
    when: when.toISOString(),
    worker: d.worker,
    action: 'page skipped',
  };
  await d.store.put(stateKeys.errorRecord(book, when, ctx.queue.name, ctx.msg.id, page), `${JSON.stringify(record, null, 1)}\n`, {
    contentType: 'application/json',
  });
  await d.store.put(stateKeys.failedMarker(book, basename(original)), `${reason}\n`);
}

/** A page's meta, or null when it has none (a book preprocessed by the Go original). */
async function readMeta(store: Store, book: string, page: string): Promise<PageMeta | null> {
  const key = keys.meta(book, page);
  let body: Buffer;
  try {
    body = await store.get(key);
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
  try {
    return JSON.parse(body.toString('utf8')) as PageMeta;
  } catch {
    throw new PermanentError(`${key}: not valid JSON`);
  }
}

/** The adaptive search of a page replayed over what is stored (hOCR names and failure markers). */
function pageStep(store: Store, book: string, meta: PageMeta, state: Pick<BookState, 'hocr' | 'failed'>): Promise<PageStep> {
  return replayPage(
    meta,
    (key) => {
      const name = basename(key);
      if (state.hocr.has(hocrName(name))) return 'read';
      return state.failed.has(name) ? 'failed' : 'missing';
    },
    (key) => storedStats(store, key),
  );
}

// ───────────── ocrpage ─────────────

async function ocrJob(d: JobDeps, job: OcrJob, ctx: Ctx): Promise<void> {
  const { store } = d;
  if (job.training !== undefined && !/^[A-Za-z0-9_+-]+$/.test(job.training)) {
    throw new PermanentError(`training "${job.training}" in a message must be language codes such as eng or eng+fra`);
  }
  const engine = await d.engines.get(job.training ?? d.settings.defaultTraining);
  const variantKey = `${job.book}/${job.variant}`;
  await testDelay(job.variant, ctx.signal);
  const image = await store.get(variantKey, { signal: ctx.signal });
  // The variant records its resolution (pHYs); OCR gets the same dpi as in rescribe.
  const dpi = pngDpi(image);
  const once: StageStore = {
    get: (key) => (key === variantKey ? Promise.resolve(image) : store.get(key)),
    put: (key, body) => store.put(key, body),
    putFile: (key, path) => store.putFile(key, path),
    list: (prefix) => store.list(prefix),
  };
  const ocr = ocrVariant(once, engine, variantKey, { ...(dpi ? { dpi } : {}), signal: ctx.signal });
  testKillPoint('during-ocr');
  await ocr;
  d.events?.variantRead?.(job.book, job.variant);
  testKillPoint('after-outputs');
  await followUp(d, job, ctx);
}

/**
 * The adaptive search's next step for the job's page: with the page's stored hOCRs (one listing of
 * `<book>/<page>_bin`) and its meta, send the OCR job of the next variant, if another could win.
 * A redelivered job takes the same decision (and may send the same job again: its OCR writes the
 * same key). Nothing for pages whose meta does not ask for the adaptive search.
 */
async function followUp(d: JobDeps, job: OcrJob, ctx: Ctx): Promise<void> {
  const parsed = parseVariantName(job.variant);
  if (!parsed) return;
  const meta = await readMeta(d.store, job.book, parsed.page);
  if (meta?.search !== 'adaptive') return;
  const hocr = new Set<string>();
  const prefix = `${job.book}/${parsed.page}_bin`;
  for await (const o of d.store.list(prefix)) {
    const name = o.key.slice(job.book.length + 1);
    if (name.endsWith('.hocr')) hocr.add(name);
  }
  const step = await pageStep(d.store, job.book, meta, { hocr, failed: new Set() });
  if ('stop' in step) {
    ctx.log.debug({ page: parsed.page, stop: step.stop }, 'page read');
    d.events?.pageRead?.(job.book, parsed.page, step.stop);
    return;
  }
  const next: OcrJob = { type: 'ocr', book: job.book, variant: basename(step.next), ...(job.training ? { training: job.training } : {}) };
  await send(d, 'ocrpage', next);
  ctx.log.debug({ page: parsed.page, next: next.variant }, 'another variant could win: sent');
}

// ───────────── analyse ─────────────

async function analyseJob(d: JobDeps, job: AnalyseJob, ctx: Ctx): Promise<void> {
  const { store } = d;
  const { book } = job;
  const state = await readBookState(store, book);
  if (!state.exists) throw new PermanentError(`no such book: nothing is stored under ${book}/`);
  let expected: string[];
  let adaptive: BookManifest['pages'] | null = null;
  if (state.manifest) {
    const key = stateKeys.manifest(book);
    const manifest = parseManifest((await store.get(key)).toString('utf8'), key);
    expected = manifest.pages.flatMap((p) => p.variants);
    if (manifest.search === 'adaptive') adaptive = manifest.pages;
  } else {
    // Preprocessed by the Go original (no manifest): its rule, every variant has its hOCR.
    expected = [...state.variants];
    if (expected.length === 0) throw new PermanentError(`book ${book} has not been preprocessed: no manifest.json and no variant images`);
  }
  let { missing } = completion(expected, state);
  if (adaptive && missing.length > 0) {
    // The adaptive search: a page is settled when its search stops with the readings stored (a
    // page with every variant read or failed is, without reading anything).
    const open: string[] = [];
    for (const p of adaptive) {
      if (p.variants.every((v) => state.hocr.has(hocrName(v)) || state.failed.has(v))) continue;
      const meta = await readMeta(store, book, p.page);
      if (meta?.search !== 'adaptive') {
        open.push(...completion(p.variants, state).missing);
        continue;
      }
      const step = await pageStep(store, book, meta, state);
      if ('next' in step) open.push(basename(step.next));
    }
    missing = open;
  }
  if (missing.length > 0) {
    const c = await d.queues.ocrpage.counts();
    const stalled = c.available + c.inFlight === 0 ? (job.stalled ?? 0) + 1 : 0;
    if (stalled < (d.settings.stallChecks ?? 3)) {
      const delay = (d.settings.analyseDelay ?? analyseDelaySeconds)(missing.length);
      await send(d, 'analyse', { ...job, ...(stalled ? { stalled } : { stalled: undefined }) }, delay);
      ctx.log.info({ missing: missing.length, expected: expected.length, againInSeconds: delay, stalled }, 'book not OCRed yet: analyse deferred');
      return;
    }
    // Nothing left in the ocrpage queue, several checks in a row: those messages are gone
    // (dead-lettered by the redrive after crashes, or purged). Analyse what there is.
    const why = 'OCR never finished: its message left the ocrpage queue without a result';
    for (const v of missing) await store.put(stateKeys.failedMarker(book, v), `${why}\n`);
    for (const v of missing) state.failed.add(v);
    ctx.log.warn({ missing: missing.length }, 'analysing without the variants whose OCR never finished');
  }
  ctx.signal.throwIfAborted();
  if (state.failed.size > 0) {
    const lines: string[] = [];
    for (const name of [...state.failed].sort()) {
      const reason = await store.get(stateKeys.failedMarker(book, name)).then(
        (b) => b.toString('utf8').trim().replace(/\s+/g, ' '),
        () => '?',
      );
      lines.push(`${name}\t${reason}\n`);
    }
    await store.put(keys.failed(book), lines.join(''));
  } else {
    // Every failure was retried with success: no stale list.
    await store.delete([keys.failed(book)]);
  }
  const analysing = analyseBook(store, book);
  testKillPoint('during-analyse');
  const result = await analysing;
  d.events?.analysed?.(book, result);
  ctx.log.info({ pages: result.pages.length, meanConf: result.meanConf, failed: state.failed.size }, 'book analysed');
}

// ───────────── wiring ─────────────

export function pipelineHandlers(d: JobDeps): Record<QueueKind, JobHandler<QueueKind, Job>> {
  const book: JobHandler<QueueKind, Job> = (job, ctx) => {
    if (job.type !== 'book') throw new BadMessageError(`a ${job.type} job on the ${ctx.kind} queue`);
    return bookJob(d, job, ctx);
  };
  return {
    preprocess: book,
    prenowipe: book,
    wipeonly: book,
    ocrpage: async (job, ctx) => {
      if (job.type !== 'ocr') throw new BadMessageError(`a ${job.type} job on the ocrpage queue`);
      return ocrJob(d, job, ctx);
    },
    analyse: async (job, ctx) => {
      if (job.type !== 'analyse') throw new BadMessageError(`a ${job.type} job on the analyse queue`);
      return analyseJob(d, job, ctx);
    },
  };
}

/**
 * The runner's `recordFailure`: the error record `<book>/errors/<time>-<queue>-<msgid>.json` of a
 * message being dead-lettered, and for an OCR job the variant's failure marker (so analyse does
 * not wait for it). Nothing is written for a message whose book is unknown or does not exist:
 * its record is the dead-letter reason and the log.
 */
export function failureRecorder(d: Pick<JobDeps, 'store'>): (record: FailureRecord<QueueKind>, job: Job | undefined) => Promise<void> {
  return async (record, job) => {
    if (!job) return;
    let exists = false;
    for await (const _ of d.store.list(keys.prefix(job.book))) {
      exists = true;
      break;
    }
    if (!exists) return;
    const when = new Date(record.when);
    const key = stateKeys.errorRecord(job.book, when, record.what.queue, record.what.messageId);
    await d.store.put(key, `${JSON.stringify({ v: 1, book: job.book, job, ...record, action: 'dead-lettered' }, null, 1)}\n`, {
      contentType: 'application/json',
    });
    if (job.type === 'ocr') await d.store.put(stateKeys.failedMarker(job.book, job.variant), `${record.why}\n`);
  };
}
