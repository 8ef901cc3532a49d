// The fault suite's figures: each test appends one row to this run's rows file; the global
// teardown (test/faults/global-setup.ts) prints them as ONE table at the end of `npm run test:faults`.
// The file is named per run (handed to the test files by `provide`/`inject`), so that two runs
// of the suite at once in the same checkout do not mix their rows.
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    faultsRowsFile: string;
  }
}

export const ROWS_DIR = join(import.meta.dirname, '..', '..', 'tmp');

/** This run's rows file (inside a test file). */
export function rowsFile(): string {
  return inject('faultsRowsFile');
}

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
  appendFileSync(rowsFile(), `${JSON.stringify(r)}\n`);
}

export function resetRows(file: string): void {
  rmSync(file, { force: true });
}

export function readRows(file: string): Row[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row);
}

export function formatTable(file: string): string {
  const rows = readRows(file);
  if (rows.length === 0) return '(no rows)';
  const head = ['scenario', 'injected', 'pages expected', 'pages out', 'lost', 'duplicated', 'DLQ msgs', 'seconds'];
  const cells = rows.map((r) => [r.scenario, r.injected, String(r.expected), String(r.out), String(r.lost), String(r.duplicated), String(r.dlq), r.seconds.toFixed(1)]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(w[i]!)).join(' | ')} |`;
  return [line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}
