// bench: the standard workload set with fixed parameters, one result line
// each. Sized to run in a test (a few tens of millions of instructions).
#include "user.h"

static char *const workloads[][4] = {
    { "compute", "200000", NULL },
    { "memwalk", "512", "8", NULL },
    { "ptchurn", "16", "32", NULL },
    { "spawn", "20", NULL },
    { "syscall", "20000", NULL },
    { "ctxsw", "2000", NULL },
    { "io", "1", NULL },
};

int main(int argc, char **argv)
{
    check_argc(argc, argv, 1, "bench");
    int failed = 0;
    for (u64 i = 0; i < ARRAY_SIZE(workloads); i++) {
        long pid = spawn(workloads[i][0], workloads[i]);
        int status = -1;
        if (pid < 0 || wait(pid, &status) != pid || status != 0) {
            printf("bench: %s failed\n", workloads[i][0]);
            failed++;
        }
    }
    printf("bench: %lu workloads, %d failed\n", ARRAY_SIZE(workloads), failed);
    return failed ? 1 : 0;
}
