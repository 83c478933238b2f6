/* spec: behaviour where QEMU 7.2 departs from the RISC-V spec. hvlab follows
 * the spec, so this guest runs on hvlab only; its golden output is every
 * check passing (docs/guests.md lists what QEMU 7.2 does instead).
 *   - misaligned AMO and SC raise store/AMO address-misaligned (cause 6);
 *   - an AMO to an unmapped address raises store/AMO access fault (cause 7);
 *   - CSRRS/CSRRC with rs1 != x0 write even when rs1 holds 0, so they trap on
 *     a read-only CSR (Zicsr 9.1);
 *   - mepc[0] and sepc[0] read as zero (IALIGN = 16, 3.1.14);
 *   - mstatus.MPP never holds the reserved value 2 (3.1.6.1, WARL);
 *   - mhpmcounter3..31, mhpmevent3..31 and hpmcounter3..31 all exist (3.1.10, Zihpm):
 *     QEMU 7.2 has 16 counters and makes 19..31 illegal;
 *   - pmpaddr holds address bits 55:2 only (3.7.1): QEMU 7.2 keeps all 64 bits written;
 *   - henvcfg.STCE is read-only zero while menvcfg.STCE is 0 (Sstc): QEMU 7.2 lets it be set. */
#include "rt.h"

#define UNMAPPED 0x200000UL

static u64 cell[4] __attribute__((aligned(16)));

int main(void)
{
    u64 a = (u64)cell + 2;
    println("spec: checks where QEMU 7.2 differs from the spec (hvlab only)");

    trap_expect();
    asm volatile("amoadd.w t0, t0, (%0)" :: "r"(a) : "t0", "memory");
    check_trap("amoadd.w-misaligned-cause-6", CAUSE_MISALIGNED_STORE, a);
    trap_expect();
    asm volatile("amoswap.d t0, t0, (%0)" :: "r"(a + 2) : "t0", "memory");
    check_trap("amoswap.d-misaligned-cause-6", CAUSE_MISALIGNED_STORE, a + 2);
    trap_expect();
    asm volatile("sc.w t0, t0, (%0)" :: "r"(a) : "t0", "memory");
    check_trap("sc.w-misaligned-cause-6", CAUSE_MISALIGNED_STORE, a);
    trap_expect();
    asm volatile("amoor.d t0, t0, (%0)" :: "r"(UNMAPPED) : "t0", "memory");
    check_trap("amo-unmapped-cause-7", CAUSE_STORE_ACCESS, UNMAPPED);

    trap_expect();
    asm volatile("li t0, 0\n\tcsrrs t1, mhartid, t0" ::: "t0", "t1");
    check_trap("csrrs-rs1-zero-value-read-only", CAUSE_ILLEGAL_INSN, 0xf142a373);
    trap_expect();
    asm volatile("li t0, 0\n\tcsrrc t1, mvendorid, t0" ::: "t0", "t1");
    check_trap("csrrc-rs1-zero-value-read-only", CAUSE_ILLEGAL_INSN, 0xf112b373);

    /* IALIGN = 16: bit 0 of mepc/sepc is zero, bit 1 is kept (QEMU 7.2 keeps bit 0). */
    csr_write(mepc, 0x80000003UL);
    check("mepc-bit0-zero", csr_read(mepc), 0x80000002UL);
    csr_write(sepc, 0x80000007UL);
    check("sepc-bit0-zero", csr_read(sepc), 0x80000006UL);

    csr_clear(mstatus, MSTATUS_MPP);
    csr_set(mstatus, 2UL << MSTATUS_MPP_SHIFT);
    check_true("mpp-never-2", ((csr_read(mstatus) & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT) != 2);
    csr_clear(mstatus, MSTATUS_MPP);

    trap_expect();
    (void)csr_read(mhpmcounter31);
    (void)csr_read(mhpmevent31);
    (void)csr_read(hpmcounter31);
    check_no_trap("hpm-counters-19-31-exist");
    u64 cfg = csr_read(pmpcfg0), addr = csr_read(pmpaddr0);
    csr_write(pmpcfg0, 0);
    csr_write(pmpaddr0, ~0UL);
    check("pmpaddr-54-bits", csr_read(pmpaddr0), (1UL << 54) - 1);
    csr_write(pmpaddr0, addr);
    csr_write(pmpcfg0, cfg);
    csr_write(0x30a, 0);                      /* menvcfg: STCE = 0 */
    csr_write(0x60a, 1UL << 63);              /* henvcfg: STCE */
    check("henvcfg-STCE-needs-menvcfg-STCE", csr_read(0x60a) >> 63, 0);
    return summary();
}
