// RISC-V names: CSR bits, trap causes and the Sv39 page-table format, as the
// privileged specification (v1.12, "Supervisor-Level ISA", chapter 5) names them.
//
// The csr_* macros are used ONLY by pvops_native.c: every other file reaches
// privileged state through the pv table (pvops.h), so that a paravirtualized
// implementation can replace them.
#ifndef HVOS_RISCV_H
#define HVOS_RISCV_H
#include "../lib/types.h"

// sstatus (§5.1.1)
#define SSTATUS_SIE   (1UL << 1)    // S-mode interrupts enabled
#define SSTATUS_SPIE  (1UL << 5)    // SIE before the trap; sret restores it
#define SSTATUS_SPP   (1UL << 8)    // mode before the trap: 0 = U, 1 = S
#define SSTATUS_SUM   (1UL << 18)   // S-mode may access U pages
#define SSTATUS_MXR   (1UL << 19)

// sie / sip (§5.1.3)
#define SIE_SSIE      (1UL << 1)    // software
#define SIE_STIE      (1UL << 5)    // timer
#define SIE_SEIE      (1UL << 9)    // external (PLIC)

// scause (§5.1.8): the top bit says "interrupt"; the rest is the code.
#define SCAUSE_INTERRUPT (1UL << 63)
#define IRQ_S_SOFT    1
#define IRQ_S_TIMER   5
#define IRQ_S_EXT     9

#define EXC_INST_MISALIGNED   0
#define EXC_INST_ACCESS       1
#define EXC_ILLEGAL_INST      2
#define EXC_BREAKPOINT        3
#define EXC_LOAD_MISALIGNED   4
#define EXC_LOAD_ACCESS       5
#define EXC_STORE_MISALIGNED  6
#define EXC_STORE_ACCESS      7
#define EXC_ECALL_U           8
#define EXC_ECALL_S           9
#define EXC_INST_PAGE_FAULT   12
#define EXC_LOAD_PAGE_FAULT   13
#define EXC_STORE_PAGE_FAULT  15

// satp (§5.1.11): MODE[63:60] ASID[59:44] PPN[43:0]
#define SATP_MODE_SV39   (8UL << 60)
#define SATP_ASID_SHIFT  44
#define SATP_ASID_MASK   0xFFFFUL
#define MAKE_SATP(root_pa, asid) \
    (SATP_MODE_SV39 | ((u64)(asid) << SATP_ASID_SHIFT) | ((u64)(root_pa) >> PGSHIFT))

// Sv39 (§5.4)
#define PGSIZE   4096UL
#define PGSHIFT  12
#define MEGAPAGE (PGSIZE << 9)          // 2 MiB: a leaf at level 1
#define PGROUNDUP(a)   (((a) + PGSIZE - 1) & ~(PGSIZE - 1))
#define PGROUNDDOWN(a) ((a) & ~(PGSIZE - 1))

// A page-table entry:
//  63    54 53        10 9  8 7 6 5 4 3 2 1 0
// | zero   |    PPN     |RSW |D|A|G|U|X|W|R|V|
#define PTE_V (1UL << 0)   // valid
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)   // user accessible (and, without SUM, kernel inaccessible)
#define PTE_G (1UL << 5)   // global: in every address space, not tagged by ASID
#define PTE_A (1UL << 6)   // accessed
#define PTE_D (1UL << 7)   // dirty
#define PTE_LEAF_BITS (PTE_R | PTE_W | PTE_X)
#define PTE_FLAG_BITS 0x3FFUL           // V, R, W, X, U, G, A, D and the two RSW bits

#define PA2PTE(pa)  ((((u64)(pa)) >> PGSHIFT) << 10)
#define PTE2PA(pte) (((pte) >> 10) << PGSHIFT)

// The 9-bit index into the table at `level` (2 = root) for virtual address va.
#define PXSHIFT(level) (PGSHIFT + 9 * (level))
#define PX(level, va)  ((((u64)(va)) >> PXSHIFT(level)) & 0x1FF)

typedef u64 pte_t;
typedef u64 *pagetable_t;   // 512 PTEs

// CSR access, for pvops_native.c only.
#define csr_read(csr) ({ u64 __v; asm volatile("csrr %0, " #csr : "=r"(__v)); __v; })
#define csr_write(csr, v) asm volatile("csrw " #csr ", %0" :: "rK"((u64)(v)) : "memory")
#define csr_set(csr, v)   asm volatile("csrs " #csr ", %0" :: "rK"((u64)(v)) : "memory")
#define csr_clear(csr, v) asm volatile("csrc " #csr ", %0" :: "rK"((u64)(v)) : "memory")

#endif
