// The `conf` and `best` files of a book, in natural name order (the original wrote them in random
// map order, with worker-local paths in `conf`).
//
//   conf: `<hocr name>\t<conf as Go "%02.f">[\t<extra>]` per variant; `-` for a variant without a
//         confidence (no words). The extra column is free text for later additions; readers ignore it.
//   best: one hOCR basename per line.
import { naturalCompare } from './natural.js';

export interface ConfRow {
  name: string;
  conf: number | null;
  /** Optional further tab-separated column(s), kept verbatim (no newline allowed). */
  extra?: string;
}

/** Written in `conf` for a variant without a confidence. */
export const NO_CONF = '-';

/**
 * Go's `fmt.Sprintf("%02.f", x)`: no decimals, rounded to nearest with exact halves to even (Go
 * rounds the exact binary value, so only true .5 values are halves: 0.5 → "00", 1.5 → "02",
 * 2.5 → "02", 87.5 → "88"), then zero-padded to width 2 after any sign ("05", "-5", "100").
 */
export function formatGoConf(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`confidence must be a finite number, got ${x}`);
  const neg = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  const fl = Math.floor(a);
  const frac = a - fl; // exact for doubles
  const r = frac > 0.5 || (frac === 0.5 && fl % 2 === 1) ? fl + 1 : fl;
  const digits = BigInt(r).toString(); // no exponent notation for huge values
  return neg ? `-${digits}` : digits.padStart(2, '0');
}

function checkField(value: string, what: string): void {
  if (/[\t\r\n]/.test(value)) throw new Error(`${what} must not contain tabs or newlines: ${JSON.stringify(value)}`);
}

export function formatConf(rows: ConfRow[]): string {
  const sorted = [...rows].sort((a, b) => naturalCompare(a.name, b.name));
  let out = '';
  for (const row of sorted) {
    checkField(row.name, 'conf name');
    let line = `${row.name}\t${row.conf === null ? NO_CONF : formatGoConf(row.conf)}`;
    if (row.extra !== undefined) {
      if (/[\r\n]/.test(row.extra)) throw new Error(`conf extra column must not contain newlines`);
      line += `\t${row.extra}`;
    }
    out += `${line}\n`;
  }
  return out;
}

/**
 * Parses a `conf` file: ours, or the original's (`<path>\t87`). Tolerates CRLF, blank lines and
 * extra tab-separated columns (returned in `extra`). `-` or an empty field reads as null.
 */
export function parseConf(text: string): ConfRow[] {
  const rows: ConfRow[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const tab = line.indexOf('\t');
    if (tab < 0) throw new Error(`conf line ${i + 1}: no tab between name and confidence: ${JSON.stringify(line)}`);
    const name = line.slice(0, tab);
    const rest = line.slice(tab + 1);
    const tab2 = rest.indexOf('\t');
    const field = (tab2 < 0 ? rest : rest.slice(0, tab2)).trim();
    let conf: number | null = null;
    if (field !== '' && field !== NO_CONF) {
      conf = Number(field);
      if (!Number.isFinite(conf)) throw new Error(`conf line ${i + 1}: bad confidence ${JSON.stringify(field)}`);
    }
    const row: ConfRow = { name, conf };
    if (tab2 >= 0) row.extra = rest.slice(tab2 + 1);
    rows.push(row);
  });
  return rows;
}

export function formatBest(names: string[]): string {
  const sorted = [...names].sort(naturalCompare);
  for (const name of sorted) checkField(name, 'best name');
  return sorted.map((n) => `${n}\n`).join('');
}

/** Parses a `best` file: one name per line; CRLF, blank lines and any extra tab columns tolerated. */
export function parseBest(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, '').split('\t')[0]!.trim())
    .filter((l) => l !== '');
}
