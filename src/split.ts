/**
 * The split I/O path (docs/split.md): a driver domain (a pv hvos VM owning a disk) serving the
 * block devices of frontend VMs (pv hvos with `driverDomain`) over grant tables and event
 * channels (docs/pv-abi.md). This module makes such a set in one Host and runs it in turns, as
 * a scheduler would, for the tests and `npm run bench:split`.
 */
import { Host } from './host.js';
import { Stop } from './core.js';
import type { CoreSource, Vm } from './vm.js';

export interface SplitSet { host: Host; backend: Vm; frontends: Vm[]; out: Map<Vm, string> }

/** A Host with a driver domain `dom0` (a pv VM with `disk` on virtio-blk in the core) and `n` frontends. */
export async function makeSplitSet(source: CoreSource, hvos: Uint8Array, disk: Uint8Array, n: number,
  memMiB = 16): Promise<SplitSet> {
  const host = await Host.create({ poolMiB: Math.max(64, (n + 1) * (memMiB + 2) + 16) }, source);
  const backend = await host.createVm({ mode: 'pv', memMiB, io: 'core', virtio: { blk: true }, disk }, 'dom0');
  backend.load(hvos, 'hvos.elf');
  const frontends: Vm[] = [];
  for (let i = 1; i <= n; i++) {
    const vm = await host.createVm({ mode: 'pv', memMiB, driverDomain: 'dom0' }, `domu${i}`);
    vm.load(hvos, 'hvos.elf');
    frontends.push(vm);
  }
  const out = new Map<Vm, string>([backend, ...frontends].map((vm) => [vm, '']));
  return { host, backend, frontends, out };
}

/**
 * Run the VMs in turns of `slice` instructions until each is halted or waits for input with
 * nothing else to happen. A VM idle with a timer armed has its time skipped only when no VM
 * has an event pending (Host.eventPending): events are served before timers expire, as on a
 * host with idle time to spare. Returns the rounds it took.
 */
export function runSplitSet(set: SplitSet, slice = 100_000, maxRounds = 1_000_000): number {
  const vms = [set.backend, ...set.frontends];
  const halted = new Set<Vm>();
  for (let round = 0; round < maxRounds; round++) {
    let ran = false;
    for (const vm of vms) {
      if (halted.has(vm)) continue;
      if (set.host.framesOf(vm) === 0) { halted.add(vm); continue; }
      const before = vm.counters().INSTRET_U ?? 0n;
      const r = vm.run(slice);
      set.out.set(vm, set.out.get(vm)! + vm.readConsole());
      if (r.stop === Stop.Halt || r.stop === Stop.Error) halted.add(vm);
      if ((vm.counters().INSTRET_U ?? 0n) !== before) ran = true;
    }
    if (halted.size === vms.length) return round;
    if (ran || vms.some((vm) => !halted.has(vm) && set.host.eventPending(vm))) continue;
    if (!vms.some((vm) => !halted.has(vm) && vm.idleSkip())) return round;
  }
  throw new Error('the split set did not settle');
}
