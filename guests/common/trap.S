/* trap.S: M- and S-mode trap entry, and run_in_mode (call a function in a
 * lower privilege mode and come back to M-mode).
 *
 * Each trap entry swaps sp with its scratch CSR, which holds the top of a
 * dedicated trap stack, and saves x1..x31 into a struct frame (regs[i] = xi)
 * that the C handler may edit (including regs[2], the interrupted sp).
 * Traps taken while a handler runs are not supported. */
#include "encoding.h"

#define FRAME_SIZE (32 * 8)

.macro SAVE_REGS scratch
    csrrw   sp, \scratch, sp
    addi    sp, sp, -FRAME_SIZE
    sd      x1, 1*8(sp)
    sd      x3, 3*8(sp)
    sd      x4, 4*8(sp)
    sd      x5, 5*8(sp)
    sd      x6, 6*8(sp)
    sd      x7, 7*8(sp)
    sd      x8, 8*8(sp)
    sd      x9, 9*8(sp)
    sd      x10, 10*8(sp)
    sd      x11, 11*8(sp)
    sd      x12, 12*8(sp)
    sd      x13, 13*8(sp)
    sd      x14, 14*8(sp)
    sd      x15, 15*8(sp)
    sd      x16, 16*8(sp)
    sd      x17, 17*8(sp)
    sd      x18, 18*8(sp)
    sd      x19, 19*8(sp)
    sd      x20, 20*8(sp)
    sd      x21, 21*8(sp)
    sd      x22, 22*8(sp)
    sd      x23, 23*8(sp)
    sd      x24, 24*8(sp)
    sd      x25, 25*8(sp)
    sd      x26, 26*8(sp)
    sd      x27, 27*8(sp)
    sd      x28, 28*8(sp)
    sd      x29, 29*8(sp)
    sd      x30, 30*8(sp)
    sd      x31, 31*8(sp)
    csrr    t0, \scratch
    sd      t0, 2*8(sp)
    sd      zero, 0(sp)
.endm

.macro RESTORE_REGS scratch
    addi    t0, sp, FRAME_SIZE
    csrw    \scratch, t0
    ld      x1, 1*8(sp)
    ld      x3, 3*8(sp)
    ld      x4, 4*8(sp)
    ld      x5, 5*8(sp)
    ld      x6, 6*8(sp)
    ld      x7, 7*8(sp)
    ld      x8, 8*8(sp)
    ld      x9, 9*8(sp)
    ld      x10, 10*8(sp)
    ld      x11, 11*8(sp)
    ld      x12, 12*8(sp)
    ld      x13, 13*8(sp)
    ld      x14, 14*8(sp)
    ld      x15, 15*8(sp)
    ld      x16, 16*8(sp)
    ld      x17, 17*8(sp)
    ld      x18, 18*8(sp)
    ld      x19, 19*8(sp)
    ld      x20, 20*8(sp)
    ld      x21, 21*8(sp)
    ld      x22, 22*8(sp)
    ld      x23, 23*8(sp)
    ld      x24, 24*8(sp)
    ld      x25, 25*8(sp)
    ld      x26, 26*8(sp)
    ld      x27, 27*8(sp)
    ld      x28, 28*8(sp)
    ld      x29, 29*8(sp)
    ld      x30, 30*8(sp)
    ld      x31, 31*8(sp)
    ld      x2, 2*8(sp)
.endm

    .text
    .balign 64      /* mtvec vectored mode needs a 4-byte aligned base; 64 is ample */
    .globl mtrap_entry
mtrap_entry:
    SAVE_REGS mscratch
    mv      a0, sp
    call    mtrap_handler
    RESTORE_REGS mscratch
    mret

    .balign 64
    .globl strap_entry
strap_entry:
    SAVE_REGS sscratch
    mv      a0, sp
    call    strap_handler
    RESTORE_REGS sscratch
    sret

/* u64 run_in_mode(u64 mode, u64 (*fn)(u64), u64 arg)
 * Runs fn(arg) in privilege `mode` (PRV_U or PRV_S) on the current stack and
 * returns its result in M-mode. fn's return executes `ecall` with
 * a7 = SYS_RETURN_M; the M handler then resumes at run_in_mode_return. */
    .globl run_in_mode
run_in_mode:
    li      a3, 0
    /* fall through */

/* u64 run_in_mode_va(u64 mode, u64 (*fn)(u64), u64 arg, u64 delta)
 * As run_in_mode, but the trampoline runs at its address + delta: for code
 * that must execute at an alias (e.g. a U-mode mapping of the image). */
    .globl run_in_mode_va
run_in_mode_va:
    addi    sp, sp, -112
    sd      ra, 0(sp)
    sd      s0, 8(sp)
    sd      s1, 16(sp)
    sd      s2, 24(sp)
    sd      s3, 32(sp)
    sd      s4, 40(sp)
    sd      s5, 48(sp)
    sd      s6, 56(sp)
    sd      s7, 64(sp)
    sd      s8, 72(sp)
    sd      s9, 80(sp)
    sd      s10, 88(sp)
    sd      s11, 96(sp)
    la      t0, run_in_mode_sp
    sd      sp, 0(t0)
    li      t1, MSTATUS_MPP
    csrc    mstatus, t1
    slli    a0, a0, MSTATUS_MPP_SHIFT
    csrs    mstatus, a0
    la      t0, mode_trampoline
    add     t0, t0, a3
    csrw    mepc, t0
    mv      s0, a1
    mv      a0, a2
    mret
    .globl mode_trampoline
mode_trampoline:
    jalr    s0
    li      a7, SYS_RETURN_M
    ecall
    /* not reached */
1:  j       1b

    .globl run_in_mode_return
run_in_mode_return:
    la      t0, run_in_mode_sp
    ld      sp, 0(t0)
    /* An S handler may have forwarded the return ecall: reset its stack. */
    la      t0, __strap_stack_top
    csrw    sscratch, t0
    ld      ra, 0(sp)
    ld      s0, 8(sp)
    ld      s1, 16(sp)
    ld      s2, 24(sp)
    ld      s3, 32(sp)
    ld      s4, 40(sp)
    ld      s5, 48(sp)
    ld      s6, 56(sp)
    ld      s7, 64(sp)
    ld      s8, 72(sp)
    ld      s9, 80(sp)
    ld      s10, 88(sp)
    ld      s11, 96(sp)
    addi    sp, sp, 112
    ret

    .bss
    .balign 8
run_in_mode_sp: .dword 0
