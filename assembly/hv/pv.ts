// The `pv` mode's virtual CPU and the hvlab PV extension of the SBI (docs/pv-abi.md), after
// Xen's 64-bit PV. The guest kernel runs in the hart's real U-mode and never executes a
// privileged instruction: it makes hypercalls (ECALLs the hypervisor intercepts) instead.
// Guest kernel and guest user both run in U-mode, told apart by the hypervisor (pv.priv) and
// kept apart by two roots: the kernel's (which also maps the user's pages) and the user's
// (which maps nothing of the kernel). A trap from guest user mode exits; the hypervisor
// *bounces* it to the handler the guest registered, with the trap information in the shared
// info page, and the guest returns with the iret hypercall.
//
// Virtual interrupts (the guest's timer, device interrupts) are pending bits in the shared
// page; the guest masks them with a store to the same page, never with a trap. They are
// delivered when the guest is in user mode, or in kernel mode with the mask clear (at the
// next exit), or by returning from the block hypercall.

import { Counter } from '../counter-ids';
import { count, hart, machine, rget, rset, MODE_PV, STOP_ERROR } from '../state';
import { CAUSE_INTERRUPT, IRQ_S_EXT, IRQ_S_SOFT, IRQ_S_TIMER } from '../riscv/cause';
import { FS_INITIAL, MIP_SEIP, MIP_SSIP, MIP_STIP, MSTATUS_FS, MSTATUS_FS_SHIFT, PRV_S, PRV_U } from '../riscv/bits';
import { gpaHost, GUEST_RAM_BASE, vm } from './vm';
import { hostActive, hostCurrent } from './host';
import { grantTableOp, PV_ERR_FAILED, splitVmGone } from './grant';
import { eventChannelOp, evtchnSharedRegistered } from './evtchn';
import { PV_BATCH_MAX, PV_ERR_DENIED, PV_ERR_INVALID_ADDRESS, PV_ERR_INVALID_PARAM, PV_M2P_VA, PV_OK,
  PV_P2M_VA, pvApplyRoot, pvBatchDone, pvMmuReset, pvmmu, pvPin, pvP2mFirstMfn, pvSetRoot, pvTlbFlush,
  pvRangeWritable, pvSetSharedFrame, pvUnpin, pvUpdateOne } from './pvmmu';

// Function IDs of the hvlab PV extension (EID 0x08484C56), docs/pv-abi.md.
export const PV_FID_INFO: u64 = 0;
export const PV_FID_VERSION: u64 = 1;
export const PV_FID_MMU_UPDATE: u64 = 2;
export const PV_FID_PIN: u64 = 3;
export const PV_FID_UNPIN: u64 = 4;
export const PV_FID_SET_ROOT: u64 = 5;
export const PV_FID_TLB_FLUSH: u64 = 6;
export const PV_FID_SET_CALLBACKS: u64 = 7;
export const PV_FID_IRET: u64 = 8;
export const PV_FID_SHARED_INFO: u64 = 9;
export const PV_FID_SET_TIMER: u64 = 10;
export const PV_FID_YIELD: u64 = 11;
export const PV_FID_BLOCK: u64 = 12;
export const PV_FID_CONSOLE_WRITE: u64 = 13;
export const PV_FID_SET_FP_STATE: u64 = 14;
export const PV_FID_GRANT_TABLE_OP: u64 = 15;
export const PV_FID_EVENT_CHANNEL_OP: u64 = 16;
export const PV_FID_COUNT: u64 = 17;

/**
 * ABI version 1.2 (1.1 added set_fp_state, 1.2 grant_table_op and event_channel_op): major in
 * bits 31:16, minor in 15:0.
 */
export const PV_ABI_VERSION: u64 = 0x0001_0002;

// The shared info page (docs/pv-abi.md "Shared info page"): u64 fields at these offsets.
const SH_MASK: u64 = 0;       // guest: nonzero = virtual interrupts masked
const SH_PENDING: u64 = 8;    // hypervisor: pending virtual interrupts (sip bits)
const SH_SCRATCH: u64 = 16;   // exchanged with sp when a user trap is bounced
const SH_CAUSE: u64 = 24;     // the last bounced trap: scause, sepc, stval
const SH_EPC: u64 = 32;
const SH_TVAL: u64 = 40;
const SH_FRAMES: u64 = 48;    // filled at registration: guest frames, and where p2m/m2p are
const SH_P2M_VA: u64 = 56;
const SH_M2P_VA: u64 = 64;
const SH_M2P_FIRST: u64 = 72;
const SH_M2P_ENTRIES: u64 = 80;

/** The iret frame: x1..x31 at 8 * n, the pc at 256 (hvos's struct trapframe). */
const FRAME_PC: u64 = 256;
const FRAME_BYTES: u64 = 264;

/** Stop reason detail (STOP_ERROR): a guest kernel trap with no handler registered. */
export const ERR_PV_NO_HANDLER: u32 = 17;

@unmanaged class PvCpu {
  /** The guest's privilege: PRV_S (its kernel) or PRV_U (its user). Both run in real U-mode. */
  priv: u32 = 0;
  /** In the block hypercall: waiting for a virtual interrupt. */
  blocked: u32 = 0;
  userEntry: u64 = 0;
  kernelEntry: u64 = 0;
  /** Guest-physical address of the shared info page; 0 before registration. */
  shared: u64 = 0;
  /** SSIP raised by an SBI IPI to itself. */
  softPending: u64 = 0;
}
export const pv = changetype<PvCpu>(memory.data(offsetof<PvCpu>(), 16));

const A0: u32 = 10;
const A1: u32 = 11;
const SP: u32 = 2;

export function pvReset(): void {
  memory.fill(changetype<usize>(pv), 0, offsetof<PvCpu>());
  pv.priv = PRV_S;
  // A reset VM starts with no grants or mappings (hv/grant.ts); its event ports stay.
  if (hostActive()) splitVmGone(hostCurrent(), false);
  pvMmuReset();
  pvApplyView();
  hart.priv = PRV_U;
  hart.mie = 0;
  // The PV ABI has no sstatus; the guest kernel's virtual FS is the real mstatus.FS while it
  // runs (set_fp_state writes it). It boots Initial, so FP is available to a kernel that never
  // calls set_fp_state, and goes Dirty with use (docs/pv-abi.md "Floating point").
  hart.mstatus = (hart.mstatus & ~MSTATUS_FS) | FS_INITIAL;
}

/** Point the hardware at the guest's current root; the hart always runs the guest in U-mode. */
export function pvApplyView(): void {
  pvApplyRoot(pv.priv == PRV_S);
  hart.priv = PRV_U;
}

@inline function sharedField(off: u64): usize { return gpaHost(pv.shared + off, 8); }

function pendingNow(): u64 {
  return pv.softPending | (hart.mipSw & MIP_STIP) | (hart.mipHw & MIP_SEIP);
}

function stopNoHandler(cause: u64, epc: u64): void {
  machine.stopReason = STOP_ERROR;
  machine.haltKind = ERR_PV_NO_HANDLER;
  machine.haltCode = cause;
  hart.mepc = epc;
  hart.chunkBreak = 1;
}

/** Record a trap in the shared page and mask virtual interrupts, as trap entry clears SIE. */
function recordTrap(cause: u64, tval: u64, epc: u64): void {
  store<u64>(sharedField(SH_CAUSE), cause);
  store<u64>(sharedField(SH_EPC), epc);
  store<u64>(sharedField(SH_TVAL), tval);
  store<u64>(sharedField(SH_MASK), 1);
}

/**
 * Bounce a trap of the guest's user mode to its user handler: switch to the kernel root,
 * exchange sp with the shared page's scratch slot (so the handler finds its stack, as with
 * sscratch), and enter the handler.
 */
function bounceUser(cause: u64, tval: u64, epc: u64): void {
  if (pv.shared == 0 || pv.userEntry == 0) { stopNoHandler(cause, epc); return; }
  recordTrap(cause, tval, epc);
  const scratch = sharedField(SH_SCRATCH);
  const sp = rget(SP);
  rset(SP, load<u64>(scratch));
  store<u64>(scratch, sp);
  pv.priv = PRV_S;
  hart.pc = pv.userEntry;
  count(Counter.PV_BOUNCES);
}

/** A trap of the guest kernel (a fault, or an unmasked virtual interrupt): its kernel handler. */
function bounceKernel(cause: u64, tval: u64, epc: u64): void {
  if (pv.shared == 0 || pv.kernelEntry == 0) { stopNoHandler(cause, epc); return; }
  recordTrap(cause, tval, epc);
  hart.pc = pv.kernelEntry;
  count(Counter.PV_KERNEL_TRAPS);
}

/**
 * After every exit: publish the pending virtual interrupts, deliver one if the guest can take
 * it now, and enable in the real mie exactly what could be delivered, so a masked interrupt
 * does not exit over and over.
 */
export function pvSyncInterrupts(): void {
  const pending = pendingNow();
  if (pv.shared != 0) store<u64>(sharedField(SH_PENDING), pending);
  const masked = pv.shared == 0 || load<u64>(sharedField(SH_MASK)) != 0;
  if (pending != 0) {
    // Priority SEI > SSI > STI (privileged spec 4.1.3).
    const code = (pending & MIP_SEIP) != 0 ? IRQ_S_EXT : (pending & MIP_SSIP) != 0 ? IRQ_S_SOFT : IRQ_S_TIMER;
    if (pv.blocked != 0) {
      // The block hypercall returns the pending bits; the guest handles them all.
      pv.blocked = 0;
      hart.wfi = 0;
      rset(A1, pending);
      pv.softPending = 0;
      count(Counter.PV_VIRQS);
    } else if (pv.priv == PRV_U || !masked) {
      if (pv.priv == PRV_U) bounceUser(CAUSE_INTERRUPT | code, 0, hart.pc);
      else bounceKernel(CAUSE_INTERRUPT | code, 0, hart.pc);
      if (code == IRQ_S_SOFT) pv.softPending = 0;
      count(Counter.PV_VIRQS);
      pvApplyView();
    }
  }
  const live = pv.priv == PRV_U || pv.blocked != 0 ||
    (pv.shared != 0 && load<u64>(sharedField(SH_MASK)) == 0);
  hart.mie = live ? (MIP_STIP | MIP_SEIP) : 0;
}

/** A trap of the guest that is not a hypercall (hv/exits.ts counts the exit). */
export function pvTrap(cause: u64, tval: u64, epc: u64): void {
  if (pv.priv == PRV_U) {
    count(Counter.EXIT_PV_BOUNCE);
    bounceUser(cause, tval, epc);
  } else {
    count(Counter.EXIT_PV_KERNEL_TRAP);
    bounceKernel(cause, tval, epc);
  }
}

/** Is the ECALL that just trapped a hypercall (from the guest kernel) rather than a system call? */
export function pvIsHypercall(): bool { return pv.priv == PRV_S; }

/** SBI IPI to itself. */
export function pvRaiseSoft(): void { pv.softPending = MIP_SSIP; }

function ret(err: i64, value: u64): void {
  rset(A0, <u64>err);
  rset(A1, value);
}

/** Is [gpa, gpa + len) guest RAM? */
function guestRange(gpa: u64, len: u64): bool {
  if (gpa < GUEST_RAM_BASE || gpa + len < gpa) return false;
  return (gpa - GUEST_RAM_BASE) + len <= (vm.guestFrames << 12);
}

function mmuUpdate(list: u64, n: u64): void {
  if (n > PV_BATCH_MAX) { refusedOr(PV_ERR_INVALID_PARAM); return; }
  if ((list & 7) != 0 || !guestRange(list, n * 16)) { refusedOr(PV_ERR_INVALID_ADDRESS); return; }
  let applied: u64 = 0;
  let err: i64 = PV_OK;
  for (; applied < n; applied++) {
    const e = list + applied * 16;
    err = pvUpdateOne(load<u64>(gpaHost(e, 8)), load<u64>(gpaHost(e + 8, 8)));
    if (err != PV_OK) break;
  }
  pvBatchDone();
  count(Counter.PV_PTE_UPDATES, applied);
  if (err != PV_OK) count(Counter.PV_REFUSED);
  ret(err, applied);
}

/** iret(frame, to_kernel): load x1..x31 and the pc from the frame; false if refused. */
function iret(frame: u64, toKernel: u64): i64 {
  if ((frame & 7) != 0 || !guestRange(frame, FRAME_BYTES)) return PV_ERR_INVALID_ADDRESS;
  if (toKernel > 1) return PV_ERR_INVALID_PARAM;
  if (toKernel == 0 && (pvmmu.userRoot == 0 || pv.shared == 0)) return PV_ERR_DENIED;
  const pc = load<u64>(gpaHost(frame + FRAME_PC, 8));
  // IALIGN = 16: a pc after a compressed instruction is only 2-aligned; an odd one is refused.
  if ((pc & 1) != 0) return PV_ERR_INVALID_PARAM;
  for (let r: u32 = 1; r < 32; r++) rset(r, load<u64>(gpaHost(frame + 8 * <u64>r, 8)));
  hart.pc = pc;
  if (toKernel == 0) {
    pv.priv = PRV_U;
    store<u64>(sharedField(SH_MASK), 0); // user mode always takes virtual interrupts
  } else {
    pv.priv = PRV_S;
  }
  return PV_OK;
}

/** Does function `fid` exist in this mode? (PV-on-HVM has the ones beside a hardware MMU.) */
export function pvHas(fid: u64): bool {
  if (fid >= PV_FID_COUNT) return false;
  // Grants and event channels are between VMs: a VM alone in its machine has no peer. In
  // every VM mode (PV-on-HVM, as Xen's HVM guests have them), with the shared page for the
  // event bitmaps (docs/pv-abi.md "PV-on-HVM").
  if (fid == PV_FID_GRANT_TABLE_OP || fid == PV_FID_EVENT_CHANNEL_OP) return hostActive();
  if (machine.mode == MODE_PV) return true;
  if (fid == PV_FID_SHARED_INFO) return hostActive();
  return fid == PV_FID_INFO || fid == PV_FID_VERSION || fid == PV_FID_SET_TIMER ||
    fid == PV_FID_CONSOLE_WRITE || fid == PV_FID_YIELD;
}

/**
 * A call to the PV extension with function `fid`. In `pv` every function exists; in the other
 * VM modes (PV-on-HVM) only those that make sense beside a hardware MMU: info, version, timer,
 * console, yield. Returns false for a function that does not exist here.
 */
export function pvCall(fid: u64): bool {
  const a0 = rget(10);
  const a1 = rget(11);
  const a2 = rget(12);
  if (!pvHas(fid)) return false;
  // FIDs up to 15 have a counter at PV_INFO + FID; 16 on sit at the end of the list.
  count(fid <= PV_FID_GRANT_TABLE_OP ? Counter.PV_INFO + <i32>fid : Counter.PV_EVENT_CHANNEL_OP);
  switch (<u32>fid) {
    case <u32>PV_FID_INFO: ret(PV_OK, machine.mode); break;
    case <u32>PV_FID_VERSION: ret(PV_OK, PV_ABI_VERSION); break;
    case <u32>PV_FID_MMU_UPDATE: mmuUpdate(a0, a1); break;
    case <u32>PV_FID_PIN: refusedOr(pvPin(a0, a1)); break;
    case <u32>PV_FID_UNPIN: refusedOr(pvUnpin(a0)); break;
    case <u32>PV_FID_SET_ROOT: refusedOr(pvSetRoot(a0, a1, a2)); break;
    case <u32>PV_FID_TLB_FLUSH: refusedOr(pvTlbFlush(a0, a1)); hart.chunkBreak = 1; break;
    case <u32>PV_FID_SET_CALLBACKS: {
      if ((a0 & 3) != 0 || (a1 & 3) != 0) { refusedOr(PV_ERR_INVALID_PARAM); break; }
      pv.userEntry = a0;
      pv.kernelEntry = a1;
      ret(PV_OK, 0);
      break;
    }
    case <u32>PV_FID_IRET: {
      const err = iret(a0, a1);
      if (err != PV_OK) refusedOr(err);
      break;
    }
    case <u32>PV_FID_SHARED_INFO: {
      if ((a0 & 4095) != 0 || !guestRange(a0, 4096)) { refusedOr(PV_ERR_INVALID_ADDRESS); break; }
      if (machine.mode == MODE_PV && !pvRangeWritable(a0, 4096)) { refusedOr(PV_ERR_DENIED); break; }
      // Where other VMs' event sends find its pending bits (hv/evtchn.ts); the pool may be full.
      if (!evtchnSharedRegistered(a0)) { refusedOr(PV_ERR_FAILED); break; }
      const p = gpaHost(a0, 4096);
      memory.fill(p, 0, 4096);
      // PV-on-HVM: only the event bitmaps are used; the rest describes pv's memory.
      if (machine.mode != MODE_PV) { ret(PV_OK, 0); break; }
      pv.shared = a0;
      pvSetSharedFrame(a0);
      store<u64>(p + <usize>SH_MASK, 1);
      store<u64>(p + <usize>SH_FRAMES, vm.guestFrames);
      store<u64>(p + <usize>SH_P2M_VA, PV_P2M_VA);
      store<u64>(p + <usize>SH_M2P_VA, PV_M2P_VA);
      store<u64>(p + <usize>SH_M2P_FIRST, pvP2mFirstMfn());
      store<u64>(p + <usize>SH_M2P_ENTRIES, pvmmu.m2pEntries);
      ret(PV_OK, 0);
      break;
    }
    case <u32>PV_FID_YIELD: ret(PV_OK, 0); break; // one vCPU: nothing else to run
    case <u32>PV_FID_BLOCK: {
      // Wait for a virtual interrupt whatever the mask; pvSyncInterrupts() ends the wait and
      // returns the pending bits in a1 (at once if some are pending already).
      ret(PV_OK, 0);
      pv.blocked = 1;
      hart.wfi = 1;
      hart.chunkBreak = 1;
      break;
    }
    case <u32>PV_FID_SET_FP_STATE: setFpState(a0); break;
    case <u32>PV_FID_GRANT_TABLE_OP: grantTableOp(a0); break;
    case <u32>PV_FID_EVENT_CHANNEL_OP: eventChannelOp(a0, a1, a2); break;
    default: return false; // SET_TIMER and CONSOLE_WRITE: hv/sbi.ts serves them (pvCallSbi)
  }
  return true;
}

/**
 * set_fp_state(fs): the guest kernel's virtual FS, as Xen PV's fpu_taskswitch stands in for
 * CR0.TS. `fs` is an mstatus.FS encoding (privileged spec 3.1.6.6: 0 Off, 1 Initial, 2 Clean,
 * 3 Dirty) and goes straight into the real mstatus.FS, which the hart checks (cpu/fpu.ts
 * fpEnabled: Off makes every F/D instruction and FP CSR illegal, an exception pvTrap bounces)
 * and moves to Dirty on a write; snapshots carry it with the rest of mstatus. Returns the
 * previous FS, so a kernel that set Clean learns whether the f registers changed since.
 */
function setFpState(fs: u64): void {
  if (fs > (MSTATUS_FS >> MSTATUS_FS_SHIFT)) { refusedOr(PV_ERR_INVALID_PARAM); return; }
  const previous = (hart.mstatus & MSTATUS_FS) >> MSTATUS_FS_SHIFT;
  hart.mstatus = (hart.mstatus & ~MSTATUS_FS) | (fs << MSTATUS_FS_SHIFT);
  ret(PV_OK, previous);
}

function refusedOr(err: i64): void {
  if (err != PV_OK) count(Counter.PV_REFUSED);
  ret(err, 0);
}
