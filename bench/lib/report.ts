// bench/results.md from what a run measured (BenchData): tables, and the issue's targets with
// met / not met. A pure function of the data, so the report can be written again from
// bench/work/results.json without measuring again.

import { describeSpec } from './book.js';
import type { BaselineRun, BenchData, BookRuns, CloudRun, CloudTimeline, RescribeRun, SoakResult } from './types.js';

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x));
  if (v.length === 0) return NaN;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
export const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
export const mb = (kb: number | null | undefined) => (kb == null || !Number.isFinite(kb) || kb === 0 ? 'n/a' : `${(kb / 1024).toFixed(0)} MB`);
export const pct = (x: number, d = 2) => (Number.isFinite(x) ? `${(x * 100).toFixed(d)} %` : 'n/a');
export const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
export const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

/** How the memory of the long run behaved: growth past the level after the first 20 pages. */
/**
 * The level of each 20-page window: the median of its once-a-second samples (older data without
 * them: the sample at the checkpoint). One sample at a checkpoint lands anywhere in an OCR job's
 * transient allocations (±40 MB on this book), the window's median does not.
 */
const level = (c: SoakResult['checkpoints'][number]): number => c.windowMedianKb ?? c.kb;

export function soakStats(s: SoakResult): { ref: number; later: number[]; growth: number; spread: number; slopeMbPer100: number } {
  const first = s.checkpoints.find((c) => c.pages === 20);
  const ref = first ? level(first) : NaN;
  const laterCps = s.checkpoints.filter((c) => c.pages > 20);
  const later = laterCps.map(level);
  const growth = later.length ? Math.max(...later) / ref - 1 : NaN;
  const spread = later.length ? (Math.max(...later) - Math.min(...later)) / Math.min(...later) : NaN;
  const xm = mean(laterCps.map((c) => c.pages));
  const ym = mean(later);
  const sxy = laterCps.reduce((a, c) => a + (c.pages - xm) * (level(c) - ym), 0);
  const sxx = laterCps.reduce((a, c) => a + (c.pages - xm) ** 2, 0);
  return { ref, later, growth, spread, slopeMbPer100: sxx ? ((sxy / sxx) * 100) / 1024 : NaN };
}

type Verdict = 'met' | '**not met**' | 'not measured';
const verdict = (measured: boolean, ok: boolean): Verdict => (!measured ? 'not measured' : ok ? 'met' : '**not met**');

interface Summary {
  pages: number;
  b: number;
  e: number;
  s: number;
  bCer: number;
  eCer: number;
  sCer: number;
  bCpu: number;
  eCpu: number;
  sCpu: number;
}

function summarise(r: BookRuns, pages: number): Summary {
  return {
    pages,
    b: median(r.baseline.map((x) => x.seconds)),
    e: median(r.embedded.map((x) => x.seconds)),
    s: median(r.system.map((x) => x.seconds)),
    bCer: median(r.baseline.map((x) => x.cer.mean)),
    eCer: median(r.embedded.map((x) => x.cer.mean)),
    sCer: median(r.system.map((x) => x.cer.mean)),
    bCpu: median(r.baseline.map((x) => x.cpuSeconds)),
    eCpu: median(r.embedded.map((x) => x.cpuSeconds)),
    sCpu: median(r.system.map((x) => x.cpuSeconds)),
  };
}

export function render(d: BenchData): string {
  const m = d.meta;
  const n = d.pages.length;
  const J = m.jobs;
  const ks = m.ks;
  const ppm = (secs: number, pages = n) => (pages * 60) / secs;
  const main = summarise(d.main, n);
  const sauvolaTarget = d.sauvola?.find((r) => r.name.endsWith('(target)'));
  const sauvolaMs = sauvolaTarget ? median(sauvolaTarget.wall) : NaN;
  const sauvolaCpu = sauvolaTarget ? median(sauvolaTarget.cpu) : NaN;
  const cloudTotal = median(d.cloud.map((r) => r.total));
  const sameWorkSec = median(d.sameWork.map((r) => r.seconds));
  const sameWorkLabel = ['rescribe', '--engine', m.cloudEngine, ...d.sameWorkArgs].join(' ');
  const soak = d.soak && d.soak.checkpoints.length ? { ...d.soak, ...soakStats(d.soak) } : null;

  const targets: Array<[string, string, Verdict]> = [
    [
      'embedded engine pages/min ≥ 1.0× baseline',
      `×${f2(main.b / main.e)} (${f1(ppm(main.e))} vs ${f1(ppm(main.b))} pages/min; by CPU time ×${f2(main.bCpu / main.eCpu)})`,
      verdict(Number.isFinite(main.b / main.e), main.b / main.e >= 1.0),
    ],
    [
      'system engine pages/min ≥ 2.0× baseline',
      `×${f2(main.b / main.s)} (${f1(ppm(main.s))} vs ${f1(ppm(main.b))} pages/min; by CPU time ×${f2(main.bCpu / main.sCpu)})`,
      verdict(Number.isFinite(main.b / main.s), main.b / main.s >= 2.0),
    ],
    [
      'CER, embedded, ≤ baseline + 0.2 points',
      `${pct(main.eCer)} vs ${pct(main.bCer)} (${f2((main.eCer - main.bCer) * 100)} points)`,
      verdict(Number.isFinite(main.eCer - main.bCer), main.eCer - main.bCer <= 0.002 + 1e-12),
    ],
    [
      'CER, system, ≤ baseline + 0.2 points',
      `${pct(main.sCer)} vs ${pct(main.bCer)} (${f2((main.sCer - main.bCer) * 100)} points)`,
      verdict(Number.isFinite(main.sCer - main.bCer), main.sCer - main.bCer <= 0.002 + 1e-12),
    ],
    [
      'Sauvola ×3 + wipe ≤ 0.5 s per page per core',
      `${sauvolaMs.toFixed(0)} ms wall (CPU ${sauvolaCpu.toFixed(0)} ms), median, one thread`,
      verdict(Number.isFinite(sauvolaMs), sauvolaMs <= 500),
    ],
    [
      `RSS over ${d.soak?.pages ?? 200} pages flat within 15 %`,
      soak
        ? `levels (median of each 20-page window) after page 20: ${mb(Math.min(...soak.later))}–${mb(Math.max(...soak.later))}, spread ${pct(soak.spread, 1)}; highest ${soak.growth >= 0 ? '+' : ''}${pct(soak.growth, 1)} against the first window (${mb(soak.ref)}); trend ${f1(soak.slopeMbPer100)} MB/100 pages`
        : 'n/a',
      verdict(soak !== null && Number.isFinite(soak.growth) && Number.isFinite(soak.spread), (soak?.growth ?? Infinity) <= 0.15 && (soak?.spread ?? Infinity) <= 0.15),
    ],
    [
      'cloud overhead ≤ 1.10× rescribe (same book, workers, work)',
      Number.isFinite(cloudTotal / sameWorkSec) ? `×${f2(cloudTotal / sameWorkSec)} (${f1(cloudTotal)} s vs ${f1(sameWorkSec)} s)` : 'n/a',
      verdict(Number.isFinite(cloudTotal / sameWorkSec), cloudTotal / sameWorkSec <= 1.1),
    ],
  ];

  const L: string[] = [];
  L.push('# Benchmark results', '');
  L.push(
    `Written by \`npm run bench${m.args.length ? ` -- ${m.args.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')}` : ''}\` (bench/run.ts); the measurements are in bench/work/results.json. Do not edit by hand.`,
    '',
  );
  L.push('| | |', '|---|---|');
  L.push(`| date | ${m.started.replace('T', ' ').slice(0, 16)} UTC, ${m.minutes.toFixed(1)} min |`);
  L.push(`| machine | ${m.cpuModel}, ${m.cores} cores (${m.cpus} CPUs), ${m.memGiB.toFixed(1)} GiB |`);
  L.push(`| load average (1/5/15 min) | start ${m.loadStart}; end ${m.loadEnd} |`);
  L.push(`| versions | ${m.versions} |`);
  L.push(`| commit | ${m.commit} |`);
  L.push(
    `| book | ${n} generated A4 pages at 300 dpi (2480×3508, JPEG q85) with ground truth: the 5 generator pages (5 fonts, margins, gutters, lighting, specks), each in 4 rounds of seed, noise (×0.7–1.4), contrast (×0.6–1.1) and skew (±3°); see Per page |`,
  );
  L.push(`| method | ${m.runs} run(s) of each, rounds interleaved, medians; ${J} OCR processes/workers everywhere (\`-j ${J}\`), \`OMP_THREAD_LIMIT=1\` for native tesseract |`);
  if (m.note) L.push(`| note | ${m.note} |`);
  L.push('');
  if (d.failures.length) {
    L.push('## Could not measure', '');
    for (const f of d.failures) L.push(`- **${f.what}**: ${f.why.split('\n')[0]}`);
    L.push('');
  }
  L.push('## Targets', '', '| target | measured | |', '|---|---|---|');
  for (const [t, v, ok] of targets) L.push(`| ${t} | ${v} | ${ok} |`);
  L.push('');

  // ── throughput
  L.push('## Throughput and accuracy', '');
  L.push(
    "Wall time from start to the last output written. CER: character error rate of each page's chosen text against its ground truth (normalised as test/support/cer.ts), mean over the pages. The runs column gives each run's wall seconds with the 1-minute load average when it started: the machine is shared, other sessions' tests run beside the bench. CPU s/page is user + system time of the whole process tree (every thread and tesseract process) per book page; it moves much less with the load than the wall time.",
    '',
  );
  throughputTable(L, d.main, n, J, d.sameWorkArgs.length ? { label: `${sameWorkLabel} (the cloud's comparison)`, runs: d.sameWork } : null, m.timeBin);

  if (d.cleanPages.length && (d.clean.baseline.length || d.clean.embedded.length || d.clean.system.length)) {
    const c = summarise(d.clean, d.cleanPages.length);
    L.push(`### The same on the ${d.cleanPages.length} pages at the generator's noise or less (not a target)`, '');
    L.push(
      `Pages ${d.cleanPages.join(', ')}: noise ×0.7–1 and full contrast, the easier half of the book. The baseline is sensitive to hard pages (see Per page): tesseract can spend a minute or more on a variant where the plain Sauvola turned the paper's noise into ink, and the plain mean confidence can then choose a wrong variant. On the easier pages alone: embedded ×${f2(c.b / c.e)}, system ×${f2(c.b / c.s)} the baseline's pages/min; CER ${pct(c.eCer)} and ${pct(c.sCer)} against ${pct(c.bCer)}.`,
      '',
    );
    throughputTable(L, d.clean, d.cleanPages.length, J, null, m.timeBin);
  }

  L.push('### Where the time goes', '');
  const b0 = d.main.baseline[0];
  if (b0) {
    const bs = d.main.baseline;
    const allOcr = bs.flatMap((r) => Object.values(r.ocrByK).flat());
    L.push(
      `- baseline: ${b0.ocrs} tesseract runs, median ${f2(median(allOcr))} s, total ${f1(median(bs.map((r) => Object.values(r.ocrByK).flat().reduce((a, x) => a + x, 0))))} s of tesseract wall time, 2 at a time; decoding, binarising and PNG-encoding on the main thread ${f1(median(bs.map((r) => r.prepSeconds)))} s (overlapping the OCR). Per k, median / slowest tesseract run: ${ks
        .map((k) => {
          const xs = bs.flatMap((r) => r.ocrByK[k.toFixed(1)] ?? []);
          return `k ${k}: ${f1(median(xs))} / ${f1(Math.max(...xs))} s`;
        })
        .join('; ')}: a variant where Sauvola turned the paper's noise into ink costs tesseract many times a clean one. ${f1((60 * b0.ocrs) / main.b)} variant-OCRs a minute overall.`,
    );
  }
  const where = (name: string, rs: RescribeRun[]) => {
    if (!rs.length) return;
    const md = (f: (r: RescribeRun) => number) => median(rs.map(f));
    const ocrWall = md((r) => r.atLastOcr - r.atFirstPrep);
    const ocrs = rs[0]!.ocrs;
    L.push(
      `- rescribe ${name}: process start → 'start' log ${f1(md((r) => r.atStart))} s; → first page preprocessed ${f1(md((r) => r.atFirstPrep))} s; → last page OCRed ${f1(md((r) => r.atLastOcr))} s; then analysis, PDFs and output ${f1(md((r) => r.seconds - r.atLastOcr))} s. ${ocrs} OCRs (${f2(ocrs / n)}/page) in ${f1(ocrWall)} s with ${J} workers: ${f2((ocrWall * J) / ocrs)} s of worker time per OCR (preprocessing included); CPU ${f2(md((r) => r.cpuSeconds) / n)} s per page.`,
    );
  };
  where('embedded', d.main.embedded);
  where('--engine system', d.main.system);
  if (d.sameWorkArgs.length) where(`--engine ${m.cloudEngine} ${d.sameWorkArgs.join(' ')}`, d.sameWork);
  L.push('');

  // ── Sauvola
  if (d.sauvola) {
    L.push('## Preprocessing per page (in-process, one thread)', '');
    L.push(
      `The pure functions of preprocess/ on each decoded page (${n} pages × ${m.runs} runs; window width/60 made odd, k ${ks.join(', ')}). Wall time is per page per core (one thread); CPU time includes the process's other threads (GC).`,
      '',
    );
    L.push('| step | wall ms/page median | min | max | CPU ms/page median |', '|---|---|---|---|---|');
    for (const r of d.sauvola) {
      L.push(`| ${r.name} | ${median(r.wall).toFixed(0)} | ${Math.min(...r.wall).toFixed(0)} | ${Math.max(...r.wall).toFixed(0)} | ${median(r.cpu).toFixed(0)} |`);
    }
    L.push('');
  }

  // ── memory
  if (soak) {
    L.push(`## Memory over ${soak.pages} pages`, '');
    L.push(
      `\`rescribe -j ${J}\` (embedded, default \`--recycle-after 40\`) on the ${n}-page book ${soak.pages / n}× over (hard links), ${f1(soak.seconds)} s (${f1((soak.pages * 60) / soak.seconds)} pages/min). Resident set of the process tree (/proc, VmRSS), sampled every second; a window is the time in which 20 more pages were OCRed ('ocred' log events). Peak over the whole run (analysis and PDFs included): ${mb(soak.peakTreeKb)}; largest process (time -v): ${mb(soak.maxRssKb)}.`,
      '',
    );
    const windows = soak.checkpoints.some((c) => c.windowMedianKb !== undefined);
    if (windows) {
      L.push('| pages OCRed | window median | vs first window | window max | at the checkpoint | elapsed s |', '|---|---|---|---|---|---|');
      for (const c of soak.checkpoints) {
        const lv = c.windowMedianKb ?? c.kb;
        L.push(`| ${c.pages} | ${mb(lv)} | ${c.pages === 20 ? '–' : `${lv >= soak.ref ? '+' : ''}${pct(lv / soak.ref - 1, 1)}`} | ${mb(c.windowMaxKb ?? NaN)} | ${mb(c.kb)} | ${f1(c.t)} |`);
      }
    } else {
      L.push('| pages OCRed | RSS | vs page 20 | elapsed s |', '|---|---|---|---|');
      for (const c of soak.checkpoints) L.push(`| ${c.pages} | ${mb(c.kb)} | ${c.pages === 20 ? '–' : `${c.kb >= soak.ref ? '+' : ''}${pct(c.kb / soak.ref - 1, 1)}`} | ${f1(c.t)} |`);
    }
    L.push(
      '',
      `Judged: the highest level after the first 20 pages against the first window's (${pct(soak.growth, 1)}; the first pages fill the OCR workers), so a climb fails it. Also: range of the levels after page 20, ${pct(soak.spread, 1)} of their low point; least-squares trend ${f1(soak.slopeMbPer100)} MB per 100 pages. What moves the resident set: each embedded OCR worker (tesseract.js, WebAssembly) keeps the memory it grew to until it is replaced after \`--recycle-after\` pages, so the level steps down at each replacement and climbs back by about 50 MB over the next 40 pages; one sample at a checkpoint also lands anywhere in an OCR job's own transient allocations (±40 MB), which is why the levels are window medians.`,
      '',
    );
  }

  // ── cloud
  if (d.cloud.length) cloudSection(L, d, cloudTotal, sameWorkSec, sameWorkLabel);

  // ── per page
  const b = d.main.baseline[0];
  const e = d.main.embedded[0];
  const s = d.main.system[0];
  if (b || e || s) {
    L.push('## Per page', '', 'CER of the chosen text (round 1). Baseline: the k chosen and the tesseract seconds of the page\'s 3 variants; rescribe: the variants read (k).', '');
    L.push('| page | made with | baseline CER (k; OCR s) | embedded (read) | system (read) |', '|---|---|---|---|---|');
    const cell = (r: RescribeRun | undefined, base: string) => (r ? `${pct(r.cer.perPage[base] ?? NaN)} (${(r.readsPerPage[base] ?? []).join(', ')})` : '–');
    const bcell = (r: BaselineRun | undefined, base: string) => {
      if (!r) return '–';
      const k = r.chosenK[base];
      return `${pct(r.cer.perPage[base] ?? NaN)} (${Number.isFinite(k) ? `k ${k}` : 'blank'}; ${f1(r.ocrSecondsByPage[base] ?? NaN)} s)`;
    };
    for (const p of d.pages) L.push(`| ${p.base} | ${describeSpec(p)} | ${bcell(b, p.base)} | ${cell(e, p.base)} | ${cell(s, p.base)} |`);
    L.push('');
  }
  return `${L.join('\n')}\n`;
}

function throughputTable(L: string[], r: BookRuns, n: number, J: number, extra: { label: string; runs: RescribeRun[] } | null, timeBin: boolean): void {
  const bSec = median(r.baseline.map((x) => x.seconds));
  const bCpu = median(r.baseline.map((x) => x.cpuSeconds)) / n;
  const runsLoad = (rs: Array<{ seconds: number; load: number }>) => rs.map((x) => `${x.seconds.toFixed(1)} (${x.load.toFixed(1)})`).join(' / ');
  L.push(
    '| | wall s (median) | runs: s (load) | book pages/min | × baseline | CPU s/page | × baseline by CPU | OCRs/page | mean CER | worst page | peak RSS, process tree | peak RSS, largest process |',
  );
  L.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  if (r.baseline.length) {
    const b = r.baseline[0]!;
    L.push(
      `| baseline: native tesseract on every variant, ${2} processes | ${f1(bSec)} | ${runsLoad(r.baseline)} | ${f1((n * 60) / bSec)} | 1.00 | ${f2(bCpu)} | 1.00 | ${f2(b.ocrs / n)} | ${pct(median(r.baseline.map((x) => x.cer.mean)))} | ${pct(b.cer.worst)} | ${mb(median(r.baseline.map((x) => x.peakTesseractKb)))} (tesseract processes only) | – |`,
    );
  }
  const rows: Array<[string, RescribeRun[]]> = [
    [`rescribe -j ${J} (embedded engine, the default)`, r.embedded],
    [`rescribe -j ${J} --engine system`, r.system],
  ];
  if (extra) rows.push([extra.label, extra.runs]);
  for (const [name, rs] of rows) {
    if (!rs.length) continue;
    const sec = median(rs.map((x) => x.seconds));
    const cpu = median(rs.map((x) => x.cpuSeconds)) / n;
    L.push(
      `| ${name} | ${f1(sec)} | ${runsLoad(rs)} | ${f1((n * 60) / sec)} | ${f2(bSec / sec)} | ${f2(cpu)} | ${f2(bCpu / cpu)} | ${f2(rs[0]!.ocrs / n)} | ${pct(median(rs.map((x) => x.cer.mean)))} | ${pct(rs[0]!.cer.worst)} | ${mb(median(rs.map((x) => x.peakTreeKb)))} | ${mb(median(rs.map((x) => x.maxRssKb)))} |`,
    );
  }
  L.push('');
  if (!timeBin) L.push('(/usr/bin/time is missing: no CPU time or largest-process column.)', '');
}

function cloudSection(L: string[], d: BenchData, cloudTotal: number, sameWorkSec: number, sameWorkLabel: string): void {
  const m = d.meta;
  const n = d.pages.length;
  const J = m.jobs;
  const md = (f: (r: CloudRun) => number) => median(d.cloud.map(f));
  const c0 = d.cloud[0]!;
  const runsOf = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' / ');
  L.push('## Cloud worker on fauxqs against rescribe', '');
  L.push(
    `fauxqs as a process on this machine (SQS and S3 in memory, every request logged). \`mkpipeline\`, then timed: \`booktopipeline --nowipe\` (no wipe, as rescribe's default), then one \`bookpipeline --exit-on-complete -j ${J} --engine ${m.cloudEngine} --thresholds ${m.ks.join(',')}\` — one worker process with ${J} jobs in flight, the same shape as \`rescribe -j ${J}\` (one process, ${J} OCR workers), so that the ratio is the pipeline's own cost rather than a different use of the cores${m.cloudEngine === 'system' ? "; the system engine because the original's cloud workers ran native tesseract, and with the faster engine the pipeline's own costs are the larger share (the stricter test)" : ''}. Done is the worker's 'book analysed' log line (the results are in the store; \`getpipelinebook\` would succeed); the worker then exits after two empty-queue checks, which persistent workers never make. The thresholds are rescribe's (the worker's default is the original cloud's 0.1,0.2,0.4,0.5). The cloud ${c0.allRead ? 'OCRed every variant' : 'read variants adaptively'} (${c0.variantsRead} of ${n * m.ks.length}), so the comparison is \`${sameWorkLabel}\` in the same round.`,
    '',
  );
  L.push('| | wall s (median) | runs |', '|---|---|---|');
  L.push(`| upload (booktopipeline) | ${f1(md((r) => r.upload))} | ${runsOf(d.cloud.map((r) => r.upload))} |`);
  L.push(`| worker: spawn to 'book analysed' | ${f1(md((r) => r.timeline.analysed))} | ${runsOf(d.cloud.map((r) => r.timeline.analysed))} |`);
  L.push(`| **upload → book done** | **${f1(cloudTotal)}** | ${d.cloud.map((r) => `${r.total.toFixed(1)} (load ${r.load.toFixed(1)})`).join(' / ')} |`);
  L.push(`| upload → worker exit (with its exit-on-complete checks) | ${f1(md((r) => r.totalExit))} | ${runsOf(d.cloud.map((r) => r.totalExit))} |`);
  L.push(`| download (getpipelinebook; not in the ratio) | ${f1(md((r) => r.download))} | ${runsOf(d.cloud.map((r) => r.download))} |`);
  L.push(`| ${sameWorkLabel} (same work) | ${f1(sameWorkSec)} | ${d.sameWork.map((r) => `${r.seconds.toFixed(1)} (load ${r.load.toFixed(1)})`).join(' / ')} |`);
  L.push(`| CPU s: worker / rescribe | ${f1(md((r) => r.workerCpuSeconds))} / ${f1(median(d.sameWork.map((r) => r.cpuSeconds)))} | |`);
  L.push(`| **overhead ratio** (book done / rescribe) | **×${f2(cloudTotal / sameWorkSec)}** | |`);
  L.push(`| overhead ratio to the worker's exit | ×${f2(md((r) => r.totalExit) / sameWorkSec)} | |`);
  L.push('');
  const tl = (f: (t: CloudTimeline) => number) => f1(md((r) => f(r.timeline)));
  L.push(
    `Where the worker's time goes (seconds from its spawn, medians): 'worker started' ${tl((t) => t.started)}; first OCR job started ${tl((t) => t.firstOcrStart)}; the book's preprocess job (every page in one job) done ${tl((t) => t.preprocessed)}; last OCR job done ${tl((t) => t.lastOcrDone)}; the analyse job that finished the book started ${tl((t) => t.analyseStart)} (after ${tl((t) => t.deferrals)} deferrals) and was done ${tl((t) => t.analysed)}; process exit ${tl((t) => t.exited)}. So: waiting for the analyse message after the last OCR ${tl((t) => t.analyseStart - t.lastOcrDone)} s, analysis ${tl((t) => t.analysed - t.analyseStart)} s. rescribe: last page OCRed at ${f1(median(d.sameWork.map((r) => r.atLastOcr)))} s, then analysis and output ${f1(median(d.sameWork.map((r) => r.seconds - r.atLastOcr)))} s.`,
    '',
  );
  L.push(`Cloud CER ${pct(md((r) => r.cer.mean))} (rescribe, same work, ${pct(median(d.sameWork.map((r) => r.cer.mean)))}); peak RSS of the worker ${mb(md((r) => r.peakWorkerKb))}.`, '');
  L.push('### AWS requests per page', '', "From fauxqs's request log (SQS: `POST /`; everything else S3), by phase; medians of the runs.", '');
  L.push('| phase | S3 | SQS | S3/page | SQS/page |', '|---|---|---|---|---|');
  let ts3 = 0;
  let tsqs = 0;
  for (const ph of ['upload', 'process', 'download'] as const) {
    const s3 = md((r) => r.requests[ph].s3);
    const sqs = md((r) => r.requests[ph].sqs);
    ts3 += s3;
    tsqs += sqs;
    L.push(`| ${ph} | ${s3} | ${sqs} | ${f1(s3 / n)} | ${f1(sqs / n)} |`);
  }
  L.push(`| **all** | ${ts3} | ${tsqs} | **${f1(ts3 / n)}** | **${f1(tsqs / n)}** |`, '');
  if (c0.workerCounts) {
    const fmt = (o: Record<string, number>) =>
      Object.entries(o)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
    L.push(`The worker's own count (round 1): SQS ${fmt(c0.workerCounts.sqs)}; S3 ${fmt(c0.workerCounts.s3)}.`, '');
  }
}
