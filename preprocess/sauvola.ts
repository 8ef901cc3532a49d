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
 *
 * Layout: for each output row, the sums of every column over the window's rows (`cs`, `cq`: float64
 * holding exact integers) are brought up to date, then one pass along the row slides the window
 * sums over those columns and thresholds three k at once (the k sorted, see {@link fastColumns}),
 * writing straight into the outputs: no per-pixel division, no intermediate row buffers, one
 * square root per pixel for all k. Columns whose windows are clipped by the image's sides (a
 * window's width at each end of a row) have their own pixel counts and go one by one.
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
  return run(img, ks, window, (y0, y1, cs, cq, pad) => {
    const r0 = y0 * stride;
    const r1 = y1 * stride;
    for (let x = 0; x < w; x++) {
      cs[pad + x] = sum[r1 + x + 1] - sum[r1 + x] - (sum[r0 + x + 1] - sum[r0 + x]);
      cq[pad + x] = sq[r1 + x + 1] - sq[r1 + x] - (sq[r0 + x + 1] - sq[r0 + x]);
    }
  });
}

/**
 * The same variants as {@link sauvolaMulti} (identical pixels) without integral images: the column
 * sums slide down the page, one row in and one out per output row, so the only memory is a few
 * rows' worth instead of two (w+1)×(h+1) float64 tables (140 MB for an A4 page at 300 dpi, whose
 * allocation alone costs more than the thresholding). This is what {@link binariseVariants} uses.
 */
export function sauvolaVariants(img: Grey, ks: readonly number[], window: number): Grey[] {
  const { width: w, data } = img;
  let lo = 0; // rows [lo, hi) are in the column sums
  let hi = 0;
  return run(img, ks, window, (y0, y1, cs, cq, pad) => {
    if (hi + 1 === y1 && lo + 1 === y0) {
      // the usual step: one row enters, one leaves
      const on = hi * w - pad;
      const oo = lo * w - pad;
      for (let c = pad; c < pad + w; c++) {
        const vn = data[on + c];
        const vo = data[oo + c];
        cs[c] += vn - vo;
        cq[c] += vn * vn - vo * vo;
      }
      hi++;
      lo++;
      return;
    }
    for (; hi < y1; hi++) addRow(data, hi * w, w, cs, cq, pad, 1);
    for (; lo < y0; lo++) addRow(data, lo * w, w, cs, cq, pad, -1);
  });
}

/** Adds (`sign` 1) or removes (−1) one image row to or from the column sums. */
function addRow(data: Uint8Array, off: number, w: number, cs: Float64Array, cq: Float64Array, pad: number, sign: number): void {
  for (let x = 0; x < w; x++) {
    const v = data[off + x];
    cs[pad + x] += sign * v;
    cq[pad + x] += sign * v * v;
  }
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

/**
 * Brings the column sums up to date for output rows whose window covers image rows `[y0, y1)`:
 * afterwards `cs[pad + x]` is Σv and `cq[pad + x]` Σv² of column x over those rows. Called with
 * increasing rows; entries outside `[pad, pad + width)` must be left at 0.
 */
type ColumnSums = (y0: number, y1: number, cs: Float64Array, cq: Float64Array, pad: number) => void;

/** Margin (in threshold units) around the decision boundary inside which Go's exact arithmetic decides. */
const MARGIN = 1e-6;
/** Largest window area for which `q8·n − s8²` is computed exactly in float64 (fast path). */
const MAX_FAST_AREA = 300_000;
/** Largest k for the fast path (Go's error in T is below 3e-8·k, far inside the margin). */
const MAX_FAST_K = 4;
const C1 = 257 / 255;
const C2 = 257 / 255 / 128;

/** The variants of `img` for `ks`, row by row, the column sums of each row's window from `columnSums`. */
function run(img: Grey, ks: readonly number[], window: number, columnSums: ColumnSums): Grey[] {
  const { width: w, height: h, data } = img;
  if (!Number.isInteger(window) || window < 1) throw new RangeError(`invalid Sauvola window ${window}`);
  const nk = ks.length;
  if (nk === 0) return [];
  const kArr = Float64Array.from(ks);
  const outs: Uint8Array[] = [];
  for (let j = 0; j < nk; j++) outs.push(new Uint8Array(w * h));

  const step = Math.floor(window / 2);
  const span = 2 * step + 1; // columns (and rows) of an unclipped window, as Go's rectangle has
  // the margin argument holds for moderate k (Go's own rounding error grows with k); any other k
  // goes through Go's arithmetic for every pixel
  const fast = span * span <= MAX_FAST_AREA && kArr.every((k) => k >= 0 && k <= MAX_FAST_K);
  const groups = fast ? kGroups(kArr, outs) : [];
  // columns whose window is not clipped: x − step − 1 ≥ 0 and x + step ≤ w
  const xa = Math.min(w, step + 1);
  const xb = Math.max(xa, w - step);
  // column sums with zeros on both sides, so that the sliding window needs no bounds: column x is
  // at pad + x, and the window of x reads pad + x − step − 2 … pad + x + step − 1
  const pad = step + 2;
  const cs = new Float64Array(pad + w + step + 1);
  const cq = new Float64Array(pad + w + step + 1);

  for (let y = 0; y < h; y++) {
    const y0 = Math.max(y - step - 1, 0);
    const y1 = Math.min(y + step, h);
    const ny = y1 - y0;
    columnSums(y0, y1, cs, cq, pad);
    const row: Row = { data, off: y * w, w, ny, step, cs, cq, pad };
    if (!fast || ny === 0) {
      // a huge window or an unusual k (or an empty window): Go's arithmetic for the whole row
      columnByColumn(row, kArr, outs, 0, w, false);
      continue;
    }
    columnByColumn(row, kArr, outs, 0, xa, true);
    columnByColumn(row, kArr, outs, xb, w, true);
    const n = ny * span;
    for (const g of groups) (g.single ? fastColumns1 : fastColumns)(row, n, xa, xb, g);
  }
  return outs.map((d) => ({ width: w, height: h, data: d }));
}

/** One output row and the column sums of its window's rows. */
interface Row {
  data: Uint8Array;
  /** Offset of the row in `data` and in the outputs. */
  off: number;
  w: number;
  /** Rows in the window. */
  ny: number;
  step: number;
  cs: Float64Array;
  cq: Float64Array;
  pad: number;
}

/** Three k in ascending order (or one k, `single`) with their outputs, thresholded in one pass. */
interface KGroup {
  single: boolean;
  k0: number;
  k1: number;
  k2: number;
  out0: Uint8Array;
  out1: Uint8Array;
  out2: Uint8Array;
  /** T ≥ 0 for all three k iff the approximate deviation term g (see fastColumns) is at least this. */
  gLow: number;
}

/**
 * The k in ascending order, three at a time; a last group of one k is `single`, one of two repeats
 * its last k and output (the pixel is written twice, with the same value).
 */
function kGroups(ks: Float64Array, outs: Uint8Array[]): KGroup[] {
  const order = Array.from(ks.keys()).sort((a, b) => ks[a] - ks[b]);
  const groups: KGroup[] = [];
  for (let i = 0; i < order.length; i += 3) {
    const j0 = order[i];
    const j1 = order[Math.min(i + 1, order.length - 1)];
    const j2 = order[Math.min(i + 2, order.length - 1)];
    // T = m · (1 − k + k·g) ≥ 0 ⇔ g ≥ 1 − 1/k when k > 1 (always when k ≤ 1: m, g ≥ 0)
    const gLow = Math.max(...[j0, j1, j2].map((j) => (ks[j] > 1 ? 1 - 1 / ks[j] : -1)));
    groups.push({
      single: i + 1 === order.length,
      k0: ks[j0],
      k1: ks[j1],
      k2: ks[j2],
      out0: outs[j0],
      out1: outs[j1],
      out2: outs[j2],
      gLow,
    });
  }
  return groups;
}

/** Σ of `cs` over the window of column x: columns `[x − step − 1, x + step)` (zeros outside). */
function windowSum(cs: Float64Array, pad: number, x: number, step: number): number {
  let s = 0;
  for (let c = pad + x - step - 1; c < pad + x + step; c++) s += cs[c];
  return s;
}

/**
 * Columns `[from, to)` of one row, all unclipped (`n` pixels in every window), for the three k of
 * `grp`: the window sums slide along the row; T ≈ m · ((1 − k) + k · g) with m = c·s8/n (m8) and
 * g = c·√(q8·n − s8²)/(128·n) (dev8 / 128), c = 257/255; ink iff T ≥ v + 0.5 whenever T is in
 * [0, 255) and not within MARGIN of v + 0.5, else Go's arithmetic for the pixel. T is affine in k,
 * so over the group's sorted k it lies between the first and the last k's T, and it is ≥ 0 iff
 * g ≥ gLow: six comparisons per pixel check the three k. (All the approximations here err by
 * ~1e-13, far inside MARGIN.)
 */
function fastColumns(row: Row, n: number, from: number, to: number, grp: KGroup): void {
  const { data, off, step, cs, cq, pad } = row;
  const { k0, k1, k2, out0, out1, out2, gLow } = grp;
  const cm = C1 / n;
  const cg = C2 / n;
  let s8 = windowSum(cs, pad, from - 1, step);
  let q8 = windowSum(cq, pad, from - 1, step);
  const inOff = pad + step - 1;
  const outOff = pad - step - 2;
  for (let x = from; x < to; x++) {
    s8 += cs[inOff + x] - cs[outOff + x];
    q8 += cq[inOff + x] - cq[outOff + x];
    const m = cm * s8;
    const g = cg * Math.sqrt(q8 * n - s8 * s8);
    const i = off + x;
    const v = data[i];
    const v5 = v + 0.5;
    // T − (v + 0.5) = (m − v − 0.5) + k · (m·g − m)
    const e = m * g - m;
    const u = m - v5;
    const d0 = u + k0 * e;
    const d1 = u + k1 * e;
    const d2 = u + k2 * e;
    const t0 = d0 + v5;
    const t2 = d2 + v5;
    out0[i] = 255 - 255 * +(d0 > 0);
    out1[i] = 255 - 255 * +(d1 > 0);
    out2[i] = 255 - 255 * +(d2 > 0);
    if (!(Math.abs(d0) > MARGIN && Math.abs(d1) > MARGIN && Math.abs(d2) > MARGIN && g >= gLow && t0 < 255 && t2 < 255)) {
      out0[i] = goThresholdBit(v, s8, q8, n, k0);
      out1[i] = goThresholdBit(v, s8, q8, n, k1);
      out2[i] = goThresholdBit(v, s8, q8, n, k2);
    }
  }
}

/** {@link fastColumns} for a group of one k. */
function fastColumns1(row: Row, n: number, from: number, to: number, grp: KGroup): void {
  const { data, off, step, cs, cq, pad } = row;
  const { k0, out0, gLow } = grp;
  const cm = C1 / n;
  const cg = C2 / n;
  const b0 = 1 - k0;
  let s8 = windowSum(cs, pad, from - 1, step);
  let q8 = windowSum(cq, pad, from - 1, step);
  const inOff = pad + step - 1;
  const outOff = pad - step - 2;
  for (let x = from; x < to; x++) {
    s8 += cs[inOff + x] - cs[outOff + x];
    q8 += cq[inOff + x] - cq[outOff + x];
    const m = cm * s8;
    const g = cg * Math.sqrt(q8 * n - s8 * s8);
    const i = off + x;
    const v = data[i];
    const t0 = m * (b0 + k0 * g);
    const d0 = t0 - v - 0.5;
    out0[i] = 255 - 255 * +(d0 > 0);
    if (!(Math.abs(d0) > MARGIN && g >= gLow && t0 < 255)) out0[i] = goThresholdBit(v, s8, q8, n, k0);
  }
}

/** Pixels in the window of column x (clipped to the image's sides). */
function windowArea(row: Row, x: number): number {
  return row.ny * (Math.min(x + row.step, row.w) - Math.max(x - row.step - 1, 0));
}

/**
 * Columns `[from, to)` of one row one at a time, each with its own pixel count (windows clipped by
 * the image's sides, a window's width at each end of a row): with `approx`, the approximation of
 * {@link fastColumns} checked per k, else Go's arithmetic for every pixel.
 */
function columnByColumn(row: Row, ks: Float64Array, outs: Uint8Array[], from: number, to: number, approx: boolean): void {
  const { data, off, step, cs, cq, pad } = row;
  let s8 = windowSum(cs, pad, from - 1, step);
  let q8 = windowSum(cq, pad, from - 1, step);
  for (let x = from; x < to; x++) {
    s8 += cs[pad + x + step - 1] - cs[pad + x - step - 2];
    q8 += cq[pad + x + step - 1] - cq[pad + x - step - 2];
    const n = row.ny * (Math.min(x + step, row.w) - Math.max(x - step - 1, 0));
    const m = (C1 / n) * s8;
    const g = (C2 / n) * Math.sqrt(q8 * n - s8 * s8);
    const v = data[off + x];
    for (let j = 0; j < ks.length; j++) {
      const k = ks[j];
      const t = m * (1 - k + k * g);
      const d = t - v - 0.5;
      // n = 0 (window 1 at the first column) makes t NaN, which fails the check
      outs[j][off + x] = approx && Math.abs(d) > MARGIN && t >= 0 && t < 255 ? 255 - 255 * +(d > 0) : goThresholdBit(v, s8, q8, n, k);
    }
  }
}
