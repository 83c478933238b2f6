// The MMIO bus: physical addresses outside RAM, routed to the device that owns them. A device
// sees only the offset into its own range (as in Firecracker). An access no device claims, or
// one a device cannot take (wrong size, misaligned), is an access fault for the guest.
//
//   0x0000_1000  mask ROM        0xF000       (reads only: the reset vector and fw_dynamic_info)
//   0x0010_0000  SiFive test     0x1000       0x1000_0000  UART 16550A   0x100
//   0x0200_0000  CLINT           0x1_0000     0x1000_1000  virtio-mmio   8 x 0x1000
//   0x0C00_0000  PLIC            0x60_0000    0x1000_9000  emudisk       0x1000 (when present)
//                                             0x8000_0000  RAM (not here: mmu/access.ts)

import { clintRead, clintWrite } from './clint';
import { plicRead, plicWrite } from './plic';
import { testRead, testWrite } from './testdev';
import { uartRead, uartWrite } from './uart';
import { virtioAccessOk, virtioRead, virtioWrite } from '../virtio/mmio';
import { mromRead, MROM_BASE, MROM_SIZE } from './mrom';
import { emudiskPresent, emudiskRead, emudiskWrite, EMUDISK_BASE, EMUDISK_SIZE } from './emudisk';
export { EMUDISK_BASE, EMUDISK_SIZE };

export const TEST_BASE: u64 = 0x0010_0000;
export const TEST_SIZE: u64 = 0x1000;
export const CLINT_BASE: u64 = 0x0200_0000;
export const CLINT_SIZE: u64 = 0x1_0000;
export const PLIC_BASE: u64 = 0x0C00_0000;
export const PLIC_SIZE: u64 = 0x60_0000;
export const UART_BASE: u64 = 0x1000_0000;
export const UART_SIZE: u64 = 0x100;
export const VIRTIO_BASE: u64 = 0x1000_1000;
export const VIRTIO_STRIDE: u64 = 0x1000;
export const VIRTIO_SLOTS: u64 = 8;

/** Result of an MMIO read when no device takes it; the caller raises an access fault. */
export const MMIO_NONE: u32 = 0;
export const MMIO_OK: u32 = 1;

@unmanaged class BusResult { value: u64 = 0; }
export const busResult = changetype<BusResult>(memory.data(offsetof<BusResult>(), 16));

@inline function within(pa: u64, base: u64, size: u64): bool { return pa - base < size; }

/** Read `size` bytes at `pa`; the value is left in busResult.value. */
export function mmioRead(pa: u64, size: u32): u32 {
  if ((pa & <u64>(size - 1)) != 0) return MMIO_NONE;
  if (within(pa, UART_BASE, UART_SIZE)) {
    if (size != 1) return MMIO_NONE;
    busResult.value = uartRead(<u32>(pa - UART_BASE));
    return MMIO_OK;
  }
  if (within(pa, CLINT_BASE, CLINT_SIZE)) {
    if (size < 4) return MMIO_NONE;
    busResult.value = clintRead(<u32>(pa - CLINT_BASE), size);
    return MMIO_OK;
  }
  if (within(pa, PLIC_BASE, PLIC_SIZE)) {
    if (size != 4) return MMIO_NONE;
    busResult.value = plicRead(<u32>(pa - PLIC_BASE));
    return MMIO_OK;
  }
  if (within(pa, VIRTIO_BASE, VIRTIO_STRIDE * VIRTIO_SLOTS)) {
    const off = <u32>((pa - VIRTIO_BASE) & (VIRTIO_STRIDE - 1));
    if (!virtioAccessOk(off, size)) return MMIO_NONE;
    busResult.value = virtioRead(<u32>((pa - VIRTIO_BASE) / VIRTIO_STRIDE), off, size);
    return MMIO_OK;
  }
  if (within(pa, EMUDISK_BASE, EMUDISK_SIZE) && emudiskPresent()) {
    if (size != 4) return MMIO_NONE;
    busResult.value = emudiskRead(<u32>(pa - EMUDISK_BASE));
    return MMIO_OK;
  }
  if (within(pa, TEST_BASE, TEST_SIZE)) {
    busResult.value = testRead();
    return MMIO_OK;
  }
  if (within(pa, MROM_BASE, MROM_SIZE)) {
    busResult.value = mromRead(<u32>(pa - MROM_BASE), size);
    return MMIO_OK;
  }
  return MMIO_NONE;
}

export function mmioWrite(pa: u64, size: u32, v: u64): u32 {
  if ((pa & <u64>(size - 1)) != 0) return MMIO_NONE;
  if (within(pa, UART_BASE, UART_SIZE)) {
    if (size != 1) return MMIO_NONE;
    uartWrite(<u32>(pa - UART_BASE), <u32>v);
    return MMIO_OK;
  }
  if (within(pa, CLINT_BASE, CLINT_SIZE)) {
    if (size < 4) return MMIO_NONE;
    clintWrite(<u32>(pa - CLINT_BASE), size, v);
    return MMIO_OK;
  }
  if (within(pa, PLIC_BASE, PLIC_SIZE)) {
    if (size != 4) return MMIO_NONE;
    plicWrite(<u32>(pa - PLIC_BASE), <u32>v);
    return MMIO_OK;
  }
  if (within(pa, VIRTIO_BASE, VIRTIO_STRIDE * VIRTIO_SLOTS)) {
    const off = <u32>((pa - VIRTIO_BASE) & (VIRTIO_STRIDE - 1));
    if (!virtioAccessOk(off, size)) return MMIO_NONE;
    virtioWrite(<u32>((pa - VIRTIO_BASE) / VIRTIO_STRIDE), off, size, <u32>v);
    return MMIO_OK;
  }
  if (within(pa, EMUDISK_BASE, EMUDISK_SIZE) && emudiskPresent()) {
    if (size != 4) return MMIO_NONE;
    emudiskWrite(<u32>(pa - EMUDISK_BASE), <u32>v);
    return MMIO_OK;
  }
  if (within(pa, TEST_BASE, TEST_SIZE)) {
    // 16- and 32-bit writes, as QEMU's sifive_test takes them: OpenSBI's driver writes the
    // 16-bit status alone (writew(FINISHER_PASS)), the code then being 0.
    if (size != 4 && size != 2) return MMIO_NONE;
    testWrite(<u32>(pa - TEST_BASE), <u32>v);
    return MMIO_OK;
  }
  // A ROM ignores writes (QEMU's memory_region_init_rom behaves so).
  if (within(pa, MROM_BASE, MROM_SIZE)) return MMIO_OK;
  return MMIO_NONE;
}
