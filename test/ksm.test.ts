// Same-page merging across VMs (issue 12 item 4, assembly/hv/ksm.ts, docs/multi-vm.md "KSM"):
// sixteen hvos VMs in the three translated modes boot to their prompt in half the host frames
// with merging on, print byte for byte what they print with it off, keep doing so while they
// write memory (copy-on-write in every mode), keep their shadows coherent, and give every
// frame back when destroyed.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCoreModule } from '../src/node/load-core.js';
import { Host } from '../src/host.js';
import { Stop } from '../src/core.js';
import { type Mode, type Vm } from '../src/vm.js';

const HVOS = readFileSync('guests/hvos/prebuilt/hvos.elf');
const MODES: Mode[] = ['trap-emulate', 'hvm-shadow', 'hvm-nested'];
const VMS = 16;
const SLICE = 50_000;
/** Each VM writes memory in its own way: fresh pages, page tables, processes. */
const SCRIPTS = [
  'memwalk 64 4\nspawn 3\n',
  'ptchurn 8 8\necho done\n',
  'spawn 5\nmemwalk 32 2\nps\n',
  // Beside virtio devices served in the core: their DMA writes guest frames too.
  'blk write 7 merged\nblk read 7\ndisk 64\nrng 8\nptchurn 4 4\n',
];
/** Every fourth VM has virtio devices (console, block, entropy) and a disk. */
const virtioVm = (i: number) => i % 4 === 3;

/** The first index where two byte arrays differ, or -1. */
function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return k;
  return -1;
}

type Source = Awaited<ReturnType<typeof loadCoreModule>>;

/** Run every VM in turns of SLICE instructions until all wait for input; scan between turns. */
function drive(host: Host, vms: Vm[], outs: string[], scan: number): void {
  for (let round = 0; round < 20_000; round++) {
    let busy = false;
    vms.forEach((vm, i) => {
      const r = vm.run(SLICE);
      outs[i] += vm.readConsole();
      if (r.stop === Stop.Idle && !vm.idleSkip()) return;
      if (r.stop === Stop.Halt || r.stop === Stop.Error) return;
      busy = true;
    });
    if (scan > 0) host.ksmScan(scan);
    if (!busy) return;
  }
  throw new Error('the VMs did not settle');
}

interface Run { host: Host; vms: Vm[]; boot: string[]; usedAtPrompt: number; session: string[] }

/** Sixteen VMs booted to their prompt (merging on: scanned until two full passes), then each
 * runs its script. */
async function sixteen(source: Source, ksm: boolean): Promise<Run> {
  const host = await Host.create({ poolMiB: 320 }, source);
  if (ksm) host.ksm(true);
  const vms: Vm[] = [];
  for (let i = 0; i < VMS; i++) {
    const vm = await host.createVm({
      mode: MODES[i % MODES.length], memMiB: 16,
      ...(virtioVm(i) ? { io: 'core', disk: 2 << 20, virtio: { console: true, blk: true, rng: true } } : {}),
    }, `vm${i}`);
    vm.load(HVOS, 'hvos.elf');
    vms.push(vm);
  }
  const scan = ksm ? 4096 : 0;
  const boot = vms.map(() => '');
  drive(host, vms, boot, scan);
  if (ksm) {
    const passes = host.ksmStats().fullScans;
    while (host.ksmStats().fullScans < passes + 2) host.ksmScan(16_384);
  }
  const pool = host.pool();
  const usedAtPrompt = pool.frames - pool.free;
  const session = vms.map(() => '');
  vms.forEach((vm, i) => vm.sendInput(SCRIPTS[i % SCRIPTS.length]));
  drive(host, vms, session, scan);
  return { host, vms, boot, usedAtPrompt, session };
}

describe('same-page merging across VMs (KSM)', () => {
  it('16 VMs at their prompt use half the frames, print the same, and copy on write in every mode', async () => {
    const source = await loadCoreModule();
    const off = await sixteen(source, false);
    const on = await sixteen(source, true);
    const stats = on.host.ksmStats();
    if (process.env.KSM_VERBOSE) console.log({ off: off.usedAtPrompt, on: on.usedAtPrompt, stats, breaks: on.vms.map((v) => on.host.cowBreaksOf(v)) });

    // Booted to the prompt, byte for byte the same.
    for (let i = 0; i < VMS; i++) {
      expect(off.boot[i]).toContain('hvos$ ');
      expect(on.boot[i], `vm${i} boot`).toBe(off.boot[i]);
    }
    // At least 50% fewer host frames in use (the scanner's own tables counted).
    expect(on.usedAtPrompt).toBeLessThanOrEqual(off.usedAtPrompt / 2);

    // Each VM's script wrote memory after the merge: same output, and shared frames were
    // copied in every mode.
    for (let i = 0; i < VMS; i++) {
      expect(on.session[i], `vm${i} (${MODES[i % MODES.length]}) session`).toBe(off.session[i]);
    }
    expect(on.session[0]).toContain('memwalk pages=64');
    expect(on.session[1]).toContain('done');
    expect(on.session[3]).toContain('blk read 7');
    // Every VM, whatever its mode, wrote frames it shared: copy-on-write in every mode (and
    // for the virtio devices' DMA).
    for (const [i, vm] of on.vms.entries()) expect(on.host.cowBreaksOf(vm), `vm${i}`).toBeGreaterThan(0);
    for (const vm of off.vms) expect(off.host.cowBreaksOf(vm)).toBe(0);
    // And each VM's guest RAM holds exactly what it holds without merging: no write (the
    // guest's, the page walk's A/D bits, a device's DMA) reached a frame another VM maps.
    for (let i = 0; i < VMS; i++) {
      const a = on.host.guestRam(on.vms[i]);
      const b = off.host.guestRam(off.vms[i]);
      expect(a.length).toBe(16 << 20);
      expect(firstDiff(a, b), `vm${i} (${MODES[i % MODES.length]}): first differing byte of guest RAM`).toBe(-1);
    }
    expect(stats.cowBreaks).toBeGreaterThan(0);
    expect(stats.fullScans).toBeGreaterThanOrEqual(2);
    expect(stats.pagesShared).toBeGreaterThan(0);
    expect(stats.pagesSharing).toBeGreaterThan(stats.pagesShared);
    // No shadow leaf disagrees with the guest's tables and frame map after merges and breaks.
    for (const vm of on.vms) expect(vm.shadowIncoherence()).toBe(0);

    // Destroying every VM gives every frame back: the references were counted right.
    on.host.ksm(false);
    for (const vm of on.vms) await vm.close();
    const after = on.host.ksmStats();
    expect([after.pagesShared, after.pagesSharing]).toEqual([0, 0]);
    for (const vm of off.vms) await vm.close();
    expect(on.host.pool().free).toBe(off.host.pool().free);
  }, 600_000);

  it('leaves pv VMs and VMs with TypeScript device models unmerged', async () => {
    const host = await Host.create({ poolMiB: 128 }, await loadCoreModule());
    host.ksm(true);
    const kept: Vm[] = [];
    // pv guests hold machine frame numbers in their own page tables; io 'host' device models
    // keep linear addresses of guest rings: neither may have its frames moved.
    for (let i = 0; i < 2; i++) kept.push(await host.createVm({ mode: 'pv', memMiB: 16 }, `pv${i}`));
    for (let i = 0; i < 2; i++) {
      kept.push(await host.createVm({ mode: 'hvm-nested', memMiB: 16, io: 'host', virtio: { console: true, rng: true } }, `hostio${i}`));
    }
    for (const vm of kept) vm.load(HVOS, 'hvos.elf');
    const outs = kept.map(() => '');
    drive(host, kept, outs, 4096);
    for (const out of outs) expect(out).toContain('hvos$ ');
    expect(host.ksmScan(100_000)).toBe(0);
    expect(host.ksmStats()).toMatchObject({ pagesShared: 0, pagesSharing: 0, pagesScanned: 0, merges: 0, fullScans: 0 });
    // A translated VM beside them is merged (its zero pages with each other), and only it.
    const te = await host.createVm({ mode: 'trap-emulate', memMiB: 16 }, 'te');
    te.load(HVOS, 'hvos.elf');
    drive(host, [te], [''], 0);
    expect(host.ksmScan(2 * 4096)).toBe(2 * 4096);
    const stats = host.ksmStats();
    expect(stats.fullScans).toBe(1);
    expect(stats.pagesSharing).toBeGreaterThan(3000);
    expect(stats.pagesSharing + stats.pagesShared).toBeLessThanOrEqual(4096);
    for (const vm of kept) expect(host.cowBreaksOf(vm)).toBe(0);
  }, 120_000);

  it('a copy-on-write break with the pool empty stops that VM with a reason', async () => {
    const host = await Host.create({ poolMiB: 128 }, await loadCoreModule());
    const empty = host.pool().free;
    host.ksm(true);
    const big = await host.createVm({ mode: 'trap-emulate', memMiB: 64 }, 'big');
    big.load(HVOS, 'hvos.elf');
    drive(host, [big], [''], 0);
    host.ksmScan(2 * 16384); // its zero pages become one frame: most of its 64 MiB is free again
    // Fill the pool with VMs that never run.
    const others: Vm[] = [];
    for (;;) {
      try { others.push(await host.createVm({ mode: 'hvm-nested', memMiB: 16 })); } catch { break; }
    }
    expect(others.length).toBeGreaterThan(3);
    const free = host.pool().free;
    expect(free).toBeLessThan(8000);
    // Touching 12000 fresh pages needs a copy of the zero page for each.
    big.sendInput('memwalk 12000 1\n');
    let r = big.run(SLICE);
    for (let i = 0; i < 20_000 && r.stop !== Stop.Error; i++) r = big.run(SLICE);
    expect(r.stop).toBe(Stop.Error);
    expect(r.info?.message).toMatch(/^the host pool has no free frame for this VM's own copy of a shared page \(guest-physical 0x8[0-9a-f]{7};/);
    expect(host.pool().free).toBe(0);
    expect(host.cowBreaksOf(big)).toBe(free);
    // The others are untouched and the pool's books balance when everything goes.
    host.ksm(false);
    await big.close();
    for (const vm of others) await vm.close();
    expect(host.pool()).toEqual({ frames: 32768, free: empty, vms: 0 });
    expect(host.ksmStats().pagesShared).toBe(0);
  }, 120_000);
});
