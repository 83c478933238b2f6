/* hostile-pt: a kernel that reaches for memory that is not its own (see hostile.h).
 *
 *  - satp = Bare: loads, stores and jumps to physical addresses outside its RAM: below it,
 *    just above it (in a VM that is where the machine keeps other guest frames and, further
 *    on, the hypervisor's own area), far above it, in device space, at 0.
 *  - Sv39 with garbage in the tables: reserved bits, W without R, a non-leaf at level 0,
 *    misaligned 2 MiB and 1 GiB superpages, U pages from S, non-canonical addresses, leaves
 *    and intermediate tables whose PPN points outside its RAM (0x7000_0000, 0x7fff_f000,
 *    0x8800_0000, 0x8900_0000, 0x891f_f000, 0x9000_0000, 0xc000_0000, 2^48, the largest PPN,
 *    the UART as a page table), valid PTEs made garbage later, and a PTE rewritten by the
 *    SBI (DBCN console_read with the buffer on the PTE).
 * Each must be the right page fault or access fault for the guest, and a load that faults
 * must leave its destination register alone: nothing of the machine's memory is ever read. */
#include "hostile.h"

#define VA_L0   0x40000000UL                 /* root[1] -> l1[0] -> l0: 4 KiB slots */
#define VA_SLOT(i) (VA_L0 + (u64)(i) * PAGE_SIZE)
#define VA_2M(i) (VA_L0 + (u64)(i) * (2UL << 20)) /* root[1] -> l1[i] */
#define VA_1G(i) ((u64)(i) << 30)           /* root[i] */
#define PTE_LEAF(pa, flags) ((((u64)(pa)) >> 12 << PTE_PPN_SHIFT) | (flags) | PTE_V)
#define PTE_TABLE(pa) ((((u64)(pa)) >> 12 << PTE_PPN_SHIFT) | PTE_V)
#define RWAD (PTE_R | PTE_W | PTE_A | PTE_D)
#define RWXAD (RWAD | PTE_X)
#define PTE_RSVD60 (1UL << 60)

static u64 root[512] __attribute__((aligned(4096)));
static u64 l1[512] __attribute__((aligned(4096)));
static u64 l0[512] __attribute__((aligned(4096)));
static u64 page_a[512] __attribute__((aligned(4096)));
static u64 page_b[512] __attribute__((aligned(4096)));

static void sfence(void) { asm volatile("sfence.vma" ::: "memory"); }

static void bare_tests(void)
{
    /* Loads outside guest RAM: load access faults, stval = the address. */
    load_faults("bare-load-0", 0, CAUSE_LOAD_ACCESS, 0);
    load_faults("bare-load-below-ram", RAM_BASE - 8, CAUSE_LOAD_ACCESS, RAM_BASE - 8);
    load_faults("bare-load-7000_0000", 0x70000000UL, CAUSE_LOAD_ACCESS, 0x70000000UL);
    load_faults("bare-load-ram-end", RAM_END, CAUSE_LOAD_ACCESS, RAM_END);
    load_faults("bare-load-8900_0000", 0x89000000UL, CAUSE_LOAD_ACCESS, 0x89000000UL);
    load_faults("bare-load-891f_fff8", 0x891ffff8UL, CAUSE_LOAD_ACCESS, 0x891ffff8UL);
    load_faults("bare-load-9000_0000", 0x90000000UL, CAUSE_LOAD_ACCESS, 0x90000000UL);
    load_faults("bare-load-2^48", 1UL << 48, CAUSE_LOAD_ACCESS, 1UL << 48);
    load_faults("bare-load-top", ~7UL, CAUSE_LOAD_ACCESS, ~7UL);
    /* Stores likewise: store access faults, and nothing is written. */
    store_faults("bare-store-below-ram", RAM_BASE - 8, CAUSE_STORE_ACCESS, RAM_BASE - 8);
    store_faults("bare-store-ram-end", RAM_END, CAUSE_STORE_ACCESS, RAM_END);
    store_faults("bare-store-891f_f000", 0x891ff000UL, CAUSE_STORE_ACCESS, 0x891ff000UL);
    store_faults("bare-store-2^48", 1UL << 48, CAUSE_STORE_ACCESS, 1UL << 48);
    /* The last word of its RAM is its own: no fault. */
    arm();
    (void)ld64(RAM_END - 8);
    check_no_fault("bare-load-last-word");
    /* Its own RAM below the image, unused and zero (in a VM, the machine keeps its own
     * structures at these machine addresses: a gPA taken for an hPA would show them). */
    arm();
    show("own-8000_0000", ld64(RAM_BASE));
    show("own-8010_0000", ld64(RAM_BASE + 0x100000));
    show("own-8014_c000", ld64(RAM_BASE + 0x14c000));
    show("own-801f_fff8", ld64(RAM_BASE + 0x1ffff8));
    check_no_fault("bare-own-low-ram");
    /* Jumps: instruction access faults with stval = sepc = the target. */
    jump_faults("bare-jump-0", 0, CAUSE_FETCH_ACCESS, 0);
    jump_faults("bare-jump-uart", UART_BASE, CAUSE_FETCH_ACCESS, UART_BASE);
    jump_faults("bare-jump-plic", PLIC_BASE, CAUSE_FETCH_ACCESS, PLIC_BASE);
    jump_faults("bare-jump-below-ram", RAM_BASE - 4, CAUSE_FETCH_ACCESS, RAM_BASE - 4);
    jump_faults("bare-jump-ram-end", RAM_END, CAUSE_FETCH_ACCESS, RAM_END);
    jump_faults("bare-jump-891f_f000", 0x891ff000UL, CAUSE_FETCH_ACCESS, 0x891ff000UL);
    jump_faults("bare-jump-huge", 0xfffffffffffff000UL, CAUSE_FETCH_ACCESS, 0xfffffffffffff000UL);
    /* IALIGN = 16 (the C extension): a 2-byte aligned target is not misaligned; the fetch
     * there is what faults. */
    jump_faults("bare-jump-2-aligned-uart", UART_BASE + 2, CAUSE_FETCH_ACCESS, UART_BASE + 2);
}

static void build_tables(void)
{
    for (int i = 0; i < 512; i++) {
        page_a[i] = 0xa0a0a0a000000000UL | (u64)i;
        page_b[i] = 0xb0b0b0b000000000UL | (u64)i;
    }
    root[0] = PTE_LEAF(0, RWAD);                 /* devices, identity, not executable */
    root[1] = PTE_TABLE(l1);
    root[2] = PTE_LEAF(RAM_BASE, RWXAD);         /* RAM and beyond, identity */
    root[3] = PTE_LEAF(0xc0000000UL, RWXAD);     /* outside RAM */
    root[4] = PTE_LEAF(RAM_BASE + 0x200000, RWXAD); /* misaligned gigapage */
    root[5] = PTE_LEAF(1UL << 48, RWXAD);        /* far outside */
    root[6] = PTE_LEAF(RAM_BASE, RWXAD) | PTE_RSVD60;
    root[7] = PTE_TABLE(0x88000000UL);           /* a table outside RAM */

    l1[0] = PTE_TABLE(l0);
    l1[1] = PTE_LEAF(RAM_BASE + 0x1000, RWXAD);  /* misaligned 2 MiB page */
    l1[2] = PTE_LEAF(0x88000000UL, RWXAD);       /* 2 MiB just above RAM */
    l1[3] = PTE_TABLE(0x88000000UL);
    l1[4] = PTE_TABLE(0x70000000UL);
    l1[5] = PTE_TABLE(UART_BASE);                /* the UART as a page table */
    l1[6] = PTE_TABLE(1UL << 48);
    l1[7] = PTE_TABLE(l0) | PTE_RSVD60;          /* reserved bits in a non-leaf */
    l1[8] = PTE_LEAF(RAM_BASE, PTE_W | PTE_A | PTE_D); /* 2 MiB, W without R */
    l1[9] = PTE_TABLE(0x891ff000UL);

    l0[0] = PTE_LEAF(page_a, RWAD);
    l0[1] = PTE_LEAF(page_a, RWAD) | PTE_RSVD60;
    l0[2] = PTE_LEAF(page_a, PTE_W | PTE_A | PTE_D);
    l0[3] = PTE_TABLE(page_a);                   /* non-leaf at level 0 */
    l0[4] = PTE_LEAF(1UL << 48, RWAD);
    l0[5] = PTE_LEAF(0x70000000UL, RWAD);
    l0[6] = PTE_LEAF(RAM_BASE - PAGE_SIZE, RWAD);
    l0[7] = PTE_LEAF(0x88000000UL, RWAD);
    l0[8] = PTE_LEAF(0x89000000UL, RWAD);
    l0[9] = PTE_LEAF(0x891ff000UL, RWAD);
    l0[10] = PTE_LEAF(0x90000000UL, RWAD);
    l0[11] = PTE_LEAF(UART_BASE, RWAD);          /* a device, mapped: fine */
    l0[12] = PTE_LEAF(RAM_BASE, RWAD);           /* its own RAM below the image */
    l0[13] = PTE_LEAF(0x88000000UL, PTE_X | PTE_A);
    l0[14] = PTE_LEAF(page_a, RWXAD | PTE_U);
    l0[15] = PTE_LEAF(page_b, RWAD);
    l0[16] = PTE_LEAF(page_b, RWAD);
    l0[17] = (0xfffffffffffUL << PTE_PPN_SHIFT) | RWAD | PTE_V; /* the largest PPN */
    l0[18] = PTE_LEAF(0xc0000000UL, RWXAD);
}

static void sv39_tests(void)
{
    u64 v;
    struct sbiret r;

    arm();
    v = ld64(VA_SLOT(0));
    check_no_fault("sv39-own-page");
    check("sv39-own-page-value", v, 0xa0a0a0a000000000UL);

    /* Garbage PTEs: page faults, stval = the VA. */
    load_faults("pte-reserved-bit-load", VA_SLOT(1), CAUSE_LOAD_PAGE_FAULT, VA_SLOT(1));
    store_faults("pte-reserved-bit-store", VA_SLOT(1), CAUSE_STORE_PAGE_FAULT, VA_SLOT(1));
    load_faults("pte-w-without-r-load", VA_SLOT(2), CAUSE_LOAD_PAGE_FAULT, VA_SLOT(2));
    store_faults("pte-w-without-r-store", VA_SLOT(2), CAUSE_STORE_PAGE_FAULT, VA_SLOT(2));
    load_faults("pte-nonleaf-level0", VA_SLOT(3), CAUSE_LOAD_PAGE_FAULT, VA_SLOT(3));
    load_faults("pte-misaligned-2m", VA_2M(1) + 0x18, CAUSE_LOAD_PAGE_FAULT, VA_2M(1) + 0x18);
    load_faults("pte-misaligned-1g", VA_1G(4) + 0x40, CAUSE_LOAD_PAGE_FAULT, VA_1G(4) + 0x40);
    load_faults("pte-nonleaf-reserved-bit", VA_2M(7), CAUSE_LOAD_PAGE_FAULT, VA_2M(7));
    load_faults("pte-2m-w-without-r", VA_2M(8), CAUSE_LOAD_PAGE_FAULT, VA_2M(8));
    load_faults("pte-1g-reserved-bit", VA_1G(6), CAUSE_LOAD_PAGE_FAULT, VA_1G(6));
    load_faults("pte-user-page-from-s", VA_SLOT(14), CAUSE_LOAD_PAGE_FAULT, VA_SLOT(14));
    load_faults("va-non-canonical", 0x4000000000UL, CAUSE_LOAD_PAGE_FAULT, 0x4000000000UL);
    load_faults("va-unmapped", VA_SLOT(100), CAUSE_LOAD_PAGE_FAULT, VA_SLOT(100));

    /* Leaves pointing outside guest RAM: access faults, nothing read. */
    load_faults("pte-ppn-2^48", VA_SLOT(4) + 8, CAUSE_LOAD_ACCESS, VA_SLOT(4) + 8);
    store_faults("pte-ppn-2^48-store", VA_SLOT(4), CAUSE_STORE_ACCESS, VA_SLOT(4));
    load_faults("pte-ppn-7000_0000", VA_SLOT(5), CAUSE_LOAD_ACCESS, VA_SLOT(5));
    load_faults("pte-ppn-below-ram", VA_SLOT(6) + 0xff8, CAUSE_LOAD_ACCESS, VA_SLOT(6) + 0xff8);
    load_faults("pte-ppn-8800_0000", VA_SLOT(7), CAUSE_LOAD_ACCESS, VA_SLOT(7));
    store_faults("pte-ppn-8800_0000-store", VA_SLOT(7), CAUSE_STORE_ACCESS, VA_SLOT(7));
    load_faults("pte-ppn-8900_0000", VA_SLOT(8), CAUSE_LOAD_ACCESS, VA_SLOT(8));
    load_faults("pte-ppn-891f_f000", VA_SLOT(9) + 0x800, CAUSE_LOAD_ACCESS, VA_SLOT(9) + 0x800);
    store_faults("pte-ppn-891f_f000-store", VA_SLOT(9), CAUSE_STORE_ACCESS, VA_SLOT(9));
    load_faults("pte-ppn-9000_0000", VA_SLOT(10), CAUSE_LOAD_ACCESS, VA_SLOT(10));
    load_faults("pte-ppn-largest", VA_SLOT(17), CAUSE_LOAD_ACCESS, VA_SLOT(17));
    load_faults("pte-2m-8800_0000", VA_2M(2) + 0x1000, CAUSE_LOAD_ACCESS, VA_2M(2) + 0x1000);
    load_faults("pte-1g-c000_0000", VA_1G(3), CAUSE_LOAD_ACCESS, VA_1G(3));
    load_faults("pte-1g-2^48", VA_1G(5) + 0x123450, CAUSE_LOAD_ACCESS, VA_1G(5) + 0x123450);
    load_faults("pte-1g-ram-beyond-128m", 0x88000000UL, CAUSE_LOAD_ACCESS, 0x88000000UL);
    load_faults("pte-1g-ram-891f_fff8", 0x891ffff8UL, CAUSE_LOAD_ACCESS, 0x891ffff8UL);
    store_faults("pte-1g-ram-beyond-128m-store", 0x88100000UL, CAUSE_STORE_ACCESS, 0x88100000UL);

    /* Intermediate tables outside guest RAM: the walk's own read faults, an access fault of
     * the access that walked. */
    load_faults("table-at-8800_0000", VA_2M(3), CAUSE_LOAD_ACCESS, VA_2M(3));
    store_faults("table-at-8800_0000-store", VA_2M(3), CAUSE_STORE_ACCESS, VA_2M(3));
    load_faults("table-at-7000_0000", VA_2M(4), CAUSE_LOAD_ACCESS, VA_2M(4));
    load_faults("table-at-uart", VA_2M(5), CAUSE_LOAD_ACCESS, VA_2M(5));
    load_faults("table-at-2^48", VA_2M(6), CAUSE_LOAD_ACCESS, VA_2M(6));
    load_faults("table-at-891f_f000", VA_2M(9), CAUSE_LOAD_ACCESS, VA_2M(9));
    load_faults("root-entry-table-at-8800_0000", VA_1G(7), CAUSE_LOAD_ACCESS, VA_1G(7));

    /* Mapped device and own low RAM: allowed. */
    arm();
    v = lb8(VA_SLOT(11) + 5);
    check_no_fault("pte-uart-mapped");
    check("pte-uart-mapped-lsr", v & 0x60, 0x60);
    arm();
    show("own-8000_0000-via-pte", ld64(VA_SLOT(12)));
    show("own-8000_0ff8-via-pte", ld64(VA_SLOT(12) + 0xff8));
    check_no_fault("pte-own-low-ram");

    /* Jumps under Sv39. */
    jump_faults("jump-w-without-r", VA_SLOT(2), CAUSE_FETCH_PAGE_FAULT, VA_SLOT(2));
    jump_faults("jump-not-executable", VA_SLOT(4), CAUSE_FETCH_PAGE_FAULT, VA_SLOT(4));
    jump_faults("jump-x-outside-ram", VA_SLOT(13), CAUSE_FETCH_ACCESS, VA_SLOT(13));
    jump_faults("jump-user-page-from-s", VA_SLOT(14), CAUSE_FETCH_PAGE_FAULT, VA_SLOT(14));
    jump_faults("jump-1g-c000_0000", VA_1G(3), CAUSE_FETCH_ACCESS, VA_1G(3));
    jump_faults("jump-2m-8800_0000", VA_2M(2), CAUSE_FETCH_ACCESS, VA_2M(2));
    jump_faults("jump-1g-ram-beyond-128m", 0x88000000UL, CAUSE_FETCH_ACCESS, 0x88000000UL);
    jump_faults("jump-4k-c000_0000", VA_SLOT(18), CAUSE_FETCH_ACCESS, VA_SLOT(18));
    jump_faults("jump-device-gigapage", 0x30000000UL, CAUSE_FETCH_PAGE_FAULT, 0x30000000UL);
    jump_faults("jump-table-at-uart", VA_2M(5), CAUSE_FETCH_ACCESS, VA_2M(5));
    jump_faults("jump-non-canonical", 0x8000000000UL, CAUSE_FETCH_PAGE_FAULT, 0x8000000000UL);
    jump_faults("jump-unmapped", VA_SLOT(200), CAUSE_FETCH_PAGE_FAULT, VA_SLOT(200));

    /* A valid PTE made garbage (its shadow must go), then valid again elsewhere. */
    arm();
    v = ld64(VA_SLOT(15));
    check_no_fault("pte-change-before");
    check("pte-change-before-value", v, 0xb0b0b0b000000000UL);
    l0[15] = PTE_LEAF(page_b, RWAD) | PTE_RSVD60;
    sfence();
    load_faults("pte-change-to-reserved", VA_SLOT(15), CAUSE_LOAD_PAGE_FAULT, VA_SLOT(15));
    l0[15] = PTE_LEAF(0x88000000UL, RWAD);
    sfence();
    load_faults("pte-change-to-outside", VA_SLOT(15), CAUSE_LOAD_ACCESS, VA_SLOT(15));
    l0[15] = PTE_LEAF(page_a, RWAD);
    sfence();
    arm();
    v = ld64(VA_SLOT(15) + 8);
    check_no_fault("pte-change-back");
    check("pte-change-back-value", v, 0xa0a0a0a000000001UL);

    /* The SBI writes the PTE: DBCN console_read with its buffer on the low byte of l0[16]
     * (the test gives one input byte, 0x00: V = 0). The PTE is then invalid, and after an
     * SFENCE.VMA the load must page-fault, as it does on hardware. */
    arm();
    v = ld64(VA_SLOT(16));
    check_no_fault("dbcn-pte-before");
    check("dbcn-pte-before-value", v, 0xb0b0b0b000000000UL);
    r = sbi(EID_DBCN, DBCN_READ, 1, (u64)&l0[16], 0);
    check("dbcn-read-into-pte", (u64)r.error, 0);
    check("dbcn-read-into-pte-bytes", (u64)r.value, 1);
    check("dbcn-read-into-pte-value", l0[16], PTE_LEAF(page_b, RWAD) & ~0xffUL);
    sfence();
    load_faults("dbcn-pte-after", VA_SLOT(16), CAUSE_LOAD_PAGE_FAULT, VA_SLOT(16));
}

int main(void)
{
    hostile_init();
    println("hostile-pt: page tables, satp-bare and Sv39 accesses outside the guest's RAM");
    platform_line();
    bare_tests();
    build_tables();
    csr_write(satp, SATP_MODE_SV39 | ((u64)root >> 12));
    sfence();
    check("satp-sv39", csr_read(satp), SATP_MODE_SV39 | ((u64)root >> 12));
    sv39_tests();
    csr_write(satp, 0);
    sfence();
    return summary();
}
