// Scenario 4 (poison inputs) with scenario 6 (secrets) on the same run: two real workers on
// fauxqs, a book of 2 good pages and 6 bad ones, the secret key set to a distinctive value.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFauxqs } from '../support/fauxqs.js';
import { bombPng, corruptChunkPng, onePixelPng, textAsImage, truncated } from '../support/poison.js';
import { run } from '../support/run.js';
import { makeTinyBook, SAMPLE_PAGE } from '../support/tinybook.js';
import { queueName } from '../../pipeline/cloud-config.js';
import type { QueueMessage } from '../../pipeline/ports.js';
import { awsEnv, countPages, dlqCount, listKeys, makeFauxqsPipeline, queueBook, type Pipeline } from './harness.js';
import { addRow } from './table.js';

const fx = useFauxqs();
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETzq9Xk3';

let work: string;
let bookdir: string;
let good: string[];

beforeAll(async () => {
  Object.assign(process.env, awsEnv());
  work = await mkdtemp(join(tmpdir(), 'bp-faults-poison-'));
  bookdir = join(work, 'book');
  await makeTinyBook(bookdir, 2);
  good = (await readdir(bookdir)).map((f) => f.replace(/\.jpg$/, ''));
}, 60_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** Takes every message out of a queue's dead-letter queue. */
async function drainDlq(p: Pipeline, kind: 'prenowipe'): Promise<QueueMessage[]> {
  const q = await p.conn.queues.open(`${queueName(p.cfg, kind)}-dlq`);
  const out: QueueMessage[] = [];
  for (;;) {
    const got = await q.receive({ max: 10, waitSeconds: 0, visibilitySeconds: 60 });
    if (got.length === 0) return out;
    for (const m of got) await q.delete(m.handle);
    out.push(...got);
  }
}

describe('poison inputs', () => {
  it('each bad page ends in the dead-letter queue (a retry of that page) with an error record naming it; the good pages and the book complete; a fixed page redriven joins the book; the secret key leaks nowhere', async () => {
    const t0 = Date.now();
    const p = await makeFauxqsPipeline(fx);
    try {
      const book = 'poisonbook';
      const jpeg = await sharp(SAMPLE_PAGE).extract({ left: 300, top: 420, width: 600, height: 300 }).jpeg().toBuffer();
      const bad: Record<string, Buffer> = {
        'zero_0101.jpg': Buffer.alloc(0),
        'trunc_0102.jpg': truncated(jpeg),
        'crc_0103.png': await corruptChunkPng(),
        'text_0104.png': textAsImage(),
        'bomb_0105.png': bombPng(60000, 60000),
      };
      // A 1×1 image is a valid image: like rescribe (test/e2e/rescribe-bad-input), the pipeline
      // reads it as a blank page, so it is expected among the pages out, not among the failures.
      const blank = { 'onepx_0106.png': await onePixelPng() };
      // booktopipeline would name pages from the folder: here the good ones as it does, the bad ones raw.
      const listing = (await import('../../pipeline/book.js')).listBookImages;
      const pages = [...(await listing(bookdir)).pages.map((pg) => pg.name), 'onepx_0106'];
      await queueBook(p, book, bookdir, { ...bad, ...blank });
      const secretEnv = { AWS_SECRET_ACCESS_KEY: SECRET };
      const [w1, w2] = await Promise.all([p.startWorker(secretEnv).done, p.startWorker(secretEnv).done]);
      expect(w1.code, w1.stderr.slice(-3000)).toBe(0);
      expect(w2.code, w2.stderr.slice(-3000)).toBe(0);

      const all = await listKeys(p.conn, `${book}/`);
      const records = all.filter((k) => k.startsWith(`${book}/errors/`));
      const failedMarkers = all.filter((k) => k.startsWith(`${book}/failed/`)).map((k) => k.slice(`${book}/failed/`.length)).sort();
      const badPages = Object.keys(bad).map((n) => n.replace(/\.[a-z]+$/, ''));
      // Every bad page: one error record naming it, a failed marker, a line in failed.txt.
      const failedTxt = (await p.conn.store.get(`${book}/failed.txt`)).toString('utf8');
      const recorded: string[] = [];
      for (const name of Object.keys(bad)) {
        const page = name.replace(/\.[a-z]+$/, '');
        const recs = records.filter((k) => k.endsWith(`-${page}.json`));
        if (recs.length === 1) recorded.push(name);
        expect(failedTxt, name).toContain(`${name}\t`);
      }
      expect(recorded.sort()).toEqual(Object.keys(bad).sort());
      expect(failedMarkers).toEqual(Object.keys(bad).sort());
      const manifest = JSON.parse((await p.conn.store.get(`${book}/manifest.json`)).toString('utf8')) as { pages: Array<{ page: string }>; failed: Array<{ page: string }> };
      expect(manifest.failed.map((f) => f.page).sort()).toEqual(badPages.sort());
      expect(manifest.pages.map((x) => x.page).sort()).toEqual(pages.sort());

      const c = await countPages(p, book, pages.sort(), work);
      const dlq = await dlqCount(p);
      addRow({ scenario: 'poison inputs', injected: '0-byte, truncated JPEG, bad-CRC PNG, text .png, 60000² PNG (failed) + 1×1 PNG (blank) + 2 good', expected: pages.length, out: c.out, lost: c.lost, duplicated: c.duplicated, dlq, seconds: (Date.now() - t0) / 1000 });
      expect(c.lost).toBe(0);
      expect(c.duplicated).toBe(0);
      expect(c.pdfPages).toEqual([pages.length, pages.length]);
      // A bad page does not sink the book, and each one is in the dead-letter queue as a retry
      // of that page alone, its reason naming the file.
      expect(dlq).toBe(badPages.length);
      const dead = await drainDlq(p, 'prenowipe');
      expect(dead.map((m) => (JSON.parse(m.body) as { pages: string[] }).pages.join()).sort()).toEqual([...badPages].sort());
      for (const m of dead) {
        const [page] = (JSON.parse(m.body) as { pages: string[] }).pages;
        expect(m.deadLetter?.reason).toContain(`${book}/${Object.keys(bad).find((n) => n.startsWith(`${page!}.`))!}`);
      }

      // Fixed and redriven: the truncated JPEG replaced by a good one, its dead letter sent back
      // (the others stay dead): the page joins the book, the other bad pages go back to the DLQ.
      const t2 = Date.now();
      await p.conn.store.put(`${book}/trunc_0102.jpg`, jpeg);
      for (const m of dead) await (await p.conn.queues.open(`${queueName(p.cfg, 'prenowipe')}-dlq`)).send(m.body);
      const rd = await run('redrive', [...p.flags, 'prenowipe'], awsEnv());
      expect(rd.code, rd.stderr).toBe(0);
      expect(rd.stdout).toMatch(new RegExp(`Moved ${badPages.length} message`));
      const w3 = await p.startWorker().done;
      expect(w3.code, w3.stderr.slice(-3000)).toBe(0);
      const pages2 = [...pages, 'trunc_0102'].sort();
      const c2 = await countPages(p, book, pages2, work);
      const dlq2 = await dlqCount(p);
      addRow({ scenario: 'poison, one fixed + redriven', injected: 'truncated JPEG replaced by a good one; `redrive prenowipe` (5 page retries); 1 worker', expected: pages2.length, out: c2.out, lost: c2.lost, duplicated: c2.duplicated, dlq: dlq2, seconds: (Date.now() - t2) / 1000 });
      expect(c2).toMatchObject({ out: pages2.length, lost: 0, duplicated: 0, pdfPages: [pages2.length, pages2.length] });
      expect(dlq2).toBe(badPages.length - 1);
      expect(await p.conn.store.head(`${book}/failed/trunc_0102.jpg`)).toBeNull();
      expect((await p.conn.store.get(`${book}/failed.txt`)).toString('utf8')).not.toContain('trunc_0102');

      // Secrets: not in any log line, error record or lspipeline's output.
      const t1 = Date.now();
      const ls = await run('lspipeline', [...p.flags, '-n', '50'], { ...awsEnv(), ...secretEnv });
      const lsJson = await run('lspipeline', [...p.flags, '--json'], { ...awsEnv(), ...secretEnv });
      expect(ls.code, ls.stderr).toBe(0);
      const texts = [w1.stderr, w1.stdout, w2.stderr, w2.stdout, ls.stdout, ls.stderr, lsJson.stdout, lsJson.stderr];
      texts.push(w3.stderr, w3.stdout, rd.stdout, rd.stderr);
      const now = await listKeys(p.conn, `${book}/`);
      for (const k of now.filter((k) => k.endsWith('.json') || k.endsWith('.txt') || k.includes('/failed/'))) texts.push((await p.conn.store.get(k)).toString('utf8'));
      const leaks = texts.filter((t) => t.includes(SECRET) || t.includes(SECRET.slice(0, 20))).length;
      addRow({ scenario: 'secrets', injected: 'AWS_SECRET_ACCESS_KEY distinctive; grep logs, records, lspipeline', expected: pages.length, out: c.out, lost: 0, duplicated: 0, dlq, seconds: (Date.now() - t1) / 1000 });
      expect(leaks).toBe(0);
    } finally {
      await p.close();
    }
  }, 150_000);
});
