// The virtual CPU of trap-and-emulate (DESIGN.md, mode `trap-emulate`; the classic software
// VMM of Popek and Goldberg, as in RVirt). The guest kernel runs in the hart's U-mode, so its
// privileged instructions trap as illegal instructions; the hypervisor emulates them against
// the virtual supervisor state kept here. Guest user traps reach the hypervisor too and are
// reflected into the guest kernel as the hardware would deliver them to S-mode.

import { Counter } from '../counter-ids';
import { count, hart, machine, MODE_PV, MODE_TRAP_EMULATE, rget, rset } from '../state';
import { pvRaiseSoft } from './pv';
import { CAUSE_INTERRUPT, EXC_ILLEGAL_INST, IRQ_S_EXT, IRQ_S_SOFT, IRQ_S_TIMER } from '../riscv/cause';
import { FS_OFF, MIP_SEIP, MIP_SSIP, MIP_STIP, MIP_VSSIP, MIP_VSTIP, MSTATUS_FS, MSTATUS_MXR, withSd, MSTATUS_SIE, MSTATUS_SPIE, MSTATUS_SPP,
  MSTATUS_SUM, MSTATUS_XLEN64, PRV_S, PRV_U, SATP_ASID_SHIFT, SATP_MODE_SHIFT } from '../riscv/bits';
import * as C from '../riscv/csr';
import { tlbFlushPage, tlbFlushTranslated, tlbSelectHost } from '../mmu/tlb';
import { contextKey, currentAsid, currentRoot, selectContext, teView } from './shadow';
import { retireEmulated } from './retire';
import { sstatusOnTrap } from '../cpu/trap';

@unmanaged export class Vcpu {
  /** The privilege the guest believes it runs in: PRV_S or PRV_U. */
  priv: u32 = 0;
  /**
   * Virtual sstatus: SIE, SPIE, SPP, SUM, MXR. Its FS field is not kept here: the guest's FS
   * *is* the real mstatus.FS while the guest runs (both its kernel and its user programs run
   * in the real U-mode), so FS=Off makes their FP instructions trap and FP use dirties it.
   */
  sstatus: u64 = 0;
  sie: u64 = 0;
  /** Software-set pending bits (SSIP); STIP and SEIP come from the timer and the PLIC. */
  sipSoft: u64 = 0;
  stvec: u64 = 0;
  sscratch: u64 = 0;
  sepc: u64 = 0;
  scause: u64 = 0;
  stval: u64 = 0;
  satp: u64 = 0;
  scounteren: u64 = 0;
}
export const vcpu = changetype<Vcpu>(memory.data(offsetof<Vcpu>(), 16));

const SSTATUS_MASK: u64 = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR;
const SIE_MASK: u64 = MIP_SSIP | MIP_STIP | MIP_SEIP;

export function vcpuReset(): void {
  memory.fill(changetype<usize>(vcpu), 0, offsetof<Vcpu>());
  vcpu.priv = PRV_S;
  // The guest kernel starts with FP off, as after a hart reset; it enables FP itself.
  hart.mstatus = (hart.mstatus & ~MSTATUS_FS) | FS_OFF;
}

/** Point the hart's satp at the shadow root for the guest's address space and privilege. */
export function teApplyView(): void {
  const view = teView(vcpu.priv, (vcpu.sstatus & MSTATUS_SUM) != 0);
  const root = currentRoot(view);
  const asid = currentAsid(view);
  const satp = (<u64>8 << SATP_MODE_SHIFT) | (asid << SATP_ASID_SHIFT) | (root >> 12);
  if (hart.satp != satp) {
    hart.satp = satp;
    tlbSelectHost(asid);
  }
  hart.priv = PRV_U;
  // Both the guest kernel and its programs run in real U-mode, where the real scounteren
  // gates cycle/time/instret (section 4.1.5). The kernel, in virtual S, is gated only by
  // mcounteren; its programs by the scounteren the kernel wrote. A program's read that its
  // kernel did not allow is then an illegal instruction, reflected to the guest kernel.
  hart.scounteren = vcpu.priv == PRV_U ? vcpu.scounteren : hart.mcounteren;
}

/** Deliver a trap to the guest kernel, as S-mode trap entry would (privileged spec 4.1.1). */
export function teReflect(cause: u64, tval: u64, epc: u64): void {
  vcpu.scause = cause;
  vcpu.sepc = epc;
  vcpu.stval = tval;
  vcpu.sstatus = sstatusOnTrap(vcpu.sstatus, vcpu.priv == PRV_S);
  vcpu.priv = PRV_S;
  const base = vcpu.stvec & ~(<u64>3);
  const vectored = (vcpu.stvec & 3) == 1 && (cause & CAUSE_INTERRUPT) != 0;
  hart.pc = vectored ? base + 4 * (cause & 63) : base;
  teApplyView();
}

function teSret(): void {
  let s = vcpu.sstatus;
  vcpu.priv = (s & MSTATUS_SPP) != 0 ? PRV_S : PRV_U;
  s = (s & ~MSTATUS_SIE) | ((s & MSTATUS_SPIE) != 0 ? MSTATUS_SIE : 0);
  s |= MSTATUS_SPIE;
  s &= ~MSTATUS_SPP;
  vcpu.sstatus = s;
  hart.pc = vcpu.sepc;
  teApplyView();
}

/** The guest's pending interrupts: software SSIP, the timer's STIP, the PLIC's SEIP. */
function virtualPending(): u64 {
  return vcpu.sipSoft | (hart.mipSw & MIP_STIP) | (hart.mipHw & MIP_SEIP);
}

/**
 * After every exit: deliver a pending, enabled virtual interrupt, and enable in the real mie
 * exactly the interrupts the guest could take now (or that would wake it from WFI), so that
 * a masked interrupt does not exit over and over.
 */
export function teSyncInterrupts(): void {
  const pending = virtualPending() & vcpu.sie;
  const enabled = vcpu.priv == PRV_U || (vcpu.sstatus & MSTATUS_SIE) != 0;
  if (pending != 0 && hart.wfi != 0) hart.wfi = 0;
  if (pending != 0 && enabled) {
    // Priority SEI > SSI > STI (privileged spec 4.1.3).
    const code = (pending & MIP_SEIP) != 0 ? IRQ_S_EXT : (pending & MIP_SSIP) != 0 ? IRQ_S_SOFT : IRQ_S_TIMER;
    count(Counter.INJECTIONS);
    teReflect(CAUSE_INTERRUPT | code, 0, hart.pc);
  }
  const live = vcpu.priv == PRV_U || (vcpu.sstatus & MSTATUS_SIE) != 0 || hart.wfi != 0;
  hart.mie = live ? vcpu.sie & (MIP_STIP | MIP_SEIP) : 0;
}

function countCsr(csr: u32): void {
  switch (csr) {
    case C.CSR_SSTATUS: count(Counter.CSR_SSTATUS); break;
    case C.CSR_SIE: count(Counter.CSR_SIE); break;
    case C.CSR_STVEC: count(Counter.CSR_STVEC); break;
    case C.CSR_SCOUNTEREN: count(Counter.CSR_SCOUNTEREN); break;
    case C.CSR_SENVCFG: count(Counter.CSR_SENVCFG); break;
    case C.CSR_SSCRATCH: count(Counter.CSR_SSCRATCH); break;
    case C.CSR_SEPC: count(Counter.CSR_SEPC); break;
    case C.CSR_SCAUSE: count(Counter.CSR_SCAUSE); break;
    case C.CSR_STVAL: count(Counter.CSR_STVAL); break;
    case C.CSR_SIP: count(Counter.CSR_SIP); break;
    case C.CSR_SATP: count(Counter.CSR_SATP); break;
    default: count(Counter.CSR_OTHER);
  }
}

/** What readVcsr returns for a CSR the virtual CPU does not have. */
export const VCSR_UNKNOWN: u64 = 0xDEAD_0000_0000_0001;
const UNKNOWN: u64 = VCSR_UNKNOWN;

export function readVcsr(csr: u32): u64 {
  switch (csr) {
    case C.CSR_SSTATUS: return withSd(vcpu.sstatus | (hart.mstatus & MSTATUS_FS) | (MSTATUS_XLEN64 & (<u64>3 << 32)));
    case C.CSR_SIE: return vcpu.sie;
    case C.CSR_STVEC: return vcpu.stvec;
    case C.CSR_SCOUNTEREN: return vcpu.scounteren;
    case C.CSR_SENVCFG: return 0;
    case C.CSR_SSCRATCH: return vcpu.sscratch;
    case C.CSR_SEPC: return vcpu.sepc;
    case C.CSR_SCAUSE: return vcpu.scause;
    case C.CSR_STVAL: return vcpu.stval;
    case C.CSR_SIP: return virtualPending();
    case C.CSR_SATP: return vcpu.satp;
  }
  return UNKNOWN;
}

/** Write a virtual CSR; false if the guest kernel may not (an illegal instruction for it). */
function writeVcsr(csr: u32, v: u64): bool {
  switch (csr) {
    case C.CSR_SSTATUS: {
      const old = vcpu.sstatus;
      vcpu.sstatus = v & SSTATUS_MASK;
      hart.mstatus = (hart.mstatus & ~MSTATUS_FS) | (v & MSTATUS_FS);
      // MXR changes what loads may read in every shadow of this address space: rebuild it.
      if (((old ^ vcpu.sstatus) & MSTATUS_MXR) != 0) { selectContext(0); selectContext(contextKey(vcpu.satp)); }
      return true;
    }
    case C.CSR_SIE: vcpu.sie = v & SIE_MASK; return true;
    case C.CSR_STVEC: if ((v & 3) < 2) vcpu.stvec = v; return true;
    case C.CSR_SCOUNTEREN: vcpu.scounteren = v & 0xFFFF_FFFF; return true;
    case C.CSR_SENVCFG: return true;
    case C.CSR_SSCRATCH: vcpu.sscratch = v; return true;
    case C.CSR_SEPC: vcpu.sepc = v & ~(<u64>1); return true; // IALIGN = 16 (C)
    case C.CSR_SCAUSE: vcpu.scause = v; return true;
    case C.CSR_STVAL: vcpu.stval = v; return true;
    case C.CSR_SIP: vcpu.sipSoft = (vcpu.sipSoft & ~MIP_SSIP) | (v & MIP_SSIP); return true;
    case C.CSR_SATP: {
      const mode = v >> SATP_MODE_SHIFT;
      if (mode != 0 && mode != 8) return true; // unsupported MODE: the write has no effect
      vcpu.satp = mode == 0 ? 0 : v;
      selectContext(contextKey(vcpu.satp));
      return true;
    }
  }
  return false;
}

/** Emulate a Zicsr instruction of the guest kernel. False: reflect an illegal instruction. */
function emulateCsr(inst: u32): bool {
  const csr = inst >> 20;
  const f3 = (inst >> 12) & 7;
  const rd = (inst >> 7) & 31;
  const rs1 = (inst >> 15) & 31;
  const op = f3 & 3;
  if (op == 0) return false;
  const src: u64 = (f3 & 4) != 0 ? <u64>rs1 : rget(rs1);
  const writes = op == 1 || rs1 != 0;
  const old = readVcsr(csr);
  if (old == UNKNOWN) return false; // not a supervisor CSR: M-level and unknown ones fault
  countCsr(csr);
  if (writes && !writeVcsr(csr, op == 1 ? src : op == 2 ? old | src : old & ~src)) return false;
  rset(rd, old);
  return true;
}

const INST_SRET: u32 = 0x1020_0073;
const INST_WFI: u32 = 0x1050_0073;
const SFENCE_MASK: u32 = 0xFE00_7FFF;
const SFENCE_VMA: u32 = 0x1200_0073;

/**
 * The guest kernel (virtual S) executed `inst`, which trapped as illegal in U-mode. Emulate
 * it; anything not a supervisor instruction is reflected to the guest as illegal.
 */
export function teEmulate(inst: u32, epc: u64): void {
  if (emulatePrivileged(inst, epc)) retireEmulated();
}

// Every instruction emulated here is SYSTEM, which has no compressed form (only EBREAK does,
// and it is not emulated): the pc moves on by 4.
function emulatePrivileged(inst: u32, epc: u64): bool {
  if ((inst & 0x7F) == 0x73) {
    if (((inst >> 12) & 7) != 0) {
      if (emulateCsr(inst)) {
        // Each exit has one reason: a satp write is an address-space switch, not a plain CSR.
        const writesSatp = (inst >> 20) == C.CSR_SATP && (((inst >> 12) & 3) == 1 || ((inst >> 15) & 31) != 0);
        count(writesSatp ? Counter.EXIT_SATP : Counter.EXIT_CSR);
        hart.pc = epc + 4;
        teApplyView(); // SUM may have changed the view
        return true;
      }
    } else if (inst == INST_SRET) {
      count(Counter.EXIT_SRET);
      teSret();
      return true;
    } else if (inst == INST_WFI) {
      count(Counter.EXIT_WFI);
      hart.pc = epc + 4;
      if ((virtualPending() & vcpu.sie) == 0) hart.wfi = 1;
      return true;
    } else if ((inst & SFENCE_MASK) == SFENCE_VMA) {
      // Shadows follow the guest's PTE writes already (write protection); the hardware TLB
      // may still hold the old translations, as a real TLB would.
      count(Counter.EXIT_SFENCE);
      const rs1 = (inst >> 15) & 31;
      if (rs1 == 0) tlbFlushTranslated(); else tlbFlushPage(rget(rs1));
      hart.pc = epc + 4;
      return true;
    }
  }
  count(Counter.EXIT_ILLEGAL);
  teReflect(EXC_ILLEGAL_INST, inst, epc);
  return false;
}

/** Current guest status bits the shadow fill needs. */
export function vSum(): bool { return (vcpu.sstatus & MSTATUS_SUM) != 0; }
export function vMxr(): bool { return (vcpu.sstatus & MSTATUS_MXR) != 0; }

/** Set the guest's software-interrupt pending bit (SBI IPI to itself). */
export function vcpuRaiseSoft(): void {
  if (machine.mode == MODE_TRAP_EMULATE) vcpu.sipSoft |= MIP_SSIP;
  else if (machine.mode == MODE_PV) pvRaiseSoft();
  else hart.hvip |= MIP_VSSIP;
}


/** SBI set_timer from the guest: under hardware assist it also withdraws the injected VSTIP. */
export function vcpuTimerSet(): void {
  if (machine.mode != MODE_TRAP_EMULATE && machine.mode != MODE_PV) hart.hvip &= ~MIP_VSTIP;
}
