import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FONT_PATH, SearchablePdfWriter } from '../../analyse/pdf.js';
import { placeWords } from '../../analyse/pdf-text.js';
import { encodePng1 } from '../../analyse/png1.js';
import { parseHocr, type HocrPage } from '../../ocr/hocr.js';
import { SAMPLES } from '../support/paths.js';

const REAL = join(SAMPLES, 'real/opencv-imageTextN.png'); // 556×257, ~96 dpi
const BOOK = join(SAMPLES, 'book/page1.jpg'); // 2480×3508, 300 dpi JPEG
const fixture = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`../fixtures/hocr/${name}`, import.meta.url)), 'utf8');

const has = (cmd: string): boolean => spawnSync(cmd, ['-v'], { stdio: 'ignore' }).error === undefined;
const tools = has('pdftotext') && has('pdfinfo') && has('pdfimages') && has('tesseract');

const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });
const words = (text: string): string[] => text.split(/\s+/).filter((w) => w !== '');
const hocrWords = (page: HocrPage): string[] => page.lines.flatMap((l) => l.words.map((w) => w.text)).filter((t) => t !== '');

/** `pdfinfo` page sizes in points. */
function pageSizes(pdf: string): [number, number][] {
  const out = run('pdfinfo', ['-f', '1', '-l', '999', pdf]);
  return [...out.matchAll(/^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts/gm)].map((m) => [Number(m[1]), Number(m[2])]);
}

interface ImageRow {
  page: number;
  width: number;
  height: number;
  color: string;
  bpc: number;
  enc: string;
}

function imageList(pdf: string): ImageRow[] {
  return run('pdfimages', ['-list', pdf])
    .split('\n')
    .slice(2)
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const c = l.trim().split(/\s+/);
      return { page: Number(c[0]), width: Number(c[3]), height: Number(c[4]), color: c[5]!, bpc: Number(c[7]), enc: c[8]! };
    });
}

describe.skipIf(!tools)('SearchablePdfWriter', () => {
  let dir: string;
  let pdf: string;
  let bilevelHocr: HocrPage;
  let bookHocr: HocrPage;
  let bilevelPng: Buffer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bookpipeline-pdf-'));
    // Page 1: the real capture binarised to a 1-bit PNG, OCRed here by the tesseract CLI as the
    // pipeline does; page 2: a 300-dpi JPEG book page with its (fixture) CLI hOCR.
    const { data, info } = await sharp(REAL).greyscale().threshold(150).raw().toBuffer({ resolveWithObject: true });
    bilevelPng = encodePng1(data, info.width, info.height);
    writeFileSync(join(dir, 'real_bin.png'), bilevelPng);
    execFileSync(
      'tesseract',
      ['-l', 'eng', join(dir, 'real_bin.png'), join(dir, 'real_bin'), '-c', 'tessedit_create_hocr=1', '-c', 'hocr_font_info=0'],
      { stdio: 'ignore', env: { ...process.env, OMP_THREAD_LIMIT: '1' } },
    );
    bilevelHocr = parseHocr(readFileSync(join(dir, 'real_bin.hocr'), 'utf8'));
    bookHocr = parseHocr(fixture('book-page1-cli.hocr'));

    pdf = join(dir, 'book.pdf');
    const w = await SearchablePdfWriter.open(pdf, { title: 'Test book' });
    await w.addPage({ image: bilevelPng, imageWidth: 556, imageHeight: 257, dpi: 96, hocr: bilevelHocr });
    await w.addPage({ image: readFileSync(BOOK), imageWidth: 2480, imageHeight: 3508, hocr: bookHocr });
    expect(w.pages).toBe(2);
    await w.close();
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has the pages, sized pixels × 72 / dpi (300 when not given)', () => {
    const sizes = pageSizes(pdf);
    expect(sizes).toHaveLength(2);
    expect(sizes[0]![0]).toBeCloseTo((556 * 72) / 96, 1);
    expect(sizes[0]![1]).toBeCloseTo((257 * 72) / 96, 1);
    expect(sizes[1]![0]).toBeCloseTo((2480 * 72) / 300, 1);
    expect(sizes[1]![1]).toBeCloseTo((3508 * 72) / 300, 1);
    expect(run('pdfinfo', [pdf])).toMatch(/^Title:\s+Test book$/m);
  });

  it('gives back the OCR words in reading order (pdftotext plain and -layout)', () => {
    expect(hocrWords(bilevelHocr).length).toBeGreaterThan(100);
    for (const layout of [[], ['-layout']]) {
      expect(words(run('pdftotext', [...layout, '-f', '1', '-l', '1', pdf, '-']))).toEqual(hocrWords(bilevelHocr));
      expect(words(run('pdftotext', [...layout, '-f', '2', '-l', '2', pdf, '-']))).toEqual(hocrWords(bookHocr));
    }
    const lines = run('pdftotext', ['-f', '2', '-l', '2', pdf, '-']).split('\n');
    expect(lines[0]).toBe('The Harbour at Kestrel Bay');
  });

  it('keeps the bilevel page at 1 bit per pixel, losslessly, and passes the JPEG through', () => {
    const images = imageList(pdf);
    expect(images).toEqual([
      { page: 1, width: 556, height: 257, color: 'gray', bpc: 1, enc: 'image' },
      { page: 2, width: 2480, height: 3508, color: 'gray', bpc: 8, enc: 'jpeg' },
    ]);
    run('pdfimages', ['-all', '-f', '1', '-l', '2', pdf, join(dir, 'img')]);
    const files = readdirSync(dir).filter((f) => f.startsWith('img-')).sort();
    expect(files).toEqual(['img-000.png', 'img-001.jpg']);
    expect(readFileSync(join(dir, 'img-001.jpg')).equals(readFileSync(BOOK))).toBe(true);
    return Promise.all([
      sharp(join(dir, 'img-000.png')).toColourspace('b-w').raw().toBuffer(),
      sharp(bilevelPng).toColourspace('b-w').raw().toBuffer(),
    ]).then(([got, want]) => expect(got.equals(want)).toBe(true));
  });

  it('places the words on their image boxes', () => {
    // pdftotext -bbox: word boxes in points; the hOCR ones scaled by 72/96.
    const xml = run('pdftotext', ['-bbox', '-f', '1', '-l', '1', pdf, '-']);
    const boxes = [...xml.matchAll(/<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<\/word>/g)];
    const hocr = bilevelHocr.lines.flatMap((l) => l.words).filter((w) => w.text !== '');
    expect(boxes).toHaveLength(hocr.length);
    const k = 72 / 96;
    boxes.forEach((m, i) => {
      const [x0, , x1] = hocr[i]!.bbox;
      expect(Number(m[1])).toBeCloseTo(x0 * k, 0);
      expect(Number(m[3])).toBeCloseTo(x1 * k, 0);
    });
  });

  it('embeds the shipped TrueType font', () => {
    expect(existsSync(FONT_PATH)).toBe(true);
    expect(run('pdffonts', [pdf])).toMatch(/DejaVuSansCondensed\s+CID TrueType\s+Identity-H\s+yes\s+yes\s+yes/);
  });

  it('writes blank pages (no hOCR, or no words) as image-only pages, and scales hOCR to a smaller image', async () => {
    const out = join(dir, 'blank.pdf');
    const w = await SearchablePdfWriter.open(out);
    const real = readFileSync(REAL);
    await w.addPage({ image: real, imageWidth: 556, imageHeight: 257, dpi: 96, hocr: null });
    await w.addPage({ image: real, imageWidth: 556, imageHeight: 257, dpi: 96, hocr: parseHocr(fixture('blank-cli.hocr')) });
    // The same capture at half size, with the hOCR of the full-size one (page stays the same size).
    const half = await sharp(real).resize(278, 129).png().toBuffer();
    const full = parseHocr(fixture('opencv-cli.hocr'));
    await w.addPage({ image: half, imageWidth: 278, imageHeight: 129, dpi: 48, hocr: full });
    await w.close();
    expect(pageSizes(out)).toHaveLength(3);
    expect(run('pdftotext', ['-f', '1', '-l', '2', out, '-']).trim()).toBe('');
    expect(words(run('pdftotext', ['-f', '3', '-l', '3', out, '-']))).toEqual(hocrWords(full));
    const sizes = pageSizes(out);
    expect(sizes[2]![0]).toBeCloseTo(sizes[0]![0], 0);
    const xml = run('pdftotext', ['-bbox', '-f', '3', '-l', '3', out, '-']);
    const first = /<word xMin="([\d.]+)"[^>]*>technical<\/word>/.exec(xml);
    expect(Number(first?.[1])).toBeCloseTo(31 * 0.75, 0);
  });

  it('rejects a page whose image does not match its declared size, adding nothing', async () => {
    const out = join(dir, 'bad.pdf');
    const w = await SearchablePdfWriter.open(out);
    await expect(w.addPage({ image: readFileSync(REAL), imageWidth: 100, imageHeight: 257, hocr: null })).rejects.toThrow(
      /image is 556×257 px, but imageWidth×imageHeight is 100×257/,
    );
    await expect(w.addPage({ image: Buffer.from('garbage'), imageWidth: 1, imageHeight: 1, hocr: null })).rejects.toThrow();
    expect(w.pages).toBe(0);
    await w.addPage({ image: readFileSync(REAL), imageWidth: 556, imageHeight: 257, hocr: null });
    await w.close();
    expect(pageSizes(out)).toHaveLength(1);
    await expect(w.addPage({ image: readFileSync(REAL), imageWidth: 556, imageHeight: 257, hocr: null })).rejects.toThrow(/after close/);
  });

  it('rejects opening a file in a missing directory; abort removes the partial file', async () => {
    await expect(SearchablePdfWriter.open(join(dir, 'no', 'such', 'dir.pdf'))).rejects.toThrow(/ENOENT/);
    const out = join(dir, 'aborted.pdf');
    const w = await SearchablePdfWriter.open(out);
    await w.addPage({ image: readFileSync(REAL), imageWidth: 556, imageHeight: 257, hocr: null });
    await w.abort();
    expect(existsSync(out)).toBe(false);
    // after a completed close, abort leaves the finished file alone
    const done = join(dir, 'done.pdf');
    const w2 = await SearchablePdfWriter.open(done);
    await w2.addPage({ image: readFileSync(REAL), imageWidth: 556, imageHeight: 257, hocr: null });
    await w2.close();
    await w2.abort();
    expect(pageSizes(done)).toHaveLength(1);
  });

  it('places a JPEG as stored, ignoring its EXIF orientation (the pixels Tesseract read)', async () => {
    const jpeg = await sharp(readFileSync(REAL)).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).toBe(6);
    const out = join(dir, 'exif.pdf');
    const w = await SearchablePdfWriter.open(out);
    await w.addPage({ image: jpeg, imageWidth: 556, imageHeight: 257, dpi: 72, hocr: parseHocr(fixture('opencv-cli.hocr')) });
    await w.close();
    expect(pageSizes(out)).toEqual([[556, 257]]);
    expect(imageList(out)[0]).toMatchObject({ width: 556, height: 257, enc: 'jpeg' });
    expect(words(run('pdftotext', [out, '-']))[0]).toBe('technical');
  });

  it('serialises concurrent addPage calls in call order', async () => {
    const out = join(dir, 'concurrent.pdf');
    const w = await SearchablePdfWriter.open(out);
    const real = readFileSync(REAL);
    const full = parseHocr(fixture('opencv-cli.hocr'));
    await Promise.all([
      w.addPage({ image: real, imageWidth: 556, imageHeight: 257, dpi: 96, hocr: full }),
      w.addPage({ image: real, imageWidth: 556, imageHeight: 257, dpi: 200, hocr: null }),
    ]);
    await w.close();
    const sizes = pageSizes(out);
    expect(sizes[0]![0]).toBeCloseTo(417, 0);
    expect(sizes[1]![0]).toBeCloseTo((556 * 72) / 200, 0);
  });
});

describe('placeWords', () => {
  const page: HocrPage = {
    width: 1000,
    height: 500,
    lines: [
      {
        bbox: [100, 100, 900, 150],
        baseline: [0.01, -10],
        words: [
          { text: 'a', bbox: [100, 100, 200, 140] },
          { text: '', bbox: [250, 100, 260, 140] },
          { text: 'b', bbox: [800, 110, 900, 150] },
        ],
      },
      { bbox: [100, 200, 300, 240], words: [{ text: 'c', bbox: [100, 200, 300, 240] }] },
      { bbox: [100, 300, 300, 300], words: [{ text: 'flat', bbox: [100, 300, 300, 300] }] },
    ],
  };

  it('puts all words of a line on one baseline (at mid-line, from hOCR), sized by the line height', () => {
    const placed = placeWords(page, 500, 250); // half scale
    expect(placed.map((p) => p.text)).toEqual(['a', 'b', 'c']); // empty word and zero-height line skipped
    const [a, b, c] = placed;
    // baseline = (150 - 10 + 0.01 × 800 / 2) / 2
    expect(a!.baseline).toBeCloseTo(72, 6);
    expect(b!.baseline).toBe(a!.baseline);
    expect(a).toMatchObject({ x: 50, width: 50, fontSize: 25 });
    expect(b).toMatchObject({ x: 400, width: 50 });
    // no baseline: the bottom of the line box
    expect(c).toMatchObject({ x: 50, baseline: 120, width: 100, fontSize: 20 });
  });

  it('scales from a different hOCR image size', () => {
    const placed = placeWords(page, 500, 250, 2000, 1000); // hOCR made on a 2000×1000 image
    expect(placed[2]).toMatchObject({ x: 25, baseline: 60, width: 50, fontSize: 10 });
    expect(placeWords(page, 500, 250, 0, 0)).toEqual([]);
  });
});
