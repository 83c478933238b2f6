/**
 * Runs one VM in time slices for the web console's worker (src/web/worker.ts), answering the
 * page's messages (src/web/protocol.ts) between slices. Environment-neutral, so the Node
 * tests can drive it too.
 *
 * One slice runs the core for about BUSY_MS of wall time, in calls of SLICE instructions,
 * then returns to the event loop: a pause, reset or keystroke waits at most that long, even
 * when the guest loops forever. Console output is posted once per slice and counters at most
 * every STATS_MS. When the guest sleeps in WFI, the deterministic clock would let it skip
 * ahead at once; instead the runner sleeps the equivalent wall time first (capped), so a shell
 * waiting at its prompt costs no CPU and `sleep 1000` takes about a second.
 */
import { ioPathConfig, IO_PATHS, Vm, type BootImages, type IoPath, type VmConfig, type StopInfo } from '../vm.js';
import { Stop, type Instantiate } from '../core.js';
import { HvlabError } from '../errors.js';
import { haltMessage, SliceLoop } from './slice-loop.js';
import { memoryMap, traceWalk, vmprint } from '../walk-trace.js';
import { DISK_MIB, EXIT_TRACE_LENGTH, KEPT_DISK_FILE, UPLOAD_DISK_MAX_MIB, type BootConfig, type FromWorker, type RunState,
  type WalkReply, type WalkRequest, type ToWorker } from './protocol.js';
import { Counter } from '../../assembly/counter-ids.js';
import { encodeSnapshot, layoutMismatch, readSnapshotHeader, readSnapshotState, sha256Hex, SNAPSHOT_CONSOLE_CHARS,
  SNAPSHOT_FILE, type SnapshotLayout } from './snapshot-file.js';

/**
 * Where a kept disk is stored (the browser's origin-private file system; src/web/opfs.ts):
 * load returns the saved image or undefined, save replaces it. Absent in Node.
 */
export interface DiskStore {
  load(name: string): Promise<Uint8Array | undefined>;
  save(name: string, bytes: Uint8Array): Promise<void>;
}

/** How often a kept disk the guest has written is saved, at most. */
const DISK_SAVE_MS = 2000;

export interface RunnerTiming {
  /** Instructions per call of vm.run(). */
  sliceInstructions: number;
  /** Wall time of one slice before the runner yields to the event loop. */
  busyMs: number;
  /** Least interval between two stats messages (about ten a second). */
  statsMs: number;
  /** The longest real-time wait for one timer event of the deterministic clock. */
  idleCapMs: number;
}

export const DEFAULT_TIMING: RunnerTiming = { sliceInstructions: 2_000_000, busyMs: 30, statsMs: 100, idleCapMs: 1000 };

/** mtime runs at 10 MHz: ticks per millisecond. */
const TICKS_PER_MS = 10_000;

export class VmRunner extends SliceLoop<RunState, FromWorker> {
  private vm?: Vm;
  private config?: BootConfig;
  /** What was booted (the kernel, and an initrd for Linux), for Reset and a guest's reboot. */
  private images?: BootImages;
  private halted = false;
  private out = '';
  private cols = 80;
  private rows = 24;
  /** A kept disk: the disk-writing counters at the last save, and when it was. */
  private diskWrites = 0n;
  private diskSavedAt = 0;

  constructor(post: (m: FromWorker) => void, private readonly instantiate: Instantiate,
    private readonly timing: RunnerTiming = DEFAULT_TIMING, private readonly diskStore?: DiskStore) {
    super(post, 'booting');
  }

  handle(msg: ToWorker): void {
    switch (msg.type) {
      case 'boot':
        void this.boot(msg.module, msg.config, { kernel: msg.image, kernelName: msg.imageName, initrd: msg.initrd, initrdName: msg.initrdName });
        break;
      case 'input':
        if (!this.vm) return;
        this.vm.sendInput(msg.data);
        this.wakeUp();
        break;
      case 'pause': this.pause(this.vm !== undefined && !this.halted); break;
      case 'resume': this.resume(this.vm !== undefined); break;
      case 'reset': this.reset(); break;
      case 'ping':
        this.postStats();
        this.post({ type: 'pong', id: msg.id });
        break;
      case 'console-ack':
        this.consoleAck(msg.chars);
        break;
      case 'resize':
        this.cols = msg.cols;
        this.rows = msg.rows;
        this.vm?.resizeConsole(msg.cols, msg.rows);
        break;
      case 'walk':
        this.post(answerWalk(this.vm, msg));
        break;
      case 'snapshot': void this.snapshot(msg.id, msg.console, msg.store); break;
      case 'restore': void this.restore(msg); break;
      case 'load-stored':
        void (this.diskStore?.load(SNAPSHOT_FILE) ?? Promise.resolve(undefined)).catch(() => undefined)
          .then((file) => this.post({ type: 'stored', id: msg.id, file }));
        break;
      case 'get-disk': {
        const disk = this.vm?.disk();
        this.post({ type: 'disk', id: msg.id, bytes: disk?.slice() });
        break;
      }
    }
  }

  /** What a snapshot of `vm` must match to be restored into it (snapshot-file.ts SnapshotLayout). */
  private static layout(vm: Vm, stateBytes: number): SnapshotLayout {
    return { stateBytes, counterCount: Counter.COUNT, chunkStatePtr: vm.snapshotScratch().offset };
  }

  /**
   * The machine as a file. Taken here, between two slices (messages are handled only while the
   * loop waits), so no instruction is half done; the VM runs on afterwards.
   */
  private async snapshot(id: number, consoleText: string, store: boolean): Promise<void> {
    const vm = this.vm;
    const config = this.config;
    const images = this.images;
    if (!vm || !config || !images) { this.post({ type: 'snapshot', id, error: 'no VM is running' }); return; }
    try {
      const state = vm.snapshot();
      // The console text the snapshot drained (vm.snapshot takes it out of the core) goes to the page first.
      this.flushConsole();
      const { diskImage: _upload, ...settings } = config;
      const file = await encodeSnapshot({
        config: settings, imageName: images.kernelName ?? 'image', imageSha256: await sha256Hex(images.kernel ?? new Uint8Array()),
        diskBytes: vm.disk()?.length,
        initrdName: images.initrd ? images.initrdName : undefined, initrdSha256: images.initrd ? await sha256Hex(images.initrd) : undefined,
        layout: VmRunner.layout(vm, state.length), instructions: vm.instructions.toString(),
        console: consoleText.slice(-SNAPSHOT_CONSOLE_CHARS),
      }, state);
      if (store && this.diskStore) await this.diskStore.save(SNAPSHOT_FILE, file);
      this.post({ type: 'snapshot', id, file });
    } catch (e) {
      this.post({ type: 'snapshot', id, error: e instanceof Error ? e.message : String(e) });
    }
  }

  /**
   * Replace the VM by a snapshot's machine. The new VM is made and restored before the old one is
   * dropped, so a file that turns out bad (truncated state, another core, other images) leaves
   * the running VM as it was, with a one-line message.
   */
  private async restore(msg: Extract<ToWorker, { type: 'restore' }>): Promise<void> {
    const name = msg.fileName;
    let vm: Vm | undefined;
    try {
      const header = readSnapshotHeader(msg.file, name);
      if (await sha256Hex(msg.image) !== header.imageSha256
        || (header.initrdSha256 !== undefined && (!msg.initrd || await sha256Hex(msg.initrd) !== header.initrdSha256))) {
        throw new HvlabError('BAD_SNAPSHOT', `${name}: made with image ${header.imageName}, not the one given to restore it with`);
      }
      const config = header.config;
      const io = (config.io ?? 'emulated') as IoPath;
      if (!(IO_PATHS as readonly string[]).includes(io)) throw new HvlabError('BAD_SNAPSHOT', `${name}: unknown I/O path '${io}'`);
      // The disk's bytes come with the state; the VM needs one of the same size to put them in.
      const disk = header.diskBytes;
      vm = await Vm.create({
        memMiB: config.memMiB, clock: config.clock, firmware: 'builtin', mode: config.mode as VmConfig['mode'],
        bootargs: config.bootargs, ...ioPathConfig(io, disk),
      }, { module: msg.module, instantiate: this.instantiate });
      const images: BootImages = { kernel: msg.image, kernelName: msg.imageName, initrd: msg.initrd, initrdName: msg.initrdName };
      vm.boot(images);
      const here = VmRunner.layout(vm, vm.snapshot().length);
      const mismatch = layoutMismatch(header, here, name);
      if (mismatch) throw new HvlabError('BAD_SNAPSHOT', mismatch);
      vm.restore(await readSnapshotState(msg.file, name, here.stateBytes));
      vm.readConsole();
      vm.resizeConsole(this.cols, this.rows);
      // The restored machine replaces the one that ran.
      const old = this.vm;
      if (old) { await this.saveDisk(true).catch(() => undefined); void old.close(); }
      this.gen++;
      this.wakeUp();
      this.paused = false;
      this.halted = false;
      this.out = '';
      vm.onConsole = (text) => { this.out += text; };
      this.unacked = 0;
      this.vm = vm;
      this.config = config;
      this.images = images;
      this.diskWrites = 0n;
      this.lastStats = -Infinity;
      this.post({ type: 'restored', id: msg.id, header });
      this.startLoop();
    } catch (e) {
      await vm?.close();
      this.post({ type: 'restore-error', id: msg.id, message: e instanceof Error ? e.message : String(e) });
    }
  }

  /** The VM's disk as the page asked for it: none, blank, or the kept one from OPFS. */
  private async diskFor(config: BootConfig): Promise<Uint8Array | number | undefined> {
    const bytes = DISK_MIB << 20;
    if (config.diskImage) {
      const image = config.diskImage;
      if (image.length > UPLOAD_DISK_MAX_MIB << 20) throw new HvlabError('BAD_DISK', `the disk image is ${image.length} bytes; the page takes at most ${UPLOAD_DISK_MAX_MIB} MiB`);
      // Whole 512-byte sectors (virtio-blk 5.2.4, emudisk), and never smaller than the page's disk.
      const disk = new Uint8Array(Math.max(bytes, Math.ceil(image.length / 512) * 512));
      disk.set(image);
      return disk;
    }
    if (config.disk === 'memory') return bytes;
    if (config.disk !== 'keep') return undefined;
    if (!this.diskStore) throw new HvlabError('NO_OPFS', 'keeping the disk needs the browser\'s origin-private file system, which this browser does not offer');
    const saved = await this.diskStore.load(KEPT_DISK_FILE);
    return saved && saved.length === bytes ? saved : bytes;
  }

  /** Save a kept disk if the guest may have written it since the last save (`force`: now). */
  private async saveDisk(force: boolean): Promise<void> {
    const vm = this.vm;
    if (!vm || this.config?.disk !== 'keep' || !this.diskStore) return;
    const c = vm.counters();
    const writes = (c.VIRTIO_BLK_REQUESTS ?? 0n) + (c.EMUDISK_COMMANDS ?? 0n);
    if (writes === this.diskWrites) return;
    if (!force && performance.now() - this.diskSavedAt < DISK_SAVE_MS) return;
    this.diskWrites = writes;
    this.diskSavedAt = performance.now();
    const disk = vm.disk();
    if (disk) await this.diskStore.save(KEPT_DISK_FILE, disk.slice());
  }

  private async boot(module: WebAssembly.Module, config: BootConfig, images: BootImages): Promise<void> {
    const imageName = images.kernelName ?? 'image';
    const gen = ++this.gen;
    this.wakeUp();
    // The previous VM: its kept disk saved, its offload worker stopped.
    const old = this.vm;
    if (old) {
      await this.saveDisk(true).catch(() => undefined);
      void old.close();
    }
    this.vm = undefined;
    this.paused = false;
    this.halted = false;
    this.out = '';
    this.setState('booting');
    let vm: Vm;
    try {
      // hvos and Linux are kernels: they run on the builtin SBI natively, and every VM mode needs it anyway.
      const io = (config.io ?? 'emulated') as IoPath;
      if (!(IO_PATHS as readonly string[]).includes(io)) throw new HvlabError('BAD_IO', `unknown I/O path '${io}'`);
      const vmConfig: VmConfig = {
        memMiB: config.memMiB, clock: config.clock, firmware: 'builtin', mode: config.mode as VmConfig['mode'],
        bootargs: config.bootargs, ...ioPathConfig(io, await this.diskFor(config)),
      };
      vm = await Vm.create(vmConfig, { module, instantiate: this.instantiate });
      vm.resizeConsole(this.cols, this.rows);
      this.diskWrites = 0n;
      if (gen !== this.gen) return;
      const plan = vm.boot(images);
      this.post({ type: 'booted', imageName, entry: `0x${plan.kernelEntry.toString(16)}`, memMiB: config.memMiB });
    } catch (e) {
      if (gen !== this.gen) return;
      const code = e instanceof HvlabError ? e.code : 'INTERNAL';
      const message = e instanceof Error ? e.message : String(e);
      this.post({ type: 'boot-error', code, message });
      this.setState('error', message);
      return;
    }
    vm.onConsole = (text) => { this.out += text; };
    this.unacked = 0;
    this.vm = vm;
    this.config = config;
    this.images = images;
    this.lastStats = -Infinity;
    this.startLoop();
  }

  private reset(): void {
    if (!this.vm || !this.images) { this.answer(); return; }
    this.gen++;
    this.wakeUp();
    this.flushConsole();
    this.vm.boot(this.images);
    this.halted = false;
    this.paused = false;
    this.postStats();
    this.startLoop();
  }

  protected onLoopError(): void { this.halted = true; }

  protected async loop(gen: number): Promise<void> {
    const vm = this.vm!;
    const { sliceInstructions, busyMs } = this.timing;
    while (gen === this.gen) {
      const t0 = performance.now();
      let idle = false;
      let stop: StopInfo | undefined;
      do {
        const r = vm.run(sliceInstructions);
        if (r.info) { stop = r.info; break; }
        if (r.stop === Stop.Idle) { idle = true; break; }
      } while (performance.now() - t0 < busyMs);
      this.flushConsole();
      await this.saveDisk(stop !== undefined);
      if (stop) { this.onHalt(stop); return; }
      // The page has not shown what was sent: wait for it (flow control, CONSOLE_WINDOW).
      await this.waitForConsoleAck(gen, this.timing.statsMs);
      if (gen !== this.gen) return;
      this.setState(idle ? 'idle' : 'running');
      if (performance.now() - this.lastStats >= this.timing.statsMs) this.postStats();
      if (idle) await this.idleWait(vm, gen);
      else await this.yieldTask();
    }
  }

  /**
   * The guest sleeps in WFI. Wait for input, or until its next timer event in wall-clock
   * terms (capped); then, under the deterministic clock, skip guest time to that event.
   * Stats keep flowing while it waits.
   */
  private async idleWait(vm: Vm, gen: number): Promise<void> {
    if (vm.inputPending > 0) return this.yieldTask();
    // The guest may be waiting for the offload worker, not for time: give it a moment.
    if (vm.ioBusy()) { vm.ioWait(5); return this.yieldTask(); }
    const ticks = vm.ticksToNextTimer();
    const deterministic = this.config?.clock !== 'wall';
    const ms = ticks === undefined ? Infinity
      : Math.max(deterministic ? 0 : 1, Math.min(Number(ticks) / TICKS_PER_MS, this.timing.idleCapMs));
    const deadline = performance.now() + ms;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      const woken = await this.sleep(Math.min(left, this.timing.statsMs));
      if (woken || gen !== this.gen) return;
      this.postStats();
    }
    if (deterministic && gen === this.gen) vm.idleSkip();
    else await this.yieldTask();
  }

  private onHalt(info: StopInfo): void {
    if (info.reason === 'reset') {
      // The guest asked for a reset (SBI SRST reboot): boot the image again.
      this.reset();
      return;
    }
    this.halted = true;
    this.setState('halted', haltMessage(info));
    this.postStats();
  }

  protected flushConsole(): void {
    if (this.out === '') return;
    this.post({ type: 'console', text: this.out });
    this.unacked += this.out.length;
    this.out = '';
  }

  protected postStats(): void {
    const vm = this.vm;
    if (!vm) return;
    this.lastStats = performance.now();
    this.post({
      type: 'stats', t: this.lastStats, state: this.state, instructions: vm.instructions,
      mtime: vm.mtime, runSeconds: vm.wallTime, counters: vm.counters(),
      ...(this.config && this.config.mode !== 'native' ? { exitLog: vm.exitLog(EXIT_TRACE_LENGTH) } : {}),
      waitingForInput: this.state === 'idle' && vm.inputPending === 0 && !vm.ioBusy() && vm.ticksToNextTimer() === undefined,
    });
  }
}

/**
 * The page-walk visualizer's request, answered from the VM as it stands (between two chunks,
 * or paused): nothing it reads is changed (src/walk-trace.ts).
 */
export function answerWalk(vm: Vm | undefined, msg: WalkRequest): WalkReply {
  if (!vm) return { type: 'walk', id: msg.id, error: 'no VM is running' };
  try {
    return {
      type: 'walk', id: msg.id, trace: traceWalk(vm, msg.va, msg.kind),
      ...(msg.vmprint ? { vmprint: vmprint(vm, { which: msg.shadow ? 'shadow' : 'guest', limit: 2048 }) } : {}),
      ...(msg.map ? { map: memoryMap(vm) } : {}),
    };
  } catch (e) {
    return { type: 'walk', id: msg.id, error: e instanceof Error ? e.message : String(e) };
  }
}
