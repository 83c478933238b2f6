// The page-walk visualizer's data, host side: the core's walk trace decoded
// (assembly/mmu/walktrace.ts, docs/walk-trace.md), the two-dimensional grid of a nested walk,
// an xv6-style vmprint of the current address space, and the machine's memory map by owner.
// Everything here reads the machine through side-effect-free exports: a trace, a vmprint or a
// map changes no counter, no A/D bit and no TLB, so looking never alters what is measured.

import type { CoreExports } from './core.js';
import type { Mode, Vm } from './vm.js';
import { RAM_BASE } from './vm.js';

export type AccessKind = 'fetch' | 'load' | 'store';
const KINDS: readonly AccessKind[] = ['fetch', 'load', 'store'];

/** Which walk a reference belongs to (walkrec.ts STAGE_*), named for the mode. */
export type WalkStage = 'native' | 'shadow' | 'pv' | 'vs' | 'g' | 'guest' | 'rmap';
/** What the walk made of one reference (walkrec.ts REF_*). */
export type RefOutcome = 'next' | 'leaf' | 'invalid' | 'reserved' | 'no-pte' | 'too-deep' | 'permission'
  | 'misaligned' | 'npwc-hit' | 'rmap';
const OUTCOMES: readonly RefOutcome[] = ['next', 'leaf', 'invalid', 'reserved', 'no-pte', 'too-deep',
  'permission', 'misaligned', 'npwc-hit', 'rmap'];
export type WalkResult = 'ok' | 'page-fault' | 'access-fault' | 'guest-page-fault' | 'bare' | 'non-canonical';
const RESULTS: readonly WalkResult[] = ['ok', 'page-fault', 'access-fault', 'guest-page-fault', 'bare', 'non-canonical'];

export interface WalkRef {
  stage: WalkStage;
  /** The level of the table the PTE sits in (2 = root for Sv39/Sv39x4); the rmap slot for rmap. */
  level: number;
  outcome: RefOutcome;
  /** The address this walk translates: the gVA (VS, guest, native...), or the gPA (G stage). */
  input: bigint;
  /** Where the PTE is: guest-physical for the vs and guest stages, machine-physical otherwise. */
  ptePa: bigint;
  pte: bigint;
  /** The PTE's flags as xv6 and the spec name them: "DAGUXWRV" letters, '-' where clear. */
  flags: string;
}

export interface WalkTrace {
  mode: Mode;
  va: bigint;
  kind: AccessKind;
  /** The privilege the access was checked with: 'U' or 'S' ('M' if translation is off). */
  priv: 'U' | 'S' | 'M';
  result: WalkResult;
  /** The machine-physical address the access reaches (physical natively). */
  pa?: bigint;
  /** The guest-physical address (hvm-nested's VS stage, or the guest's own walk under shadow). */
  gpa?: bigint;
  /** Under trap-emulate and hvm-shadow: how the guest's own walk ended. */
  guestResult?: WalkResult;
  refs: WalkRef[];
  /** Memory references a real cold miss makes (npwc hits and rmap entries are not references). */
  references: number;
}

const PTE_FLAG_NAMES = 'VRWXUGAD';
/** PTE bits (privileged spec 4.4.1): valid, and the two that make a PTE a leaf (R or X). */
const PTE_V = 1n;
const PTE_R = 2n;
const PTE_X = 8n;

/** The low 8 bits of a PTE as letters, D A G U X W R V from bit 7 down (privileged spec 4.4.1). */
export function pteFlags(pte: bigint): string {
  let s = '';
  for (let b = 7; b >= 0; b--) s += (pte >> BigInt(b)) & 1n ? PTE_FLAG_NAMES[b] : '-';
  return s;
}

/** The physical address a PTE points at (its PPN << 12). */
export function ptePpnAddress(pte: bigint): bigint {
  return ((pte >> 10n) & ((1n << 44n) - 1n)) << 12n;
}

const STAGE_CODES = ['single', 'vs', 'g', 'guest', 'rmap'] as const;

function stageName(code: number, mode: Mode): WalkStage {
  const s = STAGE_CODES[code];
  if (s === 'single') return mode === 'native' ? 'native' : mode === 'pv' ? 'pv' : 'shadow';
  if (s === undefined) throw new Error(`walk trace: unknown stage ${code}`);
  return s;
}

/** The core's trace result block (assembly/mmu/walktrace.ts TraceResult): field offsets. */
const RESULT = { result: 0, stage: 4, mode: 8, guestResult: 12, pa: 16, gpa: 24, va: 32, kind: 40, priv: 44 } as const;
const RECORD_BYTES = 40;

interface Machine { core: CoreExports; memory: WebAssembly.Memory; mode: Mode; machineBytes: bigint }

/**
 * Trace the translation of `va` in the VM's current mode, as a cold TLB miss of a `kind`
 * access by the guest at its current privilege would make it. Changes nothing in the machine.
 */
export function traceWalk(vm: Vm, va: bigint, kind: AccessKind = 'load'): WalkTrace {
  return traceWalkIn(vm.walkView(), va, kind);
}

export function traceWalkIn(m: Machine, va: bigint, kind: AccessKind = 'load'): WalkTrace {
  const n = m.core.walkTrace(BigInt.asUintN(64, va), KINDS.indexOf(kind));
  const view = new DataView(m.memory.buffer);
  const base = m.core.walkTraceRecords() >>> 0;
  const refs: WalkRef[] = [];
  for (let i = 0; i < n; i++) {
    const r = base + i * RECORD_BYTES;
    const pte = view.getBigUint64(r + 32, true);
    const outcome = OUTCOMES[view.getUint32(r + 8, true)];
    refs.push({
      stage: stageName(view.getUint32(r, true), m.mode),
      level: view.getUint32(r + 4, true),
      outcome,
      input: view.getBigUint64(r + 16, true),
      ptePa: view.getBigUint64(r + 24, true),
      pte,
      flags: outcome === 'npwc-hit' || outcome === 'no-pte' ? '' : pteFlags(pte),
    });
  }
  const res = m.core.walkTraceResult() >>> 0;
  const result = RESULTS[view.getUint32(res + RESULT.result, true)];
  const privCode = view.getUint32(res + RESULT.priv, true);
  const trace: WalkTrace = {
    mode: m.mode,
    va,
    kind,
    priv: result === 'bare' ? 'M' : privCode === 0 ? 'U' : 'S',
    result,
    refs,
    references: refs.filter((r) => r.outcome !== 'npwc-hit' && r.outcome !== 'rmap').length,
  };
  if (result === 'ok' || result === 'bare') trace.pa = view.getBigUint64(res + RESULT.pa, true);
  if (m.mode !== 'native' && m.mode !== 'pv') trace.gpa = view.getBigUint64(res + RESULT.gpa, true);
  if (m.mode === 'trap-emulate' || m.mode === 'hvm-shadow') {
    trace.guestResult = RESULTS[view.getUint32(res + RESULT.guestResult, true)];
    if (trace.guestResult !== 'ok' && trace.guestResult !== 'bare') delete trace.gpa;
  }
  return trace;
}

/**
 * The 2-D walk as the nested-paging literature draws it (Bhargava et al. 2008, figure 2): one
 * row per VS-stage step (the three table levels, then the final gPA), and in each row the
 * G-stage references that translate that row's guest-physical address (columns 0..2 for G
 * levels 2..0), then the VS-stage PTE read (column 3; none in the last row). A G-stage
 * translation the nested page-walk cache supplied is one 'npwc-hit' cell in column 0.
 * 15 cells on a cold miss. Undefined unless the trace is of hvm-nested with both stages on.
 */
export function walkGrid(trace: WalkTrace): Array<Array<WalkRef | undefined>> | undefined {
  if (trace.mode !== 'hvm-nested' || !trace.refs.some((r) => r.stage === 'vs')) return undefined;
  const rows: Array<Array<WalkRef | undefined>> = [];
  let row: Array<WalkRef | undefined> = [undefined, undefined, undefined, undefined];
  for (const r of trace.refs) {
    if (r.stage === 'g') {
      row[r.outcome === 'npwc-hit' ? 0 : 2 - r.level] = r;
    } else if (r.stage === 'vs') {
      row[3] = r;
      rows.push(row);
      row = [undefined, undefined, undefined, undefined];
    }
  }
  if (row.some((c) => c !== undefined)) rows.push(row);
  return rows;
}

const hex = (v: bigint): string => `0x${v.toString(16)}`;

const STAGE_LABEL: Record<WalkStage, string> = {
  native: 'native', shadow: 'shadow', pv: 'pv (machine)', vs: 'VS', g: 'G', guest: 'guest', rmap: 'rmap',
};

/** The trace as text: one line per reference, then the outcome (the CLI's and tests' form). */
export function formatWalk(t: WalkTrace): string {
  const lines = [`walk ${hex(t.va)} (${t.kind}, ${t.priv}-mode, ${t.mode}): ${t.references} references`];
  for (const r of t.refs) {
    const where = r.outcome === 'npwc-hit' ? 'nested PWC hit' : `pte @ ${hex(r.ptePa)} = ${hex(r.pte)} ${r.flags}`;
    const what = r.stage === 'rmap' ? `slot ${r.level}` : `L${r.level}`;
    lines.push(`  ${STAGE_LABEL[r.stage].padEnd(12)} ${what.padEnd(7)} ${hex(r.input).padEnd(20)} ${where}  ${r.outcome}`);
  }
  if (t.guestResult !== undefined) lines.push(`  guest walk: ${t.guestResult}`);
  const end = t.pa !== undefined ? ` -> ${hex(t.pa)}` : '';
  const via = t.gpa !== undefined ? ` (gpa ${hex(t.gpa)})` : '';
  lines.push(`  result: ${t.result}${via}${end}`);
  return lines.join('\n');
}

// ---- vmprint ---------------------------------------------------------------------------------

export interface VmprintEntry {
  /** Depth in the tree: 0 for the root's entries (xv6 prints ".." per level). */
  depth: number;
  /** The table level the entry sits in (2 = root). */
  level: number;
  index: number;
  /** The first virtual address the entry maps (sign-extended from bit 38). */
  va: bigint;
  pte: bigint;
  /** The physical address the entry points at (next table, or the page). */
  pa: bigint;
  leaf: boolean;
  flags: string;
}

export interface Vmprint {
  /** Whose table: 'satp' (native, pv, trap-emulate's shadow), 'vsatp', 'guest satp'. */
  table: string;
  /** The physical space the table lives in: 'machine' or 'guest'. */
  space: 'machine' | 'guest';
  root?: bigint;
  entries: VmprintEntry[];
  /** Entries left out past `limit`. */
  truncated: number;
}

/**
 * The valid entries of the current address space's table, by level, as xv6's vmprint lists
 * them: the guest's own table in hvm-nested (guest-physical), trap-emulate and hvm-shadow (the
 * table the guest wrote; `which: 'shadow'` gives the hypervisor's shadow instead), the table
 * the hart walks natively and in pv. Reads only; stops after `limit` entries.
 */
export function vmprint(vm: Vm, opts: { which?: 'guest' | 'shadow'; limit?: number } = {}): Vmprint {
  return vmprintIn(vm.walkView(), opts);
}

export function vmprintIn(m: Machine, opts: { which?: 'guest' | 'shadow'; limit?: number } = {}): Vmprint {
  const limit = opts.limit ?? 4096;
  const roots = { satp: m.core.walkRoot(0), vsatp: m.core.walkRoot(1), guestSatp: m.core.walkRoot(3) };
  let table: string;
  let satp: bigint;
  let space: 'machine' | 'guest';
  if (m.mode === 'hvm-nested') { table = 'vsatp'; satp = roots.vsatp; space = 'guest'; }
  else if ((m.mode === 'trap-emulate' || m.mode === 'hvm-shadow') && opts.which !== 'shadow') {
    table = 'guest satp'; satp = roots.guestSatp; space = 'guest';
  } else if (m.mode === 'hvm-shadow') { table = 'vsatp (shadow)'; satp = roots.vsatp; space = 'machine'; }
  else { table = m.mode === 'trap-emulate' ? 'satp (shadow)' : 'satp'; satp = roots.satp; space = 'machine'; }
  const out: Vmprint = { table, space, entries: [], truncated: 0 };
  if (satp >> 60n === 0n) return out;
  const root = (satp & ((1n << 44n) - 1n)) << 12n;
  out.root = root;
  const view = new DataView(m.memory.buffer);
  const read = (pa: bigint): bigint | undefined => {
    const h = m.core.walkTraceLocate(space === 'guest' ? 1 : 0, pa) >>> 0;
    return h === 0 ? undefined : view.getBigUint64(h, true);
  };
  const visit = (tablePa: bigint, level: number, vaBase: bigint, depth: number): void => {
    for (let i = 0; i < 512; i++) {
      const pte = read(tablePa + BigInt(i) * 8n);
      if (pte === undefined || (pte & PTE_V) === 0n) continue;
      const va = BigInt.asUintN(64, BigInt.asIntN(39, vaBase | (BigInt(i) << BigInt(12 + 9 * level))));
      const leaf = (pte & (PTE_R | PTE_X)) !== 0n;
      if (out.entries.length >= limit) { out.truncated++; continue; }
      out.entries.push({ depth, level, index: i, va, pte, pa: ptePpnAddress(pte), leaf, flags: pteFlags(pte) });
      if (!leaf && level > 0) visit(ptePpnAddress(pte), level - 1, vaBase | (BigInt(i) << BigInt(12 + 9 * level)), depth + 1);
    }
  };
  visit(root, 2, 0n, 0);
  return out;
}

/** vmprint as xv6 prints it: "page table 0x...", then " ..idx: pte 0x... pa 0x... flags". */
export function formatVmprint(p: Vmprint): string {
  if (p.root === undefined) return `${p.table}: Bare (no translation)`;
  const lines = [`page table ${hex(p.root)} (${p.table}, ${p.space}-physical)`];
  for (const e of p.entries) {
    const va = e.leaf ? ` va ${hex(e.va)}` : '';
    lines.push(`${' ..'.repeat(e.depth + 1)}${e.index}: pte ${hex(e.pte)} pa ${hex(e.pa)} ${e.flags}${va}`);
  }
  if (p.truncated) lines.push(`(${p.truncated} more entries)`);
  return lines.join('\n');
}

// ---- the memory map ----------------------------------------------------------------------------

export type Owner = 'free' | 'hypervisor' | 'g-stage' | 'shadow-pool' | 'guest' | 'guest-page-table' | 'ram' | 'device';
const OWNERS: readonly Owner[] = ['free', 'hypervisor', 'g-stage', 'shadow-pool', 'guest', 'guest-page-table', 'ram'];

export interface MemoryRegion {
  /** Machine-physical start and end (exclusive). */
  start: bigint;
  end: bigint;
  owner: Owner;
  /** What it is, for devices and special areas. */
  name?: string;
}

/** The virt machine's devices (DESIGN.md's memory map; assembly/devices/bus.ts). */
export const DEVICE_REGIONS: ReadonlyArray<{ start: bigint; size: bigint; name: string }> = [
  { start: 0x1000n, size: 0xf000n, name: 'mask ROM' },
  { start: 0x10_0000n, size: 0x1000n, name: 'SiFive test' },
  { start: 0x200_0000n, size: 0x1_0000n, name: 'CLINT' },
  { start: 0xc00_0000n, size: 0x60_0000n, name: 'PLIC' },
  { start: 0x1000_0000n, size: 0x100n, name: 'UART 16550A' },
  { start: 0x1000_1000n, size: 0x8000n, name: 'virtio-mmio x 8' },
  { start: 0x1000_9000n, size: 0x1000n, name: 'emudisk' },
];

/**
 * Every 4 KiB frame of machine RAM by owner, from the hypervisor's own bookkeeping (its area
 * layout, the shadow write-protection marks, the pv frame types), merged into runs of one
 * owner, with the devices before RAM. Natively, and for hvm-nested's guest tables (which the
 * hypervisor does not track), the frames of the current table tree are found by walking it.
 */
export function memoryMap(vm: Vm): MemoryRegion[] {
  return memoryMapIn(vm.walkView());
}

export function memoryMapIn(m: Machine): MemoryRegion[] {
  const frames = Number(m.machineBytes >> 12n);
  const owner = new Uint8Array(frames);
  for (let f = 0; f < frames; f++) owner[f] = m.core.frameOwner(RAM_BASE + (BigInt(f) << 12n));
  const GUEST = OWNERS.indexOf('guest');
  const GUEST_PT = OWNERS.indexOf('guest-page-table');
  if (m.mode !== 'native') {
    for (let g = 0n; ; g++) {
      const o = m.core.guestFrameOwner(g);
      if (o === 0) break;
      const hpa = m.core.guestFrameHpa(g);
      const f = Number((hpa - RAM_BASE) >> 12n);
      if (f >= 0 && f < frames) owner[f] = o;
    }
  }
  // Natively (and for hvm-nested's guest tables, which the hypervisor does not track) the
  // tables are found by walking them: the frames vmprint visits.
  if (m.mode === 'native' || m.mode === 'hvm-nested') {
    const p = vmprintIn(m, { limit: 1 << 20 });
    const tables = new Set<bigint>();
    if (p.root !== undefined) tables.add(p.root);
    for (const e of p.entries) if (!e.leaf) tables.add(e.pa);
    for (const t of tables) {
      const hpa: bigint | undefined = m.mode === 'native' ? t : guestToMachine(m, t);
      if (hpa === undefined) continue;
      const f = Number((hpa - RAM_BASE) >> 12n);
      if (f >= 0 && f < frames && (owner[f] === GUEST || m.mode === 'native')) owner[f] = GUEST_PT;
    }
  }
  const regions: MemoryRegion[] = DEVICE_REGIONS.map((d) => ({ start: d.start, end: d.start + d.size, owner: 'device' as Owner, name: d.name }));
  let start = 0;
  for (let f = 1; f <= frames; f++) {
    if (f === frames || owner[f] !== owner[start]) {
      regions.push({ start: RAM_BASE + (BigInt(start) << 12n), end: RAM_BASE + (BigInt(f) << 12n), owner: OWNERS[owner[start]] });
      start = f;
    }
  }
  return regions;
}

function guestToMachine(m: Machine, gpa: bigint): bigint | undefined {
  const gfn = (gpa - RAM_BASE) >> 12n;
  if (gfn < 0n) return undefined;
  const hpa = m.core.guestFrameHpa(gfn);
  return hpa === (1n << 64n) - 1n ? undefined : hpa;
}

/** Frames per owner in a map (for a legend and for tests). */
export function ownerTotals(map: MemoryRegion[]): Record<Owner, number> {
  const t = { free: 0, hypervisor: 0, 'g-stage': 0, 'shadow-pool': 0, guest: 0, 'guest-page-table': 0, ram: 0, device: 0 } as Record<Owner, number>;
  for (const r of map) if (r.owner !== 'device') t[r.owner] += Number((r.end - r.start) >> 12n);
  return t;
}
