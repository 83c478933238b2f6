/**
 * Measuring hvos workloads in each execution mode: boot hvos to its prompt, then run one shell
 * command and take the difference of every counter, so boot costs are left out. Used by
 * `hvlab bench` and by the tests that assert the trade-offs the literature reports.
 */
import { Stop } from '../core.js';
import { MODES, Vm, type CoreSource, type Mode } from '../vm.js';
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

export interface Measurement {
  mode: Mode;
  workload: string;
  command: string;
  /** Counter deltas over the workload alone. */
  counters: Record<string, bigint>;
  cycles: CycleBreakdown;
  wallSeconds: number;
  output: string;
}

const PROMPT = '$ ';

/** Run until the guest idles at its shell prompt; time passes when it idles elsewhere. */
function runToPrompt(vm: Vm, max: number, seen: { text: string }): void {
  const limit = Number(vm.instructions) + max;
  while (Number(vm.instructions) < limit) {
    const r = vm.run(10_000_000);
    seen.text += vm.readConsole();
    if (r.info) throw new HvlabError('BENCH_STOPPED', `the guest stopped: ${r.info.reason} ${r.info.message ?? ''}`);
    if (r.stop !== Stop.Idle) continue;
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

export async function measure(image: Uint8Array, source: CoreSource, mode: Mode, workload: string, command: string,
  costs: Partial<CostTable> = {}, nestedPwc = false): Promise<Measurement> {
  const key = `${mode}/${nestedPwc}`;
  let vm = vms.get(key);
  if (!vm) {
    vm = await Vm.create({ mode, firmware: 'builtin', clock: 'instret', nestedPwc }, source);
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
  return { mode, workload, command, counters, cycles: modeledCycles(counters, costs), wallSeconds: vm.wallTime - t0,
    output: seen.text };
}

export function checkNames(kind: string, names: string[], known: readonly string[]): void {
  for (const n of names) {
    if (!known.includes(n)) throw new HvlabError('BAD_OPTION', `unknown ${kind} '${n}' (known: ${known.join(', ')})`);
  }
}

export const ALL_MODES: readonly Mode[] = MODES;
