/* grant-a: the granting side of the grant-table and event-channel pair (docs/pv-abi.md
 * "Grant tables", "Event channels"; test/grant.test.ts runs it beside grant-b). It grants
 * pages to grant-b (its domid + 1), some of them wrongly on purpose, offers it an event port,
 * checks every call's bad arguments, waits for grant-b's event, checks what grant-b wrote,
 * revokes a grant grant-b still has mapped, and checks what grant-b copied in.
 * A `pv` guest: hvlab only (pvguest.h). */
#include "splitguest.h"

static struct grant_entry gt[512] __attribute__((aligned(4096)));
#define D1 data[0]
#define D2 data[1]
#define D4 data[2]

static u64 gfn(const void *p) { return ((u64)p - RAM_BASE) >> 12; }
static void grant(u64 ref, unsigned short flags, u64 domid, u64 frame)
{
    gt[ref].domid = (unsigned short)domid;
    gt[ref].frame = (u32)frame;
    gt[ref].flags = flags;
}

/* Two ports of its own joined to each other: sends, masks and unmasks it can watch alone. */
static void loopback(u64 me)
{
    u64 events;
    expect("loop-alloc", evtchn(EVTCHNOP_alloc_unbound, me, 0), SBI_SUCCESS, 2);
    expect("loop-bind", evtchn(EVTCHNOP_bind_interdomain, me, 2), SBI_SUCCESS, 3);
    expect("loop-send", evtchn(EVTCHNOP_send, 3, 0), SBI_SUCCESS, 0);
    check("loop-woken", wait_event(&events) & SIP_SSIP, SIP_SSIP);
    check("loop-port", events, 1UL << 2);
    /* Masked: the bit is set, no upcall comes. */
    shared.evtchn_mask = 1UL << 2;
    expect("loop-send-masked", evtchn(EVTCHNOP_send, 3, 0), SBI_SUCCESS, 0);
    pv(PV_YIELD, 0, 0, 0);
    check("loop-masked-pending", shared.evtchn_pending, 1UL << 2);
    check("loop-masked-no-upcall", shared.pending & SIP_SSIP, 0);
    /* Unmasking a pending port raises the upcall. */
    expect("loop-unmask", evtchn(EVTCHNOP_unmask, 2, 0), SBI_SUCCESS, 0);
    check("loop-unmasked", shared.evtchn_mask, 0);
    check("loop-unmask-upcall", wait_event(&events) & SIP_SSIP, SIP_SSIP);
    check("loop-unmask-port", events, 1UL << 2);
    expect("loop-close", evtchn(EVTCHNOP_close, 3, 0), SBI_SUCCESS, 0);
    expect("loop-send-closed", evtchn(EVTCHNOP_send, 2, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("loop-close-other", evtchn(EVTCHNOP_close, 2, 0), SBI_SUCCESS, 0);
}

int main(void)
{
    pv_start();
    own_tables();

    expect("setup-misaligned", gnt(GNTTABOP_setup_table, (u64)gt + 8, 16, 0, 0, 0), SBI_ERR_INVALID_ADDRESS, 0);
    expect("setup-not-ram", gnt(GNTTABOP_setup_table, 0x1000, 16, 0, 0, 0), SBI_ERR_INVALID_ADDRESS, 0);
    expect("setup-no-entries", gnt(GNTTABOP_setup_table, (u64)gt, 0, 0, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("setup-too-many", gnt(GNTTABOP_setup_table, (u64)gt, 513, 0, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    struct sbiret r = gnt(GNTTABOP_setup_table, (u64)gt, 16, 0, 0, 0);
    u64 me = (u64)r.value, peer = me + 1;
    check("setup", (u64)r.error, 0);
    print("a: domid "); print_hex(me); print("\n");
    expect("gnttab-unknown-op", gnt(99, 0, 0, 0, 0, 0), SBI_ERR_NOT_SUPPORTED, 0);
    expect("map-own-grant", gnt(GNTTABOP_map_grant_ref, me, 1, 0, 0, 0), SBI_ERR_INVALID_PARAM, 0);

    D1[0] = 0xA1A1A1A1UL;
    D2[0] = 0xA2A2A2A2UL;
    grant(1, GTF_permit_access, peer, gfn(D1));
    grant(2, GTF_permit_access | GTF_readonly, peer, gfn(D2));
    grant(3, GTF_permit_access, peer + 1, gfn(D1));           /* to somebody else */
    grant(4, 0, peer, gfn(D1));                               /* not in use */
    grant(5, GTF_permit_access, peer, 0xFFFFF);               /* not a frame of its RAM */
    grant(6, GTF_permit_access, peer, gfn(K0));               /* one of its page tables */
    grant(7, GTF_permit_access, peer, gfn(D4));

    expect("alloc-no-domain", evtchn(EVTCHNOP_alloc_unbound, 99, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("alloc-domid-0", evtchn(EVTCHNOP_alloc_unbound, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("alloc-unbound", evtchn(EVTCHNOP_alloc_unbound, peer, 0), SBI_SUCCESS, 1);
    expect("send-unbound", evtchn(EVTCHNOP_send, 1, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("send-port-0", evtchn(EVTCHNOP_send, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("send-port-64", evtchn(EVTCHNOP_send, 64, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("send-free-port", evtchn(EVTCHNOP_send, 5, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("unmask-free-port", evtchn(EVTCHNOP_unmask, 5, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("close-free-port", evtchn(EVTCHNOP_close, 5, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("bind-port-offered-to-other", evtchn(EVTCHNOP_bind_interdomain, me, 1), SBI_ERR_DENIED, 0);
    expect("evtchn-unknown-op", evtchn(99, 0, 0), SBI_ERR_NOT_SUPPORTED, 0);
    loopback(me);

    print("a: waiting for b\n");
    u64 events, bits = wait_event(&events);
    check("a-woken-by-event", bits & SIP_SSIP, SIP_SSIP);
    check("a-event-port", events, 1UL << 1);
    check("a-page-kept", D1[0], 0xA1A1A1A1UL);
    check("a-sees-b-write", D1[1], 0xB1B1B1B1UL);

    /* Revoke ref 1 while b has it mapped: new maps and copies fail, the mapping stays. */
    gt[1].flags = 0;
    expect("a-send", evtchn(EVTCHNOP_send, 1, 0), SBI_SUCCESS, 0);
    print("a: waiting for b again\n");
    bits = wait_event(&events);
    check("a-woken-again", bits & SIP_SSIP, SIP_SSIP);
    check("a-sees-write-after-revoke", D1[2], 0xB2B2B2B2UL);
    check("a-copy-landed", D4[1], 0xC0C0C0C0UL);
    check("a-copy-landed-2", D4[2], 0xC1C1C1C1UL);
    check("a-copy-bounded", D4[3], 0);
    expect("send-after-peer-closed", evtchn(EVTCHNOP_send, 1, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("close-after-peer-closed", evtchn(EVTCHNOP_close, 1, 0), SBI_SUCCESS, 0);
    finish();
}
