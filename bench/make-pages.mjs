// Makes book pages with ground truth from bench/texts with the sample generator (gen-pages.mjs),
// with parameters varied on purpose.
// Usage: node bench/make-pages.mjs OUTDIR [--pages page2,page4] [--quality 70] [--noise 1.0]
//        [--skew DEG] [--contrast 1.0] [--seed N] [--format jpg|png] [--prefix NAME]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PAGES, makePage } from './gen-pages.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    pages: { type: 'string' },
    quality: { type: 'string', default: '80' },
    noise: { type: 'string', default: '1' },
    skew: { type: 'string' },
    contrast: { type: 'string', default: '1' },
    seed: { type: 'string' },
    format: { type: 'string', default: 'jpg' },
    prefix: { type: 'string', default: '' },
  },
});
const out = positionals[0];
if (!out) {
  console.error('usage: node bench/make-pages.mjs OUTDIR [options]');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const wanted = values.pages ? values.pages.split(',') : PAGES.map((p) => p.id);
for (const id of wanted) {
  const base = PAGES.find((p) => p.id === id);
  if (!base) throw new Error(`unknown page ${id}`);
  const c = Number(values.contrast);
  const mid = (base.bg + base.ink) / 2;
  const p = {
    ...base,
    noise: base.noise * Number(values.noise),
    skew: values.skew !== undefined ? Number(values.skew) : base.skew,
    ink: Math.round(mid + (base.ink - mid) * c),
    bg: Math.round(mid + (base.bg - mid) * c),
    seed: values.seed !== undefined ? base.seed * 1000 + Number(values.seed) : base.seed,
  };
  const text = readFileSync(join(here, 'texts', `${id}.txt`), 'utf8').trim();
  const s = await makePage(p, text);
  const name = `${values.prefix}${id}`;
  if (values.format === 'png') await s.png({ compressionLevel: 9 }).toFile(join(out, `${name}.png`));
  else await s.jpeg({ quality: Number(values.quality) }).toFile(join(out, `${name}.jpg`));
  writeFileSync(join(out, `${name}.gt.txt`), `${text}\n`);
}
