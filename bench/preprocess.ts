/**
 * Times each preprocessing step on a real-size page (2480×3508 at 300 dpi).
 *   npx tsx bench/preprocess.ts [page.jpg] [runs]
 * Prints, per step, the median wall time of `runs` (default 5) and the median CPU time of the
 * process (user + system, all threads) over the same runs: on a shared machine the wall time swings
 * with the load, the CPU time much less. The load average is printed before and after.
 *
 * The last three lines are the per-page numbers of issue 6: Sauvola at the 3 k, then with the wipe
 * (the target: ≤ 0.5 s per page per core), then with the 3×3 median before it.
 */
import { loadavg } from 'node:os';
import { decodeGrey, encodeGreyPng, encodePgm, encodePng1 } from '../preprocess/codec.js';
import { estimateSkew, rotateGrey } from '../preprocess/deskew.js';
import { binariseVariants } from '../preprocess/index.js';
import { computeIntegrals } from '../preprocess/integral.js';
import { median3 } from '../preprocess/median.js';
import { sauvola, sauvolaMulti, sauvolaVariants, sauvolaWindow } from '../preprocess/sauvola.js';
import { wipeBinarised } from '../preprocess/wipe.js';

const file = process.argv[2] ?? '/work/shared/samples/book/page1.jpg';
const runs = Number(process.argv[3] ?? 5);
const KS = [0.1, 0.2, 0.3];

const results: [string, number][] = [];

async function time<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  const ms: number[] = [];
  const cpu: number[] = [];
  let out: T | undefined;
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    out = await fn();
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  ms.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const median = ms[ms.length >> 1] ?? NaN;
  const cpuMedian = cpu[cpu.length >> 1] ?? NaN;
  results.push([name, median]);
  console.log(
    `${name.padEnd(36)} wall ${median.toFixed(1).padStart(7)} ms (min ${(ms[0] ?? NaN).toFixed(1).padStart(6)})   cpu ${cpuMedian.toFixed(1).padStart(7)} ms`,
  );
  return out as T;
}

const { img, dpi } = await time('decode (jpeg → grey)', () => decodeGrey(file, { maxPixels: 100_000_000 }));
console.log(`page ${img.width}x${img.height}, ${dpi ?? '?'} dpi, window ${sauvolaWindow(img.width)}, ${runs} runs`);
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`load average ${load()}\n`);
// calibration: one plain pass over the pixels, to compare machines (and a loaded machine with itself)
await time('calibration: sum of all pixels', () => {
  let s = 0;
  const d = img.data;
  for (let i = 0; i < d.length; i++) s += d[i];
  return s;
});
const ints = await time('integrals (sum + squares)', () => computeIntegrals(img));
const win = sauvolaWindow(img.width);
for (const k of KS) await time(`sauvola k=${k}`, () => sauvola(img, ints, k, win));
await time(`sauvolaMulti ×${KS.length} (integrals)`, () => sauvolaMulti(img, ints, KS, win));
const bins = await time(`sauvolaVariants ×${KS.length} (streaming)`, () => sauvolaVariants(img, KS, win));
const bin = bins[1] ?? bins[0];
if (bin === undefined) throw new Error('no variant');
await time('wipe (k=0.2 thresholds)', () => wipeBinarised(bin, 0.004, 0.004));
await time('median3', () => median3(img));
const angle = await time('estimateSkew', () => estimateSkew(img));
console.log(`  skew found: ${angle}°`);
await time('rotateGrey', () => rotateGrey(img, -angle, 255));
await time('encodePng1', () => encodePng1(bin, dpi));
await time('encodePgm', () => encodePgm(img));
await time('encodeGreyPng (sharp)', () => encodeGreyPng(img, dpi));
console.log('');
await time(`Sauvola ×${KS.length}`, () => binariseVariants(img, KS, { wipe: false, denoise: false }));
await time(`Sauvola ×${KS.length} + wipe`, () => binariseVariants(img, KS, { wipe: true, denoise: false }));
await time(`median + Sauvola ×${KS.length} + wipe`, () => binariseVariants(img, KS, { wipe: true, denoise: true }));
console.log(`load average ${load()}`);
console.log(`\n1-bit PNG size: ${(encodePng1(bin, dpi).length / 1024).toFixed(0)} KiB`);
