/**
 * Measuring a guest's workloads in each execution mode: boot the guest to its shell prompt,
 * then run one shell command and take the difference of every counter, so boot costs are left
 * out. Two guests share this code: hvos (guests/hvos) and the prebuilt Linux 6.1
 * (guests/linux); they differ only in what `BenchGuest` says (images, command line, prompt,
 * workloads, the modes they cannot run). Used by `hvlab bench` and by the tests that assert
 * the trade-offs the literature reports.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Stop } from '../core.js';
import { IO_STALL_LIMIT, ioPathConfig, MODES, Vm, type CoreSource, type GstagePages, type IoPath, type Mode, type VmConfig } from '../vm.js';
import { modeledCycles, type CostTable, type CycleBreakdown } from '../cost-model.js';
import { HvlabError } from '../errors.js';
import { formatTlbModel, validateTlbModel } from '../tlb-model.js';

/** The standard set: hvos's `bench` parameters (docs/hvos.md), one isolated cost each. */
export const WORKLOADS: Readonly<Record<string, string>> = {
  compute: 'compute 200000',
  memwalk: 'memwalk 512 8',
  ptchurn: 'ptchurn 16 32',
  spawn: 'spawn 20',
  syscall: 'syscall 20000',
  ctxsw: 'ctxsw 2000',
  io: 'io 1',
};

/**
 * The I/O workloads of `hvlab bench --io` (docs/io.md): the same transfer over each I/O path.
 * `console` writes 64 KiB to the console (the UART, or virtio-console); `disk` reads 1 MiB
 * (emudisk, or virtio-blk).
 */
export const IO_WORKLOADS: Readonly<Record<string, string>> = {
  console: 'io 64',
  disk: 'disk 1024',
};

/** The bench's disk: 4 MiB, byte i of sector s = (s * 7 + i) & 0xff (as the test guests'). */
export function benchDisk(): Uint8Array {
  const d = new Uint8Array(4 << 20);
  for (let i = 0; i < d.length; i++) d[i] = ((i >>> 9) * 7 + (i & 511)) & 0xff;
  return d;
}

/**
 * The Linux workloads (guests/linux/initramfs/hvbox.c, docs/linux.md), each one shell command
 * with its arguments, each isolating one cost, sized so that `hvlab bench --guest linux`
 * runs all of them in every mode in about 10 s of guest work (each mode boots Linux anew, a
 * quarter of a second, for each workload):
 *  - forkwait: fork + exec + wait; every round builds and tears down an address space (Adams
 *    and Agesen, ASPLOS 2006: the shadow-paging worst case);
 *  - mmapchurn: map 8 fresh pages, write each, unmap; page faults and TLB shootdowns;
 *  - pagewalk: touch 4096 pages (16 MiB, 16 times the TLB's reach), then random touches: one
 *    TLB miss and one page walk nearly every touch;
 *  - nullsys: getppid system calls: a trap into the kernel and an sret back, each;
 *  - pipeping: a byte to a child and back through two pipes: two context switches a round.
 */
export const LINUX_WORKLOADS: Readonly<Record<string, string>> = {
  forkwait: 'forkwait 100',
  mmapchurn: 'mmapchurn 500',
  pagewalk: 'pagewalk 50000 4096',
  nullsys: 'nullsys 20000',
  pipeping: 'pipeping 2000',
};

/** The prebuilt Linux guest, relative to the repository (guests/linux/prebuilt). */
export const LINUX_KERNEL = join('guests', 'linux', 'prebuilt', 'Image');
export const LINUX_INITRD = join('guests', 'linux', 'prebuilt', 'initramfs.cpio.gz');
/** hvos's prebuilt kernel. */
export const HVOS_IMAGE = join('guests', 'hvos', 'prebuilt', 'hvos.elf');
/**
 * The Linux command line: the console on the UART; initramfs_async=0 unpacks the initramfs
 * before the drivers probe, as the Linux tests boot it (test/support/linux.ts).
 */
export const LINUX_BOOTARGS = 'console=ttyS0 initramfs_async=0';

export const GUESTS = ['hvos', 'linux'] as const;
export type GuestName = typeof GUESTS[number];

/**
 * What differs between the guests the bench measures; everything else (the VM, running to the
 * prompt, the counter deltas, the cost model) is shared.
 */
export interface BenchGuest {
  name: GuestName;
  /** What the shell prints when it waits for a command. */
  prompt: string;
  /** The standard workloads: name -> the shell command that runs it. */
  workloads: Readonly<Record<string, string>>;
  /** The kernel command line when the caller gives none. */
  bootargs?: string;
  /** At most this many instructions from reset to the first prompt. */
  bootLimit: number;
  /** The modes the guest cannot run, each with the reason (the bench prints it and skips). */
  unsupported: Readonly<Partial<Record<Mode, string>>>;
  /** Lay out the guest's images in a new VM (builtin firmware). */
  load(vm: Vm): void;
}

export function hvosGuest(image: Uint8Array): BenchGuest {
  return {
    name: 'hvos', prompt: 'hvos$ ', workloads: WORKLOADS, bootLimit: 50_000_000, unsupported: {},
    load: (vm) => { vm.load(image, 'hvos.elf'); },
  };
}

export function linuxGuest(kernel: Uint8Array, initrd: Uint8Array): BenchGuest {
  return {
    // hvbox's shell (guests/linux/initramfs/hvbox.c); the boot is about 27 M instructions.
    name: 'linux', prompt: 'hvlab# ', workloads: LINUX_WORKLOADS, bootargs: LINUX_BOOTARGS, bootLimit: 500_000_000,
    unsupported: {
      pv: 'the stock Linux kernel has no port to the hvlab PV interface (direct paging through mmu_update, ' +
        'bounced traps); pv runs only a kernel made for it (docs/pv-abi.md)',
    },
    load: (vm) => { vm.boot({ kernel, kernelName: 'Image', initrd, initrdName: 'initramfs.cpio.gz' }); },
  };
}

/** A guest with its prebuilt images read from the repository at `root`. */
export async function loadBenchGuest(name: GuestName, root: string): Promise<BenchGuest> {
  const read = async (path: string) => new Uint8Array(await readFile(join(root, path)));
  if (name === 'hvos') return hvosGuest(await read(HVOS_IMAGE));
  return linuxGuest(await read(LINUX_KERNEL), await read(LINUX_INITRD));
}

export interface Measurement {
  guest: GuestName;
  mode: Mode;
  io: IoPath;
  workload: string;
  command: string;
  /** Counter deltas over the workload alone. */
  counters: Record<string, bigint>;
  cycles: CycleBreakdown;
  wallSeconds: number;
  output: string;
}

/**
 * Run until the guest idles at its shell prompt; time passes when it idles elsewhere. An
 * offload backend may still be working for the guest (its worker serves the rings beside the
 * vCPU): then the idle guest is waiting for it, not for input.
 */
function runToPrompt(vm: Vm, prompt: string, max: number, seen: { text: string }): void {
  const limit = Number(vm.instructions) + max;
  let stalls = 0;
  while (Number(vm.instructions) < limit) {
    const r = vm.run(10_000_000);
    seen.text += vm.readConsole();
    if (r.info) throw new HvlabError('BENCH_STOPPED', `the guest stopped: ${r.info.reason} ${r.info.message ?? ''}`);
    if (r.stop !== Stop.Idle) continue;
    if (vm.ioBusy()) {
      stalls = vm.ioWait(1000) ? 0 : stalls + 1;
      if (stalls >= IO_STALL_LIMIT) throw new HvlabError('BENCH_STUCK', `the offload backend left the guest's requests unserved for ${IO_STALL_LIMIT} s`);
      continue;
    }
    if (seen.text.endsWith(prompt)) return;
    if (!vm.idleSkip()) throw new HvlabError('BENCH_STUCK', 'the guest waits for input outside its prompt');
  }
  throw new HvlabError('BENCH_LIMIT', `the guest did not reach its prompt within ${max} instructions`);
}

/**
 * Run a VM that holds `guest`'s images from reset to its first prompt (the boot benchmark's
 * end point); returns the console. Throws, naming the reason, if the guest stops or never
 * waits there.
 */
export function bootToPrompt(vm: Vm, guest: BenchGuest): string {
  const seen = { text: '' };
  runToPrompt(vm, guest.prompt, guest.bootLimit, seen);
  return seen.text;
}

function diff(a: Record<string, bigint>, b: Record<string, bigint>): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const k of Object.keys(b)) if (b[k] !== a[k]) out[k] = b[k] - (a[k] ?? 0n);
  return out;
}

/** One VM per guest and mode, reset between measurements: creating a VM faults in all of its memory. */
const vms = new Map<string, Vm>();

/** Close the VMs measure() keeps (an offload backend's worker would keep the process alive). */
export async function releaseVms(): Promise<void> {
  const all = [...vms.values()];
  vms.clear();
  for (const vm of all) await vm.close();
}

/** How to measure: the cost table, the nested PWC, the I/O path, its disk, a kernel command line. */
export interface MeasureOptions {
  costs?: Partial<CostTable>;
  nestedPwc?: boolean;
  io?: IoPath;
  disk?: Uint8Array;
  /** Instead of the guest's own; e.g. `nopv`: hvos keeps its native operations under hardware assist (docs/io.md). */
  bootargs?: string;
  /** More VmConfig fields (a sweep's axes: src/sweep/axes.ts); part of the VM's identity. */
  vm?: Partial<VmConfig>;
  /** Host pages behind guest RAM (VmConfig.gstagePages; docs/superpages.md), default 4k. */
  gstagePages?: GstagePages;
  /** Guest RAM in MiB (default 128; 1 GiB G-stage leaves need 1024 or more). */
  memMiB?: number;
}

/**
 * Boot `guest` (a BenchGuest, or hvos's image) in `mode` to its prompt, run `command` there and
 * return the counters' differences from that prompt to the next. Throws, naming the reason, for
 * a mode the guest cannot run.
 */
export async function measure(guest: BenchGuest | Uint8Array, source: CoreSource, mode: Mode, workload: string,
  command: string, opts: MeasureOptions = {}): Promise<Measurement> {
  const g = guest instanceof Uint8Array ? hvosGuest(guest) : guest;
  const why = g.unsupported[mode];
  if (why !== undefined) throw new HvlabError('BENCH_MODE', `${g.name} does not run in ${mode}: ${why}`);
  const { costs = {}, nestedPwc = false, io = 'emulated', disk, memMiB } = opts;
  const gstagePages = opts.gstagePages ?? opts.vm?.gstagePages ?? '4k';
  const bootargs = opts.bootargs ?? g.bootargs;
  // The model's SPEC text, not its object: one key per configuration, whatever order it was built in.
  const extra = opts.vm ? JSON.stringify({ ...opts.vm, tlbModel: opts.vm.tlbModel && formatTlbModel(validateTlbModel(opts.vm.tlbModel)) }) : '';
  const key = `${g.name}/${mode}/${nestedPwc}/${io}/${disk ? 'disk' : ''}/${bootargs ?? ''}/${gstagePages}/${memMiB ?? ''}/${extra}`;
  let vm = vms.get(key);
  if (!vm) {
    const config: VmConfig = { ...opts.vm, mode, firmware: 'builtin', clock: 'instret', nestedPwc, gstagePages, memMiB, bootargs, ...ioPathConfig(io, disk) };
    vm = await Vm.create(config, source);
    g.load(vm);
    vms.set(key, vm);
  } else {
    vm.reset();
  }
  const seen = { text: '' };
  runToPrompt(vm, g.prompt, g.bootLimit, seen);
  const before = vm.counters();
  const t0 = vm.wallTime;
  vm.sendInput(command + '\n');
  seen.text = '';
  runToPrompt(vm, g.prompt, 2_000_000_000, seen);
  const counters = diff(before, vm.counters());
  return { guest: g.name, mode, io, workload, command, counters, cycles: modeledCycles(counters, costs),
    wallSeconds: vm.wallTime - t0, output: seen.text };
}

export function checkNames(kind: string, names: string[], known: readonly string[]): void {
  for (const n of names) {
    if (!known.includes(n)) throw new HvlabError('BAD_OPTION', `unknown ${kind} '${n}' (known: ${known.join(', ')})`);
  }
}

export const ALL_MODES: readonly Mode[] = MODES;
