// The block device behind the blk* system calls: virtio-blk if there is one,
// else emudisk. User buffers are copied through one kernel page (the bounce
// buffer): the devices move data to and from physical addresses, and a user
// buffer is contiguous only virtually. Requests are at most 4 KiB (8 sectors).
#include "defs.h"
#include "../lib/abi.h"

static struct blkdev *dev;
static u8 *bounce;

int blk_register(struct blkdev *b)
{
    if (dev)
        return 0;
    bounce = kalloc();
    if (!bounce)
        return 0;
    dev = b;
    return 1;
}

int blk_info(u64 user_info)
{
    if (!dev)
        return E_NODEV;
    struct blkinfo info;
    memset(&info, 0, sizeof(info));
    info.sectors = dev->sectors;
    info.block_size = dev->block_size;
    info.readonly = (u32)dev->readonly;
    strlcpy(info.driver, dev->driver, sizeof(info.driver));
    strlcpy(info.id, dev->id, sizeof(info.id));
    return copyout(user_info, &info, sizeof(info));
}

// Read or write `count` sectors from `sector`, a request of up to 4 KiB at a
// time. Returns count, or an error (after a failed request, nothing more is
// moved; earlier requests of the call stay done).
int blk_rw(int write, u64 sector, u64 user_buf, u64 count)
{
    if (!dev)
        return E_NODEV;
    if (count == 0 || count > BLK_MAX_SECTORS || sector >= dev->sectors ||
        count > dev->sectors - sector)
        return E_INVAL;
    if (write && dev->readonly)
        return E_ROFS;
    for (u64 done = 0; done < count;) {
        u32 n = count - done < BLK_REQ_SECTORS ? (u32)(count - done) : BLK_REQ_SECTORS;
        u64 ubuf = user_buf + done * SECTOR_SIZE;
        if (write && copyin(bounce, ubuf, n * SECTOR_SIZE) < 0)
            return E_FAULT;
        int r = dev->rw(write, sector + done, bounce, n);
        if (r < 0)
            return r;
        if (!write && copyout(ubuf, bounce, n * SECTOR_SIZE) < 0)
            return E_FAULT;
        done += n;
    }
    return (int)count;
}

int blk_flush(void)
{
    if (!dev)
        return E_NODEV;
    return dev->flush ? dev->flush() : 0;
}

// The disk for another VM's blkfront (split.c, the driver domain's blkback):
// `count` sectors (at most one request) at `sector`, to or from the kernel
// page `buf`. The backend checked nothing: this checks the range.
int blk_backend_rw(int write, u64 sector, void *buf, u32 count, u64 *sectors, int *readonly)
{
    if (!dev)
        return E_NODEV;
    if (sectors)
        *sectors = dev->sectors;
    if (readonly)
        *readonly = dev->readonly;
    if (count == 0)
        return 0;
    if (count > BLK_REQ_SECTORS || sector >= dev->sectors || count > dev->sectors - sector)
        return E_INVAL;
    if (write && dev->readonly)
        return E_ROFS;
    return dev->rw(write, sector, buf, count);
}
