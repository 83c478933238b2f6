// VM exits: the entry from the CPU into the hypervisor. When the machine runs a VM
// (machine.mode != MODE_NATIVE) the core itself is the HS-mode software, so a trap whose
// target is HS-mode does not vector to stvec: cpu/trap.ts calls hvTrap() instead, with what
// the hardware would have written to the HS trap CSRs. hvTrap handles the exit and leaves the
// hart ready to resume the guest (or stops the machine with a reason).

import { hart, machine, STOP_ERROR } from '../state';

/** Stop reason detail (machine.haltKind with STOP_ERROR) for an exit the hypervisor refuses. */
export const ERR_HV_UNHANDLED: u32 = 16;

/**
 * A trap to HS-mode while a VM runs. `cause` as scause would get it (bit 63 for interrupts),
 * `tval` as stval, `epc` as sepc, `gpa4` as htval (guest-physical address >> 2 for guest-page
 * faults, else 0), `tinst` as htinst (the transformed instruction, or 0).
 */
export function hvTrap(cause: u64, tval: u64, epc: u64, gpa4: u64, tinst: u64): void {
  machine.stopReason = STOP_ERROR;
  machine.haltKind = ERR_HV_UNHANDLED;
  machine.haltCode = cause;
  hart.mepc = epc;
  hart.mtval = tval;
  hart.chunkBreak = 1;
  if (gpa4 == 0 && tinst == 0) return;
}
