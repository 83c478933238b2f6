// The exit dispatcher: every trap L2 takes that is not delegated to its own kernel comes
// here (entry.S saved its registers). One switch on scause routes it: L2's SBI calls, its
// device accesses (guest-page faults in the devices' ranges), its idle WFI, L1's own timer and
// external interrupts (which become L2's virtual ones), and everything L2's kernel should see
// as its own trap, which L1 reflects into VS as the hardware would have (8.6.4).
#include "hvisor.h"

u64 stats[ST_COUNT];
u64 exc_stats[EXC_COUNT];

void hv_shutdown(u64 reason)
{
    printf("hvisor: L2 shut down (reason %u)\n", reason);
    stats_print();
    sbi_shutdown(reason);
}

// Stop L2 for good: it cannot make progress, and L1 will not spin on its behalf.
static void hv_stop(struct vcpu *v, const char *why, u64 what)
{
    printf("hvisor: L2 stopped: %s %x (pc %x)\n", why, what, v->pc);
    stats_print();
    sbi_shutdown(1);
}

// Deliver an exception to L2's kernel: what a trap into VS-mode does (8.6.4, 4.1.1), done by
// L1 on L2's VS CSRs. sstatus.SPP at the exit tells which mode L2 was in (1 = VS, 0 = VU).
void reflect(struct vcpu *v, u64 cause, u64 tval)
{
    u64 vstvec = csr_read(vstvec) & ~UL(3);
    u64 from_vs = csr_read(sstatus) & SSTATUS_SPP;
    // An exception at the first instruction of L2's own trap handler would come straight
    // back here with nothing changed (the handler never ran): L2 cannot make progress, so
    // L1 stops it rather than loop forever. (Typically the handler cannot be fetched: QEMU
    // 7.2 reports that as a load guest-page fault when the VS-stage walk failed, hvlab as a
    // fetch guest-page fault, as the spec says; either way it ends here.)
    if (from_vs && v->pc == vstvec)
        hv_stop(v, "its trap handler traps before it runs, at", vstvec);
    u64 s = csr_read(vsstatus);
    s = (s & ~(SSTATUS_SPP | SSTATUS_SPIE | SSTATUS_SIE)) |
        ((s & SSTATUS_SIE) ? SSTATUS_SPIE : 0) | (from_vs ? SSTATUS_SPP : 0);
    csr_write(vsstatus, s);
    csr_write(vsepc, v->pc);
    csr_write(vscause, cause);
    csr_write(vstval, tval);
    v->pc = vstvec;                     // exceptions enter at the base, also when vectored
    // Resume in VS: sret with SPV = 1 goes to VS when sstatus.SPP = 1.
    if (!from_vs) {
        csr_set(sstatus, SSTATUS_SPP);
        csr_set(hstatus, HSTATUS_SPVP);
    }
    stats[ST_REFLECTED]++;
}

// A guest-page fault outside every device and outside L2's RAM: on a real machine this is an
// access fault (there is nothing at that physical address), so L2 gets one.
static void outside_ram(struct vcpu *v, u64 cause, u64 tval)
{
    stats[ST_OUTSIDE]++;
    u64 as = cause == EXC_FETCH_GUEST_PAGE_FAULT ? EXC_FETCH_ACCESS
           : cause == EXC_LOAD_GUEST_PAGE_FAULT ? EXC_LOAD_ACCESS : EXC_STORE_ACCESS;
    reflect(v, as, tval);
}

static void guest_page_fault(struct vcpu *v, u64 cause, u64 tval)
{
    // htval holds the guest-physical address shifted right by 2 (8.2.8); the low bits come
    // from stval (the guest-virtual address, same page offset).
    u64 gpa = (csr_read(htval) << 2) | (tval & 3);
    if (cause != EXC_FETCH_GUEST_PAGE_FAULT && mmio_exit(v, cause, gpa))
        return;
    outside_ram(v, cause, tval);
}

// Virtual-instruction exceptions (8.6.1): WFI (hstatus.VTW), and anything L2 tried that a
// guest without the H extension may not do (hypervisor CSRs and instructions): for L2's
// kernel those are illegal instructions, as on a machine without H.
static void virtual_insn(struct vcpu *v, u64 tval)
{
    u32 insn = (u32)tval;
    int len = 4;
    if (insn == 0 && !read_guest_insn(v->pc, &insn, &len))
        insn = 0;
    if (insn == INSN_WFI) {
        stats[ST_WFI]++;
        v->pc += 4;
        // Idle only when none of L2's enabled interrupts waits already; L1's own interrupts
        // end the wait (sie), and are taken as soon as L2 runs again.
        if ((csr_read(hip) & csr_read(hie) & MIP_VS_ALL) == 0)
            asm volatile("wfi");
        return;
    }
    reflect(v, EXC_ILLEGAL_INSN, insn);
}

void hv_exit(struct vcpu *v)
{
    u64 cause = csr_read(scause);
    u64 tval = csr_read(stval);
    v->pc = csr_read(sepc);
    stats[ST_EXITS]++;
    if (cause & CAUSE_INTERRUPT) {
        switch (cause & ~CAUSE_INTERRUPT) {
        case IRQ_S_TIMER: stats[ST_IRQ_TIMER]++; vtimer_fire(); break;
        case IRQ_S_EXT: stats[ST_IRQ_EXT]++; l1_external_irq(); break;
        default: stats[ST_IRQ_OTHER]++; panic("hv_exit: unexpected interrupt %x", cause);
        }
    } else {
        exc_stats[cause < EXC_COUNT ? cause : EXC_COUNT - 1]++;
        switch (cause) {
        case EXC_ECALL_VS:
            sbi_from_l2(v);
            break;
        case EXC_FETCH_GUEST_PAGE_FAULT:
        case EXC_LOAD_GUEST_PAGE_FAULT:
        case EXC_STORE_GUEST_PAGE_FAULT:
            guest_page_fault(v, cause, tval);
            break;
        case EXC_VIRTUAL_INSN:
            virtual_insn(v, tval);
            break;
        default:
            // Not delegated but L2's business: ecall from VU (with usertraps), illegal
            // instructions, access faults. L2's kernel sees them as if L1 were not there.
            reflect(v, cause, tval);
            break;
        }
    }
    csr_write(sepc, v->pc);
}

// L2's instruction at va, read with HLVX (8.3.2: as L2 would fetch it, both stages, with the
// privilege in hstatus.SPVP). For exits where the hardware gave no transformed instruction in
// htinst (QEMU 7.2 gives none). Two halfword reads, so that a 4-byte instruction at the end
// of a page never reads the next page unless it is really split.
static volatile int hlvx_armed, hlvx_faulted;

static int hlvx_hu(u64 va, u32 *half)
{
    u64 hs = csr_read(hstatus), ss = csr_read(sstatus);
    u64 x = 0;
    hlvx_faulted = 0;
    hlvx_armed = 1;
    asm volatile(".option push\n.option arch, +h\nhlvx.hu %0, (%1)\n.option pop"
                 : "=r"(x) : "r"(va) : "memory");
    hlvx_armed = 0;
    if (hlvx_faulted) {
        // The fault was a trap into HS from HS: it rewrote SPV, SPP (and sepc, which the
        // exit handler writes back anyway). Put L2's back.
        csr_write(hstatus, hs);
        csr_write(sstatus, ss);
        return 0;
    }
    *half = (u32)(x & 0xffff);
    return 1;
}

int read_guest_insn(u64 va, u32 *insn, int *len)
{
    u32 lo, hi;
    stats[ST_HLVX]++;
    if (!hlvx_hu(va, &lo))
        return 0;
    if ((lo & 3) != 3) {
        *insn = lo;
        *len = 2;
        return 1;
    }
    if (!hlvx_hu(va + 2, &hi))
        return 0;
    *insn = lo | (hi << 16);
    *len = 4;
    return 1;
}

// A trap taken by L1 itself (entry.S, self_trap). The only one expected is a fault of the
// HLVX above; resume after it. Anything else is a bug in L1: stop with what is known.
void hv_self_trap(u64 *regs)
{
    (void)regs;
    u64 cause = csr_read(scause);
    if (hlvx_armed && !(cause & CAUSE_INTERRUPT)) {
        hlvx_faulted = 1;
        csr_write(sepc, csr_read(sepc) + 4);
        return;
    }
    panic("hv_self_trap: trap in L1: scause %x sepc %x stval %x", cause, csr_read(sepc),
          csr_read(stval));
}

// The exit counts, one "name count" pair per field, fixed names, so tests can parse them.
void stats_print(void)
{
    printf("hvisor: L2 exits %u\n", stats[ST_EXITS]);
    printf("hvisor:  exceptions: ecall-u %u illegal-instruction %u ecall-vs %u "
           "fetch-guest-page-fault %u load-guest-page-fault %u store-guest-page-fault %u "
           "virtual-instruction %u other %u\n",
           exc_stats[EXC_ECALL_U], exc_stats[EXC_ILLEGAL_INSN], exc_stats[EXC_ECALL_VS],
           exc_stats[EXC_FETCH_GUEST_PAGE_FAULT], exc_stats[EXC_LOAD_GUEST_PAGE_FAULT],
           exc_stats[EXC_STORE_GUEST_PAGE_FAULT], exc_stats[EXC_VIRTUAL_INSN],
           stats[ST_EXITS] - stats[ST_IRQ_TIMER] - stats[ST_IRQ_EXT] - stats[ST_IRQ_OTHER] -
               exc_stats[EXC_ECALL_U] - exc_stats[EXC_ILLEGAL_INSN] - exc_stats[EXC_ECALL_VS] -
               exc_stats[EXC_FETCH_GUEST_PAGE_FAULT] - exc_stats[EXC_LOAD_GUEST_PAGE_FAULT] -
               exc_stats[EXC_STORE_GUEST_PAGE_FAULT] - exc_stats[EXC_VIRTUAL_INSN]);
    printf("hvisor:  interrupts: timer %u external %u\n", stats[ST_IRQ_TIMER], stats[ST_IRQ_EXT]);
    printf("hvisor:  sbi: base %u time %u srst %u dbcn %u unsupported %u\n", stats[ST_SBI_BASE],
           stats[ST_SBI_TIME], stats[ST_SBI_SRST], stats[ST_SBI_DBCN], stats[ST_SBI_UNSUPPORTED]);
    printf("hvisor:  mmio: uart-read %u uart-write %u plic-read %u plic-write %u outside-ram %u "
           "htinst %u hlvx %u\n", stats[ST_UART_READ], stats[ST_UART_WRITE], stats[ST_PLIC_READ],
           stats[ST_PLIC_WRITE], stats[ST_OUTSIDE], stats[ST_HTINST], stats[ST_HLVX]);
    printf("hvisor:  done: wfi %u reflected %u inject-timer %u inject-external %u\n",
           stats[ST_WFI], stats[ST_REFLECTED], stats[ST_INJECT_TIMER], stats[ST_INJECT_EXT]);
}
