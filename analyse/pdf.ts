// Searchable PDF, written page by page: each page is its scan with the OCR text invisible on top.
//
// Unlike the original (everything held in memory until the end, every image re-encoded as JPEG
// q75 at 1000 px high), pages go to the file as they are added, JPEGs pass through and bilevel
// images are stored losslessly at 1 bit per pixel (see pdf-image.ts).
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { once, type EventEmitter } from 'node:events';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import PDFDocument from 'pdfkit';
import type { HocrPage } from '../ocr/hocr.js';
import { preparePdfImage } from './pdf-image.js';
import { placeWords } from './pdf-text.js';

/** DejaVu Sans Condensed, shipped in `assets/` (licence next to it); subset-embedded. */
export const FONT_PATH = fileURLToPath(new URL('../assets/DejaVuSansCondensed.ttf', import.meta.url));
const FONT_NAME = 'ocrtext';

export const DEFAULT_DPI = 300;

export interface PdfPageInput {
  /** JPEG, PNG (any bit depth), or another format sharp reads. */
  image: Buffer;
  /** Pixel size of `image` (checked against the image itself). */
  imageWidth: number;
  imageHeight: number;
  /** Resolution of `image`; the page is pixels × 72 / dpi points. Default 300. */
  dpi?: number;
  /** OCR of the page; null or no words: an image-only page. */
  hocr: HocrPage | null;
  /** Pixel size of the image the hOCR was made from, if not `hocr`'s page size. */
  hocrWidth?: number;
  hocrHeight?: number;
}

export interface PdfWriterOptions {
  title?: string;
  /** Store images whose pixels are all pure black or white at 1 bit per pixel. Default true. */
  packBilevel?: boolean;
}

// pdfkit API its type declarations lack (all present in pdfkit 0.20).
type TextOptionsX = PDFKit.Mixins.TextOptions & { horizontalScaling?: number };
type ImageOptionsX = PDFKit.Mixins.ImageOption & { ignoreOrientation?: boolean };
/** pdfkit's parsed image (`doc.openImage`), accepted by `doc.image` in place of the bytes. */
interface OpenedImage {
  width: number;
  height: number;
}
interface DocWithOpenImage {
  openImage(src: Buffer): OpenedImage;
  image(src: OpenedImage, x: number, y: number, options: ImageOptionsX): unknown;
}

let fontData: Buffer | undefined;

/** Resolves on `event`, rejects on 'error'; removes both listeners either way. */
function waitEvent(em: EventEmitter, event: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onEvent = (): void => {
      em.off('error', onError);
      resolve();
    };
    const onError = (err: Error): void => {
      em.off(event, onEvent);
      reject(err);
    };
    em.once(event, onEvent);
    em.once('error', onError);
  });
}

export class SearchablePdfWriter {
  private pageCount = 0;
  private failure: Error | null = null;
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  private complete = false;

  private constructor(
    private readonly path: string,
    private readonly doc: PDFKit.PDFDocument,
    private readonly out: WriteStream,
    private readonly packBilevel: boolean,
  ) {
    out.on('error', (err) => {
      this.failure ??= err;
    });
    doc.on('data', (chunk: Buffer) => {
      if (!this.failure) out.write(chunk);
    });
  }

  /** Creates (or truncates) the file at `path`; rejects if it cannot be opened. */
  static async open(path: string, opts: PdfWriterOptions = {}): Promise<SearchablePdfWriter> {
    fontData ??= readFileSync(FONT_PATH);
    const out = createWriteStream(path);
    await waitEvent(out, 'open');
    const info: PDFKit.DocumentInfo = { Producer: 'bookpipeline (pdfkit)', Creator: 'bookpipeline' };
    if (opts.title !== undefined) info.Title = opts.title;
    const doc = new PDFDocument({
      autoFirstPage: false,
      compress: true,
      info,
      displayTitle: opts.title !== undefined,
    });
    doc.registerFont(FONT_NAME, fontData);
    return new SearchablePdfWriter(path, doc, out, opts.packBilevel ?? true);
  }

  /** Pages added so far. */
  get pages(): number {
    return this.pageCount;
  }

  /**
   * Adds a page: the image over the whole page and, if there is OCR text, the invisible text layer.
   * Calls are serialised; the image is validated before the page is started, so a rejected call
   * adds nothing. Resolves once the page's data has been handed to the file.
   */
  addPage(p: PdfPageInput): Promise<void> {
    const run = this.tail.then(() => this.writePage(p));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Finishes the PDF and closes the file. */
  async close(): Promise<void> {
    await this.tail;
    if (this.closed) return;
    this.closed = true;
    const ended = once(this.doc, 'end');
    this.doc.end();
    await ended;
    if (this.failure) {
      this.out.destroy();
      throw this.failure;
    }
    this.out.end();
    await finished(this.out);
    this.complete = true;
  }

  /** Stops writing and deletes the partial file (no-op once `close` has completed). */
  async abort(): Promise<void> {
    await this.tail;
    if (this.complete) return;
    this.closed = true;
    this.out.destroy();
    await unlink(this.path).catch(() => undefined);
  }

  private async writePage(p: PdfPageInput): Promise<void> {
    if (this.closed) throw new Error('SearchablePdfWriter: addPage after close');
    if (this.failure) throw this.failure;
    const dpi = p.dpi ?? DEFAULT_DPI;
    if (!(dpi > 0) || !Number.isFinite(dpi)) throw new RangeError(`bad dpi ${p.dpi}`);
    const img = await preparePdfImage(p.image, { packBilevel: this.packBilevel });
    if (img.width !== p.imageWidth || img.height !== p.imageHeight) {
      throw new Error(
        `page ${this.pageCount + 1}: image is ${img.width}×${img.height} px, but imageWidth×imageHeight is ${p.imageWidth}×${p.imageHeight}`,
      );
    }
    const width = (p.imageWidth * 72) / dpi;
    const height = (p.imageHeight * 72) / dpi;

    const doc = this.doc;
    // Parsed by pdfkit before the page is started, so that an image it cannot read adds no page.
    const docImages = doc as unknown as DocWithOpenImage;
    const opened = docImages.openImage(img.data);
    doc.addPage({ size: [width, height], margin: 0 }); // writes out the previous page's content
    this.pageCount++;
    // EXIF orientation is ignored: the pixels are placed as stored, as Tesseract read them.
    docImages.image(opened, 0, 0, { width, height, ignoreOrientation: true });

    if (p.hocr) {
      const words = placeWords(p.hocr, width, height, p.hocrWidth ?? p.hocr.width, p.hocrHeight ?? p.hocr.height);
      if (words.length > 0) {
        doc.save();
        doc.font(FONT_NAME);
        doc.addContent('3 Tr'); // text render mode 3: neither fill nor stroke (invisible)
        for (const w of words) {
          doc.fontSize(w.fontSize);
          const natural = doc.widthOfString(w.text);
          const scaling = natural > 0 && w.width > 0 ? Math.min(Math.max((w.width / natural) * 100, 1), 10000) : 100;
          const textOpts: TextOptionsX = {
            lineBreak: false,
            baseline: 'alphabetic',
            horizontalScaling: Math.round(scaling * 100) / 100,
          };
          // The trailing space gives copy and paste (and pdftotext) a space between words.
          doc.text(`${w.text} `, w.x, w.baseline, textOpts);
        }
        doc.restore();
      }
    }

    // Let the data events run, then wait for the file to catch up, so memory stays flat.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.out.writableNeedDrain && !this.failure) await waitEvent(this.out, 'drain');
    if (this.failure) throw this.failure;
  }
}
