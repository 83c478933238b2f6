// Trap entry and return (privileged spec v1.12, sections 3.1.6.1, 3.1.7, 3.3.2, 4.1.1).
// A trap goes to M-mode unless the hart is in S or U and the cause is delegated in
// medeleg/mideleg, in which case it goes to S-mode. Traps never go to a lower privilege.

import { Counter } from '../counter-ids';
import { count, hart, machine, MODE_NATIVE, RESERVATION_NONE, STOP_ERROR, ERR_TRAP_TO_FIRMWARE } from '../state';
import { hvTrap } from '../hv/exits';
import { CAUSE_INTERRUPT } from '../riscv/cause';
import { MSTATUS_MIE, MSTATUS_MPIE, MSTATUS_MPP, MSTATUS_MPP_SHIFT, MSTATUS_MPRV, MSTATUS_SIE,
  MSTATUS_SPIE, MSTATUS_SPP, PRV_M, PRV_S, PRV_U } from '../riscv/bits';
import { FIRMWARE_BUILTIN } from './firmware';

/** The handler address for a trap: vectored mode sends interrupts to base + 4 * cause. */
function vector(tvec: u64, cause: u64): u64 {
  const base = tvec & ~(<u64>3);
  if ((tvec & 3) == 1 && (cause & CAUSE_INTERRUPT) != 0) return base + 4 * (cause & 0xFFF);
  return base;
}

/** Enter the trap handler for `cause` (bit 63 set for interrupts), `epc` being the pc to resume. */
export function takeTrap(cause: u64, tval: u64, epc: u64): void {
  const isIrq = (cause & CAUSE_INTERRUPT) != 0;
  const code = cause & 63;
  count(isIrq ? Counter.IRQ_BASE + <i32>(code & 15) : Counter.EXC_BASE + <i32>(code < 24 ? code : 23));
  const deleg = isIrq ? hart.mideleg : hart.medeleg;
  const p = hart.priv;
  // An SC after a trap must not succeed on a reservation taken before it (section 8.2).
  hart.reservation = RESERVATION_NONE;
  hart.wfi = 0;
  if (p <= PRV_S && ((deleg >> code) & 1) != 0) {
    if (machine.mode != MODE_NATIVE) {
      // A VM runs: the core is the HS-mode software, and this trap is a VM exit.
      hvTrap(cause, tval, epc, 0, 0);
      return;
    }
    hart.scause = cause;
    hart.sepc = epc;
    hart.stval = tval;
    let s = hart.mstatus;
    s = (s & ~MSTATUS_SPIE) | ((s & MSTATUS_SIE) != 0 ? MSTATUS_SPIE : 0);
    s = (s & ~MSTATUS_SPP) | (p == PRV_S ? MSTATUS_SPP : 0);
    s &= ~MSTATUS_SIE;
    hart.mstatus = s;
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
  let s = hart.mstatus;
  s = (s & ~MSTATUS_MPIE) | ((s & MSTATUS_MIE) != 0 ? MSTATUS_MPIE : 0);
  s = (s & ~MSTATUS_MPP) | (<u64>p << MSTATUS_MPP_SHIFT);
  s &= ~MSTATUS_MIE;
  hart.mstatus = s;
  hart.priv = PRV_M;
  hart.pc = vector(hart.mtvec, cause);
}

/** MRET (section 3.3.2): back to MPP with MIE restored; MPRV cleared if leaving M. */
export function mret(): void {
  let s = hart.mstatus;
  const target = <u32>((s & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
  s = (s & ~MSTATUS_MIE) | ((s & MSTATUS_MPIE) != 0 ? MSTATUS_MIE : 0);
  s |= MSTATUS_MPIE;
  s &= ~MSTATUS_MPP; // MPP := U, the least-privileged supported mode
  if (target != PRV_M) s &= ~MSTATUS_MPRV;
  hart.mstatus = s;
  hart.priv = target;
  hart.pc = hart.mepc;
}

/** SRET (section 4.1.1): back to SPP with SIE restored; MPRV cleared (the target is below M). */
export function sret(): void {
  let s = hart.mstatus;
  const target = (s & MSTATUS_SPP) != 0 ? PRV_S : PRV_U;
  s = (s & ~MSTATUS_SIE) | ((s & MSTATUS_SPIE) != 0 ? MSTATUS_SIE : 0);
  s |= MSTATUS_SPIE;
  s &= ~MSTATUS_SPP;
  s &= ~MSTATUS_MPRV;
  hart.mstatus = s;
  hart.priv = target;
  hart.pc = hart.sepc;
}
