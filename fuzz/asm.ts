/**
 * A tiny RV64 instruction encoder for the fuzz harness: just the formats of the unprivileged
 * spec chapter 2.2-2.3 (R, I, S, B, U, J) and the few instructions the harness and the
 * generators emit. Field layouts are the spec's figures; nothing here decides semantics.
 */

/** Integer register numbers by ABI name (unprivileged spec chapter 25, "RISC-V Calling Convention"). */
export const X = {
  zero: 0, ra: 1, sp: 2, gp: 3, tp: 4, t0: 5, t1: 6, t2: 7, s0: 8, s1: 9,
  a0: 10, a1: 11, a2: 12, a3: 13, a4: 14, a5: 15, a6: 16, a7: 17,
  s2: 18, s3: 19, s4: 20, s5: 21, s6: 22, s7: 23, s8: 24, s9: 25, s10: 26, s11: 27,
  t3: 28, t4: 29, t5: 30, t6: 31,
} as const;

/* Major opcodes (bits 6:0), unprivileged spec table 24.1. */
export const OP = {
  LOAD: 0x03, LOAD_FP: 0x07, MISC_MEM: 0x0F, OP_IMM: 0x13, AUIPC: 0x17, OP_IMM_32: 0x1B,
  STORE: 0x23, STORE_FP: 0x27, AMO: 0x2F, OP: 0x33, LUI: 0x37, OP_32: 0x3B,
  MADD: 0x43, MSUB: 0x47, NMSUB: 0x4B, NMADD: 0x4F, OP_FP: 0x53,
  BRANCH: 0x63, JALR: 0x67, JAL: 0x6F, SYSTEM: 0x73,
} as const;

const u = (v: number) => v >>> 0;

export function rType(op: number, rd: number, f3: number, rs1: number, rs2: number, f7: number): number {
  return u((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op);
}
export function iType(op: number, rd: number, f3: number, rs1: number, imm: number): number {
  return u(((imm & 0xFFF) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op);
}
export function sType(op: number, f3: number, rs1: number, rs2: number, imm: number): number {
  return u((((imm >> 5) & 0x7F) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 0x1F) << 7) | op);
}
export function bType(f3: number, rs1: number, rs2: number, imm: number): number {
  return u((((imm >> 12) & 1) << 31) | (((imm >> 5) & 0x3F) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12)
    | (((imm >> 1) & 0xF) << 8) | (((imm >> 11) & 1) << 7) | OP.BRANCH);
}
export function uType(op: number, rd: number, imm20: number): number {
  return u(((imm20 & 0xFFFFF) << 12) | (rd << 7) | op);
}
export function jType(rd: number, imm: number): number {
  return u((((imm >> 20) & 1) << 31) | (((imm >> 1) & 0x3FF) << 21) | (((imm >> 11) & 1) << 20)
    | (((imm >> 12) & 0xFF) << 12) | (rd << 7) | OP.JAL);
}

export const addi = (rd: number, rs1: number, imm: number) => iType(OP.OP_IMM, rd, 0, rs1, imm);
export const andi = (rd: number, rs1: number, imm: number) => iType(OP.OP_IMM, rd, 7, rs1, imm);
export const srli = (rd: number, rs1: number, sh: number) => iType(OP.OP_IMM, rd, 5, rs1, sh & 63);
export const sltiu = (rd: number, rs1: number, imm: number) => iType(OP.OP_IMM, rd, 3, rs1, imm);
export const add = (rd: number, rs1: number, rs2: number) => rType(OP.OP, rd, 0, rs1, rs2, 0);
export const sub = (rd: number, rs1: number, rs2: number) => rType(OP.OP, rd, 0, rs1, rs2, 0x20);
export const sltu = (rd: number, rs1: number, rs2: number) => rType(OP.OP, rd, 3, rs1, rs2, 0);
export const ld = (rd: number, rs1: number, imm: number) => iType(OP.LOAD, rd, 3, rs1, imm);
export const lhu = (rd: number, rs1: number, imm: number) => iType(OP.LOAD, rd, 5, rs1, imm);
export const sd = (rs2: number, rs1: number, imm: number) => sType(OP.STORE, 3, rs1, rs2, imm);
export const auipc = (rd: number, imm20: number) => uType(OP.AUIPC, rd, imm20);
export const jal = (rd: number, off: number) => jType(rd, off);
export const jalr = (rd: number, rs1: number, imm: number) => iType(OP.JALR, rd, 0, rs1, imm);
export const bne = (rs1: number, rs2: number, off: number) => bType(1, rs1, rs2, off);
export const beq = (rs1: number, rs2: number, off: number) => bType(0, rs1, rs2, off);
/** CSRRW / CSRRS / CSRRC (Zicsr, unprivileged spec chapter 9). */
export const csrrw = (rd: number, csr: number, rs1: number) => iType(OP.SYSTEM, rd, 1, rs1, csr);
export const csrrs = (rd: number, csr: number, rs1: number) => iType(OP.SYSTEM, rd, 2, rs1, csr);
export const ecall = () => 0x0000_0073;
/** The xRET encodings (privileged spec 2.2, table 2.2): SRET, MRET. */
export const sret = () => 0x1020_0073;
export const mret = () => 0x3020_0073;
export const sfenceVma = (rs1: number, rs2: number) => rType(OP.SYSTEM, 0, 0, rs1, rs2, 0x09);
/** HLV.D / HSV.D (privileged spec 8.3.2): funct7 0x36 / 0x37, rs2 field 0 for HLV.D's width. */
export const hlvD = (rd: number, rs1: number) => rType(OP.SYSTEM, rd, 4, rs1, 0, 0x36);
export const hsvD = (rs2: number, rs1: number) => rType(OP.SYSTEM, 0, 4, rs1, rs2, 0x37);

/** A sequence of instruction words, with the byte offset of the next one. */
export class Code {
  readonly words: number[] = [];
  get here(): number { return this.words.length * 4; }
  emit(...w: number[]): this { this.words.push(...w); return this; }
  /** Patch a previously emitted word (for forward branches). */
  patch(at: number, w: number): void { this.words[at / 4] = w; }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.words.length * 4);
    const dv = new DataView(out.buffer);
    this.words.forEach((w, i) => dv.setUint32(i * 4, w, true));
    return out;
  }
}

export const ori = (rd: number, rs1: number, imm: number) => iType(OP.OP_IMM, rd, 6, rs1, imm);
export const slli = (rd: number, rs1: number, sh: number) => iType(OP.OP_IMM, rd, 1, rs1, sh & 63);
export const lwu = (rd: number, rs1: number, imm: number) => iType(OP.LOAD, rd, 6, rs1, imm);
/** Loads and stores by width: f3 0..3 = B, H, W, D (unprivileged spec 2.6, 5.3). */
export const load = (f3: number, rd: number, rs1: number, imm: number) => iType(OP.LOAD, rd, f3, rs1, imm);
export const store = (f3: number, rs2: number, rs1: number, imm: number) => sType(OP.STORE, f3, rs1, rs2, imm);
/** FLD / FSD (D extension, unprivileged spec 12.3). */
export const fld = (rd: number, rs1: number, imm: number) => iType(OP.LOAD_FP, rd, 3, rs1, imm);
export const fsd = (rs2: number, rs1: number, imm: number) => sType(OP.STORE_FP, 3, rs1, rs2, imm);
/** AMOADD.D and LR.D (A extension, unprivileged spec 8.2, 8.4). */
export const amoaddD = (rd: number, rs1: number, rs2: number) => rType(OP.AMO, rd, 3, rs1, rs2, 0x00);
export const lrD = (rd: number, rs1: number) => rType(OP.AMO, rd, 3, rs1, 0, 0x08);
