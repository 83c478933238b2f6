/* sv39: S-mode with Sv39 paging (priv spec 4.3-4.4). 4 KiB pages, 2 MiB and
 * 1 GiB superpages, misaligned superpages, invalid and reserved PTEs and
 * non-canonical addresses (page faults 12/13/15 with the faulting VA in
 * mtval), A/D bits set by hardware, the U/SUM/MXR permission matrix,
 * sfence.vma after a PTE change, satp MODE=bare and MPRV with MPP=S.
 * Page faults are not delegated: the M handler records them.
 *
 * Virtual memory map built here (VA -> PA):
 *   0x0000_0000 1 GiB    -> RAM 0x8000_0000 (alias, RW)
 *   0x4000_0000 4 KiB pages, see the PG_* slots below
 *   0x4020_0000 2 MiB    -> 0x8040_0000 (RW)
 *   0x4040_0000 2 MiB    -> 0x8040_1000 (misaligned superpage)
 *   0x8000_0000 1 GiB    -> RAM (identity, RWX: the image itself)
 *   0xc000_0000 1 GiB    -> 0x8020_0000 (misaligned superpage)
 *   0x1_4000_0000 1 GiB  -> RAM (alias with U=1, RWX: U-mode code) */
#include "rt.h"

#define GIB (1UL << 30)
#define MIB2 (1UL << 21)
#define VA_PAGES 0x40000000UL
#define VA_2M    0x40200000UL
#define VA_2M_BAD 0x40400000UL
#define VA_1G_BAD 0xc0000000UL
#define VA_U_ALIAS 0x140000000UL
#define PA_2M    0x80400000UL
#define VA_NONCANON 0x0000008000000000UL

/* 4 KiB slots at VA_PAGES + slot * 4 KiB. */
enum { PG_RW, PG_RO, PG_INVALID, PG_NOAD, PG_USER, PG_XONLY, PG_UCODE, PG_SCODE,
       PG_WONLY, PG_SWAP, PG_COUNT };
#define VA(slot) (VA_PAGES + (u64)(slot) * PAGE_SIZE)

typedef u64 pte_t;
static pte_t root[512] __attribute__((aligned(4096)));
static pte_t l1[512] __attribute__((aligned(4096)));
static pte_t l0[512] __attribute__((aligned(4096)));
static u64 frames[PG_COUNT][512] __attribute__((aligned(4096)));
static u64 spare[512] __attribute__((aligned(4096)));

#define ADDI_A0(n) (((u32)(n) << 20) | (10 << 7) | 0x13)
#define RET_INSN 0x00008067u

extern u64 u_load(u64 va);
extern u64 u_store(u64 va);
extern char mode_trampoline[];

static pte_t leaf(u64 pa, u64 perm)
{
    return ((pa >> PAGE_SHIFT) << PTE_PPN_SHIFT) | perm | PTE_V;
}

static pte_t table(void *next)
{
    return (((u64)next >> PAGE_SHIFT) << PTE_PPN_SHIFT) | PTE_V;
}

static void sfence_all(void)
{
    asm volatile("sfence.vma" ::: "memory");
}

static void build_tables(void)
{
    const u64 rwad = PTE_R | PTE_W | PTE_A | PTE_D;
    root[0] = leaf(RAM_BASE, rwad);
    root[1] = table(l1);
    root[2] = leaf(RAM_BASE, rwad | PTE_X);
    root[3] = leaf(RAM_BASE + 0x200000, rwad);
    root[5] = leaf(RAM_BASE, rwad | PTE_X | PTE_U);
    l1[0] = table(l0);
    l1[1] = leaf(PA_2M, rwad);
    l1[2] = leaf(PA_2M + PAGE_SIZE, rwad);
    l0[PG_RW] = leaf((u64)frames[PG_RW], rwad);
    l0[PG_RO] = leaf((u64)frames[PG_RO], PTE_R | PTE_A);
    l0[PG_INVALID] = 0;
    l0[PG_NOAD] = leaf((u64)frames[PG_NOAD], PTE_R | PTE_W);
    l0[PG_USER] = leaf((u64)frames[PG_USER], rwad | PTE_U);
    l0[PG_XONLY] = leaf((u64)frames[PG_XONLY], PTE_X | PTE_A);
    l0[PG_UCODE] = leaf((u64)frames[PG_UCODE], PTE_R | PTE_X | PTE_U | PTE_A);
    l0[PG_SCODE] = leaf((u64)frames[PG_SCODE], PTE_R | PTE_X | PTE_A);
    l0[PG_WONLY] = leaf((u64)frames[PG_WONLY], PTE_W | PTE_A | PTE_D);
    l0[PG_SWAP] = leaf((u64)frames[PG_SWAP], rwad);
    for (int i = 0; i < PG_COUNT; i++)
        frames[i][0] = 0x1000 + i;
    frames[PG_UCODE][0] = ADDI_A0(0x55) | ((u64)RET_INSN << 32);
    frames[PG_SCODE][0] = ADDI_A0(0x77) | ((u64)RET_INSN << 32);
    frames[PG_XONLY][0] = ADDI_A0(0x66) | ((u64)RET_INSN << 32);
    spare[0] = 0x2222;
    *(volatile u64 *)(PA_2M + 0x1238) = 0x2a2a;
    asm volatile("fence.i" ::: "memory");
    csr_write(satp, SATP_MODE_SV39 | ((u64)root >> PAGE_SHIFT));
    sfence_all();
}

static u64 s_load(u64 va) { return *(volatile u64 *)va; }
static u64 s_store(u64 va) { *(volatile u64 *)va = 0x5700e; return 0; }
static u64 s_call(u64 va) { return ((u64 (*)(void))va)(); }

/* Jump to va from S; if the fetch faults, the trap resumes after the jump. */
static u64 s_fetch(u64 va)
{
    u64 r = 0xdead;
    asm volatile("la t1, 2f\n\tsd t1, 0(%1)\n\tjalr ra, 0(%2)\n\tmv %0, a0\n2:"
                 : "+r"(r) : "r"(&trap_resume), "r"(va) : "t1", "ra", "a0", "memory");
    trap_resume = 0;
    return r;
}

static u64 s_sfence_load(u64 va)
{
    asm volatile("sfence.vma %0, x0" :: "r"(va) : "memory");
    return *(volatile u64 *)va;
}

/* Expect a page fault with mtval = va from fn(va) run in `mode`. */
static void expect_fault(const char *name, u64 mode, u64 (*fn)(u64), u64 va, u64 cause)
{
    trap_expect();
    run_in_mode(mode, fn, va);
    check_trap(name, cause, va);
}

static void basic(void)
{
    trap_expect();
    check("4k-load", run_in_mode(PRV_S, s_load, VA(PG_RW)), 0x1000 + PG_RW);
    run_in_mode(PRV_S, s_store, VA(PG_RW) + 8);
    check("4k-store", frames[PG_RW][1], 0x5700e);
    check("4k-readonly-load", run_in_mode(PRV_S, s_load, VA(PG_RO)), 0x1000 + PG_RO);
    check("2m-superpage-load", run_in_mode(PRV_S, s_load, VA_2M + 0x1238), 0x2a2a);
    check("1g-superpage-alias-load",
          run_in_mode(PRV_S, s_load, (u64)&frames[PG_RW][1] - RAM_BASE), 0x5700e);
    check("s-exec-s-page", run_in_mode(PRV_S, s_call, VA(PG_SCODE)), 0x77);
    check_no_trap("mapped-accesses-no-fault");

    expect_fault("store-readonly-fault", PRV_S, s_store, VA(PG_RO), CAUSE_STORE_PAGE_FAULT);
    check("store-readonly-unchanged", frames[PG_RO][0], 0x1000 + PG_RO);
    expect_fault("load-invalid-pte", PRV_S, s_load, VA(PG_INVALID), CAUSE_LOAD_PAGE_FAULT);
    expect_fault("store-invalid-pte", PRV_S, s_store, VA(PG_INVALID) + 16, CAUSE_STORE_PAGE_FAULT);
    expect_fault("fetch-invalid-pte", PRV_S, s_fetch, VA(PG_INVALID), CAUSE_FETCH_PAGE_FAULT);
    expect_fault("fetch-non-x-page", PRV_S, s_fetch, VA(PG_RW), CAUSE_FETCH_PAGE_FAULT);
    expect_fault("load-invalid-l1", PRV_S, s_load, VA_PAGES + 3 * MIB2, CAUSE_LOAD_PAGE_FAULT);
    expect_fault("load-invalid-root", PRV_S, s_load, 4 * GIB + 0x10, CAUSE_LOAD_PAGE_FAULT);
    expect_fault("load-w-only-reserved", PRV_S, s_load, VA(PG_WONLY), CAUSE_LOAD_PAGE_FAULT);
    expect_fault("store-w-only-reserved", PRV_S, s_store, VA(PG_WONLY), CAUSE_STORE_PAGE_FAULT);
    expect_fault("misaligned-2m-superpage", PRV_S, s_load, VA_2M_BAD + 8, CAUSE_LOAD_PAGE_FAULT);
    expect_fault("misaligned-1g-superpage", PRV_S, s_load, VA_1G_BAD + 8, CAUSE_LOAD_PAGE_FAULT);
    expect_fault("non-canonical-va", PRV_S, s_load, VA_NONCANON, CAUSE_LOAD_PAGE_FAULT);
    expect_fault("non-canonical-va-store", PRV_S, s_store, 0x4000000000000000UL, CAUSE_STORE_PAGE_FAULT);
    check("fault-from-S", trap.from, PRV_S);
}

static void accessed_dirty(void)
{
    /* QEMU 7.2 sets A and D in the PTE (priv spec 4.3.1, Svadu-like). */
    check("ad-initially-clear", l0[PG_NOAD] & (PTE_A | PTE_D), 0);
    trap_expect();
    run_in_mode(PRV_S, s_load, VA(PG_NOAD));
    check_no_trap("ad-load-no-fault");
    check("ad-load-sets-A", l0[PG_NOAD] & (PTE_A | PTE_D), PTE_A);
    sfence_all();
    trap_expect();
    run_in_mode(PRV_S, s_store, VA(PG_NOAD));
    check_no_trap("ad-store-no-fault");
    check("ad-store-sets-D", l0[PG_NOAD] & (PTE_A | PTE_D), PTE_A | PTE_D);
}

static void permissions(void)
{
    csr_clear(mstatus, MSTATUS_SUM | MSTATUS_MXR);
    expect_fault("s-load-u-page-sum0", PRV_S, s_load, VA(PG_USER), CAUSE_LOAD_PAGE_FAULT);
    expect_fault("s-store-u-page-sum0", PRV_S, s_store, VA(PG_USER), CAUSE_STORE_PAGE_FAULT);
    csr_set(mstatus, MSTATUS_SUM);
    trap_expect();
    check("s-load-u-page-sum1", run_in_mode(PRV_S, s_load, VA(PG_USER)), 0x1000 + PG_USER);
    run_in_mode(PRV_S, s_store, VA(PG_USER) + 8);
    check_no_trap("s-store-u-page-sum1");
    expect_fault("s-exec-u-page-sum1", PRV_S, s_fetch, VA(PG_UCODE), CAUSE_FETCH_PAGE_FAULT);
    csr_clear(mstatus, MSTATUS_SUM);
    expect_fault("s-exec-u-page-sum0", PRV_S, s_fetch, VA(PG_UCODE), CAUSE_FETCH_PAGE_FAULT);

    expect_fault("s-load-x-only-mxr0", PRV_S, s_load, VA(PG_XONLY), CAUSE_LOAD_PAGE_FAULT);
    csr_set(mstatus, MSTATUS_MXR);
    trap_expect();
    check("s-load-x-only-mxr1", run_in_mode(PRV_S, s_load, VA(PG_XONLY)), frames[PG_XONLY][0]);
    check_no_trap("s-load-x-only-mxr1-no-fault");
    expect_fault("s-store-x-only-mxr1", PRV_S, s_store, VA(PG_XONLY), CAUSE_STORE_PAGE_FAULT);
    csr_clear(mstatus, MSTATUS_MXR);
    trap_expect();
    check("s-exec-x-only", run_in_mode(PRV_S, s_call, VA(PG_XONLY)), 0x66);
    check_no_trap("s-exec-x-only-no-fault");

    /* U-mode runs u_load/u_store through the U alias of the image. */
    {
        const u64 delta = VA_U_ALIAS - RAM_BASE;
        u64 (*ul)(u64) = (u64 (*)(u64))((u64)u_load + delta);
        u64 (*us)(u64) = (u64 (*)(u64))((u64)u_store + delta);
        trap_expect();
        check("u-load-u-page", run_in_mode_va(PRV_U, ul, VA(PG_USER), delta), 0x1000 + PG_USER);
        run_in_mode_va(PRV_U, us, VA(PG_USER) + 16, delta);
        check_no_trap("u-store-u-page");
        check("u-store-u-page-value", frames[PG_USER][2], 0x600d);
        trap_expect();
        run_in_mode_va(PRV_U, ul, VA(PG_RW), delta);
        check_trap("u-load-s-page", CAUSE_LOAD_PAGE_FAULT, VA(PG_RW));
        check("u-load-s-page-from-U", trap.from, PRV_U);
        trap_expect();
        run_in_mode_va(PRV_U, us, VA(PG_RW), delta);
        check_trap("u-store-s-page", CAUSE_STORE_PAGE_FAULT, VA(PG_RW));
        /* The trampoline's jump to an S page faults; resume after it. */
        trap_expect();
        trap_resume_at((u64)mode_trampoline + delta + 4);
        run_in_mode_va(PRV_U, (u64 (*)(u64))VA(PG_SCODE), 0, delta);
        check_trap("u-exec-s-page", CAUSE_FETCH_PAGE_FAULT, VA(PG_SCODE));
        trap_expect();
        check("u-exec-u-page", run_in_mode_va(PRV_U, (u64 (*)(u64))VA(PG_UCODE), 0, delta), 0x55);
        check_no_trap("u-exec-u-page-no-fault");
    }
}

static void remap(void)
{
    check("before-remap", run_in_mode(PRV_S, s_load, VA(PG_SWAP)), 0x1000 + PG_SWAP);
    l0[PG_SWAP] = leaf((u64)spare, PTE_R | PTE_W | PTE_A | PTE_D);
    check("sfence.vma-va-after-remap", run_in_mode(PRV_S, s_sfence_load, VA(PG_SWAP)), 0x2222);
    l0[PG_SWAP] = leaf((u64)frames[PG_SWAP], PTE_R | PTE_W | PTE_A | PTE_D);
    sfence_all();
    check("sfence.vma-all-after-remap", run_in_mode(PRV_S, s_load, VA(PG_SWAP)), 0x1000 + PG_SWAP);
}

static void bare_and_mprv(void)
{
    u64 v;
    /* MPRV=1, MPP=S: M-mode loads and stores are translated as S (3.1.6.3). */
    csr_clear(mstatus, MSTATUS_MPP);
    csr_set(mstatus, ((u64)PRV_S << MSTATUS_MPP_SHIFT) | MSTATUS_MPRV);
    v = *(volatile u64 *)VA(PG_RW);
    *(volatile u64 *)(VA(PG_RW) + 24) = 0x3333;
    csr_clear(mstatus, MSTATUS_MPRV);
    check("mprv-s-load", v, 0x1000 + PG_RW);
    check("mprv-s-store", frames[PG_RW][3], 0x3333);
    csr_set(mstatus, MSTATUS_MPRV);
    trap_expect();
    v = *(volatile u64 *)VA(PG_INVALID);
    csr_clear(mstatus, MSTATUS_MPRV);
    check_trap("mprv-s-page-fault", CAUSE_LOAD_PAGE_FAULT, VA(PG_INVALID));
    check("mprv-fault-taken-in-M", trap.from, PRV_M);
    csr_clear(mstatus, MSTATUS_MPP);

    csr_write(satp, SATP_MODE_BARE);
    sfence_all();
    check("satp-bare-physical", run_in_mode(PRV_S, s_load, (u64)&frames[PG_RO][0]), 0x1000 + PG_RO);
}

int main(void)
{
    println("sv39: paging, superpages, permissions, A/D");
    build_tables();
    basic();
    accessed_dirty();
    permissions();
    remap();
    bare_and_mprv();
    return summary();
}
