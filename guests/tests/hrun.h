/* hrun.h: running code in VS or VU and coming back to M-mode, for the H guests (hext, hfpu).
 * run_v() sets mstatus.MPV and enters the function through run_in_mode_va (common/trap.S) at
 * the VS/VU alias of vtrampoline, which calls it and then makes the SYS_RETURN_V ecall;
 * v_return(), called first from the guest's M-mode trap hook, turns that ecall into the
 * return to run_in_mode's caller (M-mode, MPV and MPRV cleared). */
#ifndef GUEST_HRUN_H
#define GUEST_HRUN_H

#include "rt.h"
#include "hext.h"

#define SYS_RETURN_V 0x5e7a12

extern char mode_trampoline[], run_in_mode_return[];
asm(".text\n.globl vtrampoline\nvtrampoline:\n\tjalr s0\n\tli a7, " STR(SYS_RETURN_V)
    "\n\tecall\n1:\tj 1b\n");
extern char vtrampoline[];

/* Call fn(arg) in VS (PRV_S) or VU (PRV_U) and come back to M-mode. */
static inline u64 run_v(u64 mode, u64 (*fn)(u64), u64 arg)
{
    csr_set(mstatus, MSTATUS_MPV);
    return run_in_mode_va(mode, fn, arg, (u64)vtrampoline - (u64)mode_trampoline);
}

/* The SYS_RETURN_V ecall from VS or VU: resume M-mode at run_in_mode's return. 1 if it was. */
static inline int v_return(struct frame *f, u64 cause)
{
    if ((cause == CAUSE_ECALL_U || cause == CAUSE_ECALL_VS) && f->regs[17] == SYS_RETURN_V) {
        csr_write(mepc, (u64)run_in_mode_return);
        csr_set(mstatus, MSTATUS_MPP);
        csr_clear(mstatus, MSTATUS_MPRV | MSTATUS_MPV);
        return 1;
    }
    return 0;
}

#endif
