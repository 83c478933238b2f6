// Nested virtualization (docs/nested.md): the VM's own hypervisor (L1) runs its guests (L2)
// on top of the core's hypervisor (L0), the Turtles arrangement (Ben-Yehuda et al., OSDI 2010).
// With `--nested` under hvm-nested the VM is given the H extension, virtually:
//
//   L1 runs in the real VS-mode and believes it is in HS-mode. Its S-level CSRs are the real VS
//   ones (the hardware substitutes them, section 8.2). Its hypervisor CSRs, its vs* CSRs (those
//   of its guest), HLV/HSV and the HFENCEs are virtual-instruction exceptions when executed in
//   VS-mode (section 8.6.1), so they exit to L0, which emulates them against `vh` below. Its
//   SRET with the virtual hstatus.SPV = 1 (the entry into its guest) exits too: L0 sets the real
//   hstatus.VTSR exactly while the virtual SPV is 1 (section 8.2.1).
//
//   L2 runs in the real VS/VU-mode with L1's vs* values in the real VS CSRs, and on a G-stage
//   table L0 builds: L1's hgatp table (L2 gPA -> L1 gPA) composed with L0's own map (L1 gPA ->
//   host), filled lazily on guest-page faults and dropped on L1's HFENCE.GVMA and hgatp writes
//   (the *folded* table). With `--nested-walk naive` no folded table is kept: L0 emulates every
//   L2 G-stage translation in software, walking L1's table through L0's (the 3-D walk).
//
//   An L2 trap that L1 delegated (its virtual hedeleg/hideleg, copied to the real ones while L2
//   runs) goes straight to L2's VS handler. Any other is an exit to L0: L0 handles its own
//   business (its timer and devices for L1, folded-table fills) and reflects the rest into L1
//   as a trap into HS-mode would be taken (section 8.6.4).
//
// State: the virtual hart state and the L1 state parked while L2 runs (`vh`, 272 bytes), the
// write-protected page list and scratch records are static data, about 530 bytes, which
// every world switch of a many-VM host copies.

import { Counter } from '../counter-ids';
import { count, COUNTERS, hart, machine, MODE_HVM_NESTED, rget, rset } from '../state';
import { CAUSE_INTERRUPT, EXC_ECALL_VS, EXC_ILLEGAL_INST, EXC_INST_ACCESS,
  EXC_INST_GUEST_PAGE_FAULT, EXC_INST_PAGE_FAULT, EXC_LOAD_ACCESS, EXC_LOAD_GUEST_PAGE_FAULT, EXC_LOAD_MISALIGNED,
  EXC_LOAD_PAGE_FAULT, EXC_STORE_ACCESS, EXC_STORE_GUEST_PAGE_FAULT, EXC_STORE_PAGE_FAULT,
  EXC_VIRTUAL_INST, IRQ_S_EXT, IRQ_S_SOFT, IRQ_S_TIMER } from '../riscv/cause';
import { HEDELEG_WRITABLE, HGATP_PPN_MASK, HGATP_VMID_MASK, HIDELEG_WRITABLE, HSTATUS_GVA,
  HSTATUS_SPV, HSTATUS_SPVP, HSTATUS_VSXL64, HSTATUS_VTSR, HSTATUS_VTVM, HSTATUS_VTW,
  HSTATUS_WRITABLE, MIP_SEIP, MIP_STIP, MIP_VS_ALL, MIP_VSEIP, MIP_VSSIP, MIP_VSTIP, MSTATUS_MXR,
  MSTATUS_SIE, MSTATUS_SPIE, MSTATUS_SPP, MSTATUS_SUM, MSTATUS_UXL, MSTATUS_XLEN64, PRV_S, PRV_U,
  PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X, SATP_MODE_SHIFT, SATP_PPN_MASK,
  SSTATUS_WRITABLE, SV39X4_GPA_BITS, withSd } from '../riscv/bits';
import * as C from '../riscv/csr';
import { KIND_FETCH, KIND_LOAD, KIND_STORE, tlbFlushGuest, tlbFlushGuestPage, tlbSelectGuest } from '../mmu/tlb';
import { walk, walkResult, WALK_ACCESS_FAULT, WALK_OK, WALK_PAGE_FAULT, sv39Canonical } from '../mmu/walk';
import { extendLoad, nativeLocate, ramHost, TINST_PTE_READ64, TINST_TRANSFORM } from '../mmu/access';
import { sstatusOnTrap } from '../cpu/trap';
import { updateInterrupts } from '../cpu/irq';
import { gpaHost, gpaToHpa, gstageWriteLeaf, NO_HPA, vm, vmHgatp } from './vm';
import { ksmShared, ksmWriteFault } from './ksm';
import { emulateMmio, storeSize, storeValue } from './mmio';
import { retireEmulated } from './retire';

/** Nesting levels: which of L1 and L2 the hart is running. */
export const LEVEL_OFF: u32 = 0;
export const LEVEL_L1: u32 = 1;
export const LEVEL_L2: u32 = 2;

// Reasons of L2 exits (NEST_L2_BY_REASON + r, NEST_REFLECTED_BY_REASON + r).
export const NEST_REASON_ECALL: u32 = 0;        // L2's ECALL (its SBI: L1's business)
export const NEST_REASON_GUEST_PAGE: u32 = 1;   // guest-page fault: fold fill, MMIO, or L1's
export const NEST_REASON_VIRTUAL: u32 = 2;      // virtual instruction
export const NEST_REASON_TIMER: u32 = 3;        // L0's timer (L1's SBI timer)
export const NEST_REASON_EXTERNAL: u32 = 4;     // a device interrupt
export const NEST_REASON_VS_IRQ: u32 = 5;       // a VS interrupt L1 did not delegate
export const NEST_REASON_OTHER: u32 = 6;        // another exception L1 did not delegate
export const NEST_REASON_L1_IRQ: u32 = 7;       // reflected: an interrupt pending for L1 itself
// Reasons of L1 exits while handling a reflected exit (NEST_L1_HANDLING_BY_REASON + r).
export const NEST_L1_REASON_HCSR: u32 = 0;
export const NEST_L1_REASON_SBI: u32 = 1;
export const NEST_L1_REASON_HFENCE: u32 = 2;
export const NEST_L1_REASON_HLV: u32 = 3;
export const NEST_L1_REASON_MMIO: u32 = 4;
export const NEST_L1_REASON_IRQ: u32 = 5;
export const NEST_L1_REASON_OTHER: u32 = 6;
export const NEST_L1_REASON_GSTAGE_WRITE: u32 = 7; // a store to its write-protected G-stage table

/** VMID of the folded table in the real hgatp (L1 runs with VMID 1, vm.ts vmHgatp). */
const L2_VMID: u64 = 2;
const G_ROOT_BYTES: u64 = 16384;
const PPN_MASK: u64 = (<u64>1 << 44) - 1;

/**
 * The virtual hart state of L1's HS-mode (what its hypervisor CSRs hold), and what is parked
 * while the other level runs. Fields named as the CSRs they stand for.
 */
@unmanaged class NestState {
  on: u32 = 0;
  naive: u32 = 0;
  level: u32 = 0;
  /** 1 from a reflection into L1 until L1 enters L2 again: its exits are exit multiplication. */
  handling: u32 = 0;
  // L1's hypervisor CSRs (section 8.2).
  hstatus: u64 = 0;
  hedeleg: u64 = 0;
  hideleg: u64 = 0;
  hie: u64 = 0;       // mie's VS bits, as L1 set them through hie/vsie
  hvip: u64 = 0;
  htval: u64 = 0;
  htinst: u64 = 0;
  hgatp: u64 = 0;
  htimedelta: u64 = 0;
  hcounteren: u64 = 0;
  // L1's vs* CSRs: the state of its guest. In the real VS CSRs while L2 runs.
  vsstatus: u64 = 0;
  vstvec: u64 = 0;
  vsscratch: u64 = 0;
  vsepc: u64 = 0;
  vscause: u64 = 0;
  vstval: u64 = 0;
  vsatp: u64 = 0;
  // L1's own S-level state, parked while L2 runs (it is the real VS state while L1 runs).
  sstatus: u64 = 0;
  stvec: u64 = 0;
  sscratch: u64 = 0;
  sepc: u64 = 0;
  scause: u64 = 0;
  stval: u64 = 0;
  satp: u64 = 0;
  sie: u64 = 0;       // mie's VS bits for L1 (its sie)
  pending: u64 = 0;   // hvip's VS bits for L1: the interrupts L0 injects into L1
  // L0's delegation for L1 (hv/hvm.ts hvmReset), restored at each return to L1.
  l0Hedeleg: u64 = 0;
  l0Hideleg: u64 = 0;
  // The folded G-stage table: its 16 KiB root and a bump allocator in the VM's shadow pool.
  foldRoot: u64 = 0;
  foldNext: u64 = 0;
  foldEnd: u64 = 0;
  /** L1 G-stage table pages write-protected in L0's G-stage (their frames in PROTECTED). */
  protectedCount: u32 = 0;
}
const vh = changetype<NestState>(memory.data(offsetof<NestState>(), 16));
/** Guest frame numbers of L1's G-stage table pages that L0 write-protects (u32 each). */
const MAX_PROTECTED: u32 = 32;
const PROTECTED: usize = memory.data(<i32>MAX_PROTECTED * 4, 16);
/** L1 gPAs of the G-stage PTEs the last fill's walk read (root first). */
const FILL_PATH: usize = memory.data(3 * 8, 16);
@unmanaged class FillPath { len: u32 = 0; }
const fillPath = changetype<FillPath>(memory.data(offsetof<FillPath>(), 8));

@inline export function nestLevel(): u32 { return vh.level; }
@inline export function nestNaiveL2(): bool { return vh.level == LEVEL_L2 && vh.naive != 0; }

/** Configure nesting for the next VM reset (Vm.create: `nested`, `nestedFold`). */
export function nestConfigure(on: bool, naive: bool): void {
  vh.on = on ? 1 : 0;
  vh.naive = naive ? 1 : 0;
}

/** Whether the VM's hart reports the H extension (its device tree's ISA string). */
export function nestEnabled(): bool { return vh.on != 0 && machine.mode == MODE_HVM_NESTED; }

/** At VM reset (hv/hvm.ts hvmReset): L1 starts in its virtual HS-mode with every H CSR zero. */
export function nestReset(): void {
  const on = vh.on;
  const naive = vh.naive;
  memory.fill(changetype<usize>(vh), 0, offsetof<NestState>());
  memory.fill(PROTECTED, 0, MAX_PROTECTED * 4);
  vh.on = on;
  vh.naive = naive;
  if (!nestEnabled()) return;
  vh.level = LEVEL_L1;
  vh.l0Hedeleg = hart.hedeleg;
  vh.l0Hideleg = hart.hideleg;
  // The folded root takes the first 16 KiB-aligned pages of the shadow pool, which
  // hvm-nested does not otherwise use; its tables the pages after it.
  const pool = vm.shadowPool;
  vh.foldRoot = (pool + G_ROOT_BYTES - 1) & ~(G_ROOT_BYTES - 1);
  vh.foldEnd = pool + vm.shadowPages * 4096;
  // Beside other VMs (hv/host.ts) an hvm-nested VM has no shadow pool: no room for a folded
  // table, so its L2 G-stage is walked the naive way, which needs none.
  if (vh.foldRoot + G_ROOT_BYTES + 4 * 4096 > vh.foldEnd) {
    vh.naive = 1;
    vh.foldRoot = 0;
    return;
  }
  foldReset();
}

// ---- The folded G-stage table (L2 gPA -> host physical) ----

function foldReset(): void {
  if (vh.foldRoot == 0 || vh.foldRoot + G_ROOT_BYTES > vh.foldEnd) return;
  memory.fill(ramHost(vh.foldRoot, G_ROOT_BYTES), 0, <usize>G_ROOT_BYTES);
  vh.foldNext = vh.foldRoot + G_ROOT_BYTES;
  // The hardware TLB holds L2 translations derived from the dropped leaves.
  tlbFlushGuest();
}

function foldHgatp(): u64 {
  // L1's G-stage Bare: L2 gPA = L1 gPA, so L0's own table is already the composition. The
  // naive path never walks the real hgatp's table (mmu/access.ts gStage asks nestNaiveGstage).
  const root = (vh.hgatp >> SATP_MODE_SHIFT) == 0 || vh.foldRoot == 0 ? (vmHgatp() & HGATP_PPN_MASK) : (vh.foldRoot >> 12);
  return (<u64>8 << SATP_MODE_SHIFT) | (L2_VMID << 44) | root;
}

/** The folded leaf slot for `gpa`, allocating tables on the way; 0 when the pool is full. */
function foldSlot(gpa: u64): usize {
  let table = vh.foldRoot;
  for (let level: i32 = 2; level > 0; level--) {
    const idx = level == 2 ? (gpa >> 30) & 2047 : (gpa >> 21) & 511;
    const p = ramHost(table + idx * 8, 8);
    let e = load<u64>(p);
    if ((e & PTE_V) == 0) {
      if (vh.foldNext + 4096 > vh.foldEnd) return 0;
      const page = vh.foldNext;
      vh.foldNext += 4096;
      memory.fill(ramHost(page, 4096), 0, 4096);
      e = ((page >> 12) << 10) | PTE_V;
      store<u64>(p, e);
    }
    table = ((e >> 10) & PPN_MASK) << 12;
  }
  return ramHost(table + ((gpa >> 12) & 511) * 8, 8);
}

// ---- Software walks of L1's G-stage table ----

/** How references to L0's map are made: by L0's G-stage table walk (naive) or its frame map. */
function l1Locate(gpa: u64): usize { return gpaHost(gpa, 8); }

/** l1Locate for a fill: also records where the walk went, to write-protect those pages. */
function l1LocateFill(gpa: u64): usize {
  if (fillPath.len < 3) store<u64>(FILL_PATH + <usize>fillPath.len * 8, gpa);
  fillPath.len++;
  return gpaHost(gpa, 8);
}

/** Naive: an L1 G-stage PTE's L1 gPA through a walk of L0's own G-stage table. */
function l1LocateByWalk(gpa: u64): usize {
  const root = (vmHgatp() & HGATP_PPN_MASK) << 12;
  if ((gpa >> SV39X4_GPA_BITS) != 0) return 0;
  if (walk(root, gpa, 11, KIND_LOAD, PRV_U, false, false, nativeLocate, Counter.NEST_NAIVE_REFS_L0) != WALK_OK) return 0;
  return ramHost(walkResult.pa, 8);
}

/**
 * Walk L1's G-stage table (vh.hgatp, Sv39x4, every access a U-mode one: section 8.5.1) for L2
 * guest-physical `gpa`. Returns WALK_OK with walkResult.pa the L1 gPA, WALK_PAGE_FAULT (L1's
 * table does not allow it: L1's guest-page fault) or WALK_ACCESS_FAULT (a PTE of L1's table
 * lies outside L1's RAM). A/D bits are set in L1's table as its hardware would.
 */
function l1Gstage(gpa: u64, kind: u32, mxr: bool, byWalk: bool, refs: Counter): u32 {
  if ((vh.hgatp >> SATP_MODE_SHIFT) == 0) { walkResult.pa = gpa; walkResult.pte = PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D; return WALK_OK; }
  if ((gpa >> SV39X4_GPA_BITS) != 0) return WALK_PAGE_FAULT;
  const root = (vh.hgatp & HGATP_PPN_MASK) << 12;
  const locate = byWalk ? l1LocateByWalk : refs == Counter.NEST_FOLD_REFS ? l1LocateFill : l1Locate;
  return walk(root, gpa, 11, kind, PRV_U, false, mxr, locate, refs);
}

// ---- Write protection of L1's G-stage tables (as hv/shadow.ts protects guest page tables) ----
//
// Every folded leaf is derived from L1 PTEs on pages L0 maps read-only in L1's G-stage (its
// own table, vm.ts). A store to one of them, by L1 or by L2 through a mapping L1 gave it, exits;
// L0 then lifts the protection of that page and drops the folded table, so no folded leaf
// outlives the PTE it came from, whether or not L1 fences (a fill that walks the page again
// protects it again). The architecture would allow stale leaves until HFENCE.GVMA (section
// 8.5.3 of HFENCE's ordering); this keeps L2 coherent with L1's table at every instant, at
// the price of an exit on L1's first table write after each fill, as shadow paging pays.

function protectedIndex(gfn: u64): i32 {
  for (let i: u32 = 0; i < vh.protectedCount; i++) {
    if (<u64>load<u32>(PROTECTED + <usize>i * 4) == gfn) return <i32>i;
  }
  return -1;
}

function unprotectAll(): void {
  for (let i: u32 = 0; i < vh.protectedCount; i++) {
    const g = <u64>load<u32>(PROTECTED + <usize>i * 4);
    gstageWriteLeaf(g, !ksmShared(g));
  }
  vh.protectedCount = 0;
}

/**
 * Write-protect the pages the last fill's walk read, in L0's G-stage for L1, all but `dataGfn`
 * (the frame the fill maps: protecting a table page L2 writes through its own walk could never
 * let that store through; stale leaves from it are what the architecture allows until L1's
 * HFENCE.GVMA). A page newly protected may already be mapped writable by a folded leaf, which
 * nothing would find: the folded table is dropped (the caller fills its leaf after this).
 */
function protectFillPath(dataGfn: u64): void {
  const n = fillPath.len < 3 ? fillPath.len : 3;
  let fresh = false;
  for (let i: u32 = 0; i < n; i++) {
    const gpa = load<u64>(FILL_PATH + <usize>i * 8);
    if (gpaToHpa(gpa) == NO_HPA) continue;
    const gfn = (gpa - 0x8000_0000) >> 12;
    if (gfn == dataGfn || protectedIndex(gfn) >= 0) continue;
    if (vh.protectedCount == MAX_PROTECTED) unprotectAll(); // too many to track: start over
    store<u32>(PROTECTED + <usize>vh.protectedCount * 4, <u32>gfn);
    vh.protectedCount++;
    gstageWriteLeaf(gfn, false);
    count(Counter.NEST_FOLD_PROTECTED);
    fresh = true;
  }
  if (fresh) {
    count(Counter.NEST_FOLD_RESETS);
    // Also flushes L1's TLB entries that still allow stores to the pages (under L1's VMID).
    foldReset();
  }
}

/**
 * A store fault on L1 gPA `gpa` (by L1, or by L2 through a folded leaf): if it is a protected
 * G-stage table page, lift the protection, drop the folded table and let the store run again.
 */
function protectedStore(gpa: u64): bool {
  if (gpaToHpa(gpa) == NO_HPA) return false;
  const gfn = (gpa - 0x8000_0000) >> 12;
  const i = protectedIndex(gfn);
  if (i < 0) return false;
  vh.protectedCount--;
  store<u32>(PROTECTED + <usize>i * 4, load<u32>(PROTECTED + <usize>vh.protectedCount * 4));
  gstageWriteLeaf(gfn, !ksmShared(gfn));
  count(Counter.NEST_FOLD_WP);
  count(Counter.NEST_FOLD_RESETS);
  foldReset();
  return true;
}

/**
 * Naive path (cpu's G-stage of an L2 access, mmu/access.ts): translate L2 gPA to host
 * physical by walking L1's table, each of its PTEs found through a walk of L0's table, then
 * the resulting L1 gPA through L0's table: (3+1)(3+1)-1 = 15 references per L2 G-stage
 * translation, against 3 on the folded table. Sets walkResult.pa; returns a WALK_* code
 * (a page fault is sorted out by the exit: L1's fault, or an L1 device).
 */
export function nestNaiveGstage(gpa: u64, kind: u32, mxr: bool): u32 {
  count(Counter.NEST_NAIVE_WALKS);
  const p0 = load<u64>(COUNTERS + (<usize>Counter.NEST_NAIVE_REFS_L1 << 3));
  const q0 = load<u64>(COUNTERS + (<usize>Counter.NEST_NAIVE_REFS_L0 << 3));
  let r = l1Gstage(gpa, kind, mxr, true, Counter.NEST_NAIVE_REFS_L1);
  if (r == WALK_OK) {
    const l1gpa = walkResult.pa;
    const root = (vmHgatp() & HGATP_PPN_MASK) << 12;
    r = (l1gpa >> SV39X4_GPA_BITS) != 0 ? WALK_PAGE_FAULT :
      walk(root, l1gpa, 11, kind, PRV_U, false, mxr, nativeLocate, Counter.NEST_NAIVE_REFS_L0);
  }
  // The references belong to the L2 walk's G-stage share too.
  count(Counter.NEST_SCRATCH_G,
    load<u64>(COUNTERS + (<usize>Counter.NEST_NAIVE_REFS_L1 << 3)) - p0 +
    load<u64>(COUNTERS + (<usize>Counter.NEST_NAIVE_REFS_L0 << 3)) - q0);
  return r;
}

/**
 * The end of an L2 walk (mmu/access.ts translateGuest): its references, counted in scratch
 * slots while it ran, go to the completed or the cut-short totals.
 */
export function nestWalkDone(ok: bool): void {
  const pv = COUNTERS + (<usize>Counter.NEST_SCRATCH_VS << 3);
  const pg = COUNTERS + (<usize>Counter.NEST_SCRATCH_G << 3);
  const vs = load<u64>(pv);
  const g = load<u64>(pg);
  store<u64>(pv, 0);
  store<u64>(pg, 0);
  if (vs + g == 0) return;
  if (ok) {
    count(Counter.NEST_L2_WALKS);
    count(Counter.NEST_L2_REFS_VS, vs);
    count(Counter.NEST_L2_REFS_G, g);
  } else {
    count(Counter.NEST_L2_REFS_FAULTED, vs + g);
  }
}

// ---- Level switches ----

@inline function vector(tvec: u64, cause: u64): u64 {
  const base = tvec & ~(<u64>3);
  if ((tvec & 3) == 1 && (cause & CAUSE_INTERRUPT) != 0) return base + 4 * (cause & 0xFFF);
  return base;
}

/** The real hstatus while L1 runs: VTSR exactly while its virtual SPV is 1 (its SRET enters L2). */
function l1Hstatus(): void {
  hart.hstatus = HSTATUS_VSXL64 | ((vh.hstatus & HSTATUS_SPV) != 0 ? HSTATUS_VTSR : 0);
}

/** L1's SRET with the virtual hstatus.SPV = 1 (section 8.6.5): enter L2. */
function enterL2(): void {
  // SRET in HS-mode on L1's sstatus (the real vsstatus): SIE = SPIE, SPIE = 1, SPP = U.
  let s = hart.vsstatus;
  const target = (s & MSTATUS_SPP) != 0 ? PRV_S : PRV_U;
  s = (s & ~MSTATUS_SIE) | ((s & MSTATUS_SPIE) != 0 ? MSTATUS_SIE : 0);
  s = (s | MSTATUS_SPIE) & ~MSTATUS_SPP;
  vh.hstatus &= ~HSTATUS_SPV;
  const pc = hart.vsepc;
  // Park L1's S-level state.
  vh.sstatus = s;
  vh.stvec = hart.vstvec;
  vh.sscratch = hart.vsscratch;
  vh.sepc = hart.vsepc;
  vh.scause = hart.vscause;
  vh.stval = hart.vstval;
  vh.satp = hart.vsatp;
  vh.sie = hart.mie & MIP_VS_ALL;
  vh.pending = hart.hvip & MIP_VS_ALL;
  // Load L2's VS state and L1's controls of it.
  hart.vsstatus = vh.vsstatus;
  hart.vstvec = vh.vstvec;
  hart.vsscratch = vh.vsscratch;
  hart.vsepc = vh.vsepc;
  hart.vscause = vh.vscause;
  hart.vstval = vh.vstval;
  hart.vsatp = vh.vsatp;
  hart.mie = (hart.mie & ~MIP_VS_ALL) | (vh.hie & MIP_VS_ALL);
  hart.hvip = vh.hvip & MIP_VS_ALL;
  // What L1 delegated, less what only HS may take (those bits are read-only zero anyway).
  hart.hedeleg = vh.hedeleg & HEDELEG_WRITABLE;
  hart.hideleg = vh.hideleg & HIDELEG_WRITABLE;
  hart.hcounteren = vh.hcounteren & 7;
  hart.htimedelta = vh.htimedelta;
  hart.hstatus = HSTATUS_VSXL64 | (vh.hstatus & (HSTATUS_VTSR | HSTATUS_VTW | HSTATUS_VTVM));
  hart.hgatp = foldHgatp();
  tlbSelectGuest(L2_VMID, hart.vsatp);
  hart.priv = target;
  hart.virt = 1;
  hart.pc = pc;
  vh.level = LEVEL_L2;
  vh.handling = 0;
  count(Counter.NEST_L2_ENTRIES);
}

/**
 * Reflect a trap of L2 into L1 as the hardware takes a trap into HS-mode from V = 1 (section
 * 8.6.4): L1's scause/sepc/stval, htval/htinst, hstatus.SPV = 1, SPVP, GVA, sstatus.SPP and
 * SIE/SPIE; L2's VS state goes back to L1's vs* CSRs; L1 resumes at its stvec on L0's G-stage.
 */
function reflectToL1(cause: u64, tval: u64, epc: u64, gpa4: u64, tinst: u64, gva: bool, reason: u32): void {
  const p2 = hart.priv;
  count(Counter.NEST_REFLECTED);
  count(<Counter>(<u32>Counter.NEST_REFLECTED_BY_REASON + reason));
  vh.vsstatus = hart.vsstatus;
  vh.vstvec = hart.vstvec;
  vh.vsscratch = hart.vsscratch;
  vh.vsepc = hart.vsepc;
  vh.vscause = hart.vscause;
  vh.vstval = hart.vstval;
  vh.vsatp = hart.vsatp;
  vh.hie = hart.mie & MIP_VS_ALL;
  // L2 may have changed VSSIP through its sip (an alias of hvip.VSSIP, section 8.2.3).
  vh.hvip = hart.hvip & MIP_VS_ALL;
  hart.vstvec = vh.stvec;
  hart.vsscratch = vh.sscratch;
  hart.vsatp = vh.satp;
  hart.mie = (hart.mie & ~MIP_VS_ALL) | vh.sie;
  hart.hvip = vh.pending;
  hart.hedeleg = vh.l0Hedeleg;
  hart.hideleg = vh.l0Hideleg;
  hart.hcounteren = 7;
  hart.htimedelta = 0;
  hart.hgatp = vmHgatp();
  tlbSelectGuest((hart.hgatp & HGATP_VMID_MASK) >> 44, hart.vsatp);
  // The trap entry itself.
  hart.vscause = cause;
  hart.vsepc = epc;
  hart.vstval = tval;
  vh.htval = gpa4;
  vh.htinst = tinst;
  let h = vh.hstatus & ~(HSTATUS_GVA | HSTATUS_SPVP);
  h |= HSTATUS_SPV | (p2 == PRV_S ? HSTATUS_SPVP : 0) | (gva ? HSTATUS_GVA : 0);
  vh.hstatus = h;
  hart.vsstatus = sstatusOnTrap(vh.sstatus, p2 == PRV_S);
  hart.priv = PRV_S;
  hart.virt = 1;
  hart.pc = vector(vh.stvec, cause);
  vh.level = LEVEL_L1;
  vh.handling = 1;
  l1Hstatus();
}

/** A trap of L1's own HS-mode that L0 raises for it (an emulated HLV/HSV's fault): V = 0. */
function trapL1Self(cause: u64, tval: u64, epc: u64, gpa4: u64, tinst: u64, gva: bool): void {
  hart.vscause = cause;
  hart.vsepc = epc;
  hart.vstval = tval;
  vh.htval = gpa4;
  vh.htinst = tinst;
  vh.hstatus = (vh.hstatus & ~(HSTATUS_GVA | HSTATUS_SPV)) | (gva ? HSTATUS_GVA : 0);
  hart.vsstatus = sstatusOnTrap(hart.vsstatus, true);
  hart.priv = PRV_S;
  hart.pc = vector(hart.vstvec, cause);
  l1Hstatus();
}

// ---- Exits ----

function addressCause(code: u32): bool {
  return code <= EXC_STORE_ACCESS && code != EXC_ILLEGAL_INST && code != 3 ||
    code == EXC_INST_PAGE_FAULT || code == EXC_LOAD_PAGE_FAULT || code == EXC_STORE_PAGE_FAULT ||
    code == EXC_INST_GUEST_PAGE_FAULT || code == EXC_LOAD_GUEST_PAGE_FAULT || code == EXC_STORE_GUEST_PAGE_FAULT;
}

function accessCause(kind: u32): u32 {
  return kind == KIND_FETCH ? EXC_INST_ACCESS : kind == KIND_LOAD ? EXC_LOAD_ACCESS : EXC_STORE_ACCESS;
}

/**
 * An exit while nesting is on (hv/hvm.ts hvmExit calls it first). Returns true when it was
 * handled here; false leaves it to the ordinary hvm handling (L1's SBI calls, L1's MMIO,
 * L0's timer and devices while L1 runs).
 */
export function nestExit(cause: u64, tval: u64, epc: u64, gpa4: u64, tinst: u64): bool {
  if (vh.level == LEVEL_L2) {
    l2Exit(cause, tval, epc, gpa4, tinst);
    return true;
  }
  count(Counter.NEST_L1_EXITS);
  const isIrq = (cause & CAUSE_INTERRUPT) != 0;
  let handled = false;
  let reason = isIrq ? NEST_L1_REASON_IRQ : cause == EXC_ECALL_VS ? NEST_L1_REASON_SBI :
    (cause == EXC_LOAD_GUEST_PAGE_FAULT || cause == EXC_STORE_GUEST_PAGE_FAULT) ? NEST_L1_REASON_MMIO : NEST_L1_REASON_OTHER;
  if (!isIrq && <u32>cause == EXC_STORE_GUEST_PAGE_FAULT && protectedStore((gpa4 << 2) | (tval & 3))) {
    hart.pc = epc;
    handled = true;
    reason = NEST_L1_REASON_GSTAGE_WRITE;
  } else if (!isIrq && <u32>cause == EXC_VIRTUAL_INST && hart.priv == PRV_S) {
    const r = l1Instruction(<u32>tval, epc);
    if (r >= 0) { handled = true; reason = <u32>r; }
  }
  if (vh.handling != 0) {
    count(Counter.NEST_L1_EXITS_HANDLING);
    count(<Counter>(<u32>Counter.NEST_L1_HANDLING_BY_REASON + reason));
  }
  return handled;
}

/** An exit while L2 ran: L0's own business, a fold fill, or a reflection into L1. */
function l2Exit(cause: u64, tval: u64, epc: u64, gpa4: u64, tinst: u64): void {
  count(Counter.NEST_L2_EXITS);
  hart.pc = epc;
  const isIrq = (cause & CAUSE_INTERRUPT) != 0;
  const code = <u32>(cause & 63);
  if (isIrq) {
    if (code == IRQ_S_TIMER) {
      // L0's timer, armed by L1's SBI set_timer: L1's timer interrupt, pending for L1.
      reason2(NEST_REASON_TIMER);
      count(Counter.EXIT_TIMER);
      count(Counter.INJECTIONS);
      vh.pending |= MIP_VSTIP;
      hart.mipSw &= ~MIP_STIP;
      machine.sbiTimecmp = 0xFFFF_FFFF_FFFF_FFFF;
    } else if (code == IRQ_S_EXT) {
      reason2(NEST_REASON_EXTERNAL);
      count(Counter.EXIT_EXTERNAL);
    } else {
      // A VS-level interrupt L1 injected but did not delegate: L1's to take.
      reason2(NEST_REASON_VS_IRQ);
      reflectToL1(cause, 0, epc, 0, 0, false, NEST_REASON_VS_IRQ);
      nestSyncInterrupts();
      return;
    }
    nestSyncInterrupts();
    return;
  }
  if (code == EXC_INST_GUEST_PAGE_FAULT || code == EXC_LOAD_GUEST_PAGE_FAULT || code == EXC_STORE_GUEST_PAGE_FAULT) {
    reason2(NEST_REASON_GUEST_PAGE);
    l2GuestPageFault(code, tval, epc, (gpa4 << 2) | (tval & 3), tinst);
  } else {
    const reason = code == EXC_ECALL_VS ? NEST_REASON_ECALL : code == EXC_VIRTUAL_INST ? NEST_REASON_VIRTUAL : NEST_REASON_OTHER;
    reason2(reason);
    reflectToL1(cause, tval, epc, 0, tinst, addressCause(code), reason);
  }
  nestSyncInterrupts();
}

@inline function reason2(r: u32): void { count(<Counter>(<u32>Counter.NEST_L2_BY_REASON + r)); }

/**
 * A guest-page fault of L2 at L2 guest-physical `gpa`. L1's table maps it: a missing folded
 * leaf (filled, the access runs again) or an L1 device (L0 emulates the access). L1's table
 * does not: L1's own guest-page fault, reflected with htval = gpa >> 2 (section 8.6.3). A PTE
 * of L1's table outside its RAM: the access fault L1's hardware would raise.
 */
function l2GuestPageFault(code: u32, gva: u64, epc: u64, gpa: u64, tinst: u64): void {
  const kind = code == EXC_INST_GUEST_PAGE_FAULT ? KIND_FETCH : code == EXC_LOAD_GUEST_PAGE_FAULT ? KIND_LOAD : KIND_STORE;
  const mxr = (vh.sstatus & MSTATUS_MXR) != 0;
  // An implicit read of a VS-stage PTE (htinst's pseudo-instruction, section 8.6.3) is a load
  // at the G-stage whatever the original access was; the fault it ends in keeps that access's type.
  const gkind = tinst == TINST_PTE_READ64 ? KIND_LOAD : kind;
  fillPath.len = 0;
  const r = l1Gstage(gpa, gkind, mxr, false, Counter.NEST_FOLD_REFS);
  if (r == WALK_ACCESS_FAULT) {
    reflectToL1(accessCause(kind), gva, epc, 0, 0, true, NEST_REASON_GUEST_PAGE);
    return;
  }
  if (r != WALK_OK) {
    reflectToL1(code, gva, epc, gpa >> 2, tinst, true, NEST_REASON_GUEST_PAGE);
    return;
  }
  const l1gpa = walkResult.pa;
  const l1pte = walkResult.pte;
  // A store to a frame L0 shares between VMs (hv/ksm.ts) breaks the sharing first.
  if (gkind == KIND_STORE && ksmWriteFault(l1gpa)) { hart.pc = epc; return; }
  const hpa = gpaToHpa(l1gpa);
  if (hpa == NO_HPA) {
    // L1 passed one of L0's devices (or nothing) through: emulate the access from htinst, a
    // transformed load or store (section 8.6.3); anything else is L1's access fault.
    let inst = <u32>tinst;
    let len: u64 = 4;
    if ((inst & 3) == 1) { inst |= 3; len = 2; } else if ((inst & 3) != 3) inst = 0;
    if (kind != KIND_FETCH && inst != 0 && emulateMmio(inst, l1gpa)) {
      count(Counter.NEST_L2_MMIO);
      hart.pc = epc + len;
      retireEmulated();
      return;
    }
    reflectToL1(accessCause(kind), gva, epc, 0, 0, true, NEST_REASON_GUEST_PAGE);
    return;
  }
  if (vh.naive != 0) {
    // The naive path has no table to fill, and L1's table allows the access while L0's does
    // not: nothing else in L0's map refuses a RAM frame, so this is L1's access fault.
    reflectToL1(accessCause(kind), gva, epc, 0, 0, true, NEST_REASON_GUEST_PAGE);
    return;
  }
  const gfn = (l1gpa - 0x8000_0000) >> 12;
  // L2 writing one of L1's G-stage tables (L1 mapped it for L2): emulated, and the folded
  // table dropped. Lifting the protection instead could never let it through when L2's own
  // code is reached through that table (the retried fetch would protect it again).
  if (gkind == KIND_STORE && (l1pte & PTE_W) != 0 && protectedIndex(gfn) >= 0) {
    l2TableStore(l1gpa, tinst, epc);
    return;
  }
  // Fill the folded leaf with L1's permissions, less W while L1's leaf is clean (the store
  // that faults next sets D through the walk above) or the frame is shared (hv/ksm.ts).
  protectFillPath(gfn);
  let slot = foldSlot(gpa);
  if (slot == 0) {
    count(Counter.NEST_FOLD_RESETS);
    foldReset();
    slot = foldSlot(gpa);
  }
  let perm = l1pte & (PTE_R | PTE_W | PTE_X | PTE_U);
  if ((l1pte & PTE_D) == 0 || ksmShared(gfn)) perm &= ~PTE_W;
  store<u64>(slot, ((hpa >> 12) << 10) | perm | PTE_V | PTE_A | PTE_D);
  count(Counter.NEST_FOLD_FILLS);
  // The leaf itself may be a protected table page: L2 must not write it without an exit.
  if (protectedIndex(gfn) >= 0) store<u64>(slot, load<u64>(slot) & ~PTE_W);
  tlbFlushGuestPage(gva);
}

/** L0 moved or shared one of L1's frames (vm.ts gstageSetLeaf): folded leaves may be stale. */
export function nestMapChanged(): void {
  if (vh.foldNext != 0 && vh.naive == 0) { count(Counter.NEST_FOLD_RESETS); foldReset(); }
}

/**
 * An L2 store (htinst: the transformed instruction, section 8.6.3) to L1 gPA `gpa`, a
 * write-protected G-stage table page: L0 performs it and drops the folded table. A store it
 * cannot decode (an AMO, a misaligned one across pages) lifts the protection instead.
 */
function l2TableStore(gpa: u64, tinst: u64, epc: u64): void {
  let inst = <u32>tinst;
  let len: u64 = 4;
  if ((inst & 3) == 1) { inst |= 3; len = 2; } else if ((inst & 3) != 3) inst = 0;
  const size: u32 = inst == 0 ? 0 : storeSize(inst);
  const h: usize = size == 0 ? 0 : gpaHost(gpa, <u64>size);
  if (h == 0) { protectedStore(gpa); hart.pc = epc; return; }
  const v = storeValue(inst);
  for (let i: u32 = 0; i < size; i++) store<u8>(h + <usize>i, <u8>(v >> (<u64>i * 8)));
  count(Counter.NEST_FOLD_WP);
  count(Counter.NEST_FOLD_RESETS);
  foldReset();
  hart.pc = epc + len;
  retireEmulated();
}

/**
 * After an exit: interrupts for L1. While L2 runs, an interrupt pending for L1 (L0's
 * injections: its timer, its devices) that L1 enabled in its sie is taken by L1 at once,
 * since HS-mode interrupts are always enabled while V = 1 (section 8.6.4... 3.1.6.1).
 */
export function nestSyncInterrupts(): void {
  updateInterrupts();
  const line = (hart.mipHw & MIP_SEIP) != 0;
  if (vh.level == LEVEL_L2) {
    if (line) { vh.pending |= MIP_VSEIP; hart.mie &= ~MIP_SEIP; } else { vh.pending &= ~MIP_VSEIP; hart.mie |= MIP_SEIP; }
    const ready = vh.pending & vh.sie;
    if (ready != 0) {
      // Priority SEI > SSI > STI (section 3.1.9), at their S-level codes as L1 sees them.
      const code = (ready & MIP_VSEIP) != 0 ? IRQ_S_EXT : (ready & MIP_VSSIP) != 0 ? IRQ_S_SOFT : IRQ_S_TIMER;
      // Part of the exit that made it pending (counted there): reflected as L1's interrupt.
      reflectToL1(CAUSE_INTERRUPT | code, 0, hart.pc, 0, 0, false, NEST_REASON_L1_IRQ);
    }
  } else {
    if (line) { hart.hvip |= MIP_VSEIP; hart.mie &= ~MIP_SEIP; } else { hart.hvip &= ~MIP_VSEIP; hart.mie |= MIP_SEIP; }
  }
}

// ---- L1's hypervisor instructions ----

const OP_SYSTEM: u32 = 0x73;
const INST_SRET: u32 = 0x1020_0073;
const FENCE_MASK: u32 = 0xFE00_7FFF;
const HFENCE_VVMA: u32 = 0x2200_0073;
const HFENCE_GVMA: u32 = 0x6200_0073;

/**
 * A virtual-instruction exit from L1's (virtual HS) S-mode: emulate it if HS-mode could run
 * it. Returns the L1 exit reason, or -1 to leave it to hvm.ts (an illegal instruction for L1).
 */
function l1Instruction(inst: u32, epc: u64): i32 {
  if ((inst & 0x7F) != OP_SYSTEM) return -1;
  const f3 = (inst >> 12) & 7;
  if (inst == INST_SRET) {
    if ((vh.hstatus & HSTATUS_SPV) == 0) return -1;
    retireEmulated(); // in L1's S-mode, before the switch
    enterL2();
    return NEST_L1_REASON_OTHER;
  }
  if (f3 == 0) {
    if ((inst & FENCE_MASK) == HFENCE_GVMA) {
      count(Counter.NEST_L1_HFENCE_GVMA);
      if (vh.naive == 0) { count(Counter.NEST_FOLD_RESETS); foldReset(); unprotectAll(); } else tlbFlushGuest();
      return emulated(epc, NEST_L1_REASON_HFENCE);
    }
    if ((inst & FENCE_MASK) == HFENCE_VVMA) {
      // L2's VS-stage translations: the guest sets carry L2's VMID, flushed whole.
      count(Counter.NEST_L1_HFENCE_VVMA);
      tlbFlushGuest();
      return emulated(epc, NEST_L1_REASON_HFENCE);
    }
    return -1;
  }
  if (f3 == 4) return l1HypervisorAccess(inst, epc);
  if ((f3 & 3) == 0) return -1;
  const csr = inst >> 20;
  const rs1 = (inst >> 15) & 31;
  const op = f3 & 3;
  const src: u64 = (f3 & 4) != 0 ? <u64>rs1 : rget(rs1);
  const writes = op == 1 || rs1 != 0;
  hBad.bad = 0;
  const old = readH(csr);
  if (hBad.bad != 0) return -1;
  if (writes) {
    if (!writeH(csr, op == 1 ? src : op == 2 ? old | src : old & ~src)) return -1;
  }
  rset((inst >> 7) & 31, old);
  count(Counter.NEST_L1_HCSR);
  return emulated(epc, NEST_L1_REASON_HCSR);
}

function emulated(epc: u64, reason: u32): i32 {
  hart.pc = epc + 4; // SYSTEM instructions have no compressed form
  retireEmulated();
  return <i32>reason;
}

/** Set by readH for a CSR L1 does not have under virtual HS: the instruction is illegal for L1. */
@unmanaged class HBad { bad: u32 = 0; }
const hBad = changetype<HBad>(memory.data(offsetof<HBad>(), 8));

function readH(csr: u32): u64 {
  switch (csr) {
    case C.CSR_HSTATUS: return vh.hstatus | HSTATUS_VSXL64;
    case C.CSR_HEDELEG: return vh.hedeleg;
    case C.CSR_HIDELEG: return vh.hideleg;
    case C.CSR_HIE: return vh.hie;
    // hip: the VS bits of hvip (L1 injects, it never sees L0's lines: no guest external lines).
    case C.CSR_HIP: return vh.hvip;
    case C.CSR_HVIP: return vh.hvip;
    case C.CSR_HTIMEDELTA: return vh.htimedelta;
    case C.CSR_HCOUNTEREN: return vh.hcounteren;
    case C.CSR_HGEIE: case C.CSR_HGEIP: case C.CSR_HENVCFG: return 0;
    case C.CSR_HTVAL: return vh.htval;
    case C.CSR_HTINST: return vh.htinst;
    case C.CSR_HGATP: return vh.hgatp;
    case C.CSR_VSSTATUS: return withSd(vh.vsstatus | (MSTATUS_UXL & MSTATUS_XLEN64));
    case C.CSR_VSIE: return (vh.hie & vh.hideleg & MIP_VS_ALL) >> 1;
    case C.CSR_VSIP: return (vh.hvip & vh.hideleg & MIP_VS_ALL) >> 1;
    case C.CSR_VSTVEC: return vh.vstvec;
    case C.CSR_VSSCRATCH: return vh.vsscratch;
    case C.CSR_VSEPC: return vh.vsepc;
    case C.CSR_VSCAUSE: return vh.vscause;
    case C.CSR_VSTVAL: return vh.vstval;
    case C.CSR_VSATP: return vh.vsatp;
  }
  hBad.bad = 1;
  return 0;
}

/** Write a virtual H/VS CSR with the WARL rules of section 8.2; false: read-only (illegal). */
function writeH(csr: u32, v: u64): bool {
  switch (csr) {
    case C.CSR_HSTATUS: vh.hstatus = v & HSTATUS_WRITABLE; l1Hstatus(); return true;
    case C.CSR_HEDELEG: vh.hedeleg = v & HEDELEG_WRITABLE; return true;
    case C.CSR_HIDELEG: vh.hideleg = v & HIDELEG_WRITABLE; return true;
    case C.CSR_HIE: vh.hie = v & MIP_VS_ALL; return true;
    case C.CSR_HIP: vh.hvip = (vh.hvip & ~MIP_VSSIP) | (v & MIP_VSSIP); return true;
    case C.CSR_HVIP: vh.hvip = v & MIP_VS_ALL; return true;
    case C.CSR_HTIMEDELTA: vh.htimedelta = v; return true;
    case C.CSR_HCOUNTEREN: vh.hcounteren = v & 0xFFFF_FFFF; return true;
    case C.CSR_HGEIE: case C.CSR_HENVCFG: return true;
    case C.CSR_HGEIP: return false;
    case C.CSR_HTVAL: vh.htval = v; return true;
    case C.CSR_HTINST: vh.htinst = v; return true;
    case C.CSR_HGATP: {
      // Bare or Sv39x4 (8.2.10); another MODE leaves hgatp unchanged. The folded table is
      // derived from the old one: dropped (a new hgatp needs no fence, so this is more than
      // the minimum: never stale).
      const mode = v >> SATP_MODE_SHIFT;
      if (mode != 0 && mode != 8) return true;
      vh.hgatp = mode == 0 ? 0 : v & ((<u64>0xF << SATP_MODE_SHIFT) | HGATP_VMID_MASK | HGATP_PPN_MASK);
      if (vh.naive == 0) { count(Counter.NEST_FOLD_RESETS); foldReset(); unprotectAll(); }
      return true;
    }
    case C.CSR_VSSTATUS: vh.vsstatus = v & SSTATUS_WRITABLE; return true;
    case C.CSR_VSIE: {
      const m = vh.hideleg & MIP_VS_ALL;
      vh.hie = (vh.hie & ~m) | ((v << 1) & m);
      return true;
    }
    case C.CSR_VSIP: {
      const m = vh.hideleg & MIP_VSSIP;
      vh.hvip = (vh.hvip & ~m) | ((v << 1) & m);
      return true;
    }
    case C.CSR_VSTVEC: if ((v & 3) < 2) vh.vstvec = v; return true;
    case C.CSR_VSSCRATCH: vh.vsscratch = v; return true;
    case C.CSR_VSEPC: vh.vsepc = v & ~(<u64>1); return true;
    case C.CSR_VSCAUSE: vh.vscause = v; return true;
    case C.CSR_VSTVAL: vh.vstval = v; return true;
    case C.CSR_VSATP: {
      const mode = v >> SATP_MODE_SHIFT;
      if (mode == 0) vh.vsatp = 0; else if (mode == 8) vh.vsatp = v;
      return true;
    }
  }
  return false;
}

// ---- HLV/HLVX/HSV from L1 (section 8.3.2): L2's address space, walked by L0 in software ----
//
// As cpu/exec.ts and mmu/access.ts do them for a real HS-mode: the VS-stage through L1's
// vsatp for its guest, the G-stage through L1's hgatp, with SPVP's privilege, vsstatus.SUM,
// and MXR (vsstatus's or L1's own sstatus's at the VS-stage, L1's own at the G-stage); a
// misaligned access to RAM is performed, as the core performs them; a fault is L1's own trap
// with a guest virtual address in stval (GVA = 1) and, for a guest-page fault, htval and htinst.

@unmanaged class SoftFault { cause: u32 = 0; gpa: u64 = 0; tinst: u64 = 0; tval: u64 = 0; }
const soft = changetype<SoftFault>(memory.data(offsetof<SoftFault>(), 16));

/** L1's own sstatus.MXR: its HS-mode's, which also applies to the G-stage (section 8.5.2). */
@inline function l1Mxr(): bool { return (hart.vsstatus & MSTATUS_MXR) != 0; }

/** The VS-stage PteLocator of the software walk: an L2 gPA through L1's table to host memory. */
function l2Locate(gpa: u64): usize {
  const r = l1Gstage(gpa, KIND_LOAD, l1Mxr(), false, Counter.NEST_FOLD_REFS);
  if (r != WALK_OK) { soft.cause = r == WALK_PAGE_FAULT ? 1 : 2; soft.gpa = gpa; return 0; }
  return gpaHost(walkResult.pa, 8);
}

/**
 * The L1 gPA of L2 virtual `va` as L1's HLV/HSV reaches it (through vh.vsatp and vh.hgatp), or
 * NO_HPA with soft.* naming the exception L1 gets.
 */
function l2Translate(va: u64, kind: u32, perm: u32): u64 {
  const spvp = (vh.hstatus & HSTATUS_SPVP) != 0 ? PRV_S : PRV_U;
  const sum = (vh.vsstatus & MSTATUS_SUM) != 0;
  const pf = kind == KIND_LOAD ? EXC_LOAD_PAGE_FAULT : EXC_STORE_PAGE_FAULT;
  const gpf = kind == KIND_LOAD ? EXC_LOAD_GUEST_PAGE_FAULT : EXC_STORE_GUEST_PAGE_FAULT;
  const af = accessCause(kind);
  soft.gpa = 0;
  soft.tinst = 0;
  soft.tval = va;
  let gpa = va;
  if ((vh.vsatp >> SATP_MODE_SHIFT) != 0) {
    if (!sv39Canonical(va)) { soft.cause = pf; return NO_HPA; }
    soft.cause = 0;
    const vsMxr = l1Mxr() || (vh.vsstatus & MSTATUS_MXR) != 0;
    const r = walk((vh.vsatp & SATP_PPN_MASK) << 12, va, 9, perm, spvp, sum, vsMxr, l2Locate, Counter.NEST_FOLD_REFS);
    if (r != WALK_OK) {
      // An implicit VS-stage PTE read that failed its G-stage: htinst's pseudo-instruction.
      if (soft.cause == 1) { soft.cause = gpf; soft.tinst = TINST_PTE_READ64; return NO_HPA; }
      soft.cause = r == WALK_PAGE_FAULT ? pf : af;
      soft.gpa = 0;
      return NO_HPA;
    }
    gpa = walkResult.pa;
  }
  const r = l1Gstage(gpa, perm, l1Mxr(), false, Counter.NEST_FOLD_REFS);
  if (r != WALK_OK) {
    soft.cause = r == WALK_PAGE_FAULT ? gpf : af;
    soft.gpa = r == WALK_PAGE_FAULT ? gpa : 0;
    soft.tinst = r == WALK_PAGE_FAULT ? TINST_TRANSFORM : 0;
    return NO_HPA;
  }
  return walkResult.pa;
}

/**
 * Host addresses of the `size` bytes at L2 virtual `va`: the first page's in hostA, the
 * second's (an access that crosses a page) in hostB; false with soft.* on a fault. Each page
 * is translated once, the second by its page address, as mmu/access.ts does.
 */
@unmanaged class L2Span { a: usize = 0; b: usize = 0; }
const span = changetype<L2Span>(memory.data(offsetof<L2Span>(), 16));

function l2Span(va: u64, kind: u32, perm: u32, size: u32): bool {
  const last = va + size - 1;
  const g0 = l2Translate(va, kind, perm);
  if (g0 == NO_HPA) return false;
  // An HSV onto one of L1's write-protected G-stage tables: the folded leaves go first.
  if (kind == KIND_STORE) protectedStore(g0);
  span.a = gpaHost(g0, 1);
  if (span.a == 0) { soft.cause = accessCause(kind); soft.tval = va; soft.gpa = 0; soft.tinst = 0; return false; }
  span.b = 0;
  if ((va >> 12) != (last >> 12)) {
    const page = last & ~(<u64>0xFFF);
    const g1 = l2Translate(page, kind, perm);
    if (g1 == NO_HPA) return false;
    if (kind == KIND_STORE) protectedStore(g1);
    span.b = gpaHost(g1, 1);
    if (span.b == 0) { soft.cause = accessCause(kind); soft.tval = page; soft.gpa = 0; soft.tinst = 0; return false; }
  }
  return true;
}

@inline function spanByte(va: u64, i: u32): usize {
  const a = va + i;
  return (a >> 12) == (va >> 12) ? span.a + <usize>i : span.b + <usize>(a & 0xFFF);
}

/** HLV/HLVX/HSV of L1 (funct3 = 4 in SYSTEM): the decoding of cpu/exec.ts hypervisorAccess. */
function l1HypervisorAccess(inst: u32, epc: u64): i32 {
  const f7 = inst >> 25;
  const sel = (inst >> 20) & 31;
  const rd = (inst >> 7) & 31;
  const va = rget((inst >> 15) & 31);
  const sizeLog = (f7 >> 1) & 3;
  if ((f7 & 0x78) != 0x30) return -1;
  const size: u32 = 1 << sizeLog;
  const isStore = (f7 & 1) != 0;
  let f3: u32 = 0;
  const exec = !isStore && sel == 3;
  if (isStore) {
    if (rd != 0) return -1;
  } else if (sel == 0) f3 = sizeLog;
  else if (sel == 1 && sizeLog < 3) f3 = sizeLog | 4;
  else if (exec && (sizeLog == 1 || sizeLog == 2)) f3 = sizeLog | 4;
  else return -1;
  count(Counter.NEST_L1_HLV);
  const kind = isStore ? KIND_STORE : KIND_LOAD;
  let ok: bool;
  if (exec && (va & <u64>(size - 1)) != 0) {
    // HLVX is not performed misaligned (mmu/access.ts hypervisorLoad).
    soft.cause = EXC_LOAD_MISALIGNED; soft.tval = va; soft.gpa = 0; soft.tinst = 0;
    ok = false;
  } else {
    ok = l2Span(va, kind, exec ? KIND_FETCH : kind, size);
  }
  if (!ok) {
    // htinst: the HLV/HSV with its address field cleared (the offset is 0), section 8.6.3.
    const tinst = soft.tinst == TINST_TRANSFORM ? <u64>(inst & ~(<u32>31 << 15)) : soft.tinst;
    trapL1Self(soft.cause, soft.tval, epc, soft.gpa >> 2, tinst, soft.cause != EXC_LOAD_MISALIGNED);
    return NEST_L1_REASON_HLV;
  }
  if (isStore) {
    const v = rget(sel);
    for (let i: u32 = 0; i < size; i++) store<u8>(spanByte(va, i), <u8>(v >> (<u64>i * 8)));
  } else {
    let raw: u64 = 0;
    for (let i: u32 = 0; i < size; i++) raw |= <u64>load<u8>(spanByte(va, i)) << (<u64>i * 8);
    rset(rd, extendLoad(raw, f3));
  }
  return emulated(epc, NEST_L1_REASON_HLV);
}

/** For the host (Vm.stats): the nesting level now (0 off, 1 L1, 2 L2). */
export function nestLevelNow(): u32 { return vh.level; }
