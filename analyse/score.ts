import { meanWordConf } from './confidence.js';
import type { HocrPage } from '../ocr/hocr.js';

/** What the choice of a page's best variant looks at. */
export interface VariantStats {
  /** The original's mean word confidence; null when no word was read. */
  meanConf: number | null;
  /** Characters read (non-blank word text). */
  chars: number;
}

export function variantStats(page: HocrPage): VariantStats {
  let chars = 0;
  for (const line of page.lines) for (const w of line.words) chars += w.text.trim().length;
  return { meanConf: meanWordConf(page), chars };
}

/** A variant reading less than this share of the most any variant of the page read is discounted. */
export const COVERAGE = 0.7;

/**
 * Scores the variants of one page. The original's mean word confidence alone rewards reading
 * little: a variant of pure noise with a few confident "words" beats a page of real text. So the
 * mean confidence is scaled down by how much less than the page's fullest reading a variant read:
 * `mean × min(1, chars / (0.7 × most chars))`. Between variants that read about the same amount,
 * the mean confidence decides (measured on the sample pages it picks the lowest error rate within
 * 0.2 points); a variant that read a fraction of the text cannot win. null when nothing was read.
 */
export function scoreVariants(stats: readonly VariantStats[]): Array<number | null> {
  const most = Math.max(0, ...stats.map((s) => s.chars));
  return stats.map((s) => {
    if (s.meanConf === null || s.chars === 0) return null;
    return s.meanConf * Math.min(1, s.chars / (COVERAGE * most));
  });
}
