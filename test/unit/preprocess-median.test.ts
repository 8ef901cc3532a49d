import { describe, expect, it } from 'vitest';
import { countDifferentPixels, type Grey } from '../../preprocess/image.js';
import { median3 } from '../../preprocess/median.js';
import { randomBinary, randomGrey, randomImage } from '../support/random-images.js';

/** Sort the nine neighbours (coordinates clamped to the image) and take the fifth. */
function naiveMedian3(img: Grey): Grey {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(w * h);
  const clamp = (v: number, hi: number): number => Math.min(Math.max(v, 0), hi);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const vals: number[] = [];
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) vals.push(data[clamp(y + dy, h - 1) * w + clamp(x + dx, w - 1)]);
      vals.sort((a, b) => a - b);
      out[y * w + x] = vals[4] ?? 0;
    }
  }
  return { width: w, height: h, data: out };
}

function image(width: number, height: number, seed: number, kind: 'uniform' | 'binary' | 'smooth'): Grey {
  if (kind === 'uniform') return randomGrey(width, height, seed);
  if (kind === 'binary') return randomBinary(width, height, seed, 0.3);
  return randomImage(width, height, seed, (x, y, r) => {
    const i = y * width + x;
    return Math.max(0, Math.min(255, Math.round(128 + 60 * Math.sin(i / 7) + (r() - 0.5) * 20)));
  });
}

describe('median3', () => {
  it('matches a naive sort of the 3×3 neighbourhood with replicated edges', () => {
    let seed = 1;
    for (const [w, h] of [[1, 1], [1, 6], [6, 1], [2, 2], [3, 3], [4, 7], [17, 11], [64, 48], [255, 3]] as const) {
      for (const kind of ['uniform', 'binary', 'smooth'] as const) {
        const img = image(w, h, seed++, kind);
        const out = median3(img);
        expect([out.width, out.height]).toEqual([w, h]);
        expect(countDifferentPixels(out, naiveMedian3(img)), `${w}x${h} ${kind}`).toBe(0);
      }
    }
  });

  it('removes isolated specks and keeps solid strokes, without touching the input', () => {
    const w = 20;
    const h = 20;
    const data = new Uint8Array(w * h).fill(255);
    data[5 * w + 5] = 0; // a speck
    for (let y = 10; y < 13; y++) for (let x = 2; x < 18; x++) data[y * w + x] = 0; // a 3-px stroke
    const img: Grey = { width: w, height: h, data };
    const before = data.slice();
    const out = median3(img);
    expect(out.data[5 * w + 5]).toBe(255);
    expect(out.data[11 * w + 10]).toBe(0);
    expect(Array.from(img.data)).toEqual(Array.from(before));
  });
});
