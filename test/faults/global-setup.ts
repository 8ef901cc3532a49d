import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { formatTable, readRows, resetRows, ROWS_DIR } from './table.js';

// This run's own files: two runs of the suite at once in one checkout do not mix them.
const rows = join(ROWS_DIR, `faults-rows-${process.pid}.jsonl`);
const books = join(ROWS_DIR, `faults-books-${process.pid}`);

export function setup(project: TestProject): void {
  mkdirSync(ROWS_DIR, { recursive: true });
  resetRows(rows);
  project.provide('faultsRowsFile', rows);
  project.provide('faultsBooksDir', books);
}

export function teardown(): void {
  console.log(`\nFault suite\n${formatTable(rows)}\n`);
  const bad = readRows(rows).filter((r) => r.lost !== 0 || r.duplicated !== 0);
  resetRows(rows);
  rmSync(books, { recursive: true, force: true });
  if (bad.length > 0) throw new Error(`pages lost or duplicated in: ${bad.map((r) => r.scenario).join(', ')}`);
}
