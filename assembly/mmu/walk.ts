// The page walk: one function for every table format and stage (STYLE.md point 5). It follows
// the algorithm of the privileged specification v1.12, section 4.3.2 "Virtual Address
// Translation Process", for Sv39 (section 4.4) and, with a wider root index, for the G-stage
// Sv39x4 of the hypervisor extension (section 8.5.1). How a PTE is found in host memory is the
// caller's: a PteLocator turns the table's physical address into a host address, so the same
// walk reads native tables, a guest's tables through its gPA->hPA map, and shadow tables.
//
//   Sv39 virtual address (39 bits, bits 63:39 must equal bit 38):
//   38        30 29        21 20        12 11           0
//   |  VPN[2]   |   VPN[1]   |   VPN[0]   |  page offset |
//
//   PTE: 63..54 reserved | 53..10 PPN | 9..8 RSW | D A G U X W R V

import { Counter } from '../counter-ids';
import { count, machine } from '../state';
import { ksmPteWritable } from '../hv/ksm';
import { PRV_U, PTE_A, PTE_D, PTE_PPN_MASK, PTE_PPN_SHIFT, PTE_R, PTE_RESERVED, PTE_U, PTE_V,
  PTE_W, PTE_X } from '../riscv/bits';
import { KIND_FETCH, KIND_STORE } from './tlb';
import { dirtyMark } from '../hv/dirty';
import { REF_INVALID, REF_LEAF, REF_MISALIGNED, REF_NEXT, REF_NO_PTE, REF_PERM, REF_RESERVED,
  REF_TOO_DEEP, traceRef, traceState } from './walkrec';

/** Turns the physical address of a PTE into its host address, or returns 0 if it has none. */
export type PteLocator = (pa: u64) => usize;

export const WALK_OK: u32 = 0;
export const WALK_PAGE_FAULT: u32 = 1;
export const WALK_ACCESS_FAULT: u32 = 2;

/** The outcome of the last walk (a walk never nests inside another on one hart). */
@unmanaged export class WalkResult {
  pa: u64 = 0;
  pte: u64 = 0;
  level: u32 = 0;
  fault: u32 = 0;
}
export const walkResult = changetype<WalkResult>(memory.data(offsetof<WalkResult>(), 16));

const LEVELS: u32 = 3;
const VPN_BITS: u64 = 9;

/**
 * Translate `va` for an access of `kind` made with privilege `priv` (PRV_U for user accesses
 * and for every G-stage access). `rootPa` is the root table's physical address; `rootBits` is
 * the width of the root index: 9 for Sv39, 11 for Sv39x4. Returns WALK_OK with walkResult.pa
 * set, or a fault kind. Accessed and dirty bits are set in the PTE, as hardware would
 * (the Svade alternative of faulting is not used; section 4.3.2 step 7).
 * Each PTE read counts one memory reference in `refs`. While a traced translation runs
 * (mmu/walktrace.ts) nothing is counted or written: each reference is recorded instead.
 */
export function walk(rootPa: u64, va: u64, rootBits: u32, kind: u32, priv: u32, sum: bool,
  mxr: bool, locate: PteLocator, refs: Counter): u32 {
  let a = rootPa;
  let level = <i32>LEVELS - 1;
  let pte: u64 = 0;
  let ptePtr: usize = 0;
  let ptePa: u64 = 0;
  while (true) {
    const shift = PAGE_SHIFT_U + <u64>level * VPN_BITS;
    const idxBits = level == <i32>LEVELS - 1 ? <u64>rootBits : VPN_BITS;
    const idx = (va >> shift) & ((<u64>1 << idxBits) - 1);
    ptePa = a + idx * 8;
    ptePtr = locate(ptePa);
    const tracing = traceState.on != 0;
    if (!tracing) count(refs);
    if (ptePtr == 0) {
      if (tracing) traceRef(refs, level, va, ptePa, 0, REF_NO_PTE);
      return WALK_ACCESS_FAULT;
    }
    pte = load<u64>(ptePtr);
    // Step 3: invalid, W without R, or reserved bits set.
    if ((pte & PTE_V) == 0 || (pte & (PTE_R | PTE_W)) == PTE_W || (pte & PTE_RESERVED) != 0) {
      if (tracing) traceRef(refs, level, va, ptePa, pte, (pte & PTE_V) == 0 ? REF_INVALID : REF_RESERVED);
      return WALK_PAGE_FAULT;
    }
    if ((pte & (PTE_R | PTE_X)) != 0) break; // step 4: a leaf
    if (level == 0) {
      if (tracing) traceRef(refs, level, va, ptePa, pte, REF_TOO_DEEP);
      return WALK_PAGE_FAULT;
    }
    if (tracing) traceRef(refs, level, va, ptePa, pte, REF_NEXT);
    level--;
    a = ((pte >> PTE_PPN_SHIFT) & PTE_PPN_MASK) << PAGE_SHIFT_U;
  }
  // Steps 5 and 6: the leaf's permissions, and a superpage's alignment to its size.
  const ppn = (pte >> PTE_PPN_SHIFT) & PTE_PPN_MASK;
  const lowPpnBits = <u64>level * VPN_BITS;
  const lowMask = (<u64>1 << lowPpnBits) - 1;
  const leafRef = !leafAllows(pte, kind, priv, sum, mxr) ? REF_PERM :
    (ppn & lowMask) != 0 ? REF_MISALIGNED : REF_LEAF;
  if (traceState.on != 0) {
    traceRef(refs, level, va, ptePa, pte, leafRef);
    if (leafRef != REF_LEAF) return WALK_PAGE_FAULT;
  } else if (leafRef != REF_LEAF) {
    return WALK_PAGE_FAULT;
  }
  // Step 7: set A, and D on a store (not while tracing: a traced walk changes nothing).
  const ad = kind == KIND_STORE ? PTE_A | PTE_D : PTE_A;
  if ((pte & ad) != ad && traceState.on == 0) {
    pte |= ad;
    // Setting A/D is a write: a guest PTE on a shared frame is copied first (hv/ksm.ts).
    if (machine.hostPool != 0) ptePtr = ksmPteWritable(ptePtr, ptePa);
    if (ptePtr == 0) return WALK_ACCESS_FAULT;
    dirtyMark(ptePtr);
    store<u64>(ptePtr, pte);
  }
  // Step 8: the physical address, the low VPNs of a superpage coming from the va.
  const pageOffsetMask = (<u64>1 << (PAGE_SHIFT_U + lowPpnBits)) - 1;
  walkResult.pa = ((ppn << PAGE_SHIFT_U) & ~pageOffsetMask) | (va & pageOffsetMask);
  walkResult.pte = pte;
  walkResult.level = <u32>level;
  return WALK_OK;
}

const PAGE_SHIFT_U: u64 = 12;

/** Step 5: may an access of `kind` at `priv` use this leaf? */
function leafAllows(pte: u64, kind: u32, priv: u32, sum: bool, mxr: bool): bool {
  if (priv == PRV_U) {
    if ((pte & PTE_U) == 0) return false;
  } else if ((pte & PTE_U) != 0) {
    // S-mode may read and write U pages only with SUM, and never execute them.
    if (kind == KIND_FETCH || !sum) return false;
  }
  if (kind == KIND_FETCH) return (pte & PTE_X) != 0;
  if (kind == KIND_STORE) return (pte & PTE_W) != 0;
  return (pte & PTE_R) != 0 || (mxr && (pte & PTE_X) != 0);
}

/** Sv39 requires bits 63:39 of a virtual address to equal bit 38 (section 4.4.1). */
@inline export function sv39Canonical(va: u64): bool {
  return ((<i64>va << 25) >> 25) == <i64>va;
}
