// hvisor, the L1 hypervisor guest (guests/hvisor, docs/nested.md "The L1 hypervisor"): it runs
// in HS-mode and boots hvos as its L2 guest in VS-mode. The committed image runs a scripted
// session on QEMU with the H extension and OpenSBI (the reference) and on hvlab natively with
// its builtin SBI, where the H extension is real; both transcripts must equal
// test/golden/hvisor/*.out once normalised: timings (" time=" to the end of a line) and the
// numbers of L1's exit counts, which depend on the machine (QEMU's real-time clock, QEMU 7.2
// giving no htinst). On hvlab the exit counts are deterministic and checked exactly.
//
// Regenerate the golden files from QEMU: UPDATE_GOLDEN=1 npx vitest run test/hvisor.test.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { qemuAvailable } from './qemu.js';
import { PROMPT, runHvosOnQemu } from './support/hvos.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const image = join(root, 'guests', 'hvisor', 'prebuilt', 'hvisor.elf');
const goldenDir = join(root, 'test', 'golden', 'hvisor');
const sessionIn = readFileSync(join(goldenDir, 'session.in'), 'latin1');
const updateGolden = !!process.env.UPDATE_GOLDEN;
const BANNER = 'hvisor: an L1 hypervisor';
// The lines of L1's exit counts (exit.c, stats_print).
const STATS_LINE = /^hvisor: (L2 exits| \w+:) .*$/gm;

/** Drop the firmware's lines, turn "\r\n" into "\n", replace timings and exit-count numbers. */
function normalise(raw: string): string {
  const start = raw.indexOf(BANNER);
  return (start < 0 ? raw : raw.slice(start)).replace(/\r\n/g, '\n')
    .replace(/ time=.*$/gm, ' time=<t>')
    .replace(STATS_LINE, (line) => line.replace(/ \d+/g, ' N'));
}

/** L1's exit counts: every "name count" pair of its shutdown report, by name. */
function exits(raw: string): Record<string, number> {
  const text = raw.replace(/\r\n/g, '\n');
  const out: Record<string, number> = {};
  const total = /^hvisor: L2 exits (\d+)$/m.exec(text);
  if (!total) throw new Error('no exit report in the console');
  out.total = Number(total[1]);
  for (const m of text.matchAll(/^hvisor: {2}\w+: (.*)$/gm)) {
    const words = m[1].split(' ');
    for (let i = 0; i + 1 < words.length; i += 2) out[words[i]] = Number(words[i + 1]);
  }
  return out;
}

const golden = (name: string) => join(goldenDir, name);
function checkGolden(name: string, got: string) {
  if (updateGolden) writeFileSync(golden(name), got, 'latin1');
  expect(got).toBe(readFileSync(golden(name), 'latin1'));
}

async function onQemu(input: string, append?: string, waitFor = PROMPT) {
  return runHvosOnQemu(image, [{ text: waitFor, send: input }], {
    extraArgs: ['-cpu', 'rv64,h=true', ...(append ? ['-append', append] : [])],
    timeoutMs: 240_000,
  });
}

async function onHvlab(input: string, bootargs?: string, nested = false) {
  const { runGuest } = await import('../src/vm.js');
  return runGuest(new Uint8Array(readFileSync(image)), {
    firmware: 'builtin', memMiB: 128, maxInstructions: 400_000_000, input, bootargs,
    ...(nested ? { mode: 'hvm-nested' as const, nested: true } : {}),
  });
}

const evilEnd = 'hvisor: L2 stopped: its trap handler traps before it runs, at 0x8020001c (pc 0x8020001c)\n';

describe('hvisor on QEMU (reference: -cpu rv64,h=true, OpenSBI)', () => {
  const have = qemuAvailable();
  if (!have && process.env.CI) {
    it('qemu-system-riscv64 is installed (required in CI)', () => {
      expect.fail('qemu-system-riscv64 not found: CI must install qemu-system-misc');
    });
  }
  const why = have ? '' : ' (skipped: qemu-system-riscv64 not installed)';

  it.skipIf(!have)(`hvos under hvisor: the scripted session${why}`, async () => {
    const r = await onQemu(sessionIn);
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(0);
    checkGolden('session.out', normalise(r.console));
    // What holds whatever the timing: the one illegal instruction (fault illegal, in U) was
    // reflected; user ecalls never reached L1; every device access was decoded.
    const e = exits(r.console);
    expect(e['illegal-instruction']).toBe(1);
    expect(e['ecall-u']).toBe(0);
    expect(e.srst).toBe(1);
    expect(e['uart-read'] + e['uart-write'] + e['plic-read'] + e['plic-write'])
      .toBe(e['load-guest-page-fault'] + e['store-guest-page-fault']);
  }, 300_000);

  it.skipIf(!have)(`usertraps: L2's system calls exit to L1 and are reflected${why}`, async () => {
    const r = await onQemu('syscall 1000\npoweroff\n', 'usertraps');
    expect(r.timedOut).toBe(false);
    checkGolden('usertraps.out', normalise(r.console));
    const e = exits(r.console);
    expect(e['ecall-u']).toBeGreaterThanOrEqual(1000);
  }, 300_000);

  it.skipIf(!have)(`a hostile L2 gets faults and errors, then a clean stop${why}`, async () => {
    const r = await onQemu('', 'l2=evil', BANNER);
    expect(r.timedOut).toBe(false);
    const got = normalise(r.console);
    checkGolden('evil.out', got);
    expect(got).toContain(evilEnd);
    // hvisor shuts down with SRST reason "system failure"; OpenSBI 1.1 powers QEMU off with
    // the test device's "pass" whatever the reason (hvlab's builtin SBI reports the failure).
    expect(r.exitCode).toBe(0);
  }, 120_000);
});

describe('hvisor on hvlab (native, builtin SBI: the H extension is real)', () => {
  it('hvos under hvisor: the scripted session equals QEMU\'s', async () => {
    const r = await onHvlab(sessionIn);
    expect(r.stop.reason).toBe('pass');
    expect(r.exitCode).toBe(0);
    expect(normalise(r.console)).toBe(readFileSync(golden('session.out'), 'latin1'));
  }, 300_000);

  it('counts its exits: exact on the deterministic clock, and consistent', async () => {
    const r = await onHvlab('compute 100000\nsyscall 1000\nio 1\nfault illegal\npoweroff\n');
    expect(r.stop.reason).toBe('pass');
    const e = exits(r.console);
    // hvlab gives the transformed instruction in htinst on every device access (8.6.3), so
    // L1 never reads one back with HLVX.
    expect(e.htinst).toBe(e['load-guest-page-fault'] + e['store-guest-page-fault']);
    expect(e.hlvx).toBe(0);
    expect(e['uart-read'] + e['uart-write'] + e['plic-read'] + e['plic-write']).toBe(e.htinst);
    expect(e['ecall-vs']).toBe(e.base + e.time + e.srst + e.dbcn + e.unsupported);
    expect(e.timer).toBe(e['inject-timer']);
    expect(e.total).toBe(e['ecall-u'] + e['illegal-instruction'] + e['ecall-vs'] +
      e['fetch-guest-page-fault'] + e['load-guest-page-fault'] + e['store-guest-page-fault'] +
      e['virtual-instruction'] + e.other + e.timer + e.external);
    // hvos's console is the emulated UART: each byte it prints is an LSR read and a THR
    // write (uart.c), so `io 1` alone (1024 bytes) costs over 2048 exits.
    expect(e['uart-write']).toBeGreaterThan(1024);
    expect(e['uart-read']).toBeGreaterThan(1024);
    // The golden counts. They move with hvisor's own code too: L1's instructions advance the
    // deterministic clock, and the timings hvos prints (one UART exit pair per character)
    // change length with it.
    expect(e).toEqual({
      total: 3846, 'ecall-u': 0, 'illegal-instruction': 1, 'ecall-vs': 26,
      'fetch-guest-page-fault': 0, 'load-guest-page-fault': 1958, 'store-guest-page-fault': 1848,
      'virtual-instruction': 5, other: 0, timer: 3, external: 5,
      base: 7, time: 18, srst: 1, dbcn: 0, unsupported: 0,
      'uart-read': 1953, 'uart-write': 1840, 'plic-read': 5, 'plic-write': 8, 'outside-ram': 0,
      htinst: 3806, hlvx: 0,
      wfi: 5, reflected: 1, 'inject-timer': 3, 'inject-external': 5,
    });
  }, 300_000);

  it('usertraps: every system call of L2 is an exit (the trap-emulate-like L1)', async () => {
    const input = 'syscall 1000\npoweroff\n';
    const plain = exits((await onHvlab(input)).console);
    const r = await onHvlab(input, 'usertraps');
    expect(r.stop.reason).toBe('pass');
    expect(normalise(r.console)).toBe(readFileSync(golden('usertraps.out'), 'latin1'));
    const trapped = exits(r.console);
    expect(plain['ecall-u']).toBe(0);
    // 1000 null system calls, plus the shell's and the program's own (exec, write, exit...).
    expect(trapped['ecall-u']).toBeGreaterThanOrEqual(1000);
    expect(trapped.reflected).toBe(trapped['ecall-u'] + trapped['illegal-instruction']);
    expect(trapped.total - plain.total).toBe(trapped['ecall-u']);
  }, 300_000);

  it('a hostile L2 gets faults and errors, then a clean stop (as on QEMU)', async () => {
    const r = await onHvlab('', 'l2=evil');
    expect(r.stop.reason).toBe('fail');
    expect(r.exitCode).toBe(1);
    const got = normalise(r.console);
    expect(got).toBe(readFileSync(golden('evil.out'), 'latin1'));
    expect(got).toContain(evilEnd);
    const e = exits(r.console);
    // Outside its RAM: a load, a store, a fetch, a misaligned PLIC word, and twice the fetch
    // through a page table outside RAM (the handler's first fetch ends it).
    expect(e['outside-ram']).toBe(6);
    expect(e['fetch-guest-page-fault']).toBe(3);
    // Reflected into its kernel: the illegal instruction, the two H instructions (as illegal
    // instructions), the load, store, fetch and PLIC access faults, the first fault of the
    // page table; then the stop.
    expect(e.reflected).toBe(8);
    expect(e['virtual-instruction']).toBe(2);
    expect(e.unsupported).toBe(1);
  }, 120_000);

  it('is deterministic: two runs give identical consoles and counters', async () => {
    const input = 'compute 20000\nsleep 5\nsyscall 100\npoweroff\n';
    const a = await onHvlab(input, 'usertraps');
    const b = await onHvlab(input, 'usertraps');
    expect(a.stop.reason).toBe('pass');
    expect(b.console).toBe(a.console);
    expect(b.instructions).toBe(a.instructions);
    expect(b.counters).toEqual(a.counters);
  }, 300_000);
});

// Three levels: hvlab's hypervisor (L0, `--mode hvm-nested --nested`) gives the VM a virtual H
// extension, hvisor (L1) runs in it as it runs on the bare machine, and hvos (L2) under it
// (docs/nested.md). L1 cannot tell: the same console, and the same exits counted by L1 itself.
describe('hvisor under hvlab\'s hypervisor with --nested (three levels)', () => {
  it('hvos in L2: the scripted session equals QEMU\'s', async () => {
    const r = await onHvlab(sessionIn, undefined, true);
    expect(r.stop.reason).toBe('pass');
    expect(normalise(r.console)).toBe(readFileSync(golden('session.out'), 'latin1'));
  }, 300_000);

  it('L1 counts the exits it counts on the bare machine; L0 counts what L1 cost it', async () => {
    const input = 'compute 100000\nsyscall 1000\nio 1\nfault illegal\npoweroff\n';
    const bare = await onHvlab(input);
    const r = await onHvlab(input, undefined, true);
    expect(r.stop.reason).toBe('pass');
    expect(exits(r.console)).toEqual(exits(bare.console));
    const c = (k: string) => Number(r.counters[k] ?? 0n);
    // Every exit L1 took was first an exit of L2 to L0, reflected into L1 ...
    expect(c('NEST_REFLECTED')).toBeGreaterThanOrEqual(exits(r.console).total);
    // ... and handling each made L1 exit to L0 again (its hypervisor CSRs, its UART, its SRET):
    // the exit multiplication of nesting.
    expect(c('NEST_L1_EXITS_HANDLING')).toBeGreaterThan(c('NEST_REFLECTED'));
    expect(c('NEST_L2_ENTRIES')).toBeGreaterThan(0);
  }, 300_000);
});

