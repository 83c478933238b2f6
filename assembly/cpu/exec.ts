// The interpreter: one hot loop that runs up to `budget` instructions of one privilege mode
// and returns how many retired (TinyEMU-style, STYLE.md point 7). It leaves early when an
// instruction traps, changes privilege, or writes state that affects interrupts or
// translation (hart.chunkBreak); the run loop (machine.ts) then checks interrupts and timers,
// so the loop itself never looks at devices.
//
// Fast paths: the fetch reads through a cached pointer for the current code page, and loads
// and stores hit the direct-mapped TLB (mmu/tlb.ts) with one compare and one add. Everything
// else - TLB misses, MMIO, misaligned accesses, CSRs, traps - is a call to a slow path.
// Instruction encodings: unprivileged spec v20191213, chapter 24 "RV32/64G Instruction Set
// Listings"; system instructions: privileged spec v1.12, chapter 9 table 9.1.

import { Counter } from '../counter-ids';
import { count, excPending, hart, REGS } from '../state';
import { EXC_BREAKPOINT, EXC_ECALL_M, EXC_ECALL_S, EXC_ECALL_U, EXC_ECALL_VS, EXC_ILLEGAL_INST,
  EXC_NONE, EXC_VIRTUAL_INST } from '../riscv/cause';
import { HSTATUS_HU, HSTATUS_VTSR, HSTATUS_VTVM, HSTATUS_VTW, MSTATUS_TSR, MSTATUS_TVM, MSTATUS_TW,
  PRV_M, PRV_S, PRV_U, SATP_ASID_MASK } from '../riscv/bits';
import { KIND_FETCH, KIND_LOAD, KIND_STORE, tlbEntry, tlbFlushGuest, tlbFlushGuestPage,
  tlbFlushHost, tlbFlushHostAsid, tlbFlushPage } from '../mmu/tlb';
import { tlbProbeTable } from '../mmu/tlbmodel';
import { amo, computeViews, fetchSlow, hypervisorLoad, hypervisorStore, loadSlow, storeSlow,
  TINST_TRANSFORM } from '../mmu/access';
import { csrInstruction } from './csr';
import { mulh, mulhsu, mulhu } from './wide';
import { expandCompressed, INST_C_EBREAK, INST_EBREAK_32, isCompressed } from '../riscv/rvc';
import { fpFused, fpLoad, fpOp, fpStore } from './fpu';
import { mret, sret, takeTrap } from './trap';
import { FIRMWARE_BUILTIN } from './firmware';
import { machine } from '../state';
import { sbiCall } from '../hv/sbi';
import { debug, debugNextBreakpoint, debugPoisons, debugStopped, EXC_DEBUG } from './debug';

@inline function rg(r: u32): u64 { return load<u64>(REGS + (<usize>r << 3)); }
@inline function rs(r: u32, v: u64): void { if (r != 0) store<u64>(REGS + (<usize>r << 3), v); }

// Division (unprivileged spec section 7.2, table 7.1): no traps; x/0 = -1, x%0 = x,
// MIN/-1 = MIN, MIN%-1 = 0.
@inline function div64(a: u64, b: u64): u64 {
  if (b == 0) return 0xFFFF_FFFF_FFFF_FFFF;
  if (a == 0x8000_0000_0000_0000 && b == 0xFFFF_FFFF_FFFF_FFFF) return a;
  return <u64>(<i64>a / <i64>b);
}
@inline function rem64(a: u64, b: u64): u64 {
  if (b == 0) return a;
  if (a == 0x8000_0000_0000_0000 && b == 0xFFFF_FFFF_FFFF_FFFF) return 0;
  return <u64>(<i64>a % <i64>b);
}
@inline function div32(a: u64, b: u64): u64 {
  const x = <i32>a;
  const y = <i32>b;
  if (y == 0) return 0xFFFF_FFFF_FFFF_FFFF;
  if (x == i32.MIN_VALUE && y == -1) return <u64><i64>x;
  return <u64><i64>(x / y);
}
@inline function rem32(a: u64, b: u64): u64 {
  const x = <i32>a;
  const y = <i32>b;
  if (y == 0) return <u64><i64>x;
  if (x == i32.MIN_VALUE && y == -1) return 0;
  return <u64><i64>(x % y);
}
@inline function divu32(a: u64, b: u64): u64 {
  const x = <u32>a;
  const y = <u32>b;
  if (y == 0) return 0xFFFF_FFFF_FFFF_FFFF;
  return <u64><i64><i32>(x / y);
}
@inline function remu32(a: u64, b: u64): u64 {
  const x = <u32>a;
  const y = <u32>b;
  if (y == 0) return <u64><i64><i32>x;
  return <u64><i64><i32>(x % y);
}
@inline function sext32(v: u64): u64 { return <u64><i64><i32>v; }

/** Book the retired instructions of a chunk and leave it at `pc`. */
function leave(pc: u64, done: u32, loads: u32, stores: u32, priv: u32): u32 {
  hart.pc = pc;
  hart.instret += done;
  hart.now += done;
  hart.chunkDone = 0;
  count(Counter.INSTRET_U + <i32>priv, done);
  if (hart.virt != 0) count(Counter.INSTRET_V, done);
  count(Counter.TLB_FETCH_LOOKUPS, done);
  count(Counter.TLB_LOAD_LOOKUPS, loads);
  count(Counter.TLB_STORE_LOOKUPS, stores);
  return done;
}

/** Leave the chunk through the trap a slow path raised at `pc`. */
function trapExit(pc: u64, done: u32, loads: u32, stores: u32, priv: u32): u32 {
  leave(pc, done, loads, stores, priv);
  const cause = hart.excCause;
  hart.excCause = EXC_NONE;
  // A breakpoint or watchpoint (cpu/debug.ts): the run stops before the instruction.
  if (cause == EXC_DEBUG) { debugStopped(); return done; }
  takeTrap(cause, hart.excTval, pc);
  return done;
}

/**
 * htinst for a guest-page fault of an explicit load, store or AMO (section 8.6.3): the
 * instruction with its immediate fields zeroed and rs1 replaced by the offset of the faulting
 * address from the access's own address (nonzero only for a misaligned access across pages).
 */
function transformedInst(inst: u32, faultVa: u64): u64 {
  const op = inst & 0x7F;
  let base: u64;
  let t: u32;
  if (op == 0x03 || op == 0x07) { // LOAD, LOAD-FP: imm[11:0] in 31:20
    base = rg((inst >> 15) & 31) + <u64><i64>(<i32>inst >> 20);
    t = inst & 0x0000_7FFF;
  } else if (op == 0x23 || op == 0x27) { // STORE, STORE-FP: imm in 31:25 and 11:7
    base = rg((inst >> 15) & 31) + <u64><i64>(((<i32>inst >> 25) << 5) | <i32>((inst >> 7) & 31));
    t = inst & 0x01F0_707F;
  } else if (op == 0x2F) { // AMO, LR, SC: no immediate
    base = rg((inst >> 15) & 31);
    t = inst & ~(<u32>31 << 15);
  } else {
    return 0;
  }
  return <u64>(t | ((<u32>(faultVa - base) & 31) << 15));
}

/**
 * Leave through the exception raised by the instruction at host address `ip`. When that is a
 * compressed instruction run as its expansion (ip == cs.cip, see the loop), its pc is 2 bytes
 * further on, an illegal-instruction tval holds its 16 bits (as QEMU writes it), and htinst is
 * the expansion with bit 1 cleared (privileged spec 8.6.3: bits 1:0 = 01 mark a compressed one).
 */
function faultAt(ip: usize, blockIp: usize, pcBase: u64, done: u32, loads: u32, stores: u32, priv: u32): u32 {
  let pc = <u64>ip + pcBase;
  let inst = load<u32>(ip);
  let tinstLow: u32 = 3;
  if (ip == cs.cip) {
    const h = <u32>load<u16>(ip + 2);
    pc += 2;
    inst = expandCompressed(h, 2);
    tinstLow = 1;
    if (hart.excCause == EXC_ILLEGAL_INST) hart.excTval = h;
  }
  if (hart.excTinst == TINST_TRANSFORM) {
    const t = transformedInst(inst, hart.excTval);
    hart.excTinst = t == 0 ? 0 : (t & ~(<u64>3)) | tinstLow;
  }
  return trapExit(pc, done + <u32>((ip - blockIp) >> 2), loads, stores, priv);
}

/**
 * A compressed instruction that does not run as an expansion: a reserved encoding (illegal,
 * tval = its 16 bits) or C.EBREAK (a breakpoint; tval 0 as QEMU writes for EBREAK).
 */
function compressedTrap(h: u32, ip: usize, blockIp: usize, pcBase: u64, done: u32, loads: u32, stores: u32, priv: u32): u32 {
  if (h == INST_C_EBREAK) exc(EXC_BREAKPOINT, 0);
  else exc(EXC_ILLEGAL_INST, h);
  return trapExit(<u64>ip + pcBase, done + <u32>((ip - blockIp) >> 2), loads, stores, priv);
}

/**
 * An instruction at page offset 0xFFE may continue on the next page (a 4-byte one; IALIGN =
 * 16 allows it). Each half is translated on its own, as a hart fetches it (privileged spec
 * 1.5 and 3.1.16: a fault on the second half reports that half's address, which is what QEMU
 * writes to xtval), and the instruction is assembled in SCRATCH so the loop never reads past
 * the end of the first page's host page (the next host page is some other guest page).
 * Returns false if a fetch raised.
 */
function fetchAcross(pc: u64): bool {
  const lo = fetchHalf(pc);
  if (excPending()) return false;
  let inst = lo;
  if (!isCompressed(lo)) {
    const hi = fetchHalf(pc + 2);
    if (excPending()) return false;
    inst |= hi << 16;
  }
  store<u32>(SCRATCH, inst);
  return true;
}

/** The halfword at `pc` through the fetch TLB (or the slow fetch, which may raise). */
function fetchHalf(pc: u64): u32 {
  const e = tlbEntry(cs.fetchTable, pc);
  let add: u64;
  if (load<u64>(e) == (pc & ~(<u64>0xFFE))) {
    add = load<u64>(e, 8);
  } else {
    add = fetchSlow(pc);
    if (excPending()) return 0;
  }
  return <u32>load<u16>(<usize>(pc + add));
}

/**
 * A block starts at `pc` (host address `ip`) while breakpoints are set (cpu/debug.ts). On a
 * page with one, the chunk's budget is cut so a straight-line run stops just before the next
 * breakpoint after pc (the run loop then starts a chunk there, whose block start stops), and
 * the page is not kept as the cached code page (returns 1), so every block start on it comes
 * back through fetchSlow. Otherwise returns the page as the loop would keep it.
 */
function debugBlock(pc: u64, ip: usize, done: u32): u64 {
  if (!debugPoisons(pc, KIND_FETCH)) return pc & ~(<u64>0xFFF);
  const next = debugNextBreakpoint(pc);
  if (next != 0) {
    // Count the instructions up to it, as the straight-line run would execute them.
    let a = pc;
    let n: u32 = 0;
    while (a < next) {
      a += (load<u16>(ip + <usize>(a - pc)) & 3) == 3 ? 4 : 2;
      n++;
    }
    if (a == next && done + n < cs.budget) cs.budget = done + n;
  }
  return 1;
}

/** Leave after the instruction at `ip` completed (it changed state the run loop must see). */
function leaveAfter(ip: usize, blockIp: usize, pcBase: u64, done: u32, loads: u32, stores: u32, priv: u32): u32 {
  return leave(<u64>ip + pcBase + 4, done + <u32>((ip - blockIp) >> 2) + 1, loads, stores, priv);
}

/** Raise an exception from inside the loop. */
@inline function exc(cause: u32, tval: u64): void {
  hart.excCause = cause;
  hart.excTval = tval;
}

/**
 * What the loop needs only at control transfers, kept in memory rather than in locals so the
 * register allocator gives the per-instruction values (ip, the instruction, the TLB tables)
 * the registers: the chunk's budget, privilege, fetch table and current code page.
 */
@unmanaged class ChunkState {
  budget: u32 = 0;
  priv: u32 = 0;
  fetchTable: usize = 0;
  fpage: u64 = 0;
  /** Where straight-line code must stop: 2 bytes before the page end (the last halfword may
   * start a 4-byte instruction that crosses the page), and where the budget runs out. */
  pageStop: usize = 0;
  budgetStop: usize = 0;
  /** The compressed instruction being run: its adjusted ip (its 16 bits are at cip + 2). */
  cip: usize = 0;
}
const cs = changetype<ChunkState>(memory.data(offsetof<ChunkState>(), 16));
/** Where the chunk state is and its size: it is rewritten at every chunk's start, so two
 * machines in the same state may differ there by how their runs were sliced (a snapshot
 * comparison leaves it out: test/properties.test.ts, docs/properties.md). */
export function chunkStatePtr(): usize { return changetype<usize>(cs); }
export function chunkStateBytes(): u32 { return <u32>offsetof<ChunkState>(); }
/** A 4-byte instruction split over two pages, assembled by fetchAcross. */
const SCRATCH: usize = memory.data(8, 8);

/**
 * The interpreter's expansion of every halfword (riscv/rvc.ts, with the pc-relative offsets
 * biased by 2; see execChunk), so a compressed instruction costs one load to decode. 0 marks a
 * halfword that does not run as an expansion: a reserved encoding or C.EBREAK. The 256 KiB
 * table lies between the static data and guest RAM (docs/memory-map.md), filled by init()
 * rather than a memory.data block, which would put 256 KiB of zeros into core.wasm.
 * Halfwords with bits 1:0 = 11 (not compressed) are never looked up.
 */
@inline export function rvcTable(): usize { return (__heap_base + 15) & ~(<usize>15); }
export const RVC_TABLE_BYTES: usize = 65536 * 4;

/** Fill the expansion table (once, from init()). */
export function initRvcTable(): void {
  const t = rvcTable();
  for (let h: u32 = 0; h < 65536; h++) {
    const e = isCompressed(h) ? expandCompressed(h, 2) : 0;
    store<u32>(t + (<usize>h << 2), e == INST_EBREAK_32 ? 0 : e);
  }
}

export function execChunk(budget: u32): u32 {
  computeViews();
  cs.budget = budget;
  // With the model TLB on, these are its miss table, so every access reaches the model
  // (mmu/tlbmodel.ts tlbProbeTable); off, they are the fast TLB's tables, at no cost per access.
  cs.fetchTable = tlbProbeTable(hart.fetchView, KIND_FETCH);
  const lt = tlbProbeTable(hart.dataView, KIND_LOAD);
  const st = tlbProbeTable(hart.dataView, KIND_STORE);
  cs.priv = hart.priv;
  hart.chunkBreak = 0;
  // The loop runs on a host instruction pointer `ip`; the guest pc is ip + pcBase. Guest RAM
  // is 64 KiB aligned in linear memory, so ip and pc share their page offset, and a
  // straight-line run leaves its page exactly when ip reaches a multiple of 4096.
  // Instructions are counted, and the budget checked, only at control transfers and when a
  // straight-line run reaches stopIp: the end of its page (less 2 bytes), or the instruction
  // where the budget runs out, whichever is first. So the budget is exact at no
  // per-instruction cost. done = retired before blockIp; retired now = done + (ip - blockIp) / 4.
  //
  // Compressed instructions (the C extension, riscv/rvc.ts) keep that sum exact: each one is
  // expanded to its 32-bit equivalent and run *as if it sat 2 bytes earlier* (ip -= 2), so
  // the shared case's `ip += 4` lands after the 2-byte instruction; blockIp and the budget
  // stop move back by 2 with it, so each instruction of either size adds 4 to ip - blockIp.
  // The pc-relative expansions (C.J, C.BEQZ, C.BNEZ) carry their offset + 2, and a link
  // (C.JALR) is pc + 4 = the real pc + 2. A fault identifies the case by ip == cs.cip.
  // The uncompressed path pays nothing for this: stops compare with < instead of !=.
  let ip: usize = 0;
  let blockIp: usize = 0;
  let stopIp: usize = 0;
  let pcBase: u64 = 0;
  cs.fpage = 1; // guest page of ip; odd = none
  let done: u32 = 0;
  let target = hart.pc;
  let loads: u32 = 0;
  let stores: u32 = 0;

  while (true) {
    // Transfer to `target`: book the run that just ended, check the budget, find the page.
    done += <u32>((ip - blockIp) >> 2);
    if (done >= cs.budget) return leave(target, done, loads, stores, cs.priv);
    cs.cip = 0;
    if ((target & 0xFFE) == 0xFFE) {
      // The last halfword of a page: the instruction may cross into the next page.
      hart.chunkDone = done;
      if (!fetchAcross(target)) return trapExit(target, done, loads, stores, cs.priv);
      ip = SCRATCH;
      pcBase = target - <u64>SCRATCH;
      cs.fpage = 1;
      cs.pageStop = SCRATCH + 2; // one instruction, of either length
    } else {
      if ((target & ~(<u64>0xFFE)) == cs.fpage) {
        ip = <usize>(target - pcBase);
      } else {
        const e = tlbEntry(cs.fetchTable, target);
        let add: u64;
        let page = target & ~(<u64>0xFFF);
        if (load<u64>(e) == (target & ~(<u64>0xFFE))) {
          add = load<u64>(e, 8);
        } else {
          hart.chunkDone = done;
          add = fetchSlow(target);
          if (excPending()) return trapExit(target, done, loads, stores, cs.priv);
          if (debug.bps != 0) page = debugBlock(target, <usize>(target + add), done);
        }
        ip = <usize>(target + add);
        pcBase = 0 - add;
        cs.fpage = page;
      }
      cs.pageStop = (ip | 0xFFF) - 1;
    }
    blockIp = ip;
    // A page holds at most 2048 instructions, so a larger budget cannot stop in this block.
    const left = cs.budget - done;
    cs.budgetStop = ip + (<usize>(left < 2048 ? left : <u32>2048) << 2);
    stopIp = cs.budgetStop < cs.pageStop ? cs.budgetStop : cs.pageStop;

    while (true) {
      let inst = load<u32>(ip);
      if ((inst & 3) != 3) {
        // A 16-bit instruction (low bits other than 0b11): run its expansion 2 bytes early.
        const h = inst & 0xFFFF;
        inst = load<u32>(rvcTable() + (<usize>h << 2));
        if (inst == 0) return compressedTrap(h, ip, blockIp, pcBase, done, loads, stores, cs.priv);
        ip -= 2;
        blockIp -= 2;
        cs.cip = ip;
        const b = cs.budgetStop - 2;
        cs.budgetStop = b;
        stopIp = b < cs.pageStop ? b : cs.pageStop;
      }
      const rd = (inst >> 7) & 31;
      const rs1 = (inst >> 15) & 31;
      const f3 = (inst >> 12) & 7;
      // Dispatch on opcode bits 6:2: dense, so it compiles to one jump table.
      switch ((inst >> 2) & 31) {
        case 0x13 >> 2: { // OP-IMM
          const a = rg(rs1);
          const imm = <u64><i64>(<i32>inst >> 20);
          let v: u64;
          switch (f3) {
            case 0: v = a + imm; break;
            case 1: {
              if ((inst >> 26) != 0) { exc(EXC_ILLEGAL_INST, inst); return faultAt(ip, blockIp, pcBase, done, loads, stores, cs.priv); }
              v = a << (imm & 63); break;
            }
            case 2: v = <i64>a < <i64>imm ? 1 : 0; break;
            case 3: v = a < imm ? 1 : 0; break;
            case 4: v = a ^ imm; break;
            case 5: {
              const hi = inst >> 26;
              if (hi == 0) v = a >> (imm & 63);
              else if (hi == 0x10) v = <u64>(<i64>a >> <i64>(imm & 63));
              else { exc(EXC_ILLEGAL_INST, inst); return faultAt(ip, blockIp, pcBase, done, loads, stores, cs.priv); }
              break;
            }
            case 6: v = a | imm; break;
            default: v = a & imm; break;
          }
          rs(rd, v);
          ip += 4;
          if (ip < stopIp) continue;
          target = <u64>ip + pcBase;
          break;
        }
        case 0x33 >> 2: { // OP
          const a = rg(rs1);
          const b = rg((inst >> 20) & 31);
          let v: u64;
          const f7 = inst >> 25;
          if (f7 == 0) {
            switch (f3) {
              case 0: v = a + b; break;
              case 1: v = a << (b & 63); break;
              case 2: v = <i64>a < <i64>b ? 1 : 0; break;
              case 3: v = a < b ? 1 : 0; break;
              case 4: v = a ^ b; break;
              case 5: v = a >> (b & 63); break;
              case 6: v = a | b; break;
              default: v = a & b; break;
            }
          } else if (f7 == 1) { // M extension
            switch (f3) {
              case 0: v = a * b; break;
              case 1: v = mulh(a, b); break;
              case 2: v = mulhsu(a, b); break;
              case 3: v = mulhu(a, b); break;
              case 4: v = div64(a, b); break;
              case 5: v = b == 0 ? 0xFFFF_FFFF_FFFF_FFFF : a / b; break;
              case 6: v = rem64(a, b); break;
              default: v = b == 0 ? a : a % b; break;
            }
          } else if (f7 == 0x20 && f3 == 0) {
            v = a - b;
          } else if (f7 == 0x20 && f3 == 5) {
            v = <u64>(<i64>a >> <i64>(b & 63));
          } else {
            exc(EXC_ILLEGAL_INST, inst); return faultAt(ip, blockIp, pcBase, done, loads, stores, cs.priv);
          }
          rs(rd, v);
          ip += 4;
          if (ip < stopIp) continue;
          target = <u64>ip + pcBase;
          break;
        }
        case 0x03 >> 2: { // LOAD
          const va = rg(rs1) + <u64><i64>(<i32>inst >> 20);
          if (f3 == 7) { exc(EXC_ILLEGAL_INST, inst); return faultAt(ip, blockIp, pcBase, done, loads, stores, cs.priv); }
          loads++;
          const e = tlbEntry(lt, va);
          let v: u64;
          if (load<u64>(e) == (va & (~(<u64>0xFFF) | ((<u64>1 << (f3 & 3)) - 1)))) {
            const h = <usize>(va + load<u64>(e, 8));
            switch (f3) {
              case 0: v = <u64><i64>load<i8>(h); break;
              case 1: v = <u64><i64>load<i16>(h); break;
              case 2: v = <u64><i64>load<i32>(h); break;
              case 3: v = load<u64>(h); break;
              case 4: v = <u64>load<u8>(h); break;
              case 5: v = <u64>load<u16>(h); break;
              default: v = <u64>load<u32>(h); break;
            }
          } else {
            hart.chunkDone = (done + <u32>((ip - blockIp) >> 2));
            v = loadSlow(va, f3);
            if (excPending()) return faultAt(ip, blockIp, pcBase, done, loads, stores, cs.priv);
          }
          rs(rd, v);
          ip += 4;
          if (ip < stopIp) continue;
          target = <u64>ip + pcBase;
          break;
        }
        case 0x23 >> 2: { // STORE
          const va = rg(rs1) + <u64><i64>(((<i32>inst >> 25) << 5) | <i32>rd);
          const v = rg((inst >> 20) & 31);
          if (f3 > 3) { exc(EXC_ILLEGAL_INST, inst); return faultAt(ip, blockIp, pcBase, done, loads, stores, cs.priv); }
          stores++;
          const e = tlbEntry(st, va);
          if (load<u64>(e) == (va & (~(<u64>0xFFF) | ((<u64>1 << f3) - 1)))) {
            const h = <usize>(va + load<u64>(e, 8));
            switch (f3) {
              case 0: store<u8>(h, <u8>v); break;
              case 1: store<u16>(h, <u16>v); break;
              case 2: store<u32>(h, <u32>v); break;
              default: store<u64>(h, v); break;
            }
          } else {
            hart.chunkDone = (done + <u32>((ip - blockIp) >> 2));
            storeSlow(va, 1 << f3, v);
            if (excPending()) return faultAt(ip, blockIp, pcBase, done, loads, stores, cs.priv);
            if (hart.chunkBreak != 0) return leaveAfter(ip, blockIp, pcBase, done, loads, stores, cs.priv);
          }
          ip += 4;
          if (ip < stopIp) continue;
          target = <u64>ip + pcBase;
          break;
        }
        case 0x63 >> 2: { // BRANCH
          const a = rg(rs1);
          const b = rg((inst >> 20) & 31);
          let taken: bool;
          switch (f3) {
            case 0: taken = a == b; break;
            case 1: taken = a != b; break;
            case 4: taken = <i64>a < <i64>b; break;
            case 5: taken = <i64>a >= <i64>b; break;
            case 6: taken = a < b; break;
            case 7: taken = a >= b; break;
            default: exc(EXC_ILLEGAL_INST, inst); return faultAt(ip, blockIp, pcBase, done, loads, stores, cs.priv);
          }
          if (taken) {
            const imm = (<i32>(inst & 0x8000_0000) >> 19) | <i32>((inst & 0x80) << 4) |
              <i32>((inst >> 20) & 0x7E0) | <i32>((inst >> 7) & 0x1E);
            // IALIGN = 16: every branch target is 2-byte aligned, none is misaligned.
            const t = (<u64>ip + pcBase) + <u64><i64>imm;
            ip += 4;
            target = t;
            break;
          }
          ip += 4;
          if (ip < stopIp) continue;
          target = <u64>ip + pcBase;
          break;
        }
        case 0x1B >> 2: { // OP-IMM-32
          const a = rg(rs1);
          const imm = <i32>inst >> 20;
          let v: u64;
          if (f3 == 0) {
            v = sext32(a + <u64><i64>imm);
          } else if (f3 == 1 && (inst >> 25) == 0) {
            v = sext32(<u64>(<u32>a << (imm & 31)));
          } else if (f3 == 5 && (inst >> 25) == 0) {
            v = sext32(<u64>(<u32>a >> (imm & 31)));
          } else if (f3 == 5 && (inst >> 25) == 0x20) {
            v = sext32(<u64>(<i32>a >> (imm & 31)));
          } else {
            exc(EXC_ILLEGAL_INST, inst); return faultAt(ip, blockIp, pcBase, done, loads, stores, cs.priv);
          }
          rs(rd, v);
          ip += 4;
          if (ip < stopIp) continue;
          target = <u64>ip + pcBase;
          break;
        }
        case 0x3B >> 2: { // OP-32
          const a = rg(rs1);
          const b = rg((inst >> 20) & 31);
          let v: u64;
          const f7 = inst >> 25;
          if (f7 == 0 && f3 == 0) v = sext32(a + b);
          else if (f7 == 0 && f3 == 1) v = sext32(<u64>(<u32>a << (<u32>b & 31)));
          else if (f7 == 0 && f3 == 5) v = sext32(<u64>(<u32>a >> (<u32>b & 31)));
          else if (f7 == 0x20 && f3 == 0) v = sext32(a - b);
          else if (f7 == 0x20 && f3 == 5) v = sext32(<u64>(<i32>a >> (<i32>b & 31)));
          else if (f7 == 1 && f3 == 0) v = sext32(a * b);
          else if (f7 == 1 && f3 == 4) v = div32(a, b);
          else if (f7 == 1 && f3 == 5) v = divu32(a, b);
          else if (f7 == 1 && f3 == 6) v = rem32(a, b);
          else if (f7 == 1 && f3 == 7) v = remu32(a, b);
          else { exc(EXC_ILLEGAL_INST, inst); return faultAt(ip, blockIp, pcBase, done, loads, stores, cs.priv); }
          rs(rd, v);
          ip += 4;
          if (ip < stopIp) continue;
          target = <u64>ip + pcBase;
          break;
        }
        case 0x37 >> 2: { // LUI
          rs(rd, <u64><i64><i32>(inst & 0xFFFF_F000));
          ip += 4;
          if (ip < stopIp) continue;
          target = <u64>ip + pcBase;
          break;
        }
        case 0x17 >> 2: { // AUIPC
          rs(rd, (<u64>ip + pcBase) + <u64><i64><i32>(inst & 0xFFFF_F000));
          ip += 4;
          if (ip < stopIp) continue;
          target = <u64>ip + pcBase;
          break;
        }
        case 0x6F >> 2: { // JAL
          const imm = (<i32>(inst & 0x8000_0000) >> 11) | <i32>(inst & 0xF_F000) |
            <i32>((inst >> 9) & 0x800) | <i32>((inst >> 20) & 0x7FE);
          const pc = (<u64>ip + pcBase);
          const t = pc + <u64><i64>imm; // even: IALIGN = 16 makes it never misaligned
          rs(rd, pc + 4);
          ip += 4;
          target = t;
          break;
        }
        case 0x67 >> 2: { // JALR
          if (f3 != 0) { exc(EXC_ILLEGAL_INST, inst); return faultAt(ip, blockIp, pcBase, done, loads, stores, cs.priv); }
          // Bit 0 of the target is cleared (unprivileged spec 2.5); with IALIGN = 16 the rest
          // is always aligned.
          const t = (rg(rs1) + <u64><i64>(<i32>inst >> 20)) & ~(<u64>1);
          const pc = (<u64>ip + pcBase);
          rs(rd, pc + 4);
          ip += 4;
          target = t;
          break;
        }
        case 0x2F >> 2: { // AMO
          hart.chunkDone = (done + <u32>((ip - blockIp) >> 2));
          loads++;
          amo(inst);
          if (excPending()) return faultAt(ip, blockIp, pcBase, done, loads, stores, cs.priv);
          if (hart.chunkBreak != 0) return leaveAfter(ip, blockIp, pcBase, done, loads, stores, cs.priv);
          ip += 4;
          if (ip < stopIp) continue;
          target = <u64>ip + pcBase;
          break;
        }
        case 0x0F >> 2: { // MISC-MEM: FENCE and FENCE.I are no-ops on one in-order hart that
          // executes from memory directly (there is no decoded-instruction cache to flush).
          if (f3 > 1) { exc(EXC_ILLEGAL_INST, inst); return faultAt(ip, blockIp, pcBase, done, loads, stores, cs.priv); }
          ip += 4;
          if (ip < stopIp) continue;
          target = <u64>ip + pcBase;
          break;
        }
        case 0x73 >> 2: { // SYSTEM
          hart.chunkDone = (done + <u32>((ip - blockIp) >> 2));
          if (f3 != 0) {
            if (!(f3 == 4 ? hypervisorAccess(inst) : csrInstruction(inst))) {
              return faultAt(ip, blockIp, pcBase, done, loads, stores, cs.priv);
            }
            if (hart.chunkBreak != 0) return leaveAfter(ip, blockIp, pcBase, done, loads, stores, cs.priv);
            ip += 4;
            if (ip < stopIp) continue;
            target = <u64>ip + pcBase;
            break;
          }
          return system(inst, (<u64>ip + pcBase), (done + <u32>((ip - blockIp) >> 2)), loads, stores, cs.priv);
        }
        case 0x07 >> 2: { // LOAD-FP (FLW, FLD): cpu/fpu.ts
          // The FP cases stop with < like the others: the page stop is 2 bytes before the
          // page's end, so an instruction in the last 4-byte slot steps over it, and a !=
          // there ran on into the host page beside it and past the budget.
          hart.chunkDone = (done + <u32>((ip - blockIp) >> 2));
          loads++;
          if (!fpLoad(inst)) return faultAt(ip, blockIp, pcBase, done, loads, stores, cs.priv);
          ip += 4;
          if (ip < stopIp) continue;
          target = <u64>ip + pcBase;
          break;
        }
        case 0x27 >> 2: { // STORE-FP (FSW, FSD): cpu/fpu.ts
          hart.chunkDone = (done + <u32>((ip - blockIp) >> 2));
          stores++;
          if (!fpStore(inst)) return faultAt(ip, blockIp, pcBase, done, loads, stores, cs.priv);
          if (hart.chunkBreak != 0) return leaveAfter(ip, blockIp, pcBase, done, loads, stores, cs.priv);
          ip += 4;
          if (ip < stopIp) continue;
          target = <u64>ip + pcBase;
          break;
        }
        case 0x43 >> 2: case 0x47 >> 2: case 0x4B >> 2: case 0x4F >> 2: { // FMADD..FNMADD
          if (!fpFused(inst)) return faultAt(ip, blockIp, pcBase, done, loads, stores, cs.priv);
          ip += 4;
          if (ip < stopIp) continue;
          target = <u64>ip + pcBase;
          break;
        }
        case 0x53 >> 2: { // OP-FP: cpu/fpu.ts
          if (!fpOp(inst)) return faultAt(ip, blockIp, pcBase, done, loads, stores, cs.priv);
          ip += 4;
          if (ip < stopIp) continue;
          target = <u64>ip + pcBase;
          break;
        }
        default:
          exc(EXC_ILLEGAL_INST, inst);
          return faultAt(ip, blockIp, pcBase, done, loads, stores, cs.priv);
      }
      break; // a control transfer or page crossing: `target` is where execution goes on
    }
  }
  return 0; // not reached
}

const INST_ECALL: u32 = 0x0000_0073;
const INST_EBREAK: u32 = 0x0010_0073;
const INST_SRET: u32 = 0x1020_0073;
const INST_MRET: u32 = 0x3020_0073;
const INST_WFI: u32 = 0x1050_0073;
const SFENCE_VMA_MASK: u32 = 0xFE00_7FFF;
const SFENCE_VMA: u32 = 0x1200_0073;
// Hypervisor extension (section 8.3, and the opcode map of chapter 9): HFENCE.VVMA/GVMA share
// SFENCE.VMA's format; HLV/HLVX/HSV are SYSTEM with funct3 = 4 (see csrInstruction's caller).
const HFENCE_VVMA: u32 = 0x2200_0073;
const HFENCE_GVMA: u32 = 0x6200_0073;

/**
 * The exception (cause + 1) a privileged instruction raises in the current mode, or 0, given
 * whether M, HS and VS may run it (section 8.6.1): where HS could run it, V = 1 makes it a
 * virtual-instruction exception; otherwise it is illegal.
 */
@inline function privFault(okM: bool, okHs: bool, okVs: bool, okVu: bool, hsWouldRun: bool): u32 {
  const p = hart.priv;
  if (hart.virt != 0) {
    if (p == PRV_S ? okVs : okVu) return 0;
    return hsWouldRun ? EXC_VIRTUAL_INST + 1 : EXC_ILLEGAL_INST + 1;
  }
  if (p == PRV_M ? okM : p == PRV_S ? okHs : false) return 0;
  return EXC_ILLEGAL_INST + 1;
}

/**
 * ECALL, EBREAK, xRET, WFI, SFENCE.VMA and the hypervisor fences. Each ends the chunk. `done`
 * counts the instructions retired before this one.
 */
function system(inst: u32, pc: u64, done: u32, loads: u32, stores: u32, priv: u32): u32 {
  const p = hart.priv;
  const v = hart.virt != 0;
  if (inst == INST_ECALL) {
    if (p == PRV_S && !v && machine.firmware == FIRMWARE_BUILTIN) {
      // The builtin firmware serves the call as M-mode firmware would, then returns past it.
      sbiCall();
      return leave(pc + 4, done + 1, loads, stores, priv);
    }
    exc(p == PRV_U ? EXC_ECALL_U : p == PRV_S ? (v ? EXC_ECALL_VS : EXC_ECALL_S) : EXC_ECALL_M, 0);
    return trapExit(pc, done, loads, stores, priv);
  }
  if (inst == INST_EBREAK) {
    exc(EXC_BREAKPOINT, 0); // QEMU 7.2 writes 0 to xtval for EBREAK; the spec allows it
    return trapExit(pc, done, loads, stores, priv);
  }
  if (inst == INST_MRET && p == PRV_M) {
    leave(pc, done + 1, loads, stores, priv);
    mret();
    return done + 1;
  }
  let fault: u32 = EXC_ILLEGAL_INST + 1;
  if (inst == INST_SRET) {
    // TSR traps SRET in HS; VTSR makes it a virtual instruction in VS; in VU it would run in HS.
    const tsr = (hart.mstatus & MSTATUS_TSR) != 0;
    fault = privFault(true, !tsr, (hart.hstatus & HSTATUS_VTSR) == 0, false, true);
    if (fault == 0) {
      leave(pc, done + 1, loads, stores, priv);
      sret();
      return done + 1;
    }
  } else if (inst == INST_WFI) {
    // TW makes WFI illegal below M, VTW a virtual instruction in VS; in VU it is virtual unless
    // TW (section 8.6.1). The "bounded time limit" of section 3.1.6.5 is zero, as in QEMU.
    const tw = (hart.mstatus & MSTATUS_TW) != 0;
    fault = privFault(true, !tw, !tw && (hart.hstatus & HSTATUS_VTW) == 0, false, !tw);
    if (fault == 0) {
      hart.wfi = 1;
      return leave(pc + 4, done + 1, loads, stores, priv);
    }
  } else if ((inst & SFENCE_VMA_MASK) == SFENCE_VMA) {
    const tvm = (hart.mstatus & MSTATUS_TVM) != 0;
    fault = privFault(true, !tvm, (hart.hstatus & HSTATUS_VTVM) == 0, false, true);
    if (fault == 0) {
      const rs1 = (inst >> 15) & 31;
      // rs2 != x0 names one ASID (section 4.2.1): with rs1 = x0 only its set is emptied; a
      // page is dropped from every ASID's set (more than required, never less). In VS it
      // orders the guest's translations only (8.3.2).
      const rs2 = (inst >> 20) & 31;
      if (v) {
        if (rs1 == 0) tlbFlushGuest(); else tlbFlushGuestPage(rg(rs1));
      } else if (rs1 != 0) {
        tlbFlushPage(rg(rs1));
      } else if (rs2 != 0) {
        tlbFlushHostAsid(rg(rs2) & SATP_ASID_MASK);
      } else {
        tlbFlushHost();
      }
      return leave(pc + 4, done + 1, loads, stores, priv);
    }
  } else if ((inst & SFENCE_VMA_MASK) == HFENCE_VVMA) {
    fault = privFault(true, true, false, false, true);
    if (fault == 0) {
      const rs1 = (inst >> 15) & 31;
      if (rs1 == 0) tlbFlushGuest(); else tlbFlushGuestPage(rg(rs1));
      return leave(pc + 4, done + 1, loads, stores, priv);
    }
  } else if ((inst & SFENCE_VMA_MASK) == HFENCE_GVMA) {
    // rs1 is a guest physical address >> 2; the guest entries are gVA-tagged, so all go.
    fault = privFault(true, (hart.mstatus & MSTATUS_TVM) == 0, false, false, true);
    if (fault == 0) {
      tlbFlushGuest();
      return leave(pc + 4, done + 1, loads, stores, priv);
    }
  }
  exc(fault - 1, inst);
  return trapExit(pc, done, loads, stores, priv);
}

/**
 * HLV, HLVX and HSV (SYSTEM, funct3 = 4; section 8.3.2): M and HS may run them, U only with
 * hstatus.HU; in VS or VU they are virtual instructions. Returns false if it raised.
 */
export function hypervisorAccess(inst: u32): bool {
  const p = hart.priv;
  if (hart.virt != 0) { exc(EXC_VIRTUAL_INST, inst); return false; }
  if (p == PRV_U && (hart.hstatus & HSTATUS_HU) == 0) { exc(EXC_ILLEGAL_INST, inst); return false; }
  const f7 = inst >> 25;
  const sel = (inst >> 20) & 31; // rs2 of HLV: 0 signed, 1 unsigned, 3 HLVX
  const rd = (inst >> 7) & 31;
  const va = rg((inst >> 15) & 31);
  const sizeLog = (f7 >> 1) & 3;  // 0x30 B, 0x32 H, 0x34 W, 0x36 D
  if ((f7 & 0x78) != 0x30) { exc(EXC_ILLEGAL_INST, inst); return false; }
  if ((f7 & 1) != 0) { // HSV: rd must be 0
    if (rd != 0) { exc(EXC_ILLEGAL_INST, inst); return false; }
    hypervisorStore(inst, va, 1 << sizeLog, rg(sel));
    return hart.excCause == EXC_NONE;
  }
  // HLV: rs2 = 0 (signed), 1 (unsigned; not for D), 3 (HLVX, only H and W, unsigned).
  let f3: u32;
  const exec = sel == 3;
  if (sel == 0) f3 = sizeLog;
  else if (sel == 1 && sizeLog < 3) f3 = sizeLog | 4;
  else if (exec && (sizeLog == 1 || sizeLog == 2)) f3 = sizeLog | 4;
  else { exc(EXC_ILLEGAL_INST, inst); return false; }
  const val = hypervisorLoad(inst, va, f3, exec);
  if (hart.excCause != EXC_NONE) return false;
  rs(rd, val);
  return true;
}

