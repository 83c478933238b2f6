// The VM API (src/vm.ts): config validation, loading, snapshot/restore, reset, determinism.
// Everything runs under the deterministic instret clock, so consoles and counters of two runs
// of the same input must be identical.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { HvlabError } from '../src/errors.js';
import { runGuest, runScripted, Vm, type CoreSource, type VmConfig } from '../src/vm.js';
import { loadCoreModule } from '../src/node/load-core.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (p: string) => new Uint8Array(readFileSync(join(root, p)));
const HELLO = 'guests/prebuilt/hello.elf';
const HVOS = 'guests/hvos/prebuilt/hvos.elf';
const INTERRUPTS = 'guests/prebuilt/interrupts.elf';
const MAX = 1e9;

let source: CoreSource;
beforeAll(async () => { source = await loadCoreModule(); });

/** Runs fn and returns the HvlabError it throws (fails if it throws anything else or nothing). */
async function hvlabError(fn: () => unknown): Promise<HvlabError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HvlabError);
    return e as HvlabError;
  }
  throw new Error('expected an HvlabError, nothing was thrown');
}

/** A minimal ELF64 RISC-V executable with one PT_LOAD segment of `size` zero bytes at vaddr. */
function riscvElf(vaddr: bigint, size: number): Uint8Array {
  const h = Buffer.alloc(64 + 56);
  h.write('\x7fELF', 0, 'latin1');
  h[4] = 2; h[5] = 1; h[6] = 1;
  h.writeUInt16LE(2, 16); h.writeUInt16LE(243, 18); h.writeUInt32LE(1, 20);
  h.writeBigUInt64LE(vaddr, 24); h.writeBigUInt64LE(64n, 32);
  h.writeUInt16LE(64, 52); h.writeUInt16LE(56, 54); h.writeUInt16LE(1, 56); h.writeUInt16LE(64, 58);
  h.writeUInt32LE(1, 64); h.writeUInt32LE(5, 68); h.writeBigUInt64LE(120n, 72);
  h.writeBigUInt64LE(vaddr, 80); h.writeBigUInt64LE(vaddr, 88);
  h.writeBigUInt64LE(BigInt(size), 96); h.writeBigUInt64LE(BigInt(size), 104); h.writeBigUInt64LE(0x1000n, 112);
  return Buffer.concat([h, Buffer.alloc(size)]);
}

describe('Vm.create validates its config', () => {
  const cases: [string, VmConfig, string, string][] = [
    ['memMiB 0', { memMiB: 0 }, 'BAD_MEM', 'memory size must be a whole number of MiB from 16 to 3072, got 0'],
    ['memMiB 8', { memMiB: 8 }, 'BAD_MEM', 'memory size must be a whole number of MiB from 16 to 3072, got 8'],
    ['memMiB 1.5', { memMiB: 1.5 }, 'BAD_MEM', 'memory size must be a whole number of MiB from 16 to 3072, got 1.5'],
    ['memMiB 5000', { memMiB: 5000 }, 'BAD_MEM', 'memory size must be a whole number of MiB from 16 to 3072, got 5000'],
    ['firmware bios', { firmware: 'bios' as never }, 'BAD_FIRMWARE', "firmware must be 'none', 'builtin' or a firmware file, got 'bios'"],
    ['clock fast', { clock: 'fast' as never }, 'BAD_CLOCK', "clock must be 'instret' or 'wall', got 'fast'"],
    ['instrPerTick 0', { instrPerTick: 0 }, 'BAD_TICK', 'instructions per tick must be a whole number from 1 to 1000000, got 0'],
    ['instrPerTick 2.5', { instrPerTick: 2.5 }, 'BAD_TICK', 'instructions per tick must be a whole number from 1 to 1000000, got 2.5'],
  ];
  for (const [what, config, code, message] of cases) {
    it(what, async () => {
      const e = await hvlabError(() => Vm.create(config, source));
      expect([e.code, e.message]).toEqual([code, message]);
    });
  }

  it('the defaults: native mode, 128 MiB, firmware none, instret clock, 10 instructions per tick, no disk or virtio devices', async () => {
    const vm = await Vm.create({}, source);
    expect(vm.config).toEqual({ memMiB: 128, firmware: 'none', clock: 'instret', instrPerTick: 10, bootargs: undefined,
      mode: 'native', nestedPwc: false, gstagePages: '4k', nested: false, nestedFold: 'fold', virtio: undefined, io: 'core', diskBytes: 0, diskImage: undefined, emudisk: false });
    expect(vm.disk()).toBeUndefined();
    expect(vm.ramSize).toBe(128n << 20n);
  });
});

describe('Vm.load', () => {
  it('an image reaching into the device tree at the top of RAM is IMAGE_TOO_BIG', async () => {
    const vm = await Vm.create({ memMiB: 16 }, source);
    const e = await hvlabError(() => vm.load(riscvElf(0x80ff_0000n, 0x100), 'top.elf'));
    expect(e.code).toBe('IMAGE_TOO_BIG');
    // 16 MiB RAM ends at 0x81000000; the DTB sits 2 MiB-aligned below the end.
    expect(e.message).toBe('top.elf: the image reaches 0x80ff0100, into the device tree at 0x80e00000; give the VM more memory');
  });

  it('an image just below the device tree loads', async () => {
    const vm = await Vm.create({ memMiB: 16 }, source);
    const img = vm.load(riscvElf(0x80df_ff00n, 0x100), 'fits.elf');
    expect(img.highest).toBe(0x80e0_0000n);
    expect(vm.pc).toBe(0x80df_ff00n);
  });

  it('a non-ELF without rawAddress is NOT_AN_IMAGE', async () => {
    const vm = await Vm.create({}, source);
    const e = await hvlabError(() => vm.load(new TextEncoder().encode('#!/bin/sh\necho hi\n')));
    expect([e.code, e.message]).toEqual(['NOT_AN_IMAGE',
      'image: not an ELF file']);
  });

  it('reset() before any load is NO_IMAGE', async () => {
    const vm = await Vm.create({}, source);
    const e = await hvlabError(() => vm.reset());
    expect([e.code, e.message]).toEqual(['NO_IMAGE', 'no image loaded']);
  });
});

/** The nonzero counters as a plain record (for deep equality). */
function nonzero(c: Record<string, bigint>): Record<string, string> {
  return Object.fromEntries(Object.entries(c).filter(([, v]) => v !== 0n).map(([k, v]) => [k, v.toString()]));
}

describe('snapshot and restore', () => {
  it('hvos at its prompt: the machine continues from the snapshot, and a replay is identical', async () => {
    const vm = await Vm.create({ firmware: 'builtin' }, source);
    vm.load(read(HVOS));
    expect((await runScripted(vm, '', MAX)).reason).toBe('idle');
    expect(vm.readConsole().endsWith("Welcome to hvos. Type 'help' for the list of commands.\r\nhvos$ ")).toBe(true);
    const snap = vm.snapshot();
    const atSnap = nonzero(vm.counters());

    expect((await runScripted(vm, 'echo one\n', MAX)).reason).toBe('idle');
    const first = vm.readConsole();
    const firstCounters = nonzero(vm.counters());
    expect(first).toBe('echo one\r\none\r\nhvos$ ');

    vm.restore(snap);
    expect(nonzero(vm.counters())).toEqual(atSnap);
    expect((await runScripted(vm, 'echo two\n', MAX)).reason).toBe('idle');
    expect(vm.readConsole()).toBe('echo two\r\ntwo\r\nhvos$ ');

    vm.restore(snap);
    expect((await runScripted(vm, 'echo one\n', MAX)).reason).toBe('idle');
    expect(vm.readConsole()).toBe(first);
    expect(nonzero(vm.counters())).toEqual(firstCounters);

    // After a stop the machine can be restored and run again.
    expect((await runScripted(vm, 'poweroff\n', MAX))).toEqual({ reason: 'pass', code: 0 });
    vm.readConsole();
    vm.restore(snap);
    expect((await runScripted(vm, 'echo three\n', MAX)).reason).toBe('idle');
    expect(vm.readConsole()).toBe('echo three\r\nthree\r\nhvos$ ');
  }, 60_000);

  it('a snapshot of the wrong size is BAD_SNAPSHOT and changes nothing', async () => {
    const vm = await Vm.create({ memMiB: 16 }, source);
    vm.load(read(HELLO));
    const snap = vm.snapshot();
    const e = await hvlabError(() => vm.restore(snap.subarray(0, 100)));
    expect([e.code, e.message]).toEqual(['BAD_SNAPSHOT',
      `snapshot is 100 bytes, this VM needs ${snap.length} (same memory size, I/O path and core build)`]);
    const other = await Vm.create({ memMiB: 32 }, source);
    other.load(read(HELLO));
    const e2 = await hvlabError(() => vm.restore(other.snapshot()));
    expect(e2.code).toBe('BAD_SNAPSHOT');
    expect(await runScripted(vm, '', MAX)).toEqual({ reason: 'pass', code: 0 });
    expect(vm.readConsole()).toBe(readFileSync(join(root, 'test', 'golden', 'hello.out'), 'latin1'));
  });
});

describe('reset', () => {
  async function twice(image: string, firmware: 'none' | 'builtin', input: string) {
    const vm = await Vm.create({ firmware }, source);
    vm.load(read(image));
    const stop1 = await runScripted(vm, input, MAX);
    const run1 = { stop: stop1, console: vm.readConsole(), counters: nonzero(vm.counters()) };
    vm.reset();
    expect(nonzero(vm.counters())).toEqual({});
    const stop2 = await runScripted(vm, input, MAX);
    const run2 = { stop: stop2, console: vm.readConsole(), counters: nonzero(vm.counters()) };
    return { run1, run2 };
  }

  it('hello: reset and run again gives the identical console and counters', async () => {
    const { run1, run2 } = await twice(HELLO, 'none', '');
    expect(run1.stop).toEqual({ reason: 'pass', code: 0 });
    expect(run2).toEqual(run1);
  });

  // Vm.reset() re-initialises the core but keeps RAM as the last run left it, so a kernel whose
  // .data changed while it ran boots from a dirty image (hvos panics "kmain: cannot start sh").
  it('hvos: reset restores the loaded image, so a second boot is identical', async () => {
    const { run1, run2 } = await twice(HVOS, 'builtin', 'echo hi\npoweroff\n');
    expect(run1.stop).toEqual({ reason: 'pass', code: 0 });
    expect(run2.console).toBe(run1.console);
    expect(run2).toEqual(run1);
  }, 60_000);

  // The interrupts guest reads one byte ('x') of the line 'x\n'; the '\n' left in the console
  // receive ring must not leak into the machine after reset.
  it('interrupts: input left unread before reset is discarded', async () => {
    const { run1, run2 } = await twice(INTERRUPTS, 'none', 'x\n');
    expect(run1.stop).toEqual({ reason: 'pass', code: 0 });
    expect(run2.console).toBe(run1.console);
    expect(run2).toEqual(run1);
  }, 60_000);
});

describe('determinism', () => {
  it('the interrupts guest run twice: identical consoles and counters', async () => {
    const image = read(INTERRUPTS);
    const a = await runGuest(image, { firmware: 'none', input: 'x\n', source });
    const b = await runGuest(image, { firmware: 'none', input: 'x\n', source });
    expect(a.stop).toEqual({ reason: 'pass', code: 0 });
    expect(a.console).toBe(readFileSync(join(root, 'test', 'golden', 'interrupts.out'), 'latin1'));
    expect(b.console).toBe(a.console);
    expect(b.counters).toEqual(a.counters);
    expect(b.instructions).toBe(a.instructions);
    // It sleeps in WFI waiting for timers and input: idle time was skipped, deterministically.
    expect(a.counters.IDLE_INSTRUCTIONS).toBeGreaterThan(0n);
  }, 60_000);

  it('a stopped VM reports the same stop again and produces no more output', async () => {
    const vm = await Vm.create({}, source);
    vm.load(read(HELLO));
    expect(await runScripted(vm, '', MAX)).toEqual({ reason: 'pass', code: 0 });
    const n = vm.instructions;
    vm.readConsole();
    expect(vm.run(1000).info).toEqual({ reason: 'pass', code: 0 });
    expect(vm.instructions).toBe(n);
    expect(vm.readConsole()).toBe('');
  });
});
