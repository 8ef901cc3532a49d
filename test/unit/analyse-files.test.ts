import { describe, expect, it } from 'vitest';
import { formatBest, formatConf, formatGoConf, parseBest, parseConf } from '../../analyse/files.js';

describe('formatGoConf (Go "%02.f")', () => {
  it('zero-pads to width 2 with no decimals', () => {
    expect(formatGoConf(0)).toBe('00');
    expect(formatGoConf(5)).toBe('05');
    expect(formatGoConf(87)).toBe('87');
    expect(formatGoConf(100)).toBe('100');
    expect(formatGoConf(7.2)).toBe('07');
    expect(formatGoConf(7.8)).toBe('08');
  });

  it('rounds exact halves to even, as Go does', () => {
    expect(formatGoConf(0.5)).toBe('00');
    expect(formatGoConf(1.5)).toBe('02');
    expect(formatGoConf(2.5)).toBe('02');
    expect(formatGoConf(86.5)).toBe('86');
    expect(formatGoConf(87.5)).toBe('88');
    expect(formatGoConf(99.5)).toBe('100');
  });

  it('rounds values just off a half by their exact binary value', () => {
    expect(formatGoConf(2.5000000000000004)).toBe('03');
    expect(formatGoConf(2.4999999999999996)).toBe('02');
    // 0.1+0.2+... style sums: the mean of 86 and 87 is exactly 86.5 → even
    expect(formatGoConf((86 + 87) / 2)).toBe('86');
  });

  it('keeps the sign of negatives without padding past width 2', () => {
    expect(formatGoConf(-5)).toBe('-5');
    expect(formatGoConf(-0.4)).toBe('-0');
    expect(formatGoConf(-12.5)).toBe('-12');
  });

  it('rejects non-finite values', () => {
    expect(() => formatGoConf(Number.NaN)).toThrow(RangeError);
    expect(() => formatGoConf(Infinity)).toThrow(RangeError);
  });
});

describe('conf file', () => {
  it('writes one line per variant in natural order', () => {
    const text = formatConf([
      { name: 'book_0010_bin0.1.hocr', conf: 80.5 },
      { name: 'book_0002_bin0.2.hocr', conf: 91.49 },
      { name: 'book_0002_bin0.1.hocr', conf: 5 },
      { name: 'p10_bin0.1.hocr', conf: 70 },
      { name: 'p9_bin0.1.hocr', conf: 70 },
    ]);
    expect(text).toBe(
      [
        'book_0002_bin0.1.hocr\t05',
        'book_0002_bin0.2.hocr\t91',
        'book_0010_bin0.1.hocr\t80',
        'p9_bin0.1.hocr\t70',
        'p10_bin0.1.hocr\t70',
        '',
      ].join('\n'),
    );
  });

  it('writes null as "-" and an optional extra column, and reads both back', () => {
    const rows = [
      { name: 'a_bin0.1.hocr', conf: 87, extra: 'words=120\tlines=30' },
      { name: 'a_bin0.2.hocr', conf: null },
    ];
    const text = formatConf(rows);
    expect(text).toBe('a_bin0.1.hocr\t87\twords=120\tlines=30\na_bin0.2.hocr\t-\n');
    expect(parseConf(text)).toEqual(rows);
  });

  it('parses the original format (full worker paths), CRLF, blank lines, empty conf', () => {
    const text = '/tmp/bookpipeline123/Book/p_0003_bin0.2.hocr\t87\r\n\n/tmp/x/p 1_bin0.1.hocr\t\r\n/tmp/x/q_bin0.1.hocr\t 9 \n';
    expect(parseConf(text)).toEqual([
      { name: '/tmp/bookpipeline123/Book/p_0003_bin0.2.hocr', conf: 87 },
      { name: '/tmp/x/p 1_bin0.1.hocr', conf: null },
      { name: '/tmp/x/q_bin0.1.hocr', conf: 9 },
    ]);
  });

  it('rejects lines it cannot read, naming the line', () => {
    expect(() => parseConf('a\t87\nno tab here\n')).toThrow(/line 2: no tab/);
    expect(() => parseConf('a\tabc\n')).toThrow(/line 1: bad confidence "abc"/);
  });

  it('refuses names with tabs or newlines', () => {
    expect(() => formatConf([{ name: 'a\tb', conf: 1 }])).toThrow(/tabs or newlines/);
    expect(() => formatConf([{ name: 'a', conf: 1, extra: 'x\ny' }])).toThrow(/newlines/);
  });

  it('gives an empty file for no rows', () => {
    expect(formatConf([])).toBe('');
    expect(parseConf('')).toEqual([]);
  });
});

describe('best file', () => {
  it('writes one basename per line in natural order and reads it back', () => {
    const names = ['page10_bin0.1.hocr', 'page2_bin0.3.hocr', 'page1_bin0.2.hocr'];
    const text = formatBest(names);
    expect(text).toBe('page1_bin0.2.hocr\npage2_bin0.3.hocr\npage10_bin0.1.hocr\n');
    expect(parseBest(text)).toEqual(['page1_bin0.2.hocr', 'page2_bin0.3.hocr', 'page10_bin0.1.hocr']);
  });

  it('tolerates CRLF, blank lines and extra columns when reading', () => {
    expect(parseBest('a.hocr\r\n\r\nb.hocr\tblank\n  \n')).toEqual(['a.hocr', 'b.hocr']);
    expect(formatBest([])).toBe('');
  });
});
