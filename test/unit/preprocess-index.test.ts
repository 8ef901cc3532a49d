import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeGrey } from '../../preprocess/codec.js';
import { countDifferentPixels, type Grey } from '../../preprocess/image.js';
import { binariseVariants, wipeOnly } from '../../preprocess/index.js';
import { computeIntegrals } from '../../preprocess/integral.js';
import { median3 } from '../../preprocess/median.js';
import { sauvola, sauvolaWindow } from '../../preprocess/sauvola.js';
import { wipeBinarised } from '../../preprocess/wipe.js';
import { SAMPLES } from '../support/paths.js';

const BOOK_PAGE = join(SAMPLES, 'book/page1.jpg');

/** A page-like test image: paper with a dark gutter on the left, text lines, noise. */
function page(width: number, height: number): Grey {
  let s = 7;
  const r = (): number => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x80000000;
  };
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = 210 + (r() - 0.5) * 30;
      if (x < width * 0.08) v *= 0.2 + (x / (width * 0.08)) * 0.8; // gutter shadow
      const inText = x > width * 0.2 && x < width * 0.85 && y > height * 0.1 && y < height * 0.9;
      if (inText && y % 14 < 6 && (x * 3 + y) % 13 < 7) v = 50 + r() * 30;
      data[y * width + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return { width, height, data };
}

describe('binariseVariants', () => {
  const img = page(400, 560);
  const ks = [0.1, 0.2, 0.4, 0.5];

  it('is Sauvola per k in the given order, then the wipe with thresholds k × 0.02', () => {
    const out = binariseVariants(img, ks, { wipe: true, denoise: false });
    expect(out.map((v) => v.k)).toEqual(ks);
    const ints = computeIntegrals(img);
    let wiped = 0;
    for (const { k, img: got } of out) {
      const bin = sauvola(img, ints, k, sauvolaWindow(img.width));
      const expected = wipeBinarised(bin, k * 0.02, k * 0.02);
      expect(countDifferentPixels(got, expected), `k ${k}`).toBe(0);
      if (countDifferentPixels(got, bin) > 0) wiped++;
    }
    // the wipe really ran: on this page it removes something from some variants
    expect(wiped).toBeGreaterThan(0);
  });

  it('without wipe returns the plain Sauvola variants', () => {
    const out = binariseVariants(img, [0.3, 0.1], { wipe: false, denoise: false });
    const ints = computeIntegrals(img);
    expect(out.map((v) => v.k)).toEqual([0.3, 0.1]);
    for (const { k, img: got } of out) expect(countDifferentPixels(got, sauvola(img, ints, k, sauvolaWindow(img.width)))).toBe(0);
  });

  it('with denoise binarises the 3×3 median of the page', () => {
    const [v] = binariseVariants(img, [0.2], { wipe: false, denoise: true });
    const m = median3(img);
    expect(countDifferentPixels(v?.img ?? img, sauvola(m, computeIntegrals(m), 0.2, sauvolaWindow(m.width)))).toBe(0);
  });

  it('does not modify its input and handles no k', () => {
    const before = img.data.slice();
    binariseVariants(img, ks, { wipe: true, denoise: true });
    expect(Buffer.compare(Buffer.from(before), Buffer.from(img.data))).toBe(0);
    expect(binariseVariants(img, [], { wipe: true, denoise: true })).toEqual([]);
  });

  it('binarises a real 300-dpi page into plausible variants', async () => {
    const { img: real } = await decodeGrey(BOOK_PAGE, { maxPixels: 50_000_000 });
    const out = binariseVariants(real, [0.1, 0.3], { wipe: true, denoise: true });
    const inkShare = (g: Grey): number => {
      let n = 0;
      for (let i = 0; i < g.data.length; i++) if (g.data[i] === 0) n++;
      return n / g.data.length;
    };
    const [lo, hi] = out.map((v) => inkShare(v.img));
    expect(lo).toBeGreaterThan(0.02);
    expect(lo).toBeLessThan(0.25);
    // higher k: thinner strokes, less ink
    expect(hi).toBeLessThan(lo ?? 0);
    for (const v of out) for (let i = 0; i < v.img.data.length; i += 997) expect([0, 255]).toContain(v.img.data[i]);
  });
});

describe('wipeOnly', () => {
  it('wipes the image as it is with thresholds 0.03 / 0.005', () => {
    const img = page(300, 420);
    expect(countDifferentPixels(wipeOnly(img), wipeBinarised(img, 0.03, 0.005))).toBe(0);
  });
});
