/* ptatomic: a kernel's atomic updates of its own page tables, and turning translation on,
 * under the hypervisor. An S-mode kernel for the builtin firmware (like the hostile guests,
 * whose trap recording it shares) that runs unchanged natively and in trap-emulate,
 * hvm-shadow and hvm-nested; its golden output is the native run.
 *   - satp from Bare to Sv39 with ASID 0 and no fence after it (privileged spec 4.1.11: the
 *     fence comes before, as Linux's relocate_enable_mmu does): the first access after the
 *     write must use the new tables, for loads and for instruction fetch. (hvm-nested once
 *     kept the Bare translations in the TLB set of ASID 0.)
 *   - AMOSWAP.D, AMOOR.D, AMOAND.D and LR/SC on a PTE of the kernel's live tables (Linux
 *     clears a PTE with AMOSWAP.D and sets A/D with LR/SC): under shadow paging each one is a
 *     store to a write-protected table that the hypervisor must perform atomically and
 *     follow in its shadows; an SC without a reservation must fail and change nothing. */
#include "hostile.h"

static u64 root[512] __attribute__((aligned(4096)));
static u64 l1[512] __attribute__((aligned(4096)));
static u64 l0[512] __attribute__((aligned(4096)));
/* Two data pages, then two code pages: they trade places under the new tables; then a
 * page of code the new tables do not map. */
static u64 pages[5][512] __attribute__((aligned(4096)));
#define data(i) (pages[i])
#define code(i) (pages[2 + (i)])
#define unmapped (pages[4])

#define LI_A0(v) (0x00000513u | ((u32)(v) << 20))   /* addi a0, x0, v */
#define RET      0x00008067u                         /* jalr x0, 0(ra) */
#define CSRW_SATP_A0 0x18051073u                     /* csrw satp, a0 */

static u64 leaf(u64 pa, u64 perm) { return ((pa >> PAGE_SHIFT) << PTE_PPN_SHIFT) | perm | PTE_V; }
static u64 table(void *t) { return (((u64)t >> PAGE_SHIFT) << PTE_PPN_SHIFT) | PTE_V; }
static u64 call0(u64 at) { asm volatile("fence.i" ::: "memory"); return ((u64 (*)(void))at)(); }
static void call1(u64 at, u64 a0) { asm volatile("fence.i" ::: "memory"); ((void (*)(u64))at)(a0); }

static u64 amoswap(u64 *a, u64 v) { u64 o; asm volatile("amoswap.d %0, %2, (%1)" : "=r"(o) : "r"(a), "r"(v) : "memory"); return o; }
static u64 amoor(u64 *a, u64 v) { u64 o; asm volatile("amoor.d %0, %2, (%1)" : "=r"(o) : "r"(a), "r"(v) : "memory"); return o; }
static u64 amoand(u64 *a, u64 v) { u64 o; asm volatile("amoand.d %0, %2, (%1)" : "=r"(o) : "r"(a), "r"(v) : "memory"); return o; }
static u64 amoaddw(u64 *a, u64 v) { u64 o; asm volatile("amoadd.w %0, %2, (%1)" : "=r"(o) : "r"(a), "r"(v) : "memory"); return o; }
/* LR then SC of `v`: returns SC's result (0 = stored); *old gets what LR read. */
static u64 lrsc(u64 *a, u64 v, u64 *old)
{
    u64 o, r;
    asm volatile("lr.d %0, (%2)\n\tsc.d %1, %3, (%2)" : "=&r"(o), "=&r"(r) : "r"(a), "r"(v) : "memory");
    *old = o;
    return r;
}
static u64 sc_alone(u64 *a, u64 v) { u64 r; asm volatile("sc.d %0, %2, (%1)" : "=r"(r) : "r"(a), "r"(v) : "memory"); return r; }
static void fence(u64 va) { asm volatile("sfence.vma %0" :: "r"(va) : "memory"); }

static u64 slot(u64 va) { return (va >> PAGE_SHIFT) & 511; }

int main(void)
{
    const u64 rwxad = PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
    const u64 base2m = (u64)root & ~((2UL << 20) - 1);
    u64 d0 = (u64)data(0), d1 = (u64)data(1), c0 = (u64)code(0), c1 = (u64)code(1);
    u64 pte, old;

    hostile_init();
    println("ptatomic: satp Bare to Sv39, atomic updates of live page tables");
    data(0)[0] = 0xd0d0d0d0UL;
    data(1)[0] = 0xd1d1d1d1UL;
    sw32(c0, LI_A0(0x100)); sw32(c0 + 4, RET);
    sw32(c1, LI_A0(0x101)); sw32(c1 + 4, RET);
    check_true("tables-and-pages-in-one-2MiB", (u64)pages + sizeof pages <= base2m + (2UL << 20) && d0 >= base2m);

    /* Identity map (devices by a gigapage, RAM by 2 MiB pages, the 2 MiB of the tables by
     * 4 KiB pages), except that data(0) and code(0) show the other page of their pair. */
    root[0] = leaf(0, PTE_R | PTE_W | PTE_A | PTE_D);
    root[2] = table(l1);
    for (u64 i = 0; i < 64; i++) l1[i] = leaf(RAM_BASE + (i << 21), rwxad);
    l1[(base2m - RAM_BASE) >> 21] = table(l0);
    for (u64 i = 0; i < 512; i++) l0[i] = leaf(base2m + (i << PAGE_SHIFT), rwxad);
    l0[slot(d0)] = leaf(d1, rwxad);
    l0[slot(c0)] = leaf(c1, rwxad);

    /* Bare: both accesses go to the pages themselves (and fill whatever caches there are);
     * the load right after the satp write must see the new tables. */
    u64 satp = SATP_MODE_SV39 | ((u64)root >> PAGE_SHIFT), before, after;
    asm volatile("sfence.vma\n\tld %0, 0(%2)\n\tcsrw satp, %3\n\tld %1, 0(%2)"
                 : "=&r"(before), "=&r"(after) : "r"(d0), "r"(satp) : "memory");
    check("bare-load", before, 0xd0d0d0d0UL);
    check("sv39-load-right-after-satp-write", after, 0xd1d1d1d1UL);
    check("sv39-fetch-sees-new-mapping", call0(c0), 0x101);
    csr_write(satp, 0);
    asm volatile("sfence.vma" ::: "memory");
    check("bare-fetch", call0(c0), 0x100);
    /* Turn translation on from a page the new tables do not map: the very next fetch, from
     * the same page, must take a fetch page fault (as Linux's relocate_enable_mmu expects:
     * its trap vector is the virtual address it goes on at). */
    u64 u = (u64)unmapped;
    l0[slot(u)] = 0;
    sw32(u, CSRW_SATP_A0); sw32(u + 4, RET);
    arm();
    call1(u, satp);
    check_fault("fetch-after-satp-write-faults", CAUSE_FETCH_PAGE_FAULT, u + 4);
    check("fetch-after-satp-write-sepc", h_epc, u + 4);

    /* AMOs on the live PTE of data(0)'s page (now showing data(1)). */
    arm();
    pte = leaf(d1, rwxad);
    check("amoswap-clear-old", amoswap(&l0[slot(d0)], 0), pte);
    fence(d0);
    load_faults("after-amoswap-clear", d0, CAUSE_LOAD_PAGE_FAULT, d0);
    arm();
    check("amoor-set-old", amoor(&l0[slot(d0)], leaf(d0, rwxad)), 0);
    fence(d0);
    check("after-amoor-set", *(volatile u64 *)d0, 0xd0d0d0d0UL);
    check("amoand-drop-w-old", amoand(&l0[slot(d0)], ~(u64)PTE_W), leaf(d0, rwxad));
    fence(d0);
    store_faults("after-amoand-no-w", d0, CAUSE_STORE_PAGE_FAULT, d0);
    arm();
    check("lrsc-stores", lrsc(&l0[slot(d0)], leaf(d1, rwxad), &old), 0);
    check("lrsc-old", old, leaf(d0, rwxad & ~(u64)PTE_W));
    fence(d0);
    check("after-lrsc", *(volatile u64 *)d0, 0xd1d1d1d1UL);
    check_true("sc-alone-fails", sc_alone(&l0[slot(d0)], 0) != 0);
    fence(d0);
    check("after-failed-sc-unchanged", *(volatile u64 *)d0, 0xd1d1d1d1UL);
    /* A .W AMO on the low word: adding 1 << 10 to the PPN moves the page on from data(1)
     * to the next one, code(0), whose first word is LI_A0(0x100). */
    check("amoadd.w-old", amoaddw(&l0[slot(d0)], 1UL << 10), (u64)(s32)(u32)leaf(d1, rwxad));
    fence(d0);
    check("after-amoadd.w", *(volatile u32 *)d0, LI_A0(0x100));
    check_no_fault("no-unexpected-fault");

    csr_write(satp, 0);
    asm volatile("sfence.vma" ::: "memory");
    return summary();
}
