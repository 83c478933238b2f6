// The walk trace (assembly/mmu/walktrace.ts, src/walk-trace.ts) on hvos at its shell prompt, in
// every mode: a traced walk changes nothing, and its references and result are those the
// counters of a real miss on the same address show (WALK_REFS*, docs/h-extension.md); fault
// cases stop where the privileged spec says (4.3.2 for Sv39, 8.5 for the G-stage). Also the
// vmprint table and the memory map, from the hypervisor's own bookkeeping.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCoreModule } from '../src/node/load-core.js';
import { RAM_BASE, runScripted, Vm, type Mode } from '../src/vm.js';
import { formatVmprint, formatWalk, memoryMap, ownerTotals, ptePpnAddress, traceWalk, vmprint, walkGrid,
  type WalkTrace } from '../src/walk-trace.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const HVOS = new Uint8Array(readFileSync(join(root, 'guests', 'hvos', 'prebuilt', 'hvos.elf')));
/** hvos's first kernel text page: mapped with 4 KiB pages (R-X), identity, in every process. */
const KTEXT = 0x8020_0000n;
/** hvos's user map() region: nothing mapped there while the shell waits (docs/hvos.md). */
const UNMAPPED = 0x4000_0000n;
const FAULT = (1n << 64n) - 1n;
const KIND = { fetch: 0, load: 1, store: 2 } as const;

/** hvos booted to its prompt in `mode`, paused while the shell waits for input. */
async function atPrompt(mode: Mode, nestedPwc = false): Promise<Vm> {
  const vm = await Vm.create({ firmware: 'builtin', mode, memMiB: 64, nestedPwc }, await loadCoreModule());
  vm.load(HVOS);
  const stop = await runScripted(vm, '', 50_000_000, 100_000);
  expect(stop.reason).toBe('idle');
  expect(vm.readConsole()).toContain('hvos$ ');
  return vm;
}

/** The real miss path on `va` (the core's walkProbe) and the counters it moved. */
function realMiss(vm: Vm, va: bigint, kind: keyof typeof KIND = 'load'): { pa: bigint; delta: Record<string, bigint> } {
  const before = vm.counters();
  const { core } = vm.walkView();
  const pa = core.walkProbe(va, KIND[kind]);
  const after = vm.counters();
  const delta: Record<string, bigint> = {};
  for (const k of Object.keys(after)) if (after[k] !== before[k]) delta[k] = after[k] - before[k];
  return { pa, delta };
}

const refsOf = (t: WalkTrace, stage: string): number =>
  t.refs.filter((r) => r.stage === stage && r.outcome !== 'npwc-hit').length;

/**
 * Trace `va` and check that the machine is byte for byte what it was (counters, RAM, TLB,
 * hart state), but for the trace's own block of static data, which holds its answer.
 */
function quietTrace(vm: Vm, va: bigint, kind: keyof typeof KIND = 'load'): WalkTrace {
  const { core } = vm.walkView();
  const scratch = core.walkTraceScratch() >>> 0;
  const mask = (s: Uint8Array): Uint8Array => { s.fill(0, scratch, scratch + (core.walkTraceScratchBytes() >>> 0)); return s; };
  const before = mask(vm.snapshot());
  const t = traceWalk(vm, va, kind);
  const after = mask(vm.snapshot());
  let first = -1;
  for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) { first = i; break; }
  expect(first, 'a trace changed the machine').toBe(-1);
  return t;
}

describe('walk trace: native Sv39', () => {
  let vm: Vm;
  beforeAll(async () => { vm = await atPrompt('native'); }, 60_000);

  it('traces 3 references for a 4 KiB kernel page and changes nothing', () => {
    const t = quietTrace(vm, KTEXT);
    expect(t.result).toBe('ok');
    expect(t.priv).toBe('S');
    expect(t.refs.map((r) => [r.stage, r.level, r.outcome])).toEqual([
      ['native', 2, 'next'], ['native', 1, 'next'], ['native', 0, 'leaf']]);
    // Each reference reads the table the previous one pointed at, at the va's index.
    const satpRoot = (vm.walkView().core.walkRoot(0) & ((1n << 44n) - 1n)) << 12n;
    expect(t.refs[0].ptePa).toBe(satpRoot + ((KTEXT >> 30n) & 511n) * 8n);
    expect(t.refs[1].ptePa).toBe(ptePpnAddress(t.refs[0].pte) + ((KTEXT >> 21n) & 511n) * 8n);
    expect(t.refs[2].ptePa).toBe(ptePpnAddress(t.refs[1].pte) + ((KTEXT >> 12n) & 511n) * 8n);
    expect(t.pa).toBe(KTEXT);
    expect(t.refs[2].flags).toBe('-AG-X-RV'); // hvos's kernel text: global, accessed, R-X
    expect(formatWalk(t)).toContain('native       L0');
  });

  it('agrees with the counters of a real miss on the same address', () => {
    const t = traceWalk(vm, KTEXT);
    const real = realMiss(vm, KTEXT);
    expect(real.pa).toBe(t.pa);
    expect(real.delta.WALK_REFS).toBe(BigInt(t.references));
    expect(real.delta.WALKS).toBe(1n);
  });

  it('stops at the invalid PTE of an unmapped address (4.3.2 step 3)', () => {
    const t = quietTrace(vm, UNMAPPED);
    expect(t.result).toBe('page-fault');
    const last = t.refs[t.refs.length - 1];
    expect(last.outcome).toBe('invalid');
    expect(t.refs.slice(0, -1).every((r) => r.outcome === 'next')).toBe(true);
    const real = realMiss(vm, UNMAPPED);
    expect(real.pa).toBe(FAULT);
    expect(real.delta.WALK_REFS).toBe(BigInt(t.references));
    expect(real.delta.PAGE_FAULTS).toBe(1n);
  });

  it('stops at the leaf that forbids the access: a store to kernel text (4.3.2 step 5)', () => {
    const t = quietTrace(vm, KTEXT, 'store');
    expect(t.result).toBe('page-fault');
    expect(t.refs.map((r) => r.outcome)).toEqual(['next', 'next', 'permission']);
    const real = realMiss(vm, KTEXT, 'store');
    expect(real.pa).toBe(FAULT);
    expect(real.delta.WALK_REFS).toBe(3n);
  });

  it('stops at a misaligned superpage (4.3.2 step 6)', () => {
    // Point a free root slot (VA 0xC000_0000) at a 1 GiB "page" whose PPN is not 1 GiB aligned.
    const satpRoot = (vm.walkView().core.walkRoot(0) & ((1n << 44n) - 1n)) << 12n;
    const slot = Number(satpRoot - RAM_BASE) + 3 * 8;
    const ram = new DataView(vm.ram().buffer, vm.ram().byteOffset);
    expect(ram.getBigUint64(slot, true)).toBe(0n);
    ram.setBigUint64(slot, (0x80201n << 10n) | 0xcfn, true); // D A - - X W R V
    const t = quietTrace(vm, 0xC000_0000n);
    expect(t.refs.map((r) => [r.level, r.outcome])).toEqual([[2, 'misaligned']]);
    expect(t.result).toBe('page-fault');
    const real = realMiss(vm, 0xC000_0000n);
    expect(real.pa).toBe(FAULT);
    expect(real.delta.WALK_REFS).toBe(1n);
    ram.setBigUint64(slot, 0n, true);
  });

  it('reports a non-canonical address without references', () => {
    const t = traceWalk(vm, 0x0000_0040_0000_0000n);
    expect(t.result).toBe('non-canonical');
    expect(t.refs).toEqual([]);
  });

  it('prints the address space as vmprint does, and maps RAM with its page tables', () => {
    const p = vmprint(vm);
    expect(p.table).toBe('satp');
    const text = formatVmprint(p);
    expect(text.split('\n')[0]).toMatch(/^page table 0x8[0-9a-f]+ \(satp, machine-physical\)$/);
    // The kernel text leaf is listed at depth 2 with its va.
    expect(p.entries.some((e) => e.leaf && e.va === KTEXT && e.depth === 2)).toBe(true);
    // The kernel's 2 MiB megapages are leaves at depth 1.
    expect(p.entries.some((e) => e.leaf && e.level === 1)).toBe(true);
    const totals = ownerTotals(memoryMap(vm));
    expect(totals.ram + totals['guest-page-table']).toBe(64 * 256);
    expect(totals['guest-page-table']).toBeGreaterThan(2);
  });
});

describe('walk trace: hvm-nested, the two-dimensional walk', () => {
  let vm: Vm;
  beforeAll(async () => { vm = await atPrompt('hvm-nested'); }, 60_000);

  it('traces the 15 references of a cold miss as the 4x4 grid, and changes nothing', () => {
    const t = quietTrace(vm, KTEXT);
    expect(t.result).toBe('ok');
    expect(t.references).toBe(15);
    expect(refsOf(t, 'vs')).toBe(3);
    expect(refsOf(t, 'g')).toBe(12);
    const grid = walkGrid(t)!;
    expect(grid.length).toBe(4);
    expect(grid.map((row) => row.map((c) => (c ? `${c.stage}${c.level}` : '.')).join(' '))).toEqual([
      'g2 g1 g0 vs2', 'g2 g1 g0 vs1', 'g2 g1 g0 vs0', 'g2 g1 g0 .']);
    // Row i's G-stage walk translates the gPA the VS-stage reads next: the VS root first
    // (vsatp), then each VS PTE's target, and last the data's gPA.
    const vsatpRoot = (vm.walkView().core.walkRoot(1) & ((1n << 44n) - 1n)) << 12n;
    const wantGpa = [vsatpRoot + ((KTEXT >> 30n) & 511n) * 8n,
      ptePpnAddress(grid[0][3]!.pte) + ((KTEXT >> 21n) & 511n) * 8n,
      ptePpnAddress(grid[1][3]!.pte) + ((KTEXT >> 12n) & 511n) * 8n,
      t.gpa!];
    for (let i = 0; i < 4; i++) {
      for (let c = 0; c < 3; c++) expect(grid[i][c]!.input, `row ${i} col ${c}`).toBe(wantGpa[i]);
      if (i < 3) expect(grid[i][3]!.ptePa).toBe(wantGpa[i]);
    }
    // The G-stage leaf of the last row gives the host frame of the data.
    expect(t.pa).toBe(ptePpnAddress(grid[3][2]!.pte) | (KTEXT & 0xfffn));
    expect(t.gpa).toBe(KTEXT);
  });

  it('agrees with WALK_REFS_VS and WALK_REFS_G of a real miss', () => {
    const t = traceWalk(vm, KTEXT);
    const real = realMiss(vm, KTEXT);
    expect(real.pa).toBe(t.pa);
    expect(real.delta.WALK_REFS_VS).toBe(3n);
    expect(real.delta.WALK_REFS_G).toBe(12n);
    expect(real.delta.WALKS_G).toBe(4n);
  });

  it('stops at a G-stage fault inside the walk: a guest-page fault (8.5.1)', () => {
    const t = traceWalk(vm, KTEXT);
    const grid = walkGrid(t)!;
    // Invalidate the G-stage leaf that maps the VS-stage level-1 table's guest frame.
    const leaf = grid[1][2]!;
    const ram = new DataView(vm.ram().buffer, vm.ram().byteOffset);
    const off = Number(leaf.ptePa - RAM_BASE);
    const saved = ram.getBigUint64(off, true);
    ram.setBigUint64(off, saved & ~1n, true);
    try {
      const f = quietTrace(vm, KTEXT);
      expect(f.result).toBe('guest-page-fault');
      expect(f.refs.map((r) => `${r.stage}${r.level}:${r.outcome}`)).toEqual([
        'g2:next', 'g1:next', 'g0:leaf', 'vs2:next', 'g2:next', 'g1:next', 'g0:invalid', 'vs1:no-pte']);
      const real = realMiss(vm, KTEXT);
      expect(real.pa).toBe(FAULT);
      expect(real.delta.GUEST_PAGE_FAULTS).toBe(1n);
      expect(real.delta.WALK_REFS_G).toBe(6n);
      expect(real.delta.WALK_REFS_VS).toBe(2n);
    } finally {
      ram.setBigUint64(off, saved, true);
    }
  });

  it('maps the G-stage tables and the hypervisor area apart from guest RAM', () => {
    const totals = ownerTotals(memoryMap(vm));
    expect(totals['g-stage']).toBeGreaterThan(4);
    expect(totals.hypervisor).toBeGreaterThan(0);
    expect(totals.guest + totals['guest-page-table']).toBe(64 * 256);
    expect(totals['guest-page-table']).toBeGreaterThan(2);
    const p = vmprint(vm);
    expect(p.table).toBe('vsatp');
    expect(p.space).toBe('guest');
  });
});

describe('walk trace: hvm-nested with the nested page-walk cache', () => {
  it('marks the cache hits: after one miss, the VS tables need no G-stage walk', async () => {
    const vm = await atPrompt('hvm-nested', true);
    const cold = traceWalk(vm, KTEXT);
    // The cache may already hold some table pages from the guest's own run: what it holds
    // is shown, and the trace and a real miss agree either way.
    const real1 = realMiss(vm, KTEXT);
    expect(real1.delta.WALK_REFS_G ?? 0n).toBe(BigInt(refsOf(cold, 'g')));
    expect(real1.delta.NPWC_HITS ?? 0n).toBe(BigInt(cold.refs.filter((r) => r.outcome === 'npwc-hit').length));
    const warm = traceWalk(vm, KTEXT);
    const hits = warm.refs.filter((r) => r.outcome === 'npwc-hit');
    expect(hits.length).toBe(3);
    expect(warm.references).toBe(6);
    expect(walkGrid(warm)!.map((row) => row.map((c) => (c ? c.outcome : '.')).join(' '))).toEqual([
      'npwc-hit . . next', 'npwc-hit . . next', 'npwc-hit . . leaf', 'next next leaf .']);
    const real2 = realMiss(vm, KTEXT);
    expect(real2.delta.NPWC_HITS).toBe(3n);
    expect(real2.delta.WALK_REFS_G).toBe(3n);
    expect(real2.delta.WALK_REFS_VS).toBe(3n);
    expect(real2.pa).toBe(warm.pa);
  }, 60_000);
});

describe('walk trace: shadow paging', () => {
  for (const mode of ['trap-emulate', 'hvm-shadow'] as const) {
    it(`${mode}: the guest's walk beside the shadow's, and the frame's reverse map`, async () => {
      const vm = await atPrompt(mode);
      const t = quietTrace(vm, KTEXT);
      expect(t.guestResult).toBe('ok');
      expect(t.gpa).toBe(KTEXT);
      expect(t.refs.filter((r) => r.stage === 'guest').map((r) => r.outcome)).toEqual(['next', 'next', 'leaf']);
      const shadow = t.refs.filter((r) => r.stage === 'shadow');
      expect(shadow.length).toBeGreaterThan(0);
      // The shadow's PTEs live in the shadow pool, the guest's in guest RAM.
      const layout = vm.hypervisorLayout()!;
      for (const r of shadow) {
        const off = Number(r.ptePa - RAM_BASE);
        expect(off >= layout.shadowPool && off < layout.shadowEnd).toBe(true);
      }
      const real = realMiss(vm, KTEXT);
      expect(real.delta.WALK_REFS).toBe(BigInt(shadow.length));
      if (t.result === 'ok') {
        // The shadow leaf maps the page the guest's leaf names, at its host frame.
        expect(real.pa).toBe(t.pa);
        expect(t.pa).toBe(vm.walkView().core.guestFrameHpa((KTEXT - RAM_BASE) >> 12n));
      }
      // The shadow leaf of kernel text is not writable; the reverse map lists the shadow PTEs
      // that map the frame writable elsewhere (here the guest's boot-time Bare address space,
      // which maps all its RAM): each names this host frame, W set, in the shadow pool.
      expect(shadow[shadow.length - 1].flags).toMatch(/^DA-.X-RV$/);
      const rmap = t.refs.filter((r) => r.stage === 'rmap');
      expect(rmap.length).toBeGreaterThan(0);
      for (const r of rmap) {
        expect(ptePpnAddress(r.pte)).toBe(t.pa! & ~0xfffn);
        expect(r.flags[5]).toBe('W');
        const off = Number(r.ptePa - RAM_BASE);
        expect(off >= layout.shadowPool && off < layout.shadowEnd).toBe(true);
      }
      const totals = ownerTotals(memoryMap(vm));
      expect(totals['shadow-pool']).toBeGreaterThan(0);
      expect(totals['guest-page-table']).toBeGreaterThan(2);
      expect(vmprint(vm).table).toBe('guest satp');
      expect(vmprint(vm, { which: 'shadow' }).space).toBe('machine');
    }, 60_000);
  }
});

describe('walk trace: pv direct paging', () => {
  it('walks the guest table of machine frames: 3 references', async () => {
    const vm = await atPrompt('pv');
    const t = quietTrace(vm, KTEXT);
    expect(t.result).toBe('ok');
    expect(t.refs.every((r) => r.stage === 'pv')).toBe(true);
    const real = realMiss(vm, KTEXT);
    expect(real.delta.WALK_REFS).toBe(BigInt(t.references));
    expect(real.pa).toBe(t.pa);
    // The tables are in machine frames the hypervisor typed as page tables.
    const map = memoryMap(vm);
    for (const r of t.refs) {
      const region = map.find((m) => r.ptePa >= m.start && r.ptePa < m.end);
      expect(region?.owner, `pte at 0x${r.ptePa.toString(16)}`).toMatch(/guest-page-table|hypervisor/);
    }
  }, 60_000);
});
