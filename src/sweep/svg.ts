/**
 * The sweep report's figures: plain SVG written here (no library, no script), so the HTML
 * report is one self-contained file and each figure can also stand alone in the docs. Output
 * is a pure function of the data: the same rows draw the same bytes.
 */

/** Colours for series in order (a qualitative palette readable in print and by most colour-blind readers). */
const PALETTE = ['#4477aa', '#ee6677', '#228833', '#ccbb44', '#66ccee', '#aa3377', '#bbbbbb', '#000000'];
export const colour = (i: number) => PALETTE[i % PALETTE.length];

export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A number for an axis or a label: 3 significant digits, no exponent for everyday sizes. */
export function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(v / 1e3).toPrecision(3)}k`;
  return Number(v.toPrecision(3)).toString();
}

/** Tick values from 0 to at least max, 1/2/5 steps. */
function ticks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export interface Bar { label: string; value: number; segments?: { label: string; value: number }[] }
export interface BarGroup { label: string; bars: Bar[] }

/**
 * Grouped vertical bars: one group per `groups` entry, one bar per series (same series
 * order in every group, coloured alike). With `segments` a bar is stacked.
 */
export function barChart(o: { title: string; yLabel: string; groups: BarGroup[]; series: string[]; stackLabels?: string[] }): string {
  const barW = 22, gap = 18, top = 36, plotH = 220;
  const nBars = Math.max(1, ...o.groups.map((g) => g.bars.length));
  // A group is as wide as its bars or its name (about 6 px a character), whichever is wider.
  const groupW = Math.max(nBars * barW + gap, 6 * Math.max(0, ...o.groups.map((g) => g.label.length)) + 12);
  // Turned bar names (9 px type, about 5 px a character, cos 40 = 0.77) reach left of the first bar.
  const longestBar = Math.max(0, ...o.groups.flatMap((g) => g.bars.map((b) => b.label.length)));
  const left = o.stackLabels ? Math.max(64, Math.ceil(longestBar * 5 * 0.77) + 8) : 64;
  const legendItems = o.stackLabels ?? o.series;
  const lg = legendLayout(legendItems);
  const width = Math.max(left + 3 * 170 + 20, left + lg.cols * lg.colW, left + o.groups.length * groupW + 20);
  const legendRows = lg.rows;
  // Stacked bars name their series under each bar, turned, so the group names go lower.
  // (about 6 px a character, turned by 40 degrees: sin 40 = 0.64).
  const longest = Math.max(0, ...o.groups.flatMap((g) => g.bars.map((b) => b.label.length)));
  const below = o.stackLabels ? 40 + Math.ceil(longest * 6 * 0.64) : 34;
  const height = top + plotH + below + 12 + legendRows * 18;
  const max = Math.max(0, ...o.groups.flatMap((g) => g.bars.map((b) => b.value)));
  const ys = ticks(max);
  const yMax = ys[ys.length - 1];
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<title>${esc(o.title)}</title>`);
  parts.push(`<text x="${left}" y="18" font-size="13" font-weight="bold">${esc(o.title)}</text>`);
  for (const t of ys) {
    parts.push(`<line x1="${left}" x2="${width - 10}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 4}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
  }
  parts.push(`<text transform="translate(14 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  o.groups.forEach((g, gi) => {
    const gx = left + (groupW - nBars * barW) / 2 + gi * groupW;
    g.bars.forEach((b) => {
      const si = o.series.indexOf(b.label);
      const x = gx + si * barW;
      if (b.segments && o.stackLabels) {
        let acc = 0;
        for (const s of b.segments) {
          const ci = o.stackLabels.indexOf(s.label);
          parts.push(`<rect x="${x + 1}" y="${y(acc + s.value).toFixed(1)}" width="${barW - 2}" height="${(y(acc) - y(acc + s.value)).toFixed(1)}" fill="${colour(ci)}"><title>${esc(`${g.label}, ${b.label}: ${s.label} ${fmt(s.value)}`)}</title></rect>`);
          acc += s.value;
        }
        parts.push(`<text x="${x + barW / 2}" y="${(top + plotH + 12).toFixed(1)}" text-anchor="end" font-size="9" transform="rotate(-40 ${x + barW / 2} ${top + plotH + 12})">${esc(b.label)}</text>`);
      } else {
        parts.push(`<rect x="${x + 1}" y="${y(b.value).toFixed(1)}" width="${barW - 2}" height="${(top + plotH - y(b.value)).toFixed(1)}" fill="${colour(si)}"><title>${esc(`${g.label}, ${b.label}: ${fmt(b.value)}`)}</title></rect>`);
      }
      parts.push(`<text x="${x + barW / 2}" y="${(y(b.value) - 3).toFixed(1)}" text-anchor="middle" font-size="9">${fmt(b.value)}</text>`);
    });
    const labelY = top + plotH + (o.stackLabels ? below - 14 : 16);
    parts.push(`<text x="${gx + (g.bars.length * barW) / 2}" y="${labelY}" text-anchor="middle">${esc(g.label)}</text>`);
  });
  parts.push(`<line x1="${left}" x2="${width - 10}" y1="${top + plotH}" y2="${top + plotH}" stroke="#000"/>`);
  parts.push(legend(legendItems, left, top + plotH + below + 8));
  parts.push('</svg>');
  return parts.join('\n');
}

/**
 * The legend's columns: up to three in 510 px, each as wide as the longest label needs (about
 * 6 px a character at 11 px), so long series names do not run into the next column.
 */
function legendLayout(items: string[]): { cols: number; colW: number; rows: number } {
  const colW = Math.max(170, Math.ceil(30 + 6.5 * Math.max(0, ...items.map((s) => s.length))));
  const cols = Math.max(1, Math.min(3, Math.floor(510 / colW)));
  return { cols, colW, rows: Math.ceil(items.length / cols) };
}

function legend(items: string[], x0: number, y0: number): string {
  const { cols, colW } = legendLayout(items);
  return items.map((s, i) => {
    const x = x0 + (i % cols) * colW, yy = y0 + Math.floor(i / cols) * 18;
    return `<rect x="${x}" y="${yy - 9}" width="10" height="10" fill="${colour(i)}"/><text x="${x + 14}" y="${yy}">${esc(s)}</text>`;
  }).join('\n');
}

export interface Series { label: string; points: [number, number][] }

/** Lines over a numeric x axis (log2 scale when `log2`, as TLB sizes go), one per series. */
export function lineChart(o: { title: string; xLabel: string; yLabel: string; series: Series[]; log2?: boolean }): string {
  const left = 64, top = 36, plotW = 420, plotH = 220;
  const lg = legendLayout(o.series.map((x) => x.label));
  const width = Math.max(left + plotW + 20, left + lg.cols * lg.colW), height = top + plotH + 48 + lg.rows * 18;
  const xs = [...new Set(o.series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const tx = (v: number) => (o.log2 ? Math.log2(Math.max(v, 1e-9)) : v);
  const xMin = tx(xs[0] ?? 0), xMax = tx(xs[xs.length - 1] ?? 1);
  const ys = ticks(Math.max(0, ...o.series.flatMap((s) => s.points.map((p) => p[1]))));
  const yMax = ys[ys.length - 1];
  const X = (v: number) => left + (xMax === xMin ? plotW / 2 : ((tx(v) - xMin) / (xMax - xMin)) * plotW);
  const Y = (v: number) => top + plotH - (v / yMax) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<title>${esc(o.title)}</title>`);
  parts.push(`<text x="${left}" y="18" font-size="13" font-weight="bold">${esc(o.title)}</text>`);
  for (const t of ys) {
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${Y(t).toFixed(1)}" y2="${Y(t).toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 4}" y="${(Y(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const v of xs) parts.push(`<text x="${X(v).toFixed(1)}" y="${top + plotH + 14}" text-anchor="middle">${fmt(v)}</text>`);
  parts.push(`<text x="${left + plotW / 2}" y="${top + plotH + 30}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#000"/>`);
  o.series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    parts.push(`<polyline fill="none" stroke="${colour(i)}" stroke-width="2" points="${pts.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) parts.push(`<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="3" fill="${colour(i)}"><title>${esc(`${s.label}: ${fmt(p[0])} -> ${fmt(p[1])}`)}</title></circle>`);
  });
  parts.push(legend(o.series.map((s) => s.label), left, top + plotH + 48));
  parts.push('</svg>');
  return parts.join('\n');
}
