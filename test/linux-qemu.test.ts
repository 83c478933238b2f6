// The Linux guest (guests/linux, docs/linux.md) on the reference machine, QEMU virt: the
// prebuilt kernel and initramfs boot to the shell, a scripted session runs every workload and
// powers off, and the console matches test/golden/linux/ once normalised (test/support/linux.ts).
// The same session boots from the U-Boot disk, and with the virtio console as the console.
//
// Regenerate the golden files from QEMU: UPDATE_GOLDEN=1 npx vitest run test/linux-qemu.test.ts
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { qemuAvailable } from './qemu.js';
import {
  COMMANDS,
  GOLDEN_BOOT,
  GOLDEN_SESSION,
  KERNEL_CMDLINE,
  KERNEL_CMDLINE_HVC,
  LINUX_IMAGE,
  LINUX_INITRAMFS,
  MACHINE_LINES,
  PROMPT,
  VIRTIO_COMMANDS,
  nextInput,
  normaliseBoot,
  runLinuxOnQemu,
  sessionOf,
  textDisk,
  unpackDisk,
  virtioSessionOf,
} from './support/linux.js';

const OPENSBI_FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf';
const UBOOT_SMODE = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';
const updateGolden = !!process.env.UPDATE_GOLDEN;
const TIMEOUT_MS = 90_000;

/** The kernel and initramfs straight from QEMU's loader, QEMU's own OpenSBI as firmware. */
function initrdArgs(memMiB: number): string[] {
  return [
    '-machine', 'virt', '-nographic', '-m', `${memMiB}M`, '-bios', 'default',
    '-kernel', LINUX_IMAGE, '-initrd', LINUX_INITRAMFS, '-append', KERNEL_CMDLINE,
  ];
}

function golden(path: string): string {
  return readFileSync(path, 'latin1');
}


/** QEMU with OpenSBI, the kernel and initramfs, and the console on a virtio console (hvc0)
 * beside a virtio entropy device; the serial port is left out. */
const HVC0_ARGS: readonly string[] = [
  '-machine', 'virt', '-display', 'none', '-monitor', 'none', '-serial', 'none',
  '-m', '128M', '-bios', 'default',
  '-kernel', LINUX_IMAGE, '-initrd', LINUX_INITRAMFS, '-append', KERNEL_CMDLINE_HVC,
  '-chardev', 'stdio,id=con,signal=off',
  '-device', 'virtio-serial-device', '-device', 'virtconsole,chardev=con',
  '-device', 'virtio-rng-device',
];

describe('Linux session normaliser (test/support/linux.ts)', () => {
  const log = [
    'OpenSBI v1.1\r\n',
    'Linux version 6.1 (hvlab@hvlab)\r\n',
    '  DMA32    [mem 0x0000000080200000-0x0000000087ffffff]\r\n',
    'SBI implementation ID=0x1 Version=0x10001\r\n',
    'Memory: 124056K/129024K available (1281K kernel code, 4968K reserved)\r\n',
    'random: crng init done\r\n',
    'hvlab init: ready\r\n',
    `${PROMPT}${COMMANDS[COMMANDS.length - 1]}\r\n`,
    'reboot: Power down\r\n',
  ].join('');

  it('drops the firmware banner and replaces only the machine lines', () => {
    expect(normaliseBoot(log)).toBe([
      'Linux version 6.1 (hvlab@hvlab)',
      '  DMA32    [mem <range>]',
      'SBI implementation <id>',
      'Memory: <sizes>',
      'hvlab init: ready',
      `${PROMPT}poweroff`,
      'reboot: Power down',
      '',
    ].join('\n'));
    expect(MACHINE_LINES.length).toBeLessThanOrEqual(8);
  });

  it('cuts the session from the banner to the poweroff line', () => {
    expect(sessionOf(log)).toBe(`hvlab init: ready\n${PROMPT}poweroff\n`);
  });

  it('refuses a console where the kernel, init or the session is missing', () => {
    expect(() => normaliseBoot('OpenSBI v1.1\r\n')).toThrow('the kernel did not start');
    expect(() => sessionOf('Linux version 6.1\n')).toThrow('init did not start');
    expect(() => sessionOf(`hvlab init: ready\n${PROMPT}`)).toThrow('did not reach "hvlab# poweroff"');
  });

  it('types each command only after its prompt', () => {
    expect(nextInput('booting', 0)).toBeUndefined();
    expect(nextInput(`x\n${PROMPT}`, 0)).toBe(`${COMMANDS[0]}\r`);
    expect(nextInput(`x\n${PROMPT}`, 1)).toBeUndefined();
    expect(nextInput(PROMPT.repeat(COMMANDS.length + 1), COMMANDS.length)).toBeUndefined();
  });
});

describe('Linux guest on QEMU (reference)', () => {
  const have = qemuAvailable();
  const haveUboot = existsSync(OPENSBI_FW_JUMP) && existsSync(UBOOT_SMODE);
  if (process.env.CI) {
    it('qemu-system-riscv64, opensbi and u-boot-qemu are installed (required in CI)', () => {
      expect(have, 'qemu-system-riscv64 not found: CI must install qemu-system-misc').toBe(true);
      expect(haveUboot, `${OPENSBI_FW_JUMP} or ${UBOOT_SMODE} missing: CI must install opensbi and u-boot-qemu`).toBe(true);
    });
  }
  const skip = have ? '' : ' (skipped: qemu-system-riscv64 not installed)';
  const skipUboot = skip || (haveUboot ? '' : ' (skipped: opensbi or u-boot-qemu not installed)');

  it.skipIf(!have)(`boots kernel + initramfs to the shell and runs the session${skip}`, async () => {
    const r = await runLinuxOnQemu(initrdArgs(128), TIMEOUT_MS);
    expect(r.timedOut, r.console.slice(-2000)).toBe(false);
    expect(r.sent).toBe(COMMANDS.length);
    if (updateGolden) {
      writeFileSync(GOLDEN_BOOT, normaliseBoot(r.console), 'latin1');
      writeFileSync(GOLDEN_SESSION, sessionOf(r.console), 'latin1');
    }
    expect(normaliseBoot(r.console)).toBe(golden(GOLDEN_BOOT));
    expect(sessionOf(r.console)).toBe(golden(GOLDEN_SESSION));
    // Powered off through SBI SRST: QEMU exits by itself, with status 0.
    expect(r.exitCode).toBe(0);
  }, TIMEOUT_MS + 10_000);

  it.skipIf(!have)(`gives the same normalised log with twice the memory${skip}`, async () => {
    const r = await runLinuxOnQemu(initrdArgs(256), TIMEOUT_MS);
    expect(r.timedOut, r.console.slice(-2000)).toBe(false);
    expect(normaliseBoot(r.console)).toBe(golden(GOLDEN_BOOT));
    expect(r.exitCode).toBe(0);
  }, TIMEOUT_MS + 10_000);

  it.skipIf(!have || !haveUboot)(`U-Boot boots Linux from the virtio disk${skipUboot}`, async () => {
    const disk = unpackDisk();
    try {
      const r = await runLinuxOnQemu([
        '-machine', 'virt', '-nographic', '-m', '256M', '-bios', OPENSBI_FW_JUMP,
        '-kernel', UBOOT_SMODE, '-drive', `file=${disk.path},format=raw,if=virtio`,
      ], TIMEOUT_MS);
      expect(r.timedOut, r.console.slice(-2000)).toBe(false);
      const text = r.console.replace(/\r\n/g, '\n');
      // U-Boot found the extlinux.conf on the disk's first partition and loaded both files.
      expect(text).toContain('Found /extlinux/extlinux.conf');
      expect(text).toContain('Retrieving file: /Image');
      expect(text).toContain('Retrieving file: /initramfs.cpio.gz');
      expect(text).toContain(`append: ${KERNEL_CMDLINE}`);
      expect(normaliseBoot(r.console)).toBe(golden(GOLDEN_BOOT));
      expect(sessionOf(r.console)).toBe(golden(GOLDEN_SESSION));
      expect(r.exitCode).toBe(0);
    } finally {
      disk.remove();
    }
  }, TIMEOUT_MS + 10_000);

  it.skipIf(!have)(`runs the same session on the virtio console (hvc0), with virtio-rng${skip}`, async () => {
    const r = await runLinuxOnQemu([
      ...HVC0_ARGS,
    ], TIMEOUT_MS);
    expect(r.timedOut, r.console.slice(-2000)).toBe(false);
    expect(sessionOf(r.console)).toBe(golden(GOLDEN_SESSION));
    expect(r.exitCode).toBe(0);
  }, TIMEOUT_MS + 10_000);

  it.skipIf(!have)(`reads a text disk back through virtio-blk on hvc0, virtio-rng is the hwrng${skip}`, async () => {
    // What test/linux.test.ts asserts on hvlab, here on the reference machine.
    const dir = mkdtempSync(join(tmpdir(), 'hvlab-linux-'));
    try {
      const disk = join(dir, 'text.img');
      writeFileSync(disk, textDisk());
      const r = await runLinuxOnQemu([
        ...HVC0_ARGS,
        '-drive', `file=${disk},format=raw,if=none,id=d0`, '-device', 'virtio-blk-device,drive=d0',
      ], TIMEOUT_MS, VIRTIO_COMMANDS);
      expect(r.timedOut, r.console.slice(-2000)).toBe(false);
      expect(sessionOf(r.console)).toBe(virtioSessionOf(golden(GOLDEN_SESSION)));
      expect(r.exitCode).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, TIMEOUT_MS + 10_000);
});
