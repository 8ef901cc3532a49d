// What a benchmark run measured: kept as bench/work/results.json, so that bench/results.md can be
// written again from it (`npm run bench -- --report-only`). Plain JSON: numbers that could not be
// measured are NaN in memory and null in the file (read back as NaN).

import type { PageSpec } from './book.js';

export interface CerScore {
  /** Mean over the pages of each page's character error rate (0..1+). */
  mean: number;
  worst: number;
  perPage: Record<string, number>;
}

export interface BaselineRun {
  seconds: number;
  /** CPU seconds of the bench process and its tesseract processes. */
  cpuSeconds: number;
  /** 1-minute load average when the measurement started. */
  load: number;
  cer: CerScore;
  /** k of the variant chosen per page; NaN when no variant read anything. */
  chosenK: Record<string, number>;
  ocrs: number;
  /** Wall seconds of each tesseract run, by k ("0.1"). */
  ocrByK: Record<string, number[]>;
  /** Wall seconds of tesseract on each page, its variants summed. */
  ocrSecondsByPage: Record<string, number>;
  /** Main-thread seconds spent decoding, binarising and encoding. */
  prepSeconds: number;
  /** Peak resident set of the tesseract processes together (kB). */
  peakTesseractKb: number;
}

export interface RescribeRun {
  seconds: number;
  /** User + system CPU seconds of the process tree (time -v); NaN without /usr/bin/time. */
  cpuSeconds: number;
  load: number;
  cer: CerScore;
  peakTreeKb: number;
  maxRssKb: number;
  ocrs: number;
  /** Variants OCRed (their k) per page, from `conf`. */
  readsPerPage: Record<string, number[]>;
  /** Seconds from the spawn: the 'start' log line, the first page preprocessed, the last page OCRed. */
  atStart: number;
  atFirstPrep: number;
  atLastOcr: number;
}

export interface SauvolaRow {
  name: string;
  /** ms per page, every page × run */
  wall: number[];
  cpu: number[];
}

export interface SoakResult {
  pages: number;
  seconds: number;
  /**
   * At every 20th page OCRed: the resident set at that moment (`kb`), and the median and highest of
   * the once-a-second samples since the previous checkpoint (the window of those 20 pages).
   */
  checkpoints: Array<{ pages: number; kb: number; t: number; windowMedianKb?: number; windowMaxKb?: number }>;
  peakTreeKb: number;
  maxRssKb: number;
}

export interface CloudTimeline {
  started: number;
  preprocessed: number;
  firstOcrStart: number;
  lastOcrDone: number;
  analyseStart: number;
  analysed: number;
  exited: number;
  deferrals: number;
}

export interface Requests {
  s3: number;
  sqs: number;
}

export interface CloudRun {
  upload: number;
  /** Worker spawn to its exit. */
  process: number;
  download: number;
  /** Upload start to the book analysed (its results in the store), from the worker's log. */
  total: number;
  /** Upload start to the worker's exit (after its exit-on-complete checks). */
  totalExit: number;
  load: number;
  workerCpuSeconds: number;
  requests: { upload: Requests; process: Requests; download: Requests };
  workerCounts: { sqs: Record<string, number>; s3: Record<string, number> } | null;
  cer: CerScore;
  /** Every variant of every page was OCRed. */
  allRead: boolean;
  variantsRead: number;
  peakWorkerKb: number;
  /** Seconds from the worker's spawn, from its log lines. */
  timeline: CloudTimeline;
}

export interface BookRuns {
  baseline: BaselineRun[];
  embedded: RescribeRun[];
  system: RescribeRun[];
}

export interface BenchData {
  meta: {
    started: string;
    minutes: number;
    loadStart: string;
    loadEnd: string;
    cpuModel: string;
    cores: number;
    cpus: number;
    memGiB: number;
    versions: string;
    commit: string;
    args: string[];
    runs: number;
    jobs: number;
    cloudEngine: string;
    ks: number[];
    timeBin: boolean;
    note?: string;
  };
  /** The book measured. */
  pages: PageSpec[];
  /** The pages of the book at the generator's noise or less and full contrast, measured again alone. */
  cleanPages: string[];
  main: BookRuns;
  clean: BookRuns;
  cloud: CloudRun[];
  /** rescribe doing the cloud's work, per round. */
  sameWork: RescribeRun[];
  sameWorkArgs: string[];
  sauvola: SauvolaRow[] | null;
  soak: SoakResult | null;
  failures: Array<{ what: string; why: string }>;
}
