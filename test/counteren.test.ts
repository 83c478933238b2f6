// Zicntr under every firmware and execution mode: guests/tests/counteren.c is an S-mode kernel
// whose U-mode programs read cycle, time and instret with its scounteren bits clear and set.
// The golden (test/golden/counteren.out) is QEMU 7.2 with its OpenSBI; hvlab must print the
// same with the builtin SBI natively and in trap-emulate (where the kernel itself runs in
// U-mode and hvlab applies the kernel's virtual scounteren to its programs: hv/vcpu.ts),
// hvm-shadow and hvm-nested (VU-mode), and under Debian's OpenSBI.
// Regenerate from QEMU: UPDATE_GOLDEN=1 npx vitest run test/counteren.test.ts
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { qemuAvailable, runOnQemu } from './qemu.js';
import { UNMODIFIED_MODES } from '../src/vm.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const elf = join(root, 'guests', 'prebuilt', 'counteren.elf');
const goldenPath = join(root, 'test', 'golden', 'counteren.out');
const fwJump = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf';

/** The guest's own output: from its first line on, without the CRs of OpenSBI's console. */
const own = (console: string) => console.replace(/\r/g, '').slice(Math.max(0, console.replace(/\r/g, '').indexOf('counteren:')));

describe('counteren: scounteren gates U-mode counter reads', () => {
  it.skipIf(!qemuAvailable())('QEMU 7.2 with its OpenSBI (the golden)', async () => {
    const r = await runOnQemu(elf, { bios: 'default', timeoutMs: 20_000 });
    if (process.env.UPDATE_GOLDEN) writeFileSync(goldenPath, own(r.console));
    expect(own(r.console)).toBe(readFileSync(goldenPath, 'utf8'));
    expect(r.exitCode).toBe(0);
  }, 60_000);

  it('the golden has every check passing, the gated reads trapping', () => {
    const g = readFileSync(goldenPath, 'utf8');
    expect(g).not.toContain('FAIL');
    expect(g.match(/ok {3}from-U-scounteren-0-traps/g)).toHaveLength(2);
    expect(g.trimEnd().split('\n').at(-1)).toBe('summary: 0xf ok, 0x0 failed');
  });

  for (const mode of UNMODIFIED_MODES) {
    it(`hvlab, builtin SBI, ${mode}`, async () => {
      const { runGuest } = await import('../src/vm.js');
      const r = await runGuest(new Uint8Array(readFileSync(elf)), { firmware: 'builtin', mode, maxInstructions: 10_000_000 });
      expect(r.console).toBe(readFileSync(goldenPath, 'utf8'));
      expect(r.stop.reason).toBe('pass');
    });
  }

  it.skipIf(!existsSync(fwJump))('hvlab, Debian\'s OpenSBI fw_jump.elf', async () => {
    const { runGuest } = await import('../src/vm.js');
    const r = await runGuest(new Uint8Array(readFileSync(elf)), {
      firmware: { file: new Uint8Array(readFileSync(fwJump)), name: 'fw_jump.elf' }, maxInstructions: 50_000_000 });
    expect(own(r.console)).toBe(readFileSync(goldenPath, 'utf8'));
    expect(r.stop.reason).toBe('pass');
  });
});
