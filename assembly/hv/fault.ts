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

/** Handled: filled (the instruction runs again) or emulated (it retired, pc moved on). */
export const SHADOW_HANDLED: u32 = 0;
/** The guest's own page fault, to deliver as is. */
export const SHADOW_PAGE_FAULT: u32 = 1;
/** An access the guest may not make (outside its RAM, a bad device access): an access fault. */
export const SHADOW_ACCESS_FAULT: u32 = 2;

/** The instruction at guest virtual `pc` through the guest's own translation, or 0. */
export function guestInstruction(guestSatp: u64, pc: u64, priv: u32): u32 {
  if (guestWalk(guestSatp, pc, KIND_FETCH, priv, false, false) != WALK_OK) return 0;
  const h = gpaHost(walkResult.pa, 4);
  return h == 0 ? 0 : load<u32>(h);
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
  if (r == FILL_MMIO && kind != KIND_FETCH) {
    const inst = guestInstruction(guestSatp, epc, priv);
    if (inst != 0 && emulateMmio(inst, gpa)) { hart.pc = epc + 4; retireEmulated(); return SHADOW_HANDLED; }
  } else if (r == FILL_PT_STORE) {
    const inst = guestInstruction(guestSatp, epc, priv);
    const size = storeSize(inst);
    if (size != 0 && (gpa & <u64>(size - 1)) == 0) {
      count(Counter.EXIT_SHADOW_WP);
      writeProtectedStore(gpa, size, storeValue(inst));
      hart.pc = epc + 4;
      retireEmulated();
      return SHADOW_HANDLED;
    }
    // An AMO or misaligned store to a page table is not emulated: an access fault.
  }
  return SHADOW_ACCESS_FAULT;
}
