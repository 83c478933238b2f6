// The paravirtualization seam: one table of every privileged operation the
// kernel performs, after Linux's pv_ops. The rest of the kernel never writes a
// CSR, a PTE, or executes sfence.vma/sret/wfi itself: it calls pv.<op>().
//
// Today the only implementation is pvops_native.c (real instructions, for
// S-mode on bare metal or under hardware-assisted virtualization). A PV
// implementation (hypercalls into hvlab's PV extension) installs a different
// table in pvops_init() without touching any other file.
#ifndef HVOS_PVOPS_H
#define HVOS_PVOPS_H
#include "riscv.h"

struct trapframe;

struct pv_ops {
    const char *name;

    // --- memory management ---
    void (*set_satp)(u64 satp);                 // switch address space
    u64  (*get_satp)(void);
    void (*set_pte)(pte_t *ptep, pte_t pte);    // every store to a live page table
    void (*flush_tlb_page)(u64 va, u64 asid);   // sfence.vma va, asid
    void (*flush_tlb_asid)(u64 asid);           // sfence.vma zero, asid
    void (*flush_tlb_all)(void);                // sfence.vma

    // --- trap state ---
    u64  (*read_sstatus)(void);
    void (*sstatus_set)(u64 bits);
    void (*sstatus_clear)(u64 bits);
    void (*write_sie)(u64 bits);
    void (*write_stvec)(u64 addr);
    void (*write_sscratch)(u64 v);
    u64  (*read_sepc)(void);
    void (*write_sepc)(u64 v);
    u64  (*read_scause)(void);
    u64  (*read_stval)(void);
    // Enter U-mode with the registers in tf; never returns.
    void (*return_to_user)(struct trapframe *tf) __attribute__((noreturn));

    // --- time and idling ---
    u64  (*read_time)(void);                    // the time CSR, in timebase ticks
    void (*set_timer)(u64 deadline);            // one timer interrupt at `deadline`
    void (*idle)(void);                         // wait for an interrupt and take it

    // --- console ---
    void (*console_putc)(int c);
};

extern struct pv_ops pv;

void pvops_init(void);   // choose the implementation for this platform

#endif
