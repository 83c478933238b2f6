// Heavy exits (hv/hostio.ts, issue 4): a device modeled in TypeScript, attached to a VM, serves
// the guest's loads and stores; every access leaves the core (EXIT_HOST) and the guest sees the
// device's answers. guests/bench/hostio.S drives it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UNMODIFIED_MODES, Vm, runScripted, type HostDevice } from '../src/vm.js';
import { loadCoreModule } from '../src/node/load-core.js';
import { HvlabError } from '../src/errors.js';

const image = new Uint8Array(readFileSync('guests/prebuilt/hostio.elf'));
const BASE = 0x1000_8000n;

/** A device with a counter at word 0, a 64-bit value at 8, that records every write. */
function recorder(): HostDevice & { writes: [number, number, bigint][]; reads: number } {
  let counter = 41n;
  const dev = {
    writes: [] as [number, number, bigint][],
    reads: 0,
    read(offset: number, width: number): bigint {
      dev.reads++;
      if (offset === 0 && width === 4) return counter++;
      if (offset === 8 && width === 8) return 0xFEDC_BA98_7654_3210n;
      return 0n;
    },
    write(offset: number, width: number, value: bigint): void { dev.writes.push([offset, width, value]); },
  };
  return dev;
}

describe.each(UNMODIFIED_MODES.filter((m) => m !== 'native'))('heavy exits in %s', (mode) => {
  it('the host device answers every load and sees every store', async () => {
    const vm = await Vm.create({ mode }, await loadCoreModule());
    const dev = recorder();
    vm.attachDevice(BASE, 0x1000n, dev);
    vm.load(image, 'hostio.elf');
    const stop = await runScripted(vm, '', 1e8);
    expect(stop.reason).toBe('pass');
    expect(dev.reads).toBe(1001);
    expect(dev.writes.length).toBe(1002);
    // Round i read 41 + i and stored it plus one, as a 32-bit word at offset 4.
    expect(dev.writes[0]).toEqual([4, 4, 42n]);
    expect(dev.writes[999]).toEqual([4, 4, 1041n]);
    // The 64-bit load came back whole and was stored whole; the byte store is one byte.
    expect(dev.writes[1000]).toEqual([16, 8, 0xFEDC_BA98_7654_3210n]);
    expect(dev.writes[1001]).toEqual([0x20, 1, 0x5An]);
    const c = vm.counters();
    expect(c.EXIT_HOST).toBe(2003n);
    expect(c.EXIT_MMIO_VIRTIO ?? 0n).toBe(0n);
  });
});

describe('host devices', () => {
  it('are not offered to a pv guest, whose devices are assigned or paravirtual', async () => {
    const vm = await Vm.create({ mode: 'pv' }, await loadCoreModule());
    expect(() => vm.attachDevice(BASE, 0x1000n, recorder())).toThrow(/pv guest has no emulated devices/);
  });

  it('need a VM: the bare machine has no exits to take', async () => {
    const vm = await Vm.create({ mode: 'native', firmware: 'builtin' }, await loadCoreModule());
    expect(() => vm.attachDevice(BASE, 0x1000n, recorder())).toThrow(HvlabError);
    expect(() => vm.attachDevice(BASE, 0x1000n, recorder())).toThrow(/use a VM mode/);
  });
});
