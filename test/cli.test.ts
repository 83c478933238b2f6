// The `hvlab` command as a person runs it: node bin/hvlab.js (the compiled dist/, so run
// `npm run build` first) with stdin piped. Every bad input is one line `hvlab: ...` on stderr,
// no stack trace, exit status 2; a guest's own status becomes the exit status.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'hvlab.js');
const hello = join(root, 'guests', 'prebuilt', 'hello.elf');
const hvos = join(root, 'guests', 'hvos', 'prebuilt', 'hvos.elf');
const tohost = join(root, 'test', 'loader', 'fixtures', 'tohost.elf');
const tmp = mkdtempSync(join(tmpdir(), 'hvlab-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Run { status: number | null; stdout: string; stderr: string }

function hvlab(args: string[], input = ''): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, data: Uint8Array | string): string {
  const p = join(tmp, name);
  writeFileSync(p, data);
  return p;
}

// RV64I encodings for the raw test programs (unprivileged spec, chapter 2).
const lui = (rd: number, imm20: number) => ((imm20 << 12) | (rd << 7) | 0x37) >>> 0;
const addi = (rd: number, rs1: number, imm: number) => (((imm & 0xfff) << 20) | (rs1 << 15) | (rd << 7) | 0x13) >>> 0;
const sw = (rs2: number, rs1: number) => ((rs2 << 20) | (rs1 << 15) | (2 << 12) | 0x23) >>> 0;
const J_SELF = 0x0000_006f; // jal x0, 0
const T0 = 5, T1 = 6, A0 = 10, A1 = 11;

function words(ws: number[]): Uint8Array {
  const b = Buffer.alloc(ws.length * 4);
  ws.forEach((w, i) => b.writeUInt32LE(w, i * 4));
  return b;
}

/** A minimal ELF64 little-endian executable with one PT_LOAD segment holding `code`. */
function elf64(machine: number, vaddr: bigint, code: Uint8Array): Uint8Array {
  const h = Buffer.alloc(64 + 56);
  h.write('\x7fELF', 0, 'latin1');
  h[4] = 2; h[5] = 1; h[6] = 1;                 // ELFCLASS64, ELFDATA2LSB, EV_CURRENT
  h.writeUInt16LE(2, 16);                       // ET_EXEC
  h.writeUInt16LE(machine, 18);
  h.writeUInt32LE(1, 20);
  h.writeBigUInt64LE(vaddr, 24);                // e_entry
  h.writeBigUInt64LE(64n, 32);                  // e_phoff
  h.writeUInt16LE(64, 52); h.writeUInt16LE(56, 54); h.writeUInt16LE(1, 56); h.writeUInt16LE(64, 58);
  h.writeUInt32LE(1, 64); h.writeUInt32LE(5, 68); // PT_LOAD, R X
  h.writeBigUInt64LE(120n, 72);
  h.writeBigUInt64LE(vaddr, 80); h.writeBigUInt64LE(vaddr, 88);
  h.writeBigUInt64LE(BigInt(code.length), 96); h.writeBigUInt64LE(BigInt(code.length), 104);
  h.writeBigUInt64LE(0x1000n, 112);
  return Buffer.concat([h, code]);
}

const fwJump = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin';
const haveOpenSbi = existsSync(fwJump);
/** A RISC-V Linux Image header whose second magic is wrong ("RSC\x04"). */
const badImage = (() => {
  const b = Buffer.alloc(128);
  b.write('RISCV\0\0\0', 48, 'latin1');
  b.write('RSC\x04', 56, 'latin1');
  return b;
})();

describe('hvlab: bad input is one line on stderr and exit status 2', () => {
  const notElf = file('notes.txt', 'hello, not an image\n');
  const dir = join(tmp, 'adir');
  mkdirSync(dir, { recursive: true });
  const x86 = file('x86.elf', elf64(62, 0x401000n, words([0x90909090])));
  const cases: [string, string[], string][] = [
    ['no image', ['run'], 'run: no image given (see hvlab run --help)'],
    ['missing file', ['run', join(tmp, 'nope.elf')], `${join(tmp, 'nope.elf')}: no such file`],
    ['a directory', ['run', dir], `${dir}: is a directory`],
    ['a non-ELF file', ['run', notElf], `${notElf}: not an ELF file (to run a raw binary, give its load address: hvlab run --load-address 0x80000000)`],
    ['an x86-64 ELF', ['run', x86], `${x86}: ELF is for x86-64 (e_machine 62), not RISC-V (e_machine 243)`],
    ['--mem 5X', ['run', '--mem', '5X', hello], "--mem: '5X' is not a size (examples: 128M, 1G, 256)"],
    ['--mem 8M', ['run', '--mem', '8M', hello], '--mem: 8 MiB is outside 16M..3072M'],
    ['--mem 99999G', ['run', '--mem', '99999G', hello], '--mem: 102398976 MiB is outside 16M..3072M'],
    ['--mem 1.5M', ['run', '--mem', '1.5M', hello], "--mem: '1.5M' is not a whole number of MiB"],
    ['--clock fast', ['run', '--clock', 'fast', hello], "--clock: 'fast' is not one of instret, wall"],
    ['--firmware bios (a file that does not exist)', ['run', '--firmware', join(tmp, 'bios'), hello], `--firmware ${join(tmp, 'bios')}: no such file`],
    ['unknown option', ['run', '--turbo', hello], "Unknown option '--turbo' (see hvlab run --help)"],
    ['option without its value', ['run', hello, '--stats'], "Option '--stats <value>' argument missing (see hvlab run --help)"],
    ['two images', ['run', hello, hvos], `run: one image expected, got 2: ${hello} ${hvos}`],
    ['unknown command', ['frobnicate'], "unknown command 'frobnicate' (see hvlab --help)"],
    ['--load-address not a number', ['run', '--load-address', '0xZZ', notElf], "--load-address: '0xZZ' is not an address (example: 0x80000000)"],
    ['--load-address outside RAM', ['run', '--load-address', '0x1000', notElf], `${notElf}: the 20-byte raw image at [0x1000, 0x1014) does not fit in RAM [0x80000000, 0x88000000)`],
    ['--max-instructions 0', ['run', '--max-instructions', '0', hello], "--max-instructions: '0' is not a positive whole number"],
    ['--io bogus', ['run', '--io', 'bogus', hello], "--io: 'bogus' is not one of emulated, core, host, offload"],
    ['--drive missing', ['run', '--drive', join(tmp, 'nodisk.img'), hello], `--drive ${join(tmp, 'nodisk.img')}: no such file`],
    ['--drive of part of a sector', ['run', '--drive', file('odd.img', new Uint8Array(1000)), hello], `--drive ${join(tmp, 'odd.img')}: 1000 bytes is not a whole number of 512-byte sectors`],
    ['--disk 100', ['run', '--disk', '100', hello], '--disk: 100 must be a whole number of 512-byte units, at most 1G'],
    ['--disk and --drive', ['run', '--disk', '1M', '--drive', notElf, hello], '--drive and --disk both give the VM a disk: choose one'],
    ['--initrd without a kernel', ['run', '--firmware', fwJump, '--initrd', hello], '--initrd needs a kernel (--kernel FILE or IMAGE)'],
    ['--append without a kernel', ['run', '--firmware', fwJump, '--append', 'quiet'], '--append needs a kernel (--kernel FILE or IMAGE)'],
    ['the kernel given twice', ['run', '--kernel', hello, hvos], `run: the kernel is given twice (IMAGE ${hvos} and --kernel ${hello}): give one`],
    ['--kernel missing', ['run', '--kernel', join(tmp, 'nokernel')], `${join(tmp, 'nokernel')}: no such file`],
    ['--initrd missing', ['run', '--initrd', join(tmp, 'nord'), hvos], `--initrd ${join(tmp, 'nord')}: no such file`],
    ['a firmware file under the hypervisor', ['run', '--mode', 'trap-emulate', '--firmware', fwJump, hvos],
      `--mode trap-emulate runs a kernel under the hypervisor's SBI: --firmware ${fwJump} does not apply`],
    ['a kernel Image with a bad magic', ['run', '--kernel', file('Image', badImage)],
      `${join(tmp, 'Image')}: bad RISC-V Linux Image magic: "RISCV\\x00\\x00\\x00" at 0x30 and "RSC\\x04" at 0x38, expected "RISCV\\x00\\x00\\x00" and "RSC\\x05"`],
    ['an ELF reaching into the device tree', ['run', '--mem', '16M', file('top.elf', elf64(243, 0x80ff0000n, new Uint8Array(0x100)))],
      `${join(tmp, 'top.elf')}: the image reaches 0x80ff0100, into the device tree at 0x80e00000; give the VM more memory`],
  ];
  for (const [what, args, message] of cases) {
    it(what, () => {
      const r = hvlab(args);
      expect(r.stderr).toBe(`hvlab: ${message}\n`);
      expect(r.stdout).toBe('');
      expect(r.status).toBe(2);
    });
  }
});

describe('hvlab: help', () => {
  it('--help prints the usage and exits 0', () => {
    const r = hvlab(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: hvlab <command> \[options\]\n/);
    expect(r.stdout).toContain('run IMAGE');
    expect(r.stderr).toBe('');
  });
  it('run --help prints the run usage with every option and exits 0', () => {
    const r = hvlab(['run', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: hvlab run \[IMAGE\] \[options\]\n/);
    for (const opt of ['--firmware', '--mem', '--clock', '--load-address', '--max-instructions', '--stats', '--trace', '--kernel', '--initrd', '--append',
      '--trace-filter', '--snapshot-at', '--restore', '--gdb', '--gdb-wait']) {
      expect(r.stdout, opt).toContain(opt);
    }
    expect(r.stderr).toBe('');
  });
});

describe('hvlab run: guests', () => {
  it('--drive FILE: the virtio-blk guest reads the image and its write is saved back to the file', () => {
    const img = new Uint8Array(2048 * 512);
    for (let i = 0; i < img.length; i++) img[i] = ((i >> 9) * 7 + (i & 511)) & 0xff;
    const path = file('pattern.img', img);
    const r = hvlab(['run', '--io', 'core', '--drive', path, join(root, 'guests', 'prebuilt', 'virtio-blk.elf')]);
    expect(r.stdout).toContain('summary: 0x61 ok, 0x0 failed');
    expect(r.status).toBe(0);
    const after = new Uint8Array(readFileSync(path));
    // The guest wrote sector 5 with 0x5a ^ i; every other sector is as it was.
    const sector5 = Buffer.from(Array.from({ length: 512 }, (_, i) => (0x5a ^ i) & 0xff));
    expect(Buffer.from(after.subarray(5 * 512, 6 * 512)).equals(sector5)).toBe(true);
    after.set(img.subarray(5 * 512, 6 * 512), 5 * 512);
    expect(Buffer.from(after).equals(Buffer.from(img))).toBe(true);
  });
  it('--io emulated with --disk: emudisk on the bus, its guest passes', () => {
    const r = hvlab(['run', '--disk', '1M', join(root, 'guests', 'prebuilt', 'emudisk.elf')]);
    // A blank disk: the pattern checks fail, the device checks pass.
    expect(r.stdout).toContain('ok magic');
    expect(r.stdout).toContain('ok capacity');
    expect(r.stdout).toContain('FAIL read-data');
    expect(r.stdout).toContain('ok write-read-back');
  });

  it('a scripted hvos session through piped stdin: banner, echo, poweroff, exit 0', () => {
    const r = hvlab(['run', hvos], 'echo hi\npoweroff\n');
    const out = r.stdout.replace(/\r\n/g, '\n');
    expect(out).toMatch(/^\nhvos v0\.1: the hvlab teaching kernel \(RV64, Sv39\), hart 0\n/);
    expect(out).toContain('SBI: hvlab v1.0 (spec v2.0)\n');
    expect(out.endsWith("Welcome to hvos. Type 'help' for the list of commands.\nhvos$ echo hi\nhi\nhvos$ poweroff\nhvos: powering off\n")).toBe(true);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('--io core --no-virtio-console: a virtio disk beside the UART console, which keeps the keyboard', () => {
    // hvos reads the UART; a virtio console would take the keyboard from it (U-Boot's case too).
    const r = hvlab(['run', '--io', 'core', '--disk', '4K', '--no-virtio-console', hvos], 'echo hi\npoweroff\n');
    expect(r.stdout.replace(/\r\n/g, '\n')).toContain('hvos$ echo hi\nhi\nhvos$ poweroff\nhvos: powering off\n');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('virtio-blk: 8 sectors (4 KiB)');
    expect(r.stdout).not.toContain('virtio-console');
    const without = hvlab(['run', '--io', 'core', '--disk', '4K', hvos], 'poweroff\n');
    expect(without.stdout).toContain('virtio-console: the console moves here');
  });

  it('a reader that closes stdout early (| head -1): no EPIPE crash, the run ends with the guest\'s status', () => {
    // sh: hvlab's stdout goes to `head -1`, which exits after one line; PIPESTATUS is bash's.
    const r = spawnSync('bash', ['-c', `printf 'help\\nbench\\npoweroff\\n' | "${process.execPath}" "${bin}" run "${hvos}" 2>"${join(tmp, 'epipe.err')}" | head -1 >/dev/null; echo "\${PIPESTATUS[1]}"`],
      { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout.trim()).toBe('0');
    expect(readFileSync(join(tmp, 'epipe.err'), 'utf8')).toBe('');
  });

  it('a failing guest (SiFive test (7 << 16) | 0x3333) exits 7 with a message', () => {
    const img = file('fail7.bin', words([lui(T0, 0x100), lui(T1, 0x73), addi(T1, T1, 0x333), sw(T1, T0), J_SELF]));
    const r = hvlab(['run', '--load-address', '0x80000000', '--firmware', 'none', img]);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('\nhvlab: guest failed with code 7\n');
    expect(r.status).toBe(7);
  });

  it('--max-instructions on a loop exits 124 with a message', () => {
    const img = file('loop.bin', words([J_SELF]));
    const r = hvlab(['run', '--load-address', '0x80000000', '--max-instructions', '1000', img]);
    expect(r.stderr).toBe('\nhvlab: instruction limit 1000 reached\n');
    expect(r.status).toBe(124);
  });

  it.skipIf(!haveOpenSbi)('--firmware fw_jump.bin --kernel hvos.elf: OpenSBI\'s banner, hvos, poweroff through SRST exits 0', () => {
    const r = hvlab(['run', '--firmware', fwJump, '--kernel', hvos], 'poweroff\n');
    expect(r.stdout).toContain('OpenSBI v1.1\r\n');
    expect(r.stdout).toContain('Domain0 Next Address      : 0x0000000080200000\r\n');
    expect(r.stdout).toContain('hvos: powering off');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the tohost fixture (stores 1: pass) exits 0 silently', () => {
    const r = hvlab(['run', tohost]);
    expect([r.status, r.stdout, r.stderr]).toEqual([0, '', '']);
  });

  it('a tohost value (2 << 1) | 1 reports test 2 failed: exit 2', () => {
    // Patch the fixture's `li t1, 1` (addi t1, zero, 1) into `li t1, 5`.
    const img = Buffer.from(readFileSync(tohost));
    const at = img.indexOf(Buffer.from(words([addi(T1, 0, 1)])));
    expect(at).toBeGreaterThan(0);
    img.writeUInt32LE(addi(T1, 0, 5), at);
    const r = hvlab(['run', file('tohost5.elf', img)]);
    expect(r.stderr).toBe('\nhvlab: guest failed with code 2\n');
    expect(r.status).toBe(2);
  });

  it('--trace prints one line per instruction: count, privilege, pc, the registers it changed', () => {
    const img = file('trace.bin', words([
      addi(A0, 0, 5), addi(A1, A0, 1), lui(T0, 0x100), lui(T1, 0x5), addi(T1, T1, 0x555), sw(T1, T0), J_SELF,
    ]));
    const r = hvlab(['run', '--load-address', '0x80000000', '--trace', img]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    // The format of docs/debugger.md "Tracing" (src/trace.ts): stable, for diffs.
    expect(r.stderr).toBe([
      '0 M 0x0000000080000000 a0=0x5',
      '1 M 0x0000000080000004 a1=0x6',
      '2 M 0x0000000080000008 t0=0x100000',
      '3 M 0x000000008000000c t1=0x5000',
      '4 M 0x0000000080000010 t1=0x5555',
      '5 M 0x0000000080000014', // the store to the test device: no register changes, then pass
      '',
    ].join('\n'));
  });

  it('--trace-filter pc=LO-HI keeps that range; a bad filter is a one-line error', () => {
    const img = file('trace2.bin', words([
      addi(A0, 0, 5), addi(A1, A0, 1), lui(T0, 0x100), lui(T1, 0x5), addi(T1, T1, 0x555), sw(T1, T0), J_SELF,
    ]));
    const r = hvlab(['run', '--load-address', '0x80000000', '--trace-filter', 'pc=0x80000004-0x8000000c,priv=M', img]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('1 M 0x0000000080000004 a1=0x6\n2 M 0x0000000080000008 t0=0x100000\n');
    for (const [spec, why] of [
      ['priv=H', "'H' is not a privilege (U, S or M)"],
      ['pc=0x10-0x10', 'the range 0x10-0x10 is empty'],
      ['pc=zz-0x10', "'zz' is not an address"],
      ['exit', "unknown term 'exit'"],
      ['priv=U,priv=S', 'priv given twice'],
    ]) {
      const b = hvlab(['run', '--load-address', '0x80000000', '--trace-filter', spec, img]);
      expect(b.status, spec).toBe(2);
      expect(b.stderr, spec).toBe(`hvlab: --trace-filter ${spec}: ${why} (grammar: priv=U+S, pc=LO-HI, exits; joined by commas)\n`);
    }
  }, 120_000);
});

/** The flat counter names that a `--stats` document's fields report. */
function statsAsCounters(s: any): Record<string, string> {
  const flat: Record<string, number> = {
    INSTRET_U: s.instructions.byMode.U, INSTRET_S: s.instructions.byMode.S, INSTRET_M: s.instructions.byMode.M,
    IDLE_INSTRUCTIONS: s.instructions.idleSkipped,
    TLB_FETCH_LOOKUPS: s.tlb.fetch.lookups, TLB_FETCH_MISSES: s.tlb.fetch.misses,
    TLB_LOAD_LOOKUPS: s.tlb.load.lookups, TLB_LOAD_MISSES: s.tlb.load.misses,
    TLB_STORE_LOOKUPS: s.tlb.store.lookups, TLB_STORE_MISSES: s.tlb.store.misses, TLB_FLUSHES: s.tlb.flushes,
    WALKS: s.pageWalks.walks, WALK_REFS: s.pageWalks.memoryReferences, PAGE_FAULTS: s.pageWalks.pageFaults,
    MMIO_UART_READS: s.mmio.uart.reads, MMIO_UART_WRITES: s.mmio.uart.writes,
    MMIO_CLINT_READS: s.mmio.clint.reads, MMIO_CLINT_WRITES: s.mmio.clint.writes,
    MMIO_PLIC_READS: s.mmio.plic.reads, MMIO_PLIC_WRITES: s.mmio.plic.writes,
    MMIO_TEST_READS: s.mmio.test.reads, MMIO_TEST_WRITES: s.mmio.test.writes,
    MMIO_VIRTIO_READS: s.mmio.virtio.reads, MMIO_VIRTIO_WRITES: s.mmio.virtio.writes,
    SBI_BASE: s.sbi.base, SBI_TIME: s.sbi.time, SBI_IPI: s.sbi.ipi, SBI_RFENCE: s.sbi.rfence,
    SBI_HSM: s.sbi.hsm, SBI_SRST: s.sbi.srst, SBI_DBCN: s.sbi.dbcn, SBI_OTHER: s.sbi.unsupported,
    UART_TX_BYTES: s.console.txBytes, UART_RX_BYTES: s.console.rxBytes,
  };
  for (const [name, v] of Object.entries(s.traps.exceptions as Record<string, number>)) flat[`EXC_${name.toUpperCase()}`] = v;
  for (const [name, v] of Object.entries(s.traps.interrupts as Record<string, number>)) flat[`IRQ_${name.toUpperCase()}`] = v;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(flat)) if (v !== 0) out[k] = String(v);
  return out;
}

describe('hvlab run --stats', () => {
  const golden = JSON.parse(readFileSync(join(root, 'test', 'golden', 'counters', 'hello.json'), 'utf8')) as Record<string, string>;

  it('--stats FILE writes JSON whose counters equal the hello golden counters', () => {
    const out = join(tmp, 'hello-stats.json');
    const r = hvlab(['run', '--stats', out, hello]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(readFileSync(join(root, 'test', 'golden', 'hello.out'), 'latin1'));
    const s = JSON.parse(readFileSync(out, 'utf8'));
    expect({ image: s.image, firmware: s.firmware, clock: s.clock, memMiB: s.memMiB, stop: s.stop })
      .toEqual({ image: hello, firmware: 'none', clock: 'instret', memMiB: 128, stop: { reason: 'pass', code: 0 } });
    expect(s.instructions.total).toBe(Number(golden.INSTRET_M));
    expect(statsAsCounters(s)).toEqual(golden);
    expect(s.traps).toEqual({ exceptions: {}, interrupts: {} });
  });

  it('--stats - writes the same JSON to stderr', () => {
    const r = hvlab(['run', '--stats', '-', hello]);
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stderr);
    expect(statsAsCounters(s)).toEqual(golden);
    expect(s.stop).toEqual({ reason: 'pass', code: 0 });
  });
});
