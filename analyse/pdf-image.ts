// Puts a page image into the form the PDF should hold, losslessly:
// - JPEG passes through untouched (pdfkit embeds it as DCTDecode);
// - a non-interlaced 1-bit PNG passes through (pdfkit keeps it at 1 bit per component);
// - a bilevel image in any other lossless form (8-bit grey PNG of 0/255, 2-colour palette, TIFF…)
//   is repacked as a 1-bit greyscale PNG, unless `packBilevel` is false;
// - an interlaced PNG is re-encoded non-interlaced: pdfkit 0.20 garbles interlaced low-bit-depth PNGs;
// - other formats sharp can read (TIFF, WebP…) become a PNG.
import sharp from 'sharp';
import { encodePng1 } from './png1.js';

export interface PdfImage {
  data: Buffer;
  format: 'jpeg' | 'png';
  width: number;
  height: number;
  /** Bits per component of the embedded image (1 for bilevel PNGs). */
  bits: number;
}

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlaced: boolean;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function isJpeg(data: Uint8Array): boolean {
  return data.length > 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff;
}

/** Reads a PNG's IHDR; null when `data` is not a PNG. */
export function readPngHeader(data: Buffer): PngHeader | null {
  if (data.length < 33 || !data.subarray(0, 8).equals(PNG_SIGNATURE)) return null;
  if (data.toString('latin1', 12, 16) !== 'IHDR') return null;
  return {
    width: data.readUInt32BE(16),
    height: data.readUInt32BE(20),
    bitDepth: data[24]!,
    colorType: data[25]!,
    interlaced: data[28] === 1,
  };
}

/**
 * Decodes an image to raw pixels and, if every pixel is pure black or pure white (and opaque),
 * returns them as one 8-bit channel; otherwise null.
 */
async function bilevelPixels(
  data: Buffer,
  isGrey: boolean,
): Promise<{ grey: Buffer; width: number; height: number } | null> {
  // sharp's raw output is sRGB (3 channels) unless asked to stay grey.
  const img = isGrey ? sharp(data).toColourspace('b-w') : sharp(data);
  const { data: px, info } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const ch = info.channels;
  const colours = info.hasAlpha ? ch - 1 : ch;
  const n = info.width * info.height;
  if (ch === 1) {
    for (let i = 0; i < n; i++) {
      const v = px[i]!;
      if (v !== 0 && v !== 255) return null;
    }
    return { grey: px, width: info.width, height: info.height };
  }
  const grey = Buffer.alloc(n);
  for (let i = 0, p = 0; i < n; i++, p += ch) {
    const v = px[p]!;
    if (v !== 0 && v !== 255) return null;
    for (let c = 1; c < colours; c++) if (px[p + c] !== v) return null;
    if (info.hasAlpha && px[p + colours] !== 255) return null;
    grey[i] = v;
  }
  return { grey, width: info.width, height: info.height };
}

export async function preparePdfImage(data: Buffer, opts: { packBilevel?: boolean } = {}): Promise<PdfImage> {
  const packBilevel = opts.packBilevel ?? true;
  if (isJpeg(data)) {
    const meta = await sharp(data).metadata();
    return { data, format: 'jpeg', width: meta.width, height: meta.height, bits: 8 };
  }
  const png = readPngHeader(data);
  if (png && png.bitDepth === 1 && !png.interlaced) {
    return { data, format: 'png', width: png.width, height: png.height, bits: 1 };
  }
  // Any lossless input may hold a bilevel page (sharp, for one, writes one-channel pixels as RGB
  // PNG unless told otherwise). The check stops at the first pixel that is neither black nor white,
  // so a real grey or colour page costs little more than its decoding.
  if (packBilevel) {
    const bw = await bilevelPixels(data, png !== null && (png.colorType === 0 || png.colorType === 4));
    if (bw) return { data: encodePng1(bw.grey, bw.width, bw.height), format: 'png', width: bw.width, height: bw.height, bits: 1 };
  }
  if (png && !png.interlaced) {
    return { data, format: 'png', width: png.width, height: png.height, bits: png.bitDepth };
  }
  // Interlaced PNG, or another format: a plain PNG (lossless; bit depth 8, or 16 for 16-bit input).
  const { data: out, info } = await sharp(data).png({ progressive: false, compressionLevel: 9 }).toBuffer({ resolveWithObject: true });
  const header = readPngHeader(out);
  return { data: out, format: 'png', width: info.width, height: info.height, bits: header?.bitDepth ?? 8 };
}
