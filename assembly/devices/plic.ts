// The platform-level interrupt controller of the QEMU `virt` machine at 0x0C00_0000 (RISC-V
// PLIC specification v1.0.0). Two contexts for hart 0: context 0 drives MEIP, context 1 SEIP.
// Sources are level-triggered: a source whose line is high becomes pending unless it is being
// serviced (claimed and not yet completed); after completion a line still high pends again.
//
//   0x000000 + 4*src        priority (0 = never interrupts)
//   0x001000 + 4*word       pending bits (read-only)
//   0x002000 + 0x80*ctx     enable bits
//   0x200000 + 0x1000*ctx   priority threshold; +4: claim (read) / complete (write)

import { Counter } from '../counter-ids';
import { count, hart } from '../state';
import { MIP_MEIP, MIP_SEIP } from '../riscv/bits';

export const PLIC_SOURCES: u32 = 96; // source 0 is reserved; QEMU's virt declares ndev = 95
export const PLIC_CONTEXTS: u32 = 2;
const WORDS: u32 = PLIC_SOURCES / 32;
const PRIORITY_MASK: u32 = 7;
const PENDING_BASE: u32 = 0x1000;
const ENABLE_BASE: u32 = 0x2000;
const ENABLE_STRIDE: u32 = 0x80;
const CONTEXT_BASE: u32 = 0x200000;
const CONTEXT_STRIDE: u32 = 0x1000;

// Arrays of u32 in static memory: priority[96], line/pending/claimed bitmaps, enable[ctx][3],
// threshold[ctx].
const PRIORITY: usize = memory.data(<i32>PLIC_SOURCES * 4, 16);
const LINE: usize = memory.data(<i32>WORDS * 4, 16);
const PENDING: usize = memory.data(<i32>WORDS * 4, 16);
const CLAIMED: usize = memory.data(<i32>WORDS * 4, 16);
const ENABLE: usize = memory.data(<i32>(PLIC_CONTEXTS * WORDS) * 4, 16);
const THRESHOLD: usize = memory.data(<i32>PLIC_CONTEXTS * 4, 16);

@inline function bitGet(base: usize, src: u32): bool {
  return (load<u32>(base + (<usize>(src >> 5) << 2)) & (1 << (src & 31))) != 0;
}
@inline function bitSet(base: usize, src: u32, on: bool): void {
  const p = base + (<usize>(src >> 5) << 2);
  const m: u32 = 1 << (src & 31);
  store<u32>(p, on ? load<u32>(p) | m : load<u32>(p) & ~m);
}

export function plicReset(): void {
  memory.fill(PRIORITY, 0, PLIC_SOURCES * 4);
  memory.fill(LINE, 0, WORDS * 4);
  memory.fill(PENDING, 0, WORDS * 4);
  memory.fill(CLAIMED, 0, WORDS * 4);
  memory.fill(ENABLE, 0, PLIC_CONTEXTS * WORDS * 4);
  memory.fill(THRESHOLD, 0, PLIC_CONTEXTS * 4);
}

/** A device sets the level of its interrupt line. */
export function plicSetLine(src: u32, level: bool): void {
  bitSet(LINE, src, level);
  // While not in service the pending bit follows the line, as QEMU's virt PLIC does, so a
  // device that drops its line before the claim raises no spurious interrupt.
  if (!bitGet(CLAIMED, src)) bitSet(PENDING, src, level);
}

/** The best pending, enabled source above the threshold for a context, or 0. */
function best(ctx: u32): u32 {
  let bestSrc: u32 = 0;
  let bestPrio = load<u32>(THRESHOLD + (<usize>ctx << 2));
  for (let w: u32 = 0; w < WORDS; w++) {
    let bits = load<u32>(PENDING + (<usize>w << 2)) &
      load<u32>(ENABLE + (<usize>(ctx * WORDS + w) << 2));
    while (bits != 0) {
      const src = (w << 5) + <u32>ctz(bits);
      bits &= bits - 1;
      const prio = load<u32>(PRIORITY + (<usize>src << 2));
      if (prio > bestPrio) { bestPrio = prio; bestSrc = src; }
    }
  }
  return bestSrc;
}

/** The external-interrupt bits (MEIP, SEIP) that the PLIC drives into mip. */
export function plicMip(): u64 {
  let v: u64 = 0;
  if (best(0) != 0) v |= MIP_MEIP;
  if (best(1) != 0) v |= MIP_SEIP;
  return v;
}

export function plicRead(off: u32): u32 {
  count(Counter.MMIO_PLIC_READS);
  if (off < PENDING_BASE) {
    const src = off >> 2;
    return src < PLIC_SOURCES ? load<u32>(PRIORITY + (<usize>src << 2)) : 0;
  }
  if (off >= PENDING_BASE && off < PENDING_BASE + WORDS * 4) {
    return load<u32>(PENDING + <usize>(off - PENDING_BASE));
  }
  if (off >= ENABLE_BASE && off < ENABLE_BASE + PLIC_CONTEXTS * ENABLE_STRIDE) {
    const ctx = (off - ENABLE_BASE) / ENABLE_STRIDE;
    const w = ((off - ENABLE_BASE) % ENABLE_STRIDE) >> 2;
    return w < WORDS ? load<u32>(ENABLE + (<usize>(ctx * WORDS + w) << 2)) : 0;
  }
  if (off >= CONTEXT_BASE && off < CONTEXT_BASE + PLIC_CONTEXTS * CONTEXT_STRIDE) {
    const ctx = (off - CONTEXT_BASE) / CONTEXT_STRIDE;
    const reg = (off - CONTEXT_BASE) % CONTEXT_STRIDE;
    if (reg == 0) return load<u32>(THRESHOLD + (<usize>ctx << 2));
    if (reg == 4) {
      // Claim (PLIC spec section 9): the source stops pending and is in service.
      const src = best(ctx);
      if (src != 0) {
        bitSet(PENDING, src, false);
        bitSet(CLAIMED, src, true);
      }
      return src;
    }
  }
  return 0;
}

export function plicWrite(off: u32, v: u32): void {
  count(Counter.MMIO_PLIC_WRITES);
  if (off < PENDING_BASE) {
    const src = off >> 2;
    if (src != 0 && src < PLIC_SOURCES) store<u32>(PRIORITY + (<usize>src << 2), v & PRIORITY_MASK);
  } else if (off >= ENABLE_BASE && off < ENABLE_BASE + PLIC_CONTEXTS * ENABLE_STRIDE) {
    const ctx = (off - ENABLE_BASE) / ENABLE_STRIDE;
    const w = ((off - ENABLE_BASE) % ENABLE_STRIDE) >> 2;
    // Source 0 does not exist, so its enable bit is hard-wired to zero.
    if (w < WORDS) store<u32>(ENABLE + (<usize>(ctx * WORDS + w) << 2), w == 0 ? v & ~1 : v);
  } else if (off >= CONTEXT_BASE && off < CONTEXT_BASE + PLIC_CONTEXTS * CONTEXT_STRIDE) {
    const ctx = (off - CONTEXT_BASE) / CONTEXT_STRIDE;
    const reg = (off - CONTEXT_BASE) % CONTEXT_STRIDE;
    if (reg == 0) {
      store<u32>(THRESHOLD + (<usize>ctx << 2), v & PRIORITY_MASK);
    } else if (reg == 4 && v != 0 && v < PLIC_SOURCES) {
      // Complete: ignored unless the source is enabled for this context (PLIC spec section 10).
      if (bitGet(ENABLE + (<usize>(ctx * WORDS) << 2), v)) {
        bitSet(CLAIMED, v, false);
        if (bitGet(LINE, v)) bitSet(PENDING, v, true);
      }
    }
  }
  hart.chunkBreak = 1;
}
