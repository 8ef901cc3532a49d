// A worker's structured log, shipped to the bucket in parts:
//
//   logs/<start>-<host>/000001.jsonl, 000002.jsonl, …
//
// `<start>` is the process's start time (`20250102T030405Z`), `<host>` the host name (or the
// instance id). Every `intervalMs` (a minute) and on `flush()` the lines written since the last
// part become the next part: nothing is uploaded twice, and the whole history is never
// re-uploaded (the Go original re-uploaded the full journal every minute). A part that fails to
// upload is kept and tried again with the next one; past `maxPendingBytes` the oldest lines are
// dropped (and the next part says how many).
//
// `LogShipper` is a pino destination (it has `write(chunk)`): 
//   const ship = new LogShipper({ store, host });
//   const log = pino({}, pino.multistream([{ stream: process.stderr }, { stream: ship }]));
//   …; await ship.close();   // the last part
//
// Reading back (lspipeline): `listWorkerLogs` and `tailWorkerLog`.

import { hostname } from 'node:os';
import type { StoreReader, StoreWriter } from './ports.js';

export const LOGS_PREFIX = 'logs/';

export interface LogShipperOptions {
  store: Pick<StoreWriter, 'put'>;
  /** Default: now. */
  start?: Date;
  /** Default: os.hostname(). */
  host?: string;
  /** Default 60 000; 0 = only on flush(). */
  intervalMs?: number;
  /** A part is cut early when this much is buffered. Default 4 MiB. */
  maxPartBytes?: number;
  /** Lines kept while uploads fail. Default 32 MiB. */
  maxPendingBytes?: number;
  /** An upload failed (the lines are kept for the next part). */
  onError?: (e: unknown) => void;
}

/** `20250102T030405Z` */
export function compactTime(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** The folder of one worker run's log parts: `logs/<start>-<host>/`. */
export function logPrefix(start: Date, host: string): string {
  const h = host.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || 'unknown';
  return `${LOGS_PREFIX}${compactTime(start)}-${h}/`;
}

export function partKey(prefix: string, n: number): string {
  return `${prefix}${String(n).padStart(6, '0')}.jsonl`;
}

export class LogShipper {
  readonly prefix: string;
  private readonly store: Pick<StoreWriter, 'put'>;
  /** Complete lines not shipped yet. */
  private pending: string[] = [];
  private pendingBytes = 0;
  /** A line without its newline yet. */
  private partial = '';
  private dropped = 0;
  private next = 1;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly maxPart: number;
  private readonly maxPending: number;

  constructor(private readonly o: LogShipperOptions) {
    this.store = o.store;
    this.prefix = logPrefix(o.start ?? new Date(), o.host ?? hostname());
    this.maxPart = o.maxPartBytes ?? 4 * 1024 * 1024;
    this.maxPending = o.maxPendingBytes ?? 32 * 1024 * 1024;
    const every = o.intervalMs ?? 60_000;
    if (every > 0) {
      this.timer = setInterval(() => void this.flush(), every);
      this.timer.unref();
    }
  }

  /** Parts uploaded so far. */
  get parts(): number {
    return this.next - 1;
  }

  /** Takes log text (pino writes one JSON line per call); lines are shipped with the next part. */
  write(chunk: string | Uint8Array): boolean {
    if (this.closed) return true;
    const text = this.partial + (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const l of lines) {
      if (l.length === 0) continue;
      this.pending.push(l);
      this.pendingBytes += Buffer.byteLength(l) + 1;
    }
    while (this.pendingBytes > this.maxPending && this.pending.length > 1) {
      this.pendingBytes -= Buffer.byteLength(this.pending.shift()!) + 1;
      this.dropped += 1;
    }
    if (this.pendingBytes >= this.maxPart) void this.flush();
    return true;
  }

  /** Ship what has been written so far as one new part (nothing when there is nothing new). */
  flush(): Promise<void> {
    this.chain = this.chain.then(() => this.ship());
    return this.chain;
  }

  private async ship(): Promise<void> {
    if (this.pending.length === 0 && this.dropped === 0) return;
    const lines = this.pending;
    const bytes = this.pendingBytes;
    const dropped = this.dropped;
    this.pending = [];
    this.pendingBytes = 0;
    this.dropped = 0;
    const head = dropped
      ? [JSON.stringify({ level: 40, time: Date.now(), msg: `log shipping: ${dropped} line(s) dropped while uploads failed` })]
      : [];
    const body = `${[...head, ...lines].join('\n')}\n`;
    try {
      await this.store.put(partKey(this.prefix, this.next), body, { contentType: 'application/x-ndjson' });
      this.next += 1;
    } catch (e) {
      // Keep the lines (in front of newer ones) for the next try.
      this.pending = [...lines, ...this.pending];
      this.pendingBytes += bytes;
      this.dropped += dropped;
      this.o.onError?.(e);
    }
  }

  /** Stop the timer and ship the rest (a last line without its newline too). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.partial) this.write('\n');
    this.closed = true;
    await this.flush();
  }
}

// ───────────────────────────── reading logs back ─────────────────────────────

export interface WorkerLog {
  /** `logs/<start>-<host>/` */
  prefix: string;
  start?: Date;
  host: string;
  parts: number;
  /** The newest part's key and time. */
  lastKey: string;
  updatedAt: Date;
}

function parseCompact(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : undefined;
}

/** Every worker log under `logs/`, newest activity last. */
export async function listWorkerLogs(store: Pick<StoreReader, 'list'>): Promise<WorkerLog[]> {
  const byDir = new Map<string, WorkerLog>();
  for await (const o of store.list(LOGS_PREFIX)) {
    const rest = o.key.slice(LOGS_PREFIX.length);
    const slash = rest.indexOf('/');
    if (slash <= 0 || !rest.endsWith('.jsonl')) continue;
    const dir = rest.slice(0, slash);
    const prefix = `${LOGS_PREFIX}${dir}/`;
    let w = byDir.get(prefix);
    if (!w) {
      const dash = dir.indexOf('-');
      const start = dash > 0 ? parseCompact(dir.slice(0, dash)) : undefined;
      w = { prefix, host: start ? dir.slice(dash + 1) : dir, parts: 0, lastKey: o.key, updatedAt: o.modified, ...(start ? { start } : {}) };
      byDir.set(prefix, w);
    }
    w.parts += 1;
    // Part names are zero-padded: the greatest key is the newest part.
    if (o.key > w.lastKey) w.lastKey = o.key;
    if (o.modified > w.updatedAt) w.updatedAt = o.modified;
  }
  return [...byDir.values()].sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime());
}

/** The last `n` lines of a worker's log (reads the newest parts only). */
export async function tailWorkerLog(store: Pick<StoreReader, 'get' | 'list'>, prefix: string, n: number): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(prefix)) if (o.key.endsWith('.jsonl')) keys.push(o.key);
  keys.sort();
  const out: string[] = [];
  for (let k = keys.length - 1; k >= 0 && out.length < n; k--) {
    const lines = (await store.get(keys[k]!)).toString('utf8').split('\n').filter((l) => l.length > 0);
    out.unshift(...lines.slice(Math.max(0, lines.length - (n - out.length))));
  }
  return out;
}

/** A log line for people: `12:03:04Z INFO message key=value …` (JSON lines from pino), or the line as it is. */
export function formatLogLine(line: string, width = 200): string {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.slice(0, width);
  }
  const levels: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
  const t = typeof v.time === 'string' || typeof v.time === 'number' ? new Date(v.time) : undefined;
  const time = t && !Number.isNaN(t.getTime()) ? t.toISOString().slice(11, 19) + 'Z' : '';
  const level = typeof v.level === 'number' ? (levels[v.level] ?? String(v.level)) : String(v.level ?? '');
  const rest = Object.entries(v)
    .filter(([k]) => !['time', 'level', 'msg', 'pid', 'hostname', 'name', 'v'].includes(k))
    .map(([k, x]) => `${k}=${typeof x === 'string' ? x : JSON.stringify(x)}`)
    .join(' ');
  return [time, level, String(v.msg ?? ''), rest].filter(Boolean).join(' ').slice(0, width);
}
