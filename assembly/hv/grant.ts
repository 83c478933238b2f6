// Grant tables: how one VM lets another reach one of its pages, after Xen's grant tables
// (docs/pv-abi.md "Grant tables"). The granting VM writes grant entries - to whom, which of
// its guest frames, read-only or not - into a page of its RAM it registers (setup_table); the
// grantee names an entry by (domid, ref) to map the frame into its own address space, to
// unmap it, or to copy to or from it without a mapping. Nothing is trusted from the entry
// after the check: what is mapped, by whom and how is the hypervisor's own record.
//
// A VM that is not loaded has its whole state in its save area (hv/host.ts), so nothing one
// VM's hypercall needs of another may live in the core's static data. Each VM's grant and
// event-channel records are a run of pool frames reached through the VM table (its "split
// area", made at first use), laid out as:
//
//   page 0   0     u64 grant table gpa (0: none)        8   u64 grant entries
//            16    u64 shared info page hpa (0: none)   24  u64 upcall raised while not loaded
//            32    u64 TLB flush owed (a mapping of it was revoked while it was not loaded)
//            64    event ports: 64 x 8 bytes (hv/evtchn.ts)
//            1024  maptrack: 64 x 32 bytes, the mappings this VM holds of others' frames
//   page 1         active grants: 512 x (u32 mappings, u32 writable mappings), per ref
//
// pv mapping (the only mode with these calls so far): a pv guest's page tables hold machine
// frames, so its "guest-physical slot" for a foreign frame is a page-table entry, as in Xen
// PV's GNTMAP_contains_pte: map writes the granter's machine frame into an invalid entry of a
// validated level-0 table of the mapper, and unmap clears it. The entry is the only way to the
// frame: the mapper's m2p does not list the granter's frames, so validation (hv/pvmmu.ts
// acquire) refuses any other entry naming them, and a table holding the grant entry can never
// be validated again once it is unlinked. A writable mapping counts as a writable mapping in
// the granter's own frame records, so the granter cannot turn the page into a page table
// while another VM can write it; a page table of the granter is only granted read-only.
//
// Revocation: a granter that rewrites an entry stops new maps and copies at once; mappings
// made already stay until the mapper unmaps them (as in Xen, where the granter checks the
// entry's in-use flags before it reuses the page), and the frame stays referenced meanwhile
// (the frame table's reference count). When either side is destroyed or reset, every mapping
// between it and the others goes: the mapper's entry is cleared (its TLB flushed at its next
// load), the reference dropped; a frame is free only when its last reference goes.

import { Counter } from '../counter-ids';
import { count, hart, machine, rget, rset, MODE_PV } from '../state';
import { PAGE_SHIFT, PTE_A, PTE_D, PTE_PPN_MASK, PTE_PPN_SHIFT, PTE_R, PTE_U, PTE_V, PTE_W } from '../riscv/bits';
import { tlbFlushHost } from '../mmu/tlb';
import { gpaHost, GUEST_RAM_BASE, ptInfoOffset, vm } from './vm';
import { getFrame, hostCurrent, hostFrameIndex, hostPoolAddr, hostVmGuestFrames, hostVmHv, hostVmLive, hostVmMode,
  hostVmSplitArea, hostVmSplitAreaEnsure, MAX_VMS, putFrame } from './host';
import { PV_ERR_DENIED, PV_ERR_INVALID_ADDRESS, PV_ERR_INVALID_PARAM, PV_OK, pvGrantPteSlot, pvRangeWritable } from './pvmmu';
import { evtchnOnLoad, evtchnVmGone } from './evtchn';
import { frameShared, hostSwitch } from './host';
import { ksmPrivate } from './ksm';

/** Frames of a VM's grant/event area (layout above). */
export const SPLIT_AREA_FRAMES: u64 = 2;

// Standard SBI error codes (SBI v2.0 section 3.2) beyond those pvmmu.ts names.
export const PV_ERR_FAILED: i64 = -1;
export const PV_ERR_NOT_SUPPORTED: i64 = -2;

// grant_table_op commands: Xen's GNTTABOP_* numbers (xen/include/public/grant_table.h).
export const GNTTABOP_MAP_GRANT_REF: u64 = 0;
export const GNTTABOP_UNMAP_GRANT_REF: u64 = 1;
export const GNTTABOP_SETUP_TABLE: u64 = 2;
export const GNTTABOP_COPY: u64 = 5;

// A grant entry: Xen's grant_entry_v1 { u16 flags; u16 domid; u32 frame; }, 512 to a page.
export const GRANT_ENTRY_BYTES: u64 = 8;
export const GRANT_MAX_ENTRIES: u64 = 512;
const GTF_TYPE_MASK: u16 = 3;
const GTF_PERMIT_ACCESS: u16 = 1;
const GTF_READONLY: u16 = 4;
// map flags (a4) and copy flags (a5), as Xen's GNTMAP_readonly and GNTCOPY_{source,dest}_gref.
const GNTMAP_READONLY: u64 = 1;
const GNTCOPY_SOURCE_GREF: u64 = 1;
const GNTCOPY_DEST_GREF: u64 = 2;

// The area's layout (above).
export const A_TABLE_GPA: u64 = 0;
export const A_TABLE_ENTRIES: u64 = 8;
export const A_SHARED_HPA: u64 = 16;
export const A_UPCALL: u64 = 24;
const A_FLUSH: u64 = 32;
export const A_PORTS: u64 = 64;
const A_MAPTRACK: u64 = 1024;
const MAPTRACK_SLOTS: u64 = 64;
const MT_BYTES: u64 = 32;
const MT_GRANTER: u64 = 0;  // u32 domid (0: free slot)
const MT_REF: u64 = 4;      // u32
const MT_PTE: u64 = 8;      // u64 machine address of the mapper's entry
const MT_FRAME: u64 = 16;   // u64 host-physical address of the granted frame
const MT_FLAGS: u64 = 24;   // u32 GNTMAP_READONLY
const MT_GFN: u64 = 28;     // u32 the granter's guest frame
const A_ACTIVE: u64 = 4096;

const A0: u32 = 10;
const A1: u32 = 11;

@inline function area(id: u32): usize { return hostPoolAddr(hostVmSplitArea(id)); }
@inline function aget(id: u32, off: u64): u64 { return load<u64>(area(id) + <usize>off); }
@inline function aset(id: u32, off: u64, v: u64): void { store<u64>(area(id) + <usize>off, v); }
@inline function mtAt(id: u32, h: u64): usize { return area(id) + <usize>(A_MAPTRACK + h * MT_BYTES); }
@inline function activeAt(id: u32, ref: u64): usize { return area(id) + <usize>(A_ACTIVE + ref * 8); }

/**
 * Host-physical address of VM `id`'s guest frame `gfn` (its frame map, the first thing in its
 * hypervisor area, hv/vm.ts), or 0 if the VM has no such frame.
 */
export function foreignFrame(id: u32, gfn: u64): u64 {
  if (gfn >= hostVmGuestFrames(id)) return 0;
  return <u64>load<u32>(hostPoolAddr(hostVmHv(id) + gfn * 4)) << PAGE_SHIFT;
}

/** VM `id`'s pv frame record for `gfn` (hv/pvmmu.ts: u32 writable mappings, u32 table references). */
function foreignPtInfo(id: u32, gfn: u64): usize {
  return hostPoolAddr(hostVmHv(id) + ptInfoOffset(hostVmGuestFrames(id)) + gfn * 8);
}

function ret(err: i64, value: u64): void {
  rset(A0, <u64>err);
  rset(A1, value);
  if (err != PV_OK) count(Counter.PV_REFUSED);
}

/**
 * Check the grant entry (domid, ref) for the current VM: granted to it, in use, naming a frame
 * of the granter's RAM. PV_OK, or the error to return.
 */
function entryCheck(domid: u64, ref: u64): i64 {
  const me = hostCurrent();
  if (!hostVmLive(domid) || <u32>domid == me || hostVmSplitArea(<u32>domid) == 0) return PV_ERR_INVALID_PARAM;
  const g = <u32>domid;
  if (aget(g, A_TABLE_GPA) == 0 || ref >= aget(g, A_TABLE_ENTRIES)) return PV_ERR_INVALID_PARAM;
  const e = entryValue(g, ref);
  // Xen's checks: GTF_permit_access, and the entry names this domain.
  if ((<u16>(e & 0xFFFF) & GTF_TYPE_MASK) != GTF_PERMIT_ACCESS || <u32>((e >> 16) & 0xFFFF) != me) return PV_ERR_DENIED;
  if ((e >> 32) >= hostVmGuestFrames(g)) return PV_ERR_INVALID_ADDRESS;
  return PV_OK;
}

/** Entry `ref` of granter `g`'s table as it is now (read through its frame map). */
function entryValue(g: u32, ref: u64): u64 {
  const table = aget(g, A_TABLE_GPA);
  const page = foreignFrame(g, (table - GUEST_RAM_BASE) >> PAGE_SHIFT);
  return load<u64>(hostPoolAddr(page + ref * GRANT_ENTRY_BYTES));
}

/** May a VM write granter `g`'s frame `gfn`? Not if the granter uses it as a pv page table. */
function granterFrameWritable(g: u32, gfn: u64): bool {
  return hostVmMode(g) != MODE_PV || load<u32>(foreignPtInfo(g, gfn), 4) == 0;
}

/**
 * Granter `g`'s frame `gfn` is about to be written by another VM (a writable map, a copy into
 * the grant). If same-page merging made it one frame with other VMs' pages (an hvm granter
 * merged before it set up its grants), the granter gets its own copy first, as its own write
 * would give it (hv/ksm.ts): the write must reach the granter only. The granter is loaded for
 * that and the caller loaded again, whose state the two switches keep exactly. False if the
 * pool had no frame for the copy.
 */
function granterPrivate(g: u32, gfn: u64): bool {
  if (!frameShared(hostFrameIndex(foreignFrame(g, gfn)))) return true;
  const me = hostCurrent();
  hostSwitch(g);
  const ok = ksmPrivate(GUEST_RAM_BASE + (gfn << PAGE_SHIFT));
  hostSwitch(me);
  return ok;
}

/** setup_table(gpa, entries): the page the current VM keeps its grant entries in. */
function setupTable(gpa: u64, entries: u64): void {
  if ((gpa & 4095) != 0 || gpaHost(gpa, 4096) == 0) { ret(PV_ERR_INVALID_ADDRESS, 0); return; }
  if (entries == 0 || entries > GRANT_MAX_ENTRIES) { ret(PV_ERR_INVALID_PARAM, 0); return; }
  const me = hostCurrent();
  if (hostVmSplitAreaEnsure(me) == 0) { ret(PV_ERR_FAILED, 0); return; }
  aset(me, A_TABLE_GPA, gpa);
  aset(me, A_TABLE_ENTRIES, entries);
  ret(PV_OK, me);
}

/** map(domid, ref, pte, flags): put the granted frame into the current VM's entry at `pte`. */
function mapRef(domid: u64, ref: u64, pte: u64, flags: u64): void {
  // PV-on-HVM mappers would need a slot in their guest-physical space (a grant-map window
  // behind the G-stage or the shadow fills); not built yet: refused, changing nothing.
  if (machine.mode != MODE_PV) { ret(PV_ERR_NOT_SUPPORTED, 0); return; }
  if ((flags & ~GNTMAP_READONLY) != 0) { ret(PV_ERR_INVALID_PARAM, 0); return; }
  const err = entryCheck(domid, ref);
  if (err != PV_OK) { ret(err, 0); return; }
  const g = <u32>domid;
  const e = entryValue(g, ref);
  const gfn = e >> 32;
  const writable = (flags & GNTMAP_READONLY) == 0;
  if (writable && ((<u16>(e & 0xFFFF) & GTF_READONLY) != 0 || !granterFrameWritable(g, gfn))) {
    ret(PV_ERR_DENIED, 0);
    return;
  }
  const slotErr = pvGrantPteSlot(pte);
  if (slotErr != PV_OK) { ret(slotErr, 0); return; }
  const me = hostCurrent();
  if (hostVmSplitAreaEnsure(me) == 0) { ret(PV_ERR_FAILED, 0); return; }
  if (writable && !granterPrivate(g, gfn)) { ret(PV_ERR_FAILED, 0); return; }
  let h: u64 = 0;
  while (h < MAPTRACK_SLOTS && load<u32>(mtAt(me, h) + <usize>MT_GRANTER) != 0) h++;
  if (h == MAPTRACK_SLOTS) { ret(PV_ERR_DENIED, 0); return; }
  // Validated: take the references, then write the entry.
  const frame = foreignFrame(g, gfn);
  getFrame(hostFrameIndex(frame));
  const act = activeAt(g, ref);
  store<u32>(act, load<u32>(act) + 1);
  if (writable) {
    store<u32>(act + 4, load<u32>(act + 4) + 1);
    // A writable mapping elsewhere counts as one in the granter's records: it cannot become a table.
    if (hostVmMode(g) == MODE_PV) { const p = foreignPtInfo(g, gfn); store<u32>(p, load<u32>(p) + 1); }
  }
  const mt = mtAt(me, h);
  store<u32>(mt + <usize>MT_GRANTER, g);
  store<u32>(mt + <usize>MT_REF, <u32>ref);
  store<u64>(mt + <usize>MT_PTE, pte);
  store<u64>(mt + <usize>MT_FRAME, frame);
  store<u32>(mt + <usize>MT_FLAGS, <u32>(flags & GNTMAP_READONLY));
  store<u32>(mt + <usize>MT_GFN, <u32>gfn);
  // A leaf as pv's validation would accept for a frame of the VM (docs/pv-abi.md): U set, no
  // G, data only (no X); A and D set so the walk never writes them.
  const leaf = ((frame >> PAGE_SHIFT) << PTE_PPN_SHIFT) | PTE_V | PTE_R | PTE_U | PTE_A |
    (writable ? PTE_W | PTE_D : 0);
  store<u64>(hostPoolAddr(pte), leaf);
  count(Counter.GRANT_MAPS);
  ret(PV_OK, h);
}

/** The leaf map() wrote for maptrack slot `mt`, less the bits the walk may set. */
@inline function leafOf(mt: usize): u64 {
  return ((load<u64>(mt + <usize>MT_FRAME) >> PAGE_SHIFT) & PTE_PPN_MASK) << PTE_PPN_SHIFT;
}

/**
 * Drop mapping `mt` of VM `mapper`: clear its entry if it still holds the grant, release the
 * granter's counts unless `granterGoing` (its records are about to go), drop the frame's
 * reference, free the slot.
 */
function dropMapping(mapper: u32, mt: usize, clearEntry: bool, granterGoing: bool): void {
  const g = load<u32>(mt + <usize>MT_GRANTER);
  if (clearEntry) {
    const p = hostPoolAddr(load<u64>(mt + <usize>MT_PTE));
    const cur = load<u64>(p);
    // The mapper may have rewritten the entry since (mmu_update): then it no longer maps the
    // frame, and the hypervisor leaves what it holds now alone.
    if ((cur & PTE_V) != 0 && ((cur >> PTE_PPN_SHIFT) & PTE_PPN_MASK) << PTE_PPN_SHIFT == leafOf(mt)) store<u64>(p, 0);
  }
  if (!granterGoing) {
    const ref = <u64>load<u32>(mt + <usize>MT_REF);
    const act = activeAt(g, ref);
    store<u32>(act, load<u32>(act) - 1);
    if (load<u32>(mt + <usize>MT_FLAGS) == 0) {
      store<u32>(act + 4, load<u32>(act + 4) - 1);
      if (hostVmMode(g) == MODE_PV) {
        const pi = foreignPtInfo(g, <u64>load<u32>(mt + <usize>MT_GFN));
        store<u32>(pi, load<u32>(pi) - 1);
      }
    }
  }
  putFrame(hostFrameIndex(load<u64>(mt + <usize>MT_FRAME)));
  memory.fill(mt, 0, <usize>MT_BYTES);
  if (mapper == hostCurrent()) {
    tlbFlushHost();
    hart.chunkBreak = 1;
  } else {
    aset(mapper, A_FLUSH, 1);
  }
}

/** unmap(handle): end a mapping map() returned `handle` for. */
function unmapRef(handle: u64): void {
  const me = hostCurrent();
  if (handle >= MAPTRACK_SLOTS || hostVmSplitArea(me) == 0 || load<u32>(mtAt(me, handle) + <usize>MT_GRANTER) == 0) {
    ret(PV_ERR_INVALID_PARAM, 0);
    return;
  }
  dropMapping(me, mtAt(me, handle), true, false);
  count(Counter.GRANT_UNMAPS);
  ret(PV_OK, 0);
}

/**
 * copy(domid, ref | offset << 16, gpa, len, flags): copy `len` bytes between the granted page
 * (from `offset`) and the current VM's RAM at `gpa`, without a mapping: GNTCOPY_SOURCE_GREF
 * reads the grant, GNTCOPY_DEST_GREF writes it (a writable grant only).
 */
function copyRef(domid: u64, refOff: u64, gpa: u64, len: u64, flags: u64): void {
  if (flags != GNTCOPY_SOURCE_GREF && flags != GNTCOPY_DEST_GREF) { ret(PV_ERR_INVALID_PARAM, 0); return; }
  const ref = refOff & 0xFFFF;
  const off = refOff >> 16;
  if (len == 0 || off >= 4096 || len > 4096 - off) { ret(PV_ERR_INVALID_PARAM, 0); return; }
  const err = entryCheck(domid, ref);
  if (err != PV_OK) { ret(err, 0); return; }
  const g = <u32>domid;
  const e = entryValue(g, ref);
  const gfn = e >> 32;
  const toGrant = flags == GNTCOPY_DEST_GREF;
  if (toGrant && ((<u16>(e & 0xFFFF) & GTF_READONLY) != 0 || !granterFrameWritable(g, gfn))) {
    ret(PV_ERR_DENIED, 0);
    return;
  }
  // The local side: guest RAM, and in pv never one of its page tables when written.
  if (gpa < GUEST_RAM_BASE || gpa + len < gpa || gpa - GUEST_RAM_BASE + len > (vm.guestFrames << PAGE_SHIFT)) {
    ret(PV_ERR_INVALID_ADDRESS, 0);
    return;
  }
  if (!toGrant && machine.mode == MODE_PV && !pvRangeWritable(gpa, len)) { ret(PV_ERR_DENIED, 0); return; }
  if (toGrant && !granterPrivate(g, gfn)) { ret(PV_ERR_FAILED, 0); return; }
  const remote = hostPoolAddr(foreignFrame(g, gfn)) + <usize>off;
  let done: u64 = 0;
  while (done < len) {
    const at = gpa + done;
    const room = 4096 - (at & 4095);
    const n = len - done < room ? len - done : room;
    const local = gpaHost(at, n);
    if (toGrant) memory.copy(remote + <usize>done, local, <usize>n);
    else memory.copy(local, remote + <usize>done, <usize>n);
    done += n;
  }
  count(Counter.GRANT_COPY_BYTES, len);
  ret(PV_OK, len);
}

/** grant_table_op(cmd, ...): the PV extension's FID 15 (docs/pv-abi.md). */
export function grantTableOp(cmd: u64): void {
  const a1 = rget(11), a2 = rget(12), a3 = rget(13), a4 = rget(14), a5 = rget(15);
  if (cmd == GNTTABOP_SETUP_TABLE) setupTable(a1, a2);
  else if (cmd == GNTTABOP_MAP_GRANT_REF) mapRef(a1, a2, a3, a4);
  else if (cmd == GNTTABOP_UNMAP_GRANT_REF) unmapRef(a1);
  else if (cmd == GNTTABOP_COPY) copyRef(a1, a2, a3, a4, a5);
  else ret(PV_ERR_NOT_SUPPORTED, 0);
}

/** At a world switch into VM `id` (hv/host.ts hostSwitch): what others did to it meanwhile. */
export function splitOnLoad(id: u32): void {
  if (hostVmSplitArea(id) == 0) return;
  if (aget(id, A_FLUSH) != 0) {
    aset(id, A_FLUSH, 0);
    tlbFlushHost();
  }
  evtchnOnLoad(id);
}

/**
 * VM `id` is destroyed (`destroyed`) or reset: end every mapping it holds of others' frames
 * (its own entries are not touched: its memory goes or is reloaded) and every mapping others
 * hold of its frames (their entries cleared), and forget its grant table. A destroyed VM's
 * event ports close and its records go; a reset VM keeps its ports, as a rebooted domain keeps
 * the channels its toolstack made (src/host.ts connects a split frontend before it boots).
 */
export function splitVmGone(id: u32, destroyed: bool): void {
  if (hostVmSplitArea(id) != 0) {
    for (let h: u64 = 0; h < MAPTRACK_SLOTS; h++) {
      const mt = mtAt(id, h);
      if (load<u32>(mt + <usize>MT_GRANTER) != 0) dropMapping(id, mt, false, false);
    }
  }
  for (let m: u32 = 1; m <= MAX_VMS; m++) {
    if (m == id || !hostVmLive(m) || hostVmSplitArea(m) == 0) continue;
    for (let h: u64 = 0; h < MAPTRACK_SLOTS; h++) {
      const mt = mtAt(m, h);
      if (load<u32>(mt + <usize>MT_GRANTER) == id) dropMapping(m, mt, true, true);
    }
  }
  if (hostVmSplitArea(id) == 0) {
    if (destroyed) evtchnVmGone(id);
    return;
  }
  if (destroyed) {
    evtchnVmGone(id);
    memory.fill(area(id), 0, <usize>(SPLIT_AREA_FRAMES << PAGE_SHIFT));
    return;
  }
  aset(id, A_TABLE_GPA, 0);
  aset(id, A_TABLE_ENTRIES, 0);
  aset(id, A_UPCALL, 0);
  aset(id, A_FLUSH, 0);
  memory.fill(area(id) + <usize>A_ACTIVE, 0, <usize>(GRANT_MAX_ENTRIES * 8));
}
