// The SiFive test device of the QEMU `virt` machine at 0x0010_0000 ("sifive,test0"): a 32-bit
// write of 0x5555 passes (powers off), 0x3333 with a code in bits 31:16 fails with that code,
// 0x7777 resets. The run stops and the host turns the result into its exit status.

import { Counter } from '../counter-ids';
import { count, hart, machine, HALT_FAIL, HALT_PASS, HALT_RESET, STOP_HALT } from '../state';

const FINISHER_FAIL: u32 = 0x3333;
const FINISHER_PASS: u32 = 0x5555;
const FINISHER_RESET: u32 = 0x7777;

/** Stop the machine: the guest is done. */
export function halt(kind: u32, code: u64): void {
  machine.stopReason = STOP_HALT;
  machine.haltKind = kind;
  machine.haltCode = code;
  hart.chunkBreak = 1;
}

export function testRead(): u32 {
  count(Counter.MMIO_TEST_READS);
  return 0;
}

export function testWrite(off: u32, v: u32): void {
  count(Counter.MMIO_TEST_WRITES);
  if (off != 0) return;
  const status = v & 0xFFFF;
  if (status == FINISHER_PASS) halt(HALT_PASS, 0);
  else if (status == FINISHER_FAIL) halt(HALT_FAIL, v >> 16);
  else if (status == FINISHER_RESET) halt(HALT_RESET, 0);
}
