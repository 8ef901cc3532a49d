// rescribe as a user runs it: a subprocess on a folder of pages, its outputs read back.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meanWordConf } from '../../analyse/confidence.js';
import { formatGoConf, parseBest, parseConf } from '../../analyse/files.js';
import { parseHocr } from '../../ocr/hocr.js';
import { cer } from '../support/cer.js';
import { haveSamples, ROOT, SAMPLES } from '../support/paths.js';
import { run } from '../support/run.js';

const tmp = mkdtempSync(join(tmpdir(), 'rescribe-e2e-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const haveTesseract = spawnSync('tesseract', ['--version']).status === 0;
const havePoppler = spawnSync('pdftotext', ['-v']).status === 0;
const canUnshare = spawnSync('unshare', ['-n', 'true']).status === 0;

/** Runs rescribe; under `unshare -n` (no network at all) when the machine allows it. */
async function rescribe(args: string[], opts: { offline?: boolean } = {}) {
  if (opts.offline && canUnshare) {
    const r = spawnSync('unshare', ['-n', process.execPath, join(ROOT, 'bin', 'rescribe.js'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
      timeout: 600_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }
  return run('rescribe', args, {}, 600_000);
}

/** Checks every output of a finished book and returns the per-page character error rates. */
async function checkOutputs(out: string, book: string, truth: Map<string, string>, opts: { bound: number }) {
  for (const f of ['best', 'conf', 'graph.png', `${book}.txt`, `${book} searchable.pdf`, `${book} binarised.pdf`]) {
    expect(existsSync(join(out, f)), f).toBe(true);
  }
  const best = parseBest(readFileSync(join(out, 'best'), 'utf8'));
  const conf = parseConf(readFileSync(join(out, 'conf'), 'utf8'));
  expect(best.length).toBe(truth.size);
  // best and conf agree with the hOCR files: the conf of each best hOCR is its mean word confidence.
  expect(readdirSync(join(out, 'hocr')).sort()).toEqual([...best].sort());
  for (const b of best) {
    const page = parseHocr(readFileSync(join(out, 'hocr', b), 'utf8'));
    const row = conf.find((r) => r.name === b);
    expect(row, `${b} in conf`).toBeDefined();
    expect(row!.conf).toBe(Number(formatGoConf(meanWordConf(page)!)));
    // the best of a page has the highest mean confidence among variants that read the page
    const variants = conf.filter((r) => r.name.startsWith(b.replace(/_bin[0-9.]+\.hocr$/, '_bin')));
    expect(variants.length).toBeGreaterThan(1);
    expect(existsSync(join(out, 'png', b.replace(/\.hocr$/, '.png')))).toBe(true);
  }
  // text per page and the book's text against ground truth
  const rates = new Map<string, number>();
  const textFiles = readdirSync(join(out, 'text')).sort();
  expect(textFiles.length).toBe(truth.size);
  for (const [page, gt] of truth) {
    const tf = textFiles.find((f) => f.startsWith(`${page}_`));
    expect(tf, `text for ${page}`).toBeDefined();
    const rate = cer(readFileSync(join(out, 'text', tf!), 'utf8'), gt);
    rates.set(page, rate);
    expect(rate, `CER of ${page}`).toBeLessThan(opts.bound);
  }
  const collator = new Intl.Collator(undefined, { numeric: true });
  const allTruth = [...truth].sort(([a], [b]) => collator.compare(a, b)).map(([, t]) => t).join('\n');
  expect(cer(readFileSync(join(out, `${book}.txt`), 'utf8'), allTruth)).toBeLessThan(opts.bound);
  // the graph is a PNG of the original's size
  const g = await sharp(join(out, 'graph.png')).metadata();
  expect([g.format, g.width, g.height]).toEqual(['png', 3840, 2160]);
  if (havePoppler) {
    for (const pdf of [`${book} searchable.pdf`, `${book} binarised.pdf`]) {
      const info = execFileSync('pdfinfo', [join(out, pdf)], { encoding: 'utf8' });
      expect(info).toMatch(new RegExp(`Pages:\\s+${truth.size}\\b`));
      // the text layer comes back in reading order, page by page
      const text = execFileSync('pdftotext', [join(out, pdf), '-'], { encoding: 'utf8' });
      expect(cer(text.replace(/\f/g, '\n'), allTruth), `${pdf} text`).toBeLessThan(opts.bound);
    }
    // the binarised PDF holds 1-bit images, not JPEG
    const images = execFileSync('pdfimages', ['-list', join(out, `${book} binarised.pdf`)], { encoding: 'utf8' });
    const rows = images.split('\n').slice(2).filter((l) => l.trim());
    expect(rows.length).toBe(truth.size);
    for (const r of rows) expect(r.split(/\s+/)[8], r).toBe('1');
  }
  return rates;
}

function truthOf(dir: string, pages: string[]): Map<string, string> {
  return new Map(pages.map((p) => [p, readFileSync(join(dir, `${p}.txt`), 'utf8')]));
}

describe('rescribe on examples/book (embedded engine, no network)', () => {
  const out = join(tmp, 'example-out');
  let res: Awaited<ReturnType<typeof rescribe>>;
  beforeAll(async () => {
    res = await rescribe(['examples/book', out], { offline: true });
  }, 600_000);

  it('exits 0 with a summary', () => {
    expect(res.stderr).not.toMatch(/rescribe: /);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/Done: 3\/3 pages of "book"/);
    expect(res.stdout).toMatch(/Mean confidence \d/);
  });

  it('writes every output, right', async () => {
    const rates = await checkOutputs(out, 'book', truthOf(join(ROOT, 'examples', 'ground-truth'), ['page2', 'page4', 'page5']), { bound: 0.03 });
    expect(rates.size).toBe(3);
  });

  it('records the deskew angle of each page in conf, and which variants were read', () => {
    const conf = readFileSync(join(out, 'conf'), 'utf8');
    // The generator skewed page2 by -1.3° and page4 by -2.2°.
    expect(conf).toMatch(/page2_0001_bin0\.3\.hocr\t\d+\tread .*angle=-1\.[234]/);
    expect(conf).toMatch(/page4_0002_bin0\.3\.hocr\t\d+\tread .*angle=-2\.[123]/);
    // adaptive search: k=0.3 is read first on every page; every variant has a line
    const rows = parseConf(conf);
    expect(rows).toHaveLength(9);
    for (const row of rows.filter((x) => x.name.includes('_bin0.3.'))) expect(row.extra).toMatch(/^read /);
    for (const row of rows) expect(row.extra).toMatch(row.conf === null ? /^not-read / : /^read /);
  });

  it('refuses to write into the same savedir again without --force', async () => {
    const r = await run('rescribe', ['examples/book', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/example-out: folder exists and is not empty \(use --force/);
  });
});

describe.runIf(haveSamples)('rescribe on the sample pages', () => {
  it('reads every sample page under 3 % character errors', async () => {
    const book = join(tmp, 'samples');
    mkdirSync(book);
    const truth = new Map<string, string>();
    for (const [sub, f] of [['book', 'page1.jpg'], ['book', 'page3.jpg'], ['real', 'opencv-imageTextN.png']] as const) {
      copyFileSync(join(SAMPLES, sub, f), join(book, f));
      const base = f.replace(/\.[a-z]+$/, '');
      truth.set(base, readFileSync(join(SAMPLES, sub, `${base}.gt.txt`), 'utf8'));
    }
    const out = join(tmp, 'samples-out');
    const r = await rescribe([book, out]);
    expect(r.code, r.stderr).toBe(0);
    const gtDir = join(tmp, 'samples-gt');
    mkdirSync(gtDir);
    for (const [p, t] of truth) writeFileSync(join(gtDir, `${p}.txt`), t);
    const rates = await checkOutputs(out, 'samples', truth, { bound: 0.03 });
    console.log('sample CER', Object.fromEntries([...rates].map(([k, v]) => [k, `${(v * 100).toFixed(2)}%`])));
  }, 600_000);
});

describe.runIf(haveTesseract)('rescribe --engine system', () => {
  it('gives the same outputs with the tesseract command', async () => {
    const out = join(tmp, 'system-out');
    const r = await rescribe(['--engine', 'system', '--all-variants', 'examples/book', out]);
    expect(r.code, r.stderr).toBe(0);
    await checkOutputs(out, 'book', truthOf(join(ROOT, 'examples', 'ground-truth'), ['page2', 'page4', 'page5']), { bound: 0.03 });
    // --all-variants reads every variant, like the original
    const rows = parseConf(readFileSync(join(out, 'conf'), 'utf8'));
    expect(rows).toHaveLength(9);
    for (const row of rows) expect(row.extra).toMatch(/^read /);
  }, 600_000);
});
