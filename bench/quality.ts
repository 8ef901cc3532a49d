// Character error rate of every page of a folder (ground truth in `<page>.gt.txt` beside each
// image, or in a --gt folder as `<page>.txt`): the raw page, every binarised variant, and the
// variant our analysis chose. Usage: npx tsx bench/quality.ts DIR [--gt DIR] [--engine system]
//   [--thresholds 0.1,0.2,0.3] [--nodeskew] [--denoise auto|on|off] [--all]
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { hocrToText } from '../analyse/text.js';
import { keys, listBookImages } from '../pipeline/book.js';
import { DEFAULT_LOCAL_THRESHOLDS, parseThresholds } from '../pipeline/config.js';
import { DirStore } from '../pipeline/local/store.js';
import { makeEngine } from '../pipeline/rescribe.js';
import { analyseBook } from '../pipeline/stages/analyse.js';
import { ocrVariant } from '../pipeline/stages/ocr.js';
import { effectiveDpi, preprocessPage } from '../pipeline/stages/preprocess.js';
import { parseHocr } from '../ocr/hocr.js';
import { ADAPTIVE_DEFAULTS, nextVariant, type Reading } from '../analyse/adaptive.js';
import { scoreVariants, variantStats } from '../analyse/score.js';
import { DEFAULT_SYSTEM_TESSDATA } from '../ocr/training.js';
import { cer } from '../test/support/cer.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    gt: { type: 'string' },
    engine: { type: 'string', default: 'embedded' },
    thresholds: { type: 'string', default: DEFAULT_LOCAL_THRESHOLDS.join(',') },
    nodeskew: { type: 'boolean', default: false },
    denoise: { type: 'string', default: 'auto' },
    raw: { type: 'boolean', default: true },
  },
});
const dir = positionals[0]!;
const engineName = values.engine === 'system' ? 'system' : 'embedded';
const engine = await makeEngine({ engine: engineName, training: 'eng', systemTessdata: DEFAULT_SYSTEM_TESSDATA, concurrency: 2, recycleAfter: 40, tesscmd: 'tesseract' });
const work = await mkdtemp(join(tmpdir(), 'quality-'));
const store = new DirStore(work);
const book = 'q';
const listing = await listBookImages(dir);
const ks = parseThresholds(values.thresholds!);
const truth = (file: string) => {
  const base = basename(file, extname(file));
  const p = values.gt ? join(values.gt, `${base}.txt`) : join(dir, `${base}.gt.txt`);
  return existsSync(p) ? readFileSync(p, 'utf8') : null;
};
const rows: string[] = [];
await Promise.all(
  listing.pages.map(async (p) => {
    const gt = truth(p.file);
    const ok = keys.original(book, p.name, p.ext);
    await store.putFile(ok, p.path);
    const meta = await preprocessPage(store, book, p.name, ok, { ks, wipe: false, deskew: !values.nodeskew, denoise: values.denoise as 'auto', maxPixels: 2e8 });
    const dpi = effectiveDpi(meta.width, meta.height, meta.dpi);
    await Promise.all(meta.variants.map((v) => ocrVariant(store, engine, v, { dpi })));
    let raw = NaN;
    if (values.raw && gt) {
      const { hocr } = await engine.recognize({ image: readFileSync(p.path), name: p.file });
      raw = cer(hocrToText(parseHocr(hocr)), gt);
    }
    const hocrs = await Promise.all(meta.variants.map(async (v) => parseHocr((await store.get(keys.hocrOf(v))).toString())));
    const per = hocrs.map((h) => (gt ? cer(hocrToText(h), gt) : NaN));
    // The adaptive search, replayed on these readings (OCR of a variant gives the same hOCR).
    const all: Reading[] = hocrs.map((h, i) => ({ k: ks[i]!, ...variantStats(h) }));
    const diffs = new Map((meta.differences ?? []).flatMap(([a, b, d]) => [[`${a}|${b}`, d] as const, [`${b}|${a}`, d] as const]));
    const readings: Reading[] = [];
    for (;;) {
      const d = nextVariant(ks, readings, (a, b) => diffs.get(`${a}|${b}`), ADAPTIVE_DEFAULTS);
      if ('stop' in d) break;
      readings.push(all.find((r) => r.k === d.read)!);
    }
    const sc = scoreVariants(readings);
    let bi = 0;
    sc.forEach((x, i) => { if ((x ?? -1) > (sc[bi] ?? -1)) bi = i; });
    const adaptiveK = readings[bi]!.k;
    rows.push(JSON.stringify({ file: p.file, page: p.name, angle: meta.angle, denoised: meta.denoised, raw, per, adaptiveK, reads: readings.length }));
  }),
);
const result = await analyseBook(store, book);
if (process.env.SHOWCONF) console.log((await store.get(keys.conf(book))).toString());
await engine.close();
const fmt = (x: number) => (Number.isNaN(x) ? '  n/a' : `${(x * 100).toFixed(2).padStart(6)}%`);
console.log(`| page | angle | raw | ${ks.map((k) => `k=${k}`).join(' | ')} | chosen | CER chosen | best single | chosen−best | adaptive: reads, k, CER |`);
console.log(`|---|---|---|${ks.map(() => '---').join('|')}|---|---|---|---|---|`);
let worst = 0;
let worstAdaptive = 0;
let reads = 0;
let sumAll = 0;
let sumAdaptive = 0;
for (const line of rows.map((r) => JSON.parse(r) as { file: string; page: string; angle: number; raw: number; per: number[]; adaptiveK: number; reads: number }).sort((a, b) => a.page.localeCompare(b.page))) {
  const chosen = result.pages.find((x) => x.page === line.page)!;
  const idx = ks.findIndex((k) => chosen.best.endsWith(`_bin${k.toFixed(1)}.hocr`));
  const c = line.per[idx] ?? NaN;
  const best = Math.min(...line.per);
  worst = Math.max(worst, c);
  const ca = line.per[ks.indexOf(line.adaptiveK)]!;
  worstAdaptive = Math.max(worstAdaptive, ca);
  reads += line.reads;
  sumAll += c;
  sumAdaptive += ca;
  console.log(`| ${line.file} | ${line.angle} | ${fmt(line.raw)} | ${line.per.map(fmt).join(' | ')} | k=${ks[idx]} | ${fmt(c)} | ${fmt(best)} | ${((c - best) * 100).toFixed(2)} | ${line.reads}, k=${line.adaptiveK}, ${fmt(ca)} |`);
}
const n = rows.length;
console.log(`every variant: worst chosen CER ${(worst * 100).toFixed(2)}%, mean ${((sumAll / n) * 100).toFixed(2)}%, ${n * ks.length} OCRs`);
console.log(`adaptive:      worst chosen CER ${(worstAdaptive * 100).toFixed(2)}%, mean ${((sumAdaptive / n) * 100).toFixed(2)}%, ${reads} OCRs (${(reads / n).toFixed(2)} a page)`);
if (process.env.KEEP) console.log("work kept in", work); else await rm(work, { recursive: true, force: true });
