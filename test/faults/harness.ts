// Shared by the fault tests: a pipeline on fauxqs or on the local disk (`-c local`), a tiny book
// uploaded into it, real worker processes, and the book's outputs counted page by page.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { keys, listBookImages } from '../../pipeline/book.js';
import { buildPipelineConfig, queueName, type PipelineConfig } from '../../pipeline/cloud-config.js';
import { connect, type Connection } from '../../pipeline/connect.js';
import { formatMessage } from '../../pipeline/messages.js';
import { TEST_CREDENTIALS, TEST_REGION, uniqueBucketName, uniqueQueueName, type FauxqsFixture } from '../support/fauxqs.js';
import { logLines, run, start, type Running } from '../support/run.js';
import type { RefBook } from './books.js';
import { addRow } from './table.js';

export const THRESHOLDS = '0.2,0.3';
export const KINDS = ['preprocess', 'prenowipe', 'wipeonly', 'ocrpage', 'analyse'] as const;

export const awsEnv = (): Record<string, string> => ({
  AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
  AWS_REGION: TEST_REGION,
});

export type Backend = 'fauxqs' | 'local';

export interface Pipeline {
  /** The pipeline's flags for the tools (mkpipeline, lspipeline, ...). */
  flags: string[];
  cfg: PipelineConfig;
  /** The test's own connection (straight to fauxqs, never through a fault). */
  conn: Connection;
  workerArgs(extra?: string[]): string[];
  startWorker(env?: Record<string, string>, extra?: string[]): Running;
  close(): Promise<void>;
}

/** mkpipeline with `flags`, a connection, and workers on `workerFlags` (the same pipeline). */
async function makePipeline(flags: string[], workerFlags: string[], cfg: PipelineConfig): Promise<Pipeline> {
  const mk = await run('mkpipeline', flags, awsEnv());
  expect(mk.code, mk.stderr).toBe(0);
  const conn = await connect(cfg);
  const workerArgs = (extra: string[] = []) => [
    ...workerFlags,
    '--exit-on-complete',
    '--thresholds',
    THRESHOLDS,
    '-j',
    '1',
    '--autostop',
    '120',
    '--visibility',
    '4',
    '--heartbeat',
    '2',
    ...extra,
  ];
  return {
    flags,
    cfg,
    conn,
    workerArgs,
    startWorker: (env = {}, extra = []) => start('bookpipeline', workerArgs(extra), { ...awsEnv(), ...env }),
    close: () => conn.close(),
  };
}

/**
 * A fresh bucket and queues on fauxqs. `workerEndpoint`: where the workers reach it (a proxy in
 * front of fauxqs); the test's connection and the tools go to fauxqs itself.
 */
export async function makeFauxqsPipeline(fx: FauxqsFixture, opts: { workerEndpoint?: string } = {}): Promise<Pipeline> {
  const bucket = uniqueBucketName('flt');
  const prefix = uniqueQueueName('flt').replace(/-/g, '');
  const at = (endpoint: string) => ['-c', 'aws', '--endpoint', endpoint, '--bucket', bucket, '--queue-prefix', prefix];
  const cfg = buildPipelineConfig({ conn: 'aws', endpoint: fx.endpoint, bucket, queuePrefix: prefix, region: TEST_REGION }, {});
  return makePipeline(at(fx.endpoint), at(opts.workerEndpoint ?? fx.endpoint), cfg);
}

/** A fresh `-c local` pipeline (directory queues and store) in `dir`. */
export async function makeLocalPipeline(dir: string): Promise<Pipeline> {
  const flags = ['-c', 'local', '--local-dir', dir, '--queue-prefix', 'flt'];
  return makePipeline(flags, flags, buildPipelineConfig({ conn: 'local', localDir: dir, queuePrefix: 'flt' }, {}));
}

/** A fresh pipeline on `backend`: on fauxqs, or `-c local` in a new folder under `work`. */
export async function makeBackendPipeline(backend: Backend, fx: FauxqsFixture, work: string): Promise<Pipeline> {
  return backend === 'local' ? makeLocalPipeline(await mkdtemp(join(work, 'local-'))) : makeFauxqsPipeline(fx);
}

/**
 * One scenario: a fresh pipeline from `make` with the book `b` queued as `book`, handed to `fn`
 * with the time it all began; the pipeline's connection is closed after.
 */
export async function withBook<T>(make: () => Promise<Pipeline>, book: string, b: RefBook, fn: (p: Pipeline, t0: number) => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const p = await make();
  try {
    await queueBook(p, book, b.dir);
    return await fn(p, t0);
  } finally {
    await p.close();
  }
}

/** Uploads the book's pages as booktopipeline names them (plus `extra` raw objects) and queues it. */
export async function queueBook(p: Pipeline, book: string, dir: string, extra: Record<string, Buffer> = {}): Promise<void> {
  const listing = await listBookImages(dir);
  for (const pg of listing.pages) await p.conn.store.putFile(keys.original(book, pg.name, pg.ext), pg.path);
  for (const [name, body] of Object.entries(extra)) await p.conn.store.put(`${book}/${name}`, body);
  const q = await p.conn.queues.open(queueName(p.cfg, 'prenowipe'));
  await q.send(formatMessage({ type: 'book', book }));
}

export async function listKeys(conn: Connection, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of conn.store.list(prefix)) out.push(o.key);
  return out;
}

export async function dlqCount(p: Pipeline): Promise<number> {
  let n = 0;
  for (const k of KINDS) {
    const q = await p.conn.queues.open(`${queueName(p.cfg, k)}-dlq`);
    const c = await q.counts();
    n += c.available + c.inFlight;
  }
  return n;
}

export interface PageCount {
  /** Pages named in best, each as often as it appears. */
  best: string[];
  text: string[];
  pdfPages: number[];
  out: number;
  lost: number;
  duplicated: number;
}

const pageOf = (variant: string): string => variant.replace(/_bin.*$/, '').replace(/\.(txt|hocr)$/, '');

/** Counts the book's pages in best, text/ and both PDFs; lost and duplicated against `expected`. */
export async function countPages(p: Pipeline, book: string, expected: string[], work: string): Promise<PageCount> {
  const get = async (k: string) => (await p.conn.store.get(`${book}/${k}`)).toString('utf8');
  const best = (await get('best')).split('\n').filter(Boolean).map(pageOf);
  const text = (await listKeys(p.conn, `${book}/text/`)).map((k) => pageOf(k.slice(`${book}/text/`.length)));
  const pdfPages: number[] = [];
  for (const which of ['binarised', 'colour']) {
    const f = join(work, `${book}.${which}.pdf`);
    await p.conn.store.getToFile(`${book}/${book}.${which}.pdf`, f);
    const info = execFileSync('pdfinfo', [f], { encoding: 'utf8' });
    pdfPages.push(Number(/^Pages:\s+(\d+)/m.exec(info)?.[1]));
  }
  const uniq = new Set(best.filter((b) => expected.includes(b)));
  const lost = Math.max(expected.length - uniq.size, ...expected.map((e) => (text.includes(e) ? 0 : 1)), ...pdfPages.map((n) => Math.max(0, expected.length - n)));
  const duplicated = Math.max(best.length - new Set(best).size, text.length - new Set(text).size, ...pdfPages.map((n) => Math.max(0, n - expected.length)));
  return { best, text, pdfPages, out: uniq.size, lost, duplicated };
}

/** conf (unless `conf: false`), best and every page text equal those of the reference (an uninterrupted rescribe run). */
export async function expectSameAsReference(p: Pipeline, book: string, ref: string, opts: { conf?: boolean } = {}): Promise<void> {
  const get = async (k: string) => (await p.conn.store.get(`${book}/${k}`)).toString('utf8');
  expect(await get('best')).toBe(await readFile(join(ref, 'best'), 'utf8'));
  if (opts.conf !== false) expect(await get('conf')).toBe(await readFile(join(ref, 'conf'), 'utf8'));
  for (const f of await readdir(join(ref, 'text'))) expect(await get(`text/${f}`)).toBe(await readFile(join(ref, 'text', f), 'utf8'));
}

export interface BookCheck {
  scenario: string;
  injected: string;
  /** When the scenario began (Date.now()). */
  t0: number;
  /** Messages expected in the dead-letter queues. Default 0. */
  dlq?: number;
  /** conf must equal the reference's too. Default true. */
  conf?: boolean;
}

/**
 * The end of a scenario on a whole book: its pages counted in best, text/ and both PDFs, the row
 * added to the table, then lost = 0, duplicated = 0, the DLQ count, and the outputs equal to the
 * uninterrupted reference run's.
 */
export async function checkBook(p: Pipeline, b: RefBook, book: string, work: string, c: BookCheck): Promise<void> {
  const count = await countPages(p, book, b.pages, work);
  const dlq = await dlqCount(p);
  addRow({ scenario: c.scenario, injected: c.injected, expected: b.pages.length, out: count.out, lost: count.lost, duplicated: count.duplicated, dlq, seconds: (Date.now() - c.t0) / 1000 });
  expect(count.lost).toBe(0);
  expect(count.duplicated).toBe(0);
  expect([...count.best].sort()).toEqual(b.pages);
  expect([...count.text].sort()).toEqual(b.pages);
  expect(count.pdfPages).toEqual([b.pages.length, b.pages.length]);
  expect(dlq).toBe(c.dlq ?? 0);
  await expectSameAsReference(p, book, b.ref, { conf: c.conf ?? true });
}

/** Every worker exited 0 (the tail of its log otherwise). */
export function expectAllExited0(rs: ReadonlyArray<{ code: number | null; stderr: string }>): void {
  for (const r of rs) expect(r.code, r.stderr.slice(-3000)).toBe(0);
}

/** Waits (polling its stderr) until the worker has logged a line that `pred` accepts; returns it. */
export async function waitForLog(w: Running, pred: (l: Record<string, unknown>) => boolean, timeoutMs = 90_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = logLines(w.stderr()).find(pred);
    if (hit) return hit;
    if (w.child.exitCode !== null || w.child.signalCode !== null) {
      // Exited: once its stderr is read to the end, the line is there or never will be.
      const last = logLines((await w.done).stderr).find(pred);
      if (last) return last;
      throw new Error(`the worker exited before the awaited log line: ${w.stderr().slice(-2000)}`);
    }
    if (Date.now() > deadline) throw new Error(`no such log line within ${timeoutMs} ms: ${w.stderr().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The JSON log lines of these workers, each tagged with its worker's index. */
export function workerLogs(rs: ReadonlyArray<{ stderr: string }>): Array<Record<string, unknown> & { worker: number }> {
  return rs.flatMap((r, worker) => logLines(r.stderr).map((l) => ({ ...l, worker })));
}

/** A number field of the log lines named `msg`, summed (e.g. the stats of 'worker stopped'). */
export function sumField(logs: ReadonlyArray<Record<string, unknown>>, msg: string, field: string): number {
  return logs.filter((l) => l.msg === msg).reduce((a, l) => a + (typeof l[field] === 'number' ? l[field] : 0), 0);
}
