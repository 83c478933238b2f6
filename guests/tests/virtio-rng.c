/* virtio-rng: the virtio-mmio transport (virtio v1.2 section 4.2) and a split
 * virtqueue (2.7) driven by hand against the entropy device (5.4). The guest
 * finds the device by probing the eight virtio-mmio slots of the virt map
 * (QEMU puts -device virtio-rng-device in another slot than hvlab does),
 * negotiates VERSION_1 with INDIRECT_DESC and EVENT_IDX, and asks for random
 * bytes through plain, chained and indirect descriptors. Then it plays the
 * hostile driver: a buffer that runs off the end of RAM, a descriptor loop,
 * an avail index that jumps past the queue size. The device must answer each
 * with DEVICE_NEEDS_RESET and a configuration-change interrupt, and work
 * again after a reset. Random bytes differ between machines, so only checks,
 * lengths and counts are printed. */
#include "virtq.h"

static struct desc itable[4] __attribute__((aligned(64)));
static u8 buf[512] __attribute__((aligned(64)));
static int event_idx;

/* 3.1.1 driver initialization; returns 1 when the queue is live. */
static int init(int verbose)
{
    wr(STATUS, 0);
    u32 st0 = rd(STATUS);
    wr(STATUS, S_ACK);
    wr(STATUS, S_ACK | S_DRIVER);
    wr(DEV_FEAT_SEL, 1);
    u32 hi = rd(DEV_FEAT);
    wr(DEV_FEAT_SEL, 0);
    u32 lo = rd(DEV_FEAT);
    u32 want = lo & (F_INDIRECT | F_EVENT_IDX);
    wr(DRV_FEAT_SEL, 1);
    wr(DRV_FEAT, hi & F_VERSION_1_HI);
    wr(DRV_FEAT_SEL, 0);
    wr(DRV_FEAT, want);
    wr(STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    u32 st = rd(STATUS);
    wr(QUEUE_SEL, 0);
    u32 ready0 = rd(QUEUE_READY);
    u32 max = rd(QUEUE_NUM_MAX);
    virtq_setup();
    u32 ready1 = rd(QUEUE_READY);
    wr(STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    u32 st2 = rd(STATUS);
    event_idx = (want & F_EVENT_IDX) != 0;
    if (verbose) {
        check("reset-status-0", st0, 0);
        check_true("offers-version-1", hi & F_VERSION_1_HI);
        check_true("offers-indirect-desc", lo & F_INDIRECT);
        check_true("offers-event-idx", lo & F_EVENT_IDX);
        check("features-ok-kept", st & S_FEATURES_OK, S_FEATURES_OK);
        check("queue-ready-before", ready0, 0);
        check_true("queue-num-max-at-least-8", max >= QN);
        check("queue-ready-after", ready1, 1);
        check("status-driver-ok", st2, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    }
    return (st2 & S_DRIVER_OK) && ready1 == 1;
}

static u32 plic_pending(void)
{
    return (mmio_read32(PLIC_BASE + 0x1000) >> (slot + 1)) & 1;
}

static void fill_pattern(void)
{
    for (unsigned i = 0; i < sizeof buf; i++) buf[i] = 0xa5;
}

static int changed(unsigned from, unsigned len)
{
    for (unsigned i = from; i < from + len; i++)
        if (buf[i] != 0xa5) return 1;
    return 0;
}

/* One request of descriptor head `head`, expecting `len` bytes back. */
static void request(const char *name, u16 head, u32 len)
{
    print("request ");
    println(name);
    kick(head, 0);
    int got = wait_used();
    check_true("used-returned", got);
    struct used_elem e = us.ring[used_seen % QN];
    used_seen++;
    check("used-id", e.id, head);
    check("used-len", e.len, len);
    u32 is = wait_int(1);
    check("interrupt-used-buffer", is & 3, 1);
    check("plic-line-pending", plic_pending(), 1);
    /* 2.7.10: avail_event is the device's choice. A device served on notification asks for
     * the next one (avail_idx); one that polls (hvlab's offload backend) asks for none: it keeps
     * the event half the index space from what it has served, which no new index crosses. */
    if (event_idx)
        check_true("avail-event", us.avail_event == avail_idx || us.avail_event == (u16)(avail_idx + 0x8000));
    wr(INT_ACK, is);
    check("interrupt-acked", rd(INT_STATUS), 0);
}

static void plain(const char *name)
{
    fill_pattern();
    table[0] = (struct desc){ (u64)buf, 64, D_WRITE, 0 };
    request(name, 0, 64);
    check_true("bytes-written", changed(0, 64));
    check_true("bytes-beyond-untouched", !changed(64, sizeof buf - 64));
}

/* The device must refuse the request, set DEVICE_NEEDS_RESET and raise a
 * configuration-change interrupt; a reset brings it back. */
static void expect_needs_reset(const char *name)
{
    u32 st = 0;
    for (long i = 0; i < 20000000 && !(st & S_NEEDS_RESET); i++) st = rd(STATUS);
    check("needs-reset", st & S_NEEDS_RESET, S_NEEDS_RESET);
    u32 is = wait_int(2);
    check("interrupt-config-change", is & 2, 2);
    check("no-used-entry", *used_idx_p(), used_seen);
    wr(STATUS, 0);
    check("reset-clears-status", rd(STATUS), 0);
    check("reset-clears-interrupt", rd(INT_STATUS), 0);
    check_true("reinit", init(0));
    print("recover after ");
    println(name);
    plain("plain-after-reset");
}

int main(void)
{
    println("virtio-rng: virtio-mmio v2, split virtqueue, entropy device");
    int found = virtq_probe(4);
    check_true("probe-found-rng", found);
    if (!found) return summary();
    check_true("init", init(1));

    plain("plain");

    /* Chained: three writable buffers, 16 + 32 + 48 bytes. */
    fill_pattern();
    table[1] = (struct desc){ (u64)buf, 16, D_WRITE | D_NEXT, 2 };
    table[2] = (struct desc){ (u64)buf + 64, 32, D_WRITE | D_NEXT, 3 };
    table[3] = (struct desc){ (u64)buf + 128, 48, D_WRITE, 0 };
    request("chained", 1, 96);
    check_true("chain-part-1", changed(0, 16));
    check_true("chain-part-2", changed(64, 32));
    check_true("chain-part-3", changed(128, 48));
    check_true("chain-gaps-untouched", !changed(16, 48) && !changed(96, 32) && !changed(176, 64));

    /* Indirect: one descriptor naming a table of three, 8 + 24 + 100 bytes. */
    fill_pattern();
    itable[0] = (struct desc){ (u64)buf + 256, 8, D_WRITE | D_NEXT, 1 };
    itable[1] = (struct desc){ (u64)buf + 272, 24, D_WRITE | D_NEXT, 2 };
    itable[2] = (struct desc){ (u64)buf + 320, 100, D_WRITE, 0 };
    table[4] = (struct desc){ (u64)itable, 3 * sizeof(struct desc), D_INDIRECT, 0 };
    fence();
    request("indirect", 4, 132);
    check_true("indirect-part-1", changed(256, 8));
    check_true("indirect-part-3", changed(320, 100));
    check_true("indirect-table-untouched", itable[1].len == 24 && itable[2].len == 100);

    /* EVENT_IDX: used_event two entries ahead, so this completion must not interrupt. */
    if (event_idx) {
        println("request event-idx-suppressed");
        fill_pattern();
        table[0] = (struct desc){ (u64)buf, 32, D_WRITE, 0 };
        kick(0, 2);
        check_true("used-returned", wait_used());
        check("used-len", us.ring[used_seen % QN].len, 32);
        used_seen++;
        for (volatile long i = 0; i < 200000; i++) ;
        check("no-interrupt", rd(INT_STATUS), 0);
        /* The next one reaches used_event: interrupt. */
        plain("plain-reaching-used-event");
    }

    println("hostile: buffer past the end of RAM");
    table[0] = (struct desc){ RAM_BASE + RAM_SIZE - 4096, 16384, D_WRITE, 0 };
    kick(0, 0);
    expect_needs_reset("outside-ram");

    println("hostile: descriptor loop");
    table[5] = (struct desc){ (u64)buf, 16, D_WRITE | D_NEXT, 6 };
    table[6] = (struct desc){ (u64)buf + 16, 16, D_WRITE | D_NEXT, 5 };
    kick(5, 0);
    expect_needs_reset("loop");

    println("hostile: avail index jumps past the queue size");
    table[0] = (struct desc){ (u64)buf, 16, D_WRITE, 0 };
    av.ring[0] = 0;
    fence();
    avail_idx += QN + 1;
    av.idx = avail_idx;
    fence();
    wr(QUEUE_NOTIFY, 0);
    expect_needs_reset("avail-jump");

    return summary();
}
