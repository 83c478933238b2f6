// Third-party firmware: Debian's OpenSBI 1.1 (package opensbi) runs from a file as QEMU's -bios
// does, finds the machine in hvlab's device tree, prints its banner on the UART, and enters
// hvos (the project's kernel, linked at 0x80200000) in S-mode; hvos's `poweroff` goes through
// OpenSBI's SRST to the SiFive test device and ends the run with status 0.
//
// Goldens: test/golden/opensbi/fw_jump.out and fw_dynamic.out are hvlab's banner lines (from
// "OpenSBI v1.1" to "Boot HART MEDELEG"); the .elf and the .bin of each firmware print the
// same. The same firmware and kernel on QEMU 7.2 print the same lines but for those listed in
// QEMU_DIFFERS, each for a stated reason. Regenerate: UPDATE_GOLDEN=1 npx vitest run test/firmware.test.ts
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { qemuAvailable, runOnQemu } from './qemu.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const OPENSBI = '/usr/lib/riscv64-linux-gnu/opensbi/generic';
const hvos = join(root, 'guests', 'hvos', 'prebuilt', 'hvos.elf');
const golden = (fw: string) => join(root, 'test', 'golden', 'opensbi', `${fw}.out`);
const haveOpenSbi = existsSync(join(OPENSBI, 'fw_jump.elf'));
const updateGolden = !!process.env.UPDATE_GOLDEN;

/**
 * Banner lines that differ on QEMU 7.2, and why (the rest must be equal):
 *  - Platform Name: the device tree's model, "riscv-virtio,hvlab" (docs/loading.md);
 *  - Boot HART MHPM Count: hvlab's mhpmcounter3..31 are read-only zero, so OpenSBI's probe
 *    (write 1, read back) finds none; QEMU implements 16;
 *  - Boot HART MIDELEG: QEMU also delegates LCOFIP (bit 13, Sscofpmf), which hvlab lacks.
 */
const QEMU_DIFFERS = ['Platform Name', 'Boot HART MHPM Count', 'Boot HART MIDELEG'];

/** The banner: from "OpenSBI v" to the "Boot HART MEDELEG" line. */
function banner(console: string): string[] {
  const lines = console.split('\n').map((l) => l.trimEnd());
  const first = lines.findIndex((l) => l.startsWith('OpenSBI v'));
  const last = lines.findIndex((l) => l.startsWith('Boot HART MEDELEG'));
  if (first < 0 || last < first) return [];
  return lines.slice(first, last + 1);
}

const key = (line: string) => line.split(':')[0].trim();

async function onHvlab(file: string, input = 'poweroff\n') {
  const { runGuest } = await import('../src/vm.js');
  return runGuest(new Uint8Array(readFileSync(hvos)), {
    firmware: { file: new Uint8Array(readFileSync(join(OPENSBI, file))), name: file },
    memMiB: 128, maxInstructions: 200_000_000, input,
  });
}

describe.skipIf(!haveOpenSbi)('OpenSBI 1.1 from Debian on hvlab', () => {
  if (!haveOpenSbi && process.env.CI) {
    it('the opensbi package is installed (required in CI)', () => expect.fail(`${OPENSBI} not found: CI must install opensbi`));
  }
  for (const fw of ['fw_jump', 'fw_dynamic']) {
    for (const ext of ['elf', 'bin']) {
      it(`${fw}.${ext}: banner, hvos in S-mode, poweroff through SRST exits 0`, async () => {
        const r = await onHvlab(`${fw}.${ext}`);
        const lines = banner(r.console);
        // OpenSBI's console and hvos's write CR LF, as on QEMU.
        const text = r.console.replace(/\r\n/g, '\n');
        if (updateGolden && ext === 'elf') writeFileSync(golden(fw), lines.join('\n') + '\n');
        expect(lines.join('\n') + '\n').toBe(readFileSync(golden(fw), 'utf8'));
        // The kernel runs after the banner, in S-mode, and its SBI calls reach OpenSBI.
        expect(text).toContain('hvos v0.1: the hvlab teaching kernel (RV64, Sv39), hart 0\nSBI: OpenSBI v1.1 (spec v1.0)\n');
        expect(text).toContain('hvos$ poweroff\nhvos: powering off');
        expect(r.stop).toEqual({ reason: 'pass', code: 0 });
        expect(text).not.toContain('sbi_trap_error');
      }, 120_000);
    }
  }

  it('two runs of OpenSBI and hvos give the same console and counters (the deterministic clock)', async () => {
    const a = await onHvlab('fw_dynamic.elf', 'help\npoweroff\n');
    const b = await onHvlab('fw_dynamic.elf', 'help\npoweroff\n');
    expect(a.console).toBe(b.console);
    expect(a.counters).toEqual(b.counters);
    expect(a.instructions).toBe(b.instructions);
    // OpenSBI ran in M-mode, hvos in S and U.
    expect(a.counters.INSTRET_M).toBeGreaterThan(10_000n);
    expect(a.counters.INSTRET_S).toBeGreaterThan(10_000n);
  }, 120_000);

  it('fw_jump hands the kernel its own copy of the device tree; fw_dynamic the one in a1', () => {
    // fw_jump (generic platform) copies the FDT to FW_JUMP_FDT_ADDR = 0x82200000; fw_dynamic
    // passes on a1, where QEMU's placement put it: 2 MiB-aligned below the end of 128 MiB.
    expect(readFileSync(golden('fw_jump'), 'utf8')).toContain('Domain0 Next Arg1         : 0x0000000082200000\n');
    expect(readFileSync(golden('fw_dynamic'), 'utf8')).toContain('Domain0 Next Arg1         : 0x0000000087e00000\n');
    // next_addr from fw_dynamic_info (the mask ROM at 0x1028), and the S-mode entry.
    expect(readFileSync(golden('fw_dynamic'), 'utf8')).toContain('Domain0 Next Address      : 0x0000000080200000\nDomain0 Next Arg1');
    expect(readFileSync(golden('fw_dynamic'), 'utf8')).toContain('Domain0 Next Mode         : S-mode\n');
  });

  const have = qemuAvailable();
  for (const fw of ['fw_jump.elf', 'fw_dynamic.bin']) {
    it.skipIf(!have)(`QEMU 7.2 -bios ${fw} -kernel hvos.elf prints the same banner (but ${QEMU_DIFFERS.join(', ')})`, async () => {
      const q = await runOnQemu(hvos, { bios: join(OPENSBI, fw), timeoutMs: 8000 });
      const h = await onHvlab(fw);
      const qb = banner(q.console);
      const hb = banner(h.console);
      expect(qb.length).toBeGreaterThan(30);
      expect(hb.map(key)).toEqual(qb.map(key));
      const same = (lines: string[]) => lines.filter((l) => !QEMU_DIFFERS.includes(key(l)));
      expect(same(hb)).toEqual(same(qb));
      expect(q.console).toContain('hvos v0.1: the hvlab teaching kernel');
    }, 120_000);
  }
});
