import { describe, expect, it } from 'vitest';
import { countDifferentPixels, type Grey } from '../../preprocess/image.js';
import {
  H_WIPE_WINDOW,
  V_WIPE_WINDOW,
  WIPE_MIN_PERCENT,
  applyWipe,
  columnProfile,
  findBestEdge,
  hWipe,
  rowProfile,
  stripRatio,
  vWipe,
  wipeBinarised,
  wipeBox,
} from '../../preprocess/wipe.js';
import { wipeOnly } from '../../preprocess/index.js';
import { randomBinary, randomGrey, rng } from '../support/random-images.js';

// ---- a straightforward restatement of rescribe.xyz/preproc wipesides.go, on pixels ----

/** ProportionSlice: area / white − 1 over columns [x, x+width) clipped, white = Σv / 255. */
function naiveRatio(img: Grey, x: number, width: number): number {
  let sum = 0;
  let cols = 0;
  for (let c = Math.max(0, x); c < Math.min(img.width, x + width); c++) {
    cols++;
    for (let y = 0; y < img.height; y++) sum += img.data[y * img.width + c];
  }
  return (cols * img.height) / (sum / 255) - 1;
}

function naiveBestEdge(img: Grey, x: number, w: number): number {
  if (w === 1) return x;
  // Go: best starts at 100, ties collected, middle one taken
  let best = 100;
  let bestxs: number[] = [];
  for (let i = x; i < x + w; i++) {
    const prop = naiveRatio(img, i, 1);
    if (prop < best) {
      bestxs = [];
      best = prop;
    }
    if (prop === best) bestxs.push(i);
  }
  if (bestxs.length === 0) {
    // Go would index an empty slice (panic); the port takes the lowest ratio instead
    const props = Array.from({ length: w }, (_, i) => naiveRatio(img, x + i, 1));
    const min = Math.min(...props);
    const ties = props.flatMap((p, i) => (p === min ? [x + i] : []));
    return ties[Math.floor(ties.length / 2)] ?? x;
  }
  return bestxs[Math.floor(bestxs.length / 2)] ?? x;
}

function naiveFindEdges(img: Grey, wsize: number, thresh: number): [number, number] {
  const maxx = img.width - 1;
  let low = 0;
  let high = maxx;
  const notcentre = Math.floor(maxx / 10);
  for (let x = Math.floor(maxx / 2) + notcentre; x < maxx - wsize; x++) {
    if (naiveRatio(img, x, wsize) <= thresh) {
      high = naiveBestEdge(img, x, wsize);
      break;
    }
  }
  for (let x = Math.floor(maxx / 2) - notcentre; x > 0; x--) {
    if (naiveRatio(img, x, wsize) <= thresh) {
      low = naiveBestEdge(img, x, wsize);
      break;
    }
  }
  return [low, high];
}

function naiveFindEdgesOutin(img: Grey, wsize: number, thresh: number): [number, number] {
  const maxx = img.width - 1;
  let low = 0;
  let high = maxx;
  for (let x = maxx - wsize; x > 0; x--) {
    if (naiveRatio(img, x, wsize) > thresh) {
      high = naiveBestEdge(img, x, wsize);
      break;
    }
  }
  for (let x = 0; x < maxx - wsize; x++) {
    if (naiveRatio(img, x, wsize) > thresh) {
      low = naiveBestEdge(img, x, wsize);
      break;
    }
  }
  return [low, high];
}

function naiveWipesides(img: Grey, low: number, high: number): Grey {
  const out = new Uint8Array(img.width * img.height); // Go's NewGray: zero
  for (let x = 0; x < img.width; x++) {
    for (let y = 0; y < img.height; y++) {
      const i = y * img.width + x;
      if (x < low || x >= high) out[i] = 255;
      else out[i] = img.data[i];
    }
  }
  return { width: img.width, height: img.height, data: out };
}

function naiveTooNarrow(img: Grey, low: number, high: number, min: number): boolean {
  return ((high - low) / img.width) * 100 < min;
}

function sideways(img: Grey): Grey {
  const out = new Uint8Array(img.width * img.height);
  for (let x = 0; x < img.width; x++) for (let y = 0; y < img.height; y++) out[x * img.height + y] = img.data[y * img.width + x];
  return { width: img.height, height: img.width, data: out };
}

function naiveWipe(img: Grey, wsize: number, thresh: number, min: number): Grey {
  const [low, high] = naiveFindEdges(img, wsize, thresh);
  if (naiveTooNarrow(img, low, high, min)) return img;
  return naiveWipesides(img, low, high);
}

function naiveVWipe(img: Grey, wsize: number, thresh: number, min: number): Grey {
  const rot = sideways(img);
  const [low, high] = naiveFindEdgesOutin(rot, wsize, thresh);
  if (naiveTooNarrow(img, low, high, min)) return img; // compares with the width: Go's quirk
  return sideways(naiveWipesides(rot, low, high));
}

function naiveWipeBinarised(img: Grey, hThresh: number, vThresh: number): Grey {
  return naiveWipe(naiveVWipe(img, 120, vThresh, 30), 5, hThresh, 30);
}

// ---- test images ----

interface PageSpec {
  width: number;
  height: number;
  gutter?: { side: 'left' | 'right'; width: number; fullHeight: boolean };
  topBorder?: number;
  bottomBorder?: number;
  textBox: [number, number, number, number]; // x0, y0, x1, y1
  specks?: number;
  seed: number;
}

function syntheticPage(p: PageSpec): Grey {
  const r = rng(p.seed);
  const { width: w, height: h } = p;
  const data = new Uint8Array(w * h).fill(255);
  const [tx0, ty0, tx1, ty1] = p.textBox;
  // text lines: runs of "letters"
  for (let y = ty0; y < ty1; y++) {
    if ((y - ty0) % 12 >= 7) continue;
    for (let x = tx0; x < tx1; x++) if (((x - tx0) % 9 < 6 && r() < 0.6) || r() < 0.05) data[y * w + x] = 0;
  }
  if (p.gutter) {
    const { side, width: gw, fullHeight } = p.gutter;
    const y0 = fullHeight ? 0 : Math.floor(h * 0.15);
    const y1 = fullHeight ? h : Math.floor(h * 0.9);
    for (let y = y0; y < y1; y++) {
      const jag = Math.floor(r() * 3);
      for (let i = 0; i < gw + jag; i++) {
        const x = side === 'left' ? i : w - 1 - i;
        if (x >= 0 && x < w && r() < 0.95) data[y * w + x] = 0;
      }
    }
  }
  for (let y = 0; y < (p.topBorder ?? 0); y++) for (let x = 0; x < w; x++) if (r() < 0.9) data[y * w + x] = 0;
  for (let y = h - (p.bottomBorder ?? 0); y < h; y++) for (let x = 0; x < w; x++) if (r() < 0.9) data[y * w + x] = 0;
  for (let s = 0; s < (p.specks ?? 0); s++) data[Math.floor(r() * h) * w + Math.floor(r() * w)] = 0;
  return { width: w, height: h, data };
}

function noise(width: number, height: number, density: number, seed: number, grey = false): Grey {
  return grey ? randomGrey(width, height, seed) : randomBinary(width, height, seed, density);
}

const THRESHOLDS = [0, 0.002, 0.004, 0.005, 0.006, 0.008, 0.01, 0.03, 0.1, 1];

function expectSame(actual: Grey, expected: Grey, label: string): void {
  expect([actual.width, actual.height], label).toEqual([expected.width, expected.height]);
  expect(countDifferentPixels(actual, expected), label).toBe(0);
}

describe('wipe pieces', () => {
  it('constants are the original call-site values', () => {
    expect([H_WIPE_WINDOW, V_WIPE_WINDOW, WIPE_MIN_PERCENT]).toEqual([5, 120, 30]);
  });

  it('strip ratios match a pixel count, including clipping and all-black strips', () => {
    const img = noise(40, 30, 0.2, 7);
    const cols = columnProfile(img);
    const rows = rowProfile(img);
    const t = sideways(img);
    for (const [x, w] of [[0, 1], [3, 5], [35, 5], [38, 5], [0, 40], [10, 120]] as const) {
      expect(stripRatio(cols, x, w)).toBe(naiveRatio(img, x, w));
    }
    for (const [y, w] of [[0, 1], [5, 7], [25, 10]] as const) expect(stripRatio(rows, y, w)).toBe(naiveRatio(t, y, w));
    const black: Grey = { width: 4, height: 4, data: new Uint8Array(16) };
    expect(stripRatio(columnProfile(black), 0, 2)).toBe(Infinity);
  });

  it('best edge: lowest ratio, middle of ties, no crash on all-black windows', () => {
    const img = syntheticPage({ width: 60, height: 40, textBox: [10, 5, 50, 35], seed: 3 });
    const p = columnProfile(img);
    for (const x of [0, 5, 20, 45, 54]) expect(findBestEdge(p, x, 5)).toBe(naiveBestEdge(img, x, 5));
    const black: Grey = { width: 10, height: 10, data: new Uint8Array(100) };
    expect(findBestEdge(columnProfile(black), 2, 5)).toBe(4);
  });
});

describe('wipe reproduces the Go original pixel for pixel', () => {
  const pages: PageSpec[] = [
    { width: 300, height: 420, gutter: { side: 'left', width: 25, fullHeight: false }, textBox: [60, 70, 260, 360], specks: 40, seed: 1 },
    { width: 300, height: 420, gutter: { side: 'right', width: 30, fullHeight: true }, textBox: [40, 50, 240, 380], seed: 2 },
    { width: 260, height: 380, topBorder: 15, bottomBorder: 22, textBox: [30, 60, 230, 320], specks: 200, seed: 3 },
    { width: 320, height: 300, gutter: { side: 'left', width: 40, fullHeight: true }, topBorder: 8, textBox: [70, 30, 160, 280], seed: 4 },
    { width: 320, height: 300, textBox: [20, 20, 300, 280], seed: 5 },
    { width: 240, height: 500, gutter: { side: 'right', width: 12, fullHeight: false }, textBox: [20, 150, 200, 200], seed: 6 },
    { width: 90, height: 70, gutter: { side: 'left', width: 8, fullHeight: true }, textBox: [20, 10, 80, 60], seed: 7 },
  ];

  it('on synthetic pages with gutters, borders and specks, at every threshold', () => {
    let changed = 0;
    let cases = 0;
    for (const [i, spec] of pages.entries()) {
      const img = syntheticPage(spec);
      for (const t of THRESHOLDS) {
        const out = wipeBinarised(img, t, t);
        expectSame(out, naiveWipeBinarised(img, t, t), `page ${i} thresh ${t}`);
        cases++;
        if (countDifferentPixels(out, img) > img.width) changed++;
        expectSame(hWipe(img, 5, t, 30), naiveWipe(img, 5, t, 30), `page ${i} hWipe ${t}`);
        expectSame(vWipe(img, 120, t, 30), naiveVWipe(img, 120, t, 30), `page ${i} vWipe ${t}`);
      }
      expectSame(wipeBinarised(img, 0.03, 0.005), naiveWipeBinarised(img, 0.03, 0.005), `page ${i} wipe-only thresholds`);
    }
    // the cases are not trivial: most of them really wipe something
    expect(changed).toBeGreaterThan(cases / 2);
  });

  it('wipeBox + applyWipe in place give the same pixels as wipeBinarised', () => {
    for (const [i, spec] of pages.entries()) {
      const img = syntheticPage(spec);
      for (const t of [0.002, 0.004, 0.03]) {
        const box = wipeBox(img, t, t);
        const expected = wipeBinarised(img, t, t);
        expect(box === null, `page ${i} thresh ${t}: nothing to wipe`).toBe(expected === img);
        const data = img.data.slice();
        if (box !== null) applyWipe(data, img.width, img.height, box);
        expectSame({ width: img.width, height: img.height, data }, expected, `page ${i} thresh ${t}`);
      }
    }
  });

  it('on random binary and grey images of several sizes', () => {
    let seed = 100;
    for (const [w, h] of [[1, 1], [3, 200], [200, 3], [12, 9], [150, 130], [130, 260], [400, 125]] as const) {
      for (const density of [0.0005, 0.005, 0.05, 0.5]) {
        const img = noise(w, h, density, seed++);
        for (const t of [0.002, 0.006, 0.01, 0.03, 1]) {
          expectSame(wipeBinarised(img, t, t / 2), naiveWipeBinarised(img, t, t / 2), `${w}x${h} p ${density} t ${t}`);
        }
      }
      const grey = noise(w, h, 0, seed++, true);
      expectSame(wipeOnly(grey), naiveWipeBinarised(grey, 0.03, 0.005), `${w}x${h} grey wipe-only`);
    }
  });
});

describe('wipe on a page with a dark gutter', () => {
  it('removes the gutter and keeps the text', () => {
    const spec: PageSpec = { width: 600, height: 850, gutter: { side: 'left', width: 45, fullHeight: true }, textBox: [110, 120, 540, 760], seed: 11 };
    const img = syntheticPage(spec);
    const wiped = wipeBinarised(img, 0.2 * 0.02, 0.2 * 0.02);
    const blackIn = (g: Grey, x0: number, x1: number, y0: number, y1: number): number => {
      let n = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (g.data[y * g.width + x] === 0) n++;
      return n;
    };
    expect(blackIn(img, 0, 48, 0, 850)).toBeGreaterThan(30_000);
    expect(blackIn(wiped, 0, 48, 0, 850)).toBe(0);
    const text = blackIn(img, 110, 540, 120, 760);
    expect(text).toBeGreaterThan(50_000);
    expect(blackIn(wiped, 110, 540, 120, 760)).toBe(text);
    // the input is untouched
    expect(blackIn(img, 0, 48, 0, 850)).toBeGreaterThan(30_000);
  });

  it('leaves a page alone when the content would be too narrow, and returns the input itself', () => {
    // a narrow column of text only: horizontal content 20% of the width
    const img = syntheticPage({ width: 500, height: 300, textBox: [200, 20, 300, 280], seed: 12 });
    const [low, high] = naiveFindEdges(img, 5, 0.004);
    expect(naiveTooNarrow(img, low, high, 30)).toBe(true);
    const out = hWipe(img, 5, 0.004, 30);
    expect(out).toBe(img);
  });
});
