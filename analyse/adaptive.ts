import { scoreVariants, type VariantStats } from './score.js';

/**
 * Adaptive variant search: OCR one binarised variant of a page first and the others only when the
 * readings so far say another could win. The original OCRs every variant (3 locally, 4 in the
 * cloud) to keep one; on the sample pages the variant nearest k = 0.3 is the best or within a few
 * tenths of a point of it, and a reading with a mean confidence of 93 or more is not beaten by more
 * than that. Below it, the search climbs to the neighbouring k values while they score better.
 */
export interface Reading extends VariantStats {
  k: number;
}

export interface AdaptiveOptions {
  /** A reading at least this confident ends the search. */
  goodConf: number;
  /** The k read first is the one nearest this. */
  preferK: number;
  /** Variants whose pixels differ from a read one by less than this share are not read. */
  sameBelow: number;
}

export const ADAPTIVE_DEFAULTS: AdaptiveOptions = { goodConf: 93, preferK: 0.3, sameBelow: 0.002 };

/** Share of differing pixels between two variants of a page, as preprocessing measured it. */
export type Difference = (a: number, b: number) => number | undefined;

export type Decision = { read: number } | { stop: string };

export function firstVariant(ks: readonly number[], opts: AdaptiveOptions = ADAPTIVE_DEFAULTS): number {
  const sorted = [...ks].sort((a, b) => a - b);
  let best = sorted[0]!;
  for (const k of sorted) if (Math.abs(k - opts.preferK) <= Math.abs(best - opts.preferK) + 1e-9) best = k;
  return best;
}

/**
 * What to do next for a page: read another variant, or stop (with the reason, for `conf`).
 * `skipped` receives variants passed over as near-identical to one already read.
 */
export function nextVariant(
  ks: readonly number[],
  readings: readonly Reading[],
  diff: Difference = () => undefined,
  opts: AdaptiveOptions = ADAPTIVE_DEFAULTS,
  skipped: Map<number, string> = new Map(),
): Decision {
  const sorted = [...new Set(ks)].sort((a, b) => a - b);
  const read = new Set(readings.map((r) => r.k));
  const nearIdentical = (k: number): number | undefined =>
    readings.find((r) => {
      const d = diff(k, r.k);
      return d !== undefined && d < opts.sameBelow;
    })?.k;
  const open = (k: number | undefined): k is number => {
    if (k === undefined || read.has(k) || skipped.has(k)) return false;
    const twin = nearIdentical(k);
    if (twin !== undefined) {
      skipped.set(k, `same as k=${twin}`);
      return false;
    }
    return true;
  };
  if (readings.length === 0) {
    const first = firstVariant(sorted, opts);
    return { read: first };
  }
  const scores = scoreVariants(readings);
  let bi = 0;
  for (let i = 1; i < readings.length; i++) {
    const s = scores[i] ?? -1;
    const b = scores[bi] ?? -1;
    if (s > b || (s === b && readings[i]!.k < readings[bi]!.k)) bi = i;
  }
  const best = readings[bi]!;
  if (best.meanConf !== null && best.meanConf >= opts.goodConf && scores[bi] !== null) {
    return { stop: `k=${best.k} read at ${best.meanConf.toFixed(0)}` };
  }
  const at = sorted.indexOf(best.k);
  // Climb towards the neighbours of the best reading, the bolder (lower k) side first.
  for (const j of [at - 1, at + 1]) {
    const k = sorted[j];
    if (open(k)) return { read: k };
  }
  // The neighbours were near-identical to a reading: look one further out on each side.
  for (const j of [at - 2, at + 2]) {
    const k = sorted[j];
    if (open(k) && (skipped.has(sorted[j < at ? j + 1 : j - 1]!))) return { read: k };
  }
  return { stop: readings.length === sorted.length ? 'all read' : `k=${best.k} beats its neighbours` };
}
