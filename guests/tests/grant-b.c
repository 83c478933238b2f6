/* grant-b: the mapping side of the grant-table and event-channel pair (docs/pv-abi.md
 * "Grant tables", "Event channels"; test/grant.test.ts runs it beside grant-a, whose domid is
 * its own - 1). It binds grant-a's port, maps what it was granted (and tries what it was not),
 * reads and writes through the mapping, tells grant-a, and then either goes on (grant-a
 * revoked a grant under its mapping: it unmaps and copies) or, woken by its timer instead,
 * finds grant-a gone and its mapping with it.
 * A `pv` guest: hvlab only (pvguest.h). */
#include "splitguest.h"

static struct grant_entry gt[512] __attribute__((aligned(4096)));
#define MAPVA  0x803F0000UL        /* in K0's 2 MiB, above the image */
#define MAPVA2 0x803F1000UL
#define MAPVA3 0x803F2000UL

static u64 slot(u64 va) { return ma((u64)&K0[VPN(0, va)]); }
static volatile u64 *at(u64 va) { return (volatile u64 *)va; }

static void granter_gone(u64 port, u64 peer)
{
    print("b: woken by its timer\n");
    check("gone-entry-cleared", K0[VPN(0, MAPVA)], 0);
    load_probe(MAPVA);
    check("gone-mapping-faults", k_cause, CAUSE_LOAD_PAGE_FAULT);
    expect("gone-unmap", gnt(GNTTABOP_unmap_grant_ref, 0, 0, 0, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("gone-send", evtchn(EVTCHNOP_send, port, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("gone-map", gnt(GNTTABOP_map_grant_ref, peer, 1, slot(MAPVA), 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("gone-close", evtchn(EVTCHNOP_close, port, 0), SBI_SUCCESS, 0);
    finish();
}

int main(void)
{
    pv_start();
    own_tables();
    struct sbiret r = gnt(GNTTABOP_setup_table, (u64)gt, 1, 0, 0, 0);
    u64 me = (u64)r.value, peer = me - 1;
    check("setup", (u64)r.error, 0);
    print("b: domid "); print_hex(me); print("\n");

    expect("bind-no-domain", evtchn(EVTCHNOP_bind_interdomain, 99, 1), SBI_ERR_INVALID_PARAM, 0);
    expect("bind-port-0", evtchn(EVTCHNOP_bind_interdomain, peer, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("bind-port-not-in-use", evtchn(EVTCHNOP_bind_interdomain, peer, 9), SBI_ERR_INVALID_PARAM, 0);
    expect("bind-port-past-end", evtchn(EVTCHNOP_bind_interdomain, peer, 1UL << 32 | 1), SBI_ERR_INVALID_PARAM, 0);
    r = evtchn(EVTCHNOP_bind_interdomain, peer, 1);
    u64 port = (u64)r.value;
    expect("bind", r, SBI_SUCCESS, 1);
    expect("bind-again", evtchn(EVTCHNOP_bind_interdomain, peer, 1), SBI_ERR_DENIED, 0);

    /* Every way a map can be wrong; each changes nothing. */
    expect("map-no-domain", gnt(GNTTABOP_map_grant_ref, 99, 1, slot(MAPVA), 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("map-self", gnt(GNTTABOP_map_grant_ref, me, 1, slot(MAPVA), 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("map-ref-past-table", gnt(GNTTABOP_map_grant_ref, peer, 16, slot(MAPVA), 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("map-granted-to-other", gnt(GNTTABOP_map_grant_ref, peer, 3, slot(MAPVA), 0, 0), SBI_ERR_DENIED, 0);
    expect("map-entry-not-in-use", gnt(GNTTABOP_map_grant_ref, peer, 4, slot(MAPVA), 0, 0), SBI_ERR_DENIED, 0);
    expect("map-frame-past-ram", gnt(GNTTABOP_map_grant_ref, peer, 5, slot(MAPVA), 0, 0), SBI_ERR_INVALID_ADDRESS, 0);
    expect("map-table-writable", gnt(GNTTABOP_map_grant_ref, peer, 6, slot(MAPVA), 0, 0), SBI_ERR_DENIED, 0);
    expect("map-readonly-writable", gnt(GNTTABOP_map_grant_ref, peer, 2, slot(MAPVA), 0, 0), SBI_ERR_DENIED, 0);
    expect("map-bad-flags", gnt(GNTTABOP_map_grant_ref, peer, 1, slot(MAPVA), 2, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("map-slot-misaligned", gnt(GNTTABOP_map_grant_ref, peer, 1, slot(MAPVA) + 4, 0, 0), SBI_ERR_INVALID_ADDRESS, 0);
    expect("map-slot-not-a-table", gnt(GNTTABOP_map_grant_ref, peer, 1, ma((u64)data[0]), 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("map-slot-hypervisor", gnt(GNTTABOP_map_grant_ref, peer, 1, RAM_BASE, 0, 0), SBI_ERR_INVALID_ADDRESS, 0);
    expect("map-slot-in-use", gnt(GNTTABOP_map_grant_ref, peer, 1, slot(0x80200000UL), 0, 0), SBI_ERR_DENIED, 0);
    check("map-refused-left-entry", K0[VPN(0, MAPVA)], 0);

    expect("map", gnt(GNTTABOP_map_grant_ref, peer, 1, slot(MAPVA), 0, 0), SBI_SUCCESS, 0);
    check("map-reads", *at(MAPVA), 0xA1A1A1A1UL);
    *at(MAPVA + 8) = 0xB1B1B1B1UL;
    expect("map-readonly", gnt(GNTTABOP_map_grant_ref, peer, 2, slot(MAPVA2), GNTMAP_readonly, 0), SBI_SUCCESS, 1);
    check("map-readonly-reads", *at(MAPVA2), 0xA2A2A2A2UL);
    store_probe(MAPVA2, 0xbad);
    check("map-readonly-store-faults", k_cause, CAUSE_STORE_PAGE_FAULT);
    check("map-readonly-unchanged", *at(MAPVA2), 0xA2A2A2A2UL);
    expect("map-table-readonly", gnt(GNTTABOP_map_grant_ref, peer, 6, slot(MAPVA3), GNTMAP_readonly, 0), SBI_SUCCESS, 2);
    expect("unmap-table", gnt(GNTTABOP_unmap_grant_ref, 2, 0, 0, 0, 0), SBI_SUCCESS, 0);
    /* The granted frame is not the VM's: no entry of its own may name it. */
    static struct update u[1];
    u[0].ptr = slot(MAPVA3);
    u[0].val = K0[VPN(0, MAPVA)];
    expect("forge-mapping", mmu_update(u, 1), SBI_ERR_INVALID_ADDRESS, 0);
    expect("unmap-readonly", gnt(GNTTABOP_unmap_grant_ref, 1, 0, 0, 0, 0), SBI_SUCCESS, 0);
    load_probe(MAPVA2);
    check("unmapped-faults", k_cause, CAUSE_LOAD_PAGE_FAULT);
    expect("unmap-again", gnt(GNTTABOP_unmap_grant_ref, 1, 0, 0, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("unmap-bad-handle", gnt(GNTTABOP_unmap_grant_ref, 64, 0, 0, 0, 0), SBI_ERR_INVALID_PARAM, 0);

    /* Ports that are not its own. */
    expect("send-free-port", evtchn(EVTCHNOP_send, 2, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("send-port-63", evtchn(EVTCHNOP_send, 63, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("send-huge-port", evtchn(EVTCHNOP_send, ~0UL, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("unmask-port-99", evtchn(EVTCHNOP_unmask, 99, 0), SBI_ERR_INVALID_PARAM, 0);

    /* Tell a; wait for its answer, or for the timer if a is gone. */
    pv(PV_SET_TIMER, rdtime() + 1000000, 0, 0);
    expect("send", evtchn(EVTCHNOP_send, port, 0), SBI_SUCCESS, 0);
    print("b: waiting for a\n");
    u64 events, bits = wait_event(&events);
    if (!(bits & SIP_SSIP))
        granter_gone(port, peer);
    pv(PV_SET_TIMER, ~0UL, 0, 0);
    check("b-event-port", events, 1UL << port);

    /* a revoked ref 1 under the mapping. */
    expect("map-revoked", gnt(GNTTABOP_map_grant_ref, peer, 1, slot(MAPVA2), 0, 0), SBI_ERR_DENIED, 0);
    check("revoked-mapping-reads", *at(MAPVA), 0xA1A1A1A1UL);
    *at(MAPVA + 16) = 0xB2B2B2B2UL;
    expect("unmap", gnt(GNTTABOP_unmap_grant_ref, 0, 0, 0, 0, 0), SBI_SUCCESS, 0);
    check("unmap-cleared-entry", K0[VPN(0, MAPVA)], 0);
    load_probe(MAPVA);
    check("unmap-faults", k_cause, CAUSE_LOAD_PAGE_FAULT);

    /* Copies, without a mapping. */
    static u64 msg[2] = { 0xC0C0C0C0UL, 0xC1C1C1C1UL };
    u64 *buf = data[0];
    expect("copy-revoked", gnt(GNTTABOP_copy, peer, 1, (u64)buf, 8, GNTCOPY_source_gref), SBI_ERR_DENIED, 0);
    expect("copy-in", gnt(GNTTABOP_copy, peer, 7 | 8UL << 16, (u64)msg, 16, GNTCOPY_dest_gref), SBI_SUCCESS, 16);
    expect("copy-out", gnt(GNTTABOP_copy, peer, 2, (u64)buf, 8, GNTCOPY_source_gref), SBI_SUCCESS, 8);
    check("copy-out-data", buf[0], 0xA2A2A2A2UL);
    expect("copy-to-readonly", gnt(GNTTABOP_copy, peer, 2, (u64)buf, 8, GNTCOPY_dest_gref), SBI_ERR_DENIED, 0);
    expect("copy-past-page", gnt(GNTTABOP_copy, peer, 7 | 4090UL << 16, (u64)buf, 8, GNTCOPY_dest_gref), SBI_ERR_INVALID_PARAM, 0);
    expect("copy-nothing", gnt(GNTTABOP_copy, peer, 7, (u64)buf, 0, GNTCOPY_dest_gref), SBI_ERR_INVALID_PARAM, 0);
    expect("copy-bad-flags", gnt(GNTTABOP_copy, peer, 7, (u64)buf, 8, 3), SBI_ERR_INVALID_PARAM, 0);
    expect("copy-local-not-ram", gnt(GNTTABOP_copy, peer, 7, 0x1000, 8, GNTCOPY_source_gref), SBI_ERR_INVALID_ADDRESS, 0);
    expect("copy-into-own-table", gnt(GNTTABOP_copy, peer, 7, (u64)K0, 8, GNTCOPY_source_gref), SBI_ERR_DENIED, 0);
    expect("copy-into-granter-table", gnt(GNTTABOP_copy, peer, 6, (u64)buf, 8, GNTCOPY_dest_gref), SBI_ERR_DENIED, 0);
    expect("copy-ungranted", gnt(GNTTABOP_copy, peer, 3, (u64)buf, 8, GNTCOPY_source_gref), SBI_ERR_DENIED, 0);

    expect("send-again", evtchn(EVTCHNOP_send, port, 0), SBI_SUCCESS, 0);
    expect("close", evtchn(EVTCHNOP_close, port, 0), SBI_SUCCESS, 0);
    expect("send-after-close", evtchn(EVTCHNOP_send, port, 0), SBI_ERR_INVALID_PARAM, 0);
    finish();
}
