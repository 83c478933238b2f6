/**
 * The debugger over a Vm (docs/debugger.md): pause, single step, step over a trap, continue to
 * a breakpoint or watchpoint; registers, CSRs, the privilege level and V; memory through the
 * current translation or physical, without side effects. The GDB stub (src/gdb/) drives it,
 * and the page's debugger panel can drive it the same way from its worker.
 *
 * Two views of a VM: the guest's (default), where the debugger shows what the guest believes:
 * its virtual privilege and supervisor CSRs (trap-emulate's and pv's virtual CPU, the VS CSRs
 * under hvm) and its own page tables; and the hypervisor's (`hypervisorView = true`), the real
 * hart: its privilege and V bit, every CSR, the translation the hardware uses (shadow tables,
 * vsatp and hgatp). Natively both views are the hart.
 *
 * The core does the stopping (assembly/cpu/debug.ts): breakpoints and watchpoints cost the
 * interpreter nothing while none is set, and a run that is continued through them retires,
 * counts and prints what a run without a debugger does.
 */
import { HvlabError } from './errors.js';
import { Stop, type CoreExports } from './core.js';
import type { StopInfo, Vm } from './vm.js';

export type WatchKind = 'write' | 'read' | 'access';
/** The core's WATCH_* bits (assembly/cpu/debug.ts). */
const WATCH_BITS: Record<WatchKind, number> = { write: 1, read: 2, access: 3 };
const HIT_BREAKPOINT = 1;
const HIT_WATCH = 2;

/** Why a debugger run ended. */
export type DebugStop =
  /** at a breakpoint: the instruction at pc has not run */
  | { kind: 'breakpoint'; pc: bigint }
  /** before an access to a watched range: the instruction at pc has not run */
  | { kind: 'watchpoint'; watch: WatchKind; address: bigint; pc: bigint }
  /** a step finished, or the budget ran out */
  | { kind: 'stopped'; pc: bigint }
  /** pause() was called while it ran */
  | { kind: 'paused'; pc: bigint }
  /** the guest waits for input and no timer is armed: only input wakes it */
  | { kind: 'idle'; pc: bigint }
  /** the guest ended the run (pass, fail, reset, error) */
  | { kind: 'exited'; info: StopInfo };

/** A memory access the debugger cannot make: the address is unmapped or not RAM. */
export class DebugMemoryError extends HvlabError {
  constructor(readonly address: bigint, why: string) {
    super('DEBUG_MEMORY', `0x${address.toString(16)}: ${why}`);
  }
}

/** Privilege levels by number (0 U, 1 S, 3 M). */
export const PRIVILEGE_NAMES: Record<number, string> = { 0: 'U', 1: 'S', 3: 'M' };

/** Longest run between checks of pause() and of idle time. */
const SLICE = 200_000;

export class Debugger {
  /** Show the hypervisor's view (the real hart) instead of the guest's. */
  hypervisorView = false;
  private readonly core: CoreExports;
  private readonly memory: WebAssembly.Memory;
  private readonly breakpoints = new Set<bigint>();
  private readonly watches: { address: bigint; length: bigint; kind: WatchKind }[] = [];
  private pauseRequested = false;
  /** The last stop was a watch hit at this pc: resuming must let that access happen. */
  private watchStopPc?: bigint;

  constructor(readonly vm: Vm) {
    const a = vm.debugAccess();
    this.core = a.core;
    this.memory = a.memory;
    this.core.debugReset();
  }

  /** Remove every breakpoint and watchpoint (the guest runs on as if never debugged). */
  detach(): void {
    this.breakpoints.clear();
    this.watches.length = 0;
    this.core.debugReset();
  }

  // ---- breakpoints and watchpoints ----

  /** A breakpoint at guest virtual address `va` (in the current translation). */
  setBreakpoint(va: bigint): void {
    if ((va & 1n) !== 0n) throw new HvlabError('DEBUG_BREAKPOINT', `breakpoint at 0x${va.toString(16)}: instructions are 2-byte aligned`);
    if (!this.core.debugSetBreakpoint(va)) throw new HvlabError('DEBUG_BREAKPOINT', 'too many breakpoints (the core keeps 16)');
    this.breakpoints.add(va);
  }
  clearBreakpoint(va: bigint): boolean {
    this.breakpoints.delete(va);
    return this.core.debugClearBreakpoint(va);
  }
  listBreakpoints(): bigint[] { return [...this.breakpoints]; }

  setWatchpoint(address: bigint, length: bigint, kind: WatchKind): void {
    if (!this.core.debugSetWatch(address, length, WATCH_BITS[kind])) {
      throw new HvlabError('DEBUG_WATCH', `watchpoint 0x${address.toString(16)}+${length}: at most 4 watchpoints of 1..65536 bytes`);
    }
    this.watches.push({ address, length, kind });
  }
  clearWatchpoint(address: bigint, length: bigint, kind: WatchKind): boolean {
    const i = this.watches.findIndex((w) => w.address === address && w.length === length && w.kind === kind);
    if (i >= 0) this.watches.splice(i, 1);
    return this.core.debugClearWatch(address, length, WATCH_BITS[kind]);
  }

  // ---- running ----

  /**
   * Ask a running cont() to stop at its next slice (from an event handler, between the slices
   * of a host that runs cont() in small budgets); the next cont() returns 'paused' at once if
   * none was running.
   */
  pause(): void { this.pauseRequested = true; }

  /** Run exactly one instruction (a trap taken instead counts as the step: pc is then the handler). */
  step(): DebugStop {
    const r = this.hypervisorView ? this.runResuming(1) : this.resumeOne();
    if (r.stop === Stop.Debug) return this.hitStop();
    if (r.info) return { kind: 'exited', info: r.info };
    return { kind: 'stopped', pc: this.vm.pc };
  }

  /**
   * Run the instruction at pc, over its breakpoint. An exit the guest cannot see (a shadow
   * fill, an emulated MMIO access, a G-stage fault) retires nothing and leaves pc where it
   * was: run again until the guest moves, so a step in the guest's view is one of its
   * instructions and a resumed breakpoint is not hit again by its own instruction.
   */
  private resumeOne(): { stop: Stop; info?: StopInfo } {
    for (let tries = 0; ; tries++) {
      const pc = this.vm.pc;
      const before = this.vm.instructions;
      const r = this.runResuming(1);
      if (r.stop === Stop.Debug || r.info || this.idle || this.vm.instructions !== before || this.vm.pc !== pc || tries >= 64) return r;
    }
  }

  /**
   * Step, and if the instruction trapped into a more privileged handler (an ecall, a page fault,
   * an interrupt), run until the guest is back at the privilege it stepped from: the handler
   * has returned. Stops early at a breakpoint or watchpoint, or after `limit` instructions.
   */
  stepOverTrap(limit = 50_000_000, onIdle?: () => boolean): DebugStop {
    const priv = this.privilege().level;
    const first = this.step();
    if (first.kind !== 'stopped') return first;
    let used = 1;
    // Single steps: the privilege is a property of the hart between instructions, which only
    // a run of one instruction exposes.
    while (this.privilege().level !== priv && used < limit) {
      const s = this.step();
      used++;
      if (s.kind !== 'stopped') return s;
      if (this.idle && !onIdle?.() && !this.skipIdle()) return { kind: 'idle', pc: this.vm.pc };
    }
    return { kind: 'stopped', pc: this.vm.pc };
  }

  /**
   * Run until a breakpoint or watchpoint, the end of the run, pause(), or `budget` instructions.
   * An idle guest has its deterministic time skipped to the next timer, as a scripted run does;
   * `onIdle` is asked first (return true if it delivered input, so the run goes on).
   */
  cont(budget = Number.MAX_SAFE_INTEGER, onIdle?: () => boolean): DebugStop {
    let used = 0;
    let first = true;
    while (used < budget) {
      if (this.pauseRequested) {
        this.pauseRequested = false;
        return { kind: 'paused', pc: this.vm.pc };
      }
      const slice = first ? 1 : Math.min(SLICE, budget - used);
      const before = this.vm.instructions;
      const r = first ? this.resumeOne() : this.vm.run(slice);
      first = false;
      used += Math.max(1, Number(this.vm.instructions - before));
      if (r.stop === Stop.Debug) return this.hitStop();
      if (r.info) return { kind: 'exited', info: r.info };
      if (r.stop === Stop.Idle) {
        if (onIdle?.()) continue;
        if (this.vm.ioBusy()) { this.vm.ioWait(5); continue; }
        if (!this.skipIdle()) return { kind: 'idle', pc: this.vm.pc };
      }
    }
    return { kind: 'stopped', pc: this.vm.pc };
  }

  /** Run `n` instructions stepping over the breakpoint (or the watched access) at pc. */
  private runResuming(n: number): { stop: Stop; info?: StopInfo } {
    const pc = this.vm.pc;
    this.core.debugSkip(pc, true);
    this.idle = false;
    try {
      const r = this.vm.run(n);
      this.idle = r.stop === Stop.Idle;
      return r;
    } finally {
      // Only the instruction resumed from is stepped over: an interrupt taken before it
      // leaves the breakpoint armed for when the handler returns there.
      this.core.debugSkip(0n, false);
    }
  }
  /** The last runResuming() stopped idle (in WFI). */
  private idle = false;

  private skipIdle(): boolean {
    return this.vm.config.clock === 'instret' ? this.vm.idleSkip() : this.vm.ticksToNextTimer() !== undefined;
  }

  private hitStop(): DebugStop {
    const kind = this.core.debugHitKind();
    const pc = this.vm.pc;
    if ((kind & 15) === HIT_WATCH) {
      const bits = kind >> 4;
      this.watchStopPc = pc;
      return { kind: 'watchpoint', watch: bits === WATCH_BITS.write ? 'write' : bits === WATCH_BITS.read ? 'read' : 'access',
        address: this.core.debugHitAddr(), pc };
    }
    if (kind !== HIT_BREAKPOINT) throw new Error(`debug stop of unknown kind ${kind}`);
    return { kind: 'breakpoint', pc };
  }

  // ---- registers ----

  /** x0..x31. */
  registers(): bigint[] { return this.vm.registers(); }
  setRegister(n: number, value: bigint): void {
    if (!Number.isInteger(n) || n < 0 || n > 31) throw new HvlabError('DEBUG_REGISTER', `no integer register x${n}`);
    if (n === 0) return;
    new BigUint64Array(this.memory.buffer, this.core.regsPtr() >>> 0, 32)[n] = BigInt.asUintN(64, value);
  }
  get pc(): bigint { return this.vm.pc; }
  set pc(value: bigint) { this.core.setPc(BigInt.asUintN(64, value)); }

  /** f0..f31 as raw 64-bit patterns (a single is NaN-boxed). */
  fregisters(): bigint[] {
    return Array.from(new BigUint64Array(this.memory.buffer, this.core.fregsPtr() >>> 0, 32));
  }
  setFregister(n: number, value: bigint): void {
    if (!Number.isInteger(n) || n < 0 || n > 31) throw new HvlabError('DEBUG_REGISTER', `no float register f${n}`);
    new BigUint64Array(this.memory.buffer, this.core.fregsPtr() >>> 0, 32)[n] = BigInt.asUintN(64, value);
  }

  /** CSR `n` in the current view, or undefined if there is no such CSR (in that view). */
  csr(n: number): bigint | undefined {
    const v = this.core.debugCsrRead(n, this.hypervisorView);
    return this.core.debugCsrMissing() ? undefined : v;
  }
  /** Write CSR `n` as M-mode would (in the guest view: the guest's own register); false if refused. */
  setCsr(n: number, value: bigint): boolean {
    return this.core.debugCsrWrite(n, BigInt.asUintN(64, value), this.hypervisorView);
  }

  /** The privilege level (0 U, 1 S, 3 M) and V bit of the current view. */
  privilege(): { level: number; virt: boolean; name: string } {
    const level = this.core.debugPriv(this.hypervisorView);
    const virt = this.core.debugVirt(this.hypervisorView) !== 0;
    return { level, virt, name: (virt ? 'V' : '') + (PRIVILEGE_NAMES[level] ?? '?') };
  }

  // ---- memory ----

  /** Read `length` bytes at `address`: virtual in the current translation, or physical. */
  readMemory(address: bigint, length: number, physical = false): Uint8Array {
    const out = new Uint8Array(length);
    this.eachPage(address, length, physical, (host, off, n) => out.set(new Uint8Array(this.memory.buffer, host, n), off));
    return out;
  }

  /** Write bytes at `address` (virtual or physical); nothing is written if any byte faults. */
  writeMemory(address: bigint, data: Uint8Array, physical = false): void {
    // Check every page first, so a write that faults changes nothing.
    this.eachPage(address, data.length, physical, () => undefined);
    this.eachPage(address, data.length, physical, (host, off, n) => new Uint8Array(this.memory.buffer, host, n).set(data.subarray(off, off + n)));
  }

  /** The translation of `va` in the current view (guest-physical in a guest's), or undefined. */
  translate(va: bigint): bigint | undefined {
    const pa = this.core.debugTranslate(BigInt.asUintN(64, va), this.hypervisorView);
    return pa === 0xFFFF_FFFF_FFFF_FFFFn ? undefined : pa;
  }

  private eachPage(address: bigint, length: number, physical: boolean, fn: (host: number, off: number, n: number) => void): void {
    let off = 0;
    while (off < length) {
      const a = BigInt.asUintN(64, address + BigInt(off));
      const n = Math.min(4096 - Number(a & 4095n), length - off);
      const host = this.core.debugHostAddress(a, !physical, this.hypervisorView) >>> 0;
      if (host === 0) {
        throw new DebugMemoryError(a, this.core.debugFault() === 2 ? 'not RAM (the debugger does not touch devices)'
          : physical ? 'not guest RAM' : 'not mapped in the current translation');
      }
      fn(host, off, n);
      off += n;
    }
  }
}
