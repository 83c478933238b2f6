// The C extension beyond the conformance guest (guests/tests/rvc.c, run by guests.test.ts
// against QEMU's golden): compressed device accesses under the hypervisor in every mode, and
// the exact instruction budget and timer determinism with code that mixes 2- and 4-byte
// instructions (assembly/cpu/exec.ts: a compressed instruction runs as its expansion placed
// 2 bytes early, so ip - blockIp still counts 4 per instruction).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runGuest, UNMODIFIED_MODES, Vm, type CoreSource } from '../src/vm.js';
import { loadCoreModule } from '../src/node/load-core.js';
import { Stop } from '../src/core.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const image = (name: string) => new Uint8Array(readFileSync(join(root, 'guests', 'prebuilt', `${name}.elf`)));
const golden = (name: string) => readFileSync(join(root, 'test', 'golden', `${name}.out`), 'latin1');

let source: CoreSource;
beforeAll(async () => { source = await loadCoreModule(); });

describe('rvc-vm (guests/tests/rvc-vm.c): compressed device accesses under the hypervisor', () => {
  for (const mode of UNMODIFIED_MODES) {
    it(`${mode}: the same console as test/golden/rvc-vm.out (the native run)`, async () => {
      const r = await runGuest(image('rvc-vm'), { mode, firmware: 'builtin', maxInstructions: 10_000_000, source });
      expect(r.stop).toEqual({ reason: 'pass', code: 0 });
      expect(r.console).toBe(golden('rvc-vm'));
      if (mode !== 'native') {
        // Every PLIC access of the guest was emulated (compressed or split over a page):
        // c.sw, c.lw, c.swsp, c.lwsp, lw, sw, the split lw, the page-end c.sw, lw; under Sv39
        // sw and the split lw; the final two sw.
        expect(r.counters.EXIT_MMIO_PLIC).toBe(13n);
        expect(r.counters.EXIT_MMIO_CLINT).toBe(1n);
      }
    }, 60_000);
  }
});

/**
 * Run `name` in slices of the given sizes (cycled); each slice that ends on its budget must have
 * retired exactly that many instructions. Input is given at the first idle stop and idle time
 * is skipped, as runScripted does, so the run can be compared with runGuest's.
 */
async function runSliced(name: string, slices: number[], input = ''): Promise<{ console: string; instructions: bigint; counters: Record<string, bigint> }> {
  const vm = await Vm.create({ firmware: 'none' }, source);
  try {
    vm.load(image(name));
    for (let i = 0; ; i++) {
      const k = slices[i % slices.length];
      const before = vm.instructions;
      const r = vm.run(k);
      if (r.stop === Stop.Halt) break;
      if (r.stop === Stop.Idle) {
        if (input) { vm.sendInput(input); input = ''; continue; }
        if (!vm.idleSkip()) throw new Error(`${name}: idle with no timer armed`);
        continue;
      }
      if (r.stop === Stop.Budget) expect(vm.instructions - before).toBe(BigInt(k));
      if (i > 5_000_000) throw new Error(`${name}: did not finish`);
    }
    return { console: vm.readConsole(), instructions: vm.instructions, counters: vm.counters() };
  } finally {
    await vm.close();
  }
}

describe('the instruction budget with compressed code', () => {
  it('rvc: every slice of 1, 2, 3, 5, 7 or 4099 instructions retires exactly that many, and the run equals an unsliced one', async () => {
    const whole = await runGuest(image('rvc'), { firmware: 'none', maxInstructions: 5_000_000, source });
    const sliced = await runSliced('rvc', [1, 2, 3, 5, 7, 4099]);
    expect(sliced.console).toBe(golden('rvc'));
    expect(sliced.console).toBe(whole.console);
    expect(sliced.instructions).toBe(whole.instructions);
  }, 120_000);

  it('interrupts-rvc: timer interrupts land on the same instruction however the run is sliced', async () => {
    const whole = await runGuest(image('interrupts-rvc'), { firmware: 'none', input: 'x', maxInstructions: 200_000_000, source });
    const again = await runGuest(image('interrupts-rvc'), { firmware: 'none', input: 'x', maxInstructions: 200_000_000, source });
    expect(whole.stop).toEqual({ reason: 'pass', code: 0 });
    expect(whole.console).toBe(golden('interrupts'));
    expect(again.counters).toEqual(whole.counters);
    const sliced = await runSliced('interrupts-rvc', [997, 1, 13, 4096], 'x');
    expect(sliced.console).toBe(whole.console);
    expect(sliced.instructions).toBe(whole.instructions);
    expect(sliced.counters).toEqual(whole.counters);
    expect(whole.counters.IRQ_MACHINE_TIMER).toBeGreaterThan(0n);
  }, 120_000);
});
