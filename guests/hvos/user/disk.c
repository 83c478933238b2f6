// disk KIB: read KIB KiB from sector 0 of the block device, 4 KiB (one
// request) per system call, and print an FNV-1a checksum of the data, so the
// same disk gives the same line on every I/O path (emudisk, virtio-blk with
// any backend) and on QEMU. The I/O cost: emudisk moves every 4 bytes through
// a register (an exit each under a VM), virtio-blk a request per notify.
#include "user.h"

#define USAGE "disk [KIB]   (KiB to read, 4..65536 in steps of 4, default 1024)"
#define REQ_SECTORS 8

static u8 buf[REQ_SECTORS * 512];

int main(int argc, char **argv)
{
    check_argc(argc, argv, 2, USAGE);
    u64 kib = arg_number(argc, argv, 1, 1024, 4, 65536, "KIB", USAGE);
    if (kib % 4) {
        printf("disk: KIB must be a multiple of 4\nusage: %s\n", USAGE);
        return 2;
    }
    struct blkinfo bi;
    long r = blkinfo(&bi);
    if (r < 0) {
        printf("disk: %s\n", errstr(r));
        return 1;
    }
    if (kib * 2 > bi.sectors) {
        printf("disk: the disk has only %lu KiB\n", bi.sectors / 2);
        return 1;
    }
    u32 fnv = 0x811c9dc5;                // FNV-1a, 32 bits
    u64 requests = kib / 4;
    u64 t0 = time_us();
    for (u64 q = 0; q < requests; q++) {
        r = blkread(q * REQ_SECTORS, buf, REQ_SECTORS);
        if (r < 0) {
            printf("disk: read at sector %lu: %s\n", q * REQ_SECTORS, errstr(r));
            return 1;
        }
        for (u64 i = 0; i < sizeof(buf); i++)
            fnv = (fnv ^ buf[i]) * 0x01000193;
    }
    u64 us = time_us() - t0;
    printf("disk kib=%lu requests=%lu fnv1a=%08x driver=%s" TIME_FMT " us/request=%lu\n",
           kib, requests, fnv, bi.driver, TIME_ARGS(us), us / requests);
    return 0;
}
