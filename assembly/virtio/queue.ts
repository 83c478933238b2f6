// Split virtqueues (virtio v1.2 section 2.7), device side. The guest is hostile: everything read
// from its rings is checked before use, every check names the clause it enforces, and a
// violation is a named QueueError, never a host exception and never an access outside guest
// memory (guestmem.ts). The transport (mmio.ts) turns an error into DEVICE_NEEDS_RESET.
//
//   descriptor table  desc    16 * num bytes, 16-aligned    (2.7.5)
//     +0 addr u64   +8 len u32   +12 flags u16   +14 next u16
//   available ring    driver  6 + 2 * num bytes, 2-aligned  (2.7.6)
//     +0 flags u16  +2 idx u16  +4 ring[num] u16  +4+2*num used_event u16 (EVENT_IDX)
//   used ring         device  6 + 8 * num bytes, 4-aligned  (2.7.8)
//     +0 flags u16  +2 idx u16  +4 ring[num] {id u32, len u32}  +4+8*num avail_event u16

import { Counter } from '../counter-ids';
import { count } from '../state';
import { guestLoad16, guestRangeOk, guestStore16, guestStore32 } from './guestmem';
import { guestMem } from './guestmem';
import { QueueError } from './queue-error';

/** The largest queue the devices offer (QueueNumMax); a power of 2 (2.7: split queue sizes are). */
export const QUEUE_NUM_MAX: u32 = 256;
/** The most buffers one chain may hold, indirect tables included (QEMU's VIRTQUEUE_MAX_SIZE). */
export const SEG_MAX: u32 = 1024;

// Descriptor flags (2.7.5) and ring flags (2.7.6, 2.7.8).
export const VIRTQ_DESC_F_NEXT: u32 = 1;
export const VIRTQ_DESC_F_WRITE: u32 = 2;
export const VIRTQ_DESC_F_INDIRECT: u32 = 4;
export const VIRTQ_AVAIL_F_NO_INTERRUPT: u32 = 1;
export const VIRTQ_USED_F_NO_NOTIFY: u32 = 1;

// What a hostile or broken driver did wrong: one list for the core and the TypeScript
// backends (src/io/queue.ts), so both report the same numbers.
export { QueueError };

/** One virtqueue's configuration (set through the transport, 4.2.3.2) and device-side cursors. */
@unmanaged export class Vq {
  num: u32 = 0;
  ready: u32 = 0;
  /** The next avail ring entry to serve and the next used ring entry to fill (free-running u16). */
  lastAvail: u32 = 0;
  usedIdx: u32 = 0;
  /** Negotiated ring features, copied from the transport when the queue is made ready. */
  eventIdx: u32 = 0;
  indirect: u32 = 0;
  desc: u64 = 0;
  driver: u64 = 0;
  device: u64 = 0;
}

export function vqClear(q: Vq): void {
  q.num = 0; q.ready = 0; q.lastAvail = 0; q.usedIdx = 0; q.eventIdx = 0; q.indirect = 0;
  q.desc = 0; q.driver = 0; q.device = 0;
}

/**
 * Whether the queue may be made ready: its size a power of 2 no larger than QueueNumMax (2.7),
 * its three areas aligned as the table of 2.7 requires (16, 2, 4) and wholly in guest memory.
 * Checking once here lets the ring accessors assume in-range addresses; they still go through
 * guestMem, so a VM whose memory map changes cannot make them stray.
 */
export function vqValid(q: Vq): bool {
  const n = <u64>q.num;
  if (n == 0 || n > <u64>QUEUE_NUM_MAX || (n & (n - 1)) != 0) return false;
  if ((q.desc & 15) != 0 || (q.driver & 1) != 0 || (q.device & 3) != 0) return false;
  return guestRangeOk(q.desc, 16 * n) && guestRangeOk(q.driver, 6 + 2 * n) &&
    guestRangeOk(q.device, 6 + 8 * n);
}

// The chain being served: its buffers in order (addr, len, writable), and totals.
const SEG_ADDR: usize = memory.data(<i32>SEG_MAX * 8, 16);
const SEG_LEN: usize = memory.data(<i32>SEG_MAX * 4, 16);
const SEG_WRITE: usize = memory.data(<i32>SEG_MAX, 16);
const DESC_BUF: usize = memory.data(16, 16);

@unmanaged class Chain {
  /** The descriptor index that heads the chain: the id of its used element. */
  head: u32 = 0;
  count: u32 = 0;
  /** Descriptors read, the indirect-table ones included (for VIRTIO_DESCRIPTORS). */
  descriptors: u32 = 0;
  readable: u64 = 0;
  writable: u64 = 0;
}
export const chain = changetype<Chain>(memory.data(offsetof<Chain>(), 16));

@inline export function segAddr(i: u32): u64 { return load<u64>(SEG_ADDR + (<usize>i << 3)); }
@inline export function segLen(i: u32): u32 { return load<u32>(SEG_LEN + (<usize>i << 2)); }
@inline export function segWritable(i: u32): bool { return load<u8>(SEG_WRITE + <usize>i) != 0; }

/** avail.idx as the driver last wrote it (2.7.6). */
export function availIdx(q: Vq): u32 { return guestLoad16(q.driver + 2); }

/**
 * Entries the driver has made available and the device not yet served, or -1 for AVAIL_JUMP:
 * the driver can have at most `num` buffers outstanding, so a larger distance is a corrupt or
 * malicious idx (2.7.6, 2.7.13.3). Serving it would make the device reread stale entries as if
 * new and write more used entries than the ring holds, overwriting ones the driver has not seen.
 */
export function availPending(q: Vq): i32 {
  const pending = (availIdx(q) - q.lastAvail) & 0xFFFF;
  return pending > q.num ? -1 : <i32>pending;
}

/** Read the 16-byte descriptor at guest address `d` into DESC_BUF; false if not guest RAM. */
function readDesc(d: u64): bool {
  // A descriptor of an aligned table never crosses a page; an indirect table need not be
  // aligned (2.7.5.3 asks no alignment), so fall back to two halves.
  let h = guestMem(d, 16);
  if (h != 0) { memory.copy(DESC_BUF, h, 16); return true; }
  h = guestMem(d, 8);
  const h2 = guestMem(d + 8, 8);
  if (h == 0 || h2 == 0) return false;
  store<u64>(DESC_BUF, load<u64>(h));
  store<u64>(DESC_BUF + 8, load<u64>(h2));
  return true;
}

/**
 * Take the next available chain (the head at avail.ring[lastAvail % num]) and walk it into the
 * segment list (`chain`, segAddr/segLen/segWritable). Advances lastAvail when the chain is
 * good. The caller has checked availPending(q) > 0. Nothing is written to guest memory.
 */
export function vqPop(q: Vq): QueueError {
  const head = guestLoad16(q.driver + 4 + 2 * <u64>(q.lastAvail & (q.num - 1)));
  chain.head = head; chain.count = 0; chain.descriptors = 0; chain.readable = 0; chain.writable = 0;
  // 2.7.5: the table holds `num` descriptors; a head past it would read beyond the table.
  if (head >= q.num) return QueueError.HEAD_OUT_OF_RANGE;
  let table = q.desc;
  let size = q.num;
  let i = head;
  let steps: u32 = 0;
  let inIndirect = false;
  while (true) {
    // 2.7.5.2: loops are forbidden; 2.7.5.3.1: a chain is no longer than the table it lives in.
    // Bounding the walk by the table size stops both a loop and an overlong chain.
    if (++steps > size) return QueueError.CHAIN_TOO_LONG;
    if (!readDesc(table + 16 * <u64>i)) return QueueError.OUTSIDE_MEMORY;
    chain.descriptors++;
    const addr = load<u64>(DESC_BUF);
    const len = load<u32>(DESC_BUF, 8);
    const flags = <u32>load<u16>(DESC_BUF, 12);
    const next = <u32>load<u16>(DESC_BUF, 14);
    if ((flags & VIRTQ_DESC_F_INDIRECT) != 0) {
      // 2.7.5.3.1: only with the feature, never nested, never together with NEXT.
      if (q.indirect == 0) return QueueError.INDIRECT_NOT_NEGOTIATED;
      if (inIndirect) return QueueError.INDIRECT_NESTED;
      if ((flags & VIRTQ_DESC_F_NEXT) != 0) return QueueError.INDIRECT_WITH_NEXT;
      // 2.7.5.3: the table holds len / 16 descriptors.
      if (len == 0 || (len & 15) != 0) return QueueError.INDIRECT_BAD_SIZE;
      // 2.7.5: addr is a guest-physical address; the whole table must be guest RAM.
      if (!guestRangeOk(addr, <u64>len)) return QueueError.OUTSIDE_MEMORY;
      // 2.7.5.3.2: the WRITE flag of the descriptor naming the table is ignored.
      table = addr;
      size = len >> 4;
      i = 0;
      steps = 0;
      inIndirect = true;
      continue;
    }
    // 2.7.5: the buffer [addr, addr + len) must be guest memory: the device will read or write it.
    if (!guestRangeOk(addr, <u64>len)) return QueueError.OUTSIDE_MEMORY;
    const w = (flags & VIRTQ_DESC_F_WRITE) != 0;
    if (w) {
      chain.writable += len;
    } else {
      // 2.7.4.2: device-writable buffers come after all device-readable ones.
      if (chain.writable != 0) return QueueError.READABLE_AFTER_WRITABLE;
      chain.readable += len;
    }
    // 2.7.5.2: no chain longer than 2^32 bytes in total.
    if (chain.readable + chain.writable > 0xFFFF_FFFF) return QueueError.CHAIN_TOO_BIG;
    if (chain.count >= SEG_MAX) return QueueError.CHAIN_TOO_LONG;
    store<u64>(SEG_ADDR + (<usize>chain.count << 3), addr);
    store<u32>(SEG_LEN + (<usize>chain.count << 2), len);
    store<u8>(SEG_WRITE + <usize>chain.count, w ? 1 : 0);
    chain.count++;
    if ((flags & VIRTQ_DESC_F_NEXT) == 0) break;
    // 2.7.5: next indexes the same table.
    if (next >= size) return QueueError.NEXT_OUT_OF_RANGE;
    i = next;
  }
  q.lastAvail = (q.lastAvail + 1) & 0xFFFF;
  return QueueError.NONE;
}

/**
 * Return a chain to the driver: used.ring[usedIdx % num] = {head, len}, then used.idx (2.7.8.1:
 * the element, len included, is written before idx moves).
 */
export function vqPush(q: Vq, head: u32, len: u32): void {
  const e = q.device + 4 + 8 * <u64>(q.usedIdx & (q.num - 1));
  guestStore32(e, head);
  guestStore32(e + 4, len);
  q.usedIdx = (q.usedIdx + 1) & 0xFFFF;
  guestStore16(q.device + 2, q.usedIdx);
}

/**
 * Serve every available chain of `q` with `device`, which handles the chain just taken
 * (`chain`) and returns its used length, or -1 for a request it cannot answer at all
 * (BAD_REQUEST). Stops at the first error (the transport then needs a reset); at the end asks
 * for the next notification (vqSetAvailEvent).
 */
export function vqServeAll(q: Vq, device: () => i64): QueueError {
  let pending = availPending(q);
  if (pending < 0) return QueueError.AVAIL_JUMP;
  while (pending > 0) {
    const err = vqPop(q);
    count(Counter.VIRTIO_DESCRIPTORS, chain.descriptors);
    if (err != QueueError.NONE) return err;
    const used = device();
    if (used < 0) return QueueError.BAD_REQUEST;
    vqPush(q, chain.head, <u32>used);
    pending--;
    // The driver may have added more while we served (not in the core backend: the vCPU is
    // stopped; kept so the loop is right for a device that runs beside the guest).
    if (pending == 0) {
      pending = availPending(q);
      if (pending < 0) return QueueError.AVAIL_JUMP;
    }
  }
  vqSetAvailEvent(q);
  return QueueError.NONE;
}

/**
 * With VIRTIO_F_EVENT_IDX, tell the driver to notify again once it makes entry `lastAvail`
 * available: avail_event (2.7.10). Without it the device asks for every notification (used.flags
 * stays 0, 2.7.10).
 */
export function vqSetAvailEvent(q: Vq): void {
  if (q.eventIdx != 0) guestStore16(q.device + 4 + 8 * <u64>q.num, q.lastAvail);
}

/**
 * Tell the driver not to notify (2.7.10): VIRTQ_USED_F_NO_NOTIFY in used.flags, and with
 * EVENT_IDX avail_event = lastAvail + 0x8000, half the index space away, which the driver's
 * window [old kick, new idx) never reaches (it is at most a ring long; src/io/queue.ts says why
 * lastAvail - 1 would race with the worker). For a queue the offload worker polls; written when
 * the queue is made ready, so even the driver's first request needs no kick (the worker keeps
 * it up to date from then on, src/io/queue.ts).
 */
export function vqSuppressNotify(q: Vq): void {
  guestStore16(q.device, VIRTQ_USED_F_NO_NOTIFY);
  if (q.eventIdx != 0) guestStore16(q.device + 4 + 8 * <u64>q.num, (q.lastAvail + 0x8000) & 0xFFFF);
}

/**
 * Whether the used entries added since `oldUsed` call for a used buffer notification (2.7.7):
 * with EVENT_IDX, when used.idx passed used_event (the driver's "interrupt me after entry
 * used_event"); without it, unless the driver set VIRTQ_AVAIL_F_NO_INTERRUPT.
 */
export function vqNeedsInterrupt(q: Vq, oldUsed: u32): bool {
  const now = q.usedIdx;
  if (now == oldUsed) return false;
  if (q.eventIdx != 0) {
    const ev = guestLoad16(q.driver + 4 + 2 * <u64>q.num);
    return ((now - ev - 1) & 0xFFFF) < ((now - oldUsed) & 0xFFFF);
  }
  return (guestLoad16(q.driver) & VIRTQ_AVAIL_F_NO_INTERRUPT) == 0;
}
