/* hfpu: floating point under the hypervisor extension (priv spec 8.2.1 and
 * 3.1.6.6), from M-mode. "When V=1, both vsstatus.FS and the HS-level
 * sstatus.FS are in effect": an FP instruction or FP CSR access in VS or VU is
 * illegal when either is Off, and an FP write makes both Dirty. With V=0 only
 * mstatus.FS counts. VS sees vsstatus (FS and SD) as its sstatus. Nothing is
 * delegated: every trap comes to M. */
#include "rt.h"
#include "hext.h"
#include "hrun.h"

#define FS_SHIFT 13
#define OFF 0UL
#define INITIAL 1UL
#define CLEAN 2UL
#define DIRTY 3UL


static u64 hs_fs(void) { return (csr_read(mstatus) & MSTATUS_FS) >> FS_SHIFT; }
static u64 vs_fs(void) { return (csr_read(CSR_VSSTATUS) & MSTATUS_FS) >> FS_SHIFT; }
static void set_fs(u64 hs, u64 vs)
{
    csr_clear(mstatus, MSTATUS_FS);
    csr_set(mstatus, hs << FS_SHIFT);
    csr_write(CSR_VSSTATUS, vs << FS_SHIFT);
}

/* Guest code. */
static u64 g_fadd(u64 x)
{
    u64 r;
    asm volatile("fmv.d.x ft0, %1\n\tfadd.d ft1, ft0, ft0\n\tfmv.x.d %0, ft1" : "=r"(r) : "r"(x) : "ft0", "ft1");
    return r;
}
static u64 g_one_fp(u64 x) { asm volatile("fadd.d ft1, ft0, ft0" ::: "ft1"); return x; }
static u64 g_fflags(u64 x) { asm volatile("csrr a0, fflags" ::: "a0"); return x; }
static u64 g_read_f(u64 x) { u64 r; (void)x; asm volatile("fmv.x.d %0, ft1" : "=r"(r)); return r; }
static u64 g_sstatus(u64 x) { (void)x; return csr_read(sstatus); }

static void illegal_in(const char *name, u64 mode, u64 (*fn)(u64))
{
    trap_expect();
    run_v(mode, fn, 0);
    check_trap_cause(name, CAUSE_ILLEGAL_INSN);
    check("tval-is-insn", trap.tval, *(volatile u32 *)trap.epc);
}

int main(void)
{
    mtrap_hook = v_return;
    csr_write(medeleg, 0);
    csr_write(CSR_HEDELEG, 0);

    /* HS on, VS off: illegal in VS and VU. */
    set_fs(INITIAL, OFF);
    illegal_in("vs-off-fadd", PRV_S, g_one_fp);
    illegal_in("vs-off-fflags", PRV_S, g_fflags);
    illegal_in("vu-vs-off-fadd", PRV_U, g_one_fp);
    check("vs-off-no-change", hs_fs() << 4 | vs_fs(), INITIAL << 4 | OFF);

    /* HS off, VS on: illegal too. */
    set_fs(OFF, INITIAL);
    illegal_in("hs-off-fadd", PRV_S, g_one_fp);
    illegal_in("hs-off-fflags", PRV_S, g_fflags);
    illegal_in("vu-hs-off-fadd", PRV_U, g_one_fp);

    /* Both on: runs, and a write makes both Dirty. */
    set_fs(INITIAL, INITIAL);
    trap_expect();
    check("vs-fadd", run_v(PRV_S, g_fadd, 0x3ff0000000000000UL), 0x4000000000000000UL);
    check_no_trap("vs-fadd-no-trap");
    check("vs-write-dirties-hs", hs_fs(), DIRTY);
    check("vs-write-dirties-vs", vs_fs(), DIRTY);
    /* (vsstatus.SD read from M is not checked: QEMU 7.2 leaves it clear, docs/guests.md.) */
    u64 s = run_v(PRV_S, g_sstatus, 0);
    check("vs-sees-vsstatus-fs", (s & MSTATUS_FS) >> FS_SHIFT, DIRTY);
    check("vs-sees-vsstatus-sd", s >> 63, 1);
    set_fs(CLEAN, CLEAN);
    check("vs-sees-clean", (run_v(PRV_S, g_sstatus, 0) & MSTATUS_FS) >> FS_SHIFT, CLEAN);
    check("vs-read-f", run_v(PRV_S, g_read_f, 0), 0x4000000000000000UL);
    check("vs-read-keeps-clean", hs_fs() << 4 | vs_fs(), CLEAN << 4 | CLEAN);
    check("vu-fadd", run_v(PRV_U, g_fadd, 0x4000000000000000UL), 0x4010000000000000UL);
    check("vu-write-dirties-both", hs_fs() << 4 | vs_fs(), DIRTY << 4 | DIRTY);

    /* With V=0 vsstatus.FS does not matter, and is not dirtied. */
    set_fs(INITIAL, OFF);
    trap_expect();
    check("hs-fadd-vs-off", run_in_mode(PRV_S, g_fadd, 0x4000000000000000UL), 0x4010000000000000UL);
    check_no_trap("hs-fadd-no-trap");
    check("hs-write-dirties-hs-only", hs_fs() << 4 | vs_fs(), DIRTY << 4 | OFF);
    return summary();
}
