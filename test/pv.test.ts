// The pv mode (issue 7; docs/pv-abi.md, docs/hypervisor.md "Paravirtualization"): the hvlab PV
// extension function by function with good and bad arguments (guests/tests/pv-abi.c), a
// hostile pv guest against the PV MMU with the hypervisor's memory watched
// (guests/tests/hostile-pv.c), unmodified kernels refused cleanly, and PV-on-HVM.
// hvos in pv (the golden session, the exit figures) is in test/hypervisor.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runGuest, runScripted, Vm, type RunGuestResult } from '../src/vm.js';
import { Stop } from '../src/core.js';
import { loadCoreModule } from '../src/node/load-core.js';
import { HVOS_ELF } from './support/hvos.js';

const MIB = 1024 * 1024;
const GUEST_BYTES = 128 * MIB;
const PATTERN = 0x5a17c0de5a17c0den;
const image = (name: string) => new Uint8Array(readFileSync(join('guests', 'prebuilt', `${name}.elf`)));
const golden = (name: string) => readFileSync(join('test', 'golden', `${name}.out`), 'latin1');
const n = (c: Record<string, bigint>, k: string) => Number(c[k] ?? 0n);

const PV_FUNCTIONS = ['PV_INFO', 'PV_VERSION', 'PV_MMU_UPDATE', 'PV_PIN', 'PV_UNPIN', 'PV_SET_ROOT', 'PV_TLB_FLUSH',
  'PV_SET_CALLBACKS', 'PV_IRET', 'PV_SHARED_INFO', 'PV_SET_TIMER', 'PV_YIELD', 'PV_BLOCK', 'PV_CONSOLE_WRITE', 'PV_SET_FP_STATE'];

describe('pv-abi (guests/tests/pv-abi.c): every PV function, good and bad arguments', () => {
  let r: RunGuestResult;
  beforeAll(async () => { r = await runGuest(image('pv-abi'), { mode: 'pv', maxInstructions: 50_000_000 }); });

  it('golden file: every check passes', () => {
    const g = golden('pv-abi');
    expect(g).not.toMatch(/FAIL|UNEXPECTED/);
    expect(g).toMatch(/\nsummary: 0x91 ok, 0x0 failed\n$/);
  });

  it(`console equals test/golden/pv-abi.out, and the guest shuts down with reason none`, () => {
    expect(r.console).toBe(golden('pv-abi'));
    expect(r.stop.reason).toBe('pass');
  });

  it('calls every function of the extension', () => {
    for (const f of PV_FUNCTIONS) expect(n(r.counters, f), f).toBeGreaterThan(0);
  });

  it('counts each refused call once, and every trap it bounced', () => {
    // 50 calls of the guest are refused on purpose (each check expecting an error but
    // "unknown-function", which is not a PV function, and the PTE store that faults).
    expect(n(r.counters, 'PV_REFUSED')).toBe(REFUSED_PV_ABI);
    // User mode: the system call, two page faults, the timer interrupt, an FADD with FS Off.
    expect(n(r.counters, 'PV_BOUNCES')).toBe(5);
    expect(n(r.counters, 'EXIT_PV_BOUNCE')).toBe(4);
    // Kernel: the store to a live table, four FP instructions with FS Off (FADD, an fcsr
    // read, FSD, FMV.X.D), the interrupt delivered when unmasked.
    expect(n(r.counters, 'PV_KERNEL_TRAPS')).toBe(6);
    expect(n(r.counters, 'EXIT_PV_KERNEL_TRAP')).toBe(5);
    // The block call's return and the two bounced timer interrupts.
    expect(n(r.counters, 'PV_VIRQS')).toBe(3);
    // The guest kernel never runs a privileged instruction: no illegal-instruction exits.
    expect(n(r.counters, 'EXIT_ILLEGAL') + n(r.counters, 'EXIT_CSR')).toBe(0);
    expect(n(r.counters, 'INSTRET_S')).toBe(0);
  });

  it('walks its tables in hardware: no shadow, no second stage', () => {
    expect(n(r.counters, 'WALK_REFS')).toBeGreaterThan(0);
    expect(n(r.counters, 'SHADOW_FILLS') + n(r.counters, 'WALK_REFS_G') + n(r.counters, 'WALK_REFS_VS')).toBe(0);
  });
});
describe('the pv kernel\'s virtual FS (set_fp_state) in snapshots', () => {
  it('a fresh VM restored while FS is Off traps on the FADD as the original does', async () => {
    const a = await Vm.create({ mode: 'pv', memMiB: GUEST_BYTES / MIB }, await loadCoreModule());
    a.load(image('pv-abi'));
    // Step until set_fp_state(Off) has returned and been checked, before the FADD that must trap.
    let head = '';
    for (let i = 0; i < 100_000 && !head.includes('ok fs-off\n'); i++) {
      expect(a.run(20).info).toBeUndefined();
      head += a.readConsole();
    }
    expect(head).toMatch(/\nok fs-off\n$/);
    const snap = a.snapshot();
    expect((await runScripted(a, '', 50_000_000)).reason).toBe('pass');
    const tail = a.readConsole();
    const b = await Vm.create({ mode: 'pv', memMiB: GUEST_BYTES / MIB }, await loadCoreModule());
    b.load(image('pv-abi'));
    b.restore(snap);
    expect((await runScripted(b, '', 50_000_000)).reason).toBe('pass');
    expect(b.readConsole()).toBe(tail);
    expect(tail).toMatch(/^ok fs-off-fadd-cause\n/);
    expect(head + tail).toBe(golden('pv-abi'));
  }, 30_000);
});

// Refused calls in pv-abi.c: one per expect() with an SBI error other than NOT_SUPPORTED.
const REFUSED_PV_ABI = countRefused('guests/tests/pv-abi.c');

function countRefused(path: string): number {
  const src = readFileSync(path, 'utf8');
  return [...src.matchAll(/SBI_ERR_(INVALID_PARAM|DENIED|INVALID_ADDRESS|ALREADY_AVAILABLE)/g)].length;
}

/**
 * The hypervisor area (machine RAM offset 0) as assembly/hv/vm.ts lays it out, and the parts
 * a pv VM does not use: the reverse map, the G-stage area, and the shadow pool past the pv
 * structures (m2p, p2m and the boot tables take well under 1 MiB of it).
 */
function pvUnusedRegions(hvBytes: number): Array<[number, number]> {
  const frames = GUEST_BYTES / 4096;
  const rmap = frames * 16;
  const gstageRoot = Math.ceil(frames * 32 / 16384) * 16384;
  const gstageEnd = gstageRoot + 16384 + ((frames >> 9) + 8) * 4096;
  const shadowPool = Math.ceil(gstageEnd / 4096) * 4096;
  return [[rmap, frames * 32], [gstageRoot, gstageEnd], [shadowPool + MIB, hvBytes]];
}

describe('hostile-pv (guests/tests/hostile-pv.c): a pv guest against the PV MMU', () => {
  let vm: Vm;
  let out: string;
  let untouched: boolean;
  let stop: string | undefined;
  beforeAll(async () => {
    // With a virtio entropy device assigned, which the guest aims at one of its page tables.
    vm = await Vm.create({ mode: 'pv', memMiB: GUEST_BYTES / MIB, virtio: { rng: true } }, await loadCoreModule());
    vm.load(image('hostile-pv'));
    const ram = vm.ram();
    const regions = pvUnusedRegions(ram.length - GUEST_BYTES);
    const words = (s: number, e: number) => new BigUint64Array(ram.buffer, ram.byteOffset + s, (e - s) / 8);
    for (const [s, e] of regions) words(s, e).fill(PATTERN);
    for (let i = 0; i < 1000 && !stop; i++) {
      const r = vm.run(100_000);
      if (r.info) stop = r.info.reason;
      else if (r.stop === Stop.Idle && !vm.idleSkip()) stop = 'idle';
    }
    out = vm.readConsole();
    untouched = regions.every(([s, e]) => words(s, e).every((w) => w === PATTERN));
  });

  it('golden file: every attempt refused', () => {
    const g = golden('hostile-pv');
    expect(g).not.toMatch(/FAIL|UNEXPECTED/);
    expect(g).toMatch(/\nsummary: 0x2e ok, 0x0 failed\n$/);
    expect(g).toContain('ok virtio-dma-into-table-unchanged\n');
  });

  it('console equals test/golden/hostile-pv.out; the guest shuts down normally', () => {
    expect(out).toBe(golden('hostile-pv'));
    expect(stop).toBe('pass');
  });

  it('leaves the hypervisor\'s memory it does not use untouched', () => {
    expect(untouched).toBe(true);
  });

  it('counts every refused call', () => {
    // The guest's refused() checks expecting an error; the DBCN console read is not a PV call.
    expect(n(vm.counters(), 'PV_REFUSED')).toBe(countRefused('guests/tests/hostile-pv.c') - 1);
  });
});

describe('devices under pv', () => {
  it('virtio is served in the core, which never lets a device write a page table', async () => {
    await expect(Vm.create({ mode: 'pv', io: 'host', virtio: { rng: true } }, await loadCoreModule()))
      .rejects.toThrow(/pv guest's virtio devices are served in the core/);
  });

  it('hvos drives assigned virtio devices and emudisk directly, without exits', async () => {
    const disk = new Uint8Array(1 << 20);
    for (const config of [{ virtio: { rng: true, blk: true }, disk }, { emudisk: true, disk }]) {
      const r = await runGuest(new Uint8Array(readFileSync(HVOS_ELF)), { mode: 'pv', input: 'disk 64\npoweroff\n', ...config });
      expect(r.stop.reason).toBe('pass');
      expect(r.console).toMatch(/disk kib=64 requests=16 fnv1a=[0-9a-f]+ driver=(virtio-blk|emudisk)/);
      expect(n(r.counters, 'EXIT_MMIO_VIRTIO') + n(r.counters, 'EXIT_MMIO_EMUDISK')).toBe(0);
    }
  }, 60_000);
});

describe('unmodified kernels under pv', () => {
  it('an S-mode kernel traps on its first privileged instruction and stops with a reason', async () => {
    const r = await runGuest(image('sbi'), { mode: 'pv', maxInstructions: 1_000_000 });
    expect(r.stop.reason).toBe('error');
    expect(r.stop.message).toMatch(/^pv: a trap of the guest kernel with no handler registered \(scause 0x2\)/);
  });
});

describe('PV-on-HVM: hvos uses the PV console and timer under hardware assist, its MMU stays hardware\'s', () => {
  const input = 'echo hi\nsleep 5\npoweroff\n';
  for (const mode of ['hvm-shadow', 'hvm-nested'] as const) {
    it(mode, async () => {
      const r = await runGuest(new Uint8Array(readFileSync(HVOS_ELF)), { mode, input });
      expect(r.stop.reason).toBe('pass');
      expect(n(r.counters, 'PV_CONSOLE_WRITE')).toBeGreaterThan(5);
      expect(n(r.counters, 'PV_SET_TIMER')).toBeGreaterThan(0);
      // The timer is the PV extension's, not SBI TIME's; output is a hypercall per line.
      expect(n(r.counters, 'SBI_TIME')).toBe(0);
      expect(n(r.counters, 'UART_TX_BYTES')).toBeGreaterThan(4 * n(r.counters, 'PV_CONSOLE_WRITE'));
      for (const f of ['PV_MMU_UPDATE', 'PV_PIN', 'PV_SET_ROOT', 'PV_IRET', 'PV_BLOCK', 'PV_SHARED_INFO']) expect(n(r.counters, f), f).toBe(0);
    }, 60_000);
  }
  it('trap-emulate runs the unmodified kernel: no PV call beyond the probe', async () => {
    const r = await runGuest(new Uint8Array(readFileSync(HVOS_ELF)), { mode: 'trap-emulate', input });
    expect(r.stop.reason).toBe('pass');
    const pvCalls = PV_FUNCTIONS.reduce((s, f) => s + n(r.counters, f), 0);
    expect(pvCalls).toBe(n(r.counters, 'PV_INFO'));
  }, 60_000);
});
