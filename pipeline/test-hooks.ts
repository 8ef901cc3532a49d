// TEST-ONLY fault injection, read in this one place. Never set these in production.
//
// BOOKPIPELINE_TEST_KILL_AT=<point>[,<point>...]  the worker SIGKILLs itself at each named point
//   once: after-receive | during-ocr | after-outputs | after-send | during-analyse.
// BOOKPIPELINE_TEST_DUPLICATE_SENDS=1  every next message a job sends (ocrpage, analyse) is sent
//   twice: SQS's at-least-once delivery, made certain.
// BOOKPIPELINE_TEST_SLOW=<text>:<ms>  an OCR job whose variant name contains <text> first waits
//   <ms> (a slow page, for the lease tests).
// BOOKPIPELINE_TEST_KILL_MARKERS=<dir>  where "fired" markers live (one file per point, created
//   exclusively), so that a restarted worker, or another worker with the same setting, does not
//   fire the same point again. Without it a point fires once per process.
// BOOKPIPELINE_TEST_AWS_FAULTS=<JSON>  AWS errors injected into this process's S3 and SQS clients
//   (an AwsFaultPlan, below; wired in connect.ts through the adapters' intercept hooks). Each
//   injected error is written to stderr as a JSON line {"msg":"test hook: AWS fault injected",...}.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AwsCall, AwsHooks, AwsInterceptor } from './aws/options.js';

export type KillPoint = 'after-receive' | 'during-ocr' | 'after-outputs' | 'after-send' | 'during-analyse';

const points = new Set((process.env.BOOKPIPELINE_TEST_KILL_AT ?? '').split(',').map((s) => s.trim()).filter(Boolean));
const markers = process.env.BOOKPIPELINE_TEST_KILL_MARKERS;
const fired = new Set<string>();

/** Kills this process with SIGKILL if the test hook names `point` and it has not fired yet. */
export function testKillPoint(point: KillPoint): void {
  if (points.size === 0 || !points.has(point) || fired.has(point)) return;
  fired.add(point);
  if (markers) {
    try {
      mkdirSync(markers, { recursive: true });
      writeFileSync(join(markers, point), `${process.pid}\n`, { flag: 'wx' });
    } catch {
      return; // fired already (by this or another worker)
    }
  }
  process.stderr.write(`${JSON.stringify({ level: 60, msg: 'test hook: SIGKILL', point, pid: process.pid })}\n`);
  process.kill(process.pid, 'SIGKILL');
}

/** Whether the test hook asks for every next message to be sent twice. */
export const testDuplicateSends = process.env.BOOKPIPELINE_TEST_DUPLICATE_SENDS === '1';

const slow = /^(.+):(\d+)$/.exec(process.env.BOOKPIPELINE_TEST_SLOW ?? '');

/** Waits as long as the test hook asks for a job on `name` (aborted by `signal`). */
export async function testDelay(name: string, signal: AbortSignal): Promise<void> {
  if (!slow || !name.includes(slow[1]!)) return;
  await new Promise<void>((res) => {
    const t = setTimeout(res, Number(slow[2]));
    signal.addEventListener('abort', () => (clearTimeout(t), res()), { once: true });
  });
  signal.throwIfAborted();
}

// ───────────── AWS faults ─────────────

/** One kind of injected fault. Every condition given must hold. */
export interface AwsFaultRule {
  service?: 'sqs' | 's3';
  /** The command without `Command`, e.g. `DeleteMessage`. */
  command?: string;
  /**
   * Only calls on a message (by its ReceiptHandle: ChangeMessageVisibility, DeleteMessage) whose
   * body, as this process received it, contains this text.
   */
  body?: string;
  /** Only a ChangeMessageVisibility that extends the lease (VisibilityTimeout > 0), not a release. */
  extendOnly?: boolean;
  /** Share of the matching calls that fail, drawn from the plan's seeded random source. Default 1. */
  rate?: number;
  /** How many attempts of a chosen call fail (the SDK retries the rest, `where: 'attempt'`). Default 1. */
  attempts?: number;
  /** At most this many calls fail by this rule in this process. Default: no limit. */
  times?: number;
  /** The errors to throw, in turn: an AWS error name and HTTP status (and its message). */
  errors: Array<{ name: string; status: number; message?: string }>;
}

export interface AwsFaultPlan {
  /** Seed of the random source (mulberry32). Default 1. */
  seed?: number;
  /**
   * `attempt` (default): inside the SDK's retry loop, so the SDK retries a fault as it would the
   * same error from the server. `call`: before it, so the fault reaches the adapter and the runner.
   */
  where?: 'attempt' | 'call';
  rules: AwsFaultRule[];
}

function parseFaultPlan(text: string | undefined): AwsFaultPlan | Error | undefined {
  if (!text) return undefined;
  try {
    const plan = JSON.parse(text) as AwsFaultPlan;
    if (!Array.isArray(plan.rules) || plan.rules.some((r) => !Array.isArray(r.errors) || r.errors.length === 0)) {
      throw new Error('expected {"rules":[{..., "errors":[{"name":..., "status":...}]}]}');
    }
    return plan;
  } catch (e) {
    return new Error(`BOOKPIPELINE_TEST_AWS_FAULTS: ${(e as Error).message}`);
  }
}

const faultPlan = parseFaultPlan(process.env.BOOKPIPELINE_TEST_AWS_FAULTS);

/** mulberry32: a seeded PRNG (numbers in [0, 1)). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function faultHooks(plan: AwsFaultPlan): { inject: AwsInterceptor; done: NonNullable<AwsHooks['done']> } {
  const random = prng(plan.seed ?? 1);
  /** What this process received, by receipt handle (for `body`). */
  const received = new Map<string, { id: string; body: string }>();
  const fired = plan.rules.map(() => 0);
  /** Faults still to throw for a chosen call, by its input (the same object on every attempt). */
  const pending = new WeakMap<object, { rule: number; left: number; attempt: number }>();
  const matches = (r: AwsFaultRule, call: AwsCall, command: string): boolean => {
    if (r.service !== undefined && r.service !== call.service) return false;
    if (r.command !== undefined && r.command !== command) return false;
    if (r.extendOnly && !(Number(call.input.VisibilityTimeout) > 0)) return false;
    if (r.body !== undefined) {
      const m = received.get(String(call.input.ReceiptHandle ?? ''));
      if (!m || !m.body.includes(r.body)) return false;
    }
    return true;
  };
  const inject: AwsInterceptor = (call) => {
    const { service, input } = call;
    const command = call.command.replace(/Command$/, '');
    let p = pending.get(input);
    if (!p) {
      const i = plan.rules.findIndex((r, j) => matches(r, call, command) && (r.times === undefined || fired[j]! < r.times) && random() < (r.rate ?? 1));
      if (i < 0) return;
      p = { rule: i, left: Math.max(1, plan.rules[i]!.attempts ?? 1), attempt: 0 };
      pending.set(input, p);
    }
    if (p.left <= 0) return;
    p.left -= 1;
    p.attempt += 1;
    const rule = plan.rules[p.rule]!;
    const e = rule.errors[fired[p.rule]! % rule.errors.length]!;
    fired[p.rule]! += 1;
    const msg = received.get(String(input.ReceiptHandle ?? ''));
    process.stderr.write(
      `${JSON.stringify({ level: 40, time: new Date().toISOString(), msg: 'test hook: AWS fault injected', where: plan.where ?? 'attempt', service, command, attempt: p.attempt, error: e.name, status: e.status, ...(msg ? { msgId: msg.id } : {}) })}\n`,
    );
    throw Object.assign(new Error(e.message ?? `${e.name} (injected by a test hook)`), {
      name: e.name,
      $fault: e.status >= 500 ? 'server' : 'client',
      $metadata: { httpStatusCode: e.status },
    });
  };
  const done: NonNullable<AwsHooks['done']> = ({ command }, output) => {
    if (command !== 'ReceiveMessageCommand' || !Array.isArray(output.Messages)) return;
    for (const m of output.Messages as Array<Record<string, unknown>>) {
      if (typeof m.ReceiptHandle !== 'string') continue;
      received.set(m.ReceiptHandle, { id: String(m.MessageId ?? ''), body: String(m.Body ?? '') });
      if (received.size > 10_000) received.delete(received.keys().next().value!);
    }
  };
  return { inject, done };
}

/**
 * The AWS clients' hooks with the test's fault plan added (BOOKPIPELINE_TEST_AWS_FAULTS), or
 * `intercept` unchanged when there is none. Throws on a malformed plan.
 */
export function withTestAwsFaults(intercept: AwsInterceptor | undefined): AwsInterceptor | AwsHooks | undefined {
  if (faultPlan === undefined) return intercept;
  if (faultPlan instanceof Error) throw faultPlan;
  const { inject, done } = faultHooks(faultPlan);
  if (faultPlan.where === 'call') {
    return {
      call: async (c: AwsCall) => {
        await intercept?.(c);
        await inject(c);
      },
      done,
    };
  }
  return { ...(intercept ? { call: intercept } : {}), attempt: inject, done };
}
