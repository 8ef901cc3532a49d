/**
 * Preprocessing of one page, on pixels (decoding and encoding live in codec.ts, the only module that
 * loads sharp; it is deliberately not re-exported here).
 */
import type { Grey } from './image.js';
import { median3 } from './median.js';
import { sauvolaVariants, sauvolaWindow } from './sauvola.js';
import { WIPE_ONLY_H_THRESH, WIPE_ONLY_V_THRESH, applyWipe, wipeBinarised, wipeBox } from './wipe.js';

export type { Grey } from './image.js';
export { computeIntegrals, type Integrals } from './integral.js';
export { median3 } from './median.js';
export { sauvola, sauvolaMulti, sauvolaVariants, sauvolaWindow } from './sauvola.js';
export { wipeBinarised } from './wipe.js';
export { estimateSkew, rotateGrey } from './deskew.js';

export interface VariantOptions {
  /** Wipe gutters and edges of each variant (threshold k × 0.02), as the preprocess queue does. */
  wipe: boolean;
  /** 3×3 median before binarising; the caller decides from the resolution (it erodes strokes at ~100 dpi). */
  denoise: boolean;
}

export interface Variant {
  k: number;
  img: Grey;
}

/**
 * Binarised variants of a page, one per k, in the order given (spec §6.1 `PreProcMulti`): optional
 * median, then Sauvola with window `width / 60` made odd, the window statistics computed once per
 * pixel for all k in a single pass ({@link sauvolaVariants}: the same pixels as integral images
 * would give, without their 140 MB), then the wipe of each variant with thresholds `k × 0.02`
 * (the same pixels as {@link wipeBinarised}, applied to the fresh variant instead of a copy).
 * Never modifies `img`.
 */
export function binariseVariants(img: Grey, ks: number[], opts: VariantOptions): Variant[] {
  if (ks.length === 0) return [];
  const src = opts.denoise ? median3(img) : img;
  const bins = sauvolaVariants(src, ks, sauvolaWindow(src.width));
  return ks.map((k, i) => {
    const bin = bins[i];
    if (bin === undefined) throw new Error('unreachable: missing variant');
    if (opts.wipe) {
      // the variant's buffer is ours (just made by sauvolaVariants): wipe it in place
      const box = wipeBox(bin, k * 0.02, k * 0.02);
      if (box !== null) applyWipe(bin.data, bin.width, bin.height, box);
    }
    return { k, img: bin };
  });
}

/**
 * The wipe-only queue (`WipeFile`, spec §6.1): the image as it is, not binarised, wiped with
 * horizontal threshold 0.03 and vertical 0.005. Stored as `<base>_bin0.0.png`.
 */
export function wipeOnly(img: Grey): Grey {
  return wipeBinarised(img, WIPE_ONLY_H_THRESH, WIPE_ONLY_V_THRESH);
}
