// virtio-blk (virtio v1.2, 5.2): one request queue; a request is a chain of
// a device-readable header, the data (readable for a write, writable for a
// read) and a device-writable status byte (5.2.6).
//
// Requests complete by polling: the driver notifies (one register write, so
// one exit under a hypervisor, none if the device polls the ring and asked
// for no notifications), then reads used.idx in memory until the device has
// returned the chain. Used-buffer interrupts stay suppressed on the queue.
// One request is in flight at a time: hvos runs system calls one at a time,
// without preemption, so nothing else can reach the driver meanwhile.
#include "defs.h"
#include "../lib/abi.h"
#include "virtio.h"

#define VIRTIO_BLK_F_RO       (1UL << 5)
#define VIRTIO_BLK_F_BLK_SIZE (1UL << 6)
#define VIRTIO_BLK_F_FLUSH    (1UL << 9)

// Configuration space (5.2.4): capacity in 512-byte sectors at 0, blk_size at 20.
#define VIRTIO_BLK_CFG_CAPACITY 0x00
#define VIRTIO_BLK_CFG_BLK_SIZE 0x14

#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_ID_BYTES 20

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

struct virtio_blk_req {     // the header, 5.2.6
    u32 type;
    u32 reserved;
    u64 sector;
};

static struct virtio_dev *vdev;
static struct virtq vq;
static struct virtio_blk_req *hdr;   // these three share one page
static volatile u8 *status;
static char *idbuf;
static struct blkdev vblk;

// One request, synchronously. `data` is NULL for a flush.
static int request(u32 type, u64 sector, void *data, u32 len, int device_writes)
{
    if (vdev->broken)
        return E_IO;
    int h = virtq_alloc(&vq), b = data ? virtq_alloc(&vq) : -1, s = virtq_alloc(&vq);
    if (h < 0 || s < 0 || (data && b < 0))
        panic("virtio_blk: descriptors leaked");
    hdr->type = type;
    hdr->reserved = 0;
    hdr->sector = sector;
    *status = 0xFF;                  // a status the device never writes
    virtq_set_desc(&vq, (u16)h, hdr, sizeof(*hdr), VIRTQ_DESC_F_NEXT, (u16)(data ? b : s));
    if (data)
        virtq_set_desc(&vq, (u16)b, data, len,
                       VIRTQ_DESC_F_NEXT | (device_writes ? VIRTQ_DESC_F_WRITE : 0), (u16)s);
    virtq_set_desc(&vq, (u16)s, (const void *)status, 1, VIRTQ_DESC_F_WRITE, 0);
    virtq_submit(&vq, (u16)h);
    virtq_kick(&vq);

    u32 used_len;
    int id = virtq_wait_used(&vq, &used_len);
    if (id < 0)
        return E_IO;                 // the device stopped; the chain stays with it
    if (id != h) {
        vdev->broken = 1;
        kprintf("virtio-blk: device returned a chain it was not given; device not used\n");
        return E_IO;
    }
    virtq_free_chain(&vq, (u16)h);
    u8 st = *status;
    if (st == VIRTIO_BLK_S_OK)
        return 0;
    if (st == VIRTIO_BLK_S_UNSUPP)
        return E_INVAL;
    if (st != VIRTIO_BLK_S_IOERR)
        kprintf("virtio-blk: bad status byte 0x%x\n", st);
    return E_IO;
}

static int vblk_rw(int write, u64 sector, void *buf, u32 count)
{
    return request(write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, sector, buf,
                   count * SECTOR_SIZE, !write);
}

static int vblk_flush(void)
{
    return request(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0);
}

int vblk_init(struct virtio_dev *d)
{
    vdev = d;
    if (virtio_setup(d, VIRTIO_F_EVENT_IDX | VIRTIO_BLK_F_RO | VIRTIO_BLK_F_BLK_SIZE |
                        VIRTIO_BLK_F_FLUSH) < 0)
        return -1;
    if (virtq_init(&vq, d, 0, 0) < 0)
        return -1;
    u8 *page = kalloc();
    if (!page) {
        virtio_fail(d, "out of memory");
        return -1;
    }
    hdr = (struct virtio_blk_req *)page;
    status = page + 64;
    idbuf = (char *)page + 128;
    d->intr = virtio_intr_ack;
    virtio_driver_ok(d);

    vblk.driver = "virtio-blk";
    vblk.sectors = virtio_config64(d, VIRTIO_BLK_CFG_CAPACITY);
    vblk.block_size = SECTOR_SIZE;
    if (d->features & VIRTIO_BLK_F_BLK_SIZE)
        vblk.block_size = virtio_read(d, VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_BLK_SIZE);
    vblk.readonly = (d->features & VIRTIO_BLK_F_RO) != 0;
    vblk.rw = vblk_rw;
    vblk.flush = (d->features & VIRTIO_BLK_F_FLUSH) ? vblk_flush : NULL;
    // The ID string (5.2.6.1): up to 20 bytes, NUL-terminated only if shorter.
    memset(idbuf, 0, VIRTIO_BLK_ID_BYTES + 1);
    if (request(VIRTIO_BLK_T_GET_ID, 0, idbuf, VIRTIO_BLK_ID_BYTES, 1) == 0)
        strlcpy(vblk.id, idbuf, sizeof(vblk.id));
    if (d->broken)
        return -1;
    kprintf("virtio-blk: %lu sectors (%lu KiB)%s\n", vblk.sectors, vblk.sectors / 2,
            vblk.readonly ? ", read-only" : "");
    blk_register(&vblk);
    return 0;
}
