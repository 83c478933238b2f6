// An empty virtio-mmio slot (virtio v1.2 section 4.2.2: device ID 0, "no device"): the magic
// value, version 2, the vendor, and zero for everything else; writes are ignored. The slots'
// transport (assembly/virtio/mmio.ts) answers with this for every slot no device was put in,
// so a machine without virtio devices looks exactly as it did before they existed.

const MAGIC_VALUE: u32 = 0x74726976; // "virt"
const REG_MAGIC: u32 = 0x000;
const REG_VERSION: u32 = 0x004;
const REG_VENDOR_ID: u32 = 0x00C;
export const VENDOR_HVLAB: u32 = 0x484C5642; // "BVLH" little-endian: hvlab

/** A read of an empty slot, or of the identification registers of any slot. */
export function emptySlotRead(off: u32): u32 {
  if (off == REG_MAGIC) return MAGIC_VALUE;
  if (off == REG_VERSION) return 2;
  if (off == REG_VENDOR_ID) return VENDOR_HVLAB;
  return 0;
}
