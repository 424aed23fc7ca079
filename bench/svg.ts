/**
 * A small line-chart writer for the bench's figures (docs/bench/*.svg): axes with ticks and labels, a
 * linear or logarithmic scale on either axis, one polyline with dots per series, and a legend. No
 * dependency, so that the charts the README shows come from the same run as its tables.
 */

export interface Series {
  name: string;
  /** [x, y] pairs; a pair with a non-finite or (on a log axis) non-positive value is left out and breaks the line. */
  points: [number, number][];
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  xLog?: boolean;
  yLog?: boolean;
  /** The x axis's ticks, when they should be exactly these (instances 1, 2, 4). */
  xTicks?: number[];
  /** Start a linear y axis at 0 (the default), rather than just under the lowest value. */
  yFromZero?: boolean;
  width?: number;
  height?: number;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const MARGIN = { left: 72, right: 24, top: 44, bottom: 76 };

export const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A tick's label: thousands separated, at most 2 decimals, and k/M past 100,000 so labels stay short. */
export function tickLabel(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${+(value / 1e6).toFixed(2)}M`;
  if (abs >= 1e5) return `${+(value / 1e3).toFixed(1)}k`;
  return (+value.toFixed(2)).toLocaleString('en-US');
}

/** Round linear ticks (1, 2 or 5 times a power of ten apart) covering [min, max], about `count` of them. */
export function linearTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.floor(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
  if (ticks[ticks.length - 1] < max) ticks.push(+(ticks[ticks.length - 1] + step).toPrecision(12));
  return ticks;
}

/** Powers of ten covering [min, max] (both > 0). */
export function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) ticks.push(10 ** e);
  return ticks;
}

interface Axis {
  ticks: number[];
  /** The value's place between 0 (the first tick) and 1 (the last). */
  place(value: number): number;
  usable(value: number): boolean;
}

function axis(values: number[], log: boolean, fromZero: boolean, fixed?: number[]): Axis {
  const usable = (v: number) => Number.isFinite(v) && (!log || v > 0);
  if (fixed?.length && !log) {
    const [low, high] = [Math.min(...fixed), Math.max(...fixed)];
    return { ticks: fixed, usable, place: (v) => (v - low) / (high - low || 1) };
  }
  const kept = values.filter(usable);
  const min = kept.length ? Math.min(...kept) : log ? 1 : 0;
  const max = kept.length ? Math.max(...kept) : min + 1;
  if (log) {
    const ticks = logTicks(min, max === min ? min * 10 : max);
    const [low, high] = [Math.log10(ticks[0]), Math.log10(ticks[ticks.length - 1])];
    return { ticks, usable, place: (v) => (Math.log10(v) - low) / (high - low || 1) };
  }
  const ticks = linearTicks(fromZero ? Math.min(0, min) : min, max === min ? min + 1 : max);
  const [low, high] = [ticks[0], ticks[ticks.length - 1]];
  return { ticks, usable, place: (v) => (v - low) / (high - low || 1) };
}

const round = (n: number) => +n.toFixed(1);

export function lineChart(chart: Chart): string {
  const width = chart.width ?? 640;
  const height = chart.height ?? 400;
  const plot = { x: MARGIN.left, y: MARGIN.top, w: width - MARGIN.left - MARGIN.right, h: height - MARGIN.top - MARGIN.bottom };
  const points = chart.series.flatMap((s) => s.points);
  const x = axis(
    points.map(([px]) => px),
    chart.xLog ?? false,
    false,
    chart.xTicks,
  );
  const y = axis(
    points.map(([, py]) => py),
    chart.yLog ?? false,
    chart.yFromZero ?? true,
  );
  const sx = (v: number) => round(plot.x + x.place(v) * plot.w);
  const sy = (v: number) => round(plot.y + plot.h - y.place(v) * plot.h);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  for (const t of x.ticks) {
    out.push(`<line x1="${sx(t)}" y1="${plot.y}" x2="${sx(t)}" y2="${plot.y + plot.h}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${sx(t)}" y="${plot.y + plot.h + 16}" text-anchor="middle">${escapeXml(tickLabel(t))}</text>`);
  }
  for (const t of y.ticks) {
    out.push(`<line x1="${plot.x}" y1="${sy(t)}" x2="${plot.x + plot.w}" y2="${sy(t)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${plot.x - 6}" y="${sy(t) + 4}" text-anchor="end">${escapeXml(tickLabel(t))}</text>`);
  }
  out.push(`<rect x="${plot.x}" y="${plot.y}" width="${plot.w}" height="${plot.h}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${plot.x + plot.w / 2}" y="${plot.y + plot.h + 36}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`);
  const yMiddle = plot.y + plot.h / 2;
  out.push(`<text x="16" y="${yMiddle}" text-anchor="middle" transform="rotate(-90 16 ${yMiddle})">${escapeXml(chart.yLabel)}</text>`);
  // The legend in a row under the axis label, where no line can pass beneath it.
  const legendWidth = (name: string) => 40 + 7 * name.length;
  let lx = plot.x + (plot.w - chart.series.reduce((total, series) => total + legendWidth(series.name), 0)) / 2;
  const ly = height - 12;
  for (const [index, series] of chart.series.entries()) {
    const colour = COLOURS[index % COLOURS.length];
    // A left-out point breaks the line: the series is drawn as runs of consecutive usable points.
    const runs: [number, number][][] = [[]];
    for (const [px, py] of series.points) {
      if (x.usable(px) && y.usable(py)) runs[runs.length - 1].push([sx(px), sy(py)]);
      else if (runs[runs.length - 1].length) runs.push([]);
    }
    for (const run of runs.filter((r) => r.length > 1)) out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${run.map((p) => p.join(',')).join(' ')}"/>`);
    for (const [cx, cy] of runs.flat()) out.push(`<circle cx="${cx}" cy="${cy}" r="3.5" fill="${colour}"/>`);
    out.push(`<line x1="${round(lx)}" y1="${ly - 4}" x2="${round(lx + 20)}" y2="${ly - 4}" stroke="${colour}" stroke-width="2"/>`);
    out.push(`<text x="${round(lx + 26)}" y="${ly}">${escapeXml(series.name)}</text>`);
    lx += legendWidth(series.name);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
