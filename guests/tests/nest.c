/* nest: a guest hypervisor's view of the H extension (priv spec v1.12, chapter
 * 8), from HS-mode: its CSRs and their WARL rules, entering its guest (L2) with
 * SRET and hstatus.SPV, traps of L2 that it delegates (they never reach it) and
 * those it does not (scause, stval, htval, htinst, hstatus.SPV/SPVP/GVA,
 * sstatus.SPP as section 8.6.4 writes them), two-stage translation of L2 on
 * its G-stage table, HFENCE.GVMA after a remap, HLV/HSV, and a VS interrupt it
 * injects through hvip. Natively it is the hypervisor; under hvlab --nested it
 * is L1 and all of this is emulated by L0 (docs/nested.md): the console output
 * must be the same (test/nested.test.ts). */
#include "nest.h"

#define GPA_DATA  0x100000000UL   /* L2 guest-physical: the data pages */
#define GPA_RO    0x100001000UL   /* read-only for L2 */
#define GPA_NONE  0x90000000UL    /* not in L1's G-stage */
#define INSN_UNIMP 0xc0001073u    /* csrrw x0, cycle, x0: illegal */
#define INSN_LD_A0_0_A0 0x00053503u

static u64 gdata[512] __attribute__((aligned(4096)));
static u64 frame[2][512] __attribute__((aligned(4096)));
static volatile u64 s_cause = ~0UL, s_tval, s_htval, s_htinst, s_hstatus;

/* L1's own traps (an HLV that faults): recorded, resumed after the instruction. */
static int l1hook(struct frame *f, u64 cause)
{
    (void)f;
    s_cause = cause;
    s_tval = csr_read(stval);
    s_htval = csr_read(CSR_HTVAL);
    s_htinst = csr_read(CSR_HTINST);
    s_hstatus = csr_read(CSR_HSTATUS);
    csr_write(sepc, csr_read(sepc) + 4);
    return 1;
}

static u64 l2_add(u64 x) { return x + 1; }

static u64 l2_ecall(u64 x)
{
    register u64 a0 asm("a0") = x;
    register u64 a7 asm("a7") = 0x77;
    asm volatile("ecall" : "+r"(a0) : "r"(a7) : "memory");
    return a0;
}

static u64 l2_unimp(u64 x)
{
    asm volatile(".word 0xc0001073" ::: "memory");
    return x + 7;
}

static u64 l2_ld(u64 a) { return *(volatile u64 *)a; }
static u64 l2_sd(u64 a) { *(volatile u64 *)a = 0xabcd; return 3; }

/* L2 takes the software interrupt L1 injected (hvip.VSSIP) as soon as it enables it. */
static u64 l2_irq(u64 x)
{
    csr_set(sie, MIP_SSIP);
    csr_set(sstatus, MSTATUS_SIE);
    asm volatile("nop" ::: "memory");
    csr_clear(sstatus, MSTATUS_SIE);
    return x + l2trap.count;
}

/* L2 loops until something takes the hart away from it (L1's timer). */
static u64 l2_spin(u64 x)
{
    volatile u64 i = x;
    for (;;)
        i++;
    return i;
}

/* SBI TIME set_timer (SBI spec v2.0, chapter 6): L1's own timer, served by the firmware (L0). */
static void sbi_set_timer(u64 when)
{
    register u64 a0 asm("a0") = when;
    register u64 a6 asm("a6") = 0;
    register u64 a7 asm("a7") = 0x54494D45;
    asm volatile("ecall" : "+r"(a0) : "r"(a6), "r"(a7) : "a1", "memory");
}

static u64 hlv_d(u64 va)
{
    register u64 a0 asm("a0") = 0x5e5e;
    register u64 a1 asm("a1") = va;
    asm volatile(".word %2" : "+r"(a0) : "r"(a1), "i"(INSN_HLV_D) : "memory");
    return a0;
}

static void hsv_d(u64 va, u64 v)
{
    register u64 a1 asm("a1") = va;
    register u64 a2 asm("a2") = v;
    asm volatile(".word %2" :: "r"(a1), "r"(a2), "i"(INSN_HSV_D) : "memory");
}

static void csrs(void)
{
    println("-- hypervisor CSRs");
    check("hstatus-vsxl", (csr_read(CSR_HSTATUS) >> 32) & 3, 2);
    check("hstatus-spv", csr_read(CSR_HSTATUS) & HSTATUS_SPV, 0);
    csr_write(CSR_HEDELEG, ~0UL);
    check("hedeleg-warl", csr_read(CSR_HEDELEG), 0xb1ff);
    csr_write(CSR_HEDELEG, 0);
    csr_write(CSR_HIDELEG, ~0UL);
    check("hideleg-warl", csr_read(CSR_HIDELEG), 0x444);
    csr_write(CSR_HVIP, ~0UL);
    check("hvip-warl", csr_read(CSR_HVIP), 0x444);
    csr_write(CSR_HVIP, 0);
    csr_write(CSR_HIE, ~0UL);
    check("hie", csr_read(CSR_HIE) & 0x444, 0x444);
    check("vsie", csr_read(CSR_VSIE), 0x222);
    csr_write(CSR_VSIE, 0);
    check("vsie-clears-hie", csr_read(CSR_HIE) & 0x444, 0);
    csr_write(CSR_HVIP, MIP_VSSIP);
    check("vsip", csr_read(CSR_VSIP), 0x2);
    csr_write(CSR_VSIP, 0);
    check("vsip-clears-hvip", csr_read(CSR_HVIP), 0);
    csr_write(CSR_HIDELEG, 0);
    csr_write(CSR_HTIMEDELTA, 0x1234);
    check("htimedelta", csr_read(CSR_HTIMEDELTA), 0x1234);
    csr_write(CSR_HTIMEDELTA, 0);
    csr_write(CSR_HCOUNTEREN, ~0UL);
    check("hcounteren", csr_read(CSR_HCOUNTEREN), 0xffffffffUL);
    csr_write(CSR_HGATP, HGATP_SV39X4 | (0x3fffUL << 44) | 0x123457UL);
    check("hgatp-ppn-vmid", csr_read(CSR_HGATP), HGATP_SV39X4 | (0x3fffUL << 44) | 0x123454UL);
    csr_write(CSR_HGATP, (9UL << 60) | 0x1000);
    check("hgatp-mode-warl", csr_read(CSR_HGATP), HGATP_SV39X4 | (0x3fffUL << 44) | 0x123454UL);
    csr_write(CSR_HGATP, 0);
    check("hgatp-bare", csr_read(CSR_HGATP), 0);
    csr_write(CSR_VSATP, SATP_MODE_SV39 | (5UL << 44) | 0x42);
    csr_write(CSR_VSATP, (9UL << 60) | 7);
    check("vsatp-warl", csr_read(CSR_VSATP), SATP_MODE_SV39 | (5UL << 44) | 0x42);
    csr_write(CSR_VSATP, 0);
    csr_write(CSR_VSEPC, 0x1235);
    check("vsepc", csr_read(CSR_VSEPC), 0x1234);
    csr_write(CSR_VSTVEC, 0x2000);
    csr_write(CSR_VSTVEC, 0x3003);
    check("vstvec-warl", csr_read(CSR_VSTVEC), 0x2000);
    csr_write(CSR_VSSCRATCH, 0x77);
    check("vsscratch", csr_read(CSR_VSSCRATCH), 0x77);
    csr_write(CSR_VSCAUSE, 5);
    check("vscause", csr_read(CSR_VSCAUSE), 5);
    csr_write(CSR_VSTVAL, 6);
    check("vstval", csr_read(CSR_VSTVAL), 6);
    csr_write(CSR_VSSTATUS, MSTATUS_SPP | MSTATUS_SUM);
    check("vsstatus", csr_read(CSR_VSSTATUS) & (MSTATUS_SPP | MSTATUS_SUM | MSTATUS_SIE), MSTATUS_SPP | MSTATUS_SUM);
    csr_write(CSR_VSSTATUS, 0);
    csr_write(CSR_HTVAL, 0x99);
    check("htval", csr_read(CSR_HTVAL), 0x99);
    csr_write(CSR_HTINST, 0x98);
    check("htinst", csr_read(CSR_HTINST), 0x98);
}

static void guest(void)
{
    u64 r;
    println("-- entering L2");
    gstage_identity();
    /* L2's data: gPA GPA_DATA -> gdata (RW), GPA_RO -> frame[0] (R only). */
    static u64 dl1[512] __attribute__((aligned(4096)));
    static u64 dl0[512] __attribute__((aligned(4096)));
    groot[GPA_DATA >> 30] = PTE_TABLE(dl1);
    dl1[0] = PTE_TABLE(dl0);
    dl0[0] = PTE_LEAF(gdata, PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
    dl0[1] = PTE_LEAF(frame[0], PTE_R | PTE_U | PTE_A);
    gdata[0] = 0x1111;
    frame[0][0] = 0x2222;
    frame[1][0] = 0x3333;
    csr_write(CSR_VSATP, 0);
    csr_write(CSR_VSSTATUS, 0);
    gstage_on();

    check("l2-return", run_l2(PRV_S, l2_add, 41), 42);
    check("l2-return-no-trap", l1trap.a7, L2_RETURN);

    r = run_l2(PRV_S, l2_ecall, 5);
    check_l1trap("l2-ecall-vs", r, CAUSE_ECALL_VS, 0, 0, HSTATUS_SPV | HSTATUS_SPVP);
    check("  a7", l1trap.a7, 0x77);
    check("  spp", l1trap.sstatus & MSTATUS_SPP, MSTATUS_SPP);
    check("  hstatus-spv-cleared", csr_read(CSR_HSTATUS) & HSTATUS_SPV, 0);

    r = run_l2(PRV_U, l2_ecall, 5);
    check_l1trap("l2-ecall-vu", r, CAUSE_ECALL_U, 0, 0, HSTATUS_SPV);
    check("  spp", l1trap.sstatus & MSTATUS_SPP, 0);

    /* Delegated: L2's own handler takes it; L1 sees nothing. */
    csr_write(CSR_VSTVEC, (u64)l2_vec);
    csr_write(CSR_HEDELEG, 1UL << CAUSE_ILLEGAL_INSN);
    l2trap.count = 0;
    check("l2-delegated", run_l2(PRV_S, l2_unimp, 1), 8);
    check("  l2-scause", l2trap.cause, CAUSE_ILLEGAL_INSN);
    check("  l2-stval", l2trap.tval, INSN_UNIMP);
    check("  l2-traps", l2trap.count, 1);
    check("  vscause-after", csr_read(CSR_VSCAUSE), CAUSE_ILLEGAL_INSN);

    csr_write(CSR_HEDELEG, 0);
    r = run_l2(PRV_S, l2_unimp, 1);
    check_l1trap("l2-illegal-to-l1", r, CAUSE_ILLEGAL_INSN, INSN_UNIMP, 0, HSTATUS_SPV | HSTATUS_SPVP);

    /* Two-stage translation on L1's table (vsatp Bare: gVA = gPA). */
    check("l2-load", run_l2(PRV_S, l2_ld, GPA_DATA), 0x1111);
    check("l2-load-ro", run_l2(PRV_S, l2_ld, GPA_RO), 0x2222);
    check("l2-store", run_l2(PRV_S, l2_sd, GPA_DATA + 8), 3);
    check("l2-store-seen", gdata[1], 0xabcd);

    r = run_l2(PRV_S, l2_ld, GPA_NONE);
    check_l1trap("l2-load-unmapped", r, CAUSE_LOAD_GUEST_PF, GPA_NONE, GPA_NONE >> 2,
                 HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA);
    r = run_l2(PRV_S, l2_sd, GPA_RO + 16);
    check_l1trap("l2-store-readonly", r, CAUSE_STORE_GUEST_PF, GPA_RO + 16, (GPA_RO + 16) >> 2,
                 HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA);
    check("  htinst-is-store", l1trap.htinst & 0x7f, 0x23);
    r = run_l2(PRV_S, (u64 (*)(u64))GPA_NONE, 0);
    check_l1trap("l2-fetch-unmapped", r, CAUSE_FETCH_GUEST_PF, GPA_NONE, GPA_NONE >> 2,
                 HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA);

    /* A remap takes effect after HFENCE.GVMA. */
    dl0[1] = PTE_LEAF(frame[1], PTE_R | PTE_U | PTE_A);
    asm volatile(HFENCE_GVMA_ALL ::: "memory");
    check("l2-after-remap", run_l2(PRV_S, l2_ld, GPA_RO), 0x3333);
    dl0[1] = 0;
    asm volatile(HFENCE_GVMA_ALL ::: "memory");
    r = run_l2(PRV_S, l2_ld, GPA_RO);
    check_l1trap("l2-after-unmap", r, CAUSE_LOAD_GUEST_PF, GPA_RO, GPA_RO >> 2,
                 HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA);

    /* hvip.VSSIP delegated with hideleg: L2 takes it in its own handler. */
    csr_write(CSR_HIDELEG, MIP_VSSIP);
    csr_write(CSR_HIE, MIP_VSSIP);
    csr_write(CSR_HVIP, MIP_VSSIP);
    l2trap.count = 0;
    check("l2-irq", run_l2(PRV_S, l2_irq, 10), 11);
    check("  l2-scause", l2trap.cause, CAUSE_INTERRUPT | IRQ_S_SOFT);
    check("  hvip-acked", csr_read(CSR_HVIP), 0);
    csr_write(CSR_HIE, 0);
    csr_write(CSR_HIDELEG, 0);

    /* L1's timer fires while L2 runs: an HS interrupt, taken even with sstatus.SIE = 0
     * because V = 1 (section 3.1.6.1), with hstatus.SPV = 1. */
    csr_set(sie, MIP_STIP);
    sbi_set_timer(csr_read(time) + 2000);
    r = run_l2(PRV_S, l2_spin, 0);
    check_l1trap("l2-timer", r, CAUSE_INTERRUPT | IRQ_S_TIMER, 0, 0, HSTATUS_SPV | HSTATUS_SPVP);
    sbi_set_timer(~0UL);
    csr_clear(sie, MIP_STIP);
    check("  stip-cleared", csr_read(sip) & MIP_STIP, 0);
}

static void hlv(void)
{
    println("-- HLV/HSV");
    strap_hook = l1hook;
    csr_set(CSR_HSTATUS, HSTATUS_SPVP);
    check("hlv-d", hlv_d(GPA_DATA), 0x1111);
    hsv_d(GPA_DATA + 16, 0x4444);
    check("hsv-d", gdata[2], 0x4444);
    check("hsv-seen-by-l2", run_l2(PRV_S, l2_ld, GPA_DATA + 16), 0x4444);
    csr_set(CSR_HSTATUS, HSTATUS_SPVP);
    s_cause = ~0UL;
    check("hlv-unmapped", hlv_d(GPA_NONE), 0x5e5e);
    check("  scause", s_cause, CAUSE_LOAD_GUEST_PF);
    check("  stval", s_tval, GPA_NONE);
    check("  htval", s_htval, GPA_NONE >> 2);
    check("  hstatus", s_hstatus & HSTATUS_TRAP_BITS, HSTATUS_SPVP | HSTATUS_GVA);
    check("  htinst", s_htinst, INSN_HLV_D & ~(31u << 15));
    /* Misaligned: performed within a page (as hvlab performs misaligned loads); across into
     * an unmapped page, the fault names that page. */
    check("hlv-misaligned", hlv_d(GPA_DATA + 4), (gdata[0] >> 32) | (gdata[1] << 32));
    s_cause = ~0UL;
    check("hlv-cross-unmapped", hlv_d(GPA_DATA + 0xffc), 0x5e5e);
    check("  scause", s_cause, CAUSE_LOAD_GUEST_PF);
    check("  stval", s_tval, GPA_RO);
    check("  htval", s_htval, GPA_RO >> 2);
    strap_hook = 0;
}

int main(void)
{
    println("nest: a guest hypervisor's H extension (HS-mode)");
    csrs();
    guest();
    hlv();
    return summary();
}
