import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createWorker, OEM, PSM, type Worker } from 'tesseract.js';
import { hocrDocument, OcrError, type OcrEngine, type OcrInput, type OcrOutput } from './engine.js';
import type { Training } from './training.js';

export interface EmbeddedOptions {
  /** Workers (threads) in the pool. */
  workers: number;
  /** A worker is replaced after this many pages: tesseract.js memory only grows. */
  recycleAfter: number;
  /** How long a worker may take to load its model before we give up (a bad model never settles). */
  loadTimeoutMs?: number;
}

interface Slot {
  worker: Worker | null;
  pages: number;
  busy: boolean;
  /** The error the worker reported through errorHandler for its current job, if any. */
  lastError: unknown;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new OcrError(`${what} did not finish within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * tesseract.js (Tesseract compiled to WebAssembly) in a pool of worker threads. The language data is
 * read from disk and handed over as bytes, so nothing is ever fetched from the network.
 */
export class EmbeddedEngine implements OcrEngine {
  readonly name = 'embedded' as const;
  private readonly slots: Slot[];
  private readonly waiters: Array<(s: Slot) => void> = [];
  private langDir: string | null = null;
  private closed = false;

  constructor(
    private readonly training: Training,
    private readonly opts: EmbeddedOptions,
  ) {
    this.slots = Array.from({ length: Math.max(1, opts.workers) }, () => ({ worker: null, pages: 0, busy: false, lastError: null }));
  }

  /**
   * A folder of links `<code>.traineddata` to the model files. tesseract.js reads models from a
   * local langPath (gzipped ones are recognised by their magic bytes); it never gets a chance to use
   * its default download address. (Handing it the bytes as `{code, data}` hits a tesseract.js bug
   * that names the language by its data.)
   */
  private langPath(): string {
    if (!this.langDir) {
      const dir = mkdtempSync(join(tmpdir(), 'bookpipeline-lang-'));
      for (const f of this.training.files) symlinkSync(resolve(f.path), join(dir, `${f.code}.traineddata`));
      this.langDir = dir;
    }
    return this.langDir;
  }

  private async startWorker(slot: Slot): Promise<Worker> {
    const worker = await withTimeout(
      createWorker(this.training.lang, OEM.LSTM_ONLY, {
        langPath: this.langPath(),
        cacheMethod: 'none',
        gzip: false,
        errorHandler: (e: unknown) => {
          slot.lastError = e;
        },
      }),
      this.opts.loadTimeoutMs ?? 120_000,
      `loading training "${this.training.spec}"`,
    );
    // The CLI's default is automatic page segmentation (3); tesseract.js's is 6, which reads
    // gutters and specks as text.
    // debug_file: Tesseract's own chatter ("Detected 37 diacritics", "Estimating resolution")
    // goes to the thread's stdout and would tear through progress bars.
    await worker.setParameters({ tessedit_pageseg_mode: PSM.AUTO, debug_file: '/dev/null' });
    return worker;
  }

  private acquire(): Promise<Slot> {
    const free = this.slots.find((s) => !s.busy);
    if (free) {
      free.busy = true;
      return Promise.resolve(free);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(slot: Slot): void {
    const next = this.waiters.shift();
    if (next) next(slot);
    else slot.busy = false;
  }

  async recognize(input: OcrInput, signal?: AbortSignal): Promise<OcrOutput> {
    if (this.closed) throw new Error('OCR engine is closed');
    const slot = await this.acquire();
    try {
      signal?.throwIfAborted();
      if (slot.worker && slot.pages >= this.opts.recycleAfter) {
        await slot.worker.terminate().catch(() => undefined);
        slot.worker = null;
      }
      slot.worker ??= await this.startWorker(slot);
      slot.pages++;
      slot.lastError = null;
      // Parameters persist in a worker: always set the dpi, 0 (tesseract's default) when unknown.
      await slot.worker.setParameters({ user_defined_dpi: String(input.dpi ? Math.round(input.dpi) : 0) });
      let res;
      try {
        res = await slot.worker.recognize(input.image, {}, { hocr: true, text: false, blocks: false });
      } catch (e) {
        // A failed job can leave the worker in a bad state: start a fresh one next time.
        await slot.worker.terminate().catch(() => undefined);
        slot.worker = null;
        throw new OcrError(`OCR of ${input.name} failed: ${String(slot.lastError ?? e)}`, { cause: e });
      }
      const hocr = res.data.hocr;
      if (typeof hocr !== 'string') throw new OcrError(`OCR of ${input.name} gave no hOCR`);
      return { hocr: hocrDocument(hocr, input.name) };
    } finally {
      this.release(slot);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.slots.map(async (s) => {
        const w = s.worker;
        s.worker = null;
        if (w) await w.terminate().catch(() => undefined);
      }),
    );
    if (this.langDir) rmSync(this.langDir, { recursive: true, force: true });
    this.langDir = null;
  }
}
