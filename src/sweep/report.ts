/**
 * A sweep's outputs: the CSV (every counter of every point, with the metadata that reproduces
 * it in `#` lines above the header), the JSON (the same, plus wall times and cache keys), and
 * the self-contained HTML report with its figures. `hvlab sweep --plot FILE.csv` reads the
 * CSV back and draws the same report: the HTML depends only on what the CSV holds.
 */
import { Counter } from '../../assembly/counter-ids.js';
import { namedCounters } from '../counters.js';
import { DEFAULT_COSTS, modeledCycles, modeledTranslation, type CostTable, type CycleBreakdown } from '../cost-model.js';
import { HvlabError } from '../errors.js';
import { AXES, type AxisValue } from './axes.js';
import { barChart, esc, fmt, lineChart, type BarGroup } from './svg.js';

/** Every counter the core names, in counter-id order: the CSV's counter columns. */
export const COUNTER_NAMES: readonly string[] = Object.keys(namedCounters(new BigUint64Array(Counter.COUNT)));

export interface Row { axes: Record<string, AxisValue>; counters: Record<string, bigint> }

export interface ReportMeta {
  name: string;
  description: string;
  /** The hvlab version and the core build's sha256 that computed the points. */
  version: string;
  core: string;
  /** The command that reproduces the sweep. */
  command: string;
  /** The config as given (the JSON object). */
  config: unknown;
  costs: Partial<CostTable>;
  skipped: { axes: Record<string, AxisValue>; reason: string }[];
}

const c = (r: Row, k: string) => Number(r.counters[k] ?? 0n);

/** The derived figures every point gets (also CSV columns, recomputed from the counters on --plot). */
export interface Metrics {
  /**
   * Which TLB the lookups, misses and walk references are: the model TLB's (TLBM_*) when the
   * point ran with one (it counted lookups), else the interpreter's fast TLB's.
   */
  tlb: 'model' | 'fast';
  instructions: number;
  exits: number;
  /** fast: fetch, load and store lookups; model: L1 instruction and data TLB lookups. */
  tlbLookups: number;
  /** fast: misses; model: misses in every level, each a modeled walk (TLBM_WALKS). */
  tlbMisses: number;
  /** PTE reads by the hardware walker (fast) or the modeled walk after its walk caches (model), any stage; not the hypervisor's software walks. */
  walkRefs: number;
  shadowWalkRefs: number;
  walkRefsPerMiss: number;
  tlbMissRate: number;
  /** With the model, its translation is priced instead of the fast TLB's walks (pageWalks; docs/cost-model.md "Modeled translation time"). */
  cycles: CycleBreakdown;
}

/** Whether a point ran with the model TLB: it looks every instruction fetch and data access up. */
export const usesModel = (r: Row) => c(r, 'TLBM_L1I_LOOKUPS') + c(r, 'TLBM_L1D_LOOKUPS') > 0;

export function metrics(r: Row, costs: Partial<CostTable>): Metrics {
  const model = usesModel(r);
  const tlbMisses = model ? c(r, 'TLBM_WALKS') : c(r, 'TLB_FETCH_MISSES') + c(r, 'TLB_LOAD_MISSES') + c(r, 'TLB_STORE_MISSES');
  const tlbLookups = model ? c(r, 'TLBM_L1I_LOOKUPS') + c(r, 'TLBM_L1D_LOOKUPS') : c(r, 'TLB_FETCH_LOOKUPS') + c(r, 'TLB_LOAD_LOOKUPS') + c(r, 'TLB_STORE_LOOKUPS');
  const walkRefs = model ? c(r, 'TLBM_WALK_REFS') + c(r, 'TLBM_WALK_REFS_VS') + c(r, 'TLBM_WALK_REFS_G')
    : c(r, 'WALK_REFS') + c(r, 'WALK_REFS_VS') + c(r, 'WALK_REFS_G');
  let cycles = modeledCycles(r.counters, costs);
  if (model) {
    // The model's translation (its TLB hits, walk references and walk-cache hits) replaces the
    // fast TLB's walks; the hypervisor's software walks stay.
    const t = modeledTranslation(r.counters, costs);
    const pageWalks = cycles.pageWalks - (c(r, 'WALK_REFS') + c(r, 'WALK_REFS_VS') + c(r, 'WALK_REFS_G')) * (costs.walkRef ?? DEFAULT_COSTS.walkRef) + t.total;
    cycles = { ...cycles, pageWalks, total: t.runTotal };
  }
  return {
    tlb: model ? 'model' : 'fast',
    instructions: c(r, 'INSTRET_U') + c(r, 'INSTRET_S') + c(r, 'INSTRET_M'),
    exits: c(r, 'EXITS'), tlbLookups, tlbMisses, walkRefs, shadowWalkRefs: c(r, 'WALK_REFS_SHADOW'),
    walkRefsPerMiss: tlbMisses ? walkRefs / tlbMisses : 0,
    tlbMissRate: tlbLookups ? tlbMisses / tlbLookups : 0,
    cycles,
  };
}

const DERIVED = ['tlb', 'instructions', 'exits', 'tlbLookups', 'tlbMisses', 'walkRefs', 'shadowWalkRefs', 'walkRefsPerMiss', 'tlbMissRate',
  'modeledCycles', 'cycles.instructions', 'cycles.pageWalks', 'cycles.traps', 'cycles.exits', 'cycles.exitHandling', 'cycles.tlbFlushes'] as const;

function derivedValues(m: Metrics): (number | string)[] {
  const ratio = (v: number) => Number(v.toFixed(6));
  return [m.tlb, m.instructions, m.exits, m.tlbLookups, m.tlbMisses, m.walkRefs, m.shadowWalkRefs, ratio(m.walkRefsPerMiss), ratio(m.tlbMissRate),
    m.cycles.total, m.cycles.instructions, m.cycles.pageWalks, m.cycles.traps, m.cycles.exits, m.cycles.exitHandling, m.cycles.tlbFlushes];
}

const cell = (v: AxisValue | number) => {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The axis columns: a sectioned config's section name first, then the axes in AXES order. */
export function axisColumns(rows: readonly Row[]): string[] {
  return ['section', ...AXES.map((a) => a.name)].filter((k) => rows.some((r) => k in r.axes));
}

const META_KEYS = ['name', 'description', 'version', 'core', 'command', 'config', 'costs', 'skipped'] as const;

export function toCsv(rows: readonly Row[], meta: ReportMeta): string {
  const axes = axisColumns(rows);
  const lines = ['# hvlab sweep 1: redraw the report with `hvlab sweep --plot FILE.csv`; the `#` lines hold what reproduces it'];
  for (const k of META_KEYS) lines.push(`# ${k}: ${JSON.stringify(meta[k])}`);
  lines.push([...axes, ...DERIVED, ...COUNTER_NAMES].join(','));
  for (const r of rows) {
    lines.push([...axes.map((k) => cell(r.axes[k])), ...derivedValues(metrics(r, meta.costs)), ...COUNTER_NAMES.map((k) => String(r.counters[k] ?? 0n))].join(','));
  }
  return lines.join('\n') + '\n';
}

function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '', quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') quoted = false; else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { out.push(cur); cur = ''; } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Read a sweep CSV back (for --plot); `source` names the file in messages. */
export function parseCsv(text: string, source: string): { rows: Row[]; meta: ReportMeta } {
  const lines = text.split('\n').filter((l) => l !== '');
  const meta: Record<string, unknown> = {};
  let i = 0;
  if (!lines[0]?.startsWith('# hvlab sweep 1')) throw new HvlabError('BAD_SWEEP_CSV', `${source}: not a sweep CSV (its first line is not '# hvlab sweep 1...')`);
  for (i = 1; i < lines.length && lines[i].startsWith('#'); i++) {
    const m = /^# (\w+): (.*)$/.exec(lines[i]);
    if (!m) throw new HvlabError('BAD_SWEEP_CSV', `${source}: line ${i + 1}: expected '# key: JSON'`);
    try { meta[m[1]] = JSON.parse(m[2]); } catch { throw new HvlabError('BAD_SWEEP_CSV', `${source}: line ${i + 1}: the value of '${m[1]}' is not JSON`); }
  }
  for (const k of META_KEYS) if (!(k in meta)) throw new HvlabError('BAD_SWEEP_CSV', `${source}: the '# ${k}:' line is missing`);
  if (i >= lines.length) throw new HvlabError('BAD_SWEEP_CSV', `${source}: no header line`);
  const header = splitCsvLine(lines[i]);
  const axisNames = new Set(['section', ...AXES.map((a) => a.name)]);
  const counterNames = new Set(COUNTER_NAMES);
  const rows: Row[] = [];
  for (let j = i + 1; j < lines.length; j++) {
    const cells = splitCsvLine(lines[j]);
    if (cells.length !== header.length) throw new HvlabError('BAD_SWEEP_CSV', `${source}: line ${j + 1}: ${cells.length} cells, the header has ${header.length}`);
    const row: Row = { axes: {}, counters: {} };
    header.forEach((h, k) => {
      const v = cells[k];
      if (axisNames.has(h)) row.axes[h] = v === 'true' ? true : v === 'false' ? false : /^\d+$/.test(v) && h !== 'workload' && h !== 'section' ? Number(v) : v;
      else if (counterNames.has(h)) {
        if (!/^\d+$/.test(v)) throw new HvlabError('BAD_SWEEP_CSV', `${source}: line ${j + 1}: counter ${h} is '${v}', not a whole number`);
        row.counters[h] = BigInt(v);
      }
    });
    rows.push(row);
  }
  if (rows.length === 0) throw new HvlabError('BAD_SWEEP_CSV', `${source}: no points`);
  return { rows, meta: meta as unknown as ReportMeta };
}

export function toJson(rows: readonly (Row & { wallSeconds?: number; cached?: boolean; hash?: string })[], meta: ReportMeta): string {
  return JSON.stringify({
    ...meta,
    points: rows.map((r) => {
      const m = metrics(r, meta.costs);
      return {
        axes: r.axes, hash: r.hash, cached: r.cached, wallSeconds: r.wallSeconds,
        walkRefsPerMiss: m.walkRefsPerMiss, tlbMissRate: m.tlbMissRate, modeledCycles: m.cycles,
        counters: Object.fromEntries(COUNTER_NAMES.map((k) => [k, Number(r.counters[k] ?? 0n)])),
      };
    }),
  }, null, 2) + '\n';
}

/** A figure: its file name stem, title, caption and SVG; and the config section it belongs to, if any. */
export interface Figure { id: string; title: string; caption: string; svg: string; section?: string }

const varying = (rows: readonly Row[]) => axisColumns(rows).filter((k) => new Set(rows.map((r) => String(r.axes[k]))).size > 1);

/** The series label of a row: its varying axes other than those the figure spreads out. */
function seriesLabel(r: Row, axes: string[]): string {
  const parts = axes.map((k) => {
    const v = r.axes[k];
    return typeof v === 'boolean' ? (v ? k : '') : typeof v === 'number' ? `${k} ${v}` : String(v);
  }).filter((s) => s !== '');
  return parts.join(' + ') || 'all';
}

/** Groups rows by workload (and any other axis not in the series), in first-seen order. */
function byGroup(rows: readonly Row[], groupAxes: string[]): Map<string, Row[]> {
  const m = new Map<string, Row[]>();
  for (const r of rows) {
    const k = groupAxes.map((a) => String(r.axes[a])).join(' / ') || 'all';
    m.set(k, [...(m.get(k) ?? []), r]);
  }
  return m;
}

const NUMERIC_X: readonly string[] = ['tlbEntries', 'pwcEntries', 'npwcEntries', 'ntlbEntries'];

/** Which TLB a set of rows counted, for captions. */
function tlbNote(rows: readonly Row[]): string {
  const model = rows.filter(usesModel).length;
  if (model === 0) return 'The TLB is the interpreter\'s fast TLB (TLB_* and WALK_REFS* counters).';
  if (model === rows.length) return 'The TLB is the model TLB (TLBM_* counters: a miss is a miss in every level, a modeled walk; its references are those left after the walk caches).';
  return 'Points with the model TLB count its misses (modeled walks) and walk references (TLBM_*); the others the interpreter\'s fast TLB\'s (TLB_*, WALK_REFS*).';
}

/**
 * The report's figures. A sectioned config's sections each get their own, drawn from their own
 * points alone (their ids and titles led by the section's name; the main product's are not).
 */
export function figures(rows: readonly Row[], costs: Partial<CostTable>): Figure[] {
  if (!rows.some((r) => 'section' in r.axes)) return sectionFigures(rows, costs);
  const sections = [...new Set(rows.map((r) => String(r.axes.section)))];
  return sections.flatMap((sec) => sectionFigures(rows.filter((r) => r.axes.section === sec), costs).map((f) => (sec === '' ? { ...f, section: sec } : {
    ...f, section: sec, id: `${sec}-${f.id}`, title: `${sec}: ${f.title}`,
    // The chart's own title (its first <title> and its bold heading) names the section too.
    svg: f.svg.replace(/<title>/, `<title>${esc(sec)}: `).replace(/font-weight="bold">/, `font-weight="bold">${esc(sec)}: `),
  })));
}

function sectionFigures(rows: readonly Row[], costs: Partial<CostTable>): Figure[] {
  const v = varying(rows);
  const note = ` ${tlbNote(rows)}`;
  // Groups are workloads (and guests, when both run), even when the sweep has one workload.
  const groupAxes: string[] = [...(v.includes('guest') ? ['guest'] : []), 'workload'];
  // The x axis of line charts: a size that varies, none of its values 0 (a cache switched off
  // has no place on a log scale: such a sweep is drawn as bars, the sizes in the series).
  const numericX = NUMERIC_X.find((k) => v.includes(k) && rows.every((r) => typeof r.axes[k] === 'number' && (r.axes[k] as number) > 0));
  const seriesAxes = v.filter((k) => !groupAxes.includes(k) && k !== numericX);
  const series = [...new Set(rows.map((r) => seriesLabel(r, seriesAxes)))];
  const groups = byGroup(rows, groupAxes);
  const out: Figure[] = [];

  const walkGroups: BarGroup[] = [...groups].map(([label, rs]) => ({
    label, bars: rs.map((r) => ({ label: seriesLabel(r, seriesAxes), value: metrics(r, costs).walkRefsPerMiss })),
  }));
  if (!numericX) {
    out.push({
      id: 'walk-refs-per-miss', title: 'Page-walk references per TLB miss',
      caption: 'PTE reads by the hardware walker, all stages (WALK_REFS + WALK_REFS_VS + WALK_REFS_G), divided by TLB misses ' +
        '(fetch, load, store). A one-dimensional Sv39 walk to a 4 KiB page reads 3; a two-dimensional walk up to (3+1)(3+1)-1 = 15. ' +
        'The shadow modes\' software walks (WALK_REFS_SHADOW) are not in it: they are priced in the modeled time.' + note,
      svg: barChart({ title: 'Page-walk references per TLB miss', yLabel: 'references per miss', groups: walkGroups, series }),
    });
    const parts = ['instructions', 'pageWalks', 'traps', 'exits', 'exitHandling', 'tlbFlushes'] as const;
    const timeGroups: BarGroup[] = [...groups].map(([label, rs]) => ({
      label, bars: rs.map((r) => {
        const cy = metrics(r, costs).cycles;
        return { label: seriesLabel(r, seriesAxes), value: cy.total / 1e6, segments: parts.map((p) => ({ label: p, value: cy[p] / 1e6 })) };
      }),
    }));
    out.push({
      id: 'modeled-time', title: 'Modeled time per workload',
      caption: 'Modeled cycles (docs/cost-model.md), in millions, stacked by what they price: retired instructions, hardware page-walk ' +
        'references, traps taken inside the guest, the fixed cost of VM exits, the hypervisor\'s work per exit (shadow fills and ' +
        'write-protect faults, emulation, hypercalls), and TLB flushes.',
      svg: barChart({ title: 'Modeled time per workload (Mcycles)', yLabel: 'modeled Mcycles', groups: timeGroups, series, stackLabels: [...parts] }),
    });
    // Against native, where the sweep has it: workloads of very different lengths side by side.
    const native = (rs: Row[]) => rs.find((r) => r.axes.mode === 'native' && !r.axes.nestedPwc);
    const relGroups: BarGroup[] = [...groups].filter(([, rs]) => native(rs) !== undefined).map(([label, rs]) => {
      const base = metrics(native(rs)!, costs).cycles.total;
      return { label, bars: rs.map((r) => ({ label: seriesLabel(r, seriesAxes), value: base ? metrics(r, costs).cycles.total / base : 0 })) };
    });
    if (relGroups.length && v.includes('mode')) {
      out.push({
        id: 'modeled-time-vs-native', title: 'Modeled time relative to native',
        caption: 'Each point\'s modeled cycles divided by those of the same workload run natively (1.0): what the virtualization ' +
          'strategy costs, comparable across workloads of different lengths.',
        svg: barChart({ title: 'Modeled time relative to native', yLabel: 'x native', groups: relGroups, series }),
      });
    }
  } else {
    // A numeric hardware size varies: the miss rate and the walk references against it.
    const lines = (f: (m: Metrics) => number) => [...groups].flatMap(([g, rs]) => {
      const ss = new Map<string, [number, number][]>();
      for (const r of rs) {
        const key = `${groups.size > 1 ? `${g}: ` : ''}${seriesLabel(r, seriesAxes)}`;
        ss.set(key, [...(ss.get(key) ?? []), [Number(r.axes[numericX]), f(metrics(r, costs))]]);
      }
      return [...ss].map(([label, points]) => ({ label, points }));
    });
    out.push({
      id: 'tlb-miss-rate', title: `TLB miss rate vs ${numericX}`,
      caption: 'TLB misses per lookup.' + note,
      svg: lineChart({ title: `TLB miss rate vs ${numericX}`, xLabel: numericX, yLabel: 'misses per lookup', series: lines((m) => m.tlbMissRate), log2: true }),
    });
    out.push({
      id: 'walk-refs-per-miss', title: `Page-walk references per TLB miss vs ${numericX}`,
      caption: 'PTE reads by the walker, all stages, per TLB miss.' + note,
      svg: lineChart({ title: `Walk references per miss vs ${numericX}`, xLabel: numericX, yLabel: 'references per miss', series: lines((m) => m.walkRefsPerMiss), log2: true }),
    });
    out.push({
      id: 'modeled-time', title: `Modeled time vs ${numericX}`,
      caption: 'Modeled cycles (docs/cost-model.md), in millions.',
      svg: lineChart({ title: `Modeled time vs ${numericX}`, xLabel: numericX, yLabel: 'modeled Mcycles', series: lines((m) => m.cycles.total / 1e6), log2: true }),
    });
  }
  return out;
}

/** The heading of a config section's figures, with its description from the config. */
function sectionHeading(name: string, config: unknown): string {
  const sections = (config as { sections?: { name?: unknown; description?: unknown }[] } | undefined)?.sections ?? [];
  const d = sections.find((s) => s.name === name)?.description;
  return `<h2 id="section-${esc(name)}">${esc(name)}</h2>\n${typeof d === 'string' && d ? `<p>${esc(d)}</p>\n` : ''}`;
}

/** The self-contained HTML report: figures, the table of points, and what reproduces them. */
export function toHtml(rows: readonly Row[], meta: ReportMeta): string {
  const figs = figures(rows, meta.costs);
  const axes = axisColumns(rows);
  const v = varying(rows);
  const head = [...axes, 'TLB', 'instructions', 'exits', 'TLB misses', 'walk refs', 'refs/miss', 'Mcycles'];
  const body = rows.map((r) => {
    const m = metrics(r, meta.costs);
    return [...axes.map((k) => String(r.axes[k])), m.tlb, String(m.instructions), String(m.exits), String(m.tlbMisses), String(m.walkRefs),
      m.walkRefsPerMiss.toFixed(2), (m.cycles.total / 1e6).toFixed(3)];
  });
  const numericCol = (i: number) => i > axes.length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(meta.name)}: hvlab sweep</title>
<style>
body { font-family: sans-serif; max-width: 1100px; margin: 1em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; font-size: 12px; } td, th { border: 1px solid #ccc; padding: 2px 6px; }
td.n { text-align: right; font-variant-numeric: tabular-nums; } pre { background: #f4f4f4; padding: 8px; overflow-x: auto; }
figure { margin: 1.5em 0; } svg { max-width: 100%; height: auto; } figcaption { font-size: 13px; max-width: 800px; } .pending { color: #8a5a00; }
</style></head><body>
<h1>${esc(meta.name)}</h1>
${meta.description ? `<p>${esc(meta.description)}</p>\n` : ''}<p>hvlab ${esc(meta.version)}, core build sha256 <code>${esc(meta.core.slice(0, 16))}</code>; ${rows.length} points${v.length ? `, varying ${esc(v.join(', '))}` : ''}. Every figure is from counters under the deterministic clock: rerunning the command below gives the same numbers.</p>
<p>Reproduce: <code>${esc(meta.command)}</code></p>
${figs.map((f, i) => `${f.section && f.section !== figs[i - 1]?.section ? sectionHeading(f.section, meta.config) : ''}<figure id="${f.id}">\n${f.svg}\n<figcaption>${esc(f.caption)}</figcaption>\n</figure>`).join('\n')}
<p>${esc(tlbNote(rows))}</p>
<h2>Points</h2>
<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>
${body.map((r) => `<tr>${r.map((x, i) => `<td${numericCol(i) ? ' class="n"' : ''}>${esc(x)}</td>`).join('')}</tr>`).join('\n')}
</table>
${meta.skipped.length ? `<h2>Not run</h2>\n<ul>\n${meta.skipped.map((s) => `<li>${esc(Object.entries(s.axes).filter(([k]) => v.includes(k) || k === 'workload').map(([k, x]) => (typeof x === 'boolean' ? (x ? k : `no ${k}`) : String(x))).join(' / '))}: ${esc(s.reason)}</li>`).join('\n')}\n</ul>\n` : ''}<h2>Config</h2>
<pre>${esc(JSON.stringify(meta.config, null, 2))}</pre>
${Object.keys(meta.costs).length ? `<p>Cost overrides: <code>${esc(JSON.stringify(meta.costs))}</code></p>\n` : ''}<p>Counters are documented in docs/counters.md, the cost model in docs/cost-model.md. Modeled figures: ${esc(fmt(rows.reduce((s, r) => s + metrics(r, meta.costs).cycles.total, 0) / 1e6))} Mcycles over all points.</p>
</body></html>
`;
}
