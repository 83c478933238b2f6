/* emudisk: hvlab's register-level disk (assembly/devices/emudisk.ts), the
 * fully emulated contrast to virtio-blk: sector, count and command registers
 * and a 4-byte data port. hvlab only (QEMU's virt has no such device). The
 * disk is the same 1 MiB pattern image as the virtio-blk guest's: byte i of
 * sector s is (s * 7 + i) & 0xff. Checks: identification, a read of two
 * sectors word by word, a write read back, and every refusal (bad command,
 * bad count, beyond capacity, data port without a transfer, ABORT). */
#include "rt.h"

#define ED        UL(0x10009000)
#define MAGIC     0x00
#define CAPACITY  0x04
#define SECTOR    0x08
#define COUNT     0x0c
#define COMMAND   0x10
#define STATUS    0x14
#define DATA      0x18
#define ERROR     0x1c
#define DRQ 1
#define ERR 2

static u32 rd(u32 off) { return mmio_read32(ED + off); }
static void wr(u32 off, u32 v) { mmio_write32(ED + off, v); }
static u8 pattern(u32 sector, u32 i) { return (u8)(sector * 7 + i); }
static u32 buf[256];

static void start(u32 cmd, u32 sector, u32 count)
{
    wr(SECTOR, sector);
    wr(COUNT, count);
    wr(COMMAND, cmd);
}

static void refused(const char *name, u32 error)
{
    print("refused ");
    println(name);
    check("status-err", rd(STATUS), ERR);
    check("error", rd(ERROR), error);
}

int main(void)
{
    println("emudisk: register-level disk, 4-byte data port");
    check("magic", rd(MAGIC), 0x4b534445);
    check("capacity", rd(CAPACITY), 2048);
    check("idle-status", rd(STATUS), 0);

    start(1, 3, 2);
    check("read-drq", rd(STATUS), DRQ);
    int ok = 1;
    for (u32 w = 0; w < 256; w++) {
        u32 v = rd(DATA);
        for (u32 b = 0; b < 4; b++) {
            u32 i = w * 4 + b;
            ok &= ((v >> (8 * b)) & 0xff) == pattern(3 + i / 512, i % 512);
        }
    }
    check_true("read-data", ok);
    check("read-done", rd(STATUS), 0);
    check("read-sector-kept", rd(SECTOR), 3);

    start(2, 6, 1);
    check("write-drq", rd(STATUS), DRQ);
    for (u32 w = 0; w < 128; w++) wr(DATA, 0xa5a50000u | w);
    check("write-done", rd(STATUS), 0);
    start(1, 6, 1);
    for (u32 w = 0; w < 128; w++) buf[w] = rd(DATA);
    ok = 1;
    for (u32 w = 0; w < 128; w++) ok &= buf[w] == (0xa5a50000u | w);
    check_true("write-read-back", ok);

    start(3, 0, 1);
    check("flush", rd(STATUS), 0);
    check("last-command", rd(COMMAND), 3);

    start(7, 0, 1);
    refused("bad-command", 2);
    start(1, 0, 0);
    refused("count-0", 3);
    start(1, 0, 257);
    refused("count-257", 3);
    start(1, 2047, 2);
    refused("beyond-capacity", 1);
    start(1, 0, 1);
    check("command-clears-error", rd(ERROR), 0);
    wr(DATA, 1);
    refused("write-during-read", 4);
    start(1, 0, 1);
    wr(COMMAND, 0);
    check("abort-clears-drq", rd(STATUS), 0);
    u32 junk = rd(DATA);
    check("no-transfer-reads-0", junk, 0);
    refused("read-without-transfer", 4);
    return summary();
}
