/**
 * Runs many VMs in one Host under the credit scheduler (src/sched.ts) for the page's many-VM
 * view (web/multi.ts, docs/web.md "Many VMs"), answering the page's messages
 * (src/web/multi-protocol.ts) between slices. Environment-neutral, so the Node tests drive it.
 *
 * A slice is Scheduler.run() calls of `budgetInstructions` until `busyMs` of wall time have
 * passed; then the console output of every VM is posted (one message), stats at most every
 * `statsMs`, and the runner yields to the event loop, so a keystroke or a tab's weight change
 * waits at most about one slice. When the scheduler stops early because every VM is blocked
 * (waiting for input) or halted, the runner sleeps until input comes: VMs at their prompts
 * cost no CPU. Each VM's clock is its own instructions (docs/multi-vm.md), so only the
 * deterministic clock is offered.
 */
import { Host } from '../host.js';
import { DEFAULT_SLICE, Scheduler } from '../sched.js';
import { ioPathConfig, type Vm } from '../vm.js';
import { HvlabError } from '../errors.js';
import type { CoreSource } from '../vm.js';
import type { Instantiate } from '../core.js';
import { CONSOLE_WINDOW } from './protocol.js';
import type { MultiConfig, VmSpec } from '../multi-config.js';
import { parsePageConfig } from './multi-config.js';
import type { FromMultiWorker, MultiState, MultiVmStats, ToMultiWorker } from './multi-protocol.js';

export interface MultiTiming {
  /** Instructions per Scheduler.run() call (several scheduler slices). */
  budgetInstructions: number;
  /** The scheduler's time slice, instructions (src/sched.ts). */
  sliceInstructions: number;
  busyMs: number;
  statsMs: number;
}

export const DEFAULT_MULTI_TIMING: MultiTiming = { budgetInstructions: 1_000_000, sliceInstructions: DEFAULT_SLICE, busyMs: 30, statsMs: 200 };

const nodeImmediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;

interface Guest { spec: VmSpec; vm: Vm; image: Uint8Array; out: string; halted?: string }

/** The VMs of one accepted config: their Host, scheduler and consoles. */
interface Fleet { config: MultiConfig; host: Host; sched: Scheduler; guests: Guest[]; settled: number }

export class MultiRunner {
  private fleet?: Fleet;
  private gen = 0;
  private paused = false;
  private state: MultiState = 'starting';
  private unacked = 0;
  /** Set by input: the scheduler has a VM to wake, so the runner must not sleep. */
  private inputSinceRun = false;
  private lastStats = -Infinity;
  private wake?: () => void;
  private readonly channel?: MessageChannel;
  private readonly yielders: (() => void)[] = [];
  /** Config starts in progress, in order: a later start waits for an earlier one. */
  private starting: Promise<void> = Promise.resolve();

  constructor(private readonly post: (m: FromMultiWorker) => void, private readonly instantiate: Instantiate,
    private readonly timing: MultiTiming = DEFAULT_MULTI_TIMING) {
    if (!nodeImmediate && typeof MessageChannel !== 'undefined') {
      this.channel = new MessageChannel();
      this.channel.port1.onmessage = () => this.yielders.shift()?.();
    }
  }

  handle(msg: ToMultiWorker): void {
    switch (msg.type) {
      case 'start':
        this.starting = this.starting.then(() => this.start({ module: msg.module, instantiate: this.instantiate }, msg.configText, msg.images));
        break;
      case 'input': {
        const g = this.guest(msg.vm);
        if (!g || g.halted) return;
        g.vm.sendInput(msg.data);
        this.inputSinceRun = true;
        this.wake?.();
        break;
      }
      case 'params': {
        const g = this.guest(msg.vm);
        if (!g || !this.fleet) return;
        try {
          this.fleet.sched.setParams(g.vm, { weight: msg.weight, cap: msg.cap });
          g.spec.weight = msg.weight;
          g.spec.cap = msg.cap;
        } catch (e) {
          this.post({ type: 'state', state: this.state, message: e instanceof Error ? e.message : String(e) });
        }
        this.postStats();
        break;
      }
      case 'pause':
        if (!this.fleet || this.paused) { this.answer(); return; }
        this.paused = true;
        this.gen++;
        this.wake?.();
        this.setState('paused');
        this.postStats();
        break;
      case 'resume':
        if (!this.fleet || !this.paused) { this.answer(); return; }
        this.paused = false;
        this.run();
        break;
      case 'console-ack':
        this.unacked = Math.max(0, this.unacked - (Number.isFinite(msg.chars) ? msg.chars : 0));
        if (this.unacked <= CONSOLE_WINDOW) this.wake?.();
        break;
      case 'ping':
        this.postStats();
        break;
    }
  }

  /** Stop running and release the message channel (tests; a worker is simply terminated). */
  dispose(): void {
    this.gen++;
    this.wake?.();
    this.channel?.port1.close();
    this.channel?.port2.close();
  }

  private guest(name: string): Guest | undefined { return this.fleet?.guests.find((g) => g.spec.name === name); }

  /**
   * Make the config's Host and VMs; only when all of them exist does the new fleet replace the
   * old one. A refusal leaves what runs now running.
   */
  private async start(source: CoreSource, text: string, images: Record<string, Uint8Array>): Promise<void> {
    let fleet: Fleet;
    try {
      const config = parsePageConfig(text, Object.keys(images));
      const host = await Host.create({ poolMiB: config.poolMiB }, source);
      if (config.ksmPages > 0) host.ksm(true);
      const sched = new Scheduler({ sliceInstructions: this.timing.sliceInstructions });
      const guests: Guest[] = [];
      try {
        for (const spec of config.vms) {
          const vm = await host.createVm({ mode: spec.mode, memMiB: spec.memMiB, clock: 'instret', firmware: 'builtin',
            ...ioPathConfig(spec.io) }, spec.name);
          const g: Guest = { spec, vm, image: images[spec.image], out: '' };
          vm.onConsole = (t) => { g.out += t; };
          vm.boot({ kernel: g.image, kernelName: `${spec.image}.elf` });
          guests.push(g);
        }
      } catch (e) {
        for (const g of guests) await g.vm.close();
        throw e;
      }
      for (const g of guests) sched.add(g.vm, { weight: g.spec.weight, cap: g.spec.cap });
      fleet = { config, host, sched, guests, settled: 0 };
    } catch (e) {
      this.post({ type: 'start-error', code: e instanceof HvlabError ? e.code : 'INTERNAL', message: e instanceof Error ? e.message : String(e) });
      return;
    }
    const old = this.fleet;
    this.gen++;
    this.wake?.();
    if (old) for (const g of old.guests) await g.vm.close();
    this.fleet = fleet;
    this.paused = false;
    this.unacked = 0;
    this.lastStats = -Infinity;
    this.post({ type: 'started', poolMiB: fleet.config.poolMiB,
      vms: fleet.guests.map(({ spec }) => ({ name: spec.name, mode: spec.mode, memMiB: spec.memMiB, io: spec.io, weight: spec.weight, cap: spec.cap })) });
    this.run();
  }

  private run(): void {
    const gen = ++this.gen;
    this.setState('running');
    this.loop(gen).catch((e: unknown) => {
      this.flushConsole();
      this.setState('error', e instanceof Error ? e.message : String(e));
    });
  }

  private async loop(gen: number): Promise<void> {
    const fleet = this.fleet!;
    const { budgetInstructions, busyMs } = this.timing;
    while (gen === this.gen) {
      const t0 = performance.now();
      let waiting = false;
      this.inputSinceRun = false;
      do {
        if (fleet.sched.run(budgetInstructions) > 0) fleet.settled = 0;
        // The scheduler stops early when every VM is blocked (waiting for input) or halted.
        waiting = fleet.guests.every((g) => { const s = fleet.sched.stats(g.vm); return s.blocked || s.halted; });
      } while (!waiting && performance.now() - t0 < busyMs);
      this.scan(fleet);
      this.noteHalts(fleet);
      this.flushConsole();
      while (this.unacked > CONSOLE_WINDOW && gen === this.gen) {
        if (!await this.sleep(this.timing.statsMs)) this.postStats();
      }
      if (gen !== this.gen) return;
      // Input may have come while the console was flushed: then someone is runnable again.
      if (this.inputSinceRun) waiting = false;
      this.setState(waiting ? 'idle' : 'running');
      if (performance.now() - this.lastStats >= this.timing.statsMs) this.postStats();
      if (waiting) {
        // Nothing to run until a keystroke (or a pause, or a new config) wakes the runner;
        // meanwhile the merging scanner goes on as ksmd does, until a pass finds nothing new.
        while (gen === this.gen && !await this.sleep(this.scanning(fleet) ? this.timing.statsMs : this.timing.statsMs * 5)) {
          if (this.scanning(fleet)) this.scan(fleet);
          this.postStats();
        }
      } else {
        await this.yieldTask();
      }
    }
  }

  /**
   * Let the merging scanner look at the next `ksmPages` guest frames (after each busy loop,
   * and every `statsMs` while all VMs wait). `settled` counts full
   * passes that merged nothing and broke nothing: after two the scanner rests while the VMs
   * wait (nothing changes in a blocked VM's memory); any slice run wakes it.
   */
  private scan(fleet: Fleet): void {
    if (fleet.config.ksmPages === 0) return;
    const before = fleet.host.ksmStats();
    // Nothing to scan (every VM is pv or has TypeScript device models: never merged): rest.
    if (fleet.host.ksmScan(fleet.config.ksmPages) === 0) { fleet.settled = 2; return; }
    const after = fleet.host.ksmStats();
    const changed = after.merges !== before.merges || after.cowBreaks !== before.cowBreaks;
    if (changed) fleet.settled = 0;
    else if (after.fullScans !== before.fullScans) fleet.settled++;
  }

  /** Scanning is worth it while idle: merging is on and the last passes still found something. */
  private scanning(fleet: Fleet): boolean { return fleet.config.ksmPages > 0 && fleet.settled < 2; }

  /**
   * Why each newly halted VM stopped (its run() returns the reason without running). A guest
   * that asked for a reboot (SBI SRST) boots its image again and goes back into the scheduler,
   * whose counters for it start over.
   */
  private noteHalts(fleet: Fleet): void {
    for (const g of fleet.guests) {
      if (g.halted || !fleet.sched.stats(g.vm).halted) continue;
      const info = g.vm.run(0).info;
      if (info?.reason === 'reset') {
        g.vm.boot({ kernel: g.image, kernelName: `${g.spec.image}.elf` });
        fleet.sched.remove(g.vm);
        fleet.sched.add(g.vm, { weight: g.spec.weight, cap: g.spec.cap });
        continue;
      }
      g.halted = !info ? 'halted' : info.reason === 'pass' ? 'the guest powered off'
        : info.reason === 'fail' ? `the guest stopped with failure code ${info.code}`
        : info.message ?? `the guest stopped (${info.reason})`;
    }
  }

  private answer(): void { this.post({ type: 'state', state: this.state }); }

  private setState(state: MultiState, message?: string): void {
    if (state === this.state && message === undefined) return;
    this.state = state;
    this.post({ type: 'state', state, message });
  }

  private flushConsole(): void {
    const fleet = this.fleet;
    if (!fleet) return;
    const out: Record<string, string> = {};
    let chars = 0;
    for (const g of fleet.guests) {
      if (g.out === '') continue;
      out[g.spec.name] = g.out;
      chars += g.out.length;
      g.out = '';
    }
    if (chars === 0) return;
    this.post({ type: 'console', out });
    this.unacked += chars;
  }

  private postStats(): void {
    const fleet = this.fleet;
    if (!fleet) return;
    this.lastStats = performance.now();
    const vms: MultiVmStats[] = fleet.guests.map((g) => {
      const s = fleet.sched.stats(g.vm);
      return {
        name: g.spec.name, state: g.halted || s.halted ? 'halted' : s.blocked ? 'blocked' : 'running', message: g.halted,
        instructions: g.vm.instructions, schedInstructions: s.instructions, slices: s.slices, waits: s.waits,
        idleSkips: s.idleSkips, exits: g.vm.counters().EXITS ?? 0n, frames: fleet.host.framesOf(g.vm),
      };
    });
    const pool = fleet.host.pool();
    this.post({ type: 'stats', t: this.lastStats, state: this.state, vms, pool: { frames: pool.frames, free: pool.free },
      ...(fleet.config.ksmPages > 0 ? { ksm: fleet.host.ksmStats() } : {}) });
  }

  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wake = undefined; resolve(false); }, ms);
      this.wake = () => { clearTimeout(timer); this.wake = undefined; resolve(true); };
    });
  }

  private yieldTask(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.channel) {
        if (nodeImmediate) nodeImmediate(resolve);
        else setTimeout(resolve, 0);
        return;
      }
      this.yielders.push(resolve);
      this.channel.port2.postMessage(null);
    });
  }
}
