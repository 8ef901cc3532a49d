// The book tools as a user runs them: `node bin/<tool>.js ...` subprocesses, against fauxqs (SQS + S3
// in this process, reached through AWS_ENDPOINT_URL) and against `-c local` (a temp folder).
// Each mode gets its own bucket and queue prefix. Fake analyse outputs are placed in the store
// directly: this file tests the tools, not the worker.

import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../../pipeline/aws/s3.js';
import { SqsQueueAdmin } from '../../pipeline/aws/sqs.js';
import { DirQueueAdmin } from '../../pipeline/local/queue.js';
import { DirStore } from '../../pipeline/local/store.js';
import type { QueueAdmin, QueueMessage, Store } from '../../pipeline/ports.js';
import { uniqueBucketName, useFauxqs } from '../support/fauxqs.js';

const fx = useFauxqs();
const ROOT = join(import.meta.dirname, '..', '..');

let scratch: string;
let bookDir: string; // "My Book": page1.png, page2.jpg, page10.png
let badDir: string; // one good page, one corrupt
let home: string;

async function page(text: number, format: 'png' | 'jpeg'): Promise<Buffer> {
  const w = 120;
  const h = 160;
  const rects = Array.from({ length: 6 }, (_, i) => `<rect x="10" y="${15 + i * 22}" width="${60 + ((i * 13 + text * 7) % 40)}" height="8" fill="black"/>`);
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="100%" height="100%" fill="white"/>${rects.join('')}</svg>`);
  const img = sharp(svg);
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ quality: 80 }).toBuffer();
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'bp-tools-'));
  home = join(scratch, 'home');
  await mkdir(home);
  bookDir = join(scratch, 'My Book');
  await mkdir(bookDir);
  await writeFile(join(bookDir, 'page1.png'), await page(1, 'png'));
  await writeFile(join(bookDir, 'page2.jpg'), await page(2, 'jpeg'));
  await writeFile(join(bookDir, 'page10.png'), await page(10, 'png'));
  await writeFile(join(bookDir, 'notes.txt'), 'not a page');
  badDir = join(scratch, 'bad_book');
  await mkdir(badDir);
  await writeFile(join(badDir, 'a.png'), await page(3, 'png'));
  const jpeg = await page(4, 'jpeg');
  await writeFile(join(badDir, 'b.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 3))); // truncated
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/<tool>.js args` with `env` on top of a clean environment. Never rejects on exit codes. */
function run(tool: string, args: string[], env: Record<string, string>): Promise<Run> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(AWS_|BOOKPIPELINE_)/.test(k)) base[k] = v;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', `${tool}.js`), ...args], {
      cwd: scratch,
      env: { ...base, HOME: home, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Mode {
  name: 'aws' | 'local';
  /** Run every case; the local mode runs the main ones (its adapters have their own contract suite). */
  full: boolean;
  env(): Record<string, string>;
  open(): { store: Store; queues: QueueAdmin; close(): void };
  prefix: string;
}

function awsMode(): Mode {
  const bucket = uniqueBucketName('tools');
  const prefix = `t${bucket.slice(6).replace(/[^a-z0-9]/g, '')}`;
  return {
    name: 'aws',
    full: true,
    prefix,
    env: () => ({
      AWS_ENDPOINT_URL: fx.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      BOOKPIPELINE_BUCKET: bucket,
      BOOKPIPELINE_QUEUE_PREFIX: prefix,
    }),
    open() {
      const store = new S3Store({ ...fx.aws(), bucket });
      const queues = new SqsQueueAdmin(fx.aws());
      return { store, queues, close: () => (store.destroy(), queues.destroy()) };
    },
  };
}

function localMode(): Mode {
  const prefix = 'loc';
  const dir = () => join(scratch, 'local-pipeline');
  return {
    name: 'local',
    full: false,
    prefix,
    env: () => ({ BOOKPIPELINE_CONN: 'local', BOOKPIPELINE_LOCAL_DIR: dir(), BOOKPIPELINE_QUEUE_PREFIX: prefix, BOOKPIPELINE_BUCKET: 'books' }),
    open() {
      return {
        store: new DirStore(join(dir(), 'storage', 'books')),
        queues: new DirQueueAdmin({ root: join(dir(), 'queues') }),
        close: () => undefined,
      };
    },
  };
}

async function keysUnder(store: Store, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key);
  return out.sort();
}

/** Every message now in the queue (received, then released). */
async function drainPeek(queues: QueueAdmin, name: string): Promise<QueueMessage[]> {
  const q = await queues.open(name);
  const got: QueueMessage[] = [];
  for (;;) {
    const m = await q.receive({ max: 10, waitSeconds: 0, visibilitySeconds: 20 });
    if (!m.length) break;
    got.push(...m);
  }
  await Promise.all(got.map((m) => q.release(m.handle)));
  return got;
}

async function filesIn(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else out.push(relative(dir, join(d, e.name)));
    }
  };
  await walk(dir);
  return out.sort();
}

/** A book as analyse leaves it (fake PDFs and graph: the download sets are what is tested). */
async function placeFinishedBook(store: Store, book: string): Promise<void> {
  const puts: Array<Promise<void>> = [];
  const put = (k: string, v: string) => puts.push(store.put(`${book}/${k}`, v));
  for (const p of ['p_0001', 'p_0002']) {
    put(`${p}.jpg`, 'jpeg');
    put(`${p}.meta.json`, '{}');
    for (const k of ['0.1', '0.2']) {
      put(`${p}_bin${k}.png`, 'png');
      put(`${p}_bin${k}.hocr`, '<html/>');
    }
    put(`text/${p}.txt`, `text of ${p}\n`);
  }
  put('best', 'p_0001_bin0.2.hocr\np_0002_bin0.1.hocr\n');
  put('conf', 'p_0001_bin0.1.hocr\t80\np_0001_bin0.2.hocr\t90\np_0002_bin0.1.hocr\t85\np_0002_bin0.2.hocr\t70\n');
  put(`${book}.binarised.pdf`, '%PDF-1.4 binarised');
  put(`${book}.colour.pdf`, '%PDF-1.4 colour');
  put(`${book}.txt`, 'text of p_0001\n\ntext of p_0002\n');
  put('errors/p_0009.json', '{}');
  await Promise.all(puts);
  await store.put(`${book}/graph.png`, 'png'); // last, as analyse does
}

/** Preprocessed (one page failed) and half OCRed: a manifest, no best, no graph. */
async function placeUnfinishedBook(store: Store, book: string): Promise<void> {
  const manifest = {
    v: 1,
    book,
    queue: 'preprocess',
    thresholds: [0.1],
    pages: [
      { page: 'q_0001', original: `${book}/q_0001.jpg`, variants: ['q_0001_bin0.1.png'] },
      { page: 'q_0002', original: `${book}/q_0002.jpg`, variants: ['q_0002_bin0.1.png'] },
    ],
    failed: [{ page: 'q_0003', original: `${book}/q_0003.jpg`, reason: 'corrupt' }],
    created: new Date().toISOString(),
  };
  await Promise.all([
    store.put(`${book}/manifest.json`, JSON.stringify(manifest)),
    store.put(`${book}/failed/q_0003.jpg`, 'corrupt'),
    store.put(`${book}/q_0001.jpg`, 'jpeg'),
    store.put(`${book}/q_0002.jpg`, 'jpeg'),
    store.put(`${book}/q_0003.jpg`, 'jpeg'),
    store.put(`${book}/q_0001_bin0.1.png`, 'png'),
    store.put(`${book}/q_0001_bin0.1.hocr`, 'hocr'),
    store.put(`${book}/q_0001.meta.json`, '{}'),
    store.put(`${book}/q_0002_bin0.1.png`, 'png'),
    store.put(`${book}/q_0002.meta.json`, '{}'),
  ]);
}

describe.each([{ mode: awsMode() }, { mode: localMode() }])('book tools, -c $mode.name', ({ mode }) => {
  let conn: ReturnType<Mode['open']>;
  const tool = (name: string, ...args: string[]) => run(name, args, mode.env());
  const q = (kind: string) => `${mode.prefix}${kind}`;

  beforeAll(() => {
    conn = mode.open();
  });
  afterAll(() => conn.close());

  it('mkpipeline creates the bucket, five queues and their DLQs; run again, says they existed', async () => {
    const first = await tool('mkpipeline');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    for (const kind of ['preprocess', 'prenowipe', 'wipeonly', 'ocrpage', 'analyse']) {
      expect(first.stdout).toMatch(new RegExp(`queue ${q(kind)} +created`));
      expect(first.stdout).toMatch(new RegExp(`dead-letter queue ${q(kind)}-dlq +created`));
    }
    expect(first.stdout).toContain('11 created, 0 existed (maxReceiveCount 5, visibility 120 s)');
    const second = await tool('mkpipeline');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('0 created, 11 existed');
    expect(second.stdout).not.toMatch(/ created$/m);
  });

  it('booktopipeline uploads the renamed pages and queues one message (JSON, and --compat text)', async () => {
    const [json, compat] = await Promise.all([
      tool('booktopipeline', bookDir),
      tool('booktopipeline', '--compat', '--nowipe', '-t', 'eng', bookDir, 'compat_book'),
    ]);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).toBe(`Uploaded 3 pages of book My_Book and queued it on ${q('preprocess')}\n`);
    expect(json.stderr).toContain('skipping notes.txt');
    expect(compat.code, compat.stderr).toBe(0);
    expect(compat.stdout).toContain(`queued it on ${q('prenowipe')}`);
    expect(compat.stderr).toMatch(/2 page\(s\) are not JPEG/);

    expect(await keysUnder(conn.store, 'My_Book/')).toEqual(['My_Book/page10_0003.png', 'My_Book/page1_0001.png', 'My_Book/page2_0002.jpg']);
    expect(await keysUnder(conn.store, 'compat_book/')).toHaveLength(3);
    expect((await conn.store.get('My_Book/page2_0002.jpg')).equals(await readFile(join(bookDir, 'page2.jpg')))).toBe(true);
    const pre = await drainPeek(conn.queues, q('preprocess'));
    expect(pre.map((m) => m.body)).toEqual(['{"v":1,"type":"book","book":"My_Book"}']);
    const nowipe = await drainPeek(conn.queues, q('prenowipe'));
    expect(nowipe.map((m) => m.body)).toEqual(['compat_book eng']);
  });

  it('booktopipeline refuses an existing book, an unsafe name and a corrupt page, uploading nothing', async () => {
    const exists = await tool('booktopipeline', bookDir);
    expect(exists.code).toBe(1);
    expect(exists.stderr).toMatch(/^booktopipeline: a book named "My_Book" already exists in .*; remove it with rmbook/m);
    if (mode.full) {
      const [unsafe, corrupt] = await Promise.all([tool('booktopipeline', bookDir, '../evil'), tool('booktopipeline', badDir)]);
      expect(unsafe.code).toBe(2);
      expect(unsafe.stderr).toContain('booktopipeline: book name "../evil" contains a slash');
      expect(corrupt.code).toBe(1);
      expect(corrupt.stderr).toMatch(/^b\.jpg: .*(truncated|corrupt)/m);
      expect(corrupt.stderr).not.toMatch(/^a\.png:/m);
      expect(corrupt.stderr).toContain('1 of 2 page image(s)');
      expect(corrupt.stderr).toContain('nothing was uploaded');
    }
    expect(await keysUnder(conn.store, 'bad_book/')).toEqual([]);
    expect(await keysUnder(conn.store, 'My_Book/')).toHaveLength(3);
    expect(await (await conn.queues.open(q('preprocess'))).counts()).toEqual({ available: 1, inFlight: 0 });
  });

  it('addtoqueue validates the message and the queue; --compat writes the Go text', async () => {
    const ok = await tool('addtoqueue', 'analyse', 'some_book');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`Added message to the queue ${q('analyse')}: {"v":1,"type":"analyse","book":"some_book"}`);
    expect((await drainPeek(conn.queues, q('analyse'))).map((m) => m.body)).toEqual(['{"v":1,"type":"analyse","book":"some_book"}']);
    if (!mode.full) return;
    const [compat, bad, unknown] = await Promise.all([
      tool('addtoqueue', '--compat', 'ocrpage', '{"v":1,"type":"ocr","book":"b","variant":"p_0001_bin0.2.png"}'),
      tool('addtoqueue', 'ocrpage', 'no-slash-here'),
      tool('addtoqueue', 'test', 'x'),
    ]);
    expect(compat.code, compat.stderr).toBe(0);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^addtoqueue: bad ocrpage message "no-slash-here": expected <book>\/<file>_binK\.png/);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown queue "test"');
    expect((await drainPeek(conn.queues, q('ocrpage'))).map((m) => m.body)).toEqual(['b/p_0001_bin0.2.png ']);
  });

  it('peekqueue shows the messages and leaves them visible; redrive moves dead letters back', async () => {
    const ocr = await conn.queues.open(q('ocrpage'));
    await conn.queues.purge(q('ocrpage'));
    for (const p of ['p_0001', 'p_0002']) await ocr.send(`b/${p}_bin0.1.png `);
    for (let got = await ocr.receive({ max: 10, waitSeconds: 1, visibilitySeconds: 30 }); got.length; got = await ocr.receive({ max: 10, waitSeconds: 0, visibilitySeconds: 30 })) {
      for (const m of got) await ocr.deadLetter(m, 'PermanentError: test');
    }
    const [peek, dlqJson] = await Promise.all([tool('peekqueue', 'preprocess'), tool('peekqueue', '--dlq', '--json', 'ocrpage')]);
    expect(peek.code, peek.stderr).toBe(0);
    expect(peek.stdout).toMatch(/^\{"v":1,"type":"book","book":"My_Book"\}\t\(receives: \d+, id /m);
    expect(peek.stdout).toContain(`1 message(s) in ${q('preprocess')}`);
    expect(await (await conn.queues.open(q('preprocess'))).counts()).toEqual({ available: 1, inFlight: 0 });
    expect(dlqJson.code, dlqJson.stderr).toBe(0);
    const parsed = JSON.parse(dlqJson.stdout) as { queue: string; messages: Array<{ body: string; deadLetter?: { reason: string } }> };
    expect(parsed.queue).toBe(`${q('ocrpage')}-dlq`);
    expect(parsed.messages.map((m) => m.body).sort()).toEqual(['b/p_0001_bin0.1.png ', 'b/p_0002_bin0.1.png ']);
    expect(parsed.messages[0]!.deadLetter?.reason).toBe('PermanentError: test');
    expect(await (await conn.queues.open(`${q('ocrpage')}-dlq`)).counts()).toEqual({ available: 2, inFlight: 0 });

    const redrive = await tool('redrive', 'ocrpage');
    expect(redrive.code, redrive.stderr).toBe(0);
    expect(redrive.stdout).toBe(`Moved 2 message(s) from ${q('ocrpage')}-dlq back to ${q('ocrpage')}\n`);
    expect(await ocr.counts()).toEqual({ available: 2, inFlight: 0 });
    expect(await (await conn.queues.open(`${q('ocrpage')}-dlq`)).counts()).toEqual({ available: 0, inFlight: 0 });
  });

  it('getpipelinebook downloads the sets of a finished book, and refuses unknown and unfinished books', async () => {
    await Promise.all([placeFinishedBook(conn.store, 'done_book'), placeUnfinishedBook(conn.store, 'wip_book')]);
    const out = (n: string) => join(scratch, `${mode.name}-${n}`);
    const [def, unknown, unfinished] = await Promise.all([
      tool('getpipelinebook', 'done_book', '-o', out('default')),
      tool('getpipelinebook', 'nobody', '-o', out('unknown')),
      tool('getpipelinebook', 'wip_book', '-o', out('unfinished')),
    ]);
    expect(def.code, def.stderr).toBe(0);
    expect(def.stdout).toMatch(/^Downloaded 10 files \(.* MB\) of book done_book into /);
    expect(await filesIn(out('default'))).toEqual([
      'best',
      'conf',
      'done_book.binarised.pdf',
      'done_book.colour.pdf',
      'done_book.txt',
      'graph.png',
      'p_0001_bin0.2.hocr',
      'p_0002_bin0.1.hocr',
      'text/p_0001.txt',
      'text/p_0002.txt',
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^getpipelinebook: no book named "nobody" in /);
    expect(unfinished.code).toBe(1);
    expect(unfinished.stderr).toBe('getpipelinebook: book "wip_book" is not finished yet: 1/3 pages OCRed (1/2 variants), 1 page(s) failed\n');
    if (!mode.full) return;
    const [pdfGraph, png, all, unfinishedPdf] = await Promise.all([
      tool('getpipelinebook', '--pdf', '--graph', 'done_book', '-o', out('pdfgraph')),
      tool('getpipelinebook', '--png', 'done_book', '-o', out('png')),
      tool('getpipelinebook', '-a', 'done_book', '-o', out('all')),
      tool('getpipelinebook', '--colourpdf', 'wip_book', '-o', out('unfinishedpdf')),
    ]);
    expect(pdfGraph.code, pdfGraph.stderr).toBe(0);
    expect(await filesIn(out('pdfgraph'))).toEqual(['done_book.binarised.pdf', 'done_book.colour.pdf', 'graph.png']);
    expect(png.code, png.stderr).toBe(0);
    expect(await filesIn(out('png'))).toEqual(['best', 'p_0001_bin0.2.png', 'p_0002_bin0.1.png']);
    expect(all.code, all.stderr).toBe(0);
    expect(await filesIn(out('all'))).toHaveLength((await keysUnder(conn.store, 'done_book/')).length);
    expect(await filesIn(out('all'))).toContain('errors/p_0009.json');
    expect(unfinishedPdf.code).toBe(1);
    expect(unfinishedPdf.stderr).toContain('book "wip_book" has no wip_book/wip_book.colour.pdf (the book is not finished');
  });

  it('lspipeline --json reports every queue with its DLQ, books in progress and books done', async () => {
    const json = await tool('lspipeline', '--json');
    expect(json.code, json.stderr).toBe(0);
    const r = JSON.parse(json.stdout) as {
      conn: string;
      queues: Array<{ kind: string; name: string; counts: { available: number; inFlight: number }; dlq: { name: string; counts: unknown } }>;
      books: { inProgress: Array<Record<string, unknown>>; done: Array<Record<string, unknown>> };
    };
    expect(r.conn).toBe(mode.name);
    expect(r.queues.map((x) => x.kind)).toEqual(['preprocess', 'prenowipe', 'wipeonly', 'ocrpage', 'analyse']);
    expect(r.queues[0]).toEqual({
      kind: 'preprocess',
      name: q('preprocess'),
      counts: { available: 1, inFlight: 0 },
      dlq: { name: `${q('preprocess')}-dlq`, counts: { available: 0, inFlight: 0 } },
    });
    expect(r.queues[3]!.counts).toEqual({ available: 2, inFlight: 0 });
    const wip = r.books.inProgress.find((b) => b.book === 'wip_book');
    expect(wip).toMatchObject({ pagesDone: 1, pagesTotal: 3, pagesFailed: 1, variants: 2, variantsOcred: 1, done: false, totalFrom: 'manifest' });
    expect(r.books.inProgress.find((b) => b.book === 'My_Book')).toMatchObject({ pagesDone: 0, pagesTotal: 3, originals: 3 });
    expect(r.books.done.map((b) => b.book)).toEqual(['done_book']);
    expect(r.books.done[0]).toMatchObject({ pagesDone: 2, pagesTotal: 2, errors: 1, done: true });
    expect(typeof r.books.done[0]!.finishedAt).toBe('string');
    if (!mode.full) return;
    const [text, nobooks] = await Promise.all([tool('lspipeline'), tool('lspipeline', '--nobooks', '--json')]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/# Queues\npreprocess +1 available, 0 in flight; dead letters: 0 available, 0 in flight\nprenowipe /);
    expect(text.stdout).toMatch(/# Books done\ndone_book +\d{4}-/);
    expect(nobooks.code).toBe(0);
    expect(JSON.parse(nobooks.stdout)).not.toHaveProperty('books');
  });

  it('rmbook --dryrun lists and keeps; rmbook deletes every key under <book>/ only', async () => {
    await conn.store.put('My_Book2/x.jpg', 'other book sharing the prefix');
    if (mode.full) {
      const dry = await tool('rmbook', '--dryrun', 'My_Book');
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toContain('My_Book/page1_0001.png\n');
      expect(dry.stdout).toContain('Would delete 3 object(s) of book My_Book (dry run: nothing deleted)');
      expect(await keysUnder(conn.store, 'My_Book/')).toHaveLength(3);
    }
    const real = await tool('rmbook', 'My_Book');
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toBe('Deleted 3 object(s) of book My_Book\n');
    expect(await keysUnder(conn.store, 'My_Book/')).toEqual([]);
    expect(await keysUnder(conn.store, 'My_Book2/')).toEqual(['My_Book2/x.jpg']);
    if (!mode.full) return;
    const [unknown, unsafe] = await Promise.all([tool('rmbook', 'nobody'), tool('rmbook', 'a/b')]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^rmbook: no book named "nobody" in /);
    expect(unsafe.code).toBe(2);
  });

  it('booktopipeline --wait shows progress until graph.png exists', async () => {
    const waiting = tool('booktopipeline', '--wait', '--interval', '1', bookDir, 'wait_book');
    // Play the worker: once the pages are there, OCR them, then finish the book.
    const deadline = Date.now() + 20_000;
    while ((await keysUnder(conn.store, 'wait_book/')).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const p of ['page1_0001', 'page2_0002', 'page10_0003']) {
      await conn.store.put(`wait_book/${p}_bin0.1.png`, 'png');
      await conn.store.put(`wait_book/${p}_bin0.1.hocr`, 'hocr');
    }
    await new Promise((r) => setTimeout(r, 1200));
    await conn.store.put('wait_book/best', 'x');
    await conn.store.put('wait_book/graph.png', 'png');
    const r = await waiting;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Book wait_book is done; fetch it with: getpipelinebook wait_book');
    expect(r.stderr).toMatch(/OCR: 3\/3/);
  });
});

describe('tool usage', () => {
  it('every tool has --help naming the settings; a bad -c is a usage error', async () => {
    const tools = ['booktopipeline', 'getpipelinebook', 'lspipeline', 'mkpipeline', 'addtoqueue', 'rmbook', 'peekqueue', 'redrive'];
    const helps = await Promise.all(tools.map((t) => run(t, ['--help'], {})));
    helps.forEach((h, i) => {
      expect(h.code, tools[i]).toBe(0);
      expect(h.stdout).toContain(`Usage: ${tools[i]}`);
      expect(h.stdout).toContain('BOOKPIPELINE_QUEUE_PREFIX');
      expect(h.stdout).toContain('Exit codes');
    });
    const [bad, missingArg, missingDir] = await Promise.all([
      run('lspipeline', ['-c', 'gcp'], {}),
      run('booktopipeline', ['--prebinarised'], {}),
      run('booktopipeline', ['-c', 'local', '--local-dir', join(scratch, 'unused'), join(scratch, 'no-such-folder')], {}),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("error: option '-c, --conn <conn>' argument 'gcp' is invalid");
    expect(missingArg.code).toBe(2);
    expect(missingArg.stderr).toContain("missing required argument 'bookdir'");
    expect(missingDir.code).toBe(2);
    expect(missingDir.stderr).toMatch(/^booktopipeline: .*no-such-folder: no such folder$/m);
  });

  it('a pipeline that does not exist is a configuration error naming it', async () => {
    const r = await run('addtoqueue', ['preprocess', 'book'], {
      BOOKPIPELINE_CONN: 'local',
      BOOKPIPELINE_LOCAL_DIR: join(scratch, 'empty-pipeline'),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^addtoqueue: queue rescribepreprocess does not exist/);
  });
});
