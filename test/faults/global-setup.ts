import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatTable, readRows, resetRows, ROWS_FILE } from './table.js';

export function setup(): void {
  mkdirSync(dirname(ROWS_FILE), { recursive: true });
  resetRows();
}

export function teardown(): void {
  console.log(`\nFault suite\n${formatTable()}\n`);
  const bad = readRows().filter((r) => r.lost !== 0 || r.duplicated !== 0);
  if (bad.length > 0) throw new Error(`pages lost or duplicated in: ${bad.map((r) => r.scenario).join(', ')}`);
}
