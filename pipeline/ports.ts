// The ports the pipeline talks to: a queue and an object store, in our own words.
// Adapters: pipeline/aws (SQS, S3), pipeline/local (a directory on disk, safe for several
// processes), pipeline/memory (one process). Every adapter passes the same contract suites in
// test/contract; a behaviour that differs between adapters is a bug.
//
// Besides the interfaces this file holds the few rules every adapter enforces the same way
// (queue limits, key syntax), so that a call rejected by one adapter is rejected by all.

import type { Readable } from 'node:stream';
import { InvalidKeyError } from './errors.js';

// ───────────────────────────── Queue ─────────────────────────────

export interface QueueMessage {
  /** Stable across redeliveries (SQS MessageId). */
  id: string;
  /** Identifies this one receipt; a redelivery gets a new handle. */
  handle: string;
  body: string;
  /** 1 on the first delivery, 2 on the second, ... */
  receiveCount: number;
  /** When the message was first received (any receiver). */
  firstReceivedAt?: Date;
  /** Set on messages put into a dead-letter queue by `Queue.deadLetter`. */
  deadLetter?: { reason: string; sourceQueue: string };
}

export interface ReceiveOptions {
  /** 1..10 (SQS's limit, enforced by every adapter). */
  max: number;
  /** Long poll: 0..20 s. Returns as soon as at least one message is available. */
  waitSeconds: number;
  /** How long received messages stay hidden: 0..43200 s. */
  visibilitySeconds: number;
  /** Aborting ends the wait early; receive then resolves with [] (it never rejects on abort). */
  signal?: AbortSignal;
}

export interface QueueCounts {
  /** Visible, ready to be received. */
  available: number;
  /** Not visible: received and hidden (in flight), or sent with a delay that has not run out yet. */
  inFlight: number;
}

export interface SendOptions {
  /** Keep the new message hidden this long before its first delivery: 0..900 s (SQS's DelaySeconds). */
  delaySeconds?: number;
}

export interface Queue {
  readonly name: string;
  send(body: string, opts?: SendOptions): Promise<void>;
  /**
   * Send several bodies, in as few requests as the queue allows (SQS: batches of 10). Resolves
   * when every body is sent; rejects when one could not be (some may have been sent: at least once).
   */
  sendBatch(bodies: readonly string[], opts?: SendOptions): Promise<void>;
  /** Resolves with 0..max messages. Delivery is at least once and in no promised order. */
  receive(opts: ReceiveOptions): Promise<QueueMessage[]>;
  /**
   * Hide the message for `visibilitySeconds` from now (a heartbeat).
   * Rejects with LeaseLostError when the handle is no longer the current receipt (deleted,
   * visibility expired, received again) and with HeartbeatCeilingError when the new deadline
   * would be more than 12 h after this receipt (SQS's ceiling).
   */
  extend(handle: string, visibilitySeconds: number): Promise<void>;
  /**
   * Delete the message. A stale handle (the message was received again by someone else, or is
   * already deleted) is ignored: the call resolves and the message is NOT deleted (this is what
   * SQS does; at-least-once delivery means the new holder will finish it).
   */
  delete(handle: string): Promise<void>;
  /** Make the message visible again at once (visibility 0). A stale handle is ignored. */
  release(handle: string): Promise<void>;
  /**
   * Send the body to this queue's dead-letter queue with a record of why, then delete it here.
   * Rejects with ConfigError when the queue has no dead-letter queue.
   */
  deadLetter(msg: QueueMessage, reason: string): Promise<void>;
  /**
   * Put a body into this queue's dead-letter queue with a reason, for no received message: a part
   * of a job that can never succeed while the rest of it did (one bad page of a book). `redrive`
   * sends it back here like any other dead letter. Rejects with ConfigError when there is no DLQ.
   */
  sendDeadLetter(body: string, reason: string): Promise<void>;
  /** Approximate counts (exact for the local adapters). */
  counts(): Promise<QueueCounts>;
}

export interface QueueSettings {
  /** Default visibility timeout of the queue (receive always passes its own). */
  visibilitySeconds: number;
  /** Name of the dead-letter queue; default `<name>-dlq`. */
  dlqName?: string;
  /** A message received this many times is moved to the DLQ on the next receive attempt. */
  maxReceiveCount: number;
}

export interface QueueAdmin {
  /** Create the queue and its dead-letter queue, or bring their settings up to date. Idempotent. */
  ensureQueue(name: string, settings: QueueSettings): Promise<'created' | 'existed'>;
  /** Open an existing queue. Rejects with ConfigError when it does not exist. */
  open(name: string): Promise<Queue>;
  /** Remove every message (visible and in flight) from the queue. */
  purge(name: string): Promise<void>;
}

/** SQS's limits, enforced by every adapter. */
export const QUEUE_LIMITS = Object.freeze({
  maxMessages: 10,
  maxWaitSeconds: 20,
  maxVisibilitySeconds: 43_200,
  /** A message may stay in flight at most this long after one receipt (the "12-hour ceiling"). */
  leaseCeilingSeconds: 43_200,
  maxBodyBytes: 262_144,
  maxDelaySeconds: 900,
  retentionSeconds: 1_209_600,
});

export function defaultDlqName(queueName: string): string {
  return `${queueName}-dlq`;
}

function checkInt(what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be an integer in ${min}..${max}, got ${value}`);
  }
}

/** Throws RangeError on options any adapter would reject. */
export function checkReceiveOptions(opts: ReceiveOptions): void {
  checkInt('receive max', opts.max, 1, QUEUE_LIMITS.maxMessages);
  checkInt('receive waitSeconds', opts.waitSeconds, 0, QUEUE_LIMITS.maxWaitSeconds);
  checkInt('receive visibilitySeconds', opts.visibilitySeconds, 0, QUEUE_LIMITS.maxVisibilitySeconds);
}

export function checkSendOptions(opts: SendOptions | undefined): void {
  if (opts?.delaySeconds !== undefined) checkInt('send delaySeconds', opts.delaySeconds, 0, QUEUE_LIMITS.maxDelaySeconds);
}

export function checkVisibility(seconds: number): void {
  checkInt('visibilitySeconds', seconds, 0, QUEUE_LIMITS.maxVisibilitySeconds);
}

export function checkBody(body: string): void {
  if (typeof body !== 'string' || body.length === 0) throw new RangeError('message body must be a non-empty string');
  // SQS's allowed characters (XML 1.0's): no NUL or other control characters, no lone surrogates.
  if (/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.test(body)) {
    throw new RangeError('message body has a character SQS does not allow (control character or lone surrogate)');
  }
  if (Buffer.byteLength(body, 'utf8') > QUEUE_LIMITS.maxBodyBytes) {
    throw new RangeError(`message body is larger than ${QUEUE_LIMITS.maxBodyBytes} bytes`);
  }
}

/**
 * A dead-letter reason as every adapter stores it: characters SQS does not allow become U+FFFD,
 * at most 1000 characters, never empty.
 */
export function cleanReason(reason: string): string {
  const clean = String(reason)
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .slice(0, 1000);
  return clean.trim() === '' ? '(no reason)' : clean;
}

export function checkQueueSettings(name: string, settings: QueueSettings): void {
  checkQueueName(name);
  checkQueueName(settings.dlqName ?? defaultDlqName(name));
  checkVisibility(settings.visibilitySeconds);
  checkInt('maxReceiveCount', settings.maxReceiveCount, 1, 1000);
}

/** SQS's rule for standard queue names (also used as directory names by the local adapter). */
export function checkQueueName(name: string): void {
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) {
    throw new RangeError(`invalid queue name ${JSON.stringify(name)}: 1-80 of A-Z a-z 0-9 _ -`);
  }
}

// ───────────────────────────── Store ─────────────────────────────

export interface ObjectInfo {
  key: string;
  /** Bytes. */
  size: number;
  modified: Date;
}

export interface PutOptions {
  contentType?: string;
  signal?: AbortSignal;
}

export interface GetOptions {
  signal?: AbortSignal;
}

export interface StoreReader {
  /** Rejects with NotFoundError when the key does not exist. */
  get(key: string, opts?: GetOptions): Promise<Buffer>;
  /** Streams the object to `path` (written to a temporary file, then renamed; no partial file is left). */
  getToFile(key: string, path: string, opts?: GetOptions): Promise<void>;
  head(key: string): Promise<{ size: number; modified: Date } | null>;
  /**
   * Every key that starts with `prefix` (a plain string prefix: `Book1/` does not match
   * `Book10/x`, `Book1` does), in ascending UTF-8 byte order (S3's order).
   */
  list(prefix: string): AsyncIterable<ObjectInfo>;
}

export interface StoreWriter {
  /** Replaces any existing object; readers never see a partial object. */
  put(key: string, body: Buffer | string | Readable, opts?: PutOptions): Promise<void>;
  putFile(key: string, path: string, opts?: PutOptions): Promise<void>;
  /** Missing keys are not an error. */
  delete(keys: string[]): Promise<void>;
}

export interface Store extends StoreReader, StoreWriter {
  /** Create the bucket (directory) if it does not exist. */
  ensureBucket(): Promise<'created' | 'existed'>;
}

export const MAX_KEY_BYTES = 1024;

/**
 * The key rules every Store enforces: 1..1024 UTF-8 bytes; segments separated by `/`; no empty
 * segment (no leading or trailing `/`, no `//`); no `.` or `..` segment; no NUL or other control
 * character; no backslash (a separator on Windows). Throws InvalidKeyError.
 */
export function checkKey(key: string): void {
  const bad = (why: string): never => {
    throw new InvalidKeyError(key, why);
  };
  if (typeof key !== 'string' || key.length === 0) bad('empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) bad(`longer than ${MAX_KEY_BYTES} bytes`);
  if (/[\u0000-\u001f\u007f]/.test(key)) bad('control character');
  if (key.includes('\\')) bad('backslash');
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(key)) bad('lone surrogate');
  for (const seg of key.split('/')) {
    if (seg === '') bad('empty segment (leading, trailing or double slash)');
    if (seg === '.' || seg === '..') bad(`"${seg}" segment`);
  }
}

/** Compare keys in UTF-8 byte order (S3's listing order; differs from JS string order above U+FFFF). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
