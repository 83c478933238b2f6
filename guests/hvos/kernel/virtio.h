// virtio over MMIO: the transport registers, the split virtqueue layout and
// the driver-side queue helpers every hvos virtio driver uses (virtio.c).
// Section numbers are those of the virtio specification v1.2 (OASIS, 2022).
#ifndef HVOS_VIRTIO_H
#define HVOS_VIRTIO_H
#include "../lib/types.h"

// virtio-mmio registers (4.2.2), all 32 bits wide.
#define VIRTIO_MMIO_MAGIC           0x000   // "virt" little-endian
#define VIRTIO_MMIO_VERSION         0x004   // 2; 1 is the legacy interface
#define VIRTIO_MMIO_DEVICE_ID       0x008   // 0: an empty slot
#define VIRTIO_MMIO_DEV_FEATURES    0x010
#define VIRTIO_MMIO_DEV_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRV_FEATURES    0x020
#define VIRTIO_MMIO_DRV_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL       0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX   0x034
#define VIRTIO_MMIO_QUEUE_NUM       0x038
#define VIRTIO_MMIO_QUEUE_READY     0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY    0x050
#define VIRTIO_MMIO_INT_STATUS      0x060
#define VIRTIO_MMIO_INT_ACK         0x064
#define VIRTIO_MMIO_STATUS          0x070
#define VIRTIO_MMIO_QUEUE_DESC_LO   0x080
#define VIRTIO_MMIO_QUEUE_DESC_HI   0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LO 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HI 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LO 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HI 0x0a4
#define VIRTIO_MMIO_CONFIG_GEN      0x0fc
#define VIRTIO_MMIO_CONFIG          0x100   // device-specific configuration

#define VIRTIO_MMIO_MAGIC_VALUE     0x74726976
#define VIRTIO_INT_USED_BUFFER      1       // InterruptStatus bits (4.2.2)
#define VIRTIO_INT_CONFIG_CHANGE    2

// Device IDs (5).
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_ENTROPY 4

// Device status bits (2.1).
#define VIRTIO_S_ACKNOWLEDGE  1
#define VIRTIO_S_DRIVER       2
#define VIRTIO_S_DRIVER_OK    4
#define VIRTIO_S_FEATURES_OK  8
#define VIRTIO_S_NEEDS_RESET  64
#define VIRTIO_S_FAILED       128

// Reserved feature bits (6).
#define VIRTIO_F_INDIRECT_DESC (1UL << 28)
#define VIRTIO_F_EVENT_IDX     (1UL << 29)
#define VIRTIO_F_VERSION_1     (1UL << 32)

// Split virtqueue (2.7). Descriptor flags (2.7.5):
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2     // device writes this buffer
// Ring flags: the driver's "no interrupt please" (2.7.6) and the device's
// "no notification please" (2.7.8); both superseded by EVENT_IDX (2.7.10).
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

struct virtq_desc {
    u64 addr;            // guest-physical
    u32 len;
    u16 flags;
    u16 next;
};

struct virtq_avail {
    u16 flags;
    u16 idx;             // where the driver puts the next entry (free-running)
    u16 ring[];          // then u16 used_event (EVENT_IDX)
};

struct virtq_used_elem {
    u32 id;              // head of the chain the device is done with
    u32 len;             // bytes it wrote into the chain
};

struct virtq_used {
    u16 flags;
    u16 idx;
    struct virtq_used_elem ring[];   // then u16 avail_event (EVENT_IDX)
};

// Orderings between our ring stores and the device's view of them. RISC-V
// (RVWMO) may reorder plain loads and stores: "fence w,w" before publishing
// avail.idx is 2.7.13's "memory barrier before idx update", "fence rw,rw"
// before reading avail_event is Linux's virtio_mb, "fence r,r" after reading
// used.idx keeps the entry reads after it, and "fence iorw,iorw" orders the
// ring stores before the notify register write (device I/O).
#define wmb()    asm volatile("fence w,w" ::: "memory")
#define rmb()    asm volatile("fence r,r" ::: "memory")
#define mb()     asm volatile("fence rw,rw" ::: "memory")
#define io_mb()  asm volatile("fence iorw,iorw" ::: "memory")

// hvos queues are at most this long: one 4 KiB page holds all three areas
// (descriptors at 0, avail ring at 16*num, used ring at 2048).
#define VIRTQ_MAX 64

struct virtio_dev {
    const char *name;    // for messages: "virtio-blk"...
    u64 regs;            // kernel virtual address of the register page
    u32 irq;             // PLIC source
    u32 device_id;
    u64 features;        // negotiated
    int broken;          // DEVICE_NEEDS_RESET seen (or setup failed): unusable
    void (*intr)(struct virtio_dev *d);   // the driver's interrupt handler
};

struct virtq {
    struct virtio_dev *dev;
    u32 index;                         // queue number in the device
    u32 num;                           // size, a power of 2
    volatile struct virtq_desc *desc;
    volatile struct virtq_avail *avail;
    volatile struct virtq_used *used;
    u16 avail_idx;                     // our copy of avail.idx (the device never writes it)
    u16 kicked_idx;                    // avail.idx when we last decided about notifying
    u16 last_used;                     // next used entry to read
    int event_idx;                     // VIRTIO_F_EVENT_IDX negotiated
    int interrupts;                    // does the driver want used-buffer interrupts?
    u16 free_head, num_free;           // free descriptors, linked through free_next
    u16 free_next[VIRTQ_MAX];
};

// Transport (virtio.c)
u32  virtio_read(struct virtio_dev *d, u32 off);
void virtio_write(struct virtio_dev *d, u32 off, u32 v);
int  virtio_setup(struct virtio_dev *d, u64 wanted);   // 3.1.1 steps 1-6
void virtio_driver_ok(struct virtio_dev *d);             // step 8
void virtio_fail(struct virtio_dev *d, const char *why);
int  virtio_check_reset(struct virtio_dev *d);           // 1 if DEVICE_NEEDS_RESET
u32  virtio_ack_interrupt(struct virtio_dev *d);         // InterruptStatus, acknowledged
void virtio_intr_ack(struct virtio_dev *d);              // the same, as an intr handler
u64  virtio_config64(struct virtio_dev *d, u32 off);

// Queues (virtio.c)
int  virtq_init(struct virtq *q, struct virtio_dev *d, u32 index, int interrupts);
int  virtq_alloc(struct virtq *q);                       // a free descriptor, or -1
void virtq_free_chain(struct virtq *q, u16 head);
void virtq_set_desc(struct virtq *q, u16 i, const void *buf, u32 len, u16 flags, u16 next);
void virtq_submit(struct virtq *q, u16 head);            // make a chain available
void virtq_kick(struct virtq *q);                        // notify, unless suppressed
int  virtq_used_pending(struct virtq *q);
int  virtq_get_used(struct virtq *q, u32 *len);          // a used head, or -1
int  virtq_wait_used(struct virtq *q, u32 *len);         // polls memory; -1 on reset

// Drivers: each init prints one line and returns 0 if the device is usable.
int  vcon_init(struct virtio_dev *d);    // virtio_console.c
int  vblk_init(struct virtio_dev *d);    // virtio_blk.c
int  vrng_init(struct virtio_dev *d);    // virtio_rng.c

#endif
