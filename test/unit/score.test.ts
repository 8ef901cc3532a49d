import { describe, expect, it } from 'vitest';
import { chooseBest } from '../../analyse/best.js';
import { scoreVariants, variantStats } from '../../analyse/score.js';
import type { HocrPage } from '../../ocr/hocr.js';

const page = (words: Array<[string, number | undefined]>): HocrPage => ({
  width: 100,
  height: 100,
  lines: [{ bbox: [0, 0, 100, 10], words: words.map(([text, conf]) => ({ text, bbox: [0, 0, 10, 10], conf })) }],
});

describe('choosing the best variant', () => {
  const text = Array.from({ length: 40 }, (_, i) => [`word${i}`, 86] as [string, number]);
  it('a variant of noise with a few confident words cannot beat a page of text', () => {
    const noise = page([['Il', 97], ['a', 95]]);
    const real = page(text);
    const s = scoreVariants([variantStats(noise), variantStats(real)]);
    // the original's mean confidence would pick the noise (96 > 86)
    expect(variantStats(noise).meanConf).toBeGreaterThan(variantStats(real).meanConf!);
    expect(s[1]!).toBeGreaterThan(s[0]!);
  });

  it('between full readings the mean confidence decides, ties to the lower k', () => {
    const a = page(text);
    const b = page(text.map(([t]) => [t, 90]));
    const [sa, sb] = scoreVariants([variantStats(a), variantStats(b)]);
    expect(sb!).toBeGreaterThan(sa!);
    const choice = chooseBest([
      { page: 'p', variant: 'p_bin0.3.hocr', k: 0.3, score: 80 },
      { page: 'p', variant: 'p_bin0.1.hocr', k: 0.1, score: 80 },
    ]);
    expect(choice[0]!.variant).toBe('p_bin0.1.hocr');
  });

  it('nothing read scores null; words without x_wconf count as read', () => {
    expect(scoreVariants([variantStats(page([]))])).toEqual([null]);
    const st = variantStats(page([['hello', undefined], ['world', 80]]));
    expect(st).toEqual({ meanConf: 80, chars: 10 });
  });
});
