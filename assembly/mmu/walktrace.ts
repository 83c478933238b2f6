// The walk trace: a translation of one virtual address in the current mode, performed the way
// the hart's miss path performs it (mmu/access.ts translate, translateGuest) but without side
// effects: no accessed/dirty bits set, no TLB or nested page-walk cache fill, no counter
// changed, no exception raised. The one walk of walk.ts records every reference it makes
// (mmu/walkrec.ts); src/walk-trace.ts decodes the records and docs/walk-trace.md explains them.
//
// What a trace holds, by mode (the references of a cold miss, no TLB or cache consulted but the
// nested page-walk cache, which hvm-nested shows as it stands):
//   native           the Sv39 walk of satp: 3 references (fewer with superpages)
//   trap-emulate,    the guest's own walk (vcpu.satp, gPAs) as a shadow fill makes it, then the
//   hvm-shadow       walk of the shadow table the hart uses (satp or vsatp, host-physical), then
//                    the reverse-map slots of the final guest frame
//   hvm-nested       the two-dimensional walk: for each VS-stage level the G-stage walk of the
//                    table's gPA, then the VS PTE; then the G-stage walk of the final gPA:
//                    (3+1)(3+1)-1 = 15 references (Bhargava et al., ASPLOS 2008)
//   pv               the walk of the guest's own table, which holds machine frames: 3

import { hart, machine, MODE_HVM_NESTED, MODE_HVM_SHADOW, MODE_NATIVE, MODE_PV, MODE_TRAP_EMULATE } from '../state';
import { Counter } from '../counter-ids';
import { HGATP_PPN_MASK, MSTATUS_MXR, MSTATUS_SUM, PRV_S, PRV_U, SATP_MODE_SHIFT, SATP_PPN_MASK,
  SV39X4_GPA_BITS } from '../riscv/bits';
import { computeViews, nativeLocate, ramHost } from './access';
import { KIND_FETCH, KIND_LOAD, npwcLookup, VIEW_PHYS, VIEW_SSUM, VIEW_U, VIEW_VSSUM, VIEW_VU } from './tlb';
import { sv39Canonical, walk, walkResult, WALK_ACCESS_FAULT, WALK_OK } from './walk';
import { REF_NPWC_HIT, REF_RMAP, STAGE_G, STAGE_RMAP, traceRecord, traceState, TRACE_RESULT,
  TRACE_RESULT_BYTES } from './walkrec';
import { FRAME_PT, frameFlagsPtr, gpaToHpa, GUEST_RAM_BASE, NO_HPA, RMAP_SLOTS, rmapPtr, vm } from '../hv/vm';
import { vcpu } from '../hv/vcpu';

/** How the traced translation ended. */
export const TRACE_OK: u32 = 0;
export const TRACE_PAGE_FAULT: u32 = 1;
export const TRACE_ACCESS_FAULT: u32 = 2;
export const TRACE_GUEST_PAGE_FAULT: u32 = 3;
/** Translation is off (M-mode, or satp Bare; both stages Bare): the address is physical. */
export const TRACE_BARE: u32 = 4;
/** The address is not canonical for Sv39 (bits 63:39 differ from bit 38): a page fault. */
export const TRACE_NONCANONICAL: u32 = 5;

/** Which stage a fault came from (the record stages of walkrec.ts). */
@unmanaged class TraceResult {
  result: u32 = 0;
  /** The stage whose walk decided the result (STAGE_*), for a fault. */
  stage: u32 = 0;
  mode: u32 = 0;
  /** The guest's own walk in the shadow modes: TRACE_* (TRACE_BARE: the guest's satp is Bare). */
  guestResult: u32 = 0;
  /** The translated address: host-physical in a VM, physical natively. */
  pa: u64 = 0;
  /** The guest-physical address (VS stage or the guest's own table); the va natively. */
  gpa: u64 = 0;
  va: u64 = 0;
  kind: u32 = 0;
  /** The privilege the access was checked with (PRV_U or PRV_S). */
  priv: u32 = 0;
}
export const traceResult = changetype<TraceResult>(TRACE_RESULT);

/** Why the last G-stage lookup for a VS-stage PTE failed (0: it did not). */
@unmanaged class TraceGFault { fault: u32 = 0; mxr: u32 = 0; }
const traceG = changetype<TraceGFault>(TRACE_RESULT + offsetof<TraceResult>());
// Both records fit the space walkrec.ts keeps for them (checked when the core is compiled).
assert(offsetof<TraceResult>() + offsetof<TraceGFault>() <= TRACE_RESULT_BYTES);

/** A guest table's PTE in host memory, without the dirty-log mark gpaHost makes for writes. */
function guestLocateQuiet(gpa: u64): usize {
  const hpa = gpaToHpa(gpa);
  return hpa == NO_HPA ? 0 : ramHost(hpa, 8);
}

/** The G-stage walk of a VS-stage PTE's gPA, or the nested page-walk cache's answer. */
function vsLocateQuiet(gpa: u64): usize {
  if (machine.nestedPwc != 0) {
    const h = npwcLookup(gpa);
    if (h != 0) { traceRecord(STAGE_G, 3, gpa, 0, <u64>h, REF_NPWC_HIT); return h; }
  }
  if ((gpa >> SV39X4_GPA_BITS) != 0) { traceG.fault = 1; return 0; }
  const root = (hart.hgatp & HGATP_PPN_MASK) << 12;
  const r = walk(root, gpa, 11, KIND_LOAD, PRV_U, false, traceG.mxr != 0, nativeLocate, Counter.WALK_REFS_G);
  if (r != WALK_OK) { traceG.fault = r == WALK_ACCESS_FAULT ? 2 : 1; return 0; }
  const h = ramHost(walkResult.pa, 8);
  if (h == 0) traceG.fault = 2;
  return h;
}

function resultOf(r: u32): u32 { return r == WALK_OK ? TRACE_OK : r == WALK_ACCESS_FAULT ? TRACE_ACCESS_FAULT : TRACE_PAGE_FAULT; }

/** The guest's own walk, as a shadow fill makes it (hv/shadow.ts guestWalk). */
function traceGuestWalk(va: u64, kind: u32): void {
  let priv = vcpu.priv;
  let sum = (vcpu.sstatus & MSTATUS_SUM) != 0;
  let mxr = (vcpu.sstatus & MSTATUS_MXR) != 0;
  if (machine.mode == MODE_HVM_SHADOW) {
    priv = hart.priv;
    sum = (hart.vsstatus & MSTATUS_SUM) != 0;
    mxr = (hart.vsstatus & MSTATUS_MXR) != 0;
  }
  if ((vcpu.satp >> SATP_MODE_SHIFT) == 0) {
    traceResult.guestResult = TRACE_BARE;
    traceResult.gpa = va;
    return;
  }
  if (!sv39Canonical(va)) { traceResult.guestResult = TRACE_NONCANONICAL; return; }
  const r = walk((vcpu.satp & SATP_PPN_MASK) << 12, va, 9, kind, priv, sum, mxr, guestLocateQuiet,
    Counter.WALK_REFS_SHADOW);
  traceResult.guestResult = resultOf(r);
  if (r == WALK_OK) traceResult.gpa = walkResult.pa;
}

/** The shadow PTEs that map the guest frame of `gpa` writable (hv/shadow.ts rmap). */
function traceRmap(gpa: u64): void {
  const off = gpa - GUEST_RAM_BASE;
  if (off >= (vm.guestFrames << 12)) return;
  const rp = rmapPtr(off >> 12);
  for (let s: u32 = 0; s < RMAP_SLOTS; s++) {
    const o = load<u32>(rp + <usize>s * 4);
    if (o == 0) continue;
    const h = ramHost(machine.ramBase + o, 8);
    if (h == 0) continue;
    traceRecord(STAGE_RMAP, <i32>s, gpa, machine.ramBase + o, load<u64>(h), REF_RMAP);
  }
}

/** Single-stage translation by the hart (translate() in access.ts) for `view` < VIEW_VU. */
function traceSingle(va: u64, kind: u32, view: u32): void {
  traceResult.priv = view == VIEW_U ? PRV_U : PRV_S;
  if (!sv39Canonical(va)) { traceResult.result = TRACE_NONCANONICAL; return; }
  const root = (hart.satp & SATP_PPN_MASK) << 12;
  const r = walk(root, va, 9, kind, traceResult.priv, view == VIEW_SSUM, (hart.mstatus & MSTATUS_MXR) != 0,
    nativeLocate, Counter.WALK_REFS);
  traceResult.result = resultOf(r);
  if (r == WALK_OK) traceResult.pa = walkResult.pa;
}

/** Two-stage translation (translateGuest() in access.ts) for a guest view. */
function traceTwoStage(va: u64, kind: u32, view: u32): void {
  traceResult.priv = view == VIEW_VU ? PRV_U : PRV_S;
  const gBare = (hart.hgatp >> SATP_MODE_SHIFT) == 0;
  const hsMxr = (hart.mstatus & MSTATUS_MXR) != 0;
  let gpa = va;
  if ((hart.vsatp >> SATP_MODE_SHIFT) != 0) {
    if (!sv39Canonical(va)) { traceResult.result = TRACE_NONCANONICAL; return; }
    traceG.fault = 0;
    traceG.mxr = hsMxr ? 1 : 0;
    const vsMxr = hsMxr || (hart.vsstatus & MSTATUS_MXR) != 0;
    const r = walk((hart.vsatp & SATP_PPN_MASK) << 12, va, 9, kind, traceResult.priv, view == VIEW_VSSUM,
      vsMxr, gBare ? nativeLocate : vsLocateQuiet, gBare ? Counter.WALK_REFS : Counter.WALK_REFS_VS);
    if (r != WALK_OK) {
      // A failed G-stage walk of a VS-stage PTE is a guest-page fault (privileged spec 8.5.1).
      traceResult.result = traceG.fault == 1 ? TRACE_GUEST_PAGE_FAULT : resultOf(r);
      return;
    }
    gpa = walkResult.pa;
  }
  if (machine.mode != MODE_HVM_SHADOW) traceResult.gpa = gpa;
  if (gBare) { traceResult.result = TRACE_OK; traceResult.pa = gpa; return; }
  if ((gpa >> SV39X4_GPA_BITS) != 0) { traceResult.result = TRACE_GUEST_PAGE_FAULT; return; }
  const r = walk((hart.hgatp & HGATP_PPN_MASK) << 12, gpa, 11, kind, PRV_U, false, hsMxr, nativeLocate,
    Counter.WALK_REFS_G);
  traceResult.result = r == WALK_OK ? TRACE_OK : r == WALK_ACCESS_FAULT ? TRACE_ACCESS_FAULT : TRACE_GUEST_PAGE_FAULT;
  if (r == WALK_OK) traceResult.pa = walkResult.pa;
}

/**
 * Trace the translation of `va` for an access of `kind` (KIND_FETCH/LOAD/STORE) with the
 * hart's current privilege and status. Returns the number of references recorded
 * (walkrec.ts TRACE_RECORDS); the outcome is in traceResult.
 */
export function walkTrace(va: u64, kind: u32): u32 {
  traceState.n = 0;
  traceState.on = 1;
  traceResult.result = TRACE_OK;
  traceResult.guestResult = TRACE_OK;
  traceResult.mode = machine.mode;
  traceResult.va = va;
  traceResult.kind = kind;
  traceResult.pa = 0;
  traceResult.gpa = va;
  traceResult.priv = hart.priv;
  // The views are refreshed at every chunk's start; the hypervisor may have changed the state
  // they derive from since. Compute them as the next chunk will, and put the old ones back.
  // walk() leaves its answer in walkResult: a trace leaves the last real walk's there.
  const savedPa = walkResult.pa;
  const savedPte = walkResult.pte;
  const savedLevel = walkResult.level;
  const savedFault = walkResult.fault;
  const oldFetch = hart.fetchView;
  const oldData = hart.dataView;
  computeViews();
  const view = kind == KIND_FETCH ? hart.fetchView : hart.dataView;
  hart.fetchView = oldFetch;
  hart.dataView = oldData;
  const shadow = machine.mode == MODE_TRAP_EMULATE || machine.mode == MODE_HVM_SHADOW;
  if (shadow) traceGuestWalk(va, kind);
  if (view == VIEW_PHYS) {
    traceResult.result = TRACE_BARE;
    traceResult.pa = va;
  } else if (view < VIEW_VU) {
    traceSingle(va, kind, view);
  } else {
    traceTwoStage(va, kind, view);
  }
  if (shadow && traceResult.guestResult == TRACE_OK) traceRmap(traceResult.gpa);
  traceState.on = 0;
  walkResult.pa = savedPa;
  walkResult.pte = savedPte;
  walkResult.level = savedLevel;
  walkResult.fault = savedFault;
  return traceState.n;
}

/**
 * The host address of physical address `pa` in `space` (0: the machine's physical memory,
 * 1: the current VM's guest-physical memory), or 0 if it is not RAM. No side effects: for the
 * host's table views (vmprint).
 */
export function traceLocate(space: u32, pa: u64): usize {
  if (space == 1 && machine.mode != MODE_NATIVE) return guestLocateQuiet(pa);
  return ramHost(pa, 8);
}

// ---- the memory map: who owns each machine frame ------------------------------------------

export const OWNER_NONE: u32 = 0;        // not RAM, or RAM neither this VM nor its hypervisor uses
export const OWNER_HV: u32 = 1;          // the hypervisor's bookkeeping (frame map, flags, rmap, pv)
export const OWNER_GSTAGE: u32 = 2;      // G-stage table pages (hvm-nested)
export const OWNER_SHADOW: u32 = 3;      // the shadow page-table pool (trap-emulate, hvm-shadow)
export const OWNER_GUEST: u32 = 4;       // guest RAM
export const OWNER_GUEST_PT: u32 = 5;    // guest RAM the hypervisor knows is a page-table page
export const OWNER_RAM: u32 = 6;         // RAM with no hypervisor (native)

/**
 * The owner of the machine frame at `hpa` as the hypervisor's area layout says (hv/vm.ts): its
 * bookkeeping, the G-stage tables, the shadow pool; natively OWNER_RAM; else OWNER_NONE (guest
 * frames among them: the host marks those through guestFrameOwner, gfn by gfn). Devices are
 * not RAM: the host draws them from the machine's map.
 */
export function frameOwner(hpa: u64): u32 {
  if (ramHost(hpa, 1) == 0) return OWNER_NONE;
  if (machine.mode == MODE_NATIVE) return OWNER_RAM;
  if (vm.gstageRoot != 0 && hpa >= vm.gstageRoot && hpa < vm.gstageEnd) return OWNER_GSTAGE;
  if (hpa >= vm.shadowPool && hpa < vm.shadowPool + (vm.shadowPages << 12)) {
    // Only the shadow modes keep shadow tables there; pv keeps its boot tables and p2m/m2p.
    return machine.mode == MODE_TRAP_EMULATE || machine.mode == MODE_HVM_SHADOW ? OWNER_SHADOW : OWNER_HV;
  }
  if (hpa >= vm.frameMap && hpa < vm.shadowPool) return OWNER_HV;
  // Guest frames are marked by the host (guestFrameOwner); what is left is unused here: the
  // area's padding to 2 MiB, or another VM's.
  return OWNER_NONE;
}

/**
 * Guest frame `gfn`: OWNER_GUEST_PT if the hypervisor knows it as a page-table page (a shadow
 * mode's write-protection mark, a pv frame type), else OWNER_GUEST; OWNER_NONE past the end.
 */
export function guestFrameOwner(gfn: u64): u32 {
  if (machine.mode == MODE_NATIVE || gfn >= vm.guestFrames) return OWNER_NONE;
  const flags = load<u32>(frameFlagsPtr(gfn));
  if (machine.mode == MODE_PV) return (flags & 3) != 0 ? OWNER_GUEST_PT : OWNER_GUEST;
  if (machine.mode == MODE_TRAP_EMULATE || machine.mode == MODE_HVM_SHADOW) {
    return (flags & FRAME_PT) != 0 ? OWNER_GUEST_PT : OWNER_GUEST;
  }
  return OWNER_GUEST;
}

/** The machine address of guest frame `gfn` (NO_HPA if there is none). */
export function guestFrameHpa(gfn: u64): u64 {
  if (machine.mode == MODE_NATIVE || gfn >= vm.guestFrames) return NO_HPA;
  return gpaToHpa(GUEST_RAM_BASE + (gfn << 12));
}

/** The satp-format roots of the address spaces: 0 satp, 1 vsatp, 2 hgatp, 3 the guest's own
 * satp under trap-emulate and hvm-shadow (hv/vcpu.ts), for the host's table views. */
export function walkRoot(which: u32): u64 {
  if (which == 0) return hart.satp;
  if (which == 1) return hart.vsatp;
  if (which == 2) return hart.hgatp;
  return machine.mode == MODE_TRAP_EMULATE || machine.mode == MODE_HVM_SHADOW ? vcpu.satp : 0;
}
