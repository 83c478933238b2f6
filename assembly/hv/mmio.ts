// MMIO on behalf of a guest: the hypervisor decodes the load or store that faulted on a
// device's guest-physical address and performs it on the device model (a light exit: the
// device lives in the core). Guests see the devices at the same addresses as the machine has
// them; the CLINT is the firmware's and hypervisor's own, so a guest may read it but its
// writes are ignored (guests program timers through SBI TIME).

import { Counter } from '../counter-ids';
import { count, rget, rset } from '../state';
import { busResult, mmioRead, mmioWrite, MMIO_NONE, CLINT_BASE, CLINT_SIZE, EMUDISK_BASE, EMUDISK_SIZE,
  PLIC_BASE, PLIC_SIZE, TEST_BASE, TEST_SIZE, UART_BASE, UART_SIZE, VIRTIO_BASE, VIRTIO_SLOTS,
  VIRTIO_STRIDE } from '../devices/bus';
import { extendLoad } from '../mmu/access';
import { fpLoadEmulated, fpStoreValue } from '../cpu/fpu';
import { hostExitPending, inHostWindow, requestHostExit } from './hostio';
import { virtioDeviceId } from '../virtio/mmio';
import { VIRTIO_ID_RNG } from '../virtio/rng';
import { VIRTIO_ID_BLOCK } from '../virtio/blk';
import { VIRTIO_ID_CONSOLE } from '../virtio/vconsole';

/** A virtio register access, counted per device; a notification the host backend serves is a
 * heavy exit (EXIT_HOST) rather than a light one. */
function countVirtio(gpa: u64): void {
  const id = virtioDeviceId(<u32>((gpa - VIRTIO_BASE) / VIRTIO_STRIDE));
  if (id == VIRTIO_ID_RNG) count(Counter.VIRTIO_EXITS_RNG);
  else if (id == VIRTIO_ID_CONSOLE) count(Counter.VIRTIO_EXITS_CONSOLE);
  else if (id == VIRTIO_ID_BLOCK) count(Counter.VIRTIO_EXITS_BLOCK);
  count(hostExitPending() ? Counter.EXIT_HOST : Counter.EXIT_MMIO_VIRTIO);
}

const OP_LOAD: u32 = 0x03;
const OP_STORE: u32 = 0x23;
// FLW/FLD and FSW/FSD (funct3 2 and 3): they reached here, so the FP unit was enabled.
const OP_LOAD_FP: u32 = 0x07;
const OP_STORE_FP: u32 = 0x27;
@inline function fpWidth(f3: u32): bool { return f3 == 2 || f3 == 3; }

/** Count an MMIO exit by device (once the access has succeeded: a refused one is a fault). */
function countDevice(gpa: u64): bool {
  if (gpa - UART_BASE < UART_SIZE) count(Counter.EXIT_MMIO_UART);
  else if (gpa - PLIC_BASE < PLIC_SIZE) count(Counter.EXIT_MMIO_PLIC);
  else if (gpa - CLINT_BASE < CLINT_SIZE) count(Counter.EXIT_MMIO_CLINT);
  else if (gpa - VIRTIO_BASE < VIRTIO_STRIDE * VIRTIO_SLOTS) countVirtio(gpa);
  else if (gpa - TEST_BASE < TEST_SIZE) count(Counter.EXIT_MMIO_TEST);
  else if (gpa - EMUDISK_BASE < EMUDISK_SIZE) count(Counter.EXIT_MMIO_EMUDISK);
  else return false;
  return true;
}

/**
 * Emulate the load or store `inst` to device address `gpa`. Returns false if it is not a
 * plain load or store, or no device answers: the caller reflects an access fault.
 */
export function emulateMmio(inst: u32, gpa: u64): bool {
  // A device the host models: a heavy exit (hostio.ts), counted as EXIT_HOST alone.
  if (inHostWindow(gpa)) return requestHostExit(inst, gpa);
  const op = inst & 0x7F;
  const f3 = (inst >> 12) & 7;
  if (op == OP_LOAD && f3 != 7) {
    if (mmioRead(gpa, 1 << (f3 & 3)) == MMIO_NONE) return false;
    rset((inst >> 7) & 31, extendLoad(busResult.value, f3));
    return countDevice(gpa);
  }
  if (op == OP_LOAD_FP && fpWidth(f3)) {
    if (mmioRead(gpa, 1 << f3) == MMIO_NONE) return false;
    fpLoadEmulated((inst >> 7) & 31, f3, busResult.value);
    return countDevice(gpa);
  }
  const isStore = op == OP_STORE && f3 <= 3;
  if (isStore || (op == OP_STORE_FP && fpWidth(f3))) {
    if (gpa - CLINT_BASE < CLINT_SIZE) return countDevice(gpa); // guests do not program the machine's timer
    if (mmioWrite(gpa, 1 << f3, storeValue(inst)) == MMIO_NONE) return false;
    return countDevice(gpa);
  }
  return false;
}

/** The size and value of a plain store instruction (for emulated page-table writes); size 0 if not one. */
export function storeSize(inst: u32): u32 {
  const f3 = (inst >> 12) & 7;
  if ((inst & 0x7F) == OP_STORE_FP) return fpWidth(f3) ? 1 << f3 : 0;
  if ((inst & 0x7F) != OP_STORE) return 0;
  return f3 <= 3 ? 1 << f3 : 0;
}
export function storeValue(inst: u32): u64 {
  return (inst & 0x7F) == OP_STORE_FP ? fpStoreValue(inst) : rget((inst >> 20) & 31);
}
