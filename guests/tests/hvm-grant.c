/* hvm-grant: the grant and event-channel calls from a guest that is not pv (PV-on-HVM,
 * docs/pv-abi.md "PV-on-HVM"). An S-mode kernel for the builtin firmware that runs unchanged
 * in trap-emulate, hvm-shadow and hvm-nested; test/pvhvm.test.ts makes it in a Host after one
 * pv VM (domid 1, which has no grant table), so its own domid is 2. Every refusal must change
 * nothing; an event it sends itself over a loopback channel must arrive as its supervisor
 * software interrupt (sip.SSIP) with its port's bit in the event page. Same console in every
 * mode (the golden file). */
#include "hostile.h"

#define PV_SHARED_INFO 9
#define PV_GRANT_TABLE_OP 15
#define PV_EVENT_CHANNEL_OP 16
#define SBI_ERR_DENIED -4L
#define SBI_ERR_INVALID_ADDRESS -5L
#define SIP_SSIP (1UL << 1)
#define EVTCHN_PENDING 88
#define EVTCHN_MASK 96

static struct sbiret hv6(u64 fid, u64 arg0, u64 arg1, u64 arg2, u64 arg3, u64 arg4, u64 arg5)
{
    register u64 a0 asm("a0") = arg0;
    register u64 a1 asm("a1") = arg1;
    register u64 a2 asm("a2") = arg2;
    register u64 a3 asm("a3") = arg3;
    register u64 a4 asm("a4") = arg4;
    register u64 a5 asm("a5") = arg5;
    register u64 a6 asm("a6") = fid;
    register u64 a7 asm("a7") = EID_HVLAB;
    asm volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a6), "r"(a7) : "memory");
    return (struct sbiret){ (long)a0, (long)a1 };
}
static struct sbiret gnt(u64 cmd, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5) { return hv6(PV_GRANT_TABLE_OP, cmd, a1, a2, a3, a4, a5); }
static struct sbiret evt(u64 cmd, u64 a1, u64 a2) { return hv6(PV_EVENT_CHANNEL_OP, cmd, a1, a2, 0, 0, 0); }

static void expect(const char *name, struct sbiret r, long err, long value)
{
    if (r.error != err) { check(name, (u64)r.error, (u64)err); return; }
    check(name, (u64)r.value, (u64)value);
}

static u8 events[4096] __attribute__((aligned(4096)));
static u64 gt[512] __attribute__((aligned(4096)));
static u8 buf[4096] __attribute__((aligned(4096)));
#define PENDING (*(volatile u64 *)(events + EVTCHN_PENDING))
#define MASK    (*(volatile u64 *)(events + EVTCHN_MASK))

int main(void)
{
    hostile_init();
    struct sbiret info = sbi(EID_HVLAB, 0, 0, 0, 0);
    check_true("info: a VM mode that is not pv", info.error == 0 && info.value >= 1 && info.value <= 3);

    /* The event page: guest-physical, page-aligned, in RAM. */
    expect("shared-misaligned", hv6(PV_SHARED_INFO, (u64)events + 8, 0, 0, 0, 0, 0), SBI_ERR_INVALID_ADDRESS, 0);
    expect("shared-outside-ram", hv6(PV_SHARED_INFO, RAM_END + 4096 * 64, 0, 0, 0, 0, 0), SBI_ERR_INVALID_ADDRESS, 0);
    events[0] = 0x55;
    expect("shared", hv6(PV_SHARED_INFO, (u64)events, 0, 0, 0, 0, 0), 0, 0);
    check("shared-zeroed", events[0], 0);

    /* The grant table: its value is the caller's domid. */
    expect("setup-misaligned", gnt(2, (u64)gt + 8, 4, 0, 0, 0), SBI_ERR_INVALID_ADDRESS, 0);
    expect("setup-no-entries", gnt(2, (u64)gt, 0, 0, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("setup-too-many", gnt(2, (u64)gt, 513, 0, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("setup", gnt(2, (u64)gt, 4, 0, 0, 0), 0, 2);
    /* A foreign mapping needs a slot in this guest's physical space: not offered here. */
    expect("map-not-supported", gnt(0, 1, 0, (u64)buf, 0, 0), SBI_ERR_NOT_SUPPORTED, 0);
    expect("unmap-no-handle", gnt(1, 0, 0, 0, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    /* Domain 1 has no grant table; itself is no grantee; domain 9 does not exist. */
    expect("copy-no-table", gnt(5, 1, 0, (u64)buf, 8, 1), SBI_ERR_INVALID_PARAM, 0);
    expect("copy-from-self", gnt(5, 2, 0, (u64)buf, 8, 1), SBI_ERR_INVALID_PARAM, 0);
    expect("copy-no-domain", gnt(5, 9, 0, (u64)buf, 8, 1), SBI_ERR_INVALID_PARAM, 0);
    expect("gnttab-unknown", gnt(7, 0, 0, 0, 0, 0), SBI_ERR_NOT_SUPPORTED, 0);

    /* Event channels: a port offered to domain 1, its status, refusals. */
    expect("alloc-unbound", evt(6, 1, 0), 0, 1);
    expect("status-unbound", evt(5, 1, 0), 0, 1 | (1L << 16));
    expect("send-unbound", evt(4, 1, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("close", evt(3, 1, 0), 0, 0);
    expect("status-closed", evt(5, 1, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("send-port-64", evt(4, 64, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("unmask-port-0", evt(9, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect("bind-no-domain", evt(0, 9, 1), SBI_ERR_INVALID_PARAM, 0);
    expect("evtchn-unknown", evt(7, 0, 0), SBI_ERR_NOT_SUPPORTED, 0);

    /* A loopback channel: a send on one end is an event on the other, taken as sip.SSIP
     * (interrupts stay globally off: the bit is read, not taken). */
    struct sbiret a = evt(6, 2, 0);
    expect("loop-alloc", a, 0, 1);
    struct sbiret b = evt(0, 2, (u64)a.value);
    expect("loop-bind", b, 0, 2);
    check("no-event-yet", csr_read(sip) & SIP_SSIP, 0);
    MASK = 1UL << a.value;
    expect("send-masked", evt(4, (u64)b.value, 0), 0, 0);
    check("masked-pending-bit", PENDING, 1UL << a.value);
    check("masked-no-interrupt", csr_read(sip) & SIP_SSIP, 0);
    expect("unmask", evt(9, (u64)a.value, 0), 0, 0);
    check("unmask-raises", csr_read(sip) & SIP_SSIP, SIP_SSIP);
    csr_clear(sip, SIP_SSIP);
    check("sip-cleared", csr_read(sip) & SIP_SSIP, 0);
    PENDING = 0;
    expect("send", evt(4, (u64)a.value, 0), 0, 0);
    check("event-on-the-other-end", PENDING, 1UL << b.value);
    check("event-interrupt", csr_read(sip) & SIP_SSIP, SIP_SSIP);
    csr_clear(sip, SIP_SSIP);
    return summary();
}
