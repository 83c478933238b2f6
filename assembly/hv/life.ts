// A VM's lifecycle beside others (issue 12 item 5; docs/multi-vm.md "Lifecycle"): after the
// host has written a snapshot's context, hypervisor area and RAM into a VM whose frames are
// other host frames than the snapshot's (a clone, a migration target, or a VM whose frames
// changed since), everything in them that holds a host address is moved to the new frames:
//
//   machine     the pool's own fields (ramBase, ramSize, ramHost) are the receiving host's
//   vm.*        the hypervisor area's structures move with the area (frame map, flags, rmap,
//               G-stage, shadow pool); the frame map itself is the receiving VM's own
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
import { AREA_DISK, AREA_HV, hostLoaded, hostVmArea } from './host';
import { vm, vmHgatp, vmPlace, vmTablesReset } from './vm';
import { shadowRelocate } from './shadow';
import { dirtyResync } from './dirty';

export const RELOC_OK: u32 = 0;
export const RELOC_NO_VM: u32 = 1;
export const RELOC_MODE: u32 = 2;

/** A satp-format value whose root moved by `delta` bytes (MODE Bare: unchanged). */
function movedRoot(satp: u64, delta: u64): u64 {
  if ((satp >> SATP_MODE_SHIFT) == 0) return satp;
  const ppn = ((satp & SATP_PPN_MASK) + (delta >> 12)) & SATP_PPN_MASK;
  return (satp & ~SATP_PPN_MASK) | ppn;
}

/**
 * Relocate the loaded VM's context and hypervisor area (see above). The snapshot's own
 * addresses: `oldHv` its hypervisor area, `oldPool` its shadow pool (vm.shadowPool there).
 * `reloc` (host-physical) holds u32 per frame index of the snapshot's pool: the new host frame
 * number of each of its guest frames, 0 for any other frame. Returns RELOC_*.
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
  const delta = hostVmArea(id, AREA_HV) - oldHv;
  const oldPool = vm.shadowPool;
  vm.frameMap += delta;
  vm.frameFlags += delta;
  vm.ptInfo += delta;
  vm.rmap += delta;
  vm.shadowPool += delta;
  if (mode == MODE_HVM_NESTED) {
    // The G-stage root is aligned to 16 KiB in host memory (hgatp ignores the PPN's low two
    // bits, privileged spec 8.2.10), so its offset in the area depends on where the area is:
    // placed again, and the table rebuilt from the new frame map below.
    vmPlace(hostVmArea(id, AREA_HV), vm.guestFrames, vm.shadowPages, true);
  }
  disk.host = disk.bytes == 0 ? 0 : <u64>ramHost(hostVmArea(id, AREA_DISK), 1);
  if (mode == MODE_HVM_NESTED) {
    vmTablesReset();
    hart.hgatp = vmHgatp();
  } else {
    shadowRelocate(oldPool, ramHost(reloc, 4), relocFrames);
    if (mode == MODE_TRAP_EMULATE) hart.satp = movedRoot(hart.satp, delta);
    else hart.vsatp = movedRoot(hart.vsatp, delta);
  }
  tlbFlushAll();
  dirtyResync();
  guestMapDescribe();
  return RELOC_OK;
}

/** The loaded VM's context was restored as it was (same frames): only its dirty log to set. */
export function lifeRestored(): void { dirtyResync(); }
