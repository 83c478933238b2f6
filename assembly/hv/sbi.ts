// The builtin firmware's SBI (RISC-V Supervisor Binary Interface v2.0): what an S-mode kernel
// calls with ECALL, served by the core without any M-mode code (DESIGN.md "Hypercalls").
// Calling convention (SBI chapter 3): a7 = extension ID (EID), a6 = function ID (FID),
// a0..a5 arguments; returns a0 = error, a1 = value. Unknown EID or FID: SBI_ERR_NOT_SUPPORTED.
// Every argument is validated; a call refused with an error changes nothing.

import { Counter } from '../counter-ids';
import { count, hart, machine, rget, rset, HALT_FAIL, HALT_PASS, HALT_RESET, MODE_NATIVE, MODE_PV } from '../state';
import { pvRangeWritable } from './pvmmu';
import { vcpuRaiseSoft, vcpuTimerSet } from './vcpu';
import { pvCall, pvHas, PV_FID_CONSOLE_WRITE, PV_FID_SET_TIMER } from './pv';
import { gpaHost, GUEST_RAM_BASE, vm } from './vm';
import { guestStoreByte } from './shadow';
import { MIP_SSIP, MIP_STIP } from '../riscv/bits';
import { mtime } from '../devices/clint';
import { halt } from '../devices/testdev';
import { rxAvailable, rxGet, txFree, txPut } from '../devices/console';
import { physRange } from '../mmu/access';
import { tlbFlushAll } from '../mmu/tlb';

// Extension IDs (SBI v2.0 chapters 4-12).
export const EID_BASE: u64 = 0x10;
export const EID_TIME: u64 = 0x54494D45;   // "TIME"
export const EID_IPI: u64 = 0x735049;      // "sPI"
export const EID_RFENCE: u64 = 0x52464E43; // "RFNC"
export const EID_HSM: u64 = 0x48534D;      // "HSM"
export const EID_SRST: u64 = 0x53525354;   // "SRST"
export const EID_DBCN: u64 = 0x4442434E;   // "DBCN"
/** The hvlab PV extension, in the experimental space (docs/pv-abi.md); offered to VMs only. */
export const EID_HVLAB: u64 = 0x08484C56;

// Standard error codes (SBI v2.0 section 3.2, table 1).
export const SBI_SUCCESS: i64 = 0;
export const SBI_ERR_FAILED: i64 = -1;
export const SBI_ERR_NOT_SUPPORTED: i64 = -2;
export const SBI_ERR_INVALID_PARAM: i64 = -3;
export const SBI_ERR_DENIED: i64 = -4;
export const SBI_ERR_INVALID_ADDRESS: i64 = -5;
export const SBI_ERR_ALREADY_AVAILABLE: i64 = -6;

/** SBI specification version 2.0: major in bits 30:24, minor in bits 23:0. */
export const SBI_SPEC_VERSION: u64 = 2 << 24;
/** Implementation ID of hvlab's firmware and hypervisor: "HVLB". */
export const SBI_IMPL_ID_HVLAB: u64 = 0x48564C42;
export const SBI_IMPL_VERSION: u64 = 0x0001_0000; // 1.0

// HSM hart states (SBI chapter 9, table 24).
const HSM_STARTED: u64 = 0;
// SRST types and reasons (SBI chapter 10, tables 30 and 31).
const SRST_SHUTDOWN: u64 = 0;
const SRST_COLD_REBOOT: u64 = 1;
const SRST_WARM_REBOOT: u64 = 2;
const SRST_REASON_NONE: u64 = 0;
const SRST_REASON_FAILURE: u64 = 1;

const A0: u32 = 10;
const A1: u32 = 11;

function ret(err: i64, value: u64): void {
  rset(A0, <u64>err);
  rset(A1, value);
}

function supported(eid: u64): bool {
  if (eid == EID_HVLAB) return machine.mode != MODE_NATIVE;
  return eid == EID_BASE || eid == EID_TIME || eid == EID_IPI || eid == EID_RFENCE ||
    eid == EID_HSM || eid == EID_SRST || eid == EID_DBCN;
}

/** Is hart 0 (the only hart) selected by an SBI hart mask (SBI section 3.1)? -1: bad mask. */
function maskSelectsHart0(mask: u64, base: u64): i32 {
  if (base == 0xFFFF_FFFF_FFFF_FFFF) return 1; // all harts
  if (base != 0) return mask == 0 ? 0 : -1;    // names harts that do not exist
  if ((mask & ~(<u64>1)) != 0) return -1;
  return <i32>(mask & 1);
}

/** Is [pa, pa + len) all RAM of the caller (machine RAM natively, guest RAM in a VM)? */
function callerRange(pa: u64, len: u64): bool {
  if (len == 0) return true;
  if (pa + len < pa) return false;
  if (machine.mode == MODE_NATIVE) return physRange(pa, len) != 0;
  return gpaHost(pa, 1) != 0 && gpaHost(pa + len - 1, 1) != 0 &&
    (pa - GUEST_RAM_BASE) + len <= (vm.guestFrames << 12);
}

/** Host address of one byte of the caller's RAM (checked by callerRange first). */
function callerByte(pa: u64): usize {
  return machine.mode == MODE_NATIVE ? physRange(pa, 1) : gpaHost(pa, 1);
}

/** set_timer: the next timer event; clears the pending supervisor timer interrupt. */
function setTimer(t: u64): void {
  machine.sbiTimecmp = t;
  hart.mipSw &= ~MIP_STIP;
  // In a VM under hardware assist, a new timer also withdraws the injected VSTIP.
  if (machine.mode != MODE_NATIVE) vcpuTimerSet();
  if (mtime() >= t) hart.mipSw |= MIP_STIP;
  hart.chunkBreak = 1;
}

/** Write what fits of `len` bytes of the caller's RAM at `pa` (checked) to the console. */
function consoleWrite(pa: u64, len: u64): u64 {
  // The caller retries with the rest, as the SBI spec allows for DBCN.
  const room = <u64>txFree();
  const todo = len < room ? len : room;
  let n: u64 = 0;
  for (; n < todo; n++) txPut(load<u8>(callerByte(pa + n)));
  count(Counter.UART_TX_BYTES, n);
  if (txFree() < 2048) hart.chunkBreak = 1;
  return n;
}

/** Serve the ECALL an S-mode kernel made to the builtin firmware. */
export function sbiCall(): void {
  const eid = rget(17);
  const fid = rget(16);
  const a0 = rget(10);
  const a1 = rget(11);
  const a2 = rget(12);
  if (eid == EID_BASE) {
    count(Counter.SBI_BASE);
    if (fid > 6) { ret(SBI_ERR_NOT_SUPPORTED, 0); return; }
    switch (<u32>fid) {
      case 0: ret(SBI_SUCCESS, SBI_SPEC_VERSION); break;
      case 1: ret(SBI_SUCCESS, SBI_IMPL_ID_HVLAB); break;
      case 2: ret(SBI_SUCCESS, SBI_IMPL_VERSION); break;
      case 3: ret(SBI_SUCCESS, supported(a0) ? 1 : 0); break;
      default: ret(SBI_SUCCESS, 0); // mvendorid, marchid, mimpid
    }
    return;
  }
  if (eid == EID_TIME) {
    count(Counter.SBI_TIME);
    if (fid != 0) { ret(SBI_ERR_NOT_SUPPORTED, 0); return; }
    setTimer(a0);
    ret(SBI_SUCCESS, 0);
    return;
  }
  if (eid == EID_IPI) {
    count(Counter.SBI_IPI);
    if (fid != 0) { ret(SBI_ERR_NOT_SUPPORTED, 0); return; }
    const sel = maskSelectsHart0(a0, a1);
    if (sel < 0) { ret(SBI_ERR_INVALID_PARAM, 0); return; }
    if (sel == 1) {
      // The caller's own supervisor software interrupt: the hart's, or in a VM the guest's.
      if (machine.mode == MODE_NATIVE) hart.mipSw |= MIP_SSIP; else vcpuRaiseSoft();
      hart.chunkBreak = 1;
    }
    ret(SBI_SUCCESS, 0);
    return;
  }
  if (eid == EID_RFENCE) {
    count(Counter.SBI_RFENCE);
    if (fid > 2) { ret(SBI_ERR_NOT_SUPPORTED, 0); return; } // HFENCE variants need H
    const sel = maskSelectsHart0(a0, a1);
    if (sel < 0) { ret(SBI_ERR_INVALID_PARAM, 0); return; }
    if (sel == 1 && fid != 0) { tlbFlushAll(); hart.chunkBreak = 1; }
    ret(SBI_SUCCESS, 0);
    return;
  }
  if (eid == EID_HSM) {
    count(Counter.SBI_HSM);
    if (fid > 3) { ret(SBI_ERR_NOT_SUPPORTED, 0); return; }
    switch (<u32>fid) {
      case 0: // hart_start: hart 0 is running; no other hart exists
        ret(a0 == 0 ? SBI_ERR_ALREADY_AVAILABLE : SBI_ERR_INVALID_PARAM, 0);
        break;
      case 1: // hart_stop: stopping the only hart ends the machine
        halt(HALT_PASS, 0);
        ret(SBI_SUCCESS, 0);
        break;
      case 2: // hart_get_status
        if (a0 == 0) ret(SBI_SUCCESS, HSM_STARTED); else ret(SBI_ERR_INVALID_PARAM, 0);
        break;
      default: // hart_suspend: only the default retentive suspend, which behaves as WFI
        if (a0 != 0) {
          // Table 26: 0x80000000 (default non-retentive) and the platform-specific ranges
          // exist but are not implemented here; every other type is reserved.
          const platform = (a0 >= 0x1000_0000 && a0 <= 0x7FFF_FFFF) || (a0 >= 0x9000_0000 && a0 <= 0xFFFF_FFFF);
          ret(a0 == 0x8000_0000 || platform ? SBI_ERR_NOT_SUPPORTED : SBI_ERR_INVALID_PARAM, 0);
        } else {
          hart.wfi = 1;
          hart.chunkBreak = 1;
          ret(SBI_SUCCESS, 0);
        }
    }
    return;
  }
  if (eid == EID_SRST) {
    count(Counter.SBI_SRST);
    if (fid != 0) { ret(SBI_ERR_NOT_SUPPORTED, 0); return; }
    if (a0 > SRST_WARM_REBOOT && a0 < 0xF000_0000) { ret(SBI_ERR_INVALID_PARAM, 0); return; }
    if (a0 > SRST_WARM_REBOOT || (a1 > SRST_REASON_FAILURE && a1 < 0xE000_0000)) {
      ret(a0 > SRST_WARM_REBOOT ? SBI_ERR_NOT_SUPPORTED : SBI_ERR_INVALID_PARAM, 0);
      return;
    }
    if (a0 == SRST_SHUTDOWN) halt(a1 == SRST_REASON_NONE ? HALT_PASS : HALT_FAIL, a1);
    else halt(HALT_RESET, a0 == SRST_COLD_REBOOT ? 0 : 1);
    ret(SBI_SUCCESS, 0);
    return;
  }
  if (eid == EID_DBCN) {
    count(Counter.SBI_DBCN);
    if (fid == 0 || fid == 1) {
      // console_write / console_read (num_bytes, base_addr_lo, base_addr_hi): the buffer must
      // lie inside the caller's RAM (SBI section 12.1: SBI_ERR_INVALID_PARAM otherwise). On RV64
      // base_addr_hi carries bits above 64 and must be zero. In a VM the address is
      // guest-physical and every byte goes through the VM's gPA->hPA map.
      const len = a0;
      if (a2 != 0 || !callerRange(a1, len)) { ret(SBI_ERR_INVALID_PARAM, 0); return; }
      // pv: the hypervisor must not write a validated page table for the guest (hv/pvmmu.ts).
      if (fid == 1 && machine.mode == MODE_PV && !pvRangeWritable(a1, len)) { ret(SBI_ERR_INVALID_PARAM, 0); return; }
      let n: u64 = 0;
      if (fid == 0) {
        n = consoleWrite(a1, len);
      } else {
        while (n < len && rxAvailable() != 0) {
          const b = <u8>rxGet();
          if (machine.mode == MODE_NATIVE || machine.mode == MODE_PV) store<u8>(callerByte(a1 + n), b);
          else guestStoreByte(a1 + n, b); // a guest page table written this way updates its shadows
          n++;
        }
        count(Counter.UART_RX_BYTES, n);
      }
      ret(SBI_SUCCESS, n);
      return;
    }
    if (fid == 2) {
      // console_write_byte
      txPut(<u32>(a0 & 0xFF));
      count(Counter.UART_TX_BYTES);
      if (txFree() < 2048) hart.chunkBreak = 1;
      ret(SBI_SUCCESS, 0);
      return;
    }
    ret(SBI_ERR_NOT_SUPPORTED, 0);
    return;
  }
  if (eid == EID_HVLAB && machine.mode != MODE_NATIVE) {
    // The hvlab PV extension (docs/pv-abi.md; hv/pv.ts). Its timer and console functions
    // are the TIME and DBCN services under other IDs, so they are served here.
    count(Counter.SBI_HVLAB);
    if (!pvHas(fid)) { ret(SBI_ERR_NOT_SUPPORTED, 0); return; }
    if (fid == PV_FID_SET_TIMER) {
      count(Counter.PV_SET_TIMER);
      setTimer(a0);
      ret(SBI_SUCCESS, 0);
    } else if (fid == PV_FID_CONSOLE_WRITE) {
      // console_write(gpa, len): the buffer must be the caller's RAM.
      count(Counter.PV_CONSOLE_WRITE);
      if (!callerRange(a0, a1)) { count(Counter.PV_REFUSED); ret(SBI_ERR_INVALID_ADDRESS, 0); return; }
      ret(SBI_SUCCESS, consoleWrite(a0, a1));
    } else {
      pvCall(fid);
    }
    return;
  }
  count(Counter.SBI_OTHER);
  ret(SBI_ERR_NOT_SUPPORTED, 0);
}
