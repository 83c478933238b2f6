// The page-table study (docs/page-table-study.md): each direction from the literature that the
// study reproduces, or does not, is asserted here from counters, on a small sweep run the way
// `hvlab sweep` runs it (worker threads), so the study cannot silently stop holding. And the
// committed report is what its CSV draws, and its CSV is what the core counts today.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { expand, parseSweepConfig } from '../src/sweep/config.js';
import { runPoints } from '../src/sweep/run.js';
import { metrics, parseCsv, toHtml, type Row } from '../src/sweep/report.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const STUDY_CONFIG = join(root, 'docs', 'examples', 'page-table-study.json');
const STUDY_CSV = join(root, 'docs', 'study', 'page-table-study.csv');
const STUDY_HTML = join(root, 'docs', 'study', 'page-table-study.html');
const REGENERATE = 'regenerate the study: node bin/hvlab.js sweep docs/examples/page-table-study.json --out docs/study, then update the figures quoted in docs/page-table-study.md';

/** The study's shape at a tenth of its size: hvos only, a few hundred thousand instructions a point. */
const SMALL = {
  name: 'study-small',
  axes: {
    mode: ['trap-emulate', 'hvm-shadow', 'hvm-nested', 'pv'],
    workload: ['memwalk 512 2', 'memwalk 512 32', 'ptchurn 16 32', 'spawn 20'],
    nestedPwc: [false, true],
  },
};

const rows = new Map<string, Row>();
const get = (workload: string, mode: string, pwc = false) => {
  const r = rows.get(`${workload}/${mode}/${pwc}`);
  if (!r) throw new Error(`no point ${workload}/${mode}/${pwc}`);
  return metrics(r, {});
};
const cycles = (w: string, m: string, pwc = false) => get(w, m, pwc).cycles.total;

beforeAll(async () => {
  const product = expand(parseSweepConfig(JSON.stringify(SMALL), 'small', 'small'));
  const results = await runPoints(product.points, { jobs: 2, label: (p) => `${p.run.command}/${p.run.mode}`, progress: { point: () => {} } });
  for (const r of results) rows.set(`${r.point.run.command}/${r.point.run.mode}/${r.point.run.nestedPwc}`, { axes: r.point.axes, counters: r.counters });
}, 300_000);

describe('Bhargava et al. 2008: the nested page-walk cache', () => {
  it('cuts a two-dimensional miss from about 15 references to 6, the misses unchanged', () => {
    const off = get('memwalk 512 32', 'hvm-nested'), on = get('memwalk 512 32', 'hvm-nested', true);
    expect(on.tlbMisses).toBe(off.tlbMisses);
    expect(off.walkRefsPerMiss).toBeGreaterThan(14);
    expect(off.walkRefsPerMiss).toBeLessThanOrEqual(15);
    // What stays: 3 guest PTEs and the G-stage walk of the data's own address (a nested TLB's job).
    expect(on.walkRefsPerMiss).toBeGreaterThan(5.5);
    expect(on.walkRefsPerMiss).toBeLessThan(6.5);
  });

  it('saves at least the paper\'s 15% of modeled time on TLB-miss-heavy work, and something everywhere', () => {
    const saving = (w: string) => 1 - cycles(w, 'hvm-nested', true) / cycles(w, 'hvm-nested');
    expect(saving('memwalk 512 32')).toBeGreaterThan(0.15);
    for (const w of ['memwalk 512 2', 'ptchurn 16 32', 'spawn 20']) expect(saving(w)).toBeGreaterThan(0.05);
  });
});

describe('VMware 2009: hardware-assisted (nested) paging against shadow paging', () => {
  it('is much faster on page-table-heavy work: no page-table exits at all', () => {
    for (const w of ['ptchurn 16 32', 'spawn 20']) {
      expect(cycles(w, 'hvm-nested')).toBeLessThan(0.52 * cycles(w, 'hvm-shadow'));
      expect(Number(rows.get(`${w}/hvm-nested/false`)!.counters.EXIT_SHADOW_WP ?? 0n)).toBe(0);
      expect(Number(rows.get(`${w}/hvm-shadow/false`)!.counters.EXIT_SHADOW_WP)).toBeGreaterThan(100);
    }
  });

  it('is slower on TLB-miss-heavy work over stable tables, without large pages: 5x the walk references', () => {
    const nested = get('memwalk 512 32', 'hvm-nested'), shadow = get('memwalk 512 32', 'hvm-shadow');
    expect(nested.walkRefsPerMiss / shadow.walkRefsPerMiss).toBeGreaterThan(4.5);
    expect(nested.cycles.total).toBeGreaterThan(1.1 * shadow.cycles.total);
    // The cache narrows the gap but does not close it here: 6 references against 3.
    expect(cycles('memwalk 512 32', 'hvm-nested', true)).toBeGreaterThan(cycles('memwalk 512 32', 'hvm-shadow') * 0.6);
  });

  it('but over tables touched only a few times the shadow fills cost more than the long walks', () => {
    // The crossover: the same pages, 2 rounds instead of 32.
    expect(cycles('memwalk 512 2', 'hvm-nested')).toBeLessThan(cycles('memwalk 512 2', 'hvm-shadow'));
    // The fills are paid once per page: the shadow's exits do not grow with the rounds.
    const ex = (w: string) => get(w, 'hvm-shadow').exits;
    expect(ex('memwalk 512 32')).toBeLessThan(ex('memwalk 512 2') * 1.05);
  });
});

describe('Adams and Agesen 2006: software against early hardware assist on fork-heavy work', () => {
  it('does not reproduce with trap-and-emulate: it exits for everything hvm-shadow exits for, and more', () => {
    const te = get('spawn 20', 'trap-emulate'), hs = get('spawn 20', 'hvm-shadow');
    expect(te.cycles.total).toBeGreaterThan(hs.cycles.total);
    expect(te.exits).toBeGreaterThan(hs.exits);
    // The page-table exits are the same kind and about the same number in both...
    const pt = (m: string) => Number(rows.get(`spawn 20/${m}/false`)!.counters.EXIT_SHADOW_WP) + Number(rows.get(`spawn 20/${m}/false`)!.counters.EXIT_SHADOW_FILL);
    expect(pt('trap-emulate') / pt('hvm-shadow')).toBeGreaterThan(0.9);
    expect(pt('trap-emulate') / pt('hvm-shadow')).toBeLessThan(1.2);
    // ...and trap-emulate adds the privileged instructions binary translation would have inlined.
    const csr = (m: string) => Number(rows.get(`spawn 20/${m}/false`)!.counters.EXIT_CSR ?? 0n);
    expect(csr('trap-emulate')).toBeGreaterThan(500);
    expect(csr('hvm-shadow') * 10).toBeLessThan(csr('trap-emulate'));
  });

  it('its mechanism does: software that batches page-table updates (pv) beats hardware that traps each', () => {
    for (const w of ['spawn 20', 'ptchurn 16 32']) {
      expect(cycles(w, 'pv')).toBeLessThan(0.6 * cycles(w, 'hvm-shadow'));
      expect(get(w, 'pv').exits * 5).toBeLessThan(get(w, 'hvm-shadow').exits);
    }
  });
});

describe('the committed study', () => {
  it('its config is the one the doc names, and expands to the points of its CSV', () => {
    const text = readFileSync(STUDY_CONFIG, 'utf8');
    const product = expand(parseSweepConfig(text, 'page-table-study.json', 'page-table-study'));
    const { rows: csv, meta } = parseCsv(readFileSync(STUDY_CSV, 'utf8'), STUDY_CSV);
    expect(meta.config).toEqual(JSON.parse(text));
    expect(meta.command).toBe('hvlab sweep docs/examples/page-table-study.json --out docs/study');
    expect(csv.map((r) => r.axes)).toEqual(product.points.map((p) => p.axes));
    expect(readFileSync(join(root, 'docs', 'page-table-study.md'), 'utf8')).toContain('node bin/hvlab.js sweep docs/examples/page-table-study.json --out docs/study');
  });

  it('its HTML is what its CSV draws', () => {
    const { rows: csv, meta } = parseCsv(readFileSync(STUDY_CSV, 'utf8'), STUDY_CSV);
    expect(toHtml(csv, meta), REGENERATE).toBe(readFileSync(STUDY_HTML, 'utf8'));
  }, 30_000);

  it('its CSV is what the core counts today (two of its points, run again)', async () => {
    const { rows: csv } = parseCsv(readFileSync(STUDY_CSV, 'utf8'), STUDY_CSV);
    const product = expand(parseSweepConfig(readFileSync(STUDY_CONFIG, 'utf8'), 'study', 'study'));
    const pick = product.points.filter((p) => p.run.command === 'memwalk 2048 4' && (p.run.mode === 'hvm-shadow' || p.run.mode === 'hvm-nested') && !p.run.nestedPwc);
    expect(pick).toHaveLength(2);
    const results = await runPoints(pick, { jobs: 2, label: (p) => p.run.mode, progress: { point: () => {} } });
    for (const r of results) {
      const committed = csv.find((c) => JSON.stringify(c.axes) === JSON.stringify(r.point.axes))!;
      for (const [k, v] of Object.entries(committed.counters)) expect(r.counters[k] ?? 0n, `${r.point.run.mode} ${k}: ${REGENERATE}`).toBe(v);
    }
  }, 120_000);
});
