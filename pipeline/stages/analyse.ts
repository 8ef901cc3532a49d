import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { chooseBest, type VariantScore } from '../../analyse/best.js';
import { meanWordConf } from '../../analyse/confidence.js';
import { formatBest, formatConf } from '../../analyse/files.js';
import { renderConfidenceGraph } from '../../analyse/graph.js';
import { SearchablePdfWriter } from '../../analyse/pdf.js';
import { scoreVariants, variantStats, type VariantStats } from '../../analyse/score.js';
import { bookText, hocrToText } from '../../analyse/text.js';
import { parseHocr, type HocrPage } from '../../ocr/hocr.js';
import { keys, naturalCompare, parseVariantName } from '../book.js';
import type { PageMeta } from './preprocess.js';
import type { StageStore } from './store.js';

export interface PageResult {
  page: string;
  best: string;
  conf: number | null;
  blank: boolean;
  angle: number;
}

export interface AnalyseResult {
  pages: PageResult[];
  meanConf: number | null;
  outputs: string[];
}

const basename = (key: string) => key.slice(key.lastIndexOf('/') + 1);

/** Page number for the graph: the 4 digits the renamer appended, else the page's place. */
function pageLabel(page: string, index: number): string {
  const m = /_(\d{4})$/.exec(page);
  return m ? String(Number(m[1])) : String(index + 1);
}

async function straightenedOriginal(bytes: Buffer, meta: PageMeta): Promise<{ image: Buffer; width: number; height: number }> {
  const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  const isPng = bytes[0] === 0x89 && bytes[1] === 0x50;
  if (meta.angle === 0 && (isJpeg || isPng)) return { image: bytes, width: meta.width, height: meta.height };
  let img = sharp(bytes, { limitInputPixels: false }).rotate(); // honour EXIF orientation
  if (meta.angle !== 0) {
    const stats = await sharp(bytes, { limitInputPixels: false }).greyscale().stats();
    const paper = Math.round(stats.channels[0]!.mean * 1.1 > 255 ? 255 : stats.channels[0]!.mean * 1.1);
    const rotated = await img
      .rotate(-meta.angle, { background: { r: paper, g: paper, b: paper } })
      .toBuffer({ resolveWithObject: true });
    const left = Math.max(0, Math.floor((rotated.info.width - meta.width) / 2));
    const top = Math.max(0, Math.floor((rotated.info.height - meta.height) / 2));
    img = sharp(rotated.data).extract({ left, top, width: meta.width, height: meta.height });
  }
  const image = isPng ? await img.png().toBuffer() : await img.jpeg({ quality: 85 }).toBuffer();
  return { image, width: meta.width, height: meta.height };
}

/**
 * Analyses a whole book from its stored hOCR: confidence per variant, the best variant per page,
 * `conf`, `best`, text, the searchable and binarised PDFs and the graph. Deterministic: running it
 * twice writes the same objects.
 */
export async function analyseBook(store: StageStore, book: string, opts: { title?: string } = {}): Promise<AnalyseResult> {
  const prefix = keys.prefix(book);
  const metas = new Map<string, PageMeta>();
  const hocrKeys: string[] = [];
  for await (const o of store.list(prefix)) {
    const rest = o.key.slice(prefix.length);
    if (rest.includes('/')) continue;
    if (rest.endsWith('.meta.json')) {
      const meta = JSON.parse((await store.get(o.key)).toString('utf8')) as PageMeta;
      metas.set(meta.page, meta);
    } else if (rest.endsWith('.hocr') && parseVariantName(rest)) {
      hocrKeys.push(o.key);
    }
  }
  hocrKeys.sort(naturalCompare);

  const parsed = new Map<string, HocrPage>();
  const byPage = new Map<string, Array<{ name: string; k: number; stats: VariantStats }>>();
  for (const key of hocrKeys) {
    const name = basename(key);
    const v = parseVariantName(name)!;
    const page = parseHocr((await store.get(key)).toString('utf8'));
    parsed.set(name, page);
    const group = byPage.get(v.page) ?? [];
    group.push({ name, k: v.k, stats: variantStats(page) });
    byPage.set(v.page, group);
  }
  const scores: VariantScore[] = [];
  const confs: { name: string; conf: number | null; extra?: string }[] = [];
  for (const [page, group] of byPage) {
    const s = scoreVariants(group.map((g) => g.stats));
    const meta = metas.get(page);
    group.forEach((g, i) => {
      scores.push({ page, variant: g.name, k: g.k, score: s[i] ?? null });
      const extra = ['read', `score=${s[i] == null ? '-' : s[i]!.toFixed(1)}`, `chars=${g.stats.chars}`];
      if (meta) extra.push(`angle=${meta.angle.toFixed(2)}`);
      confs.push({ name: g.name, conf: g.stats.meanConf, extra: extra.join(' ') });
    });
  }
  // Variants the adaptive search did not need to read are listed too, so conf says what was read.
  const readNames = new Set(confs.map((c) => c.name));
  for (const meta of metas.values()) {
    for (const v of meta.variants) {
      const name = basename(keys.hocrOf(v));
      if (!readNames.has(name)) confs.push({ name, conf: null, extra: `not-read angle=${meta.angle.toFixed(2)}` });
    }
  }
  const choices = chooseBest(scores);
  const outputs: string[] = [];
  const put = async (key: string, body: Buffer | string) => {
    await store.put(key, body);
    outputs.push(key);
  };
  await put(keys.conf(book), formatConf(confs));
  await put(keys.best(book), formatBest(choices.map((c) => c.variant)));

  const results: PageResult[] = [];
  const texts: string[] = [];
  for (const c of choices) {
    const hocr = parsed.get(c.variant)!;
    const text = c.blank ? '' : hocrToText(hocr);
    texts.push(text);
    await put(keys.pageText(book, c.page), text);
    results.push({ page: c.page, best: c.variant, conf: c.blank ? null : meanWordConf(hocr), blank: c.blank, angle: metas.get(c.page)?.angle ?? 0 });
  }
  await put(keys.text(book), bookText(texts));

  const work = await mkdtemp(join(tmpdir(), 'bookpipeline-analyse-'));
  try {
    const binPath = join(work, 'binarised.pdf');
    const colPath = join(work, 'colour.pdf');
    const binPdf = await SearchablePdfWriter.open(binPath, { title: opts.title ?? book });
    const colPdf = await SearchablePdfWriter.open(colPath, { title: opts.title ?? book });
    for (const r of results) {
      const hocr = r.blank ? null : parsed.get(r.best)!;
      const meta = metas.get(r.page);
      const png = await store.get(`${prefix}${r.best.replace(/\.hocr$/, '.png')}`);
      const pngMeta = await sharp(png).metadata();
      const dpi = meta?.dpi ?? pngMeta.density ?? undefined;
      await binPdf.addPage({ image: png, imageWidth: pngMeta.width!, imageHeight: pngMeta.height!, dpi, hocr });
      if (meta) {
        const orig = await straightenedOriginal(await store.get(meta.original), meta);
        await colPdf.addPage({ image: orig.image, imageWidth: orig.width, imageHeight: orig.height, dpi, hocr, hocrWidth: pngMeta.width!, hocrHeight: pngMeta.height! });
      }
    }
    await binPdf.close();
    await colPdf.close();
    await store.putFile(keys.binarisedPdf(book), binPath);
    outputs.push(keys.binarisedPdf(book));
    await store.putFile(keys.colourPdf(book), colPath);
    outputs.push(keys.colourPdf(book));
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  const points = results.map((r, i) => ({ label: pageLabel(r.page, i), conf: r.conf ?? 0 }));
  if (points.length) await put(keys.graph(book), await renderConfidenceGraph(points, opts.title ?? book));

  const withConf = results.filter((r) => r.conf !== null);
  const meanConf = withConf.length ? withConf.reduce((a, r) => a + r.conf!, 0) / withConf.length : null;
  return { pages: results, meanConf, outputs };
}

