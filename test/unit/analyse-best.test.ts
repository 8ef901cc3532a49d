import { describe, expect, it } from 'vitest';
import { chooseBest, type VariantScore } from '../../analyse/best.js';

const v = (page: string, k: number, score: number | null): VariantScore => ({
  page,
  variant: `${page}_bin${k.toFixed(1)}.hocr`,
  k,
  score,
});

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

describe('chooseBest', () => {
  it('takes the highest score per page', () => {
    expect(chooseBest([v('p1', 0.1, 80), v('p1', 0.2, 91), v('p1', 0.3, 85)])).toEqual([
      { page: 'p1', variant: 'p1_bin0.2.hocr', score: 91, blank: false },
    ]);
  });

  it('gives ties to the lower k whatever the input order', () => {
    const input = [v('p1', 0.3, 90), v('p1', 0.1, 90), v('p1', 0.2, 90), v('p1', 0.4, 70)];
    for (const order of permutations(input)) {
      expect(chooseBest(order)).toEqual([{ page: 'p1', variant: 'p1_bin0.1.hocr', score: 90, blank: false }]);
    }
  });

  it('keeps a page where every variant has no score or 0, with the lowest k, flagged blank', () => {
    for (const order of permutations([v('p2', 0.2, 0), v('p2', 0.1, null), v('p2', 0.3, null)])) {
      expect(chooseBest(order)).toEqual([{ page: 'p2', variant: 'p2_bin0.1.hocr', score: null, blank: true }]);
    }
    expect(chooseBest([v('p3', 0.3, 0), v('p3', 0.2, 0)])).toEqual([
      { page: 'p3', variant: 'p3_bin0.2.hocr', score: 0, blank: true },
    ]);
  });

  it('prefers any positive score over null/0 even at a higher k', () => {
    for (const order of permutations([v('p', 0.1, null), v('p', 0.2, 0), v('p', 0.4, 3)])) {
      expect(chooseBest(order)).toEqual([{ page: 'p', variant: 'p_bin0.4.hocr', score: 3, blank: false }]);
    }
  });

  it('treats NaN and negative scores as no score', () => {
    expect(chooseBest([v('p', 0.1, Number.NaN), v('p', 0.2, -5), v('p', 0.3, 1)])[0]!.variant).toBe('p_bin0.3.hocr');
    expect(chooseBest([v('p', 0.2, -5), v('p', 0.1, Number.NaN)])[0]).toMatchObject({ variant: 'p_bin0.1.hocr', blank: true });
  });

  it('returns pages in natural name order (page2 before page10)', () => {
    const pages = ['page10', 'page2', 'page1', 'page100', 'page9'];
    const out = chooseBest(pages.flatMap((p) => [v(p, 0.2, 50), v(p, 0.1, 40)]));
    expect(out.map((b) => b.page)).toEqual(['page1', 'page2', 'page9', 'page10', 'page100']);
    expect(out.every((b) => b.variant.endsWith('_bin0.2.hocr'))).toBe(true);
  });

  it('is deterministic for duplicate k on a page (falls back to the variant name)', () => {
    const a: VariantScore = { page: 'p', variant: 'p_b.hocr', k: 0.1, score: 5 };
    const b: VariantScore = { page: 'p', variant: 'p_a.hocr', k: 0.1, score: 5 };
    expect(chooseBest([a, b])[0]!.variant).toBe('p_a.hocr');
    expect(chooseBest([b, a])[0]!.variant).toBe('p_a.hocr');
  });

  it('returns [] for no input', () => {
    expect(chooseBest([])).toEqual([]);
  });
});
