/**
 * The `offload` backend, main side (DESIGN.md "I/O paths", the Nitro idea): the device models
 * run on another worker over the shared guest memory (worker-loop.ts), polling the rings with
 * notifications suppressed, so the guest makes no exit per request and a completion raises the
 * interrupt without stopping the vCPU. The Vm talks to the worker only through shared memory:
 * the control block and the output ring (offload-shared.ts).
 */
import { ByteRing } from './console.js';
import { Engine } from './engine.js';
import { SLOT_COUNT, type CoreLayout, type IoCoreExports } from './layout.js';
import { CTRL_DELAY_AT, CTRL_DELAY_MS, CTRL_DISK_BYTES, CTRL_DISK_LIN, CTRL_FAILED, CTRL_HOLDING, CTRL_PASSES, CTRL_PAUSE,
  CTRL_RESEED, CTRL_RESET_ACK, CTRL_RESET_REQ, CTRL_RNG_HI, CTRL_RNG_LO, CTRL_RNG_SET, CTRL_STOP, CTRL_WORDS, OUT_SIZE,
  type OffloadInit, type OffloadReply } from './offload-shared.js';
import { quiesceWith, type IoBackend } from './types.js';

/** A started worker, whichever kind the environment has. */
export interface WorkerHandle {
  post(m: OffloadInit): void;
  onReply(f: (m: OffloadReply) => void): void;
  /** Resolves when the worker has ended (Node), or after terminating it (browser). */
  stop(): Promise<void>;
}

/** Atomics.wait where the thread may block; elsewhere (a page's main thread) a short spin. */
function waitOn(a: Int32Array, i: number, v: number, ms: number): void {
  try {
    Atomics.wait(a, i, v, ms);
  } catch {
    const end = performance.now() + Math.min(ms, 1);
    while (Atomics.load(a, i) === v && performance.now() < end) { /* spin */ }
  }
}

export class OffloadBackend implements IoBackend {
  readonly kind = 'offload' as const;
  private readonly control = new SharedArrayBuffer(CTRL_WORDS * 4);
  private readonly ctrl = new Int32Array(this.control);
  private readonly output = new SharedArrayBuffer(8 + OUT_SIZE);
  private readonly out = new ByteRing({ i32: new Int32Array(this.output), u8: new Uint8Array(this.output) }, 0, OUT_SIZE);
  /** A main-side view of the same records, to answer busy() without asking the worker. */
  private readonly view: Engine;
  private failure?: string;
  private closed = false;
  /** Output taken from the ring while waiting for the worker (request()), for drainOutput(). */
  private held: Uint8Array[] = [];

  private constructor(memory: WebAssembly.Memory, private readonly layout: CoreLayout,
    private readonly exports: IoCoreExports, private readonly worker: WorkerHandle) {
    this.view = new Engine(memory, layout, 'offload', { write() { /* the view never serves */ } });
  }

  static async start(memory: WebAssembly.Memory, layout: CoreLayout, exports: IoCoreExports,
    worker: WorkerHandle): Promise<OffloadBackend> {
    const b = new OffloadBackend(memory, layout, exports, worker);
    await new Promise<void>((resolve, reject) => {
      worker.onReply((m) => {
        if ('ready' in m) resolve();
        else { b.failure = m.error; reject(new Error(`hvlab offload worker failed: ${m.error}`)); }
      });
      worker.post({ memory, layout, control: b.control, output: b.output });
    });
    return b;
  }

  private check(): void {
    if (this.failure !== undefined || Atomics.load(this.ctrl, CTRL_FAILED) !== 0) {
      throw new Error(`hvlab offload worker failed: ${this.failure ?? 'see its message'}`);
    }
  }

  private wake(): void { Atomics.notify(this.view.mem.i32, this.layout.doorbell >>> 2); }

  /** The worker polls; a notification needs nothing from the Vm (the core rang the doorbell). */
  notify(): void { /* polled */ }
  serviceInput(): void { this.wake(); }

  /**
   * Before the Vm rewrites guest memory or the core's records (a VM reset clears RAM and
   * re-creates the VM; a snapshot restore overwrites everything): wait until the worker is
   * between passes and keeps out. Without it a pass under way when the Vm began would go on
   * with the old state and write used entries, interrupt bits and generator bytes into the new
   * one, or read a record half restored. reset() or resume() lets it serve again.
   */
  pause(): void {
    this.check();
    Atomics.store(this.ctrl, CTRL_PAUSE, 1);
    this.request();
  }

  /** VM reset: guest memory is described afresh (the VM was re-created) and the worker
   * rereads it and reseeds its generator before its next pass; wait for it so that no request
   * of the new run is served with the old state. Ends a pause. */
  reset(): void { this.restart(true); }

  /** End a pause without a VM reset (a snapshot was restored): guest memory is reread, the
   * generator goes on. */
  resume(): void { this.restart(false); }

  private restart(reseed: boolean): void {
    this.check();
    this.exports.guestMapPtr();
    Atomics.store(this.ctrl, CTRL_DISK_LIN, this.exports.diskPtr() | 0);
    Atomics.store(this.ctrl, CTRL_DISK_BYTES, Number(this.exports.diskBytes()) | 0);
    Atomics.store(this.ctrl, CTRL_RESEED, reseed ? 1 : 0);
    Atomics.store(this.ctrl, CTRL_PAUSE, 0);
    this.request();
  }

  /** Post a request (the words above are stored before RESET_REQ moves) and wait until the
   * worker has acted on it between two passes. */
  private request(): void {
    const req = Atomics.add(this.ctrl, CTRL_RESET_REQ, 1) + 1;
    this.wake();
    Atomics.notify(this.ctrl, CTRL_RESET_REQ); // a paused worker sleeps on it
    const end = Date.now() + 5000;
    while (Atomics.load(this.ctrl, CTRL_RESET_ACK) !== req) {
      if (Date.now() > end) throw new Error('hvlab offload worker did not answer a reset in 5 s');
      this.check();
      // A worker inside a pass may be waiting for room in a full output ring (worker-loop.ts
      // OffloadConsoleOut): it can reach the acknowledgement only once the ring is drained.
      const out = this.takeRing();
      if (out) this.held.push(out);
      waitOn(this.ctrl, CTRL_RESET_ACK, Atomics.load(this.ctrl, CTRL_RESET_ACK), 10);
    }
  }

  /**
   * Whether requests the guest made available are not finished. Pending work is read first,
   * HOLDING second: a chain the worker takes after the first read was either made available
   * after it (new work, not ours to report) or was pending at it; a chain taken before it and
   * not finished, which may no longer look pending, is caught by the second (worker-loop.ts).
   * The other order let a pass start between the two reads, take a receive chain's input and
   * be missed by both.
   */
  busy(): boolean {
    this.view.mem.refresh();
    for (let n = 0; n < SLOT_COUNT; n++) if (this.view.pending(n)) return true;
    return Atomics.load(this.ctrl, CTRL_HOLDING) !== 0;
  }

  /** Test hook: make the worker sleep `ms` at point `at` (offload-shared.ts DELAY_*), 0 to stop. */
  testDelay(at: number, ms: number): void {
    Atomics.store(this.ctrl, CTRL_DELAY_MS, ms);
    Atomics.store(this.ctrl, CTRL_DELAY_AT, at);
  }

  progress(): number { return Atomics.load(this.ctrl, CTRL_PASSES); }

  waitIdle(timeoutMs: number): boolean {
    const end = Date.now() + timeoutMs;
    this.wake();
    for (;;) {
      this.check();
      const seq = Atomics.load(this.ctrl, CTRL_PASSES);
      if (!this.busy()) return true;
      const left = end - Date.now();
      if (left <= 0) return false;
      waitOn(this.ctrl, CTRL_PASSES, seq, Math.min(left, 5));
    }
  }

  /** What the worker published after its last pass (call with it idle: waitIdle). */
  rngState(): bigint {
    return (BigInt(Atomics.load(this.ctrl, CTRL_RNG_HI) >>> 0) << 32n) | BigInt(Atomics.load(this.ctrl, CTRL_RNG_LO) >>> 0);
  }

  /** The worker takes it before its next pass. */
  setRngState(x: bigint): void {
    Atomics.store(this.ctrl, CTRL_RNG_LO, Number(x & 0xFFFF_FFFFn) | 0);
    Atomics.store(this.ctrl, CTRL_RNG_HI, Number((x >> 32n) & 0xFFFF_FFFFn) | 0);
    Atomics.store(this.ctrl, CTRL_RNG_SET, 1);
  }

  /** Hold the worker between two passes while `fn` runs: no pass reads or writes the rings. A
   * generator state set meanwhile (setRngState) is taken by the worker when it resumes. */
  quiesce<T>(fn: () => T): T { return quiesceWith(this, fn); }

  drainOutput(): Uint8Array | null {
    const ring = this.takeRing();
    if (this.held.length === 0) return ring;
    if (ring) this.held.push(ring);
    const bytes = new Uint8Array(this.held.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of this.held) { bytes.set(b, at); at += b.length; }
    this.held = [];
    return bytes;
  }

  private takeRing(): Uint8Array | null {
    const n = this.out.available();
    if (n === 0) return null;
    const bytes = new Uint8Array(n);
    let at = 0;
    this.out.take(n, (src, s, e) => { bytes.set(src.subarray(s, e), at); at += e - s; });
    Atomics.notify(new Int32Array(this.output), 1); // a worker waiting for room (tail word)
    return bytes;
  }

  /** Stop the worker. It is paused first, so that a pass under way ends whole (its used
   * entries, interrupts and counters written): a Web Worker is terminated, not joined. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try { this.pause(); } catch { /* a failed or stuck worker is stopped all the same */ }
    Atomics.store(this.ctrl, CTRL_STOP, 1);
    this.wake();
    Atomics.notify(new Int32Array(this.output), 1);
    await this.worker.stop();
  }
}
