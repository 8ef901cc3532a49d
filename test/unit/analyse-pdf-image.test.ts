import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { preparePdfImage, readPngHeader } from '../../analyse/pdf-image.js';
import { encodePng1 } from '../../analyse/png1.js';
import { SAMPLES } from '../support/paths.js';

const REAL = join(SAMPLES, 'real/opencv-imageTextN.png');
const JPEG = join(SAMPLES, 'book/page1.jpg');

/** A bilevel test pattern (odd width, so the last byte of a row is partial). */
function pattern(width: number, height: number): Buffer {
  const px = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) px[y * width + x] = (x * 7 + y * 3) % 5 < 2 ? 0 : 255;
  return px;
}

async function greyPixels(png: Buffer): Promise<Buffer> {
  return sharp(png).toColourspace('b-w').raw().toBuffer();
}

describe('encodePng1', () => {
  it('writes a 1-bit greyscale PNG that decodes back to the same pixels', async () => {
    const [w, h] = [37, 11];
    const px = pattern(w, h);
    const png = encodePng1(px, w, h);
    expect(readPngHeader(png)).toEqual({ width: w, height: h, bitDepth: 1, colorType: 0, interlaced: false });
    expect(await greyPixels(png)).toEqual(px);
  });

  it('thresholds at 128 and checks its arguments', async () => {
    const png = encodePng1(Uint8Array.from([0, 127, 128, 255]), 4, 1);
    expect([...(await greyPixels(png))]).toEqual([0, 0, 255, 255]);
    expect(() => encodePng1(new Uint8Array(3), 2, 2)).toThrow(RangeError);
    expect(() => encodePng1(new Uint8Array(0), 0, 0)).toThrow(RangeError);
  });
});

describe('preparePdfImage', () => {
  it('passes a JPEG through untouched', async () => {
    const jpg = readFileSync(JPEG);
    const img = await preparePdfImage(jpg);
    expect(img.data).toBe(jpg);
    expect(img).toMatchObject({ format: 'jpeg', width: 2480, height: 3508, bits: 8 });
  });

  it('passes a 1-bit PNG through untouched (greyscale or 2-colour palette)', async () => {
    const grey1 = encodePng1(pattern(50, 20), 50, 20);
    expect((await preparePdfImage(grey1)).data).toBe(grey1);
    const pal1 = await sharp(pattern(50, 20), { raw: { width: 50, height: 20, channels: 1 } })
      .png({ palette: true, colours: 2, dither: 0 })
      .toBuffer();
    expect(readPngHeader(pal1)).toMatchObject({ bitDepth: 1, colorType: 3 });
    const img = await preparePdfImage(pal1);
    expect(img.data).toBe(pal1);
    expect(img.bits).toBe(1);
  });

  it('repacks an 8-bit PNG holding only black and white as 1 bit, losslessly', async () => {
    const px = pattern(61, 33);
    const grey8 = await sharp(px, { raw: { width: 61, height: 33, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    expect(readPngHeader(grey8)).toMatchObject({ bitDepth: 8, colorType: 0 });
    const img = await preparePdfImage(grey8);
    expect(img).toMatchObject({ format: 'png', width: 61, height: 33, bits: 1 });
    expect(readPngHeader(img.data)).toMatchObject({ bitDepth: 1, colorType: 0 });
    expect(await greyPixels(img.data)).toEqual(px);
    // also from RGB (sharp's default PNG for one-channel raw input)
    const rgb = await sharp(px, { raw: { width: 61, height: 33, channels: 1 } }).png().toBuffer();
    expect(readPngHeader(rgb)).toMatchObject({ bitDepth: 8, colorType: 2 });
    const fromRgb = await preparePdfImage(rgb);
    expect(fromRgb.bits).toBe(1);
    expect(await greyPixels(fromRgb.data)).toEqual(px);
    // unless told not to
    const kept = await preparePdfImage(grey8, { packBilevel: false });
    expect(kept.data).toBe(grey8);
    expect(kept.bits).toBe(8);
  });

  it('keeps a greyscale (non-bilevel) PNG as it is', async () => {
    const px = Buffer.from(Array.from({ length: 64 }, (_, i) => i * 4));
    const grey8 = await sharp(px, { raw: { width: 8, height: 8, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    const img = await preparePdfImage(grey8);
    expect(img.data).toBe(grey8);
    expect(img.bits).toBe(8);
    const real = readFileSync(REAL); // 8-bit colour map of a real capture
    expect((await preparePdfImage(real)).data).toBe(real);
  });

  it('re-encodes an interlaced PNG non-interlaced (pdfkit garbles interlaced 1-bit PNGs)', async () => {
    const px = pattern(45, 17);
    const interlaced = await sharp(px, { raw: { width: 45, height: 17, channels: 1 } })
      .png({ palette: true, colours: 2, progressive: true, dither: 0 })
      .toBuffer();
    expect(readPngHeader(interlaced)).toMatchObject({ interlaced: true, bitDepth: 1 });
    const img = await preparePdfImage(interlaced);
    expect(readPngHeader(img.data)).toMatchObject({ interlaced: false, bitDepth: 1 });
    expect(await greyPixels(img.data)).toEqual(px);
    // not bilevel: still de-interlaced, losslessly
    const grey = Buffer.from(Array.from({ length: 45 * 17 }, (_, i) => i % 251));
    const il = await sharp(grey, { raw: { width: 45, height: 17, channels: 1 } }).png({ progressive: true }).toBuffer();
    const out = await preparePdfImage(il);
    expect(readPngHeader(out.data)?.interlaced).toBe(false);
    expect(await greyPixels(out.data)).toEqual(grey);
  });

  it('turns other formats into PNG (a G4 TIFF of a bilevel page becomes 1-bit)', async () => {
    const px = pattern(40, 10);
    const tiff = await sharp(px, { raw: { width: 40, height: 10, channels: 1 } })
      .toColourspace('b-w')
      .tiff({ compression: 'ccittfax4', bitdepth: 1 })
      .toBuffer();
    const img = await preparePdfImage(tiff);
    expect(img).toMatchObject({ format: 'png', width: 40, height: 10, bits: 1 });
    expect(await greyPixels(img.data)).toEqual(px);
  });

  it('rejects data that is not an image', async () => {
    await expect(preparePdfImage(Buffer.from('not an image at all'))).rejects.toThrow();
  });
});
