/**
 * Serving a slot's queues outside the core: the part of assembly/virtio/mmio.ts's `notify` that
 * the host and offload backends share, written once and environment-neutral (the host backend
 * runs it on the Vm's thread, the offload worker on its own).
 *
 * A slot is served only when it is live: FEATURES_OK and DRIVER_OK set, neither FAILED nor
 * DEVICE_NEEDS_RESET (3.1.1, 2.1.2), and only if its backend field names this backend. Queue
 * state is the core's queue record, read afresh each time: when the driver resets the device
 * (status 0) the core clears the records, so there are no cursors of ours to drop. On a queue
 * error the slot gets DEVICE_NEEDS_RESET, a configuration change interrupt if DRIVER_OK (2.1.2),
 * and VIRTIO_RESETS counts it; nothing more is served until the driver resets the device.
 *
 * status and interruptStatus are shared with the core (and, for offload, with a running
 * vCPU): they are changed only with Atomics.or.
 */
import { blkChain, type Disk } from './blk.js';
import { ByteRing, CONSOLE_RECEIVEQ, CONSOLE_TRANSMITQ, consoleInputReady, consoleRxChain,
  consoleTxChain, type ConsoleOut } from './console.js';
import {
  BACKEND_HOST, BACKEND_OFFLOAD, CounterId, INT_CONFIG_CHANGE, INT_USED_BUFFER, SLOT_BACKEND,
  SLOT_DEVICE_ID, SLOT_INTERRUPT_STATUS, SLOT_STATUS, STATUS_DEVICE_NEEDS_RESET, STATUS_DRIVER_OK,
  STATUS_FAILED, STATUS_FEATURES_OK, VIRTIO_ID_BLOCK, VIRTIO_ID_CONSOLE, VIRTIO_ID_RNG, type CoreLayout,
} from './layout.js';
import { CoreMemory, GuestMemory } from './memory.js';
import { availPending, Chain, QueueError, readVq, saveCursors, vqNeedsInterrupt, vqPop, vqPush,
  vqSetAvailEvent, vqSuppressNotify, type Vq } from './queue.js';
import { rngChain, Xorshift64Star } from './rng.js';

export type BackendKind = 'host' | 'offload';

/** Queues a device has (4.2.2.1: QueueNumMax of any other reads 0). */
export function queueCount(deviceId: number): number {
  switch (deviceId) {
    case VIRTIO_ID_RNG: case VIRTIO_ID_BLOCK: return 1;
    case VIRTIO_ID_CONSOLE: return 2;
    default: return 0;
  }
}

const LIVE_MASK = STATUS_FEATURES_OK | STATUS_DRIVER_OK | STATUS_DEVICE_NEEDS_RESET | STATUS_FAILED;
const LIVE = STATUS_FEATURES_OK | STATUS_DRIVER_OK;

/** What serving a queue did. */
export interface Served { chains: number; error: QueueError }

export class Engine {
  readonly mem: CoreMemory;
  readonly guest: GuestMemory;
  readonly rng = new Xorshift64Star();
  readonly rx: ByteRing;
  private readonly chain = new Chain();
  private readonly backend: number;
  private disk: Disk;
  /**
   * Offload worker only (worker-loop.ts): called before a chain is taken from an avail ring
   * (and before an AVAIL_JUMP turns into DEVICE_NEEDS_RESET), i.e. before the Vm's view of
   * the rings may stop showing the work as pending; and after a chain's device work, before
   * its used entry (the test hook's delay point).
   */
  onTake?: () => void;
  onServed?: () => void;

  constructor(memory: WebAssembly.Memory, readonly layout: CoreLayout, readonly kind: BackendKind,
    private readonly out: ConsoleOut) {
    this.mem = new CoreMemory(memory);
    this.guest = new GuestMemory(this.mem, layout.guestMap);
    this.rx = new ByteRing(this.mem, layout.rxRing, layout.rxSize);
    this.backend = kind === 'host' ? BACKEND_HOST : BACKEND_OFFLOAD;
    this.disk = { lin: layout.disk, bytes: layout.diskBytes };
  }

  /** Where the disk image is (it is placed when the VM is created). */
  setDisk(lin: number, bytes: number): void { this.disk = { lin, bytes }; }

  /** VM reset: the generator is reseeded (the queue records were cleared by the core). */
  reset(): void {
    this.rng.reset();
    this.guest.reload();
  }

  private slotLin(n: number): number { return this.layout.slots[n]; }
  status(n: number): number { return this.mem.atomicLoad32(this.slotLin(n) + SLOT_STATUS); }
  deviceId(n: number): number { return this.mem.u32(this.slotLin(n) + SLOT_DEVICE_ID); }
  /** Whether slot n is ours and may be served now. */
  mine(n: number): boolean { return this.mem.u32(this.slotLin(n) + SLOT_BACKEND) === this.backend; }
  live(n: number): boolean { return (this.status(n) & LIVE_MASK) === LIVE; }

  count(id: number, n = 1): void { this.mem.count(this.layout.counters, id, n); }

  private raise(n: number, bit: number): void {
    this.mem.atomicOr32(this.slotLin(n) + SLOT_INTERRUPT_STATUS, bit);
    this.count(CounterId.VIRTIO_INTERRUPTS);
  }

  /**
   * 2.1.2: the device cannot go on until reset. The configuration change interrupt is raised
   * before the status bit is set: whoever sees DEVICE_NEEDS_RESET (the Vm's busy(), a driver
   * on the running vCPU) then sees the interrupt too. Only this backend's one thread serves a
   * slot, so nobody else sets the bit between the test and the Atomics.or.
   */
  private needsReset(n: number): void {
    const status = this.status(n);
    if ((status & STATUS_DEVICE_NEEDS_RESET) !== 0) return;
    this.count(CounterId.VIRTIO_RESETS);
    if ((status & STATUS_DRIVER_OK) !== 0) this.raise(n, INT_CONFIG_CHANGE);
    this.mem.atomicOr32(this.slotLin(n) + SLOT_STATUS, STATUS_DEVICE_NEEDS_RESET);
  }

  queue(n: number, qi: number): Vq { return readVq(this.mem, this.layout.queues[n][qi]); }

  /**
   * Serve queue qi of slot n if the slot is ours, live, has the queue and it is ready: every
   * available chain, then the used-buffer interrupt if 2.7.7 asks for one, then the cursors
   * back to the record (after the interrupt, so that whoever sees the cursors move sees the
   * interrupt too), then the notification suppression the backend uses.
   */
  serveQueue(n: number, qi: number): Served {
    const none = { chains: 0, error: QueueError.NONE };
    if (!this.mine(n) || !this.live(n)) return none;
    const dev = this.deviceId(n);
    if (qi >= queueCount(dev)) return none;
    const q = this.queue(n, qi);
    if (!q.ready) return none;
    const g = this.guest;
    const oldUsed = q.usedIdx;
    const oldAvail = q.lastAvail;
    const r = this.serveChains(dev, qi, q);
    if (vqNeedsInterrupt(g, q, oldUsed)) this.raise(n, INT_USED_BUFFER);
    saveCursors(this.mem, q, oldAvail);
    if (r.error !== QueueError.NONE) {
      this.needsReset(n);
    } else if (this.kind === 'host') {
      vqSetAvailEvent(g, q);
    } else {
      vqSuppressNotify(g, q);
    }
    return r;
  }

  private serveChains(dev: number, qi: number, q: Vq): Served {
    const g = this.guest;
    const c = this.chain;
    let chains = 0;
    let pending = availPending(g, q);
    if (pending < 0) { this.onTake?.(); return { chains, error: QueueError.AVAIL_JUMP }; }
    while (pending > 0) {
      // A receive buffer waits for input: it stays available until there is some.
      if (dev === VIRTIO_ID_CONSOLE && qi === CONSOLE_RECEIVEQ && !consoleInputReady(this.rx)) break;
      this.onTake?.();
      const err = vqPop(g, q, c);
      this.count(CounterId.VIRTIO_DESCRIPTORS, c.descriptors);
      if (err !== QueueError.NONE) return { chains, error: err };
      // Offload: move avail_event with lastAvail before the used entry appears, so a driver
      // that sees its buffer returned also sees the device's current "do not notify".
      if (this.kind === 'offload') vqSuppressNotify(g, q);
      let used: number;
      let moved: number;
      if (dev === VIRTIO_ID_RNG) {
        used = moved = rngChain(g, c, this.rng);
      } else if (dev === VIRTIO_ID_BLOCK) {
        const r = blkChain(g, c, this.disk);
        if (r.used < 0) return { chains, error: QueueError.BAD_REQUEST };
        this.count(CounterId.VIRTIO_BLK_REQUESTS);
        used = r.used; moved = r.moved;
      } else if (qi === CONSOLE_TRANSMITQ) {
        used = consoleTxChain(g, c, this.out); moved = c.readable;
      } else {
        used = moved = consoleRxChain(g, c, this.rx);
      }
      this.count(CounterId.VIRTIO_BYTES, moved);
      this.onServed?.();
      vqPush(g, q, c.head, used);
      chains++;
      pending--;
      // The driver may have added more while we served (offload: the vCPU runs meanwhile).
      if (pending === 0) {
        pending = availPending(g, q);
        if (pending < 0) { this.onTake?.(); return { chains, error: QueueError.AVAIL_JUMP }; }
      }
    }
    return { chains, error: QueueError.NONE };
  }

  /**
   * Work waiting in slot n for this backend: chains made available and not yet used (a
   * receive queue only counts while there is input for it). An AVAIL_JUMP counts as work: the
   * next pass turns it into DEVICE_NEEDS_RESET.
   */
  pending(n: number): boolean {
    if (!this.mine(n) || !this.live(n)) return false;
    const dev = this.deviceId(n);
    for (let qi = 0; qi < queueCount(dev); qi++) {
      const q = this.queue(n, qi);
      if (!q.ready) continue;
      const p = availPending(this.guest, q);
      if (p === 0) continue;
      if (dev === VIRTIO_ID_CONSOLE && qi === CONSOLE_RECEIVEQ && p > 0 && !consoleInputReady(this.rx)) continue;
      return true;
    }
    return false;
  }
}
