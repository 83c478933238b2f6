// Dirty logging for live migration (issue 12 item 5): which of a VM's guest frames were
// written since the log was last read, as KVM's KVM_GET_DIRTY_LOG and Xen's log-dirty mode
// report it to a migration tool that re-sends those pages.
//
// The log is a bitmap in host memory, one bit per *host frame* of the pool (a run of frames the
// VM owns, hv/host.ts hostDirtyRun: it is not in static data, which every world switch copies).
// Marking by host frame needs no reverse map: every write to guest RAM ends at a host address,
// whatever the mode translated it with, so one hook serves them all:
//
//   guest stores     the fast TLB holds a store entry for a page only after dirtyMark set its
//                    bit (mmu/access.ts, where store entries are made: storeIn, amoHost), and
//                    fetch-and-clear drops every store entry, so the next store to a page takes
//                    the slow path and marks it again. Shadow (trap-emulate, hvm-shadow),
//                    G-stage (hvm-nested) and pv direct paging all end there with the host
//                    address: the "dirty bits from shadow, G-stage and pv tables" of the issue
//                    are this one bit per frame, set where each mode's translation ends.
//   A/D updates      the page walk setting A or D in a guest PTE (mmu/walk.ts).
//   the hypervisor   and the devices: everything reaching guest RAM through hv/vm.ts gpaHost
//                    (virtio DMA in virtio/guestmem.ts, SBI, pv's shared page) is marked there,
//                    reads included (conservative: a page the hypervisor touched on the
//                    guest's behalf is re-sent), and pv's validated PTE writes (hv/pvmmu.ts).
//
// Fetch-and-clear turns the host bitmap into one of guest frames (through the frame map), which
// the host reads, and clears the host bitmap.
//
//   run: [ host bitmap: ceil(pool frames / 8) bytes ][ guest bitmap: ceil(guest frames / 8) ]

import { machine } from '../state';
import { PAGE_SHIFT } from '../riscv/bits';
import { ramHost } from '../mmu/access';
import { tlbFlushStores } from '../mmu/tlb';
import { AREA_DIRTY, hostActive, hostDirtyRun, hostFrames, hostLoaded, hostVmArea } from './host';
import { vm } from './vm';

@unmanaged class DirtyLog {
  /** Linear address of the host bitmap (0: not logging). */
  bitmap: u64 = 0;
  /** Host frames the bitmap covers (the pool's). */
  frames: u64 = 0;
}
const log = changetype<DirtyLog>(memory.data(offsetof<DirtyLog>(), 16));

/** Mark the host frame of linear address `h` written, if the loaded VM logs its writes. */
@inline export function dirtyMark(h: usize): void {
  if (log.bitmap != 0) dirtyMarkSlow(h);
}

function dirtyMarkSlow(h: usize): void {
  const f = (<u64>h - machine.ramHost) >> PAGE_SHIFT;
  if (f >= log.frames) return;
  const b = <usize>log.bitmap + <usize>(f >> 3);
  store<u8>(b, load<u8>(b) | <u8>(<u32>1 << <u32>(f & 7)));
}

@inline function hostBitmapBytes(): u64 { return (log.frames + 7) >> 3; }

/**
 * Start logging the loaded VM's writes (beside other VMs only). Every store entry of the fast
 * TLB goes, so each page's first store from now on is seen. False if the pool has no room.
 */
export function dirtyStart(): bool {
  if (!hostActive()) return false;
  const frames = hostFrames();
  const bytes = ((frames + 7) >> 3) + ((vm.guestFrames + 7) >> 3);
  const hpa = hostDirtyRun((bytes + 4095) >> PAGE_SHIFT);
  if (hpa == 0) return false;
  log.frames = frames;
  log.bitmap = <u64>ramHost(hpa, 1);
  tlbFlushStores();
  return true;
}

/** Stop logging and give the bitmap's frames back. */
export function dirtyStop(): void {
  if (log.bitmap == 0) return;
  hostDirtyRun(0);
  log.bitmap = 0;
  log.frames = 0;
}

export function dirtyLogging(): bool { return log.bitmap != 0; }

/**
 * Fetch and clear: fill the guest bitmap (bit g = guest frame g was written since the last
 * fetch) and clear the host one. Returns the number of dirty guest frames; the guest bitmap is
 * at dirtyGuestBitmap() until the next fetch. Store entries go, so the next write to any page
 * marks it again.
 */
export function dirtyFetch(): u64 {
  if (log.bitmap == 0) return 0;
  const host = <usize>log.bitmap;
  const guest = host + <usize>hostBitmapBytes();
  const frames = vm.guestFrames;
  memory.fill(guest, 0, <usize>((frames + 7) >> 3));
  const map = ramHost(vm.frameMap, 4);
  const first = machine.ramBase >> PAGE_SHIFT;
  let n: u64 = 0;
  for (let g: u64 = 0; g < frames; g++) {
    const f = <u64>load<u32>(map + <usize>(g * 4)) - first;
    if (f >= log.frames) continue;
    if ((load<u8>(host + <usize>(f >> 3)) & <u8>(<u32>1 << <u32>(f & 7))) == 0) continue;
    const gb = guest + <usize>(g >> 3);
    store<u8>(gb, load<u8>(gb) | <u8>(<u32>1 << <u32>(g & 7)));
    n++;
  }
  memory.fill(host, 0, <usize>hostBitmapBytes());
  tlbFlushStores();
  return n;
}

/** Linear address of the guest bitmap the last dirtyFetch filled (0: not logging). */
export function dirtyGuestBitmap(): usize {
  return log.bitmap == 0 ? 0 : <usize>log.bitmap + <usize>hostBitmapBytes();
}

/**
 * The loaded VM's context was replaced (a restore, a clone, the end of a migration): its log
 * is the one the VM table records for it, not whatever the context it was given held.
 */
export function dirtyResync(): void {
  const hpa = hostActive() ? hostVmArea(hostLoaded(), AREA_DIRTY) : 0;
  log.bitmap = hpa == 0 ? 0 : <u64>ramHost(hpa, 1);
  log.frames = hpa == 0 ? 0 : hostFrames();
  if (hpa != 0) tlbFlushStores();
}

/**
 * The loaded VM's guest frame now lives in another host frame (same-page merging mapped it to
 * a shared frame, or copy-on-write gave it a copy): while logging, count it written, since a
 * bit set for the old host frame since the last fetch would otherwise be lost with it.
 */
export function dirtyFrameMoved(newHpa: u64): void {
  if (log.bitmap != 0) dirtyMarkSlow(ramHost(newHpa, 1));
}
