// The credit scheduler (src/sched.ts, docs/multi-vm.md "Scheduler"): weights share the hart,
// a VM blocked on input costs nothing, caps hold, bad parameters are refused.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCoreModule } from '../src/node/load-core.js';
import { Host } from '../src/host.js';
import { Scheduler, type SchedParams } from '../src/sched.js';
import { HvlabError } from '../src/errors.js';
import type { Vm } from '../src/vm.js';

const HVOS = readFileSync('guests/hvos/prebuilt/hvos.elf');
/** A CPU-bound command that runs far longer than any test's budget. */
const BUSY = 'compute 1000000000\n';

async function hostWith(n: number, slice?: number): Promise<{ host: Host; vms: Vm[]; sched: Scheduler }> {
  const host = await Host.create({ poolMiB: 16 * n + 32 }, await loadCoreModule());
  const sched = new Scheduler({ sliceInstructions: slice });
  const vms: Vm[] = [];
  for (let i = 0; i < n; i++) {
    const vm = await host.createVm({ mode: 'hvm-nested', memMiB: 16 }, `vm${i}`);
    vm.load(HVOS, 'hvos.elf');
    vms.push(vm);
  }
  return { host, vms, sched };
}

/** Run until every VM waits at its prompt; returns the instructions that took. */
function settle(sched: Scheduler): number {
  let total = 0;
  for (let i = 0; i < 1000; i++) {
    const n = sched.run(5_000_000);
    total += n;
    if (sched.vms.every((vm) => sched.stats(vm).blocked)) return total;
  }
  throw new Error('the VMs did not reach their prompts');
}

function instructions(sched: Scheduler, vms: Vm[]): bigint[] { return vms.map((vm) => sched.stats(vm).instructions); }

function shares(before: bigint[], after: bigint[]): number[] {
  return after.map((a, i) => Number(a - before[i]));
}

describe('credit scheduler', () => {
  it('two CPU-bound VMs of weights 2:1 get 2:1 of the instructions; a blocked third costs nothing', async () => {
    const { vms, sched } = await hostWith(3);
    sched.add(vms[0], { weight: 512 });
    sched.add(vms[1], { weight: 256 });
    sched.add(vms[2], { weight: 256 });
    settle(sched);
    for (const vm of vms) expect(vm.readConsole()).toContain('$ ');
    vms[0].sendInput(BUSY);
    vms[1].sendInput(BUSY);
    const before = instructions(sched, vms);
    const third = sched.stats(vms[2]);
    const ran = sched.run(6_000_000);
    expect(ran).toBe(6_000_000);
    const [a, b, c] = shares(before, instructions(sched, vms));
    expect(c).toBe(0);
    expect(sched.stats(vms[2]).slices).toBe(third.slices);
    expect(sched.stats(vms[2]).blocked).toBe(true);
    expect(a + b).toBe(6_000_000);
    expect(Math.abs(a / b - 2)).toBeLessThan(0.04);
    // Both were runnable all along: each waited while the other ran.
    expect(sched.stats(vms[0]).waits).toBeGreaterThan(0);
    expect(sched.stats(vms[1]).waits).toBeGreaterThan(0);
  });
});
