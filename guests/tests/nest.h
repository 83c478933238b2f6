/* nest.h: what the nesting guests share (tests/nest.c, tests/nestwalk.c,
 * tests/hostile-nest.c). Each is an S-mode kernel for the builtin firmware
 * (entered through sbi-crt.S like the sbi guest) that uses the H extension:
 * it runs in HS-mode natively, and as the guest hypervisor L1 under hvlab's
 * hvm-nested with --nested (docs/nested.md), where its HS-mode is virtual.
 * The console output must be the same in both (test/nested.test.ts).
 *
 * L2 code runs in VS or VU through run_l2() (tests/nest.S) on L1's G-stage
 * table `groot`, which maps L1's image identically with 4 KiB pages so that L2
 * can run L1's own functions. */
#ifndef NEST_H
#define NEST_H

#include "rt.h"
#include "hext.h"

#define UNUSED __attribute__((unused))
#define L2_RETURN 0x5e7a12
#define IMAGE_GPA 0x80200000UL      /* sbi-crt.S: the image's load address */
#define IMAGE_PAGES 512             /* mapped for L2: 2 MiB from the image's start */

/* What the last trap of L2 that reached L1 looked like (tests/nest.S l1_vec). */
struct l1trap { u64 cause, tval, epc, htval, htinst, hstatus, sstatus, a7; };
extern volatile struct l1trap l1trap;
/* What L2's own handler saw (tests/nest.S l2_vec); count counts its traps. */
struct l2trap { u64 cause, tval, epc, count, t1; };
extern volatile struct l2trap l2trap;
extern char l2_vec[];

u64 run_l2_raw(u64 fn, u64 arg, u64 sp);
u64 l2_load(u64 gva);

static u64 groot[2048] __attribute__((aligned(16384)));
static u64 gl1[512] __attribute__((aligned(4096)));
static u64 gl0[512] __attribute__((aligned(4096)));
static u64 l2_stack[512] __attribute__((aligned(16)));

/* hstatus's SPV, SPVP and GVA: what a trap into HS writes (section 8.6.4). */
#define HSTATUS_TRAP_BITS (HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA)

/* G-stage: L1's image, identity, 4 KiB leaves (U = 1, as every G-stage leaf needs). */
static UNUSED void gstage_identity(void)
{
    groot[IMAGE_GPA >> 30] = PTE_TABLE(gl1);
    gl1[(IMAGE_GPA >> 21) & 511] = PTE_TABLE(gl0);
    for (u64 i = 0; i < IMAGE_PAGES; i++)
        gl0[i] = PTE_LEAF(IMAGE_GPA + (i << 12), PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D);
}

static UNUSED void gstage_on(void)
{
    csr_write(CSR_HGATP, HGATP_SV39X4 | ((u64)groot >> 12));
    asm volatile(HFENCE_GVMA_ALL ::: "memory");
}

/* Call fn(arg) in VS (PRV_S) or VU (PRV_U); its result, or ~0 if a trap of L2 reached L1. */
static UNUSED u64 run_l2(u64 priv, u64 (*fn)(u64), u64 arg)
{
    if (priv == PRV_S) {
        csr_set(CSR_HSTATUS, HSTATUS_SPVP);
        csr_set(sstatus, MSTATUS_SPP);
    } else {
        csr_clear(CSR_HSTATUS, HSTATUS_SPVP);
        csr_clear(sstatus, MSTATUS_SPP);
    }
    l1trap.cause = ~0UL;
    return run_l2_raw((u64)fn, arg, (u64)&l2_stack[512]);
}

/* Checks that L2's run ended with a trap into L1 with `cause`, `tval`, htval and the
 * hstatus trap bits `hbits`. */
static UNUSED void check_l1trap(const char *name, u64 got, u64 cause, u64 tval, u64 htval, u64 hbits)
{
    print(name);
    println(":");
    check("  ran", got, ~0UL);
    check("  scause", l1trap.cause, cause);
    check("  stval", l1trap.tval, tval);
    check("  htval", l1trap.htval, htval);
    check("  hstatus", l1trap.hstatus & HSTATUS_TRAP_BITS, hbits);
}

#endif
