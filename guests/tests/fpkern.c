/* fpkern: an S-mode kernel (for an SBI firmware, linked at 0x80200000) that
 * checks the floating-point state it sees through sstatus.FS and SD, for
 * itself and for a user program (priv spec 3.1.6.6, 4.1.1): FS=Off makes FP
 * instructions and the FP CSRs illegal in S and U, reads leave Initial/Clean
 * alone, writes (also from U) make it Dirty. It runs unchanged on QEMU with
 * OpenSBI, on the bare machine with the builtin firmware and in the
 * trap-emulate, hvm-shadow and hvm-nested VMs, where sstatus.FS is the
 * guest's virtual (or VS) copy, and must print the same in all. */
#include "rt.h"

#define FS_SHIFT 13
#define OFF 0UL
#define INITIAL 1UL
#define CLEAN 2UL
#define DIRTY 3UL
#define SYS_USER_EXIT 0x5e7a13
#define PLIC_PRIORITY(n) (0x0c000000UL + 4 * (n))

/* run_user(fn, arg): call fn(arg) in U-mode (satp is Bare: the user program
 * shares the kernel's memory) and return its result. fn returns to
 * user_exit, whose ecall the trap hook turns into a return from run_user. */
u64 run_user(u64 (*fn)(u64), u64 arg);
u64 user_saved[2];
asm(".text\n.globl run_user\nrun_user:\n"
    "\tla t0, user_saved\n\tsd sp, 0(t0)\n\tsd ra, 8(t0)\n"
    "\tcsrw sepc, a0\n\tmv a0, a1\n\tli t0, 0x100\n\tcsrc sstatus, t0\n"
    "\tla ra, user_exit\n\tsret\n"
    "user_exit:\n\tli a7, " STR(SYS_USER_EXIT) "\n\tecall\n"
    ".globl user_return\nuser_return:\n"
    "\tla t0, user_saved\n\tld sp, 0(t0)\n\tld ra, 8(t0)\n\tret\n");
extern char user_return[];

static int shook(struct frame *f, u64 cause)
{
    if (cause == CAUSE_ECALL_U && f->regs[17] == SYS_USER_EXIT) {
        csr_write(sepc, (u64)user_return);
        csr_set(sstatus, MSTATUS_SPP);
        return 1;
    }
    return 0;
}

static u64 fs(void) { return (csr_read(sstatus) & MSTATUS_FS) >> FS_SHIFT; }
static u64 sd(void) { return csr_read(sstatus) >> 63; }
static void set_fs(u64 v)
{
    csr_clear(sstatus, MSTATUS_FS);
    csr_set(sstatus, v << FS_SHIFT);
}

static void check_illegal(const char *name)
{
    check_trap_cause(name, CAUSE_ILLEGAL_INSN);
    check("tval-is-insn", trap.tval, *(volatile u32 *)trap.epc);
}
#define ILLEGAL(name, insn) do { trap_expect(); asm volatile(insn ::: "memory", "a0"); \
    check_illegal(name); } while (0)

/* User programs. */
static u64 u_fadd(u64 x)
{
    u64 r;
    asm volatile("fmv.d.x ft0, %1\n\tfadd.d ft1, ft0, ft0\n\tfmv.x.d %0, ft1" : "=r"(r) : "r"(x) : "ft0", "ft1");
    return r;
}
static u64 u_one_fp(u64 x) { asm volatile("fmul.s ft1, ft0, ft0" ::: "ft1"); return x; }
static u64 u_fcsr(u64 x) { u64 r; asm volatile("csrr %0, fcsr" : "=r"(r)); return r + x; }
static u64 u_read_f(u64 x) { u64 r; (void)x; asm volatile("fmv.x.d %0, ft1" : "=r"(r)); return r; }
static u64 u_set_frm(u64 x) { csr_write(frm, x); return 0; }

int main(void)
{
    println("fpkern: FP state in S and U mode");
    strap_hook = shook;

    set_fs(OFF);
    check("off", fs(), OFF);
    check("off-sd", sd(), 0);
    ILLEGAL("s-off-fadd", "fadd.d ft0, ft1, ft2");
    ILLEGAL("s-off-fmv.d.x", "fmv.d.x ft0, zero");
    ILLEGAL("s-off-csrr-fflags", "csrr a0, fflags");
    ILLEGAL("s-off-csrw-fcsr", "csrw fcsr, zero");
    trap_expect();
    run_user(u_one_fp, 0);
    check_illegal("u-off-fmul");
    check("u-off-from-user", trap.from, PRV_U);
    trap_expect();
    run_user(u_fcsr, 0);
    check_illegal("u-off-fcsr");

    set_fs(INITIAL);
    check("initial", fs(), INITIAL);
    trap_expect();
    asm volatile("fmv.x.d a0, ft0\n\tcsrr a0, fcsr" ::: "a0");
    check_no_trap("s-initial-reads");
    check("s-reads-keep-initial", fs(), INITIAL);
    asm volatile("fmv.d.x ft1, zero" ::: "ft1");
    check("s-write-dirty", fs(), DIRTY);
    check("s-write-sd", sd(), 1);

    set_fs(CLEAN);
    check("clean-sd-clear", sd(), 0);
    check("u-fadd", run_user(u_fadd, 0x3ff8000000000000UL), 0x4008000000000000UL);
    check("u-write-dirty", fs(), DIRTY);
    check("u-write-sd", sd(), 1);
    set_fs(CLEAN);
    check("u-read-f", run_user(u_read_f, 0), 0x4008000000000000UL);
    check("u-read-keeps-clean", fs(), CLEAN);
    run_user(u_set_frm, 3);
    check("u-frm-write-dirty", fs(), DIRTY);
    check("u-frm-seen-by-s", csr_read(frm), 3);
    check("u-fcsr", run_user(u_fcsr, 0), 3 << 5);
    csr_write(fcsr, 0);

    /* FP loads and stores reach devices too: the PLIC's 32-bit priority registers. */
    u64 v;
    mmio_write32(PLIC_PRIORITY(1), 5);
    asm volatile("flw ft0, 0(%1)\n\tfmv.x.d %0, ft0" : "=r"(v) : "r"(PLIC_PRIORITY(1)) : "ft0");
    check("flw-from-device", v, 0xffffffff00000005UL);
    asm volatile("fmv.w.x ft0, %0\n\tfsw ft0, 0(%1)" :: "r"(6UL), "r"(PLIC_PRIORITY(2)) : "ft0", "memory");
    check("fsw-to-device", mmio_read32(PLIC_PRIORITY(2)), 6);
    mmio_write32(PLIC_PRIORITY(1), 0);
    mmio_write32(PLIC_PRIORITY(2), 0);

    set_fs(OFF);
    check("off-again", fs(), OFF);
    trap_expect();
    run_user(u_read_f, 0);
    check_illegal("u-off-read-f");
    return summary();
}
