// The benchmark's book: 20 realistic 300-dpi A4 pages (2480×3508) with ground truth, made by
// bench/make-pages.mjs from the 5 generator pages (each its own font, margins and gutter), each
// used 4 times with other seeds, noise, contrast and skew (within ±3°), JPEG quality 85.
// Generated once into bench/work/pages/ and reused while the generator and its texts are unchanged.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface PageSpec {
  /** File name without extension, e.g. `b07_page3`; sorts in book order. */
  base: string;
  /** Generator page: font, margins, gutter side and width, lighting, specks. */
  gen: string;
  seed: number;
  /** Multipliers of the generator page's noise and contrast. */
  noise: number;
  contrast: number;
  /** Degrees. */
  skew: number;
  quality: number;
}

const GENS = ['page1', 'page2', 'page3', 'page4', 'page5'];
// Per round of the 5 generator pages: seed, noise and contrast; skews per page, all within ±3°.
const ROUNDS = [
  { seed: 11, noise: 1.0, contrast: 1.0, skews: [0.9, -1.3, 0.5, -2.2, 0.3] },
  { seed: 12, noise: 1.4, contrast: 0.75, skews: [3.0, -3.0, 2.0, -2.5, 1.0] },
  { seed: 13, noise: 0.7, contrast: 1.1, skews: [-0.4, 2.7, -1.8, 0.0, -3.0] },
  { seed: 14, noise: 1.2, contrast: 0.6, skews: [1.6, -0.8, 2.2, -2.9, 0.6] },
];

/** The 20 pages, in book order: rounds interleaved so that neighbours differ. */
export const BOOK: PageSpec[] = ROUNDS.flatMap((r, ri) =>
  GENS.map((gen, gi) => {
    const n = ri * GENS.length + gi + 1;
    return {
      base: `b${String(n).padStart(2, '0')}_${gen}`,
      gen,
      seed: r.seed,
      noise: r.noise,
      contrast: r.contrast,
      skew: r.skews[gi]!,
      quality: 85,
    };
  }),
);

export function describeSpec(p: PageSpec): string {
  return `${p.gen} seed ${p.seed}, noise ×${p.noise}, contrast ×${p.contrast}, skew ${p.skew}°, q${p.quality}`;
}

/** A hash of the generator and its texts: cached pages are remade when any of them changes. */
function generatorHash(): string {
  const h = createHash('sha256');
  for (const f of ['gen-pages.mjs', 'make-pages.mjs']) h.update(readFileSync(join(BENCH, f)));
  for (const f of readdirSync(join(BENCH, 'texts')).sort()) h.update(f).update(readFileSync(join(BENCH, 'texts', f)));
  return h.digest('hex').slice(0, 16);
}

function makePage(dir: string, p: PageSpec): Promise<void> {
  const args = [
    join(BENCH, 'make-pages.mjs'),
    dir,
    '--pages',
    p.gen,
    '--quality',
    String(p.quality),
    '--noise',
    String(p.noise),
    '--contrast',
    String(p.contrast),
    `--skew=${p.skew}`,
    '--seed',
    String(p.seed),
    '--prefix',
    `${p.base.slice(0, p.base.length - p.gen.length)}`,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`make-pages ${p.base}: exit ${code}: ${err.slice(-2000)}`))));
  });
}

/**
 * Makes the pages that are missing or were made with other parameters or another generator, two at
 * a time. Returns how many were made.
 */
export async function ensurePages(pagesDir: string, specs: PageSpec[]): Promise<number> {
  mkdirSync(pagesDir, { recursive: true });
  const indexFile = join(pagesDir, 'index.json');
  const gen = generatorHash();
  let index: Record<string, string> = {};
  if (existsSync(indexFile)) {
    const parsed: unknown = JSON.parse(readFileSync(indexFile, 'utf8'));
    if (parsed && typeof parsed === 'object' && (parsed as { generator?: unknown }).generator === gen) {
      index = (parsed as { pages: Record<string, string> }).pages;
    }
  }
  const key = (p: PageSpec) => JSON.stringify(p);
  const todo = specs.filter(
    (p) => index[p.base] !== key(p) || !existsSync(join(pagesDir, `${p.base}.jpg`)) || !existsSync(join(pagesDir, `${p.base}.gt.txt`)),
  );
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const p = todo[next++]!;
      await makePage(pagesDir, p);
      index[p.base] = key(p);
    }
  };
  await Promise.all([worker(), worker()]);
  writeFileSync(indexFile, `${JSON.stringify({ generator: gen, pages: index }, null, 1)}\n`);
  return todo.length;
}

/**
 * A fresh book folder of hard links (copies across file systems) to generated pages. `names`
 * gives each page's name in the book (default its own); `src` are file names in `pagesDir`.
 */
export function makeBookDir(dir: string, pagesDir: string, entries: Array<{ src: string; name: string }>): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const e of entries) {
    const from = join(pagesDir, e.src);
    const to = join(dir, e.name);
    try {
      linkSync(from, to);
    } catch {
      copyFileSync(from, to);
    }
  }
}

export function groundTruth(pagesDir: string, base: string): string {
  return readFileSync(join(pagesDir, `${base}.gt.txt`), 'utf8');
}
