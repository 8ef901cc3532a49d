// The book's confidence graph (graph.png): per-page confidence with reference and percentile
// lines, drawn as SVG and rendered to PNG by sharp. Layout follows the original (go-chart) graph:
// 3840×2160, reference lines at 70/65/60, dashed lines at about the 10th and 90th percentiles, and
// the pages outside those lines annotated. Unlike the original, a one-page book gets a graph too.
import sharp from 'sharp';

export interface ConfPoint {
  /** Page label shown on the x axis and in annotations (chosen by the caller). */
  label: string;
  /** 0–100. */
  conf: number;
}

export interface GraphOptions {
  width?: number;
  height?: number;
}

export const GRAPH_WIDTH = 3840;
export const GRAPH_HEIGHT = 2160;
/** At most about this many x-axis ticks (the original's maxticks). */
export const MAX_TICKS = 40;

export const REFERENCE_LINES = [
  { conf: 70, colour: '#2ca02c', label: 'good' },
  { conf: 65, colour: '#ff7f0e', label: 'medium' },
  { conf: 60, colour: '#d62728', label: 'bad' },
] as const;

export interface PlotArea {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** The plot area (axes box) of a graph of this size, in pixels. */
export function plotArea(width: number, height: number): PlotArea {
  const s = Math.min(width / GRAPH_WIDTH, height / GRAPH_HEIGHT);
  return { left: 230 * s, top: 190 * s, right: width - 330 * s, bottom: height - 230 * s };
}

/** Pixel row of a confidence value in the plot area. */
export function confToY(conf: number, area: PlotArea): number {
  const c = Math.min(100, Math.max(0, conf));
  return area.bottom - (c / 100) * (area.bottom - area.top);
}

/**
 * The 10th and 90th percentile lines: `sorted[round(0.1·(n−1))]` and `sorted[round(0.9·(n−1))]`.
 * The original's `sorted[⌊n/10⌋]` and `sorted[⌊n/10⌋·9]` put both lines on the minimum for books
 * under 10 pages (and the "90th" on the median for 19 pages); this agrees with it on the low line
 * and stays a real percentile for any n. null for no values.
 */
export function percentileLines(confs: number[]): { low: number; high: number } | null {
  if (confs.length === 0) return null;
  const sorted = [...confs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.round(q * (sorted.length - 1))]!;
  return { low: at(0.1), high: at(0.9) };
}

/** Indices of the points that get an x-axis tick: every ⌈n/40⌉th, and always the last (≤ 40 ticks). */
export function tickIndices(n: number, maxTicks: number = MAX_TICKS): number[] {
  if (n <= 0) return [];
  const step = Math.max(1, Math.ceil(n / maxTicks));
  const ticks: number[] = [];
  for (let i = 0; i < n; i += step) ticks.push(i);
  const last = n - 1;
  if (ticks.at(-1) !== last) {
    // The last page always gets a tick; it replaces the grid tick before it, which would crowd it.
    if (ticks.length > 1) ticks.pop();
    ticks.push(last);
  }
  return ticks;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const f = (x: number): string => (Math.round(x * 100) / 100).toString();

/** Rough width of a label in DejaVu Sans (average advance ~0.6 em). */
const textWidth = (text: string, size: number): number => text.length * size * 0.6;

type Box = [number, number, number, number];
const overlaps = (p: Box, q: Box): boolean => p[0] < q[2] && q[0] < p[2] && p[1] < q[3] && q[1] < p[3];

/** Moves labels (sorted by y) apart so that consecutive ones are at least `gap` apart. */
function spreadLabels<T extends { y: number }>(labels: T[], gap: number): T[] {
  const sorted = [...labels].sort((p, q) => p.y - q.y).map((l) => ({ ...l }));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.y - sorted[i - 1]!.y < gap) sorted[i]!.y = sorted[i - 1]!.y + gap;
  }
  return sorted;
}

/** Builds the SVG text of the graph (exported for inspection; `renderConfidenceGraph` rasterises it). */
export function confidenceGraphSvg(points: ConfPoint[], title: string, opts: GraphOptions = {}): string {
  const width = opts.width ?? GRAPH_WIDTH;
  const height = opts.height ?? GRAPH_HEIGHT;
  if (!(width >= 100 && height >= 100)) throw new RangeError(`graph size ${width}×${height} is too small`);
  for (const p of points) {
    if (!Number.isFinite(p.conf)) throw new RangeError(`page ${p.label}: confidence ${p.conf} is not a number`);
  }
  const s = Math.min(width / GRAPH_WIDTH, height / GRAPH_HEIGHT);
  const a = plotArea(width, height);
  const n = points.length;
  const pad = n > 1 ? 30 * s : 0;
  const xOf = (i: number): number =>
    n <= 1 ? (a.left + a.right) / 2 : a.left + pad + (i * (a.right - a.left - 2 * pad)) / (n - 1);
  const yOf = (c: number): number => confToY(c, a);
  const font = "font-family='DejaVu Sans, Verdana, Arial, sans-serif'";
  const out: string[] = [];
  out.push(
    `<svg xmlns='http://www.w3.org/2000/svg' width='${width}' height='${height}' viewBox='0 0 ${width} ${height}'>`,
    `<rect width='100%' height='100%' fill='#ffffff'/>`,
    `<text x='${f(width / 2)}' y='${f(110 * s)}' text-anchor='middle' font-size='${f(64 * s)}' font-weight='bold' fill='#222' ${font}>${esc(title)}</text>`,
  );

  // Y axis: grid every 5, labels every 10.
  for (let c = 0; c <= 100; c += 5) {
    const y = yOf(c);
    const major = c % 10 === 0;
    out.push(
      `<line x1='${f(a.left)}' y1='${f(y)}' x2='${f(a.right)}' y2='${f(y)}' stroke='${major ? '#d8d8d8' : '#eeeeee'}' stroke-width='${f(2 * s)}'/>`,
    );
    if (major) {
      out.push(
        `<text x='${f(a.left - 22 * s)}' y='${f(y + 13 * s)}' text-anchor='end' font-size='${f(38 * s)}' fill='#333' ${font}>${c}</text>`,
      );
    }
  }
  out.push(
    `<text transform='translate(${f(80 * s)} ${f((a.top + a.bottom) / 2)}) rotate(-90)' text-anchor='middle' font-size='${f(48 * s)}' fill='#222' ${font}>Confidence</text>`,
    `<text x='${f((a.left + a.right) / 2)}' y='${f(height - 50 * s)}' text-anchor='middle' font-size='${f(48 * s)}' fill='#222' ${font}>Page number</text>`,
  );

  // X axis ticks with the callers' page labels; slanted when they would not fit side by side.
  const ticks = tickIndices(n);
  const tickFont = 34 * s;
  const spacing = ticks.length > 1 ? (xOf(ticks.at(-1)!) - xOf(0)) / (ticks.length - 1) : Infinity;
  const widest = Math.max(0, ...ticks.map((i) => textWidth(points[i]!.label, tickFont)));
  const slanted = widest > spacing * 0.85;
  for (const i of ticks) {
    const x = xOf(i);
    out.push(`<line x1='${f(x)}' y1='${f(a.bottom)}' x2='${f(x)}' y2='${f(a.bottom + 16 * s)}' stroke='#333' stroke-width='${f(3 * s)}'/>`);
    const ty = a.bottom + 58 * s;
    out.push(
      slanted
        ? `<text transform='translate(${f(x + 10 * s)} ${f(ty - 14 * s)}) rotate(-40)' text-anchor='end' font-size='${f(tickFont)}' fill='#333' ${font}>${esc(points[i]!.label)}</text>`
        : `<text x='${f(x)}' y='${f(ty)}' text-anchor='middle' font-size='${f(tickFont)}' fill='#333' ${font}>${esc(points[i]!.label)}</text>`,
    );
  }

  // Reference lines and percentile lines, labelled in the right margin (labels kept apart).
  const marginLabels: { y: number; text: string; colour: string }[] = [];
  for (const r of REFERENCE_LINES) {
    const y = yOf(r.conf);
    out.push(
      `<line x1='${f(a.left)}' y1='${f(y)}' x2='${f(a.right)}' y2='${f(y)}' stroke='${r.colour}' stroke-width='${f(5 * s)}' stroke-opacity='0.85'/>`,
    );
    marginLabels.push({ y, text: `${r.conf} ${r.label}`, colour: r.colour });
  }
  const pct = percentileLines(points.map((p) => p.conf));
  if (pct) {
    for (const [v, name] of [
      [pct.high, '90th pct'],
      [pct.low, '10th pct'],
    ] as const) {
      const y = yOf(v);
      out.push(
        `<line x1='${f(a.left)}' y1='${f(y)}' x2='${f(a.right)}' y2='${f(y)}' stroke='#777' stroke-width='${f(4 * s)}' stroke-dasharray='${f(24 * s)} ${f(14 * s)}'/>`,
      );
      marginLabels.push({ y, text: `${name} ${v.toFixed(1)}`, colour: '#555' });
    }
  }
  for (const l of spreadLabels(marginLabels, 40 * s)) {
    out.push(`<text x='${f(a.right + 18 * s)}' y='${f(l.y + 12 * s)}' font-size='${f(32 * s)}' fill='${l.colour}' ${font}>${esc(l.text)}</text>`);
  }

  // The confidence line with a light fill under it, and markers when there is room.
  if (n > 0) {
    const pts = points.map((p, i) => `${f(xOf(i))},${f(yOf(p.conf))}`);
    if (n > 1) {
      out.push(
        `<polygon points='${f(xOf(0))},${f(a.bottom)} ${pts.join(' ')} ${f(xOf(n - 1))},${f(a.bottom)}' fill='#1f77b4' fill-opacity='0.12'/>`,
        `<polyline points='${pts.join(' ')}' fill='none' stroke='#1f77b4' stroke-width='${f(5 * s)}' stroke-linejoin='round'/>`,
      );
    }
    const r = n === 1 ? 16 * s : n <= 150 ? 8 * s : 0;
    if (r > 0) {
      points.forEach((p, i) => out.push(`<circle cx='${f(xOf(i))}' cy='${f(yOf(p.conf))}' r='${f(r)}' fill='#1f77b4'/>`));
    }
  } else {
    out.push(
      `<text x='${f((a.left + a.right) / 2)}' y='${f((a.top + a.bottom) / 2)}' text-anchor='middle' font-size='${f(56 * s)}' fill='#999' ${font}>No pages</text>`,
    );
  }

  // Outliers: pages outside [low, high], labelled above (high) or below (low) their point; a label
  // that would overlap one already placed moves further out, or is left off (the marker stays).
  if (pct) {
    const labelFont = 30 * s;
    const placed: Box[] = [];
    points.forEach((p, i) => {
      if (p.conf >= pct.low && p.conf <= pct.high) return;
      const x = xOf(i);
      const y = yOf(p.conf);
      const above = p.conf > pct.high;
      out.push(`<circle cx='${f(x)}' cy='${f(y)}' r='${f(11 * s)}' fill='#ffffff' stroke='#1f4e79' stroke-width='${f(4 * s)}'/>`);
      const w = textWidth(p.label, labelFont);
      for (let level = 0; level < 4; level++) {
        const base = above ? y - 26 * s - level * 36 * s : y + 52 * s + level * 36 * s;
        const box: Box = [x - w / 2, base - labelFont * 0.8, x + w / 2, base + labelFont * 0.2];
        if (placed.some((b) => overlaps(b, box))) continue;
        placed.push(box);
        out.push(`<text x='${f(x)}' y='${f(base)}' text-anchor='middle' font-size='${f(labelFont)}' fill='#1f4e79' stroke='#ffffff' stroke-width='${f(8 * s)}' stroke-linejoin='round' paint-order='stroke' ${font}>${esc(p.label)}</text>`);
        break;
      }
    });
  }

  // Axes on top.
  out.push(
    `<polyline points='${f(a.left)},${f(a.top)} ${f(a.left)},${f(a.bottom)} ${f(a.right)},${f(a.bottom)}' fill='none' stroke='#333' stroke-width='${f(4 * s)}'/>`,
    '</svg>',
  );
  return out.join('\n');
}

/** Renders the confidence graph as a PNG (default 3840×2160). */
export async function renderConfidenceGraph(points: ConfPoint[], title: string, opts: GraphOptions = {}): Promise<Buffer> {
  const svg = confidenceGraphSvg(points, title, opts);
  return sharp(Buffer.from(svg), { density: 72 }).png({ compressionLevel: 9 }).toBuffer();
}
