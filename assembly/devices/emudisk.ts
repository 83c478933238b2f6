// emudisk: a deliberately old-fashioned disk controller (DESIGN.md "I/O paths"). Like the ATA
// PIO interface of fully emulated IDE, the driver writes a sector number, a count and a
// command into registers, then moves the data through a 4-byte data port, one word per access.
// Under a hypervisor every access is an MMIO exit, so a 1 MiB read costs 262144 exits: the
// contrast virtio-blk exists to remove. hvlab only (not in QEMU's virt); the device tree
// describes it as `emudisk@10009000`, compatible "hvlab,emudisk". No interrupt: the driver
// polls STATUS, as a PIO driver does. Registers, 32 bits wide (other sizes fault):
//
//   0x00 MAGIC    R   0x4B534445 ("EDSK")
//   0x04 CAPACITY R   disk size in 512-byte sectors (low 32 bits)
//   0x08 SECTOR   RW  first sector of the transfer
//   0x0C COUNT    RW  sectors to transfer, 1..256
//   0x10 COMMAND  RW  1 READ, 2 WRITE, 3 FLUSH, 0 ABORT; reads back the last command
//   0x14 STATUS   R   bit 0 DRQ (the data port has data to read / wants data), bit 1 ERR
//   0x18 DATA     RW  the next 4 bytes of the transfer, little-endian
//   0x1C ERROR    R   0 none, 1 beyond capacity, 2 bad command, 3 bad count, 4 data without DRQ
//
// A command clears ERR and ERROR; a bad one sets them and transfers nothing. Using the data
// port against the transfer's direction, or with none under way, sets ERR (error 4) and ends it. A WRITE stores
// each word into the image as it arrives, so a transfer cut short (ABORT, a new command) has
// written the words it received. The image is devices/disk.ts's, shared with virtio-blk.

import { Counter } from '../counter-ids';
import { count } from '../state';
import { disk, diskAt, diskSectors, SECTOR } from './disk';

export const EMUDISK_BASE: u64 = 0x1000_9000;
export const EMUDISK_SIZE: u64 = 0x1000;
const MAGIC: u32 = 0x4B53_4445;

const REG_MAGIC: u32 = 0x00;
const REG_CAPACITY: u32 = 0x04;
const REG_SECTOR: u32 = 0x08;
const REG_COUNT: u32 = 0x0C;
const REG_COMMAND: u32 = 0x10;
const REG_STATUS: u32 = 0x14;
const REG_DATA: u32 = 0x18;
const REG_ERROR: u32 = 0x1C;

const CMD_ABORT: u32 = 0;
const CMD_READ: u32 = 1;
const CMD_WRITE: u32 = 2;
const CMD_FLUSH: u32 = 3;
const STATUS_DRQ: u32 = 1;
const STATUS_ERR: u32 = 2;
const ERR_RANGE: u32 = 1;
const ERR_COMMAND: u32 = 2;
const ERR_COUNT: u32 = 3;
const ERR_NO_DRQ: u32 = 4;
const MAX_COUNT: u32 = 256;

@unmanaged class Emudisk {
  /** Whether the machine has the device (VmConfig: a disk on the emulated I/O path). */
  present: u32 = 0;
  sector: u32 = 0;
  count: u32 = 0;
  command: u32 = 0;
  status: u32 = 0;
  error: u32 = 0;
  /** The transfer under way: image byte offset of the next word, and bytes left. */
  pos: u64 = 0;
  left: u64 = 0;
}
const ed = changetype<Emudisk>(memory.data(offsetof<Emudisk>(), 16));

export function emudiskPresent(): bool { return ed.present != 0 && disk.bytes != 0; }
export function emudiskSetPresent(on: bool): void { ed.present = on ? 1 : 0; emudiskReset(); }

export function emudiskReset(): void {
  ed.sector = 0; ed.count = 0; ed.command = 0; ed.status = 0; ed.error = 0; ed.pos = 0; ed.left = 0;
}

function fail(error: u32): void {
  ed.status = STATUS_ERR;
  ed.error = error;
  ed.left = 0;
}

function command(cmd: u32): void {
  ed.command = cmd;
  ed.status = 0;
  ed.error = 0;
  ed.left = 0;
  count(Counter.EMUDISK_COMMANDS);
  if (cmd == CMD_ABORT || cmd == CMD_FLUSH) return; // the image is memory: nothing to flush
  if (cmd != CMD_READ && cmd != CMD_WRITE) { fail(ERR_COMMAND); return; }
  if (ed.count == 0 || ed.count > MAX_COUNT) { fail(ERR_COUNT); return; }
  if (<u64>ed.sector + <u64>ed.count > diskSectors()) { fail(ERR_RANGE); return; }
  ed.pos = <u64>ed.sector * SECTOR;
  ed.left = <u64>ed.count * SECTOR;
  ed.status = STATUS_DRQ;
}

/** The data port: one word of the transfer; false if there is no transfer of that direction. */
function dataWord(write: bool, v: u32): u32 {
  if ((ed.status & STATUS_DRQ) == 0 || (ed.command == CMD_WRITE) != write) {
    fail(ERR_NO_DRQ); // a transfer under way ends: the driver has lost track of it
    return 0;
  }
  const h = diskAt(ed.pos, 4);
  let r: u32 = 0;
  if (h != 0) { // always, by command()'s range check; checked again so nothing strays
    if (write) store<u32>(h, v); else r = load<u32>(h);
  }
  count(Counter.EMUDISK_BYTES, 4);
  ed.pos += 4;
  ed.left -= 4;
  if (ed.left == 0) ed.status &= ~STATUS_DRQ;
  return r;
}

export function emudiskRead(off: u32): u32 {
  count(Counter.MMIO_EMUDISK_READS);
  switch (off) {
    case REG_MAGIC: return MAGIC;
    case REG_CAPACITY: return <u32>min(diskSectors(), <u64>0xFFFF_FFFF);
    case REG_SECTOR: return ed.sector;
    case REG_COUNT: return ed.count;
    case REG_COMMAND: return ed.command;
    case REG_STATUS: return ed.status;
    case REG_DATA: return dataWord(false, 0);
    case REG_ERROR: return ed.error;
  }
  return 0;
}

export function emudiskWrite(off: u32, v: u32): void {
  count(Counter.MMIO_EMUDISK_WRITES);
  switch (off) {
    case REG_SECTOR: ed.sector = v; return;
    case REG_COUNT: ed.count = v; return;
    case REG_COMMAND: command(v); return;
    case REG_DATA: dataWord(true, v); return;
  }
}
