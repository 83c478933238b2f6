/**
 * Many VMs in one machine (issue 12): one core instance and one linear memory, whose machine
 * RAM is a pool of host frames that every VM's guest RAM, hypervisor tables and saved state
 * are taken from (assembly/hv/host.ts). Each VM is an ordinary Vm (src/vm.ts) bound to this
 * Host: calling any of its methods loads its state into the core first (a world switch).
 * docs/multi-vm.md describes the design; the scheduler that shares the hart among the VMs is
 * src/sched.ts.
 */
import { HvlabError } from './errors.js';
import { instantiateCore, type CoreExports } from './core.js';
import { MODES, RAM_BASE, Vm, type CoreSource, type Mode, type VmConfig } from './vm.js';

export interface HostConfig {
  /** The pool every VM's memory comes from, in MiB (default 1024). */
  poolMiB?: number;
  /**
   * Shadow page-table pages each trap-emulate or hvm-shadow VM gets (default 64, i.e. 256 KiB;
   * a VM alone gets 4096). Fewer pages mean more rebuilds when a guest has many address spaces.
   */
  shadowPages?: number;
}

export const DEFAULT_POOL_MIB = 1024;
export const MIN_POOL_MIB = 16;
/** The pool shares the 4 GiB wasm memory with the core's static data. */
export const MAX_POOL_MIB = 3584;

/**
 * Same-page merging figures, named as Linux reports them in /sys/kernel/mm/ksm
 * (docs/multi-vm.md "KSM"), for the whole host.
 */
export interface KsmStats {
  /** the scanner is on */
  on: boolean;
  /** host frames that more than one guest frame maps */
  pagesShared: number;
  /** guest frames mapping a shared frame beyond the first one: the frames merging saves */
  pagesSharing: number;
  /** pages the scanner found unique in this pass so far */
  pagesUnshared: number;
  /** passes over every mergeable guest frame */
  fullScans: number;
  /** writes that gave a VM its own copy of a shared frame */
  cowBreaks: number;
  /** guest frames looked at */
  pagesScanned: number;
  /** guest frames moved onto another's host frame */
  merges: number;
  /** pool frames the scanner's own tables take while it is on */
  tableFrames: number;
}

// ksmStat's figure numbers (assembly/hv/ksm.ts KSM_*).
const KSM_STAT = { pagesShared: 0, pagesSharing: 1, pagesUnshared: 2, fullScans: 3, cowBreaks: 4,
  pagesScanned: 5, merges: 6, tableFrames: 7 } as const;

/** Statistics of the pool (4 KiB host frames). */
export interface PoolStats { frames: number; free: number; vms: number }

export class Host {
  readonly poolMiB: number;
  private readonly core: CoreExports;
  readonly memory: WebAssembly.Memory;
  private readonly ramHost: number;
  private current = 0;
  private readonly live = new Map<number, Vm>();
  private readonly names = new Map<string, Vm>();

  private constructor(poolMiB: number, core: CoreExports, memory: WebAssembly.Memory, ramHost: number) {
    this.poolMiB = poolMiB;
    this.core = core;
    this.memory = memory;
    this.ramHost = ramHost;
  }

  static async create(config: HostConfig, source: CoreSource): Promise<Host> {
    const poolMiB = config.poolMiB ?? DEFAULT_POOL_MIB;
    if (!Number.isInteger(poolMiB) || poolMiB < MIN_POOL_MIB || poolMiB > MAX_POOL_MIB) {
      throw new HvlabError('BAD_POOL', `the host pool must be a whole number of MiB from ${MIN_POOL_MIB} to ${MAX_POOL_MIB}, got ${poolMiB}`);
    }
    const shadowPages = config.shadowPages ?? 64;
    if (!Number.isInteger(shadowPages) || shadowPages < 16 || shadowPages > 4096) {
      throw new HvlabError('BAD_POOL', `shadow pages per VM must be a whole number from 16 to 4096, got ${shadowPages}`);
    }
    const t0 = performance.now();
    const { exports, memory } = await instantiateCore(source.instantiate, source.module,
      () => Math.floor((performance.now() - t0) * 10_000));
    const bytes = BigInt(poolMiB) << 20n;
    const ramHost = exports.init(RAM_BASE, bytes, 1, 0, 10n) >>> 0;
    if (ramHost === 0 || !exports.hostInit()) {
      throw new HvlabError('NO_MEMORY', `could not allocate a ${poolMiB} MiB host pool in WebAssembly memory`);
    }
    exports.hostSetShadowPages(BigInt(shadowPages));
    return new Host(poolMiB, exports, memory, ramHost);
  }

  /** Load VM `id`'s state into the core (a world switch), unless it is loaded already. */
  private activate(id: number): void {
    if (this.current === id) return;
    if (!this.core.hostSwitch(id)) throw new HvlabError('NO_VM', `VM ${id} does not exist (it was destroyed)`);
    this.current = id;
  }

  /** Host memory a VM of `memMiB` in `mode` takes beyond its guest RAM, in bytes. */
  overheadBytes(mode: Mode, memMiB: number): number {
    return Number(this.core.hostVmOverhead(MODES.indexOf(mode), BigInt(memMiB) << 20n));
  }

  /**
   * Make a VM in the pool. Its config is a VmConfig as for Vm.create, with a mode other than
   * native (each VM runs under the hypervisor) and firmware 'builtin'; `name` must be unique.
   * Throws NO_MEMORY, naming what is short, if the pool cannot hold it (nothing is kept then).
   */
  async createVm(config: VmConfig, name = `vm${this.live.size + 1}`): Promise<Vm> {
    if (this.names.has(name)) throw new HvlabError('DUPLICATE_VM', `a VM named '${name}' already exists`);
    const mode = config.mode ?? 'native';
    if (mode === 'native') {
      throw new HvlabError('BAD_MODE', `VM '${name}': native runs the bare machine alone; beside other VMs choose ${MODES.slice(1).join(', ')}`);
    }
    if (config.io === 'offload') {
      throw new HvlabError('BAD_IO', `VM '${name}': the offload backend's worker reads the device state of one loaded VM; beside other VMs use io 'core' or 'host'`);
    }
    const v = Vm.validate({ firmware: 'builtin', ...config, mode });
    const guestBytes = BigInt(v.memMiB) << 20n;
    const diskFrames = Math.ceil(v.diskBytes / 4096);
    const need = Number(guestBytes) / 4096 + this.overheadBytes(mode, v.memMiB) / 4096 + diskFrames;
    const free = Number(this.core.hostFreeFrames());
    if (need > free) {
      throw new HvlabError('NO_MEMORY', `VM '${name}' needs ${Math.ceil(need / 256)} MiB of the host pool, ${Math.floor(free / 256)} MiB is free (pool ${this.poolMiB} MiB)`);
    }
    let backend: Vm | undefined;
    if (config.driverDomain !== undefined) {
      // The I/O path split (docs/split.md): the driver domain serves this VM's block device.
      backend = this.names.get(config.driverDomain);
      if (!backend) throw new HvlabError('NO_VM', `VM '${name}': no driver domain named '${config.driverDomain}'`);
      if (backend.config.mode !== 'pv' || backend.config.diskBytes === 0) {
        throw new HvlabError('BAD_IO', `VM '${name}': the driver domain '${config.driverDomain}' must be a pv VM with a disk`);
      }
      if (config.disk !== undefined || config.virtio?.blk) {
        throw new HvlabError('BAD_IO', `VM '${name}': on the split path the disk is the driver domain's; give this VM none`);
      }
    }
    const id = this.core.hostVmCreate(MODES.indexOf(mode), guestBytes);
    if (id === 0) {
      throw new HvlabError('NO_MEMORY', `VM '${name}': the host pool (${this.poolMiB} MiB) has no room for ${v.memMiB} MiB of guest RAM and its tables`);
    }
    this.current = id;
    let split: VmConfig['split'];
    if (backend) {
      // The toolstack's part (as Xen's connects a device's event channel): one port of each, joined.
      const ports = this.core.hostSplitConnect(id, backend.shared!.id);
      if (ports === 0) {
        this.core.hostVmDestroy(id);
        this.current = 0;
        throw new HvlabError('NO_MEMORY', `VM '${name}': no free event port to connect it to '${config.driverDomain}'`);
      }
      split = { backend: backend.shared!.id, port: ports & 0xFF };
    }
    const host = this;
    let vm: Vm;
    try {
      vm = await Vm.createShared({ firmware: 'builtin', ...config, mode, split }, this.core, this.memory, this.ramHost,
        BigInt(this.poolMiB) << 20n, {
          id,
          activate: () => host.activate(id),
          release: () => host.release(id),
        });
    } catch (e) {
      this.core.hostVmDestroy(id);
      if (this.current === id) this.current = 0;
      throw e;
    }
    // A device model in TypeScript (io 'host') writes guest RAM through linear addresses it
    // keeps (src/io/queue.ts caches the used ring's), behind the core's copy-on-write: such a
    // VM's frames are never merged (docs/multi-vm.md "KSM").
    if (v.io === 'host' && v.virtio) this.core.hostVmSetMergeable(id, false);
    this.live.set(id, vm);
    this.names.set(name, vm);
    vmNames.set(vm, name);
    return vm;
  }

  /** Destroy VM `id` in the core (Vm.close() calls this). */
  private release(id: number): void {
    const vm = this.live.get(id);
    if (!vm) return;
    this.core.hostVmDestroy(id);
    if (this.current === id) this.current = 0;
    this.live.delete(id);
    this.names.delete(vmNames.get(vm)!);
  }

  /** The VMs in existence, in creation order. */
  vms(): Vm[] { return [...this.live.values()]; }
  /** A VM's name in this host. */
  nameOf(vm: Vm): string | undefined { return vmNames.get(vm); }
  /** The VM of that name. */
  vm(name: string): Vm | undefined { return this.names.get(name); }

  /**
   * Switch same-page merging on (its tables come from the pool) or off (they go back; frames
   * merged stay merged until a VM writes them). Throws NO_MEMORY if the pool has no room.
   */
  ksm(on: boolean): void {
    if (!this.core.ksmEnable(on)) {
      throw new HvlabError('NO_MEMORY', `the host pool (${this.poolMiB} MiB) has no room for the same-page merging tables`);
    }
  }

  /**
   * Let the merging scanner look at up to `pages` guest frames (call it between slices: the
   * budget bounds the pause). Returns the pages scanned; 0 when merging is off or no VM has
   * mergeable frames (pv VMs are never merged).
   */
  ksmScan(pages: number): number {
    if (!Number.isInteger(pages) || pages < 0) throw new HvlabError('BAD_ARGUMENT', `pages to scan must be a whole number, got ${pages}`);
    const n = this.core.ksmScan(Math.min(pages, 0x7FFF_FFFF));
    // The scanner loads each VM whose mappings it changed, then the one loaded before.
    this.current = this.core.hostCurrent();
    return n;
  }

  /** Copy-on-write breaks of one VM's frames (writes that gave it its own copy of a shared frame). */
  cowBreaksOf(vm: Vm): number { return vm.shared ? Number(this.core.hostVmCowBreaks(vm.shared.id)) : 0; }

  /**
   * A copy of VM `vm`'s guest RAM, read through its frame map (guest frames are scattered in
   * the pool, and shared ones are read where they are shared).
   */
  guestRam(vm: Vm): Uint8Array {
    if (!vm.shared || !this.live.has(vm.shared.id)) throw new HvlabError('NO_VM', 'that VM is not in this host');
    this.activate(vm.shared.id);
    const map = this.core.guestMapPtr() >>> 0;
    const view = new DataView(this.memory.buffer);
    const bytes = Number(view.getBigUint64(map + 16, true));
    const ramHost = Number(view.getBigUint64(map + 24, true));
    const machineBase = view.getBigUint64(map + 32, true);
    const frameMap = Number(view.getBigUint64(map + 40, true));
    const out = new Uint8Array(bytes);
    const mem = new Uint8Array(this.memory.buffer);
    for (let off = 0; off < bytes; off += 4096) {
      const hfn = BigInt(view.getUint32(frameMap + off / 1024, true));
      const lin = ramHost + Number((hfn << 12n) - machineBase);
      out.set(mem.subarray(lin, lin + 4096), off);
    }
    return out;
  }

  /** The merging figures of the whole host. */
  ksmStats(): KsmStats {
    const stat = (k: keyof typeof KSM_STAT) => Number(this.core.ksmStat(KSM_STAT[k]));
    return {
      on: this.core.ksmStat(8) !== 0n,
      pagesShared: stat('pagesShared'), pagesSharing: stat('pagesSharing'), pagesUnshared: stat('pagesUnshared'),
      fullScans: stat('fullScans'), cowBreaks: stat('cowBreaks'), pagesScanned: stat('pagesScanned'),
      merges: stat('merges'), tableFrames: stat('tableFrames'),
    };
  }

  pool(): PoolStats {
    return { frames: Number(this.core.hostFrames()), free: Number(this.core.hostFreeFrames()), vms: this.core.hostLiveVms() };
  }

  /**
   * Has `vm` an event from another VM waiting (assembly/hv/evtchn.ts)? A VM blocked in the
   * pv `block` call is runnable again when it has: the event ends the block at its next run.
   */
  eventPending(vm: Vm): boolean { return vm.shared ? this.core.hostVmEventPending(vm.shared.id) : false; }

  /** Host frames VM `vm` holds (guest RAM, its tables and saved state, its disk). */
  framesOf(vm: Vm): number { return vm.shared ? Number(this.core.hostVmFrames(vm.shared.id)) : 0; }

  /** Wasm memory in use, bytes (the pool and the core's static data). */
  get memoryBytes(): number { return this.memory.buffer.byteLength; }
}

const vmNames = new WeakMap<Vm, string>();
