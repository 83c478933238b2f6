// Nested virtualization (issue 13; docs/nested.md; assembly/hv/nested.ts). The guest
// hypervisors in guests/tests/ (nest, nestwalk, hostile-nest: HS-mode kernels that use the H
// extension) run natively, where the H extension is the machine's, and as L1 under
// `--mode hvm-nested --nested`, where L0 emulates it, with both ways of translating L2's
// G-stage (folded, naive). The console must be the same in all three (a differential test,
// against test/golden/<guest>.out, the native run); nestwalk's is also QEMU's (h=true under
// OpenSBI). The walk and exit counters are asserted exactly, per level.
//
// Regenerate the golden files (native hvlab): UPDATE_GOLDEN=1 npx vitest run test/nested.test.ts
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runGuest, runScripted, Vm, type RunGuestResult, type VmConfig } from '../src/vm.js';
import { Host } from '../src/host.js';
import { loadCoreModule } from '../src/node/load-core.js';
import { QEMU_BINARY, qemuAvailable } from './qemu.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prebuilt = (name: string) => join(root, 'guests', 'prebuilt', `${name}.elf`);
const golden = (name: string) => join(root, 'test', 'golden', `${name}.out`);
const updateGolden = !!process.env.UPDATE_GOLDEN;

const GUESTS = ['nest', 'nestwalk', 'hostile-nest'] as const;
type Level = 'native' | 'fold' | 'naive';
const CONFIGS: Record<Level, VmConfig> = {
  native: { mode: 'native' },
  fold: { mode: 'hvm-nested', nested: true },
  naive: { mode: 'hvm-nested', nested: true, nestedFold: 'naive' },
};

async function run(name: string, level: Level): Promise<RunGuestResult> {
  const image = new Uint8Array(readFileSync(prebuilt(name)));
  return runGuest(image, { firmware: 'builtin', memMiB: 128, maxInstructions: 50_000_000, ...CONFIGS[level] });
}

/** QEMU with the H extension under its OpenSBI; the console from the guest's first line. */
function runOnQemu(name: string, first: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU_BINARY, ['-machine', 'virt', '-nographic', '-bios', 'default', '-m', '128M',
      '-serial', 'stdio', '-monitor', 'none', '-cpu', 'rv64,h=true', '-kernel', prebuilt(name)],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', () => {
      clearTimeout(timer);
      const s = Buffer.concat(out).toString('latin1');
      resolve(s.slice(Math.max(0, s.indexOf(first))));
    });
  });
}

const results = new Map<string, RunGuestResult>();
beforeAll(async () => {
  for (const g of GUESTS) for (const level of Object.keys(CONFIGS) as Level[]) results.set(`${g}/${level}`, await run(g, level));
  if (updateGolden) for (const g of GUESTS) writeFileSync(golden(g), results.get(`${g}/native`)!.console, 'latin1');
}, 300_000);

describe('guest hypervisors: the same console natively and as L1 (differential)', () => {
  for (const g of GUESTS) {
    it(`${g}: the golden file passes every check`, () => {
      const out = readFileSync(golden(g), 'latin1');
      expect(out).not.toMatch(/FAIL/);
      expect(out).toMatch(/\nsummary: 0x[0-9a-f]+ ok, 0x0 failed\n$/);
    });
    for (const level of Object.keys(CONFIGS) as Level[]) {
      it(`${g} ${level}`, () => {
        const r = results.get(`${g}/${level}`)!;
        expect(r.console).toBe(readFileSync(golden(g), 'latin1'));
        expect(r.stop.reason).toBe('pass');
      });
    }
  }

  it.skipIf(!qemuAvailable())('nestwalk on QEMU (h=true, OpenSBI) prints the same', async () => {
    expect(await runOnQemu('nestwalk', 'nestwalk:')).toBe(readFileSync(golden('nestwalk'), 'latin1'));
  }, 60_000);
});

describe('L2 page walks per level (nestwalk: one code page, one data page)', () => {
  it('natively the two L2 misses cost 7 + 15 references: 4 VS-stage, 18 G-stage', () => {
    const c = results.get('nestwalk/native')!.counters;
    expect(c.WALK_REFS_VS).toBe(4n);
    expect(c.WALK_REFS_G).toBe(18n);
    expect(c.WALKS_G).toBe(6n);
    expect(c.NEST_L2_EXITS).toBe(0n);
  });

  it('folded: L2\'s completed walks cost what they cost at one level (the cold data miss 15)', () => {
    const c = results.get('nestwalk/fold')!.counters;
    expect(c.NEST_L2_WALKS).toBe(2n);
    expect(c.NEST_L2_REFS_VS).toBe(4n);
    expect(c.NEST_L2_REFS_G).toBe(18n);
    // Five L2 gPA pages (3 VS-stage tables, the data, the code), each filled by a 3-read walk
    // of L1's 4 KiB G-stage table; the code page's walk goes through L1 table pages no fill
    // had protected yet, so the folded table is dropped once and one leaf filled again (6).
    // The hardware's walks cut short by the fills are counted apart.
    expect(c.NEST_FOLD_FILLS).toBe(6n);
    expect(c.NEST_FOLD_REFS).toBe(18n);
    expect(c.NEST_L2_EXIT_GUEST_PAGE_FAULT).toBe(6n);
    expect(c.NEST_L2_REFS_FAULTED).toBeGreaterThan(0n);
    expect(c.NEST_NAIVE_WALKS).toBe(0n);
  });

  it('naive: each L2 G-stage translation walks L1\'s table through L0\'s: 15 references, 63 a cold miss', () => {
    const c = results.get('nestwalk/naive')!.counters;
    expect(c.NEST_L2_WALKS).toBe(2n);
    expect(c.NEST_L2_REFS_VS).toBe(4n);
    // 6 G-stage translations (4 for the data miss, 2 for the code), each 3 L1 PTEs found by
    // 3-read walks of L0's table, then the L1 gPA through L0's table: 3 + 9 + 3.
    expect(c.NEST_NAIVE_WALKS).toBe(6n);
    expect(c.NEST_NAIVE_REFS_L1).toBe(18n);
    expect(c.NEST_NAIVE_REFS_L0).toBe(72n);
    expect(c.NEST_L2_REFS_G).toBe(90n);
    expect(c.NEST_L2_REFS_FAULTED).toBe(0n);
    expect(c.NEST_FOLD_FILLS).toBe(0n);
    // Folding cuts L2's G-stage references 5x here (18 against 90).
    expect(results.get('nestwalk/fold')!.counters.NEST_L2_REFS_G * 5n).toBe(c.NEST_L2_REFS_G);
  });
});

describe('exits at each level (nest)', () => {
  it('every L2 run ends in one reflection; L0 alone handles the fold fills', () => {
    const c = results.get('nest/fold')!.counters;
    expect(c.NEST_L2_ENTRIES).toBe(16n);
    expect(c.NEST_REFLECTED).toBe(16n);
    expect(c.NEST_L2_EXITS).toBe(c.NEST_REFLECTED + c.NEST_FOLD_FILLS);
    expect(c.NEST_FOLD_FILLS).toBe(13n);
    expect(c.NEST_REFLECTED_ECALL).toBe(9n);        // 8 returns through l2_done, and l2-ecall-vs
    expect(c.NEST_REFLECTED_OTHER_EXCEPTION).toBe(2n); // l2-ecall-vu (ECALL from VU), l2-illegal-to-l1
    expect(c.NEST_REFLECTED_GUEST_PAGE_FAULT).toBe(4n); // unmapped load, fetch, after unmap; read-only store
    // L1's timer while L2 spins: L0's timer exit, reflected as L1's supervisor timer interrupt.
    expect(c.NEST_L2_EXIT_TIMER).toBe(1n);
    expect(c.NEST_REFLECTED_L1_INTERRUPT).toBe(1n);
    // The delegated illegal instruction and the injected interrupt never reached L0.
    expect(c.EXC_ILLEGAL_INSTRUCTION).toBe(2n);
    expect(c.NEST_L1_HFENCE_GVMA).toBe(3n);
    // L1's G-stage table pages are write-protected while folded leaves rest on them: its two
    // PTE writes (remap, unmap) each exit, lift the protection and drop the folded table.
    expect(c.NEST_FOLD_WP).toBe(2n);
    expect(c.NEST_L1_HANDLING_GSTAGE_WRITE).toBe(2n);
    expect(c.NEST_FOLD_PROTECTED).toBeGreaterThanOrEqual(3n);
    expect(c.NEST_L1_HLV).toBe(5n);
    // Exit multiplication: each reflected L2 exit costs L1's own exits to handle
    // (reading scause, htval, htinst, hstatus: 3 of them are hypervisor CSRs, trapping).
    expect(c.NEST_L1_HANDLING_HYPERVISOR_CSR).toBeGreaterThanOrEqual(3n * c.NEST_REFLECTED);
    const s = results.get('nest/fold')!.stats as { nested: { L2: { reflectedToL1: number; handledByL0: number }; L1: { exitMultiplication: number } } };
    expect(s.nested.L2.reflectedToL1).toBe(16);
    expect(s.nested.L2.handledByL0).toBe(13);
    expect(s.nested.L1.exitMultiplication).toBeGreaterThan(4);
  });

  it('the same exits reach L1 on the naive path, without fills', () => {
    const c = results.get('nest/naive')!.counters;
    expect(c.NEST_REFLECTED).toBe(16n);
    expect(c.NEST_L2_EXITS).toBe(16n);
    expect(c.NEST_FOLD_FILLS).toBe(0n);
    expect(c.NEST_FOLD_WP + c.NEST_FOLD_PROTECTED).toBe(0n);
  });

  it('natively nothing is nested', () => {
    const c = results.get('nest/native')!.counters;
    expect(c.NEST_L1_EXITS + c.NEST_L2_EXITS + c.NEST_L1_HCSR).toBe(0n);
  });
});

describe('a hostile L1 (hostile-nest) stays in its memory', () => {
  it('L0 emulates its device mapping and refuses the rest with L1-visible faults', () => {
    for (const level of ['fold', 'naive'] as const) {
      const c = results.get(`hostile-nest/${level}`)!.counters;
      expect(c.NEST_L2_MMIO).toBe(1n);                 // the leaf onto the UART
      expect(c.NEST_REFLECTED).toBe(c.NEST_L2_ENTRIES); // every fault went to L1
    }
    // L2's two stores into L1's G-stage tables (through mappings L1 gave it) were emulated by
    // L0 on the folded path; its store into the table its own code is reached through could
    // otherwise never complete (the retried fetch would protect that table again).
    expect(results.get('hostile-nest/fold')!.counters.NEST_FOLD_WP).toBe(2n);
  });

  it('hypervisor memory after the shadow pool is never written, and the folded table stays in the pool', async () => {
    const PATTERN = 0x5a17c0de5a17c0den;
    const vm = await Vm.create({ firmware: 'builtin', memMiB: 128, mode: 'hvm-nested', nested: true }, await loadCoreModule());
    vm.load(new Uint8Array(readFileSync(prebuilt('hostile-nest'))));
    const ram = vm.ram();
    const l = vm.hypervisorLayout()!;
    const words = () => new BigUint64Array(ram.buffer, ram.byteOffset + l.shadowEnd, (l.hvBytes - l.shadowEnd) / 8);
    words().fill(PATTERN);
    let stop;
    for (let i = 0; i < 1000 && !stop; i++) stop = vm.run(1_000_000).info;
    expect(stop?.reason).toBe('pass');
    expect(words().every((w) => w === PATTERN)).toBe(true);
    expect(vm.readConsole()).not.toContain('5a17c0de');
    await vm.close();
  }, 60_000);

  it('nesting is refused outside hvm-nested, and an unknown walk is named', async () => {
    const src = await loadCoreModule();
    await expect(Vm.create({ firmware: 'builtin', mode: 'hvm-shadow', nested: true }, src)).rejects.toThrow(/hvm-nested only, not 'hvm-shadow'/);
    await expect(Vm.create({ firmware: 'builtin', mode: 'hvm-nested', nested: true, nestedFold: 'wide' as 'fold' }, src)).rejects.toThrow(/unknown nested walk 'wide'/);
  });
});

describe('a nested VM beside others (a Host)', () => {
  it('has no shadow pool for a folded table, so its L2 walks the naive way, with the same console', async () => {
    const host = await Host.create({ poolMiB: 128 }, await loadCoreModule());
    const other = await host.createVm({ mode: 'hvm-nested', firmware: 'builtin', memMiB: 16 }, 'other');
    const vm = await host.createVm({ mode: 'hvm-nested', nested: true, firmware: 'builtin', memMiB: 16 }, 'l1');
    other.load(new Uint8Array(readFileSync(prebuilt('nestwalk'))));
    vm.load(new Uint8Array(readFileSync(prebuilt('nestwalk'))));
    const stop = await runScripted(vm, '', 50_000_000);
    expect(stop.reason).toBe('pass');
    expect(vm.readConsole()).toBe(readFileSync(golden('nestwalk'), 'latin1'));
    const c = vm.counters();
    expect(c.NEST_NAIVE_WALKS).toBe(6n);
    expect(c.NEST_L2_REFS_G).toBe(90n);
    expect(c.NEST_FOLD_FILLS).toBe(0n);
    await vm.close();
    await other.close();
  }, 60_000);
});
