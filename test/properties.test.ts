// Determinism and continuity as properties (issue 17 item 4, docs/properties.md). For each seed
// (a fixed list, so CI is deterministic; HVLAB_PROPERTY_SEEDS=7,8,9 adds more) a script of
// hvos shell commands is drawn at random, and in every execution mode and I/O path:
//   - determinism: two runs of the script give the same console bytes, the same counters, the
//     same instruction count and the same machine state (a hash of the snapshot bytes);
//   - continuity: a run cut at a random instruction, snapshotted there and restored into a
//     fresh VM, ends exactly as the uninterrupted run (console, counters, state); the run that
//     was cut, going on in its own VM, does too (a cut changes nothing).
// The offload backend's worker serves the rings in real time, beside the vCPU: when it finishes
// a request depends on the host, so its runs are compared on what the guest prints (see
// docs/properties.md). The Linux guest runs the same properties in two modes.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ioPathConfig, type IoPath, type Mode, type Vm } from '../src/vm.js';
import { HVOS_IMAGE, LINUX_BOOTARGS, LINUX_INITRD, LINUX_KERNEL } from '../src/bench/workloads.js';
import { drive, freshVm, rng, runCut, runWhole, type Driver, type Outcome, type Workload } from './support/property-run.js';

const SEEDS = [0x5eed0001, 0x5eed0002, 0x5eed0003,
  ...(process.env.HVLAB_PROPERTY_SEEDS ?? '').split(',').filter((s) => s.trim() !== '').map((s) => Number(s))];
if (SEEDS.some((s) => !Number.isInteger(s))) throw new Error(`HVLAB_PROPERTY_SEEDS must be whole numbers: ${process.env.HVLAB_PROPERTY_SEEDS}`);

const hvos = new Uint8Array(readFileSync(HVOS_IMAGE));
/** A 256 KiB disk (sector s, byte i = s * 7 + i), emudisk or virtio-blk by the I/O path. */
const disk = () => { const d = new Uint8Array(256 << 10); for (let i = 0; i < d.length; i++) d[i] = ((i >>> 9) * 7 + i) & 0xff; return d; };

/** A script of 5 commands drawn from hvos's shell (docs/hvos.md), then poweroff. */
function hvosScript(seed: number): string[] {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pool = [
    () => `compute ${int(1000, 20000)}`,
    () => `memwalk ${int(16, 128)} ${int(1, 3)}`,
    () => `ptchurn ${int(2, 8)} ${int(2, 6)}`,
    () => `spawn ${int(1, 4)}`,
    () => `syscall ${int(100, 3000)}`,
    () => `ctxsw ${int(10, 200)}`,
    () => 'io 1',
    () => `rng ${int(1, 48)}`,
    () => `disk ${4 * int(1, 8)}`,
    () => `blk write ${int(0, 400)} seed ${seed}`,
    () => `blk read ${int(0, 400)}`,
    () => `sleep ${int(1, 5)}`,
    () => 'ps',
    () => 'uptime',
  ];
  const lines = Array.from({ length: 5 }, () => pool[int(0, pool.length - 1)]() + '\n');
  return [...lines, 'poweroff\n'];
}

function hvosWorkload(seed: number, mode: Mode, io: IoPath): Workload {
  return {
    config: { mode, firmware: 'builtin', clock: 'instret', memMiB: 32, ...ioPathConfig(io, disk()) },
    load: (vm) => { vm.load(hvos, 'hvos.elf'); },
    lines: hvosScript(seed),
    limit: 400_000_000,
  };
}

/** The same outcome, compared field by field so a failure names what differs. */
function expectSame(a: Outcome, b: Outcome, what: string): void {
  expectText(a.console, b.console, what);
  expect(b.stop, `${what}: how it stopped`).toBe(a.stop);
  expect(b.instructions, `${what}: instructions`).toBe(a.instructions);
  expect(b.counters, `${what}: counters`).toEqual(a.counters);
  expect(b.state, `${what}: machine state`).toBe(a.state);
}

/** Equal texts; on a difference, the failure shows 120 characters around the first one. */
function expectText(a: string, b: string, what: string): void {
  if (a === b) return;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  expect(JSON.stringify(b.slice(Math.max(0, i - 60), i + 60)), `${what}: the console differs at byte ${i}`)
    .toBe(JSON.stringify(a.slice(Math.max(0, i - 60), i + 60)));
  expect(b, what).toBe(a);
}

/** What the guest printed, without its timings (docs/hvos.md: everything from ' time=' on). */
const untimed = (s: string) => s.replace(/ time=.*$/gm, ' time=<t>').replace(/^uptime: .*$/gm, 'uptime: <t>');

const MODES: Mode[] = ['native', 'trap-emulate', 'hvm-shadow', 'hvm-nested', 'pv'];
const PATHS: IoPath[] = ['emulated', 'core', 'host'];

describe.each(SEEDS.map((s) => [`0x${s.toString(16)}`, s] as const))('seed %s', (_name, seed) => {
  for (const mode of MODES) {
    for (const io of PATHS) {
      // A pv guest's virtio devices are served in the core only (docs/pv-abi.md "Validation").
      if (mode === 'pv' && io === 'host') continue;
      it(`hvos, ${mode}, ${io}: two runs agree; a cut, snapshot and restore continues identically`, async () => {
        const w = hvosWorkload(seed, mode, io);
        const whole = await runWhole(w);
        expect(whole.stop).toBe('stopped');
        expect(whole.console).toContain('hvos: powering off');
        expectSame(whole, await runWhole(w), 'a second run');
        // The cut: anywhere from the first instruction to the last.
        const r = rng(seed ^ (MODES.indexOf(mode) << 8) ^ (PATHS.indexOf(io) << 12));
        const cut = 1n + BigInt(Math.floor(r() * Number(whole.instructions - 1n)));
        const { same, restored, cutAt } = await runCut(w, cut);
        expect(cutAt >= cut, `cut at ${cutAt}, asked for ${cut}`).toBe(true);
        expectSame(whole, same, `the run cut at ${cut}, going on`);
        expectSame(whole, restored, `a fresh VM restored at ${cut}`);
      }, 120_000);
    }
  }
});

// The offload worker serves the rings in real time: how many instructions the guest retires
// while it waits for a completion depends on the host, so counters and instruction counts are
// not reproducible, and neither is where a random cut lands. What is: the guest's output, and
// that a snapshot taken with the worker idle (Vm.ioWait) continues to the same output.
describe.each(SEEDS.map((s) => [`0x${s.toString(16)}`, s] as const))('offload, seed %s', (_name, seed) => {
  for (const mode of MODES) {
    if (mode === 'pv') continue; // pv serves virtio in the core only
    it(`hvos, ${mode}, offload: two runs print the same; a cut, snapshot and restore prints the same`, async () => {
      const w = hvosWorkload(seed, mode, 'offload');
      const whole = await runWhole(w);
      expect(whole.console).toContain('hvos: powering off');
      const again = await runWhole(w);
      expectText(untimed(whole.console), untimed(again.console), 'a second run');
      // How many instructions a run retires depends on the worker's speed, so the cut is placed
      // relative to the script: a random number of instructions (up to 100 000) after a random
      // command was typed (not the last, poweroff).
      const r = rng(seed ^ (MODES.indexOf(mode) << 8) ^ 0xF0000);
      const line = 1 + Math.floor(r() * (w.lines.length - 1));
      const offset = BigInt(Math.floor(r() * 100_000));
      let from: bigint | undefined;
      const cutAt = (vm: Vm, d: { next: number }) => {
        if (d.next < line) return false;
        from ??= vm.instructions + offset;
        return vm.instructions >= from;
      };
      const cut = `${offset} instructions after line ${line}`;
      const { same, restored } = await runCut(w, cutAt);
      expectText(untimed(whole.console), untimed(same.console), `the run cut at ${cut}, going on`);
      expectText(untimed(whole.console), untimed(restored.console), `a fresh VM restored at ${cut}`);
    }, 120_000);
  }
});

// Host-side device state must travel with a snapshot. The host and offload backends keep the
// entropy generator's state in TypeScript; a cut between two uses of virtio-rng shows whether
// the restored VM's generator goes on where the first one was.
describe('state kept outside the core travels with a snapshot', () => {
  for (const io of ['core', 'host', 'offload'] as const) {
    it(`virtio-rng under ${io}: a restore between two 'rng 16' gives the second the same bytes`, async () => {
      const w: Workload = { ...hvosWorkload(1, 'native', io), lines: ['rng 16\n', 'rng 16\n', 'poweroff\n'] };
      const whole = await runWhole(w);
      const draws = whole.console.match(/^(?:[0-9a-f]{2} ){15}[0-9a-f]{2}$/gm);
      expect(draws).toHaveLength(2);
      expect(draws![0]).not.toBe(draws![1]);
      // Cut when the second line has just been typed: the first draw is done.
      const { restored } = await runCut(w, (_vm, d) => d.next === 2);
      if (io === 'offload') expectText(untimed(whole.console), untimed(restored.console), 'restored between the draws');
      else expectSame(whole, restored, 'restored between the draws');
    }, 60_000);
  }
});

// The Linux guest (guests/linux/prebuilt): bigger, so one seed's script in two modes.
describe('Linux', () => {
  const kernel = new Uint8Array(readFileSync(LINUX_KERNEL));
  const initrd = new Uint8Array(readFileSync(LINUX_INITRD));
  const linux = (mode: Mode): { w: Workload; r: () => number } => {
    const r = rng(SEEDS[0] ^ 0x11);
    const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
    return { r, w: {
      config: { mode, firmware: 'builtin', clock: 'instret', bootargs: LINUX_BOOTARGS },
      load: (vm) => { vm.boot({ kernel, kernelName: 'Image', initrd, initrdName: 'initramfs.cpio.gz' }); },
      lines: [`forkwait ${int(1, 5)}\n`, `nullsys ${int(100, 2000)}\n`, `pipeping ${int(10, 100)}\n`, 'poweroff\n'],
      limit: 1_000_000_000,
    } };
  };
  for (const mode of ['native', 'hvm-nested'] as const) {
    it(`Linux, ${mode}: two runs agree`, async () => {
      const { w } = linux(mode);
      const whole = await runWhole(w);
      expect(whole.console).toContain('reboot: Power down');
      expectSame(whole, await runWhole(w), 'a second run');
    }, 300_000);
  }
  it('Linux, native: a cut, snapshot and restore continues identically', async () => {
    const { w, r } = linux('native');
    const whole = await runWhole(w);
    const cut = 1n + BigInt(Math.floor(r() * Number(whole.instructions - 1n)));
    const { same, restored } = await runCut(w, cut);
    expectSame(whole, same, `the run cut at ${cut}, going on`);
    expectSame(whole, restored, `a fresh VM restored at ${cut}`);
  }, 300_000);
  // Found by this property (docs/properties.md "Found", fixed): under hvm-nested, Linux with one
  // extra run() boundary at instruction 9 146 936 ended with 30 720 090 instructions against
  // 30 722 036. The hypervisor's timer exit injected VSTIP into a guest that had it enabled, and
  // the run loop went on into a chunk instead of taking it, so the guest took its timer
  // interrupt at whichever chunk boundary came next: the cut's, or one up to 2^20 instructions on.
  it('Linux, hvm-nested: a run cut at instruction 9146936 continues identically', async () => {
    const { w } = linux('hvm-nested');
    const whole = await runWhole(w);
    const { same, restored } = await runCut(w, 9_146_936n);
    expectSame(whole, restored, 'a fresh VM restored at 9146936');
    expectSame(whole, same, 'the run cut at 9146936, going on');
  }, 300_000);
  // The regression test of that bug, aimed at where it lives: cuts at the hypervisor's timer
  // exits (the instruction count the exit log records, and one past it). Each such boundary
  // takes the exit and the VSTIP it injects; the uninterrupted run must take both there too.
  it('Linux, hvm-nested: runs cut at timer exits continue identically', async () => {
    const { w } = linux('hvm-nested');
    const whole = await runWhole(w);
    const vm = await freshVm(w);
    let exits;
    try {
      const d: Driver = { lines: w.lines, next: 0, console: '' };
      expect(drive(vm, d, w.limit, 12_000_000n)).toBe('cut');
      const TIMER_EXIT = (1n << 63n) | 5n; // an interrupt, code 5 (supervisor timer)
      exits = vm.exitLog().filter((e) => e.cause === TIMER_EXIT).slice(-2);
    } finally { await vm.close(); }
    expect(exits.length).toBe(2);
    for (const e of exits) {
      for (const cut of [e.instructions, e.instructions + 1n]) {
        const { same } = await runCut(w, cut);
        expectSame(whole, same, `the run cut at ${cut} (a timer exit at ${e.instructions})`);
      }
    }
  }, 300_000);
});
