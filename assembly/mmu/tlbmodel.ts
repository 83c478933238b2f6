// The model TLB: a configurable picture of a real MMU's translation caches, for measuring, not
// for running. The interpreter runs on the fast TLB (tlb.ts), whose shape is chosen for speed;
// this model has the shape a researcher asks about (docs/cost-model.md "The model TLB"):
//
//   L1 instruction TLB, L1 data TLB   entries x ways, per page size or shared
//   L2 TLB (optional, unified)        entries x ways, per page size or shared
//   page-walk cache (PWC)             upper-level PTEs of native and VS-stage walks
//   nested page-walk cache (NPWC)     G-stage translations of VS-stage table pages
//   nested TLB (NTLB)                 G-stage translations of the final guest-physical page
//
// Every guest access is looked up here while the model is on (tlbModelOn; access.ts calls
// tlbModelAccess); a miss in every level is a *modeled walk*: a read-only re-walk of the
// tables as they are now, which counts its references by where they would have been served
// (memory, PWC, NPWC, NTLB) and returns the page size to fill. It never writes (no A/D bits),
// never raises and never touches an existing counter, so the fast TLB, the guest and every
// other counter behave exactly as with the model off. The caches hold tags only: a hit means
// "this reference would not have gone to memory"; the translation itself always comes from the
// re-walk, so a guest that forgets a fence is not modeled to see a stale entry.
//
// The model is machine hardware, not a VM's context: its state, the on/off switch included,
// lives in a region of its own between the compressed-instruction table and guest RAM
// (docs/memory-map.md), which the world switch does not copy (VMs of one Host share one
// model, tagged by VMID when tags are on) and a snapshot does. It adds nothing to the static
// data a world switch copies.
//
//   region (TLBM_REGION_BYTES)
//   +0     header: policy, random state, LRU clock, 12 structure descriptors
//   +256   the miss table: one fast-TLB table that matches nothing (see tlbProbeTable)
//   +4352  the structures' entries: { key u64, last use u64 }, set after set
//
// An entry's key (bit 0 valid; a zero key is an empty way):
//   63..35 page number at the entry's page size (a VPN, the page-walk cache's VA prefix, or a
//          guest-physical page: 41-bit gPAs when vsatp is Bare)  34 the guest's vsatp is Bare
//   33..20 VMID  19..4 ASID (both 0 with tags off)  3 V (a guest entry)  2..1 page size
//   (0 4 KiB, 1 2 MiB, 2 1 GiB; the PWC's level)

import { Counter } from '../counter-ids';
import { count, hart, machine } from '../state';
import { HGATP_PPN_MASK, HGATP_VMID_MASK, PTE_PPN_MASK, PTE_PPN_SHIFT, PTE_R, PTE_RESERVED, PTE_V,
  PTE_W, PTE_X, SATP_ASID_MASK, SATP_ASID_SHIFT, SATP_MODE_SHIFT, SATP_PPN_MASK } from '../riscv/bits';
import { rvcTable, RVC_TABLE_BYTES } from '../cpu/exec';
import { KIND_FETCH, TLB_ENTRIES, tlbTable, VIEW_PHYS, VIEW_VU } from './tlb';
import { sv39Canonical } from './walk';

/** Bytes reserved for the model before guest RAM (index.ts init), whether it is used or not. */
export const TLBM_REGION_BYTES: usize = 256 * 1024;
const HEADER_BYTES: usize = 256;
const MISS_TABLE_OFF: usize = HEADER_BYTES;
// One fast-TLB table: tlb.ts's TLB_ENTRIES x 16 bytes (spelt out: tlb.ts imports this file,
// so its constants are not yet initialised here; tlbModelConfigure checks they agree).
const MISS_TABLE_BYTES: usize = 256 * 16;
const ENTRIES_OFF: usize = MISS_TABLE_OFF + MISS_TABLE_BYTES;
const ENTRY_BYTES: usize = 16;

// Structures (descriptor index). A level with shared arrays uses its 4 KiB slot for every size.
const S_L1I: u32 = 0;
const S_L1D: u32 = 3;
const S_L2: u32 = 6;
const S_PWC: u32 = 9;
const S_NPWC: u32 = 10;
const S_NTLB: u32 = 11;
const STRUCTURES: u32 = 12;

export const REPL_LRU: u32 = 0;
export const REPL_RANDOM: u32 = 1;

// Header fields.
const H_REPL: usize = 0;       // u32
const H_TAGS: usize = 4;       // u32: 1 = entries tagged by ASID/VMID
const H_SPLIT: usize = 8;      // u32: 1 = one array per page size in each TLB level
const H_ON: usize = 12;        // u32: 1 = the model sees every translated access
const H_RNG: usize = 16;       // u64: xorshift64 state (random replacement)
const H_CLOCK: usize = 24;     // u64: LRU clock
const H_DESC: usize = 32;      // 12 x { entries offset u32, sets u32, ways u32, pad u32 }
const H_WALK_PA: usize = 224;  // u64: the address the last modeled walk translated to

const KEY_VALID: u64 = 1;
const KEY_V: u64 = 1 << 3;
const KEY_SPACE_SHIFT: u64 = 4;
const KEY_TAGS_MASK: u64 = ((<u64>1 << 30) - 1) << KEY_SPACE_SHIFT; // ASID and VMID
const KEY_BARE: u64 = <u64>1 << 34;
const KEY_VPN_SHIFT: u64 = 35;
const VPN_MASK: u64 = (<u64>1 << 29) - 1;

const PAGE_SHIFT: u64 = 12;
const LEVEL_BITS: u64 = 9;

@inline function region(): usize { return rvcTable() + RVC_TABLE_BYTES; }

/** Is the model on? Off (zero memory: a fresh machine) it costs one load per chunk. */
@inline export function tlbModelOn(): bool { return load<u32>(region() + H_ON) != 0; }
@inline function desc(s: u32): usize { return region() + H_DESC + <usize>s * 16; }
@inline function sets(s: u32): u32 { return load<u32>(desc(s), 4); }
@inline function ways(s: u32): u32 { return load<u32>(desc(s), 8); }
@inline function setBase(s: u32, idx: u64): usize {
  return region() + <usize>load<u32>(desc(s)) + <usize>((idx & <u64>(sets(s) - 1)) * <u64>ways(s)) * ENTRY_BYTES;
}

/** The fast-TLB table that never hits (every entry invalid), handed to the interpreter. */
@inline export function tlbMissTable(): usize { return region() + MISS_TABLE_OFF; }

/**
 * The table the interpreter and the FP loads and stores probe for `view` and `kind`: the real
 * one, or with the model on the miss table, so that every translated access reaches the slow
 * path, which consults the model and then the real table as the loop would have (access.ts).
 */
@inline export function tlbProbeTable(view: u32, kind: u32): usize {
  if (tlbModelOn() && view != VIEW_PHYS) return tlbMissTable();
  return tlbTable(view, kind);
}

/**
 * Configure the model (entries and ways of each structure; 0 entries = absent) and empty it.
 * The host checked the values (src/tlb-model.ts); this rechecks what guards memory: powers of
 * two, ways <= entries, and that everything fits the region. Returns false, model off, if not.
 */
export function tlbModelConfigure(l1iEntries: u32, l1iWays: u32, l1dEntries: u32, l1dWays: u32,
  l2Entries: u32, l2Ways: u32, repl: u32, seed: u64, tags: bool, split: bool,
  pwc: u32, npwc: u32, ntlb: u32): bool {
  store<u32>(region() + H_ON, 0);
  if (<usize>TLB_ENTRIES * 16 != MISS_TABLE_BYTES) return false;
  const r = region();
  memory.fill(r, 0, HEADER_BYTES);
  memory.fill(r + MISS_TABLE_OFF, 0x01, MISS_TABLE_BYTES); // bit 0 set: matches nothing
  let off = ENTRIES_OFF;
  const copies: u32 = split ? 3 : 1;
  for (let lvl: u32 = 0; lvl < 3; lvl++) {
    const e = lvl == 0 ? l1iEntries : lvl == 1 ? l1dEntries : l2Entries;
    const w = lvl == 0 ? l1iWays : lvl == 1 ? l1dWays : l2Ways;
    if (e == 0) continue;
    if (!shapeOk(e, w)) return false;
    for (let c: u32 = 0; c < copies; c++) {
      if (!place(lvl * 3 + c, e, w, off)) return false;
      off += <usize>e * ENTRY_BYTES;
    }
  }
  for (let i: u32 = 0; i < 3; i++) {
    const e = i == 0 ? pwc : i == 1 ? npwc : ntlb;
    if (e == 0) continue;
    // The walk caches are fully associative, as the small structures beside a walker are.
    if (!shapeOk(e, e) || !place(S_PWC + i, e, e, off)) return false;
    off += <usize>e * ENTRY_BYTES;
  }
  if (off > TLBM_REGION_BYTES) return false;
  memory.fill(r + ENTRIES_OFF, 0, TLBM_REGION_BYTES - ENTRIES_OFF);
  store<u32>(r + H_REPL, repl);
  store<u32>(r + H_TAGS, tags ? 1 : 0);
  store<u32>(r + H_SPLIT, split ? 1 : 0);
  store<u64>(r + H_RNG, seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed); // xorshift needs a nonzero state
  store<u32>(r + H_ON, 1);
  return true;
}

/** Turn the model off (the fast TLB is untouched either way). */
export function tlbModelOff(): void { store<u32>(region() + H_ON, 0); }

function shapeOk(e: u32, w: u32): bool {
  return w != 0 && w <= e && (e & (e - 1)) == 0 && (w & (w - 1)) == 0;
}

function place(s: u32, e: u32, w: u32, off: usize): bool {
  if (off + <usize>e * ENTRY_BYTES > TLBM_REGION_BYTES) return false;
  const d = desc(s);
  store<u32>(d, <u32>off);
  store<u32>(d, e / w, 4);
  store<u32>(d, w, 8);
  return true;
}

// ---- one set-associative structure ----

/** Is `key` in structure `s` (set `idx`)? A hit is a use (LRU). */
function probe(s: u32, key: u64, idx: u64): bool {
  const w = ways(s);
  if (w == 0) return false;
  const b = setBase(s, idx);
  for (let i: u32 = 0; i < w; i++) {
    const e = b + <usize>i * ENTRY_BYTES;
    if (load<u64>(e) == key) {
      store<u64>(e, tick(), 8);
      return true;
    }
  }
  return false;
}

/** Put `key` in structure `s` (set `idx`) unless it is there: an empty way, else the victim. */
function fill(s: u32, key: u64, idx: u64): void {
  const w = ways(s);
  if (w == 0) return;
  const b = setBase(s, idx);
  let victim: usize = 0;
  let oldest: u64 = u64.MAX_VALUE;
  for (let i: u32 = 0; i < w; i++) {
    const e = b + <usize>i * ENTRY_BYTES;
    const k = load<u64>(e);
    if (k == key) { store<u64>(e, tick(), 8); return; }
    if (k == 0) {
      if (oldest != 0) { victim = e; oldest = 0; }
      continue;
    }
    const use = load<u64>(e, 8);
    if (use < oldest) { oldest = use; victim = e; }
  }
  // A set with an empty way fills it; a full one evicts by the policy.
  if (oldest != 0 && load<u32>(region() + H_REPL) == REPL_RANDOM) {
    victim = b + <usize>(<u32>(random() % <u64>w)) * ENTRY_BYTES;
  }
  store<u64>(victim, key);
  store<u64>(victim, tick(), 8);
}

@inline function tick(): u64 {
  const c = load<u64>(region() + H_CLOCK) + 1;
  store<u64>(region() + H_CLOCK, c);
  return c;
}

/** xorshift64 (Marsaglia 2003): a fixed seed gives the same victims on every run. */
function random(): u64 {
  let x = load<u64>(region() + H_RNG);
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  store<u64>(region() + H_RNG, x);
  return x;
}

/** Clear the entries of every structure in [from, to) whose key & mask == value & mask. */
function clearWhere(from: u32, to: u32, mask: u64, value: u64): void {
  for (let s = from; s < to; s++) {
    const w = ways(s);
    if (w == 0) continue;
    const n = sets(s) * w;
    const b = region() + <usize>load<u32>(desc(s));
    for (let i: u32 = 0; i < n; i++) {
      const e = b + <usize>i * ENTRY_BYTES;
      const k = load<u64>(e);
      if (k != 0 && (k & mask) == (value & mask)) store<u64>(e, 0);
    }
  }
}

// ---- address spaces ----

/** The tag bits of the current address space for a host (V=0) or guest (V=1) access. */
function space(v: bool): u64 {
  const tags = load<u32>(region() + H_TAGS) != 0;
  if (!v) {
    if (!tags) return 0;
    return ((hart.satp >> SATP_ASID_SHIFT) & SATP_ASID_MASK) << KEY_SPACE_SHIFT;
  }
  let k = KEY_V;
  if ((hart.vsatp >> SATP_MODE_SHIFT) == 0) k |= KEY_BARE;
  if (tags) {
    k |= ((hart.vsatp >> SATP_ASID_SHIFT) & SATP_ASID_MASK) << KEY_SPACE_SHIFT;
    k |= ((hart.hgatp & HGATP_VMID_MASK) >> SATP_ASID_SHIFT) << (KEY_SPACE_SHIFT + 16);
  }
  return k;
}

@inline function vpnAt(a: u64, size: u32): u64 {
  return (a >> (PAGE_SHIFT + <u64>size * LEVEL_BITS)) & VPN_MASK;
}
@inline function tlbKey(a: u64, size: u32, sp: u64): u64 {
  return KEY_VALID | (<u64>size << 1) | sp | (vpnAt(a, size) << KEY_VPN_SHIFT);
}

/** Look `va` up in a TLB level (first structure `s0`): the page size hit + 1, or 0. */
function levelProbe(s0: u32, va: u64, sp: u64): u32 {
  const split = load<u32>(region() + H_SPLIT) != 0;
  for (let size: u32 = 0; size < 3; size++) {
    const s = split ? s0 + size : s0;
    if (probe(s, tlbKey(va, size, sp), vpnAt(va, size))) return size + 1;
  }
  return 0;
}

function levelFill(s0: u32, va: u64, sp: u64, size: u32): void {
  const split = load<u32>(region() + H_SPLIT) != 0;
  fill(split ? s0 + size : s0, tlbKey(va, size, sp), vpnAt(va, size));
}

// ---- the lookup ----

/**
 * A guest access of `kind` to `va` in translated `view` (never VIEW_PHYS): L1, then L2, then a
 * modeled walk, filling on the way back. Fetches are looked up once per code page entered
 * (cpu/exec.ts runs on from a page it already translated): the ones in between would hit the
 * same L1I entry, since nothing else fills the L1I in between.
 */
export function tlbModelAccess(va: u64, kind: u32, view: u32): void {
  const v = view >= VIEW_VU;
  // A non-canonical Sv39 address faults before any TLB is looked up (section 4.4.1).
  if ((!v || (hart.vsatp >> SATP_MODE_SHIFT) != 0) && !sv39Canonical(va)) return;
  const sp = space(v);
  const fetch = kind == KIND_FETCH;
  const l1 = fetch ? S_L1I : S_L1D;
  const base = fetch ? Counter.TLBM_L1I_LOOKUPS : Counter.TLBM_L1D_LOOKUPS;
  count(base);
  let hit = levelProbe(l1, va, sp);
  if (hit != 0) { count(<Counter>(base + <i32>hit)); return; } // base + 1..3: hits by page size
  count(<Counter>(base + 4)); // misses
  const l2 = ways(S_L2) != 0;
  if (l2) {
    count(Counter.TLBM_L2_LOOKUPS);
    hit = levelProbe(S_L2, va, sp);
    if (hit != 0) {
      count(<Counter>(Counter.TLBM_L2_LOOKUPS + <i32>hit));
      levelFill(l1, va, sp, hit - 1);
      return;
    }
    count(Counter.TLBM_L2_MISSES);
  }
  const size = modelWalk(va, v, sp);
  if (size == 0) return;
  if (l2) levelFill(S_L2, va, sp, size - 1);
  levelFill(l1, va, sp, size - 1);
}

// ---- the modeled walk (privileged spec 4.3.2 and 8.5, read-only) ----

/** The last modeled walk's result (in the region: the model adds nothing to static data). */
@inline function walkPa(): u64 { return load<u64>(region() + H_WALK_PA); }
@inline function setWalkPa(pa: u64): void { store<u64>(region() + H_WALK_PA, pa); }

/** Host address of 8 bytes at machine physical address `pa`, or 0 (as access.ts ramHost). */
@inline function hostAt(pa: u64): usize {
  const off = pa - machine.ramBase;
  if (off > machine.ramSize - 8) return 0;
  return <usize>(machine.ramHost + off);
}

/** A PTE that ends a walk with a fault (step 3): invalid, W without R, reserved bits. */
@inline function badPte(pte: u64): bool {
  return (pte & PTE_V) == 0 || (pte & (PTE_R | PTE_W)) == PTE_W || (pte & PTE_RESERVED) != 0;
}
@inline function leafPte(pte: u64): bool { return (pte & (PTE_R | PTE_X)) != 0; }
@inline function nextTable(pte: u64): u64 { return ((pte >> PTE_PPN_SHIFT) & PTE_PPN_MASK) << PAGE_SHIFT; }

/** The translated address of a leaf at `level` (superpage low bits from the address). */
@inline function leafPa(pte: u64, level: u32, a: u64): u64 {
  const lowMask = (<u64>1 << (PAGE_SHIFT + <u64>level * LEVEL_BITS)) - 1;
  return (nextTable(pte) & ~lowMask) | (a & lowMask);
}

/**
 * The G-stage (Sv39x4, hgatp) walk of `gpa`: its leaf level, or -1 on a fault; walkPa() is the
 * host address. Each PTE read counts TLBM_WALK_REFS_G when `counted` (TLBM_WALK_REFS when the
 * walk is the only stage: `refs`).
 */
function gWalk(gpa: u64, counted: bool, refs: Counter = Counter.TLBM_WALK_REFS_G): i32 {
  if ((gpa >> 41) != 0) return -1;
  let a = (hart.hgatp & HGATP_PPN_MASK) << PAGE_SHIFT;
  for (let level: i32 = 2; level >= 0; level--) {
    const shift = PAGE_SHIFT + <u64>level * LEVEL_BITS;
    const idx = (gpa >> shift) & (level == 2 ? 0x7FF : 0x1FF);
    const h = hostAt(a + idx * 8);
    if (counted) count(refs);
    if (h == 0) return -1;
    const pte = load<u64>(h);
    if (badPte(pte)) return -1;
    if (leafPte(pte)) {
      setWalkPa(leafPa(pte, <u32>level, gpa));
      return level;
    }
    a = nextTable(pte);
  }
  return -1;
}

/**
 * The G-stage translation of the guest-physical address of a VS-stage PTE: through the nested
 * page-walk cache (G-stage translations of table pages, Bhargava et al. 2008) or a G walk.
 */
function gForPte(gpa: u64, counted: bool, sp: u64): i32 {
  if (!counted) return gWalk(gpa, false);
  const gsp = sp & ~(KEY_BARE | ((<u64>0xFFFF) << KEY_SPACE_SHIFT)); // VMID and V only
  const key = KEY_VALID | gsp | (((gpa >> PAGE_SHIFT) & VPN_MASK) << KEY_VPN_SHIFT);
  if (ways(S_NPWC) != 0) {
    count(Counter.TLBM_NPWC_LOOKUPS);
    if (probe(S_NPWC, key, 0)) {
      count(Counter.TLBM_NPWC_HITS);
      return gWalk(gpa, false);
    }
  }
  const level = gWalk(gpa, true);
  if (level >= 0) fill(S_NPWC, key, 0);
  return level;
}

/**
 * The G-stage translation of the final guest-physical address: the nested TLB or a G walk
 * (whose references count `refs`: a G-stage-only walk, vsatp Bare, is a one-stage walk).
 */
function gForData(gpa: u64, sp: u64, refs: Counter): i32 {
  const gsp = sp & ~(KEY_BARE | ((<u64>0xFFFF) << KEY_SPACE_SHIFT));
  if (ways(S_NTLB) != 0) {
    count(Counter.TLBM_NTLB_LOOKUPS);
    for (let size: u32 = 0; size < 3; size++) {
      if (probe(S_NTLB, gKey(gpa, size, gsp), 0)) {
        count(Counter.TLBM_NTLB_HITS);
        return gWalk(gpa, false);
      }
    }
  }
  const level = gWalk(gpa, true, refs);
  if (level >= 0) fill(S_NTLB, gKey(gpa, <u32>level, gsp), 0);
  return level;
}

@inline function gKey(gpa: u64, size: u32, gsp: u64): u64 {
  return KEY_VALID | (<u64>size << 1) | gsp |
    (((gpa >> (PAGE_SHIFT + <u64>size * LEVEL_BITS)) & VPN_MASK) << KEY_VPN_SHIFT);
}

/** A page-walk-cache key: the VA prefix that selects the PTE at `level` (2: VA[38:30], 1: VA[38:21]). */
@inline function pwcKey(va: u64, level: u32, sp: u64): u64 {
  return KEY_VALID | (<u64>level << 1) | sp | (((va >> (PAGE_SHIFT + <u64>level * LEVEL_BITS)) & VPN_MASK) << KEY_VPN_SHIFT);
}

/**
 * The modeled walk for a miss in every TLB level: the page size of the combined translation
 * (+1), or 0 if the tables do not translate `va` now (a fault; the real access raises it).
 * Native and V=1 single-stage walks count TLBM_WALK_REFS; two-stage walks count
 * TLBM_WALK_REFS_VS and TLBM_WALK_REFS_G: (3+1) x (3+1) - 1 = 15 with 4 KiB pages and no caches.
 */
function modelWalk(va: u64, v: bool, sp: u64): u32 {
  count(Counter.TLBM_WALKS);
  const gOn = v && (hart.hgatp >> SATP_MODE_SHIFT) != 0;
  const vsOn = !v || (hart.vsatp >> SATP_MODE_SHIFT) != 0;
  let size: u32 = 2;
  let gpa = va;
  if (vsOn) {
    const root = ((v ? hart.vsatp : hart.satp) & SATP_PPN_MASK) << PAGE_SHIFT;
    const level = stageWalk(root, va, gOn, sp);
    if (level < 0) { count(Counter.TLBM_WALK_FAULTS); return 0; }
    size = <u32>level;
    gpa = walkPa();
  }
  if (gOn) {
    const g = gForData(gpa, sp, vsOn ? Counter.TLBM_WALK_REFS_G : Counter.TLBM_WALK_REFS);
    if (g < 0) { count(Counter.TLBM_WALK_FAULTS); return 0; }
    // A combined gVA -> hPA entry is as large as the smaller page of the two stages.
    if (<u32>g < size) size = <u32>g;
    if (vsOn) count(Counter.TLBM_WALKS_2D);
  }
  count(<Counter>(Counter.TLBM_WALKS_4K + <i32>size));
  return size + 1;
}

/**
 * The Sv39 walk of `va` from `root` (native, or the VS-stage), through the page-walk cache:
 * an upper-level PTE whose VA prefix is cached is not read again (nor, in two dimensions, its
 * G-stage translation). Returns the leaf level with walkPa(), or -1.
 */
function stageWalk(root: u64, va: u64, twoD: bool, sp: u64): i32 {
  // How many upper levels the PWC covers: 2 (the level-1 PTE's prefix is cached, so the walk
  // starts at the leaf table), 1 (the root PTE's), or 0.
  let covered: i32 = 0;
  const pwcOn = ways(S_PWC) != 0;
  if (pwcOn) {
    count(Counter.TLBM_PWC_LOOKUPS);
    if (probe(S_PWC, pwcKey(va, 1, sp), 0)) covered = 2;
    else if (probe(S_PWC, pwcKey(va, 2, sp), 0)) covered = 1;
    if (covered != 0) count(Counter.TLBM_PWC_HITS);
  }
  const refs = twoD ? Counter.TLBM_WALK_REFS_VS : Counter.TLBM_WALK_REFS;
  let a = root;
  for (let level: i32 = 2; level >= 0; level--) {
    const shift = PAGE_SHIFT + <u64>level * LEVEL_BITS;
    const ptePa = a + ((va >> shift) & 0x1FF) * 8;
    let h: usize;
    // Read this PTE for the truth either way; it costs a reference only if no cache holds it.
    const skipped = (level == 2 && covered >= 1) || (level == 1 && covered >= 2);
    if (twoD) {
      if (gForPte(ptePa, !skipped, sp) < 0) return -1;
      h = hostAt(walkPa());
    } else {
      h = hostAt(ptePa);
    }
    if (h == 0) { if (!skipped) count(refs); return -1; }
    const pte = load<u64>(h);
    const leaf = !badPte(pte) && leafPte(pte);
    // A cached prefix of a PTE that is now a leaf or invalid covers nothing: that read counts.
    if (!skipped || leaf || badPte(pte)) count(refs);
    else count(Counter.TLBM_PWC_REFS_SAVED);
    if (badPte(pte)) return -1;
    if (leaf) {
      setWalkPa(leafPa(pte, <u32>level, va));
      return level;
    }
    if (pwcOn && level >= 1) fill(S_PWC, pwcKey(va, <u32>level, sp), 0);
    a = nextTable(pte);
  }
  return -1;
}

// ---- flushes: the model follows the fences and switches the real TLB sees (tlb.ts) ----

/** A satp, vsatp or hgatp write: with tags off everything goes, as on hardware without ASIDs. */
export function tlbModelSwitch(): void {
  if (load<u32>(region() + H_TAGS) != 0) return;
  clearWhere(0, STRUCTURES, 0, 0);
  count(Counter.TLBM_SWITCH_FLUSHES);
}

/** Every entry (reset, RAM remapped). */
export function tlbModelFlushAll(): void {
  clearWhere(0, STRUCTURES, 0, 0);
  count(Counter.TLBM_FLUSHES);
}

/** The host's (V=0) translations, of one ASID when `asid` >= 0 and tags are on. */
export function tlbModelFlushHost(asid: i64): void {
  const tagged = asid >= 0 && load<u32>(region() + H_TAGS) != 0;
  const mask = KEY_V | (tagged ? <u64>0xFFFF << KEY_SPACE_SHIFT : 0);
  const value = tagged ? <u64>asid << KEY_SPACE_SHIFT : 0;
  clearWhere(0, S_NPWC, mask, value);
  count(Counter.TLBM_FLUSHES);
}

/** The guest's (V=1) translations and the G-stage caches (VS fences, HFENCEs, vsatp/hgatp). */
export function tlbModelFlushGuest(): void {
  clearWhere(0, S_NPWC, KEY_V, KEY_V);
  clearWhere(S_NPWC, STRUCTURES, 0, 0);
  count(Counter.TLBM_FLUSHES);
}

/**
 * One page of the host (v false) or the guest: its entries in every TLB level and size, in
 * any address space, and the whole page-walk cache of that side (as x86's INVLPG empties the
 * paging-structure caches: the fence may be for a table the PWC read through).
 */
export function tlbModelFlushPage(va: u64, v: bool): void {
  const vbit: u64 = v ? KEY_V : 0;
  const split = load<u32>(region() + H_SPLIT) != 0;
  for (let lvl: u32 = 0; lvl < 3; lvl++) {
    for (let size: u32 = 0; size < 3; size++) {
      const s = lvl * 3 + (split ? size : 0);
      const w = ways(s);
      if (w == 0) continue;
      const want = (tlbKey(va, size, vbit)) & ~KEY_TAGS_MASK & ~KEY_BARE;
      const b = setBase(s, vpnAt(va, size));
      for (let i: u32 = 0; i < w; i++) {
        const e = b + <usize>i * ENTRY_BYTES;
        if ((load<u64>(e) & ~KEY_TAGS_MASK & ~KEY_BARE) == want) store<u64>(e, 0);
      }
    }
  }
  clearWhere(S_PWC, S_PWC + 1, KEY_V, vbit);
  count(Counter.TLBM_FLUSHES);
}
