// The core-local interruptor of the QEMU `virt` machine at 0x0200_0000 (SiFive CLINT layout):
// msip at 0x0000, mtimecmp at 0x4000, mtime at 0xBFF8, for hart 0. mtime counts at 10 MHz.
//
// Time comes from one of two clocks (Machine.clock):
//   instret: mtime = (instructions retired + instructions skipped while idle) / instrPerTick.
//            Deterministic: the same guest and input give the same output on every run.
//   wall:    mtime follows the host's clock, refreshed at every chunk of execution.

import { Counter } from '../counter-ids';
import { count, hart, machine } from '../state';

export const CLINT_MSIP: u32 = 0x0000;
export const CLINT_MTIMECMP: u32 = 0x4000;
export const CLINT_MTIME: u32 = 0xBFF8;
export const CLOCK_INSTRET: u32 = 0;
export const CLOCK_WALL: u32 = 1;
export const TIMEBASE_HZ: u64 = 10_000_000;

@external("env", "hostTicks")
declare function hostTicks(): f64;

@unmanaged class ClintState {
  msip: u32 = 0;
  mtimecmp: u64 = 0;
}
const c = changetype<ClintState>(memory.data(offsetof<ClintState>(), 16));

export function clintReset(): void {
  c.msip = 0;
  c.mtimecmp = 0xFFFF_FFFF_FFFF_FFFF;
}

/** Refresh the wall clock from the host (clock = wall); call at chunk boundaries. */
export function refreshWallClock(): void {
  if (machine.clock == CLOCK_WALL) machine.wallTicks = <u64>hostTicks();
}

/** The current value of mtime (and of the `time` CSR). */
export function mtime(): u64 {
  if (machine.clock == CLOCK_WALL) return machine.wallTicks + machine.mtimeDelta;
  return (hart.now + hart.chunkDone) / machine.instrPerTick + machine.mtimeDelta;
}

export function clintMsip(): bool { return (c.msip & 1) != 0; }
export function clintMtimecmp(): u64 { return c.mtimecmp; }

/**
 * Instructions to run before mtime reaches `ticks` under the deterministic clock, or
 * u64.MAX_VALUE if it never will. A time already reached is also "never": its interrupt line
 * is already high, so reaching it again can change nothing.
 */
export function instructionsUntil(ticks: u64): u64 {
  const NEVER: u64 = 0xFFFF_FFFF_FFFF_FFFF;
  if (ticks == NEVER || ticks < machine.mtimeDelta) return NEVER;
  const t = ticks - machine.mtimeDelta;
  const at = t * machine.instrPerTick;
  if (at / machine.instrPerTick != t) return NEVER; // beyond the end of time
  const nowI = hart.now + hart.chunkDone;
  return at > nowI ? at - nowI : NEVER;
}

/** Advance the deterministic clock while the hart sleeps in WFI. */
export function skipIdle(instructions: u64): void {
  hart.now += instructions;
  count(Counter.IDLE_INSTRUCTIONS, instructions);
}

export function clintRead(off: u32, size: u32): u64 {
  count(Counter.MMIO_CLINT_READS);
  if (off == CLINT_MSIP) return c.msip;
  if (off >= CLINT_MTIMECMP && off + size <= CLINT_MTIMECMP + 8) {
    return c.mtimecmp >> (<u64>(off - CLINT_MTIMECMP) * 8);
  }
  if (off >= CLINT_MTIME && off + size <= CLINT_MTIME + 8) {
    return mtime() >> (<u64>(off - CLINT_MTIME) * 8);
  }
  return 0;
}

/** Merge a write of `size` bytes at byte `shift` into a 64-bit register. */
function merge(old: u64, v: u64, shift: u32, size: u32): u64 {
  const mask = (size == 8 ? 0xFFFF_FFFF_FFFF_FFFF : ((<u64>1 << (<u64>size * 8)) - 1)) << (<u64>shift * 8);
  return (old & ~mask) | ((v << (<u64>shift * 8)) & mask);
}

export function clintWrite(off: u32, size: u32, v: u64): void {
  count(Counter.MMIO_CLINT_WRITES);
  if (off == CLINT_MSIP) {
    c.msip = <u32>v & 1;
  } else if (off >= CLINT_MTIMECMP && off + size <= CLINT_MTIMECMP + 8) {
    c.mtimecmp = merge(c.mtimecmp, v, off - CLINT_MTIMECMP, size);
  } else if (off >= CLINT_MTIME && off + size <= CLINT_MTIME + 8) {
    const target = merge(mtime(), v, off - CLINT_MTIME, size);
    machine.mtimeDelta += target - mtime();
  }
  hart.chunkBreak = 1;
}
