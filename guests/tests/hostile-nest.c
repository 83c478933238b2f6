/* hostile-nest: a guest hypervisor that misuses the H extension (issue 13,
 * part 7). It points hgatp outside its memory, writes garbage G-stage tables
 * (reserved encodings, tables and leaves outside its RAM, a leaf onto a
 * device), and enters its guest (L2) with inconsistent state (vsatp outside
 * its memory, sepc where nothing is mapped). Each must end in the fault the
 * architecture names, taken by this kernel as a trap from L2 (or from its own
 * HLV): natively, where it is the hypervisor, and under hvlab --nested, where
 * L0 emulates all of it and must never touch memory outside the VM
 * (test/nested.test.ts compares the two consoles). */
#include "nest.h"

#define OUTSIDE   0x400000000UL    /* 16 GiB: no RAM, no device */
#define GPA_T     0x100000000UL    /* L2 gPAs whose G-stage tables are garbage */
#define UART_LSR  0x10000005UL
#define NOWHERE   0x70000000UL

static u64 gl1x[512] __attribute__((aligned(4096)));
static u64 gl0x[512] __attribute__((aligned(4096)));
static volatile u64 s_cause = ~0UL, s_tval, s_hstatus;

static int l1hook(struct frame *f, u64 cause)
{
    (void)f;
    s_cause = cause;
    s_tval = csr_read(stval);
    s_hstatus = csr_read(CSR_HSTATUS);
    csr_write(sepc, csr_read(sepc) + 4);
    return 1;
}

static u64 l2_add(u64 x) { return x + 1; }
static u64 l2_ld(u64 a) { return *(volatile u64 *)a; }
static u64 l2_lbu(u64 a) { return *(volatile u8 *)a; }
static u64 l2_sd_5e(u64 a) { *(volatile u64 *)a = 0x5e; return *(volatile u64 *)a; }
/* Store back what is there, through a mapping of a live table page. */
static u64 l2_sd_same(u64 a) { volatile u64 *p = (volatile u64 *)a; *p = *p; return 9; }

static u64 hlv_d(u64 va)
{
    register u64 a0 asm("a0") = 0x5e5e;
    register u64 a1 asm("a1") = va;
    asm volatile(".word %2" : "+r"(a0) : "r"(a1), "i"(INSN_HLV_D) : "memory");
    return a0;
}

static void show(const char *name, u64 v)
{
    print("read ");
    print_kv(name, v);
}

#define GVA_BITS (HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA)

int main(void)
{
    u64 r;
    println("hostile-nest: a guest hypervisor's bad G-stage tables and entries");
    gstage_identity();
    csr_write(CSR_VSATP, 0);
    csr_write(CSR_VSSTATUS, 0);

    /* hgatp's root outside RAM: L2's first fetch reads a G-stage PTE there. */
    csr_write(CSR_HGATP, HGATP_SV39X4 | (OUTSIDE >> 12));
    asm volatile(HFENCE_GVMA_ALL ::: "memory");
    r = run_l2(PRV_S, l2_add, 1);
    check_l1trap("hgatp-outside-ram", r, CAUSE_FETCH_ACCESS, (u64)l2_add, 0, GVA_BITS);
    /* The same root for HLV: L1's own access fault. */
    strap_hook = l1hook;
    csr_set(CSR_HSTATUS, HSTATUS_SPVP);
    s_cause = ~0UL;
    show("hlv-outside", hlv_d(GPA_T));
    check("hlv-hgatp-outside", s_cause, CAUSE_LOAD_ACCESS);
    check("  stval", s_tval, GPA_T);
    check("  gva", s_hstatus & HSTATUS_GVA, HSTATUS_GVA);
    strap_hook = 0;

    /* A Sv48x4 hgatp is not supported: the write is ignored (WARL), hgatp keeps its value. */
    gstage_on();
    csr_write(CSR_HGATP, (9UL << 60) | (OUTSIDE >> 12));
    check("hgatp-sv48x4-ignored", csr_read(CSR_HGATP), HGATP_SV39X4 | ((u64)groot >> 12));
    check("l2-runs", run_l2(PRV_S, l2_add, 1), 2);

    /* Garbage tables under gPA GPA_T. */
    groot[GPA_T >> 30] = PTE_TABLE(gl1x);
    gl1x[0] = PTE_TABLE(gl0x);
    gl0x[0] = PTE_LEAF(OUTSIDE, PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);       /* leaf outside RAM */
    gl0x[1] = PTE_LEAF(0x80000000UL, PTE_W | PTE_U | PTE_A | PTE_D);          /* W without R */
    gl0x[2] = PTE_LEAF(0x80000000UL, PTE_R | PTE_U | PTE_A) | (1UL << 60);    /* reserved bit */
    gl0x[3] = PTE_LEAF(UART_LSR & ~0xfffUL, PTE_R | PTE_W | PTE_U | PTE_A | PTE_D); /* a device */
    gl0x[4] = PTE_LEAF(0x80000000UL, PTE_R | PTE_W | PTE_A | PTE_D);          /* U = 0 */
    gl1x[1] = PTE_TABLE(OUTSIDE);                                             /* table outside RAM */
    gl1x[2] = PTE_LEAF(0x80100000UL, PTE_R | PTE_U | PTE_A);                  /* misaligned 2 MiB */
    gl0x[5] = PTE_LEAF((u64)gl0x, PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);     /* its own table */
    gl0x[6] = PTE_LEAF((u64)gl0, PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);      /* the code's table */
    asm volatile(HFENCE_GVMA_ALL ::: "memory");

    r = run_l2(PRV_S, l2_ld, GPA_T);
    show("leaf-outside", r);
    check_l1trap("leaf-outside-ram", r, CAUSE_LOAD_ACCESS, GPA_T, 0, GVA_BITS);
    r = run_l2(PRV_S, l2_ld, GPA_T + 0x1000);
    check_l1trap("leaf-w-without-r", r, CAUSE_LOAD_GUEST_PF, GPA_T + 0x1000, (GPA_T + 0x1000) >> 2, GVA_BITS);
    r = run_l2(PRV_S, l2_ld, GPA_T + 0x2000);
    check_l1trap("leaf-reserved-bit", r, CAUSE_LOAD_GUEST_PF, GPA_T + 0x2000, (GPA_T + 0x2000) >> 2, GVA_BITS);
    check("leaf-on-uart", run_l2(PRV_S, l2_lbu, GPA_T + 0x3000 + (UART_LSR & 0xfff)) & 0x60, 0x60);
    r = run_l2(PRV_S, l2_ld, GPA_T + 0x4000);
    check_l1trap("leaf-not-user", r, CAUSE_LOAD_GUEST_PF, GPA_T + 0x4000, (GPA_T + 0x4000) >> 2, GVA_BITS);
    r = run_l2(PRV_S, l2_ld, GPA_T + 0x200000);
    show("table-outside", r);
    check_l1trap("table-outside-ram", r, CAUSE_LOAD_ACCESS, GPA_T + 0x200000, 0, GVA_BITS);
    /* L2 writes L1's G-stage tables through mappings L1 gave it: the entry that maps the
     * page it writes through, and the table its own code is reached through. */
    check("l2-writes-own-table", run_l2(PRV_S, l2_sd_5e, GPA_T + 0x5000 + 511 * 8), 0x5e);
    check("  seen-by-l1", gl0x[511], 0x5e);
    check("l2-writes-code-table", run_l2(PRV_S, l2_sd_same, GPA_T + 0x6000 + 511 * 8), 9);
    check("  unchanged", gl0[511], PTE_LEAF(IMAGE_GPA + (511UL << 12), PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D));
    r = run_l2(PRV_S, l2_ld, GPA_T + 0x400000);
    check_l1trap("misaligned-superpage", r, CAUSE_LOAD_GUEST_PF, GPA_T + 0x400000, (GPA_T + 0x400000) >> 2, GVA_BITS);

    /* Inconsistent entries: vsatp's root where L1's G-stage maps nothing, and outside RAM. */
    csr_write(CSR_VSATP, SATP_MODE_SV39 | (NOWHERE >> 12));
    r = run_l2(PRV_S, l2_add, 1);
    check_l1trap("vsatp-unmapped", r, CAUSE_FETCH_GUEST_PF, (u64)l2_add, (NOWHERE + (((u64)l2_add >> 30) & 511) * 8) >> 2, GVA_BITS);
    check("  htinst-pte-read", l1trap.htinst, 0x3000);
    csr_write(CSR_VSATP, SATP_MODE_SV39 | (GPA_T >> 12));
    r = run_l2(PRV_S, l2_add, 1);
    check_l1trap("vsatp-outside-ram", r, CAUSE_FETCH_ACCESS, (u64)l2_add, 0, GVA_BITS);
    csr_write(CSR_VSATP, 0);
    r = run_l2(PRV_S, (u64 (*)(u64))NOWHERE, 0);
    check_l1trap("sepc-unmapped", r, CAUSE_FETCH_GUEST_PF, NOWHERE, NOWHERE >> 2, GVA_BITS);
    r = run_l2(PRV_U, (u64 (*)(u64))(GPA_T + 0x1000), 0);
    check_l1trap("sepc-garbage-leaf", r, CAUSE_FETCH_GUEST_PF, GPA_T + 0x1000, (GPA_T + 0x1000) >> 2, HSTATUS_SPV | HSTATUS_GVA);
    check("still-runs", run_l2(PRV_S, l2_add, 41), 42);
    return summary();
}
