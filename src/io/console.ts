/**
 * The console device (virtio v1.2 5.3) for the host and offload backends: device ID 3, queue 0
 * receiveq (host input -> guest), queue 1 transmitq (guest output). VIRTIO_CONSOLE_F_SIZE's
 * configuration space is the core's (the transport serves 0x100+ for every backend).
 *
 * Input comes from the core's RX ring (assembly/devices/console.ts): the host produces into
 * it, and while a virtio console exists this device, not the UART, consumes it. Head and tail
 * are read and written with Atomics: in the offload backend the producer (the Vm) and this
 * consumer run on different threads.
 *
 * Output goes to a ConsoleOut: the core's TX ring for the host backend (the core is stopped
 * while it runs), a shared ring of the offload backend's own for the worker.
 */
import { readable, writable } from './chain-io.js';
import type { Chain } from './queue.js';
import type { CoreMemory, GuestMemory } from './memory.js';
import { RING_DATA, RING_HEAD, RING_TAIL } from './layout.js';

export const CONSOLE_RECEIVEQ = 0;
export const CONSOLE_TRANSMITQ = 1;

/** Where the guest's output goes. `write` may block (offload: until the Vm drains). */
export interface ConsoleOut {
  write(src: Uint8Array, start: number, end: number): void;
}

/** A single-producer single-consumer byte ring in shared memory (console.ts's format). */
export class ByteRing {
  constructor(readonly mem: { i32: Int32Array; u8: Uint8Array }, readonly lin: number, readonly size: number) {}
  private get headIdx(): number { return (this.lin + RING_HEAD) >>> 2; }
  private get tailIdx(): number { return (this.lin + RING_TAIL) >>> 2; }
  available(): number {
    return (Atomics.load(this.mem.i32, this.headIdx) - Atomics.load(this.mem.i32, this.tailIdx)) >>> 0;
  }
  free(): number { return this.size - this.available(); }
  /** Consumer: copy up to `n` bytes out to `f(src, start, end)` pieces; returns bytes taken. */
  take(n: number, f: (src: Uint8Array, start: number, end: number) => void): number {
    const tail = Atomics.load(this.mem.i32, this.tailIdx) >>> 0;
    const k = Math.min(n, this.available());
    const data = this.lin + RING_DATA;
    for (let done = 0; done < k;) {
      const at = (tail + done) & (this.size - 1);
      const m = Math.min(k - done, this.size - at);
      f(this.mem.u8, data + at, data + at + m);
      done += m;
    }
    Atomics.store(this.mem.i32, this.tailIdx, (tail + k) | 0);
    return k;
  }
  /** Producer: copy as much of src[start, end) as fits; returns bytes put. */
  put(src: Uint8Array, start: number, end: number): number {
    const head = Atomics.load(this.mem.i32, this.headIdx) >>> 0;
    const k = Math.min(end - start, this.free());
    const data = this.lin + RING_DATA;
    for (let done = 0; done < k;) {
      const at = (head + done) & (this.size - 1);
      const m = Math.min(k - done, this.size - at);
      this.mem.u8.set(src.subarray(start + done, start + done + m), data + at);
      done += m;
    }
    Atomics.store(this.mem.i32, this.headIdx, (head + k) | 0);
    return k;
  }
}

/** Whether the receive queue has something to deliver (else a chain stays available). */
export function consoleInputReady(rx: ByteRing): boolean { return rx.available() > 0; }

/** 5.3.6: fill a receive buffer with as much waiting input as fits; the used length is the
 * bytes written. */
export function consoleRxChain(g: GuestMemory, c: Chain, rx: ByteRing): number {
  const u8 = g.mem.u8;
  let written = 0;
  const n = Math.min(rx.available(), c.writable);
  writable(g, c, 0, n, (lin, k) => {
    let at = lin; // a ring wrap splits one guest piece in two
    rx.take(k, (src, s, e) => { u8.set(src.subarray(s, e), at); at += e - s; });
    written += k;
  });
  return written;
}

/** 5.3.6: a transmit buffer's device-readable bytes are output; nothing is written back, so
 * the used length is 0 (writable buffers in a transmit chain are ignored). */
export function consoleTxChain(g: GuestMemory, c: Chain, out: ConsoleOut): number {
  const u8 = g.mem.u8;
  readable(g, c, 0, c.readable, (lin, n) => out.write(u8, lin, lin + n));
  return 0;
}

export function ringOf(mem: CoreMemory, lin: number, size: number): ByteRing {
  return new ByteRing(mem, lin, size);
}
