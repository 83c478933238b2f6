// The virtio-mmio transport (virtio v1.2, 4.2) and split virtqueues (2.7),
// driver side. The device drivers (virtio_console.c, virtio_blk.c,
// virtio_rng.c) build chains of descriptors and call these.
//
// Exits are the cost that matters under a hypervisor: every register access
// below traps to it. So the fast path touches registers only to notify, and
// only when the device asked for notifications (virtq_kick); completions are
// found by reading the used ring in memory (virtq_get_used), never by reading
// a register in a loop.
//
// DMA addresses: hvos maps RAM at its physical address (memlayout.h), so a
// kernel pointer to RAM is the guest-physical address the device needs.
#include "defs.h"
#include "memlayout.h"
#include "virtio.h"

u32 virtio_read(struct virtio_dev *d, u32 off)
{
    return *(volatile u32 *)(d->regs + off);
}

void virtio_write(struct virtio_dev *d, u32 off, u32 v)
{
    *(volatile u32 *)(d->regs + off) = v;
}

// `broken` is set before printing: the console may be this device, and
// kprintf must then fall back to the UART instead of using it.
void virtio_fail(struct virtio_dev *d, const char *why)
{
    d->broken = 1;
    virtio_write(d, VIRTIO_MMIO_STATUS, virtio_read(d, VIRTIO_MMIO_STATUS) | VIRTIO_S_FAILED);
    kprintf("%s: %s; device not used\n", d->name, why);
}

// Device initialisation, 3.1.1 steps 1 to 6: reset, ACKNOWLEDGE, DRIVER,
// feature negotiation, FEATURES_OK and the check that it stuck. `wanted` is
// what the driver can use; it gets the intersection with what is offered.
// VERSION_1 is required: hvos speaks only the modern interface (6.1).
int virtio_setup(struct virtio_dev *d, u64 wanted)
{
    virtio_write(d, VIRTIO_MMIO_STATUS, 0);
    // 2.4.1: the reset is complete when Status reads 0 (immediately on
    // QEMU and hvlab; bounded here so a broken device cannot hang boot).
    for (int i = 0; virtio_read(d, VIRTIO_MMIO_STATUS) != 0; i++)
        if (i == 1000) {
            virtio_fail(d, "reset did not complete");
            return -1;
        }
    virtio_write(d, VIRTIO_MMIO_STATUS, VIRTIO_S_ACKNOWLEDGE);
    virtio_write(d, VIRTIO_MMIO_STATUS, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);

    virtio_write(d, VIRTIO_MMIO_DEV_FEATURES_SEL, 0);
    u64 offered = virtio_read(d, VIRTIO_MMIO_DEV_FEATURES);
    virtio_write(d, VIRTIO_MMIO_DEV_FEATURES_SEL, 1);
    offered |= (u64)virtio_read(d, VIRTIO_MMIO_DEV_FEATURES) << 32;
    if (!(offered & VIRTIO_F_VERSION_1)) {
        virtio_fail(d, "no VIRTIO_F_VERSION_1");
        return -1;
    }
    d->features = offered & (wanted | VIRTIO_F_VERSION_1);
    virtio_write(d, VIRTIO_MMIO_DRV_FEATURES_SEL, 0);
    virtio_write(d, VIRTIO_MMIO_DRV_FEATURES, (u32)d->features);
    virtio_write(d, VIRTIO_MMIO_DRV_FEATURES_SEL, 1);
    virtio_write(d, VIRTIO_MMIO_DRV_FEATURES, (u32)(d->features >> 32));

    u32 s = VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK;
    virtio_write(d, VIRTIO_MMIO_STATUS, s);
    // 3.1.1 step 6: a device that cannot work with our subset clears it.
    if (!(virtio_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_S_FEATURES_OK)) {
        virtio_fail(d, "features not accepted (FEATURES_OK did not stick)");
        return -1;
    }
    return 0;
}

void virtio_driver_ok(struct virtio_dev *d)
{
    virtio_write(d, VIRTIO_MMIO_STATUS, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER |
                                        VIRTIO_S_FEATURES_OK | VIRTIO_S_DRIVER_OK);
}

// DEVICE_NEEDS_RESET (2.1.2): the device found an error (e.g. a bad chain
// from us) and serves nothing more until reset. hvos reports it once and
// stops using the device.
int virtio_check_reset(struct virtio_dev *d)
{
    if (d->broken)
        return 1;
    if (virtio_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_S_NEEDS_RESET) {
        d->broken = 1;
        kprintf("%s: device needs reset (DEVICE_NEEDS_RESET); device not used\n", d->name);
        return 1;
    }
    return 0;
}

// Read and acknowledge the interrupt causes (4.2.3.3). A configuration change
// is also how the device announces DEVICE_NEEDS_RESET (2.1.2).
u32 virtio_ack_interrupt(struct virtio_dev *d)
{
    u32 st = virtio_read(d, VIRTIO_MMIO_INT_STATUS);
    if (st)
        virtio_write(d, VIRTIO_MMIO_INT_ACK, st);
    if (st & VIRTIO_INT_CONFIG_CHANGE)
        virtio_check_reset(d);
    return st;
}

// For drivers whose queues run with interrupts suppressed: only
// configuration changes (a device needing reset) interrupt them.
void virtio_intr_ack(struct virtio_dev *d)
{
    virtio_ack_interrupt(d);
}

// A 64-bit configuration field as two 32-bit reads, retried until the
// configuration generation is the same before and after (2.5.1).
u64 virtio_config64(struct virtio_dev *d, u32 off)
{
    u32 gen, lo, hi;
    do {
        gen = virtio_read(d, VIRTIO_MMIO_CONFIG_GEN);
        lo = virtio_read(d, VIRTIO_MMIO_CONFIG + off);
        hi = virtio_read(d, VIRTIO_MMIO_CONFIG + off + 4);
    } while (virtio_read(d, VIRTIO_MMIO_CONFIG_GEN) != gen);
    return ((u64)hi << 32) | lo;
}

// used_event sits after the avail ring, avail_event after the used ring
// (2.7.10).
static volatile u16 *used_event(struct virtq *q)  { return &q->avail->ring[q->num]; }
static volatile u16 *avail_event(struct virtq *q) { return (volatile u16 *)&q->used->ring[q->num]; }

// Tell the device when we want a used-buffer interrupt (2.7.7). Wanted:
// with EVENT_IDX, at the next entry we have not seen; without, flags 0.
// Not wanted: with EVENT_IDX (flags must then be 0), an event index half the
// counter space ahead, which the device cannot reach before we read the
// ring again (at most num entries are outstanding); without, NO_INTERRUPT.
static void set_interrupts(struct virtq *q)
{
    if (q->event_idx) {
        q->avail->flags = 0;
        *used_event(q) = q->interrupts ? q->last_used : (u16)(q->last_used + 0x8000);
    } else {
        q->avail->flags = q->interrupts ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT;
    }
}

// Queue setup, 4.2.3.2. Returns 0, or -1 (after virtio_fail) if the device
// does not have the queue or refuses it.
int virtq_init(struct virtq *q, struct virtio_dev *d, u32 index, int interrupts)
{
    memset(q, 0, sizeof(*q));
    q->dev = d;
    q->index = index;
    q->interrupts = interrupts;
    q->event_idx = (d->features & VIRTIO_F_EVENT_IDX) != 0;

    virtio_write(d, VIRTIO_MMIO_QUEUE_SEL, index);
    if (virtio_read(d, VIRTIO_MMIO_QUEUE_READY) != 0) {
        virtio_fail(d, "queue already in use after reset");
        return -1;
    }
    u32 max = virtio_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
    if (max == 0) {
        virtio_fail(d, "a queue is missing");
        return -1;
    }
    // The largest power of 2 within both limits (hvlab, like 2.7's packed
    // ring rules for sizes, wants a power of 2 for split queues).
    u32 num = VIRTQ_MAX;
    while (num > max)
        num >>= 1;
    q->num = num;

    u8 *page = kalloc();                 // zeroed: avail.idx = used.idx = 0
    if (!page) {
        virtio_fail(d, "out of memory");
        return -1;
    }
    q->desc = (volatile struct virtq_desc *)page;
    q->avail = (volatile struct virtq_avail *)(page + 16 * num);
    q->used = (volatile struct virtq_used *)(page + 2048);
    for (u32 i = 0; i < num; i++)
        q->free_next[i] = (u16)(i + 1);
    q->free_head = 0;
    q->num_free = (u16)num;
    set_interrupts(q);

    u64 desc = (u64)q->desc, drv = (u64)q->avail, dev = (u64)q->used;
    virtio_write(d, VIRTIO_MMIO_QUEUE_NUM, num);
    virtio_write(d, VIRTIO_MMIO_QUEUE_DESC_LO, (u32)desc);
    virtio_write(d, VIRTIO_MMIO_QUEUE_DESC_HI, (u32)(desc >> 32));
    virtio_write(d, VIRTIO_MMIO_QUEUE_DRIVER_LO, (u32)drv);
    virtio_write(d, VIRTIO_MMIO_QUEUE_DRIVER_HI, (u32)(drv >> 32));
    virtio_write(d, VIRTIO_MMIO_QUEUE_DEVICE_LO, (u32)dev);
    virtio_write(d, VIRTIO_MMIO_QUEUE_DEVICE_HI, (u32)(dev >> 32));
    virtio_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
    if (virtio_read(d, VIRTIO_MMIO_QUEUE_READY) != 1) {
        virtio_fail(d, "queue refused");
        return -1;
    }
    return 0;
}

int virtq_alloc(struct virtq *q)
{
    if (q->num_free == 0)
        return -1;
    u16 i = q->free_head;
    q->free_head = q->free_next[i];
    q->num_free--;
    return i;
}

// Free a chain we built. The walk follows our own record of the links
// (free_next is ours), not the descriptor table, and stops after num steps.
void virtq_free_chain(struct virtq *q, u16 head)
{
    u16 i = head;
    for (u32 n = 0; n < q->num; n++) {
        u16 flags = q->desc[i].flags, next = q->desc[i].next;
        q->free_next[i] = q->free_head;
        q->free_head = i;
        q->num_free++;
        if (!(flags & VIRTQ_DESC_F_NEXT) || next >= q->num)
            break;
        i = next;
    }
}

void virtq_set_desc(struct virtq *q, u16 i, const void *buf, u32 len, u16 flags, u16 next)
{
    q->desc[i].addr = (u64)buf;
    q->desc[i].len = len;
    q->desc[i].flags = flags;
    q->desc[i].next = next;
}

// 2.7.13: put the head in the next avail slot, then (after a write barrier,
// so the device never sees the index before the entry) advance avail.idx.
void virtq_submit(struct virtq *q, u16 head)
{
    q->avail->ring[q->avail_idx & (q->num - 1)] = head;
    wmb();
    q->avail_idx++;
    q->avail->idx = q->avail_idx;
}

// The event-index test of 2.7.10 (Linux's vring_need_event): has the index
// `event` been passed by moving from `old` to `new`? In u16 arithmetic.
static int need_event(u16 event, u16 new, u16 old)
{
    return (u16)(new - event - 1) < (u16)(new - old);
}

// Notify the device of the chains made available since the last kick, if it
// wants to hear (2.7.13.4, notification suppression 2.7.10 / 2.7.8): with
// EVENT_IDX, only if this batch passed its avail_event; without, unless
// used.flags has NO_NOTIFY. A device that polls the ring (hvlab's offload
// backend) says so and we never write the register: no exit at all.
void virtq_kick(struct virtq *q)
{
    u16 old = q->kicked_idx, new = q->avail_idx;
    if (old == new)
        return;
    q->kicked_idx = new;
    mb();                    // avail.idx visible before we read the device's wish
    int notify = q->event_idx ? need_event(*avail_event(q), new, old)
                              : !(q->used->flags & VIRTQ_USED_F_NO_NOTIFY);
    if (notify) {
        io_mb();             // ring stores before the register write
        virtio_write(q->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);
    }
}

int virtq_used_pending(struct virtq *q)
{
    return q->used->idx != q->last_used;
}

// The next used element, or -1 if there is nothing new (or the device is
// broken). The device is not trusted either: a used index more than a ring
// ahead of us, or an id outside the table (it would free a descriptor we
// never gave out), means it is broken and we stop using it.
int virtq_get_used(struct virtq *q, u32 *len)
{
    u16 idx = q->used->idx;
    if (idx == q->last_used || q->dev->broken)
        return -1;
    rmb();                   // the entry after the index that covers it
    volatile struct virtq_used_elem *e = &q->used->ring[q->last_used & (q->num - 1)];
    u32 id = e->id;
    *len = e->len;
    if ((u16)(idx - q->last_used) > q->num || id >= q->num) {
        q->dev->broken = 1;
        kprintf("%s: bad used ring entry (index %u, id %u); device not used\n",
                q->dev->name, idx, id);
        return -1;
    }
    q->last_used++;
    set_interrupts(q);       // move used_event along with us
    return (int)id;
}

// Wait for the next completion by polling used.idx in memory. Completion may
// come later than the notify (an offload device serves the queue from another
// thread), so we cannot assume it is there at once. Once in a long while we
// read Status, so a device that stopped (DEVICE_NEEDS_RESET) cannot hang us.
int virtq_wait_used(struct virtq *q, u32 *len)
{
    for (u64 spins = 1;; spins++) {
        int id = virtq_get_used(q, len);
        if (id >= 0)
            return id;
        if (q->dev->broken)
            return -1;
        if ((spins & 0xFFFFF) == 0 && virtio_check_reset(q->dev))
            return -1;
    }
}
