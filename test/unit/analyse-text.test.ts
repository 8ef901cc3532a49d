import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bookText, hocrToText } from '../../analyse/text.js';
import { parseHocr } from '../../ocr/hocr.js';

const fixture = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`../fixtures/hocr/${name}`, import.meta.url)), 'utf8');

describe('hocrToText', () => {
  it('gives one line per hOCR line, words joined by single spaces', () => {
    const text = hocrToText(parseHocr(fixture('opencv-cli.hocr')));
    const lines = text.split('\n');
    expect(lines).toHaveLength(13);
    expect(lines[0]).toBe('technical details are too complex to cover in the book itself.');
    expect(text.endsWith('\n')).toBe(false);
    expect(text).not.toMatch(/ {2}|^ | $/m);
  });

  it('drops empty words and lines without text', () => {
    expect(hocrToText(parseHocr(fixture('edge-cases.hocr')))).toBe('Fish & Chipsſ\n<a> "it\'s" both\ncaption\nfloat');
  });

  it('can separate paragraphs with an empty line', () => {
    expect(hocrToText(parseHocr(fixture('edge-cases.hocr')), { paragraphs: true })).toBe(
      'Fish & Chipsſ\n<a> "it\'s" both\n\ncaption\nfloat',
    );
  });

  it('gives "" for a blank page', () => {
    expect(hocrToText(parseHocr(fixture('blank-cli.hocr')))).toBe('');
  });

  it('reads the real A4 page close to its ground truth', () => {
    const text = hocrToText(parseHocr(fixture('book-page1-cli.hocr')));
    expect(text.split('\n')[0]).toBe('The Harbour at Kestrel Bay');
    expect(text).toContain('When the first surveyors arrived at Kestrel Bay in the spring of 1847');
  });
});

describe('bookText', () => {
  it('joins pages with a newline and ends with one', () => {
    expect(bookText(['a\nb', 'c'])).toBe('a\nb\nc\n');
    expect(bookText(['a\n', '', 'c'])).toBe('a\n\nc\n');
    expect(bookText([])).toBe('');
  });
});
