// The directory queue shared by several processes: 3 workers drain 200 messages, and every
// message is processed exactly once.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirQueueAdmin } from '../../pipeline/local/queue.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const worker = fileURLToPath(new URL('../support/dirqueue-worker.ts', import.meta.url));

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bp-dirqueue-mp-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, ...args], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

interface Line {
  body: string;
  id: string;
  receiveCount: number;
  pid: number;
}

describe('DirQueue across processes', () => {
  it('3 processes drain 200 messages; each is processed exactly once', async () => {
    const admin = new DirQueueAdmin({ root });
    await admin.ensureQueue('shared', { visibilitySeconds: 30, maxReceiveCount: 5 });
    const q = await admin.open('shared');
    const n = 200;
    for (let i = 0; i < n; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => q.send(`msg ${i + j}`)));
    expect(await q.counts()).toEqual({ available: n, inFlight: 0 });

    const outs = [0, 1, 2].map((i) => join(root, `out-${i}.jsonl`));
    const results = await Promise.all(outs.map((o) => run([root, 'shared', o])));
    for (const r of results) expect(r, r.stderr).toMatchObject({ code: 0 });

    const lines: Line[] = [];
    for (const o of outs) {
      const text = await readFile(o, 'utf8').catch(() => '');
      for (const l of text.split('\n')) if (l) lines.push(JSON.parse(l) as Line);
    }
    const bodies = lines.map((l) => l.body).sort();
    expect(bodies).toEqual(Array.from({ length: n }, (_, i) => `msg ${i}`).sort());
    expect(new Set(lines.map((l) => l.id)).size).toBe(n);
    expect(lines.every((l) => l.receiveCount === 1)).toBe(true);
    expect(await q.counts()).toEqual({ available: 0, inFlight: 0 });
    const perProcess = new Map<number, number>();
    for (const l of lines) perProcess.set(l.pid, (perProcess.get(l.pid) ?? 0) + 1);
    console.log('messages per process:', [...perProcess.values()]);
  });
});
