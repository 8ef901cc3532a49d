// The stage wiring (pipeline/jobs.ts) on the in-memory adapters with a fake OCR engine: the
// fan-out, the manifest, the single analyse trigger and its deferrals, idempotent redelivery,
// corrupt pages, wipe-only, and the whole chain through the runner.

import { pino } from 'pino';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { OcrEngine } from '../../ocr/engine.js';
import { isOriginalName, stateKeys } from '../../pipeline/book-state.js';
import { PermanentError } from '../../pipeline/errors.js';
import { analyseDelaySeconds, describeJob, failureRecorder, parseJob, pipelineHandlers, type JobDeps } from '../../pipeline/jobs.js';
import { formatMessage, parseMessage, QUEUE_KINDS, type Job, type QueueKind } from '../../pipeline/messages.js';
import { MemoryQueueAdmin } from '../../pipeline/memory/queue.js';
import { MemoryStore } from '../../pipeline/memory/store.js';
import type { Queue, QueueMessage } from '../../pipeline/ports.js';
import { startWorker, type JobContext } from '../../pipeline/runner.js';
import { SAMPLE_PAGE } from '../support/tinybook.js';

const silent = pino({ level: 'silent' });

const HOCR = (name: string, conf: number) => `<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>${name}</title></head><body>
<div class='ocr_page' id='page_1' title='bbox 0 0 300 200'>
 <div class='ocr_carea' id='block_1_1' title="bbox 10 10 290 60">
  <p class='ocr_par' id='par_1_1' title="bbox 10 10 290 60">
   <span class='ocr_line' id='line_1_1' title="bbox 10 10 290 60; baseline 0 0; x_size 40">
    <span class='ocrx_word' id='word_1_1' title='bbox 10 10 140 60; x_wconf ${conf}'>Kestrel</span>
    <span class='ocrx_word' id='word_1_2' title='bbox 150 10 290 60; x_wconf ${conf}'>Bay</span>
   </span>
  </p>
 </div>
</div></body></html>
`;

/** A fake engine: confidence from the variant's k, so the best choice is predictable. */
class FakeEngine implements OcrEngine {
  readonly name = 'embedded' as const;
  calls: Array<{ name: string; dpi?: number }> = [];
  async recognize(input: { image: Buffer; name: string; dpi?: number }) {
    this.calls.push({ name: input.name, ...(input.dpi ? { dpi: input.dpi } : {}) });
    const k = Number(/_bin([0-9.]+)\.png$/.exec(input.name)?.[1] ?? 0);
    return { hocr: HOCR(input.name, 80 + k * 10) };
  }
  async close() {}
}

let jpg: Buffer;
let png: Buffer;
let tif: Buffer;
beforeAll(async () => {
  const crop = () => sharp(SAMPLE_PAGE).extract({ left: 300, top: 420, width: 300, height: 200 }).withMetadata({ density: 300 });
  jpg = await crop().jpeg().toBuffer();
  png = await crop().png().toBuffer();
  tif = await crop().tiff().toBuffer();
});

async function setup() {
  const admin = new MemoryQueueAdmin({ pollMs: 10 });
  const queues = {} as Record<QueueKind, Queue>;
  for (const k of QUEUE_KINDS) {
    await admin.ensureQueue(k, { visibilitySeconds: 30, maxReceiveCount: 5 });
    queues[k] = await admin.open(k);
  }
  const store = new MemoryStore();
  const engine = new FakeEngine();
  const deps: JobDeps = {
    store,
    queues,
    engines: { get: async () => engine },
    settings: {
      thresholds: [0.1, 0.2],
      defaultTraining: 'eng',
      deskew: true,
      denoise: 'auto',
      maxPixels: 1e8,
      compat: false,
      analyseDelay: () => 1,
    } satisfies JobDeps['settings'],
    worker: { host: 'test', pid: 1 },
  };
  return { admin, queues, store, engine, deps, handlers: pipelineHandlers(deps) };
}

function ctx(kind: QueueKind, queue: Queue, id = 'm1'): JobContext<QueueKind> {
  const msg: QueueMessage = { id, handle: 'h', body: '', receiveCount: 1 };
  return { kind, queue, msg, signal: new AbortController().signal, log: silent };
}

async function take(q: Queue): Promise<QueueMessage[]> {
  const out: QueueMessage[] = [];
  for (;;) {
    const got = await q.receive({ max: 10, waitSeconds: 0, visibilitySeconds: 30 });
    if (!got.length) return out;
    for (const m of got) await q.delete(m.handle);
    out.push(...got);
  }
}

async function keysUnder(store: MemoryStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key);
  return out;
}

describe('the preprocess family', () => {
  it('fans out one OCR job per page (its first variant) for every accepted image type, then the manifest and ONE delayed analyse job', async () => {
    const s = await setup();
    await s.store.put('B/p_0001.jpg', jpg);
    await s.store.put('B/p_0002.png', png);
    await s.store.put('B/p_0003.tif', tif);
    await s.store.put('B10/p_0001.jpg', jpg); // another book whose name starts the same
    await s.handlers.prenowipe({ type: 'book', book: 'B' }, ctx('prenowipe', s.queues.prenowipe));
    const ocr = (await take(s.queues.ocrpage)).map((m) => parseMessage('ocrpage', m.body));
    // The variant nearest k = 0.3 first; the others only if the OCR jobs find they could win.
    expect(ocr.map((j) => (j.type === 'ocr' ? j.variant : '')).sort()).toEqual(['p_0001_bin0.2.png', 'p_0002_bin0.2.png', 'p_0003_bin0.2.png']);
    // The analyse job is delayed: not visible yet, but counted.
    expect(await s.queues.analyse.counts()).toEqual({ available: 0, inFlight: 1 });
    const manifest = JSON.parse((await s.store.get(stateKeys.manifest('B'))).toString()) as { pages: Array<{ variants: string[] }>; failed: unknown[] };
    expect(manifest.pages.flatMap((p) => p.variants)).toHaveLength(6);
    expect(manifest.failed).toEqual([]);
    expect(manifest).toMatchObject({ search: 'adaptive' });
    expect(JSON.parse((await s.store.get('B/p_0001.meta.json')).toString())).toMatchObject({ search: 'adaptive' });
    expect(await keysUnder(s.store, 'B10/')).toEqual(['B10/p_0001.jpg']);
  });

  it('with allVariants fans out one OCR job per variant, like the original', async () => {
    const s = await setup();
    await s.store.put('B/p_0001.jpg', jpg);
    await s.store.put('B/p_0002.png', png);
    const handlers = pipelineHandlers({ ...s.deps, settings: { ...s.deps.settings, allVariants: true } });
    await handlers.prenowipe({ type: 'book', book: 'B' }, ctx('prenowipe', s.queues.prenowipe));
    const ocr = (await take(s.queues.ocrpage)).map((m) => parseMessage('ocrpage', m.body));
    expect(ocr.map((j) => (j.type === 'ocr' ? j.variant : '')).sort()).toEqual(['p_0001_bin0.1.png', 'p_0001_bin0.2.png', 'p_0002_bin0.1.png', 'p_0002_bin0.2.png']);
    // OCR sends nothing more in this mode.
    for (const j of ocr) await handlers.ocrpage(j, ctx('ocrpage', s.queues.ocrpage));
    expect(await take(s.queues.ocrpage)).toEqual([]);
    const manifest = JSON.parse((await s.store.get(stateKeys.manifest('B'))).toString()) as Record<string, unknown>;
    expect(manifest).toMatchObject({ search: 'all' });
  });

  it('records a corrupt page and goes on with the rest of the book', async () => {
    const s = await setup();
    await s.store.put('B/p_0001.jpg', jpg);
    await s.store.put('B/p_0002.jpg', jpg.subarray(0, 200));
    await s.handlers.preprocess({ type: 'book', book: 'B' }, ctx('preprocess', s.queues.preprocess, 'msg-1'));
    expect((await take(s.queues.ocrpage)).length).toBe(1);
    const keys = await keysUnder(s.store, 'B/');
    expect(keys).toContain('B/failed/p_0002.jpg');
    const rec = keys.find((k) => k.startsWith('B/errors/'));
    expect(rec).toMatch(/^B\/errors\/\d{8}T\d{6}\.\d{3}Z-preprocess-msg-1-p_0002\.json$/);
    const r = JSON.parse((await s.store.get(rec!)).toString()) as Record<string, unknown>;
    expect(r).toMatchObject({ book: 'B', why: expect.stringMatching(/ImageDecodeError/), worker: { host: 'test', pid: 1 }, what: { page: 'p_0002' } });
    // And the page is in the queue's dead-letter queue, as a retry of that page alone.
    const dead = await take(await s.admin.open('preprocess-dlq'));
    expect(dead.map((m) => parseMessage('preprocess', m.body))).toEqual([{ type: 'book', book: 'B', pages: ['p_0002'] }]);
    expect(dead[0]?.deadLetter).toMatchObject({ sourceQueue: 'preprocess', reason: expect.stringMatching(/^page B\/p_0002\.jpg: ImageDecodeError/) });
  });

  it("a page's retry (its dead letter redriven once the image is fixed) preprocesses that page alone and merges it into the manifest", async () => {
    const s = await setup();
    for (const n of ['p_0001', 'p_0003']) await s.store.put(`B/${n}.jpg`, jpg);
    await s.store.put('B/p_0002.jpg', jpg.subarray(0, 200));
    await s.handlers.prenowipe({ type: 'book', book: 'B' }, ctx('prenowipe', s.queues.prenowipe));
    const [dead] = await take(await s.admin.open('prenowipe-dlq'));
    await take(s.queues.ocrpage);
    await s.admin.purge('analyse');
    await s.store.put('B/p_0002.jpg', jpg); // fixed
    const retry = parseMessage('prenowipe', dead!.body);
    await s.handlers.prenowipe(retry, ctx('prenowipe', s.queues.prenowipe));
    const ocr = (await take(s.queues.ocrpage)).map((m) => parseMessage('ocrpage', m.body));
    expect(ocr).toEqual([{ type: 'ocr', book: 'B', variant: 'p_0002_bin0.2.png' }]);
    expect(await s.queues.analyse.counts()).toEqual({ available: 0, inFlight: 1 });
    const manifest = JSON.parse((await s.store.get(stateKeys.manifest('B'))).toString()) as { pages: Array<{ page: string }>; failed: unknown[] };
    expect(manifest.pages.map((p) => p.page)).toEqual(['p_0001', 'p_0002', 'p_0003']);
    expect(manifest.failed).toEqual([]);
    expect(await s.store.head('B/failed/p_0002.jpg')).toBeNull();
    expect(await take(await s.admin.open('prenowipe-dlq'))).toEqual([]);
    // A retry naming a page the book does not have is refused.
    await expect(s.handlers.prenowipe({ type: 'book', book: 'B', pages: ['p_0009'] }, ctx('prenowipe', s.queues.prenowipe))).rejects.toThrow(
      /has no page image named p_0009/,
    );
  });

  it('fails the job permanently when no page can be preprocessed, and for a missing book', async () => {
    const s = await setup();
    await s.store.put('B/p_0001.jpg', 'not an image');
    await expect(s.handlers.preprocess({ type: 'book', book: 'B' }, ctx('preprocess', s.queues.preprocess))).rejects.toThrow(PermanentError);
    await expect(s.handlers.preprocess({ type: 'book', book: 'Nope' }, ctx('preprocess', s.queues.preprocess))).rejects.toThrow(/no such book/);
    expect(await s.queues.analyse.counts()).toEqual({ available: 0, inFlight: 0 });
  });

  it('is idempotent: a redelivered job does not redo stored pages, and re-sends OCR jobs only for variants without hOCR', async () => {
    const s = await setup();
    await s.store.put('B/p_0001.jpg', jpg);
    await s.store.put('B/p_0002.jpg', jpg);
    const handlers = pipelineHandlers({ ...s.deps, settings: { ...s.deps.settings, allVariants: true } });
    await handlers.prenowipe({ type: 'book', book: 'B' }, ctx('prenowipe', s.queues.prenowipe));
    await take(s.queues.ocrpage);
    await s.store.put('B/p_0001_bin0.1.hocr', HOCR('x', 90));
    const before = (await s.store.head('B/p_0001_bin0.1.png'))!.modified;
    await new Promise((r) => setTimeout(r, 20));
    await handlers.prenowipe({ type: 'book', book: 'B' }, ctx('prenowipe', s.queues.prenowipe));
    expect((await s.store.head('B/p_0001_bin0.1.png'))!.modified).toEqual(before);
    const again = (await take(s.queues.ocrpage)).map((m) => parseMessage('ocrpage', m.body) as Job & { variant: string });
    expect(again.map((j) => j.variant).sort()).toEqual(['p_0001_bin0.2.png', 'p_0002_bin0.1.png', 'p_0002_bin0.2.png']);
  });

  it('is idempotent in the adaptive search: a redelivered job sends each unsettled page its next variant, none for a settled page', async () => {
    const s = await setup();
    for (let i = 1; i <= 3; i++) await s.store.put(`B/p_000${i}.jpg`, jpg);
    await s.handlers.prenowipe({ type: 'book', book: 'B' }, ctx('prenowipe', s.queues.prenowipe));
    await take(s.queues.ocrpage);
    await s.store.put('B/p_0001_bin0.2.hocr', HOCR('x', 90)); // below 93: its neighbour could win
    await s.store.put('B/p_0002_bin0.2.hocr', HOCR('x', 96)); // good enough: settled
    await s.handlers.prenowipe({ type: 'book', book: 'B' }, ctx('prenowipe', s.queues.prenowipe));
    const again = (await take(s.queues.ocrpage)).map((m) => parseMessage('ocrpage', m.body) as Job & { variant: string });
    expect(again.map((j) => j.variant).sort()).toEqual(['p_0001_bin0.1.png', 'p_0003_bin0.2.png']);
  });

  it('wipeonly stores one variant _bin0.0.png per page', async () => {
    const s = await setup();
    await s.store.put('B/p_0001.png', png);
    await s.handlers.wipeonly({ type: 'book', book: 'B', training: 'lat' }, ctx('wipeonly', s.queues.wipeonly));
    const ocr = (await take(s.queues.ocrpage)).map((m) => parseMessage('ocrpage', m.body));
    expect(ocr).toEqual([{ type: 'ocr', book: 'B', variant: 'p_0001_bin0.0.png', training: 'lat' }]);
    const meta = await sharp(await s.store.get('B/p_0001_bin0.0.png')).metadata();
    expect(meta.channels).toBe(1);
  });

  it('writes Go text messages with compat', async () => {
    const s = await setup();
    await s.store.put('B/p_0001.jpg', jpg);
    const handlers = pipelineHandlers({ ...s.deps, settings: { ...s.deps.settings, thresholds: [0.2], compat: true } });
    await handlers.preprocess({ type: 'book', book: 'B' }, ctx('preprocess', s.queues.preprocess));
    expect((await take(s.queues.ocrpage)).map((m) => m.body)).toEqual(['B/p_0001_bin0.2.png ']);
  });

  it('knows page images from other objects', () => {
    for (const ok of ['p_0001.jpg', 'p_0001.JPG', 'p_0001.png', 'p_0001.tif', 'p_0001.tiff', 'scan-000123.bin.png']) expect(isOriginalName(ok), ok).toBe(true);
    for (const no of ['graph.png', 'p_0001_bin0.2.png', 'p_0001.meta.json', 'p_0001_bin0.2.hocr', 'B.binarised.pdf', 'cover.jpg']) expect(isOriginalName(no), no).toBe(false);
  });
});

describe('ocrpage', () => {
  it("OCRs one variant with the resolution recorded in it, and the job's training", async () => {
    const s = await setup();
    await s.store.put('B/p_0001.jpg', jpg);
    await s.handlers.prenowipe({ type: 'book', book: 'B' }, ctx('prenowipe', s.queues.prenowipe));
    await take(s.queues.ocrpage);
    const asked: string[] = [];
    const handlers = pipelineHandlers({ ...s.deps, engines: { get: async (t) => (asked.push(t), s.engine) } });
    await handlers.ocrpage({ type: 'ocr', book: 'B', variant: 'p_0001_bin0.2.png', training: 'lat' }, ctx('ocrpage', s.queues.ocrpage));
    await handlers.ocrpage({ type: 'ocr', book: 'B', variant: 'p_0001_bin0.1.png' }, ctx('ocrpage', s.queues.ocrpage));
    expect(asked).toEqual(['lat', 'eng']);
    expect(s.engine.calls).toEqual([
      { name: 'p_0001_bin0.2.png', dpi: expect.closeTo(300, 0) },
      { name: 'p_0001_bin0.1.png', dpi: expect.closeTo(300, 0) },
    ]);
    expect(await s.store.head('B/p_0001_bin0.2.hocr')).not.toBeNull();
    // The adaptive search: after k=0.2 (conf 82) its neighbour k=0.1 could win, so the first job
    // sent it (with the job's training); after k=0.1 the search stops.
    expect((await take(s.queues.ocrpage)).map((m) => parseMessage('ocrpage', m.body))).toEqual([
      { type: 'ocr', book: 'B', variant: 'p_0001_bin0.1.png', training: 'lat' },
    ]);
    await expect(handlers.ocrpage({ type: 'ocr', book: 'B', variant: 'p_0009_bin0.2.png' }, ctx('ocrpage', s.queues.ocrpage))).rejects.toThrow(PermanentError);
    await expect(
      handlers.ocrpage({ type: 'ocr', book: 'B', variant: 'p_0001_bin0.2.png', training: 'x.traineddata' }, ctx('ocrpage', s.queues.ocrpage)),
    ).rejects.toThrow(/language codes/);
  });

  it('a dead-lettered OCR job leaves an error record and a failure marker, so analyse does not wait for it', async () => {
    const s = await setup();
    await s.store.put('B/p_0001.jpg', jpg);
    const rec = failureRecorder(s.deps);
    const job: Job = { type: 'ocr', book: 'B', variant: 'p_0001_bin0.2.png' };
    await rec({ what: { queue: 'ocrpage', kind: 'ocrpage', messageId: 'id/1', receiveCount: 1, body: formatMessage(job) }, why: 'broken', when: new Date().toISOString(), worker: { host: 'h', pid: 2 } }, job);
    const keys = await keysUnder(s.store, 'B/');
    expect(keys).toContain('B/failed/p_0001_bin0.2.png');
    expect(keys.some((k) => /^B\/errors\/.*-ocrpage-id_1\.json$/.test(k))).toBe(true);
    // Nothing for a book that does not exist.
    await rec({ what: { queue: 'ocrpage', kind: 'ocrpage', messageId: '2', receiveCount: 1, body: '' }, why: 'x', when: new Date().toISOString(), worker: { host: 'h', pid: 2 } }, { ...job, book: 'Ghost' });
    expect(await keysUnder(s.store, 'Ghost/')).toEqual([]);
  });
});

describe('analyse', () => {
  it('defers with a fresh delayed message while OCR is unfinished, then analyses once everything is OCRed', async () => {
    const s = await setup();
    await s.store.put('B/p_0001.jpg', jpg);
    await s.store.put('B/p_0002.jpg', jpg);
    await s.handlers.prenowipe({ type: 'book', book: 'B' }, ctx('prenowipe', s.queues.prenowipe));
    const ocrJobs = await take(s.queues.ocrpage);
    // Put them back: the ocrpage queue is busy, so the deferral is not a stall.
    for (const m of ocrJobs) await s.queues.ocrpage.send(m.body);
    await s.queues.analyse.send(formatMessage({ type: 'analyse', book: 'B' }));
    await s.handlers.analyse({ type: 'analyse', book: 'B' }, ctx('analyse', s.queues.analyse));
    expect(await s.store.head('B/best')).toBeNull();
    // The old message is the runner's to delete; a new one waits, delayed.
    expect(await s.queues.analyse.counts()).toEqual({ available: 1, inFlight: 2 });
    // The first variants' OCR sends the second ones: the book is not settled after the first round.
    for (const m of await take(s.queues.ocrpage)) await s.handlers.ocrpage(parseMessage('ocrpage', m.body), ctx('ocrpage', s.queues.ocrpage));
    await s.handlers.analyse({ type: 'analyse', book: 'B' }, ctx('analyse', s.queues.analyse));
    expect(await s.store.head('B/best')).toBeNull();
    for (let ms = await take(s.queues.ocrpage); ms.length; ms = await take(s.queues.ocrpage)) {
      for (const m of ms) await s.handlers.ocrpage(parseMessage('ocrpage', m.body), ctx('ocrpage', s.queues.ocrpage));
    }
    expect(s.engine.calls).toHaveLength(4);
    await s.handlers.analyse({ type: 'analyse', book: 'B' }, ctx('analyse', s.queues.analyse));
    expect((await s.store.get('B/best')).toString()).toBe('p_0001_bin0.2.hocr\np_0002_bin0.2.hocr\n');
    expect(await s.store.head('B/graph.png')).not.toBeNull();
  });

  it('when the ocrpage queue is empty for three checks in a row, analyses without the lost variants', async () => {
    const s = await setup();
    await s.store.put('B/p_0001.jpg', jpg);
    await s.handlers.prenowipe({ type: 'book', book: 'B' }, ctx('prenowipe', s.queues.prenowipe));
    const [first] = await take(s.queues.ocrpage); // the first OCR job runs, the one it sends is lost
    await s.handlers.ocrpage(parseMessage('ocrpage', first!.body), ctx('ocrpage', s.queues.ocrpage));
    expect(await take(s.queues.ocrpage)).toHaveLength(1);
    await s.admin.purge('analyse');
    let job: Job = { type: 'analyse', book: 'B' };
    const stalls: Array<number | undefined> = [];
    for (let i = 0; i < 3; i++) {
      await s.handlers.analyse(job, ctx('analyse', s.queues.analyse));
      if (await s.store.head('B/best')) break;
      // The re-sent job (delayed): read it from the queue's state.
      const next = await new Promise<QueueMessage>((res) => {
        const t = setInterval(async () => {
          const [m] = await s.queues.analyse.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 30 });
          if (m) {
            clearInterval(t);
            res(m);
          }
        }, 100);
      });
      job = parseMessage('analyse', next.body);
      stalls.push(job.type === 'analyse' ? job.stalled : -1);
      await s.queues.analyse.delete(next.handle);
    }
    expect(stalls).toEqual([1, 2]);
    expect(await s.store.head('B/best')).not.toBeNull();
    const failed = (await s.store.get('B/failed.txt')).toString();
    expect(failed).toMatch(/\tOCR never finished/);
  }, 30_000);

  it('is a permanent failure for a book that does not exist or was never preprocessed', async () => {
    const s = await setup();
    await expect(s.handlers.analyse({ type: 'analyse', book: 'Nope' }, ctx('analyse', s.queues.analyse))).rejects.toThrow(/no such book/);
    await s.store.put('C/p_0001.jpg', jpg);
    await expect(s.handlers.analyse({ type: 'analyse', book: 'C' }, ctx('analyse', s.queues.analyse))).rejects.toThrow(/not been preprocessed/);
  });

  it('delays half a second per missing variant, between 2 and 30 s', () => {
    expect([0, 1, 5, 15, 20, 60, 61, 1000].map(analyseDelaySeconds)).toEqual([2, 2, 3, 8, 10, 30, 30, 30]);
  });
});

describe('the whole chain through the runner', () => {
  it('a book goes preprocess → ocrpage → analyse with two workers, analyse runs once', async () => {
    const s = await setup();
    for (let i = 1; i <= 3; i++) await s.store.put(`B/p_000${i}.jpg`, jpg);
    await s.queues.preprocess.send(formatMessage({ type: 'book', book: 'B' }));
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const runOne = () =>
      startWorker<QueueKind, Job>({
        queues: QUEUE_KINDS.map((kind) => ({ kind, queue: s.queues[kind], weight: kind === 'ocrpage' ? 3 : 1 })),
        parse: parseJob,
        handlers: s.handlers,
        describe: describeJob,
        recordFailure: failureRecorder(s.deps),
        concurrency: 2,
        waitSeconds: 1,
        idleCheckSeconds: 0.2,
        autostopSeconds: 0,
        exitOnComplete: true,
        log,
      }).finished;
    const [a, b] = await Promise.all([runOne(), runOne()]);
    expect(a.reason).toBe('complete');
    expect(b.reason).toBe('complete');
    // The fake engine's confidences stay below 93: the adaptive search reads both variants.
    expect(s.engine.calls).toHaveLength(6);
    expect((await s.store.get('B/best')).toString().trim().split('\n')).toHaveLength(3);
    const succeeded = a.stats.succeeded + b.stats.succeeded;
    // 1 preprocess + 6 OCR + the analyse job (+ its deferrals, each a fresh message).
    expect(succeeded).toBeGreaterThanOrEqual(8);
    expect(a.stats.deadLettered + b.stats.deadLettered).toBe(0);
    expect(lines.filter((l) => l.includes('"book analysed"'))).toHaveLength(1);
  }, 60_000);
});
