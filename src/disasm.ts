// The disassembler: one RV64GC instruction (and the privileged and hypervisor instructions) to
// text, in the syntax of GNU objdump 2.40 (`riscv64-unknown-elf-objdump -d`), pseudo-
// instructions included where objdump prints them, so that a listing from hvlab can be diffed
// with one from the toolchain (test/disasm.test.ts does, over the committed guest images).
//
// Encodings: the unprivileged specification (v20191213) chapters 2 (RV32I), 5 (RV64I), 7 (M),
// 8 (A), 9 (Zicsr), 3 (Zifencei), 11-12 (F, D), 16 (C, tables 16.5-16.7 for the opcode map);
// the privileged specification (v1.12) 3.3 (mret, wfi), 4.2 (sret, sfence.vma), 8.2 (HLV,
// HLVX, HSV, HFENCE). A compressed instruction is expanded to its 32-bit equivalent (16.8,
// "RVC Instruction Set Listings") and printed as that, as objdump prints it.
//
// Where the output knowingly differs from objdump 2.40:
//  - the H extension (hlv.*, hlvx.*, hsv.*, hfence.*) is decoded; objdump only decodes it when
//    the ELF's arch attribute names `h`, and prints `.4byte` otherwise;
//  - no `# address <symbol>` comments and no `<symbol+off>` after branch targets (the caller
//    has the symbols; the test strips objdump's);
//  - an encoding that decodes to nothing is `.4byte 0x...` / `.2byte 0x...`, as objdump prints
//    it for instructions (not for data marked by mapping symbols, which it prints as `.word`).

/** One decoded instruction: its length in bytes and its text (mnemonic, a tab, operands). */
export interface Disassembled {
  len: number;
  text: string;
}

const XREG = ['zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 's0', 's1', 'a0', 'a1', 'a2', 'a3',
  'a4', 'a5', 'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4',
  't5', 't6'];
const FREG = ['ft0', 'ft1', 'ft2', 'ft3', 'ft4', 'ft5', 'ft6', 'ft7', 'fs0', 'fs1', 'fa0', 'fa1',
  'fa2', 'fa3', 'fa4', 'fa5', 'fa6', 'fa7', 'fs2', 'fs3', 'fs4', 'fs5', 'fs6', 'fs7', 'fs8', 'fs9',
  'fs10', 'fs11', 'ft8', 'ft9', 'ft10', 'ft11'];
/** Rounding modes (unprivileged spec table 11.1); 5 and 6 are reserved, printed as numbers. */
const RM = ['rne', 'rtz', 'rdn', 'rup', 'rmm', '', '', 'dyn'];
const RM_DYN = 7;

/** CSR names by number (privileged spec 2.2, tables 2.2-2.6; unprivileged 10.1, 11.2). */
export const CSR_NAMES: ReadonlyMap<number, string> = buildCsrNames();

function buildCsrNames(): Map<number, string> {
  const m = new Map<number, string>();
  const add = (n: number, name: string): void => { m.set(n, name); };
  add(0x001, 'fflags'); add(0x002, 'frm'); add(0x003, 'fcsr');
  add(0x008, 'vstart'); add(0x009, 'vxsat'); add(0x00a, 'vxrm'); add(0x00f, 'vcsr');
  add(0x015, 'seed');
  add(0xc00, 'cycle'); add(0xc01, 'time'); add(0xc02, 'instret');
  add(0xc80, 'cycleh'); add(0xc81, 'timeh'); add(0xc82, 'instreth');
  for (let i = 3; i < 32; i++) {
    add(0xc00 + i, `hpmcounter${i}`); add(0xc80 + i, `hpmcounter${i}h`);
    add(0xb00 + i, `mhpmcounter${i}`); add(0xb80 + i, `mhpmcounter${i}h`);
    add(0x320 + i, `mhpmevent${i}`);
  }
  add(0xc20, 'vl'); add(0xc21, 'vtype'); add(0xc22, 'vlenb');
  // Supervisor
  add(0x100, 'sstatus'); add(0x104, 'sie'); add(0x105, 'stvec'); add(0x106, 'scounteren');
  add(0x10a, 'senvcfg'); add(0x140, 'sscratch'); add(0x141, 'sepc'); add(0x142, 'scause');
  add(0x143, 'stval'); add(0x144, 'sip'); add(0x180, 'satp'); add(0x5a8, 'scontext');
  add(0x14d, 'stimecmp'); add(0x15d, 'stimecmph'); add(0x24d, 'vstimecmp'); add(0x25d, 'vstimecmph');
  // Hypervisor and virtual supervisor (privileged spec 8.2, table 2.3)
  add(0x600, 'hstatus'); add(0x602, 'hedeleg'); add(0x603, 'hideleg'); add(0x604, 'hie');
  add(0x605, 'htimedelta'); add(0x606, 'hcounteren'); add(0x607, 'hgeie'); add(0x60a, 'henvcfg');
  add(0x615, 'htimedeltah'); add(0x61a, 'henvcfgh'); add(0x643, 'htval'); add(0x644, 'hip');
  add(0x645, 'hvip'); add(0x64a, 'htinst'); add(0x680, 'hgatp'); add(0x6a8, 'hcontext');
  add(0xe12, 'hgeip');
  add(0x200, 'vsstatus'); add(0x204, 'vsie'); add(0x205, 'vstvec'); add(0x240, 'vsscratch');
  add(0x241, 'vsepc'); add(0x242, 'vscause'); add(0x243, 'vstval'); add(0x244, 'vsip');
  add(0x280, 'vsatp');
  // Machine
  add(0xf11, 'mvendorid'); add(0xf12, 'marchid'); add(0xf13, 'mimpid'); add(0xf14, 'mhartid');
  add(0xf15, 'mconfigptr');
  add(0x300, 'mstatus'); add(0x301, 'misa'); add(0x302, 'medeleg'); add(0x303, 'mideleg');
  add(0x304, 'mie'); add(0x305, 'mtvec'); add(0x306, 'mcounteren'); add(0x30a, 'menvcfg');
  add(0x310, 'mstatush'); add(0x31a, 'menvcfgh'); add(0x320, 'mcountinhibit');
  add(0x340, 'mscratch'); add(0x341, 'mepc'); add(0x342, 'mcause'); add(0x343, 'mtval');
  add(0x344, 'mip'); add(0x34a, 'mtinst'); add(0x34b, 'mtval2');
  for (let i = 0; i < 16; i++) add(0x3a0 + i, `pmpcfg${i}`);
  for (let i = 0; i < 64; i++) add(0x3b0 + i, `pmpaddr${i}`);
  add(0x747, 'mseccfg'); add(0x757, 'mseccfgh');
  add(0xb00, 'mcycle'); add(0xb02, 'minstret'); add(0xb80, 'mcycleh'); add(0xb82, 'minstreth');
  add(0x7a0, 'tselect'); add(0x7a1, 'tdata1'); add(0x7a2, 'tdata2'); add(0x7a3, 'tdata3');
  add(0x7a4, 'tinfo'); add(0x7a5, 'tcontrol'); add(0x7a8, 'mcontext'); add(0x7aa, 'mscontext');
  add(0x7b0, 'dcsr'); add(0x7b1, 'dpc'); add(0x7b2, 'dscratch0'); add(0x7b3, 'dscratch1');
  // Smstateen (state enables) and Smaia/Ssaia (the advanced interrupt architecture): named so
  // that a listing of a kernel that probes them reads as objdump's does.
  for (let i = 0; i < 4; i++) {
    add(0x10c + i, `sstateen${i}`); add(0x30c + i, `mstateen${i}`); add(0x31c + i, `mstateen${i}h`);
    add(0x60c + i, `hstateen${i}`); add(0x61c + i, `hstateen${i}h`);
  }
  add(0x114, 'sieh'); add(0x150, 'siselect'); add(0x151, 'sireg'); add(0x154, 'siph');
  add(0x15c, 'stopei'); add(0x214, 'vsieh'); add(0x250, 'vsiselect'); add(0x251, 'vsireg');
  add(0x254, 'vsiph'); add(0x25c, 'vstopei'); add(0x308, 'mvien'); add(0x309, 'mvip');
  add(0x313, 'midelegh'); add(0x314, 'mieh'); add(0x318, 'mvienh'); add(0x319, 'mviph');
  add(0x350, 'miselect'); add(0x351, 'mireg'); add(0x354, 'miph'); add(0x35c, 'mtopei');
  add(0x608, 'hvien'); add(0x609, 'hvictl'); add(0x613, 'hidelegh'); add(0x618, 'hvienh');
  add(0x646, 'hviprio1'); add(0x647, 'hviprio2'); add(0x655, 'hviph'); add(0x656, 'hviprio1h');
  add(0x657, 'hviprio2h'); add(0xdb0, 'stopi'); add(0xeb0, 'vstopi'); add(0xfb0, 'mtopi');
  // Sscofpmf: counter overflow and the high halves of the event selectors.
  add(0xda0, 'scountovf');
  for (let i = 3; i < 32; i++) add(0x720 + i, `mhpmevent${i}h`);
  return m;
}

export function csrName(n: number): string {
  return CSR_NAMES.get(n) ?? `0x${n.toString(16)}`;
}

const MASK64 = (1n << 64n) - 1n;

/** Sign-extend the low `bits` bits of `v`. */
function sext(v: number, bits: number): number {
  const s = 32 - bits;
  return (v << s) >> s;
}
/** Bits hi..lo of `w`, unsigned. */
function bits(w: number, hi: number, lo: number): number {
  return (w >>> lo) & ((1 << (hi - lo + 1)) - 1);
}

function target(pc: bigint, off: number): string {
  return ((pc + BigInt(off)) & MASK64).toString(16);
}

function op(mn: string, args?: string): string {
  return args === undefined || args === '' ? mn : `${mn}\t${args}`;
}

const unknown32 = (w: number): string => op('.4byte', `0x${(w >>> 0).toString(16)}`);
const unknown16 = (h: number): string => op('.2byte', `0x${h.toString(16)}`);

/** Disassemble the instruction whose first bytes are `word` (little-endian) at address `pc`. */
export function disasm(word: number, pc: bigint | number): Disassembled {
  const at = typeof pc === 'bigint' ? pc : BigInt(pc);
  const len = instructionLength(word & 0xffff);
  if (len > 4) return { len, text: `.${len}byte` };
  if (len === 2 && (word & 3) === 3) return { len, text: unknown16(word & 0xffff) };
  if ((word & 3) !== 3) {
    const h = word & 0xffff;
    const hint = compressedHint(h, at);
    if (hint !== undefined) return { len: 2, text: hint };
    const x = expandCompressed(h);
    if (x === 0) return { len: 2, text: h === 0 ? 'unimp' : unknown16(h) };
    const text = disasm32(x, at);
    return { len: 2, text: text.startsWith('.4byte') ? unknown16(h) : text };
  }
  return { len: 4, text: disasm32(word >>> 0, at) };
}

/**
 * The length in bytes of the instruction whose first halfword is `h` (unprivileged spec 1.5,
 * "Base Instruction-Length Encoding"). RV64GC has no instruction longer than 4 bytes, but a
 * listing must step over a longer encoding whole. The reserved >= 192-bit prefix counts as 2,
 * as objdump steps over it.
 */
export function instructionLength(h: number): number {
  if ((h & 3) !== 3) return 2;
  if ((h & 0x1c) !== 0x1c) return 4;
  if ((h & 0x3f) === 0x1f) return 6;
  if ((h & 0x7f) === 0x3f) return 8;
  const nnn = (h >> 12) & 7;
  if ((h & 0x7f) === 0x7f && nnn !== 7) return 10 + 2 * nnn;
  return 2;
}

export interface ListingLine {
  pc: bigint;
  /** The instruction's bits (the first 4 bytes of a longer encoding). */
  raw: number;
  len: number;
  text: string;
}

/**
 * Disassemble `bytes` placed at `base`: one line per instruction. An encoding longer than 4
 * bytes is listed as `.byte` and its bytes in memory order (objdump prints them by halfword).
 */
export function disasmRange(bytes: Uint8Array, base: bigint | number): ListingLine[] {
  const out: ListingLine[] = [];
  const b0 = typeof base === 'bigint' ? base : BigInt(base);
  let off = 0;
  while (off + 2 <= bytes.length) {
    const h = bytes[off] | (bytes[off + 1] << 8);
    const len = instructionLength(h);
    if (off + len > bytes.length) break;
    const pc = b0 + BigInt(off);
    if (len > 4) {
      const list = Array.from(bytes.subarray(off, off + len), (b) => `0x${b.toString(16).padStart(2, '0')}`);
      const raw = (h | (bytes[off + 2] << 16) | (bytes[off + 3] << 24)) >>> 0;
      out.push({ pc, raw, len, text: op('.byte', list.join(', ')) });
    } else {
      const w = len === 2 ? h : (h | (bytes[off + 2] << 16) | (bytes[off + 3] << 24)) >>> 0;
      out.push({ pc, raw: w, len, text: disasm(w, pc).text });
    }
    off += len;
  }
  return out;
}

function disasm32(w: number, pc: bigint): string {
  const rd = bits(w, 11, 7);
  const rs1 = bits(w, 19, 15);
  const rs2 = bits(w, 24, 20);
  const f3 = bits(w, 14, 12);
  const f7 = bits(w, 31, 25);
  const immI = w >> 20;
  const immS = ((w >> 25) << 5) | rd;
  const x = (r: number): string => XREG[r];
  const f = (r: number): string => FREG[r];
  switch (w & 0x7f) {
    case 0x37: return op('lui', `${x(rd)},0x${(w >>> 12).toString(16)}`);
    case 0x17: return op('auipc', `${x(rd)},0x${(w >>> 12).toString(16)}`);
    case 0x6f: {
      const off = sext((bits(w, 31, 31) << 20) | (bits(w, 19, 12) << 12) | (bits(w, 20, 20) << 11) |
        (bits(w, 30, 21) << 1), 21);
      if (rd === 0) return op('j', target(pc, off));
      if (rd === 1) return op('jal', target(pc, off));
      return op('jal', `${x(rd)},${target(pc, off)}`);
    }
    case 0x67: {
      if (f3 !== 0) break;
      if (rd === 0 && rs1 === 1 && immI === 0) return 'ret';
      if (rd === 0) return op('jr', immI === 0 ? x(rs1) : `${immI}(${x(rs1)})`);
      if (rd === 1) return op('jalr', immI === 0 ? x(rs1) : `${immI}(${x(rs1)})`);
      return op('jalr', immI === 0 ? `${x(rd)},${x(rs1)}` : `${x(rd)},${immI}(${x(rs1)})`);
    }
    case 0x63: return branch(w, pc, f3, rs1, rs2);
    case 0x03: {
      const mn = ['lb', 'lh', 'lw', 'ld', 'lbu', 'lhu', 'lwu', ''][f3];
      if (mn === '') break;
      return op(mn, `${x(rd)},${immI}(${x(rs1)})`);
    }
    case 0x23: {
      if (f3 > 3) break;
      return op(['sb', 'sh', 'sw', 'sd'][f3], `${x(rs2)},${immS}(${x(rs1)})`);
    }
    case 0x13: return opImm(w, f3, rd, rs1, immI);
    case 0x1b: return opImm32(w, f3, rd, rs1, immI);
    case 0x33: return opReg(f7, f3, rd, rs1, rs2, false);
    case 0x3b: return opReg(f7, f3, rd, rs1, rs2, true);
    case 0x0f: return miscMem(w, f3, rd, rs1);
    case 0x73: return system(w, f3, f7, rd, rs1, rs2);
    case 0x2f: return amo(w, f3, rd, rs1, rs2);
    case 0x07: {
      if (f3 !== 2 && f3 !== 3) break;
      return op(f3 === 2 ? 'flw' : 'fld', `${f(rd)},${immI}(${x(rs1)})`);
    }
    case 0x27: {
      if (f3 !== 2 && f3 !== 3) break;
      return op(f3 === 2 ? 'fsw' : 'fsd', `${f(rs2)},${immS}(${x(rs1)})`);
    }
    case 0x43: case 0x47: case 0x4b: case 0x4f: {
      const fmt = bits(w, 26, 25);
      if (fmt > 1) break;
      const mn = { 0x43: 'fmadd', 0x47: 'fmsub', 0x4b: 'fnmsub', 0x4f: 'fnmadd' }[w & 0x7f]!;
      return op(`${mn}.${fmt === 0 ? 's' : 'd'}`,
        withRm(`${f(rd)},${f(rs1)},${f(rs2)},${f(bits(w, 31, 27))}`, f3));
    }
    case 0x53: return opFp(w, f3, f7, rd, rs1, rs2);
  }
  return unknown32(w);
}

/** The operand list with the rounding mode appended unless it is dynamic, as objdump does. */
function withRm(args: string, rm: number): string {
  if (rm === RM_DYN) return args;
  return `${args},${RM[rm] === '' ? 'unknown' : RM[rm]}`;
}

function branch(w: number, pc: bigint, f3: number, rs1: number, rs2: number): string {
  const off = sext((bits(w, 31, 31) << 12) | (bits(w, 7, 7) << 11) | (bits(w, 30, 25) << 5) |
    (bits(w, 11, 8) << 1), 13);
  const t = target(pc, off);
  const x = (r: number): string => XREG[r];
  switch (f3) {
    case 0: return rs2 === 0 ? op('beqz', `${x(rs1)},${t}`) : op('beq', `${x(rs1)},${x(rs2)},${t}`);
    case 1: return rs2 === 0 ? op('bnez', `${x(rs1)},${t}`) : op('bne', `${x(rs1)},${x(rs2)},${t}`);
    case 4:
      if (rs2 === 0) return op('bltz', `${x(rs1)},${t}`);
      if (rs1 === 0) return op('bgtz', `${x(rs2)},${t}`);
      return op('blt', `${x(rs1)},${x(rs2)},${t}`);
    case 5:
      if (rs1 === 0) return op('blez', `${x(rs2)},${t}`);
      if (rs2 === 0) return op('bgez', `${x(rs1)},${t}`);
      return op('bge', `${x(rs1)},${x(rs2)},${t}`);
    case 6: return op('bltu', `${x(rs1)},${x(rs2)},${t}`);
    case 7: return op('bgeu', `${x(rs1)},${x(rs2)},${t}`);
  }
  return unknown32(w);
}

function opImm(w: number, f3: number, rd: number, rs1: number, imm: number): string {
  const x = (r: number): string => XREG[r];
  const shamt = bits(w, 25, 20);
  const f6 = bits(w, 31, 26);
  switch (f3) {
    case 0:
      if (rd === 0 && rs1 === 0 && imm === 0) return 'nop';
      if (rs1 === 0) return op('li', `${x(rd)},${imm}`);
      if (imm === 0) return op('mv', `${x(rd)},${x(rs1)}`);
      return op('add', `${x(rd)},${x(rs1)},${imm}`);
    case 1: return f6 === 0 ? op('sll', `${x(rd)},${x(rs1)},0x${shamt.toString(16)}`) : unknown32(w);
    case 2: return op('slti', `${x(rd)},${x(rs1)},${imm}`);
    case 3: return imm === 1 ? op('seqz', `${x(rd)},${x(rs1)}`) : op('sltiu', `${x(rd)},${x(rs1)},${imm}`);
    case 4: return imm === -1 ? op('not', `${x(rd)},${x(rs1)}`) : op('xor', `${x(rd)},${x(rs1)},${imm}`);
    case 5:
      if (f6 === 0) return op('srl', `${x(rd)},${x(rs1)},0x${shamt.toString(16)}`);
      if (f6 === 0x10) return op('sra', `${x(rd)},${x(rs1)},0x${shamt.toString(16)}`);
      return unknown32(w);
    case 6: return op('or', `${x(rd)},${x(rs1)},${imm}`);
    case 7: return imm === 255 ? op('zext.b', `${x(rd)},${x(rs1)}`) : op('and', `${x(rd)},${x(rs1)},${imm}`);
  }
  return unknown32(w);
}

function opImm32(w: number, f3: number, rd: number, rs1: number, imm: number): string {
  const x = (r: number): string => XREG[r];
  const shamt = bits(w, 24, 20);
  const f7 = bits(w, 31, 25);
  switch (f3) {
    case 0: return imm === 0 ? op('sext.w', `${x(rd)},${x(rs1)}`) : op('addw', `${x(rd)},${x(rs1)},${imm}`);
    case 1: if (f7 === 0) return op('sllw', `${x(rd)},${x(rs1)},0x${shamt.toString(16)}`); break;
    case 5:
      if (f7 === 0) return op('srlw', `${x(rd)},${x(rs1)},0x${shamt.toString(16)}`);
      if (f7 === 0x20) return op('sraw', `${x(rd)},${x(rs1)},0x${shamt.toString(16)}`);
      break;
  }
  return unknown32(w);
}

const OP_BASE = ['add', 'sll', 'slt', 'sltu', 'xor', 'srl', 'or', 'and'];
const OP_MUL = ['mul', 'mulh', 'mulhsu', 'mulhu', 'div', 'divu', 'rem', 'remu'];

function opReg(f7: number, f3: number, rd: number, rs1: number, rs2: number, word: boolean): string {
  const x = (r: number): string => XREG[r];
  const w = word ? 'w' : '';
  const three = (mn: string): string => op(mn, `${x(rd)},${x(rs1)},${x(rs2)}`);
  const bad = (): string => unknown32((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | (word ? 0x3b : 0x33));
  if (f7 === 1) {
    if (word && (f3 === 1 || f3 === 2 || f3 === 3)) return bad();
    return three(OP_MUL[f3] + w);
  }
  if (f7 === 0) {
    if (word && f3 !== 0 && f3 !== 1 && f3 !== 5) return bad();
    if (!word && f3 === 3 && rs1 === 0) return op('snez', `${x(rd)},${x(rs2)}`);
    if (!word && f3 === 2 && rs2 === 0) return op('sltz', `${x(rd)},${x(rs1)}`);
    if (!word && f3 === 2 && rs1 === 0) return op('sgtz', `${x(rd)},${x(rs2)}`);
    return three(OP_BASE[f3] + w);
  }
  if (f7 === 0x20) {
    if (f3 === 0) return rs1 === 0 ? op(`neg${w}`, `${x(rd)},${x(rs2)}`) : three(`sub${w}`);
    if (f3 === 5) return three(`sra${w}`);
  }
  return bad();
}

/** FENCE's predecessor and successor sets (unprivileged spec 2.7): letters of IORW, or 0. */
function fenceSet(v: number): string {
  let s = '';
  if (v & 8) s += 'i';
  if (v & 4) s += 'o';
  if (v & 2) s += 'r';
  if (v & 1) s += 'w';
  return s === '' ? 'unknown' : s;
}

function miscMem(w: number, f3: number, rd: number, rs1: number): string {
  // The CPU treats these fields as reserved-for-hints and runs them as fences; objdump decodes
  // only the canonical encodings (rd = rs1 = 0, fm = 0 but for FENCE.TSO, FENCE.I's imm = 0).
  if (f3 === 1) return (w >>> 0) === 0x0000100f ? 'fence.i' : unknown32(w);
  if (f3 !== 0 || rd !== 0 || rs1 !== 0) return unknown32(w);
  const fm = bits(w, 31, 28);
  const pred = bits(w, 27, 24);
  const succ = bits(w, 23, 20);
  if (fm === 8 && pred === 3 && succ === 3) return 'fence.tso';
  if (fm !== 0) return unknown32(w);
  if (pred === 15 && succ === 15) return 'fence';
  return op('fence', `${fenceSet(pred)},${fenceSet(succ)}`);
}

function system(w: number, f3: number, f7: number, rd: number, rs1: number, rs2: number): string {
  const x = (r: number): string => XREG[r];
  if (f3 === 0) {
    if (rd !== 0) return unknown32(w);
    switch (w >>> 0) {
      case 0x00000073: return 'ecall';
      case 0x00100073: return 'ebreak';
      case 0x10200073: return 'sret';
      case 0x30200073: return 'mret';
      case 0x10500073: return 'wfi';
      case 0x7b200073: return 'dret';
    }
    // SFENCE.VMA (4.2.1), HFENCE.VVMA / HFENCE.GVMA (8.3.2): rs1 = address, rs2 = ASID/VMID.
    const fences: Record<number, string> = { 0x09: 'sfence.vma', 0x11: 'hfence.vvma', 0x31: 'hfence.gvma' };
    const mn = fences[f7];
    if (mn !== undefined) {
      if (rs1 === 0 && rs2 === 0) return mn;
      if (rs2 === 0) return op(mn, x(rs1));
      return op(mn, `${x(rs1)},${x(rs2)}`);
    }
    return unknown32(w);
  }
  if (f3 === 4) return hypervisorLoadStore(w, f7, rd, rs1, rs2);
  const csr = w >>> 20;
  const name = csrName(csr);
  const imm = f3 >= 5;
  const src = imm ? String(rs1) : x(rs1);
  const kind = f3 & 3; // 1 = RW, 2 = RS, 3 = RC
  // objdump's CSR pseudo-instructions (unprivileged spec 9.3, table 25.3; the F aliases 11.2).
  if (!imm) {
    if (csr === 0x001 || csr === 0x002 || csr === 0x003) {
      const base = ['fsflags', 'fsrm', 'fscsr'][csr - 1];
      const rdName = ['frflags', 'frrm', 'frcsr'][csr - 1];
      if (kind === 2 && rs1 === 0) return op(rdName, x(rd));
      if (kind === 1) return op(base, rd === 0 ? x(rs1) : `${x(rd)},${x(rs1)}`);
    }
    if (kind === 2 && rs1 === 0) {
      if (csr === 0xc00) return op('rdcycle', x(rd));
      if (csr === 0xc01) return op('rdtime', x(rd));
      if (csr === 0xc02) return op('rdinstret', x(rd));
      return op('csrr', `${x(rd)},${name}`);
    }
    if (kind === 1 && csr === 0xc00 && rd === 0 && rs1 === 0) return 'unimp';
  } else if ((csr === 0x001 || csr === 0x002) && kind === 1) {
    // objdump 2.40 keeps the destination, zero included, of the immediate F aliases.
    return op(csr === 0x001 ? 'fsflagsi' : 'fsrmi', `${x(rd)},${src}`);
  }
  // objdump 2.40 prints the immediate forms (CSRRWI, ...) with the register forms' names: the
  // operand being a number tells them apart.
  const mns = ['', 'csrrw', 'csrrs', 'csrrc'];
  const short = ['', 'csrw', 'csrs', 'csrc'];
  if (kind === 0) return unknown32(w);
  if (rd === 0) return op(short[kind], `${name},${src}`);
  return op(mns[kind], `${x(rd)},${name},${src}`);
}

/** HLV, HLVX and HSV (privileged spec 8.2.4): SYSTEM with funct3 = 4. */
function hypervisorLoadStore(w: number, f7: number, rd: number, rs1: number, rs2: number): string {
  const x = (r: number): string => XREG[r];
  const loads: Record<number, string> = {
    [0x30 << 5 | 0]: 'hlv.b', [0x30 << 5 | 1]: 'hlv.bu', [0x32 << 5 | 0]: 'hlv.h',
    [0x32 << 5 | 1]: 'hlv.hu', [0x32 << 5 | 3]: 'hlvx.hu', [0x34 << 5 | 0]: 'hlv.w',
    [0x34 << 5 | 1]: 'hlv.wu', [0x34 << 5 | 3]: 'hlvx.wu', [0x36 << 5 | 0]: 'hlv.d',
  };
  const stores: Record<number, string> = { 0x31: 'hsv.b', 0x33: 'hsv.h', 0x35: 'hsv.w', 0x37: 'hsv.d' };
  const ld = loads[f7 << 5 | rs2];
  if (ld !== undefined) return op(ld, `${x(rd)},(${x(rs1)})`);
  const st = stores[f7];
  if (st !== undefined && rd === 0) return op(st, `${x(rs2)},(${x(rs1)})`);
  return unknown32(w);
}

const AMO_OPS: Record<number, string> = {
  0x00: 'amoadd', 0x01: 'amoswap', 0x02: 'lr', 0x03: 'sc', 0x04: 'amoxor', 0x0c: 'amoand',
  0x08: 'amoor', 0x10: 'amomin', 0x14: 'amomax', 0x18: 'amominu', 0x1c: 'amomaxu',
};

function amo(w: number, f3: number, rd: number, rs1: number, rs2: number): string {
  const x = (r: number): string => XREG[r];
  if (f3 !== 2 && f3 !== 3) return unknown32(w);
  const f5 = bits(w, 31, 27);
  const base = AMO_OPS[f5];
  if (base === undefined) return unknown32(w);
  const aq = bits(w, 26, 26);
  const rl = bits(w, 25, 25);
  const order = aq && rl ? '.aqrl' : aq ? '.aq' : rl ? '.rl' : '';
  const mn = `${base}.${f3 === 2 ? 'w' : 'd'}${order}`;
  if (f5 === 0x02) return rs2 === 0 ? op(mn, `${x(rd)},(${x(rs1)})`) : unknown32(w);
  return op(mn, `${x(rd)},${x(rs2)},(${x(rs1)})`);
}

function opFp(w: number, rm: number, f7: number, rd: number, rs1: number, rs2: number): string {
  const x = (r: number): string => XREG[r];
  const f = (r: number): string => FREG[r];
  const fmt = f7 & 3;
  if (fmt > 1) return unknown32(w);
  const t = fmt === 0 ? 's' : 'd';
  switch (f7 >> 2) {
    case 0x00: return op(`fadd.${t}`, withRm(`${f(rd)},${f(rs1)},${f(rs2)}`, rm));
    case 0x01: return op(`fsub.${t}`, withRm(`${f(rd)},${f(rs1)},${f(rs2)}`, rm));
    case 0x02: return op(`fmul.${t}`, withRm(`${f(rd)},${f(rs1)},${f(rs2)}`, rm));
    case 0x03: return op(`fdiv.${t}`, withRm(`${f(rd)},${f(rs1)},${f(rs2)}`, rm));
    case 0x0b: return rs2 === 0 ? op(`fsqrt.${t}`, withRm(`${f(rd)},${f(rs1)}`, rm)) : unknown32(w);
    case 0x04: {
      if (rm > 2) return unknown32(w);
      if (rs1 === rs2) return op(`${['fmv', 'fneg', 'fabs'][rm]}.${t}`, `${f(rd)},${f(rs1)}`);
      return op(`${['fsgnj', 'fsgnjn', 'fsgnjx'][rm]}.${t}`, `${f(rd)},${f(rs1)},${f(rs2)}`);
    }
    case 0x05:
      if (rm > 1) return unknown32(w);
      return op(`${rm === 0 ? 'fmin' : 'fmax'}.${t}`, `${f(rd)},${f(rs1)},${f(rs2)}`);
    case 0x08:
      // FCVT.S.D (fmt s, rs2 = 1) and FCVT.D.S (fmt d, rs2 = 0).
      if (fmt === 0 && rs2 === 1) return op('fcvt.s.d', withRm(`${f(rd)},${f(rs1)}`, rm));
      // Exact conversions (FCVT.D.S, FCVT.D.W[U]): objdump 2.40 accepts only rm = 0 (what the
      // assembler emits) and prints no rounding mode; the CPU still checks the field (fpu.ts).
      if (fmt === 1 && rs2 === 0) return rm === 0 ? op('fcvt.d.s', `${f(rd)},${f(rs1)}`) : unknown32(w);
      return unknown32(w);
    case 0x14:
      if (rm > 2) return unknown32(w);
      return op(`${['fle', 'flt', 'feq'][rm]}.${t}`, `${x(rd)},${f(rs1)},${f(rs2)}`);
    case 0x18:
      if (rs2 > 3) return unknown32(w);
      return op(`fcvt.${['w', 'wu', 'l', 'lu'][rs2]}.${t}`, withRm(`${x(rd)},${f(rs1)}`, rm));
    case 0x1a:
      if (rs2 > 3) return unknown32(w);
      if (fmt === 1 && rs2 < 2) return rm === 0 ? op(`fcvt.d.${['w', 'wu'][rs2]}`, `${f(rd)},${x(rs1)}`) : unknown32(w);
      return op(`fcvt.${t}.${['w', 'wu', 'l', 'lu'][rs2]}`, withRm(`${f(rd)},${x(rs1)}`, rm));
    case 0x1c:
      if (rs2 !== 0) return unknown32(w);
      if (rm === 0) return op(fmt === 0 ? 'fmv.x.w' : 'fmv.x.d', `${x(rd)},${f(rs1)}`);
      if (rm === 1) return op(`fclass.${t}`, `${x(rd)},${f(rs1)}`);
      return unknown32(w);
    case 0x1e:
      if (rs2 !== 0 || rm !== 0) return unknown32(w);
      return op(fmt === 0 ? 'fmv.w.x' : 'fmv.d.x', `${f(rd)},${x(rs1)}`);
  }
  return unknown32(w);
}

// ---- RV64C: a 16-bit instruction to its 32-bit equivalent (unprivileged spec 16.8) ----

/**
 * The compressed HINTs (unprivileged spec 16.7, table 16.3: rd = x0, or a zero shift or
 * immediate) have no 32-bit equivalent objdump would print the same way: it names them by
 * their compressed mnemonic. Returns undefined for every other instruction.
 */
function compressedHint(h: number, pc: bigint): string | undefined {
  const f3 = bits(h, 15, 13);
  const rd = bits(h, 11, 7);
  const rs2 = bits(h, 6, 2);
  const imm6 = sext((bits(h, 12, 12) << 5) | bits(h, 6, 2), 6);
  const shamt = (bits(h, 12, 12) << 5) | bits(h, 6, 2);
  const x = (r: number): string => XREG[r];
  void pc;
  switch (h & 3) {
    case 1:
      if (f3 === 0 && rd === 0 && imm6 !== 0) return op('c.nop', String(imm6));
      if (f3 === 0 && rd !== 0 && imm6 === 0) return op('add', `${x(rd)},${x(rd)},0`);
      if (f3 === 2 && rd === 0) return op('c.li', `zero,${imm6}`);
      if (f3 === 3 && rd === 2 && bits(h, 12, 12) === 0 && bits(h, 6, 2) === 0) return op('add', 'sp,sp,0');
      if (f3 === 3 && rd === 0 && imm6 !== 0) return op('c.lui', `zero,0x${(imm6 & 0xfffff).toString(16)}`);
      if (f3 === 4 && bits(h, 11, 10) < 2 && shamt === 0) {
        return op(bits(h, 11, 10) === 0 ? 'c.srli64' : 'c.srai64', x(8 + bits(h, 9, 7)));
      }
      return undefined;
    case 2:
      if (f3 === 0 && shamt === 0) return op('c.slli64', x(rd));
      if (f3 === 0 && rd === 0) return op('c.slli', `zero,0x${shamt.toString(16)}`);
      if (f3 === 4 && rd === 0 && rs2 !== 0) {
        return op(bits(h, 12, 12) === 0 ? 'c.mv' : 'c.add', `zero,${x(rs2)}`);
      }
      return undefined;
  }
  return undefined;
}

function encI(opc: number, rd: number, f3: number, rs1: number, imm: number): number {
  return ((imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | opc) >>> 0;
}
function encS(opc: number, f3: number, rs1: number, rs2: number, imm: number): number {
  return (((imm >> 5) & 0x7f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (imm & 0x1f) << 7 | opc) >>> 0;
}
function encR(opc: number, f7: number, rd: number, f3: number, rs1: number, rs2: number): number {
  return (f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | opc) >>> 0;
}
function encB(f3: number, rs1: number, rs2: number, off: number): number {
  return ((((off >> 12) & 1) << 31) | (((off >> 5) & 0x3f) << 25) | rs2 << 20 | rs1 << 15 | f3 << 12 |
    (((off >> 1) & 0xf) << 8) | (((off >> 11) & 1) << 7) | 0x63) >>> 0;
}
function encJ(rd: number, off: number): number {
  return ((((off >> 20) & 1) << 31) | (((off >> 1) & 0x3ff) << 21) | (((off >> 11) & 1) << 20) |
    (((off >> 12) & 0xff) << 12) | rd << 7 | 0x6f) >>> 0;
}

/** The 32-bit instruction a compressed one stands for, or 0 if it is reserved. */
export function expandCompressed(h: number): number {
  const f3 = bits(h, 15, 13);
  const rdp = 8 + bits(h, 4, 2);   // rd' / rs2'
  const rs1p = 8 + bits(h, 9, 7);  // rs1' / rd'
  const rd = bits(h, 11, 7);
  const rs2 = bits(h, 6, 2);
  const imm6 = sext((bits(h, 12, 12) << 5) | bits(h, 6, 2), 6);
  switch (h & 3) {
    case 0: {
      // Loads and stores: uimm[5:3] = 12:10; lw/sw uimm[2] = 6, [6] = 5; ld/sd uimm[7:6] = 6:5.
      const offW = (bits(h, 12, 10) << 3) | (bits(h, 6, 6) << 2) | (bits(h, 5, 5) << 6);
      const offD = (bits(h, 12, 10) << 3) | (bits(h, 6, 5) << 6);
      switch (f3) {
        case 0: {
          const nz = (bits(h, 12, 11) << 4) | (bits(h, 10, 7) << 6) | (bits(h, 6, 6) << 2) | (bits(h, 5, 5) << 3);
          return nz === 0 ? 0 : encI(0x13, rdp, 0, 2, nz);
        }
        case 1: return encI(0x07, rdp, 3, rs1p, offD);
        case 2: return encI(0x03, rdp, 2, rs1p, offW);
        case 3: return encI(0x03, rdp, 3, rs1p, offD);
        case 5: return encS(0x27, 3, rs1p, rdp, offD);
        case 6: return encS(0x23, 2, rs1p, rdp, offW);
        case 7: return encS(0x23, 3, rs1p, rdp, offD);
      }
      return 0;
    }
    case 1:
      switch (f3) {
        case 0: return encI(0x13, rd, 0, rd, imm6);                       // c.addi, c.nop
        case 1: return rd === 0 ? 0 : encI(0x1b, rd, 0, rd, imm6);         // c.addiw
        case 2: return encI(0x13, rd, 0, 0, imm6);                        // c.li
        case 3:
          if (rd === 2) {                                                 // c.addi16sp
            const nz = sext((bits(h, 12, 12) << 9) | (bits(h, 6, 6) << 4) | (bits(h, 5, 5) << 6) |
              (bits(h, 4, 3) << 7) | (bits(h, 2, 2) << 5), 10);
            return nz === 0 ? 0 : encI(0x13, 2, 0, 2, nz);
          }
          if (imm6 === 0) return 0;                                       // c.lui
          return ((imm6 & 0xfffff) << 12 | rd << 7 | 0x37) >>> 0;
        case 4: {
          const f2 = bits(h, 11, 10);
          const shamt = (bits(h, 12, 12) << 5) | bits(h, 6, 2);
          if (f2 === 0) return encI(0x13, rs1p, 5, rs1p, shamt);          // c.srli
          if (f2 === 1) return encI(0x13, rs1p, 5, rs1p, shamt | 0x400);  // c.srai
          if (f2 === 2) return encI(0x13, rs1p, 7, rs1p, imm6);           // c.andi
          const sel = bits(h, 6, 5);
          if (bits(h, 12, 12) === 0) {
            return [encR(0x33, 0x20, rs1p, 0, rs1p, rdp), encR(0x33, 0, rs1p, 4, rs1p, rdp),
              encR(0x33, 0, rs1p, 6, rs1p, rdp), encR(0x33, 0, rs1p, 7, rs1p, rdp)][sel];
          }
          if (sel === 0) return encR(0x3b, 0x20, rs1p, 0, rs1p, rdp);      // c.subw
          if (sel === 1) return encR(0x3b, 0, rs1p, 0, rs1p, rdp);         // c.addw
          return 0;
        }
        case 5: {                                                         // c.j
          const off = sext((bits(h, 12, 12) << 11) | (bits(h, 11, 11) << 4) | (bits(h, 10, 9) << 8) |
            (bits(h, 8, 8) << 10) | (bits(h, 7, 7) << 6) | (bits(h, 6, 6) << 7) | (bits(h, 5, 3) << 1) |
            (bits(h, 2, 2) << 5), 12);
          return encJ(0, off);
        }
        default: {                                                        // c.beqz, c.bnez
          const off = sext((bits(h, 12, 12) << 8) | (bits(h, 11, 10) << 3) | (bits(h, 6, 5) << 6) |
            (bits(h, 4, 3) << 1) | (bits(h, 2, 2) << 5), 9);
          return encB(f3 === 6 ? 0 : 1, rs1p, 0, off);
        }
      }
    case 2:
      switch (f3) {
        case 0: return encI(0x13, rd, 1, rd, (bits(h, 12, 12) << 5) | bits(h, 6, 2)); // c.slli
        case 1:                                                          // c.fldsp
          return encI(0x07, rd, 3, 2, (bits(h, 12, 12) << 5) | (bits(h, 6, 5) << 3) | (bits(h, 4, 2) << 6));
        case 2:                                                          // c.lwsp
          if (rd === 0) return 0;
          return encI(0x03, rd, 2, 2, (bits(h, 12, 12) << 5) | (bits(h, 6, 4) << 2) | (bits(h, 3, 2) << 6));
        case 3:                                                          // c.ldsp
          if (rd === 0) return 0;
          return encI(0x03, rd, 3, 2, (bits(h, 12, 12) << 5) | (bits(h, 6, 5) << 3) | (bits(h, 4, 2) << 6));
        case 4:
          if (bits(h, 12, 12) === 0) {
            if (rs2 === 0) return rd === 0 ? 0 : encI(0x67, 0, 0, rd, 0);   // c.jr
            return encI(0x13, rd, 0, rs2, 0);                              // c.mv (as objdump: mv)
          }
          if (rs2 === 0) return rd === 0 ? 0x00100073 : encI(0x67, 1, 0, rd, 0); // c.ebreak, c.jalr
          return encR(0x33, 0, rd, 0, rd, rs2);                            // c.add
        case 5: return encS(0x27, 3, 2, rs2, (bits(h, 12, 10) << 3) | (bits(h, 9, 7) << 6)); // c.fsdsp
        case 6: return encS(0x23, 2, 2, rs2, (bits(h, 12, 9) << 2) | (bits(h, 8, 7) << 6));  // c.swsp
        case 7: return encS(0x23, 3, 2, rs2, (bits(h, 12, 10) << 3) | (bits(h, 9, 7) << 6)); // c.sdsp
      }
  }
  return 0;
}
