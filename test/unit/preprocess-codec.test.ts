import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageDecodeError, crc32, crc32Table, decodeGrey, encodeGreyPng, encodePgm, encodePng1 } from '../../preprocess/codec.js';
import type { Grey } from '../../preprocess/image.js';
import { SAMPLES } from '../support/paths.js';
import { randomBinary, rng } from '../support/random-images.js';

const BOOK_PAGE = join(SAMPLES, 'book/page1.jpg');
const REAL_PAGE = join(SAMPLES, 'real/opencv-imageTextN.png');
const LIMIT = { maxPixels: 100_000_000 };
const tmp = mkdtempSync(join(tmpdir(), 'preprocess-codec-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function sharpGrey(png: Buffer): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.subarray(0, info.width * info.height)), width: info.width, height: info.height };
}

/** Rewrites the IHDR size of a PNG (and its CRC). */
function withPngSize(png: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(png);
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

async function decodeError(input: string | Buffer, maxPixels = LIMIT.maxPixels): Promise<ImageDecodeError> {
  try {
    await decodeGrey(input, { maxPixels });
  } catch (e) {
    expect(e).toBeInstanceOf(ImageDecodeError);
    return e as ImageDecodeError;
  }
  throw new Error('decoded without error');
}

describe('decodeGrey', () => {
  it('decodes a greyscale JPEG page with its DPI, pixel for pixel as libvips does', async () => {
    const { img, dpi, width, height } = await decodeGrey(BOOK_PAGE, LIMIT);
    expect([width, height, img.width, img.height, dpi]).toEqual([2480, 3508, 2480, 3508, 300]);
    expect(img.data.length).toBe(2480 * 3508);
    const ref = await sharp(BOOK_PAGE).extractChannel(0).raw().toBuffer();
    expect(Buffer.compare(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), ref)).toBe(0);
    // a Buffer input gives the same
    const again = await decodeGrey(readFileSync(BOOK_PAGE), LIMIT);
    expect(Buffer.compare(Buffer.from(again.img.data), Buffer.from(img.data))).toBe(0);
  });

  it('converts colour with Go’s luma and flattens transparency onto white', async () => {
    const { img, dpi } = await decodeGrey(REAL_PAGE, LIMIT);
    expect([img.width, img.height, dpi]).toEqual([556, 257, 96]);
    const px = [
      [255, 0, 0, 255],
      [0, 255, 0, 255],
      [0, 0, 255, 255],
      [12, 200, 99, 255],
      [255, 255, 255, 255],
      [0, 0, 0, 0], // transparent: white after flattening
    ];
    const rgba = await sharp(Buffer.from(px.flat()), { raw: { width: 6, height: 1, channels: 4 } }).png().toBuffer();
    const { img: g } = await decodeGrey(rgba, LIMIT);
    const goLuma = (r: number, gr: number, b: number): number =>
      Number(((19595n * BigInt(r * 257) + 38470n * BigInt(gr * 257) + 7471n * BigInt(b * 257) + (1n << 15n)) >> 24n));
    expect(Array.from(g.data)).toEqual([goLuma(255, 0, 0), goLuma(0, 255, 0), goLuma(0, 0, 255), goLuma(12, 200, 99), 255, 255]);
    expect(Array.from(g.data.subarray(0, 3))).toEqual([76, 150, 29]);
  });

  it('reduces 16-bit greyscale to 8 bits and reports no DPI when the file has none', async () => {
    // a hand-made 16-bit greyscale PNG without pHYs
    const values = [0, 0x8080, 0xffff, 0x1234];
    const row = Buffer.alloc(1 + values.length * 2);
    values.forEach((v, i) => row.writeUInt16BE(v, 1 + i * 2));
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(values.length, 0);
    ihdr.writeUInt32BE(1, 4);
    ihdr[8] = 16;
    const chunk = (type: string, body: Buffer): Buffer => {
      const c = Buffer.alloc(12 + body.length);
      c.writeUInt32BE(body.length, 0);
      c.write(type, 4, 'latin1');
      body.copy(c, 8);
      c.writeUInt32BE(zlib.crc32(c.subarray(4, 8 + body.length)) >>> 0, 8 + body.length);
      return c;
    };
    const png16 = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', zlib.deflateSync(row)),
      chunk('IEND', Buffer.alloc(0)),
    ]);
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    const { img, dpi } = await decodeGrey(png16, LIMIT);
    expect(Array.from(img.data)).toEqual([0, 128, 255, 18]);
    expect(dpi).toBeUndefined();
    // a JPEG without JFIF density: sharp reports 72 by default, which is not the file's
    const jpeg = await sharp(Buffer.alloc(64, 128), { raw: { width: 8, height: 8, channels: 1 } }).jpeg().toBuffer();
    expect((await decodeGrey(jpeg, LIMIT)).dpi).toBeUndefined();
    const jpeg300 = await sharp(Buffer.alloc(64, 128), { raw: { width: 8, height: 8, channels: 1 } }).withDensity(300).jpeg().toBuffer();
    expect((await decodeGrey(jpeg300, LIMIT)).dpi).toBe(300);
  });

  it('refuses empty input', async () => {
    const e = await decodeError(Buffer.alloc(0));
    expect(e.reason).toBe('empty');
    expect(e.message).toMatch(/not an image.*0 bytes/);
    const file = join(tmp, 'empty.jpg');
    writeFileSync(file, '');
    expect((await decodeError(file)).reason).toBe('empty');
  });

  it('refuses things that are not images', async () => {
    for (const bytes of [Buffer.from('hello, this is a text file\n'), Buffer.from('%PDF-1.4\n%âãÏÓ\n1 0 obj\n'), Buffer.from([0xff, 0xd8, 0xff])]) {
      const e = await decodeError(bytes);
      expect(['not-an-image', 'corrupt']).toContain(e.reason);
      expect(e.message).toMatch(/not an image|truncated or corrupt/);
    }
    const text = await decodeError(Buffer.from('hello, this is a text file\n'));
    expect(text.reason).toBe('not-an-image');
    expect(text.message).toMatch(/^not an image/);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    const e = await decodeError(svg);
    expect(e.reason).toBe('not-an-image');
    expect(e.message).toMatch(/not an image: unsupported format 'svg'/);
  });

  it('refuses truncated JPEG and PNG files (sharp alone would fill the rest with grey)', async () => {
    const jpeg = readFileSync(BOOK_PAGE);
    for (const cut of [jpeg.length >> 1, jpeg.length - 1000, jpeg.length - 2, 2000]) {
      const e = await decodeError(jpeg.subarray(0, cut));
      expect(e.reason, `jpeg cut at ${cut}`).toBe('corrupt');
      expect(e.message).toMatch(/^truncated or corrupt image data/);
    }
    // sharp's lenient setting really does accept the half file: the check is ours
    await expect(sharp(jpeg.subarray(0, jpeg.length >> 1), { failOn: 'none' }).raw().toBuffer()).resolves.toBeDefined();
    const png = readFileSync(REAL_PAGE);
    const e = await decodeError(png.subarray(0, png.length >> 1));
    expect(e.reason).toBe('corrupt');
    const file = join(tmp, 'cut.jpg');
    writeFileSync(file, jpeg.subarray(0, 100_000));
    expect((await decodeError(file)).reason).toBe('corrupt');
  });

  it('refuses images over the pixel limit from their header, saying how large they are', async () => {
    const huge = withPngSize(encodePng1(randomBinary(8, 8, 1, 0.3)), 60000, 60000);
    const e = await decodeError(huge, 100_000_000);
    expect(e.reason).toBe('too-large');
    expect(e.message).toBe('image is 60000x60000 pixels, over the limit of 100000000');
    const small = encodePng1(randomBinary(100, 100, 2, 0.3));
    const e2 = await decodeError(small, 9_999);
    expect(e2.message).toBe('image is 100x100 pixels, over the limit of 9999');
    await expect(decodeGrey(small, { maxPixels: 10_000 })).resolves.toMatchObject({ width: 100, height: 100 });
  });

  it('passes file-system errors through', async () => {
    await expect(decodeGrey(join(tmp, 'missing.png'), LIMIT)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('encodePng1', () => {
  it('round-trips through sharp for many sizes, including widths that are not multiples of 8', async () => {
    let seed = 10;
    for (const [w, h] of [[1, 1], [7, 3], [8, 8], [9, 2], [17, 31], [64, 1], [333, 77]] as const) {
      for (const density of [0, 0.02, 0.5, 1]) {
        const img = randomBinary(w, h, seed++, density);
        const png = encodePng1(img, 300);
        const meta = await sharp(png).metadata();
        expect([meta.width, meta.height, meta.channels, meta.density]).toEqual([w, h, 1, 300]);
        const back = await sharpGrey(png);
        expect(Buffer.compare(Buffer.from(back.data), Buffer.from(img.data)), `${w}x${h} p ${density}`).toBe(0);
      }
    }
  });

  it('writes a valid 1-bit greyscale PNG: signature, IHDR, pHYs, CRCs, IEND', () => {
    const img = randomBinary(20, 10, 5, 0.3);
    const png = encodePng1(img, 300);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const chunks: { type: string; body: Buffer }[] = [];
    for (let p = 8; p < png.length; ) {
      const len = png.readUInt32BE(p);
      const type = png.subarray(p + 4, p + 8).toString('latin1');
      const body = png.subarray(p + 8, p + 8 + len);
      expect(png.readUInt32BE(p + 8 + len), `${type} crc`).toBe(zlib.crc32(png.subarray(p + 4, p + 8 + len)) >>> 0);
      chunks.push({ type, body });
      p += 12 + len;
    }
    expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'pHYs', 'IDAT', 'IEND']);
    const ihdr = chunks[0]?.body ?? Buffer.alloc(0);
    expect([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ihdr[8], ihdr[9], ihdr[12]]).toEqual([20, 10, 1, 0, 0]);
    const phys = chunks[1]?.body ?? Buffer.alloc(0);
    expect([phys.readUInt32BE(0), phys.readUInt32BE(4), phys[8]]).toEqual([11811, 11811, 1]);
    expect(encodePng1(img).includes(Buffer.from('pHYs'))).toBe(false);
  });

  it('writes pixels >= 128 white and the rest black', async () => {
    const grey: Grey = { width: 4, height: 1, data: Uint8Array.from([0, 127, 128, 255]) };
    expect(Array.from((await sharpGrey(encodePng1(grey))).data)).toEqual([0, 0, 255, 255]);
  });

  it('computes CRC-32 natively and with the fallback table alike', () => {
    const r = rng(9);
    for (const len of [0, 1, 13, 1000]) {
      const data = Buffer.from(Array.from({ length: len }, () => Math.floor(r() * 256)));
      expect(crc32Table(data)).toBe(zlib.crc32(data) >>> 0);
      expect(crc32(data)).toBe(zlib.crc32(data) >>> 0);
    }
    expect(crc32Table(Buffer.from('IEND'))).toBe(0xae426082);
  });
});

describe('encodeGreyPng and encodePgm', () => {
  it('8-bit PNG round-trips with its DPI', async () => {
    const r = rng(3);
    const img: Grey = { width: 31, height: 17, data: Uint8Array.from({ length: 31 * 17 }, () => Math.floor(r() * 256)) };
    const png = await encodeGreyPng(img, 150);
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height, meta.channels, meta.density]).toEqual([31, 17, 1, 150]);
    expect(Buffer.compare(Buffer.from((await sharpGrey(png)).data), Buffer.from(img.data))).toBe(0);
  });

  it('PGM is a P5 header and the bytes', async () => {
    const img: Grey = { width: 3, height: 2, data: Uint8Array.from([1, 2, 3, 4, 5, 255]) };
    const pgm = encodePgm(img);
    expect(pgm.subarray(0, 11).toString('latin1')).toBe('P5\n3 2\n255\n');
    expect(Array.from(pgm.subarray(11))).toEqual([1, 2, 3, 4, 5, 255]);
    const back = await decodeGrey(pgm, LIMIT).catch((e: unknown) => e);
    // sharp reads PGM (netpbm) too, but it is not a page format we accept
    expect(back).toBeInstanceOf(ImageDecodeError);
  });
});
