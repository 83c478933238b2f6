// The harness of the determinism and continuity properties (test/properties.test.ts,
// docs/properties.md): a scripted run whose driver is a function of the VM's state and one
// number (the next input line), so that a run can be cut anywhere, its VM snapshotted and
// restored into a fresh VM, and the driver continued there from that number.
import { createHash } from 'node:crypto';
import { Stop } from '../../src/core.js';
import { Vm, type VmConfig } from '../../src/vm.js';
import { loadCoreModule } from '../../src/node/load-core.js';

/** mulberry32: a small seeded generator, so every choice a seed makes is reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What a run has produced: the console bytes, every counter, and a hash of all machine state. */
export interface Outcome {
  console: string;
  stop: string;
  instructions: bigint;
  counters: Record<string, bigint>;
  /** SHA-256 of the snapshot bytes (core state, RAM, disk) at the end. */
  state: string;
}

export interface Driver {
  /** Input lines, delivered one per idle stop, as runScripted delivers them. */
  lines: string[];
  /** The next line to deliver: the driver's only state besides the VM's. */
  next: number;
  console: string;
}

/** The largest slice one run() gets: cutting a run at any other point must change nothing. */
export const SLICE = 1_000_000;

/**
 * Run `vm` until it stops (poweroff), or until `until` instructions have retired (then it
 * returns 'cut' with the VM between two instructions). Deterministic under the instret clock
 * whatever the offload worker's timing, except for what the offload worker does on its own.
 */
export type Cut = bigint | ((vm: Vm, d: Driver) => boolean);

export function drive(vm: Vm, d: Driver, limit: number, until?: Cut): 'stopped' | 'cut' {
  let stalls = 0;
  for (;;) {
    if (typeof until === 'bigint' ? vm.instructions >= until : until?.(vm, d)) return 'cut';
    if (vm.instructions > BigInt(limit)) throw new Error(`the guest ran past ${limit} instructions without stopping`);
    const budget = typeof until !== 'bigint' ? SLICE : Math.min(SLICE, Number(until - vm.instructions));
    const r = vm.run(budget);
    d.console += vm.readConsole();
    if (r.info) return 'stopped';
    if (r.stop !== Stop.Idle) continue;
    if (vm.ioBusy()) {
      if (!vm.ioWait(1000) && ++stalls > 30) throw new Error('the offload worker stopped serving');
      continue;
    }
    stalls = 0;
    if (d.next < d.lines.length) { vm.sendInput(d.lines[d.next++]); continue; }
    if (!vm.idleSkip()) throw new Error('the guest waits for input and the script is over');
  }
}

/** SHA-256 of a snapshot, leaving out the interpreter's per-chunk scratch (Vm.snapshotScratch). */
export function hashState(vm: Vm, snap: Uint8Array): string {
  const { offset, bytes } = vm.snapshotScratch();
  return createHash('sha256').update(snap.subarray(0, offset)).update(snap.subarray(offset + bytes)).digest('hex');
}

export function outcome(vm: Vm, d: Driver, stop: string): Outcome {
  return { console: d.console, stop, instructions: vm.instructions, counters: vm.counters(), state: hashState(vm, vm.snapshot()) };
}

export interface Workload {
  config: VmConfig;
  /** Lay out the guest in a fresh VM. */
  load(vm: Vm): void;
  lines: string[];
  limit: number;
}

export async function freshVm(w: Workload): Promise<Vm> {
  const vm = await Vm.create(w.config, await loadCoreModule());
  w.load(vm);
  return vm;
}

/** One uninterrupted run. */
export async function runWhole(w: Workload): Promise<Outcome> {
  const vm = await freshVm(w);
  try {
    const d: Driver = { lines: w.lines, next: 0, console: '' };
    const stop = drive(vm, d, w.limit);
    return outcome(vm, d, stop);
  } finally { await vm.close(); }
}

/**
 * A run cut at instruction `cut`: the VM is snapshotted there and runs on to the end (`same`),
 * and a fresh VM restored from the snapshot runs from there to the end (`restored`), its
 * console the first VM's up to the cut followed by its own.
 */
export async function runCut(w: Workload, cut: Cut): Promise<{ same: Outcome; restored: Outcome; cutAt: bigint; snapshotBytes: number }> {
  const a = await freshVm(w);
  let snap: Uint8Array;
  let same: Outcome;
  let before: Driver;
  let cutAt: bigint;
  try {
    const d: Driver = { lines: w.lines, next: 0, console: '' };
    if (drive(a, d, w.limit, cut) !== 'cut') throw new Error(`the guest stopped before the cut (${String(cut)})`);
    cutAt = a.instructions;
    // Offload: the snapshot is taken with the worker idle (see docs/properties.md).
    if (a.ioBusy() && !a.ioWait(5000)) throw new Error('the offload worker stayed busy at the cut');
    snap = a.snapshot();
    d.console += a.readConsole();
    if (a.inputPending !== 0) throw new Error('input was still queued in the host at the cut');
    before = { ...d };
    same = outcome(a, d, drive(a, d, w.limit));
  } finally { await a.close(); }
  const b = await freshVm(w);
  try {
    b.restore(snap);
    const d: Driver = { ...before };
    const restored = outcome(b, d, drive(b, d, w.limit));
    return { same, restored, cutAt, snapshotBytes: snap.length };
  } finally { await b.close(); }
}
