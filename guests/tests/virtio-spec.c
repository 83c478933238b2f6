/* virtio-spec: the virtio-mmio transport (virtio v1.2 section 4.2) and split
 * virtqueues (2.7) clause by clause, on hvlab's entropy device in slot 0
 * (VmConfig.virtio.rng). Each check is named after the clause it tests. Most
 * are hostile-driver cases: the device must refuse them with
 * DEVICE_NEEDS_RESET, write nothing, and work again after a reset. hvlab
 * only (QEMU 7.2 accepts FEATURES_OK without VERSION_1, offers a queue of 8,
 * and puts the device in slot 7): the golden output is every check passing. */
#include "virtio.h"

#define SLOT0 UL(0x10001000)

#define S_UP (S_ACK | S_DRIVER | S_FEATURES_OK)
#define QN 8

struct avail { u16 flags; u16 idx; u16 ring[QN]; u16 used_event; };
struct used_elem { u32 id; u32 len; };
struct used { u16 flags; u16 idx; struct used_elem ring[QN]; u16 avail_event; };

static struct desc table[QN] __attribute__((aligned(4096)));
static struct avail av __attribute__((aligned(4096)));
static struct used us __attribute__((aligned(4096)));
#define BIG 40
static struct desc itable[BIG] __attribute__((aligned(64)));
static u8 buf[256] __attribute__((aligned(64)));
static u16 avail_idx, used_seen;

static u32 rd(u32 off) { return mmio_read32(SLOT0 + off); }
static void wr(u32 off, u32 v) { mmio_write32(SLOT0 + off, v); }
static void fence(void) { asm volatile("fence rw, rw" ::: "memory"); }

static void set_rings(u64 d, u64 a, u64 u)
{
    wr(DESC_LO, (u32)d); wr(DESC_HI, (u32)(d >> 32));
    wr(DRIVER_LO, (u32)a); wr(DRIVER_HI, (u32)(a >> 32));
    wr(DEVICE_LO, (u32)u); wr(DEVICE_HI, (u32)(u >> 32));
}

/* Bring the device up with driver features `lo` (and VERSION_1), queue
 * of QN; `driver_ok` 0 stops before DRIVER_OK. */
static void up(u32 lo, int driver_ok)
{
    wr(STATUS, 0);
    wr(STATUS, S_ACK | S_DRIVER);
    wr(DRV_FEAT_SEL, 1); wr(DRV_FEAT, 1);
    wr(DRV_FEAT_SEL, 0); wr(DRV_FEAT, lo);
    wr(STATUS, S_UP);
    wr(QUEUE_SEL, 0);
    wr(QUEUE_NUM, QN);
    set_rings((u64)table, (u64)&av, (u64)&us);
    for (unsigned i = 0; i < sizeof av; i++) ((volatile u8 *)&av)[i] = 0;
    for (unsigned i = 0; i < sizeof us; i++) ((volatile u8 *)&us)[i] = 0;
    fence();
    wr(QUEUE_READY, 1);
    if (driver_ok) wr(STATUS, S_UP | S_DRIVER_OK);
    avail_idx = used_seen = 0;
}

static void offer(u16 head)
{
    av.ring[avail_idx % QN] = head;
    av.used_event = used_seen;
    fence();
    av.idx = ++avail_idx;
    fence();
}

/* The device serves the queue during the notify; the fence makes the
 * compiler reread the rings afterwards. */
static void notify(void) { wr(QUEUE_NOTIFY, 0); fence(); }
static void kick(u16 head) { offer(head); notify(); }

static void fill_pattern(void) { for (unsigned i = 0; i < sizeof buf; i++) buf[i] = 0xa5; }
static int untouched(void)
{
    for (unsigned i = 0; i < sizeof buf; i++) if (buf[i] != 0xa5) return 0;
    return 1;
}

/* The request just kicked must be refused: DEVICE_NEEDS_RESET, a
 * configuration-change interrupt, no used entry, no byte written. Then a
 * reset, and a good request to show the device works again. */
static void refused(const char *clause)
{
    u32 st = rd(STATUS), is = rd(INT_STATUS);
    u16 used = us.idx;
    int clean = untouched();
    wr(STATUS, 0);
    u32 st0 = rd(STATUS), is0 = rd(INT_STATUS);
    up(F_INDIRECT | F_EVENT_IDX, 1);
    fill_pattern();
    table[0] = (struct desc){ (u64)buf, 16, D_WRITE, 0 };
    kick(0);
    int ok = st == (S_UP | S_DRIVER_OK | S_NEEDS_RESET) && is == 2 && used == 0 && clean &&
             st0 == 0 && is0 == 0 && us.idx == 1 && us.ring[0].len == 16;
    if (!ok) { print_kv("status", st); print_kv("int", is); print_kv("used", used); }
    check_true(clause, ok);
    up(F_INDIRECT | F_EVENT_IDX, 1);
}

int main(void)
{
    println("virtio-spec: virtio-mmio transport and split virtqueue, clause by clause");

    int empty = 1;
    for (int n = 1; n < 8; n++) {
        u64 b = SLOT0 + (u64)n * 0x1000;
        empty &= mmio_read32(b + MAGIC) == 0x74726976 && mmio_read32(b + VERSION) == 2 &&
                 mmio_read32(b + DEVICE_ID) == 0;
    }
    check_true("4.2.2: slots without a device read magic, version 2, device ID 0", empty);
    check_true("4.2.2.1: the device reads magic 0x74726976 and version 2",
               rd(MAGIC) == 0x74726976 && rd(VERSION) == 2);
    check("5.4.1: the entropy device has ID 4", rd(DEVICE_ID), 4);
    wr(DEV_FEAT_SEL, 1);
    u32 hi = rd(DEV_FEAT);
    wr(DEV_FEAT_SEL, 0);
    u32 lo = rd(DEV_FEAT);
    check("6.2: the device offers VERSION_1", hi & 1, 1);
    check("2.7.5.3, 2.7.10: INDIRECT_DESC and EVENT_IDX are offered", lo, F_INDIRECT | F_EVENT_IDX);

    /* Feature negotiation (2.2, 3.1.1, 6). */
    wr(STATUS, 0);
    wr(STATUS, S_ACK | S_DRIVER);
    wr(DRV_FEAT_SEL, 1); wr(DRV_FEAT, 0);
    wr(DRV_FEAT_SEL, 0); wr(DRV_FEAT, F_INDIRECT);
    wr(STATUS, S_UP);
    check("6.2: FEATURES_OK is refused without VERSION_1", rd(STATUS), S_ACK | S_DRIVER);
    wr(STATUS, 0);
    wr(STATUS, S_ACK | S_DRIVER);
    wr(DRV_FEAT_SEL, 1); wr(DRV_FEAT, 1);
    wr(DRV_FEAT_SEL, 0); wr(DRV_FEAT, 1);
    wr(STATUS, S_UP);
    check("2.2.1: FEATURES_OK is refused for a feature not offered", rd(STATUS), S_ACK | S_DRIVER);
    wr(STATUS, 0);
    check("2.4: writing 0 to Status resets the device", rd(STATUS), 0);

    /* Queue configuration (4.2.3.2, 2.7). */
    wr(STATUS, S_ACK | S_DRIVER);
    wr(DRV_FEAT_SEL, 1); wr(DRV_FEAT, 1);
    wr(DRV_FEAT_SEL, 0); wr(DRV_FEAT, 0);
    wr(STATUS, S_UP);
    check("3.1.1: FEATURES_OK is kept for VERSION_1 alone", rd(STATUS), S_UP);
    wr(QUEUE_SEL, 1);
    check("4.2.2.1: QueueNumMax of an absent queue reads 0", rd(QUEUE_NUM_MAX), 0);
    wr(QUEUE_SEL, 0);
    check("4.2.2: QueueNumMax is 256", rd(QUEUE_NUM_MAX), 256);
    wr(QUEUE_NUM, 3);
    set_rings((u64)table, (u64)&av, (u64)&us);
    wr(QUEUE_READY, 1);
    check("2.7: a queue size that is not a power of 2 is not made ready", rd(QUEUE_READY), 0);
    wr(QUEUE_NUM, QN);
    set_rings((u64)table + 8, (u64)&av, (u64)&us);
    wr(QUEUE_READY, 1);
    check("2.7: a descriptor table not 16-byte aligned is not made ready", rd(QUEUE_READY), 0);
    set_rings((u64)table, (u64)&av, RAM_BASE + RAM_SIZE - 16);
    wr(QUEUE_READY, 1);
    check("4.2.3.2: a used ring outside RAM is not made ready", rd(QUEUE_READY), 0);
    set_rings(0x1000, (u64)&av, (u64)&us);
    wr(QUEUE_READY, 1);
    check("4.2.3.2: a descriptor table outside RAM is not made ready", rd(QUEUE_READY), 0);
    wr(STATUS, S_UP | S_NEEDS_RESET);
    check("2.1.2: the driver cannot set DEVICE_NEEDS_RESET", rd(STATUS), S_UP);
    check("4.2.2: no shared memory region: SHMLen reads -1", rd(SHM_LEN_LO), 0xffffffff);
    check("4.2.2: ConfigGeneration reads 0 (no configuration space)", rd(CONFIG_GEN), 0);

    /* Notifications before DRIVER_OK are ignored (3.1.1 step 8). */
    up(0, 0);
    fill_pattern();
    table[0] = (struct desc){ (u64)buf, 16, D_WRITE, 0 };
    kick(0);
    check_true("3.1.1: a notification before DRIVER_OK serves nothing", us.idx == 0 && untouched());
    wr(STATUS, S_UP | S_DRIVER_OK);
    notify();
    check_true("4.2.3.3: after DRIVER_OK the pending buffer is served", us.idx == 1 && us.ring[0].len == 16);
    u32 is = rd(INT_STATUS);
    check("4.2.2: a used buffer sets InterruptStatus bit 0", is, 1);
    wr(INT_ACK, 2);
    check("4.2.2: InterruptACK clears only the bits written", rd(INT_STATUS), 1);
    wr(INT_ACK, 1);
    check("4.2.2: InterruptACK clears InterruptStatus", rd(INT_STATUS), 0);
    used_seen = 1;

    /* Without EVENT_IDX: VIRTQ_AVAIL_F_NO_INTERRUPT (2.7.7). */
    av.flags = 1;
    kick(0);
    check_true("2.7.7: VIRTQ_AVAIL_F_NO_INTERRUPT suppresses the interrupt",
               us.idx == 2 && rd(INT_STATUS) == 0);
    av.flags = 0;
    check("2.7.10: without EVENT_IDX avail_event is not written", us.avail_event, 0);

    /* 5.4.6.2 / 2.7.4: readable buffers are not written, the length counts writable bytes. */
    up(F_INDIRECT | F_EVENT_IDX, 1);
    fill_pattern();
    table[1] = (struct desc){ (u64)buf, 16, D_NEXT, 2 };
    table[2] = (struct desc){ (u64)buf + 32, 24, D_WRITE, 0 };
    kick(1);
    int ro = 1;
    for (int i = 0; i < 16; i++) ro &= buf[i] == 0xa5;
    check_true("2.7.8.1: used len counts only the bytes written", us.idx == 1 && us.ring[0].len == 24);
    check_true("2.7.5.1: a device-readable buffer is not written", ro);
    check("2.7.10: with EVENT_IDX avail_event follows the avail index", us.avail_event, 1);
    wr(INT_ACK, 3);

    /* Hostile drivers: each is refused with DEVICE_NEEDS_RESET (2.1.2). */
    up(F_INDIRECT | F_EVENT_IDX, 1);
    fill_pattern();
    table[0] = (struct desc){ RAM_BASE + RAM_SIZE - 8, 16, D_WRITE, 0 };
    kick(0);
    refused("2.7.5: a buffer running past the end of RAM is refused");

    fill_pattern();
    table[0] = (struct desc){ 0x10000000, 8, D_WRITE, 0 };
    kick(0);
    refused("2.7.5: a buffer on a device (the UART) is refused");

    fill_pattern();
    table[0] = (struct desc){ (u64)buf, 0xffffffff, D_WRITE, 0 };
    kick(0);
    refused("2.7.5: a 4 GiB buffer is refused");

    fill_pattern();
    table[0] = (struct desc){ (u64)buf, 16, D_WRITE | D_NEXT, 1 };
    table[1] = (struct desc){ (u64)buf + 16, 16, D_WRITE | D_NEXT, 0 };
    kick(0);
    refused("2.7.5.2: a looping descriptor chain is rejected");

    fill_pattern();
    table[0] = (struct desc){ (u64)buf, 16, D_WRITE | D_NEXT, QN };
    kick(0);
    refused("2.7.5: a next index beyond the table is rejected");

    fill_pattern();
    kick(QN + 3);
    refused("2.7.6: an avail ring entry beyond the table is rejected");

    fill_pattern();
    table[0] = (struct desc){ (u64)buf, 16, D_WRITE | D_NEXT, 1 };
    table[1] = (struct desc){ (u64)buf + 16, 16, D_NEXT, 2 };
    table[2] = (struct desc){ (u64)buf + 32, 16, D_WRITE, 0 };
    kick(0);
    refused("2.7.4.2: a readable buffer after a writable one is rejected");

    fill_pattern();
    table[0] = (struct desc){ (u64)buf, 16, D_WRITE, 0 };
    offer(0);
    avail_idx += QN;
    av.idx = avail_idx;
    fence();
    notify();
    refused("2.7.6: an avail index more than the queue size ahead needs a reset");

    /* Indirect descriptors (2.7.5.3). */
    fill_pattern();
    itable[0] = (struct desc){ (u64)buf, 16, D_WRITE, 0 };
    table[0] = (struct desc){ (u64)itable, 16, D_INDIRECT | D_NEXT, 1 };
    table[1] = (struct desc){ (u64)buf + 32, 16, D_WRITE, 0 };
    kick(0);
    refused("2.7.5.3.1: INDIRECT together with NEXT is rejected");

    fill_pattern();
    itable[0] = (struct desc){ (u64)&itable[2], 16, D_INDIRECT, 0 };
    itable[2] = (struct desc){ (u64)buf, 16, D_WRITE, 0 };
    table[0] = (struct desc){ (u64)itable, 16, D_INDIRECT, 0 };
    kick(0);
    refused("2.7.5.3.1: an indirect table inside an indirect table is rejected");

    fill_pattern();
    itable[0] = (struct desc){ (u64)buf, 16, D_WRITE, 0 };
    table[0] = (struct desc){ (u64)itable, 20, D_INDIRECT, 0 };
    kick(0);
    refused("2.7.5.3: an indirect table whose length is not a multiple of 16 is rejected");

    fill_pattern();
    itable[0] = (struct desc){ (u64)buf, 16, D_WRITE | D_NEXT, 1 };
    itable[1] = (struct desc){ (u64)buf + 16, 16, D_WRITE | D_NEXT, 0 };
    table[0] = (struct desc){ (u64)itable, 32, D_INDIRECT, 0 };
    kick(0);
    refused("2.7.5.2: a looping indirect chain is rejected");

    fill_pattern();
    table[0] = (struct desc){ RAM_BASE + RAM_SIZE - 16, 32, D_INDIRECT, 0 };
    kick(0);
    refused("2.7.5.3: an indirect table outside RAM is rejected");

    /* 2^32 bytes in total: 40 x 128 MiB buffers over all of RAM (the guest
     * included). Refused before any byte is written, or this guest is gone. */
    fill_pattern();
    for (int i = 0; i < BIG; i++)
        itable[i] = (struct desc){ RAM_BASE, (u32)RAM_SIZE, D_WRITE | (i + 1 < BIG ? D_NEXT : 0), (u16)(i + 1) };
    table[0] = (struct desc){ (u64)itable, BIG * sizeof(struct desc), D_INDIRECT, 0 };
    kick(0);
    refused("2.7.5.2: a chain over 2^32 bytes is rejected before any write");

    /* INDIRECT without the feature (2.7.5.3.1). */
    up(F_EVENT_IDX, 1);
    fill_pattern();
    itable[0] = (struct desc){ (u64)buf, 16, D_WRITE, 0 };
    table[0] = (struct desc){ (u64)itable, 16, D_INDIRECT, 0 };
    kick(0);
    refused("2.7.5.3.1: INDIRECT without VIRTIO_F_INDIRECT_DESC is rejected");

    wr(STATUS, 0);
    check("4.2.2.1: a reset clears QueueReady", rd(QUEUE_READY), 0);
    return summary();
}
