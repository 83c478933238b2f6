// io KIB: write KIB KiB of text to the console, one write() of 1 KiB at a
// time, each KiB 16 lines of 64 bytes. The I/O path: system call, copy from
// user memory, and one UART register write per byte (each an exit when the
// UART is emulated); with a virtio-console, one buffer per write() and at
// most one notification (kernel/virtio_console.c).
#include "user.h"

#define USAGE "io [KIB]   (KiB to write, 1..1024, default 4)"

int main(int argc, char **argv)
{
    check_argc(argc, argv, 2, USAGE);
    u64 kib = arg_number(argc, argv, 1, 4, 1, 1024, "KIB", USAGE);
    static const char pattern[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    static char buf[1024];
    u64 t0 = time_us();
    u64 bytes = 0;
    for (u64 k = 0; k < kib; k++) {
        for (u64 line = 0; line < 16; line++) {
            char *l = buf + line * 64;
            // "io 0000 " then 55 pattern bytes, rotated per line, then '\n'
            snprintf(l, 9, "io %04lu ", (k * 16 + line) % 10000);
            for (int i = 0; i < 55; i++)
                l[8 + i] = pattern[(line + k + i) % 64];
            l[63] = '\n';
        }
        long r = write(1, buf, sizeof(buf));
        if (r != (long)sizeof(buf)) {
            printf("io: write failed (%ld)\n", r);
            return 1;
        }
        bytes += sizeof(buf);
    }
    u64 us = time_us() - t0;
    printf("io kib=%lu bytes=%lu writes=%lu" TIME_FMT " ns/byte=%lu\n", kib, bytes, kib,
           TIME_ARGS(us), us * 1000 / bytes);
    return 0;
}
