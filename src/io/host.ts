/**
 * The `host` backend (DESIGN.md "I/O paths"): the device models in TypeScript on the Vm's own
 * thread. A QueueNotify to a host slot stops the core (STOP_HOST, hostExitKind 1): a heavy
 * exit, as KVM exits to QEMU. The Vm then calls notify(slot, queue), which serves the queue
 * at once while the vCPU is stopped, and resumes the core. The guest sees the same device as
 * the core backend's, byte for byte, including avail_event (it asks for every notification).
 */
import { ByteRing, CONSOLE_RECEIVEQ, type ConsoleOut } from './console.js';
import { Engine } from './engine.js';
import { SLOT_COUNT, VIRTIO_ID_CONSOLE, type CoreLayout, type IoCoreExports } from './layout.js';
import { quiesceWith, type IoBackend } from './types.js';

/** Room kept free in the TX ring for the UART and SBI console, as the core's vconsole.ts does. */
const TX_MARGIN = 256;
/**
 * The most transmit bytes kept waiting beyond the TX ring (docs/io.md "Bounds"). A chain may
 * describe up to 4 GiB (2.7.5.2), its descriptors pointing at the same pages again and again;
 * past this the rest of such a burst is dropped (and counted) rather than copied.
 */
export const OVERFLOW_MAX = 8 << 20;

/**
 * Console output: appended to the core's TX ring, which the Vm drains after run() returns.
 * The core is stopped while the host backend runs, so there is no race. A transmit buffer
 * larger than the ring's free space does not block the guest: the rest waits in `overflow`,
 * which goes into the ring first at the next notification, and drainOutput() hands it over
 * (after the ring's bytes: the Vm drains the ring first, so the order is kept).
 */
class HostConsoleOut implements ConsoleOut {
  overflow: Uint8Array[] = [];
  private waiting = 0;
  /** Bytes dropped because OVERFLOW_MAX were already waiting. */
  dropped = 0;
  constructor(private readonly ring: ByteRing) {}
  private put(src: Uint8Array, start: number, end: number): number {
    const room = this.ring.free() - TX_MARGIN;
    return room <= 0 ? 0 : this.ring.put(src, start, Math.min(end, start + room));
  }
  write(src: Uint8Array, start: number, end: number): void {
    let s = start;
    if (this.overflow.length === 0) s += this.put(src, s, end);
    if (s >= end) return;
    const keep = Math.min(end - s, OVERFLOW_MAX - this.waiting);
    if (keep > 0) { this.overflow.push(src.slice(s, s + keep)); this.waiting += keep; }
    this.dropped += end - s - Math.max(0, keep);
  }
  /** Move waiting overflow into the ring, as much as fits. */
  flush(): void {
    while (this.overflow.length > 0) {
      const b = this.overflow[0];
      const k = this.put(b, 0, b.length);
      this.waiting -= k;
      if (k < b.length) { this.overflow[0] = b.slice(k); return; }
      this.overflow.shift();
    }
  }
  take(): Uint8Array | null {
    if (this.overflow.length === 0) return null;
    const total = this.overflow.reduce((a, b) => a + b.length, 0);
    const all = new Uint8Array(total);
    let at = 0;
    for (const b of this.overflow) { all.set(b, at); at += b.length; }
    this.overflow = [];
    this.waiting = 0;
    return all;
  }
}

export class HostBackend implements IoBackend {
  readonly kind = 'host' as const;
  private readonly engine: Engine;
  private readonly out: HostConsoleOut;

  constructor(memory: WebAssembly.Memory, layout: CoreLayout, private readonly exports: IoCoreExports) {
    let out: HostConsoleOut | undefined;
    const sink: ConsoleOut = { write: (s, a, b) => out!.write(s, a, b) };
    this.engine = new Engine(memory, layout, 'host', sink);
    out = new HostConsoleOut(new ByteRing(this.engine.mem, layout.txRing, layout.txSize));
    this.out = out;
    this.engine.reset();
  }

  /** The guest wrote QueueNotify of a host slot (4.2.3.3): serve that queue now. A console's
   * receive queue is served too, for input that came while it had no buffers. */
  notify(slot: number, queue: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= SLOT_COUNT || !Number.isInteger(queue)) return;
    const e = this.engine;
    // VIRTIO_HOST_NOTIFIES is the core's: it counts the notification when it stops for it.
    e.mem.refresh();
    e.guest.reload();
    this.out.flush();
    e.serveQueue(slot, queue);
    if (queue !== CONSOLE_RECEIVEQ && e.deviceId(slot) === VIRTIO_ID_CONSOLE) e.serveQueue(slot, CONSOLE_RECEIVEQ);
  }

  /** Input was put in the core's RX ring: deliver it to host consoles' receive buffers. The
   * Vm calls this while the core is stopped, as it does notify(). */
  serviceInput(): void {
    const e = this.engine;
    e.mem.refresh();
    e.guest.reload();
    for (let n = 0; n < SLOT_COUNT; n++) {
      if (e.deviceId(n) === VIRTIO_ID_CONSOLE) e.serveQueue(n, CONSOLE_RECEIVEQ);
    }
  }

  /** VM reset: guest memory described afresh (the VM was re-created), the generator reseeded. */
  reset(): void {
    this.exports.guestMapPtr();
    this.engine.setDisk(this.exports.diskPtr() >>> 0, Number(this.exports.diskBytes()));
    this.engine.reset();
  }
  /** Serving happens only inside run(): nothing to keep out while the Vm rewrites memory. */
  pause(): void { /* nothing runs apart from the Vm */ }
  /** A snapshot was restored: guest memory is reread at every notification anyway. */
  resume(): void { this.engine.guest.reload(); }
  /** The host backend serves synchronously: never anything in flight. */
  busy(): boolean { return false; }
  progress(): number { return 0; }
  waitIdle(): boolean { return true; }
  drainOutput(): Uint8Array | null { return this.out.take(); }
  rngState(): bigint { return this.engine.rng.state; }
  setRngState(x: bigint): void { this.engine.rng.state = x; }
  /** Nothing runs beside the Vm's thread; a restore inside `fn` is followed by resume(). */
  quiesce<T>(fn: () => T): T { return quiesceWith(this, fn); }
  async close(): Promise<void> { /* nothing runs apart from the Vm */ }
}
