/* encoding.h: RISC-V privileged-architecture constants used by the guests,
 * named as in the privileged spec (v1.12; section given beside each group).
 * Usable from C and assembly. */
#ifndef GUEST_ENCODING_H
#define GUEST_ENCODING_H

#ifdef __ASSEMBLER__
#define UL(x) x
#else
#define UL(x) x##UL
#endif

/* QEMU virt memory map. */
#define TEST_BASE        UL(0x100000)    /* SiFive test / poweroff */
#define CLINT_BASE       UL(0x2000000)
#define CLINT_MSIP       (CLINT_BASE + 0x0)
#define CLINT_MTIMECMP   (CLINT_BASE + 0x4000)
#define CLINT_MTIME      (CLINT_BASE + 0xbff8)
#define PLIC_BASE        UL(0xc000000)
#define UART_BASE        UL(0x10000000)
#define UART_IRQ         10
#define RAM_BASE         UL(0x80000000)

/* SiFive test device values. */
#define TEST_PASS        0x5555
#define TEST_FAIL        0x3333

/* mstatus / sstatus (3.1.6). */
#define MSTATUS_SIE      (UL(1) << 1)
#define MSTATUS_MIE      (UL(1) << 3)
#define MSTATUS_SPIE     (UL(1) << 5)
#define MSTATUS_UBE      (UL(1) << 6)
#define MSTATUS_MPIE     (UL(1) << 7)
#define MSTATUS_SPP      (UL(1) << 8)
#define MSTATUS_MPP_SHIFT 11
#define MSTATUS_MPP      (UL(3) << 11)
#define MSTATUS_FS       (UL(3) << 13)
#define MSTATUS_XS       (UL(3) << 15)
#define MSTATUS_MPRV     (UL(1) << 17)
#define MSTATUS_SUM      (UL(1) << 18)
#define MSTATUS_MXR      (UL(1) << 19)
#define MSTATUS_TVM      (UL(1) << 20)
#define MSTATUS_TW       (UL(1) << 21)
#define MSTATUS_TSR      (UL(1) << 22)
#define MSTATUS_UXL      (UL(3) << 32)
#define MSTATUS_SXL      (UL(3) << 34)
#define MSTATUS_SD       (UL(1) << 63)

#define PRV_U 0
#define PRV_S 1
#define PRV_M 3

/* mcause values (3.1.15, table 3.6). */
#define CAUSE_INTERRUPT        (UL(1) << 63)
#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS     1
#define CAUSE_ILLEGAL_INSN     2
#define CAUSE_BREAKPOINT       3
#define CAUSE_MISALIGNED_LOAD  4
#define CAUSE_LOAD_ACCESS      5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS     7
#define CAUSE_ECALL_U          8
#define CAUSE_ECALL_S          9
#define CAUSE_ECALL_M          11
#define CAUSE_FETCH_PAGE_FAULT 12
#define CAUSE_LOAD_PAGE_FAULT  13
#define CAUSE_STORE_PAGE_FAULT 15

/* Interrupt numbers (mip/mie bits, 3.1.9). */
#define IRQ_S_SOFT   1
#define IRQ_M_SOFT   3
#define IRQ_S_TIMER  5
#define IRQ_M_TIMER  7
#define IRQ_S_EXT    9
#define IRQ_M_EXT    11
#define MIP_SSIP (UL(1) << IRQ_S_SOFT)
#define MIP_MSIP (UL(1) << IRQ_M_SOFT)
#define MIP_STIP (UL(1) << IRQ_S_TIMER)
#define MIP_MTIP (UL(1) << IRQ_M_TIMER)
#define MIP_SEIP (UL(1) << IRQ_S_EXT)
#define MIP_MEIP (UL(1) << IRQ_M_EXT)

/* PMP (3.7): pmpaddr0 with all 54 bits set is a NAPOT region covering the
 * whole physical address space. */
#define PMP_R 0x01
#define PMP_W 0x02
#define PMP_X 0x04
#define PMP_A_NAPOT 0x18
#define PMPCFG_NAPOT_RWX (PMP_A_NAPOT | PMP_R | PMP_W | PMP_X)
#define PMP_ALL_NAPOT UL(0x3fffffffffffff)

/* Sv39 (4.4). */
#define SATP_MODE_BARE UL(0)
#define SATP_MODE_SV39 (UL(8) << 60)
#define PTE_V (UL(1) << 0)
#define PTE_R (UL(1) << 1)
#define PTE_W (UL(1) << 2)
#define PTE_X (UL(1) << 3)
#define PTE_U (UL(1) << 4)
#define PTE_G (UL(1) << 5)
#define PTE_A (UL(1) << 6)
#define PTE_D (UL(1) << 7)
#define PTE_PPN_SHIFT 10
#define PAGE_SHIFT 12
#define PAGE_SIZE (UL(1) << PAGE_SHIFT)

/* Magic a7 value of the ecall that ends run_in_mode (see trap.S). */
#define SYS_RETURN_M 0x5e7a11

#endif
