// Xen-style split drivers over hvlab's grant tables and event channels
// (docs/pv-abi.md "Grant tables", "Event channels"; docs/split.md): a block
// device pair (blkfront/blkback) and a console pair (consfront/consback).
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
//
// The console pair (an "hvlab,split-console" node; the same driver domain and
// event port as the block device when the VM has both) is Xen's console ring:
// a page the frontend grants (ref CONS_REF) with an output ring the frontend
// fills and the backend drains, and an input ring the other way. The backend
// prints each output line on its own console as "[domN] line"; the `cons`
// program (SYS_consput) queues a line of input for domain N. Indices are
// checked as the block ring's are: a side never trusts the other's index
// beyond the ring's size.
#include "defs.h"
#include "../lib/abi.h"
#include "memlayout.h"
#include "pvops.h"
#include "riscv.h"
#include "sbi.h"

#define RING_REF  0
#define DATA_REF  1
#define CONS_REF  2
#define GRANT_ENTRIES 3
#define RING_SLOTS 8
#define RING_MAGIC 0x6b6c6273u     // "sblk"

enum { RING_FRONT_READY = 1, RING_CONNECTED = 2 };
enum { OP_READ = 0, OP_WRITE = 1 };
#define FEAT_CONSOLE 1             // split_ring.features: a console ring is granted as CONS_REF

struct split_req { u64 id; u64 sector; u32 op; u32 nr_sectors; u32 gref; u32 pad; };
struct split_rsp { u64 id; i64 status; };

// The shared ring page (the frontend's, mapped by the backend).
struct split_ring {
    u32 magic, state;              // state: RING_*; the backend writes CONNECTED
    u64 sectors;                   // written by the backend at connection
    u32 readonly, features;        // features: FEAT_*, written by the frontend
    u32 req_prod, rsp_prod;        // frontend / backend producer indices
    struct split_req req[RING_SLOTS];
    struct split_rsp rsp[RING_SLOTS];
};

// The console ring page, laid out as Xen's xencons_interface
// (xen/include/public/io/console.h) with a magic and a state after it.
#define CONS_IN  1024
#define CONS_OUT 2048
#define CONS_MAGIC 0x6e6f6373u     // "scon"
struct cons_ring {
    char in[CONS_IN];              // backend -> frontend (input)
    char out[CONS_OUT];            // frontend -> backend (output)
    u32 in_cons, in_prod;          // free-running; index with % CONS_IN
    u32 out_cons, out_prod;        // free-running; index with % CONS_OUT
    u32 magic, state;              // state: RING_*; the backend writes CONNECTED
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

// PV-on-HVM (docs/pv-abi.md "PV-on-HVM"): a frontend under trap-emulate,
// hvm-shadow or hvm-nested registers a page of its own for the event bitmaps
// (pv has them in its shared info page) and takes an event as a supervisor
// software interrupt, where an SBI IPI lands.
#define SH_EVTCHN_PENDING 88
static volatile u64 *hvm_events;   // the event page's pending bitmap (not pv)

static u64 events_take(void)
{
    if (pv_is_pv())
        return pv_events_take();
    u64 e = *hvm_events;
    *hvm_events = 0;
    return e;
}

static int hvm_events_init(void)
{
    u8 *page = kalloc();
    if (!page || sbi_call(SBI_EXT_HVLAB, SBI_HVLAB_SHARED_INFO, (u64)page, 0, 0).error)
        return 0;
    hvm_events = (volatile u64 *)(page + SH_EVTCHN_PENDING);
    pv.write_sie(SIE_SEIE | SIE_STIE | SIE_SSIE);
    return 1;
}

// A frontend's driver domain and event port (one for both devices: the host
// connects a VM to one driver domain).
static u32 front_backend(void) { return plat.found_split ? plat.split_backend : plat.cons_backend; }
static u32 front_port(void) { return plat.found_split ? plat.split_port : plat.cons_port; }

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
            evtchn(EVTCHNOP_send, front_port());
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
    evtchn(EVTCHNOP_send, front_port());
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

// ---- consfront -----------------------------------------------------------

static struct cons_ring *cring;    // frontend: its own page
int cons_front_active;             // console.c sends output here while set
static u32 cons_notified;          // out_prod at the last event sent
static int cons_busy;              // in cons_putc: an interrupt's output is not waited for

// The backend stopped draining or broke the ring: back to the VM's own console.
static void cons_front_drop(const char *why)
{
    cons_front_active = 0;
    kprintf("consfront: %s; console back on this VM\n", why);
}

void cons_front_putc(int c)
{
    volatile struct cons_ring *r = cring;
    if (r->out_prod - r->out_cons >= CONS_OUT) {
        // Full (or an out_cons the backend moved past out_prod, which looks
        // the same): let the backend drain it, for at most a second.
        if (cons_busy) {
            // Output from an interrupt while cons_putc waits for room: it cannot
            // wait too, so it goes to the VM's own console rather than nowhere.
            pv.console_putc(c);
            return;
        }
        cons_busy = 1;
        cons_notified = r->out_prod;
        evtchn(EVTCHNOP_send, front_port());
        u32 old = r->out_cons;
        int moved = front_wait(&r->out_cons, old, 1000);
        cons_busy = 0;
        if (!moved || r->out_prod - r->out_cons >= CONS_OUT) {
            cons_front_drop("the backend does not drain the ring");
            pv.console_putc(c);
            return;
        }
    }
    r->out[r->out_prod % CONS_OUT] = (char)c;
    __sync_synchronize();              // the byte before the index that publishes it
    r->out_prod++;
}

void cons_front_flush(void)
{
    if (cring->out_prod != cons_notified) {
        cons_notified = cring->out_prod;
        evtchn(EVTCHNOP_send, front_port());
    }
}

// Input the backend queued: into the line discipline while it has room (the
// rest stays in the ring until a read makes room: cons_front_rx_resume).
static void cons_front_input(void)
{
    volatile struct cons_ring *r = cring;
    u32 prod = r->in_prod;             // read once: the backend may change it meanwhile
    if (prod - r->in_cons > CONS_IN) {
        cons_front_drop("the backend moved the input ring too far");
        return;
    }
    u32 cons = r->in_cons;
    while (cons != prod && console_rx_room() > 0)
        console_rx((u8)r->in[cons++ % CONS_IN]);
    if (cons != r->in_cons) {
        r->in_cons = cons;
        evtchn(EVTCHNOP_send, front_port());   // room for more input
    }
}

void cons_front_rx_resume(void)
{
    if (cons_front_active)
        cons_front_input();
}

// ---- frontends: setup ----------------------------------------------------

static void blk_front_connected(void)
{
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

// Both rings are granted before the first event, so the backend finds the
// console (FEAT_CONSOLE) when it connects the block ring.
static void front_init(void)
{
    if (!pv_is_pv() && !hvm_events_init()) {
        kprintf("split: no event channels here\n");
        return;
    }
    gtab = kalloc();
    ring = plat.found_split ? kalloc() : NULL;
    cring = plat.found_cons ? kalloc() : NULL;
    if (!gtab || (plat.found_split && !ring) || (plat.found_cons && !cring))
        panic("split: out of memory");
    if (gnttab(GNTTABOP_setup_table, (u64)gtab, GRANT_ENTRIES, 0, 0, 0).error) {
        kprintf("split: no grant table\n");
        return;
    }
    u16 back = (u16)front_backend();
    if (cring) {
        cring->magic = CONS_MAGIC;
        cring->state = RING_FRONT_READY;
        gtab[CONS_REF] = (struct grant_entry){ GTF_permit_access, back, (u32)gfn_of(cring) };
    }
    if (ring) {
        ring->magic = RING_MAGIC;
        ring->state = RING_FRONT_READY;
        ring->features = cring ? FEAT_CONSOLE : 0;
        gtab[RING_REF] = (struct grant_entry){ GTF_permit_access, back, (u32)gfn_of(ring) };
    }
    evtchn(EVTCHNOP_send, front_port());
    if (ring) {
        if (front_wait(&ring->state, RING_FRONT_READY, 2000))
            blk_front_connected();
        else
            kprintf("blkfront: backend %u does not answer\n", plat.split_backend);
    }
    if (cring) {
        if (!front_wait(&cring->state, RING_FRONT_READY, 2000)) {
            kprintf("consfront: backend %u does not answer\n", plat.cons_backend);
            return;
        }
        kprintf("consfront: console on domain %u from here on\n", plat.cons_backend);
        console_flush();
        cons_notified = cring->out_prod;
        cons_front_active = 1;
    }
}

// ---- blkback and consback ---------------------------------------------------

#define MAX_FRONTS 63               // one event port each (ports 1..63)
#define CONS_LINE 120               // a frontend's output line, printed when full
enum { DEV_WAITING = 0, DEV_CONNECTED = 2, DEV_BROKEN = 3, DEV_NONE = 4 };
static struct front {
    u32 port, domid;
    int used;
    int blk;                       // DEV_*: its block ring
    int cons;                      // DEV_*: its console ring
    int wants_cons;                // its block ring says a console ring is granted too
    u32 req_cons;
    struct split_ring *ring;       // the frontend's ring page, mapped over a page of ours
    long handle;
    struct cons_ring *cring;       // its console ring, mapped over a page of ours
    long cons_handle;
    u32 out_cons, in_prod;         // our own copies: never read back from the ring
    char line[CONS_LINE + 1];
    u32 line_len;
} fronts[MAX_FRONTS];
static u8 *back_buf;               // one page the data goes through (only with a disk)
static int back_listen;            // a pv VM that is not a frontend: a driver domain

static void back_disconnect(struct front *f, const char *why)
{
    kprintf("blkback: domain %u: %s; disconnected\n", f->domid, why);
    pv_grant_unmap_over(f->ring, f->handle);
    f->blk = DEV_BROKEN;
}

static void back_connect(struct front *f)
{
    if (!f->ring && !(f->ring = kalloc()))
        return;
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
    f->wants_cons = (f->ring->features & FEAT_CONSOLE) != 0;
    f->req_cons = f->ring->req_prod;
    f->ring->sectors = sectors;
    f->ring->readonly = (u32)ro;
    f->ring->rsp_prod = f->req_cons;
    f->ring->state = RING_CONNECTED;
    f->blk = DEV_CONNECTED;
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
}

static void cons_back_disconnect(struct front *f, const char *why)
{
    kprintf("consback: domain %u: %s; disconnected\n", f->domid, why);
    pv_grant_unmap_over(f->cring, f->cons_handle);
    f->cons = DEV_BROKEN;
}

static void cons_back_connect(struct front *f)
{
    if (!f->cring && !(f->cring = kalloc()))
        return;
    long h = pv_grant_map_over(f->cring, f->domid, CONS_REF);
    if (h < 0)
        return;
    f->cons_handle = h;
    if (f->cring->magic != CONS_MAGIC || f->cring->state != RING_FRONT_READY) {
        pv_grant_unmap_over(f->cring, h);
        return;
    }
    f->out_cons = f->cring->out_prod;      // what it wrote before it was connected is not ours
    f->in_prod = f->cring->in_prod;
    f->cring->out_cons = f->out_cons;
    f->cring->in_cons = f->in_prod;
    f->cring->state = RING_CONNECTED;
    f->cons = DEV_CONNECTED;
    f->line_len = 0;
    kprintf("consback: domain %u connected on port %u\n", f->domid, f->port);
}

static void cons_line_out(struct front *f)
{
    f->line[f->line_len] = 0;
    kprintf("[dom%u] %s\n", f->domid, f->line);
    f->line_len = 0;
}

// One byte of a frontend's output into its line: CR dropped (the frontend's
// CR LF ends a line once), backspace edits, other control bytes are dropped
// so a frontend cannot drive the driver domain's terminal.
static void cons_line_put(struct front *f, u8 c)
{
    if (c == '\n')
        cons_line_out(f);
    else if (c == '\b') {
        if (f->line_len)
            f->line_len--;
    } else if (c >= ' ' && c < 0x7f) {
        f->line[f->line_len++] = (char)c;
        if (f->line_len == CONS_LINE)
            cons_line_out(f);
    }
}

// Drain a frontend's output. Returns 1 if it consumed some (an event is due:
// the frontend may wait for room).
static int cons_back_serve(struct front *f)
{
    volatile struct cons_ring *r = f->cring;
    u32 prod = r->out_prod;            // read once
    if (prod - f->out_cons > CONS_OUT) {
        cons_back_disconnect(f, "output index jumped");
        return 0;
    }
    if (prod == f->out_cons)
        return 0;
    while (f->out_cons != prod)
        cons_line_put(f, (u8)r->out[f->out_cons++ % CONS_OUT]);
    r->out_cons = f->out_cons;
    return 1;
}

static void back_event(u32 port)
{
    struct front *f = NULL, *free_slot = NULL;
    for (int i = 0; i < MAX_FRONTS; i++) {
        if (fronts[i].used && fronts[i].port == port)
            f = &fronts[i];
        else if (!fronts[i].used && !free_slot)
            free_slot = &fronts[i];
    }
    if (!f) {
        struct sbiret st = evtchn(EVTCHNOP_status, port);
        if (st.error || (st.value & 0xFF) != EVT_STATE_CONNECTED || !free_slot)
            return;
        f = free_slot;
        f->port = port;
        f->domid = (u32)((u64)st.value >> 16);
        f->used = 1;
    }
    // A frontend with a block ring says whether it has a console; one
    // without (no ref RING_REF granted) may have only a console.
    if (f->blk == DEV_WAITING && back_buf)
        back_connect(f);
    if (f->cons == DEV_WAITING && (f->wants_cons || f->blk == DEV_WAITING)) {
        cons_back_connect(f);
        if (f->cons == DEV_CONNECTED && f->blk == DEV_WAITING)
            f->blk = DEV_NONE;         // a console-only frontend: stop asking for a block ring
    }
    // Every event on a block ring is answered (the frontend's wait may have
    // nudged us); on a console only output drained is.
    int answer = 0;
    if (f->blk == DEV_CONNECTED) {
        back_serve(f);
        answer = f->blk == DEV_CONNECTED;
    }
    if (f->cons == DEV_CONNECTED)
        answer |= cons_back_serve(f);
    if (answer)
        evtchn(EVTCHNOP_send, f->port);
}

// SYS_consput: queue input for domain `domid`'s console. Returns the bytes
// queued (0: its input ring is full), E_NODEV if no console of that domain
// is connected here.
int cons_back_put(u32 domid, const char *buf, u32 n)
{
    struct front *f = NULL;
    for (int i = 0; i < MAX_FRONTS && !f; i++)
        if (fronts[i].used && fronts[i].domid == domid && fronts[i].cons == DEV_CONNECTED)
            f = &fronts[i];
    if (!f)
        return E_NODEV;
    // A frontend destroyed meanwhile: the hypervisor took its page out of our
    // map (docs/pv-abi.md "Revocation") and its end of the channel closed.
    struct sbiret st = evtchn(EVTCHNOP_status, f->port);
    if (st.error || (st.value & 0xFF) != EVT_STATE_CONNECTED || (u32)((u64)st.value >> 16) != f->domid) {
        cons_back_disconnect(f, "gone");
        return E_NODEV;
    }
    volatile struct cons_ring *r = f->cring;
    u32 cons = r->in_cons;             // read once
    if (f->in_prod - cons > CONS_IN) {
        cons_back_disconnect(f, "input index jumped");
        return E_NODEV;
    }
    u32 done = 0;
    while (done < n && f->in_prod - cons < CONS_IN)
        r->in[f->in_prod++ % CONS_IN] = buf[done++];
    __sync_synchronize();              // the bytes before the index that publishes them
    r->in_prod = f->in_prod;
    if (done)
        evtchn(EVTCHNOP_send, f->port);
    return (int)done;
}

// ---- both ---------------------------------------------------------------

void split_init(void)
{
    if (plat.found_split || plat.found_cons) {
        front_init();
        return;
    }
    if (!pv_is_pv())
        return;
    back_listen = 1;
    u64 sectors;
    if (blk_backend_rw(0, 0, NULL, 0, &sectors, NULL) == 0)
        back_buf = kalloc();
}

// An event upcall: the frontend's block waits look at the ring themselves,
// its console takes input; a driver domain serves each port that has an event.
void split_intr(void)
{
    if (!pv_is_pv()) {
        if (!hvm_events)
            return;
        csr_clear(sip, SIE_SSIE);      // taken: a later event raises it again
    }
    u64 events = events_take();
    if (cons_front_active)
        cons_front_input();
    if (!back_listen)
        return;
    for (u32 port = 1; port < 64; port++)
        if (events & (1UL << port))
            back_event(port);
}
