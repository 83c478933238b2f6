/**
 * Runs many VMs in one Host under the credit scheduler for the page's many-VM view (web/multi.ts,
 * docs/web.md "Many VMs"), answering the page's messages (src/web/multi-protocol.ts) between
 * slices. The VMs, the scheduler, merging and stops are the shared driver's (src/multi-fleet.ts,
 * as the CLI's); what is here is the worker's timing and messages. Environment-neutral, so the
 * Node tests drive it.
 *
 * A slice is Fleet.run() calls of `budgetInstructions` until `busyMs` of wall time have
 * passed; then the console output of every VM is posted (one message), stats at most every
 * `statsMs`, and the runner yields to the event loop, so a keystroke or a tab's weight change
 * waits at most about one slice. When the scheduler stops early because every VM is blocked
 * (waiting for input) or halted, the runner sleeps until input comes: VMs at their prompts
 * cost no CPU. Each VM's clock is its own instructions (docs/multi-vm.md), so only the
 * deterministic clock is offered.
 */
import { DEFAULT_SLICE } from '../sched.js';
import { specIoConfig } from '../multi-config.js';
import { HvlabError } from '../errors.js';
import type { CoreSource } from '../vm.js';
import type { Instantiate } from '../core.js';
import { Fleet, type FleetMember } from '../multi-fleet.js';
import { haltMessage, SliceLoop } from './slice-loop.js';
import { parsePageConfig } from './multi-config.js';
import type { FromMultiWorker, MultiState, MultiVmStats, ToMultiWorker } from './multi-protocol.js';

export interface MultiTiming {
  /** Instructions per Fleet.run() call (several scheduler slices). */
  budgetInstructions: number;
  /** The scheduler's time slice, instructions (src/sched.ts). */
  sliceInstructions: number;
  busyMs: number;
  statsMs: number;
}

export const DEFAULT_MULTI_TIMING: MultiTiming = { budgetInstructions: 1_000_000, sliceInstructions: DEFAULT_SLICE, busyMs: 30, statsMs: 200 };

export class MultiRunner extends SliceLoop<MultiState, FromMultiWorker> {
  private fleet?: Fleet;
  /** Set by input: the scheduler has a VM to wake, so the runner must not sleep. */
  private inputSinceRun = false;
  /** Config starts in progress, in order: a later start waits for an earlier one. */
  private starting: Promise<void> = Promise.resolve();

  constructor(post: (m: FromMultiWorker) => void, private readonly instantiate: Instantiate,
    private readonly timing: MultiTiming = DEFAULT_MULTI_TIMING) {
    super(post, 'starting');
  }

  handle(msg: ToMultiWorker): void {
    switch (msg.type) {
      case 'start':
        this.starting = this.starting.then(() => this.start({ module: msg.module, instantiate: this.instantiate }, msg.configText, msg.images));
        break;
      case 'input': {
        const g = this.guest(msg.vm);
        if (!g || g.stop) return;
        g.vm.sendInput(msg.data);
        this.inputSinceRun = true;
        this.wakeUp();
        break;
      }
      case 'params': {
        const g = this.guest(msg.vm);
        if (!g || !this.fleet) return;
        try {
          this.fleet.setParams(g, msg.weight, msg.cap);
        } catch (e) {
          this.post({ type: 'state', state: this.state, message: e instanceof Error ? e.message : String(e) });
        }
        this.postStats();
        break;
      }
      case 'pause': this.pause(this.fleet !== undefined); break;
      case 'resume': this.resume(this.fleet !== undefined); break;
      case 'console-ack':
        this.consoleAck(msg.chars);
        break;
      case 'ping':
        this.postStats();
        break;
    }
  }

  private guest(name: string): FleetMember | undefined { return this.fleet?.members.find((g) => g.spec.name === name); }

  /**
   * Make the config's Host and VMs; only when all of them exist does the new fleet replace the
   * old one. A refusal leaves what runs now running.
   */
  private async start(source: CoreSource, text: string, images: Record<string, Uint8Array>): Promise<void> {
    let fleet: Fleet;
    try {
      const config = parsePageConfig(text, Object.keys(images));
      fleet = await Fleet.create(config, source, {
        prepare: (spec) => ({ image: images[spec.image], kernelName: `${spec.image}.elf`,
          config: { clock: 'instret', firmware: 'builtin', ...specIoConfig(spec) } }),
        sliceInstructions: this.timing.sliceInstructions,
        rebootOnReset: true,
        bufferOutput: true,
      });
    } catch (e) {
      this.post({ type: 'start-error', code: e instanceof HvlabError ? e.code : 'INTERNAL', message: e instanceof Error ? e.message : String(e) });
      return;
    }
    const old = this.fleet;
    this.gen++;
    this.wakeUp();
    if (old) await old.close();
    this.fleet = fleet;
    this.paused = false;
    this.unacked = 0;
    this.lastStats = -Infinity;
    this.post({ type: 'started', poolMiB: fleet.config.poolMiB,
      vms: fleet.members.map(({ spec }) => ({ name: spec.name, mode: spec.mode, memMiB: spec.memMiB, io: spec.io, weight: spec.weight, cap: spec.cap })) });
    this.startLoop();
  }

  protected async loop(gen: number): Promise<void> {
    const fleet = this.fleet!;
    const { budgetInstructions, busyMs } = this.timing;
    while (gen === this.gen) {
      const t0 = performance.now();
      let waiting = false;
      this.inputSinceRun = false;
      do {
        fleet.run(budgetInstructions);
        // The scheduler stops early when every VM is blocked (waiting for input) or halted.
        waiting = fleet.allBlocked();
      } while (!waiting && performance.now() - t0 < busyMs);
      this.flushConsole();
      await this.waitForConsoleAck(gen, this.timing.statsMs);
      if (gen !== this.gen) return;
      // Input may have come while the console was flushed: then someone is runnable again.
      if (this.inputSinceRun) waiting = false;
      this.setState(waiting ? 'idle' : 'running');
      if (performance.now() - this.lastStats >= this.timing.statsMs) this.postStats();
      if (waiting) {
        // Nothing to run until a keystroke (or a pause, or a new config) wakes the runner;
        // meanwhile the merging scanner goes on as ksmd does, until a pass finds nothing new.
        while (gen === this.gen && !await this.sleep(fleet.ksmScanning() ? this.timing.statsMs : this.timing.statsMs * 5)) {
          fleet.ksmIdleStep();
          this.postStats();
        }
      } else {
        await this.yieldTask();
      }
    }
  }

  protected flushConsole(): void {
    const fleet = this.fleet;
    if (!fleet) return;
    const { out, chars } = fleet.takeOutput();
    if (chars === 0) return;
    this.post({ type: 'console', out });
    this.unacked += chars;
  }

  protected postStats(): void {
    const fleet = this.fleet;
    if (!fleet) return;
    this.lastStats = performance.now();
    const vms: MultiVmStats[] = fleet.members.map((g) => {
      const { sched: s, exits, frames } = fleet.figures(g);
      return {
        name: g.spec.name, state: g.stop || s.halted ? 'halted' : s.blocked ? 'blocked' : 'running', message: g.stop && haltMessage(g.stop),
        instructions: g.vm.instructions, schedInstructions: s.instructions, slices: s.slices, waits: s.waits,
        idleSkips: s.idleSkips, exits, frames,
      };
    });
    const pool = fleet.host.pool();
    this.post({ type: 'stats', t: this.lastStats, state: this.state, vms, pool: { frames: pool.frames, free: pool.free },
      ...(fleet.ksm() ? { ksm: fleet.ksm() } : {}) });
  }
}
