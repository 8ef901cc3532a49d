import { describe, expect, it } from 'vitest';
import { firstVariant, nextVariant, type Reading } from '../../analyse/adaptive.js';

const r = (k: number, meanConf: number | null, chars = 1000): Reading => ({ k, meanConf, chars });
const ks = [0.1, 0.2, 0.3];

describe('adaptive variant search', () => {
  it('reads the k nearest 0.3 first', () => {
    expect(firstVariant(ks)).toBe(0.3);
    expect(firstVariant([0.1, 0.2, 0.4, 0.5])).toBe(0.4); // a tie goes to the higher k (cleaner on noisy scans)
    expect(nextVariant(ks, [])).toEqual({ read: 0.3 });
  });

  it('stops at a confident first reading', () => {
    expect(nextVariant(ks, [r(0.3, 95)])).toEqual({ stop: 'k=0.3 read at 95' });
  });

  it('climbs to a better neighbour and stops at a local best', () => {
    expect(nextVariant(ks, [r(0.3, 85)])).toEqual({ read: 0.2 });
    // 0.2 is better: go on to its other neighbour
    expect(nextVariant(ks, [r(0.3, 85), r(0.2, 88)])).toEqual({ read: 0.1 });
    // 0.2 worse than 0.3: 0.3 beats its neighbours, 0.1 is never read
    expect(nextVariant(ks, [r(0.3, 89), r(0.2, 86)])).toEqual({ stop: 'k=0.3 beats its neighbours' });
    expect(nextVariant(ks, [r(0.3, 85), r(0.2, 88), r(0.1, 80)])).toEqual({ stop: 'all read' });
  });

  it('a reading of little text does not count as confident', () => {
    // 0.3 read two confident words; 0.2 read the page: 0.2 wins, then 0.1 is tried
    expect(nextVariant(ks, [r(0.3, 97, 20)])).toEqual({ stop: 'k=0.3 read at 97' });
    expect(nextVariant(ks, [r(0.3, 97, 20), r(0.2, 90, 1000)])).toEqual({ read: 0.1 });
  });

  it('skips a variant near-identical to one already read, and looks past it', () => {
    const skipped = new Map<number, string>();
    const diff = (a: number, b: number) => ((a === 0.2 && b === 0.3) || (a === 0.3 && b === 0.2) ? 0.0005 : 0.05);
    expect(nextVariant(ks, [r(0.3, 85)], diff, undefined, skipped)).toEqual({ read: 0.1 });
    expect(skipped.get(0.2)).toBe('same as k=0.3');
  });
});
