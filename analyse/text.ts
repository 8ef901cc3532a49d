// Plain text from hOCR (the original's hocr.GetText) and the whole book's text.
import type { HocrPage } from '../ocr/hocr.js';

export interface TextOptions {
  /** Put an empty line between OCR paragraphs (ocr_par). Default false, as the original. */
  paragraphs?: boolean;
}

/**
 * One text line per hOCR line: its non-empty words joined with single spaces. Lines without any
 * text are left out (no empty lines), and the result has no trailing newline; a page without words
 * gives ''.
 */
export function hocrToText(page: HocrPage, opts: TextOptions = {}): string {
  const out: string[] = [];
  let lastPar: number | undefined;
  for (const line of page.lines) {
    const text = line.words
      .map((w) => w.text)
      .filter((t) => t !== '')
      .join(' ');
    if (text === '') continue;
    if (opts.paragraphs && out.length > 0 && line.par !== lastPar) out.push('');
    lastPar = line.par;
    out.push(text);
  }
  return out.join('\n');
}

/**
 * The book's text: the page texts, in the order given, joined with "\n" (each page starts on a
 * new line; trailing newlines of a page are dropped first), ending with a newline. A blank page
 * gives an empty line. No pages: ''.
 */
export function bookText(pages: string[]): string {
  if (pages.length === 0) return '';
  return `${pages.map((p) => p.replace(/\n+$/, '')).join('\n')}\n`;
}
