// Geometry of the invisible text layer: where each OCR word goes on the PDF page.
import type { HocrPage } from '../ocr/hocr.js';

/** A word placed on the page, in PDF points with the origin at the top left (pdfkit's space). */
export interface PlacedWord {
  text: string;
  /** Left edge of the word. */
  x: number;
  /** The line's baseline (one for all the words of a line). */
  baseline: number;
  /** Width of the word's box: the text is scaled horizontally to it. */
  width: number;
  /** Font size: the height of the word's line. */
  fontSize: number;
}

/**
 * Places every non-empty word of `page` on a `pageWidth × pageHeight` point page, the hOCR
 * coordinates being pixels of a `hocrWidth × hocrHeight` image stretched over the whole page.
 * All words of a line share one horizontal baseline, so that text extraction (pdftotext, copy and
 * paste) keeps each line together even on a skewed scan: the line's hOCR `baseline` (offset from
 * the bottom left of the line box, with its slope) taken at the middle of the line, else the bottom
 * of the line box. On a skewed page a word is then off its image by at most slope × half the line
 * width. Lines of zero height are skipped.
 */
export function placeWords(
  page: HocrPage,
  pageWidth: number,
  pageHeight: number,
  hocrWidth: number = page.width,
  hocrHeight: number = page.height,
): PlacedWord[] {
  if (!(hocrWidth > 0) || !(hocrHeight > 0)) return [];
  const sx = pageWidth / hocrWidth;
  const sy = pageHeight / hocrHeight;
  const placed: PlacedWord[] = [];
  for (const line of page.lines) {
    const [lx0, ly0, lx1, ly1] = line.bbox;
    const fontSize = (ly1 - ly0) * sy;
    if (!(fontSize > 0)) continue;
    const basePx = line.baseline ? ly1 + line.baseline[1] + (line.baseline[0] * (lx1 - lx0)) / 2 : ly1;
    for (const word of line.words) {
      if (word.text === '') continue;
      const [wx0, , wx1] = word.bbox;
      placed.push({ text: word.text, x: wx0 * sx, baseline: basePx * sy, width: (wx1 - wx0) * sx, fontSize });
    }
  }
  return placed;
}
