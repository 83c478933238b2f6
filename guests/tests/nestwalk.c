/* nestwalk: exact page-walk reference counts of L2 (tests/nest.h), the nested
 * analogue of hwalk. L2 runs with vsatp Sv39 over L1's G-stage (4 KiB pages at
 * both stages) and makes one load, then returns: it touches one code page and
 * one data page, two cold misses. Natively they are two-dimensional walks of
 * 7 (a 1 GiB VS leaf for the code) and 15 references; under --nested L0 folds
 * L1's G-stage with its own, so L2's completed walks cost the same, and the
 * naive path pays 4 x 15 G-stage references for the load (test/nested.test.ts). */
#include "nest.h"

#define GPA_TABLES 0x100000000UL   /* guest-physical home of L2's VS-stage tables */
#define GPA_DATA   0x100004000UL
#define GVA_DATA   0x40000000UL

static u64 dl1[512] __attribute__((aligned(4096)));
static u64 dl0[512] __attribute__((aligned(4096)));
static u64 vs[3][512] __attribute__((aligned(4096)));
static u64 data[512] __attribute__((aligned(4096)));

int main(void)
{
    println("nestwalk: an L2 two-dimensional walk");
    data[0] = 0x1111;
    gstage_identity();
    groot[GPA_TABLES >> 30] = PTE_TABLE(dl1);
    dl1[0] = PTE_TABLE(dl0);
    for (int i = 0; i < 3; i++)
        dl0[i] = PTE_LEAF((u64)vs[i], PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
    dl0[4] = PTE_LEAF((u64)data, PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
    /* VS-stage: the image, 1 GiB identity (S, RWX); GVA_DATA -> GPA_DATA, 4 KiB. */
    vs[0][IMAGE_GPA >> 30] = PTE_LEAF(IMAGE_GPA & ~0x3fffffffUL, PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
    vs[0][GVA_DATA >> 30] = ((GPA_TABLES + 0x1000) >> 12) << PTE_PPN_SHIFT | PTE_V;
    vs[1][0] = ((GPA_TABLES + 0x2000) >> 12) << PTE_PPN_SHIFT | PTE_V;
    vs[2][0] = (GPA_DATA >> 12) << PTE_PPN_SHIFT | PTE_R | PTE_W | PTE_A | PTE_D | PTE_V;
    csr_write(CSR_VSSTATUS, 0);
    csr_write(CSR_VSATP, SATP_MODE_SV39 | (GPA_TABLES >> 12));
    gstage_on();
    asm volatile(HFENCE_VVMA_ALL ::: "memory");
    check("l2-two-stage-load", run_l2(PRV_S, l2_load, GVA_DATA), 0x1111);
    check("l2-returned", l1trap.a7, L2_RETURN);
    return summary();
}
