/**
 * The fuzz harness image: a flat 64 KiB raw image the host builds for every input, loaded with
 * Vm.load(bytes, name, base) and entered at its first byte. It gives a random instruction stream
 * the best chance to run on: a trap handler that skips the faulting instruction (by its length,
 * bits 1:0 of its first halfword, unprivileged spec 1.5) and restarts the stream when the pc has
 * left the code area, and registers preloaded with pointers the generators chose.
 *
 * ```
 * base + 0x0000  prologue: trap vector, FS on, (pv: shared page and callbacks), x1..x31 from the pool
 * base + 0x0800  trap handler (M, S or pv flavour)
 * base + 0x1000  pv iret frame (x1..x31 at 8*n, pc at 256: docs/pv-abi.md "iret")
 * base + 0x1400  the handler's run count (u64)
 * base + 0x2000  pv shared info page
 * base + 0x3000  pool: x0..x31 initial values, then constants the generated code loads via s9
 * base + 0x4000  code: the input's instructions (CODE_BYTES)
 * base + 0x8000  data: the input's data (page tables, descriptors, buffers; DATA_BYTES)
 * ```
 *
 * The handler counts traps in s10; generated (non-random) code counts its successes in s11 and
 * addresses its constants through s9 = pool + POOL_CONST. Random streams may clobber all three;
 * the counts are used only by the targets that generate structured code.
 */
import { Code, X, addi, andi, auipc, beq, bne, csrrs, csrrw, ecall, jal, ld, lhu, mret, sd, sret, srli, sub } from './asm.js';

export const IMAGE_BYTES = 0x1_0000;
export const HANDLER_OFF = 0x800;
export const FRAME_OFF = 0x1000;
/**
 * The handler also counts its runs in memory here (after the frame), where random code rarely
 * reaches (its pointers aim at the data area): a register count (s10) does not survive a random
 * stream that writes s10.
 */
export const TRAP_COUNT_OFF = 0x1400;
export const SHARED_OFF = 0x2000;
export const POOL_OFF = 0x3000;
/** Where the constants start in the pool (after the 32 initial register values). */
export const POOL_CONST = 32 * 8;
/** Constants addressable from s9 with a 12-bit signed offset. */
export const POOL_CONSTS = (2048 - 8) / 8;
export const CODE_OFF = 0x4000;
export const CODE_BYTES = 0x4000;
export const DATA_OFF = 0x8000;
export const DATA_BYTES = 0x8000;

/** The hvlab PV extension (docs/pv-abi.md): its EID and the functions the harness uses. */
export const PV_EID = 0x0848_4C56n;
export const PV_FID_SET_CALLBACKS = 7;
export const PV_FID_IRET = 8;
export const PV_FID_SHARED_INFO = 9;

/* CSR numbers, privileged spec tables 2.2-2.5. */
export const CSR = {
  sstatus: 0x100, stvec: 0x105, sscratch: 0x140, sepc: 0x141, scause: 0x142, satp: 0x180,
  vsstatus: 0x200, vsatp: 0x280, hstatus: 0x600, hgatp: 0x680,
  mstatus: 0x300, mtvec: 0x305, mepc: 0x341, mcause: 0x342,
} as const;
/** mstatus/sstatus.FS = Initial (privileged spec 3.1.6.6), so FP instructions do something. */
const FS_INITIAL_BIT = 13;

/** Which privilege the harness starts in and therefore which handler it needs. */
export type Flavour = 'm' | 's' | 'pv';

/** Load addresses: firmware none runs from RAM's start, a kernel under an SBI from 2 MiB up. */
export function imageBase(flavour: Flavour): bigint {
  return flavour === 'm' ? 0x8000_0000n : 0x8020_0000n;
}

/**
 * rd = the image's base + `target`, pc-relatively (AUIPC + ADDI, unprivileged spec 2.4):
 * `here` is the image offset where code `c` starts.
 */
function la(c: Code, here: number, rd: number, target: number): void {
  const delta = target - (here + c.here);
  const hi = (delta + 0x800) >> 12;
  c.emit(auipc(rd, hi), addi(rd, rd, delta - (hi << 12)));
}

function prologue(flavour: Flavour): Code {
  const c = new Code();
  c.emit(auipc(X.t0, 0)); // t0 = base
  c.emit(addi(X.t1, X.t0, HANDLER_OFF - 1), addi(X.t1, X.t1, 1)); // 0x800 exceeds addi's signed 12 bits
  if (flavour === 'pv') {
    // shared_info(base + SHARED_OFF), then set_callbacks(handler, handler): the guest kernel
    // runs in U-mode and its traps are bounced only to a handler it registered.
    // t2 = base + POOL_OFF (beyond addi's reach in one step).
    la(c, 0, X.t2, POOL_OFF);
    c.emit(ld(X.a7, X.t2, 0));
    la(c, 0, X.a0, SHARED_OFF);
    c.emit(addi(X.a6, X.zero, PV_FID_SHARED_INFO), ecall());
    c.emit(addi(X.a0, X.t1, 0), addi(X.a1, X.t1, 0), addi(X.a6, X.zero, PV_FID_SET_CALLBACKS), ecall());
  } else {
    const tvec = flavour === 'm' ? CSR.mtvec : CSR.stvec;
    const status = flavour === 'm' ? CSR.mstatus : CSR.sstatus;
    c.emit(csrrw(X.zero, tvec, X.t1));
    c.emit(addi(X.t2, X.zero, 1), iSlli(X.t2, X.t2, FS_INITIAL_BIT));
    c.emit(csrrs(X.zero, status, X.t2));
  }
  // x1..x31 from the pool; t0 (the pool's base register) last.
  la(c, 0, X.t0, POOL_OFF);
  for (let r = 1; r < 32; r++) if (r !== X.t0) c.emit(ld(r, X.t0, r * 8));
  // Jump to the code: pc-relative from here.
  const at = c.here;
  c.emit(ld(X.t0, X.t0, X.t0 * 8));
  c.emit(jal(X.zero, CODE_OFF - (at + 4)));
  if (c.here > HANDLER_OFF) throw new Error('harness: prologue overflows');
  return c;
}
/** x0's pool slot is never loaded: it holds the PV EID for the pv prologue and handler. */
const POOL_SLOT_PV_EID = 0;
/** Constants generators may use. */
export const POOL_USABLE = POOL_CONSTS;

const iSlli = (rd: number, rs1: number, sh: number) => (((sh & 63) << 20) | (rs1 << 15) | (1 << 12) | (rd << 7) | 0x13) >>> 0;

/**
 * The next pc after a trap at epc (in register `epc`), into `epc`: the code area's start if epc
 * is outside it, else epc + the instruction's length. Uses t3, t4, t5; `codeReg` gets the code
 * area's start. `here` is the byte offset in the image where this sequence begins.
 */
function nextPc(c: Code, here: number, epc: number): void {
  la(c, here, X.t5, CODE_OFF);
  c.emit(sub(X.t4, epc, X.t5));
  c.emit(srli(X.t4, X.t4, 14)); // CODE_BYTES = 1 << 14: nonzero when outside
  const toRestart = c.here;
  c.emit(0);
  c.emit(lhu(X.t4, epc, 0));
  c.emit(andi(X.t4, X.t4, 3));
  c.emit(addi(epc, epc, 2));
  c.emit(addi(X.t4, X.t4, -3));
  c.emit(bne(X.t4, X.zero, 12));
  c.emit(addi(epc, epc, 2));
  c.emit(jal(X.zero, 8));
  c.patch(toRestart, bne(X.t4, X.zero, c.here - toRestart));
  c.emit(addi(epc, X.t5, 0));
}

function handler(flavour: Flavour): Code {
  const c = new Code();
  if (flavour === 'pv') {
    // Bounced here in guest-kernel mode with cause/epc/tval in the shared page. Save x1..x30
    // in the frame (x31 is the frame pointer and is lost), pick the resume pc, iret to kernel.
    la(c, HANDLER_OFF, X.t6, FRAME_OFF);
    c.emit(addi(X.s10, X.s10, 1));
    for (let r = 1; r <= 30; r++) c.emit(sd(r, X.t6, r * 8));
    // t3 = epc from the shared page (SHARED_OFF - FRAME_OFF = 0x1000 beyond the frame).
    la(c, HANDLER_OFF, X.t3, SHARED_OFF);
    c.emit(ld(X.t3, X.t3, 32));
    nextPc(c, HANDLER_OFF, X.t3);
    c.emit(sd(X.t3, X.t6, 256));
    c.emit(ld(X.t4, X.t6, TRAP_COUNT_OFF - FRAME_OFF), addi(X.t4, X.t4, 1), sd(X.t4, X.t6, TRAP_COUNT_OFF - FRAME_OFF));
    c.emit(addi(X.a0, X.t6, 0), addi(X.a1, X.zero, 1));
    // a7 = the PV EID from the pool.
    la(c, HANDLER_OFF, X.a7, POOL_OFF);
    c.emit(ld(X.a7, X.a7, POOL_SLOT_PV_EID * 8));
    c.emit(addi(X.a6, X.zero, PV_FID_IRET), ecall());
    // iret refused the frame: start over at the code area.
    c.emit(jalr0(X.t5));
  } else {
    const epcCsr = flavour === 'm' ? CSR.mepc : CSR.sepc;
    c.emit(csrrs(X.t3, epcCsr, X.zero));
    nextPc(c, HANDLER_OFF, X.t3);
    c.emit(csrrw(X.zero, epcCsr, X.t3));
    c.emit(addi(X.s10, X.s10, 1));
    la(c, HANDLER_OFF, X.t4, TRAP_COUNT_OFF);
    c.emit(ld(X.t5, X.t4, 0), addi(X.t5, X.t5, 1), sd(X.t5, X.t4, 0));
    c.emit(flavour === 'm' ? mret() : sret());
  }
  if (HANDLER_OFF + c.here > FRAME_OFF) throw new Error('harness: handler overflows');
  return c;
}
const jalr0 = (rs1: number) => ((rs1 << 15) | 0x67) >>> 0;

/** What a generator fills in; the harness does the rest. */
export interface HarnessInput {
  /** x0..x31 as the code starts (x0 ignored). Unset registers are 0. */
  regs?: bigint[];
  /** Constants for the code, addressed as s9 + 8*i (s9 is set to their start unless regs[25] says otherwise). */
  consts?: bigint[];
  /** Up to CODE_BYTES of code. */
  code: Uint8Array;
  /** Up to DATA_BYTES of data. */
  data?: Uint8Array;
}

export function buildImage(flavour: Flavour, input: HarnessInput): Uint8Array {
  const img = new Uint8Array(IMAGE_BYTES);
  const dv = new DataView(img.buffer);
  img.set(prologue(flavour).bytes(), 0);
  img.set(handler(flavour).bytes(), HANDLER_OFF);
  const base = imageBase(flavour);
  const regs = input.regs ?? [];
  for (let r = 1; r < 32; r++) dv.setBigUint64(POOL_OFF + r * 8, BigInt.asUintN(64, regs[r] ?? 0n), true);
  if (regs[X.s9] === undefined) dv.setBigUint64(POOL_OFF + X.s9 * 8, base + BigInt(POOL_OFF + POOL_CONST), true);
  const consts = input.consts ?? [];
  if (consts.length > POOL_USABLE) throw new Error('harness: too many constants');
  consts.forEach((v, i) => dv.setBigUint64(POOL_OFF + POOL_CONST + i * 8, BigInt.asUintN(64, v), true));
  dv.setBigUint64(POOL_OFF + POOL_SLOT_PV_EID * 8, PV_EID, true);
  img.set(input.code.subarray(0, CODE_BYTES), CODE_OFF);
  if (input.data) img.set(input.data.subarray(0, DATA_BYTES), DATA_OFF);
  return img;
}


/** The prologue's length in instructions: a stream that retires no more never got going. */
export const prologueInstructions = (flavour: Flavour): number => prologue(flavour).words.length;

/** The handler's length in instructions (an upper bound on what one trap retires in it). */
export const handlerInstructions = (flavour: Flavour): number => handler(flavour).words.length;
