// The fault suite's books: a tiny book of N pages and its reference (an uninterrupted rescribe
// run), made once per run of the suite in a folder of that run's own (handed out by the global
// setup) and shared by the test files, which run one at a time.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { run } from '../support/run.js';
import { makeTinyBook } from '../support/tinybook.js';
import { awsEnv, THRESHOLDS } from './harness.js';

declare module 'vitest' {
  export interface ProvidedContext {
    faultsBooksDir: string;
  }
}

export interface RefBook {
  /** The page images (page1.jpg, ...). */
  dir: string;
  /** rescribe's output for them: best, conf, text/. */
  ref: string;
  /** The page names as the pipeline calls them (page1_0001, ...), sorted. */
  pages: string[];
}

/** The book of `pages` pages and its reference run, made on first use. */
export async function refBook(pages: number): Promise<RefBook> {
  const root = join(inject('faultsBooksDir'), `book-${pages}`);
  const dir = join(root, 'book');
  const ref = join(root, 'ref');
  if (!existsSync(join(root, 'done'))) {
    await rm(root, { recursive: true, force: true });
    await mkdir(root, { recursive: true });
    await makeTinyBook(dir, pages);
    const r = await run('rescribe', ['--thresholds', THRESHOLDS, '-j', '2', dir, ref]);
    expect(r.code, r.stderr).toBe(0);
    await writeFile(join(root, 'done'), '');
  }
  const names = (await readdir(join(ref, 'text'))).map((f) => f.replace(/\.txt$/, '')).sort();
  expect(names).toHaveLength(pages);
  return { dir, ref, pages: names };
}

export interface BookFixture {
  /** A scratch folder of the test file's own (PDFs fetched for counting, markers, local pipelines). */
  readonly work: string;
  readonly book: RefBook;
}

/** For one test file (registers beforeAll / afterAll): the book of `pages` pages and a scratch folder. */
export function useRefBook(pages: number): BookFixture {
  let work: string | undefined;
  let book: RefBook | undefined;
  beforeAll(async () => {
    // The test's own connection and the tools it runs find the fauxqs credentials here.
    Object.assign(process.env, awsEnv());
    work = await mkdtemp(join(tmpdir(), 'bp-faults-'));
    book = await refBook(pages);
  }, 120_000);
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });
  const ready = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('useRefBook: only inside tests or hooks');
    return v;
  };
  return {
    get work() {
      return ready(work);
    },
    get book() {
      return ready(book);
    },
  };
}
