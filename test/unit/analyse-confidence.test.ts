import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { meanWordConf } from '../../analyse/confidence.js';
import { parseHocr, type HocrPage } from '../../ocr/hocr.js';

const fixture = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`../fixtures/hocr/${name}`, import.meta.url)), 'utf8');

const page = (confs: (number | undefined)[][]): HocrPage => ({
  width: 100,
  height: 100,
  lines: confs.map((line) => ({
    bbox: [0, 0, 10, 10],
    words: line.map((conf) => (conf === undefined ? { text: 'w', bbox: [0, 0, 1, 1] } : { text: 'w', bbox: [0, 0, 1, 1], conf })),
  })),
});

describe('meanWordConf', () => {
  it('is the unweighted arithmetic mean over all words of all lines', () => {
    expect(meanWordConf(page([[90, 80], [70]]))).toBe(80);
    expect(meanWordConf(page([[100], [50, 60, 70]]))).toBe(70);
  });

  it('ignores words without x_wconf instead of crashing', () => {
    expect(meanWordConf(page([[90, undefined], [undefined, 70]]))).toBe(80);
  });

  it('is null when there are no words or none has a confidence', () => {
    expect(meanWordConf(page([]))).toBeNull();
    expect(meanWordConf(page([[], []]))).toBeNull();
    expect(meanWordConf(page([[undefined]]))).toBeNull();
    expect(meanWordConf(parseHocr(fixture('blank-cli.hocr')))).toBeNull();
  });

  it('counts words with 0 confidence and empty text (every word span, as the original)', () => {
    expect(meanWordConf(page([[0, 100]]))).toBe(50);
    const edge = parseHocr(fixture('edge-cases.hocr'));
    // 90 80 | 70 60 10 50.5 | 95 | 85 (Chips has none, "nobox" and "dropped" are skipped)
    expect(meanWordConf(edge)).toBeCloseTo((90 + 80 + 70 + 60 + 10 + 50.5 + 95 + 85) / 8, 10);
  });

  it('matches the mean of the x_wconf values in a real Tesseract file', () => {
    const text = fixture('opencv-cli.hocr');
    const confs = [...text.matchAll(/x_wconf ([0-9.]+)/g)].map((m) => Number(m[1]));
    expect(confs).toHaveLength(166);
    expect(meanWordConf(parseHocr(text))).toBeCloseTo(confs.reduce((a, b) => a + b, 0) / confs.length, 10);
  });
});
