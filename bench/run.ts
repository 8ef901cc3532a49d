// The benchmark of issue 6: `npm run bench` (not part of the tests).
//
//   npm run bench -- [--runs 3] [--quick] [--no-soak] [--soak-pages 200] [--pages 20]
//                    [--only baseline,embedded,system,cloud,sauvola,soak] [--cloud-engine embedded]
//                    [--jobs 2] [--out bench/results.md] [--note TEXT]
//
// On a book of realistic 300-dpi pages with ground truth (bench/lib/book.ts, generated once into
// bench/work/), each measurement `--runs` times, rounds interleaved so that a change of load hits
// every contender alike, medians reported:
//   - baseline: the Go original's work done natively: decode, Sauvola at k 0.1/0.2/0.3 (the Go
//     arithmetic, preprocess/), 1-bit PNG, `tesseract` on every variant (2 processes,
//     OMP_THREAD_LIMIT=1), best by mean word confidence;
//   - `rescribe` with the embedded engine and with `--engine system`;
//   - Sauvola ×3 (+ wipe) per page, in-process;
//   - the resident set every 20 pages over a 200-page run of rescribe;
//   - the cloud worker on fauxqs against rescribe doing the same work, and AWS requests per page.
// Writes bench/results.md (--quick: bench/work/results-quick.md). Exits non-zero only when
// something could not be measured; unmet targets are reported, not failed.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { cer } from '../test/support/cer.js';
import { BOOK, describeSpec, ensurePages, groundTruth, makeBookDir, type PageSpec } from './lib/book.js';
import { jsonLine, runCommand, RssSampler, selfAndChildrenCpuSeconds, TIME_BIN, type CommandResult } from './lib/proc.js';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, '..');
const WORK = join(BENCH, 'work');
const PAGES_DIR = join(WORK, 'pages');
const KS = [0.1, 0.2, 0.3];
const SECTIONS = ['baseline', 'embedded', 'system', 'cloud', 'sauvola', 'soak'] as const;
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
    note: { type: 'string' },
    tree: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(0, 18).join('\n'));
  process.exit(0);
}
const quick = values.quick;
const runs = Number(values.runs ?? (quick ? 1 : 3));
const nPages = Number(values.pages ?? (quick ? 4 : 20));
const soakPages = Number(values['soak-pages'] ?? 200);
const J = Number(values.jobs);
const cloudEngine = values['cloud-engine'] === 'embedded' ? 'embedded' : 'system';
const outFile = values.out ?? (quick ? join(WORK, 'results-quick.md') : join(BENCH, 'results.md'));
const wanted = new Set<Section>(
  values.only ? (values.only.split(',').map((s) => s.trim()) as Section[]) : SECTIONS.filter((s) => s !== 'soak' || !(quick || values['no-soak'])),
);
if (values['soak-pages'] && !values.only) wanted.add('soak');
for (const s of wanted) if (!SECTIONS.includes(s)) usage(`unknown section ${s}`);
if (!(runs >= 1 && Number.isInteger(runs))) usage('--runs must be a whole number ≥ 1');
if (!(nPages >= 1 && nPages <= BOOK.length)) usage(`--pages must be 1..${BOOK.length}`);
if (!(soakPages >= 20 && soakPages % 20 === 0)) usage('--soak-pages must be a multiple of 20');
if (!(J >= 1 && Number.isInteger(J))) usage('--jobs must be a whole number ≥ 1');

function usage(msg: string): never {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

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
const { binariseVariants, sauvolaVariants, sauvolaWindow } = await load<typeof import('../preprocess/index.js')>('preprocess/index.ts');

// ───────────── small helpers ─────────────

const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const mb = (kb: number | null | undefined) => (kb == null || !Number.isFinite(kb) || kb === 0 ? 'n/a' : `${(kb / 1024).toFixed(0)} MB`);
const pct = (x: number, d = 2) => (Number.isFinite(x) ? `${(x * 100).toFixed(d)} %` : 'n/a');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

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

interface BookPage {
  base: string;
  path: string;
  spec: PageSpec;
}

const specs = BOOK.slice(0, nPages);
const gt = new Map<string, string>();

/** Mean CER of the pages' texts (a missing text counts as 100 %), and each page's. */
function scoreTexts(texts: Map<string, string>): { mean: number; worst: number; perPage: Map<string, number> } {
  const perPage = new Map<string, number>();
  for (const p of specs) {
    const t = texts.get(p.base);
    perPage.set(p.base, t === undefined ? 1 : cer(t, gt.get(p.base)!));
  }
  const xs = [...perPage.values()];
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
 * `<page>_bin<k>.hocr<TAB>conf<TAB>read|not-read …`).
 */
function readsFromConf(file: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [name, , extra] = line.split('\t');
    const m = name ? /^(.*)_\d{4}_bin([\d.]+)\.hocr$/.exec(name) : null;
    if (!m) continue;
    const list = out.get(m[1]!) ?? [];
    if (!/not-read/.test(extra ?? '')) list.push(Number(m[2]));
    out.set(m[1]!, list);
  }
  return out;
}

const countReads = (reads: Map<string, number[]>) => [...reads.values()].reduce((a, b) => a + b.length, 0);

// ───────────── baseline ─────────────

interface BaselineRun {
  seconds: number;
  /** CPU seconds of this process and its tesseract processes. */
  cpuSeconds: number;
  /** 1-minute load average when the measurement started. */
  load: number;
  cer: ReturnType<typeof scoreTexts>;
  chosenK: Map<string, number>;
  ocrs: number;
  /** Median wall seconds of one tesseract run (one variant). */
  ocrSeconds: number;
  /** Wall seconds of each tesseract run, by k. */
  ocrByK: Map<number, number[]>;
  /** Main-thread seconds spent decoding, binarising and encoding. */
  prepSeconds: number;
  /** Peak resident set of the tesseract processes together. */
  peakTesseractKb: number;
}

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
async function runBaseline(pages: BookPage[]): Promise<BaselineRun> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-baseline-'));
  const limit = pLimit(2);
  const ocrTimes: number[] = [];
  const ocrByK = new Map<number, number[]>(KS.map((k) => [k, []]));
  const sampler = new RssSampler(process.pid, false, 250).start();
  let prepMs = 0;
  const load = loadavg()[0]!;
  const cpu0 = selfAndChildrenCpuSeconds();
  const t0 = performance.now();
  try {
    const jobs: Promise<void>[] = [];
    for (const p of pages) {
      const tp = performance.now();
      const { img, dpi } = await decodeGrey(p.path, { maxPixels: 2e8 });
      const bins = sauvolaVariants(img, KS, sauvolaWindow(img.width));
      for (let i = 0; i < KS.length; i++) {
        const base = join(dir, `${p.base}_bin${KS[i]!.toFixed(1)}`);
        writeFileSync(`${base}.png`, encodePng1(bins[i]!, dpi));
        const k = KS[i]!;
        jobs.push(
          limit(async () => {
            const s = await tesseract(`${base}.png`, base);
            ocrTimes.push(s);
            ocrByK.get(k)!.push(s);
          }),
        );
      }
      prepMs += performance.now() - tp;
      await new Promise((r) => setImmediate(r)); // let finished OCRs start the next ones
    }
    await Promise.all(jobs);
    const texts = new Map<string, string>();
    const chosenK = new Map<string, number>();
    for (const p of pages) {
      let best: { k: number; conf: number; text: string } | null = null;
      for (const k of KS) {
        const page = parseHocr(readFileSync(join(dir, `${p.base}_bin${k.toFixed(1)}.hocr`), 'utf8'));
        const conf = meanWordConf(page);
        if (conf !== null && (best === null || conf > best.conf)) best = { k, conf, text: hocrToText(page) };
      }
      texts.set(p.base, best?.text ?? '');
      chosenK.set(p.base, best?.k ?? NaN);
    }
    const seconds = (performance.now() - t0) / 1000;
    return {
      seconds,
      cpuSeconds: selfAndChildrenCpuSeconds() - cpu0,
      load,
      cer: scoreTexts(texts),
      chosenK,
      ocrs: ocrTimes.length,
      ocrSeconds: median(ocrTimes),
      ocrByK,
      prepSeconds: prepMs / 1000,
      peakTesseractKb: sampler.peakKb,
    };
  } finally {
    sampler.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ───────────── rescribe ─────────────

interface RescribeRun {
  seconds: number;
  cpuSeconds: number | null;
  load: number;
  cer: ReturnType<typeof scoreTexts>;
  peakTreeKb: number;
  maxRssKb: number | null;
  ocrs: number;
  readsPerPage: Map<string, number[]>;
  /** seconds from the spawn: the 'start' log line, first page preprocessed, last page OCRed. */
  atStart: number;
  atFirstPrep: number;
  atLastOcr: number;
}

async function runRescribe(bookDir: string, engine: 'embedded' | 'system', extra: string[] = []): Promise<RescribeRun> {
  const out = join(WORK, 'out', `rescribe-${engine}${extra.length ? '-all' : ''}`);
  rmSync(out, { recursive: true, force: true });
  const load = loadavg()[0]!;
  const spawnEpoch = Date.now();
  const events: Array<{ t: number; msg: string }> = [];
  const r = await runCommand(
    process.execPath,
    [join(SRC, 'bin', 'rescribe.js'), bookDir, out, '--force', '-v', '-j', String(J), '--engine', engine, ...extra],
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
  saveLog(`rescribe-${engine}${extra.length ? '-all' : ''}`, r.stderr);
  checkExit(`rescribe --engine ${engine} ${extra.join(' ')}`, r);
  const texts = readPageTexts(join(out, 'text'));
  const readsPerPage = readsFromConf(join(out, 'conf'));
  const at = (msg: string, which: 'first' | 'last') => {
    const xs = events.filter((e) => e.msg === msg).map((e) => e.t / 1000);
    return xs.length ? (which === 'first' ? Math.min(...xs) : Math.max(...xs)) : NaN;
  };
  const result: RescribeRun = {
    seconds: r.seconds,
    cpuSeconds: r.cpuSeconds,
    load,
    cer: scoreTexts(texts),
    peakTreeKb: r.peakTreeKb,
    maxRssKb: r.maxRssKb,
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

interface SauvolaRow {
  name: string;
  wall: number[];
  cpu: number[];
}

function timeIt(row: SauvolaRow, fn: () => unknown): void {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  row.wall.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  row.cpu.push((c.user + c.system) / 1000);
}

async function runSauvola(pages: BookPage[]): Promise<SauvolaRow[]> {
  const rows: SauvolaRow[] = [
    { name: 'Sauvola ×3 (one pass for the 3 k)', wall: [], cpu: [] },
    { name: 'Sauvola ×3 + wipe (target)', wall: [], cpu: [] },
    { name: '3×3 median + Sauvola ×3 + wipe', wall: [], cpu: [] },
  ];
  for (const p of pages) {
    const { img } = await decodeGrey(p.path, { maxPixels: 2e8 });
    for (let r = 0; r < runs; r++) {
      timeIt(rows[0]!, () => sauvolaVariants(img, KS, sauvolaWindow(img.width)));
      timeIt(rows[1]!, () => binariseVariants(img, KS, { wipe: true, denoise: false }));
      timeIt(rows[2]!, () => binariseVariants(img, KS, { wipe: true, denoise: true }));
    }
  }
  return rows;
}

// ───────────── memory over a long run ─────────────

interface SoakResult {
  pages: number;
  seconds: number;
  checkpoints: Array<{ pages: number; kb: number; t: number }>;
  peakTreeKb: number;
  maxRssKb: number | null;
  /** (max − min) / min over the checkpoints from 40 pages on. */
  spread: number;
  /** Least-squares slope over the same checkpoints, MB per 100 pages. */
  slopeMbPer100: number;
}

async function runSoak(book20: BookPage[], n: number): Promise<SoakResult> {
  const dir = join(WORK, `book-soak-${n}`);
  makeBookDir(
    dir,
    PAGES_DIR,
    Array.from({ length: n }, (_, i) => ({ src: `${book20[i % book20.length]!.base}.jpg`, name: `s${String(i + 1).padStart(3, '0')}.jpg` })),
  );
  const out = join(WORK, 'out', 'soak');
  rmSync(out, { recursive: true, force: true });
  const checkpoints: SoakResult['checkpoints'] = [];
  let done = 0;
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
        checkpoints.push({ pages: done, kb: sampler.sampleNow(), t: (Date.now() - t0) / 1000 });
        log(`  soak: ${done}/${n} pages, RSS ${mb(checkpoints.at(-1)!.kb)}`);
      }
    },
  });
  checkExit('rescribe (200 pages)', r);
  rmSync(out, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  const later = checkpoints.filter((c) => c.pages >= 40);
  const kbs = later.map((c) => c.kb);
  const spread = kbs.length ? (Math.max(...kbs) - Math.min(...kbs)) / Math.min(...kbs) : NaN;
  const xm = mean(later.map((c) => c.pages));
  const ym = mean(kbs);
  const sxy = later.reduce((a, c) => a + (c.pages - xm) * (c.kb - ym), 0);
  const sxx = later.reduce((a, c) => a + (c.pages - xm) ** 2, 0);
  const slopeMbPer100 = sxx ? ((sxy / sxx) * 100) / 1024 : NaN;
  return { pages: n, seconds: r.seconds, checkpoints, peakTreeKb: r.peakTreeKb, maxRssKb: r.maxRssKb, spread, slopeMbPer100 };
}

// ───────────── cloud worker on fauxqs ─────────────

interface Requests {
  s3: number;
  sqs: number;
}
interface CloudRun {
  upload: number;
  process: number;
  download: number;
  /** Upload start to the book analysed (its results in the store), from the worker's log. */
  total: number;
  /** Upload start to the worker's exit (after its exit-on-complete checks). */
  totalExit: number;
  load: number;
  workerCpuSeconds: number | null;
  requests: { upload: Requests; process: Requests; download: Requests };
  workerCounts: { sqs: Record<string, number>; s3: Record<string, number> } | null;
  cer: ReturnType<typeof scoreTexts>;
  /** Every variant of every page was OCRed (conf lists none as not read). */
  allRead: boolean;
  variantsRead: number;
  peakWorkerKb: number;
  /** Seconds from the worker's spawn, from its log lines. */
  timeline: CloudTimeline;
}

interface CloudTimeline {
  started: number;
  preprocessed: number;
  firstOcrStart: number;
  lastOcrDone: number;
  analyseStart: number;
  analysed: number;
  exited: number;
  deferrals: number;
}

/** When the worker did what, from its JSON log lines ('job done' carries the job's ms). */
function cloudTimeline(stderr: string, spawnEpoch: number, exitEpoch: number): CloudTimeline {
  const ev: Array<{ t: number; msg: string; queue: string; ms: number }> = [];
  for (const l of stderr.split('\n')) {
    const j = jsonLine(l);
    if (!j || typeof j.msg !== 'string') continue;
    const t = typeof j.time === 'string' ? Date.parse(j.time) : typeof j.time === 'number' ? j.time : NaN;
    ev.push({ t: (t - spawnEpoch) / 1000, msg: j.msg, queue: typeof j.queue === 'string' ? j.queue : '', ms: typeof j.ms === 'number' ? j.ms : 0 });
  }
  const first = (f: (e: (typeof ev)[number]) => boolean, map: (e: (typeof ev)[number]) => number = (e) => e.t) => {
    const xs = ev.filter(f).map(map);
    return xs.length ? Math.min(...xs) : NaN;
  };
  const last = (f: (e: (typeof ev)[number]) => boolean) => {
    const xs = ev.filter(f).map((e) => e.t);
    return xs.length ? Math.max(...xs) : NaN;
  };
  const ocrDone = (e: (typeof ev)[number]) => e.msg === 'job done' && e.queue.endsWith('ocrpage');
  const analysed = last((e) => e.msg === 'book analysed');
  const analyseJob = ev.filter((e) => e.msg === 'job done' && e.queue.endsWith('analyse')).at(-1);
  return {
    started: first((e) => e.msg === 'worker started'),
    preprocessed: first((e) => e.msg === 'book preprocessed'),
    firstOcrStart: first(ocrDone, (e) => e.t - e.ms / 1000),
    lastOcrDone: last(ocrDone),
    analyseStart: analyseJob ? analyseJob.t - analyseJob.ms / 1000 : NaN,
    analysed,
    exited: (exitEpoch - spawnEpoch) / 1000,
    deferrals: ev.filter((e) => e.msg === 'book not OCRed yet: analyse deferred').length,
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

async function runCloud(bookDir: string, round: number): Promise<CloudRun> {
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
    checkExit('booktopipeline', await tool('booktopipeline', ['--nowipe', bookDir, 'bench']));
    const tUp = Date.now();
    const w = await tool(
      'bookpipeline',
      ['--exit-on-complete', '--thresholds', KS.join(','), '-j', String(J), '--engine', cloudEngine],
      3_600_000,
    );
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
    const texts = readPageTexts(join(out, 'text'));
    return {
      upload: (tUp - t0) / 1000,
      process: (tDone - tUp) / 1000,
      download: (tDl - tDone) / 1000,
      total: Number.isFinite(timeline.analysed) ? (tUp - t0) / 1000 + timeline.analysed : (tDone - t0) / 1000,
      totalExit: (tDone - t0) / 1000,
      load,
      workerCpuSeconds: w.cpuSeconds,
      requests,
      workerCounts,
      cer: scoreTexts(texts),
      allRead: reads.size > 0 && variantsRead === reads.size * KS.length,
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

const failures: Array<{ what: string; why: string }> = [];
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
const cores = availableParallelism();
log(`bench: ${nPages} pages, ${runs} run(s), sections ${[...wanted].join(',')}, load ${loadStart}`);
mkdirSync(WORK, { recursive: true });

const made = await ensurePages(PAGES_DIR, specs);
log(`book: ${nPages} pages (${made} generated, ${nPages - made} reused) in ${relative(ROOT, PAGES_DIR)}`);
for (const p of specs) gt.set(p.base, groundTruth(PAGES_DIR, p.base));
const bookDir = join(WORK, `book-${nPages}`);
makeBookDir(
  bookDir,
  PAGES_DIR,
  specs.map((p) => ({ src: `${p.base}.jpg`, name: `${p.base}.jpg` })),
);
const pages: BookPage[] = specs.map((spec) => ({ base: spec.base, path: join(bookDir, `${spec.base}.jpg`), spec }));

const baselineRuns: BaselineRun[] = [];
const embeddedRuns: RescribeRun[] = [];
const systemRuns: RescribeRun[] = [];
const cloudRuns: CloudRun[] = [];
/** rescribe doing the cloud's work (same engine, thresholds, and every variant when the cloud read every one), per round. */
const sameWorkRuns: RescribeRun[] = [];
let sameWorkArgs: string[] = [];

for (let round = 1; round <= runs; round++) {
  log(`round ${round}/${runs} (load ${loadNow()})`);
  if (wanted.has('baseline')) {
    const b = await attempt('baseline', () => runBaseline(pages));
    if (b) {
      baselineRuns.push(b);
      log(`  baseline: ${f1(b.seconds)} s, ${f1((nPages * 60) / b.seconds)} pages/min, CER ${pct(b.cer.mean)}`);
    }
  }
  let embeddedThisRound: RescribeRun | null = null;
  for (const engine of ['embedded', 'system'] as const) {
    if (!wanted.has(engine)) continue;
    const r = await attempt(`rescribe --engine ${engine}`, () => runRescribe(bookDir, engine));
    if (!r) continue;
    (engine === 'embedded' ? embeddedRuns : systemRuns).push(r);
    if (engine === cloudEngine) embeddedThisRound = r;
    log(`  rescribe ${engine}: ${f1(r.seconds)} s, ${f1((nPages * 60) / r.seconds)} pages/min, CER ${pct(r.cer.mean)}, ${r.ocrs} OCRs, peak ${mb(r.peakTreeKb)}`);
  }
  if (wanted.has('cloud')) {
    const c = await attempt('cloud worker on fauxqs', () => runCloud(bookDir, round));
    if (c) {
      cloudRuns.push(c);
      log(`  cloud: upload ${f1(c.upload)} s + process ${f1(c.process)} s (download ${f1(c.download)} s), ${c.variantsRead} variants read, CER ${pct(c.cer.mean)}`);
      // rescribe doing the same work: every variant when the cloud read every one.
      sameWorkArgs = c.allRead ? ['--all-variants'] : [];
      const reuse = !c.allRead ? embeddedThisRound : null;
      const s = reuse ?? (await attempt('rescribe (same work as the cloud)', () => runRescribe(bookDir, cloudEngine, sameWorkArgs)));
      if (s) {
        sameWorkRuns.push(s);
        log(`  ${['rescribe', cloudEngine, ...sameWorkArgs].join(' ')}: ${f1(s.seconds)} s → cloud overhead ×${f2(c.total / s.seconds)}`);
      }
    }
  }
}

let sauvolaRows: SauvolaRow[] | null = null;
if (wanted.has('sauvola')) {
  log('Sauvola per page');
  sauvolaRows = await attempt('Sauvola per page', () => runSauvola(pages));
}

let soak: SoakResult | null = null;
if (wanted.has('soak')) {
  log(`memory over ${soakPages} pages (rescribe, embedded)`);
  soak = await attempt(`RSS over ${soakPages} pages`, () => runSoak(pages, soakPages));
}

const loadEnd = loadNow();
const finished = new Date();

// ───────────── results.md ─────────────

const ppm = (s: number) => (nPages * 60) / s;
const bSec = median(baselineRuns.map((r) => r.seconds));
const eSec = median(embeddedRuns.map((r) => r.seconds));
const sSec = median(systemRuns.map((r) => r.seconds));
const bCer = median(baselineRuns.map((r) => r.cer.mean));
const eCer = median(embeddedRuns.map((r) => r.cer.mean));
const sCer = median(systemRuns.map((r) => r.cer.mean));
const targetSauvola = sauvolaRows?.[1];
const sauvolaMs = targetSauvola ? median(targetSauvola.wall) : NaN;
const cloudTotal = median(cloudRuns.map((r) => r.total));
const sameWorkSec = median(sameWorkRuns.map((r) => r.seconds));

type Verdict = 'met' | '**not met**' | 'not measured';
const verdict = (measured: boolean, ok: boolean): Verdict => (!measured ? 'not measured' : ok ? 'met' : '**not met**');
const targets: Array<[string, string, Verdict]> = [
  [
    'embedded engine pages/min ≥ 1.0× baseline',
    `×${f2(bSec / eSec)} (${f1(ppm(eSec))} vs ${f1(ppm(bSec))} pages/min; by CPU time ×${f2(median(baselineRuns.map((r) => r.cpuSeconds)) / median(embeddedRuns.map((r) => r.cpuSeconds ?? NaN)))})`,
    verdict(Number.isFinite(bSec / eSec), bSec / eSec >= 1.0),
  ],
  [
    'system engine pages/min ≥ 2.0× baseline',
    `×${f2(bSec / sSec)} (${f1(ppm(sSec))} vs ${f1(ppm(bSec))} pages/min; by CPU time ×${f2(median(baselineRuns.map((r) => r.cpuSeconds)) / median(systemRuns.map((r) => r.cpuSeconds ?? NaN)))})`,
    verdict(Number.isFinite(bSec / sSec), bSec / sSec >= 2.0),
  ],
  [
    'CER, embedded, ≤ baseline + 0.2 points',
    `${pct(eCer)} vs ${pct(bCer)} (${f2((eCer - bCer) * 100)} points)`,
    verdict(Number.isFinite(eCer - bCer), eCer - bCer <= 0.002 + 1e-12),
  ],
  [
    'CER, system, ≤ baseline + 0.2 points',
    `${pct(sCer)} vs ${pct(bCer)} (${f2((sCer - bCer) * 100)} points)`,
    verdict(Number.isFinite(sCer - bCer), sCer - bCer <= 0.002 + 1e-12),
  ],
  ['Sauvola ×3 + wipe ≤ 0.5 s per page per core', `${sauvolaMs.toFixed(0)} ms (median wall, one thread)`, verdict(Number.isFinite(sauvolaMs), sauvolaMs <= 500)],
  [
    `RSS over ${soakPages} pages flat within 15 %`,
    soak ? `${pct(soak.spread, 1)} spread from page 40 on (${mb(Math.min(...soak.checkpoints.filter((c) => c.pages >= 40).map((c) => c.kb)))}–${mb(Math.max(...soak.checkpoints.filter((c) => c.pages >= 40).map((c) => c.kb)))}), trend ${f1(soak.slopeMbPer100)} MB/100 pages` : 'n/a',
    verdict(soak !== null && Number.isFinite(soak.spread), (soak?.spread ?? Infinity) <= 0.15),
  ],
  [
    'cloud overhead ≤ 1.10× rescribe (same book, workers, work)',
    `×${f2(cloudTotal / sameWorkSec)} (${f1(cloudTotal)} s vs ${f1(sameWorkSec)} s)`,
    verdict(Number.isFinite(cloudTotal / sameWorkSec), cloudTotal / sameWorkSec <= 1.1),
  ],
];

const runsOf = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' / ');
const L: string[] = [];
L.push('# Benchmark results', '');
L.push(`Written by \`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (bench/run.ts); do not edit by hand.`, '');
L.push('| | |', '|---|---|');
L.push(`| date | ${started.toISOString().replace('T', ' ').slice(0, 16)} UTC, ${((finished.getTime() - started.getTime()) / 60000).toFixed(1)} min |`);
L.push(`| machine | ${cpuModel()}, ${cores} cores (${cpus().length} CPUs), ${(totalmem() / 2 ** 30).toFixed(1)} GiB |`);
L.push(`| load average (1/5/15 min) | start ${loadStart}; end ${loadEnd} |`);
L.push(
  `| versions | Node ${process.version}, ${sh('tesseract', ['--version']).split('\n')[0] || 'tesseract ?'} (system model: Debian's eng, fast), tesseract.js ${pkgVersion('tesseract.js')} (@tesseract.js-data/eng best_int), sharp ${pkgVersion('sharp')}, fauxqs ${pkgVersion('fauxqs')} |`,
);
if (snapshot) {
  L.push(`| commit | ${snapshot.sha.slice(0, 7)}: measured from a snapshot of HEAD (\`git archive\`), not the working tree |`);
} else {
  const commit = sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = sh('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']) ? ' + uncommitted changes' : '';
  L.push(`| commit | ${commit || '?'}${dirty} (the working tree, --tree) |`);
}
L.push(`| book | ${nPages} generated A4 pages at 300 dpi (2480×3508 JPEG q85), 5 fonts, noise, contrast, skew ±3°, gutters; ground truth beside each |`);
L.push(`| method | ${runs} run(s) of each, rounds interleaved, medians; ${J} OCR processes/workers everywhere (\`-j ${J}\`), \`OMP_THREAD_LIMIT=1\` for native tesseract |`);
if (values.note) L.push(`| note | ${values.note} |`);
L.push('');
if (failures.length) {
  L.push('## Could not measure', '');
  for (const f of failures) L.push(`- **${f.what}**: ${f.why.split('\n')[0]}`);
  L.push('');
}
L.push('## Targets', '', '| target | measured | |', '|---|---|---|');
for (const [t, m, v] of targets) L.push(`| ${t} | ${m} | ${v} |`);
L.push('');

L.push('## Throughput and accuracy', '');
L.push('Wall time from start to the last output written; CER = character error rate of each page\'s chosen text against its ground truth (normalised as test/support/cer.ts), mean over pages.', '');
L.push(
  'The runs column gives each run\'s wall seconds with the 1-minute load average when it started (this machine is shared: other sessions\' tests run beside it). CPU s/page is user + system time of the whole process tree (all threads and tesseract processes) per book page: it moves much less with the load than the wall time, and its ratio is the speed-up a quiet machine would show if the cores stay busy.',
  '',
);
L.push('| | wall s (median) | runs: s (load) | book pages/min | × baseline | CPU s/page | × baseline, by CPU | OCRs/page | mean CER | worst page | peak RSS, process tree | peak RSS, largest process |');
L.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
const runsLoad = (rs: Array<{ seconds: number; load: number }>) => rs.map((r) => `${r.seconds.toFixed(1)} (${r.load.toFixed(1)})`).join(' / ');
const bCpu = median(baselineRuns.map((r) => r.cpuSeconds)) / nPages;
if (baselineRuns.length) {
  const b = baselineRuns[0]!;
  L.push(
    `| baseline: native tesseract, every variant | ${f1(bSec)} | ${runsLoad(baselineRuns)} | ${f1(ppm(bSec))} | 1.00 | ${f2(bCpu)} | 1.00 | ${f2(b.ocrs / nPages)} | ${pct(bCer)} | ${pct(b.cer.worst)} | ${mb(median(baselineRuns.map((r) => r.peakTesseractKb)))} (tesseract processes only) | – |`,
  );
}
const cpuOf = (rs: readonly RescribeRun[]) => median(rs.map((r) => r.cpuSeconds ?? NaN)) / nPages;
const sameWorkLabel = ['rescribe', '--engine', cloudEngine, ...sameWorkArgs].join(' ');
for (const [name, rs, sec, c] of [
  ['rescribe, embedded (default)', embeddedRuns, eSec, eCer],
  ['rescribe --engine system', systemRuns, sSec, sCer],
  [`${sameWorkLabel} (for reference; the cloud's comparison)`, sameWorkRuns, sameWorkSec, median(sameWorkRuns.map((r) => r.cer.mean))],
] as const) {
  if (!rs.length || (rs === sameWorkRuns && !sameWorkArgs.length)) continue;
  L.push(
    `| ${name} | ${f1(sec)} | ${runsLoad(rs)} | ${f1(ppm(sec))} | ${f2(bSec / sec)} | ${f2(cpuOf(rs))} | ${f2(bCpu / cpuOf(rs))} | ${f2(rs[0]!.ocrs / nPages)} | ${pct(c)} | ${pct(rs[0]!.cer.worst)} | ${mb(median(rs.map((r) => r.peakTreeKb)))} | ${mb(median(rs.map((r) => r.maxRssKb ?? NaN)))} |`,
  );
}
L.push('');
if (!existsSync(TIME_BIN)) L.push(`(${TIME_BIN} is missing: the largest-process column is empty.)`, '');

L.push('### Where the time goes', '');
if (baselineRuns.length) {
  const b = baselineRuns[0]!;
  L.push(
    `- baseline: ${b.ocrs} tesseract runs of ${f2(median(baselineRuns.map((r) => r.ocrSeconds)))} s each (median), 2 at a time → ${f1((b.ocrs * median(baselineRuns.map((r) => r.ocrSeconds))) / 2)} s of OCR; decoding, binarising and PNG-encoding on the main thread ${f1(median(baselineRuns.map((r) => r.prepSeconds)))} s (overlapping the OCR). Per k, median / slowest tesseract run: ${KS.map((k) => {
      const xs = baselineRuns.flatMap((r) => r.ocrByK.get(k) ?? []);
      return `k ${k}: ${f1(median(xs))} / ${f1(Math.max(...xs))} s`;
    }).join('; ')} — a variant where Sauvola turned paper noise into ink costs tesseract many times a clean one. ${f1((60 * b.ocrs) / median(baselineRuns.map((r) => r.seconds)))} variant-OCRs a minute overall.`,
  );
}
for (const [name, rs] of [
  ['embedded', embeddedRuns],
  ['system', systemRuns],
  [[cloudEngine, ...sameWorkArgs].join(' '), sameWorkRuns],
] as const) {
  if (!rs.length || (rs === sameWorkRuns && !sameWorkArgs.length)) continue;
  const m = (f: (r: RescribeRun) => number) => median(rs.map(f));
  const ocrWall = m((r) => r.atLastOcr - r.atFirstPrep);
  const ocrs = rs[0]!.ocrs;
  L.push(
    `- rescribe ${name}: process start → 'start' log ${f1(m((r) => r.atStart))} s; → first page preprocessed ${f1(m((r) => r.atFirstPrep))} s; → last page OCRed ${f1(m((r) => r.atLastOcr))} s; then analysis, PDFs and output ${f1(m((r) => r.seconds - r.atLastOcr))} s. ${ocrs} OCRs (${f2(ocrs / nPages)}/page) in ${f1(ocrWall)} s with ${J} workers ≈ ${f2((ocrWall * J) / ocrs)} s of worker time per OCR (preprocessing included).`,
  );
}
L.push('');

if (sauvolaRows) {
  L.push('## Preprocessing per page (in-process, one thread)', '');
  L.push(`Pure functions of preprocess/ on each decoded page (${nPages} pages × ${runs} runs). Wall time is per page per core (single-threaded); CPU time includes the process's other threads (GC).`, '');
  L.push('| step | wall ms/page median | min | max | CPU ms/page median |', '|---|---|---|---|---|');
  for (const r of sauvolaRows) {
    L.push(`| ${r.name} | ${median(r.wall).toFixed(0)} | ${Math.min(...r.wall).toFixed(0)} | ${Math.max(...r.wall).toFixed(0)} | ${median(r.cpu).toFixed(0)} |`);
  }
  L.push('');
}

if (soak) {
  L.push(`## Memory over ${soak.pages} pages`, '');
  L.push(
    `\`rescribe -j ${J}\` (embedded) on the ${nPages}-page book ${soak.pages / nPages}× over (hard links; default \`--recycle-after 40\`), ${f1(soak.seconds)} s (${f1((soak.pages * 60) / soak.seconds)} pages/min). Resident set of the process tree from /proc when every 20th page has been OCRed ('ocred' log events). Peak over the whole run (sampled every second, analysis and PDFs included): ${mb(soak.peakTreeKb)}; largest process (time -v): ${mb(soak.maxRssKb)}.`,
    '',
  );
  L.push('| pages OCRed | RSS | elapsed s |', '|---|---|---|');
  for (const c of soak.checkpoints) L.push(`| ${c.pages} | ${mb(c.kb)} | ${f1(c.t)} |`);
  L.push('', `Spread from page 40 on: ${pct(soak.spread, 1)}; least-squares trend ${f1(soak.slopeMbPer100)} MB per 100 pages.`, '');
}

if (cloudRuns.length) {
  const m = (f: (r: CloudRun) => number) => median(cloudRuns.map(f));
  const c0 = cloudRuns[0]!;
  L.push('## Cloud worker on fauxqs against rescribe', '');
  L.push(
    `fauxqs ${pkgVersion('fauxqs')} as a process on this machine (SQS and S3 in memory, every request logged). \`mkpipeline\`, then timed: \`booktopipeline --nowipe\` (the local default: no wipe), one \`bookpipeline --exit-on-complete -j ${J} --engine ${cloudEngine} --thresholds ${KS.join(',')}\`${cloudEngine === 'system' ? ' (the system engine: the original\'s cloud workers ran native tesseract, and with the faster engine the pipeline\'s own costs are a larger share: the stricter test)' : ''} — one worker process with ${J} jobs in flight, the same shape as \`rescribe -j ${J}\` (one process, ${J} OCR workers), so the ratio is the pipeline's own cost — until the book is analysed (its 'book analysed' log line: the results are in the store, \`getpipelinebook\` would succeed; the worker then exits after two empty-queue checks, which persistent workers never make); then \`getpipelinebook\`. The thresholds are rescribe's (the worker's default is the original cloud's 0.1,0.2,0.4,0.5). The cloud ${c0.allRead ? 'OCRs every variant' : 'reads variants adaptively'} (${c0.variantsRead} of ${nPages * KS.length} read), so the comparison is \`${sameWorkLabel}\`${sameWorkArgs.length ? ' (the same OCR work)' : ''}, run in the same round.`,
    '',
  );
  L.push('| | wall s (median) | runs |', '|---|---|---|');
  L.push(`| upload (booktopipeline) | ${f1(m((r) => r.upload))} | ${runsOf(cloudRuns.map((r) => r.upload))} |`);
  L.push(`| worker: spawn to 'book analysed' | ${f1(m((r) => r.timeline.analysed))} | ${runsOf(cloudRuns.map((r) => r.timeline.analysed))} |`);
  L.push(`| **upload → book done** (results in the store) | **${f1(cloudTotal)}** | ${cloudRuns.map((r) => `${r.total.toFixed(1)} (load ${r.load.toFixed(1)})`).join(' / ')} |`);
  L.push(`| upload → worker exit (+ its exit-on-complete checks, a harness cost) | ${f1(m((r) => r.totalExit))} | ${runsOf(cloudRuns.map((r) => r.totalExit))} |`);
  L.push(`| download (getpipelinebook, not in the ratio) | ${f1(m((r) => r.download))} | ${runsOf(cloudRuns.map((r) => r.download))} |`);
  L.push(`| ${sameWorkLabel} (same work) | ${f1(sameWorkSec)} | ${sameWorkRuns.map((r) => `${r.seconds.toFixed(1)} (load ${r.load.toFixed(1)})`).join(' / ')} |`);
  L.push(`| CPU s: worker / rescribe | ${f1(m((r) => r.workerCpuSeconds ?? NaN))} / ${f1(median(sameWorkRuns.map((r) => r.cpuSeconds ?? NaN)))} | |`);
  L.push(`| **overhead ratio** (book done / rescribe) | **×${f2(cloudTotal / sameWorkSec)}** | |`);
  L.push(`| overhead ratio to the worker's exit | ×${f2(m((r) => r.totalExit) / sameWorkSec)} | |`);
  L.push('');
  const tl = (f: (t: CloudTimeline) => number) => f1(m((r) => f(r.timeline)));
  L.push(
    `Where the worker's time goes (seconds from its spawn, medians): its 'worker started' line ${tl((t) => t.started)}; the book's preprocess job (every page, one job) done ${tl((t) => t.preprocessed)}; first OCR job started ${tl((t) => t.firstOcrStart)}; last OCR job done ${tl((t) => t.lastOcrDone)}; the analyse job that ran started ${tl((t) => t.analyseStart)} (after ${tl((t) => t.deferrals)} deferrals), done ${tl((t) => t.analysed)}; process exit ${tl((t) => t.exited)}. So: waiting for the analyse message after the last OCR ${tl((t) => t.analyseStart - t.lastOcrDone)} s, analysis ${tl((t) => t.analysed - t.analyseStart)} s, exit-on-complete checks ${tl((t) => t.exited - t.analysed)} s. rescribe for comparison: last page OCRed at ${f1(median(sameWorkRuns.map((r) => r.atLastOcr)))} s, analysis and output ${f1(median(sameWorkRuns.map((r) => r.seconds - r.atLastOcr)))} s.`,
    '',
  );
  L.push(
    `Cloud CER ${pct(m((r) => r.cer.mean))} (rescribe same work ${pct(median(sameWorkRuns.map((r) => r.cer.mean)))}); peak RSS of the worker ${mb(m((r) => r.peakWorkerKb))}.`,
    '',
  );
  L.push('### AWS requests per page', '', 'Counted from fauxqs\'s request log (SQS: `POST /`; everything else S3), by phase.', '');
  L.push('| phase | S3 | SQS | S3/page | SQS/page |', '|---|---|---|---|---|');
  let ts3 = 0;
  let tsqs = 0;
  for (const ph of ['upload', 'process', 'download'] as const) {
    const s3 = m((r) => r.requests[ph].s3);
    const sqs = m((r) => r.requests[ph].sqs);
    ts3 += s3;
    tsqs += sqs;
    L.push(`| ${ph} | ${s3} | ${sqs} | ${f1(s3 / nPages)} | ${f1(sqs / nPages)} |`);
  }
  L.push(`| **all** | ${ts3} | ${tsqs} | **${f1(ts3 / nPages)}** | **${f1(tsqs / nPages)}** |`, '');
  if (c0.workerCounts) {
    const fmt = (o: Record<string, number>) =>
      Object.entries(o)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
    L.push(`The worker's own count (round 1): SQS ${fmt(c0.workerCounts.sqs)}; S3 ${fmt(c0.workerCounts.s3)}.`, '');
  }
}

if (baselineRuns.length || embeddedRuns.length || systemRuns.length) {
  L.push('## Per page', '', 'CER of the chosen text (round 1); in brackets the variants read (k) by rescribe.', '');
  L.push('| page | made with | baseline (k chosen) | embedded | system |', '|---|---|---|---|---|');
  const b = baselineRuns[0];
  const e = embeddedRuns[0];
  const s = systemRuns[0];
  const cell = (r: RescribeRun | undefined, base: string) =>
    r ? `${pct(r.cer.perPage.get(base) ?? NaN)} (${(r.readsPerPage.get(base) ?? []).join(', ')})` : '–';
  for (const p of specs) {
    L.push(
      `| ${p.base} | ${describeSpec(p)} | ${b ? `${pct(b.cer.perPage.get(p.base) ?? NaN)} (${b.chosenK.get(p.base)})` : '–'} | ${cell(e, p.base)} | ${cell(s, p.base)} |`,
    );
  }
  L.push('');
}

mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, `${L.join('\n')}\n`);
log(`wrote ${relative(ROOT, outFile)} (load ${loadEnd})`);
console.log(`\n${L.slice(L.indexOf('## Targets'), L.indexOf('## Throughput and accuracy')).join('\n')}`);
if (failures.length) {
  console.error(`bench: could not measure: ${failures.map((f) => f.what).join('; ')}`);
  process.exit(1);
}
