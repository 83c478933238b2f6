// emudisk: hvlab's register-level disk, the contrast to virtio-blk. Every
// byte passes through a 32-bit data register, so reading 4 KiB is 1024
// register reads: 1024 exits under a hypervisor, against one notify for
// virtio-blk. Registers (all 32-bit; hvlab's docs/virtio.md):
#include "defs.h"
#include "../lib/abi.h"
#include "memlayout.h"

#define EDSK_MAGIC    0x00       // R  "EDSK"
#define EDSK_CAPACITY 0x04       // R  sectors (low 32 bits)
#define EDSK_SECTOR   0x08       // RW first sector of the transfer
#define EDSK_COUNT    0x0C       // RW sectors, 1..256
#define EDSK_COMMAND  0x10       // W  command; R last command
#define EDSK_STATUS   0x14       // R  DRQ, ERR
#define EDSK_DATA     0x18       // RW next 4 bytes of the transfer
#define EDSK_ERROR    0x1C       // R  why ERR is set

#define EDSK_MAGIC_VALUE 0x4B534445
#define EDSK_CMD_ABORT 0
#define EDSK_CMD_READ  1
#define EDSK_CMD_WRITE 2
#define EDSK_CMD_FLUSH 3
#define EDSK_ST_DRQ    1         // the data port has data / wants data
#define EDSK_ST_ERR    2

static const char *const edsk_errors[] = {
    "none", "sector range beyond capacity", "bad command", "bad count",
    "data port used without DRQ",
};

static u64 regs;
static struct blkdev edsk;

static u32 rd(u32 off) { return *(volatile u32 *)(regs + off); }
static void wr(u32 off, u32 v) { *(volatile u32 *)(regs + off) = v; }

static int failed(const char *what)
{
    u32 e = rd(EDSK_ERROR);
    kprintf("emudisk: %s failed: %s\n", what, e < ARRAY_SIZE(edsk_errors) ? edsk_errors[e] : "?");
    return E_IO;
}

// One transfer: the command, then count * 128 data-port accesses, then a
// status check that the device expected exactly that much. DRQ is checked
// once before and once after, not per word (that would double the exits).
static int edsk_rw(int write, u64 sector, void *buf, u32 count)
{
    if (sector + count > edsk.sectors)
        return E_INVAL;
    wr(EDSK_SECTOR, (u32)sector);
    wr(EDSK_COUNT, count);
    wr(EDSK_COMMAND, write ? EDSK_CMD_WRITE : EDSK_CMD_READ);
    u32 st = rd(EDSK_STATUS);
    if (st & EDSK_ST_ERR)
        return failed(write ? "write" : "read");
    if (!(st & EDSK_ST_DRQ)) {
        kprintf("emudisk: no data request after a command\n");
        return E_IO;
    }
    u32 *w = buf;
    u32 words = count * (SECTOR_SIZE / 4);
    if (write)
        for (u32 i = 0; i < words; i++)
            wr(EDSK_DATA, w[i]);
    else
        for (u32 i = 0; i < words; i++)
            w[i] = rd(EDSK_DATA);
    st = rd(EDSK_STATUS);
    if (st & (EDSK_ST_ERR | EDSK_ST_DRQ)) {
        wr(EDSK_COMMAND, EDSK_CMD_ABORT);
        return (st & EDSK_ST_ERR) ? failed(write ? "write" : "read") : E_IO;
    }
    return 0;
}

static int edsk_flush(void)
{
    wr(EDSK_COMMAND, EDSK_CMD_FLUSH);
    return (rd(EDSK_STATUS) & EDSK_ST_ERR) ? failed("flush") : 0;
}

void emudisk_init(void)
{
    regs = DEV_VA(plat.emudisk_base);
    if (rd(EDSK_MAGIC) != EDSK_MAGIC_VALUE) {
        kprintf("emudisk: bad magic 0x%x; device not used\n", rd(EDSK_MAGIC));
        return;
    }
    edsk.driver = "emudisk";
    edsk.sectors = rd(EDSK_CAPACITY);
    edsk.block_size = SECTOR_SIZE;
    edsk.rw = edsk_rw;
    edsk.flush = edsk_flush;
    int used = blk_register(&edsk);
    kprintf("emudisk: %lu sectors (%lu KiB)%s\n", edsk.sectors, edsk.sectors / 2,
            used ? "" : ", not used (virtio-blk is)");
}
