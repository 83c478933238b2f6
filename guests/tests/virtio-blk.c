/* virtio-blk: the block device (virtio v1.2 section 5.2) over the virtio-mmio
 * transport (4.2), driven by hand. The disk is a 1 MiB image whose byte i of
 * sector s is (s * 7 + i) & 0xff (the test harness makes it, for QEMU as a
 * file with serial=hvlab-disk, for hvlab as VmConfig.disk), so every read can
 * be checked. Requests: GET_ID, reads and writes in plain, split (header and
 * data spread over several descriptors, 2.6.4) and indirect chains, FLUSH, and
 * the failures a device answers in the status byte (5.2.6.2): beyond the
 * capacity, not whole sectors, unknown type. Then the hostile driver: a
 * request with no status byte and one with a short header, which leave the
 * device nothing to answer with, so it must need a reset (QEMU's "virtio-blk
 * missing headers"). QEMU 7.2 gives the same output (test/golden). */
#include "virtq.h"

#define SECTORS 2048               /* 1 MiB */
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define F_BLK_SIZE (1u << 6)
#define F_FLUSH (1u << 9)

struct hdr { u32 type; u32 reserved; u64 sector; };

static struct desc itable[4] __attribute__((aligned(64)));
static struct hdr h __attribute__((aligned(64)));
static u8 data[2048] __attribute__((aligned(64)));
static u8 st;

/* 3.1.1: VERSION_1, FLUSH, BLK_SIZE, INDIRECT_DESC; no EVENT_IDX (interrupt per request). */
static int init(int verbose)
{
    wr(STATUS, 0);
    wr(STATUS, S_ACK);
    wr(STATUS, S_ACK | S_DRIVER);
    wr(DEV_FEAT_SEL, 1);
    u32 hi = rd(DEV_FEAT);
    wr(DEV_FEAT_SEL, 0);
    u32 lo = rd(DEV_FEAT);
    wr(DRV_FEAT_SEL, 1);
    wr(DRV_FEAT, hi & F_VERSION_1_HI);
    wr(DRV_FEAT_SEL, 0);
    wr(DRV_FEAT, lo & (F_INDIRECT | F_FLUSH | F_BLK_SIZE));
    wr(STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    u32 stf = rd(STATUS);
    wr(QUEUE_SEL, 0);
    u32 max = rd(QUEUE_NUM_MAX);
    wr(QUEUE_SEL, 1);
    u32 max1 = rd(QUEUE_NUM_MAX);
    virtq_setup();
    wr(STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    u32 st2 = rd(STATUS);
    if (verbose) {
        check_true("offers-version-1", hi & F_VERSION_1_HI);
        check_true("offers-flush", lo & F_FLUSH);
        check_true("offers-blk-size", lo & F_BLK_SIZE);
        check("features-ok-kept", stf & S_FEATURES_OK, S_FEATURES_OK);
        check_true("queue-num-max-at-least-8", max >= QN);
        check("one-queue-only", max1, 0);
        check("status-driver-ok", st2, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    }
    return (st2 & S_DRIVER_OK) != 0;
}

/* Submit chain `head`; check it comes back with used length `len` and status `want`. */
static void submit(const char *name, u16 head, u32 len, u8 want)
{
    print("request ");
    println(name);
    st = 0xee;
    fence();
    kick(head, 0);
    check_true("used-returned", wait_used());
    struct used_elem e = us.ring[used_seen % QN];
    used_seen++;
    check("used-id", e.id, head);
    check("used-len", e.len, len);
    fence();
    check("status", st, want);
    u32 is = wait_int(1);
    check("interrupt-used-buffer", is & 3, 1);
    wr(INT_ACK, is);
}

static u8 pattern(u64 sector, unsigned i) { return (u8)(sector * 7 + i); }

static int matches(u64 sector, unsigned from, unsigned len)
{
    for (unsigned i = 0; i < len; i++)
        if (data[from + i] != pattern(sector + (i / 512), i % 512)) return 0;
    return 1;
}

static int all(unsigned from, unsigned len, u8 v)
{
    for (unsigned i = from; i < from + len; i++)
        if (data[i] != v) return 0;
    return 1;
}

/* The usual three-descriptor request: header, data (len bytes, device-writable for reads),
 * status. */
static void three(u32 type, u64 sector, u32 len)
{
    h = (struct hdr){ type, 0, sector };
    table[0] = (struct desc){ (u64)&h, 16, D_NEXT, 1 };
    table[1] = (struct desc){ (u64)data, len, (u16)(D_NEXT | (type == T_OUT ? 0 : D_WRITE)), 2 };
    table[2] = (struct desc){ (u64)&st, 1, D_WRITE, 0 };
}

static void expect_needs_reset(const char *name)
{
    u32 s = 0;
    for (long i = 0; i < 20000000 && !(s & S_NEEDS_RESET); i++) s = rd(STATUS);
    check("needs-reset", s & S_NEEDS_RESET, S_NEEDS_RESET);
    u32 is = wait_int(2);
    check("interrupt-config-change", is & 2, 2);
    check("no-used-entry", *used_idx_p(), used_seen);
    wr(STATUS, 0);
    check("reset-clears-status", rd(STATUS), 0);
    check_true("reinit", init(0));
    print("recover after ");
    println(name);
    memset(data, 0, 512);
    three(T_IN, 9, 512);
    submit("read-after-reset", 0, 513, 0);
    check_true("read-after-reset-data", matches(9, 0, 512));
}

int main(void)
{
    println("virtio-blk: virtio-mmio v2, split virtqueue, block device");
    int found = virtq_probe(2);
    check_true("probe-found-blk", found);
    if (!found) return summary();
    check_true("init", init(1));

    /* 5.2.4: capacity in 512-byte sectors, read as two words, a byte and a halfword. */
    u64 cap = (u64)rd(0x100) | ((u64)rd(0x104) << 32);
    check("config-capacity", cap, SECTORS);
    check("config-capacity-byte1", mmio_read8(base + 0x101), SECTORS >> 8);
    check("config-capacity-half", *(volatile u16 *)(base + 0x100), SECTORS & 0xffff);
    check("config-blk-size", rd(0x114), 512);

    memset(data, 0, 64);
    h = (struct hdr){ T_GET_ID, 0, 0 };
    table[0] = (struct desc){ (u64)&h, 16, D_NEXT, 1 };
    table[1] = (struct desc){ (u64)data, 20, D_NEXT | D_WRITE, 2 };
    table[2] = (struct desc){ (u64)&st, 1, D_WRITE, 0 };
    submit("get-id", 0, 21, 0);
    print("id: ");
    println((const char *)data);

    memset(data, 0, sizeof data);
    three(T_IN, 3, 1024);
    submit("read-2-sectors", 0, 1025, 0);
    check_true("read-data", matches(3, 0, 1024));

    for (unsigned i = 0; i < 512; i++) data[i] = (u8)(0x5a ^ i);
    three(T_OUT, 5, 512);
    submit("write-1-sector", 0, 1, 0);
    memset(data, 0, 1024);
    three(T_IN, 4, 1024);
    submit("read-back", 0, 1025, 0);
    check_true("read-back-before", matches(4, 0, 512));
    int ok = 1;
    for (unsigned i = 0; i < 512; i++) ok &= data[512 + i] == (u8)(0x5a ^ i);
    check_true("read-back-written", ok);

    /* 2.6.4: the header in two pieces, the data in three, the status alone. */
    memset(data, 0, sizeof data);
    h = (struct hdr){ T_IN, 0, 20 };
    table[3] = (struct desc){ (u64)&h, 8, D_NEXT, 4 };
    table[4] = (struct desc){ (u64)&h + 8, 8, D_NEXT, 5 };
    table[5] = (struct desc){ (u64)data, 100, D_NEXT | D_WRITE, 6 };
    table[6] = (struct desc){ (u64)data + 100, 412, D_NEXT | D_WRITE, 7 };
    table[7] = (struct desc){ (u64)data + 512, 512, D_NEXT | D_WRITE, 2 };
    table[2] = (struct desc){ (u64)&st, 1, D_WRITE, 0 };
    submit("read-split", 3, 1025, 0);
    check_true("read-split-data", matches(20, 0, 1024));

    /* 2.7.5.3: the same request through an indirect table. */
    memset(data, 0, sizeof data);
    h = (struct hdr){ T_IN, 0, 100 };
    itable[0] = (struct desc){ (u64)&h, 16, D_NEXT, 1 };
    itable[1] = (struct desc){ (u64)data, 512, D_NEXT | D_WRITE, 2 };
    itable[2] = (struct desc){ (u64)&st, 1, D_WRITE, 0 };
    table[0] = (struct desc){ (u64)itable, 3 * sizeof(struct desc), D_INDIRECT, 0 };
    submit("read-indirect", 0, 513, 0);
    check_true("read-indirect-data", matches(100, 0, 512));

    h = (struct hdr){ T_FLUSH, 0, 0 };
    table[0] = (struct desc){ (u64)&h, 16, D_NEXT, 2 };
    table[2] = (struct desc){ (u64)&st, 1, D_WRITE, 0 };
    submit("flush", 0, 1, 0);

    /* 5.2.6.2: failures are answered in the status byte, and no data moves. */
    memset(data, 0xcc, sizeof data);
    three(T_IN, SECTORS - 1, 1024);
    submit("read-beyond-capacity", 0, 1025, 1);
    check_true("beyond-capacity-untouched", all(0, 1024, 0xcc));
    three(T_IN, 0, 100);
    submit("read-not-whole-sectors", 0, 101, 1);
    check_true("not-whole-untouched", all(0, 100, 0xcc));
    three(T_OUT, SECTORS, 512);
    submit("write-beyond-capacity", 0, 1, 1);
    three(0x99, 0, 512);
    submit("unknown-type", 0, 513, 2);

    println("hostile: request with no status byte");
    h = (struct hdr){ T_OUT, 0, 0 };
    table[0] = (struct desc){ (u64)&h, 16, D_NEXT, 1 };
    table[1] = (struct desc){ (u64)data, 512, 0, 0 };
    kick(0, 0);
    expect_needs_reset("no-status");

    println("hostile: header shorter than 16 bytes");
    table[0] = (struct desc){ (u64)&h, 8, D_NEXT, 2 };
    table[2] = (struct desc){ (u64)&st, 1, D_WRITE, 0 };
    kick(0, 0);
    expect_needs_reset("short-header");

    return summary();
}
