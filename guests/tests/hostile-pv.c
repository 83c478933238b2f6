/* hostile-pv: a pv guest that tries to escape its memory through the PV MMU (docs/pv-abi.md
 * "Validation"): map the hypervisor's frames, frames outside its RAM and the machine's own
 * devices; map its live page tables writable; use a table at two levels; unpin the root in
 * use; pass a huge batch or a list outside its RAM; have the hypervisor write its page tables
 * for it (a console read, the shared page); call set_fp_state with values that are no FS.
 * Every attempt must be refused with an SBI error and change nothing; the host test checks
 * that the hypervisor's memory is untouched.
 * A `pv` guest: hvlab only (pvguest.h). */
#include "pvguest.h"

#define EID_DBCN 0x4442434EUL
#define SPARE_VA 0x803F0000UL

static void refused(const char *name, struct sbiret r, i64 err)
{
    check(name, (u64)r.error, (u64)err);
}

static struct sbiret update1(u64 ptr, u64 val)
{
    static struct update u[1];
    u[0].ptr = ptr;
    u[0].val = val;
    return mmu_update(u, 1);
}

/* A leaf for machine frame `mfn`, read-write. */
static u64 raw_leaf(u64 mfn) { return (mfn << 10) | PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D; }

/* virtio-mmio (virtio v1.2 section 4.2.2): the registers the attack needs. */
enum { V_MAGIC = 0x000, V_DEVICE_ID = 0x008, V_DRV_FEAT = 0x020, V_DRV_FEAT_SEL = 0x024,
       V_QUEUE_SEL = 0x030, V_QUEUE_NUM = 0x038, V_QUEUE_READY = 0x044, V_QUEUE_NOTIFY = 0x050,
       V_STATUS = 0x070, V_DESC_LO = 0x080, V_DESC_HI = 0x084, V_DRIVER_LO = 0x090,
       V_DRIVER_HI = 0x094, V_DEVICE_LO = 0x0a0, V_DEVICE_HI = 0x0a4 };
#define VIRTIO_VA 0x803E0000UL
#define V_NEEDS_RESET 64

struct vdesc { u64 addr; u32 len; unsigned short flags, next; };
static volatile u32 *vregs = (volatile u32 *)VIRTIO_VA;

/* Set up the entropy device's queue 0 in data[0]: descriptors, avail ring, used ring. */
static void virtio_rng_up(void)
{
    vregs[V_STATUS / 4] = 0;
    vregs[V_STATUS / 4] = 1 | 2;                  /* ACKNOWLEDGE, DRIVER */
    vregs[V_DRV_FEAT_SEL / 4] = 1;
    vregs[V_DRV_FEAT / 4] = 1;                    /* VIRTIO_F_VERSION_1 (bit 32) */
    vregs[V_DRV_FEAT_SEL / 4] = 0;
    vregs[V_DRV_FEAT / 4] = 0;
    vregs[V_STATUS / 4] = 1 | 2 | 8;              /* FEATURES_OK */
    for (int i = 0; i < 512; i++)
        data[0][i] = 0;
    u64 q = (u64)data[0];
    vregs[V_QUEUE_SEL / 4] = 0;
    vregs[V_QUEUE_NUM / 4] = 8;
    vregs[V_DESC_LO / 4] = (u32)q;          vregs[V_DESC_HI / 4] = (u32)(q >> 32);
    vregs[V_DRIVER_LO / 4] = (u32)(q + 256); vregs[V_DRIVER_HI / 4] = (u32)((q + 256) >> 32);
    vregs[V_DEVICE_LO / 4] = (u32)(q + 512); vregs[V_DEVICE_HI / 4] = (u32)((q + 512) >> 32);
    vregs[V_QUEUE_READY / 4] = 1;
    vregs[V_STATUS / 4] = 1 | 2 | 8 | 4;          /* DRIVER_OK */
}

/* Offer one device-writable buffer; returns the length the device reports having written. */
static u64 virtio_rng_fill(u64 buf, u32 len, unsigned short n)
{
    struct vdesc *d = (struct vdesc *)data[0];
    volatile unsigned short *avail = (volatile unsigned short *)((u64)data[0] + 256);
    volatile u32 *used = (volatile u32 *)((u64)data[0] + 512);
    d[0] = (struct vdesc){ buf, len, 2 /* WRITE */, 0 };
    avail[2 + (n % 8)] = 0;
    asm volatile("fence" ::: "memory");
    avail[1] = n + 1;
    asm volatile("fence" ::: "memory");
    vregs[V_QUEUE_NOTIFY / 4] = 0;
    return (used[0] >> 16) == (u32)(n + 1) ? used[1 + 2 * (n % 8) + 1] : ~0UL;
}

/* An assigned virtio device writes guest memory by guest-physical address: never a page
 * table (assembly/virtio/guestmem.ts). */
static void virtio_dma(void)
{
    refused("map-virtio", update1(ma((u64)&K0[VPN(0, VIRTIO_VA)]), raw_leaf(0x10001)), SBI_SUCCESS);
    check("virtio-rng-present", vregs[V_MAGIC / 4] == 0x74726976 && vregs[V_DEVICE_ID / 4] == 4, 1);
    virtio_rng_up();
    check("virtio-rng-fills-a-page", virtio_rng_fill((u64)data[1], 64, 0), 64);
    u64 sum = 0;
    for (int i = 0; i < 8; i++)
        sum += K0[i] ^ (K0[i] >> 7);
    u64 got = virtio_rng_fill((u64)K0, 64, 1);
    u64 after = 0;
    for (int i = 0; i < 8; i++)
        after += K0[i] ^ (K0[i] >> 7);
    check("virtio-dma-into-table-unchanged", after, sum);
    check("virtio-dma-into-table-refused", got != 64 || (vregs[V_STATUS / 4] & V_NEEDS_RESET) != 0, 1);
    check("virtio-dma-device-needs-reset", vregs[V_STATUS / 4] & V_NEEDS_RESET, V_NEEDS_RESET);
}

int main(void)
{
    print("hostile-pv: a pv guest against the PV MMU\n");
    pv_start();
    build_kernel_space();
    /* A root that points outside the VM, or maps the hypervisor's memory, is never taken. */
    u64 slot = VPN(0, SPARE_VA);
    K0[slot] = raw_leaf(RAM_BASE >> 12);
    refused("boot-root-maps-hypervisor", pv(PV_SET_ROOT, ma((u64)K), 0, 1), SBI_ERR_INVALID_ADDRESS);
    K0[slot] = 0;
    refused("root-outside-ram", pv(PV_SET_ROOT, 0x1000, 0, 1), SBI_ERR_INVALID_ADDRESS);
    refused("set-root", pv(PV_SET_ROOT, ma((u64)K), 0, 1), SBI_SUCCESS);

    u64 *p = &K0[slot];
    u64 mfn_end = shared.m2p_first + shared.m2p_entries;   /* the end of machine RAM */
    u64 lowest = ~0UL;                                      /* the VM's lowest machine frame */
    for (u64 g = 0; g < p2m_frames; g++)
        if (p2m[g] < lowest)
            lowest = p2m[g];
    refused("map-hypervisor-area", update1(ma((u64)p), raw_leaf(RAM_BASE >> 12)), SBI_ERR_INVALID_ADDRESS);
    refused("map-last-hypervisor-frame", update1(ma((u64)p), raw_leaf(lowest - 1)), SBI_ERR_INVALID_ADDRESS);
    refused("map-past-machine-ram", update1(ma((u64)p), raw_leaf(mfn_end)), SBI_ERR_INVALID_ADDRESS);
    refused("map-frame-zero", update1(ma((u64)p), raw_leaf(0)), SBI_ERR_INVALID_ADDRESS);
    refused("map-test-device", update1(ma((u64)p), raw_leaf(0x100)), SBI_ERR_INVALID_ADDRESS);
    refused("map-clint", update1(ma((u64)p), raw_leaf(0x2000)), SBI_ERR_INVALID_ADDRESS);
    refused("map-unassigned-io", update1(ma((u64)p), raw_leaf(0x1000A)), SBI_ERR_INVALID_ADDRESS);
    refused("map-own-root-writable", update1(ma((u64)p), pte_leaf((u64)K, PTE_R | PTE_W)), SBI_ERR_DENIED);
    refused("map-own-l0-writable", update1(ma((u64)p), pte_leaf((u64)K0, PTE_R | PTE_W)), SBI_ERR_DENIED);
    /* Upgrading the existing read-only mapping of a table page in place. */
    u64 *self = &K0[VPN(0, (u64)K1)];
    refused("upgrade-table-mapping", update1(ma((u64)self), *self | PTE_W), SBI_ERR_DENIED);
    check("upgrade-table-mapping-unchanged", *self & PTE_W, 0);
    refused("write-pte-of-hypervisor", update1(RAM_BASE, 0), SBI_ERR_INVALID_ADDRESS);
    refused("write-pte-past-ram", update1(mfn_end << 12, 0), SBI_ERR_INVALID_ADDRESS);
    refused("write-root-slot-511", update1(ma((u64)&K[511]), raw_leaf(RAM_BASE >> 12)), SBI_ERR_DENIED);
    /* A level-1 table used as a level-0 one: a leaf would then map a table writable. */
    refused("table-at-two-levels", update1(ma((u64)&K1[VPN(1, 0x80400000UL)]), pte_table((u64)K1)),
            SBI_ERR_INVALID_PARAM);
    refused("root-of-wrong-level", pv(PV_SET_ROOT, ma((u64)K0), 0, 1), SBI_ERR_INVALID_PARAM);
    check("refused-changed-nothing", *p, 0);

    /* A table whose entry maps the hypervisor: validation refuses the whole table. */
    static struct update fill[1];
    fill[0] = (struct update){ ma((u64)&tables[6][3]), raw_leaf(RAM_BASE >> 12) };
    refused("fill-bad-table", mmu_update(fill, 1), SBI_SUCCESS);   /* an ordinary page: plain */
    refused("pin-bad-table", pv(PV_PIN, ma((u64)tables[6]), 0, 0), SBI_ERR_INVALID_ADDRESS);
    refused("link-bad-table", update1(ma((u64)&K1[VPN(1, 0x80400000UL)]), pte_table((u64)tables[6])),
            SBI_ERR_INVALID_ADDRESS);
    check("bad-table-not-linked", K1[VPN(1, 0x80400000UL)], 0);

    refused("pin-root", pv(PV_PIN, ma((u64)K), 2, 0), SBI_SUCCESS);
    refused("unpin-root-in-use", pv(PV_UNPIN, ma((u64)K), 0, 0), SBI_ERR_DENIED);
    refused("batch-huge", pv(PV_MMU_UPDATE, (u64)fill, ~0UL, 0), SBI_ERR_INVALID_PARAM);
    refused("batch-513", pv(PV_MMU_UPDATE, (u64)fill, 513, 0), SBI_ERR_INVALID_PARAM);
    refused("batch-past-ram", pv(PV_MMU_UPDATE, RAM_END - 16, 2, 0), SBI_ERR_INVALID_ADDRESS);
    refused("batch-wraps", pv(PV_MMU_UPDATE, ~0UL - 15, 2, 0), SBI_ERR_INVALID_ADDRESS);

    /* The hypervisor writing guest memory must not write a page table. */
    refused("console-read-into-table", sbi(EID_DBCN, 1, 8, (u64)&K0[slot], 0), SBI_ERR_INVALID_PARAM);
    refused("shared-page-on-a-table", pv(PV_SHARED_INFO, (u64)K0, 0, 0), SBI_ERR_DENIED);
    refused("table-on-the-shared-page", update1(ma((u64)&K1[VPN(1, 0x80400000UL)]), pte_table((u64)&shared)),
            SBI_ERR_DENIED);
    /* The p2m/m2p mapping is read-only: a store is a page fault for the guest kernel. */
    arm();
    *(volatile u32 *)shared.p2m_va = 0;
    check("p2m-read-only", k_cause, CAUSE_STORE_PAGE_FAULT);
    check("p2m-unchanged", p2m[0] != 0, 1);
    /* set_fp_state takes an mstatus.FS value, 0..3, in a0 and nothing else: any other a0 is
     * refused (and changes nothing), whatever a1 and a2 hold. This guest has no FP code
     * (built without F), so its FS is still the Initial it booted with. */
    refused("fp-state-4", pv(PV_SET_FP_STATE, 4, ~0UL, ~0UL), SBI_ERR_INVALID_PARAM);
    refused("fp-state-high-bit", pv(PV_SET_FP_STATE, (1UL << 63) | FS_CLEAN, 0, 0), SBI_ERR_INVALID_PARAM);
    refused("fp-state-all-ones", pv(PV_SET_FP_STATE, ~0UL, ~0UL, 0), SBI_ERR_INVALID_PARAM);
    struct sbiret fs = pv(PV_SET_FP_STATE, FS_OFF, ~0UL, ~0UL);
    refused("fp-state-ignores-a1-a2", fs, SBI_SUCCESS);
    check("fp-state-unchanged-by-refusals", (u64)fs.value, FS_INITIAL);
    virtio_dma();
    finish();
    return 0;
}

void user_trapped(struct frame *f)
{
    (void)f;
    print("UNEXPECTED user trap\n");
    finish();
}
