/**
 * Live migration of a VM between two hvlab machines (issue 12 item 5; docs/multi-vm.md
 * "Lifecycle"), by pre-copy with dirty logging, as Xen's and KVM's migration do:
 *
 *   round 0      every guest frame is sent while the guest keeps running on the source;
 *   round 1..n   the frames it wrote meanwhile (the dirty log, assembly/hv/dirty.ts) are sent,
 *                while it runs on, until the dirty set is small (stopPages) or the rounds run
 *                out (maxRounds);
 *   stop-and-copy the guest stops; the last dirty frames and its state (context, hypervisor
 *                area, disk: a Host snapshot without RAM) are sent; the target puts the state
 *                on its own frames (Host.applyMigrated) and the guest resumes there.
 *
 * The two ends talk only through MigrationMessage values (plain data: structured-clone safe,
 * so the target can be another worker or process); migrate() joins them in one process.
 *
 * Time is the guest's: sending a frame over the link costs `instructionsPerPage` guest
 * instructions (the link's speed in the guest's time), so the guest runs that long on the
 * source per frame a round sends, and the downtime is the stop-and-copy's frames and state
 * priced the same way. Everything is deterministic under the instruction-driven clock.
 */
import { HvlabError } from './errors.js';
import { Stop } from './core.js';
import { Host } from './host.js';
import type { Vm, VmConfig } from './vm.js';

export interface MigrationOptions {
  /** The most rounds of dirty frames after the first full copy (default 8). */
  maxRounds?: number;
  /** Stop and copy once a round would send at most this many frames (default 64). */
  stopPages?: number;
  /** Guest instructions the link takes to send one 4 KiB frame (default 256). */
  instructionsPerPage?: number;
  /** The VM's name on the target (default: its name on the source). */
  name?: string;
}

export interface MigrationRound { round: number; pages: number; guestInstructions: number }

export interface MigrationReport {
  /** Pre-copy rounds: round 0 sends every frame; each later one the frames written meanwhile. */
  rounds: MigrationRound[];
  /** Frames sent in the stop-and-copy, and the state's bytes (context, hypervisor area, disk). */
  stopPages: number;
  stateBytes: number;
  /** Frames sent in all. */
  totalPages: number;
  /** The guest's downtime in its instructions: the stop-and-copy priced at the link's speed. */
  downtimeInstructions: number;
  /** Why pre-copy ended: the dirty set was small, or the rounds ran out. */
  converged: boolean;
}

export type MigrationMessage =
  | { type: 'begin'; config: VmConfig; name: string; frames: number }
  | { type: 'pages'; round: number; gfns: number[]; data: Uint8Array }
  | { type: 'commit'; state: Uint8Array };

/**
 * Run `vm` for `instructions` of its own (fewer if it halts or blocks waiting for input):
 * idle time passes as under the instruction-driven clock. Returns the instructions retired.
 */
export function advance(vm: Vm, instructions: number): number {
  const start = vm.instructions;
  for (let guard = 0; guard < 1_000_000; guard++) {
    const left = instructions - Number(vm.instructions - start);
    if (left <= 0) break;
    const r = vm.run(left);
    if (r.stop === Stop.Budget || r.stop === Stop.Halt || r.stop === Stop.Error) break;
    if (r.stop === Stop.Idle && !vm.idleSkip()) break;
  }
  return Number(vm.instructions - start);
}

/** The migration's source end: yields the messages, running the guest between rounds. */
export class MigrationSource {
  readonly report: MigrationReport = { rounds: [], stopPages: 0, stateBytes: 0, totalPages: 0, downtimeInstructions: 0, converged: false };
  private readonly maxRounds: number;
  private readonly stopPages: number;
  private readonly perPage: number;

  constructor(private readonly host: Host, private readonly vm: Vm, opts: MigrationOptions = {}) {
    this.maxRounds = opts.maxRounds ?? 8;
    this.stopPages = opts.stopPages ?? 64;
    this.perPage = opts.instructionsPerPage ?? 256;
    for (const [k, v, min] of [['maxRounds', this.maxRounds, 0], ['stopPages', this.stopPages, 0], ['instructionsPerPage', this.perPage, 1]] as const) {
      if (!Number.isInteger(v) || v < min) throw new HvlabError('BAD_MIGRATION', `${k} must be a whole number from ${min}, got ${v}`);
    }
    Host.relocatable(vm.config.mode, 'migration');
    if (vm.config.io !== 'core' && vm.config.virtio) {
      throw new HvlabError('NOT_SUPPORTED', `migration of a VM whose virtio devices are served by the '${vm.config.io}' backend: its writes to guest memory are not logged; use io 'core'`);
    }
  }

  *messages(name: string): Generator<MigrationMessage> {
    const { host, vm } = this;
    const frames = Number(vm.ramSize / 4096n);
    yield { type: 'begin', config: vm.portableConfig(), name, frames };
    host.dirtyStart(vm);
    try {
      let gfns = Array.from({ length: frames }, (_, g) => g);
      for (let round = 0; ; round++) {
        yield { type: 'pages', round, gfns, data: host.readFrames(vm, gfns) };
        const ran = advance(vm, gfns.length * this.perPage);
        this.report.rounds.push({ round, pages: gfns.length, guestInstructions: ran });
        this.report.totalPages += gfns.length;
        gfns = host.dirtyFetch(vm);
        if (gfns.length <= this.stopPages) { this.report.converged = true; break; }
        if (round >= this.maxRounds) break;
      }
      // Stop and copy: the guest runs no more here.
      const state = host.snapshot(vm, { ram: false });
      yield { type: 'pages', round: -1, gfns, data: host.readFrames(vm, gfns) };
      yield { type: 'commit', state };
      this.report.stopPages = gfns.length;
      this.report.stateBytes = state.length;
      this.report.totalPages += gfns.length;
      this.report.downtimeInstructions = (gfns.length + Math.ceil(state.length / 4096)) * this.perPage;
    } finally {
      host.dirtyStop(vm);
    }
  }
}

/** The migration's target end: makes the VM on `begin`, writes frames, resumes it on `commit`. */
export class MigrationTarget {
  vm?: Vm;
  private committed = false;
  constructor(private readonly host: Host) {}

  async receive(m: MigrationMessage): Promise<void> {
    if (this.committed) throw new HvlabError('BAD_MIGRATION', `a '${m.type}' message after the migration was committed`);
    if (m.type === 'begin') {
      if (this.vm) throw new HvlabError('BAD_MIGRATION', 'a second begin message');
      this.vm = await this.host.createVm(m.config, m.name);
      return;
    }
    if (!this.vm) throw new HvlabError('BAD_MIGRATION', `a '${m.type}' message before begin`);
    if (m.type === 'pages') { this.host.writeFrames(this.vm, m.gfns, m.data); return; }
    this.host.applyMigrated(this.vm, m.state);
    this.committed = true;
  }
}

/** Where a migration's messages go: a MigrationTarget here, or one on another thread. */
export interface MigrationSink { receive(m: MigrationMessage): Promise<void> }

/**
 * Move `vm` out of host `from`, live, to whatever `sink` delivers the messages to. The source VM
 * is destroyed afterwards (its console output up to the stop stays readable with
 * readConsole). If the sink fails, the source VM is left running where it was.
 */
export async function migrateTo(vm: Vm, from: Host, sink: MigrationSink, opts: MigrationOptions = {}): Promise<MigrationReport> {
  const source = new MigrationSource(from, vm, opts);
  for (const m of source.messages(opts.name ?? from.nameOf(vm) ?? 'migrated')) await sink.receive(m);
  await vm.close();
  return source.report;
}

/**
 * Move `vm` from host `from` to host `to` (both in this thread), live. The returned VM
 * continues on the target; on failure the target's half-made VM is destroyed.
 */
export async function migrate(vm: Vm, from: Host, to: Host, opts: MigrationOptions = {}): Promise<{ vm: Vm; report: MigrationReport }> {
  const target = new MigrationTarget(to);
  try {
    const report = await migrateTo(vm, from, target, opts);
    return { vm: target.vm!, report };
  } catch (e) {
    await target.vm?.close();
    throw e;
  }
}
