// The Linux guest (guests/linux, docs/linux.md "Linux on hvlab") on hvlab, against QEMU: the
// prebuilt kernel and initramfs boot to the shell in every mode and on every I/O path, the
// scripted session (test/support/linux.ts COMMANDS) runs every workload and powers off, and the
// normalised session equals test/golden/linux/session.out, the one QEMU produces
// (test/linux-qemu.test.ts): the differential test. The kernel's boot log equals QEMU's
// (qemu-boot.out) but for the lines in HVLAB_LINES, SSTC_LINE under hvlab's own SBI and
// ISA_LINE_VM under its hypervisor (test/support/linux.ts, docs/linux.md say why). On
// the virtio console the session adds a read of a text disk and the hwrng's source
// (VIRTIO_COMMANDS), whose output QEMU gives too (test/linux-qemu.test.ts).
//
// Each boot takes about half a second to three seconds; the file runs in about half a minute.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ioPathConfig, UNMODIFIED_MODES, type Mode, type VmConfig } from '../src/vm.js';
import {
  COMMANDS,
  GOLDEN_BOOT,
  GOLDEN_SESSION,
  KERNEL_CMDLINE,
  KERNEL_CMDLINE_HVC,
  LINUX_IMAGE,
  LINUX_INITRAMFS,
  ISA_LINE_NATIVE,
  ISA_LINE_VM,
  SSTC_LINE,
  VIRTIO_COMMANDS,
  textDisk,
  virtioSessionOf,
  normaliseBoot,
  normaliseHvlab,
  runLinuxOnHvlab,
  sessionOf,
  unpackDisk,
  type LinuxHvlabResult,
} from './support/linux.js';

const OPENSBI = '/usr/lib/riscv64-linux-gnu/opensbi/generic';
const FW_JUMP = `${OPENSBI}/fw_jump.elf`;
const FW_DYNAMIC = `${OPENSBI}/fw_dynamic.bin`;
const UBOOT_SMODE = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';
const haveOpenSbi = existsSync(FW_JUMP) && existsSync(FW_DYNAMIC);
const haveUboot = haveOpenSbi && existsSync(UBOOT_SMODE);
const TIMEOUT_MS = 120_000;
/** Every mode that runs a stock kernel (all but pv). */
const VM_MODES = UNMODIFIED_MODES;

const golden = (path: string) => readFileSync(path, 'latin1');
const goldenSession = golden(GOLDEN_SESSION);

/**
 * QEMU's log as hvlab must print it: HVLAB_LINES replaced; without Sstc under hvlab's own SBI
 * (SSTC_LINE); without 'h' in a VM (ISA_LINE_VM).
 */
function expectedBoot(sstc: boolean, mode: Mode = 'native'): string {
  let log = normaliseHvlab(golden(GOLDEN_BOOT));
  for (const line of [SSTC_LINE, ISA_LINE_NATIVE]) {
    if (!log.includes(line)) throw new Error(`${GOLDEN_BOOT} has no "${line.trim()}" line`);
  }
  if (!sstc) log = log.replace(SSTC_LINE, '');
  return mode === 'native' ? log : log.replace(ISA_LINE_NATIVE, ISA_LINE_VM);
}

const firmwareFile = (path: string) => ({ file: new Uint8Array(readFileSync(path)), name: path.split('/').pop() });

/** The run powered off through SBI SRST after typing every command: status 0, pass. */
function expectPoweredOff(r: LinuxHvlabResult, commands = COMMANDS): void {
  expect(r.stop, r.console.slice(-3000)).toEqual({ reason: 'pass', code: 0 });
  expect(r.sent).toBe(commands.length);
}

/** The 1 KiB blocks of `bytes` holding anything but zeros (the ext2 blocks a file occupies). */
function dataBlocks(bytes: Uint8Array): number {
  let n = 0;
  for (let off = 0; off < bytes.length; off += 1024) {
    if (bytes.subarray(off, off + 1024).some((b) => b !== 0)) n++;
  }
  return n;
}

const DISK = textDisk();
/** The QEMU session with the disk read and the entropy source before poweroff. */
const virtioSession = virtioSessionOf(goldenSession);

describe('Linux on hvlab, UART console, hvlab\'s SBI: the QEMU session in every mode', () => {
  for (const mode of VM_MODES) {
    it(`${mode}: boot log and session equal QEMU's, poweroff exits 0`, async () => {
      const r = await runLinuxOnHvlab({ mode, firmware: 'builtin', bootargs: KERNEL_CMDLINE });
      expectPoweredOff(r);
      expect(sessionOf(r.console)).toBe(goldenSession);
      expect(normaliseHvlab(normaliseBoot(r.console))).toBe(expectedBoot(false, mode));
      const c = r.counters;
      // Where the kernel ran, and what the mode's mechanism did (DESIGN.md, the modes table).
      if (mode === 'native') {
        expect(c.EXITS).toBe(0n);
        expect(c.INSTRET_S).toBeGreaterThan(10_000_000n);
      } else {
        // trap-emulate runs the guest kernel in the real U-mode, the hvm modes in VS and VU.
        expect(mode === 'trap-emulate' ? c.INSTRET_U : c.INSTRET_V).toBeGreaterThan(10_000_000n);
        expect(c.EXIT_SBI).toBeGreaterThan(0n);
      }
      if (mode === 'trap-emulate') expect(c.EXIT_SRET).toBeGreaterThan(1000n); // nullsys: each syscall's return
      if (mode === 'trap-emulate' || mode === 'hvm-shadow') {
        expect(c.SHADOW_FILLS).toBeGreaterThan(1000n);
        // After forkwait, mmapchurn, pagewalk and pipeping, every shadow PTE still agrees with
        // Linux's own tables (write protection and zaps kept up with every PTE change).
        expect(r.shadowIncoherence).toBe(0);
        expect(c.EXIT_SATP).toBeGreaterThan(100n); // pipeping's and forkwait's context switches
      }
      if (mode === 'hvm-shadow' || mode === 'hvm-nested') expect(c.EXIT_SRET).toBe(0n);
      if (mode === 'hvm-nested') {
        expect(c.SHADOW_FILLS).toBe(0n);
        expect(c.WALK_REFS_G).toBeGreaterThan(c.WALK_REFS_VS);
      }
    }, TIMEOUT_MS);
  }
});

describe('Linux on hvlab, a VM of 256 MiB with the nested page-walk cache', () => {
  it('hvm-nested --nested-pwc --mem 256M: the same log (QEMU\'s golden holds at 128 and 256 MiB) and session; the cache hits', async () => {
    const r = await runLinuxOnHvlab({ mode: 'hvm-nested', nestedPwc: true, memMiB: 256, firmware: 'builtin', bootargs: KERNEL_CMDLINE });
    expectPoweredOff(r);
    expect(sessionOf(r.console)).toBe(goldenSession);
    expect(normaliseHvlab(normaliseBoot(r.console))).toBe(expectedBoot(false, 'hvm-nested'));
    expect(r.counters.NPWC_HITS).toBeGreaterThan(r.counters.NPWC_MISSES);
  }, TIMEOUT_MS);
});

describe('Linux on hvlab under Debian\'s OpenSBI 1.1 (native)', () => {
  if (!haveOpenSbi && process.env.CI) {
    it('the opensbi package is installed (required in CI)', () => expect.fail(`${FW_JUMP} or ${FW_DYNAMIC} not found: CI must install opensbi`));
  }
  const skip = haveOpenSbi ? '' : ' (skipped: opensbi not installed)';
  for (const fw of [FW_JUMP, FW_DYNAMIC]) {
    const name = fw.split('/').pop();
    it.skipIf(!haveOpenSbi)(`${name}: OpenSBI's banner, then the boot log and session equal QEMU's${skip}`, async () => {
      const r = await runLinuxOnHvlab({ firmware: firmwareFile(fw), bootargs: KERNEL_CMDLINE });
      expectPoweredOff(r);
      expect(r.console).toContain('OpenSBI v1.1');
      expect(sessionOf(r.console)).toBe(goldenSession);
      // OpenSBI enables Sstc, as on QEMU: the log is QEMU's but for the machine's name.
      expect(normaliseHvlab(normaliseBoot(r.console))).toBe(expectedBoot(true));
      expect(r.counters.INSTRET_M).toBeGreaterThan(10_000n);
    }, TIMEOUT_MS);
  }
});

describe('Linux on hvlab, virtio console (hvc0), entropy and disk', () => {
  const cases: { mode: Mode; io: 'core' | 'host' | 'offload' }[] = [
    ...VM_MODES.map((mode) => ({ mode, io: 'core' as const })),
    { mode: 'hvm-shadow', io: 'host' },
    { mode: 'native', io: 'host' },
    { mode: 'hvm-nested', io: 'offload' },
    { mode: 'native', io: 'offload' },
  ];
  for (const { mode, io } of cases) {
    it(`${mode}, --io ${io}: the session on hvc0, the disk read back, virtio-rng as hwrng`, async () => {
      const config: VmConfig = { mode, firmware: 'builtin', bootargs: KERNEL_CMDLINE_HVC, ...ioPathConfig(io, DISK) };
      const r = await runLinuxOnHvlab(config, { commands: VIRTIO_COMMANDS });
      expectPoweredOff(r, VIRTIO_COMMANDS);
      expect(sessionOf(r.console.replace(/\r\n/g, '\n'))).toBe(virtioSession);
      // The CRNG's "init done" lands when entropy arrived: with the offload worker that is a
      // matter of thread timing (MACHINE_LINES drops it from the normalised log for the same reason).
      const text = r.console.replace(/\r\n/g, '\n').replace(/^random: crng init done\n/gm, '');
      // hvc0 prints the kernel's log from its registration on (no replay of the earlier
      // lines, which went nowhere): the disk's probe, with the image's size, comes first.
      expect(text.startsWith('virtio_blk virtio2: 1/0/0 default/read/poll queues\n'
        + 'virtio_blk virtio2: [vda] 8 512-byte logical blocks (4.10 kB/4.00 KiB)\n'), text.slice(0, 500)).toBe(true);
      const c = r.counters;
      expect(c.VIRTIO_BLK_REQUESTS).toBeGreaterThan(0n);
      expect(c.VIRTIO_DESCRIPTORS).toBeGreaterThan(200n);
      // No byte of the session went through the UART.
      expect(c.UART_RX_BYTES).toBe(0n);
      if (io === 'host') expect(c.VIRTIO_HOST_NOTIFIES).toBeGreaterThan(0n);
      if (io === 'offload') expect(c.VIRTIO_OFFLOAD_REQUESTS).toBeGreaterThan(0n);
      if (io !== 'host') expect(c.VIRTIO_HOST_NOTIFIES).toBe(0n);
    }, TIMEOUT_MS);
  }
});

describe('U-Boot boots Linux from the virtio disk on hvlab', () => {
  if (!haveUboot && process.env.CI) {
    it('opensbi and u-boot-qemu are installed (required in CI)', () => expect.fail(`${FW_JUMP} or ${UBOOT_SMODE} not found: CI must install opensbi and u-boot-qemu`));
  }
  const skip = haveUboot ? '' : ' (skipped: opensbi or u-boot-qemu not installed)';
  it.skipIf(!haveUboot)(`fw_jump.elf + u-boot.bin + disk.img: extlinux, the boot log and the session${skip}`, async () => {
    const disk = unpackDisk();
    try {
      // As QEMU's -drive if=virtio: a virtio disk only, the UART is the console.
      const config: VmConfig = { memMiB: 256, firmware: firmwareFile(FW_JUMP), io: 'core', virtio: { blk: true },
        disk: new Uint8Array(readFileSync(disk.path)) };
      const r = await runLinuxOnHvlab(config, { kernel: new Uint8Array(readFileSync(UBOOT_SMODE)), initrd: null });
      expectPoweredOff(r);
      const text = r.console.replace(/\r\n/g, '\n');
      expect(text).toContain('Found /extlinux/extlinux.conf');
      expect(text).toContain('Retrieving file: /Image');
      expect(text).toContain('Retrieving file: /initramfs.cpio.gz');
      expect(text).toContain(`append: ${KERNEL_CMDLINE}`);
      expect(sessionOf(r.console)).toBe(goldenSession);
      // On QEMU 7.2 the kernel that U-Boot starts binds no virtio-mmio device (its
      // /sys/bus/virtio/devices is empty), so QEMU's log has no disk; hvlab's kernel finds it.
      // The only virtio device, so virtio0 (slot 2 of the bus).
      const DISK_LINES = 'virtio_blk virtio0: 1/0/0 default/read/poll queues\n'
        + 'virtio_blk virtio0: [vda] 18432 512-byte logical blocks (9.44 MB/9.00 MiB)\n vda: vda1\n';
      const log = normaliseHvlab(normaliseBoot(r.console));
      expect(log).toContain(DISK_LINES);
      expect(log.replace(DISK_LINES, '')).toBe(expectedBoot(true));
      // U-Boot read both files from the disk through virtio-blk (the kernel then its partition
      // table): at least their 1 KiB blocks that are not all zero (mke2fs -d leaves those as
      // holes, which read as zeros without a disk access).
      const files = dataBlocks(readFileSync(LINUX_IMAGE)) + dataBlocks(readFileSync(LINUX_INITRAMFS));
      expect(r.counters.VIRTIO_BYTES).toBeGreaterThanOrEqual(BigInt(files * 1024));
      expect(r.counters.VIRTIO_BLK_REQUESTS).toBeGreaterThan(10n);
    } finally {
      disk.remove();
    }
  }, TIMEOUT_MS);
});

describe('Linux on hvlab: pv mode, determinism', () => {
  it('pv: a stock kernel stops at its first privileged instruction with the pv mode\'s reason', async () => {
    const r = await runLinuxOnHvlab({ mode: 'pv', firmware: 'builtin', bootargs: KERNEL_CMDLINE });
    expect(r.stop.reason).toBe('error');
    // _start_kernel's first instruction, csrw sie, zero (0x80201084, after the Image header's
    // jump), is illegal in U-mode, where pv runs the kernel, and no trap handler was registered
    // through the PV ABI.
    expect(r.stop.message).toBe('pv: a trap of the guest kernel with no handler registered (scause 0x2) at pc 0x80201084; '
      + 'a pv guest registers its handlers with set_callbacks, docs/pv-abi.md)');
    expect(r.console).toBe('');
    expect(r.instructions).toBeLessThan(1000n);
  }, TIMEOUT_MS);

  it('two runs of the same boot and session give the same console and counters (hvm-nested, virtio core)', async () => {
    const config: VmConfig = { mode: 'hvm-nested', firmware: 'builtin', bootargs: KERNEL_CMDLINE_HVC, ...ioPathConfig('core', DISK) };
    const a = await runLinuxOnHvlab(config, { commands: VIRTIO_COMMANDS });
    const b = await runLinuxOnHvlab(config, { commands: VIRTIO_COMMANDS });
    expectPoweredOff(a, VIRTIO_COMMANDS);
    expect(b.console).toBe(a.console);
    expect(b.counters).toEqual(a.counters);
    expect(b.instructions).toBe(a.instructions);
    expect(b.promptInstructions).toBe(a.promptInstructions);
  }, TIMEOUT_MS);
});
