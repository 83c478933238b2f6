// virtio (docs/virtio.md): the virtio-mmio transport, split virtqueues and the entropy device.
//
// guests/prebuilt/virtio-rng.elf runs on QEMU (the reference, with -device virtio-rng-device)
// and on hvlab (VmConfig.virtio.rng), and both consoles must equal test/golden/virtio-rng.out
// byte for byte. The guest probes all eight slots: QEMU puts the device in the last free slot
// (slot 7, 0x1000_8000), hvlab in slot 0. QEMU's virtio-mmio is legacy (version 1) unless told
// otherwise, hence -global virtio-mmio.force-legacy=false.
//
// guests/prebuilt/virtio-spec.elf checks the clauses QEMU does not share or that the reference
// cannot show (hvlab only, like the `spec` guest): each check is named after its clause, and
// the tests below assert them one clause at a time.
//
// Regenerate golden files from QEMU: UPDATE_GOLDEN=1 npx vitest run test/virtio.test.ts
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { QEMU_BINARY, qemuArgs, qemuAvailable } from './qemu.js';
import type { RunGuestResult } from '../src/vm.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prebuilt = (name: string) => join(root, 'guests', 'prebuilt', `${name}.elf`);
const golden = (name: string) => join(root, 'test', 'golden', `${name}.out`);
const updateGolden = !!process.env.UPDATE_GOLDEN;
const QEMU_VIRTIO = ['-global', 'virtio-mmio.force-legacy=false', '-device', 'virtio-rng-device'];

/** Run an image on QEMU with the entropy device; stdout is the guest's console. */
function runOnQemuRng(elf: string, timeoutMs = 30_000): Promise<{ console: string; exitCode: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU_BINARY, [...qemuArgs(elf), ...QEMU_VIRTIO], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', () => { /* QEMU reports the guest's hostile descriptors here */ });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ console: Buffer.concat(out).toString('latin1'), exitCode: code });
    });
  });
}

async function runHvlab(name: string, rng: boolean): Promise<RunGuestResult> {
  const { runGuest } = await import('../src/vm.js');
  return runGuest(new Uint8Array(readFileSync(prebuilt(name))), {
    firmware: 'none', memMiB: 128, maxInstructions: 50_000_000, virtio: { rng },
  });
}

describe('virtio-rng on QEMU (reference)', () => {
  const have = qemuAvailable();
  if (!have && process.env.CI) {
    it('qemu-system-riscv64 is installed (required in CI)', () => {
      expect.fail('qemu-system-riscv64 not found: CI must install qemu-system-misc');
    });
  }
  it.skipIf(!have)(`virtio-rng${have ? '' : ' (skipped: qemu-system-riscv64 not installed)'}`, async () => {
    const r = await runOnQemuRng(prebuilt('virtio-rng'));
    if (updateGolden) writeFileSync(golden('virtio-rng'), r.console, 'latin1');
    expect(r.console).toBe(readFileSync(golden('virtio-rng'), 'latin1'));
    expect(r.exitCode).toBe(0);
  }, 60_000);
});

describe('virtio-rng on hvlab', () => {
  let r: RunGuestResult;
  beforeAll(async () => { r = await runHvlab('virtio-rng', true); }, 60_000);

  it('matches the reference console', () => {
    expect(r.console).toBe(readFileSync(golden('virtio-rng'), 'latin1'));
    expect(r.stop.reason).toBe('pass');
  });

  it('counts kicks, interrupts, descriptors, bytes and needs-reset events', () => {
    const c = r.counters;
    // 8 good requests (plain, chained, indirect, suppressed, plain after it, one plain after each
    // of the three resets) and 3 hostile kicks.
    expect(c.VIRTIO_NOTIFIES).toBe(11n);
    // 7 used-buffer interrupts (the suppressed request raises none) + 3 configuration changes.
    expect(c.VIRTIO_INTERRUPTS).toBe(10n);
    expect(c.VIRTIO_RESETS).toBe(3n);
    // 64 + 96 + 132 + 32 + 64 and 3 x 64 after the resets.
    expect(c.VIRTIO_BYTES).toBe(BigInt(64 + 96 + 132 + 32 + 64 + 3 * 64));
    // 1 + 3 + (1 + 3) + 1 + 1 + 3 x 1 good; 1 outside RAM; the loop: 8 read (the queue size),
    // the 9th step refused.
    expect(c.VIRTIO_DESCRIPTORS).toBe(BigInt(1 + 3 + 4 + 1 + 1 + 3 + 1 + 8));
  });

  it('is deterministic: two runs give the same counters and console', async () => {
    const again = await runHvlab('virtio-rng', true);
    expect(again.console).toBe(r.console);
    expect(again.counters).toEqual(r.counters);
  }, 60_000);

  it('without VmConfig.virtio every slot stays empty (the guest finds no device)', async () => {
    const none = await runHvlab('virtio-rng', false);
    expect(none.console).toContain('FAIL probe-found-rng');
    expect(none.counters.VIRTIO_NOTIFIES).toBe(0n);
  }, 60_000);
});

describe('virtio transport and split virtqueue, clause by clause (hvlab only)', () => {
  // The golden output is hand-checked: every check passes. Each of its checks is a test below,
  // named after its clause (the guest names its checks that way).
  const expected = readFileSync(golden('virtio-spec'), 'latin1');
  const clauses = expected.split('\n').filter((l) => l.startsWith('ok ')).map((l) => l.slice(3));
  let r: RunGuestResult;
  beforeAll(async () => { r = await runHvlab('virtio-spec', true); }, 60_000);

  it('the whole run matches the golden output', () => {
    expect(r.console).toBe(expected);
    expect(r.stop.reason).toBe('pass');
  });
  for (const clause of clauses) {
    it(clause, () => {
      const lines = r.console.split('\n');
      expect(lines).toContain(`ok ${clause}`);
    });
  }
  it('2.1.2: each of the 15 hostile requests put the device in DEVICE_NEEDS_RESET once', () => {
    // Buffers past RAM, on a device, of 4 GiB; a loop; next and head beyond the table; readable
    // after writable; an avail jump; INDIRECT with NEXT, nested, of a bad size, looping, outside
    // RAM, over 2^32 bytes, and not negotiated.
    expect(r.counters.VIRTIO_RESETS).toBe(15n);
  });
});
