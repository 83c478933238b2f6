// sleep [MS]: sleep MS milliseconds (the timer wakes us; the CPU idles).
#include "user.h"

#define USAGE "sleep [MS]   (0..600000, default 100)"

int main(int argc, char **argv)
{
    check_argc(argc, argv, 2, USAGE);
    u64 ms = arg_number(argc, argv, 1, 100, 0, 600000, "MS", USAGE);
    long r = sleep(ms);
    if (r < 0)
        return 1;
    printf("sleep: slept %lu ms\n", ms);
    return 0;
}
