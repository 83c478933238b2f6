// The block device, virtio-blk (virtio v1.2 section 5.2): device ID 2, one request queue,
// served in the core (the `core` backend). The disk is devices/disk.ts's image.
//
// A request (5.2.6) is a chain: a device-readable header {type u32, reserved u32, sector u64},
// for a write the data (readable), for a read the data buffers (writable), and last one
// device-writable status byte. Fields may be split across descriptors any way (2.6.4), so
// everything moves through chainCopy.

import { Counter } from '../counter-ids';
import { count } from '../state';
import { chainCopy } from './chainio';
import { chain, QueueError, vqServeAll, Vq } from './queue';
import { diskAt, diskSectors, SECTOR } from '../devices/disk';

export const VIRTIO_ID_BLOCK: u32 = 2;

// Feature bits (5.2.3).
export const VIRTIO_BLK_F_BLK_SIZE: u64 = <u64>1 << 6;
export const VIRTIO_BLK_F_FLUSH: u64 = <u64>1 << 9;

// Request types and status values (5.2.6).
const T_IN: u32 = 0;
const T_OUT: u32 = 1;
const T_FLUSH: u32 = 4;
const T_GET_ID: u32 = 8;
const S_OK: u8 = 0;
const S_IOERR: u8 = 1;
const S_UNSUPP: u8 = 2;

/** 5.2.6: GET_ID returns up to 20 bytes of identifier, NUL padded. */
const ID_BYTES: u32 = 20;
const ID = memory.data<u8>([0x68, 0x76, 0x6c, 0x61, 0x62, 0x2d, 0x64, 0x69, 0x73, 0x6b,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // "hvlab-disk"
const HDR = memory.data(16, 8);
const STATUS = memory.data(1, 1);

/**
 * Configuration space (5.2.4), read `size` bytes at `off`: capacity u64 at 0 (512-byte
 * sectors), blk_size u32 at 20 (VIRTIO_BLK_F_BLK_SIZE: 512). Other fields read 0.
 */
export function blkConfigRead(off: u32, size: u32): u32 {
  const cap = diskSectors();
  let v: u64 = 0;
  // Assemble the bytes of the little-endian structure the access covers.
  for (let i: u32 = 0; i < size; i++) {
    const b = off + i;
    let byte: u64 = 0;
    if (b < 8) byte = (cap >> (8 * <u64>b)) & 0xFF;
    else if (b >= 20 && b < 24) byte = (SECTOR >> (8 * <u64>(b - 20))) & 0xFF;
    v |= byte << (8 * <u64>i);
  }
  return <u32>v;
}

/**
 * Serve one request already popped into `chain`. Returns false for a request with no whole
 * header or no status byte (5.2.6: the driver MUST supply both), which cannot be answered; the
 * transport then needs a reset, as QEMU's virtio_error("virtio-blk missing headers") does.
 */
function serveOne(): bool {
  const writable = chain.writable;
  if (writable == 0 || chain.readable < 16) return false;
  chainCopy(0, HDR, 16, false);
  const type = load<u32>(HDR);
  const sector = load<u64>(HDR, 8);
  const statusOff = writable - 1;
  let status = S_OK;
  if (type == T_IN || type == T_OUT) {
    // 5.2.6.1: data is a whole number of 512-byte sectors; 5.2.6.2: the device fails a
    // request beyond the capacity with IOERR, touching nothing.
    const len = type == T_IN ? statusOff : chain.readable - 16;
    const h: usize = sector > diskSectors() ? 0 : diskAt(sector * SECTOR, len);
    if ((len & (SECTOR - 1)) != 0 || h == 0) {
      status = S_IOERR;
    } else {
      if (type == T_IN) chainCopy(0, h, len, true);
      else chainCopy(16, h, len, false);
      count(Counter.VIRTIO_BYTES, len);
    }
  } else if (type == T_FLUSH) {
    // The image is memory: a flush has nothing to wait for. The host writes a file-backed
    // image back when the run ends (src/cli/run.ts).
  } else if (type == T_GET_ID) {
    chainCopy(0, ID, min(<u64>ID_BYTES, statusOff), true);
  } else {
    status = S_UNSUPP; // 5.2.6.2: an unknown type is answered UNSUPP
  }
  store<u8>(STATUS, status);
  chainCopy(statusOff, STATUS, 1, true);
  count(Counter.VIRTIO_BLK_REQUESTS);
  return true;
}

/** Serve every available request. */
export function blkServe(q: Vq): QueueError { return vqServeAll(q, blkChain); }

function blkChain(): i64 {
  if (!serveOne()) return -1;
  // The used length is every device-writable byte (data, ID and status), as QEMU reports it;
  // 2.7.8.1 only asks that it not be less than what was written.
  return <i64>chain.writable;
}
