// A page fault on a shadow table, the one path trap-emulate and hvm-shadow share (they differ
// only in how a fault that is the guest's own reaches the guest: reflected into the virtual
// S-mode, or injected into VS-mode). The fault is filled from the guest's tables, or is an
// access to a device (MMIO, emulated), or a store to a write-protected guest page table
// (emulated, shadows dropped), or the guest's own fault.

import { Counter } from '../counter-ids';
import { count, hart, rget, rset, RESERVATION_NONE } from '../state';
import { amoResult, AMO_LR, AMO_SC } from '../mmu/access';
import { exitReservation } from '../cpu/trap';
import { EXC_INST_PAGE_FAULT, EXC_LOAD_PAGE_FAULT } from '../riscv/cause';
import { KIND_FETCH, KIND_LOAD, KIND_STORE } from '../mmu/tlb';
import { walkResult, WALK_OK } from '../mmu/walk';
import { fill, fillGpa, FILL_GUEST_FAULT, FILL_MMIO, FILL_OK, FILL_PT_STORE, guestWalk,
  writeProtectedStore } from './shadow';
import { emulateMmio, storeSize, storeValue } from './mmio';
import { gpaHost } from './vm';
import { retireEmulated } from './retire';
import { instLength, isCompressed, standardForm } from '../riscv/rvc';

/** Handled: filled (the instruction runs again) or emulated (it retired, pc moved on). */
export const SHADOW_HANDLED: u32 = 0;
/** The guest's own page fault, to deliver as is. */
export const SHADOW_PAGE_FAULT: u32 = 1;
/** An access the guest may not make (outside its RAM, a bad device access): an access fault. */
export const SHADOW_ACCESS_FAULT: u32 = 2;

/** The halfword at guest virtual `va` through the guest's own translation; -1 if none. */
function guestHalf(guestSatp: u64, va: u64, priv: u32): i32 {
  if (guestWalk(guestSatp, va, KIND_FETCH, priv, false, false) != WALK_OK) return -1;
  const h = gpaHost(walkResult.pa, 2);
  return h == 0 ? -1 : <i32>load<u16>(h);
}

/**
 * The instruction at guest virtual `pc` through the guest's own translation, as fetched: 16
 * bits for a compressed one (instLength tells), 32 otherwise; 0 if it cannot be read. The two
 * halves are translated separately, so an instruction that crosses a page is read right.
 */
export function guestInstruction(guestSatp: u64, pc: u64, priv: u32): u32 {
  const lo = guestHalf(guestSatp, pc, priv);
  if (lo < 0) return 0;
  if (isCompressed(<u32>lo)) return <u32>lo;
  const hi = guestHalf(guestSatp, pc + 2, priv);
  if (hi < 0) return 0;
  return <u32>lo | (<u32>hi << 16);
}

const OP_AMO: u32 = 0x2F;

/**
 * An AMO or SC of the guest on one of its write-protected page tables (unprivileged spec
 * chapter 8): kernels update PTEs atomically (Linux clears a PTE with AMOSWAP.D and sets A/D
 * with LR/SC or AMOOR), so the hypervisor performs the whole read-modify-write on the guest's
 * table, then updates the shadows through writeProtectedStore. The hart is stopped while it
 * does so, which is what makes it atomic. An SC succeeds if the guest's reservation, as it
 * stood at the exit, names this address. False: not an AMO it can perform (misaligned or a
 * reserved encoding); the caller raises the access fault.
 */
function tableAmo(inst: u32, gpa: u64, gva: u64): bool {
  const f3 = (inst >> 12) & 7;
  const f5 = inst >> 27;
  if (f3 != 2 && f3 != 3) return false;
  const size: u32 = f3 == 2 ? 4 : 8;
  if ((gpa & <u64>(size - 1)) != 0 || f5 == AMO_LR) return false;
  const rd = (inst >> 7) & 31;
  const b = rget((inst >> 20) & 31);
  if (f5 == AMO_SC) {
    const held = exitReservation.va == gva;
    exitReservation.va = RESERVATION_NONE;
    if (held) writeProtectedStore(gpa, size, b);
    rset(rd, held ? 0 : 1);
    return true;
  }
  const h = gpaHost(gpa, size);
  if (h == 0) return false;
  const old: i64 = size == 4 ? <i64>load<i32>(h) : load<i64>(h);
  const r = amoResult(f5, old, <i64>(size == 4 ? <u64><i64><i32>b : b), size == 4 ? 0xFFFF_FFFF : 0xFFFF_FFFF_FFFF_FFFF);
  writeProtectedStore(gpa, size, <u64>r);
  rset(rd, <u64>old);
  return true;
}

@inline export function faultKind(code: u32): u32 {
  return code == EXC_INST_PAGE_FAULT ? KIND_FETCH : code == EXC_LOAD_PAGE_FAULT ? KIND_LOAD : KIND_STORE;
}

/**
 * Resolve a page fault (cause `code`, address `gva`, at `epc`) on the shadow for `view`, with
 * the guest's privilege and status bits for the access. Leaves hart.pc set when handled.
 */
export function shadowFault(guestSatp: u64, view: u32, priv: u32, sum: bool, mxr: bool,
  code: u32, gva: u64, epc: u64): u32 {
  const kind = faultKind(code);
  const r = fill(guestSatp, view, gva, kind, priv, sum, mxr);
  if (r == FILL_OK) {
    // The instruction runs again as if the exit had not happened: an SC keeps the reservation
    // its LR took (else an LR/SC loop on a page whose shadow is not filled yet fails once).
    count(Counter.EXIT_SHADOW_FILL);
    hart.pc = epc;
    hart.reservation = exitReservation.va;
    return SHADOW_HANDLED;
  }
  if (r == FILL_GUEST_FAULT) return SHADOW_PAGE_FAULT;
  const gpa = fillGpa();
  // The faulting load or store may be compressed (C.LW, C.SD, C.SWSP...): it is decoded in its
  // 32-bit form and the pc moves on by its own length.
  if (r == FILL_MMIO && kind != KIND_FETCH) {
    const raw = guestInstruction(guestSatp, epc, priv);
    const inst = standardForm(raw);
    if (inst != 0 && emulateMmio(inst, gpa)) { hart.pc = epc + instLength(raw); retireEmulated(); return SHADOW_HANDLED; }
  } else if (r == FILL_PT_STORE) {
    const raw = guestInstruction(guestSatp, epc, priv);
    const inst = standardForm(raw);
    const size = storeSize(inst);
    if (size != 0 && (gpa & <u64>(size - 1)) == 0) {
      count(Counter.EXIT_SHADOW_WP);
      writeProtectedStore(gpa, size, storeValue(inst));
      hart.pc = epc + instLength(raw);
      retireEmulated();
      return SHADOW_HANDLED;
    }
    if ((inst & 0x7F) == OP_AMO && tableAmo(inst, gpa, gva)) {
      count(Counter.EXIT_SHADOW_WP);
      hart.pc = epc + 4;
      retireEmulated();
      return SHADOW_HANDLED;
    }
    // A misaligned store to a page table is not emulated: an access fault.
  }
  return SHADOW_ACCESS_FAULT;
}
