// The split console (issue 12 item 3; docs/split.md "The console pair"): hvos's consfront in
// pv VMs, hvos's consback in a driver domain, over a console ring in a granted page (Xen's
// xencons_interface) and the event channel the host connected. A frontend's output appears on
// the driver domain's console as "[domN] ..." lines; the driver domain's `cons N ...` types
// into it. The golden transcripts are hvlab's own (the pv ABI's grants and event channels do
// not exist on QEMU); timings are normalised.
//
// Regenerate: UPDATE_GOLDEN=1 npx vitest run test/split-console.test.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCoreModule } from '../src/node/load-core.js';
import { Host } from '../src/host.js';
import { Vm } from '../src/vm.js';
import { runSplitSet, type SplitSet } from '../src/split.js';
import { benchDisk } from '../src/bench/workloads.js';

const HVOS = new Uint8Array(readFileSync('guests/hvos/prebuilt/hvos.elf'));
const EVIL = new Uint8Array(readFileSync('guests/prebuilt/cons-evil.elf'));
const update = !!process.env.UPDATE_GOLDEN;
const n = (c: Record<string, bigint>, k: string) => Number(c[k] ?? 0n);
/** What a VM printed so far, CR LF as LF, timings normalised (everything from " time="). */
const text = (set: SplitSet, vm: Vm) => set.out.get(vm)!.replace(/\r\n/g, '\n').replace(/ time=.*$/gm, ' time=<t>');

function golden(file: string, got: string): void {
  const path = `test/golden/${file}`;
  if (update) writeFileSync(path, got, 'latin1');
  expect(got).toBe(readFileSync(path, 'latin1'));
}

async function consoleSet(): Promise<SplitSet> {
  const host = await Host.create({ poolMiB: 128 }, await loadCoreModule());
  const dom0 = await host.createVm({ mode: 'pv', memMiB: 16, io: 'core', virtio: { blk: true }, disk: benchDisk() }, 'dom0');
  dom0.load(HVOS, 'hvos.elf');
  // domu1: disk and console from dom0 (one event channel for both); domu2: the console only.
  const domu1 = await host.createVm({ mode: 'pv', memMiB: 16, driverDomain: 'dom0', consoleDomain: 'dom0' }, 'domu1');
  domu1.load(HVOS, 'hvos.elf');
  const domu2 = await host.createVm({ mode: 'pv', memMiB: 16, consoleDomain: 'dom0' }, 'domu2');
  domu2.load(HVOS, 'hvos.elf');
  return { host, backend: dom0, frontends: [domu1, domu2], out: new Map([dom0, domu1, domu2].map((vm) => [vm, ''])) };
}

describe('split console: consfront in pv VMs, consback in a driver domain', () => {
  it('frontends\' output on the driver domain\'s console, its `cons` typing into them: golden transcripts', async () => {
    const set = await consoleSet();
    const [domu1, domu2] = set.frontends;
    expect([set.backend, domu1, domu2].map((vm) => vm.shared!.id)).toEqual([1, 2, 3]);
    runSplitSet(set);
    set.backend.sendInput('cons 2 echo hello from dom0\ncons 3 blk\ncons 2 disk 64\ncons 9 echo nobody\ncons 2\n');
    runSplitSet(set);
    const dom0 = text(set, set.backend);
    golden('split-console/dom0.out', dom0);
    // Each frontend's own console stops where its console moved to the driver domain.
    golden('split-console/domu1.out', text(set, domu1));
    golden('split-console/domu2.out', text(set, domu2));
    expect(text(set, domu2)).toMatch(/consfront: console on domain 1 from here on\n$/);
    // What the golden shows, spelled out: output relayed line by line with the domain's prefix,
    // input typed by `cons` echoed and run there, the disk read through the same channel.
    expect(dom0).toContain('consback: domain 2 connected on port 1\nconsback: domain 3 connected on port 2\n');
    expect(dom0).toContain('[dom2] hvos$ echo hello from dom0\n[dom2] hello from dom0\n');
    expect(dom0).toContain('[dom3] hvos$ blk\n[dom3] blk: no such device\n');
    expect(dom0).toMatch(/\[dom2\] disk kib=64 requests=16 fnv1a=[0-9a-f]{8} driver=blkfront/);
    expect(dom0).toContain('cons: domain 9: no such device\n');
    expect(dom0).toContain('usage: cons DOMID WORD...\n');
    // The frontends' consoles cost them no UART exits once moved: only event sends.
    const c1 = domu1.counters();
    expect(n(c1, 'EXIT_MMIO_UART')).toBe(0);
    expect(n(c1, 'EVTCHN_SENDS')).toBeGreaterThan(0);
    expect(n(set.backend.counters(), 'GRANT_MAPS')).toBe(3);   // domu1's blk and console rings, domu2's console ring
  });

  it('two runs give the same consoles and counters', async () => {
    const runs = [];
    for (let k = 0; k < 2; k++) {
      const set = await consoleSet();
      runSplitSet(set);
      set.backend.sendInput('cons 3 echo again\n');
      runSplitSet(set);
      runs.push([...set.out.values(), ...[set.backend, ...set.frontends].map((vm) => vm.counters())]);
    }
    expect(runs[1]).toEqual(runs[0]);
  });

  it('a destroyed frontend: `cons` to it is refused, the driver domain goes on', async () => {
    const set = await consoleSet();
    runSplitSet(set);
    const [domu1, domu2] = set.frontends;
    await domu2.close();
    set.backend.sendInput('cons 3 echo are you there\ncons 2 echo still here\n');
    runSplitSet(set);
    const dom0 = text(set, set.backend);
    expect(dom0).toContain('consback: domain 3: gone; disconnected\ncons: domain 3: no such device\n');
    expect(dom0).toContain('[dom2] still here\n');
    expect(dom0).not.toContain('[dom3] are you there');
    expect(text(set, domu1)).not.toContain('still here');
  });

  it('hostile frontends (guests/tests/cons-evil.c): control bytes dropped, jumping indices disconnect them, the others are served', async () => {
    const host = await Host.create({ poolMiB: 128 }, await loadCoreModule());
    const dom0 = await host.createVm({ mode: 'pv', memMiB: 16 }, 'dom0');   // a console-only driver domain: no disk
    dom0.load(HVOS, 'hvos.elf');
    const evilOut = await host.createVm({ mode: 'pv', memMiB: 16, consoleDomain: 'dom0' }, 'evil-out');
    evilOut.load(EVIL, 'cons-evil.elf');
    const evilIn = await host.createVm({ mode: 'pv', memMiB: 16, consoleDomain: 'dom0' }, 'evil-in');
    evilIn.load(EVIL, 'cons-evil.elf');
    const good = await host.createVm({ mode: 'pv', memMiB: 16, consoleDomain: 'dom0' }, 'good');
    good.load(HVOS, 'hvos.elf');
    const set: SplitSet = { host, backend: dom0, frontends: [evilOut, evilIn, good],
      out: new Map([dom0, evilOut, evilIn, good].map((vm) => [vm, ''])) };
    runSplitSet(set);
    dom0.sendInput('cons 3 hi\n');
    runSplitSet(set);
    dom0.sendInput('cons 3 again\ncons 4 echo still served\n');
    runSplitSet(set);
    golden('split-console/evil-out.out', text(set, evilOut));
    golden('split-console/evil-in.out', text(set, evilIn));
    for (const vm of [evilOut, evilIn]) expect(text(set, vm)).toMatch(/\nsummary: 0x[0-9a-f]+ ok, 0x0 failed\n$/);
    const d = text(set, dom0);
    for (const id of [2, 3]) {
      expect(d).toContain(`[dom${id}] evil: hello\n`);
      // ESC, BEL and ^A dropped: "\x1b[2J\x1b]0;owned\x07red\x01 bell"
      expect(d).toContain(`[dom${id}] [2J]0;ownedred bell\n`);
      const abc = Array.from({ length: 130 }, (_, i) => String.fromCharCode(97 + i % 26)).join('');
      expect(d).toContain(`[dom${id}] ${abc.slice(0, 120)}\n[dom${id}] ${abc.slice(120)}\n`);
    }
    expect(d).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
    expect(d).toContain('consback: domain 2: output index jumped; disconnected\n');
    expect(d).toContain('consback: domain 3: input index jumped; disconnected\ncons: domain 3: no such device\n');
    expect(d).toContain('[dom4] still served\n');
  });

  it('bad configurations: one-line errors, nothing made', async () => {
    const host = await Host.create({ poolMiB: 128 }, await loadCoreModule());
    await host.createVm({ mode: 'pv', memMiB: 16 }, 'dom0');
    await host.createVm({ mode: 'hvm-nested', memMiB: 16 }, 'hvm');
    await host.createVm({ mode: 'pv', memMiB: 16, io: 'core', virtio: { blk: true }, disk: 1 << 20 }, 'disk0');
    await expect(host.createVm({ mode: 'pv', memMiB: 16, consoleDomain: 'nobody' }, 'f'))
      .rejects.toThrow("VM 'f': no driver domain named 'nobody'");
    await expect(host.createVm({ mode: 'pv', memMiB: 16, consoleDomain: 'hvm' }, 'f'))
      .rejects.toThrow("VM 'f': the console's driver domain 'hvm' must be a pv VM");
    await expect(host.createVm({ mode: 'pv', memMiB: 16, consoleDomain: 'dom0', driverDomain: 'disk0' }, 'f'))
      .rejects.toThrow("VM 'f': its disk and its console come from one driver domain (driverDomain 'disk0', consoleDomain 'dom0')");
    expect(() => Vm.validate({ mode: 'native', consoleDomain: 'dom0' }))
      .toThrow("the split frontends run on the hypervisor's grants and event channels: they need mode pv, trap-emulate, hvm-shadow or hvm-nested, not 'native'");
    expect(host.vms().length).toBe(3);
  });
});
