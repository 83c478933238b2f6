// A VM's lifecycle beside others (issue 12 item 5; docs/multi-vm.md "Lifecycle"): after the
// host has written a snapshot's context, hypervisor area and RAM into a VM whose frames are
// other host frames than the snapshot's (a clone, a migration target, or a VM whose frames
// changed since), everything in them that holds a host address is moved to the new frames:
//
//   machine     the pool's own fields (ramBase, ramSize, ramHost) are the receiving host's
//   vm.*        the hypervisor area's structures (frame map, flags, rmap, G-stage, shadow
//               pool) placed again in the receiving VM's area, from its VM table record; the
//               frame map itself is the receiving VM's own
//   disk.host   the receiving VM's disk run
//   shadow      trap-emulate and hvm-shadow: shadow PTEs, context roots, reverse-map slots and
//               the shadow root in satp / vsatp (shadow.ts shadowRelocate)
//   G-stage     hvm-nested: rebuilt from the new frame map, and hgatp pointed at it
//   fast TLB    every entry holds a host addend: all dropped, refilled on the next accesses
//               (with the nested page-walk cache and the MMIO cache)
//   dirty log   the receiving VM's own (hv/dirty.ts dirtyResync)
//   GuestMap    the record a host-side device model reads, described again
//
// pv is refused by the host before it gets here: a pv guest holds machine frame numbers in its
// own page tables and in whatever it derived from them (docs/multi-vm.md says why).

import { hart, machine, MODE_HVM_NESTED, MODE_HVM_SHADOW, MODE_TRAP_EMULATE } from '../state';
import { SATP_MODE_SHIFT, SATP_PPN_MASK } from '../riscv/bits';
import { ramHost } from '../mmu/access';
import { tlbFlushAll } from '../mmu/tlb';
import { disk } from '../devices/disk';
import { guestMapDescribe } from '../virtio/guestmem';
import { AREA_DISK, AREA_HV, hostLoaded, hostVmArea, hostVmAreaFrames, hostVmGuestFrames } from './host';
import { SHADOW_POOL_PAGES, vm, vmHgatp, vmPlace, vmPlaceBytes, vmTablesReset } from './vm';
import { shadowRelocate } from './shadow';
import { dirtyResync } from './dirty';

export const RELOC_OK: u32 = 0;
export const RELOC_NO_VM: u32 = 1;
export const RELOC_MODE: u32 = 2;
/** The context does not describe a VM of the receiving VM's shape (frames, area, pool). */
export const RELOC_BAD: u32 = 3;

/** A satp-format value whose root moved from `oldPool` to the shadow pool (Bare: unchanged); 0 if it was not in the old pool. */
function movedRoot(satp: u64, oldPool: u64): u64 {
  if ((satp >> SATP_MODE_SHIFT) == 0) return satp;
  const root = (satp & SATP_PPN_MASK) << 12;
  if (root - oldPool >= vm.shadowPages << 12) return 0;
  return (satp & ~SATP_PPN_MASK) | (((root - oldPool + vm.shadowPool) >> 12) & SATP_PPN_MASK);
}

/**
 * Relocate the loaded VM's context and hypervisor area (see above). The receiving host's pool
 * is at `ramHostAt` (ramBase, ramSize); `oldHv` was the snapshot's hypervisor area. `reloc`
 * (host-physical) holds u32 per frame index of the snapshot's pool: the new host frame number
 * of each of its guest frames, 0 for any other frame. The structures are placed again from
 * the VM table (not from the context's pointers), and a context that does not match the VM's
 * shape is refused (RELOC_BAD). Returns RELOC_*.
 */
export function lifeRelocate(ramBase: u64, ramSize: u64, ramHostAt: u64, oldHv: u64, reloc: u64, relocFrames: u64): u32 {
  machine.ramBase = ramBase;
  machine.ramSize = ramSize;
  machine.ramHost = ramHostAt;
  machine.hostPool = 1;
  const id = hostLoaded();
  if (id == 0) return RELOC_NO_VM;
  const mode = machine.mode;
  if (mode != MODE_TRAP_EMULATE && mode != MODE_HVM_SHADOW && mode != MODE_HVM_NESTED) return RELOC_MODE;
  const nested = mode == MODE_HVM_NESTED;
  const frames = hostVmGuestFrames(id);
  const hv = hostVmArea(id, AREA_HV);
  const hvBytes = hostVmAreaFrames(id, AREA_HV) << 12;
  const shadowPages = vm.shadowPages;
  const oldPool = vm.shadowPool;
  if (vm.guestFrames != frames || shadowPages > <u64>SHADOW_POOL_PAGES || (nested && shadowPages != 0) ||
    vmPlaceBytes(frames, shadowPages, nested) > hvBytes) return RELOC_BAD;
  // The G-stage root is aligned to 16 KiB in host memory (hgatp ignores the PPN's low two
  // bits, privileged spec 8.2.10), so where it lands in the area depends on where the area
  // is: every structure is placed again, and the G-stage rebuilt from the new frame map below.
  vmPlace(hv, frames, shadowPages, nested);
  vm.hvBytes = hvBytes;
  vm.guestHfnBase = 0;
  if (!nested && oldPool - oldHv != vm.shadowPool - hv) return RELOC_BAD;
  disk.host = disk.bytes == 0 ? 0 : <u64>ramHost(hostVmArea(id, AREA_DISK), 1);
  if (nested) {
    vmTablesReset();
    hart.hgatp = vmHgatp();
  } else {
    shadowRelocate(oldPool, ramHost(reloc, 4), relocFrames);
    const satp = movedRoot(mode == MODE_TRAP_EMULATE ? hart.satp : hart.vsatp, oldPool);
    if (satp == 0) return RELOC_BAD;
    if (mode == MODE_TRAP_EMULATE) hart.satp = satp; else hart.vsatp = satp;
  }
  tlbFlushAll();
  dirtyResync();
  guestMapDescribe();
  return RELOC_OK;
}

/** The loaded VM's context was restored as it was (same frames): only its dirty log to set. */
export function lifeRestored(): void { dirtyResync(); }
