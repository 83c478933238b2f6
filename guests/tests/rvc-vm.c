/* rvc-vm: compressed code under the hypervisor. An S-mode kernel for the builtin
 * firmware (like the hostile guests, whose trap recording it shares), built with
 * -march=rv64imac, that runs unchanged natively and in trap-emulate, hvm-shadow and
 * hvm-nested. In a VM every device access below is an exit the hypervisor emulates,
 * so it must decode compressed loads and stores and step the pc by 2:
 *   - C.SW/C.LW, C.SWSP/C.LWSP to PLIC priority registers, C.LD of CLINT mtime;
 *   - a 4-byte LW to the PLIC split over two pages (the hypervisor reads it half by
 *     half), and a C.SW to the PLIC in the last halfword of a page;
 *   - a 4-byte instruction split at the end of RAM: a fetch access fault whose stval is
 *     the end of RAM (the second half), sepc its first half;
 *   - under the kernel's own Sv39 tables: a split instruction over two mapped pages runs
 *     (in trap-emulate and hvm-shadow both halves fill shadow entries), and with the second
 *     page unmapped the kernel gets a fetch page fault with stval = the second page. */
#include "hostile.h"

#define PLIC_PRIO(n) (PLIC_BASE + 4 * (n))

/* Pages of code written at run time; the instruction under test straddles two. */
static u8 code[3 * PAGE_SIZE] __attribute__((aligned(4096)));
static u64 root[512] __attribute__((aligned(4096)));
static u64 l1[512] __attribute__((aligned(4096)));
static u64 l0[512] __attribute__((aligned(4096)));

#define LW_A0_4_A1 0x0045a503u   /* lw a0, 4(a1) */
#define C_SW_A0_8_A1 0xc588u     /* c.sw a0, 8(a1) */
#define C_JR_RA 0x8082u          /* ret */

static void put16(u64 a, u16 v) { *(volatile u16 *)a = v; }

/* Call the code at `at` with a0, a1; returns a0. */
static u64 call2(u64 at, u64 a0, u64 a1)
{
    asm volatile("fence.i" ::: "memory");
    return ((u64 (*)(u64, u64))at)(a0, a1);
}

static void compressed_mmio(void)
{
    u64 v;
    arm();
    asm volatile("mv a5, %1\n\tli a4, 5\n\tc.sw a4, 4(a5)\n\tli a4, 0\n\tc.lw a4, 4(a5)\n\tmv %0, a4"
                 : "=r"(v) : "r"(PLIC_BASE) : "a4", "a5", "memory");
    check("c.sw-c.lw-plic-priority-1", v, 5);
    asm volatile("mv t0, sp\n\tmv sp, %1\n\tli a4, 3\n\tc.swsp a4, 8(sp)\n\tli a5, 0\n\t"
                 "c.lwsp a5, 8(sp)\n\tmv sp, t0\n\tmv %0, a5"
                 : "=r"(v) : "r"(PLIC_BASE) : "t0", "a4", "a5", "memory");
    check("c.swsp-c.lwsp-plic-priority-2", v, 3);
    check("lw-plic-priority-2", lw32(PLIC_PRIO(2)), 3);
    asm volatile("mv a5, %1\n\tli a4, 0\n\tc.ld a4, 0(a5)\n\tmv %0, a4" : "=r"(v) : "r"(CLINT_MTIME) : "a4", "a5", "memory");
    check_true("c.ld-clint-mtime-nonzero", v != 0);
    check_no_fault("compressed-mmio-no-fault");
}

static void page_crossing(void)
{
    u64 p0 = (u64)code, p1 = p0 + PAGE_SIZE;
    arm();
    /* lw a0, 4(a1) split over the two pages, then ret. */
    sw32(PLIC_PRIO(1), 6);
    put16(p1 - 2, LW_A0_4_A1 & 0xffff);
    put16(p1, LW_A0_4_A1 >> 16);
    put16(p1 + 2, C_JR_RA);
    check("split-lw-plic", call2(p1 - 2, 0, PLIC_BASE), 6);
    /* c.sw a0, 8(a1) in the last halfword of the page (priority 2 = 4), then ret. */
    put16(p1 - 2, C_SW_A0_8_A1);
    put16(p1, C_JR_RA);
    call2(p1 - 2, 4, PLIC_BASE);
    check("page-end-c.sw-plic", lw32(PLIC_PRIO(2)), 4);
    check_no_fault("page-crossing-no-fault");

    /* A 4-byte instruction whose second half is past the end of RAM. */
    put16(RAM_END - 2, LW_A0_4_A1 & 0xffff);
    arm();
    call2(RAM_END - 2, 0, PLIC_BASE);
    check_fault("split-at-ram-end-fetch-fault-stval-ram-end", CAUSE_FETCH_ACCESS, RAM_END);
    check("split-at-ram-end-sepc", h_epc, RAM_END - 2);
}

static u64 leaf(u64 pa, u64 perm) { return ((pa >> PAGE_SHIFT) << PTE_PPN_SHIFT) | perm | PTE_V; }
static u64 table(void *t) { return (((u64)t >> PAGE_SHIFT) << PTE_PPN_SHIFT) | PTE_V; }

static void sv39_page_crossing(void)
{
    const u64 rwxad = PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
    const u64 base2m = (u64)code & ~((2UL << 20) - 1);
    u64 p1 = (u64)code + PAGE_SIZE, p2 = p1 + PAGE_SIZE;
    /* Devices by one gigapage, RAM by 2 MiB pages, and the 2 MiB around code by 4 KiB
     * pages, with page p2 left unmapped. */
    root[0] = leaf(0, PTE_R | PTE_W | PTE_A | PTE_D);
    root[2] = table(l1);
    for (u64 i = 0; i < 64; i++)
        l1[i] = leaf(RAM_BASE + (i << 21), rwxad);
    l1[(base2m - RAM_BASE) >> 21] = table(l0);
    for (u64 i = 0; i < 512; i++)
        l0[i] = leaf(base2m + (i << PAGE_SHIFT), rwxad);
    check_true("code-pages-in-one-2MiB", p2 + PAGE_SIZE <= base2m + (2UL << 20));
    l0[(p2 - base2m) >> PAGE_SHIFT] = 0;
    csr_write(satp, SATP_MODE_SV39 | ((u64)root >> PAGE_SHIFT));
    asm volatile("sfence.vma" ::: "memory");

    arm();
    put16(p1 - 2, LW_A0_4_A1 & 0xffff);
    put16(p1, LW_A0_4_A1 >> 16);
    put16(p1 + 2, C_JR_RA);
    sw32(PLIC_PRIO(1), 7);
    check("sv39-split-lw-plic", call2(p1 - 2, 0, PLIC_BASE), 7);
    check_no_fault("sv39-split-mapped-no-fault");

    put16(p2 - 2, LW_A0_4_A1 & 0xffff);
    arm();
    call2(p2 - 2, 0, PLIC_BASE);
    check_fault("sv39-split-unmapped-fetch-page-fault-stval-2nd-page", CAUSE_FETCH_PAGE_FAULT, p2);
    check("sv39-split-unmapped-sepc", h_epc, p2 - 2);

    csr_write(satp, 0);
    asm volatile("sfence.vma" ::: "memory");
}

int main(void)
{
    hostile_init();
    println("rvc-vm: compressed loads and stores to devices, fetch across pages");
    compressed_mmio();
    page_crossing();
    sv39_page_crossing();
    sw32(PLIC_PRIO(1), 0);
    sw32(PLIC_PRIO(2), 0);
    return summary();
}
