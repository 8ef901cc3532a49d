// The benchmark of issue 6: `npm run bench` (not part of the tests).
//
//   npm run bench -- [--runs 3] [--quick] [--no-soak] [--soak-pages 200] [--pages 20]
//                    [--only baseline,embedded,system,clean,cloud,sauvola,soak]
//                    [--cloud-engine system|embedded] [--jobs 2] [--tree] [--note TEXT]
//                    [--out bench/results.md] [--report-only [--data FILE]]
//
// On a book of realistic 300-dpi pages with ground truth (bench/lib/book.ts, generated once into
// bench/work/), each measurement `--runs` times, rounds interleaved so that a change of load hits
// every contender alike, medians reported:
//   - baseline: the Go original's work done natively: decode, Sauvola at k 0.1/0.2/0.3 (the Go
//     arithmetic, preprocess/), 1-bit PNG, `tesseract` on every variant (2 processes,
//     OMP_THREAD_LIMIT=1), best by mean word confidence;
//   - `rescribe` with the embedded engine and with `--engine system` (and the three again on the
//     book's cleaner pages alone, for context);
//   - Sauvola ×3 (+ wipe) per page, in-process;
//   - the resident set every 20 pages over a 200-page run of rescribe;
//   - the cloud worker on fauxqs against rescribe doing the same work, and AWS requests per page.
// The code measured is a snapshot of HEAD (other sessions edit the working tree meanwhile; --tree
// measures the working tree). Writes bench/work/results.json and bench/results.md (--quick:
// bench/work/results-quick.*; --report-only writes the .md again from the .json). Exits non-zero
// only when something could not be measured; unmet targets are reported, not failed.

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { cer } from '../test/support/cer.js';
import { BOOK, ensurePages, groundTruth, makeBookDir, type PageSpec } from './lib/book.js';
import { jsonLine, runCommand, RssSampler, selfAndChildrenCpuSeconds, TIME_BIN, type CommandResult } from './lib/proc.js';
import { f1, f2, mb, mean, median, pct, render } from './lib/report.js';
import type { BaselineRun, BenchData, BookRuns, CerScore, CloudRun, CloudTimeline, RescribeRun, SauvolaRow, SoakResult } from './lib/types.js';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, '..');
const WORK = join(BENCH, 'work');
const PAGES_DIR = join(WORK, 'pages');
const KS = [0.1, 0.2, 0.3];
const SECTIONS = ['baseline', 'embedded', 'system', 'clean', 'cloud', 'sauvola', 'soak'] as const;
type Section = (typeof SECTIONS)[number];

// ───────────── options ─────────────

const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'no-soak': { type: 'boolean', default: false },
    'soak-pages': { type: 'string' },
    pages: { type: 'string' },
    only: { type: 'string' },
    'cloud-engine': { type: 'string', default: 'system' },
    jobs: { type: 'string', default: '2' },
    out: { type: 'string' },
    data: { type: 'string' },
    note: { type: 'string' },
    tree: { type: 'boolean', default: false },
    'report-only': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(
    readFileSync(fileURLToPath(import.meta.url), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('//'))
      .join('\n'),
  );
  process.exit(0);
}
const quick = values.quick;
const outFile = values.out ?? (quick ? join(WORK, 'results-quick.md') : join(BENCH, 'results.md'));
const dataFile =
  values.data ?? (values.out ? `${values.out.replace(/\.md$/, '')}.json` : quick ? join(WORK, 'results-quick.json') : join(WORK, 'results.json'));

function usage(msg: string): never {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

if (values['report-only']) {
  if (!existsSync(dataFile)) usage(`${dataFile}: no measurements to report (run the bench first)`);
  const data = JSON.parse(readFileSync(dataFile, 'utf8'), (_k, v: unknown) => (v === null ? NaN : v)) as BenchData;
  // Fields that are null rather than unmeasured numbers.
  if (typeof data.sauvola === 'number') data.sauvola = null;
  if (typeof data.soak === 'number') data.soak = null;
  for (const c of data.cloud) if (typeof c.workerCounts === 'number') c.workerCounts = null;
  writeFileSync(outFile, render(data));
  console.log(`wrote ${relative(ROOT, outFile)} from ${relative(ROOT, dataFile)}`);
  process.exit(0);
}

const runs = Number(values.runs ?? (quick ? 1 : 3));
const nPages = Number(values.pages ?? (quick ? 4 : 20));
const soakPages = Number(values['soak-pages'] ?? 200);
const J = Number(values.jobs);
const cloudEngine = values['cloud-engine'] === 'embedded' ? 'embedded' : 'system';
const wanted = new Set<Section>(
  values.only ? (values.only.split(',').map((s) => s.trim()) as Section[]) : SECTIONS.filter((s) => s !== 'soak' || !(quick || values['no-soak'])),
);
if (values['soak-pages'] && !values.only) wanted.add('soak');
for (const s of wanted) if (!SECTIONS.includes(s)) usage(`unknown section ${s}`);
if (!(runs >= 1 && Number.isInteger(runs))) usage('--runs must be a whole number ≥ 1');
if (!(nPages >= 1 && nPages <= BOOK.length)) usage(`--pages must be 1..${BOOK.length}`);
if (!(soakPages >= 20 && soakPages % 20 === 0)) usage('--soak-pages must be a multiple of 20');
if (!(J >= 1 && Number.isInteger(J))) usage('--jobs must be a whole number ≥ 1');

// ───────────── the code measured ─────────────

/**
 * Other sessions edit the working tree while a run takes its half hour, so by default the commands
 * run from a snapshot of HEAD (`git archive`, node_modules linked) in bench/work/snapshot/, and the
 * in-process parts load their modules from it too. `--tree` measures the working tree as it is.
 */
function snapshotHead(): { dir: string; sha: string } {
  const rev = spawnSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
  const sha = rev.status === 0 ? rev.stdout.trim() : '';
  if (!sha) usage('not a git checkout: use --tree to measure the files as they are');
  const dir = join(WORK, 'snapshot', sha.slice(0, 12));
  if (!existsSync(join(dir, '.complete'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const tar = spawnSync('git', ['-C', ROOT, 'archive', '--format=tar', 'HEAD'], { maxBuffer: 1 << 30 });
    if (tar.status !== 0) usage(`git archive HEAD failed: ${tar.stderr.toString()}`);
    const x = spawnSync('tar', ['-x', '-C', dir], { input: tar.stdout, maxBuffer: 1 << 30 });
    if (x.status !== 0) usage(`tar -x failed: ${x.stderr.toString()}`);
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, '.complete'), `${sha}\n`);
  }
  return { dir, sha };
}

const snapshot = values.tree ? null : snapshotHead();
/** Where the measured code lives: the snapshot of HEAD, or this checkout with --tree. */
const SRC = snapshot?.dir ?? ROOT;
const load = <T>(rel: string): Promise<T> => import(pathToFileURL(join(SRC, rel)).href) as Promise<T>;
const { meanWordConf } = await load<typeof import('../analyse/confidence.js')>('analyse/confidence.ts');
const { hocrToText } = await load<typeof import('../analyse/text.js')>('analyse/text.ts');
const { parseHocr } = await load<typeof import('../ocr/hocr.js')>('ocr/hocr.ts');
const { decodeGrey, encodePng1 } = await load<typeof import('../preprocess/codec.js')>('preprocess/codec.ts');
const { binariseVariants, sauvolaVariants, sauvolaWindow, wipeBinarised } = await load<typeof import('../preprocess/index.js')>(
  'preprocess/index.ts',
);

// ───────────── small helpers ─────────────

const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

function tail(s: string, n = 1500): string {
  return s.length > n ? `…${s.slice(-n)}` : s;
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? `${r.stdout}${r.stderr}`.trim() : '';
}

function pkgVersion(name: string): string {
  try {
    const v: unknown = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8'));
    return String((v as { version?: unknown }).version ?? '?');
  } catch {
    return '?';
  }
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown';
}

const loadNow = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** Environment for the commands: no inherited AWS or pipeline settings, no user config. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(AWS_|BOOKPIPELINE_)/.test(k)) env[k] = v;
  return { ...env, NODE_NO_WARNINGS: '1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...extra };
}

/** Keeps a command's stderr in bench/work/logs/ (the last run of each kind), for profiling. */
function saveLog(name: string, text: string): void {
  mkdirSync(join(WORK, 'logs'), { recursive: true });
  writeFileSync(join(WORK, 'logs', `${name}.log`), text);
}

function checkExit(what: string, r: CommandResult): void {
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code ?? r.signal}: ${tail(r.stderr)}`);
}

// ───────────── book ─────────────

interface Book {
  name: string;
  dir: string;
  pages: Array<{ base: string; path: string }>;
}

const specs = BOOK.slice(0, nPages);
const gt = new Map<string, string>();

/** Mean CER of the book's pages' texts (a missing text counts as 100 %), and each page's. */
function scoreTexts(book: Book, texts: Map<string, string>): CerScore {
  const perPage: Record<string, number> = {};
  for (const p of book.pages) {
    const t = texts.get(p.base);
    perPage[p.base] = t === undefined ? 1 : cer(t, gt.get(p.base)!);
  }
  const xs = Object.values(perPage);
  return { mean: mean(xs), worst: Math.max(...xs), perPage };
}

/** Page texts of a rescribe-style output folder: `text/<base>_<NNNN>.txt`. */
function readPageTexts(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir)) {
    const m = /^(.*)_\d{4}\.txt$/.exec(f);
    if (m) out.set(m[1]!, readFileSync(join(dir, f), 'utf8'));
  }
  return out;
}

/**
 * Which variants were OCRed, per page, from an output's `conf` (one line per variant:
 * `<page>_<NNNN>_bin<k>.hocr<TAB>conf<TAB>read|not-read …`).
 */
function readsFromConf(file: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [name, , extra] = line.split('\t');
    const m = name ? /^(.*)_\d{4}_bin([\d.]+)\.hocr$/.exec(name) : null;
    if (!m) continue;
    const list = (out[m[1]!] ??= []);
    if (!/not-read/.test(extra ?? '')) list.push(Number(m[2]));
  }
  return out;
}

const countReads = (reads: Record<string, number[]>) => Object.values(reads).reduce((a, b) => a + b.length, 0);

// ───────────── baseline ─────────────

function tesseract(png: string, outBase: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('tesseract', [png, outBase, '-l', 'eng', '-c', 'tessedit_create_hocr=1', '-c', 'hocr_font_info=0'], {
      env: { ...process.env, OMP_THREAD_LIMIT: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`tesseract ${png}: exit ${code}: ${err}`))));
  });
}

/**
 * The original's local work, natively: one page at a time is decoded and binarised at every k on
 * this thread (as the Go preprocessor), each variant's OCR queued at once for 2 tesseract processes;
 * then each page's variant with the highest mean word confidence (ties: the lower k) is chosen.
 */
async function runBaseline(book: Book): Promise<BaselineRun> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-baseline-'));
  const limit = pLimit(2);
  const ocrByK: Record<string, number[]> = Object.fromEntries(KS.map((k) => [k.toFixed(1), []]));
  const ocrSecondsByPage: Record<string, number> = {};
  const sampler = new RssSampler(process.pid, false, 250).start();
  let prepMs = 0;
  const load = loadavg()[0]!;
  const cpu0 = selfAndChildrenCpuSeconds();
  const t0 = performance.now();
  try {
    const jobs: Promise<void>[] = [];
    for (const p of book.pages) {
      const tp = performance.now();
      const { img, dpi } = await decodeGrey(p.path, { maxPixels: 2e8 });
      const bins = sauvolaVariants(img, KS, sauvolaWindow(img.width));
      ocrSecondsByPage[p.base] = 0;
      for (let i = 0; i < KS.length; i++) {
        const k = KS[i]!.toFixed(1);
        const base = join(dir, `${p.base}_bin${k}`);
        writeFileSync(`${base}.png`, encodePng1(bins[i]!, dpi));
        jobs.push(
          limit(async () => {
            const s = await tesseract(`${base}.png`, base);
            ocrByK[k]!.push(s);
            ocrSecondsByPage[p.base]! += s;
          }),
        );
      }
      prepMs += performance.now() - tp;
      await new Promise((r) => setImmediate(r)); // let finished OCRs start the next ones
    }
    await Promise.all(jobs);
    const texts = new Map<string, string>();
    const chosenK: Record<string, number> = {};
    for (const p of book.pages) {
      let best: { k: number; conf: number; text: string } | null = null;
      for (const k of KS) {
        const page = parseHocr(readFileSync(join(dir, `${p.base}_bin${k.toFixed(1)}.hocr`), 'utf8'));
        const conf = meanWordConf(page);
        if (conf !== null && (best === null || conf > best.conf)) best = { k, conf, text: hocrToText(page) };
      }
      texts.set(p.base, best?.text ?? '');
      chosenK[p.base] = best?.k ?? NaN;
    }
    const seconds = (performance.now() - t0) / 1000;
    return {
      seconds,
      cpuSeconds: selfAndChildrenCpuSeconds() - cpu0,
      load,
      cer: scoreTexts(book, texts),
      chosenK,
      ocrs: Object.values(ocrByK).reduce((a, x) => a + x.length, 0),
      ocrByK,
      ocrSecondsByPage,
      prepSeconds: prepMs / 1000,
      peakTesseractKb: sampler.peakKb,
    };
  } finally {
    sampler.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ───────────── rescribe ─────────────

async function runRescribe(book: Book, engine: 'embedded' | 'system', extra: string[] = []): Promise<RescribeRun> {
  const label = `rescribe-${book.name}-${engine}${extra.length ? '-all' : ''}`;
  const out = join(WORK, 'out', label);
  rmSync(out, { recursive: true, force: true });
  const load = loadavg()[0]!;
  const spawnEpoch = Date.now();
  const events: Array<{ t: number; msg: string }> = [];
  const r = await runCommand(
    process.execPath,
    [join(SRC, 'bin', 'rescribe.js'), book.dir, out, '--force', '-v', '-j', String(J), '--engine', engine, ...extra],
    {
      cwd: SRC,
      env: cleanEnv(),
      timeoutMs: 3_600_000,
      onLine: (line) => {
        const j = jsonLine(line);
        if (!j || typeof j.msg !== 'string') return;
        events.push({ t: (typeof j.time === 'number' ? j.time : Date.now()) - spawnEpoch, msg: j.msg });
      },
    },
  );
  saveLog(label, r.stderr);
  checkExit(`rescribe --engine ${engine} ${extra.join(' ')}`, r);
  const readsPerPage = readsFromConf(join(out, 'conf'));
  const at = (msg: string, which: 'first' | 'last') => {
    const xs = events.filter((e) => e.msg === msg).map((e) => e.t / 1000);
    return xs.length ? (which === 'first' ? Math.min(...xs) : Math.max(...xs)) : NaN;
  };
  const result: RescribeRun = {
    seconds: r.seconds,
    cpuSeconds: r.cpuSeconds ?? NaN,
    load,
    cer: scoreTexts(book, readPageTexts(join(out, 'text'))),
    peakTreeKb: r.peakTreeKb,
    maxRssKb: r.maxRssKb ?? NaN,
    ocrs: countReads(readsPerPage),
    readsPerPage,
    atStart: at('start', 'first'),
    atFirstPrep: at('preprocessed', 'first'),
    atLastOcr: at('ocred', 'last'),
  };
  rmSync(out, { recursive: true, force: true });
  return result;
}

// ───────────── Sauvola per page ─────────────

function timeIt<T>(row: SauvolaRow, fn: () => T): T {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = fn();
  row.wall.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  row.cpu.push((c.user + c.system) / 1000);
  return out;
}

async function runSauvola(book: Book): Promise<SauvolaRow[]> {
  const rows: SauvolaRow[] = [
    { name: 'Sauvola ×3 (one pass for the 3 k)', wall: [], cpu: [] },
    { name: 'wipe ×3 (of those 3 variants, thresholds k × 0.02)', wall: [], cpu: [] },
    { name: 'Sauvola ×3 + wipe (target)', wall: [], cpu: [] },
    { name: '3×3 median + Sauvola ×3 + wipe', wall: [], cpu: [] },
  ];
  for (const p of book.pages) {
    const { img } = await decodeGrey(p.path, { maxPixels: 2e8 });
    for (let r = 0; r < runs; r++) {
      const bins = timeIt(rows[0]!, () => sauvolaVariants(img, KS, sauvolaWindow(img.width)));
      timeIt(rows[1]!, () => bins.map((b, i) => wipeBinarised(b, KS[i]! * 0.02, KS[i]! * 0.02)));
      timeIt(rows[2]!, () => binariseVariants(img, KS, { wipe: true, denoise: false }));
      timeIt(rows[3]!, () => binariseVariants(img, KS, { wipe: true, denoise: true }));
    }
  }
  return rows;
}

// ───────────── memory over a long run ─────────────

async function runSoak(book: Book, n: number): Promise<SoakResult> {
  const dir = join(WORK, `book-soak-${n}`);
  makeBookDir(
    dir,
    PAGES_DIR,
    Array.from({ length: n }, (_, i) => ({ src: `${book.pages[i % book.pages.length]!.base}.jpg`, name: `s${String(i + 1).padStart(3, '0')}.jpg` })),
  );
  const out = join(WORK, 'out', 'soak');
  rmSync(out, { recursive: true, force: true });
  const checkpoints: SoakResult['checkpoints'] = [];
  let done = 0;
  let seen = 0;
  const t0 = Date.now();
  const r = await runCommand(process.execPath, [join(SRC, 'bin', 'rescribe.js'), dir, out, '--force', '-v', '-j', String(J)], {
    cwd: SRC,
    env: cleanEnv(),
    timeoutMs: 7_200_000,
    sampleMs: 1000,
    onLine: (line, sampler: RssSampler) => {
      const j = jsonLine(line);
      if (j?.msg !== 'ocred') return;
      done++;
      if (done % 20 === 0) {
        const kb = sampler.sampleNow();
        const window = sampler.samples.slice(seen).map((x) => x.kb);
        seen = sampler.samples.length;
        checkpoints.push({ pages: done, kb, t: (Date.now() - t0) / 1000, windowMedianKb: median(window), windowMaxKb: Math.max(...window) });
        log(`  soak: ${done}/${n} pages, RSS ${mb(checkpoints.at(-1)!.kb)}`);
      }
    },
  });
  saveLog('soak', r.stderr);
  checkExit(`rescribe (${n} pages)`, r);
  rmSync(out, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  if (checkpoints.length < 2) throw new Error(`only ${checkpoints.length} RSS checkpoints: no 'ocred' log lines?`);
  return { pages: n, seconds: r.seconds, checkpoints, peakTreeKb: r.peakTreeKb, maxRssKb: r.maxRssKb ?? NaN };
}

// ───────────── cloud worker on fauxqs ─────────────

/** When the worker did what, from its JSON log lines ('job done' carries the job's ms). */
function cloudTimeline(stderr: string, spawnEpoch: number, exitEpoch: number): CloudTimeline {
  interface Ev {
    t: number;
    msg: string;
    queue: string;
    ms: number;
  }
  const ev: Ev[] = [];
  for (const l of stderr.split('\n')) {
    const j = jsonLine(l);
    if (!j || typeof j.msg !== 'string') continue;
    const t = typeof j.time === 'string' ? Date.parse(j.time) : typeof j.time === 'number' ? j.time : NaN;
    ev.push({ t: (t - spawnEpoch) / 1000, msg: j.msg, queue: typeof j.queue === 'string' ? j.queue : '', ms: typeof j.ms === 'number' ? j.ms : 0 });
  }
  const first = (f: (e: Ev) => boolean, map: (e: Ev) => number = (e) => e.t) => {
    const xs = ev.filter(f).map(map);
    return xs.length ? Math.min(...xs) : NaN;
  };
  const last = (f: (e: Ev) => boolean) => {
    const xs = ev.filter(f).map((e) => e.t);
    return xs.length ? Math.max(...xs) : NaN;
  };
  const ocrDone = (e: Ev) => e.msg === 'job done' && e.queue.endsWith('ocrpage');
  const analyseJob = ev.filter((e) => e.msg === 'job done' && e.queue.endsWith('analyse')).at(-1);
  return {
    started: first((e) => e.msg === 'worker started'),
    preprocessed: first((e) => e.msg === 'book preprocessed'),
    firstOcrStart: first(ocrDone, (e) => e.t - e.ms / 1000),
    lastOcrDone: last(ocrDone),
    analyseStart: analyseJob ? analyseJob.t - analyseJob.ms / 1000 : NaN,
    analysed: last((e) => e.msg === 'book analysed'),
    exited: (exitEpoch - spawnEpoch) / 1000,
    deferrals: ev.filter((e) => /analyse deferred/.test(e.msg)).length,
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`fauxqs did not answer at ${url} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function runCloud(book: Book, round: number): Promise<CloudRun> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const cloudDir = join(WORK, 'cloud');
  mkdirSync(cloudDir, { recursive: true });
  const logFile = join(cloudDir, `fauxqs-${round}.log`);
  const fd = openSync(logFile, 'w');
  const fq = spawn(process.execPath, [join(ROOT, 'node_modules', 'fauxqs', 'dist', 'cli.js')], {
    env: { ...process.env, FAUXQS_PORT: String(port) },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const fqExit = new Promise<void>((r) => fq.on('close', () => r()));
  const home = mkdtempSync(join(tmpdir(), 'bench-home-'));
  const out = join(WORK, 'out', 'cloud');
  rmSync(out, { recursive: true, force: true });
  try {
    await waitHealthy(endpoint, 20_000);
    const env = cleanEnv({ HOME: home, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' });
    const flags = ['-c', 'aws', '--endpoint', endpoint, '--bucket', 'benchbook', '--queue-prefix', 'bench'];
    const tool = (name: string, args: string[], timeoutMs = 600_000) =>
      runCommand(process.execPath, [join(SRC, 'bin', `${name}.js`), ...flags, ...args], { cwd: SRC, env, timeoutMs });
    checkExit('mkpipeline', await tool('mkpipeline', []));
    const load = loadavg()[0]!;
    const t0 = Date.now();
    checkExit('booktopipeline', await tool('booktopipeline', ['--nowipe', book.dir, 'bench']));
    const tUp = Date.now();
    const w = await tool('bookpipeline', ['--exit-on-complete', '--thresholds', KS.join(','), '-j', String(J), '--engine', cloudEngine], 3_600_000);
    saveLog('cloud-worker', w.stderr);
    checkExit('bookpipeline', w);
    const tDone = Date.now();
    checkExit('getpipelinebook', await tool('getpipelinebook', ['-o', out, 'bench']));
    const tDl = Date.now();
    // The worker's own count, by command.
    let workerCounts: CloudRun['workerCounts'] = null;
    for (const l of w.stderr.split('\n')) {
      const j = jsonLine(l);
      if (j?.msg === 'AWS requests' && j.requests && typeof j.requests === 'object') {
        const req = j.requests as { sqs?: Record<string, number>; s3?: Record<string, number> };
        workerCounts = { sqs: req.sqs ?? {}, s3: req.s3 ?? {} };
      }
    }
    fq.kill('SIGTERM');
    await fqExit;
    // Every request fauxqs logged, by phase: SQS is the JSON protocol (POST /), the rest is S3.
    const requests = { upload: { s3: 0, sqs: 0 }, process: { s3: 0, sqs: 0 }, download: { s3: 0, sqs: 0 } };
    for (const l of readFileSync(logFile, 'utf8').split('\n')) {
      const j = jsonLine(l);
      if (j?.msg !== 'incoming request' || typeof j.time !== 'number') continue;
      const req = j.req as { method?: string; url?: string } | undefined;
      if (!req || req.url === '/health' || j.time < t0) continue;
      const phase = j.time < tUp ? requests.upload : j.time < tDone ? requests.process : requests.download;
      if (req.method === 'POST' && req.url === '/') phase.sqs++;
      else phase.s3++;
    }
    const timeline = cloudTimeline(w.stderr, tUp, tDone);
    const reads = readsFromConf(join(out, 'conf'));
    const variantsRead = countReads(reads);
    return {
      upload: (tUp - t0) / 1000,
      process: (tDone - tUp) / 1000,
      download: (tDl - tDone) / 1000,
      total: Number.isFinite(timeline.analysed) ? (tUp - t0) / 1000 + timeline.analysed : (tDone - t0) / 1000,
      totalExit: (tDone - t0) / 1000,
      load,
      workerCpuSeconds: w.cpuSeconds ?? NaN,
      requests,
      workerCounts,
      cer: scoreTexts(book, readPageTexts(join(out, 'text'))),
      allRead: Object.keys(reads).length > 0 && variantsRead === Object.keys(reads).length * KS.length,
      variantsRead,
      peakWorkerKb: w.peakTreeKb,
      timeline,
    };
  } finally {
    if (fq.exitCode === null && fq.signalCode === null) {
      fq.kill('SIGTERM');
      await fqExit;
    }
    rmSync(home, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
}

// ───────────── the run ─────────────

const failures: BenchData['failures'] = [];
async function attempt<T>(what: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    failures.push({ what, why });
    log(`FAILED ${what}: ${why.split('\n')[0]}`);
    return null;
  }
}

const started = new Date();
const loadStart = loadNow();
log(`bench: ${nPages} pages, ${runs} run(s), sections ${[...wanted].join(',')}, code ${snapshot ? `HEAD ${snapshot.sha.slice(0, 7)} (snapshot)` : 'working tree'}, load ${loadStart}`);
mkdirSync(WORK, { recursive: true });

const made = await ensurePages(PAGES_DIR, specs);
log(`book: ${nPages} pages (${made} generated, ${nPages - made} reused) in ${relative(ROOT, PAGES_DIR)}`);
for (const p of specs) gt.set(p.base, groundTruth(PAGES_DIR, p.base));

function makeBook(name: string, list: PageSpec[]): Book {
  const dir = join(WORK, `book-${name}`);
  makeBookDir(
    dir,
    PAGES_DIR,
    list.map((p) => ({ src: `${p.base}.jpg`, name: `${p.base}.jpg` })),
  );
  return { name, dir, pages: list.map((p) => ({ base: p.base, path: join(dir, `${p.base}.jpg`) })) };
}
const book = makeBook(String(nPages), specs);
// The book's cleaner pages: the generator's noise or less, full contrast. Measured alone only when
// they are a real part of the book.
const cleanSpecs = specs.filter((p) => p.noise <= 1 && p.contrast >= 1);
const clean = cleanSpecs.length && cleanSpecs.length < specs.length ? makeBook(`clean-${cleanSpecs.length}`, cleanSpecs) : null;

const empty = (): BookRuns => ({ baseline: [], embedded: [], system: [] });
const main = empty();
const cleanRuns = empty();
const cloudRuns: CloudRun[] = [];
/** rescribe doing the cloud's work (same engine, thresholds, and every variant when the cloud read every one), per round. */
const sameWorkRuns: RescribeRun[] = [];
let sameWorkArgs: string[] = [];

async function measureBook(b: Book, into: BookRuns, tag: string): Promise<RescribeRun | null> {
  const n = b.pages.length;
  let forCloud: RescribeRun | null = null;
  if (wanted.has('baseline')) {
    const r = await attempt(`baseline${tag}`, () => runBaseline(b));
    if (r) {
      into.baseline.push(r);
      log(`  baseline${tag}: ${f1(r.seconds)} s, ${f1((n * 60) / r.seconds)} pages/min, CER ${pct(r.cer.mean)}`);
    }
  }
  for (const engine of ['embedded', 'system'] as const) {
    if (!wanted.has(engine)) continue;
    const r = await attempt(`rescribe --engine ${engine}${tag}`, () => runRescribe(b, engine));
    if (!r) continue;
    into[engine].push(r);
    if (engine === cloudEngine) forCloud = r;
    log(`  rescribe ${engine}${tag}: ${f1(r.seconds)} s, ${f1((n * 60) / r.seconds)} pages/min, CER ${pct(r.cer.mean)}, ${r.ocrs} OCRs, peak ${mb(r.peakTreeKb)}`);
  }
  return forCloud;
}

for (let round = 1; round <= runs; round++) {
  log(`round ${round}/${runs} (load ${loadNow()})`);
  const rescribeForCloud = await measureBook(book, main, '');
  if (wanted.has('cloud')) {
    const c = await attempt('cloud worker on fauxqs', () => runCloud(book, round));
    if (c) {
      cloudRuns.push(c);
      log(`  cloud: upload ${f1(c.upload)} s, book done ${f1(c.total)} s (worker exit ${f1(c.totalExit)} s, download ${f1(c.download)} s), ${c.variantsRead} variants read, CER ${pct(c.cer.mean)}`);
      // rescribe doing the same work: every variant when the cloud read every one.
      sameWorkArgs = c.allRead ? ['--all-variants'] : [];
      const reuse = c.allRead ? null : rescribeForCloud;
      const s = reuse ?? (await attempt('rescribe (same work as the cloud)', () => runRescribe(book, cloudEngine, sameWorkArgs)));
      if (s) {
        sameWorkRuns.push(s);
        log(`  ${['rescribe', cloudEngine, ...sameWorkArgs].join(' ')}: ${f1(s.seconds)} s → cloud overhead ×${f2(c.total / s.seconds)}`);
      }
    }
  }
  if (clean && wanted.has('clean')) await measureBook(clean, cleanRuns, ` (${clean.pages.length} cleaner pages)`);
}

let sauvolaRows: SauvolaRow[] | null = null;
if (wanted.has('sauvola')) {
  log('Sauvola per page');
  sauvolaRows = await attempt('Sauvola per page', () => runSauvola(book));
}

let soak: SoakResult | null = null;
if (wanted.has('soak')) {
  log(`memory over ${soakPages} pages (rescribe, embedded)`);
  soak = await attempt(`RSS over ${soakPages} pages`, () => runSoak(book, soakPages));
}

const data: BenchData = {
  meta: {
    started: started.toISOString(),
    minutes: (Date.now() - started.getTime()) / 60000,
    loadStart,
    loadEnd: loadNow(),
    cpuModel: cpuModel(),
    cores: availableParallelism(),
    cpus: cpus().length,
    memGiB: totalmem() / 2 ** 30,
    versions: `Node ${process.version}, ${sh('tesseract', ['--version']).split('\n')[0] || 'tesseract ?'} (Debian's eng model, fast), tesseract.js ${pkgVersion('tesseract.js')} (@tesseract.js-data/eng best_int), sharp ${pkgVersion('sharp')}, fauxqs ${pkgVersion('fauxqs')}`,
    commit: snapshot
      ? `${snapshot.sha.slice(0, 7)}, measured from a snapshot of HEAD (\`git archive\`), not the working tree`
      : `${sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']) || '?'}${sh('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']) ? ' + uncommitted changes' : ''} (the working tree, --tree)`,
    args: process.argv.slice(2),
    runs,
    jobs: J,
    cloudEngine,
    ks: KS,
    timeBin: existsSync(TIME_BIN),
    ...(values.note ? { note: values.note } : {}),
  },
  pages: specs,
  cleanPages: clean && wanted.has('clean') ? clean.pages.map((p) => p.base) : [],
  main,
  clean: cleanRuns,
  cloud: cloudRuns,
  sameWork: sameWorkRuns,
  sameWorkArgs,
  sauvola: sauvolaRows,
  soak,
  failures,
};

mkdirSync(dirname(dataFile), { recursive: true });
writeFileSync(dataFile, `${JSON.stringify(data, null, 1)}\n`);
mkdirSync(dirname(outFile), { recursive: true });
const md = render(data);
writeFileSync(outFile, md);
log(`wrote ${relative(ROOT, outFile)} and ${relative(ROOT, dataFile)} (load ${data.meta.loadEnd})`);
const lines = md.split('\n');
console.log(`\n${lines.slice(lines.indexOf('## Targets'), lines.indexOf('## Throughput and accuracy')).join('\n')}`);
if (failures.length) {
  console.error(`bench: could not measure: ${failures.map((f) => f.what).join('; ')}`);
  process.exit(1);
}
