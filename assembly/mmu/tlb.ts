// The fast software TLB: what lets a load, a store or a fetch reach guest RAM with one compare
// and one add. Direct-mapped, one table per access kind, so that a page readable but not
// writable gets a load entry and no store entry.
//
// An entry is { tag: u64, addend: u64 }: tag = va & ~0xFFF of a RAM page the current context
// may access that way; host address = va + addend. A lookup for an access of `size` bytes
// compares tag with va & (~0xFFF | (size - 1)), so a misaligned access never matches and goes
// to the slow path, which handles it. An invalid tag has bit 0 set and matches nothing.
// Only RAM is ever entered: MMIO always takes the slow path to its device.
//
// Entries are valid for one "view" of memory, so that changing privilege needs no flush:
//   VIEW_PHYS  untranslated (M-mode, or satp.MODE = Bare)
//   VIEW_U     translated, U-mode permissions
//   VIEW_S     translated, S-mode permissions, SUM = 0
//   VIEW_SSUM  translated, S-mode permissions, SUM = 1 (may touch U pages)
//   VIEW_VU, VIEW_VS, VIEW_VSSUM  the same three for V=1 (H extension, section 8.5): entries
//              map a guest virtual address straight to the host page, the result of both
//              translation stages, so warm guest code runs exactly as fast as native code.
// Entries are tagged by address space, the way hardware tags them by ASID and VMID: the
// translated views exist in ASID_SETS sets each, the host's keyed by satp.ASID, the guest's by
// hgatp.VMID and vsatp.ASID. A satp (vsatp, hgatp) write selects the set of its address space,
// keeping what it holds; if none has it, the least recently used set is emptied and given to
// it. SFENCE.VMA (and the HFENCEs) flush; so do MXR changes, which widen load permission.

import { Counter } from '../counter-ids';
import { count } from '../state';
import { tlbModelFlushAll, tlbModelFlushGuest, tlbModelFlushHost, tlbModelFlushPage, tlbModelOn,
  tlbModelSwitch } from './tlbmodel';
import { debug, debugPoisons, POISON } from '../cpu/debug';

export const VIEW_PHYS: u32 = 0;
export const VIEW_U: u32 = 1;
export const VIEW_S: u32 = 2;
export const VIEW_SSUM: u32 = 3;
export const VIEW_VU: u32 = 4;
export const VIEW_VS: u32 = 5;
export const VIEW_VSSUM: u32 = 6;
export const VIEWS: u32 = 7;
/** The guest views are the last GUEST_VIEWS. */
const GUEST_VIEWS: u32 = 3;

export const KIND_FETCH: u32 = 0;
export const KIND_LOAD: u32 = 1;
export const KIND_STORE: u32 = 2;
export const KINDS: u32 = 3;

export const TLB_BITS: u32 = 8;
export const TLB_ENTRIES: u32 = 1 << TLB_BITS;
export const TLB_MASK: u64 = TLB_ENTRIES - 1;
/** Address spaces the host (and, separately, the guest) keeps entries for at once. */
export const ASID_SETS: u32 = 4;
const TABLE_BYTES: usize = <usize>TLB_ENTRIES * 16;
const SET_VIEWS: u32 = 3;
const SET_BYTES: u32 = SET_VIEWS * KINDS * <u32>TABLE_BYTES;
const PHYS_MEM: usize = memory.data(<i32>(KINDS * <u32>TABLE_BYTES), 64);
const HOST_MEM: usize = memory.data(<i32>(ASID_SETS * SET_BYTES), 64);
const GUEST_MEM: usize = memory.data(<i32>(ASID_SETS * SET_BYTES), 64);
const INVALID_BYTE: u8 = 0x01;
const NO_TAG: u64 = 0xFFFF_FFFF_FFFF_FFFF;

/** Which set is current for the host and for the guest, and the sets' tags and last use. */
@unmanaged class TlbSets {
  host: u32 = 0;
  guest: u32 = 0;
  clock: u64 = 0;
}
const sets = changetype<TlbSets>(memory.data(offsetof<TlbSets>(), 16));
const HOST_TAGS: usize = memory.data(<i32>ASID_SETS * 8, 16);
const HOST_USE: usize = memory.data(<i32>ASID_SETS * 8, 16);
const GUEST_TAGS: usize = memory.data(<i32>ASID_SETS * 8, 16);
const GUEST_USE: usize = memory.data(<i32>ASID_SETS * 8, 16);

/** The table for one view and access kind; the interpreter keeps these in locals. */
@inline export function tlbTable(view: u32, kind: u32): usize {
  if (view == VIEW_PHYS) return PHYS_MEM + <usize>kind * TABLE_BYTES;
  if (view < VIEW_VU) return HOST_MEM + <usize>sets.host * SET_BYTES + <usize>((view - VIEW_U) * KINDS + kind) * TABLE_BYTES;
  return GUEST_MEM + <usize>sets.guest * SET_BYTES + <usize>((view - VIEW_VU) * KINDS + kind) * TABLE_BYTES;
}

@inline export function tlbEntry(table: usize, va: u64): usize {
  return table + (<usize>((va >> 12) & TLB_MASK) << 4);
}

@inline function emptySet(mem: usize, i: u32): void {
  memory.fill(mem + <usize>i * SET_BYTES, INVALID_BYTE, SET_BYTES);
}

/** Make the set tagged `tag` current, or empty the least recently used one for it. */
function selectSet(mem: usize, tags: usize, uses: usize, tag: u64): u32 {
  sets.clock++;
  let victim: u32 = 0;
  let oldest: u64 = NO_TAG;
  for (let i: u32 = 0; i < ASID_SETS; i++) {
    if (load<u64>(tags + <usize>i * 8) == tag) {
      store<u64>(uses + <usize>i * 8, sets.clock);
      return i;
    }
    const use = load<u64>(uses + <usize>i * 8);
    if (use < oldest) { oldest = use; victim = i; }
  }
  emptySet(mem, victim);
  count(Counter.TLB_FLUSHES);
  store<u64>(tags + <usize>victim * 8, tag);
  store<u64>(uses + <usize>victim * 8, sets.clock);
  return victim;
}

/** The host switched address space (a satp write): select the set of its ASID. */
export function tlbSelectHost(asid: u64): void {
  sets.host = selectSet(HOST_MEM, HOST_TAGS, HOST_USE, asid);
  ioFlush();
  if (tlbModelOn()) tlbModelSwitch();
}

/**
 * The guest switched address space (vsatp or hgatp write): select the set of (VMID, ASID), or
 * of (VMID, Bare) when vsatp.MODE is Bare. Bare must have a set of its own: its entries map
 * gVA = gPA, and a later vsatp write of ASID 0 switching translation on needs no fence
 * (privileged spec 4.1.11: a MODE change takes effect at once), so it must not find them.
 */
export function tlbSelectGuest(vmid: u64, vsatp: u64): void {
  const bare: u64 = (vsatp >> 60) == 0 ? 1 : 0;
  const tag = (vmid << 17) | (bare << 16) | ((vsatp >> 44) & 0xFFFF);
  sets.guest = selectSet(GUEST_MEM, GUEST_TAGS, GUEST_USE, tag);
  ioFlush();
  npwcFlush();
  if (tlbModelOn()) tlbModelSwitch();
}

/** Drop the host entries of one ASID (SFENCE.VMA with rs1 = x0 and an ASID in rs2). */
export function tlbFlushHostAsid(asid: u64): void {
  for (let i: u32 = 0; i < ASID_SETS; i++) {
    if (load<u64>(HOST_TAGS + <usize>i * 8) == asid) emptySet(HOST_MEM, i);
  }
  ioFlush();
  if (tlbModelOn()) tlbModelFlushHost(<i64>asid);
  count(Counter.TLB_FLUSHES);
}

export function tlbInsert(view: u32, kind: u32, va: u64, hostPage: u64): void {
  const e = tlbEntry(tlbTable(view, kind), va);
  const vpage = va & ~(<u64>0xFFF);
  // A page with a breakpoint or a watch is entered poisoned (cpu/debug.ts): valid, but no
  // fast-path lookup matches it, so its accesses reach the slow paths that check them.
  const poison = (debug.bps | debug.watches) != 0 && debugPoisons(va, kind);
  store<u64>(e, poison ? vpage | POISON : vpage);
  store<u64>(e, hostPage - vpage, 8);
}

/**
 * The addend of the poisoned entry for `va` in `view` and `kind`, or 1 (odd: no addend is)
 * if there is none: a slow path uses it as the fast path would have used the entry.
 */
export function tlbPoisoned(view: u32, kind: u32, va: u64): u64 {
  const e = tlbEntry(tlbTable(view, kind), va);
  if (load<u64>(e) != ((va & ~(<u64>0xFFF)) | POISON)) return 1;
  return load<u64>(e, 8);
}

/** Poison the entries of the page of `va` for `kind` in every view and set (a breakpoint or a
 * watch was set there). */
export function tlbPoison(va: u64, kind: u32): void {
  const vpage = va & ~(<u64>0xFFF);
  poisonIn(PHYS_MEM + <usize>kind * TABLE_BYTES, va, vpage);
  for (let t: u32 = 0; t < ASID_SETS * SET_VIEWS; t++) {
    poisonIn(HOST_MEM + <usize>(t * KINDS + kind) * TABLE_BYTES, va, vpage);
    poisonIn(GUEST_MEM + <usize>(t * KINDS + kind) * TABLE_BYTES, va, vpage);
  }
}

@inline function poisonIn(table: usize, va: u64, vpage: u64): void {
  const e = tlbEntry(table, va);
  if (load<u64>(e) == vpage) store<u64>(e, vpage | POISON);
}

/** Make every poisoned entry an ordinary one again (the debugger's points changed). */
export function tlbUnpoisonAll(): void {
  unpoisonRange(PHYS_MEM, KINDS * <u32>TABLE_BYTES);
  unpoisonRange(HOST_MEM, ASID_SETS * SET_BYTES);
  unpoisonRange(GUEST_MEM, ASID_SETS * SET_BYTES);
}

function unpoisonRange(mem: usize, bytes: u32): void {
  for (let e = mem; e < mem + <usize>bytes; e += 16) {
    const tag = load<u64>(e);
    // An invalid tag has bit 0 set; a valid one is page-aligned, with POISON if poisoned.
    if ((tag & 1) == 0 && (tag & POISON) != 0) store<u64>(e, tag & ~POISON);
  }
}

/** Drop every translated entry, host and guest, in every set (MXR change, SBI remote fence). */
export function tlbFlushTranslated(): void {
  memory.fill(HOST_MEM, INVALID_BYTE, ASID_SETS * SET_BYTES);
  memory.fill(GUEST_MEM, INVALID_BYTE, ASID_SETS * SET_BYTES);
  ioFlush();
  if (tlbModelOn()) { tlbModelFlushHost(-1); tlbModelFlushGuest(); }
  count(Counter.TLB_FLUSHES);
}

/** Drop the host's (V=0) translated entries of every ASID: SFENCE.VMA in HS/M of everything. */
export function tlbFlushHost(): void {
  memory.fill(HOST_MEM, INVALID_BYTE, ASID_SETS * SET_BYTES);
  ioFlush();
  if (tlbModelOn()) tlbModelFlushHost(-1);
  count(Counter.TLB_FLUSHES);
}

/**
 * Drop every guest (V=1) entry: vsatp and hgatp writes, SFENCE.VMA in VS-mode, HFENCE.VVMA and
 * HFENCE.GVMA (section 8.3.2), and whatever the hypervisor changes behind the guest's back
 * (its shadow tables, the gPA->hPA map). The nested page-walk cache goes too.
 */
export function tlbFlushGuest(): void {
  memory.fill(GUEST_MEM, INVALID_BYTE, ASID_SETS * SET_BYTES);
  ioFlush();
  npwcFlush();
  if (tlbModelOn()) tlbModelFlushGuest();
  count(Counter.TLB_FLUSHES);
  count(Counter.TLB_FLUSHES_GUEST);
}

/** Drop everything, the physical view included (reset, RAM remapped, a watch added). */
export function tlbFlushAll(): void {
  memory.fill(PHYS_MEM, INVALID_BYTE, KINDS * <u32>TABLE_BYTES);
  memory.fill(HOST_MEM, INVALID_BYTE, ASID_SETS * SET_BYTES);
  memory.fill(GUEST_MEM, INVALID_BYTE, ASID_SETS * SET_BYTES);
  // No address space owns a set any more; set 0 serves whatever runs next.
  memory.fill(HOST_TAGS, 0xFF, ASID_SETS * 8);
  memory.fill(GUEST_TAGS, 0xFF, ASID_SETS * 8);
  memory.fill(HOST_USE, 0, ASID_SETS * 8);
  memory.fill(GUEST_USE, 0, ASID_SETS * 8);
  sets.host = 0;
  sets.guest = 0;
  sets.clock = 0;
  ioFlush();
  npwcFlush();
  if (tlbModelOn()) tlbModelFlushAll();
}

/**
 * Drop every entry of every view and set, and the nested page-walk cache, keeping which address
 * space owns which set: the hypervisor moved guest frames to other host frames (hv/ksm.ts).
 */
export function tlbFlushRam(): void {
  memory.fill(PHYS_MEM, INVALID_BYTE, KINDS * <u32>TABLE_BYTES);
  memory.fill(HOST_MEM, INVALID_BYTE, ASID_SETS * SET_BYTES);
  memory.fill(GUEST_MEM, INVALID_BYTE, ASID_SETS * SET_BYTES);
  ioFlush();
  npwcFlush();
  if (tlbModelOn()) tlbModelFlushAll();
  count(Counter.TLB_FLUSHES);
}

/**
 * Drop every store entry, in every view and set (hv/dirty.ts: while a VM's writes are logged,
 * a page has a store entry only after its first store since the log was read was marked).
 * Not a guest-visible flush: it is not counted as one.
 */
export function tlbFlushStores(): void {
  memory.fill(PHYS_MEM + <usize>KIND_STORE * TABLE_BYTES, INVALID_BYTE, TABLE_BYTES);
  for (let t: u32 = 0; t < ASID_SETS * SET_VIEWS; t++) {
    memory.fill(HOST_MEM + <usize>(t * KINDS + KIND_STORE) * TABLE_BYTES, INVALID_BYTE, TABLE_BYTES);
    memory.fill(GUEST_MEM + <usize>(t * KINDS + KIND_STORE) * TABLE_BYTES, INVALID_BYTE, TABLE_BYTES);
  }
}

/** Drop the host's translated entries of one page, any ASID (sfence.vma with an address). */
export function tlbFlushPage(va: u64): void {
  flushPageIn(HOST_MEM, va);
  if (tlbModelOn()) tlbModelFlushPage(va, false);
}

/** Drop the guest's entries of one guest virtual page (SFENCE.VMA in VS, HFENCE.VVMA). */
export function tlbFlushGuestPage(gva: u64): void {
  flushPageIn(GUEST_MEM, gva);
  if (tlbModelOn()) tlbModelFlushPage(gva, true);
  count(Counter.TLB_FLUSHES_GUEST);
}

/** Drop one page from every table of every set in `mem` (one per view, kind and set). */
function flushPageIn(mem: usize, va: u64): void {
  const vpage = va & ~(<u64>0xFFF);
  const tables = ASID_SETS * SET_VIEWS * KINDS;
  for (let t: u32 = 0; t < tables; t++) {
    const e = tlbEntry(mem + <usize>t * TABLE_BYTES, va);
    if ((load<u64>(e) & ~POISON) == vpage) store<u64>(e, 1);
  }
  ioFlush();
  count(Counter.TLB_FLUSHES);
}

// A small companion cache for translated MMIO pages: { tag, pa-page - va-page } entries, so a
// kernel that reaches its UART through a virtual mapping does not walk its tables on every
// byte (a real TLB would hold that translation too). Flushed with the translated views.
const IO_BITS: u32 = 4;
const IO_ENTRIES: u32 = 1 << IO_BITS;
const IO_TABLE_BYTES: usize = <usize>IO_ENTRIES * 16;
const IO_MEM: usize = memory.data(<i32>(VIEWS * KINDS * <u32>IO_TABLE_BYTES), 64);

@inline function ioEntry(view: u32, kind: u32, va: u64): usize {
  return IO_MEM + <usize>(view * KINDS + kind) * IO_TABLE_BYTES +
    (<usize>((va >> 12) & (IO_ENTRIES - 1)) << 4);
}

/** The physical address cached for an MMIO `va`, or 1 (odd: never a page address) if none. */
export function ioLookup(view: u32, kind: u32, va: u64): u64 {
  const e = ioEntry(view, kind, va);
  if (load<u64>(e) != (va & ~(<u64>0xFFF))) return 1;
  return va + load<u64>(e, 8);
}

export function ioInsert(view: u32, kind: u32, va: u64, pa: u64): void {
  const e = ioEntry(view, kind, va);
  const vpage = va & ~(<u64>0xFFF);
  store<u64>(e, vpage);
  store<u64>(e, (pa & ~(<u64>0xFFF)) - vpage, 8);
}

export function ioFlush(): void {
  memory.fill(IO_MEM, INVALID_BYTE, VIEWS * KINDS * <u32>IO_TABLE_BYTES);
}

// The nested page-walk cache (Bhargava et al., "Accelerating Two-Dimensional Page Walks for
// Virtualized Systems", ASPLOS 2008): G-stage translations of the guest-physical pages that
// hold VS-stage page tables, { gPA page, host page } entries, direct-mapped. It is consulted
// only for the VS-stage walk's own PTE reads (never for the final data address), only when
// machine.nestedPwc is set, and holds only translations that passed the G-stage checks for a
// read. Flushed with the guest views (hgatp write, HFENCE.GVMA).
const NPWC_BITS: u32 = 4;
const NPWC_ENTRIES: u32 = 1 << NPWC_BITS;
const NPWC_MEM: usize = memory.data(<i32>NPWC_ENTRIES * 16, 16);

@inline function npwcEntry(gpa: u64): usize {
  return NPWC_MEM + (<usize>((gpa >> 12) & (NPWC_ENTRIES - 1)) << 4);
}

/** The host address of the PTE at `gpa` through the cache, or 0 on a miss. */
export function npwcLookup(gpa: u64): usize {
  const e = npwcEntry(gpa);
  if (load<u64>(e) != (gpa & ~(<u64>0xFFF))) return 0;
  return <usize>(load<u64>(e, 8) + (gpa & 0xFFF));
}

export function npwcInsert(gpa: u64, hostPage: u64): void {
  const e = npwcEntry(gpa);
  store<u64>(e, gpa & ~(<u64>0xFFF));
  store<u64>(e, hostPage, 8);
}

export function npwcFlush(): void {
  memory.fill(NPWC_MEM, INVALID_BYTE, NPWC_ENTRIES * 16);
}
