// The offload backend beside other VMs (issue 12, docs/multi-vm.md "Offload beside other VMs"):
// each offload VM's worker polls that VM's virtio records in its I/O block
// (assembly/virtio/ioblock.ts) while the scheduler world-switches the hart among all the VMs,
// offload, core, host and emulated ones alike. Offload is timing-dependent (docs/properties.md):
// outputs are compared, not counters; the counters are checked for whose they are.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCoreModule } from '../src/node/load-core.js';
import { Host } from '../src/host.js';
import { Scheduler } from '../src/sched.js';
import { ioPathConfig, Vm, type IoPath, type Mode, type VmConfig } from '../src/vm.js';
import { HvlabError } from '../src/errors.js';
import { drive } from './support/property-run.js';

const HVOS = new Uint8Array(readFileSync('guests/hvos/prebuilt/hvos.elf'));
/** A 256 KiB disk (sector s, byte i = s * 7 + i). */
const disk = () => { const d = new Uint8Array(256 << 10); for (let i = 0; i < d.length; i++) d[i] = ((i >>> 9) * 7 + i) & 0xff; return d; };
/** Times and rates are wall-clock figures of the guest: they differ from run to run. */
const untimed = (s: string) => s.replace(/ time=.*$/gm, ' time=<t>').replace(/^uptime: .*$/gm, 'uptime: <t>');

/** The disk path, the block device both ways, entropy, the console, then poweroff. */
function script(name: string): string[] {
  return [`echo ${name} up\n`, 'disk 64\n', `blk write 7 ${name} was here\n`, 'blk read 7\n', 'rng 24\n', 'blk\n',
    'compute 5000\n', 'disk 16\n', 'poweroff\n'];
}

interface Spec { name: string; mode: Mode; io: IoPath }
const SPECS: Spec[] = [
  { name: 'off-te', mode: 'trap-emulate', io: 'offload' },
  { name: 'off-shadow', mode: 'hvm-shadow', io: 'offload' },
  { name: 'off-nested', mode: 'hvm-nested', io: 'offload' },
  { name: 'core-nested', mode: 'hvm-nested', io: 'core' },
  { name: 'host-shadow', mode: 'hvm-shadow', io: 'host' },
  { name: 'emu-te', mode: 'trap-emulate', io: 'emulated' },
  { name: 'off-nested2', mode: 'hvm-nested', io: 'offload' },
];

const config = (s: Spec): VmConfig => ({ mode: s.mode, memMiB: 16, clock: 'instret', ...ioPathConfig(s.io, disk()) });

/** Run every VM of the scheduler to poweroff, giving each its script a line per idle stop. */
async function runAll(sched: Scheduler, vms: Vm[], lines: string[][]): Promise<string[]> {
  const next = vms.map(() => 0);
  const outs = vms.map(() => '');
  const at = new Map(vms.map((vm, i) => [vm, i]));
  const idle = (vm: Vm) => {
    const i = at.get(vm)!;
    // The guest is idle but its offload worker has a request in hand: its interrupt comes.
    if (vm.ioBusy()) return;
    if (next[i] < lines[i].length) vm.sendInput(lines[i][next[i]++]);
  };
  (sched as unknown as { onIdle: (vm: Vm) => void }).onIdle = idle;
  const deadline = Date.now() + 60_000;
  while (vms.some((vm) => !sched.stats(vm).halted)) {
    if (Date.now() > deadline) throw new Error(`the VMs did not power off: ${vms.map((v, i) => `${SPECS[i]?.name} ${next[i]}`).join(', ')}`);
    const retired = sched.run(2_000_000);
    vms.forEach((vm, i) => { outs[i] += vm.readConsole(); });
    // Every runnable VM waits for its worker: let the workers run.
    if (retired === 0) for (const vm of vms) if (!sched.stats(vm).halted && vm.ioBusy()) vm.ioWait(20);
  }
  vms.forEach((vm, i) => { outs[i] += vm.readConsole(); });
  return outs;
}

/** The same VM alone (a machine of its own), driven line by line at its idle stops. */
async function alone(source: Awaited<ReturnType<typeof loadCoreModule>>, s: Spec, lines = script(s.name)): Promise<string> {
  const vm = await Vm.create({ firmware: 'builtin', ...config(s) }, source);
  try {
    vm.load(HVOS, 'hvos.elf');
    const d = { lines, next: 0, console: '' };
    drive(vm, d, 400_000_000);
    return d.console;
  } finally {
    await vm.close();
  }
}

/** OS threads of this process (Linux): a worker thread is one. */
function threads(): number {
  const m = /^Threads:\s+(\d+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : -1;
}

describe('the offload backend beside other VMs', () => {
  it('offload VMs under the scheduler beside core, host and emulated ones print what each prints alone; close stops each worker; no frame leaks', async () => {
    const source = await loadCoreModule();
    const host = await Host.create({ poolMiB: 256 }, source);
    const free0 = host.pool().free;
    const threads0 = threads();
    const vms: Vm[] = [];
    for (const s of SPECS) {
      const vm = await host.createVm(config(s), s.name);
      vm.load(HVOS, 'hvos.elf');
      vms.push(vm);
    }
    const offload = SPECS.filter((s) => s.io === 'offload').length;
    if (threads0 > 0) expect(threads() - threads0).toBeGreaterThanOrEqual(offload);
    const sched = new Scheduler({ sliceInstructions: 30_011 });
    for (const vm of vms) sched.add(vm);
    const outs = await runAll(sched, vms, SPECS.map((s) => script(s.name)));

    for (const [i, s] of SPECS.entries()) {
      const out = outs[i];
      expect(out, s.name).toContain(`${s.name} up`);
      expect(out, s.name).toMatch(/disk kib=64 requests=16 fnv1a=[0-9a-f]{8}/);
      expect(out, s.name).toContain(`blk: wrote ${s.name.length + 10} bytes to sector 7`);
      expect(out, s.name).toContain(`|${s.name} was`);
      expect(untimed(out), s.name).toBe(untimed(await alone(source, s)));
      const c = vms[i].counters();
      if (s.io === 'offload') {
        // Served by its own worker: no notification reached the host, and the worker's counts
        // (kept in the VM's I/O block while others ran) are this VM's.
        expect(c.VIRTIO_OFFLOAD_REQUESTS, s.name).toBeGreaterThan(0n);
        expect(c.VIRTIO_BLK_REQUESTS, s.name).toBeGreaterThanOrEqual(16n + 4n + 2n);
        expect(c.VIRTIO_HOST_NOTIFIES, s.name).toBe(0n);
      } else {
        // No other VM's worker counted into this one.
        expect(c.VIRTIO_OFFLOAD_REQUESTS, s.name).toBe(0n);
        expect(c.VIRTIO_OFFLOAD_POLLS, s.name).toBe(0n);
      }
    }
    // The same figure from every offload VM: the disk checksum of 64 KiB read through the
    // worker is the one the core backend computes.
    const sum = (o: string) => /disk kib=64 requests=16 fnv1a=([0-9a-f]{8})/.exec(o)![1];
    for (const [i, s] of SPECS.entries()) if (s.io === 'offload') expect(sum(outs[i]), s.name).toBe(sum(outs[3]));

    // An offload VM holds its I/O block (3 frames: its records and 512 counters) besides what the same VM on the core path holds.
    expect(host.framesOf(vms[2]) - host.framesOf(vms[3])).toBe(3);
    for (const vm of vms) await vm.close();
    expect(host.pool().free).toBe(free0);
    if (threads0 > 0) expect(threads()).toBeLessThanOrEqual(threads0);
  }, 300_000);

  it('a reset offload VM beside others boots and serves again (its records are cleared in its I/O block); its neighbour is unaffected', async () => {
    const source = await loadCoreModule();
    const host = await Host.create({ poolMiB: 128 }, source);
    const a = await host.createVm(config(SPECS[0]), 'a');
    const b = await host.createVm(config(SPECS[2]), 'b');
    try {
      a.load(HVOS, 'hvos.elf');
      b.load(HVOS, 'hvos.elf');
      const lines = ['disk 16\n', 'rng 8\n', 'blk read 2\n', 'poweroff\n'];
      const first = { lines, next: 0, console: '' };
      drive(a, first, 100_000_000);
      // b runs halfway, then a is reset while b's worker holds b's state.
      const mid = { lines: lines.slice(0, 2), next: 0, console: '' };
      expect(() => drive(b, mid, 100_000_000)).toThrow(/script is over/);
      a.reset();
      const again = { lines, next: 0, console: '' };
      drive(a, again, 100_000_000);
      expect(untimed(again.console)).toBe(untimed(first.console));
      expect(again.console).toMatch(/disk kib=16 requests=4 fnv1a=[0-9a-f]{8}/);
      const rest = { lines: lines.slice(2), next: 0, console: '' };
      drive(b, rest, 100_000_000);
      expect(untimed(mid.console + rest.console)).toBe(untimed(await alone(source, { ...SPECS[2], name: 'b' }, lines)));
    } finally {
      await a.close();
      await b.close();
    }
  }, 120_000);

  it('an offload VM beside others is never merged, and is not snapshotted (its records are in its I/O block)', async () => {
    const source = await loadCoreModule();
    const host = await Host.create({ poolMiB: 128 }, source);
    const a = await host.createVm(config(SPECS[2]), 'a');
    const b = await host.createVm(config(SPECS[6]), 'b');
    try {
      a.load(HVOS, 'hvos.elf');
      b.load(HVOS, 'hvos.elf');
      // Two loaded, identical guests: the same kernel pages, the same zeroed RAM. The worker
      // writes their RAM behind the core's copy-on-write, so none of it may be merged.
      host.ksm(true);
      host.ksmScan(1 << 20);
      expect(host.ksmStats().pagesSharing).toBe(0);
      expect(host.ksmStats().pagesScanned).toBe(0);
      expect(() => a.snapshot()).toThrow(HvlabError);
      expect(() => a.snapshot()).toThrow(/offload VM beside others/);
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);
});
