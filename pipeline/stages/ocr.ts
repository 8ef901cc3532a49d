import type { OcrEngine } from '../../ocr/engine.js';
import { ADAPTIVE_DEFAULTS, nextVariant, type Reading } from '../../analyse/adaptive.js';
import { variantStats } from '../../analyse/score.js';
import { parseHocr } from '../../ocr/hocr.js';
import { keys, parseVariantName } from '../book.js';
import type { PageMeta } from './preprocess.js';
import type { StageStore } from './store.js';

/** OCR of one variant image: `<variant>.png` in, `<variant>.hocr` out. */
export async function ocrVariant(
  store: StageStore,
  engine: OcrEngine,
  variantKey: string,
  opts: { dpi?: number; signal?: AbortSignal } = {},
): Promise<string> {
  const image = await store.get(variantKey);
  const name = variantKey.slice(variantKey.lastIndexOf('/') + 1);
  const { hocr } = await engine.recognize({ image, name, dpi: opts.dpi }, opts.signal);
  const hocrKey = keys.hocrOf(variantKey);
  await store.put(hocrKey, hocr);
  return hocrKey;
}

/** Where a page's adaptive search stands, given what is stored: the next variant to read, or stop. */
export type PageStep = { next: string } | { stop: string };

/**
 * Replays the adaptive search of a page (the decisions of analyse/adaptive.ts, in order) over
 * the readings already stored, so a worker that holds only some of them knows what comes next. `status` says whether a variant (its key) is read, failed, or not yet read; `stats`
 * reads a stored variant's hOCR. A failed variant ends the search (the page is settled with what
 * was read).
 */
export async function replayPage(
  meta: Pick<PageMeta, 'variants' | 'differences'>,
  status: (variantKey: string) => 'read' | 'failed' | 'missing',
  stats: (variantKey: string) => Promise<Omit<Reading, 'k'>>,
): Promise<PageStep> {
  const byK = new Map<number, string>();
  for (const v of meta.variants) {
    const parsed = parseVariantName(v.slice(v.lastIndexOf('/') + 1));
    if (parsed) byK.set(parsed.k, v);
  }
  const ks = [...byK.keys()].sort((a, b) => a - b);
  const diffs = new Map((meta.differences ?? []).flatMap(([a, b, d]) => [[`${a}|${b}`, d] as const, [`${b}|${a}`, d] as const]));
  const diff = (a: number, b: number) => diffs.get(`${a}|${b}`);
  const readings: Reading[] = [];
  const skipped = new Map<number, string>();
  for (;;) {
    const d = nextVariant(ks, readings, diff, ADAPTIVE_DEFAULTS, skipped);
    if ('stop' in d) return { stop: d.stop };
    const key = byK.get(d.read)!;
    const s = status(key);
    if (s === 'missing') return { next: key };
    if (s === 'failed') return { stop: `k=${d.read} failed` };
    readings.push({ k: d.read, ...(await stats(key)) });
  }
}

/** The stats of a stored hOCR, for {@link replayPage}. */
export async function storedStats(store: Pick<StageStore, 'get'>, variantKey: string): Promise<Omit<Reading, 'k'>> {
  return variantStats(parseHocr((await store.get(keys.hocrOf(variantKey))).toString('utf8')));
}
