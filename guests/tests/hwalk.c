/* hwalk: exact page-walk reference counts of two-stage translation (H extension,
 * priv spec 8.5). Runs in M-mode; the only translated accesses are two loads made
 * with mstatus.MPRV = 1, MPP = S, MPV = 1 (section 8.3.1), so that the walk
 * counters the vitest suite reads (test/hext.test.ts) come from them alone:
 *   1. vsatp = Sv39 (4 KiB pages), hgatp = Sv39x4 (4 KiB pages): one cold miss
 *      reads 3 VS-stage PTEs and 4 x 3 G-stage PTEs (15 references);
 *   2. hgatp = Bare, a fresh page: a single-stage walk, 3 references.
 * Both loads also run on QEMU, which prints the same values. */
#include "rt.h"
#include "hext.h"

#define GPA_TABLES 0x100000000UL   /* guest-physical home of the VS-stage tables */
#define GPA_DATA   0x100004000UL
#define GVA_DATA   0x40000000UL

static u64 groot[2048] __attribute__((aligned(16384)));
static u64 gl1[512] __attribute__((aligned(4096)));
static u64 gl0[512] __attribute__((aligned(4096)));
/* VS-stage tables (root, L1, L0) and the data page, reached through the G-stage. */
static u64 vs[3][512] __attribute__((aligned(4096)));
static u64 data[2][512] __attribute__((aligned(4096)));

static u64 mprv_load(u64 va)
{
    u64 v;
    asm volatile("csrs mstatus, %1\n\tld %0, 0(%2)\n\tcsrc mstatus, %1"
                 : "=&r"(v) : "r"(MSTATUS_MPRV), "r"(va) : "memory");
    return v;
}

int main(void)
{
    println("hwalk: two-stage walk reference counts");
    data[0][0] = 0x1111;
    data[1][0] = 0x2222;
    /* G-stage: gPA 0x1_0000_0000 + i*4K -> vs[0..2], data[0] (4 KiB pages, U=1). */
    groot[GPA_TABLES >> 30] = PTE_TABLE(gl1);
    gl1[0] = PTE_TABLE(gl0);
    for (int i = 0; i < 3; i++)
        gl0[i] = PTE_LEAF((u64)vs[i], PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
    gl0[4] = PTE_LEAF((u64)data[0], PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
    /* VS-stage, written with guest-physical pointers: GVA_DATA -> GPA_DATA. */
    vs[0][GVA_DATA >> 30] = ((GPA_TABLES + 0x1000) >> 12) << PTE_PPN_SHIFT | PTE_V;
    vs[1][0] = ((GPA_TABLES + 0x2000) >> 12) << PTE_PPN_SHIFT | PTE_V;
    vs[2][0] = (GPA_DATA >> 12) << PTE_PPN_SHIFT | PTE_R | PTE_W | PTE_A | PTE_D | PTE_V;
    /* The second page, for the G-stage Bare run: gPA = host address of data[1]. */
    vs[2][1] = ((u64)data[1] >> 12) << PTE_PPN_SHIFT | PTE_R | PTE_W | PTE_A | PTE_D | PTE_V;

    csr_write(CSR_HGATP, HGATP_SV39X4 | ((u64)groot >> 12));
    csr_write(CSR_VSATP, SATP_MODE_SV39 | (GPA_TABLES >> 12));
    asm volatile(HFENCE_GVMA_ALL ::: "memory");
    csr_clear(mstatus, MSTATUS_MPP);
    csr_set(mstatus, (PRV_S << MSTATUS_MPP_SHIFT) | MSTATUS_MPV);
    check("two-stage-load", mprv_load(GVA_DATA), 0x1111);

    /* G-stage Bare: the VS-stage tables' gPAs are host addresses now. */
    csr_write(CSR_HGATP, 0);
    csr_write(CSR_VSATP, SATP_MODE_SV39 | ((u64)vs[0] >> 12));
    vs[0][GVA_DATA >> 30] = ((u64)vs[1] >> 12) << PTE_PPN_SHIFT | PTE_V;
    vs[1][0] = ((u64)vs[2] >> 12) << PTE_PPN_SHIFT | PTE_V;
    asm volatile(HFENCE_VVMA_ALL ::: "memory");
    check("single-stage-load", mprv_load(GVA_DATA + 0x1000), 0x2222);
    csr_clear(mstatus, MSTATUS_MPV | MSTATUS_MPP);
    return summary();
}
