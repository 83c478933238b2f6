/**
 * The vCPU scheduler of a Host (issue 12): one hart shared among the VMs of one machine, in the
 * manner of Xen's credit scheduler (xen/common/sched/credit.c), on the deterministic clock.
 * Time is counted in instructions (core steps): a slice is `sliceInstructions` of them, and
 * every third slice's worth of time an accounting period hands out credit by weight. A VM with
 * credit left is UNDER, one without is OVER; UNDER runs before OVER, round robin within each.
 * docs/multi-vm.md "Scheduler" says what of Xen's design is modelled and what is left out.
 */
import { Stop } from './core.js';
import { HvlabError } from './errors.js';
import type { Vm } from './vm.js';

/** Xen's default time slice is 30 ms; hvlab's is this many instructions (about 1 ms of guest time at 100 MIPS). */
export const DEFAULT_SLICE = 100_000;
/**
 * Slices per accounting period. Xen accounts every 3 ticks of 10 ms (CSCHED_TICKS_PER_ACCT),
 * one 30 ms slice; with a period of three slices a 2:1 pair splits each period exactly.
 */
export const SLICES_PER_PERIOD = 3;
export const DEFAULT_WEIGHT = 256;
export const MAX_WEIGHT = 65535;
/** The smallest and largest slice a scheduler accepts. */
export const MIN_SLICE = 1_000;
/** The CLINT's timebase is 10 MHz (DESIGN.md "Machine"). */
const TICKS_PER_MS = 10_000;
export const MAX_SLICE = 100_000_000;

export interface SchedParams {
  /** The VM's share relative to the others' (Xen's weight): 1..65535, default 256. */
  weight?: number;
  /** The most of the hart the VM may use, in percent; 0 = no cap (Xen's cap). */
  cap?: number;
}

export interface VmSchedStats {
  /** Instructions the VM retired under this scheduler. */
  instructions: bigint;
  /** Slices it was given (one per time it was picked to run). */
  slices: number;
  /** Slices another VM ran while this one was runnable (neither blocked, halted nor parked by its cap). */
  waits: number;
  /** It idles with no timer armed: it waits for console input and is not scheduled until some comes. */
  blocked: boolean;
  /** It stopped (poweroff, reset, error, or it was destroyed): it is never scheduled again. */
  halted: boolean;
  /** Idle stops with a timer armed whose idle time was skipped (free, and the VM stays runnable). */
  idleSkips: number;
}

export interface SchedulerOptions {
  /** Instructions per slice (default DEFAULT_SLICE). */
  sliceInstructions?: number;
  /**
   * Called when a VM stops idle, before it is judged blocked: the place to give it scripted
   * input one line at a time (as runScripted does), so what a guest sees does not depend on
   * how the hart was sliced (docs/properties.md).
   */
  onIdle?: (vm: Vm) => void;
  /**
   * Something besides console input will wake the VM: an event-channel notification another VM
   * sent it (src/host.ts Host.eventPending; docs/split.md). A VM idle with one is not blocked,
   * and a blocked VM that gets one is runnable again.
   */
  pending?: (vm: Vm) => boolean;
}

interface Entry {
  vm: Vm;
  weight: number;
  cap: number;
  /** Signed credit in instructions: > 0 is UNDER, <= 0 is OVER. */
  credit: number;
  /** Steps used in the current accounting period (what a cap limits). */
  periodUsed: number;
  stats: VmSchedStats;
  /** vm.inputSent when it blocked: more input since wakes it. */
  inputMark: number;
  /**
   * A VM on the wall clock idle with a timer armed sleeps until then (performance.now(), ms):
   * its idle time cannot be skipped, it passes.
   */
  wakeAtMs?: number;
  /** It went idle while another VM had an event to serve: it waits until none has (deferredFor). */
  deferred?: boolean;
  /**
   * It sleeps until a timer `left` instructions of its time away while other VMs run: on one
   * hart there is one time line, so its idle time passes as they run (`owed` grows by each of
   * their slices) and it is not scheduled until that reaches its timer, or input or an event
   * comes (wake). See runSlice.
   */
  doze?: { owed: number; left: number };
  /** Idle time it is owed when it runs next (a doze that ended), skipped before it runs. */
  owed?: number;
}

function checkParams(p: SchedParams): { weight?: number; cap?: number } {
  if (p.weight !== undefined && (!Number.isInteger(p.weight) || p.weight < 1 || p.weight > MAX_WEIGHT)) {
    throw new HvlabError('BAD_SCHED', `weight must be a whole number from 1 to ${MAX_WEIGHT}, got ${p.weight}`);
  }
  if (p.cap !== undefined && (!Number.isInteger(p.cap) || p.cap < 0 || p.cap > 100)) {
    throw new HvlabError('BAD_SCHED', `cap must be a whole percentage from 0 (none) to 100, got ${p.cap}`);
  }
  return p;
}

export class Scheduler {
  readonly sliceInstructions: number;
  /** Length of an accounting period, in instructions. */
  readonly period: number;
  private readonly onIdle?: (vm: Vm) => void;
  private readonly pending?: (vm: Vm) => boolean;
  /** The run queue: the order VMs are picked in within a priority (a VM that ran goes last). */
  private queue: Entry[] = [];
  private byVm = new Map<Vm, Entry>();
  /** The scheduler's clock: steps run plus time the hart stood idle because every runnable VM was capped. */
  private now = 0;
  private periodEnd = 0;
  /** Time the hart stood idle (all runnable VMs parked by their caps), in instructions. */
  idleTime = 0;

  constructor(opts: SchedulerOptions = {}) {
    const slice = opts.sliceInstructions ?? DEFAULT_SLICE;
    if (!Number.isInteger(slice) || slice < MIN_SLICE || slice > MAX_SLICE) {
      throw new HvlabError('BAD_SCHED', `a slice must be a whole number of instructions from ${MIN_SLICE} to ${MAX_SLICE}, got ${slice}`);
    }
    this.sliceInstructions = slice;
    this.period = slice * SLICES_PER_PERIOD;
    this.onIdle = opts.onIdle;
    this.pending = opts.pending;
  }

  /** The VMs in the order they were added (the run queue's order changes as they run). */
  get vms(): readonly Vm[] { return [...this.byVm.keys()]; }

  add(vm: Vm, params: SchedParams = {}): void {
    if (this.byVm.has(vm)) throw new HvlabError('DUPLICATE_VM', 'that VM is already in this scheduler');
    const p = checkParams(params);
    const e: Entry = {
      vm, weight: p.weight ?? DEFAULT_WEIGHT, cap: p.cap ?? 0, credit: 0, periodUsed: 0, inputMark: 0,
      stats: { instructions: 0n, slices: 0, waits: 0, blocked: false, halted: false, idleSkips: 0 },
    };
    this.queue.push(e);
    this.byVm.set(vm, e);
  }

  remove(vm: Vm): void {
    const e = this.byVm.get(vm);
    if (!e) return;
    this.byVm.delete(vm);
    this.queue.splice(this.queue.indexOf(e), 1);
  }

  setParams(vm: Vm, params: SchedParams): void {
    const e = this.entry(vm);
    const p = checkParams(params);
    if (p.weight !== undefined) e.weight = p.weight;
    if (p.cap !== undefined) e.cap = p.cap;
  }

  params(vm: Vm): Required<SchedParams> {
    const e = this.entry(vm);
    return { weight: e.weight, cap: e.cap };
  }

  stats(vm: Vm): VmSchedStats { return { ...this.entry(vm).stats }; }

  private entry(vm: Vm): Entry {
    const e = this.byVm.get(vm);
    if (!e) throw new HvlabError('NO_VM', 'that VM is not in this scheduler');
    return e;
  }

  /** The most a capped VM may run in one period. */
  private quota(e: Entry): number {
    return e.cap === 0 ? Infinity : Math.floor(this.period * e.cap / 100);
  }

  private parked(e: Entry): boolean { return e.periodUsed >= this.quota(e); }

  /** Not blocked, not halted, not asleep: it wants the hart (caps aside). */
  private active(e: Entry): boolean { return !e.stats.halted && !e.stats.blocked && e.wakeAtMs === undefined; }

  private runnable(e: Entry): boolean { return this.active(e) && !this.parked(e) && !this.deferredFor(e) && e.doze === undefined; }

  /** Time passed on the hart while `ran` ran: every other dozing VM is owed it. */
  private pass(steps: number, ran?: Entry): void {
    for (const x of this.queue) if (x !== ran && x.doze) x.doze.owed += steps;
  }

  /** Does `e` wait for another VM to serve its events (see run's idle stops)? */
  private deferredFor(e: Entry): boolean {
    if (!e.deferred) return false;
    // An event of its own wakes it whatever the others have (no two wait for each other).
    if (this.pending && !this.pending(e.vm) && this.queue.some((o) => o !== e && !o.stats.halted && this.pending!(o.vm))) return true;
    e.deferred = false;
    return false;
  }

  /**
   * Accounting (Xen's csched_acct): the period's time goes to the VMs that are active (not
   * blocked, not halted) in proportion to their weights. Credit is bounded to one period
   * either way, as Xen bounds it, so a VM can neither hoard credit nor sink into debt.
   */
  private account(): void {
    const active = this.queue.filter((e) => this.active(e));
    const total = active.reduce((s, e) => s + e.weight, 0);
    for (const e of active) {
      e.credit = Math.max(-this.period, Math.min(this.period, e.credit + Math.ceil(this.period * e.weight / total)));
    }
    for (const e of this.queue) e.periodUsed = 0;
    this.periodEnd = this.now + this.period;
  }

  /**
   * A blocked VM becomes runnable once new input is queued for it (Vm.inputSent grew: a byte
   * sent before it blocked and still waiting for room in its RX ring does not wake it again,
   * or a guest that never reads would be woken forever); a sleeping one also when its time
   * comes.
   */
  private wake(): void {
    let now: number | undefined;
    for (const e of this.queue) {
      const input = e.vm.inputSent !== e.inputMark;
      if (e.stats.blocked && (input || this.pending?.(e.vm))) e.stats.blocked = false;
      if (e.wakeAtMs !== undefined && (input || (now ??= performance.now()) >= e.wakeAtMs)) e.wakeAtMs = undefined;
      if (e.doze && (e.doze.owed >= e.doze.left || input || this.pending?.(e.vm))) this.endDoze(e);
    }
  }

  private endDoze(e: Entry): void {
    e.owed = (e.owed ?? 0) + e.doze!.owed;
    e.doze = undefined;
  }

  /**
   * Nothing else can run: the dozing VM nearest its timer wakes, and the time it sleeps until
   * then passes for the other dozers too (the hart stands idle meanwhile).
   */
  private wakeNearestDozer(): boolean {
    let best: Entry | undefined;
    for (const e of this.queue) {
      if (e.doze && !e.stats.halted && (!best || e.doze.left - e.doze.owed < best.doze!.left - best.doze!.owed)) best = e;
    }
    if (!best) return false;
    const gap = Math.max(0, best.doze!.left - best.doze!.owed);
    this.pass(gap);
    this.endDoze(best);
    return true;
  }

  /** UNDER before OVER; round robin within a priority (the queue's order). */
  private pick(): Entry | undefined {
    let over: Entry | undefined;
    for (const e of this.queue) {
      if (!this.runnable(e)) continue;
      if (e.credit > 0) return e;
      over ??= e;
    }
    return over;
  }

  /**
   * Run up to `budget` instructions in all (core steps: a trap that retires nothing costs a
   * step), slice by slice; stops early when every VM is blocked or halted (or, on the wall
   * clock, asleep until a timer). Returns the instructions retired.
   */
  run(budget: number): number {
    budget = Math.floor(budget);
    let used = 0;
    let retired = 0;
    let fruitless = 0;
    while (used < budget) {
      this.wake();
      if (this.now >= this.periodEnd) this.account();
      let e = this.pick();
      if (!e && this.wakeNearestDozer()) e = this.pick();
      if (!e) {
        if (!this.queue.some((x) => this.active(x))) {
          // Nothing to run: the hart idles until input comes (or, on the wall clock, a
          // sleeper's timer), which ends the period. The VMs that wake then start a fresh one,
          // with credit by weight among themselves.
          this.periodEnd = this.now;
          break;
        }
        // Every runnable VM has spent its cap: the hart idles until the next period.
        this.pass(this.periodEnd - this.now);
        this.idleTime += this.periodEnd - this.now;
        this.now = this.periodEnd;
        continue;
      }
      for (const x of this.queue) if (x !== e && this.runnable(x)) x.stats.waits++;
      // A slice ends at the period's end, where accounting re-sorts the VMs (as Xen's
      // accounting tick does), and where a capped VM's quota is used up.
      const slice = Math.min(this.sliceInstructions, budget - used, this.quota(e) - e.periodUsed, this.periodEnd - this.now);
      const r = this.runSlice(e, slice);
      this.pass(r.steps, e);
      used += r.steps;
      retired += r.retired;
      this.now += r.steps;
      e.credit -= r.steps;
      e.periodUsed += r.steps;
      e.stats.slices++;
      // To the end of the queue (unless onIdle removed it meanwhile).
      const at = this.queue.indexOf(e);
      if (at >= 0) { this.queue.splice(at, 1); this.queue.push(e); }
      // A VM that idles at once with a timer that wakes it to nothing could spin here forever.
      fruitless = r.steps === 0 ? fruitless + 1 : 0;
      if (fruitless > 2 * this.queue.length + 2) break;
    }
    return retired;
  }

  /**
   * One slice of VM `e`: it runs until the slice is used, it halts, or it blocks. Idle time
   * with a timer armed is skipped (the VM's own clock jumps; it costs no steps) and the VM
   * runs on in its slice.
   */
  private runSlice(e: Entry, slice: number): { steps: number; retired: number } {
    const vm = e.vm;
    let steps = 0;
    let retired = 0;
    let emptyIdles = 0;
    if (e.owed) {
      // The idle time that passed while it dozed (at most up to its timer).
      if (vm.idleSkipAtMost(e.owed) > 0) e.stats.idleSkips++;
      e.owed = 0;
    }
    while (steps < slice) {
      const left = slice - steps;
      let r: ReturnType<Vm['run']>;
      let before: bigint;
      const pending = vm.inputPending;
      try {
        before = vm.instructions;
        r = vm.run(left);
      } catch (err) {
        // The VM was destroyed under the scheduler (Vm.close without remove): it is gone.
        if (err instanceof HvlabError && err.code === 'NO_VM') { e.stats.halted = true; break; }
        throw err;
      }
      const n = Number(vm.instructions - before);
      retired += n;
      e.stats.instructions += BigInt(n);
      steps += r.stop === Stop.Budget ? Math.max(left, n) : n;
      if (r.info) { e.stats.halted = true; break; }
      if (r.stop !== Stop.Idle) continue;
      // Two idle stops in a row with nothing retired between: the VM makes no progress now
      // (a timer that wakes it to nothing); it stays runnable, but its slice ends.
      emptyIdles = n === 0 ? emptyIdles + 1 : 0;
      if (emptyIdles > 1) break;
      // An offload or host backend still serving it: not blocked, but nothing to run now.
      if (vm.ioBusy()) break;
      // Input that waited for room in the RX ring went in during this run (the guest read
      // some): the guest may not have seen the last of it yet.
      if (vm.inputPending < pending) continue;
      const mark = vm.inputSent;
      this.onIdle?.(vm);
      if (vm.inputSent !== mark) continue;
      // An event from another VM is waiting for it: run on, it takes the interrupt.
      if (this.pending?.(vm)) continue;
      // Another VM has an event to serve (this one's request to a driver domain, say): end the
      // slice rather than skip this VM's idle time, so the other runs before this one's clock
      // races to a timeout it would not reach if the two shared one clock (docs/split.md).
      if (this.pending && this.queue.some((o) => o !== e && !o.stats.halted && this.pending!(o.vm))) { e.deferred = true; break; }
      // Another VM can run now: this one dozes. Its idle time is not skipped at once but passes
      // as the others run (pass), and it runs again when that reaches its timer: a guest that
      // waits for another VM with a timeout (a frontend for its driver domain) then does not
      // reach its deadline before the other has had the time to answer. When no other VM can
      // run, the idle time is skipped whole (the hart has nothing else to do).
      if (this.queue.some((o) => o !== e && this.runnable(o))) {
        const ticks = vm.ticksToNextTimer();
        if (ticks !== undefined && vm.config.clock !== 'wall') {
          e.doze = { owed: 0, left: Number(ticks) * vm.config.instrPerTick };
          e.inputMark = mark;
          break;
        }
      }
      if (vm.idleSkip()) { e.stats.idleSkips++; continue; }
      // On the wall clock idle time passes instead: the VM sleeps until its timer.
      const ticks = vm.config.clock === 'wall' ? vm.ticksToNextTimer() : undefined;
      if (ticks !== undefined) {
        e.wakeAtMs = performance.now() + Number(ticks) / TICKS_PER_MS;
        e.inputMark = mark;
        break;
      }
      // Blocked: it leaves the active set. Its credit is cleared, so it neither banks the time
      // it does not use while it waits nor carries debt into its next burst.
      e.stats.blocked = true;
      e.credit = 0;
      e.inputMark = mark;
      break;
    }
    return { steps, retired };
  }
}
