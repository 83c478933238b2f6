// hvos, hvlab's teaching kernel (guests/hvos, docs/hvos.md): the committed image boots to
// its shell and runs a scripted session, on QEMU with OpenSBI (the reference) and on hvlab
// with its builtin SBI firmware. Both transcripts must equal test/golden/hvos/session.out
// once normalised: the platform lines (SBI implementation, hypervisor probe) and everything
// from " time=" to the end of a line (timings) are replaced by placeholders.
//
// Regenerate the golden file from QEMU: UPDATE_GOLDEN=1 npx vitest run test/hvos.test.ts
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { qemuAvailable } from './qemu.js';
import { normalise, PROMPT, runHvosOnQemu } from './support/hvos.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const hvosDir = join(root, 'guests', 'hvos');
const image = join(hvosDir, 'prebuilt', 'hvos.elf');
const goldenDir = join(root, 'test', 'golden', 'hvos');
const sessionIn = readFileSync(join(goldenDir, 'session.in'), 'latin1');
const sessionOut = join(goldenDir, 'session.out');
const updateGolden = !!process.env.UPDATE_GOLDEN;

describe('hvos on QEMU (reference, OpenSBI)', () => {
  const have = qemuAvailable();
  if (!have && process.env.CI) {
    it('qemu-system-riscv64 is installed (required in CI)', () => {
      expect.fail('qemu-system-riscv64 not found: CI must install qemu-system-misc');
    });
  }
  const why = have ? '' : ' (skipped: qemu-system-riscv64 not installed)';

  it.skipIf(!have)(`scripted session matches the golden transcript${why}`, async () => {
    // The whole script at once after the first prompt: the line discipline buffers it
    // and echoes each line when the shell reads it, as if typed.
    const r = await runHvosOnQemu(image, [{ text: PROMPT, send: sessionIn }]);
    expect(r.timedOut).toBe(false);
    const got = normalise(r.console);
    if (updateGolden) writeFileSync(sessionOut, got, 'latin1');
    expect(got).toBe(readFileSync(sessionOut, 'latin1'));
    expect(r.console).toContain('SBI: OpenSBI v');
    expect(r.console).toContain('No hypervisor detected\r\n');
  }, 90_000);

  it.skipIf(!have)(`Ctrl-C stops the foreground job, Ctrl-D ends the shell${why}`, async () => {
    const r = await runHvosOnQemu(image, [
      { text: PROMPT, send: 'compute 1000000000\n' },
      { text: 'compute 1000000000\r\n', delayMs: 300, send: '\x03' },
      { text: PROMPT, count: 2, send: 'ctxsw 10000000\n' },
      { text: 'ctxsw 10000000\r\n', delayMs: 300, send: '\x03' },
      { text: PROMPT, count: 3, send: 'ps\n' },
      { text: PROMPT, count: 4, send: 'unfinished\x03' },
      { text: PROMPT, count: 5, send: '\x04' },
    ]);
    expect(r.timedOut).toBe(false);
    const got = normalise(r.console);
    expect(got).toContain('hvos$ compute 1000000000\n^C\nhvos$ ');
    expect(got).toContain('hvos$ ctxsw 10000000\n^C\nhvos$ ');
    // Both ctxsw processes (one process group) are gone.
    expect(got).toContain('hvos$ ps\n  PID  PPID STATE     PAGES NAME\n    1     0 running       7 sh\nhvos$ ');
    expect(got).toContain('hvos$ unfinished^C\nhvos$ \n');
    expect(got.endsWith('hvos: init (sh) exited with status 0, powering off\n')).toBe(true);
  }, 90_000);
});

describe('hvos on hvlab (builtin SBI firmware)', () => {
  const run = async (input: string, maxInstructions = 200_000_000) => {
    const { runGuest } = await import('../src/vm.js');
    return runGuest(new Uint8Array(readFileSync(image)), {
      firmware: 'builtin', memMiB: 128, maxInstructions, input,
    });
  };

  it('boots to the shell prompt quickly', async () => {
    const r = await run('poweroff\n', 20_000_000);
    const text = normalise(r.console);
    expect(text.startsWith('hvos v0.1: the hvlab teaching kernel')).toBe(true);
    expect(text).toContain(`\n${PROMPT}poweroff\nhvos: powering off\n`);
    expect(r.console).toContain('SBI: hvlab v');
    expect(r.stop.reason).toBe('pass');
    expect(r.exitCode).toBe(0);
    // Boot budget: well under 5 million instructions. (The 50 ms wall-time target is a
    // benchmark, `npm run bench:boot`, not a timed test: this machine is shared and noisy.)
    expect(Number(r.instructions)).toBeLessThan(5_000_000);
  }, 60_000);

  it('stops as idle when the input runs out and the shell waits for more', async () => {
    const r = await run('echo last\n');
    expect(r.stop.reason).toBe('idle');
    expect(r.exitCode).toBe(0);
    expect(normalise(r.console).endsWith(`${PROMPT}echo last\nlast\n${PROMPT}`)).toBe(true);
  }, 60_000);

  it('scripted session matches the golden transcript', async () => {
    const r = await run(sessionIn);
    expect(normalise(r.console)).toBe(readFileSync(sessionOut, 'latin1'));
    expect(r.stop.reason).toBe('pass');
    expect(r.exitCode).toBe(0);
  }, 120_000);

  it('Ctrl-D on an empty line ends the shell and powers off', async () => {
    const r = await run('echo bye\n\x04');
    expect(normalise(r.console)).toContain(
      `${PROMPT}echo bye\nbye\n${PROMPT}\nhvos: init (sh) exited with status 0, powering off\n`);
    expect(r.stop.reason).toBe('pass');
  }, 60_000);

  it('is deterministic: two runs give identical consoles and counters', async () => {
    const input = 'uptime\ncompute 50000\nctxsw 200\nsleep 5\nspawn 5\nps\npoweroff\n';
    const a = await run(input);
    const b = await run(input);
    expect(a.stop.reason).toBe('pass');
    expect(b.console).toBe(a.console);
    expect(b.instructions).toBe(a.instructions);
    expect(b.counters).toEqual(a.counters);
  }, 120_000);
});

describe('hvos image', () => {
  it('has no compressed instructions in its kernel text', () => {
    // ELF64 little-endian: walk the program headers, check every executable segment.
    const elf = readFileSync(image);
    expect(elf.readUInt32LE(0)).toBe(0x464c457f);
    const phoff = Number(elf.readBigUInt64LE(32));
    const phentsize = elf.readUInt16LE(54);
    const phnum = elf.readUInt16LE(56);
    let words = 0;
    for (let i = 0; i < phnum; i++) {
      const ph = phoff + i * phentsize;
      const type = elf.readUInt32LE(ph);
      const flags = elf.readUInt32LE(ph + 4);
      if (type !== 1 || (flags & 1) === 0) continue;
      const off = Number(elf.readBigUInt64LE(ph + 8));
      const filesz = Number(elf.readBigUInt64LE(ph + 32));
      for (let p = off; p + 4 <= off + filesz; p += 4, words++) {
        // A 32-bit instruction has 0b11 in its two low bits; a 16-bit one does not.
        expect(elf[p] & 3, `word at file offset 0x${p.toString(16)}`).toBe(3);
      }
    }
    expect(words).toBeGreaterThan(1000);
  });

  const haveGcc = spawnSync('riscv64-unknown-elf-gcc', ['--version']).status === 0;
  if (!haveGcc && process.env.CI) {
    it('riscv64-unknown-elf-gcc is installed (required in CI)', () => {
      expect.fail('riscv64-unknown-elf-gcc not found: CI must install gcc-riscv64-unknown-elf');
    });
  }
  it.skipIf(!haveGcc)(`prebuilt image is in sync with the sources${haveGcc ? '' : ' (skipped: riscv64-unknown-elf-gcc not installed)'}`, () => {
    const out = mkdtempSync(join(tmpdir(), 'hvos-build-'));
    try {
      const r = spawnSync('make', ['-s', '-C', hvosDir, `B=${out}`], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(join(out, 'hvos.elf')).equals(readFileSync(image))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
