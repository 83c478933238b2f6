// The console device, virtio-console (virtio v1.2 section 5.3): device ID 3, served in the
// core (the `core` backend). One port, no MULTIPORT: queue 0 is port 0's receiveq (host input
// to the guest), queue 1 its transmitq (guest output) (5.3.2). It offers VIRTIO_CONSOLE_F_SIZE
// (5.3.3): the configuration space holds the terminal's columns and rows, and a resize is a
// configuration change notification (5.3.6.2: the driver re-reads cols and rows).
//
// The bytes flow through the same rings as the UART's (devices/console.ts): output into the TX
// ring the host drains, input from the RX ring the host fills. While a virtio console exists,
// the RX ring is its alone (consoleClaimRx): the UART and the SBI console see no input.

import { Counter } from '../counter-ids';
import { count, hart, machine, STOP_CONSOLE } from '../state';
import { rxGet, rxPending, txFree, txPut } from '../devices/console';
import { chainCopy } from './chainio';
import { availPending, chain, QueueError, vqPop, vqPush, vqSetAvailEvent, Vq } from './queue';

export const VIRTIO_ID_CONSOLE: u32 = 3;
export const VIRTIO_CONSOLE_F_SIZE: u64 = <u64>1 << 0;
export const CONSOLE_RX_QUEUE: u32 = 0;
export const CONSOLE_TX_QUEUE: u32 = 1;

// Static memory starts zeroed (these initializers are never run): vconsoleDefaultSize sets
// the size a terminal has until the host says otherwise.
@unmanaged class ConsoleState {
  cols: u32 = 0;
  rows: u32 = 0;
  /** Bytes of the transmitq's head chain already copied out when the TX ring filled. */
  txDone: u64 = 0;
  /** The head chain is partly copied: serve the transmitq again once the host has drained. */
  txWaiting: u32 = 0;
}
const con = changetype<ConsoleState>(memory.data(offsetof<ConsoleState>(), 16));
const BUF_BYTES: u64 = 4096;
const BUF = memory.data(<i32>BUF_BYTES, 16);
/** Room kept free in the TX ring for the UART and SBI console (a panic message, say). */
const TX_MARGIN: u32 = 256;

export function vconsoleReset(): void { con.txDone = 0; con.txWaiting = 0; }

/** 80 x 24, unless the host has given a size (Vm.resizeConsole). */
export function vconsoleDefaultSize(): void { if (con.cols == 0) { con.cols = 80; con.rows = 24; } }

export function vconsoleSetSize(cols: u32, rows: u32): void { con.cols = cols & 0xFFFF; con.rows = rows & 0xFFFF; }

/** Whether the transmitq has a partly sent chain to finish (served again from virtioPoll). */
export function vconsoleTxWaiting(): bool { return con.txWaiting != 0; }

/**
 * Configuration space (5.3.4): cols u16 at 0, rows u16 at 2, max_nr_ports u32 at 4 (only
 * meaningful with MULTIPORT, not offered: reads 1), emerg_wr u32 at 8 (F_EMERG_WRITE not
 * offered: reads 0, writes ignored).
 */
export function vconsoleConfigRead(off: u32, size: u32): u32 {
  let v: u64 = 0;
  for (let i: u32 = 0; i < size; i++) {
    const b = off + i;
    let byte: u64 = 0;
    if (b < 2) byte = (<u64>con.cols >> (8 * <u64>b)) & 0xFF;
    else if (b < 4) byte = (<u64>con.rows >> (8 * <u64>(b - 2))) & 0xFF;
    else if (b == 4) byte = 1;
    v |= byte << (8 * <u64>i);
  }
  return <u32>v;
}

/**
 * Serve the transmitq: every readable byte of each chain goes to the host's TX ring (5.3.6.1:
 * the driver places outgoing characters in transmitq; the device consumes them). The used length
 * is 0 (nothing written). If the ring cannot take a whole chain, the part that fits is copied,
 * the chain is put back (vqPop wrote nothing to the guest, so moving lastAvail back is exact)
 * and the core stops with STOP_CONSOLE so the host drains; virtioPoll resumes it.
 */
export function vconsoleTx(q: Vq): QueueError {
  let pending = availPending(q);
  if (pending < 0) return QueueError.AVAIL_JUMP;
  while (pending > 0) {
    const saved = q.lastAvail;
    const err = vqPop(q);
    if (err != QueueError.NONE) { count(Counter.VIRTIO_DESCRIPTORS, chain.descriptors); return err; }
    const total = chain.readable;
    while (con.txDone < total) {
      const free = txFree();
      if (free <= TX_MARGIN) break;
      const n = min(min(total - con.txDone, <u64>(free - TX_MARGIN)), BUF_BYTES);
      const got = chainCopy(con.txDone, BUF, n, false);
      for (let k: u64 = 0; k < got; k++) txPut(<u32>load<u8>(BUF + <usize>k));
      con.txDone += got;
      if (got < n) break;
    }
    if (con.txDone < total) {
      q.lastAvail = saved;
      con.txWaiting = 1;
      machine.stopReason = STOP_CONSOLE;
      hart.chunkBreak = 1;
      return QueueError.NONE;
    }
    count(Counter.VIRTIO_DESCRIPTORS, chain.descriptors);
    count(Counter.VIRTIO_BYTES, total);
    con.txDone = 0;
    con.txWaiting = 0;
    vqPush(q, chain.head, 0);
    pending--;
    if (pending == 0) {
      pending = availPending(q);
      if (pending < 0) return QueueError.AVAIL_JUMP;
    }
  }
  vqSetAvailEvent(q);
  return QueueError.NONE;
}

/**
 * Serve the receiveq: while host input is waiting and the driver has buffers available, fill
 * the next buffer's writable bytes with as much input as fits and return it with that length
 * (5.3.6.1: the driver keeps receiveq supplied; the device places incoming characters there).
 */
export function vconsoleRx(q: Vq): QueueError {
  let pending = availPending(q);
  if (pending < 0) return QueueError.AVAIL_JUMP;
  while (pending > 0 && rxPending() != 0) {
    const err = vqPop(q);
    count(Counter.VIRTIO_DESCRIPTORS, chain.descriptors);
    if (err != QueueError.NONE) return err;
    const n = min(min(<u64>rxPending(), chain.writable), BUF_BYTES);
    for (let k: u64 = 0; k < n; k++) store<u8>(BUF + <usize>k, <u8>rxGet());
    const put = chainCopy(0, BUF, n, true);
    count(Counter.VIRTIO_BYTES, put);
    vqPush(q, chain.head, <u32>put);
    pending--;
    if (pending == 0) {
      pending = availPending(q);
      if (pending < 0) return QueueError.AVAIL_JUMP;
    }
  }
  vqSetAvailEvent(q);
  return QueueError.NONE;
}
