/* virtq.h: one split virtqueue of QN entries (virtio v1.2 section 2.7) driven by hand over
 * the virtio-mmio transport (4.2), shared by the test guests that talk to one queue of one
 * device (virtio-rng, virtio-blk). The rings are static and page aligned; `base` and `slot`
 * are the device's, found by virtq_probe. Each guest keeps its own driver initialization
 * (its checks differ). */
#ifndef VIRTQ_H
#define VIRTQ_H
#include "virtio.h"

#define VIRTIO_BASE  UL(0x10001000)
#define VIRTIO_SLOTS 8
#define QN 8                       /* queue size used (QEMU's entropy device offers 8) */

struct avail { u16 flags; u16 idx; u16 ring[QN]; u16 used_event; };
struct used_elem { u32 id; u32 len; };
struct used { u16 flags; u16 idx; struct used_elem ring[QN]; u16 avail_event; };

static struct desc table[QN] __attribute__((aligned(4096)));
static struct avail av __attribute__((aligned(4096)));
static struct used us __attribute__((aligned(4096)));

static u64 base;
static int slot;
static u16 avail_idx, used_seen;

static u32 rd(u32 off) { return mmio_read32(base + off); }
static void wr(u32 off, u32 v) { mmio_write32(base + off, v); }
static void fence(void) { asm volatile("fence rw, rw" ::: "memory"); }
static volatile u16 *used_idx_p(void) { return (volatile u16 *)&us.idx; }

/* Find the device with ID `id` in the eight slots (QEMU and hvlab use different slots). */
static int virtq_probe(u32 id)
{
    for (int n = 0; n < VIRTIO_SLOTS; n++) {
        u64 b = VIRTIO_BASE + (u64)n * 0x1000;
        if (mmio_read32(b + MAGIC) == 0x74726976 && mmio_read32(b + VERSION) == 2 &&
            mmio_read32(b + DEVICE_ID) == id) {
            base = b;
            slot = n;
            return 1;
        }
    }
    return 0;
}

/* Queue 0's size and ring addresses, rings zeroed, then QueueReady (4.2.3.2). */
static void virtq_setup(void)
{
    wr(QUEUE_SEL, 0);
    wr(QUEUE_NUM, QN);
    wr(DESC_LO, (u32)(u64)table);
    wr(DESC_HI, (u32)((u64)table >> 32));
    wr(DRIVER_LO, (u32)(u64)&av);
    wr(DRIVER_HI, (u32)((u64)&av >> 32));
    wr(DEVICE_LO, (u32)(u64)&us);
    wr(DEVICE_HI, (u32)((u64)&us >> 32));
    for (unsigned i = 0; i < sizeof av; i++) ((volatile u8 *)&av)[i] = 0;
    for (unsigned i = 0; i < sizeof us; i++) ((volatile u8 *)&us)[i] = 0;
    fence();
    wr(QUEUE_READY, 1);
    avail_idx = 0;
    used_seen = 0;
}

/* Make chain `head` available and notify; with EVENT_IDX ask for an interrupt after
 * `irq_after` more used entries (0: this one). */
static void kick(u16 head, u16 irq_after)
{
    av.ring[avail_idx % QN] = head;
    av.used_event = (u16)(used_seen + irq_after);
    fence();
    avail_idx++;
    av.idx = avail_idx;
    fence();
    wr(QUEUE_NOTIFY, 0);
}

/* Wait (bounded) for the device to return a buffer; 1 if it did. */
static int wait_used(void)
{
    for (long i = 0; i < 20000000; i++) {
        fence();
        if (*used_idx_p() != used_seen) return 1;
    }
    return 0;
}

/* Read InterruptStatus until `bit` shows (bounded); returns what was read. */
static u32 wait_int(u32 bit)
{
    u32 v = 0;
    for (long i = 0; i < 2000000 && !(v & bit); i++) v = rd(INT_STATUS);
    return v;
}

#endif
