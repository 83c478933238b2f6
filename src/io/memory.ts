/**
 * The core's linear memory as the backends reach it, and guest memory inside it.
 *
 * CoreMemory: views of the shared WebAssembly.Memory (the same one on the main thread and in
 * the offload worker). Shared memory can grow; the views are remade when the buffer has.
 *
 * GuestMemory: guest-physical addresses as a virtio device sees them, the TypeScript twin of
 * assembly/virtio/guestmem.ts. Natively gpa -> lin is one offset; in a VM it goes through the
 * VM's frame map, whose frames are not contiguous, so a range is only reached one page at a
 * time. Every access is checked: a range that is not wholly guest RAM is refused (-1 / false)
 * and the caller makes it the guest's error (OUTSIDE_MEMORY), so nothing a hostile driver
 * writes in a descriptor can make the device touch memory outside the VM.
 */
import { GM_FRAME_MAP, GM_GUEST_BASE, GM_GUEST_BYTES, GM_MACHINE_RAM_BASE, GM_MODE, GM_RAM_HOST } from './layout.js';

export const PAGE = 4096;

export class CoreMemory {
  u8!: Uint8Array;
  dv!: DataView;
  u16!: Uint16Array;
  i32!: Int32Array;
  i64!: BigInt64Array;
  private length = -1;

  constructor(readonly memory: WebAssembly.Memory) { this.refresh(); }

  /** Remake the views if the memory grew (a shared buffer never shrinks or moves). */
  refresh(): void {
    const buf = this.memory.buffer;
    if (buf.byteLength === this.length) return;
    this.length = buf.byteLength;
    this.u8 = new Uint8Array(buf);
    this.dv = new DataView(buf);
    this.u16 = new Uint16Array(buf, 0, buf.byteLength >>> 1);
    this.i32 = new Int32Array(buf, 0, buf.byteLength >>> 2);
    this.i64 = new BigInt64Array(buf, 0, Math.floor(buf.byteLength / 8));
  }

  get byteLength(): number { return this.length; }

  u32(lin: number): number { return this.dv.getUint32(lin, true); }
  setU32(lin: number, v: number): void { this.dv.setUint32(lin, v >>> 0, true); }
  /** A u64 field as a Number: exact below 2^53; larger values (only a hostile driver's) give
   * Infinity, which no range check accepts. */
  u64(lin: number): number {
    const lo = this.dv.getUint32(lin, true);
    const hi = this.dv.getUint32(lin + 4, true);
    return hi >= 0x20_0000 ? Infinity : hi * 0x1_0000_0000 + lo;
  }
  atomicLoad32(lin: number): number { return Atomics.load(this.i32, lin >>> 2) >>> 0; }
  atomicOr32(lin: number, v: number): void { Atomics.or(this.i32, lin >>> 2, v | 0); }
  /** Counters are u64 slots in the core; a worker adds to them atomically. */
  count(countersLin: number, id: number, n = 1): void {
    if (n === 0) return;
    Atomics.add(this.i64, (countersLin >>> 3) + id, BigInt(n));
  }
}

/** The guest map record, read when serving starts (it changes only at VM creation). */
export class GuestMemory {
  private native = true;
  private base = 0;
  private bytes = 0;
  private ramHost = 0;
  private machineBase = 0;
  private frameMap = 0;

  constructor(readonly mem: CoreMemory, private readonly mapLin: number) { this.reload(); }

  reload(): void {
    const m = this.mem;
    m.refresh();
    this.native = m.u32(this.mapLin + GM_MODE) === 0;
    this.base = m.u64(this.mapLin + GM_GUEST_BASE);
    this.bytes = m.u64(this.mapLin + GM_GUEST_BYTES);
    this.ramHost = m.u64(this.mapLin + GM_RAM_HOST);
    this.machineBase = m.u64(this.mapLin + GM_MACHINE_RAM_BASE);
    this.frameMap = m.u64(this.mapLin + GM_FRAME_MAP);
  }

  /**
   * Linear address of [gpa, gpa + len) if it is all guest RAM, else -1. In a VM the range must
   * also lie within one page, the only contiguous unit there (callers go page by page).
   * `len` is at least 1.
   */
  lin(gpa: number, len: number): number {
    const off = gpa - this.base;
    if (!(off >= 0) || len < 1 || off + len > this.bytes) return -1;
    let lin: number;
    if (this.native) {
      lin = this.ramHost + off;
    } else {
      const inPage = off % PAGE;
      if (inPage + len > PAGE) return -1;
      const frame = this.mem.u32(this.frameMap + 4 * Math.floor(off / PAGE));
      lin = this.ramHost + (frame * PAGE - this.machineBase) + inPage;
    }
    // The map comes from the core and is trusted; checking the result anyway means no bug in
    // it can turn into a read outside the core's memory.
    return lin >= 0 && lin + len <= this.mem.byteLength ? lin : -1;
  }

  /** Whether all of [gpa, gpa + len) is guest RAM (an empty range always is). */
  rangeOk(gpa: number, len: number): boolean {
    if (len === 0) return true;
    if (!(gpa >= this.base) || gpa + len > this.base + this.bytes) return false;
    if (this.native) return this.lin(gpa, len) >= 0;
    for (let a = gpa, left = len; left > 0;) {
      const n = Math.min(left, PAGE - (a % PAGE));
      if (this.lin(a, n) < 0) return false;
      a += n; left -= n;
    }
    return true;
  }

  /** Call `f(lin, n, done)` for each page-bounded piece of [gpa, gpa + len), in order; false
   * (having called f for nothing past the hole) if a piece is not guest RAM. */
  pieces(gpa: number, len: number, f: (lin: number, n: number, done: number) => void): boolean {
    let done = 0;
    for (let a = gpa, left = len; left > 0;) {
      const n = Math.min(left, PAGE - (a % PAGE));
      const l = this.lin(a, n);
      if (l < 0) return false;
      f(l, n, done);
      a += n; left -= n; done += n;
    }
    return true;
  }

  /** Ring fields (2.7.6, 2.7.8): aligned, checked; 0 / nothing when not RAM, like the core's. */
  load16(gpa: number): number {
    const l = this.lin(gpa, 2);
    return l < 0 ? 0 : (l & 1) === 0 ? Atomics.load(this.mem.u16, l >>> 1) : this.mem.dv.getUint16(l, true);
  }
  store16(gpa: number, v: number): void {
    const l = this.lin(gpa, 2);
    if (l < 0) return;
    if ((l & 1) === 0) Atomics.store(this.mem.u16, l >>> 1, v & 0xFFFF);
    else this.mem.dv.setUint16(l, v & 0xFFFF, true);
  }
  store32(gpa: number, v: number): void {
    const l = this.lin(gpa, 4);
    if (l >= 0) this.mem.dv.setUint32(l, v >>> 0, true);
  }
}
