// A tiny book for worker tests: a few text regions cropped out of the sample page (300 dpi kept),
// so that OCR takes well under a second per variant.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';

export const SAMPLE_PAGE = '/work/shared/samples/book/page1.jpg';

/** Regions of page1.jpg (2480×3508) with a few lines of text each. */
const REGIONS = [
  { left: 300, top: 420, width: 1200, height: 500 },
  { left: 1000, top: 760, width: 1200, height: 500 },
  { left: 300, top: 1150, width: 1200, height: 500 },
  { left: 1000, top: 1450, width: 1200, height: 450 },
];

/** Writes `pages` JPEG pages (page1.jpg, page2.jpg, ...) into `dir`; returns their file names. */
export async function makeTinyBook(dir: string, pages = 3): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < pages; i++) {
    const r = REGIONS[i % REGIONS.length]!;
    const buf = await sharp(SAMPLE_PAGE).extract(r).withMetadata({ density: 300 }).jpeg({ quality: 90 }).toBuffer();
    const name = `page${i + 1}.jpg`;
    await writeFile(join(dir, name), buf);
    names.push(name);
  }
  return names;
}

/** A JPEG cut short: decodes as corrupt. */
export async function corruptJpeg(): Promise<Buffer> {
  const buf = await sharp(SAMPLE_PAGE).extract(REGIONS[0]!).jpeg().toBuffer();
  return buf.subarray(0, Math.floor(buf.length / 3));
}
