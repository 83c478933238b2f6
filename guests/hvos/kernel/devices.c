// The I/O devices beyond the UART: virtio devices (console, block, entropy)
// in the device tree's virtio-mmio slots, and hvlab's emudisk.
//
// Each "virtio,mmio" node is a slot; the device in it is known only by
// reading its DeviceID register (0: empty). QEMU fills slots from the last
// one down and hvlab from the first one up, so nothing here prints a slot
// number or address, and the drivers start in a fixed order (entropy, block,
// emudisk, console) whatever the slots: the boot lines are the same on both.
#include "defs.h"
#include "memlayout.h"
#include "virtio.h"

static struct virtio_dev vdevs[MAX_VIRTIO_SLOTS];

static const char *const virtio_names[] = {
    [VIRTIO_ID_BLOCK] = "virtio-blk",
    [VIRTIO_ID_CONSOLE] = "virtio-console",
    [VIRTIO_ID_ENTROPY] = "virtio-rng",
};

// Probe one slot; returns its device, or NULL if empty or unusable.
static struct virtio_dev *probe(int slot)
{
    u64 regs = DEV_VA(plat.virtio_base[slot]);
    if (!plat.virtio_base[slot] || *(volatile u32 *)(regs + VIRTIO_MMIO_MAGIC) != VIRTIO_MMIO_MAGIC_VALUE)
        return NULL;
    u32 id = *(volatile u32 *)(regs + VIRTIO_MMIO_DEVICE_ID);
    if (id == 0)
        return NULL;
    u32 version = *(volatile u32 *)(regs + VIRTIO_MMIO_VERSION);
    if (id >= ARRAY_SIZE(virtio_names) || !virtio_names[id]) {
        kprintf("virtio: device ID %u has no driver\n", id);
        return NULL;
    }
    // Version 1 is the legacy interface (4.2.4), which hvos does not speak.
    if (version != 2) {
        kprintf("%s: legacy virtio-mmio (version %u) not supported"
                " (QEMU: -global virtio-mmio.force-legacy=false)\n", virtio_names[id], version);
        return NULL;
    }
    struct virtio_dev *d = &vdevs[slot];
    d->name = virtio_names[id];
    d->regs = regs;
    d->irq = plat.virtio_irq[slot];
    d->device_id = id;
    return d;
}

// Start a driver; on success route the device's interrupt to us (used
// buffers on the console's receive queue; configuration changes, which
// announce DEVICE_NEEDS_RESET, on all of them).
static void start(struct virtio_dev *d, int (*init)(struct virtio_dev *))
{
    if (d && init(d) == 0)
        plic_enable(d->irq);
}

void devices_init(void)
{
    struct virtio_dev *found[ARRAY_SIZE(virtio_names)] = { 0 };
    int slots = plat.virtio_slots < MAX_VIRTIO_SLOTS ? plat.virtio_slots : MAX_VIRTIO_SLOTS;
    for (int i = 0; i < slots; i++) {
        struct virtio_dev *d = probe(i);
        if (!d)
            continue;
        if (found[d->device_id])
            kprintf("%s: more than one; using the first\n", d->name);
        else
            found[d->device_id] = d;
    }
    start(found[VIRTIO_ID_ENTROPY], vrng_init);
    start(found[VIRTIO_ID_BLOCK], vblk_init);
    if (plat.found_emudisk)
        emudisk_init();
    split_init();
    start(found[VIRTIO_ID_CONSOLE], vcon_init);
}

int devices_intr(u32 irq)
{
    for (u64 i = 0; i < ARRAY_SIZE(vdevs); i++) {
        struct virtio_dev *d = &vdevs[i];
        if (d->name && d->irq == irq && d->intr) {
            d->intr(d);
            return 1;
        }
    }
    return 0;
}
