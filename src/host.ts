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
import { GSTAGE_PAGES, MODES, RAM_BASE, Vm, type CoreSource, type LifeExtras, type Mode, type VmConfig } from './vm.js';

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
  /** Tells this host's snapshots from another's (a snapshot restores only into its own VM). */
  private readonly nonce = Math.floor(Math.random() * 2 ** 52) + 1;

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
    const v = Vm.validate({ firmware: 'builtin', ...config, mode });
    const guestBytes = BigInt(v.memMiB) << 20n;
    const diskFrames = Math.ceil(v.diskBytes / 4096);
    // An offload VM's virtio records live in an I/O block of its own (hostVmIoBlock below).
    const offload = v.io === 'offload' && v.virtio;
    const ioFrames = offload ? Number(this.core.hostIoBlockFrames()) : 0;
    const need = Number(guestBytes) / 4096 + this.overheadBytes(mode, v.memMiB) / 4096 + diskFrames + ioFrames;
    const free = Number(this.core.hostFreeFrames());
    if (need > free) {
      throw new HvlabError('NO_MEMORY', `VM '${name}' needs ${Math.ceil(need / 256)} MiB of the host pool, ${Math.floor(free / 256)} MiB is free (pool ${this.poolMiB} MiB)`);
    }
    let backend: Vm | undefined;
    if (config.consoleDomain !== undefined) {
      // The split console (docs/split.md "The console pair"): any pv VM can carry it.
      backend = this.names.get(config.consoleDomain);
      if (!backend) throw new HvlabError('NO_VM', `VM '${name}': no driver domain named '${config.consoleDomain}'`);
      if (backend.config.mode !== 'pv') {
        throw new HvlabError('BAD_IO', `VM '${name}': the console's driver domain '${config.consoleDomain}' must be a pv VM`);
      }
      if (config.driverDomain !== undefined && config.driverDomain !== config.consoleDomain) {
        throw new HvlabError('BAD_IO', `VM '${name}': its disk and its console come from one driver domain (driverDomain '${config.driverDomain}', consoleDomain '${config.consoleDomain}')`);
      }
    }
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
    const id = this.core.hostVmCreate(MODES.indexOf(mode), guestBytes, GSTAGE_PAGES.indexOf(v.gstagePages));
    if (id === 0) {
      throw new HvlabError('NO_MEMORY', `VM '${name}': the host pool (${this.poolMiB} MiB) has no room for ${v.memMiB} MiB of guest RAM and its tables`);
    }
    this.current = id;
    // The offload worker polls the VM's virtio records while other VMs are loaded, so they
    // cannot be in the core's static data, which a world switch swaps: they go to a run of
    // pool frames that never moves (assembly/virtio/ioblock.ts), before any device is set up.
    if (offload && this.core.hostVmIoBlock() === 0) {
      this.core.hostVmDestroy(id);
      this.current = 0;
      throw new HvlabError('NO_MEMORY', `VM '${name}': the host pool (${this.poolMiB} MiB) has no room for its I/O block`);
    }
    // A device model in TypeScript (io 'host' or 'offload') writes guest RAM through linear
    // addresses it keeps (src/io/queue.ts caches the used ring's), behind the core's
    // copy-on-write: such a VM's frames are never merged (docs/multi-vm.md "KSM"). Set before
    // the Vm is made: making it awaits the offload worker's start, and a scan meanwhile must
    // not merge the frames the worker is about to write from its own thread.
    if (v.io !== 'core' && v.virtio) this.core.hostVmSetMergeable(id, false);
    let split: VmConfig['split'];
    if (backend) {
      // The toolstack's part (as Xen's connects a device's event channel): one port of each,
      // joined; one channel carries both devices.
      const ports = this.core.hostSplitConnect(id, backend.shared!.id);
      if (ports === 0) {
        this.core.hostVmDestroy(id);
        this.current = 0;
        throw new HvlabError('NO_MEMORY', `VM '${name}': no free event port to connect it to '${config.driverDomain ?? config.consoleDomain}'`);
      }
      split = { backend: backend.shared!.id, port: ports & 0xFF, blk: config.driverDomain !== undefined,
        console: config.consoleDomain !== undefined };
    }
    const host = this;
    let vm: Vm;
    try {
      vm = await Vm.createShared({ firmware: 'builtin', ...config, mode, split }, this.core, this.memory, this.ramHost,
        BigInt(this.poolMiB) << 20n, {
          id,
          activate: () => host.activate(id),
          release: () => host.release(id),
          snapshot: () => host.snapshot(vm),
          restore: (snap: Uint8Array) => host.restore(vm, snap),
        });
    } catch (e) {
      this.core.hostVmDestroy(id);
      if (this.current === id) this.current = 0;
      throw e;
    }
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

  // ---- lifecycle: snapshot, restore, clone (docs/multi-vm.md "Lifecycle") -------------------

  /** A VM of this host, loaded: its id. */
  private loadVm(vm: Vm, what: string): number {
    const id = vm.shared?.id;
    if (id === undefined || this.live.get(id) !== vm) {
      throw new HvlabError('NO_VM', `${what}: the VM is not one of this host's (it was destroyed, or lives in another host)`);
    }
    this.activate(id);
    return id;
  }

  private bytes(): Uint8Array { return new Uint8Array(this.memory.buffer); }
  /** Linear address of host-physical `hpa` in the pool. */
  private lin(hpa: bigint): number { return this.ramHost + Number(hpa - RAM_BASE); }

  /** Where VM `id`'s runs are (AREA_* of hv/host.ts). */
  private area(id: number, what: number): { hpa: bigint; bytes: number } {
    return { hpa: this.core.hostVmArea(id, what), bytes: Number(this.core.hostVmAreaFrames(id, what)) * 4096 };
  }

  /** VM `id`'s frame map: the host frame number of each guest frame. */
  private frameMap(id: number, frames: number): Uint32Array {
    const at = this.lin(this.core.hostVmArea(id, AREA_HV));
    return new Uint32Array(this.memory.buffer.slice(at, at + frames * 4));
  }

  /** The guest frames `gfns` of a VM of this host, 4 KiB each, in that order. */
  readFrames(vm: Vm, gfns: ArrayLike<number>): Uint8Array {
    const id = this.loadVm(vm, 'read guest frames');
    const frames = Number(vm.ramSize / 4096n);
    const map = this.frameMap(id, frames);
    const mem = this.bytes();
    const out = new Uint8Array(gfns.length * 4096);
    for (let i = 0; i < gfns.length; i++) {
      const g = gfns[i];
      if (!(g >= 0 && g < frames)) throw new HvlabError('BAD_FRAME', `guest frame ${g} is outside the VM's ${frames} frames`);
      const at = this.lin(BigInt(map[g]) << 12n);
      out.set(mem.subarray(at, at + 4096), i * 4096);
    }
    return out;
  }

  /** Write guest frames `gfns` of a VM of this host (4 KiB each from `data`). */
  writeFrames(vm: Vm, gfns: ArrayLike<number>, data: Uint8Array): void {
    const id = this.loadVm(vm, 'write guest frames');
    const frames = Number(vm.ramSize / 4096n);
    if (data.length !== gfns.length * 4096) {
      throw new HvlabError('BAD_FRAME', `${gfns.length} guest frames need ${gfns.length * 4096} bytes, got ${data.length}`);
    }
    // A frame shared with other VMs (same-page merging) gets a copy of its own first.
    if (!this.core.hostVmUnshare()) throw new HvlabError('NO_MEMORY', 'the host pool has no free frame to give this VM in place of a shared one');
    const map = this.frameMap(id, frames);
    const mem = this.bytes();
    for (let i = 0; i < gfns.length; i++) {
      const g = gfns[i];
      if (!(g >= 0 && g < frames)) throw new HvlabError('BAD_FRAME', `guest frame ${g} is outside the VM's ${frames} frames`);
      mem.set(data.subarray(i * 4096, (i + 1) * 4096), this.lin(BigInt(map[g]) << 12n));
    }
  }

  /**
   * A snapshot of one VM while the others keep their state: its context (the core's static
   * data while it is loaded), its hypervisor area, its guest RAM frame by frame (unless
   * `ram` is false: a migration sends RAM on its own), its disk, and what the Vm keeps
   * outside the core (queued input, the host backend's generator state). The format is in
   * docs/multi-vm.md "Lifecycle".
   */
  snapshot(vm: Vm, opts: { ram?: boolean } = {}): Uint8Array {
    Host.savable(vm.config, 'snapshot');
    const extras = vm.lifeExtras();
    const id = this.loadVm(vm, 'snapshot');
    const ram = opts.ram ?? true;
    const ctx = Number(this.core.contextBytes());
    const area = this.area(id, AREA_HV);
    // A pv VM's own pool (its m2p, p2m and boot tables, hv/host.ts) goes with its hypervisor area.
    const pvPool = this.area(id, AREA_PV_POOL);
    const hv = { hpa: area.hpa, bytes: area.bytes + pvPool.bytes };
    const disk = this.area(id, AREA_DISK);
    const diskBytes = Number(this.core.diskBytes());
    const frames = Number(vm.ramSize / 4096n);
    const tail = new TextEncoder().encode(JSON.stringify({ config: vm.portableConfig(), name: this.nameOf(vm), ...extras }));
    const size = HEADER_BYTES + ctx + hv.bytes + (ram ? frames * 4096 : 0) + diskBytes + tail.length;
    const snap = new Uint8Array(size);
    const head = new DataView(snap.buffer);
    const fields: bigint[] = [SNAP_MAGIC, SNAP_VERSION, BigInt(ctx), BigInt(this.core.counterCount()),
      BigInt(MODES.indexOf(vm.config.mode)), BigInt(frames), BigInt(hv.bytes), BigInt(diskBytes),
      this.core.hostFrames(), hv.hpa, BigInt(this.nonce), BigInt(id), ram ? 1n : 0n, BigInt(tail.length), disk.hpa];
    fields.forEach((v, i) => head.setBigUint64(i * 8, v, true));
    const mem = this.bytes();
    let at = HEADER_BYTES;
    snap.set(mem.subarray(0, ctx), at); at += ctx;
    const hvAt = this.lin(area.hpa);
    snap.set(mem.subarray(hvAt, hvAt + area.bytes), at); at += area.bytes;
    if (pvPool.bytes > 0) { const p = this.lin(pvPool.hpa); snap.set(mem.subarray(p, p + pvPool.bytes), at); at += pvPool.bytes; }
    if (ram) {
      const map = this.frameMap(id, frames);
      for (let g = 0; g < frames; g++) {
        const f = this.lin(BigInt(map[g]) << 12n);
        snap.set(mem.subarray(f, f + 4096), at); at += 4096;
      }
    }
    if (diskBytes > 0) { const d = this.core.diskPtr() >>> 0; snap.set(mem.subarray(d, d + diskBytes), at); at += diskBytes; }
    snap.set(tail, at);
    return snap;
  }

  /** Read a snapshot's header, checking it is one (of this core build); throws BAD_SNAPSHOT. */
  private parse(snap: Uint8Array): Snapshot {
    const bad = (why: string) => new HvlabError('BAD_SNAPSHOT', `not a snapshot this host can use: ${why}`);
    if (!(snap instanceof Uint8Array) || snap.length < HEADER_BYTES) throw bad(`${snap?.length ?? 0} bytes is shorter than its header`);
    const head = new DataView(snap.buffer, snap.byteOffset, HEADER_BYTES);
    const f = (i: number) => head.getBigUint64(i * 8, true);
    if (f(0) !== SNAP_MAGIC || f(1) !== SNAP_VERSION) throw bad('it does not start with an hvlab VM snapshot header');
    const ctx = Number(f(2));
    if (ctx !== Number(this.core.contextBytes()) || Number(f(3)) !== this.core.counterCount()) {
      throw bad(`it was taken by another core build (context ${ctx} bytes, this core's ${this.core.contextBytes()})`);
    }
    const mode = MODES[Number(f(4))];
    const frames = Number(f(5)), hvBytes = Number(f(6)), diskBytes = Number(f(7)), ram = f(12) === 1n, tailBytes = Number(f(13));
    if (mode === undefined || mode === 'native') throw bad(`mode number ${f(4)} is not a VM mode`);
    const size = HEADER_BYTES + ctx + hvBytes + (ram ? frames * 4096 : 0) + diskBytes + tailBytes;
    if (snap.length !== size) throw bad(`it is ${snap.length} bytes, its header describes ${size}`);
    const sub = (at: number, n: number) => snap.subarray(at, at + n);
    let at = HEADER_BYTES;
    const context = sub(at, ctx); at += ctx;
    const hv = sub(at, hvBytes); at += hvBytes;
    const guest = ram ? sub(at, frames * 4096) : undefined; at += ram ? frames * 4096 : 0;
    const disk = sub(at, diskBytes); at += diskBytes;
    let tail: { config: VmConfig; name?: string } & LifeExtras;
    try { tail = JSON.parse(new TextDecoder().decode(sub(at, tailBytes))); } catch { throw bad('its trailer is not readable'); }
    const input = tail?.input ?? [];
    if (typeof tail !== 'object' || tail === null || typeof tail.config !== 'object' || !Array.isArray(input) ||
      !input.every((b) => Number.isInteger(b) && b >= 0 && b <= 255) || (tail.rng !== undefined && !/^\d+$/.test(tail.rng))) {
      throw bad('its trailer does not describe a VM');
    }
    return { mode, frames, poolFrames: Number(f(8)), hvHpa: f(9), nonce: Number(f(10)), id: Number(f(11)), diskHpa: f(14),
      context, hv, guest, disk, config: tail.config, name: tail.name, extras: { input, rng: tail.rng } };
  }

  /** Check that snapshot `s` fits VM `vm` (mode, memory, disk, core layout). */
  private fits(vm: Vm, s: Snapshot, id: number): void {
    const name = this.nameOf(vm);
    if (vm.config.mode !== s.mode) {
      throw new HvlabError('BAD_SNAPSHOT', `snapshot of a ${s.mode} VM cannot go into VM '${name}', which runs ${vm.config.mode}`);
    }
    if (Number(vm.ramSize / 4096n) !== s.frames || this.area(id, AREA_HV).bytes + this.area(id, AREA_PV_POOL).bytes !== s.hv.length ||
      Number(this.core.diskBytes()) !== s.disk.length) {
      throw new HvlabError('BAD_SNAPSHOT', `snapshot of ${s.frames / 256} MiB with a ${s.disk.length}-byte disk does not fit VM '${name}' (${vm.config.memMiB} MiB, ${this.core.diskBytes()}-byte disk)`);
    }
  }

  /**
   * Restore a snapshot this host took of `vm` (the others keep running as they were). Where
   * the VM's frames are still those of the snapshot, its state goes back byte for byte, and
   * the VM continues exactly as it did after the snapshot (output and counters). A snapshot of
   * another VM (or another host) is refused: Host.clone makes a new VM from it.
   */
  restore(vm: Vm, snap: Uint8Array): void {
    Host.savable(vm.config, 'restore');
    const s = this.parse(snap);
    const id = this.loadVm(vm, 'restore');
    this.fits(vm, s, id);
    if (s.nonce !== this.nonce || s.id !== id) {
      const from = s.nonce === this.nonce ? `VM ${s.id}${s.name ? ` ('${s.name}')` : ''} of this host` : 'a VM of another host';
      throw new HvlabError('BAD_SNAPSHOT', `snapshot was taken of ${from}, not of VM '${this.nameOf(vm)}': make a new VM from it with Host.clone`);
    }
    if (!s.guest) throw new HvlabError('BAD_SNAPSHOT', 'snapshot holds no guest RAM (a migration\'s final state): it is applied by the migration target');
    if (!this.core.hostVmUnshare()) throw new HvlabError('NO_MEMORY', 'the host pool has no free frame to give this VM in place of a shared one');
    const frames = s.frames;
    const sameFrames = this.area(id, AREA_HV).hpa === s.hvHpa && this.area(id, AREA_DISK).hpa === s.diskHpa &&
      equalBytes(new Uint8Array(this.frameMap(id, frames).buffer), s.hv.subarray(0, frames * 4));
    if (sameFrames) {
      const mem = this.bytes();
      mem.set(s.context, 0);
      const hvBytes = this.area(id, AREA_HV).bytes;
      mem.set(s.hv.subarray(0, hvBytes), this.lin(s.hvHpa));
      if (s.hv.length > hvBytes) mem.set(s.hv.subarray(hvBytes), this.lin(this.area(id, AREA_PV_POOL).hpa));
      this.writeGuestFrames(id, frames, s.guest);
      if (s.disk.length) mem.set(s.disk, this.core.diskPtr() >>> 0);
      this.core.lifeRestored();
    } else {
      // The frames changed since (a frame got merged and copied): relocate, as a clone does,
      // and if the snapshot's state cannot be relocated, put back the state the VM had.
      const undo = this.snapshot(vm);
      try { this.adopt(vm, id, s); } catch (e) { this.restore(vm, undo); throw e; }
    }
    vm.lifeLoad(s.extras);
  }

  /**
   * A new VM named `name` from a snapshot (of a VM of this host or another): frames of its
   * own, the snapshot's memory copied in, every host address in its state moved to them
   * (hv/life.ts). It continues from the snapshot's point with the same console output as the
   * original; its translation caches were rebuilt, so its TLB counters differ. pv is refused:
   * see docs/multi-vm.md "Lifecycle".
   */
  async clone(snap: Uint8Array, name: string): Promise<Vm> {
    const s = this.parse(snap);
    if (!s.guest) throw new HvlabError('BAD_SNAPSHOT', 'snapshot holds no guest RAM (a migration\'s final state): it is applied by the migration target');
    Host.relocatable(s.mode, 'clone');
    const vm = await this.createVm(s.config, name);
    try {
      const id = this.loadVm(vm, 'clone');
      this.fits(vm, s, id);
      this.adopt(vm, id, s);
    } catch (e) {
      await vm.close();
      throw e;
    }
    vm.lifeLoad(s.extras);
    return vm;
  }

  /**
   * Refuse a snapshot of an offload VM beside others: its virtio records, RX ring and its
   * worker's counts are in its I/O block (assembly/virtio/ioblock.ts), outside the context a
   * snapshot holds, and its worker would have to be held still across the copy.
   */
  static savable(config: { io: string; virtio?: unknown }, what: string): void {
    if (config.io === 'offload' && config.virtio) {
      throw new HvlabError('NOT_SUPPORTED', `${what} of an offload VM beside others: its virtio records are in its I/O block, which snapshots do not hold yet; use io 'core' or 'host'`);
    }
  }

  /** Refuse to move a VM of `mode` to other frames, if it cannot be (pv). */
  static relocatable(mode: Mode, what: string): void {
    if (mode === 'pv') {
      throw new HvlabError('NOT_SUPPORTED', `${what} of a pv VM: a pv guest holds machine frame numbers in its own page tables and data, which only the guest can translate (Xen's guest-assisted save/restore); clone and migrate trap-emulate, hvm-shadow or hvm-nested VMs`);
    }
  }

  /** Guest RAM `data` (frames in order) into VM `id`'s frames. */
  private writeGuestFrames(id: number, frames: number, data: Uint8Array): void {
    const map = this.frameMap(id, frames);
    const mem = this.bytes();
    for (let g = 0; g < frames; g++) mem.set(data.subarray(g * 4096, (g + 1) * 4096), this.lin(BigInt(map[g]) << 12n));
  }

  /**
   * Write snapshot `s` into loaded VM `id`, whose frames are not the snapshot's, and move every
   * host address in it to the VM's own frames (hv/life.ts lifeRelocate). Guest RAM is written
   * only if the snapshot has it (a migration wrote it round by round).
   */
  private adopt(vm: Vm, id: number, s: Snapshot): void {
    Host.relocatable(s.mode, 'moving the state');
    if (!this.core.hostVmUnshare()) throw new HvlabError('NO_MEMORY', 'the host pool has no free frame to give this VM in place of a shared one');
    const frames = s.frames;
    const hv = this.area(id, AREA_HV);
    const map = this.frameMap(id, frames);
    const mem = this.bytes();
    // The hypervisor area but the frame map, which stays this VM's own.
    mem.set(s.hv.subarray(frames * 4), this.lin(hv.hpa) + frames * 4);
    if (s.guest) this.writeGuestFrames(id, frames, s.guest);
    if (s.disk.length) mem.set(s.disk, this.lin(this.area(id, AREA_DISK).hpa));
    // Old host frame index -> new host frame number, for the shadow tables' leaves.
    const oldMap = new Uint32Array(s.hv.slice(0, frames * 4).buffer);
    const first = Number(RAM_BASE >> 12n);
    const relocFrames = s.poolFrames;
    const relocPages = Math.ceil(relocFrames * 4 / 4096);
    const reloc = this.core.hostScratchAlloc(BigInt(relocPages));
    if (reloc === 0n) throw new HvlabError('NO_MEMORY', `the host pool has no ${relocPages * 4} KiB run free to relocate the VM's tables`);
    try {
      const table = new Uint32Array(this.memory.buffer, this.lin(reloc), relocFrames);
      for (let g = 0; g < frames; g++) {
        const idx = oldMap[g] - first;
        if (idx < 0 || idx >= relocFrames) throw new HvlabError('BAD_SNAPSHOT', `snapshot's frame map names host frame ${oldMap[g]}, outside its pool`);
        table[idx] = map[g];
      }
      // From here on the core's static data is the snapshot's context until lifeRelocate
      // gives it this host's pool back: nothing else may run in between.
      mem.set(s.context, 0);
      const r = this.core.lifeRelocate(RAM_BASE, BigInt(this.poolMiB) << 20n, BigInt(this.ramHost), s.hvHpa, reloc, BigInt(relocFrames));
      if (r !== 0) {
        throw new HvlabError('BAD_SNAPSHOT', r === RELOC_BAD ? 'not a snapshot this host can use: its context does not describe a VM of its header\'s shape'
          : `the core could not relocate the VM's state (code ${r})`);
      }
    } finally {
      this.core.hostScratchFree(reloc, BigInt(relocPages));
    }
  }

  // ---- dirty logging (assembly/hv/dirty.ts), for live migration (src/migrate.ts) ------------

  /** Start logging the guest frames `vm` writes. */
  dirtyStart(vm: Vm): void {
    this.loadVm(vm, 'dirty logging');
    if (!this.core.dirtyStart()) throw new HvlabError('NO_MEMORY', 'the host pool has no room for a dirty log');
  }

  /** The guest frames written since logging started or the last fetch, ascending; clears the log. */
  dirtyFetch(vm: Vm): number[] {
    this.loadVm(vm, 'dirty logging');
    if (!this.core.dirtyLogging()) throw new HvlabError('NOT_LOGGING', `VM '${this.nameOf(vm)}' is not logging its writes (dirtyStart first)`);
    const n = Number(this.core.dirtyFetch());
    const frames = Number(vm.ramSize / 4096n);
    const bits = this.bytes().subarray(this.core.dirtyGuestBitmap() >>> 0, (this.core.dirtyGuestBitmap() >>> 0) + Math.ceil(frames / 8));
    const out: number[] = [];
    for (let g = 0; g < frames; g++) if (bits[g >> 3] & (1 << (g & 7))) out.push(g);
    if (out.length !== n) throw new Error(`dirty log: the core counted ${n} frames, its bitmap holds ${out.length}`);
    return out;
  }

  /** Stop logging `vm`'s writes (its log's frames go back to the pool). */
  dirtyStop(vm: Vm): void {
    this.loadVm(vm, 'dirty logging');
    this.core.dirtyStop();
  }

  /**
   * The migration target's last step (src/migrate.ts): the final state (a snapshot without
   * RAM, whose frames were sent round by round) goes into `vm`, relocated to its frames.
   */
  applyMigrated(vm: Vm, state: Uint8Array): void {
    const s = this.parse(state);
    const id = this.loadVm(vm, 'migration');
    this.fits(vm, s, id);
    this.adopt(vm, id, s);
    vm.lifeLoad(s.extras);
  }
}

// Snapshot format (docs/multi-vm.md "Lifecycle"): a header of u64 fields, then the parts.
const HEADER_BYTES = 128;
const SNAP_MAGIC = 0x3153_4D56_4C42_5648n; // "HVBLVMS1" little-endian
const SNAP_VERSION = 1n;
const AREA_HV = 1;
const AREA_PV_POOL = 4;
const AREA_DISK = 2;
/** hv/life.ts RELOC_BAD. */
const RELOC_BAD = 3;

interface Snapshot {
  mode: Mode; frames: number; poolFrames: number; hvHpa: bigint; nonce: number; id: number; diskHpa: bigint;
  context: Uint8Array; hv: Uint8Array; guest?: Uint8Array; disk: Uint8Array;
  config: VmConfig; name?: string; extras: LifeExtras;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const vmNames = new WeakMap<Vm, string>();
