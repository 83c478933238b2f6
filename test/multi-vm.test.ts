// Many VMs in one machine (issue 12, docs/multi-vm.md): VMs of every hypervisor mode side by
// side in one core and one pool, interleaved by world switches, each printing and counting
// exactly what it does alone; and the pool's bookkeeping (bad configs, destroy).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCoreModule } from '../src/node/load-core.js';
import { Host } from '../src/host.js';
import { Stop, } from '../src/core.js';
import { Vm, type Mode } from '../src/vm.js';
import { HvlabError } from '../src/errors.js';

const HVOS = readFileSync('guests/hvos/prebuilt/hvos.elf');
const MODES: Mode[] = ['trap-emulate', 'hvm-shadow', 'hvm-nested', 'pv'];
const SCRIPT = 'echo hi\ncompute 10000\nspawn 3\nps\n';

/** Run the VMs in turns of `slice` instructions until every one waits for input. */
function drive(vms: Vm[], slice: number): string[] {
  const outs = vms.map(() => '');
  for (const vm of vms) vm.sendInput(SCRIPT);
  for (let round = 0; round < 10_000; round++) {
    let busy = false;
    vms.forEach((vm, i) => {
      const r = vm.run(slice);
      outs[i] += vm.readConsole();
      if (r.stop === Stop.Idle && !vm.idleSkip()) return;
      if (r.stop === Stop.Halt || r.stop === Stop.Error) return;
      busy = true;
    });
    if (!busy) return outs;
  }
  throw new Error('the VMs did not settle');
}

describe('many VMs in one machine', () => {
  async function fourVms(source: Awaited<ReturnType<typeof loadCoreModule>>): Promise<Vm[]> {
    const host = await Host.create({ poolMiB: 128 }, source);
    const vms: Vm[] = [];
    for (const mode of MODES) {
      const vm = await host.createVm({ mode, memMiB: 16 }, mode);
      vm.load(HVOS, 'hvos.elf');
      vms.push(vm);
    }
    return vms;
  }

  it('four VMs in four modes, interleaved, print and count what each does alone', async () => {
    const source = await loadCoreModule();
    const vms = await fourVms(source);
    // Slices of 7919 instructions: switches land everywhere, inside every kind of exit.
    const outs = drive(vms, 7919);
    for (const [i, mode] of MODES.entries()) {
      // Alone in the same host (the others made but never run), in the same slices: input
      // enters the RX ring at run() boundaries, so the slicing decides when the guest sees it
      // (docs/properties.md); the neighbours must not matter.
      const same = (await fourVms(source))[i];
      const [alone] = drive([same], 7919);
      expect(outs[i], mode).toBe(alone);
      expect(outs[i]).toContain('spawn n=3');
      expect(vms[i].counters(), mode).toEqual(same.counters());
      if (mode === 'pv') continue;
      // Alone in a machine of its own. A pv guest sees machine frame numbers (hv/pvmmu.ts), so
      // where its frames are changes its accesses to the m2p table; the other modes cannot tell.
      const solo = await Vm.create({ mode, memMiB: 16, firmware: 'builtin' }, source);
      solo.load(HVOS, 'hvos.elf');
      expect(drive([solo], 7919)[0], mode).toBe(alone);
      expect(solo.counters(), mode).toEqual(same.counters());
    }
  }, 60_000);

  it('each VM costs at most 1 MiB of host memory beyond its guest RAM', async () => {
    const host = await Host.create({ poolMiB: 256 }, await loadCoreModule());
    for (const mode of MODES) expect(host.overheadBytes(mode, 16), mode).toBeLessThanOrEqual(1 << 20);
    const vm = await host.createVm({ mode: 'hvm-nested', memMiB: 16 });
    expect(host.framesOf(vm) * 4096 - (16 << 20)).toBe(host.overheadBytes('hvm-nested', 16));
  });

  it('destroying VMs gives every frame back to the pool', async () => {
    const host = await Host.create({ poolMiB: 64 }, await loadCoreModule());
    const free = host.pool().free;
    for (let i = 0; i < 20; i++) {
      const vm = await host.createVm({ mode: MODES[i % 4], memMiB: 16, disk: 65536, virtio: { blk: true } });
      vm.load(HVOS, 'hvos.elf');
      vm.run(200_000);
      expect(host.pool().free).toBeLessThan(free);
      await vm.close();
      expect(host.pool()).toEqual({ frames: 16384, free, vms: 0 });
    }
  });

  it('bad VM configs are refused with a one-line reason and nothing kept', async () => {
    const host = await Host.create({ poolMiB: 64 }, await loadCoreModule());
    const free = host.pool().free;
    await host.createVm({ mode: 'pv', memMiB: 16 }, 'a');
    const err = async (p: Promise<unknown>) => { try { await p; } catch (e) { expect(e).toBeInstanceOf(HvlabError); return (e as Error).message; } return 'no error'; };
    expect(await err(host.createVm({ mode: 'pv', memMiB: 16 }, 'a'))).toBe("a VM named 'a' already exists");
    expect(await err(host.createVm({ memMiB: 16 }, 'b'))).toMatch(/^VM 'b': native runs the bare machine alone/);
    expect(await err(host.createVm({ mode: 'pv', io: 'offload', virtio: { console: true } }, 'c'))).toMatch(/^a pv guest's virtio devices are served in the core: use io 'core', not 'offload'$/);
    expect(await err(host.createVm({ mode: 'hvm-nested', memMiB: 64 }, 'd'))).toMatch(/^VM 'd' needs 6\d MiB of the host pool, \d\d MiB is free \(pool 64 MiB\)$/);
    expect(await err(host.createVm({ mode: 'warp' as Mode }, 'e'))).toMatch(/^mode must be one of/);
    expect(await err(Host.create({ poolMiB: 5 }, await loadCoreModule()))).toMatch(/^the host pool must be a whole number of MiB from 16/);
    expect(host.pool().vms).toBe(1);
    expect(host.pool().free).toBe(free - host.framesOf(host.vm('a')!));
  });
});
