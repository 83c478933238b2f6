/**
 * The VMs of a config file (src/cli/multi-config.ts) running in one Host under the Scheduler:
 * made all at once (a config starts whole or not at all), their consoles kept apart, their
 * scripted input typed line by line whenever each waits for it, and the per-VM table that
 * `hvlab top` and Ctrl-A T print. The CLI commands (multi-run.ts, top.ts) drive it.
 */
import { readFile } from 'node:fs/promises';
import { HvlabError } from '../errors.js';
import { Host, type KsmStats } from '../host.js';
import { Scheduler, type VmSchedStats } from '../sched.js';
import { ioPathConfig, inputLines, type CoreSource, type StopInfo, type Vm } from '../vm.js';
import type { MultiConfig, VmSpec } from './multi-config.js';
import { ConsoleTail } from './mux.js';

/**
 * A VM with a timer armed is never blocked (the scheduler skips its idle time): it counts as
 * waiting for input once it has idled 1 s of its own guest time (10 MHz ticks) without
 * printing, as runScripted (src/vm.ts) decides for a VM alone.
 */
export const QUIET_TICKS = 10_000_000n;

export interface Member {
  index: number;
  spec: VmSpec;
  vm: Vm;
  /** its recent console output, replayed when the terminal switches to it */
  tail: ConsoleTail;
  /** scripted input not yet typed, a line at a time */
  lines: string[];
  /** why it stopped, once it has */
  stop?: StopInfo;
  /** the drive file's bytes as read (to write back only what changed) */
  drive?: Uint8Array;
  outputSeen: number;
  quietSince: bigint;
  idleSkipsSeen: number;
  /** a line went into it while it was blocked: it is not waiting until the scheduler wakes it */
  typedWhileBlocked: boolean;
}

/** The scanner looks at the config's `ksm` pages per this many instructions the machine runs. */
export const KSM_PERIOD = 1_000_000;

export class Fleet {
  /** Called with each VM's console output as it comes (after it is kept in the tail). */
  onOutput?: (m: Member, text: string) => void;
  /** Called once when a VM stops (powers off, fails, or hits an error). */
  onStop?: (m: Member) => void;
  /** Instructions the scheduler has run in all. */
  total = 0;
  /** Instructions run since the merging scanner last looked. */
  private ksmDebt = 0;

  readonly sched: Scheduler;
  readonly members: Member[] = [];
  private readonly byVm = new Map<Vm, Member>();

  private constructor(readonly config: MultiConfig, readonly host: Host) {
    this.sched = new Scheduler({ sliceInstructions: config.sliceInstructions, onIdle: (vm) => this.typeLine(this.byVm.get(vm)!) });
  }

  /**
   * Make the Host and every VM, and load each VM's image. Anything wrong (an image that does
   * not load, a pool too small for the VMs' tables) is an HvlabError naming the VM, raised
   * before any VM has run an instruction.
   */
  static async create(config: MultiConfig, source: CoreSource): Promise<Fleet> {
    const host = await Host.create({ poolMiB: config.poolMiB }, source);
    if (config.ksmPages > 0) {
      try { host.ksm(true); } catch (e) {
        if (e instanceof HvlabError) throw new HvlabError(e.code, `${config.path}: ksm: ${e.message}`);
        throw e;
      }
    }
    const fleet = new Fleet(config, host);
    for (const [index, spec] of config.vms.entries()) {
      const where = `${config.path}: VM '${spec.name}'`;
      const image = new Uint8Array(await readFile(spec.imagePath));
      if (image.length === 0) throw new HvlabError('BAD_IMAGE', `${where}: image ${spec.imagePath}: the file is empty`);
      let drive: Uint8Array | undefined;
      if (spec.drivePath !== undefined) {
        drive = new Uint8Array(await readFile(spec.drivePath));
        if (drive.length === 0 || drive.length % 512 !== 0) {
          throw new HvlabError('BAD_DRIVE', `${where}: drive ${spec.drivePath}: ${drive.length} bytes is not a whole number of 512-byte sectors`);
        }
      }
      let vm: Vm;
      try {
        vm = await host.createVm({ mode: spec.mode, memMiB: spec.memMiB, bootargs: spec.append,
          ...ioPathConfig(spec.io, drive ?? spec.diskBytes) }, spec.name);
        vm.boot({ kernel: image, kernelName: spec.imagePath });
      } catch (e) {
        // Host and loader messages name the VM or the file; say which config entry it was.
        if (e instanceof HvlabError) throw new HvlabError(e.code, e.message.startsWith(`VM '${spec.name}'`) ? `${config.path}: ${e.message}` : `${where}: ${e.message}`);
        throw e;
      }
      const m: Member = { index, spec, vm, tail: new ConsoleTail(), lines: inputLines(spec.input ?? ''), drive,
        outputSeen: 0, quietSince: 0n, idleSkipsSeen: 0, typedWhileBlocked: false };
      vm.onConsole = (text) => { m.tail.push(text); fleet.onOutput?.(m, text); };
      fleet.members.push(m);
      fleet.byVm.set(vm, m);
      fleet.sched.add(vm, { weight: spec.weight, cap: spec.cap });
    }
    return fleet;
  }

  stats(m: Member): VmSchedStats { return this.sched.stats(m.vm); }

  /**
   * Type the next scripted line into a VM that waits for input: at each of its idle stops
   * (the scheduler's onIdle, as runScripted in src/vm.ts types a line at every idle stop), and
   * into VMs already blocked when lines were queued for them (deliverLines).
   */
  private typeLine(m: Member): void {
    if (m.lines.length === 0 || m.stop || m.vm.inputPending > 0) return;
    m.vm.sendInput(m.lines.shift()!);
  }

  deliverLines(): void {
    for (const m of this.members) {
      if (m.lines.length === 0 || m.stop || !this.sched.stats(m.vm).blocked) continue;
      this.typeLine(m);
      m.typedWhileBlocked = true;
    }
  }

  /** Run up to `budget` instructions in all; returns those retired. */
  run(budget: number): number {
    let ran = this.sched.run(budget);
    // Nothing ran because the VMs that could run wait for their offload workers (an idle guest
    // whose request is in a worker's hands is not blocked): give the workers a moment, as the
    // hart would spend it idle, and run again (bounded: a worker that stopped serving is
    // reported by ioWait's caller elsewhere, not waited on forever here).
    for (let tries = 0; ran === 0 && tries < 200; tries++) {
      const waiting = this.members.filter((m) => !m.stop && !this.sched.stats(m.vm).halted && m.vm.ioBusy());
      if (waiting.length === 0) break;
      for (const m of waiting) m.vm.ioWait(5);
      ran = this.sched.run(budget);
    }
    this.total += ran;
    // The merging scanner runs on the machine's instructions, as ksmd on its timer: `ksm`
    // pages per KSM_PERIOD, so the merges are the same on every run.
    if (this.config.ksmPages > 0) {
      this.ksmDebt += ran;
      for (; this.ksmDebt >= KSM_PERIOD; this.ksmDebt -= KSM_PERIOD) this.host.ksmScan(this.config.ksmPages);
    }
    // The scheduler's first act in run() is to wake the VMs that input came for.
    for (const m of this.members) m.typedWhileBlocked = false;
    for (const m of this.members) {
      if (m.stop || !this.sched.stats(m.vm).halted) continue;
      // A stopped Vm's run() returns why it stopped without running (src/vm.ts).
      m.stop = m.vm.run(0).info;
      this.onStop?.(m);
    }
    return ran;
  }

  /**
   * The VM has nothing to do until someone types: it stopped, or it waits for input (blocked,
   * or idling silently past QUIET_TICKS) with no scripted line left for it.
   */
  waiting(m: Member): boolean {
    if (m.stop) return true;
    if (m.lines.length > 0 || m.vm.inputPending > 0 || m.typedWhileBlocked) return false;
    const st = this.sched.stats(m.vm);
    if (st.halted || st.blocked) return true;
    const now = m.vm.mtime;
    if (m.vm.outputBytes !== m.outputSeen) {
      m.outputSeen = m.vm.outputBytes;
      m.quietSince = now;
      m.idleSkipsSeen = st.idleSkips;
      return false;
    }
    return st.idleSkips > m.idleSkipsSeen && now - m.quietSince >= QUIET_TICKS;
  }

  allWaiting(): boolean { return this.members.every((m) => this.waiting(m)); }

  /** The state `hvlab top` shows: running, blocked (waits for input), or how it stopped. */
  state(m: Member): string {
    if (m.stop) return m.stop.reason === 'fail' ? `fail(${m.stop.code})` : m.stop.reason;
    return this.sched.stats(m.vm).blocked ? 'blocked' : 'running';
  }

  /**
   * Same-page merging's figures for the whole host (src/host.ts ksmStats, named as Linux's
   * /sys/kernel/mm/ksm), when the config turned merging on.
   */
  ksm(): KsmStats | undefined {
    return this.config.ksmPages > 0 ? this.host.ksmStats() : undefined;
  }

  /** The guests' disk writes go back to their drive files (only what changed). */
  async writeBackDrives(write: (path: string, data: Uint8Array) => Promise<void>): Promise<void> {
    for (const m of this.members) {
      if (m.spec.drivePath === undefined || !m.drive) continue;
      const disk = m.vm.disk();
      if (disk && !Buffer.from(disk).equals(Buffer.from(m.drive))) await write(m.spec.drivePath, disk);
    }
  }

  /** Per-VM statistics for --stats: the single-VM document's counters plus the scheduler's. */
  statsDocument(): Record<string, unknown> {
    const pool = this.host.pool();
    return {
      config: this.config.path,
      pool: { MiB: this.config.poolMiB, frames: pool.frames, free: pool.free },
      instructions: this.total,
      ...(this.ksm() ? { ksm: this.ksm() } : {}),
      vms: this.members.map((m) => {
        const st = this.sched.stats(m.vm);
        return {
          name: m.spec.name, image: m.spec.image, mode: m.spec.mode, memMiB: m.spec.memMiB, io: m.spec.io,
          weight: m.spec.weight, cap: m.spec.cap, state: this.state(m), stop: m.stop ?? null,
          frames: this.host.framesOf(m.vm),
          ...(this.config.ksmPages > 0 ? { cowBreaks: this.host.cowBreaksOf(m.vm) } : {}),
          scheduler: { instructions: Number(st.instructions), slices: st.slices, waits: st.waits, idleSkips: st.idleSkips,
            share: this.total > 0 ? Number(st.instructions) / this.total : 0 },
          ...m.vm.stats(),
        };
      }),
    };
  }

  async close(): Promise<void> {
    for (const m of this.members) await m.vm.close();
  }
}

/** What a table row needs from the interval before it: each VM's instructions then. */
export type TopMark = bigint[];

/**
 * The `hvlab top` table (xentop's batch layout): one row per VM with its cumulative
 * instructions, its share of the instructions run since `since`, its exits, slices and waits,
 * its frames of the pool, and with merging on its copy-on-write breaks and a line of the
 * host's merging figures. Returns the text and the mark the next table's shares start from.
 */
export function topTable(fleet: Fleet, since: TopMark | undefined, title: string): { text: string; mark: TopMark } {
  const ksm = fleet.ksm();
  const rows = fleet.members.map((m) => ({ m, st: fleet.stats(m), exits: m.vm.counters().EXITS ?? 0n }));
  const mark = rows.map((r) => r.st.instructions);
  const delta = rows.map((r, i) => r.st.instructions - (since?.[i] ?? 0n));
  const sum = delta.reduce((a, b) => a + b, 0n);
  const header = ['NAME', 'MODE', 'STATE', 'INSTRUCTIONS', 'SHARE%', 'EXITS', 'SLICES', 'WAITS', 'FRAMES', ...(ksm ? ['COW'] : [])];
  const body = rows.map((r, i) => [
    r.m.spec.name, r.m.spec.mode, fleet.state(r.m), r.st.instructions.toString(),
    sum > 0n ? (Number((delta[i] * 20000n + sum) / (2n * sum)) / 100).toFixed(2) : '0.00', // rounded to 0.01
    r.exits.toString(), String(r.st.slices), String(r.st.waits), String(fleet.host.framesOf(r.m.vm)),
    ...(ksm ? [String(fleet.host.cowBreaksOf(r.m.vm))] : []),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c].length)));
  // Names, modes and states read left-aligned; numbers right-aligned, as xentop prints them.
  const line = (cells: string[]) => cells.map((s, c) => (c < 3 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join('  ').trimEnd();
  const pool = fleet.host.pool();
  const lines = [title + ` (pool ${fleet.config.poolMiB} MiB, ${pool.free} of ${pool.frames} frames free)`, line(header), ...body.map(line)];
  if (ksm) {
    lines.push(`KSM: pages_shared ${ksm.pagesShared}, pages_sharing ${ksm.pagesSharing}, pages_unshared ${ksm.pagesUnshared}, ` +
      `full_scans ${ksm.fullScans}, cow_breaks ${ksm.cowBreaks}; its tables take ${ksm.tableFrames} frames`);
  }
  return { text: lines.join('\n') + '\n', mark };
}
