import type { HocrPage } from '../ocr/hocr.js';

/**
 * The score that picks a page's best variant. The original's mean word confidence rewards reading
 * little: a variant of pure noise with three confident "words" beats a page of real text. This
 * weighs how much was read by how sure the engine was: the expected number of correctly read
 * characters, Σ len(word) · (conf/100)², words under 30 % counting nothing (noise reads low).
 * Higher is better; null when no word was read.
 */
export function pageScore(page: HocrPage): number | null {
  let score = 0;
  let words = 0;
  for (const line of page.lines) {
    for (const w of line.words) {
      const text = w.text.trim();
      if (!text) continue;
      words++;
      const c = (w.conf ?? 0) / 100;
      if (c < 0.3) continue;
      score += text.length * c * c;
    }
  }
  return words ? score : null;
}
