/**
 * The resolution a PNG records in its pHYs chunk (pixels per metre), in dots per inch; undefined
 * when it records none. Reads the chunk headers only, no pixels.
 */
export function pngDpi(png: Buffer): number | undefined {
  const SIG = '89504e470d0a1a0a';
  if (png.length < 8 || png.subarray(0, 8).toString('hex') !== SIG) return undefined;
  let p = 8;
  while (p + 8 <= png.length) {
    const len = png.readUInt32BE(p);
    const type = png.toString('latin1', p + 4, p + 8);
    if (type === 'pHYs' && len >= 9 && p + 8 + 9 <= png.length) {
      const x = png.readUInt32BE(p + 8);
      const unit = png[p + 16];
      return unit === 1 && x > 0 ? x * 0.0254 : undefined;
    }
    if (type === 'IDAT' || type === 'IEND') return undefined;
    p += 12 + len;
  }
  return undefined;
}
