// A queue on the local disk with SQS's semantics, safe for several processes at once.
//
// Layout under `root`:
//   <queue>/queue.json   settings: { visibilitySeconds, dlqName?, maxReceiveCount? }
//   <queue>/msgs/<id>~<token>~<count>~<visibleAt>~<receivedAt>~<firstReceivedAt>
//   <queue>/tmp/         files being written
//   <queue>/corrupt/     message files that could not be read (moved aside, never delivered)
//
// One file per message. Its content ({ body, deadLetter? } as JSON) never changes; its state is
// its name: the receipt token, the receive count, the visibility deadline, when this receipt
// was made and when the message was first received (ms since the epoch, 0 = never).
// Every state change is ONE rename(2) of the message file from the name the caller saw to a new
// name. rename is atomic: when several processes rename the same file, exactly one succeeds
// and the others get ENOENT. So:
//   send      write tmp/<x>, rename to msgs/<id>~<token>~0~<visibleAt>~0~0 (visibleAt 0, or the
//             end of the delay for a delayed send)
//   receive   list msgs/, and for each visible file (visibleAt <= now) rename it to
//             <id>~<new token>~<count+1>~<now+visibility>~<now>~<first or now>; who wins the
//             rename holds the message. A file already received maxReceiveCount times is
//             renamed into the DLQ's msgs/ instead (SQS's redrive, done on receive like SQS).
//   extend    rename to the same name with a new visibleAt, if the token still matches and the
//             deadline has not passed (else LeaseLostError); 12-hour ceiling from receivedAt
//   release   same with visibleAt = now (a stale handle is ignored)
//   delete    unlink the file whose name carries the handle's id and token (a stale handle is
//             ignored: the file now has another token, so it is not deleted)
// The handle is the file name at receipt. The id and token in it find the file even after
// extends changed its name (a remembered name first, else one directory listing).
// Long poll: list msgs/ every `pollMs` (default 100 ms) until the wait is over; sends and
// releases in this process wake waiting receivers at once.

import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { ConfigError, HeartbeatCeilingError, LeaseLostError } from '../errors.js';
import {
  checkBody,
  checkSendOptions,
  cleanReason,
  checkQueueName,
  checkQueueSettings,
  checkReceiveOptions,
  checkVisibility,
  defaultDlqName,
  QUEUE_LIMITS,
  type Queue,
  type QueueAdmin,
  type QueueCounts,
  type QueueMessage,
  type QueueSettings,
  type ReceiveOptions,
  type SendOptions,
} from '../ports.js';

export interface DirQueueOptions {
  /** Directory that holds one folder per queue. */
  root: string;
  /** How often a long poll lists the queue folder (ms). Default 100. */
  pollMs?: number;
  /** In-flight ceiling per receipt (s). Default 43200, SQS's 12 hours; tests shorten it. */
  leaseCeilingSeconds?: number;
}

interface StoredSettings {
  visibilitySeconds: number;
  dlqName?: string;
  maxReceiveCount?: number;
}

interface Content {
  body: string;
  deadLetter?: { reason: string; sourceQueue: string };
}

/** A message file name, parsed. */
interface Entry {
  name: string;
  id: string;
  token: string;
  count: number;
  visibleAt: number;
  receivedAt: number;
  first: number;
}

const SEP = '~';

function parseName(name: string): Entry | undefined {
  const p = name.split(SEP);
  if (p.length !== 6) return undefined;
  const [id, token, ...nums] = p as [string, string, string, string, string, string];
  const [count, visibleAt, receivedAt, first] = nums.map(Number) as [number, number, number, number];
  if (!id || !token || ![count, visibleAt, receivedAt, first].every(Number.isSafeInteger)) return undefined;
  return { name, id, token, count, visibleAt, receivedAt, first };
}

function formatName(e: Omit<Entry, 'name'>): string {
  return [e.id, e.token, e.count, e.visibleAt, e.receivedAt, e.first].join(SEP);
}

function newToken(): string {
  return randomBytes(8).toString('hex');
}

/** Sortable by send time: base-36 ms, then a counter and randomness. */
let seq = 0;
function newId(): string {
  seq = (seq + 1) % 1_679_616;
  return `${Date.now().toString(36).padStart(9, '0')}-${seq.toString(36).padStart(4, '0')}${randomBytes(6).toString('hex')}`;
}

function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

function isGone(err: unknown): boolean {
  return errCode(err) === 'ENOENT';
}

/** Resolves after `ms`, or early when `signal` aborts or `wake` is called. */
function nap(ms: number, signal: AbortSignal | undefined, wakers: Set<() => void>): Promise<void> {
  return new Promise((res) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      wakers.delete(done);
      res();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    wakers.add(done);
  });
}

/** Receivers waiting in this process, per queue folder: a send wakes them without waiting for the poll. */
const waiting = new Map<string, Set<() => void>>();
function wakersOf(dir: string): Set<() => void> {
  let s = waiting.get(dir);
  if (!s) {
    s = new Set();
    waiting.set(dir, s);
  }
  return s;
}
function wake(dir: string): void {
  for (const w of [...(waiting.get(dir) ?? [])]) w();
}

async function writeAtomic(tmpDir: string, target: string, data: string): Promise<void> {
  const tmp = join(tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}`);
  await writeFile(tmp, data, { flag: 'wx' });
  try {
    await rename(tmp, target);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

export class DirQueueAdmin implements QueueAdmin {
  readonly root: string;
  private readonly pollMs: number;
  private readonly ceilingMs: number;
  private readonly queues = new Map<string, DirQueue>();

  constructor(opts: DirQueueOptions) {
    this.root = resolve(opts.root);
    this.pollMs = Math.max(10, opts.pollMs ?? 100);
    this.ceilingMs = (opts.leaseCeilingSeconds ?? QUEUE_LIMITS.leaseCeilingSeconds) * 1000;
  }

  private dir(name: string): string {
    checkQueueName(name);
    return join(this.root, name);
  }

  private async create(name: string, settings: StoredSettings): Promise<'created' | 'existed'> {
    const dir = this.dir(name);
    await mkdir(join(dir, 'msgs'), { recursive: true });
    await mkdir(join(dir, 'tmp'), { recursive: true });
    const existed = await stat(join(dir, 'queue.json')).then(
      () => true,
      (err: unknown) => {
        if (isGone(err)) return false;
        throw err;
      },
    );
    await writeAtomic(join(dir, 'tmp'), join(dir, 'queue.json'), `${JSON.stringify(settings)}\n`);
    this.queues.get(name)?.configure(settings);
    return existed ? 'existed' : 'created';
  }

  async ensureQueue(name: string, settings: QueueSettings): Promise<'created' | 'existed'> {
    checkQueueSettings(name, settings);
    const dlqName = settings.dlqName ?? defaultDlqName(name);
    await this.create(dlqName, { visibilitySeconds: settings.visibilitySeconds });
    return this.create(name, {
      visibilitySeconds: settings.visibilitySeconds,
      dlqName,
      maxReceiveCount: settings.maxReceiveCount,
    });
  }

  private async settingsOf(name: string): Promise<StoredSettings> {
    const file = join(this.dir(name), 'queue.json');
    try {
      return JSON.parse(await readFile(file, 'utf8')) as StoredSettings;
    } catch (err) {
      if (isGone(err)) throw new ConfigError(`queue ${name} does not exist in ${this.root} (create it with ensureQueue)`, { cause: err });
      throw new ConfigError(`queue ${name}: unreadable ${file}`, { cause: err });
    }
  }

  async open(name: string): Promise<Queue> {
    const existing = this.queues.get(name);
    if (existing) return existing;
    const settings = await this.settingsOf(name);
    const q = new DirQueue(name, this.dir(name), settings, {
      pollMs: this.pollMs,
      ceilingMs: this.ceilingMs,
      dlqDir: (n) => this.dir(n),
    });
    this.queues.set(name, q);
    return q;
  }

  async purge(name: string): Promise<void> {
    await this.settingsOf(name);
    const msgs = join(this.dir(name), 'msgs');
    for (const n of await readdir(msgs)) await unlink(join(msgs, n)).catch((err: unknown) => (isGone(err) ? undefined : Promise.reject(err)));
  }
}

class DirQueue implements Queue {
  private readonly msgs: string;
  private readonly tmp: string;
  /** handle → the file's current name, when this process renamed it (extend). */
  private readonly current = new Map<string, string>();
  private settings: StoredSettings;

  constructor(
    readonly name: string,
    private readonly dir: string,
    settings: StoredSettings,
    private readonly opts: { pollMs: number; ceilingMs: number; dlqDir: (name: string) => string },
  ) {
    this.msgs = join(dir, 'msgs');
    this.tmp = join(dir, 'tmp');
    this.settings = settings;
  }

  configure(settings: StoredSettings): void {
    this.settings = settings;
  }

  private async writeMessage(dir: string, content: Content, visibleAt = 0): Promise<void> {
    const name = formatName({ id: newId(), token: newToken(), count: 0, visibleAt, receivedAt: 0, first: 0 });
    await writeAtomic(join(dir, 'tmp'), join(dir, 'msgs', name), JSON.stringify(content));
    wake(dir);
  }

  async send(body: string, opts?: SendOptions): Promise<void> {
    checkBody(body);
    checkSendOptions(opts);
    const delay = opts?.delaySeconds ?? 0;
    try {
      await this.writeMessage(this.dir, { body }, delay > 0 ? Date.now() + delay * 1000 : 0);
    } catch (err) {
      if (isGone(err)) throw new ConfigError(`queue ${this.name} does not exist any more (${this.dir})`, { cause: err });
      throw err;
    }
  }

  async sendBatch(bodies: readonly string[], opts?: SendOptions): Promise<void> {
    for (const b of bodies) checkBody(b);
    for (const b of bodies) await this.send(b, opts);
  }

  private async entries(): Promise<Entry[]> {
    let names: string[];
    try {
      names = await readdir(this.msgs);
    } catch (err) {
      if (isGone(err)) throw new ConfigError(`queue ${this.name} does not exist any more (${this.dir})`, { cause: err });
      throw err;
    }
    const out: Entry[] = [];
    for (const n of names) {
      const e = parseName(n);
      if (e) out.push(e);
    }
    return out;
  }

  async receive(opts: ReceiveOptions): Promise<QueueMessage[]> {
    checkReceiveOptions(opts);
    const deadline = Date.now() + opts.waitSeconds * 1000;
    const wakers = wakersOf(this.dir);
    for (;;) {
      if (opts.signal?.aborted) return [];
      const got = await this.tryReceive(opts.max, opts.visibilitySeconds);
      if (got.length > 0) return got;
      const left = deadline - Date.now();
      if (left <= 0 || opts.signal?.aborted) return [];
      await nap(Math.min(this.opts.pollMs, left), opts.signal, wakers);
    }
  }

  private async tryReceive(max: number, visibilitySeconds: number): Promise<QueueMessage[]> {
    const now = Date.now();
    const ready = (await this.entries()).filter((e) => e.visibleAt <= now).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const { maxReceiveCount, dlqName } = this.settings;
    const out: QueueMessage[] = [];
    for (const e of ready) {
      if (out.length >= max) break;
      if (maxReceiveCount !== undefined && dlqName !== undefined && e.count >= maxReceiveCount) {
        await this.redrive(e, dlqName);
        continue;
      }
      const t = Date.now();
      const claimed: Omit<Entry, 'name'> = {
        id: e.id,
        token: newToken(),
        count: e.count + 1,
        visibleAt: t + visibilitySeconds * 1000,
        receivedAt: t,
        first: e.first || t,
      };
      const name = formatName(claimed);
      try {
        await rename(join(this.msgs, e.name), join(this.msgs, name));
      } catch (err) {
        if (isGone(err)) continue; // another receiver won it
        throw err;
      }
      let content: Content;
      try {
        content = JSON.parse(await readFile(join(this.msgs, name), 'utf8')) as Content;
      } catch (err) {
        if (isGone(err)) continue; // zero visibility and already taken again, or deleted
        // Not written by us (writes are atomic): move it aside so it cannot block the queue.
        await this.quarantine(name);
        continue;
      }
      out.push({
        id: claimed.id,
        handle: name,
        body: content.body,
        receiveCount: claimed.count,
        firstReceivedAt: new Date(claimed.first),
        ...(content.deadLetter ? { deadLetter: content.deadLetter } : {}),
      });
    }
    return out;
  }

  private async quarantine(name: string): Promise<void> {
    const dir = join(this.dir, 'corrupt');
    await mkdir(dir, { recursive: true });
    await rename(join(this.msgs, name), join(dir, name)).catch(() => undefined);
  }

  /** Move a message that has used up its receipts into the DLQ (one rename). */
  private async redrive(e: Entry, dlqName: string): Promise<void> {
    const dlqDir = this.opts.dlqDir(dlqName);
    // The DLQ keeps the id and the receive count, like SQS; it is visible there at once.
    const name = formatName({ ...e, token: newToken(), visibleAt: 0, receivedAt: 0 });
    try {
      await rename(join(this.msgs, e.name), join(dlqDir, 'msgs', name));
      wake(dlqDir);
    } catch (err) {
      if (isGone(err)) {
        // Either another receiver moved or took it (fine) or the DLQ folder is missing.
        const dlqExists = await stat(join(dlqDir, 'msgs')).then(() => true, () => false);
        if (!dlqExists) throw new ConfigError(`dead-letter queue ${dlqName} of ${this.name} does not exist`, { cause: err });
        return;
      }
      throw err;
    }
  }

  /**
   * Run `op` on the file that carries the handle's id and token: the name this process last gave
   * it, else the handle itself, else a listing. Resolves undefined when there is none.
   */
  private async withFile<T>(handle: string, op: (e: Entry) => Promise<T>): Promise<T | undefined> {
    const h = parseName(handle);
    if (!h) return undefined;
    const tried = new Set<string>();
    const attempt = async (name: string): Promise<{ ok: true; value: T } | { ok: false }> => {
      tried.add(name);
      const e = parseName(name);
      if (!e) return { ok: false };
      try {
        return { ok: true, value: await op(e) };
      } catch (err) {
        if (isGone(err)) return { ok: false };
        throw err;
      }
    };
    for (const name of [this.current.get(handle), handle]) {
      if (name === undefined || tried.has(name)) continue;
      const r = await attempt(name);
      if (r.ok) return r.value;
    }
    const prefix = `${h.id}${SEP}${h.token}${SEP}`;
    for (const e of await this.entries()) {
      if (e.name.startsWith(prefix) && !tried.has(e.name)) {
        const r = await attempt(e.name);
        if (r.ok) return r.value;
      }
    }
    this.current.delete(handle);
    return undefined;
  }

  async extend(handle: string, visibilitySeconds: number): Promise<void> {
    checkVisibility(visibilitySeconds);
    const h = parseName(handle);
    if (!h) throw new LeaseLostError(`queue ${this.name}: not a receipt handle: ${handle}`);
    const now = Date.now();
    if (now + visibilitySeconds * 1000 > h.receivedAt + this.opts.ceilingMs) {
      throw new HeartbeatCeilingError(
        `queue ${this.name}: visibility ${visibilitySeconds} s would keep message ${h.id} in flight more than ${this.opts.ceilingMs / 1000} s after its receipt`,
      );
    }
    const done = await this.withFile(handle, async (e) => {
      if (e.visibleAt <= Date.now()) return false; // expired or released: not in flight
      const next = formatName({ ...e, visibleAt: Date.now() + visibilitySeconds * 1000 });
      await rename(join(this.msgs, e.name), join(this.msgs, next));
      this.current.set(handle, next);
      return true;
    });
    if (done !== true) {
      this.current.delete(handle);
      throw new LeaseLostError(`queue ${this.name}: message ${h.id} is no longer in flight under this handle`);
    }
    if (visibilitySeconds === 0) wake(this.dir);
  }

  async release(handle: string): Promise<void> {
    await this.withFile(handle, async (e) => {
      if (e.visibleAt <= Date.now()) return;
      const next = formatName({ ...e, visibleAt: Date.now() });
      await rename(join(this.msgs, e.name), join(this.msgs, next));
      this.current.set(handle, next);
    });
    wake(this.dir);
  }

  async delete(handle: string): Promise<void> {
    await this.withFile(handle, (e) => unlink(join(this.msgs, e.name)));
    this.current.delete(handle);
  }

  async deadLetter(msg: QueueMessage, reason: string): Promise<void> {
    await this.sendDeadLetter(msg.body, reason);
    await this.delete(msg.handle);
  }

  async sendDeadLetter(body: string, reason: string): Promise<void> {
    const { dlqName } = this.settings;
    if (dlqName === undefined) throw new ConfigError(`queue ${this.name} has no dead-letter queue`);
    try {
      await this.writeMessage(this.opts.dlqDir(dlqName), { body, deadLetter: { reason: cleanReason(reason), sourceQueue: this.name } });
    } catch (err) {
      if (isGone(err)) throw new ConfigError(`dead-letter queue ${dlqName} of ${this.name} does not exist`, { cause: err });
      throw err;
    }
  }

  async counts(): Promise<QueueCounts> {
    const now = Date.now();
    let available = 0;
    let inFlight = 0;
    for (const e of await this.entries()) {
      if (e.visibleAt <= now) available++;
      else inFlight++;
    }
    return { available, inFlight };
  }
}
