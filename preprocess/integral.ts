import type { Grey } from './image.js';

/**
 * Summed-area tables of an 8-bit image, with a zero first row and column:
 * `sum[y * stride + x]` is the sum of the pixels in rows `0..y-1` and columns `0..x-1`
 * (`stride = width + 1`, `(width + 1) * (height + 1)` entries). `sq` is the same for squared values.
 *
 * The sums are kept on the 8-bit scale, so every entry is an integer below 2^53 (a 2480x3508 page of
 * white pixels sums to 5.7e11 squared) and window sums are exact. The Go original keeps Gray16
 * values (v * 257) in uint64; callers that need those multiply by 257 (257² for `sq`), which gives
 * the same float64 numbers as Go's uint64-to-float64 conversion (see sauvola.ts).
 */
export interface Integrals {
  width: number;
  height: number;
  stride: number;
  sum: Float64Array;
  sq: Float64Array;
}

/** Computes the sum and squared-sum tables once per page; they are reused for every k. */
export function computeIntegrals(img: Grey): Integrals {
  const { width: w, height: h, data } = img;
  const stride = w + 1;
  const sum = new Float64Array(stride * (h + 1));
  const sq = new Float64Array(stride * (h + 1));
  let p = 0;
  for (let y = 0; y < h; y++) {
    const above = y * stride;
    const row = above + stride;
    let rs = 0;
    let rq = 0;
    for (let x = 0; x < w; x++) {
      const v = data[p++];
      rs += v;
      rq += v * v;
      sum[row + x + 1] = sum[above + x + 1] + rs;
      sq[row + x + 1] = sq[above + x + 1] + rq;
    }
  }
  return { width: w, height: h, stride, sum, sq };
}
