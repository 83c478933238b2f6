// A page fault on a shadow table, the one path trap-emulate and hvm-shadow share (they differ
// only in how a fault that is the guest's own reaches the guest: reflected into the virtual
// S-mode, or injected into VS-mode). The fault is filled from the guest's tables, or is an
// access to a device (MMIO, emulated), or a store to a write-protected guest page table
// (emulated, shadows dropped), or the guest's own fault.

import { Counter } from '../counter-ids';
import { count, hart } from '../state';
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
  if (r == FILL_OK) { count(Counter.EXIT_SHADOW_FILL); hart.pc = epc; return SHADOW_HANDLED; }
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
    // An AMO or misaligned store to a page table is not emulated: an access fault.
  }
  return SHADOW_ACCESS_FAULT;
}
