/**
 * Split virtqueues (virtio v1.2 section 2.7), device side, in TypeScript: the twin of
 * assembly/virtio/queue.ts for the host and offload backends, check for check and in the same
 * order, so a hostile driver meets the same QueueError whichever backend serves it. Everything
 * read from the rings is checked before use, a chain is checked whole before any byte of it
 * moves, and guest memory is reached only through GuestMemory.
 *
 *   descriptor table  desc    16 * num bytes, 16-aligned    (2.7.5)
 *     +0 addr u64   +8 len u32   +12 flags u16   +14 next u16
 *   available ring    driver  6 + 2 * num bytes, 2-aligned  (2.7.6)
 *     +0 flags u16  +2 idx u16  +4 ring[num] u16  +4+2*num used_event u16 (EVENT_IDX)
 *   used ring         device  6 + 8 * num bytes, 4-aligned  (2.7.8)
 *     +0 flags u16  +2 idx u16  +4 ring[num] {id u32, len u32}  +4+8*num avail_event u16
 *
 * The cursors (lastAvail, usedIdx) live in the core's queue record, so the core, a snapshot and
 * either backend agree on them; a Vq is a copy of the record taken when serving starts and
 * written back (saveCursors) when it ends.
 */
import type { CoreMemory, GuestMemory } from './memory.js';
import { QueueError } from '../../assembly/virtio/queue-error.js';
import { Q_DESC, Q_DEVICE, Q_DRIVER, Q_EVENT_IDX, Q_INDIRECT, Q_LAST_AVAIL, Q_NUM, Q_READY, Q_USED_IDX } from './layout.js';

/** The largest queue the devices offer (QueueNumMax, 2.7: a power of 2). */
export const QUEUE_NUM_MAX = 256;
/** The most buffers one chain may hold, indirect tables included (QEMU's VIRTQUEUE_MAX_SIZE). */
export const SEG_MAX = 1024;

// Descriptor flags (2.7.5) and ring flags (2.7.6, 2.7.8).
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
export const VIRTQ_USED_F_NO_NOTIFY = 1;

// What a hostile or broken driver did wrong: the core's list (one for both).
export { QueueError };

/** A queue record, copied (2.7, 4.2.3.2; the core validated the areas when it became ready). */
export interface Vq {
  lin: number;
  num: number;
  ready: boolean;
  lastAvail: number;
  usedIdx: number;
  eventIdx: boolean;
  indirect: boolean;
  desc: number;
  driver: number;
  device: number;
}

export function readVq(mem: CoreMemory, lin: number): Vq {
  return {
    lin,
    num: mem.u32(lin + Q_NUM),
    ready: mem.atomicLoad32(lin + Q_READY) !== 0,
    lastAvail: mem.u32(lin + Q_LAST_AVAIL) & 0xFFFF,
    usedIdx: mem.u32(lin + Q_USED_IDX) & 0xFFFF,
    eventIdx: mem.u32(lin + Q_EVENT_IDX) !== 0,
    indirect: mem.u32(lin + Q_INDIRECT) !== 0,
    desc: mem.u64(lin + Q_DESC),
    driver: mem.u64(lin + Q_DRIVER),
    device: mem.u64(lin + Q_DEVICE),
  };
}

/**
 * Write the cursors back to the core's record, unless the record changed under us: with the
 * offload backend the driver may reset the device while the worker serves, and the core then
 * clears the record (and zeroes it again at the next QueueReady). A compare-and-swap on
 * lastAvail from the value read at the start keeps a stale pass from overwriting a cleared
 * record in all but the case where both values are equal; what remains can confuse only that
 * driver's own queue, never reach outside guest memory.
 */
export function saveCursors(mem: CoreMemory, q: Vq, startLastAvail: number): void {
  const i = (q.lin + Q_LAST_AVAIL) >>> 2;
  if (Atomics.compareExchange(mem.i32, i, startLastAvail, q.lastAvail) !== startLastAvail) return;
  Atomics.store(mem.i32, (q.lin + Q_USED_IDX) >>> 2, q.usedIdx);
}

/** The chain being served: its buffers in order, and totals. */
export class Chain {
  head = 0;
  count = 0;
  /** Descriptors read, indirect-table ones included (VIRTIO_DESCRIPTORS). */
  descriptors = 0;
  readable = 0;
  writable = 0;
  readonly addr = new Float64Array(SEG_MAX);
  readonly len = new Uint32Array(SEG_MAX);
  readonly write = new Uint8Array(SEG_MAX);
}

/** avail.idx as the driver last wrote it (2.7.6). */
export function availIdx(g: GuestMemory, q: Vq): number { return g.load16(q.driver + 2); }

/**
 * Entries made available and not yet served, or -1 for AVAIL_JUMP: the driver can have at most
 * `num` buffers outstanding, so a larger distance is a corrupt or malicious idx (2.7.6,
 * 2.7.13.3). Serving it would reread stale entries as new ones and overrun the used ring.
 */
export function availPending(g: GuestMemory, q: Vq): number {
  const pending = (availIdx(g, q) - q.lastAvail) & 0xFFFF;
  return pending > q.num ? -1 : pending;
}

const descBuf = new DataView(new ArrayBuffer(16));
const descBytes = new Uint8Array(descBuf.buffer);

/** Read the descriptor at guest address `d` into descBuf; false if not guest RAM. An indirect
 * table need not be aligned (2.7.5.3), so a descriptor may straddle a page: two halves. */
function readDesc(g: GuestMemory, d: number): boolean {
  const u8 = g.mem.u8;
  const h = g.lin(d, 16);
  if (h >= 0) { descBytes.set(u8.subarray(h, h + 16)); return true; }
  const h1 = g.lin(d, 8);
  const h2 = g.lin(d + 8, 8);
  if (h1 < 0 || h2 < 0) return false;
  descBytes.set(u8.subarray(h1, h1 + 8), 0);
  descBytes.set(u8.subarray(h2, h2 + 8), 8);
  return true;
}

/**
 * Take the next available chain (the head at avail.ring[lastAvail % num]) and walk it into
 * `c`. Advances q.lastAvail when the chain is good. The caller has checked availPending > 0.
 * Nothing is written to guest memory.
 */
export function vqPop(g: GuestMemory, q: Vq, c: Chain): QueueError {
  const head = g.load16(q.driver + 4 + 2 * (q.lastAvail & (q.num - 1)));
  c.head = head; c.count = 0; c.descriptors = 0; c.readable = 0; c.writable = 0;
  // 2.7.5: the table holds `num` descriptors; a head past it would read beyond the table.
  if (head >= q.num) return QueueError.HEAD_OUT_OF_RANGE;
  let table = q.desc;
  let size = q.num;
  let i = head;
  let steps = 0;
  let inIndirect = false;
  for (;;) {
    // 2.7.5.2: no loops; 2.7.5.3.1: a chain is no longer than its table. Bounding the walk by
    // the table size stops both a loop and an overlong chain.
    if (++steps > size) return QueueError.CHAIN_TOO_LONG;
    if (!readDesc(g, table + 16 * i)) return QueueError.OUTSIDE_MEMORY;
    c.descriptors++;
    const lo = descBuf.getUint32(0, true);
    const hi = descBuf.getUint32(4, true);
    const addr = hi >= 0x20_0000 ? Infinity : hi * 0x1_0000_0000 + lo;
    const len = descBuf.getUint32(8, true);
    const flags = descBuf.getUint16(12, true);
    const next = descBuf.getUint16(14, true);
    if (flags & VIRTQ_DESC_F_INDIRECT) {
      // 2.7.5.3.1: only with the feature, never nested, never together with NEXT.
      if (!q.indirect) return QueueError.INDIRECT_NOT_NEGOTIATED;
      if (inIndirect) return QueueError.INDIRECT_NESTED;
      if (flags & VIRTQ_DESC_F_NEXT) return QueueError.INDIRECT_WITH_NEXT;
      // 2.7.5.3: the table holds len / 16 descriptors.
      if (len === 0 || (len & 15) !== 0) return QueueError.INDIRECT_BAD_SIZE;
      // 2.7.5: addr is guest-physical; the whole table must be guest RAM.
      if (!g.rangeOk(addr, len)) return QueueError.OUTSIDE_MEMORY;
      // 2.7.5.3.2: the WRITE flag of the descriptor naming the table is ignored.
      table = addr; size = len >>> 4; i = 0; steps = 0; inIndirect = true;
      continue;
    }
    // 2.7.5: the buffer must be guest memory: the device will read or write it.
    if (!g.rangeOk(addr, len)) return QueueError.OUTSIDE_MEMORY;
    const w = (flags & VIRTQ_DESC_F_WRITE) !== 0;
    if (w) {
      c.writable += len;
    } else {
      // 2.7.4.2: device-writable buffers come after all device-readable ones.
      if (c.writable !== 0) return QueueError.READABLE_AFTER_WRITABLE;
      c.readable += len;
    }
    // 2.7.5.2: no chain longer than 2^32 bytes in total.
    if (c.readable + c.writable > 0xFFFF_FFFF) return QueueError.CHAIN_TOO_BIG;
    if (c.count >= SEG_MAX) return QueueError.CHAIN_TOO_LONG;
    c.addr[c.count] = addr; c.len[c.count] = len; c.write[c.count] = w ? 1 : 0;
    c.count++;
    if ((flags & VIRTQ_DESC_F_NEXT) === 0) break;
    // 2.7.5: next indexes the same table.
    if (next >= size) return QueueError.NEXT_OUT_OF_RANGE;
    i = next;
  }
  q.lastAvail = (q.lastAvail + 1) & 0xFFFF;
  return QueueError.NONE;
}

/** Return a chain: used.ring[usedIdx % num] = {head, len}, then used.idx (2.7.8.1: the
 * element is written before idx moves; the idx store is an Atomics.store, a release for a
 * driver on another thread). */
export function vqPush(g: GuestMemory, q: Vq, head: number, len: number): void {
  const e = q.device + 4 + 8 * (q.usedIdx & (q.num - 1));
  g.store32(e, head);
  g.store32(e + 4, len);
  q.usedIdx = (q.usedIdx + 1) & 0xFFFF;
  g.store16(q.device + 2, q.usedIdx);
}

/** Host backend (as the core): with EVENT_IDX ask to be notified when entry lastAvail is made
 * available (avail_event, 2.7.10); without it used.flags stays 0: notify every time. */
export function vqSetAvailEvent(g: GuestMemory, q: Vq): void {
  if (q.eventIdx) g.store16(q.device + 4 + 8 * q.num, q.lastAvail);
}

/**
 * Offload backend: ask the driver never to notify (2.7.10), because a worker polls the ring.
 * used.flags = VIRTQ_USED_F_NO_NOTIFY covers a driver without EVENT_IDX. With EVENT_IDX the
 * driver ignores used.flags and notifies when its new idx passes avail_event: Linux's
 * vring_need_event(avail_event, new, old) is (new - avail_event - 1) < (new - old) mod 2^16,
 * that is, avail_event lies in [old, new - 1] from the driver's last kick to its idx now.
 *
 * The worker runs beside the driver, so it may serve the very batch the driver is about to kick
 * for, and write avail_event, between the driver's avail.idx store and its avail_event load.
 * avail_event must therefore stay out of that window whatever lastAvail is then: lastAvail is
 * within one ring (QUEUE_NUM_MAX <= 256 entries) of the driver's `old`, and the window is at
 * most one ring long, so half the index space away from lastAvail (lastAvail + 0x8000) is never
 * in it. (lastAvail - 1, an earlier choice, is in it exactly when the worker has just served
 * that batch: the rare single notify test/hvos-io.test.ts once saw under load.)
 * It must be rewritten each time lastAvail moves, which serving does.
 */
export function vqSuppressNotify(g: GuestMemory, q: Vq): void {
  // Written only when different: the worker calls this on every polling pass.
  if (g.load16(q.device) !== VIRTQ_USED_F_NO_NOTIFY) g.store16(q.device, VIRTQ_USED_F_NO_NOTIFY);
  if (!q.eventIdx) return;
  const at = q.device + 4 + 8 * q.num;
  const ev = (q.lastAvail + NO_NOTIFY_EVENT_DISTANCE) & 0xFFFF;
  if (g.load16(at) !== ev) g.store16(at, ev);
}

/** How far from lastAvail an offload queue's avail_event is kept: half the u16 index space. */
export const NO_NOTIFY_EVENT_DISTANCE = 0x8000;

/**
 * Whether the used entries added since `oldUsed` call for a used buffer notification (2.7.7):
 * with EVENT_IDX when used.idx passed used_event; without, unless VIRTQ_AVAIL_F_NO_INTERRUPT.
 */
export function vqNeedsInterrupt(g: GuestMemory, q: Vq, oldUsed: number): boolean {
  const now = q.usedIdx;
  if (now === oldUsed) return false;
  if (q.eventIdx) {
    const ev = g.load16(q.driver + 4 + 2 * q.num);
    return ((now - ev - 1) & 0xFFFF) < ((now - oldUsed) & 0xFFFF);
  }
  return (g.load16(q.driver) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
}
