// PV-on-HVM split frontends (issue 12 item 3; docs/pv-abi.md "PV-on-HVM", docs/split.md): hvos's
// blkfront and consfront in hvm-nested, hvm-shadow and trap-emulate VMs, served by hvos's
// blkback and consback in a pv driver domain. The frontends grant their own guest frames, take
// events as a supervisor software interrupt and never map a foreign frame (a grant map from an
// hvm guest is refused: its guest-physical window is not built). The data must be the disk's;
// the driver domain's transcript is golden (hvlab's own: the ABI does not exist on QEMU).
//
// Regenerate: UPDATE_GOLDEN=1 npx vitest run test/pvhvm.test.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCoreModule } from '../src/node/load-core.js';
import { Host } from '../src/host.js';
import { Stop } from '../src/core.js';
import type { Mode, Vm } from '../src/vm.js';
import { runSplitSet, type SplitSet } from '../src/split.js';
import { benchDisk } from '../src/bench/workloads.js';

const HVOS = new Uint8Array(readFileSync('guests/hvos/prebuilt/hvos.elf'));
const update = !!process.env.UPDATE_GOLDEN;
const n = (c: Record<string, bigint>, k: string) => Number(c[k] ?? 0n);
const text = (set: SplitSet, vm: Vm) => set.out.get(vm)!.replace(/\r\n/g, '\n').replace(/ time=.*$/gm, ' time=<t>');

function fnv1a(data: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const b of data) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

const FRONT_MODES: Mode[] = ['hvm-nested', 'hvm-shadow', 'trap-emulate'];

async function hvmSet(disk: Uint8Array): Promise<SplitSet> {
  const host = await Host.create({ poolMiB: 160 }, await loadCoreModule());
  const dom0 = await host.createVm({ mode: 'pv', memMiB: 16, io: 'core', virtio: { blk: true }, disk }, 'dom0');
  dom0.load(HVOS, 'hvos.elf');
  const fronts: Vm[] = [];
  for (const mode of FRONT_MODES) {
    const vm = await host.createVm({ mode, memMiB: 16, driverDomain: 'dom0', consoleDomain: 'dom0' }, mode);
    vm.load(HVOS, 'hvos.elf');
    fronts.push(vm);
  }
  return { host, backend: dom0, frontends: fronts, out: new Map([dom0, ...fronts].map((vm) => [vm, ''])) };
}

describe('PV-on-HVM: split block and console frontends in hvm-nested, hvm-shadow and trap-emulate VMs', () => {
  it('each reads the driver domain\'s disk and writes to it through blkfront; their consoles are relayed', async () => {
    const disk = benchDisk();
    const set = await hvmSet(disk);
    runSplitSet(set);
    const [nested, shadow, te] = set.frontends;
    expect(set.frontends.map((vm) => vm.shared!.id)).toEqual([2, 3, 4]);
    for (const f of set.frontends) {
      expect(text(set, f)).toContain('blkfront: 8192 sectors (4096 KiB) from domain 1\nconsfront: console on domain 1 from here on\n');
    }
    set.backend.sendInput('cons 2 disk 256\ncons 3 disk 128\ncons 4 blk write 9 from trap-emulate\ncons 3 blk read 9\n');
    runSplitSet(set);
    const d = text(set, set.backend);
    if (update) writeFileSync('test/golden/split-console/pvhvm-dom0.out', d, 'latin1');
    expect(d).toBe(readFileSync('test/golden/split-console/pvhvm-dom0.out', 'latin1'));
    const sum = (kib: number) => fnv1a(disk.subarray(0, kib << 10));
    expect(d).toContain(`[dom2] disk kib=256 requests=64 fnv1a=${sum(256)} driver=blkfront`);
    expect(d).toContain(`[dom3] disk kib=128 requests=32 fnv1a=${sum(128)} driver=blkfront`);
    expect(d).toContain('[dom4] blk: wrote 18 bytes to sector 9\n');
    expect(d).toContain('[dom3] 00001200  66 72 6f 6d 20 74 72 61  70 2d 65 6d 75 6c 61 74  |from trap-emulat|\n');
    expect(new TextDecoder().decode(set.backend.disk().subarray(9 * 512, 9 * 512 + 20))).toBe('from trap-emulate\n\0\0');

    for (const [vm, mode] of [[nested, 'hvm-nested'], [shadow, 'hvm-shadow'], [te, 'trap-emulate']] as const) {
      const c = vm.counters();
      expect(vm.config.mode).toBe(mode);
      // The frontend owns no device: its virtio exits are hvos probing the 8 empty slots at boot
      // (magic and version, each an exit under hvm); grant table setup and event sends only.
      expect(n(c, 'EXIT_MMIO_VIRTIO')).toBe(16);
      expect(n(c, 'EXIT_MMIO_EMUDISK')).toBe(0);
      expect(n(c, 'PV_GRANT_TABLE_OP')).toBe(1);            // setup_table
      expect(n(c, 'EVTCHN_SENDS')).toBeGreaterThan(0);
      expect(n(c, 'GRANT_MAPS') + n(c, 'GRANT_COPY_BYTES')).toBe(0);
    }
    // The driver domain moved every byte by grant copy from and to the hvm guests' frames.
    const cb = set.backend.counters();
    expect(n(cb, 'GRANT_COPY_BYTES')).toBe((256 + 128) * 1024 + 512 + 512);
    expect(n(cb, 'GRANT_MAPS')).toBe(6);                    // three block rings, three console rings
  });

  it('two runs give the same consoles and counters', async () => {
    const runs = [];
    for (let k = 0; k < 2; k++) {
      const set = await hvmSet(benchDisk());
      runSplitSet(set);
      set.backend.sendInput('cons 2 disk 64\ncons 3 disk 64\n');
      runSplitSet(set);
      runs.push([...set.out.values(), ...[set.backend, ...set.frontends].map((vm) => vm.counters())]);
    }
    expect(runs[1]).toEqual(runs[0]);
  });

  it('a destroyed hvm frontend: its ports close, the driver domain goes on serving the others', async () => {
    const set = await hvmSet(benchDisk());
    runSplitSet(set);
    const free = set.host.pool().free;
    const frames = set.host.framesOf(set.frontends[0]);
    await set.frontends[0].close();
    expect(set.host.pool().free).toBe(free + frames);
    set.backend.sendInput('cons 2 echo gone\ncons 3 disk 64\n');
    runSplitSet(set);
    const d = text(set, set.backend);
    expect(d).toContain('consback: domain 2: gone; disconnected\ncons: domain 2: no such device\n');
    expect(d).toMatch(/\[dom3\] disk kib=64 requests=16 fnv1a=[0-9a-f]{8} driver=blkfront/);
  });
});

describe('PV-on-HVM: the grant and event-channel calls from an hvm guest (guests/tests/hvm-grant.c)', () => {
  const IMAGE = new Uint8Array(readFileSync('guests/prebuilt/hvm-grant.elf'));
  const golden = readFileSync('test/golden/hvm-grant.out', 'latin1');
  for (const mode of FRONT_MODES) {
    it(`${mode}: refusals change nothing, a loopback event is its sip.SSIP (test/golden/hvm-grant.out)`, async () => {
      const host = await Host.create({ poolMiB: 64 }, await loadCoreModule());
      const dom0 = await host.createVm({ mode: 'pv', memMiB: 16 }, 'dom0');
      dom0.load(HVOS, 'hvos.elf');
      const vm = await host.createVm({ mode, memMiB: 16 }, 'hvm');
      vm.load(IMAGE, 'hvm-grant.elf');
      let out = '';
      let r;
      do { r = vm.run(1_000_000); out += vm.readConsole(); } while (r.stop !== Stop.Halt && r.stop !== Stop.Error && vm.counters().INSTRET_U! + vm.counters().INSTRET_S! < 50_000_000n);
      if (update) writeFileSync('test/golden/hvm-grant.out', out, 'latin1');
      expect(out).toBe(golden);
      expect(out).toMatch(/summary: 0x[0-9a-f]+ ok, 0x0 failed\n$/);
      const c = vm.counters();
      expect(n(c, 'PV_GRANT_TABLE_OP')).toBe(10);
      expect(n(c, 'PV_REFUSED')).toBe(17);                 // every refusal the guest checks
      expect(n(c, 'GRANT_MAPS')).toBe(0);
    });
  }

  it('with same-page merging on, a VM with grants is never merged: the driver domain writes its pages', async () => {
    // A split frontend's granted buffers are written by the driver domain's grant copies; were
    // its zero pages merged with others', the disk's data would land in every VM's zero pages.
    // hv/ksm.ts leaves a VM with a grant area alone (and hv/grant.ts copies a merged granter
    // frame first, for a VM merged before it set up its grants).
    const disk = benchDisk();
    const set = await hvmSet(disk);
    const lone = await set.host.createVm({ mode: 'hvm-nested', memMiB: 16 }, 'lone');
    lone.load(HVOS, 'hvos.elf');
    set.host.ksm(true);
    for (let pass = 0; pass < 3; pass++) set.host.ksmScan(5 * 4096); // three full passes over the five VMs
    // Only the VM without grants (and its own zero pages) merged: fewer than one VM's frames.
    expect(set.host.ksmStats().pagesSharing).toBeGreaterThan(1000);
    expect(set.host.ksmStats().pagesSharing).toBeLessThan(4096);
    runSplitSet(set);
    set.backend.sendInput('cons 2 disk 256\ncons 3 disk 128\n');
    runSplitSet(set);
    const d = text(set, set.backend);
    const sum = (kib: number) => fnv1a(disk.subarray(0, kib << 10));
    expect(d).toContain(`[dom2] disk kib=256 requests=64 fnv1a=${sum(256)} driver=blkfront`);
    expect(d).toContain(`[dom3] disk kib=128 requests=32 fnv1a=${sum(128)} driver=blkfront`);
    // The merged VM holds none of the disk's bytes.
    const ram = set.host.guestRam(lone);
    const marker = Buffer.from(disk.subarray(0, 64));
    let found = false;
    for (let o = 0; o + 64 <= ram.length && !found; o += 4096) found = Buffer.from(ram.subarray(o, o + 64)).equals(marker);
    expect(found).toBe(false);
  }, 120_000);
});
