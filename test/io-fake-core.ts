/**
 * A stand-in for the core's memory for the I/O backend tests (test/io-*.test.ts,
 * test/browser/offload*.test.ts): a shared WebAssembly.Memory holding the records of the core
 * contract (src/io/layout.ts), built by hand, and guest RAM with a driver's-eye view of the
 * rings. Environment-neutral: the browser test bundles it too.
 *
 *   0x01000 slots (64 B apart)     0x05000 doorbell          0x30000 disk (64 KiB)
 *   0x02000 queues (64 B apart)    0x06000 TX ring (64 KiB)  0x100000 guest RAM
 *   0x03000 guest map              0x20000 RX ring (4 KiB)   after RAM: the VM frame map
 *   0x04000 counters (u64 each)
 */
import type { CoreLayout, IoCoreHandle } from '../src/io/layout.js';

export const GUEST_BASE = 0x8000_0000;
export const PAGE = 4096;
const SLOTS = 0x1000, QUEUES = 0x2000, GMAP = 0x3000, COUNTERS = 0x4000, BELL = 0x5000;
const TX = 0x6000, TX_SIZE = 1 << 16, RX = 0x20000, RX_SIZE = 1 << 12, DISK = 0x30000;
export const DISK_BYTES = 64 * 1024;
const RAM = 0x100000;

export interface FakeOptions {
  /** Guest RAM in bytes (default 1 MiB). */
  guestBytes?: number;
  /** Run as a VM: guest frames scattered (frame i of the guest is host frame count-1-i). */
  vm?: boolean;
}

export class FakeCore {
  readonly memory: WebAssembly.Memory;
  readonly layout: CoreLayout;
  readonly guestBytes: number;
  readonly vm: boolean;
  private readonly frames: number;
  private readonly frameMap: number;

  constructor(o: FakeOptions = {}) {
    this.guestBytes = o.guestBytes ?? 1 << 20;
    this.vm = o.vm ?? false;
    this.frames = this.guestBytes / PAGE;
    this.frameMap = RAM + this.guestBytes;
    const bytes = this.frameMap + 4 * this.frames + PAGE;
    const pages = Math.ceil(bytes / 65536);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const slots: number[] = [];
    const queues: number[][] = [];
    for (let n = 0; n < 8; n++) {
      slots.push(SLOTS + 64 * n);
      queues.push([QUEUES + 64 * (2 * n), QUEUES + 64 * (2 * n + 1)]);
    }
    this.layout = { slots, queues, guestMap: GMAP, counters: COUNTERS, doorbell: BELL, txRing: TX, txSize: TX_SIZE,
      rxRing: RX, rxSize: RX_SIZE, disk: DISK, diskBytes: DISK_BYTES };
    const dv = this.dv;
    dv.setUint32(GMAP, this.vm ? 2 : 0, true);
    dv.setBigUint64(GMAP + 8, BigInt(GUEST_BASE), true);
    dv.setBigUint64(GMAP + 16, BigInt(this.guestBytes), true);
    dv.setBigUint64(GMAP + 24, BigInt(RAM), true);
    // The machine's RAM starts at 0x8000_0000 too, at linear RAM; a VM's frames are inside it.
    dv.setBigUint64(GMAP + 32, BigInt(GUEST_BASE), true);
    dv.setBigUint64(GMAP + 40, BigInt(this.vm ? this.frameMap : 0), true);
    if (this.vm) {
      for (let i = 0; i < this.frames; i++) {
        dv.setUint32(this.frameMap + 4 * i, (GUEST_BASE / PAGE) + (this.frames - 1 - i), true);
      }
    }
  }

  get dv(): DataView { return new DataView(this.memory.buffer); }
  get u8(): Uint8Array { return new Uint8Array(this.memory.buffer); }

  /** The handle createIoBackend takes, with the exports the backends read. */
  handle(): IoCoreHandle {
    const l = this.layout;
    return {
      memory: this.memory,
      exports: {
        virtioSlotPtr: (n) => l.slots[n], virtioQueuePtr: (n, q) => l.queues[n][q],
        guestMapPtr: () => l.guestMap, countersPtr: () => l.counters, virtioDoorbellPtr: () => l.doorbell,
        txRingPtr: () => l.txRing, txRingSize: () => l.txSize, rxRingPtr: () => l.rxRing, rxRingSize: () => l.rxSize,
        diskPtr: () => l.disk, diskBytes: () => BigInt(l.diskBytes),
      },
    };
  }

  /** Linear address of guest-physical `gpa` (as the core's guestMem: page by page in a VM). */
  lin(gpa: number): number {
    const off = gpa - GUEST_BASE;
    if (off < 0 || off >= this.guestBytes) throw new Error(`gpa ${gpa.toString(16)} is not guest RAM`);
    if (!this.vm) return RAM + off;
    return RAM + (this.frames - 1 - Math.floor(off / PAGE)) * PAGE + (off % PAGE);
  }
  /** Guest RAM in guest-physical order. */
  guestRam(): Uint8Array {
    const out = new Uint8Array(this.guestBytes);
    for (let off = 0; off < this.guestBytes; off += PAGE) out.set(this.u8.subarray(this.lin(GUEST_BASE + off), this.lin(GUEST_BASE + off) + PAGE), off);
    return out;
  }
  read(gpa: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u8[this.lin(gpa + i)];
    return out;
  }
  write(gpa: number, bytes: ArrayLike<number>): void {
    const u8 = this.u8;
    for (let i = 0; i < bytes.length; i++) u8[this.lin(gpa + i)] = bytes[i];
  }
  w16(gpa: number, v: number): void { this.write(gpa, [v & 0xFF, (v >> 8) & 0xFF]); }
  w32(gpa: number, v: number): void { this.write(gpa, [v & 0xFF, (v >>> 8) & 0xFF, (v >>> 16) & 0xFF, v >>> 24]); }
  w64(gpa: number, v: bigint): void { for (let i = 0; i < 8; i++) this.u8[this.lin(gpa + i)] = Number((v >> BigInt(8 * i)) & 0xFFn); }
  r16(gpa: number): number { const b = this.read(gpa, 2); return b[0] | (b[1] << 8); }
  r32(gpa: number): number { const b = this.read(gpa, 4); return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0; }

  /** Put a device in slot n: device ID, backend (1 host, 2 offload), negotiated features, status. */
  slot(n: number, deviceId: number, backend: number, features: bigint, status = 1 | 2 | 8 | 4): void {
    const s = this.layout.slots[n];
    const dv = this.dv;
    dv.setUint32(s, deviceId, true);
    dv.setUint32(s + 4, status, true);
    dv.setUint32(s + 20, 0, true);
    dv.setUint32(s + 28, backend, true);
    dv.setBigUint64(s + 32, features, true);
  }
  status(n: number): number { return this.dv.getUint32(this.layout.slots[n] + 4, true); }
  setStatus(n: number, v: number): void { this.dv.setUint32(this.layout.slots[n] + 4, v, true); }
  interrupts(n: number): number { return this.dv.getUint32(this.layout.slots[n] + 20, true); }
  ackInterrupts(n: number): void { Atomics.store(new Int32Array(this.memory.buffer), (this.layout.slots[n] + 20) >>> 2, 0); }
  counter(id: number): bigint { return this.dv.getBigUint64(this.layout.counters + 8 * id, true); }
  queueRecord(n: number, q: number): { lastAvail: number; usedIdx: number; ready: number } {
    const l = this.layout.queues[n][q];
    return { ready: this.dv.getUint32(l + 4, true), lastAvail: this.dv.getUint32(l + 8, true), usedIdx: this.dv.getUint32(l + 12, true) };
  }
  /** The core's reset of a slot (2.4): status 0, queue records cleared. */
  resetSlot(n: number): void {
    this.setStatus(n, 0);
    this.dv.setUint32(this.layout.slots[n] + 20, 0, true);
    for (const q of this.layout.queues[n]) this.u8.fill(0, q, q + 48);
  }

  /**
   * Set queue q of slot n up as a driver does and make it ready, as the core does at
   * QueueReady (cursors zeroed). The driver zeroes the queue memory first (virtio v1.2
   * 4.2.3.2, step 3): a queue set up again at the same place after a reset must not show the
   * device the old avail.idx and entries, which a polling device is free to serve the moment
   * QueueReady is 1, before the driver adds anything.
   */
  queue(n: number, q: number, num: number, eventIdx: boolean, indirect: boolean): Driver {
    const base = GUEST_BASE + 0x1000 * (1 + 8 * (2 * n + q));
    const d = new Driver(this, num, base, base + 16 * num, base + 0x4000);
    this.write(d.desc, new Uint8Array(16 * num));
    this.write(d.driver, new Uint8Array(6 + 2 * num));
    this.write(d.device, new Uint8Array(6 + 8 * num));
    const l = this.layout.queues[n][q];
    const dv = this.dv;
    dv.setUint32(l, num, true);
    dv.setUint32(l + 8, 0, true);
    dv.setUint32(l + 12, 0, true);
    dv.setUint32(l + 16, eventIdx ? 1 : 0, true);
    dv.setUint32(l + 20, indirect ? 1 : 0, true);
    dv.setBigUint64(l + 24, BigInt(d.desc), true);
    dv.setBigUint64(l + 32, BigInt(d.driver), true);
    dv.setBigUint64(l + 40, BigInt(d.device), true);
    // Ready last, a release store: a worker that sees it sees the rest of the record.
    Atomics.store(new Int32Array(this.memory.buffer), (l + 4) >>> 2, 1);
    return d;
  }

  /** The host's side of the RX ring: put input bytes. */
  input(bytes: ArrayLike<number>): void {
    const i32 = new Int32Array(this.memory.buffer);
    let head = Atomics.load(i32, RX >>> 2) >>> 0;
    for (let i = 0; i < bytes.length; i++) { this.u8[RX + 8 + ((head + i) & (RX_SIZE - 1))] = bytes[i]; }
    head += bytes.length;
    Atomics.store(i32, RX >>> 2, head | 0);
  }
  rxLeft(): number { return (this.dv.getUint32(RX, true) - this.dv.getUint32(RX + 4, true)) >>> 0; }
  /** The host's side of the TX ring: take what the device appended. */
  takeTx(): Uint8Array {
    const head = this.dv.getUint32(TX, true);
    let tail = this.dv.getUint32(TX + 4, true);
    const out: number[] = [];
    while (tail !== head) { out.push(this.u8[TX + 8 + (tail & (TX_SIZE - 1))]); tail = (tail + 1) >>> 0; }
    this.dv.setUint32(TX + 4, tail, true);
    return new Uint8Array(out);
  }
  disk(): Uint8Array { return this.u8.subarray(DISK, DISK + DISK_BYTES); }
  /** What the core does for a QueueNotify of an offload slot: bump and notify the doorbell. */
  ring(): void {
    const i32 = new Int32Array(this.memory.buffer);
    Atomics.add(i32, BELL >>> 2, 1);
    Atomics.notify(i32, BELL >>> 2);
  }
}

/**
 * A driver's view of one split queue (virtio v1.2 2.7): it writes descriptors and avail
 * entries and reads the used ring, in guest memory.
 *   desc at base (16 * num), avail after it, used at base + 0x4000, buffers from base + 0x5000.
 */
export class Driver {
  availIdx = 0;
  constructor(readonly core: FakeCore, readonly num: number, readonly desc: number, readonly driver: number,
    readonly device: number) {}
  /** A free data area for this queue's buffers (4 KiB pages from base + 0x5000). */
  get data(): number { return this.desc + 0x5000; }
  setDesc(i: number, addr: number | bigint, len: number, flags: number, next = 0, table = this.desc): void {
    const a = table + 16 * i;
    this.core.w64(a, BigInt(addr));
    this.core.w32(a + 8, len);
    this.core.w16(a + 12, flags);
    this.core.w16(a + 14, next);
  }
  /** Make chain `head` available and publish avail.idx. */
  add(head: number): void {
    this.core.w16(this.driver + 4 + 2 * (this.availIdx % this.num), head);
    this.availIdx = (this.availIdx + 1) & 0xFFFF;
    this.core.w16(this.driver + 2, this.availIdx);
  }
  setAvailIdx(v: number): void { this.availIdx = v & 0xFFFF; this.core.w16(this.driver + 2, this.availIdx); }
  setAvailFlags(v: number): void { this.core.w16(this.driver, v); }
  setUsedEvent(v: number): void { this.core.w16(this.driver + 4 + 2 * this.num, v); }
  usedIdx(): number { return this.core.r16(this.device + 2); }
  usedFlags(): number { return this.core.r16(this.device); }
  availEvent(): number { return this.core.r16(this.device + 4 + 8 * this.num); }
  used(i: number): { id: number; len: number } {
    const e = this.device + 4 + 8 * (i % this.num);
    return { id: this.core.r32(e), len: this.core.r32(e + 4) };
  }
}
