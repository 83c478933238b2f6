// Interrupt lines into mip and the choice of which interrupt to take (privileged spec v1.12,
// section 3.1.9 "Machine Interrupt Registers", and for the hypervisor extension 8.2.3 and
// 8.4.1). Devices are sampled here, at chunk boundaries and when software reads mip, so the
// interpreter's hot loop never looks at them.
//
// The VS-level interrupts (VSSIP 2, VSTIP 6, VSEIP 10) come only from hvip: the hypervisor
// injects a guest interrupt by setting an hvip bit (hip/mip show it; GEILEN = 0, so there are
// no guest external interrupt lines).

import { hart, machine } from '../state';
import { CAUSE_INTERRUPT, IRQ_M_EXT, IRQ_M_SOFT, IRQ_M_TIMER, IRQ_S_EXT, IRQ_S_SOFT,
  IRQ_S_TIMER, IRQ_VS_EXT, IRQ_VS_SOFT, IRQ_VS_TIMER } from '../riscv/cause';
import { ENVCFG_STCE, MIDELEG_FORCED, MIP_MSIP, MIP_MTIP, MIP_STIP, MIP_VSTIP, MSTATUS_MIE, MSTATUS_SIE, PRV_M,
  PRV_S } from '../riscv/bits';
import { clintMsip, clintMtimecmp, mtime } from '../devices/clint';
import { plicMip, plicSetLine } from '../devices/plic';
import { uartIrq } from '../devices/uart';
import { virtioIrq, VIRTIO_SLOT_COUNT } from '../virtio/mmio';
import { FIRMWARE_BUILTIN } from './firmware';

export const UART_IRQ: u32 = 10;

/** Sample every device line and recompute mip's hardware bits. */
export function updateInterrupts(): void {
  plicSetLine(UART_IRQ, uartIrq());
  // virtio-mmio slot n is PLIC source n + 1 (QEMU virt's VIRTIO_IRQ = 1).
  for (let n: u32 = 0; n < VIRTIO_SLOT_COUNT; n++) plicSetLine(n + 1, virtioIrq(n));
  const now = mtime();
  let hw: u64 = plicMip();
  if (now >= clintMtimecmp()) hw |= MIP_MTIP;
  if (clintMsip()) hw |= MIP_MSIP;
  // Sstc: with STCE the supervisor timer lines come from stimecmp, and VSTIP from vstimecmp
  // compared with the guest's time (time + htimedelta); hip.VSTIP is that OR hvip.VSTIP.
  if ((hart.menvcfg & ENVCFG_STCE) != 0) {
    if (now >= hart.stimecmp) hw |= MIP_STIP;
    if ((hart.henvcfg & ENVCFG_STCE) != 0 && now + hart.htimedelta >= hart.vstimecmp) hw |= MIP_VSTIP;
  }
  hart.mipHw = hw;
  // The builtin firmware's timer (SBI TIME) raises STIP, as OpenSBI does from its M-mode timer
  // handler; S-mode clears it only by setting a new timer.
  if (machine.firmware == FIRMWARE_BUILTIN && now >= machine.sbiTimecmp) hart.mipSw |= MIP_STIP;
}

@inline export function mip(): u64 { return hart.mipSw | hart.mipHw | hart.hvip; }

// Priority order for simultaneous interrupts to the same mode (sections 3.1.9, 8.4.1):
// MEI, MSI, MTI, SEI, SSI, STI, then the VS-level VSEI, VSSI, VSTI.
const ORDER: StaticArray<u32> = [IRQ_M_EXT, IRQ_M_SOFT, IRQ_M_TIMER, IRQ_S_EXT, IRQ_S_SOFT,
  IRQ_S_TIMER, IRQ_VS_EXT, IRQ_VS_SOFT, IRQ_VS_TIMER];

/** The highest-priority interrupt in `set`, as a cause, or 0. */
function highest(set: u64): u64 {
  for (let i = 0; i < ORDER.length; i++) {
    if ((set & (<u64>1 << ORDER[i])) != 0) return CAUSE_INTERRUPT | ORDER[i];
  }
  return 0;
}

/**
 * The interrupt to take now, as a cause with the interrupt bit, or 0 for none. Interrupts to a
 * more privileged mode come first (section 8.4.1). One destined for M-mode is enabled if the
 * hart is below M or mstatus.MIE is set; one for HS-mode (delegated by mideleg, not by hideleg)
 * if the hart is in U, in VS/VU, or in HS with sstatus.SIE; one for VS-mode (delegated by both)
 * only with V = 1, in VU or in VS with vsstatus.SIE. VS-level interrupts are taken by trap entry
 * as their S-level codes.
 */
export function pendingInterrupt(): u64 {
  const pending = mip() & hart.mie;
  if (pending == 0) return 0;
  const p = hart.priv;
  const v = hart.virt != 0;
  const mideleg = hart.mideleg | MIDELEG_FORCED;
  const toM = pending & ~mideleg;
  if (toM != 0 && (p < PRV_M || (hart.mstatus & MSTATUS_MIE) != 0)) return highest(toM);
  const toHs = pending & mideleg & ~hart.hideleg;
  if (toHs != 0 && (v || p < PRV_S || (p == PRV_S && (hart.mstatus & MSTATUS_SIE) != 0))) {
    return highest(toHs);
  }
  const toVs = pending & mideleg & hart.hideleg;
  if (toVs != 0 && v && (p < PRV_S || (hart.vsstatus & MSTATUS_SIE) != 0)) return highest(toVs);
  return 0;
}
