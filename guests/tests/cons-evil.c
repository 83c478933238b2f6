/* cons-evil: a hostile consfront against hvos's consback (guests/hvos/kernel/split.c,
 * docs/split.md "The console pair"; test/split-console.test.ts runs two of it beside a driver
 * domain made first, domids 2 and 3). It connects its console ring as a frontend should and
 * sends a good line, a line with control bytes (the backend must drop them: a frontend must
 * not drive the driver domain's terminal) and a line longer than the backend's line buffer;
 * then it breaks the ring: with an even domid its output index jumps (the backend must
 * disconnect it), with an odd one it first takes a line of input the driver domain typed
 * (`cons 3 hi`), then moves the input ring's consumer index past the producer's (the backend
 * must disconnect it at the next input instead of writing past the ring). Its own results go
 * to its own console (PV console_write). The host's toolstack gave it event port 1.
 * A `pv` guest: hvlab only (pvguest.h). */
#include "splitguest.h"

#define PORT 1
#define CONS_REF 2
#define CONS_MAGIC 0x6e6f6373u
#define CONS_IN  1024
#define CONS_OUT 2048
struct cons_ring {
    char in[CONS_IN];
    char out[CONS_OUT];
    u32 in_cons, in_prod;
    u32 out_cons, out_prod;
    u32 magic, state;
};

static struct grant_entry gt[512] __attribute__((aligned(4096)));
static struct cons_ring ring_page __attribute__((aligned(4096)));
#define RING ((volatile struct cons_ring *)&ring_page)

static u64 gfn(const void *p) { return ((u64)p - RAM_BASE) >> 12; }

/* Nudge the backend every 10 ms until *word is not `old` any more (at most 50 tries). */
static int wait_change(volatile u32 *word, u32 old)
{
    u64 ev;
    for (int i = 0; i < 50 && *word == old; i++) {
        evtchn(EVTCHNOP_send, PORT, 0);
        pv(PV_SET_TIMER, rdtime() + 100000, 0, 0);
        wait_event(&ev);
    }
    pv(PV_SET_TIMER, ~0UL, 0, 0);
    return *word != old;
}

/* Put bytes in the output ring, tell the backend, wait until it drained them. */
static void out(const char *s)
{
    u32 start = RING->out_prod;
    for (u64 i = 0; s[i]; i++)
        RING->out[RING->out_prod++ % CONS_OUT] = s[i];
    evtchn(EVTCHNOP_send, PORT, 0);
    while (RING->out_cons != RING->out_prod && wait_change(&RING->out_cons, start))
        start = RING->out_cons;
}

int main(void)
{
    pv_start();
    struct sbiret st = evtchn(5 /* EVTCHNOP_status */, PORT, 0);
    check("port-connected", (u64)st.value & 0xFF, 2);
    u64 backend = (u64)st.value >> 16;
    struct sbiret me = gnt(GNTTABOP_setup_table, (u64)gt, 4, 0, 0, 0);
    check("setup", (u64)me.error, SBI_SUCCESS);
    print("evil: domid "); print_hex((u64)me.value); print(", backend "); print_hex(backend); print("\n");

    RING->magic = CONS_MAGIC;
    RING->state = 1;
    gt[CONS_REF] = (struct grant_entry){ GTF_permit_access, (unsigned short)backend, (u32)gfn(&ring_page) };
    check("connected", (u64)wait_change(&RING->state, 1), 1);

    out("evil: hello\r\n");
    check("drained-hello", RING->out_cons, RING->out_prod);
    out("\x1b[2J\x1b]0;owned\x07red\x01 bell\r\n");
    check("drained-control", RING->out_cons, RING->out_prod);
    char longline[132];
    for (int i = 0; i < 130; i++) longline[i] = (char)('a' + i % 26);
    longline[130] = '\n';
    longline[131] = 0;
    out(longline);
    check("drained-long", RING->out_cons, RING->out_prod);

    if ((me.value & 1) == 0) {
        /* The output index jumps 5000 ahead: the backend disconnects and drains nothing more. */
        u32 cons = RING->out_cons;
        RING->out_prod += 5000;
        check("no-drain-after-jump", (u64)wait_change(&RING->out_cons, cons), 0);
        finish();
    }
    /* A line of input from the driver domain: wait for it, no timer (the test types it). */
    u64 ev;
    while (RING->in_prod - RING->in_cons < 3)
        wait_event(&ev);
    char got[4] = { RING->in[RING->in_cons % CONS_IN], RING->in[(RING->in_cons + 1) % CONS_IN],
                    RING->in[(RING->in_cons + 2) % CONS_IN], 0 };
    check("input-hi", (u64)(got[0] == 'h' && got[1] == 'i' && got[2] == '\n'), 1);
    RING->in_cons = RING->in_prod + 3000;     /* past the producer: "room" would look huge */
    print("summary: "); print_hex(n_ok); print(" ok, "); print_hex(n_fail); print(" failed\n");
    for (;;)
        wait_event(&ev);
}
