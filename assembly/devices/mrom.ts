// The mask ROM of QEMU's `virt` machine (VIRT_MROM, 0x1000 + 0xf000): QEMU puts its reset vector
// there, followed by the kernel's and the device tree's addresses and the `struct
// fw_dynamic_info` that OpenSBI's fw_dynamic reads through a2 (OpenSBI docs/firmware/
// fw_dynamic.md). The host writes the contents (src/loader/boot.ts); the guest can read them.
//
// hvlab does not fetch instructions from it: the hart starts at the firmware's entry with the
// registers the reset vector would leave (a0 = hart id, a1 = device tree, a2 = the info
// structure at 0x1028), so only data reads reach this device. Writes are ignored, as writes
// to a ROM are on QEMU.

export const MROM_BASE: u64 = 0x1000;
export const MROM_SIZE: u64 = 0xF000;
/** Bytes the host may fill (the reset vector, two addresses and fw_dynamic_info need 88). */
export const MROM_BYTES: u32 = 256;
export const MROM: usize = memory.data(<i32>MROM_BYTES, 8);

/** A read of `size` bytes at `off` (aligned by the bus); past the contents a ROM reads zero. */
export function mromRead(off: u32, size: u32): u64 {
  if (off + size > MROM_BYTES) return 0;
  if (size == 8) return load<u64>(MROM + <usize>off);
  if (size == 4) return <u64>load<u32>(MROM + <usize>off);
  if (size == 2) return <u64>load<u16>(MROM + <usize>off);
  return <u64>load<u8>(MROM + <usize>off);
}
