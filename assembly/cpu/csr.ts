// CSR instructions and the semantics of each CSR (privileged spec v1.12, chapters 2-4; Zicsr
// in the unprivileged spec, chapter 9). Access rules (section 2.1): bits [9:8] of the CSR
// number are the lowest privilege allowed, bits [11:10] == 0b11 mark it read-only; a violation
// or an unimplemented CSR is an illegal-instruction exception with the instruction as tval.
// Every CSR write ends the interpreter's chunk, so changes to interrupts, privilege views and
// translation take effect before the next instruction.

import { hart, raise, rget, rset } from '../state';
import * as C from '../riscv/csr';
import { EXC_ILLEGAL_INST, EXC_VIRTUAL_INST } from '../riscv/cause';
import { HEDELEG_WRITABLE, HGATP_MODE_SV39X4, HGATP_PPN_MASK, HGATP_VMID_MASK, HIDELEG_WRITABLE,
  HSTATUS_VSXL64, HSTATUS_VTVM, HSTATUS_WRITABLE, MEDELEG_WRITABLE, MIDELEG_FORCED,
  MIDELEG_WRITABLE, MIE_WRITABLE, MIP_S_ALL, MIP_SGEIP, MIP_SSIP, MIP_SW_WRITABLE, MIP_VS_ALL,
  MIP_VSSIP, MISA_MXL64, misaExt, MSTATUS_MPP, MSTATUS_MXR, MSTATUS_TVM, MSTATUS_UXL,
  MSTATUS_WRITABLE, MSTATUS_XLEN64, PRV_M, PRV_S, PRV_U, SATP_ASID_MASK, SATP_ASID_SHIFT, SATP_MODE_BARE, SATP_MODE_SHIFT,
  SATP_MODE_SV39, SSTATUS_VISIBLE, SSTATUS_WRITABLE, MIP_STIP, withSd } from '../riscv/bits';
import { COUNTEREN_TM, ENVCFG_FIOM, ENVCFG_STCE } from '../riscv/bits';
import { fcsrRead, fcsrWrite, fpEnabled } from './fpu';
import { mtime } from '../devices/clint';
import { mip, updateInterrupts } from './irq';
import { tlbFlushGuest, tlbFlushTranslated, tlbSelectGuest, tlbSelectHost } from '../mmu/tlb';

export const MISA_VALUE: u64 = MISA_MXL64 | misaExt(0x41 /* A */) | misaExt(0x43 /* C */) |
  misaExt(0x44 /* D */) | misaExt(0x46 /* F */) | misaExt(0x48 /* H */) | misaExt(0x49 /* I */) |
  misaExt(0x4D /* M */) | misaExt(0x53 /* S */) | misaExt(0x55 /* U */);

/** mideleg as the hardware uses it: the VS-level bits are read-only one (section 8.4.1). */
@inline export function midelegEff(): u64 { return hart.mideleg | MIDELEG_FORCED; }

// PMP (section 3.7): 16 entries, as QEMU's virt has. Registers are kept so software can
// program and read them back; every access is allowed (no region is ever enforced).
const PMP_ENTRIES: u32 = 16;
const PMPCFG: usize = memory.data(<i32>PMP_ENTRIES, 16);
const PMPADDR: usize = memory.data(<i32>PMP_ENTRIES * 8, 16);
const PMP_L: u8 = 0x80;
const PMPCFG_WRITABLE: u8 = 0x9F;
const PMPADDR_MASK: u64 = (<u64>1 << 54) - 1;

export function csrReset(): void {
  memory.fill(PMPCFG, 0, PMP_ENTRIES);
  memory.fill(PMPADDR, 0, PMP_ENTRIES * 8);
}

/** Retired-instruction count as seen by the instruction now executing. */
@inline function instretNow(): u64 { return hart.instret + hart.chunkDone; }
@inline function cyclesNow(): u64 { return hart.now + hart.chunkDone; }

/**
 * Which exception, if any, a read of counter `idx` (0 cycle, 1 time, 2 instret, 3.. hpm) raises
 * in the current mode (sections 3.1.11, 4.1.5, 8.2.5 and the virtual-instruction list of 8.6.1):
 * mcounteren clear is illegal everywhere below M; with V=1 a clear hcounteren bit, and in VU
 * a clear scounteren bit, is a virtual-instruction exception; in U a clear scounteren bit is
 * illegal. Returns 0 when the read is allowed.
 */
function counterFault(idx: u32): u32 {
  const p = hart.priv;
  if (p == PRV_M) return 0;
  if (((hart.mcounteren >> idx) & 1) == 0) return EXC_ILLEGAL_INST + 1;
  if (hart.virt != 0) {
    if (((hart.hcounteren >> idx) & 1) == 0) return EXC_VIRTUAL_INST + 1;
    if (p == PRV_U && ((hart.scounteren >> idx) & 1) == 0) return EXC_VIRTUAL_INST + 1;
    return 0;
  }
  if (p == PRV_U && ((hart.scounteren >> idx) & 1) == 0) return EXC_ILLEGAL_INST + 1;
  return 0;
}

/** vsip/vsie: the VS-level bits delegated by hideleg, seen at their S-level positions. */
@inline function toVs(v: u64): u64 { return (v & hart.hideleg & MIP_VS_ALL) >> 1; }

// A read of a CSR that does not exist sets this; the caller raises illegal instruction.
const BAD: usize = memory.data(4, 4);

function readCsr(csr: u32): u64 {
  switch (csr) {
    case C.CSR_MSTATUS: return withSd(hart.mstatus | MSTATUS_XLEN64);
    case C.CSR_MISA: return MISA_VALUE;
    case C.CSR_MEDELEG: return hart.medeleg;
    case C.CSR_MIDELEG: return midelegEff();
    case C.CSR_MIE: return hart.mie;
    case C.CSR_MIP: updateInterrupts(); return mip();
    case C.CSR_MTVEC: return hart.mtvec;
    case C.CSR_MSCRATCH: return hart.mscratch;
    case C.CSR_MEPC: return hart.mepc;
    case C.CSR_MCAUSE: return hart.mcause;
    case C.CSR_MTVAL: return hart.mtval;
    case C.CSR_MCOUNTEREN: return hart.mcounteren;
    case C.CSR_MENVCFG: return hart.menvcfg;
    case C.CSR_MCOUNTINHIBIT: return 0;
    case C.CSR_MVENDORID: case C.CSR_MARCHID: case C.CSR_MIMPID: case C.CSR_MHARTID:
    case C.CSR_MCONFIGPTR: return 0;
    case C.CSR_MCYCLE: return cyclesNow() + hart.cycleDelta;
    case C.CSR_MINSTRET: return instretNow() + hart.instretDelta;
    case C.CSR_SSTATUS: return withSd(hart.mstatus | MSTATUS_XLEN64) & SSTATUS_VISIBLE;
    case C.CSR_SIE: return hart.mie & hart.mideleg & MIP_S_ALL;
    case C.CSR_SIP: updateInterrupts(); return mip() & hart.mideleg & MIP_S_ALL;
    case C.CSR_STVEC: return hart.stvec;
    case C.CSR_SSCRATCH: return hart.sscratch;
    case C.CSR_SEPC: return hart.sepc;
    case C.CSR_SCAUSE: return hart.scause;
    case C.CSR_STVAL: return hart.stval;
    case C.CSR_SCOUNTEREN: return hart.scounteren;
    case C.CSR_SENVCFG: return hart.senvcfg;
    case C.CSR_STIMECMP: return hart.stimecmp;
    case C.CSR_VSTIMECMP: return hart.vstimecmp;
    case C.CSR_SATP: return hart.satp;
    case C.CSR_TSELECT: return 0;
    case C.CSR_TDATA1: case C.CSR_TDATA2: case C.CSR_TDATA3: return 0;
    case C.CSR_TINFO: return 1; // only type 0: "no trigger" (Sdtrig section 5.7.6)
    case C.CSR_CYCLE: return cyclesNow() + hart.cycleDelta;
    // In VS and VU, time reads add htimedelta (section 8.2.7).
    case C.CSR_TIME: return hart.virt != 0 ? mtime() + hart.htimedelta : mtime();
    case C.CSR_MTVAL2: return hart.mtval2;
    case C.CSR_MTINST: return hart.mtinst;
    case C.CSR_HSTATUS: return hart.hstatus | HSTATUS_VSXL64;
    case C.CSR_HEDELEG: return hart.hedeleg;
    case C.CSR_HIDELEG: return hart.hideleg;
    case C.CSR_HIE: return hart.mie & (MIP_VS_ALL | MIP_SGEIP);
    case C.CSR_HIP: updateInterrupts(); return mip() & (MIP_VS_ALL | MIP_SGEIP);
    case C.CSR_HVIP: return hart.hvip;
    case C.CSR_HTIMEDELTA: return hart.htimedelta;
    case C.CSR_HCOUNTEREN: return hart.hcounteren;
    case C.CSR_HGEIE: case C.CSR_HGEIP: return 0;
    // henvcfg.STCE is read-only zero while menvcfg.STCE is 0 (Sstc section 2).
    case C.CSR_HENVCFG: return hart.henvcfg & (hart.menvcfg | ~ENVCFG_STCE);
    case C.CSR_HTVAL: return hart.htval;
    case C.CSR_HTINST: return hart.htinst;
    case C.CSR_HGATP: return hart.hgatp;
    case C.CSR_VSSTATUS: return withSd(hart.vsstatus | MSTATUS_UXL & MSTATUS_XLEN64);
    case C.CSR_FFLAGS: case C.CSR_FRM: case C.CSR_FCSR: return fcsrRead(csr);
    case C.CSR_VSIE: return toVs(hart.mie);
    case C.CSR_VSIP: updateInterrupts(); return toVs(mip());
    case C.CSR_VSTVEC: return hart.vstvec;
    case C.CSR_VSSCRATCH: return hart.vsscratch;
    case C.CSR_VSEPC: return hart.vsepc;
    case C.CSR_VSCAUSE: return hart.vscause;
    case C.CSR_VSTVAL: return hart.vstval;
    case C.CSR_VSATP: return hart.vsatp;
    case C.CSR_INSTRET: return instretNow() + hart.instretDelta;
  }
  if (csr >= C.CSR_HPMCOUNTER3 && csr <= C.CSR_HPMCOUNTER31) return 0;
  if (csr >= C.CSR_MHPMCOUNTER3 && csr <= C.CSR_MHPMCOUNTER31) return 0;
  if (csr >= C.CSR_MHPMEVENT3 && csr <= C.CSR_MHPMEVENT31) return 0;
  if (csr >= C.CSR_PMPCFG0 && csr <= C.CSR_PMPCFG0 + 2 && (csr & 1) == 0) {
    return load<u64>(PMPCFG + <usize>(csr - C.CSR_PMPCFG0) * 4);
  }
  if (csr >= C.CSR_PMPADDR0 && csr < C.CSR_PMPADDR0 + PMP_ENTRIES) {
    return load<u64>(PMPADDR + <usize>(csr - C.CSR_PMPADDR0) * 8);
  }
  store<u32>(BAD, 1);
  return 0;
}

/**
 * The debugger's access (cpu/debug.ts): read or write a CSR as M-mode would, without the
 * instruction's access checks; csrPeekFailed() says whether the CSR exists.
 */
export function csrPeek(csr: u32): u64 {
  store<u32>(BAD, 0);
  return readCsr(csr);
}
export function csrPoke(csr: u32, v: u64): void {
  store<u32>(BAD, 0);
  readCsr(csr);
  if (load<u32>(BAD) == 0) writeCsr(csr, v);
}
export function csrPeekFailed(): bool { return load<u32>(BAD) != 0; }

function writeCsr(csr: u32, v: u64): void {
  switch (csr) {
    case C.CSR_MSTATUS: writeMstatus(v, MSTATUS_WRITABLE); return;
    case C.CSR_SSTATUS: writeMstatus(v, SSTATUS_WRITABLE); return;
    case C.CSR_MEDELEG: hart.medeleg = v & MEDELEG_WRITABLE; return;
    case C.CSR_MIDELEG: hart.mideleg = v & MIDELEG_WRITABLE; return;
    case C.CSR_MIE: hart.mie = v & MIE_WRITABLE; return;
    case C.CSR_MIP: {
      // With menvcfg.STCE, STIP is read-only: it follows stimecmp (Sstc section 1).
      const w = (hart.menvcfg & ENVCFG_STCE) != 0 ? MIP_SW_WRITABLE & ~MIP_STIP : MIP_SW_WRITABLE;
      hart.mipSw = (hart.mipSw & ~w) | (v & w);
      // mip.VSSIP is an alias of hvip.VSSIP; VSTIP and VSEIP are read-only here (8.2.3).
      hart.hvip = (hart.hvip & ~MIP_VSSIP) | (v & MIP_VSSIP);
      return;
    }
    case C.CSR_SIE: {
      const m = hart.mideleg & MIP_S_ALL;
      hart.mie = (hart.mie & ~m) | (v & m);
      return;
    }
    case C.CSR_SIP: {
      // Only SSIP is writable from S-mode, and only when it is delegated (section 4.1.3).
      const m = hart.mideleg & MIP_SSIP;
      hart.mipSw = (hart.mipSw & ~m) | (v & m);
      return;
    }
    // A reserved MODE (>= 2) leaves xtvec unchanged, as QEMU does (the field is WARL).
    case C.CSR_MTVEC: if ((v & 3) < 2) hart.mtvec = v; return;
    case C.CSR_STVEC: if ((v & 3) < 2) hart.stvec = v; return;
    case C.CSR_MSCRATCH: hart.mscratch = v; return;
    case C.CSR_SSCRATCH: hart.sscratch = v; return;
    // IALIGN = 16 (the C extension, always on: misa.C is read-only 1): bit 0 of xepc is
    // always zero (section 3.1.14).
    case C.CSR_MEPC: hart.mepc = v & ~(<u64>1); return;
    case C.CSR_SEPC: hart.sepc = v & ~(<u64>1); return;
    case C.CSR_MCAUSE: hart.mcause = v; return;
    case C.CSR_SCAUSE: hart.scause = v; return;
    case C.CSR_MTVAL: hart.mtval = v; return;
    case C.CSR_STVAL: hart.stval = v; return;
    case C.CSR_MCOUNTEREN: hart.mcounteren = v & 0xFFFF_FFFF; return;
    case C.CSR_SCOUNTEREN: hart.scounteren = v & 0xFFFF_FFFF; return;
    // The next instruction must read the written value: it is the one after this retires.
    case C.CSR_MCYCLE: hart.cycleDelta = v - (cyclesNow() + 1); return;
    case C.CSR_MINSTRET: hart.instretDelta = v - (instretNow() + 1); return;
    case C.CSR_SATP: writeSatp(v); return;
    case C.CSR_MTVAL2: hart.mtval2 = v; return;
    case C.CSR_MTINST: hart.mtinst = v; return;
    case C.CSR_HSTATUS: hart.hstatus = v & HSTATUS_WRITABLE; return;
    case C.CSR_HEDELEG: hart.hedeleg = v & HEDELEG_WRITABLE; return;
    case C.CSR_HIDELEG: hart.hideleg = v & HIDELEG_WRITABLE; return;
    case C.CSR_HIE: hart.mie = (hart.mie & ~MIP_VS_ALL) | (v & MIP_VS_ALL); return;
    // hip: only VSSIP is writable, as an alias of hvip.VSSIP (section 8.2.3).
    case C.CSR_HIP: hart.hvip = (hart.hvip & ~MIP_VSSIP) | (v & MIP_VSSIP); return;
    case C.CSR_HVIP: hart.hvip = v & MIP_VS_ALL; return;
    case C.CSR_HTIMEDELTA: hart.htimedelta = v; return;
    case C.CSR_HCOUNTEREN: hart.hcounteren = v & 0xFFFF_FFFF; return;
    case C.CSR_HTVAL: hart.htval = v; return;
    case C.CSR_HTINST: hart.htinst = v; return;
    case C.CSR_HGATP: writeHgatp(v); return;
    case C.CSR_HGEIE: return;
    case C.CSR_MENVCFG: hart.menvcfg = v & (ENVCFG_FIOM | ENVCFG_STCE); return;
    case C.CSR_SENVCFG: hart.senvcfg = v & ENVCFG_FIOM; return;
    case C.CSR_HENVCFG: hart.henvcfg = v & (ENVCFG_FIOM | ENVCFG_STCE); return;
    // A new compare value takes effect at the next chunk boundary (every CSR write ends the
    // chunk), where updateInterrupts samples it and the run loop sizes the chunk to it.
    case C.CSR_STIMECMP: hart.stimecmp = v; return;
    case C.CSR_VSTIMECMP: hart.vstimecmp = v; return;
    case C.CSR_VSSTATUS: {
      const old = hart.vsstatus;
      hart.vsstatus = v & SSTATUS_WRITABLE;
      if (((old ^ v) & MSTATUS_MXR) != 0) tlbFlushGuest();
      return;
    }
    case C.CSR_VSIE: {
      const m = hart.hideleg & MIP_VS_ALL;
      hart.mie = (hart.mie & ~m) | ((v << 1) & m);
      return;
    }
    case C.CSR_VSIP: {
      // Only SSIP is writable in vsip: hvip.VSSIP when hideleg delegates it (section 8.2.11).
      const m = hart.hideleg & MIP_VSSIP;
      hart.hvip = (hart.hvip & ~m) | ((v << 1) & m);
      return;
    }
    case C.CSR_VSTVEC: if ((v & 3) < 2) hart.vstvec = v; return;
    case C.CSR_VSSCRATCH: hart.vsscratch = v; return;
    case C.CSR_VSEPC: hart.vsepc = v & ~(<u64>1); return;
    case C.CSR_VSCAUSE: hart.vscause = v; return;
    case C.CSR_VSTVAL: hart.vstval = v; return;
    case C.CSR_VSATP: writeVsatp(v); return;
    case C.CSR_FFLAGS: case C.CSR_FRM: case C.CSR_FCSR: fcsrWrite(csr, v); return;
    // WARL registers with nothing implemented behind them: writes are ignored.
    case C.CSR_MISA: case C.CSR_MCOUNTINHIBIT:
    case C.CSR_TSELECT: case C.CSR_TDATA1: case C.CSR_TDATA2: case C.CSR_TDATA3: return;
  }
  if (csr >= C.CSR_MHPMCOUNTER3 && csr <= C.CSR_MHPMCOUNTER31) return;
  if (csr >= C.CSR_MHPMEVENT3 && csr <= C.CSR_MHPMEVENT31) return;
  if (csr >= C.CSR_PMPCFG0 && csr <= C.CSR_PMPCFG0 + 2 && (csr & 1) == 0) {
    const first = (csr - C.CSR_PMPCFG0) * 4;
    for (let i: u32 = 0; i < 8; i++) {
      const p = PMPCFG + <usize>(first + i);
      if ((load<u8>(p) & PMP_L) == 0) store<u8>(p, <u8>(v >> (<u64>i * 8)) & PMPCFG_WRITABLE);
    }
    return;
  }
  if (csr >= C.CSR_PMPADDR0 && csr < C.CSR_PMPADDR0 + PMP_ENTRIES) {
    const i = csr - C.CSR_PMPADDR0;
    if ((load<u8>(PMPCFG + <usize>i) & PMP_L) == 0) store<u64>(PMPADDR + <usize>i * 8, v & PMPADDR_MASK);
  }
}

function writeMstatus(v: u64, writable: u64): void {
  const old = hart.mstatus;
  let s = (old & ~writable) | (v & writable);
  // MPP is WARL: the reserved value 2 leaves the field unchanged.
  if ((s & MSTATUS_MPP) == (<u64>2 << 11)) s = (s & ~MSTATUS_MPP) | (old & MSTATUS_MPP);
  hart.mstatus = s;
  // MXR widens what loads may read, so entries filled without it are now too narrow (in both
  // stages: HS's MXR also applies to the G-stage and to VS-stage translation, 8.5.2).
  if (((old ^ s) & MSTATUS_MXR) != 0) tlbFlushTranslated();
}

/** A legal satp-format value, or 1 (odd: never legal) if the MODE is unsupported. */
function legalAtp(v: u64): u64 {
  const mode = v >> SATP_MODE_SHIFT;
  // An unsupported MODE makes the whole write have no effect (section 4.1.11).
  if (mode != SATP_MODE_BARE && mode != SATP_MODE_SV39) return 1;
  // Only the 16 ASID bits and 44 PPN bits exist; with Bare the other fields are zero.
  return mode == SATP_MODE_BARE ? 0 : v;
}

function writeSatp(v: u64): void {
  const a = legalAtp(v);
  if (a == 1) return;
  hart.satp = a;
  // A new address space, not a flush (section 4.1.11): its ASID's entries stay usable.
  tlbSelectHost((a >> SATP_ASID_SHIFT) & SATP_ASID_MASK);
}

/** vsatp: same format as satp. An unsupported MODE keeps the old value (WARL, 8.2.18). */
function writeVsatp(v: u64): void {
  const a = legalAtp(v);
  if (a == 1) return;
  hart.vsatp = a;
  tlbSelectGuest((hart.hgatp & HGATP_VMID_MASK) >> SATP_ASID_SHIFT, a);
}

/** hgatp (section 8.2.10): Bare or Sv39x4; 14 VMID bits; the 16 KiB root's PPN[1:0] are 0. */
function writeHgatp(v: u64): void {
  const mode = v >> SATP_MODE_SHIFT;
  if (mode != SATP_MODE_BARE && mode != HGATP_MODE_SV39X4) return;
  hart.hgatp = mode == SATP_MODE_BARE ? 0 : (v & ((<u64>0xF << SATP_MODE_SHIFT) | HGATP_VMID_MASK | HGATP_PPN_MASK));
  tlbSelectGuest((hart.hgatp & HGATP_VMID_MASK) >> SATP_ASID_SHIFT, hart.vsatp);
}

/**
 * With V=1 the S-level CSR numbers of the registers that have VS substitutes reach those
 * instead (section 8.2, "When V=1 ... sstatus accesses vsstatus", and so on).
 */
function substitute(csr: u32): u32 {
  switch (csr) {
    case C.CSR_SSTATUS: case C.CSR_SIE: case C.CSR_STVEC: case C.CSR_SSCRATCH: case C.CSR_SEPC:
    case C.CSR_SCAUSE: case C.CSR_STVAL: case C.CSR_SIP: case C.CSR_SATP: case C.CSR_STIMECMP:
      return csr + C.CSR_VS_OFFSET;
  }
  return csr;
}

/**
 * Execute a Zicsr instruction (funct3 != 0 in the SYSTEM opcode). Returns false if it raised
 * an exception. Always ends the chunk when it writes.
 */
export function csrInstruction(inst: u32): bool {
  const csr = inst >> 20;
  const f3 = (inst >> 12) & 7;
  const rd = (inst >> 7) & 31;
  const rs1 = (inst >> 15) & 31;
  const src: u64 = (f3 & 4) != 0 ? <u64>rs1 : rget(rs1);
  const op = f3 & 3; // 1 RW, 2 RS, 3 RC
  const writes = op == 1 || rs1 != 0;
  if (op == 0) { raise(EXC_ILLEGAL_INST, inst); return false; }
  const fault = csrAccessFault(csr, writes);
  if (fault != 0) { raise(fault - 1, inst); return false; }
  const eff = hart.virt != 0 ? substitute(csr) : csr;
  store<u32>(BAD, 0);
  const old = readCsr(eff);
  if (load<u32>(BAD) != 0) { raise(EXC_ILLEGAL_INST, inst); return false; }
  if (writes) {
    writeCsr(eff, op == 1 ? src : op == 2 ? old | src : old & ~src);
    hart.chunkBreak = 1;
  }
  rset(rd, old);
  return true;
}


/**
 * Sstc's extra rules below M (Sstc v1.0 sections 1 and 2): stimecmp and vstimecmp need
 * menvcfg.STCE and mcounteren.TM, else illegal; from VS, stimecmp (which reaches vstimecmp)
 * also needs henvcfg.STCE and hcounteren.TM, else virtual instruction. U and VU never reach
 * them (the usual privilege rule below does that).
 */
function stimecmpFault(csr: u32): u32 {
  if ((hart.menvcfg & ENVCFG_STCE) == 0 || (hart.mcounteren & COUNTEREN_TM) == 0) return EXC_ILLEGAL_INST + 1;
  if (hart.virt != 0 && hart.priv == PRV_S && csr == C.CSR_STIMECMP &&
      ((hart.henvcfg & ENVCFG_STCE) == 0 || (hart.hcounteren & COUNTEREN_TM) == 0)) return EXC_VIRTUAL_INST + 1;
  return 0;
}

/**
 * The exception (cause + 1) an access to `csr` raises in the current mode, or 0 (sections 2.1
 * and 8.6.1). A CSR that does not exist, a write to a read-only CSR, or an M-level CSR below M is
 * illegal. With V=1, a CSR that HS-mode could access the same way is instead a virtual
 * instruction: H/VS-level CSRs from VS or VU, S-level CSRs from VU (VS reaches their VS
 * substitutes). satp in VS with hstatus.VTVM is virtual; satp and hgatp in HS with mstatus.TVM
 * are illegal.
 */
function csrAccessFault(csr: u32, writes: bool): u32 {
  store<u32>(BAD, 0);
  readCsr(csr);
  if (load<u32>(BAD) != 0) return EXC_ILLEGAL_INST + 1;
  if (writes && (csr >> 10) == 3) return EXC_ILLEGAL_INST + 1;
  // The FP CSRs are illegal while FS is Off (privileged spec 3.1.6.6; both FS fields with V=1).
  if (csr >= C.CSR_FFLAGS && csr <= C.CSR_FCSR && !fpEnabled()) return EXC_ILLEGAL_INST + 1;
  const p = hart.priv;
  // Bits 9:8 = 2 mark the hypervisor and VS CSRs, which HS-mode (PRV_S) may access (8.2).
  const level = (csr >> 8) & 3;
  const need = level == 2 ? PRV_S : level;
  if (p == PRV_M) return 0;
  if (csr == C.CSR_STIMECMP || csr == C.CSR_VSTIMECMP) {
    const f = stimecmpFault(csr);
    if (f != 0) return f;
  }
  const tvm = (hart.mstatus & MSTATUS_TVM) != 0;
  if (hart.virt != 0) {
    if (level == PRV_M) return EXC_ILLEGAL_INST + 1;
    // "Would HS-mode be allowed?" ignores TVM (8.6.1); a counter HS may not read is illegal.
    if (csr >= C.CSR_CYCLE && csr <= C.CSR_HPMCOUNTER31) return counterFault(csr - C.CSR_CYCLE);
    if (level == 2 || p < level) return EXC_VIRTUAL_INST + 1;
    if (csr == C.CSR_SATP && (hart.hstatus & HSTATUS_VTVM) != 0) return EXC_VIRTUAL_INST + 1;
    return 0;
  }
  if (p < need) return EXC_ILLEGAL_INST + 1;
  if ((csr == C.CSR_SATP || csr == C.CSR_HGATP) && p == PRV_S && tvm) return EXC_ILLEGAL_INST + 1;
  if (csr >= C.CSR_CYCLE && csr <= C.CSR_HPMCOUNTER31) return counterFault(csr - C.CSR_CYCLE);
  return 0;
}
