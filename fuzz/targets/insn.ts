/**
 * Target `insn` (issue 17 item 1a): random and opcode-biased RV64GC instruction streams in every
 * mode. The code area (CODE_BYTES) is filled with one of: uniform random bytes, opcode-biased
 * 32-bit instructions (every major opcode of the unprivileged spec's table 24.1 with random
 * fields, CSR numbers drawn from the machine's real CSRs, the privileged and hypervisor
 * instructions), compressed halfwords, or a mix word by word. Registers start as pointers into
 * the data area, the code, RAM's edges and the device regions, or edge values.
 *
 * Reach: the stream itself retired at least 16 instructions: what retired, less the prologue and
 * the handler's length times its runs (counted by the handler in memory), so an input that only
 * ever trapped does not count.
 */
import { CODE_BYTES, CODE_OFF, DATA_BYTES, DATA_OFF, handlerInstructions, imageBase, prologueInstructions } from '../harness.js';
import { OP, bType, iType, jType, rType, sType, uType } from '../asm.js';
import { ALL_MODES, flavourOf, type MachineCase, type Setup } from '../engine.js';
import type { Rng } from '../rng.js';
import type { MachineTarget } from '../campaign.js';

/** CSRs the core implements or that sit next to them (privileged spec tables 2.2-2.6). */
const CSRS = [
  0x001, 0x002, 0x003, 0x100, 0x104, 0x105, 0x106, 0x10A, 0x140, 0x141, 0x142, 0x143, 0x144, 0x14D, 0x180,
  0x200, 0x204, 0x205, 0x240, 0x241, 0x242, 0x243, 0x244, 0x24D, 0x280,
  0x600, 0x602, 0x603, 0x604, 0x606, 0x607, 0x60A, 0x643, 0x644, 0x645, 0x64A, 0x680, 0xE12,
  0x300, 0x301, 0x302, 0x303, 0x304, 0x305, 0x306, 0x30A, 0x320, 0x323, 0x340, 0x341, 0x342, 0x343,
  0x344, 0x34A, 0x34B, 0x3A0, 0x3B0, 0x7A0, 0xB00, 0xB02, 0xC00, 0xC01, 0xC02, 0xC03, 0xF11, 0xF14,
];

/** SYSTEM instructions with fixed encodings (privileged spec table 2.2 and 8.3). */
const PRIV_WORDS = [
  0x0000_0073, // ecall
  0x0010_0073, // ebreak
  0x1020_0073, // sret
  0x3020_0073, // mret
  0x1050_0073, // wfi
];

export const MMIO_BASES = [0x0010_0000n, 0x0200_0000n, 0x0C00_0000n, 0x1000_0000n, 0x1000_1000n, 0x1000_2000n, 0x1000_3000n, 0x1000_9000n, 0x1000n];

/** One opcode-biased 32-bit instruction. */
export function biasedWord(r: Rng): number {
  const rd = r.below(32), rs1 = r.below(32), rs2 = r.below(32), f3 = r.below(8);
  const imm = r.chance(0.7) ? r.below(64) * 8 - 256 : r.below(4096) - 2048;
  switch (r.below(20)) {
    case 0: return iType(OP.LOAD, rd, r.pick([0, 1, 2, 3, 4, 5, 6, 7]), rs1, imm);
    case 1: return sType(OP.STORE, r.below(4) + (r.chance(0.05) ? 4 : 0), rs1, rs2, imm);
    case 2: return iType(OP.OP_IMM, rd, f3, rs1, r.below(4096));
    case 3: return iType(OP.OP_IMM_32, rd, f3, rs1, r.below(4096));
    case 4: return rType(OP.OP, rd, f3, rs1, rs2, r.pick([0, 0x20, 1, r.below(128)]));
    case 5: return rType(OP.OP_32, rd, f3, rs1, rs2, r.pick([0, 0x20, 1, r.below(128)]));
    case 6: return uType(r.chance(0.5) ? OP.LUI : OP.AUIPC, rd, r.u32());
    case 7: return bType(r.pick([0, 1, 4, 5, 6, 7, 2]), rs1, rs2, (r.below(64) - 32) * 2);
    case 8: return jType(r.chance(0.5) ? 0 : rd, (r.below(256) - 128) * 2);
    case 9: return iType(OP.JALR, rd, 0, rs1, imm);
    case 10: { // AMOs and LR/SC: funct5 of the A extension, aq/rl random
      const f5 = r.pick([0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18, 0x1C, r.below(32)]);
      return rType(OP.AMO, rd, r.pick([2, 3, r.below(8)]), rs1, rs2, (f5 << 2) | r.below(4));
    }
    case 11: { // CSR instructions on real CSR numbers
      const csr = r.chance(0.9) ? r.pick(CSRS) : r.below(4096);
      return iType(OP.SYSTEM, rd, r.pick([1, 2, 3, 5, 6, 7]), rs1, csr);
    }
    case 12: { // privileged: xRET, WFI, fences, hypervisor loads/stores
      switch (r.below(5)) {
        case 0: return r.pick(PRIV_WORDS);
        case 1: return rType(OP.SYSTEM, 0, 0, rs1, rs2, 0x09); // sfence.vma
        case 2: return rType(OP.SYSTEM, 0, 0, rs1, rs2, r.pick([0x11, 0x31])); // hfence.vvma / gvma
        case 3: return rType(OP.SYSTEM, rd, 4, rs1, r.pick([0, 1, 3]), r.pick([0x30, 0x32, 0x34, 0x36])); // hlv(x)
        default: return rType(OP.SYSTEM, 0, 4, rs1, rs2, r.pick([0x31, 0x33, 0x35, 0x37])); // hsv
      }
    }
    case 13: return iType(OP.LOAD_FP, rd, r.pick([2, 3, r.below(8)]), rs1, imm);
    case 14: return sType(OP.STORE_FP, r.pick([2, 3, r.below(8)]), rs1, rs2, imm);
    case 15: return (r.below(32) << 27 | r.below(4) << 25 | rType(r.pick([OP.MADD, OP.MSUB, OP.NMSUB, OP.NMADD]), rd, f3, rs1, rs2, 0)) >>> 0;
    case 16: case 17: return rType(OP.OP_FP, rd, f3, rs1, rs2, r.below(128));
    case 18: return iType(OP.MISC_MEM, rd, r.pick([0, 1]), rs1, r.below(4096));
    default: return r.u32();
  }
}

/** One compressed halfword (bits 1:0 != 11). */
export const compressedHalf = (r: Rng) => (r.below(0x4000) << 2) | r.below(3);

export function registerValue(r: Rng, base: bigint): bigint {
  switch (r.below(6)) {
    case 0: case 1: return base + BigInt(DATA_OFF + r.below(DATA_BYTES / 8) * 8);
    case 2: return base + BigInt(CODE_OFF + r.below(CODE_BYTES / 2) * 2);
    case 3: return r.pick(MMIO_BASES) + BigInt(r.below(0x100) * 4);
    case 4: return r.pick([0x8000_0000n, 0x8100_0000n - 8n, 0x7FFF_FFF8n, 0xFFFF_FFFF_FFFF_F000n, 0x3F_FFFF_F000n]);
    default: return r.interesting64();
  }
}

/** Instructions of its own an input must retire to count as reaching the interpreter. */
const STREAM_MIN = 16n;

export function insnCase(r: Rng, setup: Setup): MachineCase {
  const base = imageBase(flavourOf(setup));
  const code = new Uint8Array(CODE_BYTES);
  const dv = new DataView(code.buffer);
  const style = r.below(4); // 0 random bytes, 1 biased, 2 compressed, 3 mixed
  for (let off = 0; off < CODE_BYTES;) {
    // A 32-bit word no longer fits in the last halfword: fill it with a compressed one.
    const s = off + 4 > CODE_BYTES ? 2 : style === 3 ? r.below(3) : style;
    if (s === 0) { dv.setUint32(off, r.u32(), true); off += 4; }
    else if (s === 1) { dv.setUint32(off, biasedWord(r), true); off += 4; }
    else { dv.setUint16(off, compressedHalf(r), true); off += 2; }
  }
  const regs = [0n];
  for (let i = 1; i < 32; i++) regs.push(registerValue(r, base));
  return {
    input: { regs, code, data: r.bytes(DATA_BYTES) },
    budget: 20_000,
    reached: (o) => {
      const f = flavourOf(setup);
      const overhead = BigInt(prologueInstructions(f)) + o.handlerRuns * BigInt(handlerInstructions(f));
      return o.retired >= overhead + STREAM_MIN;
    },
  };
}

export const insnTarget: MachineTarget = {
  name: 'insn',
  reach: 'the stream itself retired >= 16 instructions (retired - prologue - handler runs x handler length)',
  setups: ALL_MODES,
  generate: insnCase,
};
