// rng [N]: N random bytes from the entropy device (virtio-rng), in hex.
#include "user.h"

#define USAGE "rng [N]   (bytes, 1..256, default 16)"

int main(int argc, char **argv)
{
    check_argc(argc, argv, 2, USAGE);
    u64 n = arg_number(argc, argv, 1, 16, 1, 256, "N", USAGE);
    static u8 bytes[256];
    long r = random(bytes, n);
    if (r < 0) {
        printf("rng: %s\n", errstr(r));
        return 1;
    }
    for (u64 i = 0; i < n; i += 16) {
        char line[64];
        int k = 0;
        for (u64 j = i; j < n && j < i + 16; j++)
            k += snprintf(line + k, sizeof(line) - k, j > i ? " %02x" : "%02x", bytes[j]);
        printf("%s\n", line);
    }
    return 0;
}
