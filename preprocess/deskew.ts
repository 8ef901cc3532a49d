import type { Grey } from './image.js';
import { sauvolaVariants, sauvolaWindow } from './sauvola.js';

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
/** The fine search covers the coarse best ± this. */
const FINE_SPAN = 0.75;
/** The peak's parabola is fitted over the fine best ± this. */
const FIT_SPAN = 0.3;
/** The work copy's longer side is reduced to about this many pixels (integer box factor). */
const WORK_SIZE = 900;
/** Sauvola k for the work copy: a little stricter than the OCR variants, to keep noise out. */
const WORK_K = 0.3;
/** The best coarse score must exceed the median one by this factor to count as text lines (text
 * pages score 40-80 times the median, random specks about 1). */
const MIN_PEAK_RATIO = 1.5;
/** At most this many ink pixels enter the profiles (evenly subsampled beyond). */
const MAX_POINTS = 80_000;

/**
 * Estimates the page's skew angle in degrees, in `[-MAX_SKEW_DEGREES, MAX_SKEW_DEGREES]`, to about
 * 0.05° on text pages. 0 for a page without ink or without line structure (no angle's profile
 * clearly sharper than the others). See the module comment for the sign.
 *
 * Method: box-average the page down to a work copy (~900 px on the long side), binarise it with
 * Sauvola, then maximise the sharpness (sum of squared differences of neighbouring bins) of the
 * projection profile of the ink pixels across candidate angles: every 0.5° over ±10°, then every
 * 0.05° within ±0.75° of the best, then the vertex of a least-squares parabola over ±0.3° around
 * the fine best.
 */
export function estimateSkew(img: Grey): number {
  const factor = Math.max(1, Math.floor(Math.max(img.width, img.height) / WORK_SIZE));
  const work = boxReduce(img, factor);
  const bin = sauvolaVariants(work, [WORK_K], Math.max(sauvolaWindow(work.width), 15))[0];
  if (bin === undefined) return 0;
  const pts = inkPoints(bin);
  if (pts.count < 20) return 0;
  const scorer = new ProfileScorer(pts, work.width, work.height);

  // coarse: every 0.5° over the whole range (ties go to the smaller angle)
  let centre = 0;
  let bestScore = -Infinity;
  const coarse: number[] = [];
  for (let a = -MAX_SKEW_DEGREES; a <= MAX_SKEW_DEGREES + 1e-9; a += COARSE_STEP) {
    const s = scorer.score(a);
    coarse.push(s);
    if (s > bestScore || (s === bestScore && Math.abs(a) < Math.abs(centre))) {
      bestScore = s;
      centre = a;
    }
  }
  // no line structure (blank page with specks, a picture): no angle stands out, do not guess
  coarse.sort((a, b) => a - b);
  const median = coarse[coarse.length >> 1] ?? 0;
  if (!(bestScore > median * MIN_PEAK_RATIO)) return 0;
  // fine: every 0.05° within ±0.75° of the coarse best
  const n = Math.round(FINE_SPAN / FINE_STEP);
  const angles: number[] = [];
  const scores: number[] = [];
  let bi = 0;
  for (let i = -n; i <= n; i++) {
    const a = centre + i * FINE_STEP;
    if (Math.abs(a) > MAX_SKEW_DEGREES + 1e-9) continue;
    const s = scorer.score(a);
    angles.push(a);
    scores.push(s);
    if (s > (scores[bi] ?? -Infinity)) bi = scores.length - 1;
  }
  // The peak is flat-topped (within about ±1 px of line displacement every angle scores alike),
  // so its centre is found with a least-squares parabola over ±FIT_SPAN rather than the single best.
  const best = angles[bi] ?? centre;
  const angle = fitPeak(angles, scores, best, FIT_SPAN) ?? best;
  const clamped = Math.max(-MAX_SKEW_DEGREES, Math.min(MAX_SKEW_DEGREES, angle));
  return Math.round(clamped * 1000) / 1000;
}

/**
 * Vertex of the least-squares parabola through the points within `span` of `at`, or null when the
 * fit is not a peak or its vertex falls outside that span.
 */
function fitPeak(xs: readonly number[], ys: readonly number[], at: number, span: number): number | null {
  // centre and scale for conditioning
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  let t0 = 0;
  let t1 = 0;
  let t2 = 0;
  let ymax = 0;
  for (let i = 0; i < xs.length; i++) if (Math.abs((xs[i] ?? 0) - at) <= span + 1e-9) ymax = Math.max(ymax, Math.abs(ys[i] ?? 0));
  if (ymax === 0) return null;
  for (let i = 0; i < xs.length; i++) {
    const u = ((xs[i] ?? 0) - at) / span;
    if (Math.abs(u) > 1 + 1e-9) continue;
    const y = (ys[i] ?? 0) / ymax;
    const u2 = u * u;
    s0 += 1;
    s1 += u;
    s2 += u2;
    s3 += u2 * u;
    s4 += u2 * u2;
    t0 += y;
    t1 += u * y;
    t2 += u2 * y;
  }
  if (s0 < 3) return null;
  // normal equations for y = a + b u + c u²
  const det = s0 * (s2 * s4 - s3 * s3) - s1 * (s1 * s4 - s3 * s2) + s2 * (s1 * s3 - s2 * s2);
  if (Math.abs(det) < 1e-12) return null;
  const b = (s0 * (t1 * s4 - s3 * t2) - t0 * (s1 * s4 - s3 * s2) + s2 * (s1 * t2 - t1 * s2)) / det;
  const c = (s0 * (s2 * t2 - t1 * s3) - s1 * (s1 * t2 - t1 * s2) + t0 * (s1 * s3 - s2 * s2)) / det;
  if (!(c < 0)) return null;
  const u = -b / (2 * c);
  if (Math.abs(u) > 1) return null;
  return at + u * span;
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
  const colAcc = new Uint32Array(w);
  const out = new Uint8Array(rw * rh);
  for (let ry = 0; ry < rh; ry++) {
    const y0 = ry * factor;
    const y1 = Math.min(h, y0 + factor);
    // sum the block's rows column by column (sequential), then groups of columns
    colAcc.set(src.subarray(y0 * w, y0 * w + w));
    for (let y = y0 + 1; y < y1; y++) {
      const off = y * w;
      for (let x = 0; x < w; x++) colAcc[x] += src[off + x];
    }
    const rows = y1 - y0;
    const o = ry * rw;
    for (let rx = 0; rx < rw; rx++) {
      const x0 = rx * factor;
      const x1 = Math.min(w, x0 + factor);
      let sum = 0;
      for (let x = x0; x < x1; x++) sum += colAcc[x];
      out[o + rx] = Math.round(sum / (rows * (x1 - x0)));
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
