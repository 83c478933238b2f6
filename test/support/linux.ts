// Shared by every test that boots the Linux guest (guests/linux, docs/linux.md): where the
// prebuilt kernel, initramfs and boot disk are, the kernel command line, the commands a
// session types, and the normalisers that make a console comparable with the golden files in
// test/golden/linux/ across runs and machines, a QEMU driver and an hvlab driver. The QEMU
// tests (test/linux-qemu.test.ts) make the goldens; the hvlab tests (test/linux.test.ts)
// compare hvlab's console with them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { spawnQemu } from '../qemu.js';
import { passIdleTime, StepMeter, Vm, type StopInfo, type VmConfig } from '../../src/vm.js';
import { Stop } from '../../src/core.js';
import { loadCoreModule } from '../../src/node/load-core.js';

const PREBUILT = join('guests', 'linux', 'prebuilt');
export const LINUX_IMAGE = join(PREBUILT, 'Image');
export const LINUX_INITRAMFS = join(PREBUILT, 'initramfs.cpio.gz');
export const LINUX_DISK_GZ = join(PREBUILT, 'disk.img.gz');

export const GOLDEN_DIR = join('test', 'golden', 'linux');
/** The normalised kernel log of a QEMU virt boot on ttyS0, firmware banners dropped. */
export const GOLDEN_BOOT = join(GOLDEN_DIR, 'qemu-boot.out');
/** The normalised session from init's banner to the poweroff command: the same everywhere. */
export const GOLDEN_SESSION = join(GOLDEN_DIR, 'session.out');

/**
 * The kernel command line (also in guests/linux/disk/extlinux.conf). initramfs_async=0 makes
 * the kernel unpack the initramfs before the drivers probe instead of beside them, so the
 * boot log has one order on a machine whose clock is real time.
 */
export const KERNEL_CMDLINE = 'console=ttyS0 initramfs_async=0';
/** The same with the virtio console as the kernel's console. */
export const KERNEL_CMDLINE_HVC = 'console=hvc0 initramfs_async=0';

export const BANNER = 'hvlab init: ';
export const PROMPT = 'hvlab# ';
/** The first line of the kernel's log; what comes before it is firmware and boot loader. */
export const KERNEL_FIRST_LINE = 'Linux version ';

/** Typed into the shell, one per prompt. Small N: the workloads' results, not their speed. */
export const COMMANDS: readonly string[] = [
  'uname -a',
  'help',
  'ls /',
  'ls /sys/bus/platform/drivers',
  // Line editing: the X is erased by DEL (what a terminal's backspace key sends), the Y by BS.
  'echo line X\x7fediting Y\x08works',
  'forkwait 20',
  'mmapchurn 20',
  'pagewalk 2000',
  'nullsys 1000',
  'pipeping 100',
  // The error paths: an unknown program and a refused argument.
  'nosuch',
  'forkwait 0',
  'poweroff',
];

/**
 * What to type next: the next command once the console shows one more prompt than commands
 * sent so far, else undefined. A command is sent only when the shell waits for it, so the
 * echo lands in one place whatever the machine's speed.
 */
export function nextInput(console: string, sent: number): string | undefined {
  return nextCommand(console, sent, COMMANDS);
}

/**
 * Lines of the kernel log that legitimately differ between machines that boot the same
 * kernel the same way: each is replaced by a fixed placeholder (or dropped), never skipped
 * silently. The fewer the better; each says why.
 */
export const MACHINE_LINES: readonly { pattern: RegExp; replace: string }[] = [
  // RAM size: the memory map, page counts and the hash tables sized from them.
  { pattern: /\[mem 0x[0-9a-f]+-0x[0-9a-f]+\]/g, replace: '[mem <range>]' },
  { pattern: /^(Built 1 zonelists, mobility grouping on\.\s+Total pages:) \d+$/gm, replace: '$1 <n>' },
  { pattern: /^(Dentry cache|Inode-cache) hash table entries: .*$/gm, replace: '$1 hash table entries: <n>' },
  { pattern: /^Memory: \d+K\/\d+K available .*$/gm, replace: 'Memory: <sizes>' },
  { pattern: /^workingset: .*$/gm, replace: 'workingset: <sizes>' },
  // The SBI implementation and its version: OpenSBI's, a firmware update, or hvlab's own.
  { pattern: /^SBI implementation ID=.*$/gm, replace: 'SBI implementation <id>' },
  // The CRNG is seeded when enough entropy arrived: a time, not a place in the log.
  { pattern: /^random: crng init done\n/gm, replace: '' },
];

/** "\r\n" to "\n": the UART's line discipline turns every "\n" into "\r\n". */
function unixLines(raw: string): string {
  return raw.replace(/\r\n/g, '\n');
}

/**
 * The kernel's log and everything after it, with the machine-dependent lines replaced
 * (MACHINE_LINES). Throws when the kernel never started: a missing log is not a difference
 * to normalise away.
 */
export function normaliseBoot(raw: string): string {
  const text = unixLines(raw);
  const start = text.indexOf(KERNEL_FIRST_LINE);
  if (start < 0) throw new Error(`no "${KERNEL_FIRST_LINE}" line: the kernel did not start`);
  let out = text.slice(start);
  for (const { pattern, replace } of MACHINE_LINES) out = out.replace(pattern, replace);
  return out;
}

/**
 * The session: from init's banner to the end of the line that echoes the last command
 * (poweroff). What follows it is the kernel's goodbye, which a console may not deliver before
 * the machine stops (a virtio console's last buffer), so it is not part of the session.
 */
export function sessionOf(raw: string): string {
  const text = unixLines(raw);
  const start = text.indexOf(BANNER);
  if (start < 0) throw new Error(`no "${BANNER}" banner: init did not start`);
  const last = `${PROMPT}${COMMANDS[COMMANDS.length - 1]}\n`;
  const end = text.indexOf(last, start);
  if (end < 0) throw new Error(`the session did not reach "${last.trim()}"`);
  return text.slice(start, end + last.length);
}

/** The boot disk, decompressed into a temporary raw file (QEMU's and hvlab's --drive need it). */
export function unpackDisk(): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'hvlab-linux-'));
  const path = join(dir, 'disk.img');
  writeFileSync(path, gunzipSync(readFileSync(LINUX_DISK_GZ)));
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface LinuxQemuResult {
  console: string;
  exitCode: number | null;
  timedOut: boolean;
  /** Commands typed (all of COMMANDS when the session ran to poweroff). */
  sent: number;
}

/**
 * Runs qemu-system-riscv64 with `args` (the machine, firmware, kernel, console), types
 * `commands` (default COMMANDS) at the prompts, and returns the console once QEMU exits (poweroff) or the time is up.
 */
export async function runLinuxOnQemu(args: string[], timeoutMs: number, commands: readonly string[] = COMMANDS): Promise<LinuxQemuResult> {
  let sent = 0;
  const r = await spawnQemu(args, timeoutMs, {
    onOutput: (console, type) => {
      for (let cmd = nextCommand(console, sent, commands); cmd !== undefined; cmd = nextCommand(console, sent, commands)) {
        type(cmd);
        sent++;
      }
    },
  });
  return { ...r, sent };
}

/**
 * A disk whose every byte is printable text (64-byte lines naming their sector): `cat /dev/vda`
 * in the guest prints it, so a session shows what the guest read through virtio-blk (the block
 * layer, the page cache and the driver), with nothing to normalise.
 */
export function textDisk(sectors = 8): Uint8Array {
  const LINE = 64;
  let text = '';
  for (let s = 0; s < sectors; s++) {
    for (let l = 0; l < 512 / LINE; l++) text += `hvlab disk sector ${s} line ${l} `.padEnd(LINE - 1, '.') + '\n';
  }
  return new TextEncoder().encode(text);
}

/** The hw_random core's choice of source: the virtio entropy device, where there is one. */
export const RNG_CURRENT = '/sys/devices/virtual/misc/hw_random/rng_current';
/** COMMANDS with the disk (textDisk) read back and the hwrng's source named, before poweroff. */
export const VIRTIO_COMMANDS: readonly string[] = [...COMMANDS.slice(0, -1), 'cat /dev/vda', `cat ${RNG_CURRENT}`,
  COMMANDS[COMMANDS.length - 1]];

/** The session VIRTIO_COMMANDS gives, from the COMMANDS session (session.out) and the disk. */
export function virtioSessionOf(session: string, disk = textDisk()): string {
  const last = `${PROMPT}${COMMANDS[COMMANDS.length - 1]}\n`;
  if (!session.endsWith(last)) throw new Error(`the session does not end with "${last.trim()}"`);
  const extra = `${PROMPT}cat /dev/vda\n${new TextDecoder().decode(disk)}${PROMPT}cat ${RNG_CURRENT}\nvirtio_rng.0\n`;
  return session.slice(0, -last.length) + extra + last;
}

// ---------------------------------------------------------------------------------------------
// hvlab: the same session on hvlab's VM (test/linux.test.ts, docs/linux.md "Linux on hvlab").

/**
 * Lines of the kernel log where hvlab legitimately differs from QEMU 7.2 (test/golden/linux/
 * qemu-boot.out), each replaced by a placeholder on both sides, never dropped:
 *  - the device tree's model names the machine: "riscv-virtio,hvlab" (src/loader/dtb.ts), as
 *    QEMU's names QEMU; the firmware's "Platform Name" differs the same way (test/firmware.test.ts);
 *  - the SBI spec version: hvlab's builtin SBI (and its hypervisor's) implements v2.0 (DBCN
 *    among others), OpenSBI 1.1 v1.0.
 */
export const HVLAB_LINES: readonly { pattern: RegExp; replace: string }[] = [
  { pattern: /^Machine model: riscv-virtio,(qemu|hvlab)$/gm, replace: 'Machine model: riscv-virtio,<machine>' },
  { pattern: /^SBI specification v\d+\.\d+ detected$/gm, replace: 'SBI specification <version> detected' },
];

/**
 * The line the kernel prints when the device tree names Sstc (arch/riscv/../timer-riscv.c). QEMU's
 * OpenSBI enables Sstc (menvcfg.STCE) and so does hvlab under OpenSBI; hvlab's builtin SBI and
 * its hypervisor do not, so their device tree does not name it and the kernel programs the
 * timer through SBI set_timer instead: under them the line is absent, and only it.
 */
export const SSTC_LINE = 'riscv-timer: Timer interrupt in S-mode is available via sstc extension\n';

/**
 * The ISA line natively (QEMU's, and hvlab's: the core has H) and in a VM of hvlab's
 * hypervisor, whose device tree leaves 'h' out: the guest runs in VS-mode (or deprivileged) and
 * hvlab does not virtualize the H extension for it (src/vm.ts boot, machine.hypervisor).
 */
export const ISA_LINE_NATIVE = 'riscv: base ISA extensions acdfhim\n';
export const ISA_LINE_VM = 'riscv: base ISA extensions acdfim\n';

/** A normalised log (normaliseBoot) with HVLAB_LINES replaced: comparable across QEMU and hvlab. */
export function normaliseHvlab(normalised: string): string {
  let out = normalised;
  for (const { pattern, replace } of HVLAB_LINES) out = out.replace(pattern, replace);
  return out;
}

export interface LinuxHvlabResult {
  console: string;
  stop: StopInfo;
  /** Commands typed (all of COMMANDS when the session ran to poweroff). */
  sent: number;
  counters: Record<string, bigint>;
  instructions: bigint;
  /** Shadow PTEs that disagree with the guest's own tables when the run ended (0 = coherent). */
  shadowIncoherence: number;
  /** Instructions retired when the guest first waited at the shell's prompt. */
  promptInstructions?: bigint;
  /** Wall seconds from creating the VM to the first prompt, and to the end. */
  promptSeconds?: number;
  wallSeconds: number;
}

export interface LinuxHvlabOptions {
  /** The kernel (default the prebuilt Image) and initrd (default the prebuilt initramfs; null: none). */
  kernel?: Uint8Array;
  initrd?: Uint8Array | null;
  /** Typed one per prompt (default COMMANDS; the last should power the machine off). */
  commands?: readonly string[];
  maxInstructions?: number;
}

/**
 * Boots a VM made from `config` (firmware, mode, I/O path, bootargs), types `commands` at the
 * prompts as runLinuxOnQemu does, and returns the console once the guest stops (poweroff), the
 * instruction budget runs out, or it idles with nothing left to type. Deterministic under the
 * instret clock: time jumps to the next timer whenever the guest idles.
 */
export async function runLinuxOnHvlab(config: VmConfig, opts: LinuxHvlabOptions = {}): Promise<LinuxHvlabResult> {
  const t0 = performance.now();
  const commands = opts.commands ?? COMMANDS;
  const max = opts.maxInstructions ?? 3e9;
  const vm = await Vm.create(config, await loadCoreModule());
  let console = '';
  let sent = 0;
  let promptInstructions: bigint | undefined;
  let promptSeconds: number | undefined;
  let stop: StopInfo | undefined;
  try {
    const initrd = opts.initrd === undefined ? new Uint8Array(readFileSync(LINUX_INITRAMFS)) : opts.initrd ?? undefined;
    vm.boot({ kernel: opts.kernel ?? new Uint8Array(readFileSync(LINUX_IMAGE)), kernelName: 'Image', initrd, initrdName: 'initramfs.cpio.gz' });
    vm.onConsole = (text) => { console += text; };
    const steps = new StepMeter(vm);
    const SLICE = 20_000_000;
    let quietSince = vm.mtime;
    let outputSeen = 0;
    while (stop === undefined) {
      if (steps.used >= max) { stop = { reason: 'limit', code: 124, message: `instruction limit ${max} reached` }; break; }
      const slice = Math.min(SLICE, max - steps.used);
      const r = vm.run(slice);
      steps.after(r.stop, slice);
      if (r.info) { stop = r.info; break; }
      if (r.stop !== Stop.Idle) continue;
      if (vm.ioBusy()) { vm.ioWait(1000); continue; }
      if (promptInstructions === undefined && console.includes(PROMPT)) {
        promptInstructions = vm.instructions;
        promptSeconds = (performance.now() - t0) / 1000;
      }
      const typed = nextCommand(console, sent, commands);
      if (typed !== undefined) {
        vm.sendInput(typed);
        sent++;
        continue;
      }
      if (console.length !== outputSeen) { outputSeen = console.length; quietSince = vm.mtime; }
      // Ten seconds of guest time with nothing printed and nothing to type: the guest hangs.
      if (vm.mtime - quietSince > 100_000_000n || !await passIdleTime(vm)) {
        stop = { reason: 'idle', code: 0, message: 'the guest waits with nothing left to type' };
      }
    }
  } finally {
    await vm.close();
  }
  return { console, stop, sent, counters: vm.counters(), instructions: vm.instructions,
    shadowIncoherence: vm.shadowIncoherence(), promptInstructions, promptSeconds,
    wallSeconds: (performance.now() - t0) / 1000 };
}

/** nextInput for any command list. */
export function nextCommand(console: string, sent: number, commands: readonly string[]): string | undefined {
  if (sent >= commands.length) return undefined;
  let prompts = 0;
  for (let i = console.indexOf(PROMPT); i >= 0; i = console.indexOf(PROMPT, i + PROMPT.length)) prompts++;
  return prompts > sent ? `${commands[sent]}\r` : undefined;
}
