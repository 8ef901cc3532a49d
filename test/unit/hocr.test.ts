import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HocrError, parseHocr, parseTitle, type HocrPage } from '../../ocr/hocr.js';

const fixture = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`../fixtures/hocr/${name}`, import.meta.url)), 'utf8');

const words = (page: HocrPage): string[] => page.lines.flatMap((l) => l.words.map((w) => w.text));

describe('parseHocr on real Tesseract output', () => {
  it('reads the CLI XHTML document (page size, lines, words, conf, baseline)', () => {
    const page = parseHocr(fixture('opencv-cli.hocr'));
    expect(page.width).toBe(556);
    expect(page.height).toBe(257);
    expect(page.lines).toHaveLength(13);
    expect(page.lines.reduce((n, l) => n + l.words.length, 0)).toBe(166);
    const first = page.lines[0]!;
    expect(first.bbox).toEqual([31, 19, 350, 31]);
    expect(first.baseline).toEqual([0, -3]);
    expect(first.par).toBe(0);
    expect(first.words[0]).toEqual({ text: 'technical', bbox: [31, 19, 79, 28], conf: 94 });
    expect(first.words.map((w) => w.text).join(' ')).toBe('technical details are too complex to cover in the book itself.');
    expect(page.lines[1]!.par).toBe(1);
  });

  it('reads the tesseract.js fragment (ocr_page div only, no html wrapper)', () => {
    const fragment = fixture('opencv-tesseractjs.hocr');
    expect(fragment.trimStart().startsWith("<div class='ocr_page'")).toBe(true);
    const page = parseHocr(fragment);
    expect([page.width, page.height]).toEqual([556, 257]);
    expect(page.lines).toHaveLength(13);
    expect(page.lines[0]!.words[1]).toEqual({ text: 'details', bbox: [82, 19, 117, 28], conf: 88 });
    // Same line segmentation as the CLI on this page.
    const cli = parseHocr(fixture('opencv-cli.hocr'));
    expect(page.lines.map((l) => l.bbox)).toEqual(cli.lines.map((l) => l.bbox));
  });

  it('decodes entities in real output and handles an A4 page with a photo block', () => {
    const page = parseHocr(fixture('book-page1-cli.hocr'));
    expect([page.width, page.height]).toEqual([2480, 3508]);
    expect(words(page)).toContain("Ardley's");
    expect(words(page).length).toBe(327);
    expect(page.lines[0]!.words.map((w) => w.text).join(' ')).toBe('The Harbour at Kestrel Bay');
  });

  it('reads words made of ocrx_cinfo character spans (hocr_char_boxes=1) without spurious spaces', () => {
    // First paragraph of the CLI output with -c hocr_char_boxes=1: one character span per line.
    const page = parseHocr(fixture('opencv-cli-charboxes.hocr'));
    expect(page.lines).toHaveLength(1);
    expect(page.lines[0]!.words.map((w) => w.text).join(' ')).toBe('technical details are too complex to cover in the book itself.');
    expect(page.lines[0]!.words[0]).toEqual({ text: 'technical', bbox: [31, 19, 79, 28], conf: 94 });
  });

  it('gives a blank page (no lines) for Tesseract output of an empty image', () => {
    expect(parseHocr(fixture('blank-cli.hocr'))).toEqual({ width: 400, height: 300, lines: [] });
  });
});

describe('parseHocr edge cases', () => {
  const page = parseHocr(fixture('edge-cases.hocr'));

  it('reads header, caption and textfloat lines, and skips a line without bbox with its words', () => {
    expect(page.lines.map((l) => l.words.map((w) => w.text).join(' '))).toEqual([
      'Fish & Chipsſ',
      '<a> "it\'s"  both',
      'caption',
      'float',
      '',
    ]);
    expect(words(page)).not.toContain('dropped');
  });

  it('tolerates <strong>/<em> wrappers and decodes entities', () => {
    const header = page.lines[0]!.words;
    expect(header[0]).toEqual({ text: 'Fish', bbox: [100, 10, 300, 60], conf: 90 });
    expect(header[1]!.text).toBe('&');
    expect(page.lines[1]!.words.at(-1)).toEqual({ text: 'both', bbox: [340, 70, 500, 100], conf: 50.5 });
  });

  it('leaves conf undefined for a word without x_wconf', () => {
    const w = page.lines[0]!.words[2]!;
    expect(w.text).toBe('Chipsſ');
    expect(w.conf).toBeUndefined();
    expect('conf' in w).toBe(false);
  });

  it('skips a word whose title has no bbox, keeps empty and whitespace words', () => {
    const line = page.lines[1]!.words;
    expect(line.map((w) => w.text)).toEqual(['<a>', '"it\'s"', '', 'both']);
    expect(line[1]!.text).toBe('"it\'s"'); // surrounding whitespace trimmed
  });

  it('reads baselines with slopes, and paragraph indices', () => {
    expect(page.lines[0]!.baseline).toEqual([0.01, -8]);
    expect(page.lines[3]!.baseline).toEqual([-0.002, -4]);
    expect(page.lines[1]!.baseline).toBeUndefined();
    expect(page.lines.map((l) => l.par)).toEqual([0, 0, 1, 1, 1]);
  });

  it('ignores words outside any line (as the original does)', () => {
    expect(words(page)).not.toContain('stray');
  });
});

describe('parseHocr errors', () => {
  it('throws HocrError on truncated input', () => {
    expect(() => parseHocr(fixture('truncated.hocr'))).toThrow(HocrError);
    expect(() => parseHocr(fixture('truncated.hocr'))).toThrow(/truncated hOCR: <span class="ocr_line" id="line_1_1"> is not closed/);
  });

  it('throws HocrError for HTML that is not hOCR, and for empty input', () => {
    expect(() => parseHocr(fixture('not-hocr.html'))).toThrow(/no ocr_page element found/);
    expect(() => parseHocr('')).toThrow(HocrError);
    expect(() => parseHocr('just some text')).toThrow(/no ocr_page/);
  });

  it('throws on a page without bbox, or more than one page', () => {
    expect(() => parseHocr("<div class='ocr_page' id='page_1' title='image \"x\"'></div>")).toThrow(
      /<div class="ocr_page" id="page_1"> has no bbox/,
    );
    const one = "<div class='ocr_page' title='bbox 0 0 10 10'></div>";
    expect(() => parseHocr(one + one)).toThrow(/more than one ocr_page/);
  });

  it('throws on malformed numbers, naming the element', () => {
    const wrap = (inner: string): string =>
      `<div class='ocr_page' title='bbox 0 0 100 100'><span class='ocr_line' title='bbox 0 0 100 10'>${inner}</span></div>`;
    expect(() => parseHocr(wrap("<span class='ocrx_word' id='w1' title='bbox 1 2 3'>x</span>"))).toThrow(
      /malformed bbox "1 2 3" in <span class="ocrx_word" id="w1">/,
    );
    expect(() => parseHocr(wrap("<span class='ocrx_word' title='bbox 1 2 3 4; x_wconf high'>x</span>"))).toThrow(
      /malformed x_wconf "high"/,
    );
    expect(() => parseHocr(wrap("<span class='ocrx_word' title='bbox 5 2 3 4'>x</span>"))).toThrow(/inverted box/);
    expect(() =>
      parseHocr("<div class='ocr_page' title='bbox 0 0 100 100'><span class='ocr_line' title='bbox 0 0 1 1; baseline 0'></span></div>"),
    ).toThrow(/malformed baseline/);
  });

  it('throws on a line outside a page and on nested lines or words', () => {
    expect(() => parseHocr("<span class='ocr_line' title='bbox 0 0 1 1'></span>")).toThrow(/outside an ocr_page/);
    expect(() =>
      parseHocr(
        "<div class='ocr_page' title='bbox 0 0 9 9'><span class='ocr_line' title='bbox 0 0 1 1'><span class='ocr_line' title='bbox 0 0 1 1'></span></span></div>",
      ),
    ).toThrow(/nested in another text line/);
    expect(() =>
      parseHocr(
        "<div class='ocr_page' title='bbox 0 0 9 9'><span class='ocr_line' title='bbox 0 0 1 1'><span class='ocrx_word' title='bbox 0 0 1 1'><span class='ocrx_word' title='bbox 0 0 1 1'>a</span></span></span></div>",
      ),
    ).toThrow(/nested in another ocrx_word/);
  });
});

describe('parseTitle', () => {
  it('splits properties, keeping semicolons inside quotes', () => {
    const t = parseTitle('image "a;b.png"; bbox 0 0 10 20;x_wconf 93 ; ppageno 0');
    expect(t.get('image')).toBe('"a;b.png"');
    expect(t.get('bbox')).toBe('0 0 10 20');
    expect(t.get('x_wconf')).toBe('93');
    expect(t.get('ppageno')).toBe('0');
  });
  it('keeps the first occurrence of a property and ignores empty parts', () => {
    const t = parseTitle(';; bbox 1 2 3 4; bbox 5 6 7 8;');
    expect(t.get('bbox')).toBe('1 2 3 4');
    expect(t.size).toBe(1);
  });
});
