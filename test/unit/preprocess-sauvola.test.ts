import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeGrey, encodePng1 } from '../../preprocess/codec.js';
import { countDifferentPixels, type Grey } from '../../preprocess/image.js';
import { computeIntegrals } from '../../preprocess/integral.js';
import { goThresholdBit, sauvola, sauvolaMulti, sauvolaVariants, sauvolaWindow } from '../../preprocess/sauvola.js';
import { SAMPLES } from '../support/paths.js';
import { randomGrey, randomImage } from '../support/random-images.js';

const here = dirname(fileURLToPath(import.meta.url));
const GOLDEN_DIR = join(here, '..', 'golden');
const REAL_PAGE = join(SAMPLES, 'real/opencv-imageTextN.png');
const BOOK_PAGE = join(SAMPLES, 'book/page3.jpg');

/** Go's math.Round: half away from zero (a − trunc(a) is exact in float64). */
function goRound(t: number): number {
  if (!Number.isFinite(t)) return t;
  const a = Math.abs(t);
  const i = Math.trunc(a);
  const r = a - i >= 0.5 ? i + 1 : i;
  return t < 0 ? -r : r;
}

/** Go's uint8(float64) on amd64 for an integral value: the low byte; NaN gives 0. */
function goUint8(r: number): number {
  if (Number.isNaN(r)) return 0;
  return ((r % 256) + 256) % 256;
}

/**
 * Straightforward restatement of rescribe.xyz/preproc PreCalcedSauvola + integral.MeanStdDev: for
 * each pixel, loop over the rectangle [x-step-1, x+step) × [y-step-1, y+step) clipped to the image,
 * on Gray16 values (v * 257).
 */
function naiveSauvola(img: Grey, k: number, window: number): Grey {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(w * h);
  const step = Math.floor(window / 2);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      let sq = 0;
      let n = 0;
      for (let yy = Math.max(0, y - step - 1); yy < Math.min(h, y + step); yy++) {
        for (let xx = Math.max(0, x - step - 1); xx < Math.min(w, x + step); xx++) {
          const g = data[yy * w + xx] * 257;
          sum += g;
          sq += g * g;
          n++;
        }
      }
      const mean = sum / n;
      const smean = sq / n;
      const dev = Math.sqrt(smean - mean * mean);
      const m8 = mean / 255;
      const dev8 = dev / 255;
      const threshold = m8 * (1 + k * (dev8 / 128 - 1));
      out[y * w + x] = data[y * w + x] < goUint8(goRound(threshold)) ? 0 : 255;
    }
  }
  return { width: w, height: h, data: out };
}

type Kind = 'uniform' | 'page' | 'levels' | 'extremes';

function makeImage(width: number, height: number, kind: Kind, seed: number): Grey {
  if (kind === 'uniform') return randomGrey(width, height, seed);
  return randomImage(width, height, seed, (x, y, r) => {
    switch (kind) {
      case 'page': {
        // paper with noise and a light gradient, dark strokes
        const paper = 200 + 30 * (x / width) - 20 * (y / height) + (r() - 0.5) * 24;
        const ink = (y % 9 < 3 && (x * 7 + y) % 11 < 6) || r() < 0.03;
        return Math.max(0, Math.min(255, Math.round(ink ? 40 + r() * 50 : paper)));
      }
      case 'levels':
        // few distinct values: many windows share statistics, thresholds land on exact halves
        return [100, 101, 150, 255, 0][Math.floor(r() * 5)] ?? 0;
      case 'extremes':
        // large flat white areas (T = 257 · (1 − k), the uint8 wrap at k = 0) and black blocks
        return (x >> 3) % 3 === 0 && (y >> 3) % 2 === 0 ? 0 : r() < 0.02 ? 254 : 255;
    }
  });
}

function expectSame(actual: Grey, expected: Grey, label: string): void {
  expect(actual.width, label).toBe(expected.width);
  expect(actual.height, label).toBe(expected.height);
  const diff = countDifferentPixels(actual, expected);
  expect(diff, `${label}: ${diff} differing pixels`).toBe(0);
}

describe('sauvolaWindow', () => {
  it('is width/60 made odd', () => {
    expect(sauvolaWindow(2480)).toBe(41);
    expect(sauvolaWindow(3000)).toBe(51);
    expect(sauvolaWindow(556)).toBe(9);
    expect(sauvolaWindow(120)).toBe(3);
    expect(sauvolaWindow(180)).toBe(3);
    expect(sauvolaWindow(60)).toBe(1);
    expect(sauvolaWindow(59)).toBe(1);
    expect(sauvolaWindow(1)).toBe(1);
  });
});

describe('sauvola reproduces the Go original pixel for pixel', () => {
  const sizes: [number, number][] = [
    [1, 1],
    [1, 9],
    [9, 1],
    [2, 3],
    [5, 5],
    [13, 9],
    [37, 23],
    [64, 48],
    [101, 7],
  ];
  const windows = [1, 2, 3, 5, 9, 15, 41];
  const ks = [0, 0.1, 0.2, 0.34, 0.5, 1, 1.7];
  const kinds: Kind[] = ['uniform', 'page', 'levels', 'extremes'];

  it('on small random images of many sizes, windows and k (integrals, multi-k and streaming)', () => {
    let seed = 1;
    let cases = 0;
    for (const [w, h] of sizes) {
      for (const kind of kinds) {
        const img = makeImage(w, h, kind, seed++);
        const ints = computeIntegrals(img);
        for (const win of windows) {
          const expected = ks.map((k) => naiveSauvola(img, k, win));
          const multi = sauvolaMulti(img, ints, ks, win);
          const streamed = sauvolaVariants(img, ks, win);
          ks.forEach((k, i) => {
            const label = `${w}x${h} ${kind} window ${win} k ${k}`;
            const exp = expected[i];
            if (exp === undefined) throw new Error('missing');
            expectSame(sauvola(img, ints, k, win), exp, `single ${label}`);
            expectSame(multi[i] ?? img, exp, `multi ${label}`);
            expectSame(streamed[i] ?? img, exp, `streamed ${label}`);
            cases++;
          });
        }
      }
    }
    expect(cases).toBe(sizes.length * kinds.length * windows.length * ks.length);
  });

  it('gives each k its own output, whatever the order, repeats and number of the k', () => {
    // the k are thresholded three at a time in ascending order: unsorted, repeated and a last group
    // of one or two k must still land in their own outputs
    const img = makeImage(64, 48, 'page', 99);
    const ints = computeIntegrals(img);
    for (const ks of [[0.3, 0, 1.7, 0.1, 0.3], [0.5, 0.2, 0.1, 3.5], [0.2, 0.1]]) {
      const streamed = sauvolaVariants(img, ks, 9);
      const multi = sauvolaMulti(img, ints, ks, 9);
      ks.forEach((k, i) => {
        const expected = naiveSauvola(img, k, 9);
        expectSame(streamed[i] ?? img, expected, `streamed k ${k} at ${i} of ${ks.join(',')}`);
        expectSame(multi[i] ?? img, expected, `multi k ${k} at ${i} of ${ks.join(',')}`);
      });
    }
  });

  it('on a noisy crop of a 300-dpi book page with the real window (41)', async () => {
    const { img: page } = await decodeGrey(BOOK_PAGE, { maxPixels: 50_000_000 });
    // a 260x200 crop across the gutter edge and text
    const cw = 260;
    const ch = 200;
    const data = new Uint8Array(cw * ch);
    for (let y = 0; y < ch; y++) data.set(page.data.subarray((1000 + y) * page.width + 150, (1000 + y) * page.width + 150 + cw), y * cw);
    const img: Grey = { width: cw, height: ch, data };
    const ks = [0.1, 0.2, 0.3, 0.4, 0.5];
    const streamed = sauvolaVariants(img, ks, 41);
    const ints = computeIntegrals(img);
    ks.forEach((k, i) => {
      const expected = naiveSauvola(img, k, 41);
      expectSame(streamed[i] ?? img, expected, `page crop k ${k}`);
      expectSame(sauvola(img, ints, k, 41), expected, `page crop (integrals) k ${k}`);
    });
  });

  it('keeps the quirks: uint8 wrap of a 257 threshold and NaN from an empty window', () => {
    // all-white window at k = 0: T = 65535/255 = 257 → uint8 1 → 255 stays white
    expect(goThresholdBit(255, 255 * 9, 255 * 255 * 9, 9, 0)).toBe(255);
    // at k = 0.1 the same window gives T = 231.3 → threshold 231: 231 is white, 230 black
    expect(goThresholdBit(255, 255 * 9, 255 * 255 * 9, 9, 0.1)).toBe(255);
    expect(goThresholdBit(231, 255 * 9, 255 * 255 * 9, 9, 0.1)).toBe(255);
    expect(goThresholdBit(230, 255 * 9, 255 * 255 * 9, 9, 0.1)).toBe(0);
    // window 1 at the first row: empty rectangle, 0/0 → NaN → white
    const img: Grey = { width: 3, height: 3, data: new Uint8Array(9) };
    const out = sauvolaVariants(img, [0.2], 1)[0];
    expect(Array.from(out?.data ?? [])).toEqual(Array.from(naiveSauvola(img, 0.2, 1).data));
    expect(out?.data[0]).toBe(255);
  });

  it('refuses integrals of another image', () => {
    const a = makeImage(10, 10, 'uniform', 1);
    const b = makeImage(11, 10, 'uniform', 2);
    expect(() => sauvola(b, computeIntegrals(a), 0.2, 3)).toThrow(/integrals/);
  });
});

describe('sauvola on a real page against a golden image', () => {
  // Regenerate on purpose with: UPDATE_GOLDEN=1 npx vitest run test/unit/preprocess-sauvola
  const cases = [0.2, 0.34];
  for (const k of cases) {
    it(`opencv-imageTextN.png, k ${k}, window width/60`, async () => {
      const { img } = await decodeGrey(REAL_PAGE, { maxPixels: 10_000_000 });
      const bin = sauvola(img, computeIntegrals(img), k, sauvolaWindow(img.width));
      const golden = join(GOLDEN_DIR, `opencv-imageTextN_sauvola_k${k}.png`);
      if (process.env['UPDATE_GOLDEN'] === '1' || !existsSync(golden)) {
        if (process.env['UPDATE_GOLDEN'] !== '1' && process.env['CI']) throw new Error(`golden ${golden} is missing`);
        mkdirSync(GOLDEN_DIR, { recursive: true });
        writeFileSync(golden, encodePng1(bin, 96));
      }
      const { img: expected } = await decodeGrey(golden, { maxPixels: 10_000_000 });
      const diff = countDifferentPixels(bin, expected);
      expect(diff / (img.width * img.height)).toBeLessThanOrEqual(0.001);
      // and it looks like text: a plausible share of ink
      let ink = 0;
      for (const v of bin.data) if (v === 0) ink++;
      const share = ink / bin.data.length;
      expect(share).toBeGreaterThan(0.03);
      expect(share).toBeLessThan(0.3);
    });
  }
});
