// Memory accesses that the interpreter's fast path could not complete: a TLB miss, a
// misaligned access, MMIO, or a watched word. Translates through the page walk, refills the
// fast TLB for RAM pages, routes everything else to the bus, and raises the exception the
// privileged spec names when an access cannot be done (section 4.3.2; section 3.6.1 for
// access faults). Misaligned loads and stores to RAM are performed, not trapped.

import { Counter } from '../counter-ids';
import { count, hart, machine, raise, rget, rset, excPending } from '../state';
import { EXC_ILLEGAL_INST, EXC_INST_ACCESS, EXC_INST_GUEST_PAGE_FAULT, EXC_INST_MISALIGNED,
  EXC_INST_PAGE_FAULT, EXC_LOAD_ACCESS, EXC_LOAD_GUEST_PAGE_FAULT, EXC_LOAD_MISALIGNED,
  EXC_LOAD_PAGE_FAULT, EXC_STORE_ACCESS, EXC_STORE_GUEST_PAGE_FAULT, EXC_STORE_MISALIGNED,
  EXC_STORE_PAGE_FAULT } from '../riscv/cause';
import { HGATP_PPN_MASK, MSTATUS_MPP, MSTATUS_MPP_SHIFT, MSTATUS_MPRV, MSTATUS_MPV, MSTATUS_MXR,
  MSTATUS_SUM, PRV_M, PRV_S, PRV_U, SATP_MODE_SHIFT, SATP_PPN_MASK,
  SV39X4_GPA_BITS } from '../riscv/bits';
import { ioInsert, ioLookup, KIND_FETCH, KIND_LOAD, KIND_STORE, npwcInsert, npwcLookup,
  tlbInsert, VIEW_PHYS, VIEW_S, VIEW_SSUM, VIEW_U, VIEW_VS, VIEW_VSSUM, VIEW_VU,
  tlbEntry, tlbTable } from './tlb';
import { sv39Canonical, walk, walkResult, WALK_ACCESS_FAULT, WALK_OK,
  WALK_PAGE_FAULT } from './walk';
import { busResult, mmioRead, mmioWrite, MMIO_NONE } from '../devices/bus';
import { halt } from '../devices/testdev';
import { HALT_FAIL, HALT_PASS } from '../state';
import { RESERVATION_NONE } from '../state';
import { dirtyMark } from '../hv/dirty';
import { tlbModelAccess, tlbModelOn } from './tlbmodel';
import { LEVEL_L2, nestLevel, nestNaiveGstage, nestNaiveL2, nestWalkDone } from '../hv/nested';
import { debug, debugBreakAt, debugWatchHit, WATCH_READ, WATCH_WRITE } from '../cpu/debug';
import { tlbPoisoned } from './tlb';

/** Host address of `size` bytes of guest RAM at `pa`, or 0 if they are not all RAM. */
@inline export function ramHost(pa: u64, size: u64): usize {
  const off = pa - machine.ramBase;
  if (off > machine.ramSize - size) return 0;
  return <usize>(machine.ramHost + off);
}

/** The PteLocator of native translation: page tables live in guest-physical RAM. */
export function nativeLocate(pa: u64): usize { return ramHost(pa, 8); }

/**
 * Recompute the fast-TLB views of the current privilege, V bit and mstatus (see tlb.ts). Any
 * state the hypervisor leaves before resuming a guest (virt, priv, vsatp, hgatp, vsstatus) is
 * picked up here at the next chunk.
 */
export function computeViews(): void {
  const p = hart.priv;
  if (hart.virt != 0) {
    hart.fetchView = guestView(PRV_U, false) == VIEW_PHYS ? VIEW_PHYS : p == PRV_U ? VIEW_VU : VIEW_VS;
    hart.dataView = guestView(p, (hart.vsstatus & MSTATUS_SUM) != 0);
    return;
  }
  const bare = (hart.satp >> SATP_MODE_SHIFT) == 0;
  hart.fetchView = p == PRV_M || bare ? VIEW_PHYS : p == PRV_U ? VIEW_U : VIEW_S;
  let d = p;
  // MPRV: M-mode loads and stores use the translation and protection of MPP (section 3.1.6.3),
  // and with MPV = 1 those of VS or VU, both stages (section 8.3.1).
  if (p == PRV_M && (hart.mstatus & MSTATUS_MPRV) != 0) {
    d = <u32>((hart.mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
    if (d != PRV_M && (hart.mstatus & MSTATUS_MPV) != 0) {
      hart.dataView = guestView(d, (hart.vsstatus & MSTATUS_SUM) != 0);
      return;
    }
  }
  hart.dataView = d == PRV_M || bare ? VIEW_PHYS : d == PRV_U ? VIEW_U :
    (hart.mstatus & MSTATUS_SUM) != 0 ? VIEW_SSUM : VIEW_S;
}

/**
 * The view of an access made as if V = 1 with privilege `p` (VU or VS): the guest views, or the
 * physical view when both stages are Bare (then gVA = gPA = host physical address).
 */
export function guestView(p: u32, sum: bool): u32 {
  if ((hart.vsatp >> SATP_MODE_SHIFT) == 0 && (hart.hgatp >> SATP_MODE_SHIFT) == 0) return VIEW_PHYS;
  return p == PRV_U ? VIEW_VU : sum ? VIEW_VSSUM : VIEW_VS;
}

function pageFaultCause(kind: u32): u32 {
  return kind == KIND_FETCH ? EXC_INST_PAGE_FAULT : kind == KIND_LOAD ? EXC_LOAD_PAGE_FAULT : EXC_STORE_PAGE_FAULT;
}
function accessFaultCause(kind: u32): u32 {
  return kind == KIND_FETCH ? EXC_INST_ACCESS : kind == KIND_LOAD ? EXC_LOAD_ACCESS : EXC_STORE_ACCESS;
}

function guestPageFaultCause(kind: u32): u32 {
  return kind == KIND_FETCH ? EXC_INST_GUEST_PAGE_FAULT : kind == KIND_LOAD ?
    EXC_LOAD_GUEST_PAGE_FAULT : EXC_STORE_GUEST_PAGE_FAULT;
}

/** Translate `va` in `view` for `kind`; on failure raises the exception and returns 0. */
export function translate(va: u64, kind: u32, view: u32): u64 {
  if (view == VIEW_PHYS) return va;
  const io = ioLookup(view, kind, va);
  if ((io & 1) == 0) return io;
  if (view >= VIEW_VU) {
    const hpa = translateGuest(va, kind, view, kind);
    if (!excPending() && ramHost(hpa, 1) == 0) ioInsert(view, kind, va, hpa);
    return hpa;
  }
  if (!sv39Canonical(va)) {
    count(Counter.PAGE_FAULTS);
    raise(pageFaultCause(kind), va);
    return 0;
  }
  count(kind == KIND_FETCH ? Counter.TLB_FETCH_MISSES : kind == KIND_LOAD ? Counter.TLB_LOAD_MISSES : Counter.TLB_STORE_MISSES);
  count(Counter.WALKS);
  const root = (hart.satp & SATP_PPN_MASK) << 12;
  const r = walk(root, va, 9, kind, view == VIEW_U ? PRV_U : PRV_S, view == VIEW_SSUM,
    (hart.mstatus & MSTATUS_MXR) != 0, nativeLocate, Counter.WALK_REFS);
  if (r != WALK_OK) {
    count(Counter.PAGE_FAULTS);
    raise(r == WALK_PAGE_FAULT ? pageFaultCause(kind) : accessFaultCause(kind), va);
    return 0;
  }
  const pa = walkResult.pa;
  if (ramHost(pa, 1) == 0) ioInsert(view, kind, va, pa);
  return pa;
}

// ---- Two-stage translation (hypervisor extension, section 8.5) ----
//
//   gVA --VS-stage (vsatp, Sv39)--> gPA --G-stage (hgatp, Sv39x4)--> host physical address
//
// Both stages are the one walk of walk.ts. The VS-stage walk reads its PTEs through vsLocate,
// which sends each PTE's guest-physical address through a G-stage walk first (an implicit
// access, section 8.5.1), so a cold miss with 4 KiB pages at both stages reads 3 VS-stage PTEs
// and 4 x 3 G-stage PTEs: 15 references (counted in WALK_REFS_VS and WALK_REFS_G). With the
// G-stage Bare the VS-stage walk is an ordinary single-stage walk (WALK_REFS).

/** A pseudoinstruction for htinst: the fault came from an implicit 64-bit read of a VS-stage
 * PTE (section 8.6.3, table 8.12). */
export const TINST_PTE_READ64: u64 = 0x0000_3000;
/** Marker in hart.excTinst: htinst is the transformed faulting instruction, which the
 * interpreter computes from the instruction itself when it takes the trap (cpu/exec.ts). */
export const TINST_TRANSFORM: u64 = 2;

/** Why the last G-stage lookup made by vsLocate failed (walk.ts cannot carry it). */
@unmanaged class GStageFault {
  fault: u32 = 0;
  gpa: u64 = 0;
  mxr: u32 = 0;
}
const gFault = changetype<GStageFault>(memory.data(offsetof<GStageFault>(), 16));

/**
 * G-stage translation of `gpa` for an access of `kind` (every G-stage access is a U-mode access,
 * section 8.5.1: the leaf must have U = 1). Returns a WALK_* code; the host physical address is
 * walkResult.pa on success. Guest-physical addresses above 41 bits fault (Sv39x4).
 */
function gStage(gpa: u64, kind: u32, mxr: bool): u32 {
  if ((gpa >> SV39X4_GPA_BITS) != 0) return WALK_PAGE_FAULT;
  count(Counter.WALKS_G);
  // A nested L2 under --nested-walk naive: L0 emulates the G-stage (hv/nested.ts).
  if (nestNaiveL2()) return nestNaiveGstage(gpa, kind, mxr);
  const root = (hart.hgatp & HGATP_PPN_MASK) << 12;
  return walk(root, gpa, 11, kind, PRV_U, false, mxr, nativeLocate, gRefs.g);
}

/** Where two-stage walk references are counted: L2's go to scratch slots (hv/nested.ts). */
@unmanaged class WalkRefs { vs: Counter = Counter.WALK_REFS_VS; g: Counter = Counter.WALK_REFS_G; }
const gRefs = changetype<WalkRefs>(memory.data(offsetof<WalkRefs>(), 8));

/** The PteLocator of the VS-stage when the G-stage is active: gPA of a PTE -> host address. */
function vsLocate(gpa: u64): usize {
  if (machine.nestedPwc != 0) {
    const h = npwcLookup(gpa);
    if (h != 0) { count(Counter.NPWC_HITS); return h; }
    count(Counter.NPWC_MISSES);
  }
  const r = gStage(gpa, KIND_LOAD, gFault.mxr != 0);
  if (r != WALK_OK) {
    gFault.fault = r;
    gFault.gpa = gpa;
    return 0;
  }
  const h = ramHost(walkResult.pa, 8);
  if (h == 0) {
    gFault.fault = WALK_ACCESS_FAULT;
    gFault.gpa = gpa;
    return 0;
  }
  if (machine.nestedPwc != 0) npwcInsert(gpa, <u64>h - (gpa & 0xFFF));
  return h;
}

/** Raise a fault of a V=1 access: tval is the guest virtual address (GVA = 1). */
function raiseGuest(cause: u32, gva: u64, gpa4: u64, tinst: u64): void {
  raise(cause, gva);
  hart.excGva = 1;
  hart.excGpa4 = gpa4;
  hart.excTinst = tinst;
}

/**
 * Translate a guest virtual address through both stages for an access made as if V = 1 in
 * `view` (VIEW_VU/VS/VSSUM). `kind` is the access type that faults report; `perm` the
 * permission checked (KIND_FETCH for HLVX, which needs execute permission, section 8.3.2).
 * Returns the host physical address, or raises and returns 0.
 */
export function translateGuest(va: u64, kind: u32, view: u32, perm: u32): u64 {
  if (nestLevel() != LEVEL_L2) {
    gRefs.vs = Counter.WALK_REFS_VS;
    gRefs.g = Counter.WALK_REFS_G;
    return translateTwoStage(va, kind, view, perm);
  }
  // L2 of a nested VM: its references are counted apart, per completed or faulted walk.
  gRefs.vs = Counter.NEST_SCRATCH_VS;
  gRefs.g = Counter.NEST_SCRATCH_G;
  const hpa = translateTwoStage(va, kind, view, perm);
  nestWalkDone(!excPending());
  return hpa;
}

function translateTwoStage(va: u64, kind: u32, view: u32, perm: u32): u64 {
  count(kind == KIND_FETCH ? Counter.TLB_FETCH_MISSES : kind == KIND_LOAD ? Counter.TLB_LOAD_MISSES : Counter.TLB_STORE_MISSES);
  const gBare = (hart.hgatp >> SATP_MODE_SHIFT) == 0;
  const hsMxr = (hart.mstatus & MSTATUS_MXR) != 0;
  let gpa = va;
  if ((hart.vsatp >> SATP_MODE_SHIFT) != 0) {
    if (!sv39Canonical(va)) {
      count(Counter.PAGE_FAULTS);
      raiseGuest(pageFaultCause(kind), va, 0, 0);
      return 0;
    }
    count(Counter.WALKS);
    gFault.fault = WALK_OK;
    gFault.mxr = hsMxr ? 1 : 0;
    // VS-stage MXR is vsstatus.MXR or HS's sstatus.MXR (section 8.2.10 "vsstatus").
    const vsMxr = hsMxr || (hart.vsstatus & MSTATUS_MXR) != 0;
    const root = (hart.vsatp & SATP_PPN_MASK) << 12;
    const r = walk(root, va, 9, perm, view == VIEW_VU ? PRV_U : PRV_S, view == VIEW_VSSUM, vsMxr,
      gBare ? nativeLocate : vsLocate, gBare ? Counter.WALK_REFS : gRefs.vs);
    if (r != WALK_OK) {
      if (gFault.fault == WALK_PAGE_FAULT) {
        // The implicit access to a VS-stage PTE failed its G-stage translation: a guest-page
        // fault of the original access type, htval = the PTE's gPA >> 2 (section 8.6.3).
        count(Counter.GUEST_PAGE_FAULTS);
        raiseGuest(guestPageFaultCause(kind), va, gFault.gpa >> 2, TINST_PTE_READ64);
      } else {
        count(Counter.PAGE_FAULTS);
        raiseGuest(r == WALK_PAGE_FAULT ? pageFaultCause(kind) : accessFaultCause(kind), va, 0, 0);
      }
      return 0;
    }
    gpa = walkResult.pa;
  }
  if (gBare) return gpa;
  const r = gStage(gpa, perm, hsMxr);
  if (r != WALK_OK) {
    if (r == WALK_PAGE_FAULT) {
      count(Counter.GUEST_PAGE_FAULTS);
      raiseGuest(guestPageFaultCause(kind), va, gpa >> 2, kind == KIND_FETCH ? 0 : TINST_TRANSFORM);
    } else {
      raiseGuest(accessFaultCause(kind), va, 0, 0);
    }
    return 0;
  }
  return walkResult.pa;
}

/** Fetch: the host addend for the page of `pc` (host address = pc + addend), or raises. */
export function fetchSlow(pc: u64): u64 {
  // IALIGN = 16 (the C extension): pcs are even. Nothing makes one odd (jumps clear bit 0,
  // xepc and xtvec keep it clear), so this only guards the host.
  if ((pc & 1) != 0) { raise(EXC_INST_MISALIGNED, pc); return 0; }
  const view = hart.fetchView;
  if (debug.bps != 0 && debugBreakAt(pc)) return 0; // a breakpoint (cpu/debug.ts): stop before it
  if (tlbModelOn() && view != VIEW_PHYS) {
    // The model sees the fetch; then the fast TLB is probed as the interpreter would have, and
    // a hit there is taken as the interpreter takes it: nothing counted, nothing refilled.
    tlbModelAccess(pc, KIND_FETCH, view);
    const e = tlbEntry(tlbTable(view, KIND_FETCH), pc);
    if (load<u64>(e) == (pc & ~(<u64>0xFFE))) return load<u64>(e, 8);
  }
  if (debug.bps != 0) {
    // A breakpoint's page with no breakpoint at pc: the poisoned entry is used as a hit.
    const add = tlbPoisoned(view, KIND_FETCH, pc);
    if ((add & 1) == 0) return add;
  }
  const pa = translate(pc, KIND_FETCH, view);
  if (excPending()) return 0;
  const h = ramHost(pa, 2);
  if (h == 0) { raise(EXC_INST_ACCESS, pc); return 0; }
  const hostPage = <u64>h - (pc & 0xFFF);
  tlbInsert(view, KIND_FETCH, pc, hostPage);
  return hostPage - (pc & ~(<u64>0xFFF));
}

/** Sign- or zero-extend a loaded value as LOAD's funct3 says (LB LH LW LD LBU LHU LWU). */
@inline export function extendLoad(v: u64, f3: u32): u64 {
  switch (f3) {
    case 0: return <u64><i64><i8>v;
    case 1: return <u64><i64><i16>v;
    case 2: return <u64><i64><i32>v;
    case 4: return v & 0xFF;
    case 5: return v & 0xFFFF;
    case 6: return v & 0xFFFF_FFFF;
  }
  return v;
}

@inline function hostLoad(h: usize, size: u32): u64 {
  if (size == 1) return load<u8>(h);
  if (size == 2) return load<u16>(h);
  if (size == 4) return load<u32>(h);
  return load<u64>(h);
}
@inline function hostStore(h: usize, size: u32, v: u64): void {
  if (size == 1) store<u8>(h, <u8>v);
  else if (size == 2) store<u16>(h, <u16>v);
  else if (size == 4) store<u32>(h, <u32>v);
  else store<u64>(h, v);
}

/** Is pa on the page of the watched tohost word (whose stores must reach storeSlow)? */
@inline function watchedPage(pa: u64): bool {
  return machine.tohost != 0 && (pa >> 12) == (machine.tohost >> 12);
}

/** A load the fast path did not complete. Returns the extended value or raises. */
export function loadSlow(va: u64, f3: u32): u64 {
  if (debug.watches != 0 || tlbModelOn()) return loadObserved(va, f3);
  return loadIn(va, f3, hart.dataView);
}

/**
 * loadSlow while something observes loads: the debugger's watches (cpu/debug.ts) stop before a
 * watched load; the model TLB sees the access; then what the fast path would have hit (a
 * poisoned entry too) completes as the loop completes it, counting nothing.
 */
function loadObserved(va: u64, f3: u32): u64 {
  const size: u32 = 1 << (f3 & 3);
  if (debug.watches != 0 && debugWatchHit(va, size, WATCH_READ, Counter.TLB_LOAD_LOOKUPS)) return 0;
  const view = hart.dataView;
  if (tlbModelOn() && view != VIEW_PHYS) {
    modelData(va, size, KIND_LOAD, view);
    const e = tlbEntry(tlbTable(view, KIND_LOAD), va);
    if (load<u64>(e) == (va & (~(<u64>0xFFF) | <u64>(size - 1)))) {
      return extendLoad(hostLoad(<usize>(va + load<u64>(e, 8)), size), f3);
    }
  }
  if (debug.watches != 0 && (va & <u64>(size - 1)) == 0) {
    const add = tlbPoisoned(view, KIND_LOAD, va);
    if ((add & 1) == 0) return extendLoad(hostLoad(<usize>(va + add), size), f3);
  }
  return loadIn(va, f3, view);
}

/** The model TLB sees a data access: each page it touches (a misaligned one may touch two). */
function modelData(va: u64, size: u32, kind: u32, view: u32): void {
  tlbModelAccess(va, kind, view);
  const last = va + size - 1;
  if ((last >> 12) != (va >> 12)) tlbModelAccess(last, kind, view);
}

function loadIn(va: u64, f3: u32, view: u32): u64 {
  const size: u32 = 1 << (f3 & 3);
  if ((va & <u64>(size - 1)) != 0) return extendLoad(loadMisaligned(va, size, view), f3);
  const pa = translate(va, KIND_LOAD, view);
  if (excPending()) return 0;
  const h = ramHost(pa, size);
  if (h != 0) {
    tlbInsert(view, KIND_LOAD, va, <u64>h - (va & 0xFFF));
    return extendLoad(hostLoad(h, size), f3);
  }
  if (mmioRead(pa, size) == MMIO_NONE) { raise(EXC_LOAD_ACCESS, va); return 0; }
  return extendLoad(busResult.value, f3);
}

/** A misaligned load: done in RAM, byte by byte if it crosses a page; MMIO faults. */
function loadMisaligned(va: u64, size: u32, view: u32): u64 {
  const last = va + size - 1;
  const pa0 = translate(va, KIND_LOAD, view);
  if (excPending()) return 0;
  if ((va >> 12) == (last >> 12)) {
    const h = ramHost(pa0, size);
    if (h == 0) { raise(EXC_LOAD_ACCESS, va); return 0; }
    return hostLoad(h, size);
  }
  const pa1 = translate(last & ~(<u64>0xFFF), KIND_LOAD, view);
  if (excPending()) return 0;
  let v: u64 = 0;
  for (let i: u32 = 0; i < size; i++) {
    const a = va + i;
    const pa = (a >> 12) == (va >> 12) ? pa0 + i : pa1 + (a & 0xFFF);
    const h = ramHost(pa, 1);
    if (h == 0) { raise(EXC_LOAD_ACCESS, a); return 0; }
    v |= <u64>load<u8>(h) << (<u64>i * 8);
  }
  return v;
}

/** A store the fast path did not complete (size in bytes). Raises on failure. */
export function storeSlow(va: u64, size: u32, v: u64): void {
  if (debug.watches != 0 || tlbModelOn()) storeObserved(va, size, v);
  else storeIn(va, size, v, hart.dataView);
}

/** storeSlow while something observes stores: as loadObserved. */
function storeObserved(va: u64, size: u32, v: u64): void {
  if (debug.watches != 0 && debugWatchHit(va, size, WATCH_WRITE, Counter.TLB_STORE_LOOKUPS)) return;
  const view = hart.dataView;
  if (tlbModelOn() && view != VIEW_PHYS) {
    modelData(va, size, KIND_STORE, view);
    const e = tlbEntry(tlbTable(view, KIND_STORE), va);
    if (load<u64>(e) == (va & (~(<u64>0xFFF) | <u64>(size - 1)))) {
      hostStore(<usize>(va + load<u64>(e, 8)), size, v);
      return;
    }
  }
  if (debug.watches != 0 && (va & <u64>(size - 1)) == 0) {
    const add = tlbPoisoned(view, KIND_STORE, va);
    if ((add & 1) == 0) { hostStore(<usize>(va + add), size, v); return; }
  }
  storeIn(va, size, v, view);
}

function storeIn(va: u64, size: u32, v: u64, view: u32): void {
  if ((va & <u64>(size - 1)) != 0) { storeMisaligned(va, size, v, view); return; }
  const pa = translate(va, KIND_STORE, view);
  if (excPending()) return;
  const h = ramHost(pa, size);
  if (h != 0) {
    dirtyMark(h);
    hostStore(h, size, v);
    if (watchedPage(pa)) checkTohost(pa, size);
    else tlbInsert(view, KIND_STORE, va, <u64>h - (va & 0xFFF));
    return;
  }
  if (mmioWrite(pa, size, v) == MMIO_NONE) { raise(EXC_STORE_ACCESS, va); return; }
  hart.chunkBreak = 1;
}

function storeMisaligned(va: u64, size: u32, v: u64, view: u32): void {
  const last = va + size - 1;
  const pa0 = translate(va, KIND_STORE, view);
  if (excPending()) return;
  let pa1 = pa0;
  if ((va >> 12) != (last >> 12)) {
    pa1 = translate(last & ~(<u64>0xFFF), KIND_STORE, view);
    if (excPending()) return;
  }
  // Check every byte first, so a faulting store changes nothing.
  for (let i: u32 = 0; i < size; i++) {
    const a = va + i;
    const pa = (a >> 12) == (va >> 12) ? pa0 + i : pa1 + (a & 0xFFF);
    if (ramHost(pa, 1) == 0) { raise(EXC_STORE_ACCESS, a); return; }
  }
  for (let i: u32 = 0; i < size; i++) {
    const a = va + i;
    const pa = (a >> 12) == (va >> 12) ? pa0 + i : pa1 + (a & 0xFFF);
    dirtyMark(ramHost(pa, 1));
    store<u8>(ramHost(pa, 1), <u8>(v >> (<u64>i * 8)));
    if (watchedPage(pa)) checkTohost(pa, 1);
  }
}

/**
 * riscv-tests' host interface: a nonzero word stored to `tohost` ends the run. 1 passes;
 * another odd value fails with code value >> 1. Even values (HTIF device commands) are not
 * supported and are cleared so the guest can go on.
 */
function checkTohost(pa: u64, size: u32): void {
  const t = machine.tohost;
  if (pa + size <= t || pa >= t + 8) return;
  const h = ramHost(t, 8);
  if (h == 0) return;
  const v = load<u64>(h);
  if (v == 0) return;
  if (v == 1) halt(HALT_PASS, 0);
  else if ((v & 1) != 0) halt(HALT_FAIL, v >> 1);
  else store<u64>(h, 0);
}

// AMO funct5 values (unprivileged spec chapter 8, table 8.1 and the opcode map).
const AMO_ADD: u32 = 0x00;
const AMO_SWAP: u32 = 0x01;
export const AMO_LR: u32 = 0x02;
export const AMO_SC: u32 = 0x03;
const AMO_XOR: u32 = 0x04;
const AMO_OR: u32 = 0x08;
const AMO_AND: u32 = 0x0C;
const AMO_MIN: u32 = 0x10;
const AMO_MAX: u32 = 0x14;
const AMO_MINU: u32 = 0x18;
const AMO_MAXU: u32 = 0x1C;

/**
 * The A extension: LR/SC and the AMOs. They must be naturally aligned (misaligned ones raise
 * the address-misaligned exception) and may only target RAM (MMIO raises an access fault).
 * The reservation is the LR's virtual address, as in QEMU; a trap clears it.
 */
/** The value an AMO stores (unprivileged spec 8.4): `mask` selects the operand width. */
export function amoResult(f5: u32, old: i64, x: i64, mask: u64): i64 {
  switch (f5) {
    case AMO_ADD: return old + x;
    case AMO_SWAP: return x;
    case AMO_XOR: return old ^ x;
    case AMO_OR: return old | x;
    case AMO_AND: return old & x;
    case AMO_MIN: return old < x ? old : x;
    case AMO_MAX: return old > x ? old : x;
    case AMO_MINU: return (<u64>old & mask) < (<u64>x & mask) ? old : x;
    default: return (<u64>old & mask) > (<u64>x & mask) ? old : x; // AMO_MAXU
  }
}

// Set by amoHost when the word lies on the watched tohost page (whose stores must be seen).
@unmanaged class AmoState { watched: u32 = 0; pa: u64 = 0; sc: u32 = 0; }
const amoState = changetype<AmoState>(memory.data(offsetof<AmoState>(), 16));

/**
 * Host address of the naturally aligned word an LR/SC/AMO accesses, through the fast TLB as
 * any load or store would (filling it on a miss), or 0 with the exception raised.
 */
function amoHost(va: u64, kind: u32, size: u32): usize {
  const view = hart.dataView;
  if (tlbModelOn() && view != VIEW_PHYS) tlbModelAccess(va, kind, view);
  const e = tlbEntry(tlbTable(view, kind), va);
  amoState.watched = 0;
  if (load<u64>(e) == (va & ~(<u64>0xFFF))) return <usize>(va + load<u64>(e, 8));
  if (debug.watches != 0) {
    // LR reads; SC writes; an AMO reads and writes (cpu/debug.ts).
    if (debugWatchHit(va, size, kind == KIND_LOAD ? WATCH_READ : amoState.sc != 0 ? WATCH_WRITE : WATCH_READ | WATCH_WRITE,
      Counter.TLB_LOAD_LOOKUPS)) return 0;
    const add = tlbPoisoned(view, kind, va);
    if ((add & 1) == 0) return <usize>(va + add);
  }
  const pa = translate(va, kind, view);
  if (excPending()) return 0;
  const h = ramHost(pa, size);
  if (h == 0) { raise(kind == KIND_LOAD ? EXC_LOAD_ACCESS : EXC_STORE_ACCESS, va); return 0; }
  if (kind == KIND_STORE) dirtyMark(h);
  if (kind == KIND_STORE && watchedPage(pa)) {
    amoState.watched = 1;
    amoState.pa = pa;
  } else {
    tlbInsert(view, kind, va, <u64>h - (va & 0xFFF));
  }
  return h;
}

export function amo(inst: u32): void {
  const f3 = (inst >> 12) & 7;
  const f5 = inst >> 27;
  const rd = (inst >> 7) & 31;
  const rs1 = (inst >> 15) & 31;
  const rs2 = (inst >> 20) & 31;
  if (f3 != 2 && f3 != 3) { raise(EXC_ILLEGAL_INST, inst); return; }
  const size: u32 = f3 == 2 ? 4 : 8;
  const va = rget(rs1);
  if (f5 == AMO_LR) {
    if (rs2 != 0) { raise(EXC_ILLEGAL_INST, inst); return; }
    if ((va & <u64>(size - 1)) != 0) { raise(EXC_LOAD_MISALIGNED, va); return; }
    const h = amoHost(va, KIND_LOAD, size);
    if (h == 0) return;
    hart.reservation = va;
    rset(rd, size == 4 ? <u64><i64>load<i32>(h) : load<u64>(h));
    return;
  }
  switch (f5) {
    case AMO_SC: case AMO_ADD: case AMO_SWAP: case AMO_XOR: case AMO_OR: case AMO_AND:
    case AMO_MIN: case AMO_MAX: case AMO_MINU: case AMO_MAXU: break;
    default: raise(EXC_ILLEGAL_INST, inst); return;
  }
  if ((va & <u64>(size - 1)) != 0) { raise(EXC_STORE_MISALIGNED, va); return; }
  if (f5 == AMO_SC) {
    // An SC without a matching reservation fails without accessing memory (section 8.2).
    if (hart.reservation != va) { hart.reservation = RESERVATION_NONE; rset(rd, 1); return; }
  }
  // An SC that faults leaves the reservation to the trap, which ends it; a VM exit keeps it
  // for the hypervisor's emulation (cpu/trap.ts exitReservation, hv/fault.ts).
  amoState.sc = f5 == AMO_SC ? 1 : 0;
  const h = amoHost(va, KIND_STORE, size);
  if (h == 0) return;
  const b = rget(rs2);
  if (f5 == AMO_SC) {
    hart.reservation = RESERVATION_NONE;
    if (size == 4) store<u32>(h, <u32>b); else store<u64>(h, b);
    if (amoState.watched != 0) checkTohost(amoState.pa, size);
    rset(rd, 0);
    return;
  }
  // A .W operation works on the sign-extended words: the low 32 bits of the result are right,
  // and masking the operands to 32 bits gives the unsigned comparisons.
  const old: i64 = size == 4 ? <i64>load<i32>(h) : load<i64>(h);
  const r = amoResult(f5, old, <i64>(size == 4 ? <u64><i64><i32>b : b), size == 4 ? 0xFFFF_FFFF : 0xFFFF_FFFF_FFFF_FFFF);
  if (size == 4) store<i32>(h, <i32>r); else store<i64>(h, r);
  rset(rd, <u64>old);
  if (amoState.watched != 0) checkTohost(amoState.pa, size);
}

/** Read guest-physical RAM for firmware services (SBI DBCN); 0 if outside RAM. */
export function physRange(pa: u64, len: u64): usize {
  if (len == 0) return <usize>machine.ramHost;
  if (len > machine.ramSize) return 0;
  return ramHost(pa, len);
}


// ---- HLV, HLVX, HSV (section 8.3.2 "Hypervisor Virtual-Machine Load and Store Instructions") --
// They access memory as though V = 1 with the privilege in hstatus.SPVP (VS if 1, VU if 0),
// through both translation stages, with vsstatus.SUM; HLVX needs execute permission instead of
// read. Whether the current mode may execute them is decided by the caller (cpu/exec.ts).

/** The view of a hypervisor load/store. */
function hypervisorView(): u32 {
  return guestView((hart.hstatus & (1 << 8)) != 0 ? PRV_S : PRV_U, (hart.vsstatus & MSTATUS_SUM) != 0);
}

/** After a faulting HLV/HSV: tval holds a guest virtual address; htinst the instruction with
 * rs1 replaced by the address offset (section 8.6.3). */
function hypervisorFault(inst: u32, va: u64): void {
  const c = hart.excCause;
  if (c == EXC_LOAD_ACCESS || c == EXC_STORE_ACCESS || c == EXC_LOAD_MISALIGNED ||
    c == EXC_STORE_MISALIGNED || c == EXC_LOAD_PAGE_FAULT || c == EXC_STORE_PAGE_FAULT ||
    c == EXC_LOAD_GUEST_PAGE_FAULT || c == EXC_STORE_GUEST_PAGE_FAULT) hart.excGva = 1;
  if (hart.excTinst == TINST_TRANSFORM) {
    hart.excTinst = <u64>((inst & ~(<u32>31 << 15)) | ((<u32>(hart.excTval - va) & 31) << 15));
  }
}

/**
 * HLV.B/BU/H/HU/W/WU/D and HLVX.HU/WU: `f3` as the matching LOAD funct3, `exec` for HLVX.
 * Returns the extended value, or raises.
 */
export function hypervisorLoad(inst: u32, va: u64, f3: u32, exec: bool): u64 {
  const view = hypervisorView();
  if (tlbModelOn() && view != VIEW_PHYS) modelData(va, <u32>1 << (f3 & 3), KIND_LOAD, view);
  let v: u64 = 0;
  if (!exec || view == VIEW_PHYS) {
    v = loadIn(va, f3, view);
  } else {
    const size: u32 = 1 << (f3 & 3);
    if ((va & <u64>(size - 1)) != 0) {
      raise(EXC_LOAD_MISALIGNED, va);
    } else {
      const hpa = translateGuest(va, KIND_LOAD, view, KIND_FETCH);
      if (!excPending()) {
        const h = ramHost(hpa, size);
        if (h == 0) raise(EXC_LOAD_ACCESS, va);
        else v = extendLoad(hostLoad(h, size), f3);
      }
    }
  }
  if (excPending()) { hypervisorFault(inst, va); return 0; }
  return v;
}

/** HSV.B/H/W/D: a store of `size` bytes as though V = 1. Raises on failure. */
export function hypervisorStore(inst: u32, va: u64, size: u32, v: u64): void {
  const view = hypervisorView();
  if (tlbModelOn() && view != VIEW_PHYS) modelData(va, size, KIND_STORE, view);
  storeIn(va, size, v, view);
  if (excPending()) hypervisorFault(inst, va);
}
