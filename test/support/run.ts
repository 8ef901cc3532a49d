// Running the commands as a user does: `node bin/<cmd>.js ...` in a child process.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Running {
  child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  done: Promise<RunResult>;
}

/** Starts `node bin/<cmd>.js args` with `env` added to the environment. */
export function start(cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 180_000): Running {
  const t0 = Date.now();
  const child = spawn(process.execPath, [join(ROOT, 'bin', `${cmd}.js`), ...args], {
    cwd: ROOT,
    env: { ...process.env, NODE_NO_WARNINGS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<RunResult>((res) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout: out, stderr: err, ms: Date.now() - t0 });
    });
  });
  return { child, stderr: () => err, done };
}

export function run(cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs?: number): Promise<RunResult> {
  return start(cmd, args, env, timeoutMs).done;
}

/** The JSON log lines of a worker's stderr. */
export function logLines(stderr: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  }
  return out;
}
