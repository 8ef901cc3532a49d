// Pure parts of the book tools: queue choice, book names, progress from keys, manifests, download
// plans, and the admin operations against the in-memory adapters.

import { describe, expect, it } from 'vitest';
import { addToQueue, bookKeys, deleteKeys, makePipeline, peekQueue, queueKindOf, redriveQueue } from '../../pipeline/admin.js';
import { EXIT, exitCodeFor, ToolError } from '../../pipeline/cli.js';
import { planDownload, type DownloadSet } from '../../pipeline/download.js';
import { ConfigError, NotFoundError } from '../../pipeline/errors.js';
import { BadMessageError, parseMessage } from '../../pipeline/messages.js';
import { MemoryQueueAdmin } from '../../pipeline/memory/queue.js';
import { MemoryStore } from '../../pipeline/memory/store.js';
import { BookTally, formatReport, progressText, type PipelineReport } from '../../pipeline/status.js';
import { chooseBookQueue, resolveBookName } from '../../pipeline/upload.js';

const cfg = { queuePrefix: 't', bucket: 'bucket', visibilitySeconds: 120, maxReceiveCount: 5 };
const at = (s: number) => ({ modified: new Date(s * 1000) });

describe('chooseBookQueue', () => {
  it('follows the original precedence: nowipe > notbinarised > prebinarised > preprocess', () => {
    expect(chooseBookQueue({})).toBe('preprocess');
    expect(chooseBookQueue({ prebinarised: true })).toBe('wipeonly');
    expect(chooseBookQueue({ prebinarised: true, notbinarised: true })).toBe('preprocess');
    expect(chooseBookQueue({ notbinarised: true })).toBe('preprocess');
    expect(chooseBookQueue({ nowipe: true, prebinarised: true, notbinarised: true })).toBe('prenowipe');
  });
});

describe('resolveBookName', () => {
  it('defaults to the folder name with whitespace turned into _', () => {
    expect(resolveBookName('/x/My  Old Book/')).toBe('My_Old_Book');
  });
  it('honours the given name (the original ignored it)', () => {
    expect(resolveBookName('/x/folder', 'other')).toBe('other');
  });
  it('refuses unsafe names with exit code 2', () => {
    for (const bad of ['a/b', '..x', '.hidden', 'a\u0001b', 'two words']) {
      let err: unknown;
      try {
        resolveBookName('/x/folder', bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ToolError);
      expect((err as ToolError).exitCode).toBe(2);
    }
  });
});

describe('BookTally', () => {
  it('counts pages done when every variant of the page has its hOCR and its meta', () => {
    const t = new BookTally('b');
    for (const p of ['p_0001', 'p_0002', 'p_0003']) t.add(`${p}.jpg`, at(1));
    t.add('p_0001_bin0.1.png', at(2));
    t.add('p_0001_bin0.2.png', at(2));
    t.add('p_0001_bin0.1.hocr', at(3));
    t.add('p_0001_bin0.2.hocr', at(3));
    t.add('p_0001.meta.json', at(2));
    t.add('p_0002_bin0.1.png', at(2));
    t.add('p_0002_bin0.1.hocr', at(4)); // but no meta yet: variants may still be coming
    t.add('errors/p_0003.json', at(5));
    t.add('text/p_0001.txt', at(5));
    const s = t.result();
    expect(s).toMatchObject({ book: 'b', originals: 3, pagesTotal: 3, pagesDone: 1, variants: 3, variantsOcred: 3, errors: 1, done: false, hasBest: false, totalFrom: 'originals' });
    expect(s.updatedAt).toEqual(new Date(5000));
    expect(progressText(s)).toBe('1/3 pages OCRed (3/3 variants), 1 error record in b/errors/');
  });

  it('without meta files (Go workers) a page with all variants OCRed is done', () => {
    const t = new BookTally('b');
    t.add('p_0001.jpg', at(1));
    t.add('p_0001_bin0.1.png', at(1));
    t.add('p_0001_bin0.1.hocr', at(1));
    expect(t.result().pagesDone).toBe(1);
  });

  it('is done when graph.png exists, dated by it', () => {
    const t = new BookTally('b');
    t.add('p_0001.png', at(1));
    t.add('p_0002.png', at(1));
    t.add('best', at(8));
    t.add('graph.png', at(9));
    const s = t.result();
    expect(s).toMatchObject({ done: true, pagesTotal: 2, totalFrom: 'originals', originals: 2 });
    expect(s.finishedAt).toEqual(new Date(9000));
  });

  it('a 1-page book with best but no graph (Go analyse) counts as done', () => {
    const t = new BookTally('b');
    t.add('p_0001.jpg', at(1));
    t.add('best', at(3));
    expect(t.result()).toMatchObject({ done: true, finishedAt: new Date(3000) });
  });

  it('graph.png is not taken for an original page', () => {
    const t = new BookTally('b');
    t.add('graph.png', at(1));
    t.add('b.binarised.pdf', at(1));
    expect(t.result().originals).toBe(0);
  });
});

describe('BookTally with a manifest and failure markers', () => {
  it('takes pages and variants from the manifest; a failed variant is settled, a failed page counts apart', () => {
    const t = new BookTally('b');
    for (const p of ['p_0001', 'p_0002', 'p_0003']) t.add(`${p}.jpg`, at(1));
    t.add('manifest.json', at(2));
    t.add('p_0001_bin0.1.png', at(2));
    t.add('p_0001_bin0.1.hocr', at(3));
    t.add('p_0001_bin0.2.png', at(2));
    t.add('failed/p_0001_bin0.2.png', at(3)); // given up on: settled
    t.add('p_0002_bin0.1.png', at(2));
    t.add('p_0002_bin0.2.png', at(2));
    t.add('p_0002_bin0.2.hocr', at(3));
    t.add('failed/p_0003.jpg', at(2));
    const s = t.result({
      pages: [
        { page: 'p_0001', original: 'b/p_0001.jpg', variants: ['p_0001_bin0.1.png', 'p_0001_bin0.2.png'] },
        { page: 'p_0002', original: 'b/p_0002.jpg', variants: ['p_0002_bin0.1.png', 'p_0002_bin0.2.png'] },
      ],
      failed: [{ page: 'p_0003', original: 'b/p_0003.jpg', reason: 'corrupt' }],
    });
    expect(s).toMatchObject({ pagesTotal: 3, pagesDone: 1, pagesFailed: 1, variants: 4, variantsOcred: 2, failed: false, totalFrom: 'manifest' });
    expect(progressText(s)).toBe('1/3 pages OCRed (2/4 variants), 1 page(s) failed');
  });

  it('a book whose every page failed is failed, not in progress for ever', () => {
    const t = new BookTally('b');
    t.add('p_0001.jpg', at(1));
    t.add('failed/p_0001.jpg', at(2));
    expect(t.result()).toMatchObject({ failed: true, done: false, pagesFailed: 1 });
  });
});

describe('planDownload', () => {
  const book = 'bk';
  const stored = new Set([
    'bk/p_0001.jpg',
    'bk/p_0001_bin0.1.png',
    'bk/p_0001_bin0.1.hocr',
    'bk/p_0001_bin0.2.png',
    'bk/p_0001_bin0.2.hocr',
    'bk/best',
    'bk/conf',
    'bk/graph.png',
    'bk/bk.binarised.pdf',
    'bk/bk.colour.pdf',
    'bk/bk.txt',
    'bk/text/p_0001.txt',
  ]);
  const best = ['p_0001_bin0.2.hocr'];
  const files = (sets: DownloadSet[], s: ReadonlySet<string> = stored) => {
    const p = planDownload(book, s, best, new Set(sets));
    return { files: p.items.map((i) => i.file), missing: p.missing };
  };

  it('default: best, best hOCRs, PDFs, conf, graph, text; no fall-through into other sets', () => {
    expect(files(['default'])).toEqual({
      files: ['best', 'bk.binarised.pdf', 'bk.colour.pdf', 'bk.txt', 'conf', 'graph.png', 'p_0001_bin0.2.hocr', 'text/p_0001.txt'],
      missing: [],
    });
  });
  it('png: only best and the best variant images', () => {
    expect(files(['png'])).toEqual({ files: ['best', 'p_0001_bin0.2.png'], missing: [] });
  });
  it('graph, pdf, binarisedpdf and colourpdf combine', () => {
    expect(files(['graph', 'colourpdf']).files).toEqual(['bk.colour.pdf', 'graph.png']);
    expect(files(['pdf']).files).toEqual(['bk.binarised.pdf', 'bk.colour.pdf']);
  });
  it('all: every object, keeping sub-folders', () => {
    expect(files(['all']).files).toHaveLength(stored.size);
    expect(files(['all']).files).toContain('text/p_0001.txt');
  });
  it('reports what a set needs and is missing', () => {
    const none = new Set(['bk/p_0001.jpg']);
    expect(files(['pdf'], none).missing).toEqual(['bk/bk.*.pdf']);
    expect(files(['graph', 'binarisedpdf'], none).missing).toEqual(['bk/bk.binarised.pdf', 'bk/graph.png']);
    expect(files(['default'], new Set(['bk/best'])).missing).toEqual(['bk/p_0001_bin0.2.hocr']);
  });
});

describe('exit codes', () => {
  it('maps errors to 1 (failure) or 2 (usage, config, missing pipeline)', () => {
    expect(exitCodeFor(new ToolError('x'))).toBe(EXIT.failure);
    expect(exitCodeFor(new ToolError('x', 2))).toBe(EXIT.usage);
    expect(exitCodeFor(new ConfigError('x'))).toBe(EXIT.usage);
    expect(exitCodeFor(new BadMessageError('x'))).toBe(EXIT.usage);
    expect(exitCodeFor(new NotFoundError('bucket', 'b'))).toBe(EXIT.usage);
    expect(exitCodeFor(new NotFoundError('object', 'k'))).toBe(EXIT.failure);
    expect(exitCodeFor(new Error('boom'))).toBe(EXIT.failure);
  });
});

describe('admin operations (memory adapters)', () => {
  it('makePipeline is idempotent and says what existed', async () => {
    const conn = { store: new MemoryStore(), queues: new MemoryQueueAdmin() };
    const first = await makePipeline(conn, cfg);
    expect(first).toHaveLength(11);
    expect(first.every((m) => m.result === 'created')).toBe(true);
    expect(first.map((m) => m.name)).toContain('tprenowipe-dlq');
    const second = await makePipeline(conn, cfg);
    expect(second.every((m) => m.result === 'existed')).toBe(true);
  });

  it('addToQueue validates, and writes JSON or the Go text format', async () => {
    const queues = new MemoryQueueAdmin();
    await makePipeline({ store: new MemoryStore(), queues }, cfg);
    expect((await addToQueue(queues, cfg, 'preprocess', 'book1 eng', { compat: false })).body).toBe('{"v":1,"type":"book","book":"book1","training":"eng"}');
    expect((await addToQueue(queues, cfg, 'ocrpage', '{"v":1,"type":"ocr","book":"b","variant":"p_0001_bin0.1.png"}', { compat: true })).body).toBe('b/p_0001_bin0.1.png ');
    await expect(addToQueue(queues, cfg, 'analyse', 'a/b', { compat: false })).rejects.toBeInstanceOf(BadMessageError);
    expect(() => queueKindOf('test')).toThrow(/unknown queue "test"/);
    expect((await (await queues.open('tpreprocess')).counts()).available).toBe(1);
  });

  it('peekQueue shows messages and leaves them visible', async () => {
    const queues = new MemoryQueueAdmin();
    await makePipeline({ store: new MemoryStore(), queues }, cfg);
    const q = await queues.open('tpreprocess');
    for (let i = 0; i < 13; i++) await q.send(`book${i}`);
    const seen = await peekQueue(q, { max: 50, waitSeconds: 0 });
    expect(seen.map((m) => m.body).sort()).toEqual(Array.from({ length: 13 }, (_, i) => `book${i}`).sort());
    expect(await q.counts()).toEqual({ available: 13, inFlight: 0 });
    expect(await peekQueue(q, { max: 5, waitSeconds: 0 })).toHaveLength(5);
    expect(await q.counts()).toEqual({ available: 13, inFlight: 0 });
  });

  it('redriveQueue moves dead letters back', async () => {
    const queues = new MemoryQueueAdmin();
    await makePipeline({ store: new MemoryStore(), queues }, cfg);
    const q = await queues.open('tocrpage');
    for (let i = 0; i < 12; i++) await q.send(`b/p_${i}_bin0.1.png `);
    for (;;) {
      const got = await q.receive({ max: 10, waitSeconds: 0, visibilitySeconds: 30 });
      if (!got.length) break;
      for (const m of got) await q.deadLetter(m, 'test');
    }
    expect((await (await queues.open('tocrpage-dlq')).counts()).available).toBe(12);
    const r = await redriveQueue(queues, 'tocrpage');
    expect(r).toEqual({ moved: 12, dlq: 'tocrpage-dlq' });
    expect(await q.counts()).toEqual({ available: 12, inFlight: 0 });
    expect((await (await queues.open('tocrpage-dlq')).counts()).available).toBe(0);
    parseMessage('ocrpage', (await q.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 1 }))[0]!.body);
  });

  it('bookKeys lists with the slash; deleteKeys deletes in batches of 1000', async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 2001; i++) await store.put(`Book1/k${i}`, 'x');
    await store.put('Book10/k', 'x');
    const list = await bookKeys(store, 'Book1');
    expect(list).toHaveLength(2001);
    const batches: number[] = [];
    expect(await deleteKeys(store, list, (n) => batches.push(n))).toBe(2001);
    expect(batches).toEqual([1000, 1000, 1]);
    expect(await bookKeys(store, 'Book1')).toEqual([]);
    expect(await bookKeys(store, 'Book10')).toEqual(['Book10/k']);
  });
});

describe('formatReport', () => {
  it('lists every queue with its dead-letter queue, then books', () => {
    const t = new BookTally('done1');
    t.add('graph.png', at(10));
    const p = new BookTally('wip');
    p.add('p_0001.jpg', at(5));
    const r: PipelineReport = {
      conn: 'aws',
      bucket: 'b',
      queues: [
        { kind: 'preprocess', name: 'tpreprocess', counts: { available: 2, inFlight: 1 }, dlq: { name: 'tpreprocess-dlq', counts: { available: 0, inFlight: 0 } } },
        { kind: 'prenowipe', name: 'tprenowipe', counts: null, dlq: { name: 'tprenowipe-dlq', counts: null } },
      ],
      books: { inProgress: [p.result()], done: [t.result()] },
    };
    const text = formatReport(r);
    expect(text).toContain('preprocess  2 available, 1 in flight; dead letters: 0 available, 0 in flight');
    expect(text).toContain('prenowipe   does not exist (run mkpipeline)');
    expect(text).toMatch(/# Books not completed\nwip {4}0\/1 pages OCRed \(not preprocessed yet\)/);
    expect(text).toMatch(/# Books done\ndone1 {2}1970-01-01 00:00:10Z/);
  });
});
