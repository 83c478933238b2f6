/* sbi: conformance of an SBI v2.0 firmware (RISC-V SBI spec v2.0), run as an
 * S-mode kernel linked at 0x80200000 (hvlab --firmware builtin). Every
 * extension the firmware offers is called with good and bad arguments: base
 * (ch. 4), TIME (ch. 6), IPI (ch. 7), RFENCE (ch. 8), HSM (ch. 9), SRST
 * (ch. 10) and DBCN (ch. 12). Errors are the standard ones of section 3.2;
 * a refused call must change nothing (no interrupt raised, nothing printed).
 *
 * hvlab only: the implementation ID and version are hvlab's ("HVLB"), and the
 * golden file counts the machine's single hart; OpenSBI on QEMU differs.
 * The run ends with SRST shutdown (reason 0 = pass, 1 = system failure), see
 * sbi-crt.S. */
#include "rt.h"

/* Extension IDs (SBI v2.0, one chapter each). */
#define EID_LEGACY_PUTCHAR 0x01UL
#define EID_BASE   0x10UL
#define EID_TIME   0x54494D45UL   /* "TIME" */
#define EID_IPI    0x735049UL     /* "sPI" */
#define EID_RFENCE 0x52464E43UL   /* "RFNC" */
#define EID_HSM    0x48534DUL     /* "HSM" */
#define EID_SRST   0x53525354UL   /* "SRST" */
#define EID_DBCN   0x4442434EUL   /* "DBCN" */
#define EID_PMU    0x504D55UL     /* "PMU": not offered by hvlab */
#define EID_SUSP   0x53555350UL   /* "SUSP": not offered by hvlab */
#define EID_HVLAB_PV 0x08484C56UL /* hvlab's PV extension: virtualized modes only */

/* Base functions (ch. 4). */
#define BASE_SPEC_VERSION 0
#define BASE_IMPL_ID      1
#define BASE_IMPL_VERSION 2
#define BASE_PROBE        3
#define BASE_MVENDORID    4
#define BASE_MARCHID      5
#define BASE_MIMPID       6

/* RFENCE functions (ch. 8). */
#define RFENCE_FENCE_I    0
#define RFENCE_SFENCE_VMA 1
#define RFENCE_SFENCE_VMA_ASID 2

/* HSM functions, states and suspend types (ch. 9, tables 24 and 26). */
#define HSM_START   0
#define HSM_STOP    1
#define HSM_STATUS  2
#define HSM_SUSPEND 3
#define HSM_STATE_STARTED 0
#define HSM_SUSPEND_RETENTIVE     0x00000000UL
#define HSM_SUSPEND_NON_RETENTIVE 0x80000000UL

/* DBCN functions (ch. 12). */
#define DBCN_WRITE      0
#define DBCN_READ       1
#define DBCN_WRITE_BYTE 2

/* Standard errors (section 3.2, table 1). */
#define SBI_SUCCESS               0
#define SBI_ERR_NOT_SUPPORTED     -2L
#define SBI_ERR_INVALID_PARAM     -3L
#define SBI_ERR_ALREADY_AVAILABLE -6L

#define SBI_SPEC_2_0  (2UL << 24)      /* major in bits 30:24, minor in 23:0 */
#define HVLAB_IMPL_ID 0x48564C42UL     /* "HVLB" */
#define HVLAB_IMPL_VERSION 0x10000UL   /* 1.0 */

#define ALL_HARTS (~0UL)               /* hart_mask_base = -1 (section 3.1) */
#define U64_MAX   (~0UL)
#define RAM_END   (RAM_BASE + (128UL << 20)) /* the runner gives the VM 128 MiB */

struct sbiret { long error; long value; };

/* The SBI calling convention (section 3.1): a7 = EID, a6 = FID, a0..a5 in,
 * a0 = error and a1 = value out, every other register preserved. */
static struct sbiret sbi(u64 eid, u64 fid, u64 arg0, u64 arg1, u64 arg2, u64 arg3, u64 arg4)
{
    register u64 a0 asm("a0") = arg0;
    register u64 a1 asm("a1") = arg1;
    register u64 a2 asm("a2") = arg2;
    register u64 a3 asm("a3") = arg3;
    register u64 a4 asm("a4") = arg4;
    register u64 a6 asm("a6") = fid;
    register u64 a7 asm("a7") = eid;
    asm volatile("ecall"
                 : "+r"(a0), "+r"(a1)
                 : "r"(a2), "r"(a3), "r"(a4), "r"(a6), "r"(a7)
                 : "memory");
    return (struct sbiret){ (long)a0, (long)a1 };
}

static struct sbiret sbi0(u64 eid, u64 fid) { return sbi(eid, fid, 0, 0, 0, 0, 0); }
static struct sbiret sbi1(u64 eid, u64 fid, u64 a0) { return sbi(eid, fid, a0, 0, 0, 0, 0); }
static struct sbiret sbi2(u64 eid, u64 fid, u64 a0, u64 a1) { return sbi(eid, fid, a0, a1, 0, 0, 0); }
static struct sbiret sbi3(u64 eid, u64 fid, u64 a0, u64 a1, u64 a2) { return sbi(eid, fid, a0, a1, a2, 0, 0); }

/* Checks an SBI result: error and value together. */
static void check_ret(const char *name, struct sbiret r, long error, long value)
{
    if (r.error != error)
        check(name, (u64)r.error, (u64)error);
    else
        check(name, (u64)r.value, (u64)value);
}

/* Checks only the error (the value is unspecified on error). */
static void check_err(const char *name, struct sbiret r, long error)
{
    check(name, (u64)r.error, (u64)error);
}

static u64 rdtime(void) { return csr_read(time); }

static void set_timer(u64 t) { sbi1(EID_TIME, 0, t); }

/* Supervisor interrupts seen by the trap hook. */
static volatile u64 n_stimer, n_ssoft;

static int irq_hook(struct frame *f, u64 cause)
{
    (void)f;
    if (cause == (CAUSE_INTERRUPT | IRQ_S_TIMER)) {
        n_stimer++;
        set_timer(U64_MAX);     /* STIP stays until the timer is re-armed */
        return 1;
    }
    if (cause == (CAUSE_INTERRUPT | IRQ_S_SOFT)) {
        n_ssoft++;
        csr_clear(sip, MIP_SSIP);
        return 1;
    }
    return 0;
}

/* Lets guest time pass (the instret clock advances with instructions). */
static void spin(u64 iterations)
{
    for (volatile u64 i = 0; i < iterations; i++)
        ;
}

static void test_base(void)
{
    static const struct { const char *name; u64 eid; u64 want; } probes[] = {
        { "base-probe-base", EID_BASE, 1 },
        { "base-probe-time", EID_TIME, 1 },
        { "base-probe-ipi", EID_IPI, 1 },
        { "base-probe-rfence", EID_RFENCE, 1 },
        { "base-probe-hsm", EID_HSM, 1 },
        { "base-probe-srst", EID_SRST, 1 },
        { "base-probe-dbcn", EID_DBCN, 1 },
        { "base-probe-unknown", 0x12345678UL, 0 },
        { "base-probe-hvlab-pv", EID_HVLAB_PV, 0 },
        { "base-probe-legacy-putchar", EID_LEGACY_PUTCHAR, 0 },
        { "base-probe-legacy-set-timer", 0x00, 0 },
        { "base-probe-pmu", EID_PMU, 0 },
        { "base-probe-susp", EID_SUSP, 0 },
    };
    check_ret("base-spec-version", sbi0(EID_BASE, BASE_SPEC_VERSION), SBI_SUCCESS, SBI_SPEC_2_0);
    check_ret("base-impl-id", sbi0(EID_BASE, BASE_IMPL_ID), SBI_SUCCESS, HVLAB_IMPL_ID);
    check_ret("base-impl-version", sbi0(EID_BASE, BASE_IMPL_VERSION), SBI_SUCCESS, HVLAB_IMPL_VERSION);
    for (unsigned i = 0; i < sizeof probes / sizeof probes[0]; i++)
        check_ret(probes[i].name, sbi1(EID_BASE, BASE_PROBE, probes[i].eid), SBI_SUCCESS, probes[i].want);
    /* "0 is always a legal value" for these CSRs (ch. 4); hvlab's are 0. */
    check_ret("base-mvendorid", sbi0(EID_BASE, BASE_MVENDORID), SBI_SUCCESS, 0);
    check_ret("base-marchid", sbi0(EID_BASE, BASE_MARCHID), SBI_SUCCESS, 0);
    check_ret("base-mimpid", sbi0(EID_BASE, BASE_MIMPID), SBI_SUCCESS, 0);
    check_err("base-unknown-fid", sbi0(EID_BASE, 7), SBI_ERR_NOT_SUPPORTED);
    check_err("base-unknown-fid-large", sbi0(EID_BASE, 0x100), SBI_ERR_NOT_SUPPORTED);
    check_err("unknown-eid", sbi0(0x12345678UL, 0), SBI_ERR_NOT_SUPPORTED);
    check_err("unknown-eid-hvlab-pv", sbi0(EID_HVLAB_PV, 0), SBI_ERR_NOT_SUPPORTED);
    check_err("unknown-eid-legacy-putchar", sbi1(EID_LEGACY_PUTCHAR, 0, 'L'), SBI_ERR_NOT_SUPPORTED);
}

/* All registers but a0 and a1 survive an SBI call (section 3.1). */
static void test_preserved(void)
{
    register u64 a0 asm("a0") = 0;
    register u64 a1 asm("a1") = 0;
    register u64 a2 asm("a2") = 0x2222;
    register u64 a3 asm("a3") = 0x3333;
    register u64 a4 asm("a4") = 0x4444;
    register u64 a5 asm("a5") = 0x5555;
    register u64 a6 asm("a6") = BASE_SPEC_VERSION;
    register u64 a7 asm("a7") = EID_BASE;
    register u64 t0 asm("t0") = 0x7070;
    register u64 s2 asm("s2") = 0x5252;
    asm volatile("ecall"
                 : "+r"(a0), "+r"(a1), "+r"(a2), "+r"(a3), "+r"(a4), "+r"(a5),
                   "+r"(a6), "+r"(a7), "+r"(t0), "+r"(s2)
                 :: "memory");
    check("call-preserves-a2-a7",
          (a2 == 0x2222) + (a3 == 0x3333) + (a4 == 0x4444) + (a5 == 0x5555) +
          (a6 == BASE_SPEC_VERSION) + (a7 == EID_BASE), 6);
    check("call-preserves-t0-s2", (t0 == 0x7070) + (s2 == 0x5252), 2);
}

static void test_time(void)
{
    u64 before;
    check_ret("time-set-past", sbi1(EID_TIME, 0, 0), SBI_SUCCESS, 0);
    check_true("time-past-stip-pending", (csr_read(sip) & MIP_STIP) != 0);
    check_ret("time-set-future", sbi1(EID_TIME, 0, rdtime() + 1000000), SBI_SUCCESS, 0);
    check("time-future-stip-clear", csr_read(sip) & MIP_STIP, 0);
    check_err("time-unknown-fid", sbi1(EID_TIME, 1, 0), SBI_ERR_NOT_SUPPORTED);

    /* A supervisor timer interrupt arrives once the time passes. */
    n_stimer = 0;
    csr_set(sie, MIP_STIP);
    set_timer(rdtime() + 100);
    csr_set(sstatus, MSTATUS_SIE);
    for (u64 i = 0; i < 100000 && n_stimer == 0; i++)
        ;
    csr_clear(sstatus, MSTATUS_SIE);
    check("time-irq-taken", n_stimer, 1);
    check("time-irq-cleared-by-disarm", csr_read(sip) & MIP_STIP, 0);

    /* set_timer(U64_MAX) disarms: no interrupt however long we wait. */
    set_timer(0);
    set_timer(U64_MAX);
    check("time-disarm-stip-clear", csr_read(sip) & MIP_STIP, 0);
    before = n_stimer;
    csr_set(sstatus, MSTATUS_SIE);
    spin(20000);
    csr_clear(sstatus, MSTATUS_SIE);
    check("time-disarm-no-irq", n_stimer - before, 0);
    csr_clear(sie, MIP_STIP);
}

/* Runs an IPI call with interrupts masked; returns its result and whether
 * it left SSIP pending (then clears it). */
static struct sbiret ipi(u64 mask, u64 base, u64 *ssip)
{
    struct sbiret r = sbi2(EID_IPI, 0, mask, base);
    *ssip = (csr_read(sip) & MIP_SSIP) != 0;
    csr_clear(sip, MIP_SSIP);
    return r;
}

static void test_ipi(void)
{
    u64 ssip;
    check_ret("ipi-hart0", ipi(1, 0, &ssip), SBI_SUCCESS, 0);
    check("ipi-hart0-ssip", ssip, 1);
    check_err("ipi-mask-hart1", ipi(2, 0, &ssip), SBI_ERR_INVALID_PARAM);
    check("ipi-mask-hart1-no-ssip", ssip, 0);
    check_err("ipi-mask-hart0-and-1", ipi(3, 0, &ssip), SBI_ERR_INVALID_PARAM);
    check("ipi-mask-hart0-and-1-no-ssip", ssip, 0);
    check_err("ipi-base5", ipi(1, 5, &ssip), SBI_ERR_INVALID_PARAM);
    check("ipi-base5-no-ssip", ssip, 0);
    check_ret("ipi-all-harts", ipi(0, ALL_HARTS, &ssip), SBI_SUCCESS, 0);
    check("ipi-all-harts-ssip", ssip, 1);
    check_err("ipi-unknown-fid", sbi2(EID_IPI, 1, 1, 0), SBI_ERR_NOT_SUPPORTED);

    /* With SSIE and SIE the IPI is taken as a supervisor software interrupt. */
    n_ssoft = 0;
    csr_set(sie, MIP_SSIP);
    csr_set(sstatus, MSTATUS_SIE);
    sbi2(EID_IPI, 0, 1, 0);
    for (u64 i = 0; i < 1000 && n_ssoft == 0; i++)
        ;
    csr_clear(sstatus, MSTATUS_SIE);
    csr_clear(sie, MIP_SSIP);
    check("ipi-irq-taken", n_ssoft, 1);
}

static void test_rfence(void)
{
    check_ret("rfence-fence-i", sbi2(EID_RFENCE, RFENCE_FENCE_I, 1, 0), SBI_SUCCESS, 0);
    check_ret("rfence-sfence-vma", sbi(EID_RFENCE, RFENCE_SFENCE_VMA, 1, 0, 0, U64_MAX, 0), SBI_SUCCESS, 0);
    check_ret("rfence-sfence-vma-page", sbi(EID_RFENCE, RFENCE_SFENCE_VMA, 1, 0, 0x80200000UL, 4096, 0), SBI_SUCCESS, 0);
    check_ret("rfence-sfence-vma-asid", sbi(EID_RFENCE, RFENCE_SFENCE_VMA_ASID, 1, 0, 0, U64_MAX, 5), SBI_SUCCESS, 0);
    check_ret("rfence-fence-i-all-harts", sbi2(EID_RFENCE, RFENCE_FENCE_I, 0, ALL_HARTS), SBI_SUCCESS, 0);
    check_err("rfence-fence-i-bad-mask", sbi2(EID_RFENCE, RFENCE_FENCE_I, 2, 0), SBI_ERR_INVALID_PARAM);
    check_err("rfence-sfence-vma-bad-mask", sbi(EID_RFENCE, RFENCE_SFENCE_VMA, 3, 0, 0, U64_MAX, 0), SBI_ERR_INVALID_PARAM);
    check_err("rfence-sfence-vma-asid-bad-base", sbi(EID_RFENCE, RFENCE_SFENCE_VMA_ASID, 1, 5, 0, U64_MAX, 5), SBI_ERR_INVALID_PARAM);
    /* The HFENCE functions need the H extension in the caller's hart set:
     * a kernel without a hypervisor role gets NOT_SUPPORTED (section 8.4-8.7). */
    check_err("rfence-hfence-gvma-vmid", sbi(EID_RFENCE, 3, 1, 0, 0, U64_MAX, 0), SBI_ERR_NOT_SUPPORTED);
    check_err("rfence-hfence-gvma", sbi(EID_RFENCE, 4, 1, 0, 0, U64_MAX, 0), SBI_ERR_NOT_SUPPORTED);
    check_err("rfence-hfence-vvma-asid", sbi(EID_RFENCE, 5, 1, 0, 0, U64_MAX, 0), SBI_ERR_NOT_SUPPORTED);
    check_err("rfence-hfence-vvma", sbi(EID_RFENCE, 6, 1, 0, 0, U64_MAX, 0), SBI_ERR_NOT_SUPPORTED);
    check_err("rfence-unknown-fid", sbi2(EID_RFENCE, 7, 1, 0), SBI_ERR_NOT_SUPPORTED);
}

static void test_hsm(void)
{
    u64 target;
    struct sbiret r;
    check_ret("hsm-status-hart0", sbi1(EID_HSM, HSM_STATUS, 0), SBI_SUCCESS, HSM_STATE_STARTED);
    check_err("hsm-status-hart1", sbi1(EID_HSM, HSM_STATUS, 1), SBI_ERR_INVALID_PARAM);
    check_err("hsm-start-hart0", sbi3(EID_HSM, HSM_START, 0, 0x80200000UL, 0), SBI_ERR_ALREADY_AVAILABLE);
    check_err("hsm-start-hart7", sbi3(EID_HSM, HSM_START, 7, 0x80200000UL, 0), SBI_ERR_INVALID_PARAM);
    /* Suspend types (table 26): 0x80000000 is the default non-retentive
     * suspend, defined but not offered here: NOT_SUPPORTED. 5 and 0x80000001
     * are reserved: INVALID_PARAM. */
    check_err("hsm-suspend-non-retentive", sbi3(EID_HSM, HSM_SUSPEND, HSM_SUSPEND_NON_RETENTIVE, 0x80200000UL, 0), SBI_ERR_NOT_SUPPORTED);
    check_err("hsm-suspend-reserved-5", sbi3(EID_HSM, HSM_SUSPEND, 5, 0, 0), SBI_ERR_INVALID_PARAM);
    check_err("hsm-suspend-reserved-80000001", sbi3(EID_HSM, HSM_SUSPEND, 0x80000001UL, 0x80200000UL, 0), SBI_ERR_INVALID_PARAM);
    check_err("hsm-unknown-fid", sbi1(EID_HSM, 4, 0), SBI_ERR_NOT_SUPPORTED);

    /* Default retentive suspend: returns 0 once an enabled interrupt is
     * pending (here the timer, with sstatus.SIE = 0 so it is not taken). */
    csr_set(sie, MIP_STIP);
    target = rdtime() + 5000;
    set_timer(target);
    r = sbi3(EID_HSM, HSM_SUSPEND, HSM_SUSPEND_RETENTIVE, 0, 0);
    check_ret("hsm-suspend-retentive", r, SBI_SUCCESS, 0);
    check_true("hsm-suspend-woke-after-timer", rdtime() >= target);
    check_true("hsm-suspend-woke-stip", (csr_read(sip) & MIP_STIP) != 0);
    set_timer(U64_MAX);
    csr_clear(sie, MIP_STIP);
}

static void test_srst(void)
{
    /* Reserved type or reason (tables 30 and 31): INVALID_PARAM, and the
     * machine keeps running (the final shutdown is the pass/fail exit). */
    check_err("srst-reserved-type-3", sbi2(EID_SRST, 0, 3, 0), SBI_ERR_INVALID_PARAM);
    check_err("srst-reserved-type-efffffff", sbi2(EID_SRST, 0, 0xEFFFFFFFUL, 0), SBI_ERR_INVALID_PARAM);
    check_err("srst-reserved-reason-2", sbi2(EID_SRST, 0, 0, 2), SBI_ERR_INVALID_PARAM);
    check_err("srst-reserved-reason-reboot", sbi2(EID_SRST, 0, 1, 0x1234), SBI_ERR_INVALID_PARAM);
    check_err("srst-unknown-fid", sbi2(EID_SRST, 1, 0, 0), SBI_ERR_NOT_SUPPORTED);
}

static char dbcn_msg[] = "dbcn console_write\n";
static char dbcn_in[16];

static void test_dbcn(void)
{
    u64 len = sizeof dbcn_msg - 1;
    struct sbiret r;

    r = sbi3(EID_DBCN, DBCN_WRITE, len, (u64)dbcn_msg, 0);
    check_ret("dbcn-write", r, SBI_SUCCESS, (long)len);
    /* Each refused write must print nothing: the next line starts clean. */
    check_err("dbcn-write-below-ram", sbi3(EID_DBCN, DBCN_WRITE, 4, 0x1000, 0), SBI_ERR_INVALID_PARAM);
    check_err("dbcn-write-straddles-ram-start", sbi3(EID_DBCN, DBCN_WRITE, 0x20000, 0x7fff0000UL, 0), SBI_ERR_INVALID_PARAM);
    check_err("dbcn-write-straddles-ram-end", sbi3(EID_DBCN, DBCN_WRITE, 0x20, RAM_END - 0x10, 0), SBI_ERR_INVALID_PARAM);
    check_err("dbcn-write-uart-mmio", sbi3(EID_DBCN, DBCN_WRITE, 1, UART_BASE, 0), SBI_ERR_INVALID_PARAM);
    check_err("dbcn-write-base-hi", sbi3(EID_DBCN, DBCN_WRITE, len, (u64)dbcn_msg, 1), SBI_ERR_INVALID_PARAM);
    r = sbi1(EID_DBCN, DBCN_WRITE_BYTE, '#');
    sbi1(EID_DBCN, DBCN_WRITE_BYTE, '\n');
    check_ret("dbcn-write-byte", r, SBI_SUCCESS, 0);
    /* No input is given to this guest: a read returns 0 bytes. */
    check_ret("dbcn-read-empty", sbi3(EID_DBCN, DBCN_READ, sizeof dbcn_in, (u64)dbcn_in, 0), SBI_SUCCESS, 0);
    check_err("dbcn-read-below-ram", sbi3(EID_DBCN, DBCN_READ, 4, 0x1000, 0), SBI_ERR_INVALID_PARAM);
    check_err("dbcn-read-base-hi", sbi3(EID_DBCN, DBCN_READ, sizeof dbcn_in, (u64)dbcn_in, 1), SBI_ERR_INVALID_PARAM);
    check_err("dbcn-unknown-fid", sbi1(EID_DBCN, 3, 0), SBI_ERR_NOT_SUPPORTED);
}

int main(void)
{
    println("sbi: SBI v2.0 firmware conformance (S-mode kernel)");
    check("boot-hartid", boot_hartid, 0);
    check_true("boot-dtb-nonzero", boot_dtb != 0);
    check("boot-satp-bare", csr_read(satp), 0);
    strap_hook = irq_hook;
    test_base();
    test_preserved();
    test_time();
    test_ipi();
    test_rfence();
    test_hsm();
    test_srst();
    test_dbcn();
    return summary();
}
