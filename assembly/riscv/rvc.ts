// The C extension's encodings (unprivileged spec v20191213, chapter 16 "C" Standard Extension
// for Compressed Instructions; the opcode map of section 16.8, tables 16.4-16.6, and the
// instruction listings of section 16.8 "RVC Instruction Set Listings").
//
// Every RV64C instruction is a short form of one RV64G instruction, so hvlab runs them by
// expanding the 16 bits into the 32-bit equivalent and executing that (cpu/exec.ts), and the
// hypervisor decodes compressed loads and stores to devices the same way (hv/mmio.ts).
//
//   quadrant 0 (bits 1:0 = 00)   stack-pointer-based ADDI4SPN, loads and stores via rs1'
//   quadrant 1 (bits 1:0 = 01)   immediates, ALU on x8-x15, C.J, C.BEQZ, C.BNEZ
//   quadrant 2 (bits 1:0 = 10)   SLLI, stack loads/stores, JR/MV/EBREAK/JALR/ADD
//
// Reserved encodings expand to 0 (an illegal instruction); HINTs expand to an instruction
// that writes x0 or leaves its register unchanged, so they run as no-ops (section 16.7).

/** Is the instruction starting with halfword `lo` a 16-bit one (section 1.5: bits 1:0 != 11)? */
@inline export function isCompressed(lo: u32): bool { return (lo & 3) != 3; }

/** The length in bytes of the instruction whose first halfword is `lo`. */
@inline export function instLength(lo: u32): u32 { return (lo & 3) != 3 ? 2 : 4; }

export const OP_LOAD: u32 = 0x03;
export const OP_LOAD_FP: u32 = 0x07;
export const OP_IMM: u32 = 0x13;
export const OP_IMM_32: u32 = 0x1B;
export const OP_STORE: u32 = 0x23;
export const OP_STORE_FP: u32 = 0x27;
export const OP_OP: u32 = 0x33;
export const OP_LUI: u32 = 0x37;
export const OP_OP_32: u32 = 0x3B;
export const OP_BRANCH: u32 = 0x63;
export const OP_JALR: u32 = 0x67;
export const OP_JAL: u32 = 0x6F;

/** EBREAK (privileged spec table 9.1), C.EBREAK's expansion. */
export const INST_EBREAK_32: u32 = 0x0010_0073;
/** C.EBREAK: quadrant 2, funct4 = 1001, rd = rs2 = 0. */
export const INST_C_EBREAK: u32 = 0x9002;

// The 32-bit instruction formats (unprivileged spec section 2.3).
@inline function encI(op: u32, f3: u32, rd: u32, rs1: u32, imm: i32): u32 {
  return (<u32>imm << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op;
}
@inline function encS(op: u32, f3: u32, rs1: u32, rs2: u32, imm: i32): u32 {
  const u = <u32>imm;
  return ((u >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((u & 31) << 7) | op;
}
@inline function encR(op: u32, f7: u32, f3: u32, rd: u32, rs1: u32, rs2: u32): u32 {
  return (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op;
}
@inline function encB(f3: u32, rs1: u32, imm: i32): u32 {
  const u = <u32>imm;
  return (((u >> 12) & 1) << 31) | (((u >> 5) & 0x3F) << 25) | (rs1 << 15) | (f3 << 12) |
    (((u >> 1) & 0xF) << 8) | (((u >> 11) & 1) << 7) | OP_BRANCH;
}
@inline function encJ(rd: u32, imm: i32): u32 {
  const u = <u32>imm;
  return (((u >> 20) & 1) << 31) | (((u >> 1) & 0x3FF) << 21) | (((u >> 11) & 1) << 20) |
    (((u >> 12) & 0xFF) << 12) | (rd << 7) | OP_JAL;
}

/** Bit `from` of h moved to bit `to`. */
@inline function bit(h: u32, from: u32, to: u32): u32 { return ((h >> from) & 1) << to; }
/** Sign-extend the low `n` bits of v. */
@inline function sext(v: u32, n: u32): i32 { return <i32>(v << (32 - n)) >> (32 - n); }

/** The popular registers x8-x15 named by a 3-bit field rd'/rs1'/rs2' (section 16.2). */
@inline function creg(h: u32, at: u32): u32 { return 8 + ((h >> at) & 7); }

// Immediates shared by several instructions (section 16.3, figure 16.1 formats).
/** CI-format 6-bit signed immediate: imm[5] = bit 12, imm[4:0] = bits 6:2. */
@inline function ciImm(h: u32): i32 { return sext(bit(h, 12, 5) | ((h >> 2) & 31), 6); }
/** CL/CS word offset (C.LW, C.SW): uimm[5:3] = 12:10, uimm[2] = 6, uimm[6] = 5. */
@inline function clwOff(h: u32): i32 {
  return <i32>((((h >> 10) & 7) << 3) | bit(h, 6, 2) | bit(h, 5, 6));
}
/** CL/CS doubleword offset (C.LD, C.SD, C.FLD, C.FSD): uimm[5:3] = 12:10, uimm[7:6] = 6:5. */
@inline function cldOff(h: u32): i32 { return <i32>((((h >> 10) & 7) << 3) | (((h >> 5) & 3) << 6)); }

/**
 * The 32-bit instruction equivalent to the 16-bit `h`, or 0 if `h` is reserved (an illegal
 * instruction). `bias` is added to the offset of the pc-relative C.J, C.BEQZ and C.BNEZ: 0 for
 * the standard expansion; the interpreter executes an expansion as if it sat 2 bytes before
 * the compressed instruction and passes 2 (cpu/exec.ts explains why).
 */
export function expandCompressed(h: u32, bias: i32): u32 {
  const f3 = (h >> 13) & 7;
  const rdFull = (h >> 7) & 31;   // rd/rs1 of CR and CI formats
  const rs2Full = (h >> 2) & 31;  // rs2 of CR and CSS formats
  switch (h & 3) {
    case 0: { // quadrant 0
      const rdp = creg(h, 2);     // rd' (loads) or rs2' (stores), bits 4:2
      const rs1p = creg(h, 7);    // rs1', bits 9:7
      switch (f3) {
        case 0: { // C.ADDI4SPN: nzuimm[5:4|9:6|2|3] in bits 12:5; nzuimm = 0 reserved
          const imm = (((h >> 11) & 3) << 4) | (((h >> 7) & 15) << 6) | bit(h, 6, 2) | bit(h, 5, 3);
          if (imm == 0) return 0;
          return encI(OP_IMM, 0, rdp, 2, <i32>imm);
        }
        case 1: return encI(OP_LOAD_FP, 3, rdp, rs1p, cldOff(h));  // C.FLD -> FLD
        case 2: return encI(OP_LOAD, 2, rdp, rs1p, clwOff(h));     // C.LW  -> LW
        case 3: return encI(OP_LOAD, 3, rdp, rs1p, cldOff(h));     // C.LD  -> LD (RV64)
        case 5: return encS(OP_STORE_FP, 3, rs1p, rdp, cldOff(h)); // C.FSD -> FSD
        case 6: return encS(OP_STORE, 2, rs1p, rdp, clwOff(h));    // C.SW  -> SW
        case 7: return encS(OP_STORE, 3, rs1p, rdp, cldOff(h));    // C.SD  -> SD (RV64)
      }
      return 0; // funct3 100: reserved
    }
    case 1: { // quadrant 1
      switch (f3) {
        // C.ADDI (rd = 0: C.NOP, or a HINT; imm = 0 with rd != 0: a HINT). All run as ADDI.
        case 0: return encI(OP_IMM, 0, rdFull, rdFull, ciImm(h));
        case 1: { // C.ADDIW (RV64): rd = 0 reserved
          if (rdFull == 0) return 0;
          return encI(OP_IMM_32, 0, rdFull, rdFull, ciImm(h));
        }
        case 2: return encI(OP_IMM, 0, rdFull, 0, ciImm(h)); // C.LI (rd = 0: a HINT)
        case 3: {
          if (rdFull == 2) { // C.ADDI16SP: nzimm[9|4|6|8:7|5] in bits 12, 6:2; 0 reserved
            const u = bit(h, 12, 9) | bit(h, 6, 4) | bit(h, 5, 6) | (((h >> 3) & 3) << 7) | bit(h, 2, 5);
            if (u == 0) return 0;
            return encI(OP_IMM, 0, 2, 2, sext(u, 10));
          }
          // C.LUI: nzimm[17] = bit 12, nzimm[16:12] = bits 6:2; nzimm = 0 reserved; rd = 0 a HINT
          const imm = ciImm(h);
          if (imm == 0) return 0;
          return (<u32>imm << 12) | (rdFull << 7) | OP_LUI;
        }
        case 4: { // MISC-ALU on rd' = rs1' (bits 9:7)
          const r = creg(h, 7);
          const f2 = (h >> 10) & 3;
          // RV64: shamt[5] = bit 12 and every shamt is legal; shamt = 0 is a HINT (section 16.5).
          const shamt = <i32>(bit(h, 12, 5) | ((h >> 2) & 31));
          if (f2 == 0) return encI(OP_IMM, 5, r, r, shamt);          // C.SRLI
          if (f2 == 1) return encI(OP_IMM, 5, r, r, shamt | 0x400);  // C.SRAI
          if (f2 == 2) return encI(OP_IMM, 7, r, r, ciImm(h));       // C.ANDI
          const rs2 = creg(h, 2);
          const op2 = (h >> 5) & 3;
          if ((h & 0x1000) == 0) {
            if (op2 == 0) return encR(OP_OP, 0x20, 0, r, r, rs2);    // C.SUB
            if (op2 == 1) return encR(OP_OP, 0, 4, r, r, rs2);       // C.XOR
            if (op2 == 2) return encR(OP_OP, 0, 6, r, r, rs2);       // C.OR
            return encR(OP_OP, 0, 7, r, r, rs2);                     // C.AND
          }
          if (op2 == 0) return encR(OP_OP_32, 0x20, 0, r, r, rs2);   // C.SUBW
          if (op2 == 1) return encR(OP_OP_32, 0, 0, r, r, rs2);      // C.ADDW
          return 0; // reserved
        }
        case 5: { // C.J: offset[11|4|9:8|10|6|7|3:1|5] in bits 12:2
          const u = bit(h, 12, 11) | bit(h, 11, 4) | (((h >> 9) & 3) << 8) | bit(h, 8, 10) |
            bit(h, 7, 6) | bit(h, 6, 7) | (((h >> 3) & 7) << 1) | bit(h, 2, 5);
          return encJ(0, sext(u, 12) + bias);
        }
        default: { // C.BEQZ (6), C.BNEZ (7): offset[8|4:3] = 12:10, offset[7:6|2:1|5] = 6:2
          const u = bit(h, 12, 8) | (((h >> 10) & 3) << 3) | (((h >> 5) & 3) << 6) |
            (((h >> 3) & 3) << 1) | bit(h, 2, 5);
          return encB(f3 == 6 ? 0 : 1, creg(h, 7), sext(u, 9) + bias);
        }
      }
    }
    case 2: { // quadrant 2
      switch (f3) {
        case 0: { // C.SLLI (RV64: shamt[5] = bit 12; rd = 0 or shamt = 0: a HINT)
          const shamt = <i32>(bit(h, 12, 5) | ((h >> 2) & 31));
          return encI(OP_IMM, 1, rdFull, rdFull, shamt);
        }
        case 1: { // C.FLDSP: uimm[5] = 12, uimm[4:3] = 6:5, uimm[8:6] = 4:2
          const off = bit(h, 12, 5) | (((h >> 5) & 3) << 3) | (((h >> 2) & 7) << 6);
          return encI(OP_LOAD_FP, 3, rdFull, 2, <i32>off);
        }
        case 2: { // C.LWSP: uimm[5] = 12, uimm[4:2] = 6:4, uimm[7:6] = 3:2; rd = 0 reserved
          if (rdFull == 0) return 0;
          const off = bit(h, 12, 5) | (((h >> 4) & 7) << 2) | (((h >> 2) & 3) << 6);
          return encI(OP_LOAD, 2, rdFull, 2, <i32>off);
        }
        case 3: { // C.LDSP: offsets as C.FLDSP; rd = 0 reserved
          if (rdFull == 0) return 0;
          const off = bit(h, 12, 5) | (((h >> 5) & 3) << 3) | (((h >> 2) & 7) << 6);
          return encI(OP_LOAD, 3, rdFull, 2, <i32>off);
        }
        case 4: {
          if ((h & 0x1000) == 0) {
            if (rs2Full == 0) { // C.JR: rs1 = 0 reserved
              if (rdFull == 0) return 0;
              return encI(OP_JALR, 0, 0, rdFull, 0);
            }
            return encR(OP_OP, 0, 0, rdFull, 0, rs2Full);  // C.MV (rd = 0: a HINT)
          }
          if (rs2Full == 0) {
            if (rdFull == 0) return INST_EBREAK_32;        // C.EBREAK
            return encI(OP_JALR, 0, 1, rdFull, 0);         // C.JALR
          }
          return encR(OP_OP, 0, 0, rdFull, rdFull, rs2Full); // C.ADD (rd = 0: a HINT)
        }
        case 5: { // C.FSDSP: uimm[5:3] = 12:10, uimm[8:6] = 9:7
          const off = (((h >> 10) & 7) << 3) | (((h >> 7) & 7) << 6);
          return encS(OP_STORE_FP, 3, 2, rs2Full, <i32>off);
        }
        case 6: { // C.SWSP: uimm[5:2] = 12:9, uimm[7:6] = 8:7
          const off = (((h >> 9) & 15) << 2) | (((h >> 7) & 3) << 6);
          return encS(OP_STORE, 2, 2, rs2Full, <i32>off);
        }
        default: { // C.SDSP: uimm[5:3] = 12:10, uimm[8:6] = 9:7
          const off = (((h >> 10) & 7) << 3) | (((h >> 7) & 7) << 6);
          return encS(OP_STORE, 3, 2, rs2Full, <i32>off);
        }
      }
    }
  }
  return 0; // bits 1:0 = 11 is not a compressed instruction
}

/**
 * The 32-bit form of the instruction `raw` (its 16 bits if compressed): the instruction itself,
 * or the standard expansion of a compressed one (0 if reserved). The hypervisor decodes what
 * it emulates in this form (hv/fault.ts, hv/hvm.ts).
 */
export function standardForm(raw: u32): u32 {
  return isCompressed(raw) ? expandCompressed(raw & 0xFFFF, 0) : raw;
}
