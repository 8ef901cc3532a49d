import { z } from 'zod';
import { bookNameProblem, parseVariantName } from './book.js';
import { PermanentError } from './errors.js';

/**
 * Queue message bodies. Ours are versioned JSON, validated on receipt. The Go original's plain text
 * bodies are accepted too (`<book>[ <training>]`, `<book>/<file> <training>`, `<book>`), and
 * `formatMessage(job, { compat: true })` writes that format, so both kinds of worker can share a
 * pipeline.
 */
export type QueueKind = 'preprocess' | 'prenowipe' | 'wipeonly' | 'ocrpage' | 'analyse';
export const QUEUE_KINDS: readonly QueueKind[] = ['preprocess', 'prenowipe', 'wipeonly', 'ocrpage', 'analyse'];

export interface BookJob {
  type: 'book';
  book: string;
  training?: string;
  /**
   * Only these pages (names without extension, e.g. `page_0003`): a retry of pages that failed.
   * A worker puts one such message per bad page into the dead-letter queue; `redrive` after the
   * image is fixed preprocesses that page alone and analyses the book again. JSON only.
   */
  pages?: string[];
}
export interface OcrJob {
  type: 'ocr';
  book: string;
  /** The variant image's name within the book, e.g. `page_0001_bin0.2.png`. */
  variant: string;
  training?: string;
}
export interface AnalyseJob {
  type: 'analyse';
  book: string;
  training?: string;
  /**
   * Set by the worker on a re-sent analyse job: how many checks in a row found the book's OCR
   * unfinished while the ocrpage queue was empty (the missing pages' messages are gone).
   */
  stalled?: number;
}
export type Job = BookJob | OcrJob | AnalyseJob;

/** A body that can never be processed: the runner dead-letters it. */
export class BadMessageError extends PermanentError {}

const MAX_BODY = 4096;
const trainingSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.+-]+$/, 'training must be a language name such as eng or eng+fra');
const bookSchema = z.string().superRefine((s, ctx) => {
  const p = bookNameProblem(s);
  if (p) ctx.addIssue({ code: 'custom', message: `book name ${p}` });
});
const variantSchema = z
  .string()
  .max(300)
  .superRefine((s, ctx) => {
    if (s.includes('/') || s.includes('\\') || s.startsWith('.') || /[\u0000-\u001f\u007f]/.test(s) || !parseVariantName(s)) {
      ctx.addIssue({ code: 'custom', message: 'variant must be a file name like page_0001_bin0.2.png' });
    }
  });

const pageNameSchema = z
  .string()
  .min(1)
  .max(200)
  .refine((s) => !s.startsWith('.') && !/[/\\\u0000-\u001f\u007f]/.test(s), 'page must be a page name like page_0001');

const jsonSchema = z.discriminatedUnion('type', [
  z
    .object({
      v: z.literal(1),
      type: z.literal('book'),
      book: bookSchema,
      training: trainingSchema.optional(),
      pages: z.array(pageNameSchema).min(1).max(1000).optional(),
    })
    .strict(),
  z.object({ v: z.literal(1), type: z.literal('ocr'), book: bookSchema, variant: variantSchema, training: trainingSchema.optional() }).strict(),
  z
    .object({
      v: z.literal(1),
      type: z.literal('analyse'),
      book: bookSchema,
      training: trainingSchema.optional(),
      stalled: z.number().int().min(0).max(1000).optional(),
    })
    .strict(),
]);

const expectedType: Record<QueueKind, Job['type']> = {
  preprocess: 'book',
  prenowipe: 'book',
  wipeonly: 'book',
  ocrpage: 'ocr',
  analyse: 'analyse',
};

function short(body: string): string {
  const s = JSON.stringify(body.length > 80 ? `${body.slice(0, 80)}…` : body);
  return s;
}

function fail(queue: QueueKind, body: string, why: string): never {
  throw new BadMessageError(`bad ${queue} message ${short(body)}: ${why}`);
}

function parseGo(queue: QueueKind, body: string): Job {
  // The original splits on single spaces: [0] is the book or key, [1] the training (may be empty).
  const parts = body.replace(/\r?\n$/, '').split(' ');
  if (parts.length > 2) fail(queue, body, 'too many spaces for the text format');
  const [first = '', second = ''] = parts;
  const training = second === '' ? undefined : second;
  if (training !== undefined && !trainingSchema.safeParse(training).success) fail(queue, body, 'bad training name');
  if (queue === 'ocrpage') {
    const slash = first.indexOf('/');
    if (slash < 0) fail(queue, body, 'expected <book>/<file>_binK.png');
    const book = first.slice(0, slash);
    const variant = first.slice(slash + 1);
    const bp = bookNameProblem(book);
    if (bp) fail(queue, body, `book name ${bp}`);
    if (!variantSchema.safeParse(variant).success) fail(queue, body, 'variant must be a file name like page_0001_bin0.2.png');
    return { type: 'ocr', book, variant, training };
  }
  const bp = bookNameProblem(first);
  if (bp) fail(queue, body, `book name ${bp}`);
  if (queue === 'analyse') return { type: 'analyse', book: first, training };
  return { type: 'book', book: first, training };
}

/** Parses and validates a body received on `queue`; throws BadMessageError. */
export function parseMessage(queue: QueueKind, body: string): Job {
  if (body.length > MAX_BODY) fail(queue, body, `body is ${body.length} characters, over ${MAX_BODY}`);
  if (body.includes('\u0000')) fail(queue, body, 'body contains NUL');
  const trimmed = body.trim();
  if (trimmed.startsWith('{')) {
    let raw: unknown;
    try {
      raw = JSON.parse(trimmed);
    } catch {
      fail(queue, body, 'not valid JSON');
    }
    const r = jsonSchema.safeParse(raw);
    if (!r.success) {
      const i = r.error.issues[0]!;
      fail(queue, body, `${i.path.join('.') || 'body'}: ${i.message}`);
    }
    const { v: _v, ...job } = r.data;
    if (job.type !== expectedType[queue]) fail(queue, body, `a ${job.type} message does not belong on the ${queue} queue`);
    return job as Job;
  }
  return parseGo(queue, body);
}

/** The body for a job: JSON, or with `compat` the Go original's text format. */
export function formatMessage(job: Job, opts: { compat?: boolean } = {}): string {
  if (opts.compat) {
    switch (job.type) {
      case 'book':
        // The text format has no page list: such a message stays JSON (only our workers read it).
        if (job.pages) break;
        return job.training ? `${job.book} ${job.training}` : job.book;
      case 'ocr':
        // The original always puts a space after the key (a trailing space with no training).
        return `${job.book}/${job.variant} ${job.training ?? ''}`;
      case 'analyse':
        return job.book;
    }
  }
  return JSON.stringify({ v: 1, ...job });
}
