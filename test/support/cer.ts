import { distance } from 'fastest-levenshtein';

/** Normalises text as the samples' README says: NFKC, straight quotes, one dash, collapsed whitespace. */
export function normaliseForCer(s: string): string {
  return s
    .normalize('NFKC')
    .replace(/[\u2018\u2019\u201A\u201B\u2032]/g, "'")
    .replace(/[\u201C\u201D\u201E\u201F\u2033]/g, '"')
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Character error rate: Levenshtein distance over the ground truth's length (0..1+). */
export function cer(hyp: string, truth: string): number {
  const h = normaliseForCer(hyp);
  const t = normaliseForCer(truth);
  if (t.length === 0) return h.length === 0 ? 0 : 1;
  return distance(h, t) / t.length;
}
