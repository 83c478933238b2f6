/* split-evil: a hostile blkfront against hvos's blkback (guests/hvos/kernel/split.c,
 * docs/split.md; test/split.test.ts runs it beside a driver domain made first). It connects
 * as a frontend should, then sends requests the backend must refuse one by one (a sector past
 * the disk, a data page it did not grant, an unknown operation, no sectors, too many), one
 * good read, and finally makes the ring's producer index jump: the backend must disconnect it
 * and go on serving everyone else. The host's toolstack gave it event port 1.
 * A `pv` guest: hvlab only (pvguest.h). */
#include "splitguest.h"

#define PORT 1
#define RING_MAGIC 0x6b6c6273u
struct req { u64 id, sector; u32 op, nr_sectors, gref, pad; };
struct rsp { u64 id; i64 status; };
struct ring {
    u32 magic, state;
    u64 sectors;
    u32 readonly, pad;
    u32 req_prod, rsp_prod;
    struct req req[8];
    struct rsp rsp[8];
};

static struct grant_entry gt[512] __attribute__((aligned(4096)));
#define RING ((volatile struct ring *)data[0])
static u64 backend;

static u64 gfn(const void *p) { return ((u64)p - RAM_BASE) >> 12; }

/* One request; returns the answer's status. */
static i64 request(u64 sector, u32 op, u32 nr, u32 gref)
{
    u32 slot = RING->req_prod % 8, want = RING->rsp_prod + 1;
    RING->req[slot].id = RING->req_prod;
    RING->req[slot].sector = sector;
    RING->req[slot].op = op;
    RING->req[slot].nr_sectors = nr;
    RING->req[slot].gref = gref;
    RING->req_prod++;
    evtchn(EVTCHNOP_send, PORT, 0);
    u64 ev;
    while (RING->rsp_prod != want)
        wait_event(&ev);
    return RING->rsp[slot].status;
}

int main(void)
{
    pv_start();
    struct sbiret st = evtchn(5 /* EVTCHNOP_status */, PORT, 0);
    check("port-connected", (u64)st.value & 0xFF, 2);
    backend = (u64)st.value >> 16;
    print("evil: backend domid "); print_hex(backend); print("\n");
    expect("setup", gnt(GNTTABOP_setup_table, (u64)gt, 4, 0, 0, 0), SBI_SUCCESS, (i64)backend + 1);

    RING->magic = RING_MAGIC;
    RING->state = 1;
    gt[0] = (struct grant_entry){ GTF_permit_access, (unsigned short)backend, (u32)gfn(data[0]) };
    /* An event sent before the backend listens is lost: send again every 10 ms. */
    u64 ev;
    while (RING->state != 2) {
        evtchn(EVTCHNOP_send, PORT, 0);
        pv(PV_SET_TIMER, rdtime() + 100000, 0, 0);
        wait_event(&ev);
    }
    pv(PV_SET_TIMER, ~0UL, 0, 0);
    check("connected-sectors", RING->sectors, 8192);

    gt[1] = (struct grant_entry){ GTF_permit_access, (unsigned short)backend, (u32)gfn(data[1]) };
    check("past-the-disk", (u64)request(1UL << 40, 0, 8, 1), (u64)-1L);
    check("last-sector-plus-one", (u64)request(8192 - 7, 0, 8, 1), (u64)-1L);
    check("ungranted-page", (u64)request(0, 0, 8, 3), (u64)-1L);
    check("ungranted-page-untouched", data[3][0], 0);
    check("unknown-operation", (u64)request(0, 7, 8, 1), (u64)-1L);
    check("no-sectors", (u64)request(0, 0, 0, 1), (u64)-1L);
    check("too-many-sectors", (u64)request(0, 0, 9, 1), (u64)-1L);
    gt[2] = (struct grant_entry){ GTF_permit_access | GTF_readonly, (unsigned short)backend, (u32)gfn(data[2]) };
    check("read-into-readonly-grant", (u64)request(0, 0, 8, 2), (u64)-1L);
    check("good-read", (u64)request(1, 0, 8, 1), 0);
    /* The bench disk: byte i of sector s is (s * 7 + i) & 0xff. */
    check("good-read-data", data[1][0], 0x0e0d0c0b0a090807UL);

    /* The producer index jumps 100 ahead: the backend disconnects; no answer comes. */
    RING->req_prod += 100;
    evtchn(EVTCHNOP_send, PORT, 0);
    pv(PV_SET_TIMER, rdtime() + 100000, 0, 0);
    check("no-answer-after-jump", wait_event(&ev) & SIP_SSIP, 0);
    finish();
}
