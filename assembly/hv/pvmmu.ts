// Direct paging for the `pv` mode (DESIGN.md "The execution modes"; docs/pv-abi.md): the guest's
// page tables hold machine frames and the hardware walks them as they are - no shadow, no
// second stage. What keeps the VM inside its memory is validation, as in Xen's PV MMU:
//
//   - Every guest frame has a type: an ordinary page, or a page-table page of one level (0, 1
//     or 2), with a count of the validated entries (and pins, and roots) that use it as such.
//     A frame becomes a table when the first reference to it is validated; that validates
//     every entry in it (recursively), once. It stops being one when the last reference goes.
//   - A writable leaf may map only an ordinary page of the VM; a frame mapped writable
//     anywhere cannot become a table, and a table cannot be mapped writable. So the guest can
//     change its tables only through mmu_update, which validates each new entry.
//   - Leaves map 4 KiB pages (superpages are refused), carry U (the guest kernel runs in
//     U-mode) and no G (kernel and user roots must not share TLB entries).
//
// Per-frame state lives in the VM's hypervisor area (hv/vm.ts): frameFlags holds the table
// level + 1 (0: not a table) and the pinned bit; ptInfo holds the writable-mapping count (low
// 32 bits) and the table reference count (high 32 bits).
//
// The hypervisor's own pages for pv (in the shadow pool, which pv does not use otherwise):
// the machine-to-guest frame table (m2p), the guest-to-machine table (p2m), the tables that
// map both read-only into root slot 511 of every guest root, and the boot address space.

import { Counter } from '../counter-ids';
import { count, hart, machine } from '../state';
import { PAGE_SHIFT, PTE_A, PTE_D, PTE_G, PTE_PPN_MASK, PTE_PPN_SHIFT, PTE_R, PTE_RESERVED, PTE_U,
  PTE_V, PTE_W, PTE_X, SATP_ASID_SHIFT, SATP_MODE_SHIFT } from '../riscv/bits';
import { EMUDISK_BASE, PLIC_BASE, PLIC_SIZE, UART_BASE, VIRTIO_BASE, VIRTIO_SLOTS, VIRTIO_STRIDE } from '../devices/bus';
import { ramHost } from '../mmu/access';
import { dirtyMark } from './dirty';
import { tlbFlushHost, tlbFlushHostAsid, tlbFlushPage, tlbSelectHost } from '../mmu/tlb';
import { frameFlagsPtr, GUEST_RAM_BASE, gpaToHpa, ptInfoPtr, vm } from './vm';
import { hostActive, hostPvWindow } from './host';

// Standard SBI error codes (SBI v2.0 section 3.2); the same values as hv/sbi.ts.
export const PV_OK: i64 = 0;
export const PV_ERR_INVALID_PARAM: i64 = -3;
export const PV_ERR_DENIED: i64 = -4;
export const PV_ERR_INVALID_ADDRESS: i64 = -5;
export const PV_ERR_ALREADY_AVAILABLE: i64 = -6;

/** Where every pinned root maps the hypervisor's read-only tables (root slot 511). */
export const PV_HV_SLOT: u64 = 511;
export const PV_P2M_VA: u64 = 0xFFFF_FFFF_C000_0000;
export const PV_M2P_VA: u64 = 0xFFFF_FFFF_E000_0000;
/** Most updates one mmu_update call may carry. */
export const PV_BATCH_MAX: u64 = 512;
/** Hardware address-space tag of the boot address space (guest ASIDs map to 2a and 2a+1). */
const BOOT_TAG: u64 = 0x2_0000;
const NO_GFN: u64 = 0xFFFF_FFFF_FFFF_FFFF;
const NO_ENTRY: u32 = 0xFFFF_FFFF;

const FLAG_LEVEL_MASK: u32 = 3; // table level + 1; 0: an ordinary page
const FLAG_PINNED: u32 = 4;

@unmanaged class PvMmu {
  /** Machine addresses of the hypervisor's pv structures. */
  m2p: u64 = 0;        // u32 guest frame per machine RAM frame (NO_ENTRY: not this VM's)
  m2pEntries: u64 = 0;
  m2pFirst: u64 = 0;   // the machine frame m2p's entry 0 describes
  p2m: u64 = 0;        // u32 machine frame per guest frame
  hvL1: u64 = 0;       // the level-1 table root slot 511 points to
  bootRoot: u64 = 0;
  poolNext: u64 = 0;
  poolEnd: u64 = 0;
  /** The guest still runs in the boot address space (it has not set a root yet). */
  onBoot: u32 = 0;
  kernelRoot: u64 = 0; // machine address; 0 while on the boot tables
  userRoot: u64 = 0;   // machine address; 0: none
  asid: u64 = 0;
  /** Set while an update batch changed or removed a valid entry: the TLB is flushed after it. */
  flushNeeded: u32 = 0;
  /** The guest frame of the shared info page (the hypervisor writes it: never a table). */
  sharedGfn: u64 = 0;
}
export const pvmmu = changetype<PvMmu>(memory.data(offsetof<PvMmu>(), 16));

@inline function host(ma: u64): usize { return ramHost(ma, 8); }

// ---- frames -----------------------------------------------------------------------------

/** The guest frame behind machine frame `mfn`, or NO_GFN if the VM does not own it. */
export function mfnToGfn(mfn: u64): u64 {
  const first = pvmmu.m2pFirst;
  if (mfn < first || mfn - first >= pvmmu.m2pEntries) return NO_GFN;
  const g = load<u32>(ramHost(pvmmu.m2p + (mfn - first) * 4, 4));
  return g == NO_ENTRY ? NO_GFN : <u64>g;
}

/** Guest frame of the machine address `ma`, or NO_GFN. */
@inline function maGfn(ma: u64): u64 { return mfnToGfn(ma >> PAGE_SHIFT); }

/**
 * Devices assigned to a pv guest, which maps them and reaches them without exits (as Xen's
 * iomem permission allows): the UART, the PLIC, the virtio-mmio slots and emudisk. A virtio
 * device reaches guest memory through the VM's gPA map (virtio/guestmem.ts), as through an
 * IOMMU, and never a page-table page (pvRangeWritable). The CLINT and the test device stay
 * the hypervisor's.
 */
function assignedDevice(pa: u64): bool {
  const page = pa >> PAGE_SHIFT;
  return page == (UART_BASE >> PAGE_SHIFT) || page == (EMUDISK_BASE >> PAGE_SHIFT) ||
    pa - PLIC_BASE < PLIC_SIZE || pa - VIRTIO_BASE < VIRTIO_STRIDE * VIRTIO_SLOTS;
}

@inline function level1(gfn: u64): u32 { return load<u32>(frameFlagsPtr(gfn)) & FLAG_LEVEL_MASK; }
@inline function wcount(gfn: u64): u32 { return load<u32>(ptInfoPtr(gfn)); }
@inline function tcount(gfn: u64): u32 { return load<u32>(ptInfoPtr(gfn), 4); }
@inline function setWcount(gfn: u64, n: u32): void { store<u32>(ptInfoPtr(gfn), n); }
@inline function setTcount(gfn: u64, n: u32): void { store<u32>(ptInfoPtr(gfn), n, 4); }
@inline function pinned(gfn: u64): bool { return (load<u32>(frameFlagsPtr(gfn)) & FLAG_PINNED) != 0; }

/** Machine address of guest frame `gfn`. */
@inline function frameMa(gfn: u64): u64 { return gpaToHpa(GUEST_RAM_BASE + (gfn << PAGE_SHIFT)); }

/** The root-slot-511 entry the hypervisor installs in every level-2 table. */
@inline function hvSlotEntry(): u64 { return ((pvmmu.hvL1 >> PAGE_SHIFT) << PTE_PPN_SHIFT) | PTE_V; }

// ---- validation -------------------------------------------------------------------------

/**
 * Take the references entry `e` of a table at `level` needs, or refuse it. A non-leaf takes a
 * table reference on the frame it points to (validating it at level - 1 if it is new); a
 * writable leaf takes a writable reference on an ordinary page of the VM.
 */
function acquire(e: u64, level: u32): i64 {
  if ((e & PTE_V) == 0) return PV_OK;
  if ((e & PTE_RESERVED) != 0 || (e & (<u64>3 << 8)) != 0) return PV_ERR_INVALID_PARAM;
  const mfn = (e >> PTE_PPN_SHIFT) & PTE_PPN_MASK;
  const rwx = e & (PTE_R | PTE_W | PTE_X);
  if (rwx == 0) {
    // A pointer to the next level. Its D, A and U bits are reserved (privileged spec 4.3.1);
    // G would make the lower table's leaves global, which pv does not allow.
    if (level == 0 || (e & (PTE_D | PTE_A | PTE_U | PTE_G)) != 0) return PV_ERR_INVALID_PARAM;
    const gfn = mfnToGfn(mfn);
    if (gfn == NO_GFN) return PV_ERR_INVALID_ADDRESS;
    return typeGet(gfn, level - 1);
  }
  // W without R is a reserved encoding (privileged spec table 4.5).
  if ((rwx & PTE_R) == 0 && (rwx & PTE_W) != 0) return PV_ERR_INVALID_PARAM;
  if (level != 0) return PV_ERR_INVALID_PARAM;                      // no superpages
  if ((e & PTE_U) == 0 || (e & PTE_G) != 0) return PV_ERR_INVALID_PARAM;
  const gfn = mfnToGfn(mfn);
  if (gfn == NO_GFN) return assignedDevice(mfn << PAGE_SHIFT) ? PV_OK : PV_ERR_INVALID_ADDRESS;
  if ((e & PTE_W) != 0) {
    if (level1(gfn) != 0) return PV_ERR_DENIED;                      // a page table, writable
    setWcount(gfn, wcount(gfn) + 1);
  }
  return PV_OK;
}

/** Drop what acquire() took for entry `e` (which was valid in a table at `level`). */
function release(e: u64, level: u32): void {
  if ((e & PTE_V) == 0) return;
  const mfn = (e >> PTE_PPN_SHIFT) & PTE_PPN_MASK;
  const gfn = mfnToGfn(mfn);
  if (gfn == NO_GFN) return;
  if ((e & (PTE_R | PTE_W | PTE_X)) == 0) typePut(gfn, level - 1);
  else if ((e & PTE_W) != 0) setWcount(gfn, wcount(gfn) - 1);
}

/** Take a table reference on `gfn` as a table of `level`, validating it if it is new. */
function typeGet(gfn: u64, level: u32): i64 {
  const t = tcount(gfn);
  if (t > 0) {
    if (level1(gfn) != level + 1) return PV_ERR_INVALID_PARAM;      // one level per table
    setTcount(gfn, t + 1);
    return PV_OK;
  }
  if (wcount(gfn) != 0) return PV_ERR_DENIED;                        // mapped writable somewhere
  if (gfn == pvmmu.sharedGfn) return PV_ERR_DENIED;                   // the hypervisor writes it
  const table = frameMa(gfn);
  if (level == 2) {
    const slot = load<u64>(host(table + PV_HV_SLOT * 8));
    if ((slot & PTE_V) != 0 && slot != hvSlotEntry()) return PV_ERR_INVALID_PARAM;
  }
  // Typed first, so that an entry pointing back at this frame is refused as a level mismatch.
  store<u32>(frameFlagsPtr(gfn), (load<u32>(frameFlagsPtr(gfn)) & ~FLAG_LEVEL_MASK) | (level + 1));
  setTcount(gfn, 1);
  const last: u64 = level == 2 ? PV_HV_SLOT : 512;
  for (let i: u64 = 0; i < last; i++) {
    const err = acquire(load<u64>(host(table + i * 8)), level);
    if (err != PV_OK) {
      for (let j: u64 = 0; j < i; j++) release(load<u64>(host(table + j * 8)), level);
      store<u32>(frameFlagsPtr(gfn), load<u32>(frameFlagsPtr(gfn)) & ~FLAG_LEVEL_MASK);
      setTcount(gfn, 0);
      return err;
    }
  }
  if (level == 2) { dirtyMark(host(table)); store<u64>(host(table + PV_HV_SLOT * 8), hvSlotEntry()); }
  count(Counter.PV_TABLES_VALIDATED);
  return PV_OK;
}

/** Drop a table reference; the last one turns the table back into an ordinary page. */
function typePut(gfn: u64, level: u32): void {
  const t = tcount(gfn);
  if (t > 1) { setTcount(gfn, t - 1); return; }
  const table = frameMa(gfn);
  const last: u64 = level == 2 ? PV_HV_SLOT : 512;
  for (let i: u64 = 0; i < last; i++) release(load<u64>(host(table + i * 8)), level);
  if (level == 2) { dirtyMark(host(table)); store<u64>(host(table + PV_HV_SLOT * 8), 0); }
  setTcount(gfn, 0);
  store<u32>(frameFlagsPtr(gfn), load<u32>(frameFlagsPtr(gfn)) & ~FLAG_LEVEL_MASK);
  // Its entries may be cached: the page is the guest's to write again.
  pvmmu.flushNeeded = 1;
}

// ---- the hypercalls -----------------------------------------------------------------------

/** A page-aligned machine address of a frame the VM owns: its guest frame, or NO_GFN. */
function ownedFrame(ma: u64): u64 {
  if ((ma & 4095) != 0) return NO_GFN;
  return maGfn(ma);
}

/** One update of a batch: write `val` to the PTE at machine address `ma`. */
export function pvUpdateOne(ma: u64, val: u64): i64 {
  if ((ma & 7) != 0) return PV_ERR_INVALID_ADDRESS;
  const gfn = maGfn(ma);
  if (gfn == NO_GFN) return PV_ERR_INVALID_ADDRESS;
  const p = host(ma);
  dirtyMark(p);
  if (tcount(gfn) == 0) {
    // An ordinary page: a plain write, as Xen's MMU_NORMAL_PT_UPDATE does for writable pages.
    store<u64>(p, val);
    return PV_OK;
  }
  const level = level1(gfn) - 1;
  if (level == 2 && ((ma & 4095) >> 3) == PV_HV_SLOT) return PV_ERR_DENIED;
  const old = load<u64>(p);
  if (old == val) return PV_OK;
  const err = acquire(val, level);
  if (err != PV_OK) return err;
  store<u64>(p, val);
  release(old, level);
  if ((old & PTE_V) != 0) pvmmu.flushNeeded = 1;
  return PV_OK;
}

/** After a batch: a changed or removed entry may still be in the TLB; drop the VM's entries. */
export function pvBatchDone(): void {
  if (pvmmu.flushNeeded != 0) {
    pvmmu.flushNeeded = 0;
    tlbFlushHost();
    count(Counter.PV_IMPLIED_FLUSHES);
    hart.chunkBreak = 1;
  }
}

/** pin(table, level): validate a table once and keep it validated until unpin. */
export function pvPin(ma: u64, level: u64): i64 {
  const gfn = ownedFrame(ma);
  if (gfn == NO_GFN) return PV_ERR_INVALID_ADDRESS;
  if (level > 2) return PV_ERR_INVALID_PARAM;
  // The boot address space maps every frame of the VM writable: nothing is validated while
  // the guest still runs in it (set_root leaves it).
  if (pvmmu.onBoot != 0) return PV_ERR_DENIED;
  if (pinned(gfn)) return PV_ERR_ALREADY_AVAILABLE;
  const err = typeGet(gfn, <u32>level);
  if (err != PV_OK) return err;
  store<u32>(frameFlagsPtr(gfn), load<u32>(frameFlagsPtr(gfn)) | FLAG_PINNED);
  return PV_OK;
}

/** unpin(table): drop the pin; a current root cannot be unpinned. */
export function pvUnpin(ma: u64): i64 {
  const gfn = ownedFrame(ma);
  if (gfn == NO_GFN) return PV_ERR_INVALID_ADDRESS;
  if (!pinned(gfn)) return PV_ERR_INVALID_PARAM;
  if (ma == pvmmu.kernelRoot || ma == pvmmu.userRoot) return PV_ERR_DENIED;
  store<u32>(frameFlagsPtr(gfn), load<u32>(frameFlagsPtr(gfn)) & ~FLAG_PINNED);
  typePut(gfn, level1(gfn) - 1);
  pvBatchDone();
  return PV_OK;
}

/**
 * set_root(kernel, user, asid): the roots of the guest kernel's and its user's address spaces
 * (user 0: none yet). Each root holds a table reference while it is current, so it stays
 * validated; the first call leaves the boot address space for good.
 */
export function pvSetRoot(kma: u64, uma: u64, asid: u64): i64 {
  const kg = ownedFrame(kma);
  if (kg == NO_GFN) return PV_ERR_INVALID_ADDRESS;
  const ug = uma == 0 ? 0 : ownedFrame(uma);
  if (ug == NO_GFN) return PV_ERR_INVALID_ADDRESS;
  if (asid > 0xFFFF) return PV_ERR_INVALID_PARAM;
  let err = typeGet(kg, 2);
  if (err != PV_OK) return err;
  if (uma != 0) {
    err = typeGet(ug, 2);
    if (err != PV_OK) { typePut(kg, 2); return err; }
  }
  if (pvmmu.onBoot == 0) {
    typePut(maGfn(pvmmu.kernelRoot), 2);
    if (pvmmu.userRoot != 0) typePut(maGfn(pvmmu.userRoot), 2);
  } else {
    // Every translation of the boot address space goes.
    pvmmu.onBoot = 0;
    pvmmu.flushNeeded = 1;
  }
  pvmmu.kernelRoot = kma;
  pvmmu.userRoot = uma;
  pvmmu.asid = asid;
  pvBatchDone();
  return PV_OK;
}

/** tlb_flush(kind, arg): 0 one address (any ASID), 1 one ASID, 2 everything of the VM. */
export function pvTlbFlush(kind: u64, arg: u64): i64 {
  if (kind == 0) {
    tlbFlushPage(arg); // in every address space of the VM
    return PV_OK;
  }
  if (kind == 1) {
    if (arg > 0xFFFF) return PV_ERR_INVALID_PARAM;
    tlbFlushHostAsid(arg << 1);
    tlbFlushHostAsid((arg << 1) | 1);
    return PV_OK;
  }
  if (kind == 2) { tlbFlushHost(); return PV_OK; }
  return PV_ERR_INVALID_PARAM;
}

/** The satp the hardware uses for the guest at privilege `kernel` (true: guest kernel). */
export function pvApplyRoot(kernel: bool): void {
  let root: u64;
  let tag: u64;
  if (pvmmu.onBoot != 0) {
    root = pvmmu.bootRoot;
    tag = BOOT_TAG;
  } else if (kernel || pvmmu.userRoot == 0) {
    root = pvmmu.kernelRoot;
    tag = pvmmu.asid << 1;
  } else {
    root = pvmmu.userRoot;
    tag = (pvmmu.asid << 1) | 1;
  }
  const satp = (<u64>8 << SATP_MODE_SHIFT) | ((tag & 0xFFFF) << SATP_ASID_SHIFT) | (root >> PAGE_SHIFT);
  if (hart.satp != satp) {
    hart.satp = satp;
    tlbSelectHost(tag);
  }
}

// ---- layout and the boot address space -----------------------------------------------------

function poolPage(): u64 {
  const p = pvmmu.poolNext;
  if (p >= pvmmu.poolEnd) unreachable(); // hvAreaBytes reserves far more than pv needs
  pvmmu.poolNext += 4096;
  memory.fill(ramHost(p, 4096), 0, 4096);
  return p;
}

/** The level-0 table of Sv39 root `root` covering `va`, allocating the path to it. */
function leafTable(root: u64, va: u64): u64 {
  let table = root;
  for (let level: i32 = 2; level > 0; level--) {
    const pte = table + ((va >> (12 + 9 * <u64>level)) & 511) * 8;
    let e = load<u64>(host(pte));
    if ((e & PTE_V) == 0) {
      const page = poolPage();
      e = ((page >> PAGE_SHIFT) << PTE_PPN_SHIFT) | PTE_V;
      store<u64>(host(pte), e);
    }
    table = ((e >> PTE_PPN_SHIFT) & PTE_PPN_MASK) << PAGE_SHIFT;
  }
  return table;
}

function map4k(root: u64, va: u64, ma: u64, perm: u64): void {
  const t = leafTable(root, va);
  store<u64>(host(t + ((va >> 12) & 511) * 8), ((ma >> PAGE_SHIFT) << PTE_PPN_SHIFT) | perm | PTE_V | PTE_A | PTE_D);
}

/**
 * Build the pv structures for the VM (on every reset: they live in machine RAM): m2p and
 * p2m, their read-only mapping for root slot 511, and the boot address space - guest RAM at
 * its guest-physical addresses and the UART, hypervisor-owned, so the guest kernel can run
 * until it has built and set its own tables (Xen's domain builder does the same).
 */
export function pvMmuReset(): void {
  const frames = vm.guestFrames;
  pvmmu.poolNext = vm.shadowPool;
  pvmmu.poolEnd = vm.shadowPool + vm.shadowPages * 4096;
  const p2mBytes = (frames * 4 + 4095) & ~(<u64>4095);
  if (hostActive()) {
    // Beside other VMs the m2p covers the window of machine frames this VM's lie in
    // (hv/host.ts), not the whole pool: as much of it as the pool left room for.
    pvmmu.m2pFirst = hostPvWindow(true);
    // What the pool holds besides: the p2m and the boot address space's tables (a level-0 table
    // per 512 pages of guest RAM, p2m and m2p mapped, and the few above them).
    const poolPages = (pvmmu.poolEnd - pvmmu.poolNext) >> PAGE_SHIFT;
    const reserve = (p2mBytes >> PAGE_SHIFT) + (frames >> 9) + (poolPages >> 9) + 16;
    const room = poolPages > reserve ? (poolPages - reserve) * 1024 : 0;
    const want = hostPvWindow(false);
    pvmmu.m2pEntries = want < room ? want : room;
  } else {
    pvmmu.m2pFirst = machine.ramBase >> PAGE_SHIFT;
    pvmmu.m2pEntries = machine.ramSize >> PAGE_SHIFT;
  }
  const m2pBytes = (pvmmu.m2pEntries * 4 + 4095) & ~(<u64>4095);
  pvmmu.m2p = pvmmu.poolNext;
  pvmmu.poolNext += m2pBytes;
  pvmmu.p2m = pvmmu.poolNext;
  pvmmu.poolNext += p2mBytes;
  memory.fill(ramHost(pvmmu.m2p, m2pBytes), 0xFF, <usize>m2pBytes);
  memory.fill(ramHost(pvmmu.p2m, p2mBytes), 0, <usize>p2mBytes);
  const first = pvmmu.m2pFirst;
  for (let g: u64 = 0; g < frames; g++) {
    const mfn = frameMa(g) >> PAGE_SHIFT;
    store<u32>(ramHost(pvmmu.p2m + g * 4, 4), <u32>mfn);
    // A frame outside what the m2p lists is not the guest's to map (mfnToGfn says so).
    if (mfn - first < pvmmu.m2pEntries) store<u32>(ramHost(pvmmu.m2p + (mfn - first) * 4, 4), <u32>g);
  }
  memory.fill(ramHost(vm.frameFlags, frames * 4), 0, <usize>(frames * 4));
  memory.fill(ramHost(vm.ptInfo, frames * 8), 0, <usize>(frames * 8));

  // Slot 511: p2m at PV_P2M_VA, m2p at PV_M2P_VA, read-only, user-accessible (the guest
  // kernel runs in U-mode). The level-1 table is shared by every root.
  pvmmu.hvL1 = poolPage();
  const boot = poolPage();
  pvmmu.bootRoot = boot;
  store<u64>(host(boot + PV_HV_SLOT * 8), hvSlotEntry());
  for (let off: u64 = 0; off < p2mBytes; off += 4096) map4k(boot, PV_P2M_VA + off, pvmmu.p2m + off, PTE_R | PTE_U);
  for (let off: u64 = 0; off < m2pBytes; off += 4096) map4k(boot, PV_M2P_VA + off, pvmmu.m2p + off, PTE_R | PTE_U);
  for (let g: u64 = 0; g < frames; g++) {
    const gpa = GUEST_RAM_BASE + (g << PAGE_SHIFT);
    map4k(boot, gpa, frameMa(g), PTE_R | PTE_W | PTE_X | PTE_U);
  }
  map4k(boot, UART_BASE, UART_BASE, PTE_R | PTE_W | PTE_U);
  pvmmu.onBoot = 1;
  pvmmu.kernelRoot = 0;
  pvmmu.userRoot = 0;
  pvmmu.asid = 0;
  pvmmu.flushNeeded = 0;
  pvmmu.sharedGfn = NO_GFN;
}

/**
 * May the hypervisor write [gpa, gpa + len) of guest RAM on the guest's behalf (a console
 * read, the shared page)? Not if any of it is a page table: that would bypass validation.
 */
export function pvRangeWritable(gpa: u64, len: u64): bool {
  if (len == 0) return true;
  const first = (gpa - GUEST_RAM_BASE) >> PAGE_SHIFT;
  const last = (gpa + len - 1 - GUEST_RAM_BASE) >> PAGE_SHIFT;
  for (let g = first; g <= last; g++) if (g >= vm.guestFrames || tcount(g) != 0) return false;
  return true;
}

/**
 * May a grant mapping be written into the entry at machine address `ma` (hv/grant.ts)? It must
 * be an invalid entry of a validated level-0 table of the VM: then the hypervisor writes the
 * foreign leaf itself and the guest can only clear it (acquire refuses a foreign frame).
 */
export function pvGrantPteSlot(ma: u64): i64 {
  if ((ma & 7) != 0) return PV_ERR_INVALID_ADDRESS;
  const gfn = maGfn(ma);
  if (gfn == NO_GFN) return PV_ERR_INVALID_ADDRESS;
  if (tcount(gfn) == 0 || level1(gfn) != 1) return PV_ERR_INVALID_PARAM;
  if ((load<u64>(host(ma)) & PTE_V) != 0) return PV_ERR_DENIED;
  return PV_OK;
}

/** Register the shared info page's frame (checked by the caller with pvRangeWritable). */
export function pvSetSharedFrame(gpa: u64): void { pvmmu.sharedGfn = (gpa - GUEST_RAM_BASE) >> PAGE_SHIFT; }

/** What a guest learns about its memory when it registers its shared page (docs/pv-abi.md). */
export function pvP2mFirstMfn(): u64 { return pvmmu.m2pFirst; }
