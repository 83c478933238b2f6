// Xen-style split block driver over hvlab's grant tables and event channels
// (docs/pv-abi.md "Grant tables", "Event channels"; docs/split.md).
//
// A VM whose device tree has an "hvlab,split-blk" node is a frontend
// (blkfront): it has no disk device of its own; its block device is served by
// the driver domain named there (the backend VM's domid) over one shared
// ring page it grants (ref RING_REF) and one event channel the host's
// toolstack connected (the node's port). Each request names a data page the
// frontend grants for that request (ref DATA_REF) and revokes after it.
//
// A pv VM with a disk is a driver domain (blkback): an event on a port it does
// not know yet is a new frontend: it asks who is at the other end
// (EVTCHNOP_status), maps the frontend's ring over a page of its own, writes
// the disk's size and says it is connected; after that every event makes it
// serve the requests on that ring, moving data with grant copy (no mapping of
// the frontend's data pages), and notify the frontend back.
//
// The frontend is hostile to the backend: ring indices are checked before
// use (a producer index more than RING_SLOTS ahead disconnects it), every
// request is checked (operation, sector range, length), and data moves only
// through grant copy, which the hypervisor checks against the grant.
#include "defs.h"
#include "../lib/abi.h"
#include "memlayout.h"
#include "pvops.h"
#include "sbi.h"

#define RING_REF  0
#define DATA_REF  1
#define RING_SLOTS 8
#define RING_MAGIC 0x6b6c6273u     // "sblk"

enum { RING_FRONT_READY = 1, RING_CONNECTED = 2 };
enum { OP_READ = 0, OP_WRITE = 1 };

struct split_req { u64 id; u64 sector; u32 op; u32 nr_sectors; u32 gref; u32 pad; };
struct split_rsp { u64 id; i64 status; };

// The shared ring page (the frontend's, mapped by the backend).
struct split_ring {
    u32 magic, state;              // state: RING_*; the backend writes CONNECTED
    u64 sectors;                   // written by the backend at connection
    u32 readonly, pad;
    u32 req_prod, rsp_prod;        // frontend / backend producer indices
    struct split_req req[RING_SLOTS];
    struct split_rsp rsp[RING_SLOTS];
};

// Xen's grant_entry_v1 and flags.
struct grant_entry { u16 flags, domid; u32 frame; };
#define GTF_permit_access 1
#define GTF_readonly      4
#define GNTTABOP_setup_table 2
#define GNTTABOP_copy        5
#define GNTCOPY_source_gref  1
#define GNTCOPY_dest_gref    2
#define EVTCHNOP_send        4
#define EVTCHNOP_status      5
#define EVT_STATE_CONNECTED  2

static struct sbiret gnttab(u64 cmd, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5)
{
    return pv_split_call(SBI_HVLAB_GRANT_TABLE_OP, cmd, a1, a2, a3, a4, a5);
}
static struct sbiret evtchn(u64 cmd, u64 a1)
{
    return pv_split_call(SBI_HVLAB_EVENT_CHANNEL_OP, cmd, a1, 0, 0, 0, 0);
}
static u64 gfn_of(const void *kva) { return ((u64)kva - RAM_BASE) >> PGSHIFT; }

// ---- blkfront ------------------------------------------------------------

static struct split_ring *ring;    // frontend: its own page
static struct grant_entry *gtab;
static u32 rsp_cons;
static struct blkdev fblk;

// Wait for the backend, at most `ms` milliseconds, waking every 10 ms to
// nudge it (an event sent before the backend listened is lost). Returns 1
// when `*word` changed from `old`.
static int front_wait(volatile u32 *word, u32 old, u64 ms)
{
    u64 deadline = timer_now() + timer_ms_to_ticks(ms);
    while (*word == old) {
        if (timer_now() >= deadline)
            return 0;
        timer_arm(timer_now() + timer_ms_to_ticks(10));
        pv.idle();
        if (*word == old)
            evtchn(EVTCHNOP_send, plat.split_port);
    }
    return 1;
}

static int front_rw(int write, u64 sector, void *buf, u32 count)
{
    u32 slot = ring->req_prod % RING_SLOTS;
    gtab[DATA_REF].domid = (u16)plat.split_backend;
    gtab[DATA_REF].frame = (u32)gfn_of(buf);
    gtab[DATA_REF].flags = GTF_permit_access | (write ? GTF_readonly : 0);
    ring->req[slot] = (struct split_req){ .id = ring->req_prod, .sector = sector, .op = write ? OP_WRITE : OP_READ,
                                          .nr_sectors = count, .gref = DATA_REF };
    ring->req_prod++;
    evtchn(EVTCHNOP_send, plat.split_port);
    int done = front_wait(&ring->rsp_prod, rsp_cons, 5000);
    gtab[DATA_REF].flags = 0;          // revoked: the backend copies, it never maps it
    if (!done) {
        kprintf("blkfront: backend %u does not answer\n", plat.split_backend);
        return E_IO;
    }
    if (ring->rsp_prod - rsp_cons > RING_SLOTS) {
        kprintf("blkfront: backend %u moved the ring too far; device not used\n", plat.split_backend);
        fblk.rw = NULL;
        return E_IO;
    }
    struct split_rsp r = ring->rsp[rsp_cons % RING_SLOTS];
    rsp_cons++;
    return r.status == 0 ? 0 : E_IO;
}

static int front_rw_checked(int write, u64 sector, void *buf, u32 count)
{
    return fblk.rw ? front_rw(write, sector, buf, count) : E_IO;
}

static void front_init(void)
{
    if (!pv_is_pv()) {
        kprintf("blkfront: needs the pv mode\n");
        return;
    }
    gtab = kalloc();
    ring = kalloc();
    if (!gtab || !ring)
        panic("blkfront: out of memory");
    if (gnttab(GNTTABOP_setup_table, (u64)gtab, 2, 0, 0, 0).error) {
        kprintf("blkfront: no grant table\n");
        return;
    }
    ring->magic = RING_MAGIC;
    ring->state = RING_FRONT_READY;
    gtab[RING_REF] = (struct grant_entry){ GTF_permit_access, (u16)plat.split_backend, (u32)gfn_of(ring) };
    evtchn(EVTCHNOP_send, plat.split_port);
    if (!front_wait(&ring->state, RING_FRONT_READY, 2000)) {
        kprintf("blkfront: backend %u does not answer\n", plat.split_backend);
        return;
    }
    fblk.driver = "blkfront";
    fblk.sectors = ring->sectors;
    fblk.block_size = SECTOR_SIZE;
    fblk.readonly = ring->readonly != 0;
    fblk.rw = front_rw_checked;
    strlcpy(fblk.id, "split", sizeof(fblk.id));
    kprintf("blkfront: %lu sectors (%lu KiB) from domain %u%s\n", fblk.sectors, fblk.sectors / 2,
            plat.split_backend, fblk.readonly ? ", read-only" : "");
    blk_register(&fblk);
}

// ---- blkback -------------------------------------------------------------

#define MAX_FRONTS 63               // one event port each (ports 1..63)
static struct front {
    u32 port, domid;
    int state;                     // 0: unused, 1: waiting for its ring, 2: connected, 3: broken
    u32 req_cons;
    struct split_ring *ring;       // the frontend's ring page, mapped over a page of ours
    long handle;
} fronts[MAX_FRONTS];
static u8 *back_buf;               // one page the data goes through
static int back_ok;

static void back_disconnect(struct front *f, const char *why)
{
    kprintf("blkback: domain %u: %s; disconnected\n", f->domid, why);
    pv_grant_unmap_over(f->ring, f->handle);
    f->state = 3;
}

static void back_connect(struct front *f)
{
    long h = pv_grant_map_over(f->ring, f->domid, RING_REF);
    if (h < 0)
        return;                      // not granted yet: its ready event comes later
    f->handle = h;
    if (f->ring->magic != RING_MAGIC || f->ring->state != RING_FRONT_READY) {
        pv_grant_unmap_over(f->ring, h);
        return;
    }
    u64 sectors;
    int ro;
    blk_backend_rw(0, 0, NULL, 0, &sectors, &ro);
    f->req_cons = f->ring->req_prod;
    f->ring->sectors = sectors;
    f->ring->readonly = (u32)ro;
    f->ring->rsp_prod = f->req_cons;
    f->ring->state = RING_CONNECTED;
    f->state = 2;
    kprintf("blkback: domain %u connected on port %u\n", f->domid, f->port);
}

static i64 back_one(struct front *f, const struct split_req *rq)
{
    if ((rq->op != OP_READ && rq->op != OP_WRITE) || rq->nr_sectors == 0 || rq->nr_sectors > BLK_REQ_SECTORS)
        return -1;
    u64 len = (u64)rq->nr_sectors * SECTOR_SIZE;
    if (rq->op == OP_WRITE &&
        gnttab(GNTTABOP_copy, f->domid, rq->gref, (u64)back_buf, len, GNTCOPY_source_gref).error)
        return -1;
    if (blk_backend_rw(rq->op == OP_WRITE, rq->sector, back_buf, rq->nr_sectors, NULL, NULL) < 0)
        return -1;
    if (rq->op == OP_READ &&
        gnttab(GNTTABOP_copy, f->domid, rq->gref, (u64)back_buf, len, GNTCOPY_dest_gref).error)
        return -1;
    return 0;
}

static void back_serve(struct front *f)
{
    struct split_ring *r = f->ring;
    u32 prod = r->req_prod;            // read once: the frontend may change it meanwhile
    if (prod - f->req_cons > RING_SLOTS) {
        back_disconnect(f, "request index jumped");
        return;
    }
    while (f->req_cons != prod) {
        struct split_req rq = r->req[f->req_cons % RING_SLOTS];   // a copy: checked, then used
        i64 st = back_one(f, &rq);
        r->rsp[f->req_cons % RING_SLOTS] = (struct split_rsp){ rq.id, st };
        f->req_cons++;
        r->rsp_prod = f->req_cons;
    }
    evtchn(EVTCHNOP_send, f->port);
}

static void back_event(u32 port)
{
    struct front *f = NULL, *free_slot = NULL;
    for (int i = 0; i < MAX_FRONTS; i++) {
        if (fronts[i].state && fronts[i].port == port)
            f = &fronts[i];
        else if (!fronts[i].state && !free_slot)
            free_slot = &fronts[i];
    }
    if (!f) {
        struct sbiret st = evtchn(EVTCHNOP_status, port);
        if (st.error || (st.value & 0xFF) != EVT_STATE_CONNECTED || !free_slot)
            return;
        f = free_slot;
        f->port = port;
        f->domid = (u32)((u64)st.value >> 16);
        f->ring = kalloc();
        if (!f->ring)
            return;
        f->state = 1;
    }
    if (f->state == 1)
        back_connect(f);
    if (f->state == 2)
        back_serve(f);
}

// ---- both ---------------------------------------------------------------

void split_init(void)
{
    if (plat.found_split) {
        front_init();
        return;
    }
    u64 sectors;
    if (pv_is_pv() && blk_backend_rw(0, 0, NULL, 0, &sectors, NULL) == 0) {
        back_buf = kalloc();
        back_ok = back_buf != NULL;
    }
}

// An event upcall: the frontend's waits look at the ring themselves; a
// driver domain serves each port that has an event.
void split_intr(void)
{
    if (!pv_is_pv())
        return;
    u64 events = pv_events_take();
    if (!back_ok)
        return;
    for (u32 port = 1; port < 64; port++)
        if (events & (1UL << port))
            back_event(port);
}
