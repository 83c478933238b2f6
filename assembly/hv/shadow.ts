// Shadow page tables: the memory strategy of trap-emulate and hvm-shadow (DESIGN.md). The
// guest keeps its own Sv39 tables (gVA -> gPA); the hardware walks shadow tables the
// hypervisor builds from them (gVA -> hPA), combining each guest PTE with the gPA->hPA map.
//
//  - Lazy: a shadow entry is filled when the hardware faults on it (fill()).
//  - Guest page-table pages are write-protected in every shadow, so the guest's PTE writes
//    exit; the write is emulated and the shadow entries derived from that PTE are dropped
//    (writeProtectedStore()). A frame that becomes a page table while some shadow maps it
//    writable is downgraded through a small reverse map (rmap).
//  - Accessed and dirty bits: the fill walks the guest table as hardware would, setting A (and
//    D for a store). A page whose guest PTE is clean is shadowed read-only, so the first store
//    faults and sets D.
//  - One shadow root per guest address space and view, cached in MAX_CONTEXTS contexts with
//    least-recently-used eviction; when the pool of SHADOW_POOL_PAGES table pages runs out,
//    everything is dropped and rebuilt lazily.
//  - A page-table page written WRITE_FLOOD times without being walked in between is assumed
//    to be a table no more (freed and reused as data): it is unprotected (KVM's heuristic).
//  - Large pages (docs/superpages.md): with guest RAM placed in aligned runs
//    (vm.gstagePages 2m or 1g), a guest leaf of 2 MiB or more is shadowed by one 2 MiB leaf
//    when the 2 MiB around the access is host-contiguous, 2 MiB-aligned, holds no page table
//    and no shared frame (largeBacked); otherwise by a 4 KiB leaf, a splinter (counted). A
//    large shadow leaf carries SHADOW_LARGE in its RSW bits; a writable one is in the reverse
//    map of its first frame, so when a frame inside it becomes a table the leaf is split into
//    4 KiB leaves with that frame read-only (splitLarge), as KVM splits a huge SPTE.
//
// Views (what a shadow root is for):
//   VIEW_TE_U, VIEW_TE_S, VIEW_TE_SSUM  trap-emulate: the hart is always in U-mode, so every
//       shadow leaf has U=1, and the virtual privilege (and SUM) chooses which guest pages
//       the root maps: guest-U pages, guest-S pages, or both (guest-U ones never executable).
//   VIEW_HVM  hvm-shadow: the guest runs in VS-mode and the hardware checks U/SUM/MXR
//       itself, so a shadow leaf copies the guest's U, R, W, X.

import { Counter } from '../counter-ids';
import { count, machine, MODE_TRAP_EMULATE } from '../state';
import { PRV_S, PRV_U, PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X } from '../riscv/bits';
import { KIND_STORE, tlbFlushTranslated } from '../mmu/tlb';
import { ramHost } from '../mmu/access';
import { dirtyMark } from './dirty';
import { walk, walkResult, WALK_OK, WALK_PAGE_FAULT, sv39Canonical } from '../mmu/walk';
import { ksmPrivate, ksmShared } from './ksm';
import { FRAME_PT, FRAME_PT_SHARED, FRAME_RMAP_FULL, frameFlagsPtr, gfnOf, gpaHost, gpaToHpa, guestLocate,
  ptInfoPtr, RMAP_SLOTS, rmapPtr, SHADOW_POOL_PAGES, vm, GUEST_RAM_BASE, NO_HPA, GSTAGE_4K } from './vm';

export const VIEW_TE_U: u32 = 0;
export const VIEW_TE_S: u32 = 1;
export const VIEW_TE_SSUM: u32 = 2;
export const VIEW_HVM: u32 = 3;
const VIEWS: u32 = 4;
export const MAX_CONTEXTS: u32 = 8;
const WRITE_FLOOD: u64 = 16;
/** Context key of the guest's untranslated (satp Bare) address space. */
export const KEY_BARE: u64 = 1;
const PPN_MASK: u64 = (<u64>1 << 44) - 1;
/** Marks a 2 MiB shadow leaf: an RSW bit, which the walk ignores (privileged spec 4.4.1). */
const SHADOW_LARGE: u64 = 1 << 8;
const LARGE_FRAMES: u64 = 512;
const LARGE_BYTES: u64 = 2 << 20;

export const FILL_OK: u32 = 0;
export const FILL_GUEST_FAULT: u32 = 1;  // the guest's own tables forbid it: reflect
export const FILL_MMIO: u32 = 2;         // a device: emulate the access (fillGpa)
export const FILL_PT_STORE: u32 = 3;     // a store to a guest page table: emulate it
export const FILL_ACCESS_FAULT: u32 = 4; // the guest's PTE is outside its RAM

@unmanaged class Context {
  key: u64 = 0;      // 0: free; KEY_BARE; else guest root gPA | 2 (never 0 or 1)
  lastUse: u64 = 0;
  root0: u64 = 0;    // shadow roots by view (hPA, 0 = none yet)
  root1: u64 = 0;
  root2: u64 = 0;
  root3: u64 = 0;
}
const CONTEXT_BYTES: usize = offsetof<Context>();
const CONTEXTS: usize = memory.data(<i32>(MAX_CONTEXTS * <u32>CONTEXT_BYTES), 16);

@unmanaged class ShadowState {
  current: u32 = 0;      // index of the current context
  currentKey: u64 = 0;   // the guest address space that is current (its context may be dropped)
  clock: u64 = 0;        // LRU clock
  freeTop: u32 = 0;      // entries on the free stack
  fillGpa: u64 = 0;      // the guest-physical address of the last fill (for MMIO)
  pathLen: u32 = 0;
}
const st = changetype<ShadowState>(memory.data(offsetof<ShadowState>(), 16));
const FREE: usize = memory.data(<i32>SHADOW_POOL_PAGES * 4, 16);
/** gPAs of the guest PTEs the last guest walk read, root first. */
const PATH: usize = memory.data(3 * 8, 16);

@inline function ctx(i: u32): Context { return changetype<Context>(CONTEXTS + <usize>i * CONTEXT_BYTES); }
@inline function rootPtr(c: Context, view: u32): usize { return changetype<usize>(c) + 16 + <usize>view * 8; }
@inline function host(pa: u64): usize { return ramHost(pa, 8); }
@inline function pteTable(e: u64): u64 { return ((e >> 10) & PPN_MASK) << 12; }
@inline export function fillGpa(): u64 { return st.fillGpa; }

/** Forget every shadow (VM creation, pool exhaustion). */
export function shadowReset(): void {
  memory.fill(CONTEXTS, 0, MAX_CONTEXTS * <u32>CONTEXT_BYTES);
  const pages = <u32>vm.shadowPages;
  for (let i: u32 = 0; i < pages; i++) store<u32>(FREE + <usize>i * 4, pages - 1 - i);
  st.freeTop = pages;
  st.current = 0;
  st.currentKey = 0;
  st.clock = 0;
  // Protection marks and reverse maps describe shadows that no longer exist.
  const frames = vm.guestFrames;
  memory.fill(ramHost(vm.frameFlags, 1), 0, <usize>(frames * 4));
  memory.fill(ramHost(vm.ptInfo, 1), 0, <usize>(frames * 8));
  memory.fill(ramHost(vm.rmap, 1), 0, <usize>(frames * 4 * RMAP_SLOTS));
}

function allocPage(): u64 {
  if (st.freeTop == 0) return 0;
  st.freeTop--;
  const idx = load<u32>(FREE + <usize>st.freeTop * 4);
  const pa = vm.shadowPool + (<u64>idx << 12);
  memory.fill(host(pa), 0, 4096);
  count(Counter.SHADOW_PAGES);
  return pa;
}

function freePage(pa: u64): void {
  store<u32>(FREE + <usize>st.freeTop * 4, <u32>((pa - vm.shadowPool) >> 12));
  st.freeTop++;
}

/** Free a shadow table and, for levels above 0, the tables under it. */
function freeTree(table: u64, level: i32): void {
  if (level > 0) {
    const t = host(table);
    for (let i: usize = 0; i < 512; i++) {
      const e = load<u64>(t + i * 8);
      if ((e & PTE_V) != 0 && (e & (PTE_R | PTE_W | PTE_X)) == 0) freeTree(pteTable(e), level - 1);
    }
  }
  freePage(table);
}

function dropContext(c: Context): void {
  for (let v: u32 = 0; v < VIEWS; v++) {
    const r = load<u64>(rootPtr(c, v));
    if (r != 0) freeTree(r, 2);
    store<u64>(rootPtr(c, v), 0);
  }
  c.key = 0;
  // The hardware TLB may hold translations from the freed tables, whose pages get reused.
  tlbFlushTranslated();
}

/** Drop every shadow and every protection mark: they are rebuilt lazily. */
export function shadowRebuild(): void {
  count(Counter.SHADOW_REBUILDS);
  shadowReset();
  tlbFlushTranslated();
}

/** The context key of a guest satp value (the root table; the ASID is not needed). */
export function contextKey(guestSatp: u64): u64 {
  if ((guestSatp >> 60) == 0) return KEY_BARE;
  return ((guestSatp & PPN_MASK) << 12) | 2;
}

/** Make the guest address space `key` current, reusing or evicting a context. */
export function selectContext(key: u64): void {
  count(Counter.SHADOW_SWITCHES);
  st.currentKey = key;
  st.clock++;
  let victim: u32 = 0;
  let oldest: u64 = 0xFFFF_FFFF_FFFF_FFFF;
  for (let i: u32 = 0; i < MAX_CONTEXTS; i++) {
    const c = ctx(i);
    if (c.key == key) { c.lastUse = st.clock; st.current = i; return; }
    const age = c.key == 0 ? 0 : c.lastUse;
    if (age < oldest) { oldest = age; victim = i; }
  }
  const c = ctx(victim);
  if (c.key != 0) { count(Counter.SHADOW_EVICTIONS); dropContext(c); }
  c.key = key;
  c.lastUse = st.clock;
  st.current = victim;
}

/**
 * The ASID the hardware uses for a shadow root: one per context and view, so switching
 * between them (a guest context switch, or trap-emulate's kernel/user views) keeps each one's
 * TLB entries. Reusing a context slot for another address space always flushes (dropContext).
 */
export function currentAsid(view: u32): u64 { return <u64>(st.current * VIEWS + view + 1); }

/** The shadow root for `view` of the current context, allocated if needed (0: pool empty). */
export function currentRoot(view: u32): u64 {
  // The current context may have been dropped during this exit: take a context again.
  if (ctx(st.current).key != st.currentKey) { selectContext(st.currentKey); }
  const c = ctx(st.current);
  const p = rootPtr(c, view);
  let r = load<u64>(p);
  if (r == 0) {
    r = allocPage();
    if (r == 0) {
      shadowRebuild();
      selectContext(c.key);
      r = allocPage();
      store<u64>(rootPtr(ctx(st.current), view), r);
      return r;
    }
    store<u64>(p, r);
  }
  return r;
}

/**
 * The PTE slot for `gva` at `leafLevel` (0: 4 KiB, 1: 2 MiB) under `root`, allocating tables
 * on the way; 0 if the pool is empty. A large leaf in the way of a 4 KiB one is dropped (the
 * rest of its 2 MiB refills lazily); a table where a large leaf goes is freed with what is
 * under it.
 */
function leafSlot(root: u64, gva: u64, leafLevel: i32): usize {
  let table = root;
  for (let level: i32 = 2; level > leafLevel; level--) {
    const slot = host(table + ((gva >> (12 + 9 * <u64>level)) & 511) * 8);
    let e = load<u64>(slot);
    if ((e & PTE_V) != 0 && (e & (PTE_R | PTE_W | PTE_X)) != 0) {
      store<u64>(slot, 0);
      count(Counter.SHADOW_ZAPS);
      tlbFlushTranslated();
      e = 0;
    }
    if ((e & PTE_V) == 0) {
      const page = allocPage();
      if (page == 0) return 0;
      e = ((page >> 12) << 10) | PTE_V;
      store<u64>(slot, e);
    }
    table = pteTable(e);
  }
  const slot = host(table + ((gva >> (12 + 9 * <u64>leafLevel)) & 511) * 8);
  if (leafLevel > 0) {
    const e = load<u64>(slot);
    if ((e & PTE_V) != 0 && (e & (PTE_R | PTE_W | PTE_X)) == 0) {
      store<u64>(slot, 0);
      freeTree(pteTable(e), leafLevel - 1);
      tlbFlushTranslated();
    }
  }
  return slot;
}

/** Remove what maps [va, va + 4K << 9*level) under `root`: a leaf, or a whole subtree. */
function zapIn(root: u64, va: u64, level: i32): void {
  let table = root;
  for (let l: i32 = 2; l > level; l--) {
    const up = host(table + ((va >> (12 + 9 * <u64>l)) & 511) * 8);
    const e = load<u64>(up);
    if ((e & PTE_V) == 0) return;
    if ((e & (PTE_R | PTE_W | PTE_X)) != 0) {
      // A large shadow leaf covers the range: it goes whole.
      store<u64>(up, 0);
      count(Counter.SHADOW_ZAPS);
      return;
    }
    table = pteTable(e);
  }
  const slot = host(table + ((va >> (12 + 9 * <u64>level)) & 511) * 8);
  const e = load<u64>(slot);
  if ((e & PTE_V) == 0) return;
  store<u64>(slot, 0);
  count(Counter.SHADOW_ZAPS);
  if (level > 0 && (e & (PTE_R | PTE_W | PTE_X)) == 0) freeTree(pteTable(e), level - 1);
}

/** Drop every shadow, keeping the protection marks (they still describe the guest). */
function dropAllContexts(): void {
  for (let i: u32 = 0; i < MAX_CONTEXTS; i++) { if (ctx(i).key != 0) dropContext(ctx(i)); }
  count(Counter.SHADOW_REBUILDS);
}

/** Drop the shadows of the guest address space whose root table is the frame in `key`. */
function dropContextsKeyed(key: u64): void {
  for (let i: u32 = 0; i < MAX_CONTEXTS; i++) {
    const c = ctx(i);
    if (c.key == key) { dropContext(c); count(Counter.SHADOW_EVICTIONS); }
  }
}

/** Drop the shadows of one guest mapping in every context and view. */
function zapEverywhere(va: u64, level: i32): void {
  for (let i: u32 = 0; i < MAX_CONTEXTS; i++) {
    const c = ctx(i);
    if (c.key == 0 || c.key == KEY_BARE) continue;
    for (let v: u32 = 0; v < VIEWS; v++) {
      const r = load<u64>(rootPtr(c, v));
      if (r != 0) zapIn(r, va, level);
    }
  }
}

/** Sign-extend a 39-bit virtual address. */
@inline function sext39(va: u64): u64 { return <u64>((<i64>va << 25) >> 25); }

// ptInfo per guest frame: bits 38..12 = base VA (39-bit) of what the table translates,
// bits 1..0 = its level + 1 (0: not a table), bits 63..56 = writes since the last walk.
@inline function infoOf(level: i32, vaBase: u64): u64 { return (vaBase & 0x7F_FFFF_F000) | <u64>(level + 1); }

/** A guest frame was just walked as a level-`level` table for `gva`: protect it. */
function markTable(gfn: u64, level: i32, gva: u64): void {
  const span = <u64>12 + 9 * <u64>(level + 1);
  const base = level == 2 ? 0 : gva & ~((<u64>1 << span) - 1);
  const want = infoOf(level, base);
  const ip = ptInfoPtr(gfn);
  const info = load<u64>(ip);
  const fp = frameFlagsPtr(gfn);
  if (info == 0) {
    store<u64>(ip, want);
    store<u32>(fp, load<u32>(fp) | FRAME_PT);
    count(Counter.SHADOW_PROTECTED);
    downgrade(gfn);
    return;
  }
  if ((info & 0x00FF_FFFF_FFFF_FFFF) != want) store<u32>(fp, load<u32>(fp) | FRAME_PT_SHARED);
  store<u64>(ip, info & 0x00FF_FFFF_FFFF_FFFF); // walked again: reset the write-flood count
}

/** Remove write permission from every shadow mapping of a guest frame (it became a table). */
function downgrade(gfn: u64): void {
  const fp = frameFlagsPtr(gfn);
  if ((load<u32>(fp) & FRAME_RMAP_FULL) != 0) {
    store<u32>(fp, load<u32>(fp) & ~FRAME_RMAP_FULL);
    // Too many mappings to have tracked them: drop all shadows (the marks stay valid).
    dropAllContexts();
    tlbFlushTranslated();
    return;
  }
  const rp = rmapPtr(gfn);
  const hpaPage = gpaToHpa(GUEST_RAM_BASE + (gfn << 12)) & ~(<u64>4095);
  for (let s: u32 = 0; s < RMAP_SLOTS; s++) {
    const off = load<u32>(rp + <usize>s * 4);
    if (off == 0) continue;
    store<u32>(rp + <usize>s * 4, 0);
    const slot = host(machine.ramBase + off);
    const e = load<u64>(slot);
    // The slot may have been reused since: only touch it if it still maps this frame writable.
    if ((e & (PTE_V | PTE_W)) != (PTE_V | PTE_W) || pteTable(e) != hpaPage) continue;
    if ((e & SHADOW_LARGE) != 0) splitLarge(slot, e, gfn);
    else store<u64>(slot, e & ~PTE_W);
  }
  // A writable 2 MiB shadow leaf over this frame is in the reverse map of its first frame.
  const head = gfn & ~(LARGE_FRAMES - 1);
  if (vm.gstagePages != GSTAGE_4K && head != gfn) {
    const hp = rmapPtr(head);
    const headHpa = gpaToHpa(GUEST_RAM_BASE + (head << 12)) & ~(<u64>4095);
    const hf = frameFlagsPtr(head);
    if ((load<u32>(hf) & FRAME_RMAP_FULL) != 0) {
      // Untracked mappings of the first frame may be large leaves over this one.
      store<u32>(hf, load<u32>(hf) & ~FRAME_RMAP_FULL);
      dropAllContexts();
    } else {
      for (let s: u32 = 0; s < RMAP_SLOTS; s++) {
        const off = load<u32>(hp + <usize>s * 4);
        if (off == 0) continue;
        const slot = host(machine.ramBase + off);
        const e = load<u64>(slot);
        if ((e & (PTE_V | PTE_W | SHADOW_LARGE)) != (PTE_V | PTE_W | SHADOW_LARGE) || pteTable(e) != headHpa) continue;
        store<u32>(hp + <usize>s * 4, 0);
        splitLarge(slot, e, head);
      }
    }
  }
  tlbFlushTranslated();
}

/**
 * Split the writable 2 MiB shadow leaf `e` at `slot`, over guest frames from `head`, into a
 * table of 512 4 KiB leaves with the same rights, but read-only where the frame is a page table
 * now; the writable ones go in the reverse map. Without a free pool page the leaf is dropped
 * instead (its range refills lazily).
 */
function splitLarge(slot: usize, e: u64, head: u64): void {
  count(Counter.SHADOW_LARGE_SPLITS);
  const page = allocPage();
  if (page == 0) { store<u64>(slot, 0); count(Counter.SHADOW_ZAPS); return; }
  const t = host(page);
  const flags = e & 0x3FF & ~SHADOW_LARGE;
  const ppn = (e >> 10) & PPN_MASK;
  for (let i: u64 = 0; i < LARGE_FRAMES; i++) {
    let f = flags;
    if ((load<u32>(frameFlagsPtr(head + i)) & FRAME_PT) != 0) f &= ~PTE_W;
    store<u64>(t + <usize>(i * 8), f | ((ppn + i) << 10));
  }
  store<u64>(slot, ((page >> 12) << 10) | PTE_V);
  for (let i: u64 = 0; i < LARGE_FRAMES; i++) {
    if ((flags & PTE_W) != 0 && (load<u64>(t + <usize>(i * 8)) & PTE_W) != 0) rmapAdd(head + i, t + <usize>(i * 8));
  }
}

/**
 * May the 2 MiB of guest RAM from guest frame `head` be one shadow leaf? Host-contiguous from
 * a 2 MiB-aligned host frame (a misaligned superpage faults: privileged spec 4.3.2 step 6),
 * and no frame in it a page table (which must stay read-only on its own) or shared with
 * another VM (read-only until copied, hv/ksm.ts).
 */
function largeBacked(head: u64): bool {
  if (head + LARGE_FRAMES > vm.guestFrames) return false;
  const first = gpaToHpa(GUEST_RAM_BASE + (head << 12)) >> 12;
  if ((first & (LARGE_FRAMES - 1)) != 0) return false;
  for (let i: u64 = 0; i < LARGE_FRAMES; i++) {
    const g = head + i;
    if ((gpaToHpa(GUEST_RAM_BASE + (g << 12)) >> 12) != first + i) return false;
    if ((load<u32>(frameFlagsPtr(g)) & FRAME_PT) != 0 || ksmShared(g)) return false;
  }
  return true;
}

/** Remember that the shadow PTE at `slot` maps guest frame `gfn` writable. */
function rmapAdd(gfn: u64, slot: usize): void {
  const off = <u32>(<u64>slot - <u64>ramHost(machine.ramBase, 1));
  const rp = rmapPtr(gfn);
  const hpaPage = gpaToHpa(GUEST_RAM_BASE + (gfn << 12)) & ~(<u64>4095);
  for (let s: u32 = 0; s < RMAP_SLOTS; s++) {
    const cur = load<u32>(rp + <usize>s * 4);
    if (cur == off) return;
    if (cur == 0) { store<u32>(rp + <usize>s * 4, off); return; }
    // Reuse a stale slot.
    const e = load<u64>(host(machine.ramBase + cur));
    if ((e & (PTE_V | PTE_W)) != (PTE_V | PTE_W) || pteTable(e) != hpaPage) {
      store<u32>(rp + <usize>s * 4, off);
      return;
    }
  }
  const fp = frameFlagsPtr(gfn);
  store<u32>(fp, load<u32>(fp) | FRAME_RMAP_FULL);
}

/** A PteLocator for guest tables that records the path the walk takes. */
function recordingLocate(gpa: u64): usize {
  if (st.pathLen < 3) store<u64>(PATH + <usize>st.pathLen * 8, gpa);
  st.pathLen++;
  return guestLocate(gpa);
}

/**
 * Walk the guest's own table for `gva` (as the hardware would for the guest, setting its A/D
 * bits) and protect the table pages on the way. Returns a WALK_* result; walkResult has the
 * guest PTE and gPA.
 */
export function guestWalk(guestSatp: u64, gva: u64, kind: u32, priv: u32, sum: bool, mxr: bool): u32 {
  if ((guestSatp >> 60) == 0) {
    walkResult.pa = gva;
    walkResult.pte = PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D | (priv == PRV_U ? PTE_U : 0);
    walkResult.level = 0;
    return WALK_OK;
  }
  if (!sv39Canonical(gva)) return WALK_PAGE_FAULT;
  st.pathLen = 0;
  const r = walk((guestSatp & PPN_MASK) << 12, gva, 9, kind, priv, sum, mxr, recordingLocate, Counter.WALK_REFS_SHADOW);
  const n = st.pathLen < 3 ? st.pathLen : 3;
  for (let i: u32 = 0; i < n; i++) {
    const gpa = load<u64>(PATH + <usize>i * 8);
    if (gpa - GUEST_RAM_BASE < (vm.guestFrames << 12)) markTable(gfnOf(gpa), 2 - <i32>i, gva);
  }
  return r;
}

/**
 * Fill the shadow entry for an access of `kind` to `gva` that faulted in `view`.
 * `priv`/`sum`/`mxr` are the guest's (virtual) privilege and status bits for the access.
 */
export function fill(guestSatp: u64, view: u32, gva: u64, kind: u32, priv: u32, sum: bool, mxr: bool): u32 {
  const r = guestWalk(guestSatp, gva, kind, priv, sum, mxr);
  if (r != WALK_OK) return r == WALK_PAGE_FAULT ? FILL_GUEST_FAULT : FILL_ACCESS_FAULT;
  const gpa = walkResult.pa;
  const gpte = walkResult.pte;
  st.fillGpa = gpa;
  if (gpaToHpa(gpa) == NO_HPA) return FILL_MMIO;
  const gfn = gfnOf(gpa);
  const isTable = (load<u32>(frameFlagsPtr(gfn)) & FRAME_PT) != 0;
  if (kind == KIND_STORE && isTable) return FILL_PT_STORE;
  // A store to a frame shared with other VMs gets the VM its own copy (hv/ksm.ts).
  if (kind == KIND_STORE && !ksmPrivate(gpa)) return FILL_ACCESS_FAULT;
  const hpa = gpaToHpa(gpa);
  // The shadow leaf: what this view may do with the page.
  let perm: u64 = gpte & (PTE_R | PTE_W | PTE_X);
  // Under trap-emulate the shadow must express MXR itself; in VS-mode the hardware applies it.
  if (mxr && view != VIEW_HVM && (gpte & PTE_X) != 0) perm |= PTE_R;
  if ((gpte & PTE_D) == 0 || isTable || ksmShared(gfn)) perm &= ~PTE_W;
  let u: u64 = PTE_U;
  if (view == VIEW_HVM) {
    u = gpte & PTE_U;
  } else if (view == VIEW_TE_SSUM && (gpte & PTE_U) != 0) {
    perm &= ~PTE_X; // S-mode never executes user pages, even with SUM
  }
  // A guest page of 2 MiB or more: one 2 MiB shadow leaf where the host allows it. With
  // 4 KiB placement (frames scattered) it never does, and nothing is counted.
  let level: i32 = 0;
  let leafHpa = hpa;
  if (walkResult.level >= 1 && vm.gstagePages != GSTAGE_4K) {
    const head = gfn & ~(LARGE_FRAMES - 1);
    if (largeBacked(head)) {
      level = 1;
      leafHpa = hpa & ~(LARGE_BYTES - 1);
      count(Counter.SHADOW_LARGE_FILLS);
    } else {
      count(Counter.SHADOW_SPLINTERS);
    }
  }
  let root = currentRoot(view);
  let slot = leafSlot(root, gva, level);
  if (slot == 0) {
    shadowRebuild();
    selectContext(contextKey(guestSatp));
    root = currentRoot(view);
    slot = leafSlot(root, gva, level);
  }
  store<u64>(slot, ((leafHpa >> 12) << 10) | PTE_V | PTE_A | PTE_D | u | perm | (level > 0 ? SHADOW_LARGE : 0));
  if ((perm & PTE_W) != 0) rmapAdd(level > 0 ? gfn & ~(LARGE_FRAMES - 1) : gfn, slot);
  count(Counter.SHADOW_FILLS);
  return FILL_OK;
}

/**
 * The guest stored `size` bytes of `value` at `gpa`, in one of its page-table pages: do the
 * store, and drop the shadow entries that came from the PTE it changed. A table written
 * WRITE_FLOOD times without being walked is released from protection.
 */
export function writeProtectedStore(gpa: u64, size: u32, value: u64): void {
  if (!ksmPrivate(gpa)) return;
  const h = ramHost(gpaToHpa(gpa), size);
  dirtyMark(h);
  if (size == 1) store<u8>(h, <u8>value);
  else if (size == 2) store<u16>(h, <u16>value);
  else if (size == 4) store<u32>(h, <u32>value);
  else store<u64>(h, value);
  const gfn = gfnOf(gpa);
  const fp = frameFlagsPtr(gfn);
  const ip = ptInfoPtr(gfn);
  const info = load<u64>(ip);
  const level = <i32>(info & 3) - 1;
  const base = sext39(info & 0x7F_FFFF_F000);
  const shared = (load<u32>(fp) & FRAME_PT_SHARED) != 0 || info == 0;
  if (shared) {
    // The table is reached through more than one range: no single place to zap.
    dropAllContexts();
  } else {
    const entry = (gpa & 4095) >> 3;
    zapEverywhere(base + (entry << (12 + 9 * <u64>level)), level);
  }
  const writes = (info >> 56) + 1;
  if (writes >= WRITE_FLOOD) {
    // Written over and over, never walked: no longer a page table. Unprotect it, and drop
    // whatever was built from it so that if it is a table still, the next walk re-marks it.
    store<u64>(ip, 0);
    store<u32>(fp, load<u32>(fp) & ~(FRAME_PT | FRAME_PT_SHARED));
    if (shared) dropAllContexts();
    else if (level < 2) zapEverywhere(base, level + 1);
    // A root: the address space keyed by this frame may be reborn in it (a new process
    // whose root reuses the frame), so its shadows must not outlive the protection.
    dropContextsKeyed((gpa & ~(<u64>4095)) | 2);
    count(Counter.SHADOW_UNPROTECTED);
  } else {
    store<u64>(ip, (info & 0x00FF_FFFF_FFFF_FFFF) | (writes << 56));
  }
  tlbFlushTranslated();
}

/**
 * The hypervisor writes a byte of guest memory on the guest's behalf (an SBI console read):
 * if the frame is one of the guest's page tables, the shadows built from it must follow, just
 * as for the guest's own stores.
 */
export function guestStoreByte(gpa: u64, b: u8): void {
  if (!ksmPrivate(gpa)) return;
  const h = gpaHost(gpa, 1);
  if (h == 0) return;
  if ((load<u32>(frameFlagsPtr(gfnOf(gpa))) & FRAME_PT) != 0) writeProtectedStore(gpa, 1, b);
  else store<u8>(h, b);
}

/**
 * Drop every shadow leaf that maps a host frame marked in `bitmap` (one bit per host frame
 * from `firstHfn`, `frames` of them): the guest frame it stood for moved to another host frame
 * (hv/ksm.ts). Read-only leaves go too, or the guest would go on reading the frame it left.
 * Every page of the pool is looked at; entries in free pages are harmless to clear, and a
 * table entry never points at a guest frame, only at the pool.
 */
export function shadowZapFrames(bitmap: usize, firstHfn: u64, frames: u64): u32 {
  let zapped: u32 = 0;
  const pool = host(vm.shadowPool);
  const n = <usize>vm.shadowPages * 512;
  for (let i: usize = 0; i < n; i++) {
    const p = pool + i * 8;
    const e = load<u64>(p);
    if ((e & PTE_V) == 0 || (e & (PTE_R | PTE_W | PTE_X)) == 0) continue;
    const f = ((e >> 10) & PPN_MASK) - firstHfn;
    if ((e & SHADOW_LARGE) != 0) {
      // A 2 MiB leaf goes if any frame under it is marked.
      let hit = false;
      for (let k: u64 = 0; k < LARGE_FRAMES && !hit; k++) {
        const fk = f + k;
        hit = fk < frames && (load<u8>(bitmap + <usize>(fk >> 3)) & (1 << <u8>(fk & 7))) != 0;
      }
      if (!hit) continue;
    } else if (f >= frames || (load<u8>(bitmap + <usize>(f >> 3)) & (1 << <u8>(f & 7))) == 0) continue;
    store<u64>(p, 0);
    zapped++;
  }
  if (zapped != 0) count(Counter.SHADOW_ZAPS, zapped);
  tlbFlushTranslated();
  return zapped;
}

/** The shadow view trap-emulate uses for a virtual privilege and SUM. */
export function teView(vpriv: u32, sum: bool): u32 {
  return vpriv == PRV_U ? VIEW_TE_U : sum ? VIEW_TE_SSUM : VIEW_TE_S;
}

/** Is the machine in a mode whose guest the hart runs in U-mode (trap-emulate)? */
export function hartRunsGuestInU(): bool { return machine.mode == MODE_TRAP_EMULATE; }


// ---------------------------------------------------------------------------------------
// Coherence check (tests and debugging): every shadow leaf must agree with what the guest's
// own tables say now, in frame and in being no more permissive. Reads only.

/** The guest PTE for `gva` under guest root `rootGpa`, without touching A/D; 0 if none. */
function peekGuestLeaf(rootGpa: u64, gva: u64): u64 {
  let table = rootGpa;
  for (let level: i32 = 2; level >= 0; level--) {
    const h = guestLocate(table + ((gva >> (12 + 9 * <u64>level)) & 511) * 8);
    if (h == 0) return 0;
    const e = load<u64>(h);
    if ((e & PTE_V) == 0) return 0;
    if ((e & (PTE_R | PTE_X)) != 0) {
      // A leaf: report it as a 4 KiB leaf for `gva` (superpage offset folded into the PPN).
      const span = <u64>1 << (12 + 9 * <u64>level);
      const pa = ((pteTable(e)) & ~(span - 1)) | (gva & (span - 1) & ~(<u64>4095));
      return (e & 0x3FF) | ((pa >> 12) << 10);
    }
    table = pteTable(e);
  }
  return 0;
}

function checkTree(rootGpa: u64, view: u32, table: u64, level: i32, vaBase: u64): u32 {
  let bad: u32 = 0;
  const t = host(table);
  for (let i: u64 = 0; i < 512; i++) {
    const e = load<u64>(t + <usize>i * 8);
    if ((e & PTE_V) == 0) continue;
    let va = vaBase | (i << (12 + 9 * <u64>level));
    if (level == 2) va = sext39(va);
    if ((e & (PTE_R | PTE_W | PTE_X)) == 0) {
      bad += checkTree(rootGpa, view, pteTable(e), level - 1, va);
      continue;
    }
    // A large leaf is checked page by page, each against the guest's translation of it.
    const pages: u64 = level > 0 ? <u64>1 << (9 * <u64>level) : 1;
    for (let k: u64 = 0; k < pages; k++) {
      if (!leafAgrees(rootGpa, e, va + (k << 12), pteTable(e) + (k << 12))) { bad++; break; }
    }
  }
  return bad;
}

/** Does the shadow leaf `e`, mapping `va` to host page `hpa`, agree with the guest's tables? */
function leafAgrees(rootGpa: u64, e: u64, va: u64, hpa: u64): bool {
  let want: u64 = 0;
  if (rootGpa == 0) {
    want = gpaToHpa(va);
  } else {
    const g = peekGuestLeaf(rootGpa, va);
    want = g == 0 ? NO_HPA : gpaToHpa(pteTable(g));
    // Permissions: the shadow may not allow what the guest PTE does not.
    if (g != 0 && (e & PTE_W) != 0 && ((g & PTE_W) == 0 || (g & PTE_D) == 0)) want = NO_HPA;
    if (g != 0 && (e & PTE_X) != 0 && (g & PTE_X) == 0) want = NO_HPA;
    // Nor may it write a page table of the guest's.
    if (g != 0 && (e & PTE_W) != 0 && want != NO_HPA &&
      (load<u32>(frameFlagsPtr(gfnOf(pteTable(g)))) & FRAME_PT) != 0) want = NO_HPA;
  }
  return want != NO_HPA && (want & ~(<u64>4095)) == hpa;
}

/** Shadow leaves (in every context and view) that disagree with the guest's tables now. */
export function shadowIncoherent(): u32 {
  let bad: u32 = 0;
  for (let i: u32 = 0; i < MAX_CONTEXTS; i++) {
    const c = ctx(i);
    if (c.key == 0) continue;
    const rootGpa = c.key == KEY_BARE ? 0 : c.key & ~(<u64>4095);
    for (let v: u32 = 0; v < VIEWS; v++) {
      const r = load<u64>(rootPtr(c, v));
      if (r != 0) bad += checkTree(rootGpa, v, r, 2, 0);
    }
  }
  return bad;
}

/**
 * The VM's shadow tables moved to other host frames (a clone or a migration, hv/life.ts): the
 * pool was copied as it was, from `oldPool`, to vm.shadowPool. Table pointers (non-leaf
 * entries, context roots, reverse-map slots) move with the pool; a leaf's host frame is looked
 * up in `reloc` (u32 per old pool frame index: the new host frame number, 0: none). A leaf to
 * a frame the table does not know (only in a free page's stale contents) is cleared, so no
 * shadow entry can point at a frame the VM does not own.
 */
export function shadowRelocate(oldPool: u64, reloc: usize, relocFrames: u64): void {
  const delta = vm.shadowPool - oldPool;
  const pages = vm.shadowPages;
  const poolBytes = pages << 12;
  for (let i: u32 = 0; i < MAX_CONTEXTS; i++) {
    for (let v: u32 = 0; v < VIEWS; v++) {
      const p = rootPtr(ctx(i), v);
      // A root outside the old pool (a damaged snapshot) is dropped: it is allocated again.
      const r = load<u64>(p);
      if (r != 0) store<u64>(p, r - oldPool < poolBytes && (r & 4095) == 0 ? r + delta : 0);
    }
  }
  const first = machine.ramBase >> 12;
  for (let pg: u64 = 0; pg < pages; pg++) {
    const t = host(vm.shadowPool + (pg << 12));
    for (let k: usize = 0; k < 512; k++) {
      const e = load<u64>(t + k * 8);
      if ((e & PTE_V) == 0) continue;
      const to = pteTable(e);
      let moved: u64 = 0;
      if ((e & (PTE_R | PTE_W | PTE_X)) == 0) {
        if (to - oldPool < poolBytes) moved = to + delta;
      } else if ((e & SHADOW_LARGE) == 0) {
        const idx = (to >> 12) - first;
        if (idx < relocFrames) moved = <u64>load<u32>(reloc + <usize>(idx * 4)) << 12;
      }
      // A 2 MiB leaf is dropped: its frames need not be contiguous at their new place.
      store<u64>(t + k * 8, moved == 0 ? 0 : (e & ~(PPN_MASK << 10)) | ((moved >> 12) << 10));
    }
  }
  const rm = ramHost(vm.rmap, 1);
  const slots = vm.guestFrames * RMAP_SLOTS;
  for (let s: u64 = 0; s < slots; s++) {
    const off = <u64>load<u32>(rm + <usize>(s * 4));
    if (off == 0) continue;
    const slot = machine.ramBase + off + delta - vm.shadowPool;
    store<u32>(rm + <usize>(s * 4), slot < poolBytes && (slot & 7) == 0 ? <u32>(off + delta) : 0);
  }
}
