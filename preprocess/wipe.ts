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

/** Profile of the columns of `img` (strips are columns, `length = width`, `depth = height`). */
export function columnProfile(img: Grey): StripProfile {
  return columnProfileOfRows(img, 0, img.height, 0);
}

/**
 * Column profile of `img` after rows outside `[rowLo, rowHi)` have been replaced by pixels of value
 * `fill` (what a vertical wipe does), without building that image.
 */
export function columnProfileOfRows(img: Grey, rowLo: number, rowHi: number, fill: number): StripProfile {
  const { width: w, height: h, data } = img;
  const lo = Math.max(0, rowLo);
  const hi = Math.min(h, rowHi);
  const cols = new Float64Array(w);
  for (let y = lo; y < hi; y++) {
    const off = y * w;
    for (let x = 0; x < w; x++) cols[x] += data[off + x];
  }
  const filled = (h - Math.max(0, hi - lo)) * fill;
  const prefix = new Float64Array(w + 1);
  let acc = 0;
  for (let x = 0; x < w; x++) {
    acc += cols[x] + filled;
    prefix[x + 1] = acc;
  }
  return { length: w, depth: h, prefix };
}

/** Profile of the rows of `img` (strips are rows, `length = height`, `depth = width`): the column
 * profile of the transposed image that the original builds. */
export function rowProfile(img: Grey): StripProfile {
  const { width: w, height: h, data } = img;
  const prefix = new Float64Array(h + 1);
  let acc = 0;
  for (let y = 0; y < h; y++) {
    const off = y * w;
    let s = 0;
    for (let x = 0; x < w; x++) s += data[off + x];
    acc += s;
    prefix[y + 1] = acc;
  }
  return { length: h, depth: w, prefix };
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
  const [low, high] = findEdgesOutsideIn(rowProfile(img), wsize, thresh);
  return tooNarrow(low, high, img.width, minPercent) ? null : [low, high];
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

/**
 * The wipe of a page: `VWipe(120, vThresh, 30 %)` then `Wipe(5, hThresh, 30 %)`. Preprocessing uses
 * `k × 0.02` for both thresholds, the wipe-only queue 0.03 / 0.005. Never modifies `bin`; returns
 * `bin` itself when neither direction wipes anything. One copy of the image at most.
 */
export function wipeBinarised(bin: Grey, hThresh: number, vThresh: number): Grey {
  const v = vWipeEdges(bin, V_WIPE_WINDOW, vThresh, WIPE_MIN_PERCENT);
  // the horizontal pass sees the image after the vertical one: wiped rows count as white
  const profile = v === null ? columnProfile(bin) : columnProfileOfRows(bin, v[0], v[1], 255);
  const hEdges = hWipeEdgesOf(profile, H_WIPE_WINDOW, hThresh, WIPE_MIN_PERCENT);
  if (v === null && hEdges === null) return bin;
  const { width: w, height: h } = bin;
  const data = bin.data.slice();
  const rowLo = v === null ? 0 : Math.min(Math.max(v[0], 0), h);
  const rowHi = v === null ? h : Math.min(Math.max(v[1], 0), h);
  if (rowLo > 0) data.fill(255, 0, rowLo * w);
  if (rowHi < h) data.fill(255, rowHi * w, h * w);
  if (hEdges !== null) {
    const lo = Math.min(Math.max(hEdges[0], 0), w);
    const hi = Math.min(Math.max(hEdges[1], 0), w);
    for (let y = rowLo; y < rowHi; y++) {
      const off = y * w;
      if (lo > 0) data.fill(255, off, off + lo);
      if (hi < w) data.fill(255, off + hi, off + w);
    }
  }
  return { width: w, height: h, data };
}
