/**
 * Measuring hvos workloads in each execution mode: boot hvos to its prompt, then run one shell
 * command and take the difference of every counter, so boot costs are left out. Used by
 * `hvlab bench` and by the tests that assert the trade-offs the literature reports.
 */
import { Stop } from '../core.js';
import { IO_STALL_LIMIT, ioPathConfig, MODES, Vm, type CoreSource, type IoPath, type Mode } from '../vm.js';
import { modeledCycles, type CostTable, type CycleBreakdown } from '../cost-model.js';
import { HvlabError } from '../errors.js';

/** The standard set: hvos's `bench` parameters (docs/hvos.md), one isolated cost each. */
export const WORKLOADS: Readonly<Record<string, string>> = {
  compute: 'compute 200000',
  memwalk: 'memwalk 512 8',
  ptchurn: 'ptchurn 16 32',
  spawn: 'spawn 20',
  syscall: 'syscall 20000',
  ctxsw: 'ctxsw 2000',
  io: 'io 1',
};

/**
 * The I/O workloads of `hvlab bench --io` (docs/io.md): the same transfer over each I/O path.
 * `console` writes 64 KiB to the console (the UART, or virtio-console); `disk` reads 1 MiB
 * (emudisk, or virtio-blk).
 */
export const IO_WORKLOADS: Readonly<Record<string, string>> = {
  console: 'io 64',
  disk: 'disk 1024',
};

/** The bench's disk: 4 MiB, byte i of sector s = (s * 7 + i) & 0xff (as the test guests'). */
export function benchDisk(): Uint8Array {
  const d = new Uint8Array(4 << 20);
  for (let i = 0; i < d.length; i++) d[i] = ((i >>> 9) * 7 + (i & 511)) & 0xff;
  return d;
}

export interface Measurement {
  mode: Mode;
  io: IoPath;
  workload: string;
  command: string;
  /** Counter deltas over the workload alone. */
  counters: Record<string, bigint>;
  cycles: CycleBreakdown;
  wallSeconds: number;
  output: string;
}

const PROMPT = '$ ';

/**
 * Run until the guest idles at its shell prompt; time passes when it idles elsewhere. An
 * offload backend may still be working for the guest (its worker serves the rings beside the
 * vCPU): then the idle guest is waiting for it, not for input.
 */
function runToPrompt(vm: Vm, max: number, seen: { text: string }): void {
  const limit = Number(vm.instructions) + max;
  let stalls = 0;
  while (Number(vm.instructions) < limit) {
    const r = vm.run(10_000_000);
    seen.text += vm.readConsole();
    if (r.info) throw new HvlabError('BENCH_STOPPED', `the guest stopped: ${r.info.reason} ${r.info.message ?? ''}`);
    if (r.stop !== Stop.Idle) continue;
    if (vm.ioBusy()) {
      stalls = vm.ioWait(1000) ? 0 : stalls + 1;
      if (stalls >= IO_STALL_LIMIT) throw new HvlabError('BENCH_STUCK', `the offload backend left the guest's requests unserved for ${IO_STALL_LIMIT} s`);
      continue;
    }
    if (seen.text.endsWith(PROMPT)) return;
    if (!vm.idleSkip()) throw new HvlabError('BENCH_STUCK', 'the guest waits for input outside its prompt');
  }
  throw new HvlabError('BENCH_LIMIT', `the workload did not finish within ${max} instructions`);
}

function diff(a: Record<string, bigint>, b: Record<string, bigint>): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const k of Object.keys(b)) if (b[k] !== a[k]) out[k] = b[k] - (a[k] ?? 0n);
  return out;
}

/** One VM per mode, reset between measurements: creating a VM faults in all of its memory. */
const vms = new Map<string, Vm>();

/** Close the VMs measure() keeps (an offload backend's worker would keep the process alive). */
export async function releaseVms(): Promise<void> {
  const all = [...vms.values()];
  vms.clear();
  for (const vm of all) await vm.close();
}

/** How to measure: the cost table, the nested PWC, the I/O path, its disk, a kernel command line. */
export interface MeasureOptions {
  costs?: Partial<CostTable>;
  nestedPwc?: boolean;
  io?: IoPath;
  disk?: Uint8Array;
  /** e.g. `nopv`: hvos keeps its native operations under hardware assist (docs/io.md). */
  bootargs?: string;
}

export async function measure(image: Uint8Array, source: CoreSource, mode: Mode, workload: string, command: string,
  opts: MeasureOptions = {}): Promise<Measurement> {
  const { costs = {}, nestedPwc = false, io = 'emulated', disk, bootargs } = opts;
  const key = `${mode}/${nestedPwc}/${io}/${disk ? 'disk' : ''}/${bootargs ?? ''}`;
  let vm = vms.get(key);
  if (!vm) {
    vm = await Vm.create({ mode, firmware: 'builtin', clock: 'instret', nestedPwc, bootargs, ...ioPathConfig(io, disk) }, source);
    vm.load(image, 'hvos.elf');
    vms.set(key, vm);
  } else {
    vm.reset();
  }
  const seen = { text: '' };
  runToPrompt(vm, 50_000_000, seen);
  const before = vm.counters();
  const t0 = vm.wallTime;
  vm.sendInput(command + '\n');
  seen.text = '';
  runToPrompt(vm, 2_000_000_000, seen);
  const counters = diff(before, vm.counters());
  return { mode, io, workload, command, counters, cycles: modeledCycles(counters, costs), wallSeconds: vm.wallTime - t0,
    output: seen.text };
}

export function checkNames(kind: string, names: string[], known: readonly string[]): void {
  for (const n of names) {
    if (!known.includes(n)) throw new HvlabError('BAD_OPTION', `unknown ${kind} '${n}' (known: ${known.join(', ')})`);
  }
}

export const ALL_MODES: readonly Mode[] = MODES;
