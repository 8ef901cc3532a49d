import type { Grey } from './image.js';

/**
 * Removes specks: 8-connected black (0) components of at most `maxArea` pixels whose bounding box
 * is at most `maxSide` wide and high become white (255). Dust on a scan turns into dots that OCR
 * reads as punctuation or joins to words; real dots (i, j, full stops) are larger at the same
 * resolution. Pure: returns a new image. One pass labelling with an explicit stack.
 */
export function despeckle(bin: Grey, maxArea: number, maxSide = Number.POSITIVE_INFINITY): Grey {
  const { width: w, height: h } = bin;
  const src = bin.data;
  const out = new Uint8Array(src);
  if (maxArea <= 0) return { width: w, height: h, data: out };
  const seen = new Uint8Array(w * h);
  const stack = new Int32Array(w * h);
  const members = new Int32Array(maxArea + 1);
  for (let start = 0; start < w * h; start++) {
    if (src[start] !== 0 || seen[start]) continue;
    let sp = 0;
    let count = 0;
    let big = false;
    let minX = w, maxX = -1, minY = h, maxY = -1;
    stack[sp++] = start;
    seen[start] = 1;
    while (sp > 0) {
      const p = stack[--sp]!;
      if (count <= maxArea) members[count] = p;
      count++;
      const y = (p / w) | 0;
      const x = p - y * w;
      if (!big) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
        if (count > maxArea || maxX - minX + 1 > maxSide || maxY - minY + 1 > maxSide) big = true;
      }
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= w || (dx === 0 && dy === 0)) continue;
          const q = yy * w + xx;
          if (src[q] === 0 && !seen[q]) {
            seen[q] = 1;
            stack[sp++] = q;
          }
        }
      }
    }
    if (!big) for (let i = 0; i < count; i++) out[members[i]!] = 255;
  }
  return { width: w, height: h, data: out };
}
