/* counteren.S: u_call, a way for an S-mode kernel to run a function in U-mode and get back.
 *
 * u64 u_call(u64 (*fn)(void))
 *   Saves ra and sp, then sret into fn in U-mode with ra = u_exit. fn's return lands on
 *   u_exit, whose ecall the kernel's trap hook (counteren.c) turns into a return from u_call:
 *   it sets sepc = u_back, SPP = S, and restores sp and ra. */
#include "encoding.h"

    .text
    .globl u_call
u_call:
    la      t0, u_saved
    sd      ra, 0(t0)
    sd      sp, 8(t0)
    csrw    sepc, a0
    li      t0, MSTATUS_SPP
    csrc    sstatus, t0
    la      ra, u_exit
    sret

    .globl u_exit
u_exit:
    /* a0 holds fn's result; the kernel's hook returns it from u_call. */
    li      a7, 0x55
    ecall
1:  j       1b

    .globl u_back
u_back:
    ret

    .data
    .globl u_saved
    .balign 8
u_saved:
    .dword 0, 0
