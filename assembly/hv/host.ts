// Many VMs in one machine (issue 12; DESIGN.md "The execution modes"). One core instance and
// one linear memory hold every VM, the way one Xen host holds its domains:
//
//   machine RAM = the host pool, in 4 KiB host frames
//   ramBase          host header, VM table, frame table, pristine context   (HOST_RESERVED)
//   ...              frames handed out one by one: each VM's context save area, hypervisor
//                    area and disk (contiguous runs) and its guest frames (single frames,
//                    wherever they are free: guest RAM is not contiguous in host memory)
//
// A VM's whole CPU and device state is the core's static data, [0, __heap_base): the hart,
// the fast TLB, the devices, the virtio queues, the hypervisor's per-VM state (state.ts keeps
// none of it in wasm globals). Switching VMs (a world switch) saves that region into the
// outgoing VM's save area and loads the incoming VM's, as a hypervisor saves and loads vCPU
// state on a context switch. The TLB goes with it, as a VMID-tagged hardware TLB would keep
// it, so a VM's counters do not depend on who else ran (issue 12, "Isolation").
//
// The frame table (like Xen's struct page_info array) has one record per host frame: its
// owner (a VM id, or OWNER_FREE / OWNER_HOST) and a reference count (frames shared by several
// VMs have more than one reference). Frames are zeroed when they are handed out, so a VM
// never sees what another left behind.

import { machine, MODE_HVM_NESTED, MODE_HVM_SHADOW, MODE_PV, MODE_TRAP_EMULATE } from '../state';
import { PAGE_SHIFT } from '../riscv/bits';
import { ramHost } from '../mmu/access';
import { vm, vmPlace, vmPlaceBytes, GSTAGE_1G, GSTAGE_4K } from './vm';
import { SPLIT_AREA_FRAMES, splitOnLoad, splitVmGone } from './grant';
import { ioBlockActive, ioBlockSet, IO_BLOCK_FRAMES } from '../virtio/ioblock';

export const MAX_VMS: u32 = 256;
export const OWNER_FREE: u32 = 0;
export const OWNER_HOST: u32 = 0xFFFF;

/** The core's static data: everything a world switch saves and loads. */
@inline export function contextBytes(): u64 { return (<u64>__heap_base + 15) & ~(<u64>15); }

// Host header fields (u64 each), at the start of the pool.
const H_MAGIC: u32 = 0;
const H_FRAMES: u32 = 1;       // host frames in the pool
const H_FREE: u32 = 2;         // free frames
const H_CURRENT: u32 = 3;      // the VM whose state is in static data (0: none)
const H_CURSOR: u32 = 4;       // where the next single-frame search starts
const H_VMTABLE: u32 = 5;      // host-physical address of the VM table
const H_FRAMETABLE: u32 = 6;   // ... of the frame table
const H_PRISTINE: u32 = 7;     // ... of the pristine context
const H_LIVE: u32 = 8;         // VMs in existence
const H_SHADOW_PAGES: u32 = 9; // shadow pool pages of a new VM (set by the host)
const HEADER_BYTES: u64 = 4096;
/** Header fields from here on belong to same-page merging (hv/ksm.ts). */
export const H_KSM_FIRST: u32 = 64;
export const H_KSM_FIELDS: u32 = 64;
const MAGIC: u64 = 0x6876_6C61_625F_686F; // "hvlab_ho"

// VM table records: 16 u64 fields.
const V_LIVE: u32 = 0;
const V_MODE: u32 = 1;
const V_SAVE: u32 = 2;      // host-physical address of the context save area
const V_SAVE_FRAMES: u32 = 3;
const V_HV: u32 = 4;        // hypervisor area (frame map first)
const V_HV_FRAMES: u32 = 5;
const V_GUEST_FRAMES: u32 = 6;
const V_DISK: u32 = 7;      // disk image run (0: none)
const V_DISK_FRAMES: u32 = 8;
const V_PV_POOL: u32 = 9;         // pv: its m2p, p2m and boot tables (hv/pvmmu.ts), a run of their own
const V_PV_POOL_FRAMES: u32 = 10;
const V_DIRTY: u32 = 11;       // dirty-log bitmap run (hv/dirty.ts; 0: not logging)
const V_DIRTY_FRAMES: u32 = 12;
const V_SPLIT: u32 = 13;    // grant and event-channel area (hv/grant.ts), 0 until first used
const V_NO_MERGE: u32 = 14;  // the host keeps this VM's frames out of merging (hv/ksm.ts)
const V_COW_BREAKS: u32 = 15; // copy-on-write breaks of this VM's frames (hv/ksm.ts)
const V_IO: u32 = 16;        // its I/O block (virtio/ioblock.ts: what an offload worker shares), 0: none
const V_IO_FRAMES: u32 = 17;
// Fields 18..31 are free: the record was grown from 16 fields to 32 for the I/O block.
const V_RECORD_BYTES: u64 = 32 * 8;

// Frame table records: u32 owner | u32 references.
const F_RECORD_BYTES: u64 = 8;

/** Shadow pool pages of a VM beside others, unless the host sets another figure. */
export const SHARED_SHADOW_PAGES: u64 = 64;

@inline function hdr(field: u32): usize { return <usize>machine.ramHost + (<usize>field << 3); }
@inline function hget(field: u32): u64 { return load<u64>(hdr(field)); }
@inline function hset(field: u32, v: u64): void { store<u64>(hdr(field), v); }

/** Host address of KSM header field `i` (0..H_KSM_FIELDS-1): its state lives in the pool, not
 * in the core's static data, which is per VM (hv/ksm.ts). */
export function hostKsmField(i: u32): usize { return hdr(H_KSM_FIRST + i); }

/** Is the machine a host of many VMs (hostInit was called)? */
@inline export function hostActive(): bool { return machine.hostPool != 0; }

@inline function hostAddr(hpa: u64): usize { return ramHost(hpa, 1); }
@inline function vmRec(id: u32, field: u32): usize {
  return hostAddr(hget(H_VMTABLE)) + <usize>((<u64>(id - 1)) * V_RECORD_BYTES) + (<usize>field << 3);
}
@inline function vget(id: u32, field: u32): u64 { return load<u64>(vmRec(id, field)); }
@inline function vset(id: u32, field: u32, v: u64): void { store<u64>(vmRec(id, field), v); }
@inline function frameIndex(hpa: u64): u64 { return (hpa - machine.ramBase) >> PAGE_SHIFT; }
@inline function frameRec(index: u64): usize { return hostAddr(hget(H_FRAMETABLE)) + <usize>(index * F_RECORD_BYTES); }
@inline export function frameOwner(index: u64): u32 { return load<u32>(frameRec(index)); }
@inline export function frameRefs(index: u64): u32 { return load<u32>(frameRec(index) + 4); }
/**
 * Set in a frame's owner word when same-page merging made it one of several VMs' page
 * (hv/ksm.ts). A frame can have more than one reference for another reason - a grant mapping
 * (hv/grant.ts) - and that one must not be copied on write: the granter's writes are the point.
 * The bit goes when the frame is freed.
 */
export const FRAME_MERGED: u32 = 0x8000_0000;
/** Is host frame `index` a merged page that more than one guest frame maps now? */
@inline export function frameShared(index: u64): bool {
  return (load<u32>(frameRec(index)) & FRAME_MERGED) != 0 && frameRefs(index) > 1;
}
export function frameMarkMerged(index: u64): void { store<u32>(frameRec(index), load<u32>(frameRec(index)) | FRAME_MERGED); }

/**
 * Make machine RAM (init() already sized it) a pool for many VMs: lay out the header, the VM
 * table and the frame table, and keep a pristine copy of the core's static data, from which
 * every new VM starts. Returns false if the pool is too small for its own tables.
 */
export function hostInit(): bool {
  const frames = machine.ramSize >> PAGE_SHIFT;
  const vmTable = machine.ramBase + HEADER_BYTES;
  const frameTable = vmTable + <u64>MAX_VMS * V_RECORD_BYTES;
  const pristine = (frameTable + frames * F_RECORD_BYTES + 4095) & ~(<u64>4095);
  const reserved = (pristine + contextBytes() - machine.ramBase + 4095) >> PAGE_SHIFT;
  if (reserved + 64 > frames) return false;
  memory.fill(<usize>machine.ramHost, 0, <usize>(reserved << PAGE_SHIFT));
  machine.hostPool = 1;
  hset(H_MAGIC, MAGIC);
  hset(H_FRAMES, frames);
  hset(H_VMTABLE, vmTable);
  hset(H_FRAMETABLE, frameTable);
  hset(H_PRISTINE, pristine);
  hset(H_CURRENT, 0);
  hset(H_LIVE, 0);
  hset(H_SHADOW_PAGES, SHARED_SHADOW_PAGES);
  for (let f: u64 = 0; f < frames; f++) {
    store<u32>(frameRec(f), f < reserved ? OWNER_HOST : OWNER_FREE);
    store<u32>(frameRec(f) + 4, f < reserved ? 1 : 0);
  }
  hset(H_FREE, frames - reserved);
  hset(H_CURSOR, reserved);
  memory.copy(hostAddr(pristine), 0, <usize>contextBytes());
  return true;
}

export function hostFrames(): u64 { return hostActive() ? hget(H_FRAMES) : 0; }
export function hostFreeFrames(): u64 { return hostActive() ? hget(H_FREE) : 0; }
export function hostCurrent(): u32 { return hostActive() ? <u32>hget(H_CURRENT) : 0; }
export function hostLiveVms(): u32 { return hostActive() ? <u32>hget(H_LIVE) : 0; }
export function hostSetShadowPages(pages: u64): void {
  if (hostActive()) hset(H_SHADOW_PAGES, pages < 16 ? 16 : pages > 4096 ? 4096 : pages);
}

// ---- the frame allocator ------------------------------------------------------------------

function takeFrame(f: u64, owner: u32): void {
  store<u32>(frameRec(f), owner);
  store<u32>(frameRec(f) + 4, 1);
  memory.fill(hostAddr(machine.ramBase + (f << PAGE_SHIFT)), 0, 4096);
  hset(H_FREE, hget(H_FREE) - 1);
}

/** One free frame for `owner` (zeroed), its index, or -1 if none is left. */
export function allocFrame(owner: u32): i64 {
  const frames = hget(H_FRAMES);
  let f = hget(H_CURSOR);
  for (let n: u64 = 0; n < frames; n++, f++) {
    if (f >= frames) f = 0;
    if (frameOwner(f) == OWNER_FREE) {
      takeFrame(f, owner);
      hset(H_CURSOR, f + 1);
      return <i64>f;
    }
  }
  return -1;
}

/** `n` contiguous free frames for `owner` (zeroed): the first one's index, or -1. */
function allocRun(n: u64, owner: u32): i64 {
  const frames = hget(H_FRAMES);
  let run: u64 = 0;
  for (let f: u64 = 0; f < frames; f++) {
    if (frameOwner(f) != OWNER_FREE) { run = 0; continue; }
    run++;
    if (run == n) {
      const first = f + 1 - n;
      for (let g = first; g <= f; g++) takeFrame(g, owner);
      return <i64>first;
    }
  }
  return -1;
}

const RUN_2M: u64 = 512;
const RUN_1G: u64 = 512 * 512;

/**
 * `n` (a power of two) contiguous free frames for `owner` (zeroed), starting at a frame index
 * that is a multiple of `n`: host-aligned to n pages, as machine RAM starts 2 GiB-aligned.
 * The first one's index, or -1.
 */
function allocAlignedRun(n: u64, owner: u32): i64 {
  const frames = hget(H_FRAMES);
  for (let first: u64 = 0; first + n <= frames; first += n) {
    let free = true;
    for (let f = first; f < first + n; f++) if (frameOwner(f) != OWNER_FREE) { free = false; break; }
    if (!free) continue;
    for (let f = first; f < first + n; f++) takeFrame(f, owner);
    return <i64>first;
  }
  return -1;
}

/** Drop one reference to frame `f`; the last one frees it. */
export function putFrame(f: u64): void {
  const refs = frameRefs(f);
  if (refs > 1) { store<u32>(frameRec(f) + 4, refs - 1); return; }
  store<u32>(frameRec(f), OWNER_FREE);
  store<u32>(frameRec(f) + 4, 0);
  hset(H_FREE, hget(H_FREE) + 1);
}

/** Take one more reference to frame `f` (a page shared by several VMs). */
export function getFrame(f: u64): void { store<u32>(frameRec(f) + 4, frameRefs(f) + 1); }

function putRun(first: u64, n: u64): void { for (let f = first; f < first + n; f++) putFrame(f); }

// ---- VMs ------------------------------------------------------------------------------------

@inline function framesOf(bytes: u64): u64 { return (bytes + 4095) >> PAGE_SHIFT; }

/**
 * Shadow pool pages a VM of `frames` guest frames gets in `mode` beside others, in its
 * hypervisor area. A pv VM's pool is a run of its own, sized once its frames are known
 * (pvPoolPages).
 */
function shadowPagesFor(mode: u32, frames: u64): u64 {
  if (mode == MODE_HVM_SHADOW || mode == MODE_TRAP_EMULATE) return hget(H_SHADOW_PAGES);
  return 0;
}

/**
 * A pv VM's pool (hv/pvmmu.ts): its m2p, one u32 per machine frame of the window its frames
 * lie in (`window` frames, from the lowest to the highest), the p2m, and the tables of the boot
 * address space that map guest RAM, p2m and m2p. A quarter more m2p than the window needs, so a
 * reset that gives the VM a fresh frame in place of one another VM maps (hostClearGuestRam)
 * usually still fits; pvMmuReset lists only what fits, never more.
 */
function pvPoolPages(frames: u64, window: u64): u64 {
  const m2p = framesOf((window + (window >> 2)) * 4);
  const p2m = framesOf(frames * 4);
  return m2p + p2m + ((frames + m2p + p2m) >> 9) + 18;
}

/** Frames of the I/O block an offload VM takes besides (hostVmIoBlock). */
export function hostIoBlockFrames(): u64 { return IO_BLOCK_FRAMES; }

/** Host memory a VM of `guestBytes` in `mode` takes beyond its guest RAM (context, tables). */
export function hostVmOverhead(mode: u32, guestBytes: u64): u64 {
  if (!hostActive()) return 0;
  const frames = guestBytes >> PAGE_SHIFT;
  const hv = vmPlaceBytes(frames, shadowPagesFor(mode, frames), mode == MODE_HVM_NESTED);
  // pv: as if its frames were contiguous, which they are in a pool that has not been churned.
  const pvPool = mode == MODE_PV ? pvPoolPages(frames, frames) : 0;
  return (framesOf(contextBytes()) + framesOf(hv) + pvPool) << PAGE_SHIFT;
}

/** The machine-frame window of the loaded VM's pv m2p: first frame and entries (hv/pvmmu.ts). */
export function hostPvWindow(first: bool): u64 {
  const id = <u32>hget(H_CURRENT);
  const map = hostAddr(vget(id, V_HV));
  let lo: u64 = 0xFFFF_FFFF, hi: u64 = 0;
  for (let g: u64 = 0; g < vget(id, V_GUEST_FRAMES); g++) {
    const hfn = <u64>load<u32>(map + <usize>(g * 4));
    if (hfn < lo) lo = hfn;
    if (hfn > hi) hi = hfn;
  }
  return first ? lo : hi - lo + 1;
}

/** Save the running VM's state into its save area and leave no VM loaded. */
function saveCurrent(): void {
  const cur = <u32>hget(H_CURRENT);
  if (cur == 0) return;
  memory.copy(hostAddr(vget(cur, V_SAVE)), 0, <usize>contextBytes());
  hset(H_CURRENT, 0);
}

/** Load VM `id`'s state (the current one saved first); false if there is no such VM. */
export function hostSwitch(id: u32): bool {
  if (!hostActive() || id == 0 || id > MAX_VMS || vget(id, V_LIVE) == 0) return false;
  const cur = <u32>hget(H_CURRENT);
  if (cur == id) return true;
  // The copy overwrites `machine` too; the pool's fields in it are the same in every context.
  const save = vget(id, V_SAVE);
  saveCurrent();
  memory.copy(0, hostAddr(save), <usize>contextBytes());
  hset(H_CURRENT, id);
  // What other VMs did to this one while it was not loaded: an event sent to it, a grant
  // mapping of its revoked (hv/grant.ts).
  splitOnLoad(id);
  return true;
}

/**
 * Create a VM of `guestBytes` in `mode` (MODE_*, not native): a context from the pristine
 * one, a hypervisor area and guest frames from the pool. It is left loaded (current), with
 * machine.mode set and its hypervisor area placed; the host then configures and boots it as
 * it would a VM alone. Returns its id (1..MAX_VMS), or 0 if the pool has no room (nothing is
 * kept then).
 */
export function hostVmCreate(mode: u32, guestBytes: u64, gstagePages: u32): u32 {
  if (!hostActive() || mode < MODE_TRAP_EMULATE || mode > MODE_PV || (guestBytes & 4095) != 0 || guestBytes == 0) return 0;
  let id: u32 = 0;
  for (let i: u32 = 1; i <= MAX_VMS; i++) if (vget(i, V_LIVE) == 0) { id = i; break; }
  if (id == 0) return 0;
  const frames = guestBytes >> PAGE_SHIFT;
  const shadowPages = shadowPagesFor(mode, frames);
  const hvFrames = framesOf(vmPlaceBytes(frames, shadowPages, mode == MODE_HVM_NESTED));
  const saveFrames = framesOf(contextBytes());
  if (saveFrames + hvFrames + frames > hget(H_FREE)) return 0;
  const save = allocRun(saveFrames, id);
  if (save < 0) return 0;
  const hv = allocRun(hvFrames, id);
  if (hv < 0) { putRun(<u64>save, saveFrames); return 0; }
  // Guest frames one at a time, wherever they are free: the frame map (in the hypervisor
  // area) says where each is, as it does for a VM alone. For large G-stage pages each whole
  // 2 MiB (1 GiB) of guest RAM first looks for an aligned free run of its own; where the pool
  // has none, its frames come one at a time too, and the G-stage build counts the fallback.
  const mapHost = hostAddr(machine.ramBase + (<u64>hv << PAGE_SHIFT));
  const pages = gstagePages <= GSTAGE_1G ? gstagePages : GSTAGE_4K;
  let g: u64 = 0;
  while (g < frames) {
    let run: i64 = -1;
    let n: u64 = 1;
    if (pages == GSTAGE_1G && (g & (RUN_1G - 1)) == 0 && g + RUN_1G <= frames) {
      run = allocAlignedRun(RUN_1G, id);
      n = RUN_1G;
    }
    if (run < 0 && pages != GSTAGE_4K && (g & (RUN_2M - 1)) == 0 && g + RUN_2M <= frames) {
      run = allocAlignedRun(RUN_2M, id);
      n = RUN_2M;
    }
    if (run < 0) {
      // The free count was checked above, so a frame is always there.
      run = allocFrame(id);
      n = 1;
    }
    for (let i: u64 = 0; i < n; i++) {
      store<u32>(mapHost + <usize>((g + i) * 4), <u32>((machine.ramBase >> PAGE_SHIFT) + <u64>run + i));
    }
    g += n;
  }
  vset(id, V_HV, machine.ramBase + (<u64>hv << PAGE_SHIFT));
  vset(id, V_GUEST_FRAMES, frames);
  let pvPool: i64 = 0;
  let pvFrames: u64 = 0;
  if (mode == MODE_PV) {
    // Sized now that the frames are placed: the m2p covers the window they lie in.
    let lo: u64 = 0xFFFF_FFFF, hi: u64 = 0;
    for (let g: u64 = 0; g < frames; g++) {
      const hfn = <u64>load<u32>(mapHost + <usize>(g * 4));
      if (hfn < lo) lo = hfn;
      if (hfn > hi) hi = hfn;
    }
    pvFrames = pvPoolPages(frames, hi - lo + 1);
    pvPool = allocRun(pvFrames, id);
    if (pvPool < 0) {
      for (let g: u64 = 0; g < frames; g++) putFrame(<u64>load<u32>(mapHost + <usize>(g * 4)) - (machine.ramBase >> PAGE_SHIFT));
      putRun(<u64>hv, hvFrames);
      putRun(<u64>save, saveFrames);
      vset(id, V_HV, 0);
      vset(id, V_GUEST_FRAMES, 0);
      return 0;
    }
  }
  vset(id, V_PV_POOL, pvFrames == 0 ? 0 : machine.ramBase + (<u64>pvPool << PAGE_SHIFT));
  vset(id, V_PV_POOL_FRAMES, pvFrames);
  vset(id, V_LIVE, 1);
  vset(id, V_MODE, mode);
  vset(id, V_SAVE, machine.ramBase + (<u64>save << PAGE_SHIFT));
  vset(id, V_SAVE_FRAMES, saveFrames);
  vset(id, V_HV, machine.ramBase + (<u64>hv << PAGE_SHIFT));
  vset(id, V_HV_FRAMES, hvFrames);
  vset(id, V_GUEST_FRAMES, frames);
  vset(id, V_DISK, 0);
  vset(id, V_DISK_FRAMES, 0);
  hset(H_LIVE, hget(H_LIVE) + 1);
  // The new VM starts from the pristine context.
  saveCurrent();
  memory.copy(0, hostAddr(hget(H_PRISTINE)), <usize>contextBytes());
  hset(H_CURRENT, id);
  machine.mode = mode;
  vmPlace(vget(id, V_HV), frames, shadowPages, mode == MODE_HVM_NESTED);
  if (pvFrames != 0) {
    vm.shadowPool = vget(id, V_PV_POOL);
    vm.shadowPages = pvFrames;
  }
  vm.hvBytes = hvFrames << PAGE_SHIFT;
  vm.guestHfnBase = 0;
  vm.gstagePages = pages;
  return id;
}

/** Give the current VM a disk of `bytes` from the pool (zeroed): its linear address, or 0. */
export function hostDiskAlloc(bytes: u64): usize {
  const id = <u32>hget(H_CURRENT);
  if (id == 0) return 0;
  if (vget(id, V_DISK) != 0) putRun(frameIndex(vget(id, V_DISK)), vget(id, V_DISK_FRAMES));
  vset(id, V_DISK, 0);
  const n = framesOf(bytes);
  const first = allocRun(n, id);
  if (first < 0) return 0;
  const hpa = machine.ramBase + (<u64>first << PAGE_SHIFT);
  vset(id, V_DISK, hpa);
  vset(id, V_DISK_FRAMES, n);
  return hostAddr(hpa);
}

/**
 * Give the loaded VM an I/O block (virtio/ioblock.ts): a run of pool frames, zeroed, where its
 * virtio records, RX ring and its worker's counts live from now on, at an address no world
 * switch moves, so that an offload worker can serve the VM while others are loaded. Called
 * right after hostVmCreate, before any device is set up (the records start zeroed, as the
 * pristine context's are). Returns its linear address, or 0 if the pool has no room or the
 * VM has one already.
 */
export function hostVmIoBlock(): usize {
  const id = <u32>hget(H_CURRENT);
  if (id == 0 || vget(id, V_IO) != 0 || ioBlockActive()) return 0;
  const first = allocRun(IO_BLOCK_FRAMES, id);
  if (first < 0) return 0;
  const hpa = machine.ramBase + (<u64>first << PAGE_SHIFT);
  vset(id, V_IO, hpa);
  vset(id, V_IO_FRAMES, IO_BLOCK_FRAMES);
  ioBlockSet(hostAddr(hpa));
  return hostAddr(hpa);
}

/** Destroy VM `id`: every frame it holds goes back to the pool. False if there is no such VM. */
export function hostVmDestroy(id: u32): bool {
  if (!hostActive() || id == 0 || id > MAX_VMS || vget(id, V_LIVE) == 0) return false;
  // Its grants and mappings go first: no frame of it stays mapped in another VM, and its
  // mappings of other VMs' frames drop their references (hv/grant.ts).
  splitVmGone(id, true);
  if (<u32>hget(H_CURRENT) == id) hset(H_CURRENT, 0); // its state is simply dropped
  const map = hostAddr(vget(id, V_HV));
  const frames = vget(id, V_GUEST_FRAMES);
  for (let g: u64 = 0; g < frames; g++) putFrame(<u64>load<u32>(map + <usize>(g * 4)) - (machine.ramBase >> PAGE_SHIFT));
  putRun(frameIndex(vget(id, V_HV)), vget(id, V_HV_FRAMES));
  if (vget(id, V_PV_POOL) != 0) putRun(frameIndex(vget(id, V_PV_POOL)), vget(id, V_PV_POOL_FRAMES));
  putRun(frameIndex(vget(id, V_SAVE)), vget(id, V_SAVE_FRAMES));
  if (vget(id, V_DISK) != 0) putRun(frameIndex(vget(id, V_DISK)), vget(id, V_DISK_FRAMES));
  if (vget(id, V_SPLIT) != 0) putRun(frameIndex(vget(id, V_SPLIT)), SPLIT_AREA_FRAMES);
  if (vget(id, V_DIRTY) != 0) putRun(frameIndex(vget(id, V_DIRTY)), vget(id, V_DIRTY_FRAMES));
  if (vget(id, V_IO) != 0) putRun(frameIndex(vget(id, V_IO)), vget(id, V_IO_FRAMES));
  memory.fill(vmRec(id, 0), 0, <usize>V_RECORD_BYTES);
  hset(H_LIVE, hget(H_LIVE) - 1);
  return true;
}

/** VM `id`'s frame map (host address), for hv/ksm.ts (hostVmLive, hostVmMode below). */
export function hostVmFrameMap(id: u32): usize { return hostAddr(vget(id, V_HV)); }
/** Keep VM `id`'s frames out of same-page merging (its devices write guest RAM behind the
 * core's back), or let them in again. False if there is no such VM. */
export function hostVmSetMergeable(id: u32, on: bool): bool {
  if (!hostVmLive(id)) return false;
  vset(id, V_NO_MERGE, on ? 0 : 1);
  return true;
}
export function hostVmMergeable(id: u32): bool { return vget(id, V_NO_MERGE) == 0; }
/** Count a copy-on-write break of VM `id`; hostVmCowBreaks reads the count. */
export function hostVmCowBreak(id: u32): void { vset(id, V_COW_BREAKS, vget(id, V_COW_BREAKS) + 1); }
export function hostVmCowBreaks(id: u32): u64 { return hostVmLive(id) ? vget(id, V_COW_BREAKS) : 0; }
/** Host address of host frame `f`. */
export function hostFrameAddr(f: u64): usize { return hostAddr(machine.ramBase + (f << PAGE_SHIFT)); }
/** `n` contiguous frames for the host's own tables (hv/ksm.ts), zeroed; index or -1. */
export function hostAllocRun(n: u64): i64 { return allocRun(n, OWNER_HOST); }
export function hostPutRun(first: u64, n: u64): void { putRun(first, n); }

// ---- for the lifecycle (hv/life.ts, hv/dirty.ts) -------------------------------------------

export const AREA_SAVE: u32 = 0;
export const AREA_HV: u32 = 1;
export const AREA_DISK: u32 = 2;
export const AREA_DIRTY: u32 = 3;
export const AREA_PV_POOL: u32 = 4;

/** Host-physical address of one of VM `id`'s runs (AREA_*), 0 if it has none. */
export function hostVmArea(id: u32, what: u32): u64 {
  if (!hostActive() || id == 0 || id > MAX_VMS || vget(id, V_LIVE) == 0) return 0;
  return vget(id, what == AREA_SAVE ? V_SAVE : what == AREA_HV ? V_HV : what == AREA_DISK ? V_DISK : what == AREA_DIRTY ? V_DIRTY : V_PV_POOL);
}

/** Host frames of one of VM `id`'s runs (AREA_*). */
export function hostVmAreaFrames(id: u32, what: u32): u64 {
  if (!hostActive() || id == 0 || id > MAX_VMS || vget(id, V_LIVE) == 0) return 0;
  return vget(id, what == AREA_SAVE ? V_SAVE_FRAMES : what == AREA_HV ? V_HV_FRAMES : what == AREA_DISK ? V_DISK_FRAMES :
    what == AREA_DIRTY ? V_DIRTY_FRAMES : V_PV_POOL_FRAMES);
}

/** The loaded VM's id (0: none). */
export function hostLoaded(): u32 { return hostActive() ? <u32>hget(H_CURRENT) : 0; }

/**
 * Give the loaded VM a run of `n` zeroed frames for its dirty log (or, with n = 0, free the
 * one it has): the run's host-physical address, or 0 if the pool has no room.
 */
export function hostDirtyRun(n: u64): u64 {
  const id = <u32>hget(H_CURRENT);
  if (id == 0) return 0;
  if (vget(id, V_DIRTY) != 0) putRun(frameIndex(vget(id, V_DIRTY)), vget(id, V_DIRTY_FRAMES));
  vset(id, V_DIRTY, 0);
  vset(id, V_DIRTY_FRAMES, 0);
  if (n == 0) return 0;
  const first = allocRun(n, id);
  if (first < 0) return 0;
  const hpa = machine.ramBase + (<u64>first << PAGE_SHIFT);
  vset(id, V_DIRTY, hpa);
  vset(id, V_DIRTY_FRAMES, n);
  return hpa;
}

/** A run of `n` zeroed frames the host uses for a while (hv/life.ts): its address, or 0. */
export function hostScratchAlloc(n: u64): u64 {
  const first = allocRun(n, OWNER_HOST);
  return first < 0 ? 0 : machine.ramBase + (<u64>first << PAGE_SHIFT);
}
export function hostScratchFree(hpa: u64, n: u64): void { putRun(frameIndex(hpa), n); }

/**
 * Give the loaded VM a frame of its own in place of each guest frame it shares with others
 * through merging (a copy: the contents stay), so that writing its RAM touches no one else's. False if the
 * pool ran out of frames.
 */
export function hostVmUnshare(): bool { return ownFrames(false); }

/** Host frames VM `id` holds (guest frames, its areas and disk), or 0 if there is no such VM. */
export function hostVmFrames(id: u32): u64 {
  if (!hostActive() || id == 0 || id > MAX_VMS || vget(id, V_LIVE) == 0) return 0;
  return vget(id, V_GUEST_FRAMES) + vget(id, V_HV_FRAMES) + vget(id, V_PV_POOL_FRAMES) + vget(id, V_SAVE_FRAMES) + vget(id, V_DISK_FRAMES) +
    vget(id, V_DIRTY_FRAMES) + (vget(id, V_SPLIT) != 0 ? SPLIT_AREA_FRAMES : 0) + vget(id, V_IO_FRAMES);
}

// ---- what hv/grant.ts and hv/evtchn.ts need of other VMs ------------------------------------
// A VM that is not loaded has its state in its save area, out of reach; what one VM's
// hypercall must see or change of another (its grant table, its frames, its event ports) is
// in the pool and reached through the VM table.

/** Is `id` a VM in existence? */
export function hostVmLive(id: u64): bool {
  return hostActive() && id != 0 && id <= <u64>MAX_VMS && vget(<u32>id, V_LIVE) != 0;
}
export function hostVmMode(id: u32): u32 { return <u32>vget(id, V_MODE); }
export function hostVmGuestFrames(id: u32): u64 { return vget(id, V_GUEST_FRAMES); }
/** Host-physical address of VM `id`'s hypervisor area (its frame map first, hv/vm.ts). */
export function hostVmHv(id: u32): u64 { return vget(id, V_HV); }
/** Host-physical address of VM `id`'s grant/event area, or 0 if it has none yet. */
export function hostVmSplitArea(id: u32): u64 { return vget(id, V_SPLIT); }

/** Give VM `id` its grant/event area (zeroed) if it has none: its address, or 0 if the pool is empty. */
export function hostVmSplitAreaEnsure(id: u32): u64 {
  const have = vget(id, V_SPLIT);
  if (have != 0) return have;
  const first = allocRun(SPLIT_AREA_FRAMES, id);
  if (first < 0) return 0;
  const hpa = machine.ramBase + (<u64>first << PAGE_SHIFT);
  vset(id, V_SPLIT, hpa);
  return hpa;
}

/** Linear-memory address of host-physical `hpa` in the pool. */
export function hostPoolAddr(hpa: u64): usize { return hostAddr(hpa); }
/** Frame-table index of host-physical `hpa`. */
export function hostFrameIndex(hpa: u64): u64 { return frameIndex(hpa); }

/**
 * Zero the current VM's guest RAM (a reset), frame by frame through its frame map. A frame it
 * shares with other VMs (merged, or mapped by another through a grant) is not touched: the VM
 * gets a fresh zeroed frame of its own instead. Returns false if a shared frame could not be
 * replaced (the pool is empty).
 */
export function hostClearGuestRam(): bool { return ownFrames(true); }

/**
 * The loaded VM's frames that others share become its own: a fresh frame in place of each,
 * zeroed (`zero`: a reset, where any other reference counts, a grant mapping too) or a copy
 * (only merged frames: a restore writes the VM's RAM next). With `zero` the VM's own frames
 * are zeroed too. False if the pool ran out of frames.
 */
function ownFrames(zero: bool): bool {
  const id = <u32>hget(H_CURRENT);
  if (id == 0) return true;
  const map = hostAddr(vget(id, V_HV));
  const frames = vget(id, V_GUEST_FRAMES);
  const first = machine.ramBase >> PAGE_SHIFT;
  for (let g: u64 = 0; g < frames; g++) {
    const hfn = <u64>load<u32>(map + <usize>(g * 4));
    const shared = zero ? frameRefs(hfn - first) > 1 : frameShared(hfn - first);
    if (shared) {
      const f = allocFrame(id); // zeroed
      if (f < 0) return false;
      if (!zero) memory.copy(hostAddr((first + <u64>f) << PAGE_SHIFT), hostAddr(hfn << PAGE_SHIFT), 4096);
      putFrame(hfn - first);
      store<u32>(map + <usize>(g * 4), <u32>(first + <u64>f));
    } else if (zero) {
      memory.fill(hostAddr(hfn << PAGE_SHIFT), 0, 4096);
    }
  }
  return true;
}
