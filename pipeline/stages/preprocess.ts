import { decodeGrey, encodePng1 } from '../../preprocess/codec.js';
import { estimateSkew, rotateGrey } from '../../preprocess/deskew.js';
import type { Grey } from '../../preprocess/image.js';
import { binariseVariants } from '../../preprocess/index.js';
import { despeckle } from '../../preprocess/despeckle.js';
import { keys } from '../book.js';
import type { StageStore } from './store.js';

export interface PreprocessOptions {
  /** Sauvola k values, one variant each. */
  ks: readonly number[];
  wipe: boolean;
  deskew: boolean;
  /** 'auto' follows the resolution: a 3×3 median at ≥ 200 dpi, none below. */
  denoise: 'auto' | 'on' | 'off';
  maxPixels: number;
  /** How the page's variants are to be OCRed, recorded in the meta for the OCR workers. */
  search?: 'adaptive' | 'all';
}

/** What preprocessing learnt about a page; stored beside its variants for analyse. */
export interface PageMeta {
  page: string;
  original: string;
  width: number;
  height: number;
  dpi: number | null;
  /** The skew found, in degrees; the variants were rotated by its opposite. 0 when not deskewed. */
  angle: number;
  denoised: boolean;
  variants: string[];
  /** Share of pixels that differ between two variants: [k1, k2, share]. */
  differences?: Array<[number, number, number]>;
  /**
   * 'adaptive': the variants are OCRed one at a time, each OCR job sending the next only while
   * another could win (analyse/adaptive). Absent or 'all': every variant is OCRed.
   */
  search?: 'adaptive' | 'all';
}

/** Share of pixels that differ between two binarised images of the same size. */
export function pixelDifference(a: Grey, b: Grey): number {
  const n = a.data.length;
  let d = 0;
  for (let i = 0; i < n; i++) if (a.data[i] !== b.data[i]) d++;
  return n ? d / n : 0;
}

/** The dpi to assume when the file says none: from the pixel size of a typical book page. */
export function effectiveDpi(width: number, height: number, dpi: number | null): number {
  if (dpi && dpi >= 50 && dpi <= 2400) return dpi;
  const longSide = Math.max(width, height);
  // A book page's long side is roughly 8-12 inches.
  return Math.max(70, Math.round(longSide / 11.7));
}

/** The paper's grey: a high percentile of the histogram, used to fill corners after rotating. */
export function paperLevel(img: Grey): number {
  const hist = new Uint32Array(256);
  const step = Math.max(1, Math.floor(img.data.length / 200_000));
  let n = 0;
  for (let i = 0; i < img.data.length; i += step) {
    hist[img.data[i]!]!++;
    n++;
  }
  let acc = 0;
  for (let v = 0; v < 256; v++) {
    acc += hist[v]!;
    if (acc >= n * 0.8) return v;
  }
  return 255;
}

/**
 * One page: decode, find and undo the skew, clean noise where the resolution allows, binarise at
 * every k, store the variants (1-bit PNG) and the page's meta. Returns the meta.
 */
export async function preprocessPage(
  store: StageStore,
  book: string,
  page: string,
  originalKey: string,
  opts: PreprocessOptions,
): Promise<PageMeta> {
  const bytes = await store.get(originalKey);
  const { img: decoded, dpi } = await decodeGrey(bytes, { maxPixels: opts.maxPixels });
  let img = decoded;
  let angle = 0;
  if (opts.deskew) {
    angle = estimateSkew(img);
    if (Math.abs(angle) >= 0.05) img = rotateGrey(img, -angle, paperLevel(img));
    else angle = 0;
  }
  const dpiEff = effectiveDpi(img.width, img.height, dpi ?? null);
  const denoise = opts.denoise === 'on' || (opts.denoise === 'auto' && dpiEff >= 200);
  const variants = binariseVariants(img, [...opts.ks], { wipe: opts.wipe, denoise });
  // Dust: specks of up to 8 pixels at 300 dpi (a full stop is about twice that), scaled by area.
  const speck = denoise ? Math.floor(8 * (dpiEff / 300) ** 2) : 0;
  const variantKeys: string[] = [];
  const finals: Array<{ k: number; img: Grey }> = [];
  for (const v of variants) {
    const key = keys.variant(book, page, v.k);
    const img = speck > 0 ? despeckle(v.img, speck) : v.img;
    finals.push({ k: v.k, img });
    await store.put(key, encodePng1(img, dpiEff));
    variantKeys.push(key);
  }
  const differences: Array<[number, number, number]> = [];
  for (let i = 0; i < finals.length; i++) {
    for (let j = i + 1; j < finals.length; j++) {
      differences.push([finals[i]!.k, finals[j]!.k, Math.round(pixelDifference(finals[i]!.img, finals[j]!.img) * 1e6) / 1e6]);
    }
  }
  const meta: PageMeta = {
    page,
    original: originalKey,
    width: img.width,
    height: img.height,
    dpi: dpi ?? null,
    angle: Math.round(angle * 100) / 100,
    denoised: denoise,
    variants: variantKeys,
    differences,
    ...(opts.search ? { search: opts.search } : {}),
  };
  await store.put(keys.meta(book, page), JSON.stringify(meta));
  return meta;
}
