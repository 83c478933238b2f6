// virtio-rng, the entropy device (virtio v1.2, 5.4): one request queue; the
// driver offers device-writable buffers and the device fills them (perhaps
// only partly, 5.4.6.2) with random bytes. Completion by polling, as in
// virtio_blk.c; interrupts suppressed.
#include "defs.h"
#include "../lib/abi.h"
#include "virtio.h"

static struct virtio_dev *vdev;
static struct virtq vq;
static u8 *buf;                      // one page

int vrng_init(struct virtio_dev *d)
{
    vdev = d;
    if (virtio_setup(d, VIRTIO_F_EVENT_IDX) < 0 || virtq_init(&vq, d, 0, 0) < 0)
        return -1;
    buf = kalloc();
    if (!buf) {
        virtio_fail(d, "out of memory");
        return -1;
    }
    d->intr = virtio_intr_ack;
    virtio_driver_ok(d);
    kprintf("virtio-rng: entropy source\n");
    return 0;
}

// Copy n random bytes to user memory: n 0 only asks whether there is a
// device. Returns n or an error.
int rng_read(u64 user_buf, u64 n)
{
    if (!vdev || vdev->broken)
        return E_NODEV;
    if (n > RANDOM_MAX)
        return E_INVAL;
    u64 got = 0;
    while (got < n) {
        int h = virtq_alloc(&vq);
        if (h < 0)
            panic("virtio_rng: descriptors leaked");
        virtq_set_desc(&vq, (u16)h, buf, (u32)(n - got), VIRTQ_DESC_F_WRITE, 0);
        virtq_submit(&vq, (u16)h);
        virtq_kick(&vq);
        u32 len;
        int id = virtq_wait_used(&vq, &len);
        if (id < 0)
            return E_IO;
        virtq_free_chain(&vq, (u16)id);
        if (len == 0 || len > n - got) {   // 5.4.6.2: at least one byte, at most the buffer
            vdev->broken = 1;
            kprintf("virtio-rng: used length %u for a %lu-byte buffer; device not used\n",
                    len, n - got);
            return E_IO;
        }
        if (copyout(user_buf + got, buf, len) < 0)
            return E_FAULT;
        got += len;
    }
    return (int)n;
}
