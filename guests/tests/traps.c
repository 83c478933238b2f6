/* traps: exceptions and privilege transitions (priv spec 3.1.6-3.1.7,
 * 3.1.15-3.1.16, 3.3, 4.1). ecall from M/S/U, ebreak, illegal instructions
 * (mtval = instruction bits), JALR clearing bit 0 of its target (with
 * IALIGN = 16 no target is misaligned), fetch/load/store access faults
 * at an unmapped physical address, medeleg delegation to S-mode through
 * stvec, mret/sret updates of MPP/SPP/MPIE/SPIE/MIE/SIE, mtvec vectored
 * mode, and the TSR/TW/TVM traps. */
#include "rt.h"

#define UNMAPPED 0x200000UL   /* a hole in the virt memory map */
#define INSN_SRET 0x10200073UL
#define INSN_MRET 0x30200073UL
#define INSN_WFI  0x10500073UL
#define INSN_SFENCE_VMA 0x12000073UL
#define INSN_CSRR_T0_SATP ((0x180UL << 20) | (2 << 12) | (5 << 7) | 0x73)

extern char mvec_table[];
extern volatile u64 vec_hit;

static u64 do_ecall(u64 unused)
{
    (void)unused;
    asm volatile("li a7, 0\n\tecall" ::: "a7", "memory");
    return 0;
}

static u64 do_ebreak(u64 unused)
{
    (void)unused;
    asm volatile("ebreak" ::: "memory");
    return 0;
}

static u64 do_sret(u64 unused)
{
    (void)unused;
    asm volatile("sret" ::: "memory");
    return 0;
}

static u64 do_mret(u64 unused)
{
    (void)unused;
    asm volatile("mret" ::: "memory");
    return 0;
}

static u64 do_wfi(u64 unused)
{
    (void)unused;
    asm volatile("wfi" ::: "memory");
    return 0;
}

static u64 do_read_satp(u64 unused)
{
    (void)unused;
    asm volatile("csrr t0, satp" ::: "t0", "memory");
    return 0;
}

static u64 do_sfence(u64 unused)
{
    (void)unused;
    asm volatile("sfence.vma" ::: "memory");
    return 0;
}

static u64 do_read_sstatus(u64 unused)
{
    (void)unused;
    return csr_read(sstatus);
}

static void ecalls(void)
{
    u64 pc;
    trap_expect();
    asm volatile("1: li a7, 0\n\tecall\n\tla %0, 1b" : "=r"(pc) :: "a7", "memory");
    check_trap("ecall-from-M", CAUSE_ECALL_M, 0);
    check("ecall-from-M-mepc", trap.epc - pc, 4);
    trap_expect();
    run_in_mode(PRV_S, do_ecall, 0);
    check_trap("ecall-from-S", CAUSE_ECALL_S, 0);
    check("ecall-from-S-mpp", trap.from, PRV_S);
    trap_expect();
    run_in_mode(PRV_U, do_ecall, 0);
    check_trap("ecall-from-U", CAUSE_ECALL_U, 0);
    check("ecall-from-U-mpp", trap.from, PRV_U);
    trap_expect();
    asm volatile("ebreak" ::: "memory");
    /* mtval for EBREAK is 0 on QEMU 7.2 (the spec allows 0 or the pc). */
    check_trap_cause("ebreak", CAUSE_BREAKPOINT);
    trap_expect();
    run_in_mode(PRV_U, do_ebreak, 0);
    check_trap_cause("ebreak-from-U", CAUSE_BREAKPOINT);
}

static void illegal(void)
{
    trap_expect();
    asm volatile(".word 0x00000000" ::: "memory");
    check_trap("illegal-all-zero", CAUSE_ILLEGAL_INSN, 0);
    trap_expect();
    asm volatile(".word 0xffffffff" ::: "memory");
    check_trap("illegal-all-ones", CAUSE_ILLEGAL_INSN, 0xffffffff);
    trap_expect();
    asm volatile(".word 0x0000707f" ::: "memory");   /* custom-3 opcode */
    check_trap("illegal-custom-opcode", CAUSE_ILLEGAL_INSN, 0x0000707f);
    trap_expect();
    asm volatile(".word 0x0000503b" ::: "memory");   /* OP-32 funct3=5 funct7=0 with rs2 field... valid srlw */
    check_no_trap("srlw-x0-is-legal");
    trap_expect();
    asm volatile(".word 0x02007033" ::: "memory");   /* OP funct7=1 funct3=7: remu x0 */
    check_no_trap("remu-x0-is-legal");
    trap_expect();
    asm volatile(".word 0x4000100b" ::: "memory");   /* custom-0 */
    check_trap("illegal-custom-0", CAUSE_ILLEGAL_INSN, 0x4000100b);
    trap_expect();
    asm volatile(".word 0x0200101b" ::: "memory");   /* slliw with shamt[5]=1: reserved */
    check_trap("illegal-slliw-shamt5", CAUSE_ILLEGAL_INSN, 0x0200101b);
    trap_expect();
    run_in_mode(PRV_S, do_mret, 0);
    check_trap("mret-from-S", CAUSE_ILLEGAL_INSN, INSN_MRET);
    trap_expect();
    run_in_mode(PRV_U, do_sret, 0);
    check_trap("sret-from-U", CAUSE_ILLEGAL_INSN, INSN_SRET);
    trap_expect();
    run_in_mode(PRV_U, do_read_sstatus, 0);
    check_trap("sstatus-from-U", CAUSE_ILLEGAL_INSN, (0x100UL << 20) | (2 << 12) | (10 << 7) | 0x73);
}

static void target(void) {}

/* IALIGN = 16 (the C extension is on): no jump or branch target can be
 * misaligned, since all are even; JALR clears bit 0 of its target. (Jumps to
 * 2-byte aligned targets run in the rvc guest, which may hold 16-bit code.) */
static void jump_targets(void)
{
    trap_expect();
    asm volatile("jalr ra, 1(%0)" :: "r"((u64)target) : "ra", "memory");
    check_no_trap("jalr-odd-target-clears-bit-0");
    trap_expect();
    asm volatile("bne x0, x0, .+6" ::: "memory");
    check_no_trap("branch-not-taken-2-aligned-ok");
}

static void access_faults(void)
{
    u64 v = 0x1234;
    trap_expect();
    asm volatile("ld %0, 0(%1)" : "+r"(v) : "r"(UNMAPPED) : "memory");
    check_trap("load-access-fault", CAUSE_LOAD_ACCESS, UNMAPPED);
    check("load-access-fault-rd-unchanged", v, 0x1234);
    trap_expect();
    asm volatile("sw %0, 8(%1)" :: "r"(v), "r"(UNMAPPED) : "memory");
    check_trap("store-access-fault", CAUSE_STORE_ACCESS, UNMAPPED + 8);
    trap_expect();
    asm volatile("lbu %0, 3(%1)" : "+r"(v) : "r"(UNMAPPED) : "memory");
    check_trap("load-byte-access-fault", CAUSE_LOAD_ACCESS, UNMAPPED + 3);
    trap_resume_at((u64)target);
    trap_expect();
    asm volatile("jalr ra, 0(%0)" :: "r"(UNMAPPED) : "ra", "memory");
    check_trap("fetch-access-fault", CAUSE_FETCH_ACCESS, UNMAPPED);
    check("fetch-access-fault-mepc", trap.epc, UNMAPPED);
}

static void delegation(void)
{
    csr_write(medeleg, (1UL << CAUSE_BREAKPOINT) | (1UL << CAUSE_ILLEGAL_INSN) | (1UL << CAUSE_ECALL_U));
    trap_expect();
    run_in_mode(PRV_S, do_ebreak, 0);
    check_trap_cause("delegated-ebreak-from-S", CAUSE_BREAKPOINT);
    check("delegated-ebreak-taken-in-S", trap.taken_in, PRV_S);
    check("delegated-ebreak-spp-S", trap.from, PRV_S);
    trap_expect();
    run_in_mode(PRV_U, do_ecall, 0);
    check_trap_cause("delegated-ecall-from-U", CAUSE_ECALL_U);
    check("delegated-ecall-taken-in-S", trap.taken_in, PRV_S);
    check("delegated-ecall-spp-U", trap.from, PRV_U);
    trap_expect();
    run_in_mode(PRV_U, do_sret, 0);
    check_trap("delegated-illegal-stval", CAUSE_ILLEGAL_INSN, INSN_SRET);
    check("delegated-illegal-taken-in-S", trap.taken_in, PRV_S);
    /* Traps taken in M are never delegated (3.1.8). */
    trap_expect();
    asm volatile("ebreak" ::: "memory");
    check_trap_cause("ebreak-in-M-not-delegated", CAUSE_BREAKPOINT);
    check("ebreak-in-M-taken-in-M", trap.taken_in, PRV_M);
    /* ecall from S is not delegated here: goes to M. */
    trap_expect();
    run_in_mode(PRV_S, do_ecall, 0);
    check("undelegated-ecall-S-taken-in-M", trap.taken_in, PRV_M);
    check_trap_cause("undelegated-ecall-S-cause", CAUSE_ECALL_S);
    csr_write(medeleg, 0);
}

/* xRET semantics (3.3.2): xIE <- xPIE, xPIE <- 1, xPP <- U; mode <- old xPP. */
static u64 s_sret_to_self(u64 unused)
{
    u64 s;
    (void)unused;
    csr_clear(sstatus, MSTATUS_SIE);
    csr_set(sstatus, MSTATUS_SPP | MSTATUS_SPIE);
    asm volatile("la t0, 1f\n\tcsrw sepc, t0\n\tsret\n1:" ::: "t0", "memory");
    s = csr_read(sstatus);
    csr_clear(sstatus, MSTATUS_SIE);
    return s;
}

static u64 s_sret_to_u(u64 unused)
{
    (void)unused;
    csr_clear(sstatus, MSTATUS_SPP);
    asm volatile("la t0, 1f\n\tcsrw sepc, t0\n\tsret\n1:\tli a7, 0\n\tecall" ::: "t0", "a7", "memory");
    return 0;
}

static u64 trap_mstatus;

static int snapshot_mstatus(struct frame *f, u64 cause)
{
    (void)f;
    (void)cause;
    trap_mstatus = csr_read(mstatus);
    return 0;
}

static void xret(void)
{
    u64 s;
    csr_write(mie, 0);
    csr_clear(mstatus, MSTATUS_MIE);
    csr_set(mstatus, MSTATUS_MPIE | MSTATUS_MPP);
    asm volatile("la t0, 1f\n\tcsrw mepc, t0\n\tmret\n1:" ::: "t0", "memory");
    s = csr_read(mstatus);
    csr_clear(mstatus, MSTATUS_MIE);
    check("mret-MIE-from-MPIE", s & MSTATUS_MIE, MSTATUS_MIE);
    check("mret-MPIE-set", s & MSTATUS_MPIE, MSTATUS_MPIE);
    check("mret-MPP-to-U", s & MSTATUS_MPP, 0);
    csr_clear(mstatus, MSTATUS_MPIE);
    csr_set(mstatus, MSTATUS_MPP);
    asm volatile("la t0, 1f\n\tcsrw mepc, t0\n\tmret\n1:" ::: "t0", "memory");
    check("mret-MIE-from-MPIE-0", csr_read(mstatus) & (MSTATUS_MIE | MSTATUS_MPIE), MSTATUS_MPIE);

    s = run_in_mode(PRV_S, s_sret_to_self, 0);
    check("sret-SIE-from-SPIE", s & MSTATUS_SIE, MSTATUS_SIE);
    check("sret-SPIE-set", s & MSTATUS_SPIE, MSTATUS_SPIE);
    check("sret-SPP-to-U", s & MSTATUS_SPP, 0);
    trap_expect();
    run_in_mode(PRV_S, s_sret_to_u, 0);
    check_trap_cause("sret-to-U-then-ecall", CAUSE_ECALL_U);
    check("sret-to-U-mode", trap.from, PRV_U);
    /* A trap into M saves MIE in MPIE and clears MIE (3.1.6.1). */
    mtrap_hook = snapshot_mstatus;
    csr_set(mstatus, MSTATUS_MIE);
    trap_expect();
    asm volatile("ebreak" ::: "memory");
    s = csr_read(mstatus);
    csr_clear(mstatus, MSTATUS_MIE);
    mtrap_hook = NULL;
    check("trap-saves-MIE-in-MPIE", trap_mstatus & (MSTATUS_MIE | MSTATUS_MPIE), MSTATUS_MPIE);
    check("mret-restores-MIE", s & MSTATUS_MIE, MSTATUS_MIE);
}

static void vectored(void)
{
    u64 saved = csr_read(mtvec);
    csr_write(mtvec, (u64)mvec_table | 1);
    vec_hit = 0;
    csr_write(mie, MIP_MSIP);
    mmio_write32(CLINT_MSIP, 1);
    csr_set(mstatus, MSTATUS_MIE);
    for (volatile int i = 0; i < 1000 && vec_hit == 0; i++)
        ;
    csr_clear(mstatus, MSTATUS_MIE);
    csr_write(mie, 0);
    check("mtvec-vectored-msi-slot", vec_hit, 3);
    check("msip-cleared", csr_read(mip) & MIP_MSIP, 0);
    /* Exceptions still enter at the base in vectored mode. */
    trap_expect();
    asm volatile("ebreak" ::: "memory");
    check_trap_cause("mtvec-vectored-exception-at-base", CAUSE_BREAKPOINT);
    csr_write(mtvec, saved);
}

static void trap_virtualization(void)
{
    csr_set(mstatus, MSTATUS_TSR);
    trap_expect();
    run_in_mode(PRV_S, s_sret_to_self, 0);
    check_trap("TSR-sret-in-S", CAUSE_ILLEGAL_INSN, INSN_SRET);
    csr_clear(mstatus, MSTATUS_TSR);
    trap_expect();
    run_in_mode(PRV_S, s_sret_to_self, 0);
    check_no_trap("sret-in-S-without-TSR");

    csr_set(mstatus, MSTATUS_TW);
    trap_expect();
    run_in_mode(PRV_S, do_wfi, 0);
    check_trap("TW-wfi-in-S", CAUSE_ILLEGAL_INSN, INSN_WFI);
    csr_clear(mstatus, MSTATUS_TW);

    csr_set(mstatus, MSTATUS_TVM);
    trap_expect();
    run_in_mode(PRV_S, do_read_satp, 0);
    check_trap("TVM-satp-in-S", CAUSE_ILLEGAL_INSN, INSN_CSRR_T0_SATP);
    trap_expect();
    run_in_mode(PRV_S, do_sfence, 0);
    check_trap("TVM-sfence.vma-in-S", CAUSE_ILLEGAL_INSN, INSN_SFENCE_VMA);
    csr_clear(mstatus, MSTATUS_TVM);
    trap_expect();
    run_in_mode(PRV_S, do_read_satp, 0);
    run_in_mode(PRV_S, do_sfence, 0);
    check_no_trap("satp-sfence-in-S-without-TVM");
    trap_expect();
    run_in_mode(PRV_U, do_sfence, 0);
    check_trap("sfence.vma-from-U", CAUSE_ILLEGAL_INSN, INSN_SFENCE_VMA);
}

int main(void)
{
    println("traps: exceptions, delegation and privilege transitions");
    ecalls();
    illegal();
    jump_targets();
    access_faults();
    delegation();
    xret();
    vectored();
    trap_virtualization();
    return summary();
}
