// The debugger's support in the core (docs/debugger.md): breakpoints and watchpoints that stop
// a run, and side-effect-free reads of translations and CSRs for the host's debugger
// (src/debug.ts) and the GDB stub (src/gdb/).
//
// Cost when nothing is set: nothing in the interpreter's hot loop. Breakpoints and watchpoints
// are found on slow paths only, by keeping the pages they are on out of the fast TLB:
//
//   - An entry of a page with a breakpoint (fetch tables) or a watch (load and store tables)
//     is *poisoned*: its tag gets POISON (bit 11), which no lookup ever compares equal to
//     (a fetch compares pc & ~0xFFE, a load or store va & (~0xFFF | (size - 1)), size <= 8),
//     so every access to the page reaches fetchSlow/loadSlow/storeSlow/amo. There a poisoned
//     entry that matches is used as the fast path would have used it: no TLB miss, no walk,
//     no counter moves. So a run with breakpoints set that never hits them retires, counts
//     and prints exactly what a run without them does (test/debug.test.ts).
//   - The interpreter never keeps a breakpoint page as its cached code page (cpu/exec.ts
//     debugBlock), so every block start there reaches fetchSlow, and a straight-line run from
//     a block start ends its chunk just before the page's next breakpoint (by shortening the
//     chunk's budget: the run loop then starts a chunk there, and that block start stops).
//   - A hit raises EXC_DEBUG, a pseudo-cause that no trap delivers: the interpreter's one trap
//     exit (cpu/exec.ts trapExit) turns it into STOP_DEBUG before the instruction executes.
//
// Breakpoints are by virtual address in whatever translation the hart fetches with (the guest
// virtual address in every VM mode, since the core's hypervisor never executes instructions
// itself); watchpoints by the virtual address of the guest's loads and stores (LR/SC/AMOs and
// floating-point ones included; the hypervisor's own accesses on the guest's behalf are not
// watched).

import { Counter } from '../counter-ids';
import { COUNTERS, hart, machine, MODE_HVM_NESTED, MODE_HVM_SHADOW, MODE_NATIVE, MODE_PV, MODE_TRAP_EMULATE, raise,
  STOP_DEBUG } from '../state';
import { PRV_M, PTE_PPN_MASK, PTE_PPN_SHIFT, PTE_R, PTE_V, PTE_W, PTE_X, SATP_MODE_SHIFT, SATP_PPN_MASK,
  HGATP_PPN_MASK } from '../riscv/bits';
import * as C from '../riscv/csr';
import { KIND_FETCH, KIND_LOAD, KIND_STORE, tlbPoison, tlbUnpoisonAll } from '../mmu/tlb';
import { ramHost } from '../mmu/access';
import { gpaToHpa, NO_HPA } from '../hv/vm';
import { readVcsr, vcpu, VCSR_UNKNOWN } from '../hv/vcpu';
import { pv } from '../hv/pv';
import { csrPeek, csrPoke, csrPeekFailed } from './csr';

/** The pseudo-cause of a debug stop (never a real cause: those are below 64). */
export const EXC_DEBUG: u32 = 0xFFFF_FFFE;
/** The tag bit of a poisoned fast-TLB entry (see above). */
export const POISON: u64 = 0x800;

const MAX_BREAKPOINTS: u32 = 16;
const MAX_WATCHES: u32 = 4;

/** What a watch catches (GDB's Z2 write, Z3 read, Z4 access). */
export const WATCH_WRITE: u32 = 1;
export const WATCH_READ: u32 = 2;
export const WATCH_ACCESS: u32 = 3;

/** Why the last STOP_DEBUG stopped: a breakpoint, or a watch of that kind; `addr` says where. */
export const HIT_BREAKPOINT: u32 = 1;
export const HIT_WATCH: u32 = 2;

@unmanaged class DebugState {
  /** Breakpoints set, watches set. */
  bps: u32 = 0;
  watches: u32 = 0;
  /** Step over the breakpoint at skipPc once (resuming from it), and over one watch hit. */
  skip: u32 = 0;
  skipWatch: u32 = 0;
  skipPc: u64 = 0;
  hit: u32 = 0;
  hitKind: u32 = 0;
  hitAddr: u64 = 0;
  /** The lookup counter the stopped access was booked in (it runs again on resume), or 0. */
  lookup: u32 = 0;
  /** Why the last debugTranslate failed: 0 ok, 1 unmapped, 2 outside RAM. */
  fault: u32 = 0;
}
export const debug = changetype<DebugState>(memory.data(offsetof<DebugState>(), 16));
const BPS: usize = memory.data(<i32>MAX_BREAKPOINTS * 8, 8);
// A watch: [lo, hi) and its kind.
const WATCH_LO: usize = memory.data(<i32>MAX_WATCHES * 8, 8);
const WATCH_HI: usize = memory.data(<i32>MAX_WATCHES * 8, 8);
const WATCH_KIND: usize = memory.data(<i32>MAX_WATCHES * 4, 4);
/** The longest watched range: its pages are poisoned one by one. */
const MAX_WATCH_BYTES: u64 = 1 << 16;

@inline function bpAt(i: u32): u64 { return load<u64>(BPS + (<usize>i << 3)); }
// The counts as stored, bounded: the state comes back from snapshots, which are host input, and
// a damaged count must not send a scan outside the lists.
@inline function bpCount(): u32 { return debug.bps < MAX_BREAKPOINTS ? debug.bps : MAX_BREAKPOINTS; }
@inline function watchCount(): u32 { return debug.watches < MAX_WATCHES ? debug.watches : MAX_WATCHES; }

/** Forget every breakpoint and watch, and give the fast TLB its entries back. */
export function debugReset(): void {
  debug.bps = 0;
  debug.watches = 0;
  debug.skip = 0;
  debug.skipWatch = 0;
  debug.hit = 0;
  tlbUnpoisonAll();
}

function repoison(): void {
  tlbUnpoisonAll();
  for (let i: u32 = 0; i < bpCount(); i++) tlbPoison(bpAt(i), KIND_FETCH);
  for (let i: u32 = 0; i < watchCount(); i++) {
    const lo = load<u64>(WATCH_LO + (<usize>i << 3));
    const hi = load<u64>(WATCH_HI + (<usize>i << 3));
    // At most the pages of the longest range (a damaged range must not loop for ever).
    let p = lo & ~(<u64>0xFFF);
    for (let n: u64 = 0; p < hi && n <= MAX_WATCH_BYTES >> 12; n++, p += 4096) {
      tlbPoison(p, KIND_LOAD);
      tlbPoison(p, KIND_STORE);
    }
  }
}

/** Set a breakpoint at `va` (even); false if the list is full or `va` is odd. */
export function debugSetBreakpoint(va: u64): bool {
  if ((va & 1) != 0) return false;
  for (let i: u32 = 0; i < bpCount(); i++) if (bpAt(i) == va) return true;
  if (debug.bps >= MAX_BREAKPOINTS) return false;
  store<u64>(BPS + (<usize>debug.bps << 3), va);
  debug.bps++;
  tlbPoison(va, KIND_FETCH);
  return true;
}

export function debugClearBreakpoint(va: u64): bool {
  for (let i: u32 = 0; i < bpCount(); i++) {
    if (bpAt(i) != va) continue;
    debug.bps = bpCount() - 1;
    store<u64>(BPS + (<usize>i << 3), bpAt(debug.bps));
    repoison();
    return true;
  }
  return false;
}

/** Watch [va, va + len) for `kind` (WATCH_*); false if full or the range is empty or too long. */
export function debugSetWatch(va: u64, len: u64, kind: u32): bool {
  if (len == 0 || len > MAX_WATCH_BYTES || va + len < va || kind == 0 || kind > WATCH_ACCESS) return false;
  if (debug.watches >= MAX_WATCHES) return false;
  const i = debug.watches++;
  store<u64>(WATCH_LO + (<usize>i << 3), va);
  store<u64>(WATCH_HI + (<usize>i << 3), va + len);
  store<u32>(WATCH_KIND + (<usize>i << 2), kind);
  repoison();
  return true;
}

export function debugClearWatch(va: u64, len: u64, kind: u32): bool {
  for (let i: u32 = 0; i < watchCount(); i++) {
    if (load<u64>(WATCH_LO + (<usize>i << 3)) != va || load<u64>(WATCH_HI + (<usize>i << 3)) != va + len ||
      load<u32>(WATCH_KIND + (<usize>i << 2)) != kind) continue;
    const last = watchCount() - 1;
    debug.watches = last;
    store<u64>(WATCH_LO + (<usize>i << 3), load<u64>(WATCH_LO + (<usize>last << 3)));
    store<u64>(WATCH_HI + (<usize>i << 3), load<u64>(WATCH_HI + (<usize>last << 3)));
    store<u32>(WATCH_KIND + (<usize>i << 2), load<u32>(WATCH_KIND + (<usize>last << 2)));
    repoison();
    return true;
  }
  return false;
}

/** Resume: the breakpoint at `pc` (if any) and the first watch hit do not stop the next run. */
export function debugSkip(pc: u64, on: bool): void {
  debug.skip = on ? 1 : 0;
  debug.skipPc = pc;
  debug.skipWatch = on ? 1 : 0;
}

/** Should the tlb refill of the page of `va` for `kind` be poisoned? (mmu/tlb.ts tlbInsert) */
export function debugPoisons(va: u64, kind: u32): bool {
  const page = va & ~(<u64>0xFFF);
  if (kind == KIND_FETCH) {
    for (let i: u32 = 0; i < bpCount(); i++) if ((bpAt(i) & ~(<u64>0xFFF)) == page) return true;
    return false;
  }
  for (let i: u32 = 0; i < watchCount(); i++) {
    const lo = load<u64>(WATCH_LO + (<usize>i << 3)) & ~(<u64>0xFFF);
    const hi = load<u64>(WATCH_HI + (<usize>i << 3));
    if (page >= lo && page < hi) return true;
  }
  return false;
}

/** Stop before the instruction at `va`: a breakpoint is there (and not being stepped over). */
export function debugBreakAt(pc: u64): bool {
  for (let i: u32 = 0; i < bpCount(); i++) {
    if (bpAt(i) != pc) continue;
    if (debug.skip != 0 && debug.skipPc == pc) { debug.skip = 0; return false; }
    debug.hitKind = HIT_BREAKPOINT;
    debug.lookup = 0;
    debug.hitAddr = pc;
    raise(EXC_DEBUG, pc);
    return true;
  }
  return false;
}

/**
 * The next breakpoint after `pc` on its page, or 0: a straight-line run from pc must stop
 * there (cpu/exec.ts debugBlock).
 */
export function debugNextBreakpoint(pc: u64): u64 {
  let best: u64 = 0;
  const end = (pc | 0xFFF) + 1;
  for (let i: u32 = 0; i < bpCount(); i++) {
    const b = bpAt(i);
    if (b > pc && b < end && (best == 0 || b < best)) best = b;
  }
  return best;
}

/**
 * Does an access of `size` bytes at `va` with `kind` (WATCH_READ/WRITE bits) hit a watch? If
 * so, raise EXC_DEBUG (the access has not happened) and return true.
 */
export function debugWatchHit(va: u64, size: u64, kind: u32, lookup: Counter): bool {
  for (let i: u32 = 0; i < watchCount(); i++) {
    if ((load<u32>(WATCH_KIND + (<usize>i << 2)) & kind) == 0) continue;
    const lo = load<u64>(WATCH_LO + (<usize>i << 3));
    const hi = load<u64>(WATCH_HI + (<usize>i << 3));
    if (va + size <= lo || va >= hi) continue;
    if (debug.skipWatch != 0) { debug.skipWatch = 0; return false; }
    debug.hitKind = HIT_WATCH | (kind << 4);
    debug.lookup = <u32>lookup;
    debug.hitAddr = va < lo ? lo : va;
    raise(EXC_DEBUG, va);
    return true;
  }
  return false;
}

/** The interpreter took EXC_DEBUG: end the run (cpu/exec.ts trapExit). */
export function debugStopped(): void {
  debug.hit = 1;
  // The interpreter booked the stopped load or store's TLB lookup as it left; the access
  // runs (and is booked) again when the run resumes, so this one is taken back.
  if (debug.lookup != 0 && debug.lookup < <u32>Counter.COUNT) {
    const p = COUNTERS + (<usize>debug.lookup << 3);
    store<u64>(p, load<u64>(p) - 1);
    debug.lookup = 0;
  }
  machine.stopReason = STOP_DEBUG;
}

// ---- Side-effect-free translation (for the debugger's memory reads and writes) ----
//
// A walk of its own rather than mmu/walk.ts: that one sets A and D, counts references and
// checks permissions, as a hart does; a debugger must see the memory without changing it
// (no A/D bits, no TLB fills, no counters) and read any mapped page whatever its permissions.

const FAULT_NONE: u32 = 0;
const FAULT_UNMAPPED: u32 = 1;
const FAULT_NOT_RAM: u32 = 2;
const NO_ADDR: u64 = 0xFFFF_FFFF_FFFF_FFFF;

/** How a walk finds its PTEs: host-physical, guest-physical through the gPA->hPA map, or
 * guest-physical through the G-stage table in hgatp. */
const PT_HOST: u32 = 0;
const PT_GUEST_MAP: u32 = 1;
const PT_GSTAGE: u32 = 2;

function pteHost(pa: u64, how: u32): usize {
  if (how == PT_HOST) return ramHost(pa, 8);
  if (how == PT_GUEST_MAP) {
    const hpa = gpaToHpa(pa);
    return hpa == NO_HPA ? 0 : ramHost(hpa, 8);
  }
  const hpa = peekGstage(pa);
  return hpa == NO_ADDR ? 0 : ramHost(hpa, 8);
}

/** Sv39 (rootBits 9) or Sv39x4 (11) without side effects: the address, or NO_ADDR. */
function peekWalk(root: u64, va: u64, rootBits: u32, how: u32): u64 {
  let a = root;
  for (let level: i32 = 2; level >= 0; level--) {
    const shift = <u64>(12 + level * 9);
    const bits: u64 = level == 2 ? <u64>rootBits : 9;
    const p = pteHost(a + ((va >> shift) & ((<u64>1 << bits) - 1)) * 8, how);
    if (p == 0) return NO_ADDR;
    const pte = load<u64>(p);
    if ((pte & PTE_V) == 0 || (pte & (PTE_R | PTE_W)) == PTE_W) return NO_ADDR;
    const ppn = (pte >> PTE_PPN_SHIFT) & PTE_PPN_MASK;
    if ((pte & (PTE_R | PTE_X)) != 0) {
      const offMask = (<u64>1 << shift) - 1;
      return ((ppn << 12) & ~offMask) | (va & offMask);
    }
    a = ppn << 12;
  }
  return NO_ADDR;
}

function peekGstage(gpa: u64): u64 {
  if ((hart.hgatp >> SATP_MODE_SHIFT) == 0) return gpa;
  if ((gpa >> 41) != 0) return NO_ADDR;
  return peekWalk((hart.hgatp & HGATP_PPN_MASK) << 12, gpa, 11, PT_HOST);
}

@inline function inVm(): bool { return machine.mode != MODE_NATIVE; }

/**
 * The guest's physical address of `va` in its current translation (`hv` false: what the guest
 * sees; in a VM its own page tables), or the host-physical address as the hart translates now
 * (`hv` true: the hypervisor's view: shadow tables, vsatp and hgatp). NO_ADDR if unmapped.
 */
function debugVaToPa(va: u64, hv: bool): u64 {
  const mode = machine.mode;
  if (!hv && (mode == MODE_TRAP_EMULATE || mode == MODE_HVM_SHADOW)) {
    // The guest's own satp is virtual (hv/vcpu.ts): its tables hold guest-physical addresses.
    if ((vcpu.satp >> SATP_MODE_SHIFT) == 0) return va;
    return peekWalk((vcpu.satp & SATP_PPN_MASK) << 12, va, 9, PT_GUEST_MAP);
  }
  if (!hv && mode == MODE_HVM_NESTED) {
    if ((hart.vsatp >> SATP_MODE_SHIFT) == 0) return va;
    return peekWalk((hart.vsatp & SATP_PPN_MASK) << 12, va, 9, PT_GSTAGE);
  }
  // Native, pv (direct paging: the guest's tables hold machine addresses, hart.satp is its
  // root), and the hypervisor's view of every mode: the hart's own translation.
  if (hart.virt != 0) {
    let gpa = va;
    if ((hart.vsatp >> SATP_MODE_SHIFT) != 0) {
      gpa = peekWalk((hart.vsatp & SATP_PPN_MASK) << 12, va, 9, PT_GSTAGE);
      if (gpa == NO_ADDR) return NO_ADDR;
    }
    return peekGstage(gpa);
  }
  if (hart.priv == PRV_M || (hart.satp >> SATP_MODE_SHIFT) == 0) return va;
  return peekWalk((hart.satp & SATP_PPN_MASK) << 12, va, 9, PT_HOST);
}

/** Host-physical address of `pa`: guest-physical in the guest view of a VM (not pv: its
 * guest sees machine addresses), host-physical otherwise. */
function physToHpa(pa: u64, hv: bool): u64 {
  if (hv || !inVm() || machine.mode == MODE_PV) return pa;
  const hpa = gpaToHpa(pa);
  return hpa == NO_HPA ? NO_ADDR : hpa;
}

/**
 * Linear-memory address of the byte at `addr` (virtual when `virtual`, else physical), for the
 * host to read or write up to the end of its page; 0 with debug.fault set if there is none.
 */
export function debugHostAddress(addr: u64, virtual: bool, hv: bool): usize {
  debug.fault = FAULT_NONE;
  let pa = addr;
  if (virtual) {
    pa = debugVaToPa(addr, hv);
    if (pa == NO_ADDR) { debug.fault = FAULT_UNMAPPED; return 0; }
  }
  // A guest-physical address from the guest's view goes through the gPA->hPA map, except
  // where the walk already gave a host-physical one (native, pv, the hypervisor's view, and
  // hvm-nested whose walk ends in the G-stage).
  const viaMap = !virtual || (!hv && (machine.mode == MODE_TRAP_EMULATE || machine.mode == MODE_HVM_SHADOW));
  const hpa = viaMap ? physToHpa(pa, hv) : (!hv && machine.mode == MODE_HVM_NESTED ? peekGstage(pa) : pa);
  if (hpa == NO_ADDR) { debug.fault = FAULT_UNMAPPED; return 0; }
  const h = ramHost(hpa, 1);
  if (h == 0) { debug.fault = FAULT_NOT_RAM; return 0; }
  return h;
}

/** The translation of `va` (guest-physical in the guest view), or all ones: `monitor walk`. */
export function debugTranslate(va: u64, hv: bool): u64 { return debugVaToPa(va, hv); }

export function debugFault(): u32 { return debug.fault; }

// ---- Privilege and CSRs as the debugger shows them ----

/** The privilege the guest sees (its virtual one in trap-emulate and pv), or the hart's. */
export function debugPriv(hv: bool): u32 {
  if (!hv && machine.mode == MODE_TRAP_EMULATE) return vcpu.priv;
  if (!hv && machine.mode == MODE_PV) return pv.priv;
  return hart.priv;
}

/** The V bit: the hart's in the hypervisor view; a guest never sees itself virtualized. */
export function debugVirt(hv: bool): u32 { return hv ? hart.virt : 0; }

const CSR_MISSING: u32 = 1;
/** Set when the last debugCsrRead found no such CSR. */
const CSR_FAULT: usize = memory.data(4, 4);

/**
 * Read CSR `csr` without side effects on the guest: in the guest view of a VM, its virtual
 * supervisor CSRs (trap-emulate's vcpu, pv's shared-info trap record, the VS CSRs under hvm);
 * CSRs the guest does not have read as missing (debugCsrMissing). In the hypervisor view and
 * natively, the hart's.
 */
export function debugCsrRead(csr: u32, hv: bool): u64 {
  store<u32>(CSR_FAULT, 0);
  const mode = machine.mode;
  if (hv || mode == MODE_NATIVE) return peek(csr);
  if (!isSupervisorCsr(csr) && !isUserCsr(csr)) { store<u32>(CSR_FAULT, CSR_MISSING); return 0; }
  if (mode == MODE_TRAP_EMULATE) {
    if (isUserCsr(csr)) return peek(csr);
    const v = readVcsr(csr);
    if (v == VCSR_UNKNOWN) { store<u32>(CSR_FAULT, CSR_MISSING); return 0; }
    return v;
  }
  if (mode == MODE_PV) return pvCsr(csr);
  // hvm: the guest's S CSRs are the VS CSRs (section 8.2: with V=1 they are substituted).
  return peek(vsOf(csr));
}

/** Write CSR `csr` as the debugger: the guest's register in the guest view; false if missing. */
export function debugCsrWrite(csr: u32, v: u64, hv: bool): bool {
  const mode = machine.mode;
  if (hv || mode == MODE_NATIVE) { csrPoke(csr, v); return !csrPeekFailed(); }
  if (mode == MODE_HVM_SHADOW || mode == MODE_HVM_NESTED) {
    if (!isSupervisorCsr(csr) && !isUserCsr(csr)) return false;
    csrPoke(vsOf(csr), v);
    return !csrPeekFailed();
  }
  if (isUserCsr(csr)) { csrPoke(csr, v); return !csrPeekFailed(); }
  return false; // trap-emulate and pv: the virtual CPU is the hypervisor's to change
}

export function debugCsrMissing(): bool { return load<u32>(CSR_FAULT) == CSR_MISSING; }

function peek(csr: u32): u64 {
  const v = csrPeek(csr);
  if (csrPeekFailed()) store<u32>(CSR_FAULT, CSR_MISSING);
  return v;
}

@inline function isSupervisorCsr(csr: u32): bool { return (csr & 0x300) == 0x100 && (csr & 0xC00) != 0xC00 && csr < 0x200; }
@inline function isUserCsr(csr: u32): bool { return csr < 0x100 || (csr >= 0xC00 && csr < 0xC20); }

function vsOf(csr: u32): u32 {
  switch (csr) {
    case C.CSR_SSTATUS: case C.CSR_SIE: case C.CSR_STVEC: case C.CSR_SSCRATCH: case C.CSR_SEPC:
    case C.CSR_SCAUSE: case C.CSR_STVAL: case C.CSR_SIP: case C.CSR_SATP: case C.CSR_STIMECMP:
      return csr + C.CSR_VS_OFFSET;
  }
  return csr;
}

/** pv has no supervisor CSRs; what the PV ABI keeps in their place (docs/pv-abi.md). */
function pvCsr(csr: u32): u64 {
  if (isUserCsr(csr)) return peek(csr);
  if (csr == C.CSR_SATP) return hart.satp; // the root set_root installed, in machine frames
  if (csr == C.CSR_STVEC) return pv.kernelEntry;
  // The shared info page's record of the last bounced trap (hv/pv.ts SH_CAUSE, SH_EPC, SH_TVAL).
  let off: u64 = 0;
  if (csr == C.CSR_SCAUSE) off = 24;
  else if (csr == C.CSR_SEPC) off = 32;
  else if (csr == C.CSR_STVAL) off = 40;
  else if (csr == C.CSR_SSCRATCH) off = 16;
  if (off == 0 || pv.shared == 0) { store<u32>(CSR_FAULT, CSR_MISSING); return 0; }
  const hpa = gpaToHpa(pv.shared + off);
  const h: usize = hpa == NO_HPA ? 0 : ramHost(hpa, 8);
  if (h == 0) { store<u32>(CSR_FAULT, CSR_MISSING); return 0; }
  return load<u64>(h);
}
