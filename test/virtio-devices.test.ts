// The block device, the console and emudisk (docs/virtio.md, docs/io.md), device by device.
//
// guests/prebuilt/virtio-blk.elf runs on QEMU (the reference: -device virtio-blk-device with a
// raw image and serial=hvlab-disk) and on hvlab (VmConfig.disk + virtio.blk); both consoles must
// equal test/golden/virtio-blk.out. The image is the same 1 MiB pattern for both: byte i of
// sector s is (s * 7 + i) & 0xff. guests/prebuilt/emudisk.elf is hvlab only (QEMU has no such
// device); its golden output is hand-checked (every check passes). guests/prebuilt/virtio-console.elf
// (hvlab only: QEMU's virtconsole has no F_SIZE) runs with each backend while the harness
// resizes the terminal and types a line.
//
// Regenerate the QEMU golden: UPDATE_GOLDEN=1 npx vitest run test/virtio-devices.test.ts
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { QEMU_BINARY, qemuArgs, qemuAvailable } from './qemu.js';
import type { RunGuestResult, VmConfig } from '../src/vm.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prebuilt = (name: string) => join(root, 'guests', 'prebuilt', `${name}.elf`);
const golden = (name: string) => join(root, 'test', 'golden', `${name}.out`);
const updateGolden = !!process.env.UPDATE_GOLDEN;

/** The test disk: 2048 sectors, byte i of sector s = (s * 7 + i) & 0xff. */
export function patternDisk(): Uint8Array {
  const d = new Uint8Array(2048 * 512);
  for (let s = 0; s < 2048; s++) for (let i = 0; i < 512; i++) d[s * 512 + i] = (s * 7 + i) & 0xff;
  return d;
}

function runOnQemuBlk(elf: string, timeoutMs = 30_000): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'hvlab-blk-'));
  const img = join(dir, 'disk.img');
  writeFileSync(img, patternDisk());
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU_BINARY, [...qemuArgs(elf), '-global', 'virtio-mmio.force-legacy=false',
      '-drive', `file=${img},if=none,format=raw,id=d0`, '-device', 'virtio-blk-device,drive=d0,serial=hvlab-disk'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', () => { /* QEMU reports the guest's malformed requests here */ });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); rmSync(dir, { recursive: true, force: true }); reject(e); });
    child.on('close', () => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      resolve(Buffer.concat(out).toString('latin1'));
    });
  });
}

async function runHvlab(name: string, cfg: VmConfig): Promise<RunGuestResult> {
  const { runGuest } = await import('../src/vm.js');
  return runGuest(new Uint8Array(readFileSync(prebuilt(name))), {
    firmware: 'none', memMiB: 128, maxInstructions: 50_000_000, ...cfg,
  });
}

describe('virtio-blk on QEMU (reference)', () => {
  const have = qemuAvailable();
  it.skipIf(!have)(`virtio-blk${have ? '' : ' (skipped: qemu-system-riscv64 not installed)'}`, async () => {
    const out = await runOnQemuBlk(prebuilt('virtio-blk'));
    if (updateGolden) writeFileSync(golden('virtio-blk'), out, 'latin1');
    expect(out).toBe(readFileSync(golden('virtio-blk'), 'latin1'));
  }, 60_000);
});

describe('virtio-blk on hvlab (core backend)', () => {
  let r: RunGuestResult;
  let disk: Uint8Array;
  beforeAll(async () => {
    disk = patternDisk();
    r = await runHvlab('virtio-blk', { virtio: { blk: true }, disk });
  }, 60_000);

  it('matches the reference console', () => {
    expect(r.console).toBe(readFileSync(golden('virtio-blk'), 'latin1'));
    expect(r.stop.reason).toBe('pass');
  });

  it('counts requests, bytes and the two needs-reset events', () => {
    const c = r.counters;
    // get-id, read, write, read-back, split, indirect, flush, 4 failures, 2 reads after resets.
    expect(c.VIRTIO_BLK_REQUESTS).toBe(13n);
    // Data moved: 1024 + 512 + 1024 + 1024 + 512 + 2 x 512 (failures move nothing).
    expect(c.VIRTIO_BYTES).toBe(BigInt(1024 + 512 + 1024 + 1024 + 512 + 2 * 512));
    expect(c.VIRTIO_RESETS).toBe(2n);
    expect(c.VIRTIO_NOTIFIES).toBe(15n);
  });

  it('the VM works on its own copy of the image', () => {
    expect(Buffer.from(disk).equals(Buffer.from(patternDisk()))).toBe(true);
  });
});

describe('emudisk (hvlab only)', () => {
  let r: RunGuestResult;
  beforeAll(async () => { r = await runHvlab('emudisk', { disk: patternDisk(), emudisk: true }); }, 60_000);

  it('passes every check and matches the golden output', () => {
    expect(r.console).toBe(readFileSync(golden('emudisk'), 'latin1'));
    expect(r.console).not.toContain('FAIL');
    expect(r.stop.reason).toBe('pass');
  });

  it('moves every byte through the 4-byte data port', () => {
    // A 2-sector read, a 1-sector write and its read back, then one word of the refused
    // write-during-read ... which is refused before it moves: (1024 + 512 + 512) bytes.
    expect(r.counters.EMUDISK_BYTES).toBe(2048n);
    expect(r.counters.MMIO_EMUDISK_READS + r.counters.MMIO_EMUDISK_WRITES).toBeGreaterThanOrEqual(512n);
  });

  it('is absent from the bus without VmConfig.emudisk: its registers are an access fault', async () => {
    const none = await runHvlab('emudisk', { disk: patternDisk() });
    expect(none.stop.reason).not.toBe('pass');
    expect(none.counters.EMUDISK_COMMANDS).toBe(0n);
  }, 60_000);

  it('refuses a configuration without a disk, and a disk of part of a sector', async () => {
    await expect(runHvlab('emudisk', { emudisk: true })).rejects.toThrow(/emudisk needs a disk/);
    await expect(runHvlab('emudisk', { emudisk: true, disk: 1000 })).rejects.toThrow(/whole number of 512-byte sectors/);
    await expect(runHvlab('virtio-blk', { virtio: { blk: true } })).rejects.toThrow(/virtio-blk needs a disk/);
  }, 60_000);
});

describe('virtio-console (hvlab only): size, resize, output and input, with every backend', () => {
  /** Run the guest, resizing the terminal and typing a line when it asks. */
  async function runConsole(io: 'core' | 'host' | 'offload'): Promise<{ console: string; counters: Record<string, bigint>; reason: string }> {
    const { Vm } = await import('../src/vm.js');
    const { loadCoreModule } = await import('../src/node/load-core.js');
    const vm = await Vm.create({ firmware: 'none', virtio: { console: true }, io }, await loadCoreModule());
    try {
      vm.load(new Uint8Array(readFileSync(prebuilt('virtio-console'))));
      let out = '';
      let resized = false;
      let typed = false;
      for (let i = 0; i < 2000; i++) {
        const r = vm.run(1_000_000);
        out += vm.readConsole();
        if (r.info) return { console: out, counters: vm.counters(), reason: r.info.reason };
        if (!resized && out.includes('waiting for a resize')) { vm.resizeConsole(100, 40); resized = true; }
        if (!typed && out.includes('waiting for input')) { vm.sendInput('typed at the keyboard\n'); typed = true; }
        if (vm.ioBusy()) vm.ioWait(100);
      }
      return { console: out, counters: vm.counters(), reason: 'limit' };
    } finally {
      await vm.close();
    }
  }

  for (const io of ['core', 'host', 'offload'] as const) {
    it(`${io}: every check passes and the output matches the golden one`, async () => {
      const r = await runConsole(io);
      const want = readFileSync(golden('virtio-console'), 'latin1');
      expect(r.reason).toBe('pass');
      if (io === 'offload') {
        // The worker's console output and the guest's UART output are two streams, and how
        // they interleave depends on when each is drained: check each part, not the order.
        expect(r.console).toContain('summary: 0xf ok, 0x0 failed');
        expect(r.console).toContain('hello through the transmitq\n');
        expect(r.console).toContain('typed at the keyboard\n');
        expect(r.counters.VIRTIO_OFFLOAD_REQUESTS ?? 0n).toBeGreaterThanOrEqual(3n);
      } else {
        expect(r.console).toBe(want);
        // Three kicks: the receiveq's before DRIVER_OK (ignored, 3.1.1) and the two lines
        // sent; the host backend served those two, each a stop of the core.
        expect(r.counters.VIRTIO_NOTIFIES).toBe(3n);
        expect(r.counters.VIRTIO_HOST_NOTIFIES ?? 0n).toBe(io === 'host' ? 2n : 0n);
      }
      // 5.3.6.2: the resize raised a configuration-change interrupt.
      expect(r.counters.VIRTIO_INTERRUPTS ?? 0n).toBeGreaterThanOrEqual(1n);
    }, 60_000);
  }
});
