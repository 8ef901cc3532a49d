// What the worker keeps about a book besides the stage outputs, and how it reads a book's state
// with ONE listing of `<book>/`:
//
//   <book>/manifest.json          written by the preprocess family AFTER its fan-out is complete:
//                                 the variants expected from OCR and the pages that failed
//   <book>/failed/<name>          one marker per page or variant given up on (its reason inside)
//   <book>/errors/<ts>-<queue>-<msgid>[-<page>].json
//                                 error records: what, why, when, which worker
//   <book>/failed.txt             written by analyse: `<name>\t<reason>` per failure (like rescribe's)

import { z } from 'zod';
import { IMAGE_EXTENSIONS, keys, naturalCompare, normaliseExt, parseVariantName } from './book.js';
import { PermanentError } from './errors.js';
import type { StoreReader } from './ports.js';

export const stateKeys = {
  manifest: (book: string) => `${book}/manifest.json`,
  failedMarker: (book: string, name: string) => `${book}/failed/${name}`,
  errorRecord: (book: string, when: Date, queue: string, msgId: string, page?: string) =>
    `${book}/errors/${compactTime(when)}-${queue}-${safeSegment(msgId)}${page ? `-${safeSegment(page)}` : ''}.json`,
};

/** `2025-01-02T03:04:05.678Z` → `20250102T030405.678Z`: sortable and valid as a file name everywhere. */
export function compactTime(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '');
}

function safeSegment(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120) || '_';
}

const manifestSchema = z.object({
  v: z.literal(1),
  book: z.string(),
  queue: z.enum(['preprocess', 'prenowipe', 'wipeonly']),
  training: z.string().optional(),
  thresholds: z.array(z.number()),
  /**
   * How the variants are OCRed: 'adaptive' (one OCR job per page at first, each sending the next
   * only while another variant could win; a page is settled when the search stops) or 'all'
   * (every variant; settled when every variant has its hOCR or a failure marker). Absent: 'all'.
   */
  search: z.enum(['adaptive', 'all']).optional(),
  /** Every page that was preprocessed, with its variants' file names (`page_0001_bin0.2.png`). */
  pages: z.array(z.object({ page: z.string(), original: z.string(), variants: z.array(z.string()) })),
  /** Pages that could not be preprocessed. */
  failed: z.array(z.object({ page: z.string(), original: z.string(), reason: z.string() })),
  created: z.string(),
});

export type BookManifest = z.infer<typeof manifestSchema>;

export function parseManifest(text: string, key: string): BookManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new PermanentError(`${key}: not valid JSON`);
  }
  const r = manifestSchema.safeParse(raw);
  if (!r.success) throw new PermanentError(`${key}: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

export interface OriginalPage {
  key: string;
  /** The page's name: the file name without its extension, e.g. `page_0001`. */
  page: string;
}

/** A book's objects, sorted into what the stages care about. */
export interface BookState {
  /** Anything at all under `<book>/`. */
  exists: boolean;
  /** Page images uploaded by booktopipeline, in natural order. */
  originals: OriginalPage[];
  /** Variant images (`<page>_bin<k>.png`) by file name. */
  variants: Set<string>;
  /** hOCR files by file name. */
  hocr: Set<string>;
  /** Pages with a `<page>.meta.json`. */
  metas: Set<string>;
  /** Names under `<book>/failed/`. */
  failed: Set<string>;
  manifest: boolean;
}

/**
 * An original page image: at the top of the book, an accepted image type (jpg, png, tif, any
 * case), not a variant, and named like a page (`..._0001.jpg`; the original's
 * `[0-9]{4,6}(.bin)?.png` names too), so `graph.png` and other outputs never count.
 */
export function isOriginalName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return false;
  if (!IMAGE_EXTENSIONS.has(normaliseExt(name.slice(dot)))) return false;
  if (parseVariantName(name)) return false;
  return /[0-9]{4,6}(\.bin)?$/.test(name.slice(0, dot));
}

/** Reads the state of a book with one listing of `<book>/`. */
export async function readBookState(store: Pick<StoreReader, 'list'>, book: string): Promise<BookState> {
  const prefix = keys.prefix(book);
  const state: BookState = {
    exists: false,
    originals: [],
    variants: new Set(),
    hocr: new Set(),
    metas: new Set(),
    failed: new Set(),
    manifest: false,
  };
  const failedPrefix = 'failed/';
  for await (const o of store.list(prefix)) {
    state.exists = true;
    const rest = o.key.slice(prefix.length);
    if (rest.startsWith(failedPrefix)) {
      const name = rest.slice(failedPrefix.length);
      if (name && !name.includes('/')) state.failed.add(name);
      continue;
    }
    if (rest.includes('/')) continue;
    if (rest === 'manifest.json') state.manifest = true;
    else if (rest.endsWith('.meta.json')) state.metas.add(rest.slice(0, -'.meta.json'.length));
    else if (rest.endsWith('.hocr')) state.hocr.add(rest);
    else if (rest.endsWith('.png') && parseVariantName(rest)) state.variants.add(rest);
    else if (isOriginalName(rest)) state.originals.push({ key: o.key, page: rest.slice(0, rest.lastIndexOf('.')) });
  }
  state.originals.sort((a, b) => naturalCompare(a.key, b.key));
  return state;
}

export const hocrName = (variant: string): string => variant.replace(/\.png$/, '.hocr');

export interface Completion {
  expected: number;
  /** Variants with neither an hOCR nor a failure marker. */
  missing: string[];
}

/** Which expected variants are not settled yet (settled = OCRed, or given up on). */
export function completion(expectedVariants: readonly string[], state: Pick<BookState, 'hocr' | 'failed'>): Completion {
  const missing = expectedVariants.filter((v) => !state.hocr.has(hocrName(v)) && !state.failed.has(v));
  return { expected: expectedVariants.length, missing };
}
