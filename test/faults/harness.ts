// Shared by the fault tests: a pipeline on fauxqs, a tiny book uploaded into it, real worker
// processes, and the book's outputs counted page by page.
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { keys, listBookImages } from '../../pipeline/book.js';
import { buildPipelineConfig, queueName, type PipelineConfig } from '../../pipeline/cloud-config.js';
import { connect, type Connection } from '../../pipeline/connect.js';
import { formatMessage } from '../../pipeline/messages.js';
import { TEST_CREDENTIALS, TEST_REGION, uniqueBucketName, uniqueQueueName, type FauxqsFixture } from '../support/fauxqs.js';
import { run, start, type Running } from '../support/run.js';

export const THRESHOLDS = '0.2,0.3';
export const KINDS = ['preprocess', 'prenowipe', 'wipeonly', 'ocrpage', 'analyse'] as const;

export const awsEnv = (): Record<string, string> => ({
  AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
  AWS_REGION: TEST_REGION,
});

export interface Pipeline {
  flags: string[];
  cfg: PipelineConfig;
  conn: Connection;
  workerArgs(extra?: string[]): string[];
  startWorker(env?: Record<string, string>, extra?: string[]): Running;
  close(): Promise<void>;
}

export async function makeFauxqsPipeline(fx: FauxqsFixture): Promise<Pipeline> {
  const bucket = uniqueBucketName('flt');
  const prefix = uniqueQueueName('flt').replace(/-/g, '');
  const flags = ['-c', 'aws', '--endpoint', fx.endpoint, '--bucket', bucket, '--queue-prefix', prefix];
  const mk = await run('mkpipeline', flags, awsEnv());
  expect(mk.code, mk.stderr).toBe(0);
  const cfg = buildPipelineConfig({ conn: 'aws', endpoint: fx.endpoint, bucket, queuePrefix: prefix, region: TEST_REGION }, {});
  const conn = await connect(cfg);
  const workerArgs = (extra: string[] = []) => [
    ...flags,
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

/** conf, best and every page text equal those of the reference (an uninterrupted rescribe run). */
export async function expectSameAsReference(p: Pipeline, book: string, ref: string): Promise<void> {
  const get = async (k: string) => (await p.conn.store.get(`${book}/${k}`)).toString('utf8');
  expect(await get('best')).toBe(await readFile(join(ref, 'best'), 'utf8'));
  expect(await get('conf')).toBe(await readFile(join(ref, 'conf'), 'utf8'));
  for (const f of await readdir(join(ref, 'text'))) expect(await get(`text/${f}`)).toBe(await readFile(join(ref, 'text', f), 'utf8'));
}
