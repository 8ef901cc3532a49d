// Queue in memory, for one process (tests, `rescribe` without a work folder). Same semantics as
// the SQS and directory adapters: visibility, redelivery, receive counts, redrive to the DLQ on
// receive after maxReceiveCount, stale handles, the 12-hour ceiling.

import { randomBytes, randomUUID } from 'node:crypto';
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

export interface MemoryQueueOptions {
  /** In-flight ceiling per receipt (s). Default 43200 (SQS); tests shorten it. */
  leaseCeilingSeconds?: number;
  /** How often a long poll re-checks for messages whose visibility ran out (ms). Default 50. */
  pollMs?: number;
}

interface Stored {
  id: string;
  body: string;
  deadLetter?: { reason: string; sourceQueue: string };
  token: string;
  count: number;
  visibleAt: number;
  receivedAt: number;
  first: number;
}

interface State {
  settings: { visibilitySeconds: number; dlqName?: string; maxReceiveCount?: number };
  /** Insertion order = send order. */
  messages: Map<string, Stored>;
  waiters: Set<() => void>;
}

export class MemoryQueueAdmin implements QueueAdmin {
  private readonly states = new Map<string, State>();
  private readonly queues = new Map<string, MemoryQueue>();
  private readonly ceilingMs: number;
  private readonly pollMs: number;

  constructor(opts: MemoryQueueOptions = {}) {
    this.ceilingMs = (opts.leaseCeilingSeconds ?? QUEUE_LIMITS.leaseCeilingSeconds) * 1000;
    this.pollMs = Math.max(5, opts.pollMs ?? 50);
  }

  private upsert(name: string, settings: State['settings']): 'created' | 'existed' {
    const s = this.states.get(name);
    if (s) {
      s.settings = settings;
      return 'existed';
    }
    this.states.set(name, { settings, messages: new Map(), waiters: new Set() });
    return 'created';
  }

  async ensureQueue(name: string, settings: QueueSettings): Promise<'created' | 'existed'> {
    checkQueueSettings(name, settings);
    const dlqName = settings.dlqName ?? defaultDlqName(name);
    this.upsert(dlqName, { visibilitySeconds: settings.visibilitySeconds });
    return this.upsert(name, { visibilitySeconds: settings.visibilitySeconds, dlqName, maxReceiveCount: settings.maxReceiveCount });
  }

  /** @internal */
  state(name: string): State {
    const s = this.states.get(name);
    if (!s) throw new ConfigError(`queue ${name} does not exist (create it with ensureQueue)`);
    return s;
  }

  async open(name: string): Promise<Queue> {
    checkQueueName(name);
    this.state(name);
    let q = this.queues.get(name);
    if (!q) {
      q = new MemoryQueue(name, this, this.ceilingMs, this.pollMs);
      this.queues.set(name, q);
    }
    return q;
  }

  async purge(name: string): Promise<void> {
    this.state(name).messages.clear();
  }
}

function wake(s: State): void {
  for (const w of [...s.waiters]) w();
}

function token(): string {
  return randomBytes(8).toString('hex');
}

class MemoryQueue implements Queue {
  constructor(
    readonly name: string,
    private readonly admin: MemoryQueueAdmin,
    private readonly ceilingMs: number,
    private readonly pollMs: number,
  ) {}

  private get s(): State {
    return this.admin.state(this.name);
  }

  private add(s: State, m: Omit<Stored, 'token' | 'count' | 'visibleAt' | 'receivedAt' | 'first'>, visibleAt = 0): void {
    s.messages.set(m.id, { ...m, token: token(), count: 0, visibleAt, receivedAt: 0, first: 0 });
    wake(s);
  }

  async send(body: string, opts?: SendOptions): Promise<void> {
    checkBody(body);
    checkSendOptions(opts);
    const delay = opts?.delaySeconds ?? 0;
    this.add(this.s, { id: randomUUID(), body }, delay > 0 ? Date.now() + delay * 1000 : 0);
  }

  async sendBatch(bodies: readonly string[], opts?: SendOptions): Promise<void> {
    for (const b of bodies) checkBody(b);
    for (const b of bodies) await this.send(b, opts);
  }

  async receive(opts: ReceiveOptions): Promise<QueueMessage[]> {
    checkReceiveOptions(opts);
    const deadline = Date.now() + opts.waitSeconds * 1000;
    for (;;) {
      if (opts.signal?.aborted) return [];
      const got = this.take(opts.max, opts.visibilitySeconds);
      if (got.length > 0) return got;
      const left = deadline - Date.now();
      if (left <= 0) return [];
      await new Promise<void>((res) => {
        const s = this.s;
        const done = (): void => {
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', done);
          s.waiters.delete(done);
          res();
        };
        const timer = setTimeout(done, Math.min(left, this.pollMs));
        opts.signal?.addEventListener('abort', done, { once: true });
        s.waiters.add(done);
      });
    }
  }

  private take(max: number, visibilitySeconds: number): QueueMessage[] {
    const s = this.s;
    const now = Date.now();
    const out: QueueMessage[] = [];
    const { maxReceiveCount, dlqName } = s.settings;
    for (const m of [...s.messages.values()]) {
      if (out.length >= max) break;
      if (m.visibleAt > now) continue;
      if (maxReceiveCount !== undefined && dlqName !== undefined && m.count >= maxReceiveCount) {
        const dlq = this.admin.state(dlqName);
        s.messages.delete(m.id);
        dlq.messages.set(m.id, { ...m, token: token(), visibleAt: 0, receivedAt: 0 });
        wake(dlq);
        continue;
      }
      m.token = token();
      m.count += 1;
      m.receivedAt = now;
      m.visibleAt = now + visibilitySeconds * 1000;
      m.first ||= now;
      out.push({
        id: m.id,
        handle: `${m.id}~${m.token}~${m.receivedAt}`,
        body: m.body,
        receiveCount: m.count,
        firstReceivedAt: new Date(m.first),
        ...(m.deadLetter ? { deadLetter: { ...m.deadLetter } } : {}),
      });
    }
    return out;
  }

  /** The stored message the handle names, if the handle is still its current receipt. */
  private find(handle: string): { m: Stored; receivedAt: number } | undefined {
    const [id, tok, rec] = handle.split('~');
    if (id === undefined || tok === undefined) return undefined;
    const m = this.s.messages.get(id);
    return m && m.token === tok ? { m, receivedAt: Number(rec) } : undefined;
  }

  async extend(handle: string, visibilitySeconds: number): Promise<void> {
    checkVisibility(visibilitySeconds);
    const [, , rec] = handle.split('~');
    const now = Date.now();
    if (now + visibilitySeconds * 1000 > Number(rec) + this.ceilingMs) {
      throw new HeartbeatCeilingError(`queue ${this.name}: visibility ${visibilitySeconds} s would pass the ${this.ceilingMs / 1000} s ceiling`);
    }
    const f = this.find(handle);
    if (!f || f.m.visibleAt <= now) throw new LeaseLostError(`queue ${this.name}: message is no longer in flight under this handle`);
    f.m.visibleAt = now + visibilitySeconds * 1000;
    if (visibilitySeconds === 0) wake(this.s);
  }

  async release(handle: string): Promise<void> {
    const f = this.find(handle);
    const now = Date.now();
    if (!f || f.m.visibleAt <= now) return;
    f.m.visibleAt = now;
    wake(this.s);
  }

  async delete(handle: string): Promise<void> {
    const f = this.find(handle);
    if (f) this.s.messages.delete(f.m.id);
  }

  async deadLetter(msg: QueueMessage, reason: string): Promise<void> {
    await this.sendDeadLetter(msg.body, reason);
    await this.delete(msg.handle);
  }

  async sendDeadLetter(body: string, reason: string): Promise<void> {
    const { dlqName } = this.s.settings;
    if (dlqName === undefined) throw new ConfigError(`queue ${this.name} has no dead-letter queue`);
    this.add(this.admin.state(dlqName), {
      id: randomUUID(),
      body,
      deadLetter: { reason: cleanReason(reason), sourceQueue: this.name },
    });
  }

  async counts(): Promise<QueueCounts> {
    const now = Date.now();
    let available = 0;
    let inFlight = 0;
    for (const m of this.s.messages.values()) {
      if (m.visibleAt <= now) available++;
      else inFlight++;
    }
    return { available, inFlight };
  }
}
