// The TypeScript split virtqueue of the host and offload backends (src/io/queue.ts, engine.ts)
// against hand-built rings in a fake core memory (io-fake-core.ts): every hostile case of
// docs/virtio.md's table, named after its clause, each asserting the named error, that nothing
// at all was written to guest memory, and the DEVICE_NEEDS_RESET that follows (2.1.2); then
// notification suppression both ways (2.7.7, 2.7.10) and the guest-memory translation of a VM.
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/io/engine.js';
import { QueueError, readVq, saveCursors, VIRTQ_DESC_F_INDIRECT as INDIRECT, VIRTQ_DESC_F_NEXT as NEXT,
  VIRTQ_DESC_F_WRITE as WRITE, VIRTQ_USED_F_NO_NOTIFY } from '../src/io/queue.js';
import { FakeCore, GUEST_BASE, type Driver } from './io-fake-core.js';

const VERSION_1 = 1n << 32n;
const F_INDIRECT = 1n << 28n;
const F_EVENT_IDX = 1n << 29n;
const RNG = 4;
const HOST = 1;
const OFFLOAD = 2;
const NEEDS_RESET = 64;
const CONFIG_CHANGE = 2;
const USED_BUFFER = 1;
const C = { NOTIFIES: 100, INTERRUPTS: 101, DESCRIPTORS: 102, BYTES: 103, RESETS: 104 };
/** Guest RAM for tables that need room: past the sixteen queues' areas (io-fake-core.ts). */
const SPARE = GUEST_BASE + 0xA0000;

interface Setup { core: FakeCore; d: Driver; e: Engine }

function rng(o: { eventIdx?: boolean; indirect?: boolean; vm?: boolean; guestBytes?: number; kind?: 'host' | 'offload' } = {}): Setup {
  const core = new FakeCore({ vm: o.vm, guestBytes: o.guestBytes });
  const eventIdx = o.eventIdx ?? true;
  const indirect = o.indirect ?? true;
  const kind = o.kind ?? 'host';
  core.slot(0, RNG, kind === 'host' ? HOST : OFFLOAD, VERSION_1 | (eventIdx ? F_EVENT_IDX : 0n) | (indirect ? F_INDIRECT : 0n));
  const d = core.queue(0, 0, 8, eventIdx, indirect);
  const e = new Engine(core.memory, core.layout, kind, { write() { throw new Error('rng has no output'); } });
  e.reset();
  return { core, d, e };
}

/** The refused chain: the named error, no byte of guest memory changed, the device needing a
 * reset with a configuration change interrupt (2.1.2), counted once; and nothing served after. */
function expectRefused(s: Setup, err: QueueError): void {
  const before = s.core.guestRam();
  const r = s.e.serveQueue(0, 0);
  expect(QueueError[r.error]).toBe(QueueError[err]);
  expect(r.chains).toBe(0);
  expect(Buffer.compare(s.core.guestRam(), before)).toBe(0);
  expect(s.core.status(0) & NEEDS_RESET).toBe(NEEDS_RESET);
  expect(s.core.interrupts(0)).toBe(CONFIG_CHANGE);
  expect(s.core.counter(C.RESETS)).toBe(1n);
  expect(s.core.queueRecord(0, 0).usedIdx).toBe(0);
  // Until the driver resets the device, nothing more is served, not even a good request.
  s.d.setDesc(7, s.d.data, 16, WRITE);
  s.d.add(7);
  const queued = s.core.guestRam();
  const again = s.e.serveQueue(0, 0);
  expect(again.chains).toBe(0);
  expect(Buffer.compare(s.core.guestRam(), queued)).toBe(0);
  expect(s.d.usedIdx()).toBe(0);
  expect(s.core.counter(C.RESETS)).toBe(1n);
}

describe('hostile drivers (docs/virtio.md, "The hostile-guest checks")', () => {
  it('2.7.6, 2.7.13.3: avail.idx more than the queue size ahead is AVAIL_JUMP', () => {
    const s = rng();
    s.d.setDesc(0, s.d.data, 16, WRITE);
    s.d.setAvailIdx(9); // 8 entries is the most a driver can have outstanding
    expectRefused(s, QueueError.AVAIL_JUMP);
  });

  it('2.7.5, 2.7.6: an avail entry naming a descriptor past the table is HEAD_OUT_OF_RANGE', () => {
    const s = rng();
    s.d.add(8);
    expectRefused(s, QueueError.HEAD_OUT_OF_RANGE);
  });

  it('2.7.5: a next past the table is NEXT_OUT_OF_RANGE', () => {
    const s = rng();
    s.d.setDesc(0, s.d.data, 16, WRITE | NEXT, 8);
    s.d.add(0);
    expectRefused(s, QueueError.NEXT_OUT_OF_RANGE);
  });

  it('2.7.5.2: a looping descriptor chain is CHAIN_TOO_LONG', () => {
    const s = rng();
    s.d.setDesc(0, s.d.data, 16, WRITE | NEXT, 1);
    s.d.setDesc(1, s.d.data + 16, 16, WRITE | NEXT, 0);
    s.d.add(0);
    expectRefused(s, QueueError.CHAIN_TOO_LONG);
  });

  it('2.7.5.3.1: a loop inside an indirect table is CHAIN_TOO_LONG', () => {
    const s = rng();
    s.d.setDesc(0, SPARE, 32, INDIRECT);
    s.d.setDesc(0, s.d.data, 16, WRITE | NEXT, 1, SPARE);
    s.d.setDesc(1, s.d.data, 16, WRITE | NEXT, 0, SPARE);
    s.d.add(0);
    expectRefused(s, QueueError.CHAIN_TOO_LONG);
  });

  it('2.7.5.3.1: more than 1024 buffers in one chain is CHAIN_TOO_LONG', () => {
    const s = rng();
    const n = 1100;
    for (let i = 0; i < n; i++) s.d.setDesc(i, s.d.data, 1, WRITE | (i + 1 < n ? NEXT : 0), i + 1, SPARE);
    s.d.setDesc(0, SPARE, 16 * n, INDIRECT);
    s.d.add(0);
    expectRefused(s, QueueError.CHAIN_TOO_LONG);
  });

  it('2.7.5: a buffer running past the end of guest RAM is OUTSIDE_MEMORY', () => {
    const s = rng();
    s.d.setDesc(0, GUEST_BASE + s.core.guestBytes - 8, 16, WRITE);
    s.d.add(0);
    expectRefused(s, QueueError.OUTSIDE_MEMORY);
  });

  it('2.7.5: a buffer on a device (the UART at 0x1000_0000) is OUTSIDE_MEMORY', () => {
    const s = rng();
    s.d.setDesc(0, 0x1000_0000, 8, WRITE);
    s.d.add(0);
    expectRefused(s, QueueError.OUTSIDE_MEMORY);
  });

  it('2.7.5: a 4 GiB buffer is OUTSIDE_MEMORY', () => {
    const s = rng();
    s.d.setDesc(0, GUEST_BASE, 0xFFFF_FFFF, WRITE);
    s.d.add(0);
    expectRefused(s, QueueError.OUTSIDE_MEMORY);
  });

  it('2.7.5: a buffer at a 64-bit address beyond any RAM (2^64 - 4096) is OUTSIDE_MEMORY', () => {
    const s = rng();
    s.d.setDesc(0, 0xFFFF_FFFF_FFFF_F000n, 16, WRITE);
    s.d.add(0);
    expectRefused(s, QueueError.OUTSIDE_MEMORY);
  });

  it('2.7.5: an indirect table outside guest RAM is OUTSIDE_MEMORY', () => {
    const s = rng();
    s.d.setDesc(0, GUEST_BASE + s.core.guestBytes - 16, 32, INDIRECT);
    s.d.add(0);
    expectRefused(s, QueueError.OUTSIDE_MEMORY);
  });

  it('2.7.5.3.1: INDIRECT without VIRTIO_F_INDIRECT_DESC is INDIRECT_NOT_NEGOTIATED', () => {
    const s = rng({ indirect: false });
    s.d.setDesc(0, SPARE, 16, WRITE, 0, SPARE);
    s.d.setDesc(0, SPARE, 16, INDIRECT);
    s.d.add(0);
    expectRefused(s, QueueError.INDIRECT_NOT_NEGOTIATED);
  });

  it('2.7.5.3.1: INDIRECT inside an indirect table is INDIRECT_NESTED', () => {
    const s = rng();
    s.d.setDesc(0, SPARE + 0x100, 16, INDIRECT, 0, SPARE);
    s.d.setDesc(0, s.d.data, 16, WRITE, 0, SPARE + 0x100);
    s.d.setDesc(0, SPARE, 16, INDIRECT);
    s.d.add(0);
    expectRefused(s, QueueError.INDIRECT_NESTED);
  });

  it('2.7.5.3.1: INDIRECT together with NEXT is INDIRECT_WITH_NEXT', () => {
    const s = rng();
    s.d.setDesc(0, s.d.data, 16, WRITE, 0, SPARE);
    s.d.setDesc(0, SPARE, 16, INDIRECT | NEXT, 1);
    s.d.setDesc(1, s.d.data, 16, WRITE);
    s.d.add(0);
    expectRefused(s, QueueError.INDIRECT_WITH_NEXT);
  });

  it('2.7.5.3: an indirect table of length 0 is INDIRECT_BAD_SIZE', () => {
    const s = rng();
    s.d.setDesc(0, SPARE, 0, INDIRECT);
    s.d.add(0);
    expectRefused(s, QueueError.INDIRECT_BAD_SIZE);
  });

  it('2.7.5.3: an indirect table of a length not a multiple of 16 is INDIRECT_BAD_SIZE', () => {
    const s = rng();
    s.d.setDesc(0, s.d.data, 16, WRITE, 0, SPARE);
    s.d.setDesc(0, SPARE, 24, INDIRECT);
    s.d.add(0);
    expectRefused(s, QueueError.INDIRECT_BAD_SIZE);
  });

  it('2.7.4.2: a device-readable buffer after a writable one is READABLE_AFTER_WRITABLE', () => {
    const s = rng();
    s.d.setDesc(0, s.d.data, 16, WRITE | NEXT, 1);
    s.d.setDesc(1, s.d.data + 16, 16, 0);
    s.d.add(0);
    expectRefused(s, QueueError.READABLE_AFTER_WRITABLE);
  });

  it('2.7.5.2: a chain of more than 2^32 bytes (overlapping buffers) is CHAIN_TOO_BIG', () => {
    const guestBytes = 8 << 20;
    const s = rng({ guestBytes });
    // 513 buffers, each all of guest RAM: 513 * 8 MiB > 2^32, within the 1024-buffer limit.
    const n = 513;
    for (let i = 0; i < n; i++) s.d.setDesc(i, GUEST_BASE, guestBytes, WRITE | (i + 1 < n ? NEXT : 0), i + 1, SPARE);
    s.d.setDesc(0, SPARE, 16 * n, INDIRECT);
    s.d.add(0);
    expectRefused(s, QueueError.CHAIN_TOO_BIG);
  });

  it('2.1.2: after DEVICE_NEEDS_RESET and a driver reset (2.4) the device serves again', () => {
    const s = rng();
    s.d.add(8);
    expect(s.e.serveQueue(0, 0).error).toBe(QueueError.HEAD_OUT_OF_RANGE);
    s.core.resetSlot(0); // the core clears the slot and its queue records
    s.core.slot(0, RNG, HOST, VERSION_1 | F_EVENT_IDX | F_INDIRECT);
    const d = s.core.queue(0, 0, 8, true, true);
    d.setDesc(0, d.data, 16, WRITE);
    d.add(0);
    const r = s.e.serveQueue(0, 0);
    expect(r.error).toBe(QueueError.NONE);
    expect(r.chains).toBe(1);
    expect(d.used(0)).toEqual({ id: 0, len: 16 });
  });

  it('3.1.1: a slot without DRIVER_OK, or FAILED, is not served', () => {
    for (const status of [1 | 2 | 8, 1 | 2 | 8 | 4 | 128]) {
      const s = rng();
      s.core.setStatus(0, status);
      s.d.setDesc(0, s.d.data, 16, WRITE);
      s.d.add(0);
      const before = s.core.guestRam();
      expect(s.e.serveQueue(0, 0).chains).toBe(0);
      expect(Buffer.compare(s.core.guestRam(), before)).toBe(0);
    }
  });

  it('a slot served by another backend (here the core) is left alone', () => {
    const s = rng();
    s.core.slot(0, RNG, 0, VERSION_1 | F_EVENT_IDX | F_INDIRECT);
    s.d.setDesc(0, s.d.data, 16, WRITE);
    s.d.add(0);
    expect(s.e.serveQueue(0, 0).chains).toBe(0);
    expect(s.d.usedIdx()).toBe(0);
  });

  it('4.2.2.1: a queue the device does not have is not served', () => {
    const s = rng();
    expect(s.e.serveQueue(0, 1).chains).toBe(0);
    expect(s.e.serveQueue(0, 7).chains).toBe(0);
  });
});

describe('chains and the used ring (2.7.5, 2.7.8)', () => {
  it('2.7.5: a chained request and an indirect one are walked whole; used ids and lengths', () => {
    const s = rng();
    s.d.setDesc(2, s.d.data, 10, WRITE | NEXT, 5);
    s.d.setDesc(5, s.d.data + 100, 6, WRITE);
    s.d.setDesc(0, s.d.data + 200, 7, WRITE, 0, SPARE);
    s.d.setDesc(1, SPARE, 16, INDIRECT);
    s.d.add(2);
    s.d.add(1);
    const r = s.e.serveQueue(0, 0);
    expect(r).toEqual({ chains: 2, error: QueueError.NONE });
    expect(s.d.usedIdx()).toBe(2);
    expect(s.d.used(0)).toEqual({ id: 2, len: 16 });
    expect(s.d.used(1)).toEqual({ id: 1, len: 7 });
    expect(s.core.queueRecord(0, 0)).toEqual({ ready: 1, lastAvail: 2, usedIdx: 2 });
    // descriptors: 2 in the chain, the indirect one and its table's one
    expect(s.core.counter(C.DESCRIPTORS)).toBe(4n);
    expect(s.core.counter(C.BYTES)).toBe(23n);
  });

  it('2.7.5.1: device-readable buffers of an entropy request are left alone and count for nothing', () => {
    const s = rng();
    s.core.write(s.d.data, [1, 2, 3, 4]);
    s.d.setDesc(0, s.d.data, 4, NEXT, 1);
    s.d.setDesc(1, s.d.data + 64, 8, WRITE);
    s.d.add(0);
    s.e.serveQueue(0, 0);
    expect([...s.core.read(s.d.data, 4)]).toEqual([1, 2, 3, 4]);
    expect(s.d.used(0)).toEqual({ id: 0, len: 8 });
  });

  it('2.7.13.3: the ring wraps: the 16-bit indices run past 65535', () => {
    const s = rng({ eventIdx: false });
    // As if 65534 requests had been served: cursors and idx just below the wrap.
    const lin = s.core.layout.queues[0][0];
    s.core.dv.setUint32(lin + 8, 0xFFFE, true);
    s.core.dv.setUint32(lin + 12, 0xFFFE, true);
    s.d.setAvailIdx(0xFFFE);
    for (let i = 0; i < 4; i++) { s.d.setDesc(i, s.d.data + 16 * i, 16, WRITE); s.d.add(i); }
    expect(s.d.availIdx).toBe(2);
    expect(s.e.serveQueue(0, 0)).toEqual({ chains: 4, error: QueueError.NONE });
    expect(s.d.usedIdx()).toBe(2);
    expect(s.d.used(0xFFFE)).toEqual({ id: 0, len: 16 });
    expect(s.d.used(1)).toEqual({ id: 3, len: 16 });
  });
});

describe('notification suppression (2.7.7, 2.7.10)', () => {
  it('2.7.7: without EVENT_IDX every used buffer interrupts, unless VIRTQ_AVAIL_F_NO_INTERRUPT', () => {
    const s = rng({ eventIdx: false });
    s.d.setDesc(0, s.d.data, 8, WRITE);
    s.d.add(0);
    s.e.serveQueue(0, 0);
    expect(s.core.interrupts(0)).toBe(USED_BUFFER);
    expect(s.core.counter(C.INTERRUPTS)).toBe(1n);
    s.core.ackInterrupts(0);
    s.d.setAvailFlags(1);
    s.d.add(0);
    s.e.serveQueue(0, 0);
    expect(s.d.usedIdx()).toBe(2);
    expect(s.core.interrupts(0)).toBe(0);
    expect(s.core.counter(C.INTERRUPTS)).toBe(1n);
  });

  it('2.7.7: with EVENT_IDX the device interrupts only when used.idx passes used_event', () => {
    const s = rng();
    s.d.setDesc(0, s.d.data, 8, WRITE);
    s.d.setUsedEvent(1); // "interrupt me once entry 1 is used"
    s.d.add(0);
    s.e.serveQueue(0, 0); // used.idx 0 -> 1: entry 0 only
    expect(s.core.interrupts(0)).toBe(0);
    s.d.add(0);
    s.e.serveQueue(0, 0); // 1 -> 2 passes 1
    expect(s.core.interrupts(0)).toBe(USED_BUFFER);
    expect(s.core.counter(C.INTERRUPTS)).toBe(1n);
  });

  it('2.7.10: the host backend asks for every notification: avail_event = lastAvail, used.flags 0', () => {
    const s = rng();
    s.d.setDesc(0, s.d.data, 8, WRITE);
    s.d.add(0); s.d.add(0); s.d.add(0);
    s.e.serveQueue(0, 0);
    expect(s.d.availEvent()).toBe(3);
    expect(s.d.usedFlags()).toBe(0);
  });

  it('2.7.10: the offload backend tells the driver not to notify: VIRTQ_USED_F_NO_NOTIFY', () => {
    const s = rng({ eventIdx: false, kind: 'offload' });
    s.e.serveQueue(0, 0);
    expect(s.d.usedFlags()).toBe(VIRTQ_USED_F_NO_NOTIFY);
  });

  it('2.7.10: with EVENT_IDX the offload backend keeps avail_event half the index space from lastAvail: the driver never needs to notify', () => {
    const s = rng({ kind: 'offload' });
    s.e.serveQueue(0, 0); // no requests yet: the queue is set up for polling
    expect(s.d.availEvent()).toBe(0x8000);
    // The driver's test (vring_need_event): notify iff (new - event - 1) < (new - old), mod 2^16.
    const needEvent = (event: number, nw: number, old: number) => ((nw - event - 1) & 0xFFFF) < ((nw - old) & 0xFFFF);
    s.d.setDesc(0, s.d.data, 8, WRITE);
    for (let k = 0; k < 8; k++) {
      const old = s.d.availIdx;
      s.d.add(0);
      expect(needEvent(s.d.availEvent(), s.d.availIdx, old)).toBe(false);
    }
    s.e.serveQueue(0, 0);
    expect(s.d.usedIdx()).toBe(8);
    expect(s.d.availEvent()).toBe(0x8008);
    expect(needEvent(s.d.availEvent(), 9, 8)).toBe(false);
    // The race the worker's thread makes possible: the driver publishes a batch (old 8, new 12),
    // the worker serves it and rewrites avail_event, and only then does the driver read it.
    // With avail_event = lastAvail - 1 (= 11) the driver would notify; half the space away it
    // does not, for any batch up to a ring long.
    for (let k = 0; k < 4; k++) s.d.add(0);
    s.e.serveQueue(0, 0);
    expect(s.d.usedIdx()).toBe(12);
    expect(needEvent(11, 12, 8)).toBe(true);
    expect(needEvent(s.d.availEvent(), 12, 8)).toBe(false);
    for (let len = 1; len <= 256; len++) expect(needEvent(s.d.availEvent(), 12, (12 - len) & 0xFFFF)).toBe(false);
  });
});

describe('guest memory in a VM (frames scattered, docs/virtio.md "Guest memory")', () => {
  it('buffers crossing a page are reached frame by frame; outside the VM\'s RAM is refused', () => {
    const s = rng({ vm: true });
    // 24 bytes straddling two guest pages, which are not adjacent in the machine's RAM.
    const gpa = SPARE + 4096 - 8;
    s.d.setDesc(0, gpa, 24, WRITE);
    s.d.add(0);
    expect(s.e.serveQueue(0, 0)).toEqual({ chains: 1, error: QueueError.NONE });
    expect(s.d.used(0)).toEqual({ id: 0, len: 24 });
    expect(s.core.read(gpa, 24).some((b) => b !== 0)).toBe(true);
    // Linear RAM right after the first piece (the next machine frame, guest page SPARE - 4096,
    // unused) is untouched: the second piece went to its own frame.
    const firstLin = s.core.lin(gpa);
    expect([...s.core.u8.subarray(firstLin + 8, firstLin + 24)].every((b) => b === 0)).toBe(true);
    s.d.setDesc(1, GUEST_BASE + s.core.guestBytes - 4, 8, WRITE);
    s.d.add(1);
    expect(s.e.serveQueue(0, 0).error).toBe(QueueError.OUTSIDE_MEMORY);
  });
});

describe('the cursors live in the core\'s queue record', () => {
  it('2.4: a record the core cleared while a pass ran is not overwritten with stale cursors', () => {
    const s = rng();
    const lin = s.core.layout.queues[0][0];
    const q = readVq(s.e.mem, lin);
    s.core.dv.setUint32(lin + 8, 5, true); // as if 5 requests were served
    const stale = readVq(s.e.mem, lin);
    stale.lastAvail = 7; stale.usedIdx = 7;
    s.core.resetSlot(0); // the driver reset the device meanwhile: the core cleared the record
    saveCursors(s.e.mem, stale, 5);
    expect(s.core.queueRecord(0, 0)).toEqual({ ready: 0, lastAvail: 0, usedIdx: 0 });
    // Unchanged record: the cursors are saved.
    q.lastAvail = 3; q.usedIdx = 3;
    saveCursors(s.e.mem, q, 0);
    expect(s.core.queueRecord(0, 0)).toEqual({ ready: 0, lastAvail: 3, usedIdx: 3 });
  });
});
