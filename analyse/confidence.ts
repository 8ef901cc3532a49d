// Page confidence: the original's arithmetic mean of x_wconf (hocr.GetAvgConf).
import type { HocrPage } from '../ocr/hocr.js';

/**
 * Arithmetic mean of `x_wconf` over every word that has one (no length weighting, as the original).
 * Words without `x_wconf` are ignored rather than crashing; null when no word has a confidence.
 */
export function meanWordConf(page: HocrPage): number | null {
  let sum = 0;
  let count = 0;
  for (const line of page.lines) {
    for (const word of line.words) {
      if (word.conf === undefined) continue;
      sum += word.conf;
      count++;
    }
  }
  return count === 0 ? null : sum / count;
}
