// cons DOMID WORD...: type a line into the console of frontend DOMID, a VM
// whose split console this driver domain serves (kernel/split.c, consback;
// docs/split.md "The console pair"). The words, separated by spaces and
// followed by a newline, are its input; its output appears here as
// "[domN] ..." lines.
#include "user.h"

#define USAGE "cons DOMID WORD..."
#define MAX_LINE 256

int main(int argc, char **argv)
{
    if (argc < 3) {
        printf("usage: %s\n", USAGE);
        return 2;
    }
    u64 domid = arg_number(argc, argv, 1, 0, 1, 0xFFFF, "DOMID", USAGE);
    static char line[MAX_LINE];
    u64 len = 0;
    for (int i = 2; i < argc; i++) {
        u64 n = strlen(argv[i]);
        if (len + n + 1 > MAX_LINE) {
            printf("cons: the line is longer than %d bytes\n", MAX_LINE - 1);
            return 2;
        }
        memcpy(line + len, argv[i], n);
        len += n;
        line[len++] = i + 1 < argc ? ' ' : '\n';
    }
    // Its input ring may be full: give the frontend time to read, 1 s at most.
    u64 done = 0;
    for (int tries = 0; done < len; ) {
        long r = consput(domid, line + done, len - done);
        if (r < 0) {
            printf("cons: domain %lu: %s\n", domid, errstr(r));
            return 1;
        }
        done += (u64)r;
        if (r == 0) {
            if (++tries == 100) {
                printf("cons: domain %lu does not read its input\n", domid);
                return 1;
            }
            sleep(10);
        }
    }
    return 0;
}
