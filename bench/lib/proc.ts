// Child processes for the benchmark: wall time, stderr lines as they come, and memory — the peak
// of one process from `/usr/bin/time -v` when it is there, and the resident set of the whole
// process tree sampled from /proc (tesseract.js workers are threads of one process; the system
// engine and the baseline run tesseract processes beside it).

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TIME_BIN = '/usr/bin/time';

/** Every process below `root` (not `root` itself), by parent links in /proc. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ')' ends it.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(rest[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length) {
    const p = todo.pop()!;
    for (const c of children.get(p) ?? []) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}

/** A `Vm…:` field of /proc/<pid>/status in kB; 0 when the process is gone or has none. */
export function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resident set of a process tree, kB (the root included or not). */
export function treeRssKb(root: number, includeRoot: boolean): number {
  let kb = includeRoot ? statusKb(root, 'VmRSS') : 0;
  for (const p of descendants(root)) kb += statusKb(p, 'VmRSS');
  return kb;
}

export interface RssSample {
  /** ms since the sampler started */
  t: number;
  kb: number;
}

/** Samples the resident set of a process tree at an interval; keeps the peak and every sample. */
export class RssSampler {
  readonly samples: RssSample[] = [];
  peakKb = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly t0 = Date.now();

  constructor(
    private readonly root: number,
    private readonly includeRoot: boolean,
    private readonly intervalMs: number,
  ) {}

  start(): this {
    this.sampleNow();
    this.timer = setInterval(() => this.sampleNow(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  sampleNow(): number {
    const kb = treeRssKb(this.root, this.includeRoot);
    if (kb > 0) {
      this.samples.push({ t: Date.now() - this.t0, kb });
      this.peakKb = Math.max(this.peakKb, kb);
    }
    return kb;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
  /** Peak of the summed resident set of the process tree, sampled (kB). */
  peakTreeKb: number;
  /** Peak resident set of the largest single process, from `time -v` (kB); null without it. */
  maxRssKb: number | null;
  /** User + system CPU seconds of the whole tree (every thread and waited-for descendant), from `time -v`. */
  cpuSeconds: number | null;
  samples: RssSample[];
}

export interface CommandOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  sampleMs?: number;
  /** Each complete stderr line, as it arrives. */
  onLine?: (line: string, sampler: RssSampler) => void;
}

/**
 * Runs a command to its end. Under `/usr/bin/time -v` when present (its report goes to a file,
 * so stderr stays the command's own); the process tree is sampled every `sampleMs` (default 250).
 */
export function runCommand(cmd: string, args: string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const useTime = existsSync(TIME_BIN);
  const tmp = mkdtempSync(join(tmpdir(), 'bench-time-'));
  const timeFile = join(tmp, 'time.txt');
  const [file, argv] = useTime ? [TIME_BIN, ['-v', '-o', timeFile, cmd, ...args]] : [cmd, args];
  const t0 = performance.now();
  const child = spawn(file, argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const sampler = new RssSampler(child.pid ?? 0, !useTime, opts.sampleMs ?? 250);
  if (child.pid) sampler.start();
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    const s = d.toString();
    stderr += s;
    partial += s;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    if (opts.onLine) for (const l of lines) opts.onLine(l, sampler);
  });
  const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : null;
  return new Promise((resolve, reject) => {
    child.on('error', (e) => {
      sampler.stop();
      reject(e);
    });
    child.on('close', (code, signal) => {
      const seconds = (performance.now() - t0) / 1000;
      if (timer) clearTimeout(timer);
      sampler.stop();
      if (partial && opts.onLine) opts.onLine(partial, sampler);
      let maxRssKb: number | null = null;
      let cpuSeconds: number | null = null;
      if (useTime && existsSync(timeFile)) {
        const report = readFileSync(timeFile, 'utf8');
        const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(report);
        if (m) maxRssKb = Number(m[1]);
        const u = /User time \(seconds\): ([\d.]+)/.exec(report);
        const sy = /System time \(seconds\): ([\d.]+)/.exec(report);
        if (u && sy) cpuSeconds = Number(u[1]) + Number(sy[1]);
      }
      rmSync(tmp, { recursive: true, force: true });
      resolve({ code, signal, stdout, stderr, seconds, peakTreeKb: sampler.peakKb, maxRssKb, cpuSeconds, samples: sampler.samples });
    });
  });
}

/** The JSON object of a log line, or null. */
export function jsonLine(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    const v: unknown = JSON.parse(line);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

let clockTicks = 0;
/**
 * CPU seconds used so far by this process and by its children that have been waited for
 * (/proc/self/stat utime, stime, cutime, cstime).
 */
export function selfAndChildrenCpuSeconds(): number {
  if (!clockTicks) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    clockTicks = Number(r.stdout.trim()) || 100;
  }
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after the comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / clockTicks;
}
