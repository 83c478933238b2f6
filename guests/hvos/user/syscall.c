// syscall N: N null system calls (getpid): the trap round trip, U -> S -> U,
// and nothing else. Under trap-and-emulate or PV this is where the extra
// hop through the hypervisor shows.
#include "user.h"

#define USAGE "syscall [N]   (N calls, 1..1000000000, default 100000)"

int main(int argc, char **argv)
{
    check_argc(argc, argv, 2, USAGE);
    u64 n = arg_number(argc, argv, 1, 100000, 1, 1000000000, "N", USAGE);
    long pid = getpid();
    u64 bad = 0;
    u64 t0 = time_us();
    for (u64 i = 0; i < n; i++)
        bad += getpid() != pid;
    u64 us = time_us() - t0;
    printf("syscall n=%lu errors=%lu" TIME_FMT " ns/call=%lu\n", n, bad, TIME_ARGS(us),
           us * 1000 / n);
    return 0;
}
