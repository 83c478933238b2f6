/**
 * The VMs of a parsed many-VM config (src/multi-config.ts) running in one Host under the
 * credit Scheduler (src/sched.ts): made all at once (a config starts whole or not at all),
 * their consoles kept apart, same-page merging scanned on the machine's instructions, stops
 * noted with their reason, and the per-VM figures the CLI's `hvlab top` table and the page's
 * VM list show. Environment-neutral: the CLI (src/cli/fleet.ts) adds files, scripted input and
 * the terminal; the page's worker (src/web/multi-runner.ts) adds its messages and its timing.
 */
import { HvlabError } from './errors.js';
import { Host, type KsmStats } from './host.js';
import { Scheduler, type VmSchedStats } from './sched.js';
import type { CoreSource, StopInfo, Vm, VmConfig } from './vm.js';
import type { MultiConfig, VmSpec } from './multi-config.js';

/**
 * The merging scanner looks at the config's `ksm` pages per this many instructions the
 * machine runs (docs/multi-vm.md "The config file"), as ksmd on its timer: the merges are the
 * same on every run.
 */
export const KSM_PERIOD = 1_000_000;

export interface FleetMember {
  index: number;
  spec: VmSpec;
  vm: Vm;
  /** the kernel it booted, to boot again on a reset (FleetOptions.rebootOnReset) */
  image: Uint8Array;
  kernelName: string;
  /** why it stopped, once it has (undefined while it runs) */
  stop?: StopInfo;
  /** console output not yet taken (FleetOptions.bufferOutput; takeOutput) */
  out: string;
}

/** What one VM needs from the environment before it is made: its kernel and its config. */
export interface VmPrepared {
  image: Uint8Array;
  kernelName: string;
  config: Partial<VmConfig>;
}

export interface FleetOptions<M extends FleetMember> {
  /** Read a VM's image (and whatever else it needs) before the VM is made; errors name the VM. */
  prepare(spec: VmSpec, where: string): Promise<VmPrepared> | VmPrepared;
  /** Extend a member with the environment's own fields (the CLI's replay buffer, input lines). */
  member?(base: FleetMember): M;
  /** The scheduler's slice when the config gives none. */
  sliceInstructions?: number;
  /** Called at each idle stop of a VM (Scheduler onIdle). */
  onIdle?(m: M): void;
  /** A guest that asks for a reset (SBI SRST) boots its image again instead of stopping. */
  rebootOnReset?: boolean;
  /** Keep each VM's console output until takeOutput() collects it. */
  bufferOutput?: boolean;
}

export class Fleet<M extends FleetMember = FleetMember> {
  /** Called with each VM's console output as it comes. */
  onOutput?: (m: M, text: string) => void;
  /** Called once when a VM stops (powers off, fails, or hits an error). */
  onStop?: (m: M) => void;
  /** Instructions the scheduler has run in all. */
  total = 0;
  /** Instructions run since the merging scanner last looked. */
  private ksmDebt = 0;
  /**
   * Full passes of the merging scanner that merged nothing and broke nothing since a VM last
   * ran (ksmIdleStep): after two nothing would change while every VM waits.
   */
  private settled = 0;

  readonly sched: Scheduler;
  readonly members: M[] = [];
  private readonly byVm = new Map<Vm, M>();

  protected constructor(readonly config: MultiConfig, readonly host: Host, private readonly opts: FleetOptions<M>) {
    this.sched = new Scheduler({ sliceInstructions: config.sliceInstructions ?? opts.sliceInstructions,
      onIdle: opts.onIdle ? (vm) => opts.onIdle!(this.byVm.get(vm)!) : undefined,
      // A driver domain or a split frontend waits for the other's events (docs/split.md).
      pending: (vm) => host.eventPending(vm) });
  }

  /**
   * Make the Host and every VM, and load each VM's image. Anything wrong (an image that does
   * not load, a pool too small for the VMs' tables) is an HvlabError naming the config and the
   * VM, raised before any VM has run an instruction; the VMs made so far are closed.
   */
  static async create<M extends FleetMember>(config: MultiConfig, source: CoreSource, opts: FleetOptions<M>): Promise<Fleet<M>> {
    const host = await Host.create({ poolMiB: config.poolMiB }, source);
    if (config.ksmPages > 0) {
      try { host.ksm(true); } catch (e) {
        if (e instanceof HvlabError) throw new HvlabError(e.code, `${config.path}: ksm: ${e.message}`);
        throw e;
      }
    }
    const fleet = new Fleet<M>(config, host, opts);
    try {
      for (const [index, spec] of config.vms.entries()) await fleet.add(index, spec);
    } catch (e) {
      await fleet.close();
      throw e;
    }
    return fleet;
  }

  private async add(index: number, spec: VmSpec): Promise<void> {
    const where = `${this.config.path}: VM '${spec.name}'`;
    const { image, kernelName, config } = await this.opts.prepare(spec, where);
    let vm: Vm | undefined;
    try {
      vm = await this.host.createVm({ mode: spec.mode, memMiB: spec.memMiB, ...config }, spec.name);
      vm.boot({ kernel: image, kernelName });
    } catch (e) {
      await vm?.close();
      // Host and loader messages name the VM or the file; say which config entry it was.
      if (e instanceof HvlabError) {
        throw new HvlabError(e.code, e.message.startsWith(`VM '${spec.name}'`) ? `${this.config.path}: ${e.message}` : `${where}: ${e.message}`);
      }
      throw e;
    }
    const base: FleetMember = { index, spec, vm, image, kernelName, out: '' };
    const m = this.opts.member ? this.opts.member(base) : base as M;
    vm.onConsole = (text) => {
      if (this.opts.bufferOutput) m.out += text;
      this.onOutput?.(m, text);
    };
    this.members.push(m);
    this.byVm.set(vm, m);
    this.sched.add(vm, { weight: spec.weight, cap: spec.cap });
  }

  stats(m: M): VmSchedStats { return this.sched.stats(m.vm); }

  /** Change a VM's weight and cap (Scheduler.setParams) and remember them in its spec. */
  setParams(m: M, weight: number, cap: number): void {
    this.sched.setParams(m.vm, { weight, cap });
    m.spec.weight = weight;
    m.spec.cap = cap;
  }

  /** Run up to `budget` instructions in all; returns those retired. */
  run(budget: number): number {
    let ran = this.sched.run(budget);
    // Nothing ran because the VMs that could run wait for their offload workers (an idle guest
    // whose request is in a worker's hands is not blocked): give the workers a moment, as the
    // hart would spend it idle, and run again (bounded: a worker that stopped serving is not
    // waited on forever here).
    for (let tries = 0; ran === 0 && tries < 200; tries++) {
      const waiting = this.members.filter((m) => !this.sched.stats(m.vm).halted && m.vm.ioBusy());
      if (waiting.length === 0) break;
      for (const m of waiting) m.vm.ioWait(5);
      ran = this.sched.run(budget);
    }
    this.total += ran;
    if (ran > 0) this.settled = 0;
    if (this.config.ksmPages > 0) {
      this.ksmDebt += ran;
      for (; this.ksmDebt >= KSM_PERIOD; this.ksmDebt -= KSM_PERIOD) this.host.ksmScan(this.config.ksmPages);
    }
    this.noteStops();
    return ran;
  }

  /**
   * Why each newly halted VM stopped (a stopped Vm's run() returns the reason without
   * running). With rebootOnReset a guest that asked for a reset boots its image again and
   * goes back into the scheduler, whose counters for it start over.
   */
  private noteStops(): void {
    for (const m of this.members) {
      if (m.stop || !this.sched.stats(m.vm).halted) continue;
      const info = m.vm.run(0).info;
      if (this.opts.rebootOnReset && info?.reason === 'reset') {
        m.vm.boot({ kernel: m.image, kernelName: m.kernelName });
        this.sched.remove(m.vm);
        this.sched.add(m.vm, { weight: m.spec.weight, cap: m.spec.cap });
        continue;
      }
      m.stop = info;
      this.onStop?.(m);
    }
  }

  /** Every VM is blocked (waits for input with no timer armed) or halted: run() would do nothing. */
  allBlocked(): boolean {
    return this.members.every((m) => { const s = this.sched.stats(m.vm); return s.blocked || s.halted; });
  }

  /**
   * While every VM waits, the merging scanner goes on as ksmd does between its sleeps: one
   * step of the config's `ksm` pages, as if a KSM_PERIOD had passed. Returns whether another
   * step is worth it: not once two full passes changed nothing (nothing changes in a blocked
   * VM's memory; a slice run starts the count over), nor when no VM is mergeable at all (pv
   * or io 'host' VMs only).
   */
  ksmIdleStep(): boolean {
    if (!this.ksmScanning()) return false;
    const before = this.host.ksmStats();
    if (this.host.ksmScan(this.config.ksmPages) === 0) { this.settled = 2; return false; }
    const after = this.host.ksmStats();
    if (after.merges !== before.merges || after.cowBreaks !== before.cowBreaks) this.settled = 0;
    else if (after.fullScans !== before.fullScans) this.settled++;
    return this.ksmScanning();
  }

  /** Scanning while idle is worth it: merging is on and the last passes still found something. */
  ksmScanning(): boolean { return this.config.ksmPages > 0 && this.settled < 2; }

  /** Each VM's console output since the last call, by name (only VMs that printed). */
  takeOutput(): { out: Record<string, string>; chars: number } {
    const out: Record<string, string> = {};
    let chars = 0;
    for (const m of this.members) {
      if (m.out === '') continue;
      out[m.spec.name] = m.out;
      chars += m.out.length;
      m.out = '';
    }
    return { out, chars };
  }

  /**
   * Same-page merging's figures for the whole host (src/host.ts ksmStats, named as Linux's
   * /sys/kernel/mm/ksm), when the config turned merging on.
   */
  ksm(): KsmStats | undefined {
    return this.config.ksmPages > 0 ? this.host.ksmStats() : undefined;
  }

  /** A VM's figures for the top table and the page's list: the scheduler's, its exits, its frames of the pool. */
  figures(m: M): { sched: VmSchedStats; exits: bigint; frames: number; cowBreaks?: number } {
    return { sched: this.sched.stats(m.vm), exits: m.vm.counters().EXITS ?? 0n, frames: this.host.framesOf(m.vm),
      ...(this.config.ksmPages > 0 ? { cowBreaks: this.host.cowBreaksOf(m.vm) } : {}) };
  }

  async close(): Promise<void> {
    for (const m of this.members) await m.vm.close();
  }
}
