/**
 * The web console's VM runner (src/web/runner.ts) in Node, without a browser: the worker
 * protocol's answers, time slicing against a guest that never stops, idle pacing, bad images,
 * and Linux (kernel, initramfs and the page's command line) booted, used and reset.
 */
import { describe, test, expect, afterEach } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { VmRunner, DEFAULT_TIMING } from '../../src/web/runner.js';
import { EXIT_TRACE_LENGTH, type BootConfig, type FromWorker, type ToWorker } from '../../src/web/protocol.js';
import { loadCoreModule } from '../../src/node/load-core.js';
import { linuxBootargs } from '../../web/images.js';
import { KERNEL_CMDLINE, KERNEL_CMDLINE_HVC, LINUX_IMAGE, LINUX_INITRAMFS, PROMPT as LINUX_PROMPT } from '../support/linux.js';

const HVOS = new Uint8Array(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../guests/hvos/prebuilt/hvos.elf')));

class Harness {
  readonly messages: FromWorker[] = [];
  console = '';
  runner!: VmRunner;

  static async boot(image = HVOS, name = 'hvos.elf', mode = 'native', extra: Partial<Extract<ToWorker, { type: 'boot' }>> = {},
    config: Partial<BootConfig> = {}): Promise<Harness> {
    const h = new Harness();
    const { module, instantiate } = await loadCoreModule();
    h.runner = new VmRunner((m) => {
      h.messages.push(m);
      if (m.type === 'console') h.console += m.text;
    }, instantiate, DEFAULT_TIMING);
    h.runner.handle({ type: 'boot', module, config: { mode, memMiB: 64, clock: 'instret', ...config }, image, imageName: name, ...extra });
    return h;
  }

  /** Linux as the page boots it: the Image, its initramfs, the command line for the I/O path. */
  static linux(mode: string, io: string, disk: BootConfig['disk'] = 'none'): Promise<Harness> {
    return Harness.boot(new Uint8Array(readFileSync(LINUX_IMAGE)), 'Image', mode,
      { initrd: new Uint8Array(readFileSync(LINUX_INITRAMFS)), initrdName: 'initramfs.cpio.gz' },
      { io, disk, bootargs: linuxBootargs(io) });
  }

  count(text: string): number { return this.console.split(text).length - 1; }

  async until(what: string, pred: () => boolean, timeout = 5000): Promise<void> {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > timeout) throw new Error(`timed out waiting for ${what}; console:\n${this.console}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  lastState(): string | undefined {
    for (let i = this.messages.length - 1; i >= 0; i--) {
      const m = this.messages[i];
      if (m.type === 'state') return m.state;
    }
    return undefined;
  }

  prompts(): number { return this.console.split('hvos$ ').length - 1; }
}

let current: Harness | undefined;
afterEach(() => { current?.runner.dispose(); current = undefined; });

describe('VmRunner', () => {
  test('runs a VM mode and sends its latest exits with the stats (none natively)', async () => {
    const h = current = await Harness.boot(HVOS, 'hvos.elf', 'trap-emulate');
    await h.until('the prompt', () => h.prompts() === 1);
    expect(h.console).toMatch(/Hypervisor detected: hvlab \(trap-emulate\)/);
    h.runner.handle({ type: 'input', data: 'syscall 100\r' });
    await h.until('the second prompt', () => h.prompts() === 2);
    h.runner.handle({ type: 'ping', id: 1 });
    const stats = h.messages.filter((m) => m.type === 'stats').at(-1);
    if (stats?.type !== 'stats') throw new Error('no stats');
    expect(stats.counters.EXITS).toBeGreaterThan(200n);
    expect(stats.exitLog).toHaveLength(EXIT_TRACE_LENGTH);
    const log = stats.exitLog!;
    for (let i = 1; i < log.length; i++) expect(log[i].index).toBe(log[i - 1].index + 1);
    expect(BigInt(log[log.length - 1].index + 1)).toBe(stats.counters.EXITS);
    h.runner.dispose();
    const n = current = await Harness.boot();
    await n.until('the prompt', () => n.prompts() === 1);
    n.runner.handle({ type: 'ping', id: 1 });
    const native = n.messages.filter((m) => m.type === 'stats').at(-1);
    expect(native?.type === 'stats' && native.exitLog).toBe(undefined);
  });

  test('boots hvos to its prompt, runs typed commands, and goes idle', async () => {
    const h = current = await Harness.boot();
    await h.until('the prompt', () => h.prompts() === 1);
    expect(h.messages.find((m) => m.type === 'booted')).toMatchObject({ imageName: 'hvos.elf', memMiB: 64 });
    expect(h.console).toMatch(/fdt: memory 64 MiB/);
    await h.until('idle', () => h.lastState() === 'idle');
    h.runner.handle({ type: 'input', data: 'echo hi there\r' });
    await h.until('the echo', () => h.prompts() === 2);
    expect(h.console).toMatch(/\r\nhi there\r\n/);
  });

  test('keeps posting stats about ten times a second while the shell waits', async () => {
    const h = current = await Harness.boot();
    await h.until('idle at the prompt', () => h.prompts() === 1 && h.lastState() === 'idle');
    const n0 = h.messages.filter((m) => m.type === 'stats').length;
    await new Promise((r) => setTimeout(r, 1000));
    const stats = h.messages.filter((m) => m.type === 'stats');
    expect(stats.length - n0).toBeGreaterThanOrEqual(4);
    expect(stats.length - n0).toBeLessThanOrEqual(14);
    // Waiting costs nothing: no instructions retire at the prompt.
    const last = stats[stats.length - 1];
    expect(last.type === 'stats' && last.instructions).toBe(stats[n0].type === 'stats' && stats[n0].instructions);
  });

  test('pause, resume and reset answer at once while the guest computes forever', async () => {
    const h = current = await Harness.boot();
    await h.until('the prompt', () => h.prompts() === 1);
    h.runner.handle({ type: 'input', data: 'compute 1000000000\r' });
    await h.until('running', () => h.lastState() === 'running');
    await new Promise((r) => setTimeout(r, 200));
    let t0 = performance.now();
    h.runner.handle({ type: 'pause' });
    // Handled synchronously: the state is already 'paused' when handle() returns (the bound
    // only guards against a handler that blocks; wall time on a shared machine is noisy).
    expect(h.lastState()).toBe('paused');
    expect(performance.now() - t0).toBeLessThan(1000);
    h.runner.handle({ type: 'pause' }); // answered even when it changes nothing
    expect(h.messages[h.messages.length - 1]).toEqual({ type: 'state', state: 'paused' });
    h.runner.handle({ type: 'resume' });
    expect(h.lastState()).toBe('running');
    // A message sent from another task is handled within a slice or so.
    await new Promise((r) => setTimeout(r, 100));
    const answered = new Promise<number>((resolve) => {
      t0 = performance.now();
      setTimeout(() => { h.runner.handle({ type: 'reset' }); resolve(performance.now() - t0); }, 0);
    });
    // Between two slices (~30 ms each); a runner that blocked would not answer for minutes.
    expect(await answered).toBeLessThan(2000);
    await h.until('the prompt after reset', () => h.prompts() === 2);
    expect(h.console.lastIndexOf('hvos v0.1')).toBeGreaterThan(h.console.indexOf('compute 1000000000'));
  });

  test('a file that is not an ELF is refused with the loader\'s message', async () => {
    const h = current = await Harness.boot(new TextEncoder().encode('just text'), 'notes.txt');
    await h.until('the error', () => h.messages.some((m) => m.type === 'boot-error'));
    const err = h.messages.find((m) => m.type === 'boot-error');
    expect(err).toMatchObject({ code: 'NOT_AN_IMAGE' });
    expect(err?.type === 'boot-error' && err.message).toMatch(/^notes\.txt: not an ELF file/);
    expect(h.lastState()).toBe('error');
  });

  test('poweroff halts with a message', async () => {
    const h = current = await Harness.boot();
    await h.until('the prompt', () => h.prompts() === 1);
    h.runner.handle({ type: 'input', data: 'poweroff\r' });
    await h.until('halted', () => h.lastState() === 'halted');
    expect(h.messages.filter((m) => m.type === 'state').pop()).toMatchObject({ message: 'the guest powered off' });
  });

  test('the page\'s Linux command lines are the ones the Linux guest is tested with (docs/linux.md)', () => {
    expect(linuxBootargs('emulated')).toBe(KERNEL_CMDLINE);
    for (const io of ['core', 'host', 'offload']) expect(linuxBootargs(io)).toBe(KERNEL_CMDLINE_HVC);
  });

  test('Linux on the UART (native): kernel and initramfs boot to the shell, a command runs, Reset boots it again', async () => {
    const h = current = await Harness.linux('native', 'emulated');
    await h.until('the Linux prompt', () => h.count(LINUX_PROMPT) === 1, 20_000);
    expect(h.messages.find((m) => m.type === 'booted')).toMatchObject({ imageName: 'Image', entry: '0x80200000' });
    expect(h.console).toMatch(/Kernel command line: console=ttyS0 initramfs_async=0\r?\n/);
    expect(h.console).toMatch(/printk: console \[ttyS0\] enabled/);
    h.runner.handle({ type: 'input', data: 'uname -a\r' });
    await h.until('the second prompt', () => h.count(LINUX_PROMPT) === 2, 20_000);
    expect(h.console).toMatch(/\r\nLinux \(none\) 6\.1\.192 #1 Thu Jan  1 00:00:00 UTC 2026 riscv64\r\n/);
    // Reset lays out the kernel and the initramfs again: init runs a second time.
    h.runner.handle({ type: 'reset' });
    await h.until('the prompt after reset', () => h.count(LINUX_PROMPT) === 3, 20_000);
    expect(h.count('hvlab init: type help')).toBe(2);
  }, 60_000);

  test('Linux on the virtio console under hvm-nested, with a virtio-blk disk; poweroff halts', async () => {
    const h = current = await Harness.linux('hvm-nested', 'core', 'memory');
    await h.until('the Linux prompt', () => h.count(LINUX_PROMPT) === 1, 30_000);
    // The kernel's console is hvc0: what it printed before the virtio console was found stayed
    // in its log buffer, and the UART (not this console) never became a console.
    expect(h.console).not.toMatch(/ttyS0/);
    // The DISK_MIB (4 MiB) disk: 8192 sectors of 512 bytes.
    expect(h.console).toMatch(/virtio_blk virtio\d: \[vda\] 8192 512-byte logical blocks/);
    h.runner.handle({ type: 'input', data: 'forkwait 10\r' });
    await h.until('forkwait', () => h.count(LINUX_PROMPT) === 2, 30_000);
    expect(h.console).toMatch(/forkwait: 10 fork\+exec\+wait rounds ok/);
    h.runner.handle({ type: 'ping', id: 1 });
    const stats = h.messages.filter((m) => m.type === 'stats').at(-1);
    if (stats?.type !== 'stats') throw new Error('no stats');
    const c = stats.counters;
    // The guest ran in VS/VU-mode, walking two stages (G-stage references outnumber VS ones),
    // and its virtio devices were emulated register by register.
    expect(c.INSTRET_V).toBeGreaterThan(0n);
    expect(c.WALK_REFS_G).toBeGreaterThan(c.WALK_REFS_VS);
    expect(c.EXIT_MMIO_VIRTIO).toBeGreaterThan(0n);
    expect(c.VIRTIO_BLK_REQUESTS).toBeGreaterThan(0n);
    expect(stats.exitLog).toHaveLength(EXIT_TRACE_LENGTH);
    h.runner.handle({ type: 'input', data: 'poweroff\r' });
    await h.until('halted', () => h.lastState() === 'halted', 20_000);
    expect(h.messages.filter((m) => m.type === 'state').pop()).toMatchObject({ message: 'the guest powered off' });
  }, 60_000);
});
