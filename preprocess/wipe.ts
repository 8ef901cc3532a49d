import type { Grey } from './image.js';

/**
 * Gutter and scanner-edge removal ("wipe"), reproducing rescribe.xyz/preproc (spec §6.3):
 * first {@link vWipe} (rows, outside-in, window 120), then {@link hWipe} (columns, from the centre
 * ±10 % outwards, window 5), both refusing to wipe when the content left would be narrower than 30 %.
 *
 * Everything works on a *strip profile*: the running sums of the pixel values of each 1-px strip
 * (column for the horizontal wipe, row for the vertical one). That is the last row (or column) of
 * the image's integral image, which is all the original ever reads from it, so the ratios below
 * are the same numbers. Pure functions: inputs are never modified.
 *
 * Ratio of a strip (Go's `ProportionSlice`): `area / white − 1` where `area` is the number of pixels
 * in strips `[x, x+width)` (clipped to the image) and `white = sum / 255`: the black:white ratio on a
 * binarised image. A strip without any white gives +Infinity, as in Go.
 */

/** Window of the horizontal wipe (columns). */
export const H_WIPE_WINDOW = 5;
/** Window of the vertical wipe (rows). */
export const V_WIPE_WINDOW = 120;
/** Minimum content size, % of the image width (for both directions: the vertical check compares
 * the kept height with the width too, a quirk of the original kept here). */
export const WIPE_MIN_PERCENT = 30;
/** Thresholds of the wipe-only queue (`WipeFile(..., hthresh 0.03, ..., vthresh 0.005, ...)`). */
export const WIPE_ONLY_H_THRESH = 0.03;
export const WIPE_ONLY_V_THRESH = 0.005;

/**
 * Running sums of pixel values over 1-px strips: `prefix[i]` is the sum of strips `0..i-1`.
 * `depth` is the number of pixels in one strip.
 */
export interface StripProfile {
  length: number;
  depth: number;
  prefix: Float64Array;
}

/**
 * Sums of the pixel values of every row and every column, in one pass over the image (four rows
 * at a time, so each column total is read and written once per four rows). Exact: integer sums in
 * float64.
 */
export function stripSums(img: Grey): { rows: Float64Array; cols: Float64Array } {
  const { width: w, height: h, data } = img;
  const rows = new Float64Array(h);
  const cols = new Float64Array(w);
  let y = 0;
  for (; y + 4 <= h; y += 4) {
    const o0 = y * w;
    const o1 = o0 + w;
    const o2 = o1 + w;
    const o3 = o2 + w;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let x = 0; x < w; x++) {
      const a = data[o0 + x];
      const b = data[o1 + x];
      const c = data[o2 + x];
      const d = data[o3 + x];
      s0 += a;
      s1 += b;
      s2 += c;
      s3 += d;
      cols[x] += a + b + c + d;
    }
    rows[y] = s0;
    rows[y + 1] = s1;
    rows[y + 2] = s2;
    rows[y + 3] = s3;
  }
  for (; y < h; y++) rows[y] = addRow(data, y * w, w, cols, 1);
  return { rows, cols };
}

/** Adds `sign` × row pixels to `cols`; returns the row's sum. */
function addRow(data: Uint8Array, off: number, w: number, cols: Float64Array, sign: number): number {
  let s = 0;
  for (let x = 0; x < w; x++) {
    const v = data[off + x];
    s += v;
    cols[x] += sign * v;
  }
  return s;
}

/** The profile of strips with the given sums, each `depth` pixels deep. */
function profileOf(sums: Float64Array, depth: number): StripProfile {
  const prefix = new Float64Array(sums.length + 1);
  let acc = 0;
  for (let i = 0; i < sums.length; i++) {
    acc += sums[i];
    prefix[i + 1] = acc;
  }
  return { length: sums.length, depth, prefix };
}

/** Profile of the columns of `img` (strips are columns, `length = width`, `depth = height`). */
export function columnProfile(img: Grey): StripProfile {
  return profileOf(stripSums(img).cols, img.height);
}

/** Profile of the rows of `img` (strips are rows, `length = height`, `depth = width`): the column
 * profile of the transposed image that the original builds. */
export function rowProfile(img: Grey): StripProfile {
  return profileOf(stripSums(img).rows, img.width);
}

/**
 * Column sums of `img` after the rows outside `[rowLo, rowHi)` have been replaced by pixels of value
 * `fill` (what a vertical wipe does), from the column sums `cols` of the whole image: the replaced
 * rows are taken out (or, when they are the majority, the kept rows summed afresh).
 */
function columnSumsOfRows(img: Grey, cols: Float64Array, rowLo: number, rowHi: number, fill: number): Float64Array {
  const { width: w, height: h, data } = img;
  const lo = Math.min(Math.max(rowLo, 0), h);
  const hi = Math.min(Math.max(rowHi, lo), h);
  const kept = hi - lo;
  let out: Float64Array;
  if (kept >= h - kept) {
    out = cols.slice();
    for (let y = 0; y < lo; y++) addRow(data, y * w, w, out, -1);
    for (let y = hi; y < h; y++) addRow(data, y * w, w, out, -1);
  } else {
    out = new Float64Array(w);
    for (let y = lo; y < hi; y++) addRow(data, y * w, w, out, 1);
  }
  const filled = (h - kept) * fill;
  if (filled !== 0) for (let x = 0; x < w; x++) out[x] += filled;
  return out;
}

/** Black:white ratio (`area / white − 1`) of strips `[x, x+width)`, clipped to the profile. */
export function stripRatio(p: StripProfile, x: number, width: number): number {
  const x0 = x < 0 ? 0 : x;
  const x1 = x + width > p.length ? p.length : x + width;
  const area = (x1 - x0) * p.depth;
  const white = (p.prefix[x1] - p.prefix[x0]) / 255;
  return area / white - 1;
}

/**
 * Go's `findbestedge`: within strips `[x, x+w)`, the 1-px strip with the lowest ratio, the middle
 * one (index `floor(n/2)`) if several tie. Go starts from a best of 100 and would index an empty list
 * (panic) if every strip had a ratio above 100 (over 99 % black); here the minimum is taken however
 * large, which gives Go's answer in every case where Go does not crash.
 */
export function findBestEdge(p: StripProfile, x: number, w: number): number {
  if (w === 1) return x;
  let best = Infinity;
  const ties: number[] = [];
  for (let i = x; i < x + w; i++) {
    const r = stripRatio(p, i, 1);
    if (r < best) {
      best = r;
      ties.length = 0;
      ties.push(i);
    } else if (r === best) {
      ties.push(i);
    }
  }
  return ties[ties.length >> 1] ?? x;
}

/**
 * Go's `findedges` (horizontal wipe): from 10 % right of the centre, the first window of `wsize`
 * strips whose ratio is `<= thresh` gives the high edge; from 10 % left of the centre leftwards the
 * low edge. Defaults: low 0, high `length − 1`.
 */
export function findEdgesFromCentre(p: StripProfile, wsize: number, thresh: number): [number, number] {
  const maxx = p.length - 1;
  let low = 0;
  let high = maxx;
  const notCentre = Math.floor(maxx / 10);
  const mid = Math.floor(maxx / 2);
  for (let x = mid + notCentre; x < maxx - wsize; x++) {
    if (stripRatio(p, x, wsize) <= thresh) {
      high = findBestEdge(p, x, wsize);
      break;
    }
  }
  for (let x = mid - notCentre; x > 0; x--) {
    if (stripRatio(p, x, wsize) <= thresh) {
      low = findBestEdge(p, x, wsize);
      break;
    }
  }
  return [low, high];
}

/**
 * Go's `findedgesOutin` (vertical wipe): from the far end inwards, the first window of `wsize`
 * strips whose ratio is `> thresh` (content) gives the high edge; from the start inwards the low edge.
 * Defaults: low 0, high `length − 1`.
 */
export function findEdgesOutsideIn(p: StripProfile, wsize: number, thresh: number): [number, number] {
  const maxx = p.length - 1;
  let low = 0;
  let high = maxx;
  for (let x = maxx - wsize; x > 0; x--) {
    if (stripRatio(p, x, wsize) > thresh) {
      high = findBestEdge(p, x, wsize);
      break;
    }
  }
  for (let x = 0; x < maxx - wsize; x++) {
    if (stripRatio(p, x, wsize) > thresh) {
      low = findBestEdge(p, x, wsize);
      break;
    }
  }
  return [low, high];
}

/** Go's `toonarrow`: is `high − low` under `minPercent` % of `imageWidth`? */
export function tooNarrow(low: number, high: number, imageWidth: number, minPercent: number): boolean {
  return ((high - low) / imageWidth) * 100 < minPercent;
}

/** Sets columns `< low` and `>= high` to white (a new image). */
export function wipeColumns(img: Grey, low: number, high: number): Grey {
  const { width: w, height: h } = img;
  const data = img.data.slice();
  const lo = Math.min(Math.max(low, 0), w);
  const hi = Math.min(Math.max(high, 0), w);
  for (let y = 0; y < h; y++) {
    const off = y * w;
    if (lo > 0) data.fill(255, off, off + lo);
    if (hi < w) data.fill(255, off + hi, off + w);
  }
  return { width: w, height: h, data };
}

/** Sets rows `< low` and `>= high` to white (a new image). */
export function wipeRows(img: Grey, low: number, high: number): Grey {
  const { width: w, height: h } = img;
  const data = img.data.slice();
  const lo = Math.min(Math.max(low, 0), h);
  const hi = Math.min(Math.max(high, 0), h);
  if (lo > 0) data.fill(255, 0, lo * w);
  if (hi < h) data.fill(255, hi * w, h * w);
  return { width: w, height: h, data };
}

/** Edges a vertical wipe would use, or null when it would leave the image alone. */
export function vWipeEdges(img: Grey, wsize: number, thresh: number, minPercent: number): [number, number] | null {
  return vEdgesOf(rowProfile(img), img.width, wsize, thresh, minPercent);
}

function vEdgesOf(rows: StripProfile, width: number, wsize: number, thresh: number, minPercent: number): [number, number] | null {
  const [low, high] = findEdgesOutsideIn(rows, wsize, thresh);
  return tooNarrow(low, high, width, minPercent) ? null : [low, high];
}

/** Edges a horizontal wipe would use on `profile` (the columns of an image `width` wide), or null. */
export function hWipeEdgesOf(
  profile: StripProfile,
  wsize: number,
  thresh: number,
  minPercent: number,
): [number, number] | null {
  const [low, high] = findEdgesFromCentre(profile, wsize, thresh);
  return tooNarrow(low, high, profile.length, minPercent) ? null : [low, high];
}

/** Go's `VWipe`: whitens rows above and below the content. Returns `img` itself when too narrow. */
export function vWipe(img: Grey, wsize: number, thresh: number, minPercent: number): Grey {
  const edges = vWipeEdges(img, wsize, thresh, minPercent);
  return edges === null ? img : wipeRows(img, edges[0], edges[1]);
}

/** Go's `Wipe`: whitens columns left and right of the content. Returns `img` itself when too narrow. */
export function hWipe(img: Grey, wsize: number, thresh: number, minPercent: number): Grey {
  const edges = hWipeEdgesOf(columnProfile(img), wsize, thresh, minPercent);
  return edges === null ? img : wipeColumns(img, edges[0], edges[1]);
}

/** What a wipe keeps: rows `[top, bottom)` and, within them, columns `[left, right)`. */
export interface WipeBox {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/**
 * The wipe of a page: `VWipe(120, vThresh, 30 %)` then `Wipe(5, hThresh, 30 %)`. Preprocessing uses
 * `k × 0.02` for both thresholds, the wipe-only queue 0.03 / 0.005. Never modifies `bin`; returns
 * `bin` itself when neither direction wipes anything. One copy of the image at most.
 */
export function wipeBinarised(bin: Grey, hThresh: number, vThresh: number): Grey {
  const box = wipeBox(bin, hThresh, vThresh);
  if (box === null) return bin;
  const data = bin.data.slice();
  applyWipe(data, bin.width, bin.height, box);
  return { width: bin.width, height: bin.height, data };
}

/**
 * What {@link wipeBinarised} keeps of `bin`, or null when it would wipe nothing. Both profiles come
 * from one pass over the image; the horizontal pass sees the image after the vertical one (wiped
 * rows count as white).
 */
export function wipeBox(bin: Grey, hThresh: number, vThresh: number): WipeBox | null {
  const { width: w, height: h } = bin;
  const { rows, cols } = stripSums(bin);
  const v = vEdgesOf(profileOf(rows, w), w, V_WIPE_WINDOW, vThresh, WIPE_MIN_PERCENT);
  const colSums = v === null ? cols : columnSumsOfRows(bin, cols, v[0], v[1], 255);
  const hEdges = hWipeEdgesOf(profileOf(colSums, h), H_WIPE_WINDOW, hThresh, WIPE_MIN_PERCENT);
  if (v === null && hEdges === null) return null;
  const top = v === null ? 0 : Math.min(Math.max(v[0], 0), h);
  const bottom = v === null ? h : Math.min(Math.max(v[1], 0), h);
  const left = hEdges === null ? 0 : Math.min(Math.max(hEdges[0], 0), w);
  const right = hEdges === null ? w : Math.min(Math.max(hEdges[1], 0), w);
  return { top, bottom, left, right };
}

/**
 * Whitens everything outside `box` in `data` (a `width`×`height` image), in place: for buffers the
 * caller owns, such as freshly binarised variants.
 */
export function applyWipe(data: Uint8Array, width: number, height: number, box: WipeBox): void {
  const { top, bottom, left, right } = box;
  if (top > 0) data.fill(255, 0, top * width);
  if (bottom < height) data.fill(255, bottom * width, height * width);
  for (let y = top; y < bottom; y++) {
    const off = y * width;
    if (left > 0) data.fill(255, off, off + left);
    if (right < width) data.fill(255, off + right, off + width);
  }
}
