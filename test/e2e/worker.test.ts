// The worker end to end, with real processes: two `bookpipeline --exit-on-complete` workers on a
// tiny book (3 good pages and a corrupt one), a garbage message and a message for a missing book;
// on fauxqs (SQS + S3) and with `-c local`. The results must equal what `rescribe` makes of the
// same pages: both in the default adaptive search (preprocess sends each page's first variant,
// each OCR job the next one while it could win), and once both with --all-variants.

import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBookImages, keys } from '../../pipeline/book.js';
import { buildPipelineConfig, queueName, type PipelineConfig } from '../../pipeline/cloud-config.js';
import { connect, type Connection } from '../../pipeline/connect.js';
import { formatMessage } from '../../pipeline/messages.js';
import type { QueueMessage } from '../../pipeline/ports.js';
import { TEST_CREDENTIALS, TEST_REGION, uniqueBucketName, uniqueQueueName, useFauxqs } from '../support/fauxqs.js';
import { logLines, run, start } from '../support/run.js';
import { corruptJpeg, makeTinyBook } from '../support/tinybook.js';

const fauxqs = useFauxqs();
const BOOK = 'tinybook';
const THRESHOLDS = '0.1,0.2';
const PAGES = 3;

let work: string;
let bookdir: string;
let rescribed: string;
let rescribedAll: string;

beforeAll(async () => {
  // This process talks to fauxqs too (to upload and to check); the SDK finds credentials here.
  Object.assign(process.env, awsEnv());
  work = await mkdtemp(join(tmpdir(), 'bp-e2e-worker-'));
  bookdir = join(work, BOOK);
  await makeTinyBook(bookdir, PAGES);
  rescribed = join(work, 'rescribed');
  rescribedAll = join(work, 'rescribed-all');
  const [r, a] = await Promise.all([
    run('rescribe', ['--thresholds', THRESHOLDS, '-j', '2', bookdir, rescribed]),
    run('rescribe', ['--thresholds', THRESHOLDS, '-j', '2', '--all-variants', bookdir, rescribedAll]),
  ]);
  expect(r.code, r.stderr).toBe(0);
  expect(a.code, a.stderr).toBe(0);
}, 120_000);

/** Variants read, from a conf: its `read` lines (the others are `not-read`). */
const readCount = (conf: string): number => conf.split('\n').filter((l) => /(^|\s)read(\s|$)/.test(l)).length;

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

interface Setup {
  name: string;
  /** --all-variants on the workers (and the rescribe run compared with). */
  all: boolean;
  /** Flags for every command. */
  flags(): string[];
  env(): Record<string, string>;
  config(): PipelineConfig;
}

const awsEnv = (): Record<string, string> => ({
  AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
  AWS_REGION: TEST_REGION,
});

function fauxqsSetup(): Setup {
  const bucket = uniqueBucketName('e2e');
  const prefix = uniqueQueueName('e2e').replace(/-/g, '');
  return {
    name: 'fauxqs',
    all: false,
    flags: () => ['-c', 'aws', '--endpoint', fauxqs.endpoint, '--bucket', bucket, '--queue-prefix', prefix],
    env: awsEnv,
    config: () => buildPipelineConfig({ conn: 'aws', endpoint: fauxqs.endpoint, bucket, queuePrefix: prefix, region: TEST_REGION }, {}),
  };
}

function localSetup(all: boolean): Setup {
  const dir = (): string => join(work, all ? 'local-all' : 'local');
  return {
    name: all ? 'local, --all-variants' : 'local',
    all,
    flags: () => ['-c', 'local', '--local-dir', dir(), '--queue-prefix', 'lp'],
    env: () => ({}),
    config: () => buildPipelineConfig({ conn: 'local', localDir: dir(), queuePrefix: 'lp' }, {}),
  };
}

async function drain(conn: Connection, name: string): Promise<QueueMessage[]> {
  const q = await conn.queues.open(name);
  const out: QueueMessage[] = [];
  for (;;) {
    const got = await q.receive({ max: 10, waitSeconds: 0, visibilitySeconds: 60 });
    if (got.length === 0) return out;
    out.push(...got);
  }
}

async function listKeys(conn: Connection, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of conn.store.list(prefix)) out.push(o.key);
  return out;
}

describe.each([fauxqsSetup(), localSetup(false), localSetup(true)])('bookpipeline workers ($name)', (setup) => {
  it(
    'two workers finish the book like rescribe; bad messages are dead-lettered; the corrupt page is recorded and its retry dead-lettered',
    async () => {
      const env = { ...awsEnv(), ...setup.env() };
      const mk = await run('mkpipeline', setup.flags(), env);
      expect(mk.code, mk.stderr).toBe(0);

      const cfg = setup.config();
      const conn = await connect(cfg);
      try {
        // The book, uploaded the way booktopipeline names pages, plus a corrupt 4th page.
        const listing = await listBookImages(bookdir);
        for (const p of listing.pages) await conn.store.putFile(keys.original(BOOK, p.name, p.ext), p.path);
        await conn.store.put(keys.original(BOOK, `page${PAGES + 1}_${String(PAGES + 1).padStart(4, '0')}`, '.jpg'), await corruptJpeg());
        const pre = await conn.queues.open(queueName(cfg, 'preprocess'));
        const nowipe = await conn.queues.open(queueName(cfg, 'prenowipe'));
        // The book in the Go original's text format (rescribe's default: no wipe).
        await nowipe.send(formatMessage({ type: 'book', book: BOOK }, { compat: true }));
        await pre.send('{"this is": garbage');
        await pre.send(formatMessage({ type: 'book', book: 'NoSuchBook' }));

        const workerArgs = [
          ...setup.flags(),
          '--exit-on-complete',
          '--thresholds',
          THRESHOLDS,
          '-j',
          '1',
          '--autostop',
          '120',
          ...(setup.all ? ['--all-variants'] : []),
        ];
        const rescribed = setup.all ? rescribedAll : join(work, 'rescribed');
        const t0 = Date.now();
        const [w1, w2] = await Promise.all([start('bookpipeline', workerArgs, env).done, start('bookpipeline', workerArgs, env).done]);
        const wall = Date.now() - t0;
        expect(w1.code, w1.stderr.slice(-3000)).toBe(0);
        expect(w2.code, w2.stderr.slice(-3000)).toBe(0);

        // Done, with the same results as rescribe.
        const book = await listKeys(conn, `${BOOK}/`);
        for (const k of ['conf', 'best', 'graph.png', `${BOOK}.txt`, 'manifest.json', `${BOOK}.binarised.pdf`, `${BOOK}.colour.pdf`]) {
          expect(book).toContain(`${BOOK}/${k}`);
        }
        const got = async (k: string) => (await conn.store.get(`${BOOK}/${k}`)).toString('utf8');
        expect(await got('best')).toBe(await readFile(join(rescribed, 'best'), 'utf8'));
        expect(await got('conf')).toBe(await readFile(join(rescribed, 'conf'), 'utf8'));
        expect(await got(`${BOOK}.txt`)).toBe(await readFile(join(rescribed, `${BOOK}.txt`), 'utf8'));
        const pageTexts = (await readdir(join(rescribed, 'text'))).sort();
        expect(pageTexts).toHaveLength(PAGES);
        for (const f of pageTexts) expect(await got(`text/${f}`)).toBe(await readFile(join(rescribed, 'text', f), 'utf8'));

        // The corrupt page: recorded, marked, listed; the rest of the book is done.
        const corrupt = `page${PAGES + 1}_${String(PAGES + 1).padStart(4, '0')}`;
        const records = book.filter((k) => k.startsWith(`${BOOK}/errors/`));
        expect(records).toHaveLength(1);
        expect(records[0]).toMatch(new RegExp(`-${corrupt}\\.json$`));
        const rec = JSON.parse(await got(records[0]!.slice(BOOK.length + 1))) as Record<string, unknown>;
        expect(rec).toMatchObject({ book: BOOK, why: expect.stringMatching(/corrupt|truncated/), worker: { host: expect.any(String), pid: expect.any(Number) } });
        expect(book).toContain(`${BOOK}/failed/${corrupt}.jpg`);
        expect(await got('failed.txt')).toMatch(new RegExp(`^${corrupt}\\.jpg\\t.*(corrupt|truncated)`));
        const manifest = JSON.parse(await got('manifest.json')) as { pages: unknown[]; failed: Array<{ page: string }>; search: string };
        expect(manifest.pages).toHaveLength(PAGES);
        expect(manifest.search).toBe(setup.all ? 'all' : 'adaptive');
        expect(manifest.failed.map((f) => f.page)).toEqual([corrupt]);

        // Garbage and the missing book: in the DLQ with their reasons; nothing written for them.
        const dead = await drain(conn, `${queueName(cfg, 'preprocess')}-dlq`);
        expect(dead.map((m) => m.body).sort()).toEqual(['{"this is": garbage', formatMessage({ type: 'book', book: 'NoSuchBook' })].sort());
        expect(dead.find((m) => m.body.includes('garbage'))?.deadLetter?.reason).toMatch(/bad preprocess message/);
        expect(dead.find((m) => m.body.includes('NoSuchBook'))?.deadLetter?.reason).toMatch(/no such book/);
        expect(await listKeys(conn, 'NoSuchBook/')).toEqual([]);
        // The corrupt page: a retry of it alone, in the DLQ of the queue its book came from.
        const pageRetries = await drain(conn, `${queueName(cfg, 'prenowipe')}-dlq`);
        expect(pageRetries.map((m) => JSON.parse(m.body) as unknown)).toEqual([{ v: 1, type: 'book', book: BOOK, pages: [corrupt] }]);
        expect(pageRetries[0]?.deadLetter?.reason).toMatch(new RegExp(`^page ${BOOK}/${corrupt}\\.jpg: ImageDecodeError`));
        for (const kind of ['ocrpage', 'analyse'] as const) {
          expect(await drain(conn, `${queueName(cfg, kind)}-dlq`)).toEqual([]);
        }

        // Analyse ran once, and both workers did some of the work.
        const logs = [...logLines(w1.stderr), ...logLines(w2.stderr)];
        expect(logs.filter((l) => l.msg === 'book analysed')).toHaveLength(1);
        // One OCR job per variant read: every one with --all-variants, as many as rescribe read otherwise.
        const conf = await got('conf');
        expect(readCount(conf)).toBe(setup.all ? PAGES * 2 : readCount(await readFile(join(rescribed, 'conf'), 'utf8')));
        expect(logs.filter((l) => l.msg === 'job done' && l.variant).length).toBe(readCount(conf));
        if (cfg.conn === 'aws') {
          const reqs = logs.filter((l) => l.msg === 'AWS requests').map((l) => l.requests as { sqs: Record<string, number>; s3: Record<string, number> });
          const sum = (which: 'sqs' | 's3') => {
            const out: Record<string, number> = {};
            for (const r of reqs) for (const [k, v] of Object.entries(r[which])) out[k] = (out[k] ?? 0) + v;
            return out;
          };
          const sqs = sum('sqs');
          const s3 = sum('s3');
          const total = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
          console.log(
            `[${setup.name}] ${PAGES} pages (+1 corrupt), 2 variants each (${setup.all ? 'all' : 'adaptive'}), 2 workers: wall ${(wall / 1000).toFixed(1)} s; ` +
              `SQS ${total(sqs)} (${(total(sqs) / PAGES).toFixed(1)}/page) ${JSON.stringify(sqs)}; ` +
              `S3 ${total(s3)} (${(total(s3) / PAGES).toFixed(1)}/page) ${JSON.stringify(s3)}`,
          );
        } else {
          console.log(`[${setup.name}] ${PAGES} pages (+1 corrupt), 2 workers: wall ${(wall / 1000).toFixed(1)} s`);
        }
      } finally {
        await conn.close();
      }
    },
    150_000,
  );
});
