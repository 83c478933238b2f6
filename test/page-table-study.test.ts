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
  // The study's sections, as small: the model TLB's size, its nested walk caches, large pages.
  sections: [
    { name: 'tlb-size', axes: { mode: ['native', 'hvm-nested'], workload: 'memwalk 64 8', tlbModel: 'l2=off', tlbEntries: [16, 128] } },
    { name: 'walk-caches', axes: { mode: 'hvm-nested', workload: ['memwalk 512 8', 'ptchurn 16 32', 'spawn 20'], tlbModel: 'on', ntlbEntries: [0, 32] } },
    { name: 'large-pages', axes: {
      guest: ['hvos', 'linux'], mode: ['native', 'hvm-shadow', 'hvm-nested'], workload: ['memwalk 2048 8', 'forkwait 5'],
      tlbModel: 'on', gstagePages: ['4k', '2m'], hugepages: [false, true],
    } },
  ],
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
  for (const r of results) {
    const row = { axes: r.point.axes, counters: r.counters };
    if (r.point.axes.section === '') rows.set(`${r.point.run.command}/${r.point.run.mode}/${r.point.run.nestedPwc}`, row);
    else sections.set(sectionKey(String(r.point.axes.section), r.point.axes), row);
  }
}, 300_000);

/** A section's points by the values of their axes that vary in it. */
const sections = new Map<string, Row>();
const VARIED = ['mode', 'workload', 'tlbEntries', 'ntlbEntries', 'gstagePages', 'hugepages'];
const sectionKey = (section: string, axes: Record<string, unknown>) => `${section}:${VARIED.map((k) => String(axes[k] ?? '')).join('/')}`;
const at = (section: string, axes: Record<string, unknown>) => {
  const full = { tlbEntries: '', ntlbEntries: '', gstagePages: '4k', hugepages: false, ...axes };
  const r = sections.get(sectionKey(section, full));
  if (!r) throw new Error(`no point ${sectionKey(section, full)}`);
  return metrics(r, {});
};

describe('the model TLB: the miss rate against entries', () => {
  it('falls once the L1 data TLB holds the working set (64 pages: 16 entries miss, 128 hold them), natively and nested', () => {
    for (const mode of ['native', 'hvm-nested']) {
      const small = at('tlb-size', { mode, workload: 'memwalk 64 8', tlbEntries: 16 }), big = at('tlb-size', { mode, workload: 'memwalk 64 8', tlbEntries: 128 });
      expect([small.tlb, big.tlb]).toEqual(['model', 'model']);
      expect(big.tlbMissRate * 2).toBeLessThan(small.tlbMissRate);
      expect(big.cycles.total).toBeLessThan(small.cycles.total);
    }
  });
});

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

describe('Bhargava et al. 2008: the nested TLB (3-7% more in the paper)', () => {
  const saving = (w: string) => 1 - at('walk-caches', { mode: 'hvm-nested', workload: w, ntlbEntries: 32 }).cycles.total /
    at('walk-caches', { mode: 'hvm-nested', workload: w, ntlbEntries: 0 }).cycles.total;
  it('saves something on page-table work, below the paper\'s range: the model\'s other caches leave it little', () => {
    for (const w of ['ptchurn 16 32', 'spawn 20']) {
      expect(saving(w)).toBeGreaterThan(0.005);
      expect(saving(w)).toBeLessThan(0.07);
    }
  });

  it('saves next to nothing on memwalk: 512 data pages are beyond its 32 entries\' reach', () => {
    expect(saving('memwalk 512 8')).toBeGreaterThanOrEqual(0);
    expect(saving('memwalk 512 8')).toBeLessThan(0.01);
  });
});

describe('large pages (Bhargava et al. 2008: 3-22%; VMware 2009: the remedy for nested paging\'s long walks)', () => {
  const lp = (mode: string, workload: string, gstagePages: string, hugepages: boolean) =>
    at('large-pages', { mode, workload, gstagePages, hugepages }).cycles.total;
  it('2 MiB G-stage pages cut Linux\'s nested modeled time inside the paper\'s 3-22% (forkwait)', () => {
    const s = 1 - lp('hvm-nested', 'forkwait 5', '2m', false) / lp('hvm-nested', 'forkwait 5', '4k', false);
    expect(s).toBeGreaterThan(0.03);
    expect(s).toBeLessThan(0.22);
  });

  it('on memwalk they do more than the paper\'s 22%: all it does is miss the TLB', () => {
    const base = lp('hvm-nested', 'memwalk 2048 8', '4k', false);
    expect(1 - lp('hvm-nested', 'memwalk 2048 8', '2m', false) / base).toBeGreaterThan(0.22);
    expect(1 - lp('hvm-nested', 'memwalk 2048 8', '2m', true) / base).toBeGreaterThan(0.22);
    // The guest's 2 MiB pages alone do little under nested paging: a two-stage TLB entry is the
    // smaller page of the two stages, so the reach stays 4 KiB; only the VS walk is shorter.
    expect(1 - lp('hvm-nested', 'memwalk 2048 8', '4k', true) / base).toBeLessThan(0.15);
  });

  it('with large pages in both stages nested paging costs about what native does; without them clearly more', () => {
    // 1.33x native here at 8 rounds; the study's 16 and 64 rounds give 1.49x and 2.04x.
    const ratio = (g: string, h: boolean) => lp('hvm-nested', 'memwalk 2048 8', g, h) / lp('native', 'memwalk 2048 8', '4k', h);
    expect(ratio('4k', false)).toBeGreaterThan(1.25);
    expect(ratio('2m', true)).toBeLessThan(1.1);
  });

  it('shadow paging keeps the guest\'s large pages only with 2 MiB placement (else it splinters them)', () => {
    const misses = (g: string) => at('large-pages', { mode: 'hvm-shadow', workload: 'memwalk 2048 8', gstagePages: g, hugepages: true }).tlbMisses;
    expect(misses('2m') * 10).toBeLessThan(misses('4k'));
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
