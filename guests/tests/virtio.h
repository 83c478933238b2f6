/* virtio.h: the virtio-mmio register map (virtio v1.2 section 4.2.2), device status bits
 * (2.1), feature bits and split-virtqueue descriptor flags (2.7.5) the virtio test guests
 * share. */
#ifndef VIRTIO_H
#define VIRTIO_H
#include "rt.h"

#define RAM_SIZE (UL(128) << 20)

enum {
    MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, DEV_FEAT = 0x010,
    DEV_FEAT_SEL = 0x014, DRV_FEAT = 0x020, DRV_FEAT_SEL = 0x024,
    QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034, QUEUE_NUM = 0x038,
    QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050, INT_STATUS = 0x060,
    INT_ACK = 0x064, STATUS = 0x070, DESC_LO = 0x080, DESC_HI = 0x084,
    DRIVER_LO = 0x090, DRIVER_HI = 0x094, DEVICE_LO = 0x0a0, DEVICE_HI = 0x0a4,
    SHM_LEN_LO = 0x0b0, CONFIG_GEN = 0x0fc,
};
#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64
#define F_INDIRECT (1u << 28)
#define F_EVENT_IDX (1u << 29)
#define F_VERSION_1_HI 1u          /* bit 32: bit 0 of the high word */
#define D_NEXT 1
#define D_WRITE 2
#define D_INDIRECT 4

struct desc { u64 addr; u32 len; u16 flags; u16 next; };

#endif
