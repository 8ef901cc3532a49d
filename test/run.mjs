#!/usr/bin/env node
// The test command: typecheck, then every vitest test; ends with the line CI reads,
// `N passed, N failed` (vitest's own summary is not one of the formats CI knows).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const results = join(root, '.vitest-results.json');
const extra = process.argv.slice(2);

const tsc = spawnSync('npx', ['tsc', '-p', '.'], { cwd: root, stdio: 'inherit' });
if (tsc.status !== 0) {
  console.log('typecheck failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
rmSync(results, { force: true });
const r = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile=${results}`, ...extra], {
  cwd: root,
  stdio: 'inherit',
});
let passed = 0;
let failed = 0;
if (existsSync(results)) {
  const j = JSON.parse(readFileSync(results, 'utf8'));
  passed = j.numPassedTests ?? 0;
  // a file that failed to load has no failed test of its own: count it as one failure
  const brokenFiles = (j.testResults ?? []).filter(
    (t) => t.status === 'failed' && !(t.assertionResults ?? []).some((a) => a.status === 'failed'),
  ).length;
  failed = (j.numFailedTests ?? 0) + brokenFiles;
} else {
  failed = 1;
}
if (r.status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(r.status ?? 1);
