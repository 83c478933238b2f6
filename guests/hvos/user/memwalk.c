// memwalk PAGES ROUNDS: map PAGES pages once, then touch one word in each, in
// a fixed pseudo-random order, ROUNDS times. With more pages than TLB
// entries nearly every touch misses the TLB, while the page tables never
// change: this isolates the cost of a page walk (native: one Sv39 walk;
// nested paging: the two-dimensional walk; shadow paging: a shadow walk).
#include "user.h"

#define USAGE "memwalk [PAGES [ROUNDS]]   (PAGES 1..16384, default 256; ROUNDS 1..100000, default 16)"

int main(int argc, char **argv)
{
    check_argc(argc, argv, 3, USAGE);
    u64 pages = arg_number(argc, argv, 1, 256, 1, 16384, "PAGES", USAGE);
    u64 rounds = arg_number(argc, argv, 2, 16, 1, 100000, "ROUNDS", USAGE);

    long base = map(0, pages * 4096);
    long order = map(0, pages * sizeof(u32));
    if (base < 0 || order < 0) {
        printf("memwalk: cannot map %lu pages (error %ld)\n", pages, base < 0 ? base : order);
        return 1;
    }
    // A fixed shuffle (Fisher-Yates with a fixed-seed LCG): random to the
    // TLB and the prefetcher, identical on every run.
    u32 *perm = (u32 *)order;
    for (u64 i = 0; i < pages; i++)
        perm[i] = (u32)i;
    u64 seed = 12345;
    for (u64 i = pages - 1; i > 0; i--) {
        seed = seed * 6364136223846793005UL + 1442695040888963407UL;
        u64 j = (seed >> 33) % (i + 1);
        u32 t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }

    u64 t0 = time_us();
    u64 sum = 0;
    for (u64 r = 0; r < rounds; r++) {
        u64 off = (r * 64) % 4096;    // a different cache line each round
        for (u64 i = 0; i < pages; i++) {
            volatile u64 *w = (volatile u64 *)(base + perm[i] * 4096UL + off);
            *w += i;
            sum += *w;
        }
    }
    u64 us = time_us() - t0;
    u64 touches = pages * rounds;
    printf("memwalk pages=%lu rounds=%lu touches=%lu sum=0x%lx" TIME_FMT " ns/touch=%lu\n",
           pages, rounds, touches, sum, TIME_ARGS(us), us * 1000 / touches);
    return 0;
}
