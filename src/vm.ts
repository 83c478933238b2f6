/**
 * The VM API: create a machine from a config, load an image, run it, feed and read its
 * console, read its counters, snapshot and restore it. The CLI, the web page and the tests
 * all use this one API (DESIGN.md "Interfaces").
 */
import { applyTlbModel, validateTlbModel, type TlbModelConfig } from './tlb-model.js';
import { HvlabError } from './errors.js';
import { createIoBackend } from './io/index.js';
import { Halt, instantiateCore, Stop, WASM_PAGE, type CoreExports, type Instantiate } from './core.js';

/** The heavy-exit kind of a virtio notification (assembly/hv/hostio.ts HOST_EXIT_VIRTIO). */
const HOST_EXIT_VIRTIO = 1;

/** What the Vm needs of a TypeScript virtio backend (src/io/). */
export interface IoBackend {
  readonly kind: 'host' | 'offload';
  notify(slot: number, queue: number): void;
  /** Keep an offload worker out of guest memory while the Vm rewrites it (reset, restore). */
  pause(): void;
  reset(): void;
  /** End a pause without reseeding (a snapshot was restored). */
  resume(): void;
  /** Changes whenever the backend served something beside the core (src/io/types.ts). */
  progress(): number;
  /** Console input was put into the RX ring (host: serve receive queues now; offload: wake). */
  serviceInput(): void;
  busy(): boolean;
  waitIdle(timeoutMs: number): boolean;
  drainOutput(): Uint8Array | null;
  /** The entropy generator's state, kept in the backend: a snapshot carries it. */
  rngState(): bigint;
  setRngState(x: bigint): void;
  /** Run `fn` with the backend still (offload: its worker held between passes). */
  quiesce<T>(fn: () => T): T;
  close(): Promise<void>;
}
import { type LoadedImage } from './loader/elf.js';
import { buildDtb, defaultVirtMachine, reg2 } from './loader/dtb.js';
import { planBoot, type BootPlan, type NamedFile } from './loader/boot.js';
import { isaFromMisa, marchFor, misaHasH, unmetRequirement } from './loader/isa.js';
import { namedCounters, structuredStats } from './counters.js';
import type { CostTable } from './cost-model.js';

/**
 * `none`: the kernel image starts in M-mode; `builtin`: the core's SBI, the kernel starts in
 * S-mode; `file`: an M-mode firmware from a file (OpenSBI), as QEMU's -bios.
 */
export type Firmware = 'none' | 'builtin' | 'file';
/** An M-mode firmware file (VmConfig.firmware): an ELF, or a raw binary loaded at 0x80000000. */
export interface FirmwareFile { file: Uint8Array; name?: string }

/**
 * The execution modes (DESIGN.md): `native` runs the image on the bare machine; the others
 * run it in a VM under the core's hypervisor. The numbers are the core's MODE_* values.
 */
export const MODES = ['native', 'trap-emulate', 'hvm-shadow', 'hvm-nested', 'pv'] as const;
export type Mode = typeof MODES[number];
/** The modes that run an unmodified kernel; `pv` runs only a kernel made for it (docs/pv-abi.md). */
export const UNMODIFIED_MODES: readonly Mode[] = MODES.filter((m) => m !== 'pv');
export type Clock = 'instret' | 'wall';

export interface VmConfig {
  /** Guest RAM in MiB (default 128). */
  memMiB?: number;
  /**
   * `none`: the image starts at its entry in M-mode; `builtin`: the core's SBI, S-mode entry;
   * a FirmwareFile: that firmware starts in M-mode with the kernel after it (docs/loading.md).
   */
  firmware?: 'none' | 'builtin' | FirmwareFile;
  /** `instret` (deterministic, default) or `wall`. */
  clock?: Clock;
  /** Retired instructions per 10 MHz timer tick under the instret clock (default 10). */
  instrPerTick?: number;
  /** Kernel command line for /chosen/bootargs (the CLI's --append). */
  bootargs?: string;
  /** The execution mode (default native). Every mode but native needs firmware 'builtin'. */
  mode?: Mode;
  /** Cache G-stage translations of the guest's page-table pages in two-stage walks (default off). */
  nestedPwc?: boolean;
  /**
   * Host pages behind guest RAM (docs/superpages.md): `4k` (default) scatters the guest's
   * frames one by one; `2m` and `1g` place them in aligned host-contiguous runs, so that
   * hvm-nested's G-stage maps them with 2 MiB or 1 GiB leaves and the shadow modes can keep
   * the guest's own 2 MiB pages. A region the host cannot back so falls back a size (counted).
   */
  gstagePages?: GstagePages;
  /**
   * The model TLB and walk caches (src/tlb-model.ts, docs/cost-model.md; `--tlb-model SPEC`):
   * every translated guest access is looked up in it and its figures join the counters. Off
   * when absent; nothing else (output, other counters) depends on it.
   */
  tlbModel?: TlbModelConfig;
  /**
   * Nested virtualization (docs/nested.md; `--nested`): the guest gets the H extension, its
   * HS-mode virtual, so a guest hypervisor (L1) can run its own guests (L2). hvm-nested only.
   */
  nested?: boolean;
  /** How L2's G-stage is translated (`--nested-walk`): a folded table L0 keeps (default), or
   * `naive`, every L2 G-stage translation emulated by walking L1's table in software. */
  nestedFold?: 'fold' | 'naive';
  /**
   * Virtio devices (docs/virtio.md): entropy in virtio-mmio slot 0, console in slot 1, block
   * (needs `disk`) in slot 2. A virtio console takes the keyboard from the UART.
   */
  virtio?: { rng?: boolean; console?: boolean; blk?: boolean };
  /** Who serves the virtio queues (DESIGN.md "I/O paths"): `core` (default), `host`, `offload`. */
  io?: IoBackendKind;
  /**
   * The disk, shared by virtio-blk and emudisk: an image (its length a multiple of 512 bytes;
   * the VM works on its own copy, see Vm.disk()) or the size in bytes of a zero-filled one.
   */
  disk?: Uint8Array | number;
  /** Put emudisk, the register-level disk, on the bus at 0x1000_9000 (needs `disk`). */
  emudisk?: boolean;
  /**
   * The I/O path `split` (docs/split.md): the name of the driver domain, a pv VM of the same
   * Host that owns a disk; this VM (pv) gets its block device from it over grants and event
   * channels. Only Host.createVm reads it.
   */
  driverDomain?: string;
  /**
   * The split console (docs/split.md "The console pair"): the name of the driver domain, a pv
   * VM of the same Host, that carries this VM's (pv) console: once connected its output
   * appears on the driver domain's console as `[domN] ...` lines, and the driver domain's
   * `cons N ...` types into it. The same VM as `driverDomain` if both are given. Only
   * Host.createVm reads it.
   */
  consoleDomain?: string;
  /**
   * Set by Host.createVm for `driverDomain` and `consoleDomain`: the driver domain's domid,
   * this VM's event port, and which devices it serves (the block device unless `blk` is false).
   */
  split?: SplitConfig;
}

export const GSTAGE_PAGES = ['4k', '2m', '1g'] as const;
export type GstagePages = typeof GSTAGE_PAGES[number];

export interface SplitConfig { backend: number; port: number; blk?: boolean; console?: boolean }

export const IO_BACKENDS = ['core', 'host', 'offload'] as const;
export type IoBackendKind = typeof IO_BACKENDS[number];
/** Core backend numbers (assembly/virtio/mmio.ts BACKEND_*). */
const BACKEND_NUMBER: Record<IoBackendKind, number> = { core: 0, host: 1, offload: 2 };
/** Virtio device IDs (virtio v1.2 section 5) and the slots hvlab gives them. */
export const VIRTIO_SLOTS = { rng: { slot: 0, id: 4 }, console: { slot: 1, id: 3 }, blk: { slot: 2, id: 2 } } as const;
export const EMUDISK_BASE = 0x1000_9000n;
/** The largest disk: it shares the 4 GiB wasm memory with guest RAM. */
export const MAX_DISK_BYTES = 1024 * 1024 * 1024;

/**
 * The I/O paths a user compares (DESIGN.md "I/O paths"), as one choice: `emulated` is the UART
 * console and, with a disk, emudisk (every register access an exit); the others give the VM a
 * virtio console and entropy device (and virtio-blk with a disk) served by that backend.
 */
export const IO_PATHS = ['emulated', ...IO_BACKENDS, 'split'] as const;
export type IoPath = typeof IO_PATHS[number];
/**
 * The paths a VM alone can take: `split` needs a driver domain, another VM of the same Host
 * (src/host.ts, VmConfig.driverDomain; docs/split.md).
 */
export const SOLO_IO_PATHS = IO_PATHS.filter((p) => p !== 'split');

export function ioPathConfig(path: IoPath, disk?: Uint8Array | number): Pick<VmConfig, 'virtio' | 'io' | 'disk' | 'emudisk'> {
  if (!(IO_PATHS as readonly string[]).includes(path)) {
    throw new HvlabError('BAD_IO', `I/O path must be one of ${IO_PATHS.join(', ')}, got '${String(path)}'`);
  }
  if (path === 'split') {
    throw new HvlabError('BAD_IO', `the split I/O path needs a driver domain: make the VM in a Host with driverDomain naming a pv VM that has the disk (docs/split.md)`);
  }
  if (path === 'emulated') return { disk, emudisk: disk !== undefined };
  return { io: path, disk, virtio: { console: true, rng: true, blk: disk !== undefined } };
}

export const RAM_BASE = 0x8000_0000n;
export const DEFAULT_MEM_MIB = 128;
export const MIN_MEM_MIB = 16;
/** Stop details (haltKind with Stop.Error) from assembly/hv/exits.ts and assembly/hv/pv.ts. */
const ERR_HV_UNHANDLED = 16;
const ERR_PV_NO_HANDLER = 17;
const ERR_KSM_NO_MEMORY = 24;
export const MAX_MEM_MIB = 3072;
/** The boot registers (integer register numbers): hart id, device tree, fw_dynamic_info. */
const REG_A0 = 10, REG_A1 = 11, REG_A2 = 12, REG_T0 = 5;

/** Vm.hypervisorLayout(): byte offsets into machine RAM (hv/vm.ts HV_* in that order). */
export interface HypervisorLayout { gstageRoot: number; gstageEnd: number; shadowPool: number; shadowEnd: number; hvBytes: number }

export type StopReason = 'pass' | 'fail' | 'reset' | 'limit' | 'idle' | 'error';
export interface StopInfo { reason: StopReason; code: number; message?: string }

/** How the core and its bindings are obtained (Node reads files; the browser fetches). */
export interface CoreSource { module: WebAssembly.Module; instantiate: Instantiate }

interface ValidConfig {
  memMiB: number; firmware: Firmware; firmwareFile?: NamedFile; clock: Clock; instrPerTick: number; bootargs?: string;
  mode: Mode; nestedPwc: boolean; gstagePages: GstagePages; tlbModel?: TlbModelConfig; nested: boolean; nestedFold: 'fold' | 'naive';
  virtio?: { rng: boolean; console: boolean; blk: boolean };
  io: IoBackendKind; diskBytes: number; diskImage?: Uint8Array; emudisk: boolean;
  split?: SplitConfig;
}

function validateIo(c: VmConfig): Pick<ValidConfig, 'virtio' | 'io' | 'diskBytes' | 'diskImage' | 'emudisk'> {
  const io = c.io ?? 'core';
  if (!(IO_BACKENDS as readonly string[]).includes(io)) {
    throw new HvlabError('BAD_IO', `io backend must be one of ${IO_BACKENDS.join(', ')}, got '${String(io)}'`);
  }
  let diskBytes = 0;
  let diskImage: Uint8Array | undefined;
  if (c.disk instanceof Uint8Array) {
    diskImage = c.disk;
    diskBytes = c.disk.length;
  } else if (c.disk !== undefined) {
    diskBytes = c.disk;
  }
  if (c.disk !== undefined && (!Number.isInteger(diskBytes) || diskBytes <= 0 || diskBytes % 512 !== 0 || diskBytes > MAX_DISK_BYTES)) {
    throw new HvlabError('BAD_DISK', `a disk must be a whole number of 512-byte sectors, from 512 bytes to ${MAX_DISK_BYTES / 1048576} MiB; got ${diskBytes} bytes`);
  }
  const v = c.virtio;
  if ((v?.blk || c.emudisk) && diskBytes === 0) {
    throw new HvlabError('NO_DISK', `${v?.blk ? 'virtio-blk' : 'emudisk'} needs a disk (VmConfig.disk, or --drive FILE)`);
  }
  const virtio = v && (v.rng || v.console || v.blk) ? { rng: !!v.rng, console: !!v.console, blk: !!v.blk } : undefined;
  if (virtio && c.mode === 'pv' && io !== 'core') {
    // A pv guest's page-table pages must never be written by a device: the core backend
    // checks every buffer (assembly/virtio/guestmem.ts); the TypeScript ones do not yet.
    throw new HvlabError('BAD_IO', `a pv guest's virtio devices are served in the core: use io 'core', not '${io}'`);
  }
  return { virtio, io, diskBytes, diskImage, emudisk: !!c.emudisk };
}

function validateConfig(c: VmConfig): ValidConfig {
  const memMiB = c.memMiB ?? DEFAULT_MEM_MIB;
  if (!Number.isInteger(memMiB) || memMiB < MIN_MEM_MIB || memMiB > MAX_MEM_MIB) {
    throw new HvlabError('BAD_MEM', `memory size must be a whole number of MiB from ${MIN_MEM_MIB} to ${MAX_MEM_MIB}, got ${memMiB}`);
  }
  const fw = c.firmware ?? 'none';
  const isFile = typeof fw === 'object' && fw !== null && fw.file instanceof Uint8Array;
  if (fw !== 'none' && fw !== 'builtin' && !isFile) {
    throw new HvlabError('BAD_FIRMWARE', `firmware must be 'none', 'builtin' or a firmware file, got '${String(fw)}'`);
  }
  const firmware: Firmware = isFile ? 'file' : fw as Firmware;
  const firmwareFile = isFile ? { bytes: (fw as FirmwareFile).file, name: (fw as FirmwareFile).name ?? 'firmware' } : undefined;
  const clock = c.clock ?? 'instret';
  if (clock !== 'instret' && clock !== 'wall') {
    throw new HvlabError('BAD_CLOCK', `clock must be 'instret' or 'wall', got '${String(clock)}'`);
  }
  const instrPerTick = c.instrPerTick ?? 10;
  if (!Number.isInteger(instrPerTick) || instrPerTick < 1 || instrPerTick > 1_000_000) {
    throw new HvlabError('BAD_TICK', `instructions per tick must be a whole number from 1 to 1000000, got ${instrPerTick}`);
  }
  const mode = c.mode ?? 'native';
  if (!(MODES as readonly string[]).includes(mode)) {
    throw new HvlabError('BAD_MODE', `mode must be one of ${MODES.join(', ')}, got '${String(mode)}'`);
  }
  if (mode !== 'native' && c.firmware === 'none') {
    throw new HvlabError('BAD_MODE', `mode '${mode}' runs a kernel under the hypervisor's SBI: it needs firmware 'builtin', not 'none'`);
  }
  if (mode !== 'native' && firmwareFile) {
    throw new HvlabError('BAD_MODE', `mode '${mode}' runs a kernel under the hypervisor's SBI: an M-mode firmware file (${firmwareFile.name}) runs only natively`);
  }
  if ((c.split || c.driverDomain !== undefined || c.consoleDomain !== undefined) && mode === 'native') {
    throw new HvlabError('BAD_IO', `the split frontends run on the hypervisor's grants and event channels: they need mode pv, trap-emulate, hvm-shadow or hvm-nested, not 'native'`);
  }
  const gstagePages = c.gstagePages ?? '4k';
  if (!(GSTAGE_PAGES as readonly string[]).includes(gstagePages)) {
    throw new HvlabError('BAD_GSTAGE_PAGES', `gstagePages must be one of ${GSTAGE_PAGES.join(', ')}, got '${String(gstagePages)}'`);
  }
  const nestedFold = c.nestedFold ?? 'fold';
  if (nestedFold !== 'fold' && nestedFold !== 'naive') {
    throw new HvlabError('BAD_NESTED', `unknown nested walk '${String(nestedFold)}' (fold or naive)`);
  }
  if (c.nested && mode !== 'hvm-nested') {
    throw new HvlabError('BAD_NESTED', `nesting (--nested) virtualizes the H extension under mode hvm-nested only, not '${mode}'`);
  }
  return { memMiB, firmware: mode === 'native' ? firmware : 'builtin' as Firmware, firmwareFile, clock, instrPerTick,
    bootargs: c.bootargs, mode, nestedPwc: c.nestedPwc ?? false, gstagePages, nested: c.nested ?? false, nestedFold,
    tlbModel: c.tlbModel === undefined ? undefined : validateTlbModel(c.tlbModel), ...validateIo(c), split: c.split };
}

/**
 * The most console output (characters) a Vm keeps for readConsole() when nobody takes it; past
 * it the oldest half is dropped and counted in droppedOutput (docs/io.md "Bounds").
 */
export const MAX_UNREAD_OUTPUT = 16 << 20;

/** What a snapshot holds beyond core memory with a host or offload backend: the generator's state. */
const IO_STATE_BYTES = 8;

export class Vm {
  readonly config: ValidConfig;
  private core: CoreExports;
  private memory: WebAssembly.Memory;
  private ramHost: number;
  private decoder = new TextDecoder('utf-8');
  private image?: LoadedImage;
  private plan?: BootPlan;
  private stopped?: StopInfo;
  private wallStart = 0;
  private wallSeconds = 0;
  /** Console output not yet taken by readConsole() (at most MAX_UNREAD_OUTPUT characters). */
  private out = '';
  /** Characters of console output dropped because nobody read them (docs/io.md "Bounds"). */
  droppedOutput = 0;
  /** The most unread console output kept (characters); MAX_UNREAD_OUTPUT unless set. */
  maxUnreadOutput = MAX_UNREAD_OUTPUT;
  /**
   * Set by a caller whose console sink can fall behind (a pipe, a terminal in a page): after
   * each run() the scripted driver awaits what it returns, so a flooding guest waits for the
   * sink instead of the host buffering without bound (docs/io.md "Bounds").
   */
  outputGate?: () => Promise<void> | undefined;
  private hostDevice?: HostDevice;
  /** The TypeScript device models of the `host` and `offload` backends (src/io/). */
  private io?: IoBackend;
  /** io.progress() when the last run() began. */
  private ioProgress = 0;
  private hostWindow?: [bigint, bigint];
  /** RAM may hold more than zeros: an image was loaded (and perhaps run) since creation. */
  private ramDirty = false;
  /** Console bytes produced since the last reset. */
  outputBytes = 0;
  /** Input waiting to enter the guest's RX ring. */
  private pendingInput: number[] = [];
  onConsole?: (text: string) => void;

  private machineBytes: bigint;
  /** Set when the VM is one of several in a Host's machine (src/host.ts): its id there. */
  readonly shared?: SharedBinding;

  private constructor(config: ValidConfig, core: CoreExports, memory: WebAssembly.Memory,
    ramHost: number, machineBytes: bigint, shared?: SharedBinding) {
    this.config = config;
    this.memory = memory;
    this.ramHost = ramHost;
    this.machineBytes = machineBytes;
    this.shared = shared;
    // Beside other VMs, the core's state is this VM's only while it is loaded: every call into
    // the core loads it first (a world switch, assembly/hv/host.ts), so each method below
    // reads and writes this VM whatever ran before. Pointers the core returns are into that
    // loaded state, and are read right after the call that returned them.
    this.core = shared ? new Proxy(core, {
      get(target, key) {
        const v = (target as unknown as Record<string | symbol, unknown>)[key];
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => { shared.activate(); return (v as (...a: unknown[]) => unknown).apply(target, args); };
      },
    }) : core;
  }

  /** (Re)configure the core's machine and, in a VM mode, lay out the VM. */
  private initCore(): boolean {
    const fw = this.config.firmware === 'builtin' ? 1 : 0;
    const clock = this.config.clock === 'wall' ? 1 : 0;
    if (this.shared) {
      // The pool was made by the Host; this VM's own settings go into its context.
      this.core.vmConfigure(fw, clock, BigInt(this.config.instrPerTick));
    } else {
      const host = this.core.init(RAM_BASE, this.machineBytes, fw, clock, BigInt(this.config.instrPerTick));
      if (host === 0) return false;
      this.ramHost = host >>> 0;
    }
    this.core.setNestedPwc(this.config.nestedPwc);
    // Beside other VMs the placement was chosen when the VM was made (Host.createVm).
    if (!this.shared) this.core.setGstagePages(GSTAGE_PAGES.indexOf(this.config.gstagePages));
    applyTlbModel(this.core, this.config.tlbModel);
    this.core.setNested(this.config.nested, this.config.nestedFold === 'naive');
    // Virtio: each configured device in its slot (VIRTIO_SLOTS), served by the chosen backend;
    // every other slot is empty.
    const backend = BACKEND_NUMBER[this.config.io];
    for (const [name, { slot, id }] of Object.entries(VIRTIO_SLOTS)) {
      this.core.setVirtioDevice(slot, this.config.virtio?.[name as keyof typeof VIRTIO_SLOTS] ? id : 0, backend);
    }
    // The disk lives after machine RAM and survives resets, as a disk does.
    if (this.config.diskBytes > 0 && this.core.diskBytes() === 0n) {
      const host = this.core.diskAlloc(BigInt(this.config.diskBytes), this.config.emudisk) >>> 0;
      if (host === 0) return false;
      if (this.config.diskImage) this.bytes().set(this.config.diskImage, host);
    }
    if (this.config.mode !== 'native') return this.core.vmCreate(MODES.indexOf(this.config.mode), this.ramSize);
    return true;
  }

  /**
   * The VM's disk image (a view of the core's memory: what virtio-blk and emudisk read and
   * write), or undefined without a disk. Copy it out to keep it.
   */
  disk(): Uint8Array | undefined {
    const n = Number(this.core.diskBytes());
    return n === 0 ? undefined : this.bytes().subarray(this.core.diskPtr() >>> 0, (this.core.diskPtr() >>> 0) + n);
  }

  /** The terminal is `cols` x `rows`: a virtio console tells its driver (configuration change). */
  resizeConsole(cols: number, rows: number): void {
    this.core.consoleResize(Math.max(1, Math.min(0xFFFF, cols | 0)), Math.max(1, Math.min(0xFFFF, rows | 0)));
  }

  /**
   * Whether an offload backend has requests the guest made available and it has not finished,
   * or output it produced since the last run: then an idle guest is waiting for the worker, or
   * has output the caller has not seen yet (it is moved to the console here).
   */
  ioBusy(): boolean {
    if (!this.io) return false;
    if (this.io.busy()) return true;
    // The worker completed something after the last run() began: its interrupt may be raised
    // after the core last looked, so an idle guest may be about to wake. Run again first.
    if (this.io.progress() !== this.ioProgress) return true;
    const out = this.io.drainOutput();
    if (!out || out.length === 0) return false;
    this.emitConsole(out);
    return true;
  }

  /** Wait (blocking, up to `ms`) for the offload backend to catch up; true if it has. */
  ioWait(ms: number): boolean { return this.io ? this.io.waitIdle(ms) : true; }

  /**
   * Release what the VM holds outside the core (the offload backend's worker); beside other
   * VMs, destroy it, giving every frame it holds back to the host's pool.
   */
  async close(): Promise<void> {
    const io = this.io;
    this.io = undefined;
    if (io) await io.close();
    this.shared?.release();
  }

  /** End of the state a snapshot holds: machine RAM, and the disk after it. */
  private stateBytes(): number {
    const disk = Number(this.core.diskBytes());
    return disk > 0 ? (this.core.diskPtr() >>> 0) + disk : this.ramHost + Number(this.machineBytes);
  }

  static async create(config: VmConfig, source: CoreSource): Promise<Vm> {
    const cfg = validateConfig(config);
    const t0 = performance.now();
    const { exports, memory } = await instantiateCore(source.instantiate, source.module,
      () => Math.floor((performance.now() - t0) * 10_000));
    const guestBytes = BigInt(cfg.memMiB) * 1024n * 1024n;
    // Under the hypervisor the machine has the guest's RAM plus the hypervisor's own.
    const machineBytes = cfg.mode === 'native' ? guestBytes : guestBytes + exports.vmOverheadBytes(guestBytes, GSTAGE_PAGES.indexOf(cfg.gstagePages));
    const vm = new Vm(cfg, exports, memory, 0, machineBytes);
    if (!vm.initCore()) {
      throw new HvlabError('NO_MEMORY', `could not allocate ${cfg.memMiB} MiB of guest RAM${cfg.diskBytes ? ` and a ${cfg.diskBytes / 1048576} MiB disk` : ''} in WebAssembly memory`);
    }
    // The host and offload backends (src/io/), made once the machine and the disk exist.
    if (cfg.io !== 'core' && cfg.virtio) vm.io = await createIoBackend(cfg.io, { exports, memory });
    return vm;
  }

  /**
   * A VM in a machine shared with others (src/host.ts Host.createVm): the core has just made
   * it (hostVmCreate) and it is loaded. `ramHost` and `machineBytes` are the pool's.
   */
  static async createShared(config: VmConfig, exports: CoreExports, memory: WebAssembly.Memory,
    ramHost: number, machineBytes: bigint, shared: SharedBinding): Promise<Vm> {
    const cfg = validateConfig(config);
    const vm = new Vm(cfg, exports, memory, ramHost, machineBytes, shared);
    if (!vm.initCore()) {
      throw new HvlabError('NO_MEMORY', `the host's pool has no room for ${cfg.diskBytes / 1048576} MiB of disk beside the VMs`);
    }
    // Beside other VMs too: an offload VM's records are in its I/O block (the Host made it),
    // where its worker reads them whichever VM is loaded (assembly/virtio/ioblock.ts).
    if (cfg.io !== 'core' && cfg.virtio) vm.io = await createIoBackend(cfg.io, { exports: vm.core, memory });
    return vm;
  }

  /** Validate a VmConfig as create() does (the Host checks a VM before making room for it). */
  static validate(config: VmConfig): { memMiB: number; mode: Mode; diskBytes: number; io: IoBackendKind; virtio: boolean; gstagePages: GstagePages } {
    const c = validateConfig(config);
    return { memMiB: c.memMiB, mode: c.mode, diskBytes: c.diskBytes, io: c.io, virtio: !!c.virtio, gstagePages: c.gstagePages };
  }

  /** Guest RAM in bytes (what the guest sees; the machine may have more for the hypervisor). */
  get ramSize(): bigint { return BigInt(this.config.memMiB) * 1024n * 1024n; }
  private bytes(): Uint8Array { return new Uint8Array(this.memory.buffer); }

  /** Machine RAM as bytes (a view: valid until the memory grows, which it does not after create). */
  ram(): Uint8Array { return this.bytes().subarray(this.ramHost, this.ramHost + Number(this.machineBytes)); }

  /** Write bytes into guest-physical memory: machine RAM natively, through the VM's map otherwise. */
  private writeGuest(gpa: bigint, data: Uint8Array): void {
    if (this.config.mode === 'native') { this.ram().set(data, Number(gpa - RAM_BASE)); return; }
    const mem = this.bytes();
    let off = 0;
    while (off < data.length) {
      const addr = gpa + BigInt(off);
      const inPage = Number(addr & 4095n);
      const n = Math.min(4096 - inPage, data.length - off);
      const host = this.core.guestPageHost(addr) >>> 0;
      if (host === 0) throw new HvlabError('IMAGE_OUTSIDE_RAM', `guest address 0x${addr.toString(16)} is not guest RAM`);
      mem.set(data.subarray(off, off + n), host + inPage);
      off += n;
    }
  }

  /**
   * Load an image: an ELF64 RISC-V executable, or with `rawAddress` a raw binary placed there.
   * It is the kernel (under a firmware file or `builtin`) or the bare-metal program (`none`).
   * Then reset the hart with the device tree in a1. Same as boot({ kernel, kernelAddress }).
   */
  load(bytes: Uint8Array, name = 'image', rawAddress?: bigint): LoadedImage {
    const plan = this.boot({ kernel: bytes, kernelName: name, kernelAddress: rawAddress });
    return plan.kernel!;
  }

  /**
   * Lay out the firmware (VmConfig.firmware), a kernel, an initrd and the device tree as QEMU's
   * virt does (src/loader/boot.ts, docs/loading.md), then reset the hart: at the firmware's
   * entry in M-mode, or at the kernel's without a firmware file.
   */
  boot(images: BootImages): BootPlan {
    const ramRegion = { base: RAM_BASE, size: this.ramSize };
    if (images.kernel === undefined && images.initrd !== undefined) {
      throw new HvlabError('INITRD_WITHOUT_KERNEL', `${images.initrdName ?? 'initrd'}: an initrd needs a kernel (--kernel FILE)`);
    }
    if (images.kernel === undefined && this.config.bootargs !== undefined) {
      throw new HvlabError('APPEND_WITHOUT_KERNEL', 'a kernel command line (--append) needs a kernel (--kernel FILE)');
    }
    const misa = this.core.misa();
    // The builtin SBI (and the hypervisor's) leaves menvcfg.STCE clear, as an SBI without Sstc
    // support would: a kernel told of Sstc would fault on stimecmp, so the tree does not say it.
    const ownMmode = this.config.mode === 'native' && this.config.firmware !== 'builtin';
    const machine = defaultVirtMachine(this.ramSize, isaFromMisa(misa, ownMmode));
    // Natively the kernel may use the H extension; a guest of the hypervisor is in VS-mode
    // (or deprivileged) and must not be told it has one.
    // With nesting the guest's HS-mode is virtual (hv/nested.ts): it is told of H.
    machine.hypervisor = (this.config.mode === 'native' || this.config.nested) && misaHasH(misa);
    if (this.config.bootargs !== undefined) machine.bootargs = this.config.bootargs;
    if (this.config.emudisk) {
      // hvlab's own device (assembly/devices/emudisk.ts); QEMU's virt has nothing there.
      machine.extraNodes = [{ parent: '/soc', node: { name: `emudisk@${EMUDISK_BASE.toString(16)}`,
        props: { reg: reg2(EMUDISK_BASE, 0x1000n), compatible: 'hvlab,emudisk' } } }];
    }
    const split = this.config.split;
    if (split && split.blk !== false) {
      // hvlab's split block device (docs/split.md): who serves it and on which event port.
      machine.extraNodes = [...(machine.extraNodes ?? []), { parent: '/', node: { name: 'split-blk',
        props: { compatible: 'hvlab,split-blk', 'hvlab,backend': [split.backend], 'hvlab,port': [split.port] } } }];
    }
    if (split?.console) {
      // The split console (docs/split.md "The console pair"): the same driver domain and port.
      machine.extraNodes = [...(machine.extraNodes ?? []), { parent: '/', node: { name: 'split-console',
        props: { compatible: 'hvlab,split-console', 'hvlab,backend': [split.backend], 'hvlab,port': [split.port] } } }];
    }
    const plan = planBoot({
      ram: ramRegion,
      firmware: this.config.firmware,
      firmwareFile: this.config.firmwareFile,
      kernel: images.kernel === undefined ? undefined : { bytes: images.kernel, name: images.kernelName ?? 'image' },
      kernelAddress: images.kernelAddress,
      initrd: images.initrd === undefined ? undefined : { bytes: images.initrd, name: images.initrdName ?? 'initrd' },
      makeDtb: (initrd) => buildDtb({ ...machine, initrd }),
    });
    for (const [img, name] of [[plan.firmware, this.config.firmwareFile?.name], [plan.kernel, images.kernelName ?? 'image']] as const) {
      const unmet = img?.eFlags === undefined ? undefined : unmetRequirement(img.eFlags, misa);
      if (unmet) {
        throw new HvlabError(unmet.code, `${name}: the image uses ${unmet.what}, which hvlab does not implement yet; build with -march=${marchFor(misa)}`);
      }
    }
    this.plan = plan;
    this.image = plan.kernel ?? plan.firmware;
    this.reset();
    return plan;
  }

  /** Put the loaded image and the device tree into (cleared) guest RAM. */
  private writeImage(): void {
    const plan = this.plan!;
    for (const seg of plan.segments) this.writeGuest(seg.paddr, seg.data);
    this.writeGuest(plan.dtbAddr, plan.dtb);
    this.bytes().set(plan.rom, this.core.mromPtr() >>> 0);
  }

  /** Reset the machine: RAM holds the loaded image again, the hart starts at its entry. */
  reset(): void {
    const plan = this.plan;
    if (!plan || !this.image) throw new HvlabError('NO_IMAGE', 'no image loaded');
    // Clear RAM before laying out the VM (the hypervisor keeps its own tables in machine RAM),
    // unless nothing has touched it yet: fresh wasm memory is zero, and clearing 128 MiB would
    // cost more than the whole boot.
    // An offload worker must not be inside a pass while RAM and the records are rewritten:
    // it would finish it with the old run's state (used entries, interrupt bits) written into
    // the new one. pause() waits for it to be between passes; reset() lets it go on.
    this.io?.pause();
    if (this.shared) {
      // Beside other VMs only this VM's frames are cleared (the pool is everyone's).
      if (this.ramDirty && !this.core.hostClearGuestRam()) {
        throw new HvlabError('NO_MEMORY', 'the host pool has no free frame to give this VM in place of a shared one');
      }
    } else if (this.ramDirty) this.ram().fill(0);
    this.ramDirty = true;
    this.initCore();
    this.io?.reset();
    if (this.hostWindow) this.core.setHostWindow(...this.hostWindow);
    this.writeImage();
    this.pendingInput = [];
    this.core.reset(plan.entry, plan.dtbAddr);
    if (this.config.firmware === 'file') {
      // The registers QEMU's reset vector leaves (the core set a0 = hart id, a1 = FDT): a2 points
      // at fw_dynamic_info in the mask ROM, t0 holds the start address it jumped through.
      const regs = new BigUint64Array(this.memory.buffer, this.core.regsPtr() >>> 0, 32);
      regs[REG_A0] = 0n;
      regs[REG_A1] = plan.dtbAddr;
      regs[REG_A2] = plan.a2;
      regs[REG_T0] = plan.entry;
    }
    // tohost belongs to a bare-metal program: the image the hart starts in.
    this.core.setTohost(plan.firmware ? 0n : this.image.tohost ?? 0n);
    this.stopped = undefined;
    this.out = '';
    this.outputBytes = 0;
    this.wallSeconds = 0;
  }

  /** Queue console input; it enters the guest's UART receive FIFO as room allows. */
  sendInput(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    for (const b of bytes) this.pendingInput.push(b);
    this.inputSent += bytes.length;
    this.pumpInput();
  }

  /**
   * Bytes of console input ever queued by sendInput: a scheduler (src/sched.ts) wakes a VM
   * blocked on input when it grows, without loading the VM to look at its RX ring.
   */
  inputSent = 0;

  /** Bytes of input not yet delivered to the guest. */
  get inputPending(): number { return this.pendingInput.length; }

  private pumpInput(): void {
    if (this.pendingInput.length === 0) return;
    const base = this.core.rxRingPtr() >>> 0;
    const size = this.core.rxRingSize();
    const view = new DataView(this.memory.buffer);
    let head = view.getUint32(base, true);
    const tail = view.getUint32(base + 4, true);
    const mem = this.bytes();
    let i = 0;
    while (i < this.pendingInput.length && ((head - tail) >>> 0) < size) {
      mem[base + 8 + (head & (size - 1))] = this.pendingInput[i++];
      head = (head + 1) >>> 0;
    }
    // Atomic: an offload worker may be consuming the ring on its thread.
    Atomics.store(new Int32Array(this.memory.buffer), base >>> 2, head | 0);
    this.pendingInput.splice(0, i);
    this.io?.serviceInput();
  }

  /** Move console output from the core's TX ring to `out` and the onConsole listener. */
  private drainConsole(): void {
    const base = this.core.txRingPtr() >>> 0;
    const size = this.core.txRingSize();
    const view = new DataView(this.memory.buffer);
    const head = view.getUint32(base, true);
    let tail = view.getUint32(base + 4, true);
    if (head !== tail) {
      const mem = this.bytes();
      const chunk = new Uint8Array((head - tail) >>> 0);
      for (let i = 0; i < chunk.length; i++) chunk[i] = mem[base + 8 + ((tail + i) & (size - 1))];
      tail = head;
      view.setUint32(base + 4, tail, true);
      this.emitConsole(chunk);
    }
    // An offload worker's console output arrives beside the core's, through its own ring.
    const offloaded = this.io?.drainOutput();
    if (offloaded && offloaded.length) this.emitConsole(offloaded);
  }

  private emitConsole(chunk: Uint8Array): void {
    this.outputBytes += chunk.length;
    const text = this.decoder.decode(chunk, { stream: true });
    if (this.onConsole) { this.onConsole(text); return; }
    this.out += text;
    // Nobody reads: keep the latest output only, so a guest that floods an unread console
    // cannot grow the host's memory without bound.
    if (this.out.length > this.maxUnreadOutput) {
      const drop = this.out.length - Math.floor(this.maxUnreadOutput / 2);
      this.out = this.out.slice(drop);
      this.droppedOutput += drop;
    }
  }

  /**
   * Serve guest accesses to [base, base + size) with a device modeled here (heavy exits).
   * Only a guest under the hypervisor can take them: a VM mode is required.
   */
  attachDevice(base: bigint, size: bigint, device: HostDevice): void {
    if (this.config.mode === 'native') {
      throw new HvlabError('NEEDS_VM', 'host devices are reached through VM exits: use a VM mode (trap-emulate, hvm-shadow, hvm-nested)');
    }
    if (this.config.mode === 'pv') {
      throw new HvlabError('NEEDS_VM', 'a pv guest has no emulated devices (its devices are assigned, or paravirtual): use trap-emulate, hvm-shadow or hvm-nested');
    }
    if (size <= 0n || base < 0n) throw new HvlabError('BAD_DEVICE', `device window 0x${base.toString(16)}+0x${size.toString(16)} is empty`);
    this.hostDevice = device;
    this.hostWindow = [base, size];
    this.core.setHostWindow(base, size);
  }

  /** Serve the pending heavy exit with the attached device. */
  private serveHostExit(): void {
    const dev = this.hostDevice!;
    const offset = Number(this.core.hostExitOffset());
    const width = this.core.hostExitWidth();
    if (this.core.hostExitIsWrite()) {
      dev.write(offset, width, this.core.hostExitValue());
      this.core.completeHostExit(0n);
    } else {
      this.core.completeHostExit(BigInt.asUintN(64, dev.read(offset, width)));
    }
  }

  /** Take the console output produced so far. */
  readConsole(): string {
    const s = this.out;
    this.out = '';
    return s;
  }

  /**
   * Run up to `maxInstructions`. Returns undefined if the budget ran out with the guest still
   * running, 'idle' information if it waits for input, or why it stopped.
   */
  run(maxInstructions: number): { stop: Stop; info?: StopInfo } {
    if (this.stopped) return { stop: Stop.Halt, info: this.stopped };
    this.pumpInput();
    this.ioProgress = this.io?.progress() ?? 0;
    const t = performance.now();
    const budget = Math.max(0, Math.floor(maxInstructions));
    const start = this.core.instret();
    let r = this.core.run(BigInt(budget));
    // Heavy exits are served here, in the host, and the guest goes on within the same budget.
    while (r === Stop.Host) {
      if (this.core.hostExitKind() === HOST_EXIT_VIRTIO) {
        // A notification for a device modeled in the host (src/io/): serve it, then run on.
        this.io!.notify(this.core.hostExitSlot(), this.core.hostExitQueue());
        this.core.completeHostExit(0n);
        // A transmit buffer that did not fit the TX ring waits in the backend: hand it over
        // now, not at the end of the run, so a guest sending one after another within one
        // run() does not pile them up there (docs/io.md "Bounds").
        this.drainConsole();
      } else {
        this.serveHostExit();
      }
      const left = budget - Number(this.core.instret() - start);
      if (left <= 0) { r = Stop.Budget; break; }
      r = this.core.run(BigInt(left));
    }
    this.wallSeconds += (performance.now() - t) / 1000;
    this.drainConsole();
    this.pumpInput();
    if (r === Stop.Halt) {
      const kind = this.core.haltKind();
      const code = Number(this.core.haltCode());
      this.stopped = kind === Halt.Pass ? { reason: 'pass', code: 0 }
        : kind === Halt.Fail ? { reason: 'fail', code: code === 0 ? 1 : code }
        : { reason: 'reset', code: 0 };
      return { stop: r, info: this.stopped };
    }
    if (r === Stop.Error) {
      const cause = this.core.haltCode();
      const at = `0x${cause.toString(16)}) at pc 0x${this.core.pc().toString(16)}`;
      // The ERR_* kinds of assembly/state.ts and assembly/hv/.
      const kind = this.core.haltKind();
      this.stopped = {
        reason: 'error', code: 1,
        message: kind === ERR_PV_NO_HANDLER
          ? `pv: a trap of the guest kernel with no handler registered (scause ${at}; a pv guest registers its handlers with set_callbacks, docs/pv-abi.md)`
          : kind === ERR_HV_UNHANDLED ? `the hypervisor cannot handle this exit (cause ${at}`
          : kind === ERR_KSM_NO_MEMORY ? `the host pool has no free frame for this VM's own copy of a shared page (guest-physical 0x${cause.toString(16)}; docs/multi-vm.md "KSM")`
          : `trap to M-mode with the builtin firmware (mcause ${at}`,
      };
      return { stop: r, info: this.stopped };
    }
    return { stop: r };
  }

  /**
   * After an idle stop: jump the deterministic clock to the next timer event. Returns false
   * if no timer is armed, so only input can wake the guest.
   */
  idleSkip(): boolean { return this.core.idleSkip(); }

  /**
   * idleSkip, by at most `maxInstructions` of time (the instret clock's unit); returns the
   * instructions skipped, 0 if the guest is not asleep with a timer armed. A scheduler lets a
   * sleeping VM's clock advance only as far as the others run meanwhile (src/sched.ts).
   */
  idleSkipAtMost(maxInstructions: number): number { return Number(this.core.idleSkipAtMost(BigInt(maxInstructions))); }

  /** Timer ticks (10 MHz) until the next timer event, or undefined if none is armed. */
  ticksToNextTimer(): bigint | undefined {
    const next = this.core.nextTimer();
    if (next === 0xFFFF_FFFF_FFFF_FFFFn) return undefined;
    const now = this.core.mtimeNow();
    return next > now ? next - now : 0n;
  }

  /** mtime: 10 MHz ticks of guest time. */
  get mtime(): bigint { return this.core.mtimeNow(); }

  get instructions(): bigint { return this.core.instret(); }
  /** misa as the core implements it (the extensions the device tree's riscv,isa names). */
  get misa(): bigint { return this.core.misa(); }
  get pc(): bigint { return this.core.pc(); }
  /** Current privilege: 0 U, 1 S, 3 M. */
  get privilege(): number { return this.core.priv(); }
  get wallTime(): number { return this.wallSeconds; }

  /** The integer registers x0..x31. */
  registers(): bigint[] {
    const base = this.core.regsPtr() >>> 0;
    return Array.from(new BigUint64Array(this.memory.buffer, base, 32));
  }

  /**
   * The most recent VM exits, oldest first (at most `max`, at most the core's log size of 256):
   * each with its trap cause (bit 63 set for interrupts), the guest pc, the trap value and the
   * instruction count at the exit.
   */
  exitLog(max = 256): ExitRecord[] {
    const size = this.core.exitLogSize();
    const next = Number(this.core.exitLogNext());
    const base = (this.core.exitLogPtr() >>> 0) / 8;
    const words = new BigUint64Array(this.memory.buffer);
    const out: ExitRecord[] = [];
    for (let i = Math.max(0, next - Math.min(max, size)); i < next; i++) {
      const o = base + (i % size) * 4;
      out.push({ index: i, cause: words[o], pc: words[o + 1], tval: words[o + 2], instructions: words[o + 3] });
    }
    return out;
  }

  /**
   * The core and its memory, for the walk trace, vmprint and the memory map (src/walk-trace.ts),
   * which read the machine through the core's side-effect-free exports. `machineBytes` is the
   * machine's RAM from RAM_BASE: guest RAM, and in a VM the hypervisor's area beside it.
   */
  walkView(): { core: CoreExports; memory: WebAssembly.Memory; mode: Mode; machineBytes: bigint } {
    return { core: this.core, memory: this.memory, mode: this.config.mode, machineBytes: this.machineBytes };
  }

  /** Shadow page-table entries that disagree with the guest's own tables (0 = coherent). */
  shadowIncoherence(): number { return this.core.shadowIncoherent(); }

  /**
   * Where the hypervisor keeps its structures, as byte offsets into ram() (assembly/hv/vm.ts):
   * the G-stage root and tables, the shadow pool, and the end of the hypervisor area (guest
   * frames follow it). For the tests and the fuzz oracle, which watch what no guest may write.
   * Undefined natively (there is no hypervisor area).
   */
  hypervisorLayout(): HypervisorLayout | undefined {
    if (this.config.mode === 'native') return undefined;
    const at = (what: number) => Number(this.core.vmLayoutOffset(what));
    return { gstageRoot: at(0), gstageEnd: at(1), shadowPool: at(2), shadowEnd: at(3), hvBytes: at(4) };
  }

  private counterValues(): BigUint64Array {
    return new BigUint64Array(this.memory.buffer, this.core.countersPtr() >>> 0, this.core.counterCount()).slice();
  }
  counters(): Record<string, bigint> { return namedCounters(this.counterValues()); }
  stats(costs: Partial<CostTable> = {}): Record<string, unknown> { return structuredStats(this.counterValues(), this.wallSeconds, costs); }

  /**
   * A snapshot of the stopped machine: all machine state lives in linear memory (the core
   * keeps none in wasm globals), so it is a copy of the core's state area and of guest RAM.
   */
  snapshot(): Uint8Array {
    // Beside other VMs the Host takes it: the VM's context, hypervisor area, RAM frame by frame.
    if (this.shared) return this.shared.snapshot();
    this.drainConsole();
    const end = this.stateBytes();
    const io = this.io;
    if (!io) return this.bytes().slice(0, end);
    // The host and offload backends keep one piece of device state outside core memory: the
    // entropy generator's. It follows the memory as 8 bytes (docs/properties.md). An offload
    // worker is held while the copy is made, so no pass is half done in it.
    return io.quiesce(() => {
      const snap = new Uint8Array(end + IO_STATE_BYTES);
      snap.set(this.bytes().subarray(0, end));
      new DataView(snap.buffer).setBigUint64(end, io.rngState(), true);
      return snap;
    });
  }

  /**
   * The bytes of a snapshot that are the interpreter's per-chunk state: rewritten when a chunk
   * starts, so two machines in the same state may differ there by how their runs were sliced.
   * A comparison of machine states leaves them out (docs/properties.md).
   */
  snapshotScratch(): { offset: number; bytes: number } {
    return { offset: this.core.chunkStatePtr() >>> 0, bytes: this.core.chunkStateBytes() };
  }

  restore(snap: Uint8Array): void {
    if (this.shared) { this.shared.restore(snap); return; }
    const end = this.stateBytes() + (this.io ? IO_STATE_BYTES : 0);
    if (snap.length !== end) {
      throw new HvlabError('BAD_SNAPSHOT', `snapshot is ${snap.length} bytes, this VM needs ${end} (same memory size, I/O path and core build)`);
    }
    // A VM alone keeps its I/O records in static data: the I/O block pointer of its state is 0
    // (assembly/virtio/ioblock.ts). Any other value is a damaged snapshot, which would send the
    // core's and the host's console accesses outside memory.
    const ioBase = this.core.ioBasePtr() >>> 0;
    if (new DataView(snap.buffer, snap.byteOffset + ioBase, 8).getBigUint64(0, true) !== 0n) {
      throw new HvlabError('BAD_SNAPSHOT', 'snapshot is damaged: its I/O block pointer is set, and a VM alone has none');
    }
    // The console rings' indices run free; what lies between them is at most a ring. More is a
    // damaged snapshot, whose next drain would copy gigabytes of the core's memory as output.
    const ring = (ptr: number, size: number, which: string) => {
      const v = new DataView(snap.buffer, snap.byteOffset + ptr, 8);
      if (((v.getUint32(0, true) - v.getUint32(4, true)) >>> 0) > size) {
        throw new HvlabError('BAD_SNAPSHOT', `snapshot is damaged: its console ${which} ring holds more than the ring's ${size} bytes`);
      }
    };
    ring(this.core.txRingPtr() >>> 0, this.core.txRingSize(), 'output');
    ring(this.core.rxRingPtr() >>> 0, this.core.rxRingSize(), 'input');
    const apply = () => {
      this.bytes().set(snap.subarray(0, this.stateBytes()));
      this.io?.setRngState(new DataView(snap.buffer, snap.byteOffset, snap.byteLength).getBigUint64(this.stateBytes(), true));
    };
    // An offload worker must not serve the rings while they are overwritten.
    if (this.io) this.io.quiesce(apply); else apply();
    // Breakpoints and watches a debugger had set when the snapshot was taken are not part of
    // the machine: a restored VM has none (src/debug.ts sets its own again).
    this.core.debugReset();
    this.ramDirty = true;
    this.stopped = undefined;
  }

  /**
   * For the Host's lifecycle operations (src/host.ts, src/migrate.ts): the console output so
   * far is taken out of the core (so the snapshot's ring holds none of it), and what the VM
   * keeps outside the core is returned.
   * @internal
   */
  lifeExtras(): LifeExtras {
    this.drainConsole();
    const io = this.io;
    return { input: [...this.pendingInput], rng: io ? io.rngState().toString() : undefined };
  }

  /**
   * After the Host wrote a snapshot's state into this VM: take the outside part, and run on
   * from there (a stopped VM runs again, as after restore()).
   * @internal
   */
  lifeLoad(extras: LifeExtras): void {
    this.pendingInput = [...extras.input];
    if (this.io && extras.rng !== undefined) this.io.setRngState(BigInt(extras.rng));
    this.ramDirty = true;
    this.stopped = undefined;
  }

  /**
   * The core and its memory, for the debugger (src/debug.ts), which reads and writes the
   * hart's state between runs through the core's debug exports.
   * @internal
   */
  debugAccess(): { core: CoreExports; memory: WebAssembly.Memory } {
    return { core: this.core, memory: this.memory };
  }

  /** The VmConfig that makes a VM like this one (a disk of the same size, empty). */
  portableConfig(): VmConfig {
    const c = this.config;
    return {
      memMiB: c.memMiB, clock: c.clock, instrPerTick: c.instrPerTick, bootargs: c.bootargs, mode: c.mode,
      nestedPwc: c.nestedPwc, gstagePages: c.gstagePages, tlbModel: c.tlbModel, nested: c.nested, nestedFold: c.nestedFold, virtio: c.virtio ? { ...c.virtio } : undefined, io: c.io,
      disk: c.diskBytes > 0 ? c.diskBytes : undefined, emudisk: c.emudisk,
      firmware: c.firmware === 'file' ? undefined : c.firmware,
    };
  }
}

/** What a snapshot of a VM beside others carries from outside the core (src/host.ts). */
export interface LifeExtras {
  /** Console input queued for the guest but not yet in its receive ring. */
  input: number[];
  /** The host backend's entropy generator state (decimal), if it has one. */
  rng?: string;
}

/** How a Vm beside others reaches its host (src/host.ts). */
export interface SharedBinding {
  readonly id: number;
  /** Host.snapshot / Host.restore of this VM. */
  snapshot(): Uint8Array;
  restore(snap: Uint8Array): void;
  /** Load this VM's state into the core, if another VM's is loaded. */
  activate(): void;
  /** Destroy the VM in the core, giving its frames back to the pool. */
  release(): void;
}

/**
 * A device modeled in the host (TypeScript), reached by the guest through heavy exits: each
 * access leaves the core, as a KVM exit to QEMU does. Offsets are into the device's window.
 */
export interface HostDevice {
  read(offset: number, width: number): bigint;
  write(offset: number, width: number, value: bigint): void;
}

/** What Vm.boot() loads beside the firmware (VmConfig.firmware). */
export interface BootImages {
  /** the kernel: an ELF, a RISC-V Linux Image, or with `kernelAddress` a raw binary */
  kernel?: Uint8Array;
  kernelName?: string;
  kernelAddress?: bigint;
  /** an initial ramdisk, placed as QEMU places it; /chosen gets its range */
  initrd?: Uint8Array;
  initrdName?: string;
}

export interface ExitRecord { index: number; cause: bigint; pc: bigint; tval: bigint; instructions: bigint }

export interface RunGuestOptions extends VmConfig {
  /** Stop after this many instructions (default 2e9). */
  maxInstructions?: number;
  /** Console input, delivered one line at a time whenever the guest idles waiting for it. */
  input?: string;
  /**
   * With no input left, stop once the guest has idled this many 10 MHz ticks of guest time
   * without printing anything (default 1 s): it is waiting for input that will not come.
   */
  idleTimeoutTicks?: number;
  /** Where the core comes from (default: the build directory, in Node). */
  source?: CoreSource;
}

export interface RunGuestResult {
  console: string;
  exitCode: number;
  stop: StopInfo;
  counters: Record<string, bigint>;
  stats: Record<string, unknown>;
  instructions: bigint;
  wallSeconds: number;
}

async function defaultSource(): Promise<CoreSource> {
  const path = './node/load-core.js';
  const mod = await import(/* @vite-ignore */ path) as { loadCoreModule(): Promise<CoreSource> };
  return mod.loadCoreModule();
}

/** Split scripted input into lines (each keeps its newline). */
export function inputLines(input: string): string[] {
  const lines = input.match(/[^\n]*\n|[^\n]+$/g);
  return lines ?? [];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * How much of an instruction budget a VM has used: a run() that returns with its budget used
 * up spent all of it, even when it retired nothing (each trap costs the core one step); any
 * other return spent what it retired.
 */
export class StepMeter {
  used = 0;
  private last: bigint;
  constructor(private vm: Vm) { this.last = vm.instructions; }
  after(stop: Stop, budget: number): void {
    const retired = Number(this.vm.instructions - this.last);
    this.last = this.vm.instructions;
    this.used += stop === Stop.Budget ? Math.max(budget, retired) : retired;
  }
}

/** Seconds an idle guest may wait for an offload worker that makes no progress before a run gives up. */
export const IO_STALL_LIMIT = 30;

/** Longest real-time nap while a wall-clock guest idles (so input and Ctrl-A X stay prompt). */
export const MAX_IDLE_NAP_MS = 20;

/**
 * After an idle stop with nothing to deliver, let guest time pass until the next timer event:
 * a jump of the deterministic clock, or a real nap (capped) under the wall clock. Returns false
 * if no timer is armed, so only input can wake the guest.
 */
export async function passIdleTime(vm: Vm): Promise<boolean> {
  if (vm.config.clock === 'instret') return vm.idleSkip();
  const ticks = vm.ticksToNextTimer();
  if (ticks === undefined) return false;
  await sleep(Math.min(MAX_IDLE_NAP_MS, Number(ticks) / 10_000));
  return true;
}

/**
 * Drive a VM with scripted input until it stops: input lines are delivered one at a time
 * when the guest idles (as if typed at the prompt), idle time passes (skipped on the
 * deterministic clock), and a guest that idles silently with no input left is stopped.
 * Deterministic under the instret clock.
 */
export async function runScripted(vm: Vm, input: string, maxInstructions: number,
  idleTimeoutTicks = 10_000_000, hooks: ScriptHooks = {}): Promise<StopInfo> {
  const all = inputLines(input);
  const lines = all.slice(hooks.skipLines ?? 0);
  let pauseAt = hooks.pauseAt;
  const SLICE = 50_000_000;
  let quietSince: bigint | undefined;
  let outputSeen = -1;
  // Steps the core spent: retired instructions, and traps that retire nothing (a guest whose
  // every fetch faults makes no progress in instructions but must still reach its limit).
  const steps = new StepMeter(vm);
  let stalls = 0;
  while (true) {
    const left = maxInstructions - steps.used;
    if (left <= 0) return { reason: 'limit', code: 124, message: `instruction limit ${maxInstructions} reached` };
    let slice = Math.min(left, SLICE);
    // A pause at an exact instruction count: the run is sliced there, which changes nothing
    // the guest can see (docs/properties.md).
    if (pauseAt !== undefined && pauseAt - vm.instructions < BigInt(slice)) slice = Math.max(1, Number(pauseAt - vm.instructions));
    const r = vm.run(slice);
    steps.after(r.stop, slice);
    const gate = vm.outputGate?.();
    if (gate) await gate;
    if (pauseAt !== undefined && vm.instructions >= pauseAt && !r.info) {
      pauseAt = undefined;
      await hooks.onPause?.(all.length - lines.length);
    }
    if (r.info) return r.info;
    if (r.stop !== Stop.Idle) continue;
    // The guest may be waiting for an offload worker, not for input: let it catch up (but a
    // worker that stops serving must not hang the run).
    if (vm.ioBusy()) {
      if (vm.ioWait(1000)) { stalls = 0; continue; }
      if (++stalls < IO_STALL_LIMIT) continue;
      return { reason: 'error', code: 1, message: `the offload backend left the guest's requests unserved for ${IO_STALL_LIMIT} s` };
    }
    stalls = 0;
    const next = lines.shift();
    if (next !== undefined) {
      vm.sendInput(next);
      quietSince = undefined;
      continue;
    }
    if (vm.outputBytes !== outputSeen) { outputSeen = vm.outputBytes; quietSince = vm.mtime; }
    const quietFor = vm.mtime - (quietSince ?? vm.mtime);
    if (quietFor >= BigInt(idleTimeoutTicks) || !await passIdleTime(vm)) {
      return { reason: 'idle', code: 0, message: 'the guest is waiting for input and none is left' };
    }
  }
}

/** What runScripted can be asked to do beside running (hvlab run --snapshot-at, --restore). */
export interface ScriptHooks {
  /** Stop once after exactly this many instructions retired (since reset) and call onPause. */
  pauseAt?: bigint;
  /** Called at pauseAt with how many input lines had been delivered. */
  onPause?: (linesDelivered: number) => void | Promise<void>;
  /** Lines of `input` already delivered (a run restored from a snapshot goes on after them). */
  skipLines?: number;
}

/**
 * Run a guest to completion and collect its console and counters: the harness of the tests
 * and of `hvlab run` with piped input.
 */
export async function runGuest(image: Uint8Array, opts: RunGuestOptions = {}): Promise<RunGuestResult> {
  const vm = await Vm.create(opts, opts.source ?? await defaultSource());
  let stop: StopInfo;
  try {
    vm.load(image);
    stop = await runScripted(vm, opts.input ?? '', opts.maxInstructions ?? 2e9, opts.idleTimeoutTicks);
  } finally {
    await vm.close();
  }
  return {
    console: vm.readConsole(),
    exitCode: stop.code,
    stop,
    counters: vm.counters(),
    stats: vm.stats(),
    instructions: vm.instructions,
    wallSeconds: vm.wallTime,
  };
}
