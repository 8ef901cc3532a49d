import type { Grey } from './image.js';

/**
 * 3×3 median filter with replicated edges (a pixel outside the image takes the value of the nearest
 * edge pixel). Used before Sauvola on noisy high-resolution scans.
 *
 * Each output row sorts the three-pixel columns of its neighbourhood once (lo ≤ mid ≤ hi per column)
 * and takes, per pixel, the median of (max of the three lows, median of the three mids, min of the
 * three highs), which is the median of the nine values. Min and max are branch-free integer
 * arithmetic (`b + ((a − b) & ((a − b) >> 31))`): on noisy scans the comparisons are unpredictable
 * and branches made the filter about 2.5× slower.
 */
export function median3(img: Grey): Grey {
  const { width: w, height: h, data: src } = img;
  const out = new Uint8Array(w * h);
  // sorted columns, padded by one replicated column on each side (index x + 1 is column x)
  const lo = new Int32Array(w + 2);
  const mid = new Int32Array(w + 2);
  const hi = new Int32Array(w + 2);
  for (let y = 0; y < h; y++) {
    const a = (y > 0 ? y - 1 : 0) * w;
    const b = y * w;
    const c = (y < h - 1 ? y + 1 : h - 1) * w;
    for (let x = 0; x < w; x++) {
      const p = src[a + x];
      const q = src[b + x];
      const r = src[c + x];
      let d = p - q;
      const mn = q + (d & (d >> 31)); // min(p, q)
      const mx = p - (d & (d >> 31)); // max(p, q)
      d = mn - r;
      lo[x + 1] = r + (d & (d >> 31)); // min(mn, r)
      d = mx - r;
      hi[x + 1] = mx - (d & (d >> 31)); // max(mx, r)
      const mr = r + (d & (d >> 31)); // min(mx, r)
      d = mn - mr;
      mid[x + 1] = mn - (d & (d >> 31)); // max(mn, min(mx, r))
    }
    lo[0] = lo[1];
    mid[0] = mid[1];
    hi[0] = hi[1];
    lo[w + 1] = lo[w];
    mid[w + 1] = mid[w];
    hi[w + 1] = hi[w];
    let l0 = lo[0];
    let l1 = lo[1];
    let m0 = mid[0];
    let m1 = mid[1];
    let h0 = hi[0];
    let h1 = hi[1];
    for (let x = 0; x < w; x++) {
      const l2 = lo[x + 2];
      const m2 = mid[x + 2];
      const h2 = hi[x + 2];
      // L = max of lows
      let d = l0 - l1;
      let L = l0 - (d & (d >> 31));
      d = L - l2;
      L -= d & (d >> 31);
      // U = min of highs
      d = h0 - h1;
      let U = h1 + (d & (d >> 31));
      d = U - h2;
      U = h2 + (d & (d >> 31));
      // M = median of mids = max(min(m0, m1), min(max(m0, m1), m2))
      d = m0 - m1;
      const a1 = m1 + (d & (d >> 31));
      const b1 = m0 - (d & (d >> 31));
      d = b1 - m2;
      const c1 = m2 + (d & (d >> 31));
      d = a1 - c1;
      const M = a1 - (d & (d >> 31));
      // median of (L, M, U)
      d = L - M;
      const a2 = M + (d & (d >> 31));
      const b2 = L - (d & (d >> 31));
      d = b2 - U;
      const c2 = U + (d & (d >> 31));
      d = a2 - c2;
      out[b + x] = a2 - (d & (d >> 31));
      l0 = l1;
      l1 = l2;
      m0 = m1;
      m1 = m2;
      h0 = h1;
      h1 = h2;
    }
  }
  return { width: w, height: h, data: out };
}
