/** What every OCR engine offers: one page image in, hOCR out. */
export interface OcrInput {
  /** An encoded image (PNG, PGM, JPEG...). */
  image: Buffer;
  /** A name for logs and error messages, e.g. the variant's file name. */
  name: string;
  /** Resolution of the image, when known; tells the engine the text size. */
  dpi?: number;
}

export interface OcrOutput {
  /** A complete hOCR (XHTML) document. */
  hocr: string;
}

export interface OcrEngine {
  readonly name: 'embedded' | 'system';
  recognize(input: OcrInput, signal?: AbortSignal): Promise<OcrOutput>;
  /** Frees workers or processes. Safe to call twice. */
  close(): Promise<void>;
}

/** The OCR of one page failed for a reason tied to that page (the image, the engine's answer). */
export class OcrError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OcrError';
  }
}

/** Wraps tesseract.js's hOCR fragment (a lone ocr_page div) into a document like the CLI writes. */
export function hocrDocument(pageDiv: string, title = 'OCR output'): string {
  if (/^\s*<\?xml|<html/i.test(pageDiv)) return pageDiv;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title>${title.replace(/[<&>"]/g, '')}</title>
  <meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
  <meta name='ocr-system' content='tesseract.js'/>
  <meta name='ocr-capabilities' content='ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf'/>
 </head>
 <body>
${pageDiv.trimEnd()}
 </body>
</html>
`;
}
