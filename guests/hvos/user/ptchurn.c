// ptchurn PAGES ROUNDS: map PAGES pages at a fixed address, write one word
// in each, unmap them; ROUNDS times. Every round writes and clears PAGES leaf
// PTEs and flushes each from the TLB: the cost of page-table updates
// (native: stores; shadow paging: write-protect faults and re-shadowing;
// PV: validated mmu_update hypercalls). Page allocation (with zeroing) is
// part of the cost.
#include "user.h"

#define USAGE "ptchurn [PAGES [ROUNDS]]   (PAGES 1..4096, default 16; ROUNDS 1..1000000, default 64)"
#define CHURN_VA (USER_MMAP_BASE + 0x10000000UL)

int main(int argc, char **argv)
{
    check_argc(argc, argv, 3, USAGE);
    u64 pages = arg_number(argc, argv, 1, 16, 1, 4096, "PAGES", USAGE);
    u64 rounds = arg_number(argc, argv, 2, 64, 1, 1000000, "ROUNDS", USAGE);

    u64 t0 = time_us();
    u64 sum = 0;
    for (u64 r = 0; r < rounds; r++) {
        long va = map(CHURN_VA, pages * 4096);
        if (va < 0) {
            printf("ptchurn: cannot map %lu pages (error %ld)\n", pages, va);
            return 1;
        }
        for (u64 i = 0; i < pages; i++) {
            volatile u64 *w = (volatile u64 *)(va + i * 4096);
            sum += *w;               // fresh pages read as zero
            *w = r + i;
            sum += *w;
        }
        unmap(va, pages * 4096);
    }
    u64 us = time_us() - t0;
    u64 maps = pages * rounds;
    printf("ptchurn pages=%lu rounds=%lu maps=%lu sum=0x%lx" TIME_FMT " ns/page=%lu\n",
           pages, rounds, maps, sum, TIME_ARGS(us), us * 1000 / maps);
    return 0;
}
