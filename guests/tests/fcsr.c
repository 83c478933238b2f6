/* fcsr: the floating-point control and status register and the FS state
 * (unprivileged spec 11.2; privileged spec 3.1.6.6). fflags, frm and fcsr
 * views; accrued flags; the dynamic rounding mode with each valid frm and the
 * reserved ones (illegal instruction), reserved rm fields; mstatus.FS Off
 * making every FP instruction and FP CSR access illegal, in M, S and U;
 * Initial/Clean -> Dirty on writes of f registers and fcsr, reads leaving FS
 * alone; SD mirroring Dirty in mstatus and sstatus. */
#include "rt.h"

#define FS_SHIFT 13
#define FS_OFF 0UL
#define FS_INITIAL 1UL
#define FS_CLEAN 2UL
#define FS_DIRTY 3UL

static u64 fs(void) { return (csr_read(mstatus) & MSTATUS_FS) >> FS_SHIFT; }
static void set_fs(u64 v)
{
    csr_clear(mstatus, MSTATUS_FS);
    csr_set(mstatus, v << FS_SHIFT);
}

/* The trap was an illegal instruction whose tval is the instruction itself. */
static void check_illegal(const char *name)
{
    check_trap_cause(name, CAUSE_ILLEGAL_INSN);
    check("tval-is-insn", trap.tval, *(volatile u32 *)trap.epc);
}

#define ILLEGAL(name, insn) do { trap_expect(); asm volatile(insn ::: "memory", "a0"); \
    check_illegal(name); } while (0)
#define RUNS(name, insn) do { trap_expect(); asm volatile(insn ::: "memory", "a0"); \
    check_no_trap(name); } while (0)

u64 scratch;

static void fs_off(void)
{
    check("reset-fs-off", fs(), FS_OFF);
    check("reset-sd-clear", csr_read(mstatus) >> 63, 0);
    ILLEGAL("off-fadd.d", "fadd.d ft0, ft1, ft2");
    ILLEGAL("off-fmadd.s", "fmadd.s ft0, ft1, ft2, ft3");
    ILLEGAL("off-fmv.x.d", "fmv.x.d a0, ft0");
    ILLEGAL("off-fmv.d.x", "fmv.d.x ft0, zero");
    ILLEGAL("off-fsgnj.d", "fsgnj.d ft0, ft1, ft1");
    ILLEGAL("off-feq.s", "feq.s a0, ft0, ft1");
    ILLEGAL("off-fcvt.w.d", "fcvt.w.d a0, ft0");
    ILLEGAL("off-fld", "la a0, scratch\n\tfld ft0, 0(a0)");
    ILLEGAL("off-fsw", "la a0, scratch\n\tfsw ft0, 0(a0)");
    ILLEGAL("off-csrr-fflags", "csrr a0, fflags");
    ILLEGAL("off-csrw-frm", "csrwi frm, 1");
    ILLEGAL("off-csrr-fcsr", "csrr a0, fcsr");
    check("off-stays-off", fs(), FS_OFF);
}

static void fs_states(void)
{
    set_fs(FS_INITIAL);
    check("initial", fs(), FS_INITIAL);
    check("initial-sd-clear", csr_read(mstatus) >> 63, 0);
    /* Reads of FP state, and stores, change nothing. */
    RUNS("initial-fmv.x.d", "fmv.x.d a0, ft0");
    RUNS("initial-fsd", "la a0, scratch\n\tfsd ft0, 0(a0)");
    RUNS("initial-csrr-fcsr", "csrr a0, fcsr");
    check("initial-after-reads", fs(), FS_INITIAL);
    /* A write of an f register makes it Dirty; SD follows, in mstatus and sstatus. */
    RUNS("initial-fmv.d.x", "fmv.d.x ft0, zero");
    check("dirty-after-fmv.d.x", fs(), FS_DIRTY);
    check("dirty-sd", csr_read(mstatus) >> 63, 1);
    check("sstatus-fs-dirty", (csr_read(sstatus) & MSTATUS_FS) >> FS_SHIFT, FS_DIRTY);
    check("sstatus-sd", csr_read(sstatus) >> 63, 1);
    set_fs(FS_CLEAN);
    check("clean-sd-clear", csr_read(mstatus) >> 63, 0);
    RUNS("clean-fmv.x.w", "fmv.x.w a0, ft0");
    RUNS("clean-fsw", "la a0, scratch\n\tfsw ft0, 0(a0)");
    check("clean-after-reads", fs(), FS_CLEAN);
    RUNS("clean-fld", "la a0, scratch\n\tfld ft1, 0(a0)");
    check("dirty-after-fld", fs(), FS_DIRTY);
    set_fs(FS_CLEAN);
    RUNS("clean-fadd", "fadd.d ft2, ft1, ft1");
    check("dirty-after-fadd", fs(), FS_DIRTY);
    set_fs(FS_CLEAN);
    RUNS("clean-csrw-fflags", "csrw fflags, zero");
    check("dirty-after-fflags-write", fs(), FS_DIRTY);
    set_fs(FS_CLEAN);
    RUNS("clean-csrwi-frm", "csrwi frm, 0");
    check("dirty-after-frm-write", fs(), FS_DIRTY);
    /* sstatus.FS is the same field. */
    csr_clear(sstatus, MSTATUS_FS);
    check("sstatus-write-fs-off", fs(), FS_OFF);
    ILLEGAL("sstatus-off-fadd", "fadd.s ft0, ft1, ft2");
    csr_set(sstatus, FS_INITIAL << FS_SHIFT);
    check("sstatus-write-fs-initial", fs(), FS_INITIAL);
}

static void fcsr_fields(void)
{
    csr_write(fcsr, 0xff);
    check("fcsr-all", csr_read(fcsr), 0xff);
    check("frm-view", csr_read(frm), 7);
    check("fflags-view", csr_read(fflags), 0x1f);
    csr_write(fcsr, 0x1ff);
    check("fcsr-reserved-bits", csr_read(fcsr), 0xff);
    csr_write(frm, 0x1a);
    check("frm-write-3-bits", csr_read(fcsr), 0x5f);
    csr_write(fflags, 0x3f);
    check("fflags-write-5-bits", csr_read(fcsr), 0x5f);
    check("csrrw-fflags-old", csr_swap(fflags, 0x4), 0x1f);
    check("fflags-swapped", csr_read(fcsr), 0x44);
    u64 old;
    asm volatile("fsrm %0, %1" : "=r"(old) : "r"(3UL));
    check("fsrm-old", old, 2);
    check("fsrm-new", csr_read(frm), 3);
    csr_write(fcsr, 0);
    /* Flags accrue: DZ from 1/0, then NX from 1/3. */
    asm volatile("li a0, 1\n\tfcvt.d.l ft0, a0\n\tli a0, 3\n\tfcvt.d.l ft1, a0\n\t"
                 "fcvt.d.l ft2, zero\n\tfdiv.d ft3, ft0, ft2\n\tfdiv.d ft3, ft0, ft1"
                 ::: "a0", "ft0", "ft1", "ft2", "ft3");
    check("flags-accrue", csr_read(fflags), 0x9);
    csr_write(fflags, 0);
    asm volatile("fdiv.d ft3, ft0, ft1" ::: "ft3");
    check("flags-only-nx", csr_read(fflags), 0x1);
    check("flags-keep-frm", csr_read(frm), 0);
}

static u64 tie_dyn(void)
{
    u64 r;
    /* 1 + 2^-53 with rm = DYN */
    asm volatile("li a0, 0x3ff0000000000000\n\tfmv.d.x ft0, a0\n\tli a0, 0x3ca0000000000000\n\t"
                 "fmv.d.x ft1, a0\n\tfadd.d ft2, ft0, ft1, dyn\n\tfmv.x.d %0, ft2"
                 : "=r"(r) :: "a0", "ft0", "ft1", "ft2");
    return r;
}

static u64 neg_tie_cvt_dyn(void)
{
    u64 r;
    /* -2.5 to an integer with rm = DYN */
    asm volatile("li a0, 0xc004000000000000\n\tfmv.d.x ft0, a0\n\tfcvt.l.d %0, ft0, dyn"
                 : "=r"(r) :: "a0", "ft0");
    return r;
}

static void dynamic(void)
{
    static const u64 tie[5] = { 0x3ff0000000000000UL, 0x3ff0000000000000UL, 0x3ff0000000000000UL,
                                0x3ff0000000000001UL, 0x3ff0000000000001UL };
    static const u64 cvt[5] = { -2UL, -2UL, -3UL, -2UL, -3UL };
    static const char *tn[5] = { "dyn-frm-rne", "dyn-frm-rtz", "dyn-frm-rdn", "dyn-frm-rup", "dyn-frm-rmm" };
    static const char *cn[5] = { "dyn-cvt-rne", "dyn-cvt-rtz", "dyn-cvt-rdn", "dyn-cvt-rup", "dyn-cvt-rmm" };
    for (u64 m = 0; m < 5; m++) {
        csr_write(frm, m);
        check(tn[m], tie_dyn(), tie[m]);
        check(cn[m], neg_tie_cvt_dyn(), cvt[m]);
    }
    /* frm 5, 6 and 7 are reserved: an instruction that uses DYN is illegal; one with a static
     * rm, and one without an rm field, still runs. */
    for (u64 m = 5; m < 8; m++) {
        csr_write(frm, m);
        check("frm-reserved-readable", csr_read(frm), m);
        ILLEGAL("dyn-reserved-fadd", "fadd.d ft2, ft0, ft1, dyn");
        ILLEGAL("dyn-reserved-fcvt.l.d", "fcvt.l.d a0, ft0, dyn");
        ILLEGAL("dyn-reserved-fmadd.s", "fmadd.s ft2, ft0, ft1, ft0, dyn");
        ILLEGAL("dyn-reserved-fsqrt.d", "fsqrt.d ft2, ft0, dyn");
        /* fcvt.d.w with rm = 7 (exact, but the field is still decoded) */
        ILLEGAL("dyn-reserved-fcvt.d.w", ".insn r 0x53, 7, 0x69, ft2, a0, x0");
        RUNS("static-rm-runs", "fadd.d ft2, ft0, ft1, rne");
        RUNS("no-rm-fsgnj-runs", "fsgnj.d ft2, ft0, ft1");
        RUNS("no-rm-feq-runs", "feq.d a0, ft0, ft1");
        RUNS("no-rm-fmv-runs", "fmv.x.d a0, ft0");
    }
    csr_write(frm, 0);
    /* rm = 5 and 6 in the instruction are reserved. */
    ILLEGAL("rm5-fadd.d", ".insn r 0x53, 5, 0x01, ft2, ft0, ft1");
    ILLEGAL("rm6-fmul.s", ".insn r 0x53, 6, 0x08, ft2, ft0, ft1");
    ILLEGAL("rm5-fcvt.w.d", ".insn r 0x53, 5, 0x61, a0, ft0, x0");
    ILLEGAL("rm6-fmadd.d", ".insn r4 0x43, 6, 1, ft2, ft0, ft1, ft3");
    /* Other reserved encodings: H and Q formats, fsgnj funct3 3, fmin funct3 2, fcvt.s.d rs2. */
    ILLEGAL("fmt-h-fadd", ".insn r 0x53, 0, 0x02, ft2, ft0, ft1");
    ILLEGAL("fmt-q-fadd", ".insn r 0x53, 0, 0x03, ft2, ft0, ft1");
    ILLEGAL("fsgnj-f3-3", ".insn r 0x53, 3, 0x11, ft2, ft0, ft1");
    ILLEGAL("fmin-f3-2", ".insn r 0x53, 2, 0x15, ft2, ft0, ft1");
    ILLEGAL("fsqrt-rs2-1", ".insn r 0x53, 0, 0x2d, ft2, ft0, ft1");
    ILLEGAL("flq", ".insn i 0x07, 4, ft2, 0(sp)");
}

static u64 u_fadd(u64 x)
{
    u64 r;
    asm volatile("fmv.d.x ft0, %1\n\tfadd.d ft1, ft0, ft0\n\tfmv.x.d %0, ft1\n\tcsrr a0, fflags"
                 : "=r"(r) : "r"(x) : "ft0", "ft1", "a0");
    return r;
}

static u64 u_one_fp(u64 x)
{
    asm volatile("fadd.d ft1, ft0, ft0" ::: "ft1");
    return x;
}

static u64 s_fs_cycle(u64 x)
{
    (void)x;
    /* S-mode: switch FP off and on through sstatus, then use it. */
    csr_clear(sstatus, MSTATUS_FS);
    csr_set(sstatus, FS_CLEAN << FS_SHIFT);
    asm volatile("fmv.d.x ft0, zero" ::: "ft0");
    return csr_read(sstatus);
}

static void modes(void)
{
    set_fs(FS_INITIAL);
    check("u-fadd", run_in_mode(PRV_U, u_fadd, 0x4000000000000000UL), 0x4010000000000000UL);
    check("u-made-dirty", fs(), FS_DIRTY);
    u64 s = run_in_mode(PRV_S, s_fs_cycle, 0);
    check("s-sstatus-fs-dirty", (s & MSTATUS_FS) >> FS_SHIFT, FS_DIRTY);
    check("s-sstatus-sd", s >> 63, 1);
    set_fs(FS_OFF);
    trap_expect();
    run_in_mode(PRV_U, u_one_fp, 0);
    check_illegal("u-off-illegal");
    check("u-off-from-u", trap.from, PRV_U);
    trap_expect();
    run_in_mode(PRV_S, s_fs_cycle, 0);
    check_no_trap("s-can-enable-fp");
    check("s-enabled-then-dirty", fs(), FS_DIRTY);
}

int main(void)
{
    fs_off();
    fs_states();
    fcsr_fields();
    dynamic();
    modes();
    return summary();
}
