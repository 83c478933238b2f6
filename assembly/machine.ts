// The run loop: between chunks of interpretation it samples the devices, takes a pending
// interrupt, sleeps through WFI, and sizes the next chunk so that it ends exactly when the
// next timer event is due. With the deterministic clock this makes every interrupt land on
// the same instruction on every run.

import { Counter } from './counter-ids';
import { FREGS, Hart, hart, machine, MODE_NATIVE, REGS, RESERVATION_NONE, STOP_BUDGET, STOP_CONSOLE, STOP_IDLE,
  COUNTERS } from './state';
import { EXC_NONE } from './riscv/cause';
import { ENVCFG_STCE, MIP_STIP, MIP_SEIP, MIP_SSIP, MIP_VSTIP, MSTATUS_XLEN64, PRV_M, PRV_S } from './riscv/bits';
import { execChunk } from './cpu/exec';
import { mip, pendingInterrupt, updateInterrupts } from './cpu/irq';
import { takeTrap } from './cpu/trap';
import { csrReset } from './cpu/csr';
import { FIRMWARE_BUILTIN } from './cpu/firmware';
import { clintMtimecmp, clintReset, CLOCK_INSTRET, instructionsUntil, mtime, refreshWallClock,
  skipIdle } from './devices/clint';
import { plicReset } from './devices/plic';
import { uartReset } from './devices/uart';
import { txFree, TX_LOW_WATER } from './devices/console';
import { emudiskReset } from './devices/emudisk';
import { virtioPoll, virtioPollWanted } from './virtio/mmio';
import { tlbFlushAll } from './mmu/tlb';
import { vmReset } from './hv/hypervisor';

/** Longest chunk under the wall clock, so timers stay within ~0.1 ms of the host's time. */
const WALL_CHUNK: u64 = 32768;
/** Longest chunk in any case (a u32 budget for the interpreter). */
const MAX_CHUNK: u64 = 1 << 20;
const NEVER: u64 = 0xFFFF_FFFF_FFFF_FFFF;
/**
 * Most interrupts taken back to back at one chunk boundary. Each take enters M, HS or VS with
 * that level's interrupts then masked (an HS exit resumes the guest with its cause cleared or
 * masked), so a boundary needs at most one per level. The bound is reached only by an exit that
 * leaves its own cause deliverable (none does): it keeps such a bug from hanging the host, and
 * what is left over waits for the next boundary.
 */
const MAX_TAKES: i32 = 4;

/** Reset the hart and devices; RAM is left as it is (the host loads the image into it). */
export function reset(entry: u64, dtbAddr: u64): void {
  memory.fill(REGS, 0, 32 * 8);
  memory.fill(FREGS, 0, 32 * 8);
  memory.fill(COUNTERS, 0, <i32>Counter.COUNT * 8);
  memory.fill(changetype<usize>(hart), 0, offsetof<Hart>());
  hart.excCause = EXC_NONE;
  hart.reservation = RESERVATION_NONE;
  hart.pc = entry;
  hart.mstatus = MSTATUS_XLEN64;
  // a0 = hart ID, a1 = device tree (the boot protocol of QEMU virt, OpenSBI and Linux).
  store<u64>(REGS + 10 * 8, 0);
  store<u64>(REGS + 11 * 8, dtbAddr);
  machine.stopReason = STOP_BUDGET;
  machine.haltKind = 0;
  machine.haltCode = 0;
  machine.sbiTimecmp = NEVER;
  machine.mtimeDelta = 0;
  clintReset();
  plicReset();
  uartReset();
  csrReset();
  tlbFlushAll();
  if (machine.firmware == FIRMWARE_BUILTIN || machine.mode != MODE_NATIVE) {
    // What an SBI firmware leaves behind when it enters the kernel in S-mode: every exception
    // the kernel can handle delegated (all but ecall from S, which the firmware serves),
    // the supervisor interrupts delegated, and the counters readable from S and U. With the H
    // extension, as OpenSBI 1.1 (lib/sbi/sbi_hart.c delegate_traps), also what only a
    // hypervisor in HS-mode handles: ecall from VS (10) and causes 20-23 (guest-page faults,
    // virtual instruction), so a kernel that is a hypervisor (guests/hvisor, tests/nest.c) gets
    // its guests' traps (OpenSBI's medeleg on QEMU with H is 0xf0b509).
    hart.priv = PRV_S;
    hart.medeleg = 0xF0B5FF; // causes 0-8, 10, 12, 13, 15, 20-23
    hart.mideleg = MIP_SSIP | MIP_STIP | MIP_SEIP;
    hart.mcounteren = 7;
  } else {
    hart.priv = PRV_M;
  }
  emudiskReset();
  if (machine.mode != MODE_NATIVE) vmReset(entry, dtbAddr);
}

/** Instructions until the next timer event under the deterministic clock (NEVER if none). */
function untilTimer(): u64 {
  let t = instructionsUntil(clintMtimecmp());
  if (machine.firmware == FIRMWARE_BUILTIN && (hart.mipSw & MIP_STIP) == 0) {
    const s = instructionsUntil(machine.sbiTimecmp);
    if (s < t) t = s;
  }
  const c = instructionsUntil(sstcTimecmp());
  return c < t ? c : t;
}

/**
 * The mtime at which Sstc's next supervisor timer line rises (stimecmp, or vstimecmp in host
 * time), or NEVER: the chunk must end there so the interrupt lands on the same instruction.
 */
function sstcTimecmp(): u64 {
  if ((hart.menvcfg & ENVCFG_STCE) == 0) return NEVER;
  let t = (hart.mipHw & MIP_STIP) == 0 ? hart.stimecmp : NEVER;
  if ((hart.henvcfg & ENVCFG_STCE) != 0 && (hart.mipHw & MIP_VSTIP) == 0) {
    // time + htimedelta >= vstimecmp  <=>  time >= vstimecmp - htimedelta (when that is ahead).
    const v = hart.vstimecmp - hart.htimedelta;
    if (v > mtime() && v < t) t = v;
  }
  return t;
}

/**
 * Run up to `budget` instructions. Returns a STOP_* reason; machine.haltKind/haltCode say
 * more for STOP_HALT and STOP_ERROR.
 */
export function run(budget: u64): u32 {
  machine.stopReason = STOP_BUDGET;
  let left = budget;
  while (true) {
    refreshWallClock();
    if (virtioPollWanted()) virtioPoll();
    // Take every interrupt that is deliverable now, not just the first. Taking one can make
    // another deliverable at once: the hypervisor's timer exit (hv/hvm.ts) injects VSTIP
    // through hvip and resumes a guest that has it enabled (in VU, or VS with vsstatus.SIE).
    // An interrupt is taken whenever it is pending and enabled (privileged spec 3.1.9, and
    // 8.4.1 for VS-level ones), so the guest takes it before its next instruction. Taking
    // only the first and then running a chunk left the injected one pending, though enabled,
    // until that chunk ended - up to MAX_CHUNK instructions later, wherever the host had
    // sliced the run - so slicing changed the guest's run (docs/properties.md).
    for (let takes = 0; takes < MAX_TAKES; takes++) {
      updateInterrupts();
      const irq = pendingInterrupt();
      if (irq == 0) break;
      takeTrap(irq, 0, hart.pc);
      if (machine.stopReason != STOP_BUDGET) return machine.stopReason;
    }
    if (hart.wfi != 0) {
      // WFI resumes when any interrupt is pending and enabled in mie, even if globally
      // disabled (section 3.3.3).
      if ((mip() & hart.mie) == 0) {
        // Asleep: the host decides what happens while the guest waits - input arrives, the
        // deterministic clock skips to the next timer event (idleSkip), or real time passes.
        machine.stopReason = STOP_IDLE;
        return STOP_IDLE;
      }
      hart.wfi = 0;
    }
    if (left == 0) return STOP_BUDGET;
    if (txFree() <= TX_LOW_WATER) {
      machine.stopReason = STOP_CONSOLE;
      return STOP_CONSOLE;
    }
    let chunk = left < MAX_CHUNK ? left : MAX_CHUNK;
    if (machine.clock == CLOCK_INSTRET) {
      const t = untilTimer();
      if (t < chunk) chunk = t;
    } else if (chunk > WALL_CHUNK) {
      chunk = WALL_CHUNK;
    }
    // The budget is charged with what retired, not with what the interpreter ran: an
    // instruction the hypervisor emulates in a trap taken inside the chunk retires too
    // (hv/retire.ts), and charging only execChunk's count let run(n) retire more than n.
    const before = hart.instret;
    execChunk(<u32>chunk);
    const done = hart.instret - before;
    // A trap retires nothing; count it as one step so a guest trapping in a loop (a handler
    // that faults on its own fetch) still uses up the budget and returns to the host.
    const used: u64 = done > 0 ? done : 1;
    left = left > used ? left - used : 0;
    if (machine.stopReason != STOP_BUDGET) return machine.stopReason;
  }
  return STOP_BUDGET;
}

/**
 * The mtime value of the next timer event (mtimecmp, or the builtin SBI's timer), or
 * u64.MAX_VALUE if none is armed.
 */
export function nextTimerTicks(): u64 {
  let t = clintMtimecmp();
  if (machine.firmware == FIRMWARE_BUILTIN && (hart.mipSw & MIP_STIP) == 0 && machine.sbiTimecmp < t) {
    t = machine.sbiTimecmp;
  }
  const s = sstcTimecmp();
  return s < t ? s : t;
}

/**
 * While the hart sleeps in WFI under the deterministic clock, jump time to the next timer
 * event. Returns false if no timer is armed (only input can wake the guest).
 */
export function idleSkip(): bool {
  if (machine.clock != CLOCK_INSTRET || hart.wfi == 0) return false;
  const wait = untilTimer();
  if (wait == NEVER) return false;
  skipIdle(wait);
  return true;
}

/**
 * idleSkip, but at most `max` instructions' worth of time: the host's scheduler lets a sleeping
 * VM's own clock move only as far as the other VMs run meanwhile (src/sched.ts), so a guest
 * waiting for another VM does not reach its timeout before that VM has had the time to answer.
 * Returns the instructions skipped (0: not asleep, or no timer armed).
 */
export function idleSkipAtMost(max: u64): u64 {
  if (machine.clock != CLOCK_INSTRET || hart.wfi == 0 || max == 0) return 0;
  let wait = untilTimer();
  if (wait == NEVER) return 0;
  if (wait > max) wait = max;
  skipIdle(wait);
  return wait;
}
