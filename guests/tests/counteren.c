/* counteren: an S-mode kernel (for an SBI firmware, linked at 0x80200000) checks that its
 * scounteren gates its U-mode programs' reads of cycle, time and instret (privileged spec
 * 4.1.5, Zicntr): a clear bit makes the read an illegal-instruction exception delivered to
 * the kernel (stval = the instruction), a set bit lets it through; the kernel itself reads
 * them freely (the firmware set mcounteren). The same output under every firmware and mode:
 * QEMU with its OpenSBI (the golden), hvlab's builtin SBI natively and under the hypervisor
 * (trap-emulate, where the kernel runs in U-mode too and hvlab must apply the kernel's virtual
 * scounteren to its programs; hvm-shadow and hvm-nested, in VU-mode), and Debian's OpenSBI
 * on hvlab.
 *
 * time is checked only where it is readable: OpenSBI 1.1 does not delegate illegal
 * instructions and emulates a U-mode read of time without looking at scounteren.TM (as on
 * QEMU), so the clear-bit case differs by firmware, not by machine. */
#include "rt.h"

#define CSRR_T0(csr) (((u64)(csr) << 20) | (2 << 12) | (5 << 7) | 0x73)
#define U_EXIT_CALL 0x55

u64 u_call(u64 (*fn)(void));
extern u64 u_saved[2];
extern char u_back[];

#define READ_T0(fn, csr) \
    static u64 fn(void) { u64 v; asm volatile("csrr t0, " #csr "\n\tmv %0, t0" : "=r"(v) :: "t0"); return v; }
READ_T0(read_cycle, 0xc00)
READ_T0(read_time, 0xc01)
READ_T0(read_instret, 0xc02)

static volatile u64 u_traps, u_cause, u_tval;

/* u_exit's ecall returns from u_call; an illegal instruction in U is recorded and skipped. */
static int hook(struct frame *f, u64 cause)
{
    if (cause == CAUSE_ECALL_U && f->regs[17] == U_EXIT_CALL) {
        f->regs[1] = u_saved[0];
        f->regs[2] = u_saved[1];
        csr_write(sepc, (u64)u_back);
        csr_set(sstatus, MSTATUS_SPP);
        return 1;
    }
    if (cause == CAUSE_ILLEGAL_INSN && (csr_read(sstatus) & MSTATUS_SPP) == 0) {
        u_traps++;
        u_cause = cause;
        u_tval = csr_read(stval);
        csr_write(sepc, csr_read(sepc) + 4);
        return 1;
    }
    return 0;
}

static const struct { const char *name; u64 (*fn)(void); u64 bit; u64 csr; int gated; } counters[] = {
    { "cycle", read_cycle, 1UL << 0, 0xc00, 1 },
    { "time", read_time, 1UL << 1, 0xc01, 0 },
    { "instret", read_instret, 1UL << 2, 0xc02, 1 },
};

int main(void)
{
    println("counteren: scounteren gates U-mode counter reads");
    strap_hook = hook;
    for (unsigned i = 0; i < 3; i++) {
        print(counters[i].name);
        println(":");
        u64 a = counters[i].fn(), b = counters[i].fn();
        check_true("  readable-in-S", b >= a);
        if (counters[i].gated) {
            csr_write(scounteren, 0);
            u_traps = 0;
            u_call(counters[i].fn);
            check("  from-U-scounteren-0-traps", u_traps, 1);
            check("  scause-illegal-instruction", u_cause, CAUSE_ILLEGAL_INSN);
            check("  stval-the-instruction", u_tval, CSRR_T0(counters[i].csr));
        }
        csr_write(scounteren, counters[i].bit);
        u_traps = 0;
        u64 v = u_call(counters[i].fn);
        check("  from-U-scounteren-set-no-trap", u_traps, 0);
        check_true("  from-U-value", v != 0);
    }
    csr_write(scounteren, 0);
    return summary();
}
