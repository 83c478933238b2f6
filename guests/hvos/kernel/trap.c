// Traps: system calls, interrupts and exceptions.
//
// From U-mode, uservec (trapvec.S) saves the user registers in the process's
// trap frame and calls usertrap() on its kernel stack. Traps taken while in
// the kernel (only interrupts in the idle loop, or kernel bugs) go through
// kernelvec to kerneltrap().
#include "defs.h"
#include "proc.h"
#include "pvops.h"

void trap_init(void)
{
    pv.write_stvec((u64)kernelvec);
    pv.write_sie(SIE_SEIE | SIE_STIE);
}

// Returns 1 if this was a timer interrupt (the running process's slice ended).
static int handle_interrupt(u64 code)
{
    if (code == IRQ_S_TIMER) {
        timer_interrupt();
        return 1;
    }
    if (code == IRQ_S_EXT) {
        u32 irq = plic_claim();
        if (irq == plat.uart_irq)
            uart_intr();
        else if (irq)
            devices_intr(irq);
        if (irq)
            plic_complete(irq);
        return 0;
    }
    if (code == IRQ_S_SOFT) {            // an event from another VM (split.c; pv and PV-on-HVM)
        split_intr();
        return 0;
    }
    kprintf("hvos: unexpected interrupt %lu\n", code);
    return 0;
}

void usertrap(struct trapframe *tf)
{
    struct proc *p = curproc;
    pv.write_stvec((u64)kernelvec);
    tf->epc = pv.read_sepc();
    u64 cause = pv.read_scause();

    if (cause & SCAUSE_INTERRUPT) {
        if (handle_interrupt(cause & ~SCAUSE_INTERRUPT) && !p->killed)
            yield();
    } else if (cause == EXC_ECALL_U) {
        tf->epc += 4;                    // resume after the ecall
        syscall(tf);
    } else {
        // A user fault hvos does not handle (no demand paging): kill the
        // process, and say why. For page faults stval is the address.
        u64 stval = pv.read_stval();
        if (cause == EXC_LOAD_PAGE_FAULT || cause == EXC_STORE_PAGE_FAULT ||
            cause == EXC_INST_PAGE_FAULT || cause == EXC_LOAD_ACCESS ||
            cause == EXC_STORE_ACCESS || cause == EXC_INST_ACCESS ||
            cause == EXC_LOAD_MISALIGNED || cause == EXC_STORE_MISALIGNED)
            kprintf("hvos: killed pid %d (%s): %s at address 0x%lx, pc 0x%lx\n",
                    p->pid, p->name, fault_name(cause), stval, tf->epc);
        else
            kprintf("hvos: killed pid %d (%s): %s at pc 0x%lx\n",
                    p->pid, p->name, fault_name(cause), tf->epc);
        p->killed = STATUS_FAULT;
    }
    if (p->killed)
        proc_exit(p->killed);
    user_return(p);
}

void user_return(struct proc *p)
{
    pv.return_to_user(&p->tf);
}

void kerneltrap(void)
{
    u64 cause = pv.read_scause();
    if (!(cause & SCAUSE_INTERRUPT))
        panic("kerneltrap: %s at pc 0x%lx, stval 0x%lx", fault_name(cause),
              pv.read_sepc(), pv.read_stval());
    handle_interrupt(cause & ~SCAUSE_INTERRUPT);
}
