// Best variant per page: the highest score wins, ties go to the lower binarisation k.
import { naturalCompare } from './natural.js';

export interface VariantScore {
  page: string;
  /** hOCR basename of the variant, e.g. `book_0003_bin0.2.hocr`. */
  variant: string;
  /** Binarisation threshold of the variant; ties in score go to the lower k. */
  k: number;
  /** Caller-defined score; null (e.g. no words) and values ≤ 0 never win. */
  score: number | null;
}

export interface BestChoice {
  page: string;
  variant: string;
  score: number | null;
  /** No variant scored above 0: the page is kept (lowest-k variant), unlike the original which dropped it. */
  blank: boolean;
}

function usable(score: number | null): score is number {
  return score !== null && Number.isFinite(score) && score > 0;
}

/** True when `a` should be chosen over `b` (both usable or both not). */
function better(a: VariantScore, b: VariantScore): boolean {
  if (usable(a.score) && usable(b.score) && a.score !== b.score) return a.score > b.score;
  if (a.k !== b.k) return a.k < b.k;
  return naturalCompare(a.variant, b.variant) < 0; // same k twice: still deterministic
}

/**
 * Chooses one variant per page. The result does not depend on the input order: the highest score
 * wins, ties go to the lower k; a page where no variant scores above 0 keeps its lowest-k variant
 * and is flagged `blank`. Pages come back in natural name order (page2 before page10).
 */
export function chooseBest(variants: VariantScore[]): BestChoice[] {
  const byPage = new Map<string, VariantScore>();
  for (const v of variants) {
    const cur = byPage.get(v.page);
    if (!cur) {
      byPage.set(v.page, v);
      continue;
    }
    const vu = usable(v.score);
    const cu = usable(cur.score);
    if ((vu && !cu) || (vu === cu && better(v, cur))) byPage.set(v.page, v);
  }
  return [...byPage.values()]
    .sort((a, b) => naturalCompare(a.page, b.page))
    .map((v) => ({ page: v.page, variant: v.variant, score: v.score, blank: !usable(v.score) }));
}
