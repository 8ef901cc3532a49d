// The fault suite's figures: each test appends one row to a shared file; the global teardown
// (test/faults/global-setup.ts) prints them as ONE table at the end of `npm run test:faults`.
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const ROWS_FILE = join(import.meta.dirname, '..', '..', 'tmp', 'faults-rows.jsonl');

export interface Row {
  scenario: string;
  injected: string;
  expected: number;
  out: number;
  lost: number;
  duplicated: number;
  dlq: number;
  seconds: number;
}

export function addRow(r: Row): void {
  appendFileSync(ROWS_FILE, `${JSON.stringify(r)}\n`);
}

export function resetRows(): void {
  rmSync(ROWS_FILE, { force: true });
}

export function readRows(): Row[] {
  if (!existsSync(ROWS_FILE)) return [];
  return readFileSync(ROWS_FILE, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row);
}

export function formatTable(): string {
  const rows = readRows();
  if (rows.length === 0) return '(no rows)';
  const head = ['scenario', 'injected', 'pages expected', 'pages out', 'lost', 'duplicated', 'DLQ msgs', 'seconds'];
  const cells = rows.map((r) => [r.scenario, r.injected, String(r.expected), String(r.out), String(r.lost), String(r.duplicated), String(r.dlq), r.seconds.toFixed(1)]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(w[i]!)).join(' | ')} |`;
  return [line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}
