// The F and D extensions' instructions (unprivileged spec v20191213, chapter 11 "F" and
// chapter 12 "D"; encodings in chapter 24), called from the interpreter (cpu/exec.ts) for the
// opcodes LOAD-FP, STORE-FP, MADD/MSUB/NMSUB/NMADD and OP-FP. The arithmetic itself is in
// cpu/softfloat.ts; this file decodes, checks that FP is enabled and the rounding mode legal,
// reads and writes the f registers (NaN-boxing singles), accrues fflags and keeps mstatus.FS.
// Each function returns false when the instruction raised an exception (always an illegal
// instruction or a memory fault: FP exceptions only set flags, section 11.2).

import { FREGS, hart, raise, rget, rset } from '../state';
import { EXC_ILLEGAL_INST, EXC_NONE } from '../riscv/cause';
import { CSR_FFLAGS, CSR_FRM } from '../riscv/csr';
import { FS_DIRTY, FS_OFF, MSTATUS_FS } from '../riscv/bits';
import { KIND_LOAD, KIND_STORE, tlbEntry } from '../mmu/tlb';
import { tlbProbeTable } from '../mmu/tlbmodel';
import { loadSlow, storeSlow } from '../mmu/access';
import { clearRaised, fadd, fclass, fcompare, fcvtFF, fcvtFromInt, fcvtToInt, fdiv, ffma, fminmax,
  fmul, fsqrt, raised } from './softfloat';
import { CANONICAL_NAN_S, D_EB, D_FB, F5_ADD, F5_CMP, F5_CVT_FF, F5_CVT_FROM_INT, F5_CVT_TO_INT,
  F5_DIV, F5_MINMAX, F5_MUL, F5_MV_FROM_X, F5_MV_TO_X, F5_SGNJ, F5_SQRT, F5_SUB, FCSR_FRM_SHIFT,
  FCSR_MASK, FFLAGS_MASK, NAN_BOX, RM_DYN, RM_RMM, S_EB, S_FB } from '../riscv/fp';

/**
 * Whether FP instructions and the FP CSRs may run (privileged spec 3.1.6.6): mstatus.FS must not
 * be Off, and with V=1 neither may vsstatus.FS (section 8.2.1 "when V=1, both vsstatus.FS and
 * the HS-level sstatus.FS are in effect").
 */
export function fpEnabled(): bool {
  if ((hart.mstatus & MSTATUS_FS) == FS_OFF) return false;
  return hart.virt == 0 || (hart.vsstatus & MSTATUS_FS) != FS_OFF;
}

/** An instruction changed FP state: FS becomes Dirty (and vsstatus.FS too with V=1, 8.2.1). */
export function fpDirty(): void {
  hart.mstatus |= FS_DIRTY;
  if (hart.virt != 0) hart.vsstatus |= FS_DIRTY;
}

/** Accrue the flags the operation raised into fflags; changed FP state dirties FS. */
@inline function accrue(): void {
  if (raised != 0) {
    hart.fcsr |= raised;
    fpDirty();
  }
}

@inline function fget(r: u32): u64 { return load<u64>(FREGS + (<usize>r << 3)); }
@inline function fset(r: u32, v: u64): void { store<u64>(FREGS + (<usize>r << 3), v); }
/** A single read from an f register: not NaN-boxed reads as the canonical NaN (section 12.2). */
@inline function fgetS(r: u32): u64 {
  const v = fget(r);
  return (v & NAN_BOX) == NAN_BOX ? v & 0xFFFF_FFFF : CANONICAL_NAN_S;
}
@inline function fsetS(r: u32, v: u64): void { fset(r, v | NAN_BOX); }

/** fcsr reads and writes for csr.ts (fflags 0x001, frm 0x002, fcsr 0x003; section 11.2). */
export function fcsrRead(csr: u32): u64 {
  const f = hart.fcsr;
  if (csr == CSR_FFLAGS) return <u64>(f & FFLAGS_MASK);
  if (csr == CSR_FRM) return <u64>(f >> FCSR_FRM_SHIFT);
  return <u64>f;
}
export function fcsrWrite(csr: u32, v: u64): void {
  const f = hart.fcsr;
  if (csr == CSR_FFLAGS) hart.fcsr = (f & ~FFLAGS_MASK) | (<u32>v & FFLAGS_MASK);
  else if (csr == CSR_FRM) hart.fcsr = (f & FFLAGS_MASK) | ((<u32>v & 7) << FCSR_FRM_SHIFT);
  else hart.fcsr = <u32>v & FCSR_MASK;
  fpDirty();
}

/**
 * The rounding mode of an instruction's rm field (section 11.2, table 11.1): 7 selects frm;
 * 5 and 6, and frm values 5-7 under DYN, are reserved: the instruction is illegal. Returns 8
 * for an illegal mode.
 */
@inline function roundingMode(inst: u32): u32 {
  let rm = (inst >> 12) & 7;
  if (rm == RM_DYN) rm = hart.fcsr >> FCSR_FRM_SHIFT;
  return rm > RM_RMM ? 8 : rm;
}

@inline function illegal(inst: u32): bool {
  raise(EXC_ILLEGAL_INST, inst);
  return false;
}

/** FLW and FLD (section 11.5, 12.3): through the load TLB, or the slow path for the rest. */
export function fpLoad(inst: u32): bool {
  const f3 = (inst >> 12) & 7;
  if (!fpEnabled() || (f3 != 2 && f3 != 3)) return illegal(inst);
  const va = rget((inst >> 15) & 31) + <u64><i64>(<i32>inst >> 20);
  const e = tlbEntry(tlbProbeTable(hart.dataView, KIND_LOAD), va);
  let v: u64;
  if (load<u64>(e) == (va & (~(<u64>0xFFF) | ((<u64>1 << f3) - 1)))) {
    const h = <usize>(va + load<u64>(e, 8));
    v = f3 == 2 ? <u64>load<u32>(h) : load<u64>(h);
  } else {
    v = loadSlow(va, f3);
    if (raisedMemory()) return false;
  }
  const rd = (inst >> 7) & 31;
  if (f3 == 2) fsetS(rd, v & 0xFFFF_FFFF); else fset(rd, v);
  fpDirty();
  return true;
}

/**
 * The hypervisor emulated an FLW/FLD (`f3` 2 or 3) on a device for its guest (hv/mmio.ts):
 * write the value as the load would.
 */
export function fpLoadEmulated(rd: u32, f3: u32, v: u64): void {
  if (f3 == 2) fsetS(rd, v & 0xFFFF_FFFF); else fset(rd, v);
  fpDirty();
}
/** The value an FSW/FSD `inst` stores (the low word for FSW, unchecked, section 12.2). */
export function fpStoreValue(inst: u32): u64 {
  const v = fget((inst >> 20) & 31);
  return ((inst >> 12) & 7) == 2 ? v & 0xFFFF_FFFF : v;
}

/** FSW and FSD: the low 32 bits of the register for FSW, without a NaN-box check (12.2). */
export function fpStore(inst: u32): bool {
  const f3 = (inst >> 12) & 7;
  if (!fpEnabled() || (f3 != 2 && f3 != 3)) return illegal(inst);
  const va = rget((inst >> 15) & 31) + <u64><i64>(((<i32>inst >> 25) << 5) | <i32>((inst >> 7) & 31));
  const v = fget((inst >> 20) & 31);
  const e = tlbEntry(tlbProbeTable(hart.dataView, KIND_STORE), va);
  if (load<u64>(e) == (va & (~(<u64>0xFFF) | ((<u64>1 << f3) - 1)))) {
    const h = <usize>(va + load<u64>(e, 8));
    if (f3 == 2) store<u32>(h, <u32>v); else store<u64>(h, v);
    return true;
  }
  storeSlow(va, 1 << f3, f3 == 2 ? v & 0xFFFF_FFFF : v);
  return !raisedMemory();
}

@inline function raisedMemory(): bool { return hart.excCause != EXC_NONE; }

/**
 * FMADD, FMSUB, FNMSUB, FNMADD (section 11.6): rs1 * rs2 + rs3 with one rounding; FMSUB
 * negates the addend, FNMSUB the product, FNMADD both.
 */
export function fpFused(inst: u32): bool {
  const fmt = (inst >> 25) & 3;
  const rm = roundingMode(inst);
  if (!fpEnabled() || fmt > 1 || rm > RM_RMM) return illegal(inst);
  const op = (inst >> 2) & 3; // 0x43 MADD, 0x47 MSUB, 0x4B NMSUB, 0x4F NMADD
  const negP: u64 = op >= 2 ? 1 : 0;
  const negC: u64 = op == 1 || op == 3 ? 1 : 0;
  const rd = (inst >> 7) & 31;
  const rs1 = (inst >> 15) & 31;
  const rs2 = (inst >> 20) & 31;
  const rs3 = inst >> 27;
  clearRaised();
  if (fmt == 0) fsetS(rd, ffma(fgetS(rs1), fgetS(rs2), fgetS(rs3), negP, negC, rm, S_FB, S_EB));
  else fset(rd, ffma(fget(rs1), fget(rs2), fget(rs3), negP, negC, rm, D_FB, D_EB));
  accrue();
  fpDirty();
  return true;
}

/** OP-FP: everything but the loads, stores and fused multiply-adds. */
export function fpOp(inst: u32): bool {
  if (!fpEnabled()) return illegal(inst);
  const fmt = (inst >> 25) & 3;
  if (fmt > 1) return illegal(inst); // H and Q are not implemented
  const dbl = fmt == 1;
  const fb = dbl ? D_FB : S_FB;
  const eb = dbl ? D_EB : S_EB;
  const f5 = inst >> 27;
  const rd = (inst >> 7) & 31;
  const rs1 = (inst >> 15) & 31;
  const rs2 = (inst >> 20) & 31;
  const f3 = (inst >> 12) & 7;
  const a = dbl ? fget(rs1) : fgetS(rs1);
  const b = dbl ? fget(rs2) : fgetS(rs2);
  clearRaised();
  let r: u64 = 0;
  let toX = false;
  switch (f5) {
    case F5_ADD: case F5_SUB: case F5_MUL: case F5_DIV: {
      const rm = roundingMode(inst);
      if (rm > RM_RMM) return illegal(inst);
      if (f5 == F5_MUL) r = fmul(a, b, rm, fb, eb);
      else if (f5 == F5_DIV) r = fdiv(a, b, rm, fb, eb);
      else r = fadd(a, b, f5 == F5_SUB ? 1 : 0, rm, fb, eb);
      break;
    }
    case F5_SQRT: {
      const rm = roundingMode(inst);
      if (rm > RM_RMM || rs2 != 0) return illegal(inst);
      r = fsqrt(a, rm, fb, eb);
      break;
    }
    case F5_SGNJ: {
      // Sign injection (section 11.7): the bits of rs1 with a sign from rs2; no flags.
      const sbit = <u64>1 << <u64>(fb + eb);
      let s: u64;
      if (f3 == 0) s = b & sbit;
      else if (f3 == 1) s = ~b & sbit;
      else if (f3 == 2) s = (a ^ b) & sbit;
      else return illegal(inst);
      r = (a & ~sbit) | s;
      break;
    }
    case F5_MINMAX: {
      if (f3 > 1) return illegal(inst);
      r = fminmax(a, b, f3 == 1, fb, eb);
      break;
    }
    case F5_CVT_FF: {
      // FCVT.S.D (fmt S, rs2 = 1) rounds; FCVT.D.S (fmt D, rs2 = 0) is exact (section 12.5).
      const rm = roundingMode(inst);
      if (rm > RM_RMM || rs2 != (dbl ? 0 : 1)) return illegal(inst);
      r = dbl ? fcvtFF(fgetS(rs1), rm, S_FB, S_EB, D_FB, D_EB) : fcvtFF(fget(rs1), rm, D_FB, D_EB, S_FB, S_EB);
      break;
    }
    case F5_CMP: {
      if (f3 > 2) return illegal(inst);
      r = fcompare(a, b, f3, fb, eb);
      toX = true;
      break;
    }
    case F5_CVT_TO_INT: {
      const rm = roundingMode(inst);
      if (rm > RM_RMM || rs2 > 3) return illegal(inst);
      r = fcvtToInt(a, rs2, rm, fb, eb);
      toX = true;
      break;
    }
    case F5_CVT_FROM_INT: {
      const rm = roundingMode(inst);
      if (rm > RM_RMM || rs2 > 3) return illegal(inst);
      // rs2: 0 W, 1 WU, 2 L, 3 LU. 32-bit sources are the low word of the x register.
      const x = rget(rs1);
      let mag: u64;
      let neg = false;
      if (rs2 == 0) { const v = <i64><i32>x; neg = v < 0; mag = neg ? <u64>(0 - v) : <u64>v; }
      else if (rs2 == 1) mag = x & 0xFFFF_FFFF;
      else if (rs2 == 2) { neg = <i64>x < 0; mag = neg ? 0 - x : x; }
      else mag = x;
      r = fcvtFromInt(mag, neg, rm, fb, eb);
      break;
    }
    case F5_MV_TO_X: {
      if (rs2 != 0) return illegal(inst);
      if (f3 == 0) {
        // FMV.X.W moves the low 32 bits, sign-extended, without a NaN-box check (11.7).
        const v = fget(rs1);
        r = dbl ? v : <u64><i64><i32>v;
      } else if (f3 == 1) {
        r = fclass(a, fb, eb);
      } else {
        return illegal(inst);
      }
      toX = true;
      break;
    }
    case F5_MV_FROM_X: {
      if (rs2 != 0 || f3 != 0) return illegal(inst);
      const x = rget(rs1);
      r = dbl ? x : x & 0xFFFF_FFFF;
      break;
    }
    default:
      return illegal(inst);
  }
  accrue();
  if (toX) {
    rset(rd, r);
  } else {
    if (dbl) fset(rd, r); else fsetS(rd, r);
    fpDirty();
  }
  return true;
}
