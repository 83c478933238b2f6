// The eight virtio-mmio slots of the QEMU `virt` machine (0x1000_1000 + n * 0x1000). Until the
// virtio devices land they answer as an empty slot does (virtio v1.2 section 4.2.2): the magic
// value, version 2, device ID 0 ("no device"), and zero for everything else; writes are ignored.

import { Counter } from '../counter-ids';
import { count } from '../state';

const MAGIC_VALUE: u32 = 0x74726976; // "virt"
const REG_MAGIC: u32 = 0x000;
const REG_VERSION: u32 = 0x004;
const REG_VENDOR_ID: u32 = 0x00C;
const VENDOR_HVLAB: u32 = 0x484C5642; // "BVLH" little-endian: hvlab

export function virtioRead(off: u32): u32 {
  count(Counter.MMIO_VIRTIO_READS);
  if (off == REG_MAGIC) return MAGIC_VALUE;
  if (off == REG_VERSION) return 2;
  if (off == REG_VENDOR_ID) return VENDOR_HVLAB;
  return 0;
}

export function virtioWrite(): void {
  count(Counter.MMIO_VIRTIO_WRITES);
}
