/**
 * The block device (virtio v1.2 5.2) for the host and offload backends: device ID 2, one
 * request queue, the disk image in the core's linear memory at [diskPtr, diskPtr + diskBytes).
 *
 *   request = header (device-readable)  {type u32, reserved u32, sector u64}     (5.2.6)
 *             data   (readable for T_OUT, writable for T_IN / T_GET_ID)
 *             status (the last device-writable byte)
 *
 * Types: T_IN 0 reads sectors into the writable data, T_OUT 1 writes the readable data,
 * T_FLUSH 4 (nothing is cached: the image is memory), T_GET_ID 8 (20 bytes, "hvlab-disk" NUL
 * padded, 5.2.6.1: no NUL when it fills all 20). Status OK 0; IOERR 1 for data that is not a
 * whole number of 512-byte sectors or reaches past the capacity (or no disk at all); UNSUPP 2
 * for other types. The used length is every device-writable byte of the chain, as QEMU 7.2 and
 * the core's blk.ts report it (2.7.8.1 asks only that it not be less than what was written).
 * A chain without a whole header or without a writable status byte cannot even be answered:
 * it is the driver's error (5.2.6.1 "the driver MUST"), like a queue error.
 */
import { readInto, readable, writable, writeFrom } from './chain-io.js';
import type { Chain } from './queue.js';
import type { GuestMemory } from './memory.js';

export const SECTOR = 512;
export const BLK_T_IN = 0;
export const BLK_T_OUT = 1;
export const BLK_T_FLUSH = 4;
export const BLK_T_GET_ID = 8;
export const BLK_S_OK = 0;
export const BLK_S_IOERR = 1;
export const BLK_S_UNSUPP = 2;
export const BLK_ID_BYTES = 20;
const HEADER = 16;
const ID = new TextEncoder().encode('hvlab-disk');

export interface Disk { lin: number; bytes: number }

/** What one request did: its used length (-1 for a request that cannot be answered) and the
 * data bytes moved (VIRTIO_BYTES). */
export interface BlkResult { used: number; moved: number }

const header = new Uint8Array(HEADER);
const headerView = new DataView(header.buffer);
const statusByte = new Uint8Array(1);

export function blkChain(g: GuestMemory, c: Chain, disk: Disk): BlkResult {
  if (c.readable < HEADER || c.writable < 1) return { used: -1, moved: 0 };
  readInto(g, c, 0, header);
  const type = headerView.getUint32(0, true);
  const sector = headerView.getBigUint64(8, true);
  const capacity = BigInt(Math.floor(disk.bytes / SECTOR));
  const u8 = g.mem.u8;
  const statusAt = c.writable - 1;
  const finish = (status: number, moved: number): BlkResult => {
    statusByte[0] = status;
    writeFrom(g, c, statusAt, statusByte);
    return { used: c.writable, moved };
  };
  // Data that is whole sectors and lies within the disk: its linear address, or -1. In BigInt:
  // a hostile sector near 2^64 must not wrap into range.
  const span = (len: number): number => {
    if (disk.bytes === 0 || len % SECTOR !== 0 || sector + BigInt(len / SECTOR) > capacity) return -1;
    return disk.lin + Number(sector) * SECTOR;
  };
  switch (type) {
    case BLK_T_IN: {
      const len = c.writable - 1;
      const at = span(len);
      if (at < 0) return finish(BLK_S_IOERR, 0);
      writable(g, c, 0, len, (lin, n, d) => u8.copyWithin(lin, at + d, at + d + n));
      return finish(BLK_S_OK, len);
    }
    case BLK_T_OUT: {
      const len = c.readable - HEADER;
      const at = span(len);
      if (at < 0) return finish(BLK_S_IOERR, 0);
      readable(g, c, HEADER, len, (lin, n, d) => u8.copyWithin(at + d, lin, lin + n));
      return finish(BLK_S_OK, len);
    }
    case BLK_T_FLUSH:
      return finish(BLK_S_OK, 0);
    case BLK_T_GET_ID: {
      const n = Math.min(BLK_ID_BYTES, c.writable - 1);
      const id = new Uint8Array(BLK_ID_BYTES);
      id.set(ID);
      writeFrom(g, c, 0, id.subarray(0, n));
      return finish(BLK_S_OK, 0);
    }
    default:
      return finish(BLK_S_UNSUPP, 0);
  }
}
