// VM exits: the entry from the CPU into the hypervisor. When the machine runs a VM
// (machine.mode != MODE_NATIVE) the core itself is the HS-mode software, so a trap whose
// target is HS-mode does not vector to stvec: cpu/trap.ts calls hvTrap() instead, with what
// the hardware would have written to the HS trap CSRs. hvTrap handles the exit and leaves the
// hart ready to resume the guest (or stops the machine with a reason).
//
// The exit path of one guest event, by mode (docs/hypervisor.md walks through them):
//   trap-emulate   every trap of the guest (kernel or user) exits: privileged instructions
//                  are emulated (vcpu.ts), page faults fill shadows (shadow.ts), user traps
//                  are reflected into the guest kernel, ECALLs from the kernel are hypercalls.

import { Counter } from '../counter-ids';
import { count, hart, machine, MODE_HVM_NESTED, MODE_HVM_SHADOW, MODE_PV, MODE_TRAP_EMULATE, STOP_ERROR } from '../state';
import { pvApplyView, pvIsHypercall, pvSyncInterrupts, pvTrap } from './pv';
import { hvmExit } from './hvm';
import { CAUSE_INTERRUPT, EXC_ECALL_U, EXC_ILLEGAL_INST, EXC_INST_ACCESS, EXC_INST_PAGE_FAULT,
  EXC_LOAD_ACCESS, EXC_LOAD_PAGE_FAULT, EXC_STORE_ACCESS, EXC_STORE_PAGE_FAULT, IRQ_S_EXT,
  IRQ_S_TIMER } from '../riscv/cause';
import { PRV_S } from '../riscv/bits';
import { KIND_FETCH, KIND_LOAD, KIND_STORE } from '../mmu/tlb';
import { sbiCall } from './sbi';
import { teView } from './shadow';
import { faultKind, shadowFault, SHADOW_HANDLED, SHADOW_PAGE_FAULT } from './fault';
import { retireEmulated } from './retire';
import { teApplyView, teEmulate, teReflect, teSyncInterrupts, vcpu, vMxr, vSum } from './vcpu';

// The exit log: the last EXIT_LOG_SIZE exits, for people (the web page's exit trace) and for
// debugging. Entry: cause u64 | epc u64 | tval u64 | instret u64 (32 bytes); the next slot is
// exitLogNext % EXIT_LOG_SIZE.
export const EXIT_LOG_SIZE: u32 = 256;
export const EXIT_LOG: usize = memory.data(<i32>EXIT_LOG_SIZE * 32, 16);
@unmanaged class ExitLogState { next: u64 = 0; }
const exitLog = changetype<ExitLogState>(memory.data(offsetof<ExitLogState>(), 16));
export function exitLogNext(): u64 { return exitLog.next; }

function logExit(cause: u64, epc: u64, tval: u64): void {
  const e = EXIT_LOG + <usize>(<u32>(exitLog.next % EXIT_LOG_SIZE) * 32);
  store<u64>(e, cause);
  store<u64>(e, epc, 8);
  store<u64>(e, tval, 16);
  store<u64>(e, hart.instret, 24);
  exitLog.next++;
}

/** Stop reason detail (machine.haltKind with STOP_ERROR) for an exit the hypervisor refuses. */
export const ERR_HV_UNHANDLED: u32 = 16;

function unhandled(cause: u64, epc: u64, tval: u64): void {
  machine.stopReason = STOP_ERROR;
  machine.haltKind = ERR_HV_UNHANDLED;
  machine.haltCode = cause;
  hart.mepc = epc;
  hart.mtval = tval;
  hart.chunkBreak = 1;
}

/**
 * A trap to HS-mode while a VM runs. `cause` as scause would get it (bit 63 for interrupts),
 * `tval` as stval, `epc` as sepc, `gpa4` as htval (guest-physical address >> 2 for guest-page
 * faults, else 0), `tinst` as htinst (the transformed instruction, or 0).
 */
export function hvTrap(cause: u64, tval: u64, epc: u64, gpa4: u64, tinst: u64): void {
  count(Counter.EXITS);
  logExit(cause, epc, tval);
  hart.chunkBreak = 1;
  if (machine.mode == MODE_TRAP_EMULATE) {
    teExit(cause, tval, epc);
    // The exit may have dropped shadow roots (a rebuild, an eviction): reload the current one.
    teApplyView();
    teSyncInterrupts();
    return;
  }
  if (machine.mode == MODE_HVM_SHADOW || machine.mode == MODE_HVM_NESTED) {
    hvmExit(cause, tval, epc, gpa4, tinst);
    return;
  }
  if (machine.mode == MODE_PV) {
    pvExit(cause, tval, epc);
    pvApplyView();
    pvSyncInterrupts();
    return;
  }
  unhandled(cause, epc, tval);
}

/**
 * pv: the guest kernel's ECALLs are hypercalls; every other trap (a user system call, a
 * fault, an interrupt) is bounced to the handler the guest registered (hv/pv.ts).
 */
function pvExit(cause: u64, tval: u64, epc: u64): void {
  hart.pc = epc;
  if ((cause & CAUSE_INTERRUPT) != 0) {
    // pvSyncInterrupts() delivers it as the guest can take it.
    count((cause & 63) == IRQ_S_TIMER ? Counter.EXIT_TIMER : Counter.EXIT_EXTERNAL);
    return;
  }
  if (<u32>cause == EXC_ECALL_U && pvIsHypercall()) {
    count(Counter.EXIT_SBI);
    hart.pc = epc + 4; // ECALL has no compressed form; iret replaces the pc
    sbiCall();
    retireEmulated();
    return;
  }
  pvTrap(cause, tval, epc);
}

function teExit(cause: u64, tval: u64, epc: u64): void {
  hart.pc = epc;
  if ((cause & CAUSE_INTERRUPT) != 0) {
    // The guest's timer or a device: teSyncInterrupts() injects it as the guest can take it.
    const code = <u32>(cause & 63);
    if (code == IRQ_S_TIMER) count(Counter.EXIT_TIMER);
    else if (code == IRQ_S_EXT) count(Counter.EXIT_EXTERNAL);
    return;
  }
  const code = <u32>cause;
  if (code == EXC_ECALL_U && vcpu.priv == PRV_S) {
    count(Counter.EXIT_SBI);
    sbiCall();
    hart.pc = epc + 4;
    retireEmulated();
    return;
  }
  if (code == EXC_ILLEGAL_INST && vcpu.priv == PRV_S) {
    teEmulate(<u32>tval, epc);
    return;
  }
  if (code == EXC_INST_PAGE_FAULT || code == EXC_LOAD_PAGE_FAULT || code == EXC_STORE_PAGE_FAULT) {
    teShadowFault(code, tval, epc);
    return;
  }
  count(Counter.EXIT_REFLECT);
  teReflect(cause, tval, epc);
}

/** A page fault on a shadow table (hv/fault.ts); the guest's own faults are reflected. */
function teShadowFault(code: u32, gva: u64, epc: u64): void {
  const sum = vSum();
  const r = shadowFault(vcpu.satp, teView(vcpu.priv, sum), vcpu.priv, sum, vMxr(), code, gva, epc);
  if (r == SHADOW_HANDLED) return;
  count(Counter.EXIT_REFLECT);
  teReflect(r == SHADOW_PAGE_FAULT ? code : accessFaultOf(faultKind(code)), gva, epc);
}

function accessFaultOf(kind: u32): u32 {
  return kind == KIND_FETCH ? EXC_INST_ACCESS : kind == KIND_LOAD ? EXC_LOAD_ACCESS : EXC_STORE_ACCESS;
}
