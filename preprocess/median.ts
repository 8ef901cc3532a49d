import type { Grey } from './image.js';

/** min(a, b) of two int32 values without a branch. */
function min(a: number, b: number): number {
  const d = a - b;
  return b + (d & (d >> 31));
}

/** max(a, b) of two int32 values without a branch. */
function max(a: number, b: number): number {
  const d = a - b;
  return a - (d & (d >> 31));
}

/**
 * 3×3 median filter with replicated edges (a pixel outside the image takes the value of the nearest
 * edge pixel). Used before Sauvola on noisy high-resolution scans.
 *
 * The median of nine values is the median of (max of the three column lows, median of the three
 * column mids, min of the three column highs) once each three-pixel column is sorted. Output rows
 * are made two at a time: rows y and y+1 share the middle pair of their columns (rows y and y+1),
 * sorted once and completed by row y−1 for output row y and by row y+2 for output row y+1. Along a
 * row, pixels are made two at a time too, sharing the max of the two middle lows, the min of the
 * two middle highs and the sorted pair of the two middle mids. Min and max are branch-free integer
 * arithmetic (`b + ((a − b) & ((a − b) >> 31))`): on noisy scans the comparisons are unpredictable
 * and branches made the filter about 2.5× slower.
 */
export function median3(img: Grey): Grey {
  const { width: w, height: h, data: src } = img;
  const out = new Uint8Array(w * h);
  // sorted columns of output rows y (…0) and y + 1 (…1), padded by one column on each side
  const lo0 = new Int32Array(w + 2);
  const mid0 = new Int32Array(w + 2);
  const hi0 = new Int32Array(w + 2);
  const lo1 = new Int32Array(w + 2);
  const mid1 = new Int32Array(w + 2);
  const hi1 = new Int32Array(w + 2);
  for (let y = 0; y < h; y += 2) {
    const a = (y > 0 ? y - 1 : 0) * w;
    const b = y * w;
    const c = Math.min(y + 1, h - 1) * w;
    const d = Math.min(y + 2, h - 1) * w;
    for (let x = 0; x < w; x++) {
      const p = src[b + x];
      const q = src[c + x];
      const pl = min(p, q);
      const ph = max(p, q);
      const r = src[a + x];
      lo0[x + 1] = min(pl, r);
      hi0[x + 1] = max(ph, r);
      mid0[x + 1] = max(pl, min(ph, r));
      const s = src[d + x];
      lo1[x + 1] = min(pl, s);
      hi1[x + 1] = max(ph, s);
      mid1[x + 1] = max(pl, min(ph, s));
    }
    mergeRow(lo0, mid0, hi0, out, b, w);
    if (y + 1 < h) mergeRow(lo1, mid1, hi1, out, b + w, w);
  }
  return { width: w, height: h, data: out };
}

/**
 * One output row from its sorted columns: `lo[x + 1]`, `mid[x + 1]`, `hi[x + 1]` are the sorted
 * three pixels of column x (indices 0 and w + 1 are set here to replicate the edge columns).
 */
function mergeRow(lo: Int32Array, mid: Int32Array, hi: Int32Array, out: Uint8Array, off: number, w: number): void {
  lo[0] = lo[1];
  mid[0] = mid[1];
  hi[0] = hi[1];
  lo[w + 1] = lo[w];
  mid[w + 1] = mid[w];
  hi[w + 1] = hi[w];
  let x = 0;
  let la = lo[0];
  let lb = lo[1];
  let ha = hi[0];
  let hb = hi[1];
  let ma = mid[0];
  let mb = mid[1];
  // pixels x and x + 1 from columns x − 1 … x + 2 (a, b, c, d: indices x … x + 3); a and b carry over
  for (; x + 1 < w; x += 2) {
    const lc = lo[x + 2];
    const ld = lo[x + 3];
    const pl = max(lb, lc);
    const L0 = max(la, pl);
    const L1 = max(pl, ld);
    const hc = hi[x + 2];
    const hd = hi[x + 3];
    const ph = min(hb, hc);
    const U0 = min(ha, ph);
    const U1 = min(ph, hd);
    const mc = mid[x + 2];
    const md = mid[x + 3];
    const ms = min(mb, mc);
    const mt = max(mb, mc);
    const M0 = max(ms, min(mt, ma));
    const M1 = max(ms, min(mt, md));
    out[off + x] = max(min(L0, M0), min(max(L0, M0), U0));
    out[off + x + 1] = max(min(L1, M1), min(max(L1, M1), U1));
    la = lc;
    lb = ld;
    ha = hc;
    hb = hd;
    ma = mc;
    mb = md;
  }
  if (x < w) {
    const L = max(max(lo[x], lo[x + 1]), lo[x + 2]);
    const U = min(min(hi[x], hi[x + 1]), hi[x + 2]);
    const ms = min(mid[x + 1], mid[x + 2]);
    const M = max(ms, min(max(mid[x + 1], mid[x + 2]), mid[x]));
    out[off + x] = max(min(L, M), min(max(L, M), U));
  }
}
