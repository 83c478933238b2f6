// All machine state lives in linear memory, laid out by the unmanaged classes below, never in
// wasm globals. Two consequences the host relies on: a snapshot of a stopped VM is a copy of
// memory, and another thread (a Web Worker, a device offload worker) can read guest RAM, the
// counters and the console rings through the shared memory.
//
//   static data (this file, tlb.ts, devices)  | guest RAM at Machine.ramHost (64 KiB aligned)
//   0 ............................ __heap_base | ramHost ............ ramHost + ramSize

import { Counter } from './counter-ids';
import { EXC_NONE } from './riscv/cause';

/** The hart: registers, CSRs and the bookkeeping of the interpreter. */
@unmanaged export class Hart {
  pc: u64 = 0;
  priv: u32 = 0;
  /** Set by WFI: the hart sleeps until an interrupt is pending (section 3.3.3). */
  wfi: u32 = 0;

  mstatus: u64 = 0;
  medeleg: u64 = 0;
  mideleg: u64 = 0;
  mie: u64 = 0;
  /** The software-writable bits of mip (SSIP, STIP, SEIP); device lines are in mipHw. */
  mipSw: u64 = 0;
  /** Interrupt lines from the devices (MTIP, MSIP, MEIP, SEIP), recomputed by irq.ts. */
  mipHw: u64 = 0;
  mtvec: u64 = 0;
  mscratch: u64 = 0;
  mepc: u64 = 0;
  mcause: u64 = 0;
  mtval: u64 = 0;
  mcounteren: u64 = 0;
  menvcfg: u64 = 0;
  mcountinhibit: u64 = 0;
  stvec: u64 = 0;
  sscratch: u64 = 0;
  sepc: u64 = 0;
  scause: u64 = 0;
  stval: u64 = 0;
  scounteren: u64 = 0;
  senvcfg: u64 = 0;
  satp: u64 = 0;
  tselect: u64 = 0;

  /** Instructions retired since reset. */
  instret: u64 = 0;
  /** Time in instruction units: retired instructions plus the ones skipped while idle. */
  now: u64 = 0;
  /** mcycle = now + cycleDelta, minstret = instret + instretDelta (software may write them). */
  cycleDelta: u64 = 0;
  instretDelta: u64 = 0;
  /** Physical address reserved by LR, or RESERVATION_NONE (section 8.2). */
  reservation: u64 = 0;

  /** An exception raised by a slow path, taken by the interpreter when it returns. */
  excCause: u32 = 0;
  excTval: u64 = 0;
  /** Instructions retired so far in the running chunk, so time reads inside it are exact. */
  chunkDone: u64 = 0;
  /** Set by a slow path whose effect needs the interpreter to leave its chunk. */
  chunkBreak: u32 = 0;
  /** Fast-TLB views of the current context (see mmu/tlb.ts), recomputed at each chunk start. */
  fetchView: u32 = 0;
  dataView: u32 = 0;

  // The hypervisor extension (privileged spec v1.12, chapter 8). `virt` is the V bit: 1 while
  // the hart runs in VS- or VU-mode, where `priv` is then PRV_S or PRV_U. A trap that reaches
  // the core's hypervisor (hv/exits.ts hvTrap) sees virt/priv as they were when it trapped.
  virt: u32 = 0;
  hstatus: u64 = 0;
  hedeleg: u64 = 0;
  hideleg: u64 = 0;
  /** hvip's VSSIP/VSTIP/VSEIP: the hypervisor injects guest interrupts here (section 8.2.3). */
  hvip: u64 = 0;
  hcounteren: u64 = 0;
  htimedelta: u64 = 0;
  htval: u64 = 0;
  htinst: u64 = 0;
  hgatp: u64 = 0;
  // hie and vsie are views of mie; hip and vsip views of mip and hvip (section 8.2.3).
  vsstatus: u64 = 0;
  vstvec: u64 = 0;
  vsscratch: u64 = 0;
  vsepc: u64 = 0;
  vscause: u64 = 0;
  vstval: u64 = 0;
  vsatp: u64 = 0;
  mtval2: u64 = 0;
  mtinst: u64 = 0;
  /** With a pending exception: htval/mtval2 (gPA >> 2), htinst/mtinst, and whether tval is a
   * guest virtual address (GVA). Consumed and cleared by trap entry. */
  excGpa4: u64 = 0;
  excTinst: u64 = 0;
  excGva: u32 = 0;
  // henvcfg (8.2.11; menvcfg and senvcfg are above) and Sstc's timer compare registers.
  henvcfg: u64 = 0;
  stimecmp: u64 = 0;
  vstimecmp: u64 = 0;
  /** fcsr (unprivileged spec 11.2): frm in bits 7:5, fflags in bits 4:0. */
  fcsr: u32 = 0;
}

export const RESERVATION_NONE: u64 = 0xFFFF_FFFF_FFFF_FFFF;

/** Configuration and run state of the machine as a whole. */
@unmanaged export class Machine {
  ramBase: u64 = 0;
  ramSize: u64 = 0;
  /** Address of guest RAM in linear memory. */
  ramHost: u64 = 0;
  /** 0 = none (start in M-mode), 1 = builtin SBI (start in S-mode). */
  firmware: u32 = 0;
  /** 0 = instret (deterministic), 1 = wall. */
  clock: u32 = 0;
  /** Retired instructions per 10 MHz timer tick under the deterministic clock. */
  instrPerTick: u64 = 0;
  /** Physical address of the riscv-tests `tohost` word, or 0. */
  tohost: u64 = 0;
  /** Why run() returned: a STOP_* value; haltCode says more for STOP_HALT/STOP_ERROR. */
  stopReason: u32 = 0;
  haltKind: u32 = 0;
  haltCode: u64 = 0;
  /** The builtin SBI's timer compare value (SBI TIME set_timer), in ticks. */
  sbiTimecmp: u64 = 0;
  /** Offset added to the clock to give mtime (software may write mtime). */
  mtimeDelta: u64 = 0;
  /** Wall clock in ticks at the last host refresh (clock = wall). */
  wallTicks: u64 = 0;
  /**
   * The execution mode (DESIGN.md "The execution modes"): MODE_NATIVE runs the image on the
   * bare machine; the others run it in a VM under the core's hypervisor (assembly/hv/), which
   * then plays the HS-mode software: a trap that would enter HS-mode is a VM exit.
   */
  mode: u32 = 0;
  /**
   * Nested page-walk cache (Bhargava et al., ASPLOS 2008; docs/h-extension.md): when nonzero,
   * the G-stage translations of the VS-stage page-table pages are cached, so repeated VS-stage
   * PTE reads from the same table pages cost no G-stage references. Set by the hypervisor.
   */
  nestedPwc: u32 = 0;
  /**
   * 1 when machine RAM is a pool for many VMs (hv/host.ts). Set before the pristine context
   * is kept, so every VM's context has it.
   */
  hostPool: u32 = 0;
}

export const MODE_NATIVE: u32 = 0;
export const MODE_TRAP_EMULATE: u32 = 1;
export const MODE_HVM_SHADOW: u32 = 2;
export const MODE_HVM_NESTED: u32 = 3;
export const MODE_PV: u32 = 4;

// Stop reasons returned by run().
export const STOP_BUDGET: u32 = 0;   // the instruction budget is used up
export const STOP_IDLE: u32 = 1;     // WFI with nothing that can wake the hart but the host
export const STOP_HALT: u32 = 2;     // the guest ended the run (haltKind, haltCode)
export const STOP_CONSOLE: u32 = 3;  // the console output ring needs draining
export const STOP_ERROR: u32 = 4;    // the machine cannot go on (haltCode = ERR_*)
export const STOP_HOST: u32 = 5;     // a heavy exit: the host must serve a device access (hv/hostio.ts)
export const STOP_DEBUG: u32 = 6;    // a breakpoint or watchpoint was reached (cpu/debug.ts)

// Ways a guest ends a run (STOP_HALT).
export const HALT_PASS: u32 = 1;
export const HALT_FAIL: u32 = 2;
export const HALT_RESET: u32 = 3;

// Reasons for STOP_ERROR.
export const ERR_TRAP_TO_FIRMWARE: u64 = 1; // a trap reached M-mode while the builtin SBI owns it

const HART_MEM = memory.data(offsetof<Hart>(), 16);
const MACHINE_MEM = memory.data(offsetof<Machine>(), 16);
const COUNTERS_MEM = memory.data(<i32>Counter.COUNT * 8, 16);

export const hart = changetype<Hart>(HART_MEM);
export const machine = changetype<Machine>(MACHINE_MEM);
/** The integer registers x0..x31; x0 is never written. */
export const REGS: usize = memory.data(32 * 8, 16);
export const COUNTERS: usize = COUNTERS_MEM;
/** The floating-point registers f0..f31 (F and D extensions), 64 bits each. */
export const FREGS: usize = memory.data(32 * 8, 16);

@inline export function count(id: Counter, n: u64 = 1): void {
  const p = COUNTERS + (<usize>id << 3);
  store<u64>(p, load<u64>(p) + n);
}

@inline export function rget(r: u32): u64 { return load<u64>(REGS + (<usize>r << 3)); }
@inline export function rset(r: u32, v: u64): void { if (r != 0) store<u64>(REGS + (<usize>r << 3), v); }

/** Raise a synchronous exception from a slow path; the interpreter takes it on return. */
@inline export function raise(cause: u32, tval: u64): void {
  hart.excCause = cause;
  hart.excTval = tval;
}
@inline export function excPending(): bool { return hart.excCause != EXC_NONE; }
