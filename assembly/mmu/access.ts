// Memory accesses that the interpreter's fast path could not complete: a TLB miss, a
// misaligned access, MMIO, or a watched word. Translates through the page walk, refills the
// fast TLB for RAM pages, routes everything else to the bus, and raises the exception the
// privileged spec names when an access cannot be done (section 4.3.2; section 3.6.1 for
// access faults). Misaligned loads and stores to RAM are performed, not trapped.

import { Counter } from '../counter-ids';
import { count, hart, machine, raise, rget, rset, excPending } from '../state';
import { EXC_ILLEGAL_INST, EXC_INST_ACCESS, EXC_INST_MISALIGNED, EXC_INST_PAGE_FAULT,
  EXC_LOAD_ACCESS, EXC_LOAD_MISALIGNED, EXC_LOAD_PAGE_FAULT, EXC_STORE_ACCESS,
  EXC_STORE_MISALIGNED, EXC_STORE_PAGE_FAULT } from '../riscv/cause';
import { MSTATUS_MPP, MSTATUS_MPP_SHIFT, MSTATUS_MPRV, MSTATUS_MXR, MSTATUS_SUM, PRV_M, PRV_S,
  PRV_U, SATP_MODE_SHIFT, SATP_PPN_MASK } from '../riscv/bits';
import { ioInsert, ioLookup, KIND_FETCH, KIND_LOAD, KIND_STORE, tlbInsert, VIEW_PHYS, VIEW_S,
  VIEW_SSUM, VIEW_U } from './tlb';
import { sv39Canonical, walk, walkResult, WALK_OK, WALK_PAGE_FAULT } from './walk';
import { busResult, mmioRead, mmioWrite, MMIO_NONE } from '../devices/bus';
import { halt } from '../devices/testdev';
import { HALT_FAIL, HALT_PASS } from '../state';
import { RESERVATION_NONE } from '../state';

/** Host address of `size` bytes of guest RAM at `pa`, or 0 if they are not all RAM. */
@inline export function ramHost(pa: u64, size: u64): usize {
  const off = pa - machine.ramBase;
  if (off > machine.ramSize - size) return 0;
  return <usize>(machine.ramHost + off);
}

/** The PteLocator of native translation: page tables live in guest-physical RAM. */
export function nativeLocate(pa: u64): usize { return ramHost(pa, 8); }

/** Recompute the fast-TLB views of the current privilege and mstatus (see tlb.ts). */
export function computeViews(): void {
  const bare = (hart.satp >> SATP_MODE_SHIFT) == 0;
  const p = hart.priv;
  hart.fetchView = p == PRV_M || bare ? VIEW_PHYS : p == PRV_U ? VIEW_U : VIEW_S;
  let d = p;
  // MPRV: M-mode loads and stores use the translation and protection of MPP (section 3.1.6.3).
  if (p == PRV_M && (hart.mstatus & MSTATUS_MPRV) != 0) d = <u32>((hart.mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
  hart.dataView = d == PRV_M || bare ? VIEW_PHYS : d == PRV_U ? VIEW_U :
    (hart.mstatus & MSTATUS_SUM) != 0 ? VIEW_SSUM : VIEW_S;
}

function pageFaultCause(kind: u32): u32 {
  return kind == KIND_FETCH ? EXC_INST_PAGE_FAULT : kind == KIND_LOAD ? EXC_LOAD_PAGE_FAULT : EXC_STORE_PAGE_FAULT;
}
function accessFaultCause(kind: u32): u32 {
  return kind == KIND_FETCH ? EXC_INST_ACCESS : kind == KIND_LOAD ? EXC_LOAD_ACCESS : EXC_STORE_ACCESS;
}

/** Translate `va` in `view` for `kind`; on failure raises the exception and returns 0. */
export function translate(va: u64, kind: u32, view: u32): u64 {
  if (view == VIEW_PHYS) return va;
  const io = ioLookup(view, kind, va);
  if ((io & 1) == 0) return io;
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

/** Fetch: the host addend for the page of `pc` (host address = pc + addend), or raises. */
export function fetchSlow(pc: u64): u64 {
  if ((pc & 3) != 0) { raise(EXC_INST_MISALIGNED, pc); return 0; }
  const view = hart.fetchView;
  const pa = translate(pc, KIND_FETCH, view);
  if (excPending()) return 0;
  const h = ramHost(pa, 4);
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
  const size: u32 = 1 << (f3 & 3);
  const view = hart.dataView;
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
  const view = hart.dataView;
  if ((va & <u64>(size - 1)) != 0) { storeMisaligned(va, size, v, view); return; }
  const pa = translate(va, KIND_STORE, view);
  if (excPending()) return;
  const h = ramHost(pa, size);
  if (h != 0) {
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
const AMO_LR: u32 = 0x02;
const AMO_SC: u32 = 0x03;
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
export function amo(inst: u32): void {
  const f3 = (inst >> 12) & 7;
  const f5 = inst >> 27;
  const rd = (inst >> 7) & 31;
  const rs1 = (inst >> 15) & 31;
  const rs2 = (inst >> 20) & 31;
  if (f3 != 2 && f3 != 3) { raise(EXC_ILLEGAL_INST, inst); return; }
  const size: u32 = f3 == 2 ? 4 : 8;
  const va = rget(rs1);
  const view = hart.dataView;
  if (f5 == AMO_LR) {
    if (rs2 != 0) { raise(EXC_ILLEGAL_INST, inst); return; }
    if ((va & <u64>(size - 1)) != 0) { raise(EXC_LOAD_MISALIGNED, va); return; }
    const pa = translate(va, KIND_LOAD, view);
    if (excPending()) return;
    const h = ramHost(pa, size);
    if (h == 0) { raise(EXC_LOAD_ACCESS, va); return; }
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
    hart.reservation = RESERVATION_NONE;
  }
  const pa = translate(va, KIND_STORE, view);
  if (excPending()) return;
  const h = ramHost(pa, size);
  if (h == 0) { raise(EXC_STORE_ACCESS, va); return; }
  const b = rget(rs2);
  if (f5 == AMO_SC) {
    if (size == 4) store<u32>(h, <u32>b); else store<u64>(h, b);
    if (watchedPage(pa)) checkTohost(pa, size);
    rset(rd, 0);
    return;
  }
  if (size == 4) {
    const old = load<i32>(h);
    const x = <i32>b;
    let r: i32;
    switch (f5) {
      case AMO_ADD: r = old + x; break;
      case AMO_SWAP: r = x; break;
      case AMO_XOR: r = old ^ x; break;
      case AMO_OR: r = old | x; break;
      case AMO_AND: r = old & x; break;
      case AMO_MIN: r = old < x ? old : x; break;
      case AMO_MAX: r = old > x ? old : x; break;
      case AMO_MINU: r = <u32>old < <u32>x ? old : x; break;
      default: r = <u32>old > <u32>x ? old : x; break;
    }
    store<i32>(h, r);
    rset(rd, <u64><i64>old);
  } else {
    const old = load<i64>(h);
    const x = <i64>b;
    let r: i64;
    switch (f5) {
      case AMO_ADD: r = old + x; break;
      case AMO_SWAP: r = x; break;
      case AMO_XOR: r = old ^ x; break;
      case AMO_OR: r = old | x; break;
      case AMO_AND: r = old & x; break;
      case AMO_MIN: r = old < x ? old : x; break;
      case AMO_MAX: r = old > x ? old : x; break;
      case AMO_MINU: r = <u64>old < <u64>x ? old : x; break;
      default: r = <u64>old > <u64>x ? old : x; break;
    }
    store<i64>(h, r);
    rset(rd, <u64>old);
  }
  if (watchedPage(pa)) checkTohost(pa, size);
}

/** Read guest-physical RAM for firmware services (SBI DBCN); 0 if outside RAM. */
export function physRange(pa: u64, len: u64): usize {
  if (len == 0) return <usize>machine.ramHost;
  if (len > machine.ramSize) return 0;
  return ramHost(pa, len);
}

