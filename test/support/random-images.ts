/**
 * Seeded random test images for the preprocessing tests: the same seed gives the same pixels on
 * every run and machine, so a failing case can be reproduced from its label.
 */
import type { Grey } from '../../preprocess/image.js';

/** mulberry32: a small seeded PRNG; returns numbers in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An image whose pixels are `value(x, y, r)`, row by row, with `r` the seeded generator. */
export function randomImage(width: number, height: number, seed: number, value: (x: number, y: number, r: () => number) => number): Grey {
  const r = rng(seed);
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = value(i % width, Math.floor(i / width), r);
  return { width, height, data };
}

/** Uniform noise: every value 0..255 equally likely. */
export function randomGrey(width: number, height: number, seed: number): Grey {
  return randomImage(width, height, seed, (_x, _y, r) => Math.floor(r() * 256));
}

/** A binarised image: each pixel ink (0) with probability `density`, else paper (255). */
export function randomBinary(width: number, height: number, seed: number, density: number): Grey {
  return randomImage(width, height, seed, (_x, _y, r) => (r() < density ? 0 : 255));
}
