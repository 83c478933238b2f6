// CSR instructions and the semantics of each CSR (privileged spec v1.12, chapters 2-4; Zicsr
// in the unprivileged spec, chapter 9). Access rules (section 2.1): bits [9:8] of the CSR
// number are the lowest privilege allowed, bits [11:10] == 0b11 mark it read-only; a violation
// or an unimplemented CSR is an illegal-instruction exception with the instruction as tval.
// Every CSR write ends the interpreter's chunk, so changes to interrupts, privilege views and
// translation take effect before the next instruction.

import { hart, raise, rget, rset } from '../state';
import * as C from '../riscv/csr';
import { EXC_ILLEGAL_INST } from '../riscv/cause';
import { MEDELEG_WRITABLE, MIDELEG_WRITABLE, MIE_WRITABLE, MIP_SSIP, MIP_SW_WRITABLE,
  MISA_MXL64, misaExt, MSTATUS_MPP, MSTATUS_MXR, MSTATUS_TVM, MSTATUS_WRITABLE, MSTATUS_XLEN64,
  PRV_M, PRV_S, PRV_U, SATP_MODE_BARE, SATP_MODE_SHIFT, SATP_MODE_SV39, SSTATUS_VISIBLE,
  SSTATUS_WRITABLE } from '../riscv/bits';
import { mtime } from '../devices/clint';
import { mip, updateInterrupts } from './irq';
import { tlbFlushTranslated } from '../mmu/tlb';

export const MISA_VALUE: u64 = MISA_MXL64 | misaExt(0x41 /* A */) | misaExt(0x49 /* I */) |
  misaExt(0x4D /* M */) | misaExt(0x53 /* S */) | misaExt(0x55 /* U */);

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

/** May the current mode read counter `idx` (0 cycle, 1 time, 2 instret, 3.. hpm)? (3.1.11) */
function counterAllowed(idx: u32): bool {
  if (hart.priv == PRV_M) return true;
  if (((hart.mcounteren >> idx) & 1) == 0) return false;
  if (hart.priv == PRV_U && ((hart.scounteren >> idx) & 1) == 0) return false;
  return true;
}

// A read of a CSR that does not exist sets this; the caller raises illegal instruction.
const BAD: usize = memory.data(4, 4);

function readCsr(csr: u32): u64 {
  switch (csr) {
    case C.CSR_MSTATUS: return hart.mstatus | MSTATUS_XLEN64;
    case C.CSR_MISA: return MISA_VALUE;
    case C.CSR_MEDELEG: return hart.medeleg;
    case C.CSR_MIDELEG: return hart.mideleg;
    case C.CSR_MIE: return hart.mie;
    case C.CSR_MIP: updateInterrupts(); return mip();
    case C.CSR_MTVEC: return hart.mtvec;
    case C.CSR_MSCRATCH: return hart.mscratch;
    case C.CSR_MEPC: return hart.mepc;
    case C.CSR_MCAUSE: return hart.mcause;
    case C.CSR_MTVAL: return hart.mtval;
    case C.CSR_MCOUNTEREN: return hart.mcounteren;
    case C.CSR_MENVCFG: return 0;
    case C.CSR_MCOUNTINHIBIT: return 0;
    case C.CSR_MVENDORID: case C.CSR_MARCHID: case C.CSR_MIMPID: case C.CSR_MHARTID:
    case C.CSR_MCONFIGPTR: return 0;
    case C.CSR_MCYCLE: return cyclesNow() + hart.cycleDelta;
    case C.CSR_MINSTRET: return instretNow() + hart.instretDelta;
    case C.CSR_SSTATUS: return (hart.mstatus | MSTATUS_XLEN64) & SSTATUS_VISIBLE;
    case C.CSR_SIE: return hart.mie & hart.mideleg;
    case C.CSR_SIP: updateInterrupts(); return mip() & hart.mideleg;
    case C.CSR_STVEC: return hart.stvec;
    case C.CSR_SSCRATCH: return hart.sscratch;
    case C.CSR_SEPC: return hart.sepc;
    case C.CSR_SCAUSE: return hart.scause;
    case C.CSR_STVAL: return hart.stval;
    case C.CSR_SCOUNTEREN: return hart.scounteren;
    case C.CSR_SENVCFG: return 0;
    case C.CSR_SATP: return hart.satp;
    case C.CSR_TSELECT: return 0;
    case C.CSR_TDATA1: case C.CSR_TDATA2: case C.CSR_TDATA3: return 0;
    case C.CSR_TINFO: return 1; // only type 0: "no trigger" (Sdtrig section 5.7.6)
    case C.CSR_CYCLE: return cyclesNow() + hart.cycleDelta;
    case C.CSR_TIME: return mtime();
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

function writeCsr(csr: u32, v: u64): void {
  switch (csr) {
    case C.CSR_MSTATUS: writeMstatus(v, MSTATUS_WRITABLE); return;
    case C.CSR_SSTATUS: writeMstatus(v, SSTATUS_WRITABLE); return;
    case C.CSR_MEDELEG: hart.medeleg = v & MEDELEG_WRITABLE; return;
    case C.CSR_MIDELEG: hart.mideleg = v & MIDELEG_WRITABLE; return;
    case C.CSR_MIE: hart.mie = v & MIE_WRITABLE; return;
    case C.CSR_MIP: hart.mipSw = (hart.mipSw & ~MIP_SW_WRITABLE) | (v & MIP_SW_WRITABLE); return;
    case C.CSR_SIE: {
      const m = hart.mideleg & MIE_WRITABLE;
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
    // With IALIGN = 32 (no C extension) bits 1:0 of xepc are always zero (section 3.1.14).
    case C.CSR_MEPC: hart.mepc = v & ~(<u64>3); return;
    case C.CSR_SEPC: hart.sepc = v & ~(<u64>3); return;
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
    // WARL registers with nothing implemented behind them: writes are ignored.
    case C.CSR_MISA: case C.CSR_MENVCFG: case C.CSR_SENVCFG: case C.CSR_MCOUNTINHIBIT:
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
  // MXR widens what loads may read, so entries filled without it are now too narrow.
  if (((old ^ s) & MSTATUS_MXR) != 0) tlbFlushTranslated();
}

function writeSatp(v: u64): void {
  const mode = v >> SATP_MODE_SHIFT;
  // An unsupported MODE makes the whole write have no effect (section 4.1.11).
  if (mode != SATP_MODE_BARE && mode != SATP_MODE_SV39) return;
  // Only the 16 ASID bits and 44 PPN bits exist; with Bare the other fields are zero.
  hart.satp = mode == SATP_MODE_BARE ? 0 : v;
  tlbFlushTranslated();
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
  const minPriv = (csr >> 8) & 3;
  if (hart.priv < minPriv || (writes && (csr >> 10) == 3)) { raise(EXC_ILLEGAL_INST, inst); return false; }
  if (csr == C.CSR_SATP && hart.priv == PRV_S && (hart.mstatus & MSTATUS_TVM) != 0) {
    raise(EXC_ILLEGAL_INST, inst);
    return false;
  }
  if (csr >= C.CSR_CYCLE && csr <= C.CSR_HPMCOUNTER31 && !counterAllowed(csr - C.CSR_CYCLE)) {
    raise(EXC_ILLEGAL_INST, inst);
    return false;
  }
  store<u32>(BAD, 0);
  const old = readCsr(csr);
  if (load<u32>(BAD) != 0) { raise(EXC_ILLEGAL_INST, inst); return false; }
  if (writes) {
    writeCsr(csr, op == 1 ? src : op == 2 ? old | src : old & ~src);
    hart.chunkBreak = 1;
  }
  rset(rd, old);
  return true;
}

