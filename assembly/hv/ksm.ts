// Same-page merging across VMs (issue 12 item 4; Linux's KSM, Xen's mem_sharing): a scanner
// finds guest frames of identical content, in one VM or in several, and makes them all map one
// host frame, giving the duplicates back to the pool; a write to a shared frame first gives
// the writer its own copy (copy-on-write). docs/multi-vm.md "KSM" tells the whole story.
//
// Where things live. Everything here is host state, in the pool (hv/host.ts), never in the
// core's static data, which is the loaded VM's and is swapped on every world switch:
//   KSM header fields   (hostKsmField) switch, cursor, counters, the VMs a batch touched
//   the page table      open addressing, SLOT_BYTES per slot: hash u64 | vm id u32 | gfn u32,
//                       from a run of frames taken when KSM is switched on
//   the moved bitmap    one bit per host frame whose mappings a merge of this batch changed
//                       (a guest frame left it, or it became shared)
//
// Sharing is the frame table's reference count (hv/host.ts): a guest frame whose host frame
// has more than one reference is shared, and is mapped read-only wherever the hardware finds
// a mapping of it, as KVM does:
//   hvm-nested     its G-stage leaf has W = 0; a store is a guest-page fault (hv/hvm.ts),
//                  which ksmWriteFault turns into a copy and a writable leaf
//   trap-emulate,  the shadow fill (hv/shadow.ts) leaves W out of the shadow leaf; a store
//   hvm-shadow     faults on the shadow, and the fill for a store makes the frame private
//   the page walk  setting A/D in a guest PTE is a write (mmu/walk.ts ksmPteWritable)
//   hypervisor     shadow PTE emulation, SBI console reads, virtio DMA, the host loading an
//                  image: ksmPrivate(gpa) before the write
// A fast-TLB store entry is only filled from a translation that allowed the store, so none
// ever reaches a shared frame: when a frame becomes shared, each VM mapping it has its TLB
// dropped and its writable mappings of it removed (ksmScan's settle), and a copy-on-write
// break drops the writer's cached translations of the frame it left.
//
// pv VMs are left out: a pv guest's page tables hold machine frame numbers (hv/pvmmu.ts), so
// moving one of its guest frames to another host frame would change what the guest itself
// wrote into its tables and what it reads back from its m2p. Xen's mem_sharing likewise
// works only for translated (HVM) guests.

import { hart, machine, STOP_ERROR, MODE_HVM_NESTED, MODE_HVM_SHADOW, MODE_TRAP_EMULATE } from '../state';
import { PAGE_SHIFT } from '../riscv/bits';
import { tlbFlushRam } from '../mmu/tlb';
import { allocFrame, frameMarkMerged, frameRefs, frameShared, getFrame, hostActive, hostAllocRun, hostCurrent, hostFrameAddr,
  hostFrames, hostKsmField, hostPutRun, hostSwitch, hostVmFrameMap, hostVmGuestFrames, hostVmLive,
  hostVmCowBreak, hostVmMergeable, hostVmSplitArea, hostVmMode, MAX_VMS, putFrame } from './host';
import { GUEST_RAM_BASE, gpaHost, gstageSetLeaf, vm } from './vm';
import { shadowZapFrames } from './shadow';
import { dirtyFrameMoved, dirtyLogging } from './dirty';

// KSM header fields (u64 each).
const K_ON: u32 = 0;
const K_TABLE: u32 = 1;        // first frame of the page table (index), and of the run
const K_RUN_FRAMES: u32 = 2;   // frames of the run: page table + moved bitmap
const K_SLOTS: u32 = 3;        // page-table slots (a power of two)
const K_MOVED: u32 = 4;        // first frame of the moved bitmap
const K_CUR_VM: u32 = 5;       // the scanner's cursor: VM id and guest frame
const K_CUR_GFN: u32 = 6;
const K_FULL_SCANS: u32 = 7;
const K_COW_BREAKS: u32 = 8;
const K_PAGES_SCANNED: u32 = 9;
const K_MERGES: u32 = 10;
const K_MOVED_ANY: u32 = 11;   // a bit was set in the moved bitmap this batch
const K_TOUCHED: u32 = 12;     // 4 fields: a bit per VM whose mappings or TLB must be redone
const TOUCHED_WORDS: u32 = 4;  // MAX_VMS / 64
const K_PASS_PAGES: u32 = 16;  // pages scanned in the pass under way

const SLOT_BYTES: u64 = 16;
const PAGE: usize = 4096;

/** What ksmStat reports (Linux's /sys/kernel/mm/ksm names, plus hvlab's own). */
export const KSM_PAGES_SHARED: u32 = 0;   // host frames mapped by more than one guest frame
export const KSM_PAGES_SHARING: u32 = 1;  // guest frames mapping them beyond the first: frames saved
export const KSM_PAGES_UNSHARED: u32 = 2; // pages the scanner holds as unique in this pass
export const KSM_FULL_SCANS: u32 = 3;     // passes over every mergeable guest frame
export const KSM_COW_BREAKS: u32 = 4;     // writes that gave a VM its own copy of a shared frame
export const KSM_PAGES_SCANNED: u32 = 5;
export const KSM_MERGES: u32 = 6;         // guest frames moved onto another's host frame
export const KSM_TABLE_FRAMES: u32 = 7;   // pool frames the scanner's tables take
export const KSM_ON: u32 = 8;

@inline function kget(f: u32): u64 { return load<u64>(hostKsmField(f)); }
@inline function kset(f: u32, v: u64): void { store<u64>(hostKsmField(f), v); }
@inline function firstHfn(): u64 { return machine.ramBase >> PAGE_SHIFT; }

/**
 * Does the scanner look at VM `id`'s frames? Live and translated (not pv), and not a VM that
 * uses grants (hv/grant.ts): another VM may map its granted frames or copy into them, and a
 * frame mapped elsewhere must stay where the mapping points.
 */
function mergeable(id: u32): bool {
  if (!hostVmLive(id) || !hostVmMergeable(id) || hostVmSplitArea(id) != 0) return false;
  const mode = hostVmMode(id);
  return mode == MODE_TRAP_EMULATE || mode == MODE_HVM_SHADOW || mode == MODE_HVM_NESTED;
}

// ---- switching it on and off --------------------------------------------------------------

/**
 * Switch the scanner on (taking its tables from the pool) or off (giving them back; merged
 * frames stay merged until written, as with Linux's `run = 0`). False if the pool has no room.
 */
export function ksmEnable(on: bool): bool {
  if (!hostActive()) return false;
  if (on == (kget(K_ON) != 0)) return true;
  if (!on) {
    hostPutRun(kget(K_TABLE), kget(K_RUN_FRAMES));
    kset(K_ON, 0);
    return true;
  }
  // A slot per pool frame at most half full would need twice the pool; guest frames are
  // fewer than pool frames, so one slot per pool frame (rounded up to a power of two) keeps
  // the table at most about half full in the usual case and never full.
  const frames = hostFrames();
  let slots: u64 = 1024;
  while (slots < frames) slots <<= 1;
  const tableFrames = (slots * SLOT_BYTES + PAGE - 1) >> PAGE_SHIFT;
  const movedFrames = ((frames + 7) / 8 + PAGE - 1) >> PAGE_SHIFT;
  const run = hostAllocRun(tableFrames + movedFrames);
  if (run < 0) return false;
  kset(K_TABLE, <u64>run);
  kset(K_RUN_FRAMES, tableFrames + movedFrames);
  kset(K_SLOTS, slots);
  kset(K_MOVED, <u64>run + tableFrames);
  kset(K_CUR_VM, 1);
  kset(K_CUR_GFN, 0);
  kset(K_MOVED_ANY, 0);
  kset(K_PASS_PAGES, 0);
  for (let w: u32 = 0; w < TOUCHED_WORDS; w++) kset(K_TOUCHED + w, 0);
  kset(K_ON, 1);
  return true;
}

// ---- copy-on-write --------------------------------------------------------------------------

/** Stop reason detail (machine.haltKind with STOP_ERROR): a copy-on-write break found the pool
 * empty. haltCode is the guest-physical address written. The VM stops; it is not the guest's
 * fault, and no fault is made up for it (Linux would OOM-kill; Xen's mem_sharing pauses). */
export const ERR_KSM_NO_MEMORY: u32 = 24;
const ONE_BIT: usize = memory.data<u8>([1]);

@inline function guestFrameOf(gpa: u64): u64 { return (gpa - GUEST_RAM_BASE) >> PAGE_SHIFT; }
@inline function isGuestRam(gpa: u64): bool { return gpa - GUEST_RAM_BASE < (vm.guestFrames << PAGE_SHIFT); }

/** Is the loaded VM's guest frame `gfn` on a host frame that others map too? */
export function ksmShared(gfn: u64): bool {
  if (machine.hostPool == 0) return false;
  return frameShared(<u64>load<u32>(mapEntry(hostCurrent(), gfn)) - firstHfn());
}

/**
 * The loaded VM is about to write guest-physical `gpa`: if its frame is shared, give the VM
 * its own copy first (allocate, copy, point the frame map at it, drop a reference to the
 * shared one) and drop every cached translation of the frame it left. False if the pool has
 * no frame for the copy: the VM is stopped (ERR_KSM_NO_MEMORY) and the write must not happen.
 */
export function ksmPrivate(gpa: u64): bool {
  if (machine.hostPool == 0 || !isGuestRam(gpa)) return true;
  const id = hostCurrent();
  const gfn = guestFrameOf(gpa);
  const p = mapEntry(id, gfn);
  const hfn = <u64>load<u32>(p);
  const f = hfn - firstHfn();
  if (!frameShared(f)) return true;
  const n = allocFrame(id);
  if (n < 0) {
    machine.stopReason = STOP_ERROR;
    machine.haltKind = ERR_KSM_NO_MEMORY;
    machine.haltCode = gpa;
    hart.chunkBreak = 1;
    return false;
  }
  memory.copy(hostFrameAddr(<u64>n), hostFrameAddr(f), PAGE);
  store<u32>(p, <u32>(firstHfn() + <u64>n));
  dirtyFrameMoved(machine.ramBase + (<u64>n << PAGE_SHIFT));
  putFrame(f);
  kset(K_COW_BREAKS, kget(K_COW_BREAKS) + 1);
  hostVmCowBreak(id);
  tlbFlushRam();
  if (machine.mode == MODE_HVM_NESTED) gstageSetLeaf(gfn, true);
  else if (machine.mode == MODE_TRAP_EMULATE || machine.mode == MODE_HVM_SHADOW) shadowZapFrames(ONE_BIT, hfn, 1);
  // The interpreter may hold the old frame as its fetch page: leave the chunk.
  hart.chunkBreak = 1;
  return true;
}

/**
 * hvm-nested: a store guest-page fault on guest RAM. G-stage leaves of RAM lose W only while
 * their frame is shared (ksmScan), so this is a copy-on-write break: make the frame the VM's
 * own and give the leaf W back. False if `gpa` is not such a fault (not RAM, not beside other
 * VMs) or the pool is empty.
 */
export function ksmWriteFault(gpa: u64): bool {
  if (machine.hostPool == 0 || !isGuestRam(gpa)) return false;
  if (!ksmPrivate(gpa)) return false;
  gstageSetLeaf(guestFrameOf(gpa), true);
  tlbFlushRam();
  return true;
}

/**
 * The page walk is about to set A/D in the PTE at host address `h`, whose physical address
 * in its table's space is `ptePa`. A shared frame is always guest RAM (the hypervisor's own
 * tables are never merged), so `ptePa` is then a guest-physical address. Returns where to
 * write, or 0 if the pool is empty (the walk faults instead).
 */
export function ksmPteWritable(h: usize, ptePa: u64): usize {
  const f = <u64>(h - <usize>machine.ramHost) >> PAGE_SHIFT;
  if (!frameShared(f)) return h;
  if (hostCurrent() == 0 || !isGuestRam(ptePa) || !ksmPrivate(ptePa)) return 0;
  return gpaHost(ptePa, 8);
}

/**
 * The loaded VM's mappings moved (ksmScan): drop its cached translations of the host frames
 * marked in `bitmap` (one bit per frame from `first`, `frames` of them), and in hvm-nested
 * rewrite the G-stage leaves, writable only where the frame is the VM's alone.
 */
function remapped(first: u64, bitmap: usize, frames: u64): void {
  tlbFlushRam();
  if (dirtyLogging()) {
    // A guest frame now on another host frame counts as written (hv/dirty.ts keys its log by
    // host frame): what was written to the old one since the last fetch is not lost with it.
    for (let f: u64 = 0; f < frames; f++) {
      if ((load<u8>(bitmap + <usize>(f >> 3)) & <u8>(1 << <u8>(f & 7))) != 0) dirtyFrameMoved((first + f) << PAGE_SHIFT);
    }
  }
  const mode = machine.mode;
  if (mode == MODE_HVM_NESTED) {
    const id = hostCurrent();
    for (let g: u64 = 0; g < vm.guestFrames; g++) {
      gstageSetLeaf(g, !frameShared(<u64>load<u32>(mapEntry(id, g)) - firstHfn()));
    }
  } else if (mode == MODE_TRAP_EMULATE || mode == MODE_HVM_SHADOW) {
    shadowZapFrames(bitmap, first, frames);
  }
}

// ---- the scanner ----------------------------------------------------------------------------

/** FNV-1a over the page's 64-bit words, folded: equal pages hash equal; a match is compared. */
function hashPage(p: usize): u64 {
  let h: u64 = 0xCBF2_9CE4_8422_2325;
  for (let i: usize = 0; i < PAGE; i += 8) {
    h = (h ^ load<u64>(p + i)) * 0x0000_0100_0000_01B3;
    h ^= h >> 29;
  }
  return h | 1; // never 0: 0 marks nothing
}

@inline function slotAddr(i: u64): usize { return hostFrameAddr(kget(K_TABLE)) + <usize>(i * SLOT_BYTES); }
@inline function mapEntry(id: u32, gfn: u64): usize { return hostVmFrameMap(id) + <usize>(gfn << 2); }

function touch(id: u32): void {
  const w = K_TOUCHED + ((id - 1) >> 6);
  kset(w, kget(w) | (<u64>1 << <u64>((id - 1) & 63)));
}

function markMoved(hfn: u64): void {
  const f = hfn - firstHfn();
  const p = hostFrameAddr(kget(K_MOVED)) + <usize>(f >> 3);
  store<u8>(p, load<u8>(p) | <u8>(1 << <u8>(f & 7)));
  kset(K_MOVED_ANY, 1);
}

/**
 * Move guest frame `gfn` of VM `id` onto host frame `keep` (same content): one more reference
 * to `keep`, one fewer to its old frame. If `keep` had one reference, the VM that maps it
 * (`keeper`) may hold store entries for it in its TLB: it is touched too.
 */
function merge(id: u32, gfn: u64, keep: u64, keeper: u32): void {
  const p = mapEntry(id, gfn);
  const old = <u64>load<u32>(p);
  if (frameRefs(keep - firstHfn()) == 1) touch(keeper);
  getFrame(keep - firstHfn());
  frameMarkMerged(keep - firstHfn());
  store<u32>(p, <u32>keep);
  putFrame(old - firstHfn());
  // Both frames' mappings changed: the old one's are stale, the kept one's must lose W.
  markMoved(old);
  markMoved(keep);
  touch(id);
  kset(K_MERGES, kget(K_MERGES) + 1);
}

/** Look VM `id`'s guest frame `gfn` up in the page table: merge it, or remember it. */
function scanPage(id: u32, gfn: u64): void {
  const hfn = <u64>load<u32>(mapEntry(id, gfn));
  const page = hostFrameAddr(hfn - firstHfn());
  const hash = hashPage(page);
  const mask = kget(K_SLOTS) - 1;
  let i = hash & mask;
  for (let probes: u64 = 0; probes <= mask; probes++, i = (i + 1) & mask) {
    const s = slotAddr(i);
    const sh = load<u64>(s);
    if (sh == 0) {
      store<u64>(s, hash);
      store<u32>(s + 8, id);
      store<u32>(s + 12, <u32>gfn);
      return;
    }
    if (sh != hash) continue;
    const sid = load<u32>(s + 8);
    const sgfn = <u64>load<u32>(s + 12);
    // The slot names a guest frame, not a host frame: it may be stale (its VM destroyed, its
    // page written since), but it can never point at a frame that is not guest RAM.
    if (!mergeable(sid) || sgfn >= hostVmGuestFrames(sid)) {
      store<u32>(s + 8, id);
      store<u32>(s + 12, <u32>gfn);
      return;
    }
    const shfn = <u64>load<u32>(mapEntry(sid, sgfn));
    if (shfn == hfn) return; // already one frame
    if (memory.compare(hostFrameAddr(shfn - firstHfn()), page, PAGE) != 0) continue;
    // Keep the frame that is shared already, so that sharing gathers on one frame.
    const mineShared = frameShared(hfn - firstHfn());
    const theirsShared = frameShared(shfn - firstHfn());
    if (mineShared && !theirsShared) {
      merge(sid, sgfn, hfn, id);
      store<u32>(s + 8, id);
      store<u32>(s + 12, <u32>gfn);
    } else {
      merge(id, gfn, shfn, sid);
    }
    return;
  }
}

/**
 * Scan up to `pages` guest frames of the mergeable VMs, from where the last call stopped (the
 * host calls this between slices: the budget bounds the pause). After a pass over every VM the
 * table is emptied, as Linux rebuilds its unstable tree each pass. Every VM whose mappings
 * moved, or whose frame became shared, then has its cached translations dropped, loaded in
 * turn; the VM that was loaded before is loaded again. Returns the pages scanned.
 */
export function ksmScan(pages: u32): u32 {
  if (!hostActive() || kget(K_ON) == 0) return 0;
  const before = hostCurrent();
  let scanned: u32 = 0;
  while (scanned < pages) {
    let id = <u32>kget(K_CUR_VM);
    const gfn = kget(K_CUR_GFN);
    if (id > MAX_VMS) {
      // A full pass ends (one that found no mergeable frame at all is not counted).
      kset(K_CUR_VM, 1);
      kset(K_CUR_GFN, 0);
      if (kget(K_PASS_PAGES) == 0) break;
      kset(K_FULL_SCANS, kget(K_FULL_SCANS) + 1);
      kset(K_PASS_PAGES, 0);
      memory.fill(slotAddr(0), 0, <usize>(kget(K_SLOTS) * SLOT_BYTES));
      continue;
    }
    if (!mergeable(id) || gfn >= hostVmGuestFrames(id)) {
      kset(K_CUR_VM, id + 1);
      kset(K_CUR_GFN, 0);
      continue;
    }
    kset(K_CUR_GFN, gfn + 1);
    kset(K_PASS_PAGES, kget(K_PASS_PAGES) + 1);
    scanPage(id, gfn);
    scanned++;
  }
  kset(K_PAGES_SCANNED, kget(K_PAGES_SCANNED) + scanned);
  settle();
  if (before != 0) hostSwitch(before);
  return scanned;
}

/** Drop the cached translations of every VM the batch touched, and clear the batch's marks. */
function settle(): void {
  const moved = hostFrameAddr(kget(K_MOVED));
  for (let w: u32 = 0; w < TOUCHED_WORDS; w++) {
    let bits = kget(K_TOUCHED + w);
    while (bits != 0) {
      const b = <u32>ctz(bits);
      bits &= bits - 1;
      const id = w * 64 + b + 1;
      if (!hostSwitch(id)) continue;
      remapped(firstHfn(), moved, hostFrames());
    }
    kset(K_TOUCHED + w, 0);
  }
  if (kget(K_MOVED_ANY) != 0) {
    memory.fill(moved, 0, <usize>((hostFrames() + 7) / 8));
    kset(K_MOVED_ANY, 0);
  }
}

/** One of the KSM_* figures. */
export function ksmStat(what: u32): u64 {
  if (!hostActive()) return 0;
  switch (what) {
    case KSM_FULL_SCANS: return kget(K_FULL_SCANS);
    case KSM_COW_BREAKS: return kget(K_COW_BREAKS);
    case KSM_PAGES_SCANNED: return kget(K_PAGES_SCANNED);
    case KSM_MERGES: return kget(K_MERGES);
    case KSM_TABLE_FRAMES: return kget(K_ON) != 0 ? kget(K_RUN_FRAMES) : 0;
    case KSM_ON: return kget(K_ON);
    case KSM_PAGES_UNSHARED: return unshared();
    default: break;
  }
  // Shared and sharing come from the frame table itself, so they stay right whatever drops a
  // reference (a write, a VM destroyed, a reset).
  let shared: u64 = 0;
  let sharing: u64 = 0;
  const frames = hostFrames();
  for (let f: u64 = 0; f < frames; f++) {
    if (!frameShared(f)) continue;
    const r = frameRefs(f);
    shared++;
    sharing += r - 1;
  }
  return what == KSM_PAGES_SHARED ? shared : sharing;
}

/** Slots of this pass naming a guest frame that is still its VM's alone. */
function unshared(): u64 {
  if (kget(K_ON) == 0) return 0;
  let n: u64 = 0;
  const slots = kget(K_SLOTS);
  for (let i: u64 = 0; i < slots; i++) {
    const s = slotAddr(i);
    if (load<u64>(s) == 0) continue;
    const id = load<u32>(s + 8);
    const gfn = <u64>load<u32>(s + 12);
    if (!mergeable(id) || gfn >= hostVmGuestFrames(id)) continue;
    if (frameRefs(<u64>load<u32>(mapEntry(id, gfn)) - firstHfn()) == 1) n++;
  }
  return n;
}
