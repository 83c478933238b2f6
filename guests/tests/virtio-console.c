/* virtio-console: the console device (virtio v1.2 section 5.3) driven by hand,
 * hvlab only (QEMU's virtconsole does not offer VIRTIO_CONSOLE_F_SIZE). Port 0
 * without MULTIPORT: queue 0 receiveq, queue 1 transmitq (5.3.2). The guest
 * negotiates F_SIZE, reads cols and rows (5.3.4), sends a line through the
 * transmitq, then waits: the test harness resizes the terminal (a configuration
 * change, 5.3.6.2: a new ConfigGeneration, new cols and rows) and types a line,
 * which arrives in the receiveq's buffers and is echoed back. */
#include "virtio.h"

#define VIRTIO_BASE  UL(0x10001000)
#define QN 4
#define F_SIZE 1u

struct avail { u16 flags; u16 idx; u16 ring[QN]; u16 used_event; };
struct used_elem { u32 id; u32 len; };
struct used { u16 flags; u16 idx; struct used_elem ring[QN]; u16 avail_event; };
struct vq {
    struct desc table[QN] __attribute__((aligned(16)));
    struct avail av __attribute__((aligned(4)));
    struct used us __attribute__((aligned(4)));
    u16 avail_idx, used_seen;
};

static struct vq rxq __attribute__((aligned(4096)));
static struct vq txq __attribute__((aligned(4096)));
static u8 rxbuf[QN][16];
static char line[64];
static u64 base;

static u32 rd(u32 off) { return mmio_read32(base + off); }
static void wr(u32 off, u32 v) { mmio_write32(base + off, v); }
static void fence(void) { asm volatile("fence rw, rw" ::: "memory"); }

static void setup(u32 sel, struct vq *q)
{
    wr(QUEUE_SEL, sel);
    wr(QUEUE_NUM, QN);
    wr(DESC_LO, (u32)(u64)q->table);
    wr(DESC_HI, (u32)((u64)q->table >> 32));
    wr(DRIVER_LO, (u32)(u64)&q->av);
    wr(DRIVER_HI, (u32)((u64)&q->av >> 32));
    wr(DEVICE_LO, (u32)(u64)&q->us);
    wr(DEVICE_HI, (u32)((u64)&q->us >> 32));
    wr(QUEUE_READY, 1);
}

static void post(struct vq *q, u16 d)
{
    q->av.ring[q->avail_idx % QN] = d;
    fence();
    q->avail_idx++;
    q->av.idx = q->avail_idx;
    fence();
}

static int wait_used(struct vq *q)
{
    for (long i = 0; i < 20000000; i++) {
        fence();
        if (*(volatile u16 *)&q->us.idx != q->used_seen) return 1;
    }
    return 0;
}

static void send(const char *s)
{
    unsigned n = 0;
    while (s[n]) n++;
    txq.table[0] = (struct desc){ (u64)s, n, 0, 0 };
    post(&txq, 0);
    wr(QUEUE_NOTIFY, 1);
    check_true("tx-used", wait_used(&txq));
    check("tx-used-len", txq.us.ring[txq.used_seen % QN].len, 0);
    txq.used_seen++;
}

int main(void)
{
    println("virtio-console: port 0, F_SIZE, resize and input");
    for (int n = 0; n < 8 && !base; n++) {
        u64 b = VIRTIO_BASE + (u64)n * 0x1000;
        if (mmio_read32(b + DEVICE_ID) == 3) base = b;
    }
    check_true("probe-found-console", base != 0);
    if (!base) return summary();
    wr(STATUS, 0);
    wr(STATUS, S_ACK | S_DRIVER);
    wr(DEV_FEAT_SEL, 0);
    u32 lo = rd(DEV_FEAT);
    check("offers-size", lo & F_SIZE, F_SIZE);
    check("no-multiport", lo & 2, 0);
    wr(DRV_FEAT_SEL, 1);
    wr(DRV_FEAT, F_VERSION_1_HI);
    wr(DRV_FEAT_SEL, 0);
    wr(DRV_FEAT, F_SIZE);
    wr(STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    wr(QUEUE_SEL, 2);
    check("two-queues-only", rd(QUEUE_NUM_MAX), 0);
    setup(0, &rxq);
    setup(1, &txq);
    for (u16 i = 0; i < QN; i++) {
        rxq.table[i] = (struct desc){ (u64)rxbuf[i], sizeof rxbuf[i], D_WRITE, 0 };
        post(&rxq, i);
    }
    wr(QUEUE_NOTIFY, 0);
    wr(STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    check("cols", *(volatile u16 *)(base + 0x100), 80);
    check("rows", *(volatile u16 *)(base + 0x102), 24);
    check("max-nr-ports", rd(0x104), 1);
    u32 gen0 = rd(CONFIG_GEN);

    send("hello through the transmitq\n");
    println("waiting for a resize");
    u32 is = 0;
    for (long i = 0; i < 50000000 && !(is & 2); i++) is = rd(INT_STATUS);
    check("interrupt-config-change", is & 2, 2);
    wr(INT_ACK, 2);
    check_true("config-generation-moved", rd(CONFIG_GEN) != gen0);
    check("cols-after", *(volatile u16 *)(base + 0x100), 100);
    check("rows-after", *(volatile u16 *)(base + 0x102), 40);

    println("waiting for input");
    unsigned got = 0;
    while (got == 0 || line[got - 1] != '\n') {
        if (!wait_used(&rxq) || got >= sizeof line - 16) break;
        struct used_elem e = rxq.us.ring[rxq.used_seen % QN];
        rxq.used_seen++;
        for (u32 k = 0; k < e.len; k++) line[got++] = (char)rxbuf[e.id][k];
        post(&rxq, (u16)e.id);
    }
    line[got] = 0;
    print("echo: ");
    send(line);
    return summary();
}
