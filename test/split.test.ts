// The split I/O path (issue 12 item 3; docs/split.md): hvos's blkfront in pv VMs served by
// hvos's blkback in a driver domain over grant tables and event channels (docs/pv-abi.md).
// The data must be the disk's, byte for byte (FNV-1a computed here from the image), reads and
// writes, for several frontends at once; and the bad configurations are refused.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCoreModule } from '../src/node/load-core.js';
import { Host } from '../src/host.js';
import { ioPathConfig, type Vm } from '../src/vm.js';
import { makeSplitSet, runSplitSet, type SplitSet } from '../src/split.js';
import { benchDisk } from '../src/bench/workloads.js';

const HVOS = new Uint8Array(readFileSync('guests/hvos/prebuilt/hvos.elf'));
const n = (c: Record<string, bigint>, k: string) => Number(c[k] ?? 0n);
/** What a VM printed so far, with the console's CR LF as LF. */
const text = (set: SplitSet, vm: Vm) => set.out.get(vm)!.replace(/\r\n/g, '\n');

/** FNV-1a, 32 bits, as hvos's user/disk.c computes it. */
function fnv1a(data: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const b of data) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

describe('split block driver: blkfront in pv VMs, blkback in a driver domain', () => {
  it('two frontends read the driver domain\'s disk and write to it; the data is the disk\'s', async () => {
    const disk = benchDisk();
    const set = await makeSplitSet(await loadCoreModule(), HVOS, disk, 2);
    runSplitSet(set);
    const [f1, f2] = set.frontends;
    for (const f of set.frontends) {
      expect(text(set, f)).toContain(`blkfront: 8192 sectors (4096 KiB) from domain ${set.backend.shared!.id}\n`);
    }
    expect(text(set, set.backend)).toContain(`blkback: domain ${f1.shared!.id} connected on port 1\n`);
    expect(text(set, set.backend)).toContain(`blkback: domain ${f2.shared!.id} connected on port 2\n`);

    f1.sendInput('disk 256\nblk write 9 from domu1\n');
    f2.sendInput('disk 128\nblk\n');
    runSplitSet(set);
    const sum = (kib: number, img = disk) => fnv1a(img.subarray(0, kib << 10));
    expect(text(set, f1)).toContain(`disk kib=256 requests=64 fnv1a=${sum(256)} driver=blkfront`);
    expect(text(set, f2)).toContain(`disk kib=128 requests=32 fnv1a=${sum(128)} driver=blkfront`);
    expect(text(set, f2)).toContain('blk: blkfront, 8192 sectors of 512 bytes (4096 KiB), block size 512\nblk: id "split"\n');
    // The write went to the driver domain's disk: it reads it there, and so does the other frontend.
    set.backend.sendInput('blk read 9\n');
    f2.sendInput('blk read 9\n');
    runSplitSet(set);
    for (const vm of [set.backend, f2]) expect(text(set, vm)).toMatch(/from domu1\./);
    const written = disk.slice();
    written.fill(0, 9 * 512, 10 * 512);
    written.set(new TextEncoder().encode('from domu1\n'), 9 * 512);
    expect(Buffer.from(set.backend.disk().subarray(0, 8192)).equals(Buffer.from(written.subarray(0, 8192)))).toBe(true);

    // The frontends touch no device: every request is an event send and a wait; the driver
    // domain does the device work and moves the data with grant copies.
    const c1 = f1.counters();
    expect(n(c1, 'EXIT_MMIO_VIRTIO') + n(c1, 'EXIT_MMIO_EMUDISK')).toBe(0);
    expect(n(c1, 'EVTCHN_SENDS')).toBeGreaterThanOrEqual(64 + 2);
    expect(n(c1, 'GRANT_COPY_BYTES')).toBe(0);
    const cb = set.backend.counters();
    // 256 + 128 KiB read by `disk`, one sector written and one read back by `blk`; the driver
    // domain's own `blk read` goes through its virtio-blk, no grant.
    expect(n(cb, 'GRANT_COPY_BYTES')).toBe((256 + 128) * 1024 + 512 + 512);
    expect(n(cb, 'GRANT_MAPS')).toBe(2);
  });

  it('two runs give the same consoles and counters', async () => {
    const runs = [];
    for (let k = 0; k < 2; k++) {
      const set = await makeSplitSet(await loadCoreModule(), HVOS, benchDisk(), 1);
      runSplitSet(set);
      set.frontends[0].sendInput('disk 64\n');
      runSplitSet(set);
      runs.push([text(set, set.backend), text(set, set.frontends[0]), set.backend.counters(), set.frontends[0].counters()]);
    }
    expect(runs[1]).toEqual(runs[0]);
  });

  it('a hostile frontend (guests/tests/split-evil.c): every bad request refused, a jumping ring index disconnects it, the others are served', async () => {
    const disk = benchDisk();
    const host = await Host.create({ poolMiB: 128 }, await loadCoreModule());
    const backend = await host.createVm({ mode: 'pv', memMiB: 16, io: 'core', virtio: { blk: true }, disk }, 'dom0');
    backend.load(HVOS, 'hvos.elf');
    const evil = await host.createVm({ mode: 'pv', memMiB: 16, driverDomain: 'dom0' }, 'evil');
    evil.load(readFileSync('guests/prebuilt/split-evil.elf'), 'split-evil.elf');
    const good = await host.createVm({ mode: 'pv', memMiB: 16, driverDomain: 'dom0' }, 'good');
    good.load(HVOS, 'hvos.elf');
    const set: SplitSet = { host, backend, frontends: [evil, good], out: new Map([[backend, ''], [evil, ''], [good, '']]) };
    runSplitSet(set);
    expect(text(set, evil)).toBe(readFileSync('test/golden/split-evil.out', 'latin1'));
    expect(text(set, evil)).toMatch(/\nsummary: 0xe ok, 0x0 failed\n$/);
    expect(text(set, backend)).toContain(`blkback: domain ${evil.shared!.id}: request index jumped; disconnected\n`);
    good.sendInput('disk 64\n');
    backend.sendInput('disk 64\n');
    runSplitSet(set);
    const sum = fnv1a(disk.subarray(0, 64 << 10));
    expect(text(set, good)).toContain(`disk kib=64 requests=16 fnv1a=${sum} driver=blkfront`);
    expect(text(set, backend)).toContain(`disk kib=64 requests=16 fnv1a=${sum} driver=virtio-blk`);
  });

  it('bad configurations: one-line errors, nothing made', async () => {
    const host = await Host.create({ poolMiB: 128 }, await loadCoreModule());
    const free = host.pool().free;
    await expect(host.createVm({ mode: 'pv', memMiB: 16, driverDomain: 'nobody' }, 'f'))
      .rejects.toThrow("VM 'f': no driver domain named 'nobody'");
    await host.createVm({ mode: 'pv', memMiB: 16 }, 'nodisk');
    await expect(host.createVm({ mode: 'pv', memMiB: 16, driverDomain: 'nodisk' }, 'f'))
      .rejects.toThrow("VM 'f': the driver domain 'nodisk' must be a pv VM with a disk");
    await host.createVm({ mode: 'pv', memMiB: 16, io: 'core', virtio: { blk: true }, disk: 1 << 20 }, 'dom0');
    await expect(host.createVm({ mode: 'native', memMiB: 16, driverDomain: 'dom0' }, 'f'))
      .rejects.toThrow("VM 'f': native runs the bare machine alone");
    await expect(host.createVm({ mode: 'pv', memMiB: 16, driverDomain: 'dom0', disk: 4096 }, 'f'))
      .rejects.toThrow("VM 'f': on the split path the disk is the driver domain's; give this VM none");
    expect(() => ioPathConfig('split')).toThrow('the split I/O path needs a driver domain');
    expect(host.vms().length).toBe(2);
    expect(host.pool().free).toBe(free - host.vms().reduce((s, vm) => s + host.framesOf(vm), 0));
  });
});
