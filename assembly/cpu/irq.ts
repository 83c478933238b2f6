// Interrupt lines into mip and the choice of which interrupt to take (privileged spec v1.12,
// section 3.1.9 "Machine Interrupt Registers"). Devices are sampled here, at chunk boundaries
// and when software reads mip, so the interpreter's hot loop never looks at them.

import { hart, machine } from '../state';
import { CAUSE_INTERRUPT, IRQ_M_EXT, IRQ_M_SOFT, IRQ_M_TIMER, IRQ_S_EXT, IRQ_S_SOFT,
  IRQ_S_TIMER } from '../riscv/cause';
import { MIP_MSIP, MIP_MTIP, MIP_STIP, MSTATUS_MIE, MSTATUS_SIE, PRV_M, PRV_S } from '../riscv/bits';
import { clintMsip, clintMtimecmp, mtime } from '../devices/clint';
import { plicMip, plicSetLine } from '../devices/plic';
import { uartIrq } from '../devices/uart';
import { FIRMWARE_BUILTIN } from './firmware';

export const UART_IRQ: u32 = 10;

/** Sample every device line and recompute mip's hardware bits. */
export function updateInterrupts(): void {
  plicSetLine(UART_IRQ, uartIrq());
  const now = mtime();
  let hw: u64 = plicMip();
  if (now >= clintMtimecmp()) hw |= MIP_MTIP;
  if (clintMsip()) hw |= MIP_MSIP;
  hart.mipHw = hw;
  // The builtin firmware's timer (SBI TIME) raises STIP, as OpenSBI does from its M-mode timer
  // handler; S-mode clears it only by setting a new timer.
  if (machine.firmware == FIRMWARE_BUILTIN && now >= machine.sbiTimecmp) hart.mipSw |= MIP_STIP;
}

@inline export function mip(): u64 { return hart.mipSw | hart.mipHw; }

// Priority order for simultaneous interrupts (section 3.1.9): MEI, MSI, MTI, SEI, SSI, STI.
const ORDER: StaticArray<u32> = [IRQ_M_EXT, IRQ_M_SOFT, IRQ_M_TIMER, IRQ_S_EXT, IRQ_S_SOFT, IRQ_S_TIMER];

/**
 * The interrupt to take now, as a cause with the interrupt bit, or 0 for none. An interrupt
 * destined for M-mode is enabled if the hart is below M or mstatus.MIE is set; one delegated to
 * S-mode if the hart is in U, or in S with mstatus.SIE set (never while in M).
 */
export function pendingInterrupt(): u64 {
  const pending = mip() & hart.mie;
  if (pending == 0) return 0;
  const p = hart.priv;
  const mEnabled = p < PRV_M || (hart.mstatus & MSTATUS_MIE) != 0;
  const sEnabled = p < PRV_S || (p == PRV_S && (hart.mstatus & MSTATUS_SIE) != 0);
  const toM = pending & ~hart.mideleg;
  const toS = pending & hart.mideleg;
  for (let i = 0; i < ORDER.length; i++) {
    const bit: u64 = <u64>1 << ORDER[i];
    if ((toM & bit) != 0 && mEnabled) return CAUSE_INTERRUPT | ORDER[i];
    if ((toS & bit) != 0 && sEnabled) return CAUSE_INTERRUPT | ORDER[i];
  }
  return 0;
}
