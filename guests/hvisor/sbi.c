// The SBI on both sides of L1 (SBI specification v1.0.0, and v2.0's DBCN chapter 12):
// L1 calls its own firmware (ecall from HS: the timer, shutdown), and L1 *is* the SBI
// implementation of L2 (ecall from VS, cause 10). Every argument from L2 is checked before
// anything changes: a bad one returns an SBI error.
#include "hvisor.h"

#define SBI_SUCCESS             0
#define SBI_ERR_NOT_SUPPORTED  (-2)
#define SBI_ERR_INVALID_PARAM  (-3)

#define EID_BASE   0x10
#define EID_TIME   0x54494D45
#define EID_SRST   0x53525354
#define EID_DBCN   0x4442434E
#define EID_HVLAB  0x08484C56   // hvlab's PV extension: not offered to L2

#define BASE_GET_SPEC_VERSION   0
#define BASE_GET_IMPL_ID        1
#define BASE_GET_IMPL_VERSION   2
#define BASE_PROBE_EXTENSION    3
#define BASE_GET_MVENDORID      4
#define BASE_GET_MARCHID        5
#define BASE_GET_MIMPID         6

#define SPEC_VERSION_1_0   0x01000000
// No implementation ID is registered for hvisor; this one ("HVIS") is outside the
// registered range, so a kernel prints it as an unknown implementation.
#define HVISOR_IMPL_ID     0x48564953
#define HVISOR_IMPL_VERSION 0x00000001

#define SRST_SHUTDOWN       0
#define SRST_WARM_REBOOT    2
#define SRST_REASON_FAILURE 1

struct sbiret sbi_call(u64 eid, u64 fid, u64 a0, u64 a1, u64 a2)
{
    register u64 r0 asm("a0") = a0, r1 asm("a1") = a1, r2 asm("a2") = a2;
    register u64 r6 asm("a6") = fid, r7 asm("a7") = eid;
    asm volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r6), "r"(r7) : "memory");
    return (struct sbiret){ (i64)r0, (i64)r1 };
}

void sbi_set_timer(u64 t)
{
    sbi_call(EID_TIME, 0, t, 0, 0);
}

void sbi_shutdown(u64 reason)
{
    sbi_call(EID_SRST, 0, SRST_SHUTDOWN, reason ? SRST_REASON_FAILURE : 0, 0);
    for (;;)
        asm volatile("wfi");
}

// L2's timer: L1 has one timer (its own SBI's) and lends it to L2. When it fires, L2's
// virtual timer interrupt is raised in hvip.VSTIP (8.2.3) and L1's timer is disarmed, which
// also clears L1's STIP; L2's next set_timer lowers VSTIP, as the SBI says a set_timer
// clears the pending timer interrupt.
void vtimer_fire(void)
{
    sbi_set_timer(~UL(0));
    csr_set(hvip, MIP_VSTIP);
    stats[ST_INJECT_TIMER]++;
}

static void vtimer_set(u64 deadline)
{
    csr_clear(hvip, MIP_VSTIP);
    sbi_set_timer(deadline);
}

static struct sbiret base(u64 fid, u64 a0)
{
    switch (fid) {
    case BASE_GET_SPEC_VERSION: return (struct sbiret){ SBI_SUCCESS, SPEC_VERSION_1_0 };
    case BASE_GET_IMPL_ID: return (struct sbiret){ SBI_SUCCESS, HVISOR_IMPL_ID };
    case BASE_GET_IMPL_VERSION: return (struct sbiret){ SBI_SUCCESS, HVISOR_IMPL_VERSION };
    case BASE_PROBE_EXTENSION:
        // hvlab's PV extension is absent: hvisor is an ordinary hypervisor, and L2's hvos
        // runs on the emulated devices and the SBI only.
        return (struct sbiret){ SBI_SUCCESS, a0 == EID_BASE || a0 == EID_TIME ||
                                             a0 == EID_SRST || a0 == EID_DBCN };
    case BASE_GET_MVENDORID:
    case BASE_GET_MARCHID:
    case BASE_GET_MIMPID:
        return (struct sbiret){ SBI_SUCCESS, 0 };
    }
    return (struct sbiret){ SBI_ERR_NOT_SUPPORTED, 0 };
}

// The debug console: bytes L2 names by guest-physical address, which must lie in its RAM.
static struct sbiret dbcn(u64 fid, u64 a0, u64 a1, u64 a2)
{
    if (fid == 0 || fid == 1) {             // console_write, console_read
        // On RV64 the address is a1 (the low XLEN bits); a2, the bits above, must be 0.
        u8 *p = a0 ? gpa_ptr(a1, a0) : (u8 *)1;
        if (!p || a2 != 0)
            return (struct sbiret){ SBI_ERR_INVALID_PARAM, 0 };
        u64 n = 0;
        if (fid == 0)
            for (; n < a0; n++)
                cons_putc(p[n]);
        else
            while (n < a0 && vuart_rx_pop(&p[n]))
                n++;
        return (struct sbiret){ SBI_SUCCESS, (i64)n };
    }
    if (fid == 2) {                         // console_write_byte
        cons_putc((u8)a0);
        return (struct sbiret){ SBI_SUCCESS, 0 };
    }
    return (struct sbiret){ SBI_ERR_NOT_SUPPORTED, 0 };
}

void sbi_from_l2(struct vcpu *v)
{
    u64 eid = v->x[17], fid = v->x[16], a0 = v->x[10], a1 = v->x[11], a2 = v->x[12];
    struct sbiret r = { SBI_ERR_NOT_SUPPORTED, 0 };
    switch (eid) {
    case EID_BASE:
        stats[ST_SBI_BASE]++;
        r = base(fid, a0);
        break;
    case EID_TIME:
        stats[ST_SBI_TIME]++;
        if (fid == 0) {
            vtimer_set(a0);
            r = (struct sbiret){ SBI_SUCCESS, 0 };
        }
        break;
    case EID_SRST:
        stats[ST_SBI_SRST]++;
        if (fid != 0)
            break;
        if (a0 > SRST_WARM_REBOOT && a0 < 0xF0000000) {
            r.error = SBI_ERR_INVALID_PARAM;
            break;
        }
        if (a1 > SRST_REASON_FAILURE && a1 < 0xE0000000) {
            r.error = SBI_ERR_INVALID_PARAM;
            break;
        }
        // L2 has one life: a reboot request also ends it (and so the machine).
        if (a0 != SRST_SHUTDOWN)
            printf("hvisor: L2 asked for a reboot (type %u); hvisor shuts down instead\n", a0);
        hv_shutdown(a1 == SRST_REASON_FAILURE ? 1 : 0);
    case EID_DBCN:
        stats[ST_SBI_DBCN]++;
        r = dbcn(fid, a0, a1, a2);
        break;
    default:
        stats[ST_SBI_UNSUPPORTED]++;
        break;
    }
    v->x[10] = (u64)r.error;
    v->x[11] = (u64)r.value;
    v->pc += 4;
}
