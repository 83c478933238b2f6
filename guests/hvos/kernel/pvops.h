// The paravirtualization seam: one table of every privileged operation the
// kernel performs, after Linux's pv_ops. The rest of the kernel never writes a
// CSR, a PTE, or executes sfence.vma/sret/wfi itself: it calls pv.<op>().
//
// pvops_native.c has the real instructions (S-mode on bare metal, under
// trap-and-emulate, under hardware assist); pvops_pv.c the hypercalls of
// hvlab's PV extension (the `pv` mode, docs/pv-abi.md), and the PV pieces
// that still help under hardware assist (console and timer: PV-on-HVM).
// pvops_init() picks one at boot.
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
    // Every read of a live page table: the PTE as the kernel built it (its
    // frame a physical address). Under pv the tables hold machine frames.
    pte_t (*read_pte)(pte_t *ptep);
    // `page` (zeroed) is about to become a page-table page; the tables of
    // the address space `root` are about to be freed (it is not running).
    void (*alloc_table)(pagetable_t page);
    void (*release_tables)(pagetable_t root);
    unsigned mmu_flags;                         // PVMMU_* below

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

// Map RAM with 4 KiB pages only: under pv every page-table page must be
// read-only in the kernel's map of RAM, page by page (as Xen PV requires).
#define PVMMU_4K_ONLY 1

extern struct pv_ops pv;

void pvops_init(void);   // choose the implementation for this platform
void pvops_cmdline(const char *args);   // apply the command line (`nopv`)
int  cmdline_has(const char *line, const char *word); // is `word` one of the command line's words

#endif
