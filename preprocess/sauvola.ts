import type { Grey } from './image.js';
import type { Integrals } from './integral.js';

/**
 * Sauvola binarisation, reproducing rescribe.xyz/preproc's `PreCalcedSauvola` (spec §6.2) bit for
 * bit on amd64:
 *
 * - window `w` from {@link sauvolaWindow}; `step = floor(w / 2)`;
 * - for pixel (x, y) the window is the half-open rectangle `[x-step-1, x+step) × [y-step-1, y+step)`
 *   (w×w pixels, shifted one pixel up and left), clipped to the image; mean and population variance
 *   (`E[x²] − E[x]²`) are taken over the clipped pixels only;
 * - the statistics are those of the Gray16 image (value `v * 257`) and are divided by 255 to get
 *   back to the 8-bit scale, which leaves Go's ×257/255 bias in both mean and deviation;
 * - `T = m · (1 + k · (s / 128 − 1))` (R = 128);
 * - the pixel is 0 (ink) when `v < uint8(math.Round(T))`, else 255. `math.Round` rounds half away
 *   from zero; Go's float-to-uint8 conversion on amd64 keeps the low byte of the integer (so a
 *   threshold of 256 becomes 0 and 257 becomes 1, which only happens for k close to 0 on white
 *   areas; NaN, from an empty window with w = 1 at the first row or column, becomes 0).
 *
 * Speed without giving up exactness: window sums are exact integers, from which a cheap
 * approximation of T (one square root, no division) decides almost every pixel. Only pixels whose
 * T lies within 1e-6 of the decision boundary `v + 0.5` (or outside 0..255) are recomputed with
 * Go's exact sequence of float64 operations ({@link goThresholdBit}); the approximation and Go's
 * own rounding both err by far less than that margin, so the result is Go's, not just close.
 */

/** Go's window: `width / 60` (integer division), plus one if even. 2480 → 41, 3000 → 51, < 60 → 1. */
export function sauvolaWindow(width: number): number {
  const w = Math.floor(width / 60);
  return w % 2 === 0 ? w + 1 : w;
}

/** Binarises one variant from precomputed integral images (`ints` must be those of `img`). */
export function sauvola(img: Grey, ints: Integrals, k: number, window: number): Grey {
  const out = sauvolaMulti(img, ints, [k], window)[0];
  if (out === undefined) throw new Error('unreachable: no output for one k');
  return out;
}

/**
 * Several variants from precomputed integral images, in one pass: the window statistics are taken
 * once per pixel and thresholded for every k. Output i belongs to `ks[i]`.
 */
export function sauvolaMulti(img: Grey, ints: Integrals, ks: readonly number[], window: number): Grey[] {
  const { width: w, height: h } = img;
  if (ints.width !== w || ints.height !== h) {
    throw new RangeError(`integrals are for ${ints.width}x${ints.height}, image is ${w}x${h}`);
  }
  const { stride, sum, sq } = ints;
  return run(img, ks, window, (y0, y1, ps, pq) => {
    const r0 = y0 * stride;
    const r1 = y1 * stride;
    for (let x = 0; x <= w; x++) {
      ps[x] = sum[r1 + x] - sum[r0 + x];
      pq[x] = sq[r1 + x] - sq[r0 + x];
    }
  });
}

/**
 * The same variants as {@link sauvolaMulti} (identical pixels) without integral images: the window
 * sums come from per-column running sums that slide down the page, so the only memory is a few
 * rows' worth instead of two (w+1)×(h+1) float64 tables (140 MB for an A4 page at 300 dpi, whose
 * allocation alone costs more than the thresholding). This is what {@link binariseVariants} uses.
 */
export function sauvolaVariants(img: Grey, ks: readonly number[], window: number): Grey[] {
  const { width: w, height: h, data } = img;
  // per-column sums of the rows in the window; int32 is exact while a column holds < 2^31 / 255²
  // worth of rows
  const exactInt = h * 65025 < 2 ** 31;
  const colSum: Int32Array | Float64Array = exactInt ? new Int32Array(w) : new Float64Array(w);
  const colSq: Int32Array | Float64Array = exactInt ? new Int32Array(w) : new Float64Array(w);
  let lo = 0; // rows [lo, hi) are in the column sums
  let hi = 0;
  return run(img, ks, window, (y0, y1, ps, pq) => {
    let a = 0;
    let b = 0;
    ps[0] = 0;
    pq[0] = 0;
    if (hi + 1 === y1 && lo + 1 === y0) {
      // the usual step: one row enters, one leaves; update and prefix in one pass
      const on = hi * w;
      const oo = lo * w;
      for (let x = 0; x < w; x++) {
        const vn = data[on + x];
        const vo = data[oo + x];
        const s = colSum[x] + vn - vo;
        const q = colSq[x] + vn * vn - vo * vo;
        colSum[x] = s;
        colSq[x] = q;
        a += s;
        b += q;
        ps[x + 1] = a;
        pq[x + 1] = b;
      }
      hi++;
      lo++;
      return;
    }
    for (; hi < y1; hi++) {
      const off = hi * w;
      for (let x = 0; x < w; x++) {
        const v = data[off + x];
        colSum[x] += v;
        colSq[x] += v * v;
      }
    }
    for (; lo < y0; lo++) {
      const off = lo * w;
      for (let x = 0; x < w; x++) {
        const v = data[off + x];
        colSum[x] -= v;
        colSq[x] -= v * v;
      }
    }
    for (let x = 0; x < w; x++) {
      a += colSum[x];
      b += colSq[x];
      ps[x + 1] = a;
      pq[x + 1] = b;
    }
  });
}

/**
 * Go's decision for one pixel from its exact window sums on the 8-bit scale (`s8` = Σv, `q8` = Σv²
 * over `n` pixels): 0 if `v < uint8(math.Round(T))`, else 255, with every float64 operation in Go's
 * order (`integral.MeanStdDev` then `PreCalcedSauvola`).
 */
export function goThresholdBit(v: number, s8: number, q8: number, n: number, k: number): number {
  // float64(uint64 Gray16 sum) / float64(count): 257·s8 and 66049·q8 are the Gray16 sums, and the
  // products round exactly like Go's integer-to-float conversion of the same integers
  const mean = (s8 * 257) / n;
  const sqMean = (q8 * 66049) / n;
  const dev = Math.sqrt(sqMean - mean * mean);
  const m8 = mean / 255;
  const dev8 = dev / 255;
  const t = m8 * (1 + k * (dev8 / 128 - 1));
  // math.Round: half away from zero
  let r = Math.trunc(t);
  const f = t - r;
  if (f >= 0.5) r += 1;
  else if (f <= -0.5) r -= 1;
  // uint8(): low byte of the integer; NaN → 0 (amd64)
  return v < (r & 255) ? 0 : 255;
}

/** Fills `ps`/`pq` (length w+1) with the column prefix sums of rows `[y0, y1)`. Called with
 * increasing rows. */
type RowSums = (y0: number, y1: number, ps: Float64Array, pq: Float64Array) => void;

/** Margin (in threshold units) around the decision boundary inside which Go's exact arithmetic decides. */
const MARGIN = 1e-6;
/** Largest window area for which `q8·n − s8²` is computed exactly in float64 (fast path). */
const MAX_FAST_AREA = 300_000;
/** Largest k for the fast path (Go's error in T is below 3e-8·k, far inside the margin). */
const MAX_FAST_K = 4;
const C1 = 257 / 255;
const C2 = 257 / 255 / 128;

function run(img: Grey, ks: readonly number[], window: number, rowSums: RowSums): Grey[] {
  const { width: w, height: h, data } = img;
  if (!Number.isInteger(window) || window < 1) throw new RangeError(`invalid Sauvola window ${window}`);
  const nk = ks.length;
  if (nk === 0) return [];
  const kArr = Float64Array.from(ks);
  const a0 = kArr.map((k) => 1 - k);
  const outs: Uint8Array[] = [];
  for (let j = 0; j < nk; j++) outs.push(new Uint8Array(w * h));

  const step = Math.floor(window / 2);
  const span = 2 * step + 1; // columns (and rows) of an unclipped window, as Go's rectangle has
  // the margin argument holds for moderate k (Go's own rounding error grows with k); any other k
  // goes through Go's arithmetic for every pixel
  const fast = span * span <= MAX_FAST_AREA && kArr.every((k) => k >= 0 && k <= MAX_FAST_K);
  const colLo = new Int32Array(w);
  const colHi = new Int32Array(w);
  for (let x = 0; x < w; x++) {
    colLo[x] = Math.max(x - step - 1, 0);
    colHi[x] = Math.min(x + step, w);
  }
  // columns whose window is not clipped: x0 = x − step − 1 ≥ 0 and x1 = x + step ≤ w
  const xa = fast ? Math.min(w, step + 1) : w;
  const xb = fast ? Math.max(xa, w - step) : w;
  const ps = new Float64Array(w + 1);
  const pq = new Float64Array(w + 1);
  // per-row statistics of the interior, shared by all k (several k only)
  const rowS = new Float64Array(nk > 1 ? w : 0);
  const rowQ = new Float64Array(nk > 1 ? w : 0);
  const rowM = new Float64Array(nk > 1 ? w : 0);
  const rowG = new Float64Array(nk > 1 ? w : 0);

  for (let y = 0; y < h; y++) {
    const y0 = Math.max(y - step - 1, 0);
    const y1 = Math.min(y + step, h);
    const ny = y1 - y0;
    rowSums(y0, y1, ps, pq);
    const rowOff = y * w;
    if (xb <= xa || ny === 0) {
      // no unclipped column (or a huge window): Go's arithmetic for the whole row
      exactColumns(data, rowOff, ny, ps, pq, colLo, colHi, kArr, outs, 0, w);
      continue;
    }
    // clipped columns at both ends: Go's arithmetic directly
    exactColumns(data, rowOff, ny, ps, pq, colLo, colHi, kArr, outs, 0, xa);
    exactColumns(data, rowOff, ny, ps, pq, colLo, colHi, kArr, outs, xb, w);
    // interior: T ≈ m8 · ((1 − k) + k · dev8 / 128) with m8 = c·s8/n, dev8 = c·√(q8·n − s8²)/n,
    // c = 257/255; ink iff T ≥ v + 0.5 whenever T is in [0, 255) and not within MARGIN of v + 0.5
    const n = ny * span;
    const invN = 1 / n;
    const cm = C1 * invN;
    const cg = C2 * invN;
    if (nk === 1) {
      const out = outs[0];
      const k = kArr[0];
      const b = a0[0];
      const kg = k * cg;
      for (let x = xa; x < xb; x++) {
        const s8 = ps[x + step] - ps[x - step - 1];
        const q8 = pq[x + step] - pq[x - step - 1];
        const t = cm * s8 * (b + kg * Math.sqrt(q8 * n - s8 * s8));
        const i = rowOff + x;
        const dd = t - data[i] - 0.5;
        out[i] = 255 - 255 * +(dd > 0);
        if (!(Math.abs(dd) > MARGIN && t >= 0 && t < 255)) out[i] = goThresholdBit(data[i], s8, q8, n, k);
      }
    } else {
      // statistics once per pixel into row buffers, then one tight pass per k
      for (let x = xa; x < xb; x++) {
        const s8 = ps[x + step] - ps[x - step - 1];
        const q8 = pq[x + step] - pq[x - step - 1];
        rowS[x] = s8;
        rowQ[x] = q8;
        rowM[x] = cm * s8;
        rowG[x] = cg * Math.sqrt(q8 * n - s8 * s8);
      }
      for (let j = 0; j < nk; j++) {
        const out = outs[j];
        const k = kArr[j];
        const b = a0[j];
        for (let x = xa; x < xb; x++) {
          const t = rowM[x] * (b + k * rowG[x]);
          const i = rowOff + x;
          const dd = t - data[i] - 0.5;
          out[i] = 255 - 255 * +(dd > 0);
          if (!(Math.abs(dd) > MARGIN && t >= 0 && t < 255)) out[i] = goThresholdBit(data[i], rowS[x], rowQ[x], n, k);
        }
      }
    }
  }
  return outs.map((d) => ({ width: w, height: h, data: d }));
}

/** Go's arithmetic for columns `[from, to)` of one row (window bounds from `colLo`/`colHi`). */
function exactColumns(
  data: Uint8Array,
  rowOff: number,
  ny: number,
  ps: Float64Array,
  pq: Float64Array,
  colLo: Int32Array,
  colHi: Int32Array,
  ks: Float64Array,
  outs: Uint8Array[],
  from: number,
  to: number,
): void {
  for (let x = from; x < to; x++) {
    const x0 = colLo[x];
    const x1 = colHi[x];
    const s8 = ps[x1] - ps[x0];
    const q8 = pq[x1] - pq[x0];
    const n = ny * (x1 - x0);
    const v = data[rowOff + x];
    for (let j = 0; j < ks.length; j++) outs[j][rowOff + x] = goThresholdBit(v, s8, q8, n, ks[j]);
  }
}
