import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeGrey } from '../../preprocess/codec.js';
import { MAX_SKEW_DEGREES, boxReduce, estimateSkew, rotateGrey } from '../../preprocess/deskew.js';
import type { Grey } from '../../preprocess/image.js';
import { SAMPLES } from '../support/paths.js';
import { rng } from '../support/random-images.js';

const TEXT = join(SAMPLES, 'generator/texts/page2.txt');
const BOOK_PAGE = join(SAMPLES, 'book/page1.jpg'); // generated with sharp rotate(0.9)

/** A straight A5 page at 150 dpi: text rendered by sharp/Pango onto white paper. */
async function straightPage(): Promise<Grey> {
  const W = 874;
  const H = 1240;
  const text = readFileSync(TEXT, 'utf8').trim();
  const { data: mask, info } = await sharp({ text: { text, font: 'DejaVu Serif 12', dpi: 150, width: W - 160, wrap: 'word' } })
    .greyscale()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const page = new Uint8Array(W * H).fill(255);
  for (let y = 0; y < info.height && y + 120 < H; y++) {
    for (let x = 0; x < info.width; x++) page[(y + 120) * W + x + 80] = 255 - (mask[(y * info.width + x) * info.channels] ?? 0);
  }
  return { width: W, height: H, data: page };
}

/** The page rotated by sharp (positive = clockwise), cropped back to its size around the centre. */
async function sharpRotated(img: Grey, degrees: number): Promise<Grey> {
  const rot = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 1 } })
    .rotate(degrees, { background: '#ffffff' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const left = (rot.info.width - img.width) >> 1;
  const top = (rot.info.height - img.height) >> 1;
  const crop = await sharp(rot.data, { raw: { width: rot.info.width, height: rot.info.height, channels: rot.info.channels } })
    .extract({ left, top, width: img.width, height: img.height })
    .extractChannel(0)
    .raw()
    .toBuffer();
  return { width: img.width, height: img.height, data: new Uint8Array(crop) };
}

let page: Grey;
beforeAll(async () => {
  page = await straightPage();
});

describe('estimateSkew', () => {
  it('finds each rotation of a straight text page within 0.2°', () => {
    const angles = [-10, -7, -3, -1.5, -0.5, 0, 0.4, 2, 5, 10];
    for (const a of angles) {
      const found = estimateSkew(rotateGrey(page, a, 255));
      expect(Math.abs(found - a), `rotated ${a}°, found ${found}°`).toBeLessThanOrEqual(0.2);
    }
  });

  it('agrees with sharp on the sign: positive is clockwise, and -estimate straightens', async () => {
    for (const a of [3, -2]) {
      const rotated = await sharpRotated(page, a);
      const found = estimateSkew(rotated);
      expect(Math.abs(found - a), `sharp rotate(${a}) found ${found}`).toBeLessThanOrEqual(0.2);
      const straightened = rotateGrey(rotated, -found, 255);
      expect(Math.abs(estimateSkew(straightened))).toBeLessThanOrEqual(0.2);
    }
  });

  it('finds the 0.9° of a 300-dpi book page within a time budget', async () => {
    const { img } = await decodeGrey(BOOK_PAGE, { maxPixels: 50_000_000 });
    expect([img.width, img.height]).toEqual([2480, 3508]);
    const times: number[] = [];
    let found = NaN;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      found = estimateSkew(img);
      times.push(performance.now() - t0);
    }
    expect(Math.abs(found - 0.9)).toBeLessThanOrEqual(0.2);
    expect(Math.min(...times)).toBeLessThan(500);
  });

  it('returns 0 for a blank or speckled page and stays within the search range', () => {
    const blank: Grey = { width: 300, height: 400, data: new Uint8Array(300 * 400).fill(240) };
    expect(estimateSkew(blank)).toBe(0);
    // random dark specks (mulberry32), no line structure
    const rnd = rng(5);
    const specks = new Uint8Array(900 * 1200).fill(230);
    for (let i = 0; i < 4000; i++) {
      const p = Math.floor(rnd() * (specks.length - 1));
      specks[p] = 30;
      specks[p + 1] = 30;
    }
    expect(estimateSkew({ width: 900, height: 1200, data: specks })).toBe(0);
    const found = estimateSkew(rotateGrey(page, 14, 255));
    expect(Math.abs(found)).toBeLessThanOrEqual(MAX_SKEW_DEGREES);
  });
});

describe('rotateGrey', () => {
  const small: Grey = { width: 5, height: 5, data: Uint8Array.from({ length: 25 }, (_, i) => i * 10) };

  it('is an exact copy at 0°, a reversal at 180° and a clockwise quarter turn at 90°', () => {
    expect(Array.from(rotateGrey(small, 0, 0).data)).toEqual(Array.from(small.data));
    const r180 = rotateGrey(small, 180, 0);
    expect(Array.from(r180.data)).toEqual(Array.from(small.data).reverse());
    const r90 = rotateGrey(small, 90, 0);
    // clockwise: the top-left corner goes to the top-right, out(x, y) = in(y, w - 1 - x)
    for (let y = 0; y < 5; y++) for (let x = 0; x < 5; x++) expect(r90.data[y * 5 + x]).toBe(small.data[(4 - x) * 5 + y]);
    const rect: Grey = { width: 6, height: 3, data: Uint8Array.from({ length: 18 }, (_, i) => 100 + i) };
    expect(Array.from(rotateGrey(rect, 180, 0).data)).toEqual(Array.from(rect.data).reverse());
  });

  it('fills uncovered corners with the background and keeps the size', () => {
    const out = rotateGrey(page, 10, 77);
    expect([out.width, out.height]).toEqual([page.width, page.height]);
    expect(out.data[0]).toBe(77);
    expect(out.data[out.data.length - 1]).toBe(77);
  });

  it('matches sharp’s rotation of the same page', async () => {
    const ours = rotateGrey(page, 3, 255);
    const theirs = await sharpRotated(page, 3);
    // compare away from the borders: interpolation differs slightly, the geometry must not
    let diff = 0;
    let n = 0;
    for (let y = 100; y < page.height - 100; y++) {
      for (let x = 100; x < page.width - 100; x++) {
        diff += Math.abs((ours.data[y * page.width + x] ?? 0) - (theirs.data[y * page.width + x] ?? 0));
        n++;
      }
    }
    expect(diff / n).toBeLessThan(6);
  });
});

describe('boxReduce', () => {
  it('averages blocks, partial blocks included', () => {
    const img: Grey = { width: 5, height: 3, data: Uint8Array.from([0, 2, 4, 6, 9, 10, 12, 14, 16, 21, 100, 100, 100, 100, 100]) };
    const out = boxReduce(img, 2);
    expect([out.width, out.height]).toEqual([3, 2]);
    expect(Array.from(out.data)).toEqual([6, 10, 15, 100, 100, 100]);
    expect(boxReduce(img, 1)).toBe(img);
  });
});
