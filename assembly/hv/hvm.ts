// The hardware-assisted modes (DESIGN.md: VT-x before and after EPT). The guest kernel runs in
// VS-mode and its user programs in VU-mode (the H extension, privileged spec chapter 8); its
// CSR accesses, traps, system calls and page faults of its own stay inside the guest. What
// still exits:
//   hvm-shadow  satp accesses and SFENCE.VMA (hstatus.VTVM = 1: virtual-instruction exits),
//               and page faults on the shadow table in vsatp (G-stage Bare): the same shadow
//               machinery as trap-emulate, with the guest's U/SUM/MXR checked by hardware.
//   hvm-nested  nothing for memory: the guest owns vsatp; the hypervisor's G-stage table
//               (Sv39x4, in hgatp) maps its RAM; only device addresses fault (guest-page
//               faults: MMIO exits).
// In both: SBI calls (ECALL from VS), MMIO, the guest's timer and device interrupts (injected
// through hvip).

import { Counter } from '../counter-ids';
import { count, hart, machine, MODE_HVM_NESTED, MODE_HVM_SHADOW, REGS } from '../state';
import { CAUSE_INTERRUPT, EXC_BREAKPOINT, EXC_ECALL_U, EXC_ECALL_VS, EXC_ILLEGAL_INST,
  EXC_INST_ACCESS, EXC_INST_GUEST_PAGE_FAULT, EXC_INST_MISALIGNED, EXC_INST_PAGE_FAULT,
  EXC_LOAD_ACCESS, EXC_LOAD_GUEST_PAGE_FAULT, EXC_LOAD_MISALIGNED, EXC_LOAD_PAGE_FAULT,
  EXC_STORE_ACCESS, EXC_STORE_GUEST_PAGE_FAULT, EXC_STORE_MISALIGNED, EXC_STORE_PAGE_FAULT,
  EXC_VIRTUAL_INST, IRQ_S_EXT, IRQ_S_TIMER } from '../riscv/cause';
import { FS_INITIAL, HSTATUS_VSXL64, HSTATUS_VTVM, MIP_SEIP, MSTATUS_FS, MIP_STIP, MIP_VSEIP, MIP_VSSIP, MIP_VSTIP,
  MSTATUS_MXR, MSTATUS_SIE, MSTATUS_SPIE, MSTATUS_SPP, MSTATUS_SUM, PRV_S, PRV_U,
  SATP_ASID_SHIFT, SATP_MODE_SHIFT } from '../riscv/bits';
import * as C from '../riscv/csr';
import { KIND_FETCH, KIND_LOAD, KIND_STORE, tlbFlushGuest, tlbFlushGuestPage, tlbSelectGuest } from '../mmu/tlb';
import { updateInterrupts } from '../cpu/irq';
import { rget, rset } from '../state';
import { sbiCall } from './sbi';
import { contextKey, currentAsid, currentRoot, KEY_BARE, selectContext, VIEW_HVM } from './shadow';
import { faultKind, guestInstruction, shadowFault, SHADOW_HANDLED, SHADOW_PAGE_FAULT } from './fault';
import { instLength, standardForm } from '../riscv/rvc';
import { emulateMmio } from './mmio';
import { gpaToHpa, NO_HPA, vmHgatp } from './vm';
import { ksmWriteFault } from './ksm';
import { vcpu } from './vcpu';
import { retireEmulated } from './retire';
import { sstatusOnTrap } from '../cpu/trap';
import { LEVEL_L1, nestEnabled, nestExit, nestLevel, nestReset, nestSyncInterrupts } from './nested';

/** Exceptions the guest kernel handles itself (hedeleg): everything but what must exit. */
const HEDELEG_COMMON: u64 = (1 << EXC_INST_MISALIGNED) | (1 << EXC_INST_ACCESS) |
  (1 << EXC_ILLEGAL_INST) | (1 << EXC_BREAKPOINT) | (1 << EXC_LOAD_MISALIGNED) |
  (1 << EXC_LOAD_ACCESS) | (1 << EXC_STORE_MISALIGNED) | (1 << EXC_STORE_ACCESS) | (1 << EXC_ECALL_U);
const PAGE_FAULTS: u64 = (1 << EXC_INST_PAGE_FAULT) | (1 << EXC_LOAD_PAGE_FAULT) | (1 << EXC_STORE_PAGE_FAULT);
/** Traps the builtin firmware must pass to HS-mode (the hypervisor) when a VM runs. */
const HS_TRAPS: u64 = (1 << EXC_ECALL_VS) | (1 << EXC_INST_GUEST_PAGE_FAULT) |
  (1 << EXC_LOAD_GUEST_PAGE_FAULT) | (1 << EXC_VIRTUAL_INST) | (1 << EXC_STORE_GUEST_PAGE_FAULT);
const NEVER: u64 = 0xFFFF_FFFF_FFFF_FFFF;

@inline function shadowMode(): bool { return machine.mode == MODE_HVM_SHADOW; }

export function hvmReset(entry: u64, dtbGpa: u64): void {
  store<u64>(REGS + 10 * 8, 0);
  store<u64>(REGS + 11 * 8, dtbGpa);
  hart.pc = entry;
  hart.virt = 1;
  hart.priv = PRV_S;
  hart.medeleg |= HS_TRAPS | PAGE_FAULTS;
  hart.hedeleg = HEDELEG_COMMON | (shadowMode() ? 0 : PAGE_FAULTS);
  hart.hideleg = MIP_VSSIP | MIP_VSTIP | MIP_VSEIP;
  hart.mie = MIP_STIP | MIP_SEIP | MIP_VSSIP | MIP_VSTIP | MIP_VSEIP;
  hart.hcounteren = 7;
  hart.hstatus = HSTATUS_VSXL64 | (shadowMode() ? HSTATUS_VTVM : 0);
  hart.hvip = 0;
  hart.vsstatus = 0;
  // The hypervisor's own sstatus.FS is on (Initial), so the guest's vsstatus.FS alone decides
  // whether its FP instructions run (section 8.2.1); the guest starts with FP off.
  hart.mstatus = (hart.mstatus & ~MSTATUS_FS) | FS_INITIAL;
  hart.vsatp = 0;
  hart.hgatp = machine.mode == MODE_HVM_NESTED ? vmHgatp() : 0;
  if (shadowMode()) {
    selectContext(KEY_BARE);
    applyShadow();
  }
  // --nested: the guest's HS-mode is virtual (hv/nested.ts); it starts there, as L1.
  nestReset();
  tlbFlushGuest();
}

/** hvm-shadow: point vsatp at the shadow root of the guest's current address space. */
function applyShadow(): void {
  const root = currentRoot(VIEW_HVM);
  const asid = currentAsid(VIEW_HVM);
  const satp = (<u64>8 << SATP_MODE_SHIFT) | (asid << SATP_ASID_SHIFT) | (root >> 12);
  if (hart.vsatp != satp) {
    hart.vsatp = satp;
    tlbSelectGuest(0, satp);
  }
}

/**
 * Deliver an exception to the guest kernel as VS trap entry would (section 8.6.4). The caller
 * counts the exit's reason.
 */
function injectException(cause: u64, tval: u64, epc: u64): void {
  hart.vscause = cause;
  hart.vsepc = epc;
  hart.vstval = tval;
  hart.vsstatus = sstatusOnTrap(hart.vsstatus, hart.priv == PRV_S);
  hart.virt = 1;
  hart.priv = PRV_S;
  hart.pc = hart.vstvec & ~(<u64>3);
}

/** The instruction at guest virtual `pc` (VS-stage through the guest's tables). */
function guestFetch(pc: u64, priv: u32): u32 {
  return guestInstruction(shadowMode() ? vcpu.satp : hart.vsatp, pc, priv);
}

/**
 * The guest's interrupts after an exit: VSEIP follows the PLIC's S-context line, and while it
 * is injected the real SEIE is off so the same line does not exit again; VSTIP is set by a
 * timer exit and cleared by the next SBI set_timer.
 */
function syncInterrupts(): void {
  updateInterrupts();
  const line = (hart.mipHw & MIP_SEIP) != 0;
  if (line) { hart.hvip |= MIP_VSEIP; hart.mie &= ~MIP_SEIP; }
  else { hart.hvip &= ~MIP_VSEIP; hart.mie |= MIP_SEIP; }
}

function accessCause(kind: u32): u32 {
  return kind == KIND_FETCH ? EXC_INST_ACCESS : kind == KIND_LOAD ? EXC_LOAD_ACCESS : EXC_STORE_ACCESS;
}

/** hvm-shadow: a page fault on the shadow in vsatp (hv/fault.ts); the guest's own are injected. */
function hvmShadowFault(code: u32, gva: u64, epc: u64, priv: u32): void {
  const sum = (hart.vsstatus & MSTATUS_SUM) != 0;
  const mxr = (hart.vsstatus & MSTATUS_MXR) != 0;
  const r = shadowFault(vcpu.satp, VIEW_HVM, priv, sum, mxr, code, gva, epc);
  if (r == SHADOW_HANDLED) return;
  count(Counter.EXIT_REFLECT);
  injectException(r == SHADOW_PAGE_FAULT ? code : accessCause(faultKind(code)), gva, epc);
}

/** hvm-nested: a guest-page fault (G-stage). Device addresses are MMIO; the rest faults. */
function guestPageFault(code: u32, gva: u64, epc: u64, gpa: u64, tinst: u64, priv: u32): void {
  const kind = code == EXC_INST_GUEST_PAGE_FAULT ? KIND_FETCH : code == EXC_LOAD_GUEST_PAGE_FAULT ? KIND_LOAD : KIND_STORE;
  // htinst holds the load or store, transformed (section 8.6.3): bits 1:0 = 11 a 32-bit
  // instruction, 01 a compressed one (its 32-bit expansion with bit 1 cleared), 00 a
  // pseudo-instruction (an implicit access of the VS-stage walk), never MMIO. htinst = 0 (no
  // transformation given): the hypervisor reads the instruction itself.
  // A store to guest RAM faults at the G-stage only on a shared frame: copy-on-write.
  if (kind == KIND_STORE && ksmWriteFault(gpa)) { hart.pc = epc; return; }
  if (kind != KIND_FETCH && gpaToHpa(gpa) == NO_HPA) {
    let inst = <u32>tinst;
    let len: u64 = 4;
    if (tinst == 0) {
      const raw = guestFetch(epc, priv);
      inst = standardForm(raw);
      len = instLength(raw);
    } else if ((inst & 3) == 1) {
      inst |= 3;
      len = 2;
    } else if ((inst & 3) != 3) {
      inst = 0;
    }
    if (inst != 0 && emulateMmio(inst, gpa)) { hart.pc = epc + len; retireEmulated(); return; }
  }
  count(Counter.EXIT_GUEST_PAGE_FAULT);
  injectException(accessCause(kind), gva, epc);
}

const SFENCE_MASK: u32 = 0xFE00_7FFF;
const SFENCE_VMA: u32 = 0x1200_0073;

/**
 * hvm-shadow: satp accesses and SFENCE.VMA trap (VTVM) as virtual-instruction exceptions.
 * Both are SYSTEM instructions, never compressed: the pc moves on by 4.
 */
function virtualInstruction(inst: u32, epc: u64): void {
  if (shadowMode() && (inst & 0x7F) == 0x73) {
    const f3 = (inst >> 12) & 7;
    if (f3 != 0 && (f3 & 3) != 0 && (inst >> 20) == C.CSR_SATP) {
      const rs1 = (inst >> 15) & 31;
      const op = f3 & 3;
      const src: u64 = (f3 & 4) != 0 ? <u64>rs1 : rget(rs1);
      const old = vcpu.satp;
      const writes = op == 1 || rs1 != 0;
      // Each exit has one reason: a write is an address-space switch, a read a CSR access.
      count(writes ? Counter.EXIT_SATP : Counter.EXIT_CSR);
      if (writes) {
        const v = op == 1 ? src : op == 2 ? old | src : old & ~src;
        const mode = v >> SATP_MODE_SHIFT;
        if (mode == 0 || mode == 8) {
          vcpu.satp = mode == 0 ? 0 : v;
          selectContext(contextKey(vcpu.satp));
        }
      }
      count(Counter.CSR_SATP);
      rset((inst >> 7) & 31, old);
      hart.pc = epc + 4;
      retireEmulated();
      return;
    }
    if ((inst & SFENCE_MASK) == SFENCE_VMA) {
      count(Counter.EXIT_SFENCE);
      const rs1 = (inst >> 15) & 31;
      if (rs1 == 0) tlbFlushGuest(); else tlbFlushGuestPage(rget(rs1));
      hart.pc = epc + 4;
      retireEmulated();
      return;
    }
  }
  count(Counter.EXIT_VIRTUAL_INSTRUCTION);
  injectException(EXC_ILLEGAL_INST, inst, epc);
}

/** An exit from VS/VU-mode. hart.virt and hart.priv still say which one trapped. */
export function hvmExit(cause: u64, tval: u64, epc: u64, gpa4: u64, tinst: u64): void {
  const priv = hart.priv;
  hart.pc = epc;
  hart.virt = 1;
  // Nesting: L2's exits, and L1's hypervisor instructions, are hv/nested.ts's.
  if (nestEnabled() && nestExit(cause, tval, epc, gpa4, tinst)) {
    // Still in L1: its interrupts as for any guest. Entered L2 (L1's SRET with SPV = 1): an
    // interrupt already pending for L1 is taken at once, since HS-level interrupts are enabled
    // whenever V = 1 (privileged spec 8.6.4... 3.1.6.1), as on hardware right after the SRET.
    if (nestLevel() == LEVEL_L1) syncInterrupts();
    else nestSyncInterrupts();
    return;
  }
  if ((cause & CAUSE_INTERRUPT) != 0) {
    const code = <u32>(cause & 63);
    if (code == IRQ_S_TIMER) {
      // The guest's timer (the hypervisor's, set for it by SBI set_timer): inject VSTIP.
      count(Counter.EXIT_TIMER);
      count(Counter.INJECTIONS);
      hart.hvip |= MIP_VSTIP;
      hart.mipSw &= ~MIP_STIP;
      machine.sbiTimecmp = NEVER;
    } else if (code == IRQ_S_EXT) {
      count(Counter.EXIT_EXTERNAL);
      count(Counter.INJECTIONS);
    }
  } else {
    const code = <u32>cause;
    if (code == EXC_ECALL_VS) {
      count(Counter.EXIT_SBI);
      sbiCall();
      hart.pc = epc + 4;
      retireEmulated();
    } else if (code == EXC_VIRTUAL_INST) {
      virtualInstruction(<u32>tval, epc);
    } else if (code == EXC_INST_PAGE_FAULT || code == EXC_LOAD_PAGE_FAULT || code == EXC_STORE_PAGE_FAULT) {
      if (shadowMode()) hvmShadowFault(code, tval, epc, priv);
      else { count(Counter.EXIT_REFLECT); injectException(cause, tval, epc); }
    } else if (code == EXC_INST_GUEST_PAGE_FAULT || code == EXC_LOAD_GUEST_PAGE_FAULT || code == EXC_STORE_GUEST_PAGE_FAULT) {
      guestPageFault(code, tval, epc, (gpa4 << 2) | (tval & 3), tinst, priv);
    } else {
      count(Counter.EXIT_REFLECT);
      injectException(cause, tval, epc);
    }
  }
  if (shadowMode()) applyShadow();
  syncInterrupts();
}

/** SBI set_timer from a guest acknowledges its timer interrupt. */
export function hvmTimerSet(): void { hart.hvip &= ~MIP_VSTIP; }
/** SBI IPI to itself: the guest's software interrupt. */
export function hvmRaiseSoft(): void { hart.hvip |= MIP_VSSIP; }
