// compute N: a CPU-bound integer mix (shifts, xors, multiplies, divides,
// branches) with no system calls and no page faults once started. It measures
// raw instruction execution: under virtualization it should cost the same as
// native, since nothing in the loop is privileged.
#include "user.h"

#define USAGE "compute [N]   (N iterations, 1..1000000000, default 1000000)"

int main(int argc, char **argv)
{
    check_argc(argc, argv, 2, USAGE);
    u64 n = arg_number(argc, argv, 1, 1000000, 1, 1000000000, "N", USAGE);
    u64 t0 = time_us();
    u64 x = 0x9E3779B97F4A7C15UL, acc = 0;
    for (u64 i = 0; i < n; i++) {
        x ^= x << 13;                // xorshift64
        x ^= x >> 7;
        x ^= x << 17;
        acc += x * (i | 1);
        acc ^= acc >> 29;
        if (x & 1)
            acc += x / ((i & 0xFF) + 1);
        else
            acc -= i;
    }
    u64 us = time_us() - t0;
    printf("compute n=%lu result=0x%016lx" TIME_FMT " ns/iter=%lu\n", n, acc, TIME_ARGS(us),
           us * 1000 / n);
    return 0;
}
