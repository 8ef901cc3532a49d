import type { Grey } from './image.js';
import { computeIntegrals } from './integral.js';
import { sauvola, sauvolaWindow } from './sauvola.js';

/**
 * Skew detection and rotation.
 *
 * Sign convention (the same as sharp's `rotate(angle)` and libvips): angles are in degrees and a
 * positive angle is a **clockwise** rotation of the page as it is displayed (x to the right, y down).
 * `estimateSkew(img)` returns the angle by which a straight page would have to be rotated to look
 * like `img` (text lines that fall to the right give a positive angle), so
 * `rotateGrey(img, -estimateSkew(img), paper)` straightens it.
 */

/** Largest skew searched for, in degrees (either way). */
export const MAX_SKEW_DEGREES = 10;

const COARSE_STEP = 0.5;
const FINE_STEP = 0.05;
/** The work copy's longer side is reduced to about this many pixels (integer box factor). */
const WORK_SIZE = 900;
/** Sauvola k for the work copy: a little stricter than the OCR variants, to keep noise out. */
const WORK_K = 0.3;
/** At most this many ink pixels enter the profiles (evenly subsampled beyond). */
const MAX_POINTS = 150_000;

/**
 * Estimates the page's skew angle in degrees, in `[-MAX_SKEW_DEGREES, MAX_SKEW_DEGREES]`, to about
 * 0.05° on text pages. 0 for a page without ink. See the module comment for the sign.
 *
 * Method: box-average the page down to a work copy (~900 px on the long side), binarise it with
 * Sauvola, then maximise the sharpness (sum of squared differences of neighbouring bins) of the
 * projection profile of the ink pixels across candidate angles: every 0.5° over ±10°, then every
 * 0.05° within ±0.5° of the best, then a parabola through the best and its neighbours.
 */
export function estimateSkew(img: Grey): number {
  const factor = Math.max(1, Math.floor(Math.max(img.width, img.height) / WORK_SIZE));
  const work = boxReduce(img, factor);
  const bin = sauvola(work, computeIntegrals(work), WORK_K, Math.max(sauvolaWindow(work.width), 15));
  const pts = inkPoints(bin);
  if (pts.count < 20) return 0;
  const scorer = new ProfileScorer(pts, work.width, work.height);

  let best = 0;
  let bestScore = -Infinity;
  for (let a = -MAX_SKEW_DEGREES; a <= MAX_SKEW_DEGREES + 1e-9; a += COARSE_STEP) {
    const s = scorer.score(a);
    if (s > bestScore || (s === bestScore && Math.abs(a) < Math.abs(best))) {
      bestScore = s;
      best = a;
    }
  }
  const centre = best;
  const nFine = Math.round(COARSE_STEP / FINE_STEP);
  const fine: number[] = [];
  let bi = 0;
  bestScore = -Infinity;
  for (let i = -nFine; i <= nFine; i++) {
    const a = centre + i * FINE_STEP;
    const s = Math.abs(a) <= MAX_SKEW_DEGREES + 1e-9 ? scorer.score(a) : -Infinity;
    fine.push(s);
    if (s > bestScore) {
      bestScore = s;
      bi = i + nFine;
    }
  }
  let angle = centre + (bi - nFine) * FINE_STEP;
  const left = fine[bi - 1];
  const right = fine[bi + 1];
  if (left !== undefined && right !== undefined && Number.isFinite(left) && Number.isFinite(right)) {
    const denom = left - 2 * bestScore + right;
    if (denom < 0) {
      const off = (0.5 * (left - right)) / denom;
      if (Math.abs(off) <= 1) angle += off * FINE_STEP;
    }
  }
  angle = Math.max(-MAX_SKEW_DEGREES, Math.min(MAX_SKEW_DEGREES, angle));
  return Math.round(angle * 1000) / 1000;
}

/**
 * Rotates `img` clockwise by `degrees` about its centre, keeping its size; bilinear interpolation,
 * `background` (0-255) where the source falls outside the image. Pure.
 */
export function rotateGrey(img: Grey, degrees: number, background: number): Grey {
  const { width: w, height: h, data: src } = img;
  if (degrees === 0) return { width: w, height: h, data: src.slice() };
  const bg = Math.min(255, Math.max(0, Math.round(background)));
  const out = new Uint8Array(w * h);
  const t = (degrees * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const wm1 = w - 1;
  const hm1 = h - 1;
  // output (X, Y) samples the input at the inverse rotation:
  // sx = cx + dx·cos + dy·sin, sy = cy − dx·sin + dy·cos, with dx = X − cx, dy = Y − cy
  for (let y = 0; y < h; y++) {
    const dy = y - cy;
    let sx = cx - cx * cos + dy * sin;
    let sy = cy + cx * sin + dy * cos;
    let o = y * w;
    for (let x = 0; x < w; x++, o++, sx += cos, sy -= sin) {
      const ix = Math.floor(sx);
      const iy = Math.floor(sy);
      if (ix >= 0 && iy >= 0 && ix < wm1 && iy < hm1) {
        const fx = sx - ix;
        const fy = sy - iy;
        const p = iy * w + ix;
        const top = src[p] + (src[p + 1] - src[p]) * fx;
        const bot = src[p + w] + (src[p + w + 1] - src[p + w]) * fx;
        out[o] = (top + (bot - top) * fy + 0.5) | 0;
      } else if (ix < -1 || iy < -1 || ix > wm1 || iy > hm1) {
        out[o] = bg;
      } else {
        const fx = sx - ix;
        const fy = sy - iy;
        const v00 = sample(src, w, h, ix, iy, bg);
        const v10 = sample(src, w, h, ix + 1, iy, bg);
        const v01 = sample(src, w, h, ix, iy + 1, bg);
        const v11 = sample(src, w, h, ix + 1, iy + 1, bg);
        const top = v00 + (v10 - v00) * fx;
        const bot = v01 + (v11 - v01) * fx;
        out[o] = (top + (bot - top) * fy + 0.5) | 0;
      }
    }
  }
  return { width: w, height: h, data: out };
}

function sample(src: Uint8Array, w: number, h: number, x: number, y: number, bg: number): number {
  return x >= 0 && y >= 0 && x < w && y < h ? src[y * w + x] : bg;
}

/** Averages `factor`×`factor` blocks (the last partial blocks average what they have). */
export function boxReduce(img: Grey, factor: number): Grey {
  if (factor <= 1) return img;
  const { width: w, height: h, data: src } = img;
  const rw = Math.ceil(w / factor);
  const rh = Math.ceil(h / factor);
  const acc = new Uint32Array(rw);
  const out = new Uint8Array(rw * rh);
  for (let ry = 0; ry < rh; ry++) {
    acc.fill(0);
    const y0 = ry * factor;
    const y1 = Math.min(h, y0 + factor);
    for (let y = y0; y < y1; y++) {
      const off = y * w;
      let x = 0;
      for (let rx = 0; rx < rw; rx++) {
        const xEnd = Math.min(w, x + factor);
        let s = 0;
        for (; x < xEnd; x++) s += src[off + x];
        acc[rx] += s;
      }
    }
    const rows = y1 - y0;
    const o = ry * rw;
    for (let rx = 0; rx < rw; rx++) {
      const cols = Math.min(w, (rx + 1) * factor) - rx * factor;
      out[o + rx] = Math.round(acc[rx] / (rows * cols));
    }
  }
  return { width: rw, height: rh, data: out };
}

interface Points {
  xs: Float64Array;
  ys: Float64Array;
  count: number;
}

/** Coordinates (relative to the image centre) of the black pixels of a binarised image. */
function inkPoints(bin: Grey): Points {
  const { width: w, height: h, data } = bin;
  let total = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === 0) total++;
  const stride = Math.max(1, Math.ceil(total / MAX_POINTS));
  const n = Math.ceil(total / stride);
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  let seen = 0;
  let count = 0;
  for (let y = 0; y < h; y++) {
    const off = y * w;
    for (let x = 0; x < w; x++) {
      if (data[off + x] === 0) {
        if (seen % stride === 0 && count < n) {
          xs[count] = x - cx;
          ys[count] = y - cy;
          count++;
        }
        seen++;
      }
    }
  }
  return { xs, ys, count };
}

/** Sharpness of the horizontal projection profile of a point set after undoing a rotation. */
class ProfileScorer {
  private readonly hist: Float64Array;
  private readonly offset: number;

  constructor(
    private readonly pts: Points,
    width: number,
    height: number,
  ) {
    const half = Math.ceil(Math.hypot(width, height) / 2) + 2;
    this.offset = half;
    this.hist = new Float64Array(2 * half + 2);
  }

  /** Undoes a clockwise rotation by `degrees` (y' = −x·sin + y·cos) and scores the row profile. */
  score(degrees: number): number {
    const t = (degrees * Math.PI) / 180;
    const sin = Math.sin(t);
    const cos = Math.cos(t);
    const hist = this.hist;
    hist.fill(0);
    const { xs, ys, count } = this.pts;
    const off = this.offset;
    for (let i = 0; i < count; i++) {
      const p = ys[i] * cos - xs[i] * sin + off;
      const b = Math.floor(p);
      const f = p - b;
      hist[b] += 1 - f;
      hist[b + 1] += f;
    }
    let s = 0;
    for (let i = 1; i < hist.length; i++) {
      const d = hist[i] - hist[i - 1];
      s += d * d;
    }
    return s;
  }
}
