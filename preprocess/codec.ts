/**
 * Image decoding and encoding: the only preprocessing module that touches sharp. Everything else
 * works on {@link Grey} buffers.
 */
import { readFile } from 'node:fs/promises';
import zlib from 'node:zlib';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import type { Grey } from './image.js';

/** Why an input could not be turned into pixels. */
export type ImageDecodeReason = 'empty' | 'not-an-image' | 'corrupt' | 'too-large';

/** The input is not a usable image: empty, not an image, truncated or corrupt, or too large. */
export class ImageDecodeError extends Error {
  override readonly name = 'ImageDecodeError';
  readonly reason: ImageDecodeReason;

  constructor(reason: ImageDecodeReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

export interface DecodeOptions {
  /** Largest accepted width × height; larger images are refused before their pixels are decoded. */
  maxPixels: number;
}

export interface Decoded {
  img: Grey;
  /** Resolution recorded in the file, when it records one (a JPEG without JFIF/EXIF density has none). */
  dpi?: number;
  width: number;
  height: number;
}

/** Raster formats accepted as page images (sharp also reads SVG, which is not a scan). */
const RASTER_FORMATS = new Set(['jpeg', 'png', 'tiff', 'webp', 'gif', 'jp2', 'heif', 'avif']);

/**
 * Decodes an image file (path) or its bytes to 8-bit greyscale.
 *
 * - Greyscale images keep their values. Colour is converted with Go's luma
 *   (`(19595 R + 38470 G + 7471 B) / 65536`, the same integer arithmetic as Go's `color.GrayModel`);
 *   transparency is flattened onto white. EXIF orientation is not applied (the original does not).
 * - Refuses, with an {@link ImageDecodeError}: zero-byte input, anything that is not a raster image,
 *   images over `maxPixels` (checked from the header, before decoding), and truncated or corrupt
 *   pixel data (sharp's `failOn: 'error'`: a JPEG cut short is an error, not a grey-filled page).
 * - File-system errors (missing file, permissions) are passed through unchanged.
 */
export async function decodeGrey(input: string | Buffer, opts: DecodeOptions): Promise<Decoded> {
  const bytes = typeof input === 'string' ? await readFile(input) : input;
  if (bytes.length === 0) throw new ImageDecodeError('empty', 'not an image: the input is empty (0 bytes)');
  const limit = Number.isFinite(opts.maxPixels) ? Math.max(1, Math.floor(opts.maxPixels)) : Infinity;
  // 'error' implies 'truncated': a cut-off file or a decoder error aborts; mere warnings (such as
  // stray bytes before a JPEG marker, which Go's decoder tolerates too) do not
  const sharpOpts = {
    failOn: 'error',
    limitInputPixels: Number.isFinite(limit) && limit <= Number.MAX_SAFE_INTEGER ? limit : false,
    autoOrient: false,
  } as const;

  let meta: Metadata;
  try {
    // no pixel limit here: the header's size is checked below, to say how large the image is
    meta = await sharp(bytes, { ...sharpOpts, limitInputPixels: false }).metadata();
  } catch (e) {
    throw translate(e);
  }
  const format = meta.format ?? 'unknown';
  if (!RASTER_FORMATS.has(format)) {
    throw new ImageDecodeError('not-an-image', `not an image: unsupported format '${format}'`);
  }
  const width = meta.width;
  const height = meta.height;
  if (!width || !height) throw new ImageDecodeError('corrupt', 'truncated or corrupt image data: no image size in the header');
  if (width * height > limit) {
    throw new ImageDecodeError('too-large', `image is ${width}x${height} pixels, over the limit of ${limit}`);
  }
  const dpi = recordedDpi(bytes, format, meta);

  const grey = meta.channels === 1 || (meta.channels === 2 && meta.hasAlpha === true);
  let pipeline = sharp(bytes, sharpOpts);
  if (meta.hasAlpha) pipeline = pipeline.flatten({ background: '#ffffff' });
  pipeline = grey ? pipeline.toColourspace('b-w') : pipeline.toColourspace('srgb');
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw translate(e);
  }
  const { info, data } = raw;
  if (info.width !== width || info.height !== height) {
    throw new ImageDecodeError('corrupt', `truncated or corrupt image data: decoded ${info.width}x${info.height}, header says ${width}x${height}`);
  }
  const n = width * height;
  let out: Uint8Array;
  if (info.channels === 1) {
    // sharp's buffer is ours: keep it (a view) unless it shares its memory with other buffers
    out = data.byteOffset === 0 && data.buffer.byteLength === n ? new Uint8Array(data.buffer, 0, n) : new Uint8Array(data.subarray(0, n));
  } else if (info.channels >= 3) {
    out = new Uint8Array(n);
    const c = info.channels;
    for (let i = 0, p = 0; i < n; i++, p += c) {
      // Go: y := (19595*r + 38470*g + 7471*b + 1<<15) >> 24 with 16-bit r, g, b (= 8-bit * 257)
      out[i] = (((19595 * data[p] + 38470 * data[p + 1] + 7471 * data[p + 2]) * 257 + 32768) >>> 24);
    }
  } else {
    throw new ImageDecodeError('corrupt', `truncated or corrupt image data: unexpected ${info.channels} channels`);
  }
  const img: Grey = { width, height, data: out };
  return dpi === undefined ? { img, width, height } : { img, dpi, width, height };
}

/**
 * The file's own resolution. sharp reports 72 dpi for a JPEG without density and for a PNG without
 * a pHYs chunk; that default is not the scan's resolution, so it is only believed when the file
 * says it (JPEG/TIFF: a resolution unit; PNG: pHYs in pixels per metre).
 */
function recordedDpi(bytes: Buffer, format: string, meta: Metadata): number | undefined {
  const d = meta.density;
  if (d === undefined || !(d > 0)) return undefined;
  if (format === 'png') return pngPhysInMetres(bytes) ? d : undefined;
  if (format === 'jpeg' || format === 'tiff') return meta.resolutionUnit !== undefined ? d : undefined;
  return d;
}

/** Does the PNG have a pHYs chunk in pixels per metre (unit 1) before its image data? */
function pngPhysInMetres(png: Buffer): boolean {
  for (let p = 8; p + 8 <= png.length; ) {
    const len = png.readUInt32BE(p);
    const type = png.toString('latin1', p + 4, p + 8);
    if (type === 'IDAT' || type === 'IEND') return false;
    if (type === 'pHYs') return len === 9 && png[p + 16] === 1;
    p += 12 + len;
  }
  return false;
}

function translate(e: unknown): Error {
  if (e instanceof ImageDecodeError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const first = msg.split('\n')[0] ?? msg;
  if (/empty/i.test(first)) return new ImageDecodeError('empty', 'not an image: the input is empty (0 bytes)', { cause: e });
  if (/unsupported image format|bad seek|not a known file format/i.test(first)) {
    return new ImageDecodeError('not-an-image', 'not an image: unrecognised or unsupported format', { cause: e });
  }
  if (/pixel limit/i.test(first)) {
    return new ImageDecodeError('too-large', `image is over the pixel limit (${first})`, { cause: e });
  }
  return new ImageDecodeError('corrupt', `truncated or corrupt image data (${first})`, { cause: e });
}

// ---------------------------------------------------------------------------------------------
// Encoders

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * A 1-bit greyscale PNG (IHDR bit depth 1, colour type 0) of a binarised image: pixels >= 128 are
 * written white (bit 1), the rest black. Each row uses filter None or Up, whichever the usual
 * minimum-sum-of-absolute-differences heuristic prefers. With `dpi`, a pHYs chunk records it.
 * Hand-rolled because sharp's 1-bit output goes through palette quantisation (10× slower).
 */
export function encodePng1(bin: Grey, dpi?: number): Buffer {
  const { width: w, height: h, data } = bin;
  const rowBytes = (w + 7) >> 3;
  const line = rowBytes + 1;
  const raw = Buffer.alloc(line * h);
  let prev = new Uint8Array(rowBytes);
  let cur = new Uint8Array(rowBytes);
  for (let y = 0; y < h; y++) {
    const off = y * w;
    // pack: MSB first, 1 = white
    for (let bx = 0; bx < rowBytes; bx++) {
      const x0 = bx << 3;
      let byte = 0;
      if (x0 + 8 <= w) {
        const p = off + x0;
        byte = ((data[p] >> 7) << 7) | ((data[p + 1] >> 7) << 6) | ((data[p + 2] >> 7) << 5) | ((data[p + 3] >> 7) << 4)
          | ((data[p + 4] >> 7) << 3) | ((data[p + 5] >> 7) << 2) | ((data[p + 6] >> 7) << 1) | (data[p + 7] >> 7);
      } else {
        for (let i = 0; x0 + i < w; i++) byte |= (data[off + x0 + i] >> 7) << (7 - i);
      }
      cur[bx] = byte;
    }
    const o = y * line;
    let sumNone = 0;
    let sumUp = 0;
    for (let i = 0; i < rowBytes; i++) {
      const a = cur[i];
      const u = (a - prev[i]) & 0xff;
      sumNone += a < 128 ? a : 256 - a;
      sumUp += u < 128 ? u : 256 - u;
    }
    if (y > 0 && sumUp < sumNone) {
      raw[o] = 2;
      for (let i = 0; i < rowBytes; i++) raw[o + 1 + i] = (cur[i] - prev[i]) & 0xff;
    } else {
      raw[o] = 0;
      raw.set(cur, o + 1);
    }
    const t = prev;
    prev = cur;
    cur = t;
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // colour type: greyscale
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering
  ihdr[12] = 0; // no interlace
  const chunks: Buffer[] = [PNG_SIGNATURE, pngChunk('IHDR', ihdr)];
  if (dpi !== undefined && dpi > 0 && Number.isFinite(dpi)) {
    const phys = Buffer.alloc(9);
    const ppm = Math.round(dpi / 0.0254);
    phys.writeUInt32BE(ppm, 0);
    phys.writeUInt32BE(ppm, 4);
    phys[8] = 1; // unit: metre
    chunks.push(pngChunk('pHYs', phys));
  }
  chunks.push(pngChunk('IDAT', zlib.deflateSync(raw, { level: 6, memLevel: 9 })));
  chunks.push(pngChunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(chunks);
}

/** An 8-bit greyscale PNG, through sharp. */
export async function encodeGreyPng(img: Grey, dpi?: number): Promise<Buffer> {
  let s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 6, adaptiveFiltering: false });
  if (dpi !== undefined && dpi > 0 && Number.isFinite(dpi)) s = s.withDensity(dpi);
  return s.toBuffer();
}

/** Binary PGM (P5): the cheapest hand-over of pixels to tesseract. */
export function encodePgm(img: Grey): Buffer {
  const header = Buffer.from(`P5\n${img.width} ${img.height}\n255\n`, 'latin1');
  return Buffer.concat([header, img.data]);
}

function pngChunk(type: string, body: Buffer): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  body.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (PNG/zlib polynomial): node:zlib's (Node ≥ 20.15), else {@link crc32Table}. */
export function crc32(buf: Uint8Array): number {
  const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  return typeof native === 'function' ? native(buf) >>> 0 : crc32Table(buf);
}

/** Table-driven CRC-32, for Node versions whose zlib lacks `crc32`. */
export function crc32Table(buf: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = crcTable[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
