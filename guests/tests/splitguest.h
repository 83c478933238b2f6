/* splitguest.h: grant tables and event channels for the pv test guests grant-a and grant-b
 * (docs/pv-abi.md "Grant tables", "Event channels"). The calls take Xen's command numbers.
 * These guests run only in two pv VMs of one Host, made in order (grant-a first), so that
 * grant-b's domid is grant-a's + 1: test/grant.test.ts. */
#ifndef SPLITGUEST_H
#define SPLITGUEST_H
#include "pvguest.h"

enum { GNTTABOP_map_grant_ref = 0, GNTTABOP_unmap_grant_ref = 1, GNTTABOP_setup_table = 2, GNTTABOP_copy = 5 };
enum { EVTCHNOP_bind_interdomain = 0, EVTCHNOP_close = 3, EVTCHNOP_send = 4, EVTCHNOP_alloc_unbound = 6,
       EVTCHNOP_unmask = 9 };

/* Xen's grant_entry_v1. */
struct grant_entry { unsigned short flags, domid; u32 frame; };
#define GTF_permit_access 1
#define GTF_readonly      4
#define GNTMAP_readonly   1
#define GNTCOPY_source_gref 1
#define GNTCOPY_dest_gref   2

#define SIP_SSIP (1UL << 1)

static struct sbiret gnt(u64 cmd, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5)
{
    return pv6(PV_GRANT_TABLE_OP, cmd, a1, a2, a3, a4, a5);
}
static struct sbiret evtchn(u64 cmd, u64 a1, u64 a2) { return pv6(PV_EVENT_CHANNEL_OP, cmd, a1, a2, 0, 0, 0); }

static void expect(const char *name, struct sbiret r, i64 err, i64 value)
{
    if (r.error != err) { check(name, (u64)r.error, (u64)err); return; }
    check(name, (u64)r.value, (u64)value);
}

static __attribute__((unused)) u64 rdtime(void) { u64 t; asm volatile("rdtime %0" : "=r"(t)); return t; }

/* Wait for a virtual interrupt (block); returns the pending sip bits. Acknowledges the events
 * that came (their pending bits) into *events. */
static u64 wait_event(u64 *events)
{
    struct sbiret r = pv(PV_BLOCK, 0, 0, 0);
    *events = shared.evtchn_pending;
    shared.evtchn_pending = 0;
    return (u64)r.value;
}

/* A load that may fault: the kernel handler skips it (4-byte instruction) and records why. */
static __attribute__((unused)) u64 load_probe(u64 va)
{
    u64 v;
    arm();
    asm volatile(".option push\n.option norvc\nld %0, 0(%1)\n.option pop" : "=r"(v) : "r"(va) : "memory");
    return v;
}
static __attribute__((unused)) void store_probe(u64 va, u64 v)
{
    arm();
    asm volatile(".option push\n.option norvc\nsd %0, 0(%1)\n.option pop" : : "r"(v), "r"(va) : "memory");
}

/* Leave the boot tables for the guest's own (pvguest.h build_kernel_space): grant maps go
 * into entries of validated level-0 tables. */
static __attribute__((unused)) void own_tables(void)
{
    build_kernel_space();
    expect("set-root", pv(PV_SET_ROOT, ma((u64)K), 0, 1), SBI_SUCCESS, 0);
}

/* These guests have no user mode: a user trap cannot happen. */
void user_trapped(struct frame *user)
{
    (void)user;
    print("FAIL user trap\n");
    finish();
}

#endif
