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
import { awsEnv, countPages, dlqCount, listKeys, makeFauxqsPipeline, queueBook, THRESHOLDS } from './harness.js';
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

describe('poison inputs', () => {
  it('each bad page ends in an error record naming it and a failed marker; the good pages and the book complete; the secret key leaks nowhere', async () => {
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
      // A bad page does not sink the book: recorded and marked, not dead-lettered (the book message succeeds).
      expect(dlq).toBe(0);

      // Secrets: not in any log line, error record or lspipeline's output.
      const t1 = Date.now();
      const ls = await run('lspipeline', [...p.flags, '-n', '50'], { ...awsEnv(), ...secretEnv });
      const lsJson = await run('lspipeline', [...p.flags, '--json'], { ...awsEnv(), ...secretEnv });
      expect(ls.code, ls.stderr).toBe(0);
      const texts = [w1.stderr, w1.stdout, w2.stderr, w2.stdout, ls.stdout, ls.stderr, lsJson.stdout, lsJson.stderr];
      for (const k of all.filter((k) => k.endsWith('.json') || k.endsWith('.txt') || k.includes('/failed/'))) texts.push((await p.conn.store.get(k)).toString('utf8'));
      const leaks = texts.filter((t) => t.includes(SECRET) || t.includes(SECRET.slice(0, 20))).length;
      addRow({ scenario: 'secrets', injected: 'AWS_SECRET_ACCESS_KEY distinctive; grep logs, records, lspipeline', expected: pages.length, out: c.out, lost: 0, duplicated: 0, dlq, seconds: (Date.now() - t1) / 1000 });
      expect(leaks).toBe(0);
    } finally {
      await p.close();
    }
  }, 150_000);
});
