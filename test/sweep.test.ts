// `hvlab sweep` (docs/sweep.md): a config is checked whole before anything runs (one line
// naming the field); the product runs on worker threads with every point's counters the same
// as measuring it alone; a rerun takes every unchanged point from the cache; `--plot` redraws
// the same report from the CSV. Small budgets: a few hvos points of well under a second each.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HvlabError } from '../src/errors.js';
import { expand, parseSweepConfig } from '../src/sweep/config.js';
import { currentBuild, pointHash, Progress, runPoints } from '../src/sweep/run.js';
import { COUNTER_NAMES, figures, metrics, parseCsv, toHtml, type Row } from '../src/sweep/report.js';
import { loadCoreModule } from '../src/node/load-core.js';
import { formatTlbModel } from '../src/tlb-model.js';
import { measure, releaseVms } from '../src/bench/workloads.js';
import { HVOS_ELF } from './support/hvos.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'hvlab.js');
const tmp = mkdtempSync(join(tmpdir(), 'hvlab-sweep-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function hvlab(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [bin, ...args], { cwd: tmp, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('error', reject);
    p.on('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
    p.stdin.end();
  });
}

function config(name: string, json: unknown): string {
  const p = join(tmp, `${name}.json`);
  writeFileSync(p, typeof json === 'string' ? json : JSON.stringify(json));
  return p;
}

/** The error a config gets, checked and expanded as `hvlab sweep` does before running. */
function errorOf(json: unknown): string {
  try {
    expand(parseSweepConfig(typeof json === 'string' ? json : JSON.stringify(json), 'c.json', 'c'));
  } catch (e) {
    expect(e).toBeInstanceOf(HvlabError);
    return (e as Error).message;
  }
  throw new Error('no error');
}

describe('bad configs: one line naming the field, before anything runs', () => {
  const cases: [string, unknown, string][] = [
    ['not JSON', '{"axes": ', 'c.json: not JSON ('],
    ['an unknown top-level field', { axes: {}, axis: {} }, "axis: unknown field (known: name, description, axes, costs, sections)"],
    ['sections not a list', { axes: {}, sections: {} }, 'sections: must be a list of {"name", "description", "axes"} objects'],
    ['a section\'s unknown field', { axes: {}, sections: [{ name: 'a', axes: {}, axis: {} }] }, 'sections[0].axis: unknown field (known: name, description, axes)'],
    ['a section without a name', { axes: {}, sections: [{ axes: {} }] }, "sections[0].name: must be 1-64 letters, digits, '.', '_' or '-' (it names the section's figure files), got undefined"],
    ['a repeated section', { axes: {}, sections: [{ name: 'a', axes: {} }, { name: 'a', axes: {} }] }, 'sections[1].name: repeats "a"'],
    ['a section\'s bad axis value', { axes: {}, sections: [{ name: 'a', axes: { mode: ['pv', 'hvm'] } }] },
      'sections[0].axes.mode[1]: unknown value "hvm" (known: native, trap-emulate, hvm-shadow, hvm-nested, pv)'],
    ['an unknown axis', { axes: { modes: ['native'] } }, 'axes.modes: unknown axis (known: guest, mode, workload, nestedPwc, io, tlbModel, tlbEntries, tlbWays, pwcEntries, npwcEntries, ntlbEntries, gstagePages, hugepages)'],
    ['an unknown mode', { axes: { mode: ['native', 'hvm'] } }, 'axes.mode[1]: unknown value "hvm" (known: native, trap-emulate, hvm-shadow, hvm-nested, pv)'],
    ['an unknown workload', { axes: { workload: ['memwalk', 'memwlak 4'] } },
      "axes.workload[1]: unknown workload 'memwlak' (known: hvos: compute, memwalk, ptchurn, spawn, syscall, ctxsw, io, disk; linux: forkwait, mmapchurn, pagewalk, nullsys, pipeping)"],
    ['a workload argument out of range', { axes: { workload: 'memwalk 20000 1' } }, "axes.workload: 'memwalk' argument 1 must be a whole number in 1..16384, got '20000'"],
    ['too many workload arguments', { axes: { workload: ['spawn 5 5'] } }, "axes.workload[0]: 'spawn' takes at most 1 argument, got 2"],
    ['a workload of a guest the config does not name', { axes: { workload: ['forkwait 5'] } },
      "axes.workload[0]: 'forkwait' is a linux workload, and the config's guests are hvos"],
    ['an empty list', { axes: { mode: [] } }, 'axes.mode: an empty list: the product would have no points'],
    ['an empty product', { axes: { guest: 'linux', mode: 'pv', workload: 'forkwait 5' } },
      'axes: the product is empty: every combination is skipped (the stock Linux kernel has no port to the hvlab PV interface (docs/pv-abi.md))'],
    ['a repeated value', { axes: { nestedPwc: [true, true] } }, 'axes.nestedPwc[1]: repeats true'],
    ['a boolean axis given a string', { axes: { nestedPwc: 'on' } }, 'axes.nestedPwc: must be true or false, got "on"'],
    ['a non-power-of-two', { axes: { tlbEntries: [64, 48] } }, 'axes.tlbEntries[1]: 48 is not a power of two'],
    ['a size out of range', { axes: { tlbEntries: 0 } }, 'axes.tlbEntries: 0 is outside 1..256'],
    ['a walk cache larger than the model holds', { axes: { pwcEntries: 512 } }, 'axes.pwcEntries: 512 is outside 1..256 (or 0: off)'],
    ['a bad model SPEC', { axes: { tlbModel: ['l1d=64x4', 'l1d=64:4'] } }, "axes.tlbModel[1]: tlb model: l1d: expected ENTRIESxWAYS (e.g. 32x4), got '64:4'"],
    ['ways larger than the base model\'s entries', { axes: { tlbModel: 'l1d=16x4', tlbWays: 32 } },
      'axes: the model TLB l1i=32x4,l1d=16x32,l2=512x8,repl=lru,seed=1,tags=on,sizes=split,pwc=16,npwc=16,ntlb=32 is not valid: tlb model: l1d: ways (32) must not exceed entries (16)'],
    ['1 GiB G-stage pages', { axes: { gstagePages: ['2m', '1g'] } },
      "axes.gstagePages[1]: 1g needs a guest of at least 1024 MiB (memMiB), and a sweep's guests have 128 MiB: below that every GiB falls back to 2 MiB leaves, the 2m point again (docs/superpages.md)"],
    ['a walk cache of 3 entries', { axes: { npwcEntries: [0, 3] } }, 'axes.npwcEntries[1]: 3 is not a power of two'],
    ['ways larger than entries', { axes: { tlbEntries: [16, 64], tlbWays: [4, 32] } }, 'axes.tlbWays: 32 ways is more than 16 entries (axes.tlbEntries)'],
    ['an unknown G-stage page size', { axes: { gstagePages: ['4k', '4m'] } }, 'axes.gstagePages[1]: unknown value "4m" (known: 4k, 2m, 1g)'],
    ['a bad cost', { axes: {}, costs: { exit: -1 } }, "c.json: costs: cost 'exit' must be a number >= 0, got -1"],
    ['a bad name', { name: '../x', axes: {} }, "name: must be 1-64 letters, digits, '.', '_' or '-' (it names the output files), got \"../x\""],
  ];
  it.each(cases)('%s', (_, json, message) => {
    const m = errorOf(json);
    expect(m.includes('\n')).toBe(false);
    if (message.endsWith('(')) expect(m.startsWith(message)).toBe(true);
    else expect(m).toBe(message);
  });

  it('the model axes build one model per point: the SPEC, then the sizes over it (the default model without a SPEC)', () => {
    const models = (axes: unknown) => expand(parseSweepConfig(JSON.stringify({ axes }), 'c.json', 'c')).points.map((p) => p.run.vm.tlbModel && formatTlbModel(p.run.vm.tlbModel));
    expect(models({})).toEqual([undefined]);
    expect(models({ tlbModel: 'l2=off,pwc=0', tlbEntries: [8, 64], tlbWays: 8 })).toEqual([
      'l1i=32x4,l1d=8x8,l2=off,repl=lru,seed=1,tags=on,sizes=split,pwc=0,npwc=16,ntlb=32',
      'l1i=32x4,l1d=64x8,l2=off,repl=lru,seed=1,tags=on,sizes=split,pwc=0,npwc=16,ntlb=32',
    ]);
    expect(models({ ntlbEntries: [0, 64] })).toEqual([
      'l1i=32x4,l1d=32x4,l2=512x8,repl=lru,seed=1,tags=on,sizes=split,pwc=16,npwc=16,ntlb=0',
      'l1i=32x4,l1d=32x4,l2=512x8,repl=lru,seed=1,tags=on,sizes=split,pwc=16,npwc=16,ntlb=64',
    ]);
    // One model, two spellings: one cache entry.
    const run = (axes: unknown) => expand(parseSweepConfig(JSON.stringify({ axes }), 'c.json', 'c')).points[0].run;
    expect(pointHash(run({ tlbModel: 'ntlb=64,l1d=32x4' }), currentBuild())).toBe(pointHash(run({ ntlbEntries: 64 }), currentBuild()));
    expect(pointHash(run({ ntlbEntries: 64 }), currentBuild())).not.toBe(pointHash(run({ ntlbEntries: 32 }), currentBuild()));
  });

  it('sections: each its own product after the main one, each point led by its section\'s name', () => {
    const p = expand(parseSweepConfig(JSON.stringify({ axes: { mode: ['native', 'pv'] }, sections: [
      { name: 'sizes', axes: { tlbEntries: [16, 64] } }, { name: 'nested', axes: { mode: 'hvm-nested', nestedPwc: [false, true] } },
    ] }), 'c.json', 'c'));
    expect(p.points.map((x) => [x.axes.section, x.run.mode, x.run.nestedPwc, x.run.vm.tlbModel?.l1d.entries])).toEqual([
      ['', 'native', false, undefined], ['', 'pv', false, undefined], ['sizes', 'native', false, 16], ['sizes', 'native', false, 64],
      ['nested', 'hvm-nested', false, undefined], ['nested', 'hvm-nested', true, undefined],
    ]);
    expect(Object.keys(p.points[0].axes)[0]).toBe('section');
    // Without sections a point has no section.
    expect('section' in expand(parseSweepConfig('{"axes": {}}', 'c.json', 'c')).points[0].axes).toBe(false);
  });

  it('gstagePages and hugepages set the VM and the command line, and skip where they cannot act', () => {
    const p = expand(parseSweepConfig(JSON.stringify({ axes: {
      guest: ['hvos', 'linux'], mode: ['native', 'hvm-nested'], workload: ['memwalk 8 1', 'forkwait 2'], gstagePages: ['4k', '2m'], hugepages: [false, true],
    } }), 'c.json', 'c'));
    expect(p.points.map((x) => `${x.run.guest}/${x.run.mode}/${x.run.vm.gstagePages ?? '-'}/${x.run.bootargs.join(' ')}`)).toEqual([
      'hvos/native/-/', 'hvos/native/-/hugepages', 'hvos/hvm-nested/-/', 'hvos/hvm-nested/-/hugepages',
      'hvos/hvm-nested/2m/', 'hvos/hvm-nested/2m/hugepages', 'linux/native/-/', 'linux/hvm-nested/-/', 'linux/hvm-nested/2m/',
    ]);
    const reasons = new Set(p.skipped.map((s) => s.reason));
    expect(reasons).toContain('hugepages is hvos\'s boot argument (Linux would ignore it)');
    expect(reasons).toContain('the G-stage page size needs a hypervisor (native runs on machine RAM)');
  });

  it('the product skips what cannot run or would repeat a point, and says why', () => {
    const p = expand(parseSweepConfig(JSON.stringify({ axes: {
      guest: ['hvos', 'linux'], mode: ['hvm-shadow', 'hvm-nested', 'pv'], workload: ['memwalk 8 1', 'forkwait 2'], nestedPwc: [false, true],
    } }), 'c.json', 'c'));
    // hvos: memwalk in shadow, nested, nested+pwc, pv; linux: forkwait in shadow, nested, nested+pwc.
    expect(p.points.map((x) => `${x.run.guest}/${x.run.mode}/${x.run.command}/${x.run.nestedPwc}`)).toEqual([
      'hvos/hvm-shadow/memwalk 8 1/false', 'hvos/hvm-nested/memwalk 8 1/false', 'hvos/hvm-nested/memwalk 8 1/true', 'hvos/pv/memwalk 8 1/false',
      'linux/hvm-shadow/forkwait 2/false', 'linux/hvm-nested/forkwait 2/false', 'linux/hvm-nested/forkwait 2/true',
    ]);
    const reasons = new Set(p.skipped.map((s) => s.reason));
    expect(reasons).toEqual(new Set(['forkwait is not a hvos workload', 'memwalk is not a linux workload',
      'the nested page-walk cache acts only in hvm-nested', 'the stock Linux kernel has no port to the hvlab PV interface (docs/pv-abi.md)']));
    // A workload named alone gets the bench's arguments, so both spellings are one cache entry.
    const a = expand(parseSweepConfig('{"axes": {"workload": "memwalk"}}', 'c.json', 'c')).points[0];
    const b = expand(parseSweepConfig('{"axes": {"workload": " memwalk   512 8 "}}', 'c.json', 'c')).points[0];
    expect(a.run.command).toBe('memwalk 512 8');
    expect(pointHash(a.run, currentBuild())).toBe(pointHash(b.run, currentBuild()));
  });

  it('the cache key changes with the point, the hvlab version, the core build and the guest image', () => {
    const run = expand(parseSweepConfig('{"axes": {"workload": "memwalk 8 1"}}', 'c.json', 'c')).points[0].run;
    const build = currentBuild();
    const h = pointHash(run, build);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(pointHash({ ...run, nestedPwc: true }, build)).not.toBe(h);
    expect(pointHash({ ...run, command: 'memwalk 8 2' }, build)).not.toBe(h);
    expect(pointHash(run, { ...build, version: '9.9.9' })).not.toBe(h);
    expect(pointHash(run, { ...build, core: '0'.repeat(64) })).not.toBe(h);
    expect(pointHash(run, { ...build, guests: { ...build.guests, hvos: 'other' } })).not.toBe(h);
    // Another guest's image does not touch an hvos point.
    expect(pointHash(run, { ...build, guests: { ...build.guests, linux: 'other' } })).toBe(h);
  });

  it.each([
    ['an unknown axis', { axes: { tlb: [1] } }, 'hvlab: axes.tlb: unknown axis'],
    ['ways larger than entries', { axes: { tlbEntries: 8, tlbWays: 16 } }, 'hvlab: axes.tlbWays: 16 ways is more than 8 entries (axes.tlbEntries)'],
    ['an empty product', { axes: { workload: [] } }, 'hvlab: axes.workload: an empty list: the product would have no points'],
  ])('on the command line, %s: exit 2, one line on stderr, nothing written', async (name, json, message) => {
    const out = join(tmp, `never-${name.replace(/\W/g, '-')}`);
    const r = await hvlab(['sweep', config(`bad-${name.replace(/\W/g, '-')}`, json), '--out', out, '--no-cache']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr.startsWith(message)).toBe(true);
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it.each([
    [['sweep'], 'hvlab: give one CONFIG file (see hvlab sweep --help)'],
    [['sweep', 'missing.json'], 'hvlab: cannot read the config missing.json'],
    [['sweep', 'x.json', '--jobs', '0'], "hvlab: --jobs: '0' is not a positive whole number"],
    [['sweep', 'x.json', '--cache', 'c', '--no-cache'], 'hvlab: --cache and --no-cache contradict each other'],
    [['sweep', '--plot', 'missing.csv'], 'hvlab: --plot: cannot read missing.csv'],
  ])('hvlab %j: one line', async (args, message) => {
    const r = await hvlab(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(message + '\n');
  }, 60_000);
});

describe('TOML configs', () => {
  it('the TOML example is the JSON example', () => {
    const ex = (f: string) => join(root, 'docs', 'examples', f);
    const toml = parseSweepConfig(readFileSync(ex('sweep-nested-pwc.toml'), 'utf8'), 'sweep-nested-pwc.toml', 'x');
    const json = parseSweepConfig(readFileSync(ex('sweep-nested-pwc.json'), 'utf8'), 'sweep-nested-pwc.json', 'x');
    expect(toml).toEqual(json);
    expect(expand(toml).points).toHaveLength(6);
  });

  it.each([
    ['[axes]\nmode = { a = 1 }\n', 'c.toml: line 2: inline tables are not supported'],
    ['[axes]\nmode = "native\n', 'c.toml: line 2: a string is not closed on its line'],
    ['[axes]\nmode = "native"\nmode = "pv"\n', "c.toml: line 3: 'mode' is defined twice"],
    ['[axes]\nmode "native"\n', "c.toml: line 2: expected '=' after 'mode'"],
    ['[axes]\nmode = ["native" "pv"]\n', "c.toml: line 2: expected ',' or ']' in an array, found '\"'"],
    ['[axes]\naxes.mode = "pv"\n', 'c.toml: line 2: dotted keys are not supported'],
    ['[axes]\nmode = "pv" extra\n', "c.toml: line 2: unexpected 'e' (one key = value a line)"],
    ['[axes]\nnestedPwc = yes\n', "c.toml: line 2: expected a value (a \"string\", number, true, false or [array]), found 'yes'"],
    ['[axes]\nmodes = ["pv"]\n', 'axes.modes: unknown axis (known: guest, mode, workload, nestedPwc, io, tlbModel, tlbEntries, tlbWays, pwcEntries, npwcEntries, ntlbEntries, gstagePages, hugepages)'],
  ])('%j: %s', (text, message) => {
    expect(() => expand(parseSweepConfig(text, 'c.toml', 'c'))).toThrow(message);
    try { parseSweepConfig(text, 'c.toml', 'c'); } catch (e) { expect((e as Error).message).toBe(message); }
  });
});

describe('the report\'s figures', () => {
  it('against a TLB size, once such an axis varies: miss rate, walk references and modeled time as lines', () => {
    // Made-up rows (only the drawing is under test; the real axes are measured below): misses
    // halve as the entries double.
    const rows = [16, 64, 256].flatMap((entries) => ['hvm-shadow', 'hvm-nested'].map((mode) => ({
      axes: { guest: 'hvos', mode, workload: 'memwalk 512 8', nestedPwc: false, io: 'emulated', tlbEntries: entries },
      counters: { TLB_LOAD_LOOKUPS: 1000n, TLB_LOAD_MISSES: BigInt(8192 / entries), WALK_REFS: BigInt(3 * 8192 / entries), INSTRET_S: 1000n },
    })));
    const figs = figures(rows, {});
    expect(figs.map((f) => f.id)).toEqual(['tlb-miss-rate', 'walk-refs-per-miss', 'modeled-time']);
    // One line per mode, a point per size, at x = log2(entries) spaced evenly.
    const lines = [...figs[0].svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1].split(' ').map((p) => p.split(',').map(Number)));
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l).toHaveLength(3);
      expect(l[1][0] - l[0][0]).toBeCloseTo(l[2][0] - l[1][0], 5);
      expect(l[0][1]).toBeLessThan(l[1][1]); // SVG y grows downwards: the rate falls
    }
    expect(figs[0].svg).toContain('<title>hvm-shadow: 16 -&gt; 0.512</title>');
  });

  it('without a size axis: walk references per miss, modeled time, and relative to native when native is in', () => {
    const row = (mode: string, refs: bigint) => ({ axes: { guest: 'hvos', mode, workload: 'memwalk 8 1', nestedPwc: false, io: 'emulated' },
      counters: { TLB_LOAD_MISSES: 10n, WALK_REFS: refs, INSTRET_S: 100n } });
    expect(figures([row('hvm-shadow', 30n), row('hvm-nested', 150n)], {}).map((f) => f.id)).toEqual(['walk-refs-per-miss', 'modeled-time']);
    const figs = figures([row('native', 30n), row('hvm-nested', 150n)], {});
    expect(figs.map((f) => f.id)).toEqual(['walk-refs-per-miss', 'modeled-time', 'modeled-time-vs-native']);
    // native: 100 + 30 x 20 = 700 cycles; nested: 100 + 150 x 20 = 3100, 4.43 x native.
    expect(figs[2].svg).toContain('<title>memwalk 8 1, hvm-nested: 4.43</title>');
    expect(figs[0].svg).toContain('<title>memwalk 8 1, hvm-nested: 15</title>');
  });
});

describe('progress', () => {
  it('a line per point when stderr is not a terminal, a bar with an ETA when it is', () => {
    const lines: string[] = [];
    const plain = new Progress(3, 2, { isTTY: false, write: (s) => { lines.push(s); return true; } });
    plain.point('a', undefined);
    plain.point('b', 1.25);
    plain.point('c', 0.5);
    expect(lines[0]).toBe('sweep: [1/3] a: cached\n');
    expect(lines[1]).toMatch(/^sweep: \[2\/3\] b: 1\.3 s, ETA \d+:\d\d\n$/);
    expect(lines[2]).toBe('sweep: [3/3] c: 0.5 s\n');
    const tty: string[] = [];
    const bar = new Progress(2, 2, { isTTY: true, write: (s) => { tty.push(s); return true; } });
    bar.point('a', 1);
    bar.point('b', 1);
    expect(tty[0]).toMatch(/^\r\x1b\[K\[#{15}\.{15}\] 1\/2 {2}ETA \d+:\d\d$/);
    expect(tty[1]).toMatch(/^\r\x1b\[K\[#{30}\] 2\/2/);
    expect(tty[2]).toBe('\n');
  });
});

describe('a small sweep', () => {
  const cache = join(tmp, 'cache');
  const out = join(tmp, 'out');
  const axes = { mode: ['hvm-shadow', 'hvm-nested'], workload: ['memwalk 64 4'], nestedPwc: [false, true] };
  let first: { status: number | null; stdout: string; stderr: string };
  beforeAll(async () => {
    first = await hvlab(['sweep', config('small', { name: 'small', axes }), '--out', out, '--cache', cache, '--jobs', '2']);
  }, 120_000);

  it('runs every point on worker threads and writes CSV, JSON, HTML and the figures', () => {
    expect(first.stderr).not.toContain('hvlab:');
    expect(first.status).toBe(0);
    expect(first.stdout).toBe(`hvlab sweep: 3 points (3 run, 0 from the cache) -> ${join(out, 'small')}.{csv,json,html}\n`);
    // Not a terminal: a line per point, and one for the combination the product skips.
    const lines = first.stderr.split('\n').filter(Boolean);
    expect(lines.filter((l) => /^sweep: \[\d\/3\] /.test(l))).toHaveLength(3);
    expect(lines).toContain('sweep: not run: hvm-shadow / nestedPwc: the nested page-walk cache acts only in hvm-nested');
    expect(readdirSync(out).sort()).toEqual(['small-modeled-time.svg', 'small-walk-refs-per-miss.svg', 'small.csv', 'small.html', 'small.json']);
    const json = JSON.parse(readFileSync(join(out, 'small.json'), 'utf8')) as { points: { axes: Record<string, unknown>; counters: Record<string, number> }[]; command: string };
    expect(json.points).toHaveLength(3);
    expect(json.command).toBe(`hvlab sweep ${join(tmp, 'small.json')} --out ${out}`);
    expect(Object.keys(json.points[0].counters)).toEqual([...COUNTER_NAMES]);
    const html = readFileSync(join(out, 'small.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain(`Reproduce: <code>hvlab sweep ${join(tmp, 'small.json')} --out ${out}</code>`);
    expect(html).not.toMatch(/<script|src="http/);
  });

  it('each point counts exactly what measuring it alone counts', async () => {
    const csv = parseCsv(readFileSync(join(out, 'small.csv'), 'utf8'), 'small.csv');
    const source = await loadCoreModule();
    const image = new Uint8Array(readFileSync(HVOS_ELF));
    try {
      for (const row of csv.rows) {
        const m = await measure(image, source, row.axes.mode as 'hvm-nested', 'memwalk', 'memwalk 64 4', { nestedPwc: row.axes.nestedPwc as boolean });
        for (const k of COUNTER_NAMES) expect(row.counters[k], `${String(row.axes.mode)} ${k}`).toBe(m.counters[k] ?? 0n);
      }
    } finally {
      await releaseVms();
    }
    // The cache saw the nested page-walk cache work: fewer G-stage references, same misses.
    const [, off, on] = csv.rows;
    expect(on.counters.TLB_LOAD_MISSES).toBe(off.counters.TLB_LOAD_MISSES);
    expect(on.counters.WALK_REFS_G < off.counters.WALK_REFS_G).toBe(true);
  }, 120_000);

  it('a rerun computes nothing and writes the same files; a new value computes only its points', async () => {
    const before = ['small.csv', 'small.html'].map((f) => readFileSync(join(out, f), 'utf8'));
    const again = await hvlab(['sweep', join(tmp, 'small.json'), '--out', out, '--cache', cache, '--jobs', '2']);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('3 points (0 run, 3 from the cache)');
    expect(['small.csv', 'small.html'].map((f) => readFileSync(join(out, f), 'utf8'))).toEqual(before);
    // A damaged cache entry is not trusted: that point runs again.
    const entries = readdirSync(cache).filter((f) => f.endsWith('.json'));
    expect(entries).toHaveLength(3);
    writeFileSync(join(cache, entries[0]), '{"hash": "');
    const more = await hvlab(['sweep', config('small', { name: 'small', axes: { ...axes, workload: ['memwalk 64 4', 'ptchurn 2 2'] } }),
      '--out', out, '--cache', cache, '--jobs', '2']);
    expect(more.status).toBe(0);
    expect(more.stdout).toContain('6 points (4 run, 2 from the cache)');
  }, 120_000);

  it('--plot redraws the same report from the CSV alone', async () => {
    const csv = join(tmp, 'copy.csv');
    writeFileSync(csv, readFileSync(join(out, 'small.csv')));
    const r = await hvlab(['sweep', '--plot', csv]);
    expect(r.status).toBe(0);
    expect(readFileSync(join(tmp, 'copy.html'), 'utf8')).toBe(readFileSync(join(out, 'small.html'), 'utf8'));
  }, 60_000);

  it('--plot refuses a CSV that is not a sweep\'s, naming the line', () => {
    expect(() => parseCsv('a,b\n1,2\n', 'x.csv')).toThrow("x.csv: not a sweep CSV (its first line is not '# hvlab sweep 1...')");
    const good = readFileSync(join(out, 'small.csv'), 'utf8').split('\n');
    const header = good.findIndex((l) => !l.startsWith('#'));
    const cut = [...good.slice(0, header + 1), good[header + 1].split(',').slice(0, -1).join(',')].join('\n');
    // 13 axis columns, 16 derived ones, then the counters.
    expect(() => parseCsv(cut, 'x.csv')).toThrow(`x.csv: line ${header + 2}: ${COUNTER_NAMES.length + 28} cells, the header has ${COUNTER_NAMES.length + 29}`);
    const { rows, meta } = parseCsv(good.join('\n'), 'x.csv');
    expect(toHtml(rows, meta)).toBe(readFileSync(join(out, 'small.html'), 'utf8'));
  });
});

describe('the model-TLB and superpage axes take effect (small hvos runs on worker threads)', () => {
  const rows = new Map<string, Row>();
  const sweeps: Record<string, unknown> = {
    // No L2 and no page-walk cache, so the L1 data TLB alone decides: 64 pages fit 128 entries, not 8.
    size: { mode: 'native', workload: 'memwalk 64 4', tlbModel: 'l2=off,pwc=0', tlbEntries: [8, 128] },
    caches: { mode: 'hvm-nested', workload: 'memwalk 64 4', tlbModel: 'l2=off', npwcEntries: [0, 16], ntlbEntries: [0, 32] },
    gstage: { mode: 'hvm-nested', workload: 'memwalk 64 4', gstagePages: ['4k', '2m'] },
    // 512 pages: the heap covers a whole aligned 2 MiB, which hvos maps with one leaf.
    huge: { mode: 'native', workload: 'memwalk 512 4', hugepages: [false, true] },
  };
  const key = (axes: Record<string, unknown>) => JSON.stringify(axes);
  const get = (name: string, axes: Record<string, unknown>) => {
    const want = key({ ...(sweeps[name] as object), ...axes });
    const r = [...rows.entries()].find(([k]) => k.startsWith(`${name}:`) && Object.entries(JSON.parse(want) as object)
      .every(([a, v]) => (JSON.parse(k.slice(name.length + 1)) as Record<string, unknown>)[a] === v));
    if (!r) throw new Error(`no point ${name} ${want}`);
    return r[1];
  };
  beforeAll(async () => {
    const all = Object.entries(sweeps).flatMap(([name, axes]) => expand(parseSweepConfig(JSON.stringify({ axes }), 'c.json', 'c')).points.map((p) => ({ name, p })));
    const results = await runPoints(all.map((x) => x.p), { jobs: 2, label: (p) => JSON.stringify(p.axes), progress: { point: () => {} } });
    results.forEach((r, i) => rows.set(`${all[i].name}:${key(r.point.axes)}`, { axes: r.point.axes, counters: r.counters }));
  }, 240_000);

  it('tlbEntries: a bigger model L1 data TLB misses less; the fast TLB, and so the guest, do not change', () => {
    const small = get('size', { tlbEntries: 8 }), big = get('size', { tlbEntries: 128 });
    const ms = metrics(small, {}), mb = metrics(big, {});
    expect([ms.tlb, mb.tlb]).toEqual(['model', 'model']);
    expect(big.counters.TLBM_L1D_LOOKUPS).toBe(small.counters.TLBM_L1D_LOOKUPS);
    // 678 misses against 276: the rest are the kernel's and the shell's pages, which 128 entries hold too.
    expect(Number(big.counters.TLBM_L1D_MISSES) * 2).toBeLessThan(Number(small.counters.TLBM_L1D_MISSES));
    expect(mb.tlbMissRate * 2).toBeLessThan(ms.tlbMissRate);
    expect(mb.cycles.total).toBeLessThan(ms.cycles.total);
    for (const k of ['TLB_LOAD_MISSES', 'TLB_LOAD_LOOKUPS', 'WALK_REFS', 'INSTRET_U', 'INSTRET_S']) expect(big.counters[k], k).toBe(small.counters[k]);
    // Without the model the miss rate is the fast TLB's.
    expect(metrics(get('huge', { hugepages: false }), {}).tlb).toBe('fast');
  });

  it('npwcEntries and ntlbEntries: each cuts the G-stage references of the same walks', () => {
    const refsG = (npwc: number, ntlb: number) => Number(get('caches', { npwcEntries: npwc, ntlbEntries: ntlb }).counters.TLBM_WALK_REFS_G);
    const walks = (npwc: number, ntlb: number) => get('caches', { npwcEntries: npwc, ntlbEntries: ntlb }).counters.TLBM_WALKS;
    expect(walks(16, 32)).toBe(walks(0, 0));
    expect(refsG(16, 0)).toBeLessThan(refsG(0, 0));
    expect(refsG(0, 32)).toBeLessThan(refsG(0, 0));
    expect(refsG(16, 32)).toBeLessThan(Math.min(refsG(16, 0), refsG(0, 32)));
    expect(Number(get('caches', { npwcEntries: 16, ntlbEntries: 32 }).counters.TLBM_NTLB_HITS)).toBeGreaterThan(0);
    expect(Number(get('caches', { npwcEntries: 0, ntlbEntries: 0 }).counters.TLBM_NTLB_LOOKUPS ?? 0n)).toBe(0);
  });

  it('gstagePages 2m: 2 G-stage references a step instead of 3, the same misses', () => {
    const k4 = get('gstage', { gstagePages: '4k' }), m2 = get('gstage', { gstagePages: '2m' });
    expect(m2.counters.TLB_LOAD_MISSES).toBe(k4.counters.TLB_LOAD_MISSES);
    expect(m2.counters.WALK_REFS_VS).toBe(k4.counters.WALK_REFS_VS);
    expect(Number(m2.counters.WALK_REFS_G) / Number(k4.counters.WALK_REFS_G)).toBeGreaterThan(0.6);
    expect(Number(m2.counters.WALK_REFS_G) / Number(k4.counters.WALK_REFS_G)).toBeLessThan(0.7);
  });

  it('hugepages: hvos walks its heap in 2 MiB pages, so native walks are shorter', () => {
    const off = get('huge', { hugepages: false }), on = get('huge', { hugepages: true });
    expect(Number(on.counters.WALK_REFS)).toBeLessThan(0.8 * Number(off.counters.WALK_REFS));
    expect(Number(on.counters.WALK_REFS) / Number(on.counters.WALKS)).toBeLessThan(2.1);
    expect(Number(off.counters.WALK_REFS) / Number(off.counters.WALKS)).toBeGreaterThan(2.9);
    expect(Number(on.counters.TLB_LOAD_MISSES)).toBeLessThanOrEqual(Number(off.counters.TLB_LOAD_MISSES));
  });
});
