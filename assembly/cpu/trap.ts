// Trap entry and return (privileged spec v1.12, sections 3.1.6.1, 3.1.7, 3.3.2, 4.1.1, and for
// the hypervisor extension 8.6.4 "Trap Entry" and 8.6.5 "Trap Return").
//
// Where a trap goes: M-mode unless the hart is below M and the cause is delegated in
// medeleg/mideleg; then HS-mode, unless V = 1 and the cause is also delegated in
// hedeleg/hideleg, in which case it goes to VS-mode. Traps never go to a lower privilege, and a
// trap taken with V = 1 to HS or M leaves V = 0.
//
// VM exits: when the core's hypervisor runs a VM (machine.mode != MODE_NATIVE) it *is* the
// HS-mode software, so a trap that would enter HS-mode calls hvTrap() (hv/exits.ts) instead of
// writing the HS trap CSRs. At that call hart.virt and hart.priv still describe the mode that
// trapped (hvGuestMode() below names it), and hart.pc is the trapping pc.

import { Counter } from '../counter-ids';
import { count, hart, machine, MODE_NATIVE, RESERVATION_NONE, STOP_ERROR, ERR_TRAP_TO_FIRMWARE } from '../state';
import { hvTrap } from '../hv/exits';
import { CAUSE_INTERRUPT, EXC_INST_ACCESS, EXC_INST_GUEST_PAGE_FAULT, EXC_INST_MISALIGNED,
  EXC_INST_PAGE_FAULT, EXC_LOAD_ACCESS, EXC_LOAD_GUEST_PAGE_FAULT, EXC_LOAD_MISALIGNED,
  EXC_LOAD_PAGE_FAULT, EXC_STORE_ACCESS, EXC_STORE_GUEST_PAGE_FAULT, EXC_STORE_MISALIGNED,
  EXC_STORE_PAGE_FAULT, IRQ_VS_EXT, IRQ_VS_SOFT, IRQ_VS_TIMER } from '../riscv/cause';
import { HSTATUS_GVA, HSTATUS_SPV, HSTATUS_SPVP, MSTATUS_GVA, MSTATUS_MIE, MSTATUS_MPIE,
  MSTATUS_MPP, MSTATUS_MPP_SHIFT, MSTATUS_MPRV, MSTATUS_MPV, MSTATUS_SIE, MSTATUS_SPIE,
  MSTATUS_SPP, PRV_M, PRV_S, PRV_U } from '../riscv/bits';
import { FIRMWARE_BUILTIN } from './firmware';
import { midelegEff } from './csr';

/** The handler address for a trap: vectored mode sends interrupts to base + 4 * cause. */
function vector(tvec: u64, cause: u64): u64 {
  const base = tvec & ~(<u64>3);
  if ((tvec & 3) == 1 && (cause & CAUSE_INTERRUPT) != 0) return base + 4 * (cause & 0xFFF);
  return base;
}

// The mode a trap came from, as hvGuestMode() reports it to the hypervisor.
export const GUEST_MODE_U: u32 = 0;   // V = 0, U-mode (a trap-emulate or PV guest)
export const GUEST_MODE_S: u32 = 1;   // V = 0, S-mode
export const GUEST_MODE_VU: u32 = 4;  // V = 1, VU-mode
export const GUEST_MODE_VS: u32 = 5;  // V = 1, VS-mode

/** During hvTrap: the mode that trapped, (V << 2) | priv; the same as hart.virt/hart.priv. */
export function hvGuestMode(): u32 { return (hart.virt << 2) | hart.priv; }

/** Exceptions whose tval is an address (section 3.1.16): with V = 1 a guest virtual one. */
function addressCause(code: u64): bool {
  switch (<u32>code) {
    case EXC_INST_MISALIGNED: case EXC_INST_ACCESS: case EXC_LOAD_MISALIGNED:
    case EXC_LOAD_ACCESS: case EXC_STORE_MISALIGNED: case EXC_STORE_ACCESS:
    case EXC_INST_PAGE_FAULT: case EXC_LOAD_PAGE_FAULT: case EXC_STORE_PAGE_FAULT:
    case EXC_INST_GUEST_PAGE_FAULT: case EXC_LOAD_GUEST_PAGE_FAULT:
    case EXC_STORE_GUEST_PAGE_FAULT:
      return true;
  }
  return false;
}

/**
 * sstatus (or vsstatus) on entry to an S-level trap handler (privileged spec 4.1.1): SPIE
 * takes SIE, SPP records whether the trap came from S-mode, SIE is cleared.
 */
export function sstatusOnTrap(s: u64, fromS: bool): u64 {
  s = (s & ~MSTATUS_SPIE) | ((s & MSTATUS_SIE) != 0 ? MSTATUS_SPIE : 0);
  s = (s & ~MSTATUS_SPP) | (fromS ? MSTATUS_SPP : 0);
  return s & ~MSTATUS_SIE;
}

/** Enter the trap handler for `cause` (bit 63 set for interrupts), `epc` being the pc to resume. */
/** The LR reservation as it stood when the last trap was taken (see takeTrap). */
@unmanaged class ExitReservation { va: u64 = 0; }
export const exitReservation = changetype<ExitReservation>(memory.data(offsetof<ExitReservation>(), 8));

export function takeTrap(cause: u64, tval: u64, epc: u64): void {
  const isIrq = (cause & CAUSE_INTERRUPT) != 0;
  const code = cause & 63;
  count(isIrq ? Counter.IRQ_BASE + <i32>(code & 15) : Counter.EXC_BASE + <i32>(code < 24 ? code : 23));
  // What a slow path left for htval/htinst and GVA; consumed by this trap.
  const gpa4 = isIrq ? 0 : hart.excGpa4;
  const tinst = isIrq ? 0 : hart.excTinst;
  const gva = !isIrq && (hart.excGva != 0 || (hart.virt != 0 && addressCause(code)));
  hart.excGpa4 = 0;
  hart.excTinst = 0;
  hart.excGva = 0;
  const deleg = isIrq ? midelegEff() : hart.medeleg;
  const p = hart.priv;
  const v = hart.virt;
  // An SC after a trap must not succeed on a reservation taken before it (section 8.2). A VM
  // exit is not a trap the guest sees, so the hypervisor may still need the reservation to
  // emulate the instruction that exited (an SC to a shadowed page table, hv/fault.ts).
  exitReservation.va = hart.reservation;
  hart.reservation = RESERVATION_NONE;
  hart.wfi = 0;
  if (p <= PRV_S && ((deleg >> code) & 1) != 0) {
    const hdeleg = isIrq ? hart.hideleg : hart.hedeleg;
    if (v != 0 && ((hdeleg >> code) & 1) != 0) {
      trapToVs(isIrq, cause, code, tval, epc, p);
      return;
    }
    if (machine.mode != MODE_NATIVE) {
      // A VM runs: the core is the HS-mode software, and this trap is a VM exit. virt/priv
      // still say where it came from.
      hvTrap(cause, tval, epc, gpa4, tinst);
      return;
    }
    hart.scause = cause;
    hart.sepc = epc;
    hart.stval = tval;
    hart.htval = gpa4;
    hart.htinst = tinst;
    // hstatus (section 8.2.1): SPV = V; SPVP = the trapped privilege only if V was 1; GVA.
    let h = hart.hstatus & ~(HSTATUS_SPV | HSTATUS_GVA);
    if (v != 0) h = (h & ~HSTATUS_SPVP) | (p == PRV_S ? HSTATUS_SPVP : 0) | HSTATUS_SPV;
    if (gva) h |= HSTATUS_GVA;
    hart.hstatus = h;
    hart.mstatus = sstatusOnTrap(hart.mstatus, p == PRV_S);
    hart.virt = 0;
    hart.priv = PRV_S;
    hart.pc = vector(hart.stvec, cause);
    return;
  }
  if (machine.firmware == FIRMWARE_BUILTIN) {
    // No M-mode code exists to handle it: the builtin firmware stops the machine with the cause.
    machine.stopReason = STOP_ERROR;
    machine.haltKind = <u32>ERR_TRAP_TO_FIRMWARE;
    machine.haltCode = cause;
    hart.mcause = cause;
    hart.mepc = epc;
    hart.mtval = tval;
    hart.chunkBreak = 1;
    return;
  }
  hart.mcause = cause;
  hart.mepc = epc;
  hart.mtval = tval;
  hart.mtval2 = gpa4;
  hart.mtinst = tinst;
  let s = hart.mstatus;
  s = (s & ~MSTATUS_MPIE) | ((s & MSTATUS_MIE) != 0 ? MSTATUS_MPIE : 0);
  s = (s & ~MSTATUS_MPP) | (<u64>p << MSTATUS_MPP_SHIFT);
  s &= ~MSTATUS_MIE;
  // MPV = V at the trap and GVA (section 8.3.1).
  s &= ~(MSTATUS_GVA | MSTATUS_MPV);
  if (gva) s |= MSTATUS_GVA;
  if (v != 0) s |= MSTATUS_MPV;
  hart.mstatus = s;
  hart.virt = 0;
  hart.priv = PRV_M;
  hart.pc = vector(hart.mtvec, cause);
}

/**
 * A trap delegated to VS-mode (section 8.6.4): the VS CSRs stand in for the S ones, vsstatus
 * for sstatus, V stays 1. A VS-level interrupt arrives as its S-level code (VSSI 2 -> SSI 1, VSTI
 * 6 -> 5, VSEI 10 -> 9), as the guest OS expects.
 */
function trapToVs(isIrq: bool, cause: u64, code: u64, tval: u64, epc: u64, p: u32): void {
  let c = cause;
  if (isIrq && (code == IRQ_VS_SOFT || code == IRQ_VS_TIMER || code == IRQ_VS_EXT)) c = cause - 1;
  hart.vscause = c;
  hart.vsepc = epc;
  hart.vstval = tval;
  hart.vsstatus = sstatusOnTrap(hart.vsstatus, p == PRV_S);
  hart.priv = PRV_S;
  hart.pc = vector(hart.vstvec, c);
}

/** MRET (sections 3.3.2, 8.6.5): back to MPP (and V = MPV) with MIE restored. */
export function mret(): void {
  let s = hart.mstatus;
  const target = <u32>((s & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
  const toVirt = target != PRV_M && (s & MSTATUS_MPV) != 0;
  s = (s & ~MSTATUS_MIE) | ((s & MSTATUS_MPIE) != 0 ? MSTATUS_MIE : 0);
  s |= MSTATUS_MPIE;
  s &= ~MSTATUS_MPP; // MPP := U, the least-privileged supported mode
  s &= ~MSTATUS_MPV;
  if (target != PRV_M) s &= ~MSTATUS_MPRV;
  hart.mstatus = s;
  hart.virt = toVirt ? 1 : 0;
  hart.priv = target;
  hart.pc = hart.mepc;
}

/**
 * SRET (sections 4.1.1, 8.6.5). In HS-mode or M-mode: back to SPP and V = hstatus.SPV, SIE
 * restored, SPV cleared. In VS-mode: the guest's own return, through vsstatus and vsepc,
 * staying at V = 1. MPRV is cleared whenever the target is below M (always).
 */
export function sret(): void {
  if (hart.virt != 0) {
    let vs = hart.vsstatus;
    const t = (vs & MSTATUS_SPP) != 0 ? PRV_S : PRV_U;
    vs = (vs & ~MSTATUS_SIE) | ((vs & MSTATUS_SPIE) != 0 ? MSTATUS_SIE : 0);
    vs |= MSTATUS_SPIE;
    vs &= ~MSTATUS_SPP;
    hart.vsstatus = vs;
    hart.priv = t;
    hart.pc = hart.vsepc;
    return;
  }
  let s = hart.mstatus;
  const target = (s & MSTATUS_SPP) != 0 ? PRV_S : PRV_U;
  s = (s & ~MSTATUS_SIE) | ((s & MSTATUS_SPIE) != 0 ? MSTATUS_SIE : 0);
  s |= MSTATUS_SPIE;
  s &= ~MSTATUS_SPP;
  s &= ~MSTATUS_MPRV;
  hart.mstatus = s;
  hart.virt = (hart.hstatus & HSTATUS_SPV) != 0 ? 1 : 0;
  hart.hstatus &= ~HSTATUS_SPV;
  hart.priv = target;
  hart.pc = hart.sepc;
}
