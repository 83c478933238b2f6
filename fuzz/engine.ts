/**
 * Running one fuzz input on a machine, with the oracle (docs/reliability.md "The oracle"):
 *
 * - no host exception: Vm.load and Vm.run never throw for any guest behaviour;
 * - a budget is a budget: every run(n) returns and retires at most n instructions;
 * - the hypervisor's memory no guest may write is untouched: in the VM modes the unused parts
 *   of the hypervisor area (the padding after the shadow pool, and the G-stage area where the
 *   mode does not use it, as test/hostile.test.ts lays them out) are filled with a pattern
 *   before the input and must hold it after;
 * - the core's own constant memory is untouched: the last 256 KiB below guest RAM (the
 *   compressed-instruction expansion table and its padding: docs/memory-map.md), the mask ROM,
 *   and everything between the end of machine RAM and the disk and after the disk;
 * - shadow coherence: in trap-emulate and hvm-shadow, every shadow entry agrees with the
 *   guest's tables after each input (assembly/hv/shadow.ts shadowIncoherent).
 */
import { createHash } from 'node:crypto';
import { ioPathConfig, Vm, type HypervisorLayout, type IoPath, type Mode, type StopInfo, type VmConfig } from '../src/vm.js';
import { Stop, type CoreExports } from '../src/core.js';
import { loadCoreModule } from '../src/node/load-core.js';
import { TRAP_COUNT_OFF, buildImage, imageBase, type Flavour, type HarnessInput } from './harness.js';

export const FUZZ_MEM_MIB = 16;
/** Disk size for setups with a block device or emudisk. */
export const FUZZ_DISK_BYTES = 64 * 1024;

export interface Setup {
  mode: Mode;
  firmware: 'none' | 'builtin';
  /** I/O path: virtio devices on a backend, or emudisk ('emulated'); none without. */
  io?: IoPath;
}
export const setupName = (s: Setup) => `${s.mode}/${s.firmware}${s.io ? `/${s.io}` : ''}`;
export const flavourOf = (s: Setup): Flavour => (s.mode === 'pv' ? 'pv' : s.firmware === 'none' ? 'm' : 's');

/** Every execution mode; native twice (M-mode with firmware none, S-mode under the builtin SBI). */
export const ALL_MODES: Setup[] = [
  { mode: 'native', firmware: 'none' },
  { mode: 'native', firmware: 'builtin' },
  { mode: 'trap-emulate', firmware: 'builtin' },
  { mode: 'hvm-shadow', firmware: 'builtin' },
  { mode: 'hvm-nested', firmware: 'builtin' },
  { mode: 'pv', firmware: 'builtin' },
];

export interface Outcome {
  stop?: StopInfo;
  regs: bigint[];
  /** Counter deltas over the input (after the load). */
  counters: Record<string, bigint>;
  retired: bigint;
  /** The harness handler's run count (harness.ts TRAP_COUNT_OFF), read from guest memory. */
  handlerRuns: bigint;
}


/** A generated machine input. */
export interface MachineCase {
  input: HarnessInput;
  /** Instruction budget for the whole input. */
  budget: number;
  /** Whether the input reached the code under test (each target says how it counts). */
  reached(o: Outcome): boolean;
}

export class FuzzFailure extends Error {
  constructor(readonly kind: 'host-exception' | 'budget' | 'escape' | 'shadow-incoherent' | 'hang', message: string) {
    super(message);
  }
}

const PATTERN = 0x5a17c0de5a17c0den;
const SLICE = 4096;
/** The compressed-instruction table and padding just below guest RAM (docs/memory-map.md). */
const RVC_TABLE_BYTES = 256 * 1024;
/** One input may take this long in wall time before it counts as a hang. */
export const HANG_MS = 5000;

/**
 * The parts of the hypervisor area (Vm.hypervisorLayout, assembly/hv/vm.ts) no structure uses
 * after reset and that no guest action may write: [start, end) offsets into machine RAM. The
 * G-stage tables are used only under hvm-nested.
 */
function untouchableHvRegions(mode: Mode, l: HypervisorLayout): Array<[number, number]> {
  const regions: Array<[number, number]> = [[l.shadowEnd, l.hvBytes]];
  if (mode !== 'hvm-nested') regions.push([l.gstageRoot, l.gstageEnd]);
  return regions.filter(([s, e]) => e > s);
}

/** The core behind a Vm: the fuzzers read the mask ROM's address, which Vm does not export. */
const coreOf = (vm: Vm) => (vm as unknown as { core: CoreExports }).core;

/**
 * Run `vm` a slice at a time for at most `budget` instructions, until it stops or idles with no
 * timer armed (idle time with one is skipped). The oracle's budget and hang checks: every
 * run(n) retires at most n instructions (FuzzFailure 'budget'), and the whole ends within
 * HANG_MS of `t0` (FuzzFailure 'hang'). Returns the stop, if there was one. `who` prefixes the
 * messages when several VMs run in one input (fuzz/targets/xvm.ts).
 */
export function runBudgeted(vm: Vm, budget: number, t0 = performance.now(), who = ''): StopInfo | undefined {
  const name = who ? `${who}: ` : '';
  let spent = 0;
  while (spent < budget) {
    const slice = Math.min(SLICE, budget - spent);
    const i0 = vm.instructions;
    const r = vm.run(slice);
    const did = vm.instructions - i0;
    if (did > BigInt(slice)) throw new FuzzFailure('budget', `${name}run(${slice}) retired ${did} instructions`);
    spent += slice;
    vm.readConsole();
    if (r.info) return r.info;
    if (r.stop === Stop.Idle && !vm.idleSkip()) return { reason: 'idle', code: 0 };
    if (performance.now() - t0 > HANG_MS) throw new FuzzFailure('hang', `${name}input still running after ${HANG_MS} ms (${spent} of ${budget} budget)`);
  }
  return undefined;
}

export class Machine {
  readonly setup: Setup;
  readonly vm: Vm;
  private constructor(setup: Setup, vm: Vm) { this.setup = setup; this.vm = vm; }

  static async create(setup: Setup): Promise<Machine> {
    const cfg: VmConfig = { mode: setup.mode, firmware: setup.firmware, memMiB: FUZZ_MEM_MIB };
    if (setup.io) Object.assign(cfg, ioPathConfig(setup.io, FUZZ_DISK_BYTES));
    return new Machine(setup, await Vm.create(cfg, await loadCoreModule()));
  }

  private constantRegions(): Array<[number, number]> {
    const ram = this.vm.ram();
    const ramHost = ram.byteOffset;
    const ramEnd = ramHost + ram.length;
    const bufEnd = ram.buffer.byteLength;
    const disk = this.vm.disk();
    const regions: Array<[number, number]> = [[ramHost - RVC_TABLE_BYTES, ramHost]];
    const core = coreOf(this.vm);
    const mrom = core.mromPtr() >>> 0;
    regions.push([mrom, mrom + core.mromBytes()]);
    if (disk) {
      regions.push([ramEnd, disk.byteOffset], [disk.byteOffset + disk.length, bufEnd]);
    } else {
      regions.push([ramEnd, bufEnd]);
    }
    return regions.filter(([s, e]) => e > s);
  }

  private hash(regions: Array<[number, number]>): string {
    const mem = new Uint8Array(this.vm.ram().buffer);
    const h = createHash('sha1');
    for (const [s, e] of regions) h.update(mem.subarray(s, e));
    return h.digest('hex');
  }

  /** Run one input under the oracle; throws FuzzFailure on any violation. */
  runCase(c: MachineCase, name = 'fuzz'): Outcome {
    const vm = this.vm;
    const t0 = performance.now();
    const image = buildImage(flavourOf(this.setup), c.input);
    try {
      vm.load(image, name, imageBase(flavourOf(this.setup)));
    } catch (e) {
      throw new FuzzFailure('host-exception', `load: ${(e as Error).stack ?? e}`);
    }
    const ram = vm.ram();
    const layout = vm.hypervisorLayout();
    const hvRegions = layout ? untouchableHvRegions(this.setup.mode, layout) : [];
    for (const [s, e] of hvRegions) new BigUint64Array(ram.buffer, ram.byteOffset + s, (e - s) / 8).fill(PATTERN);
    const constant = this.constantRegions();
    const before = this.hash(constant);
    const start = vm.instructions;
    const counters0 = vm.counters();
    let stop: StopInfo | undefined;
    try {
      stop = runBudgeted(vm, c.budget, t0);
    } catch (e) {
      if (e instanceof FuzzFailure) throw e;
      throw new FuzzFailure('host-exception', `run: ${(e as Error).stack ?? e}`);
    }
    for (const [s, e] of hvRegions) {
      const words = new BigUint64Array(ram.buffer, ram.byteOffset + s, (e - s) / 8);
      const bad = words.findIndex((w) => w !== PATTERN);
      if (bad >= 0) throw new FuzzFailure('escape', `hypervisor memory at machine RAM offset 0x${(s + bad * 8).toString(16)} changed (0x${words[bad].toString(16)})`);
    }
    if (this.hash(constant) !== before) {
      throw new FuzzFailure('escape', `core memory outside the VM changed (regions ${constant.map(([s, e]) => `[0x${s.toString(16)}, 0x${e.toString(16)})`).join(' ')})`);
    }
    if (this.setup.mode === 'trap-emulate' || this.setup.mode === 'hvm-shadow') {
      const n = vm.shadowIncoherence();
      if (n !== 0) throw new FuzzFailure('shadow-incoherent', `${n} shadow entries disagree with the guest's tables`);
    }
    const counters = vm.counters();
    for (const k of Object.keys(counters)) counters[k] -= counters0[k] ?? 0n;
    return { stop, regs: vm.registers(), counters, retired: vm.instructions - start, handlerRuns: this.readGuest64(imageBase(flavourOf(this.setup)) + BigInt(TRAP_COUNT_OFF)) };
  }

  /** A u64 of guest-physical memory (through the VM's map in the VM modes). */
  private readGuest64(gpa: bigint): bigint {
    const mem = this.vm.ram();
    const host = this.setup.mode === 'native' ? mem.byteOffset + Number(gpa - 0x8000_0000n) : coreOf(this.vm).guestPageHost(gpa) >>> 0;
    if (host === 0) return 0n;
    return new DataView(mem.buffer).getBigUint64(host + (this.setup.mode === 'native' ? 0 : Number(gpa & 4095n)), true);
  }

  async close(): Promise<void> { await this.vm.close(); }
}
