// The model TLB and walk caches (assembly/mmu/tlbmodel.ts, src/tlb-model.ts; docs/cost-model.md
// "The model TLB"): its SPEC parser, that it changes nothing the guest or the other counters
// see, and the directions its counters must show on hvos's memwalk, ptchurn and ctxsw.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { MODES, runGuest, Vm, type CoreSource, type Mode } from '../src/vm.js';
import { loadCoreModule } from '../src/node/load-core.js';
import { bootToPrompt, type BenchGuest } from '../src/bench/workloads.js';
import { DEFAULT_TLB_MODEL, formatTlbModel, parseTlbModel, type TlbModelConfig } from '../src/tlb-model.js';
import { modeledTranslation } from '../src/cost-model.js';
import { HVOS_ELF } from './support/hvos.js';

const image = new Uint8Array(readFileSync(HVOS_ELF));
const n = (c: Record<string, bigint>, k: string) => Number(c[k] ?? 0n);
let source: CoreSource;
beforeAll(async () => { source = await loadCoreModule(); });

const PROMPT_GUEST = { prompt: 'hvos$ ', bootLimit: 2_000_000_000 } as BenchGuest;

/** Counter deltas of `command` at hvos's prompt, after the `warm` commands (tables built). */
async function run(mode: Mode, spec: string, command: string, warm: string[] = [command]): Promise<Record<string, bigint>> {
  const vm = await Vm.create({ mode, firmware: 'builtin', tlbModel: parseTlbModel(spec) }, source);
  try {
    vm.load(image, 'hvos.elf');
    bootToPrompt(vm, PROMPT_GUEST);
    for (const w of warm) { vm.sendInput(`${w}\n`); bootToPrompt(vm, PROMPT_GUEST); }
    const before = vm.counters();
    vm.sendInput(`${command}\n`);
    bootToPrompt(vm, PROMPT_GUEST);
    const after = vm.counters();
    return Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0n)]));
  } finally {
    await vm.close();
  }
}

describe('parseTlbModel', () => {
  it('reads every key and writes the same SPEC back', () => {
    const spec = 'l1i=32x4,l1d=64x8,l2=1024x8,repl=random,seed=7,tags=off,sizes=shared,pwc=32,npwc=8,ntlb=64';
    const c = parseTlbModel(spec);
    expect(c).toEqual({ l1i: { entries: 32, ways: 4 }, l1d: { entries: 64, ways: 8 }, l2: { entries: 1024, ways: 8 },
      repl: 'random', seed: 7, tags: false, sizes: 'shared', pwc: 32, npwc: 8, ntlb: 64 });
    expect(formatTlbModel(c)).toBe(spec);
    expect(parseTlbModel('')).toEqual(DEFAULT_TLB_MODEL);
    expect(parseTlbModel('l2=off,pwc=0').l2).toBeNull();
  });

  it.each([
    ['l1d=32x4,bogus=1', 'tlb model: bogus: unknown key'],
    ['l1d=48x4', 'tlb model: l1d: entries must be a power of two, got 48'],
    ['l1i=32x3', 'tlb model: l1i: ways must be a power of two, got 3'],
    ['l2=16x32', 'tlb model: l2: ways (32) must not exceed entries (16)'],
    ['pwc=12', 'tlb model: pwc: entries must be 0 or a power of two, got 12'],
    ['l2=8192x8', 'tlb model: l2: at most 4096 entries, got 8192'],
    ['repl=fifo', 'tlb model: repl: must be lru or random'],
    ['tags=yes', 'tlb model: tags: must be on or off'],
    ['l1d=32', 'tlb model: l1d: expected ENTRIESxWAYS'],
    ['l1d=32x4,l1d=64x4', 'tlb model: l1d: given twice'],
  ])('%s is refused with one line naming the field', (spec, msg) => {
    let err: Error | undefined;
    try { parseTlbModel(spec); } catch (e) { err = e as Error; }
    expect(err?.message.startsWith(msg)).toBe(true);
    expect(err?.message).not.toContain('\n');
  });

  it('is checked in a VmConfig too', async () => {
    const bad = { ...DEFAULT_TLB_MODEL, l1d: { entries: 64, ways: 128 } } as TlbModelConfig;
    await expect(Vm.create({ tlbModel: bad }, source)).rejects.toThrow('tlb model: l1d: ways (128) must not exceed entries (64)');
  });
});

describe('the model changes nothing else', () => {
  it.each(MODES)('%s: console and every other counter are byte-identical with the model on', async (mode) => {
    const input = 'memwalk 64 2\nptchurn 4 4\nspawn 3\nctxsw 20\npoweroff\n';
    const off = await runGuest(image, { mode, firmware: 'builtin', input, source });
    const on = await runGuest(image, { mode, firmware: 'builtin', input, source,
      tlbModel: parseTlbModel('l1i=16x4,l1d=16x4,l2=64x4,repl=random,seed=3,tags=off,pwc=16,npwc=16,ntlb=16') });
    expect(off.stop.reason).toBe('pass');
    expect(on.console).toBe(off.console);
    const others = (c: Record<string, bigint>) => Object.fromEntries(Object.entries(c).filter(([k]) => !k.startsWith('TLBM_')));
    expect(others(on.counters)).toEqual(others(off.counters));
    // The model saw the run: data and fetch lookups, and walks.
    expect(n(on.counters, 'TLBM_L1D_LOOKUPS')).toBeGreaterThan(n(on.counters, 'TLB_LOAD_MISSES'));
    expect(n(on.counters, 'TLBM_WALKS')).toBeGreaterThan(0);
    expect(n(off.counters, 'TLBM_L1D_LOOKUPS')).toBe(0);
    expect(on.stats.tlbModel).toBeDefined();
    expect(off.stats.tlbModel).toBeUndefined();
  }, 60_000);

  it('is deterministic: two runs with random replacement give identical counters', async () => {
    const tlbModel = parseTlbModel('l1d=16x4,l2=64x4,repl=random,seed=5');
    const input = 'memwalk 128 2\nspawn 3\npoweroff\n';
    const a = await runGuest(image, { mode: 'hvm-nested', firmware: 'builtin', input, source, tlbModel });
    const b = await runGuest(image, { mode: 'hvm-nested', firmware: 'builtin', input, source, tlbModel });
    expect(b.console).toBe(a.console);
    expect(b.counters).toEqual(a.counters);
  }, 60_000);
});

describe('directions the counters show', () => {
  it('a bigger TLB misses less (native memwalk over 128 pages, 8 rounds)', async () => {
    const misses = async (spec: string) => n(await run('native', `${spec},pwc=0`, 'memwalk 128 8', []), 'TLBM_L1D_MISSES');
    const l1 = { 16: await misses('l1d=16x4,l2=off'), 64: await misses('l1d=64x4,l2=off'), 256: await misses('l1d=256x8,l2=off') };
    // 128 pages in a fixed random order: 16 or 64 entries miss on nearly every touch (1024 of
    // them); 256 entries keep them after the first round, when only the kernel's pages and the
    // freshly allocated ones miss.
    expect(l1[16]).toBeGreaterThan(1024);
    expect(l1[64]).toBeLessThanOrEqual(l1[16]);
    expect(l1[256]).toBeLessThan(l1[64] / 2);
    // An L2 of 512 entries behind the small L1 catches what the L1 drops: fewer walks.
    const withL2 = await run('native', 'l1d=16x4,l2=512x8,pwc=0', 'memwalk 128 8', []);
    expect(n(withL2, 'TLBM_L2_HITS_4K')).toBeGreaterThan(1024 - 128);
    expect(n(withL2, 'TLBM_WALKS')).toBeLessThan(l1[16] / 2);
  }, 60_000);

  it('LRU and random replacement differ, each the same on every run', async () => {
    const lru1 = await run('native', 'l1d=64x4,l2=off,repl=lru', 'memwalk 80 6', []);
    const lru2 = await run('native', 'l1d=64x4,l2=off,repl=lru', 'memwalk 80 6', []);
    const rnd1 = await run('native', 'l1d=64x4,l2=off,repl=random,seed=1', 'memwalk 80 6', []);
    const rnd2 = await run('native', 'l1d=64x4,l2=off,repl=random,seed=1', 'memwalk 80 6', []);
    const rnd3 = await run('native', 'l1d=64x4,l2=off,repl=random,seed=2', 'memwalk 80 6', []);
    expect(lru2).toEqual(lru1);
    expect(rnd2).toEqual(rnd1);
    expect(n(rnd1, 'TLBM_L1D_MISSES')).not.toBe(n(lru1, 'TLBM_L1D_MISSES'));
    expect(n(rnd3, 'TLBM_L1D_MISSES')).not.toBe(n(rnd1, 'TLBM_L1D_MISSES'));
  }, 60_000);

  it('without tags every address-space switch flushes, and more misses follow', async () => {
    const tagged = await run('native', 'tags=on', 'ctxsw 200', []);
    const untagged = await run('native', 'tags=off', 'ctxsw 200', []);
    expect(n(tagged, 'TLBM_SWITCH_FLUSHES')).toBe(0);
    // ctxsw switches between two processes 200 times: at least one satp write each.
    expect(n(untagged, 'TLBM_SWITCH_FLUSHES')).toBeGreaterThanOrEqual(200);
    expect(n(untagged, 'TLBM_L1D_MISSES') + n(untagged, 'TLBM_L1I_MISSES'))
      .toBeGreaterThan(n(tagged, 'TLBM_L1D_MISSES') + n(tagged, 'TLBM_L1I_MISSES'));
  }, 60_000);

  it('a page-walk cache cuts a native walk from 3 references, by exactly the reads it saved', async () => {
    const none = await run('native', 'l1d=16x4,l2=off,pwc=0', 'memwalk 512 2');
    const pwc = await run('native', 'l1d=16x4,l2=off,pwc=16', 'memwalk 512 2');
    // The PWC does not change what the TLBs hold: the same walks, fewer references.
    expect(n(pwc, 'TLBM_WALKS')).toBe(n(none, 'TLBM_WALKS'));
    expect(n(none, 'TLBM_WALK_FAULTS')).toBe(0);
    expect(n(none, 'TLBM_WALK_REFS')).toBe(3 * n(none, 'TLBM_WALKS_4K') + 2 * n(none, 'TLBM_WALKS_2M') + n(none, 'TLBM_WALKS_1G'));
    expect(n(pwc, 'TLBM_WALK_REFS') + n(pwc, 'TLBM_PWC_REFS_SAVED')).toBe(n(none, 'TLBM_WALK_REFS'));
    // memwalk's 512 pages share two leaf tables: most walks read only their leaf.
    expect(n(pwc, 'TLBM_WALK_REFS') / n(pwc, 'TLBM_WALKS')).toBeLessThan(2);
  }, 60_000);

  it('a 2-D miss costs up to 15 references; the NPWC, the nested TLB and the PWC cut it', async () => {
    const cmd = 'memwalk 512 2';
    const base = 'l1d=16x4,l2=off';
    const none = await run('hvm-nested', `${base},pwc=0,npwc=0,ntlb=0`, cmd);
    const npwc = await run('hvm-nested', `${base},pwc=0,npwc=16,ntlb=0`, cmd);
    const both = await run('hvm-nested', `${base},pwc=0,npwc=16,ntlb=64`, cmd);
    const all = await run('hvm-nested', `${base},pwc=16,npwc=16,ntlb=64`, cmd);
    // The caches change no TLB's contents: the same walks in all four.
    for (const c of [npwc, both, all]) expect(n(c, 'TLBM_WALKS')).toBe(n(none, 'TLBM_WALKS'));
    const per2d = (c: Record<string, bigint>) => (n(c, 'TLBM_WALK_REFS_VS') + n(c, 'TLBM_WALK_REFS_G')) / n(c, 'TLBM_WALKS_2D');
    // 4 KiB pages in both stages cost (3+1)(3+1)-1 = 15; the kernel's 2 MiB pages (2+1)(3+1)-1
    // = 11, and the few walks that end in a guest-page fault (the hypervisor fills its G-stage
    // lazily) stop early: so a little under 15 on average, never above.
    expect(n(none, 'TLBM_WALKS_2D')).toBeGreaterThan(1000);
    expect(per2d(none)).toBeGreaterThan(14);
    expect(n(none, 'TLBM_WALK_REFS_VS') + n(none, 'TLBM_WALK_REFS_G'))
      .toBeLessThanOrEqual(15 * (n(none, 'TLBM_WALKS_2D') + n(none, 'TLBM_WALK_FAULTS')));
    // The G-stage is built of 4 KiB pages: each NPWC hit saves one G walk of a table page, and
    // each nested-TLB hit the G walk of the data page: 3 references each, exactly.
    expect(n(npwc, 'TLBM_WALK_REFS_G')).toBe(n(none, 'TLBM_WALK_REFS_G') - 3 * n(npwc, 'TLBM_NPWC_HITS'));
    expect(n(both, 'TLBM_WALK_REFS_G')).toBe(n(npwc, 'TLBM_WALK_REFS_G') - 3 * n(both, 'TLBM_NTLB_HITS'));
    expect(per2d(npwc)).toBeLessThan(7);
    expect(per2d(both)).toBeLessThan(per2d(npwc));
    expect(n(both, 'TLBM_NTLB_HITS')).toBeGreaterThan(0);
    expect(per2d(all)).toBeLessThan(per2d(both));
    // The modeled translation time falls with them.
    const t = (c: Record<string, bigint>) => modeledTranslation(c).total;
    expect(t(npwc)).toBeLessThan(t(none));
    expect(t(all)).toBeLessThan(t(both));
    // The real walk's counters are the model's business no more than before: unchanged.
    expect(n(all, 'WALK_REFS_G')).toBe(n(none, 'WALK_REFS_G'));
  }, 120_000);

  it('holds the guest\'s 2 MiB pages: hvos maps its kernel RAM with megapages', async () => {
    // 2048 pages (8 MiB) take the allocator past the image's 2 MiB: the kernel zeroes them
    // through its megapage map of RAM.
    const c = await run('native', 'l1d=16x4,l2=off', 'memwalk 2048 1', []);
    expect(n(c, 'TLBM_WALKS_2M')).toBeGreaterThan(0);
    expect(n(c, 'TLBM_L1D_HITS_2M')).toBeGreaterThan(100_000);
    // One shared array per level holds both sizes; the same walks fill it.
    const shared = await run('native', 'l1d=16x4,l2=off,sizes=shared', 'memwalk 2048 1', []);
    expect(n(shared, 'TLBM_WALKS_2M')).toBeGreaterThan(0);
    expect(n(shared, 'TLBM_L1D_HITS_2M')).toBeGreaterThan(100_000);
  }, 60_000);
});

describe('hvlab run --tlb-model', () => {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const hvlab = (args: string[], input = '') =>
    spawnSync(process.execPath, [join(root, 'bin', 'hvlab.js'), ...args], { cwd: root, input, encoding: 'utf8', timeout: 60_000 });

  it('reports the model under tlbModel in --stats, with the SPEC that made it', () => {
    const r = hvlab(['run', '--mode', 'hvm-nested', '--tlb-model', 'l1d=64x4,ntlb=64', '--stats', '-', HVOS_ELF],
      'memwalk 64 1\npoweroff\n');
    expect(r.status).toBe(0);
    const stats = JSON.parse(r.stderr.slice(r.stderr.indexOf('{')));
    expect(stats.tlbModelSpec).toBe('l1i=32x4,l1d=64x4,l2=512x8,repl=lru,seed=1,tags=on,sizes=split,pwc=16,npwc=16,ntlb=64');
    expect(stats.tlbModel.l1d.lookups).toBeGreaterThan(0);
    expect(stats.tlbModel.walks.twoStage).toBeGreaterThan(0);
    expect(stats.tlbModel.cycles.total).toBeGreaterThan(0);
  }, 60_000);

  it('refuses a bad SPEC with one line naming the field, before running', () => {
    const r = hvlab(['run', '--tlb-model', 'l2=16x32', HVOS_ELF]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('hvlab: tlb model: l2: ways (32) must not exceed entries (16)');
  }, 60_000);
});
