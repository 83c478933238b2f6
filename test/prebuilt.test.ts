// The committed guest images must be exactly what their sources build to (guests/README in
// docs/guests.md): rebuilt in a temporary directory by guests/check-prebuilt.sh.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';

const haveGcc = spawnSync('riscv64-unknown-elf-gcc', ['--version']).status === 0;

describe('prebuilt guest images', () => {
  if (!haveGcc && process.env.CI) {
    it('riscv64-unknown-elf-gcc is installed (required in CI)', () => {
      expect.fail('riscv64-unknown-elf-gcc not found: CI must install gcc-riscv64-unknown-elf');
    });
    return;
  }
  it.skipIf(!haveGcc)(`match their sources${haveGcc ? '' : ' (skipped: riscv64-unknown-elf-gcc not installed)'}`, () => {
    const r = spawnSync('sh', ['guests/check-prebuilt.sh'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('all images match their sources');
  }, 120_000);
});
