import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  confidenceGraphSvg,
  confToY,
  GRAPH_HEIGHT,
  GRAPH_WIDTH,
  percentileLines,
  plotArea,
  renderConfidenceGraph,
  tickIndices,
  type ConfPoint,
} from '../../analyse/graph.js';

async function pixels(png: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(3);
  return { data, width: info.width, height: info.height };
}

/** Pixels in a rectangle that are not (near) white. */
function inkCount(img: { data: Buffer; width: number }, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = Math.round(y0); y < Math.round(y1); y++) {
    for (let x = Math.round(x0); x < Math.round(x1); x++) {
      const p = (y * img.width + x) * 3;
      if (img.data[p]! < 200 || img.data[p + 1]! < 200 || img.data[p + 2]! < 200) n++;
    }
  }
  return n;
}

/** Longest run of red pixels (the 60 line is #d62728) in row y. */
function redRun(img: { data: Buffer; width: number }, y: number): number {
  let best = 0;
  let run = 0;
  for (let x = 0; x < img.width; x++) {
    const p = (y * img.width + x) * 3;
    const red = img.data[p]! > 170 && img.data[p + 1]! < 110 && img.data[p + 2]! < 110;
    run = red ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

const book = (n: number): ConfPoint[] =>
  Array.from({ length: n }, (_, i) => ({ label: String(i + 1), conf: 75 + ((i * 37) % 20) - (i === 5 ? 40 : 0) }));

describe('renderConfidenceGraph', () => {
  it('renders a 3840×2160 PNG by default, with the reference line at 60 in red', async () => {
    const png = await renderConfidenceGraph(book(120), 'A book');
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', GRAPH_WIDTH, GRAPH_HEIGHT]);
    const img = await pixels(png);
    const a = plotArea(GRAPH_WIDTH, GRAPH_HEIGHT);
    // The plot is drawn: plenty of ink inside the plot area.
    expect(inkCount(img, a.left + 5, a.top + 5, a.right - 5, a.bottom - 5)).toBeGreaterThan(50_000);
    // A red line across most of the plot near y(60), and none far from it.
    const y60 = Math.round(confToY(60, a));
    const near = Math.max(...[-2, -1, 0, 1, 2].map((d) => redRun(img, y60 + d)));
    expect(near).toBeGreaterThan((a.right - a.left) * 0.3);
    expect(redRun(img, Math.round(confToY(30, a)))).toBe(0);
  });

  it('renders a one-page book (a single marker) at a custom size', async () => {
    const png = await renderConfidenceGraph([{ label: '1', conf: 83.2 }], 'One page', { width: 1920, height: 1080 });
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height]).toEqual([1920, 1080]);
    const img = await pixels(png);
    const a = plotArea(1920, 1080);
    const x = Math.round((a.left + a.right) / 2);
    const y = Math.round(confToY(83.2, a));
    const p = (y * img.width + x) * 3;
    // the marker: blue at the point
    expect(img.data[p + 2]!).toBeGreaterThan(img.data[p]! + 60);
  });

  it('renders an empty graph rather than failing for no pages, and rejects non-numbers', async () => {
    const png = await renderConfidenceGraph([], 'Nothing', { width: 800, height: 450 });
    expect((await sharp(png).metadata()).width).toBe(800);
    expect(() => confidenceGraphSvg([{ label: '1', conf: Number.NaN }], 't')).toThrow(/page 1/);
  });
});

describe('confidenceGraphSvg', () => {
  it('has the title, axis titles and escaped labels', () => {
    const svg = confidenceGraphSvg([{ label: 'p<1>', conf: 50 }, { label: 'p&2', conf: 90 }], 'Book & "Co" <1>');
    expect(svg).toContain('Book &#38; &#34;Co&#34; &#60;1&#62;');
    expect(svg).toContain('>Page number<');
    expect(svg).toContain('>Confidence<');
    expect(svg).toContain('p&#60;1&#62;');
    expect(svg).not.toMatch(/<1>|p&2/);
  });

  it('annotates exactly the pages outside the percentile lines', () => {
    const pts = book(40); // low = sorted[4], high = sorted[36]
    const { low, high } = percentileLines(pts.map((p) => p.conf))!;
    const outliers = pts.filter((p) => p.conf < low || p.conf > high);
    expect(outliers.length).toBeGreaterThan(0);
    const svg = confidenceGraphSvg(pts, 'b');
    const annotated = [...svg.matchAll(/fill='#1f4e79'[^>]*>([^<]+)<\/text>/g)].map((m) => m[1]);
    const rings = (svg.match(/fill='#ffffff' stroke='#1f4e79'/g) ?? []).length;
    expect(rings).toBe(outliers.length);
    for (const label of annotated) expect(outliers.map((o) => o.label)).toContain(label);
  });

  it('has at most about 40 x ticks, the last page always labelled', () => {
    const svg = confidenceGraphSvg(book(1000), 'b');
    const ticks = (svg.match(/stroke='#333' stroke-width='3'/g) ?? []).length;
    expect(ticks).toBeLessThanOrEqual(40);
    expect(ticks).toBeGreaterThanOrEqual(30);
    expect(svg).toMatch(/>1000<\/text>/);
  });
});

describe('graph helpers', () => {
  it('percentileLines: the 10th and 90th percentiles, also for short books', () => {
    const confs = Array.from({ length: 20 }, (_, i) => 100 - i); // 81..100
    expect(percentileLines(confs)).toEqual({ low: 83, high: 98 });
    expect(percentileLines(Array.from({ length: 11 }, (_, i) => i * 10))).toEqual({ low: 10, high: 90 });
    expect(percentileLines([70])).toEqual({ low: 70, high: 70 });
    expect(percentileLines([90, 80, 70])).toEqual({ low: 70, high: 90 }); // the original put both on 70
    expect(percentileLines([])).toBeNull();
  });

  it('tickIndices: every ceil(n/40)th page and the last', () => {
    expect(tickIndices(0)).toEqual([]);
    expect(tickIndices(1)).toEqual([0]);
    expect(tickIndices(5)).toEqual([0, 1, 2, 3, 4]);
    const t = tickIndices(100); // step 3
    expect(t.slice(0, 3)).toEqual([0, 3, 6]);
    expect(t.at(-1)).toBe(99);
    expect(t.slice(-2)).toEqual([96, 99]);
    expect(t.length).toBeLessThanOrEqual(40);
    expect(tickIndices(1000).length).toBeLessThanOrEqual(40);
    // the last page replaces the grid tick just before it, which would crowd it
    expect(tickIndices(80).slice(-2)).toEqual([76, 79]);
    expect(tickIndices(82).slice(-2)).toEqual([78, 81]);
  });
});
