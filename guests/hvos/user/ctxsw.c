// ctxsw N: two processes yield to each other N times each: 2N switches, each
// one a kernel context switch plus an address-space switch (satp write, and
// a TLB flush where ASIDs are not available).
// The parent starts a second copy of itself as `ctxsw -child N`.
#include "user.h"

#define USAGE "ctxsw [N]   (N yields per process, 1..10000000, default 10000)"

static void yield_n(u64 n)
{
    for (u64 i = 0; i < n; i++)
        yield();
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "-child") == 0) {
        u64 n;
        if (parse_u64(argv[2], &n) < 0)
            return 2;
        yield_n(n);
        return 0;
    }
    check_argc(argc, argv, 2, USAGE);
    u64 n = arg_number(argc, argv, 1, 10000, 1, 10000000, "N", USAGE);
    char count[24];
    snprintf(count, sizeof(count), "%lu", n);
    char *child_argv[] = { "ctxsw", "-child", count, NULL };

    u64 t0 = time_us();
    long pid = spawn("ctxsw", child_argv);
    if (pid < 0) {
        printf("ctxsw: spawn failed (error %ld)\n", pid);
        return 1;
    }
    yield_n(n);
    int status;
    wait(pid, &status);
    u64 us = time_us() - t0;
    printf("ctxsw n=%lu switches=%lu" TIME_FMT " ns/switch=%lu\n", n, 2 * n, TIME_ARGS(us),
           us * 1000 / (2 * n));
    return status == 0 ? 0 : 1;
}
