// The VM: its memory and its virtual CPU state, owned by the hypervisor (DESIGN.md "The
// execution modes"). Guest RAM is made of host frames that are not contiguous, so the
// gPA->hPA map (and, for hvm-nested, the G-stage table built from it) is real.
//
// Machine RAM when a VM runs:
//   ramBase                    hypervisor area (HV_AREA_BYTES, see layout below)
//   ramBase + hvBytes          guest frames, handed to the guest in a scrambled order
//
// Hypervisor area, in order (all host-physical, reached through ramHost):
//   frame map     u32 per guest frame: its host frame number
//   frame flags   u32 per guest frame: FRAME_* bits (page-table page, writably mapped, ...)
//   pt info       u64 per guest frame: the VA range a guest page-table page translates
//   rmap          RMAP_SLOTS x u32 per guest frame: shadow PTEs mapping the frame writable
//   G-stage       root (16 KiB) + tables, for hvm-nested
//   shadow pool   SHADOW_POOL_PAGES pages for shadow page tables

import { count, machine, MODE_HVM_NESTED } from '../state';
import { Counter } from '../counter-ids';
import { PAGE_SHIFT, PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X } from '../riscv/bits';
import { ramHost } from '../mmu/access';
import { ksmShared } from './ksm';
import { dirtyMark } from './dirty';
import { nestMapChanged } from './nested';

/** The guest's physical RAM starts where the virt machine's does. */
export const GUEST_RAM_BASE: u64 = 0x8000_0000;
export const SHADOW_POOL_PAGES: u32 = 4096; // 16 MiB of shadow page tables
export const RMAP_SLOTS: u32 = 4;
const G_ROOT_BYTES: u64 = 16384; // Sv39x4 root: 2^11 entries (privileged spec 8.5.1)
const TWO_MIB: u64 = 2 << 20;
const ONE_GIB: u64 = 1 << 30;

/** How the G-stage backs guest RAM (VmConfig.gstagePages, docs/superpages.md). */
export const GSTAGE_4K: u32 = 0;
export const GSTAGE_2M: u32 = 1;
export const GSTAGE_1G: u32 = 2;
/** Frames in a level-1 (2 MiB) and a level-2 (1 GiB) leaf's region. */
const FRAMES_2M: u64 = 512;
const FRAMES_1G: u64 = 512 * 512;

export const FRAME_PT: u32 = 1;       // the guest uses this frame as a page-table page
export const FRAME_PT_SHARED: u32 = 2; // ... reached at more than one VA range/level
export const FRAME_RMAP_FULL: u32 = 4; // more writable shadow mappings than rmap slots

@unmanaged export class VmState {
  guestFrames: u64 = 0;
  /** Host-physical addresses of the hypervisor's structures. */
  frameMap: u64 = 0;
  frameFlags: u64 = 0;
  ptInfo: u64 = 0;
  rmap: u64 = 0;
  gstageRoot: u64 = 0;
  gstageNext: u64 = 0;
  gstageEnd: u64 = 0;
  shadowPool: u64 = 0;
  /** Pages in the shadow pool: SHADOW_POOL_PAGES for a VM alone, fewer beside others (hv/host.ts). */
  shadowPages: u64 = 0;
  hvBytes: u64 = 0;
  /** First host frame of guest memory. */
  guestHfnBase: u64 = 0;
  /** GSTAGE_*: the leaf size the G-stage (and the frame placement) aims for. */
  gstagePages: u64 = 0;
  /** What the last buildGstage made: 2 MiB and 1 GiB leaves, regions that fell back a size
   * (added to the counters at every boot, which clears them: vmCountBacking). */
  built2m: u64 = 0;
  built1g: u64 = 0;
  builtFallbacks: u64 = 0;
}
export const vm = changetype<VmState>(memory.data(offsetof<VmState>(), 16));

/** Where the hypervisor's structures are, as byte offsets from the start of machine RAM (the
 * host's tests and fuzz oracle watch the parts no guest action may write). */
export const HV_GSTAGE_ROOT: u32 = 0;
export const HV_GSTAGE_END: u32 = 1;
export const HV_SHADOW_POOL: u32 = 2;
export const HV_SHADOW_END: u32 = 3;
export const HV_AREA_END: u32 = 4;
export function vmLayout(what: u32): u64 {
  switch (what) {
    case HV_GSTAGE_ROOT: return vm.gstageRoot - machine.ramBase;
    case HV_GSTAGE_END: return vm.gstageEnd - machine.ramBase;
    case HV_SHADOW_POOL: return vm.shadowPool - machine.ramBase;
    case HV_SHADOW_END: return vm.shadowPool - machine.ramBase + <u64>SHADOW_POOL_PAGES * 4096;
    default: return vm.hvBytes;
  }
}

/**
 * Bytes of machine RAM the hypervisor needs beside a guest of `guestBytes`. With 1 GiB
 * G-stage pages and a guest of at least 1 GiB, the area is padded to 1 GiB so that the guest's
 * frames start 1 GiB-aligned in host memory (a level-2 leaf needs it, privileged spec 4.3.2
 * step 6); the padding is never touched, so it costs address space, not memory.
 */
export function hvAreaBytes(guestBytes: u64, gstagePages: u32): u64 {
  const b = hvAreaBytes4k(guestBytes);
  if (gstagePages == GSTAGE_1G && guestBytes >= ONE_GIB) return (b + ONE_GIB - 1) & ~(ONE_GIB - 1);
  return b;
}

function hvAreaBytes4k(guestBytes: u64): u64 {
  const frames = guestBytes >> PAGE_SHIFT;
  let b: u64 = frames * (4 + 4 + 8 + 4 * RMAP_SLOTS);
  b = (b + 4095) & ~(<u64>4095);
  b += G_ROOT_BYTES + ((frames >> 9) + 8) * 4096; // G-stage: leaf tables + level-1 tables
  b += <u64>SHADOW_POOL_PAGES * 4096;
  return (b + TWO_MIB - 1) & ~(TWO_MIB - 1);
}

@inline function hostOf(pa: u64): usize { return ramHost(pa, 1); }

/**
 * The host frame behind guest frame `gfn`: a fixed permutation, so that neighbouring guest
 * pages are far apart in host memory. Within each 2 MiB group the 512 frames are permuted by
 * multiplication with an odd number (a bijection mod 512); the groups are laid out in reverse.
 */
function scramble(gfn: u64, frames: u64): u64 {
  const groups = (frames + 511) >> 9;
  const group = gfn >> 9;
  const inGroup = gfn & 511;
  const lastGroupSize = frames - ((groups - 1) << 9);
  const size = group == groups - 1 ? lastGroupSize : 512;
  const target = groups - 1 - group;
  // Only full groups are permuted; a partial last group keeps its order.
  const permuted = size == 512 ? (inGroup * 167) & 511 : inGroup;
  return (target << 9) + permuted;
}

/**
 * The placement for large G-stage pages: guest RAM in aligned host-contiguous runs of
 * `runFrames` (512: 2 MiB, 512 * 512: 1 GiB). The whole runs are laid out in reverse, so the
 * gPA->hPA map stays real; a partial run at the end keeps its place. Every run starts aligned
 * because guest memory starts aligned (hvAreaBytes).
 */
function scrambleRuns(gfn: u64, frames: u64, runFrames: u64): u64 {
  const whole = frames / runFrames;
  const run = gfn / runFrames;
  if (run >= whole) return gfn;
  return (whole - 1 - run) * runFrames + (gfn % runFrames);
}

/**
 * Place the hypervisor area's structures from `base` for a VM of `frames` guest frames, with
 * a shadow pool of `shadowPages` pages and, with `gstage`, room for a G-stage table. Returns
 * the bytes used (a whole number of pages).
 */
export function vmPlace(base: u64, frames: u64, shadowPages: u64, gstage: bool): u64 {
  vm.guestFrames = frames;
  vm.shadowPages = shadowPages;
  let p = base;
  vm.frameMap = p; p += frames * 4;
  vm.frameFlags = p; p += frames * 4;
  vm.ptInfo = p; p += frames * 8;
  vm.rmap = p; p += frames * 4 * RMAP_SLOTS;
  if (gstage) {
    p = (p + G_ROOT_BYTES - 1) & ~(G_ROOT_BYTES - 1);
    vm.gstageRoot = p; p += G_ROOT_BYTES;
    vm.gstageNext = p;
    p += ((frames >> 9) + 8) * 4096;
    vm.gstageEnd = p;
  } else {
    vm.gstageRoot = 0; vm.gstageNext = 0; vm.gstageEnd = 0;
  }
  vm.shadowPool = (p + 4095) & ~(<u64>4095);
  p = vm.shadowPool + shadowPages * 4096;
  return p - base;
}

/** Where vmPlace puts the pt info records, from the area's start (hv/grant.ts reads another VM's). */
export function ptInfoOffset(frames: u64): u64 { return frames * 8; }

/** Bytes vmPlace uses (the same arithmetic, without placing anything). */
export function vmPlaceBytes(frames: u64, shadowPages: u64, gstage: bool): u64 {
  let b: u64 = frames * (4 + 4 + 8 + 4 * RMAP_SLOTS);
  if (gstage) {
    // vmPlace aligns the root in host memory, not in the area: up to 12 KiB more than
    // aligning the area's offset would need, when the area starts on a page only.
    b = (b + 4095) & ~(<u64>4095);
    b += G_ROOT_BYTES - 4096 + G_ROOT_BYTES + ((frames >> 9) + 8) * 4096;
  }
  b = (b + 4095) & ~(<u64>4095);
  return b + shadowPages * 4096;
}

/**
 * Lay out a VM of `guestBytes` alone in machine RAM (machine.ramSize must be hvAreaBytes + it):
 * the hypervisor area first, then the guest's frames in a scrambled order. Returns false if it
 * does not fit.
 */
export function vmCreate(guestBytes: u64): bool {
  const pages = <u32>vm.gstagePages;
  const hv = hvAreaBytes(guestBytes, pages);
  if (hv + guestBytes > machine.ramSize) return false;
  const frames = guestBytes >> PAGE_SHIFT;
  vmPlace(machine.ramBase, frames, SHADOW_POOL_PAGES, true);
  vm.hvBytes = hv;
  vm.guestHfnBase = (machine.ramBase + hv) >> PAGE_SHIFT;
  const map = hostOf(vm.frameMap);
  // The frames are placed for the G-stage leaves asked for. The shadow modes keep a guest's
  // large pages where the placement allows (hv/shadow.ts), so they follow the same choice.
  const runFrames = pages == GSTAGE_1G ? FRAMES_1G : FRAMES_2M;
  for (let g: u64 = 0; g < frames; g++) {
    const h = pages == GSTAGE_4K ? scramble(g, frames) : scrambleRuns(g, frames, runFrames);
    store<u32>(map + <usize>(g * 4), <u32>(vm.guestHfnBase + h));
  }
  vmTablesReset();
  return true;
}

/**
 * Clear what the hypervisor knows of the guest's frames (every frame an ordinary page, no
 * shadow mapping) and, for hvm-nested, build the G-stage table from the frame map.
 */
export function vmTablesReset(): void {
  const frames = vm.guestFrames;
  memory.fill(hostOf(vm.frameFlags), 0, <usize>(frames * 4));
  memory.fill(hostOf(vm.ptInfo), 0, <usize>(frames * 8));
  memory.fill(hostOf(vm.rmap), 0, <usize>(frames * 4 * RMAP_SLOTS));
  if (machine.mode == MODE_HVM_NESTED) {
    vm.gstageNext = vm.gstageRoot + G_ROOT_BYTES;
    buildGstage();
  }
}

/** gpaToHpa's answer for a guest-physical address that is not guest RAM. */
export const NO_HPA: u64 = 0xFFFF_FFFF_FFFF_FFFF;

/** Host-physical address of guest-physical `gpa`, or NO_HPA if it is not guest RAM. */
export function gpaToHpa(gpa: u64): u64 {
  const off = gpa - GUEST_RAM_BASE;
  if (off >= (vm.guestFrames << PAGE_SHIFT)) return NO_HPA;
  const hfn = <u64>load<u32>(hostOf(vm.frameMap) + <usize>((off >> PAGE_SHIFT) * 4));
  return (hfn << PAGE_SHIFT) | (gpa & 4095);
}

/** Host (linear memory) address of `len` bytes of guest RAM at `gpa` within one page, or 0. */
export function gpaHost(gpa: u64, len: u64): usize {
  if ((gpa & 4095) + len > 4096) return 0;
  const hpa = gpaToHpa(gpa);
  if (hpa == NO_HPA) return 0;
  const h = ramHost(hpa, len);
  dirtyMark(h);
  return h;
}

/** The PteLocator for guest page tables: a PTE's gPA through the gPA->hPA map. */
export function guestLocate(gpa: u64): usize { return gpaHost(gpa, 8); }

@inline export function gfnOf(gpa: u64): u64 { return (gpa - GUEST_RAM_BASE) >> PAGE_SHIFT; }
@inline export function frameFlagsPtr(gfn: u64): usize { return hostOf(vm.frameFlags) + <usize>(gfn * 4); }
@inline export function ptInfoPtr(gfn: u64): usize { return hostOf(vm.ptInfo) + <usize>(gfn * 8); }
@inline export function rmapPtr(gfn: u64): usize { return hostOf(vm.rmap) + <usize>(gfn * 4 * RMAP_SLOTS); }

/**
 * The G-stage table of hvm-nested (privileged spec 8.5.1, Sv39x4): every guest frame mapped
 * to its host frame, user-accessible (G-stage leaves are checked as U-mode accesses),
 * readable, writable (unless the frame is shared, hv/ksm.ts), executable, with A and D set so
 * the hardware never needs to update them. Guest-physical addresses outside RAM (the devices)
 * stay unmapped, so the guest touching them is a guest-page fault: an MMIO exit.
 *
 * Leaves are 4 KiB, or with vm.gstagePages a 1 GiB leaf at level 2 or a 2 MiB leaf at level 1
 * wherever the frame map allows one (largeRun): otherwise the region falls back to the next
 * size down, and that is counted (GSTAGE_FALLBACKS).
 */
function buildGstage(): void {
  const root = vm.gstageRoot;
  memory.fill(hostOf(root), 0, <usize>G_ROOT_BYTES);
  vm.built2m = 0; vm.built1g = 0; vm.builtFallbacks = 0;
  const pages = <u32>vm.gstagePages;
  let g: u64 = 0;
  while (g < vm.guestFrames) {
    if (pages == GSTAGE_1G && (g & (FRAMES_1G - 1)) == 0) {
      if (largeRun(g, FRAMES_1G)) {
        gstageLarge(g, 2);
        vm.built1g++;
        g += FRAMES_1G;
        continue;
      }
      vm.builtFallbacks++;
    }
    if (pages != GSTAGE_4K && (g & (FRAMES_2M - 1)) == 0) {
      if (largeRun(g, FRAMES_2M)) {
        gstageLarge(g, 1);
        vm.built2m++;
        g += FRAMES_2M;
        continue;
      }
      vm.builtFallbacks++;
    }
    gstageSetLeaf(g, !ksmShared(g));
    g++;
  }
}

/**
 * May guest frames [g, g + n) be one G-stage leaf? All guest RAM, host-contiguous from a host
 * address aligned to the leaf's size (step 6 of the walk would fault on a misaligned
 * superpage), and none shared with another VM (a shared frame must be read-only on its own).
 */
function largeRun(g: u64, n: u64): bool {
  if (g + n > vm.guestFrames) return false;
  const map = hostOf(vm.frameMap) + <usize>(g * 4);
  const first = <u64>load<u32>(map);
  if ((first & (n - 1)) != 0) return false;
  for (let i: u64 = 0; i < n; i++) {
    if (<u64>load<u32>(map + <usize>(i * 4)) != first + i || ksmShared(g + i)) return false;
  }
  return true;
}

/** Map guest frames from `g` with one leaf at `level` (1: 2 MiB, 2: 1 GiB). */
function gstageLarge(g: u64, level: i32): void {
  const gpa = GUEST_RAM_BASE + (g << PAGE_SHIFT);
  const hpa = gpaToHpa(gpa);
  const slot = gstageSlot(gpa, level);
  store<u64>(hostOf(slot), ((hpa >> 12) << 10) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D);
}

/** Choose the G-stage leaf size (GSTAGE_*) for the next vmCreate; anything else is 4 KiB. */
export function vmSetGstagePages(pages: u32): void { vm.gstagePages = pages <= GSTAGE_1G ? pages : GSTAGE_4K; }

/** Add the G-stage leaves the last build made to the counters (a boot has just cleared them). */
export function vmCountBacking(): void {
  if (vm.gstageRoot == 0 || machine.mode != MODE_HVM_NESTED) return;
  count(Counter.GSTAGE_LEAVES_2M, vm.built2m);
  count(Counter.GSTAGE_LEAVES_1G, vm.built1g);
  count(Counter.GSTAGE_FALLBACKS, vm.builtFallbacks);
}

/**
 * Rewrite guest frame `gfn`'s G-stage leaf from the frame map, after the hypervisor moved it to
 * another host frame or shared it (hv/ksm.ts): without `writable` a store faults (W = 0).
 */
export function gstageSetLeaf(gfn: u64, writable: bool): void {
  gstageWriteLeaf(gfn, writable);
  // A nested VM's folded table (hv/nested.ts) was composed with the old leaf.
  nestMapChanged();
}

/** Rewrite guest frame `gfn`'s G-stage leaf, writable or not, with the same host frame. */
export function gstageWriteLeaf(gfn: u64, writable: bool): void {
  if (vm.gstageRoot == 0 || gfn >= vm.guestFrames) return;
  const gpa = GUEST_RAM_BASE + (gfn << PAGE_SHIFT);
  store<u64>(hostOf(gstageSlot(gpa, 0)), ((gpaToHpa(gpa) >> 12) << 10) |
    PTE_V | PTE_R | (writable ? PTE_W : 0) | PTE_X | PTE_U | PTE_A | PTE_D);
}

/**
 * The G-stage PTE slot for `gpa` at `level`, allocating the tables on the way. A large leaf in
 * the way is split into a table of leaves one size down that map what it mapped (the frame map
 * still says where each frame is), so a frame inside it can then get a leaf of its own.
 */
function gstageSlot(gpa: u64, level: i32): u64 {
  let table = vm.gstageRoot;
  for (let l: i32 = 2; l > level; l--) {
    const shift = <u64>(12 + 9 * l);
    const idx = l == 2 ? (gpa >> 30) & 2047 : (gpa >> shift) & 511;
    const pte = hostOf(table + idx * 8);
    let e = load<u64>(pte);
    if ((e & PTE_V) == 0 || (e & (PTE_R | PTE_W | PTE_X)) != 0) {
      // The area holds one level-0 table per 512 frames and 8 more (vmPlace): a split uses the
      // table a 4 KiB build would have used, so it always fits.
      const page = vm.gstageNext;
      vm.gstageNext += 4096;
      const t = hostOf(page);
      memory.fill(t, 0, 4096);
      if ((e & PTE_V) != 0) {
        count(Counter.GSTAGE_SPLITS);
        const step = <u64>1 << (9 * <u64>(l - 1)); // frames under one entry of the new table
        const ppn = (e >> 10) & ((<u64>1 << 44) - 1);
        for (let i: u64 = 0; i < 512; i++) store<u64>(t + <usize>(i * 8), (e & 0x3FF) | ((ppn + i * step) << 10));
      }
      e = ((page >> 12) << 10) | PTE_V;
      store<u64>(pte, e);
    }
    table = ((e >> 10) & ((<u64>1 << 44) - 1)) << 12;
  }
  const idx = level == 2 ? (gpa >> 30) & 2047 : (gpa >> (12 + 9 * <u64>level)) & 511;
  return table + idx * 8;
}

/** hgatp for the VM (mode Sv39x4 = 8, VMID 1, root PPN). */
export function vmHgatp(): u64 {
  return (<u64>8 << 60) | (<u64>1 << 44) | (vm.gstageRoot >> 12);
}

