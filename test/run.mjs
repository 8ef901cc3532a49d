#!/usr/bin/env node
// The test command: typecheck, every vitest test, then the fault suite (vitest.faults.config.ts);
// ends with the line CI reads, `N passed, N failed` (vitest's own summary is not one CI knows).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const extra = process.argv.slice(2);

const tsc = spawnSync('npx', ['tsc', '-p', '.'], { cwd: root, stdio: 'inherit' });
if (tsc.status !== 0) {
  console.log('typecheck failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

/** Runs one vitest suite; returns its exit status and counts from its JSON report. */
function suite(name, args) {
  const results = join(root, `.vitest-results-${name}.json`);
  rmSync(results, { force: true });
  const r = spawnSync('npx', ['vitest', 'run', ...args, '--reporter=default', '--reporter=json', `--outputFile=${results}`, ...extra], {
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
    rmSync(results, { force: true });
  }
  if (r.status !== 0 && failed === 0) failed = 1;
  return { status: r.status ?? 1, passed, failed };
}

const main = suite('main', []);
const faults = extra.length ? { status: 0, passed: 0, failed: 0 } : suite('faults', ['--config', 'vitest.faults.config.ts']);
const passed = main.passed + faults.passed;
const failed = main.failed + faults.failed;
console.log(`${passed} passed, ${failed} failed`);
process.exit(main.status !== 0 ? main.status : faults.status);
