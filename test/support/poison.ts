// Bad page images, made on the spot: what users' folders and the pipeline's fault tests feed in.
import { deflateSync } from 'node:zlib';
import { crc32 } from '../../preprocess/codec.js';
import sharp from 'sharp';

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}

/** A PNG whose header declares width×height pixels (a decompression bomb), with a tiny body. */
export function bombPng(width = 60000, height = 60000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A valid PNG with one chunk's bytes flipped (its CRC no longer matches). */
export async function corruptChunkPng(): Promise<Buffer> {
  const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#c8c8c8', noise: { type: 'gaussian', mean: 128, sigma: 30 } } }).png().toBuffer();
  const idat = png.indexOf(Buffer.from('IDAT'));
  const bad = Buffer.from(png);
  for (let i = idat + 4; i < idat + 12; i++) bad[i] = bad[i]! ^ 0xff;
  return bad;
}

/** A JPEG cut off after a third of its bytes. */
export function truncated(jpeg: Buffer): Buffer {
  return jpeg.subarray(0, Math.floor(jpeg.length / 3));
}

export const textAsImage = (): Buffer => Buffer.from('this is not an image, just text saved as .png\n');

export const onePixelPng = (): Promise<Buffer> =>
  sharp({ create: { width: 1, height: 1, channels: 3, background: '#ffffff' } }).png().toBuffer();
