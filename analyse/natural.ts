// Natural ("page2 before page10") name order, shared by the analyse outputs.

const collator = new Intl.Collator(undefined, { numeric: true });

/**
 * Compares names in natural order (digit runs compared as numbers). Names the collator considers
 * equal (e.g. "p01" and "p1") fall back to code-unit order, so sorting is total and deterministic.
 */
export function naturalCompare(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}
