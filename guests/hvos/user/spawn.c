// spawn N: create N processes running `true` and wait for each: address-
// space creation (page tables, ELF load, stack) and teardown, the classic
// fork+exec+exit+wait cost.
#include "user.h"

#define USAGE "spawn [N]   (N processes, 1..100000, default 100)"

int main(int argc, char **argv)
{
    check_argc(argc, argv, 2, USAGE);
    u64 n = arg_number(argc, argv, 1, 100, 1, 100000, "N", USAGE);
    char *child_argv[] = { "true", NULL };
    u64 t0 = time_us();
    for (u64 i = 0; i < n; i++) {
        long pid = spawn("true", child_argv);
        if (pid < 0) {
            printf("spawn: spawn failed (error %ld)\n", pid);
            return 1;
        }
        int status;
        if (wait(pid, &status) != pid || status != 0) {
            printf("spawn: child %ld failed\n", pid);
            return 1;
        }
    }
    u64 us = time_us() - t0;
    printf("spawn n=%lu" TIME_FMT " us/spawn=%lu\n", n, TIME_ARGS(us), us / n);
    return 0;
}
