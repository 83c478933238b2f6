// The F and D extensions (docs/design.md "FPU") beyond the M-mode conformance guests of
// test/guests.test.ts (rvfd, fcsr, hfpu, fprand): the FP state a guest kernel sees through
// sstatus.FS in every execution mode. guests/tests/fpkern.c is an S-mode kernel for an SBI
// firmware; its golden output is QEMU's (with OpenSBI, which needs the C extension on: the
// kernel itself has no compressed instruction), and hvlab must print the same natively (builtin
// firmware) and as the guest of the trap-emulate, hvm-shadow and hvm-nested hypervisors.
//
// Regenerate the golden file from QEMU: UPDATE_GOLDEN=1 npx vitest run test/fpu.test.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runGuest, runScripted, Vm, type Mode } from '../src/vm.js';
import { loadCoreModule } from '../src/node/load-core.js';
import { qemuAvailable, runOnQemu } from './qemu.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const image = (name: string) => new Uint8Array(readFileSync(join(root, 'guests', 'prebuilt', `${name}.elf`)));
const goldenPath = join(root, 'test', 'golden', 'fpkern.out');
const BANNER = 'fpkern: ';
const n = (c: Record<string, bigint>, k: string) => Number(c[k] ?? 0n);

describe('fpkern: a guest kernel\'s FS on QEMU (reference)', () => {
  it.skipIf(!qemuAvailable())('prints the golden output after the OpenSBI banner', async () => {
    const r = await runOnQemu(join(root, 'guests', 'prebuilt', 'fpkern.elf'), { bios: 'default', cpu: 'rv64' });
    expect(r.timedOut).toBe(false);
    const out = r.console.slice(r.console.indexOf(BANNER));
    if (process.env.UPDATE_GOLDEN) writeFileSync(goldenPath, out, 'latin1');
    expect(out).toBe(readFileSync(goldenPath, 'latin1'));
  }, 60_000);
});

const MODES: Mode[] = ['native', 'trap-emulate', 'hvm-shadow', 'hvm-nested'];

describe.each(MODES)('fpkern in %s', (mode) => {
  it('prints the golden output: FS=Off traps in S and U, writes dirty, reads do not', async () => {
    const golden = readFileSync(goldenPath, 'latin1');
    expect(golden).not.toMatch(/FAIL/);
    const r = await runGuest(image('fpkern'), { mode, firmware: 'builtin', maxInstructions: 5_000_000 });
    expect(r.console).toBe(golden);
    expect(r.stop.reason).toBe('pass');
  }, 30_000);
});

describe('FP under the hypervisors', () => {
  it('trap-emulate: the guest kernel\'s FP runs without exits; with its FS off each use is reflected as illegal', async () => {
    const r = await runGuest(image('fpkern'), { mode: 'trap-emulate', firmware: 'builtin', maxInstructions: 5_000_000 });
    // The kernel's 4 FP uses while its FS is Off trap to the hypervisor, which finds no
    // privileged instruction to emulate and reflects an illegal instruction.
    expect(n(r.counters, 'EXIT_ILLEGAL')).toBe(4);
    // Its user programs' traps are reflected too: 3 FP uses with FS Off and 7 returns (ecall).
    expect(n(r.counters, 'EXIT_REFLECT')).toBe(10);
    const again = await runGuest(image('fpkern'), { mode: 'trap-emulate', firmware: 'builtin', maxInstructions: 5_000_000 });
    expect(again.console).toBe(r.console);
    expect(again.counters).toEqual(r.counters);
  }, 30_000);

  it.each(['hvm-shadow', 'hvm-nested'] as Mode[])('%s: VS-mode FP with the guest\'s FS off is delegated to the guest, no exit', async (mode) => {
    const r = await runGuest(image('fpkern'), { mode, firmware: 'builtin', maxInstructions: 5_000_000 });
    expect(n(r.counters, 'EXC_ILLEGAL_INSTRUCTION')).toBe(7);
    expect(n(r.counters, 'EXIT_ILLEGAL')).toBe(0);
    expect(n(r.counters, 'EXIT_REFLECT')).toBe(0);
  }, 30_000);
});

describe('FP state in snapshots', () => {
  it('the f registers and fcsr are in a snapshot: a fresh VM restored mid-run prints the same', async () => {
    const img = image('fprand');
    const a = await Vm.create({ firmware: 'none' }, await loadCoreModule());
    a.load(img);
    // Stop in the middle of the rounding-mode loops (frm != 0, f registers live).
    expect(a.run(40_000_000).info).toBeUndefined();
    const head = a.readConsole();
    expect(head).toMatch(/^fadd\.d rne /);
    const snap = a.snapshot();
    expect((await runScripted(a, '', 400_000_000)).reason).toBe('pass');
    const tail = a.readConsole();
    const b = await Vm.create({ firmware: 'none' }, await loadCoreModule());
    b.load(img);
    b.restore(snap);
    expect((await runScripted(b, '', 400_000_000)).reason).toBe('pass');
    expect(b.readConsole()).toBe(tail);
    expect(head + tail).toBe(readFileSync(join(root, 'test', 'golden', 'fprand.out'), 'latin1'));
  }, 60_000);
});
