import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';

/** Page image types a book may hold, by lower-case extension. */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.tif', '.tiff']);

export const naturalCompare = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' }).compare;

export interface BookPage {
  /** The file's path on disk. */
  path: string;
  /** The file name as given. */
  file: string;
  /** The page's name in the pipeline: `<base, spaces→_>_<NNNN>`; the number is the page's place. */
  name: string;
  /** Normalised extension: `.jpg`, `.png` or `.tif`. */
  ext: string;
}

export interface BookListing {
  pages: BookPage[];
  skipped: Array<{ file: string; reason: string }>;
}

export class BookError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BookError';
  }
}

export function normaliseExt(ext: string): string {
  const e = ext.toLowerCase();
  if (e === '.jpeg') return '.jpg';
  if (e === '.tiff') return '.tif';
  return e;
}

/** `<base with whitespace→_>_<NNNN>`, numbered from 1 in natural name order. */
export function pageName(file: string, index: number): string {
  const base = file.slice(0, file.length - extname(file).length).replace(/\s+/g, '_');
  return `${base}_${String(index + 1).padStart(4, '0')}`;
}

/** The page images at the top of a book folder, in natural order (`page2` before `page10`). */
export async function listBookImages(dir: string): Promise<BookListing> {
  let st;
  try {
    st = await stat(dir);
  } catch {
    throw new BookError(`${dir}: no such folder`);
  }
  if (!st.isDirectory()) throw new BookError(`${dir}: not a folder`);
  const entries = await readdir(dir, { withFileTypes: true });
  const skipped: BookListing['skipped'] = [];
  const files: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) {
      skipped.push({ file: e.name, reason: 'hidden file' });
    } else if (!e.isFile()) {
      skipped.push({ file: e.name, reason: e.isDirectory() ? 'folder' : 'not a regular file' });
    } else if (!IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) {
      skipped.push({ file: e.name, reason: 'not a JPEG, PNG or TIFF image' });
    } else {
      files.push(e.name);
    }
  }
  files.sort(naturalCompare);
  skipped.sort((a, b) => naturalCompare(a.file, b.file));
  if (files.length === 0) throw new BookError(`${dir}: no page images (JPEG, PNG or TIFF) in this folder`);
  return {
    pages: files.map((file, i) => ({ path: join(dir, file), file, name: pageName(file, i), ext: normaliseExt(extname(file)) })),
    skipped,
  };
}

/** Top-level folders of the bucket that are not books: worker logs, the worker code for new instances. */
export const RESERVED_BOOK_NAMES: ReadonlySet<string> = new Set(['logs', 'dist']);

/** Checks a book name is safe as an S3 prefix and a folder name; returns the problem or null. */
export function bookNameProblem(name: string): string | null {
  if (!name) return 'is empty';
  if (RESERVED_BOOK_NAMES.has(name)) return 'is reserved (the bucket keeps worker logs and worker code under it)';
  if (name.length > 200) return 'is longer than 200 characters';
  if (name.includes('/') || name.includes('\\')) return 'contains a slash';
  if (name === '.' || name === '..' || name.includes('..')) return 'contains ".."';
  if (name.startsWith('.')) return 'starts with a dot';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'contains control characters';
  if (/\s/.test(name)) return 'contains whitespace';
  return null;
}

/** A book name from a folder name: whitespace → `_`, as the original does. */
export function bookNameFromDir(dirBase: string): string {
  return dirBase.trim().replace(/\s+/g, '_');
}

/** Keys of one book's objects; always under `<book>/` with the slash. */
export const keys = {
  prefix: (book: string) => `${book}/`,
  original: (book: string, page: string, ext: string) => `${book}/${page}${ext}`,
  variant: (book: string, page: string, k: number) => `${book}/${page}_bin${kLabel(k)}.png`,
  meta: (book: string, page: string) => `${book}/${page}.meta.json`,
  hocrOf: (variantKey: string) => variantKey.replace(/\.png$/, '.hocr'),
  conf: (book: string) => `${book}/conf`,
  best: (book: string) => `${book}/best`,
  graph: (book: string) => `${book}/graph.png`,
  text: (book: string) => `${book}/${book}.txt`,
  pageText: (book: string, page: string) => `${book}/text/${page}.txt`,
  binarisedPdf: (book: string) => `${book}/${book}.binarised.pdf`,
  colourPdf: (book: string) => `${book}/${book}.colour.pdf`,
  failed: (book: string) => `${book}/failed.txt`,
};

/** k as it appears in a variant's name: one decimal like the original (`0.1`), more only if needed. */
export function kLabel(k: number): string {
  return Number(k.toFixed(1)) === k ? k.toFixed(1) : String(k);
}

/** Splits a variant's basename `<page>_bin<k>.<ext>` into page and k; null if it is not one. */
export function parseVariantName(base: string): { page: string; k: number } | null {
  const m = /^(.*)_bin([0-9]+(?:\.[0-9]+)?)\.[a-z]+$/.exec(base);
  if (!m) return null;
  return { page: m[1]!, k: Number(m[2]) };
}
