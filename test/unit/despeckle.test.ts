import { describe, expect, it } from 'vitest';
import { despeckle } from '../../preprocess/despeckle.js';
import type { Grey } from '../../preprocess/image.js';

/** Straightforward reference: flood fill each component with recursion-free BFS over a queue. */
function reference(img: Grey, maxArea: number, maxSide: number): Uint8Array {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(data);
  const label = new Int32Array(w * h).fill(-1);
  for (let s = 0; s < w * h; s++) {
    if (data[s] !== 0 || label[s] !== -1) continue;
    const comp: number[] = [s];
    label[s] = s;
    for (let i = 0; i < comp.length; i++) {
      const x = comp[i]! % w, y = Math.floor(comp[i]! / w);
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx, yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
        const q = yy * w + xx;
        if (data[q] === 0 && label[q] === -1) { label[q] = s; comp.push(q); }
      }
    }
    const xs = comp.map((p) => p % w), ys = comp.map((p) => Math.floor(p / w));
    const side = Math.max(Math.max(...xs) - Math.min(...xs) + 1, Math.max(...ys) - Math.min(...ys) + 1);
    if (comp.length <= maxArea && side <= maxSide) for (const p of comp) out[p] = 255;
  }
  return out;
}

function rnd(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

describe('despeckle', () => {
  it('matches the reference on random images', () => {
    for (let t = 0; t < 30; t++) {
      const r = rnd(t + 1);
      const w = 5 + Math.floor(r() * 40), h = 5 + Math.floor(r() * 40);
      const density = 0.1 + r() * 0.4;
      const data = new Uint8Array(w * h).map(() => (r() < density ? 0 : 255));
      const img = { width: w, height: h, data };
      const area = Math.floor(r() * 12), side = r() < 0.5 ? Infinity : 1 + Math.floor(r() * 5);
      expect(Buffer.from(despeckle(img, area, side).data).equals(Buffer.from(reference(img, area, side))), `case ${t}`).toBe(true);
    }
  });

  it('removes dust and keeps strokes; leaves the input alone', () => {
    const w = 20, h = 10;
    const data = new Uint8Array(w * h).fill(255);
    data[2 * w + 2] = 0; // a lone speck
    for (let x = 5; x < 15; x++) data[5 * w + x] = 0; // a stroke of 10 pixels
    const img = { width: w, height: h, data };
    const out = despeckle(img, 8);
    expect(out.data[2 * w + 2]).toBe(255);
    expect(out.data[5 * w + 9]).toBe(0);
    expect(data[2 * w + 2]).toBe(0);
    expect(despeckle(img, 0).data).toEqual(data);
  });
});
