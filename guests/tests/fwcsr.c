/* fwcsr: the CSRs an M-mode firmware (OpenSBI 1.1, lib/sbi/sbi_hart.c) and a kernel read at
 * boot, probed the way they probe them (privileged spec v1.12 chapters 3 and 4, Sstc v1.0):
 *   - Zicntr: cycle, time, instret from S and U, gated by mcounteren and scounteren;
 *   - Zihpm: hpmcounterN gated the same way; mhpmcounterN and mhpmeventN exist (OpenSBI
 *     counts them by writing 1 and reading back: values are not printed, since an
 *     implementation may hard-wire them to zero). N is 3 and 18 only: QEMU 7.2 has 16
 *     counters and makes 19..31 illegal, where the spec has them all exist (hvlab does);
 *   - the privilege-version probe: mcounteren (1.10), mcountinhibit (1.11), menvcfg (1.12);
 *   - menvcfg/senvcfg/henvcfg.FIOM writable (henvcfg.STCE's dependence on menvcfg.STCE is
 *     checked by the spec guest: QEMU 7.2 lets it be set alone);
 *   - PMP: pmpaddr0 written all ones reads back the implemented address bits (granularity 4);
 *   - Sstc: stimecmp reachable from S only with menvcfg.STCE and mcounteren.TM; with STCE,
 *     mip.STIP follows time >= stimecmp and ignores writes.
 * Same output on QEMU 7.2 and hvlab. */
#include "rt.h"

#define CSRR_T0(csr) (((u64)(csr) << 20) | (2 << 12) | (5 << 7) | 0x73)

#define CSR_MCOUNTINHIBIT 0x320
#define CSR_MENVCFG       0x30a
#define CSR_SENVCFG       0x10a
#define CSR_HENVCFG       0x60a
#define CSR_STIMECMP      0x14d
#define CSR_VSTIMECMP     0x24d
#define ENVCFG_FIOM       1UL
#define ENVCFG_STCE       (1UL << 63)
#define COUNTEREN_CY      (1UL << 0)
#define COUNTEREN_TM      (1UL << 1)
#define COUNTEREN_IR      (1UL << 2)
#define COUNTEREN_HPM3    (1UL << 3)
#define COUNTEREN_HPM18   (1UL << 18)

/* "csrr t0, CSR", so that a trap's tval is CSRR_T0(CSR). */
#define READ_T0(fn, csr) \
    static u64 fn(u64 a) { u64 v; (void)a; asm volatile("csrr t0, " #csr "\n\tmv %0, t0" : "=r"(v) :: "t0"); return v; }
READ_T0(read_cycle, 0xc00)
READ_T0(read_time, 0xc01)
READ_T0(read_instret, 0xc02)
READ_T0(read_hpm3, 0xc03)
READ_T0(read_hpm18, 0xc12)
READ_T0(read_stimecmp, 0x14d)

struct counter { const char *name; u64 (*fn)(u64); u64 bit; u64 csr; };
static const struct counter counters[] = {
    { "cycle", read_cycle, COUNTEREN_CY, 0xc00 },
    { "time", read_time, COUNTEREN_TM, 0xc01 },
    { "instret", read_instret, COUNTEREN_IR, 0xc02 },
    { "hpmcounter3", read_hpm3, COUNTEREN_HPM3, 0xc03 },
    { "hpmcounter18", read_hpm18, COUNTEREN_HPM18, 0xc12 },
};

static void named(const char *a, const char *b, const char *c, char *out)
{
    const char *parts[3] = { a, b, c };
    for (int i = 0; i < 3; i++)
        for (const char *p = parts[i]; *p; p++)
            *out++ = *p;
    *out = 0;
}

/* Each counter from S and U: mcounteren gates S and U, scounteren gates U (3.1.11, 4.1.5). */
static void zicntr_zihpm(void)
{
    char name[64];
    for (unsigned i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        const struct counter *c = &counters[i];
        csr_write(mcounteren, 0);
        csr_write(scounteren, ~0UL);
        trap_expect();
        run_in_mode(PRV_S, c->fn, 0);
        named(c->name, "-from-S-", "mcounteren-0", name);
        check_trap(name, CAUSE_ILLEGAL_INSN, CSRR_T0(c->csr));
        csr_write(mcounteren, c->bit);
        csr_write(scounteren, 0);
        trap_expect();
        run_in_mode(PRV_S, c->fn, 0);
        named(c->name, "-from-S-", "mcounteren-set", name);
        check_no_trap(name);
        trap_expect();
        run_in_mode(PRV_U, c->fn, 0);
        named(c->name, "-from-U-", "scounteren-0", name);
        check_trap(name, CAUSE_ILLEGAL_INSN, CSRR_T0(c->csr));
        csr_write(scounteren, c->bit);
        trap_expect();
        run_in_mode(PRV_U, c->fn, 0);
        named(c->name, "-from-U-", "scounteren-set", name);
        check_no_trap(name);
    }
    csr_write(mcounteren, 0);
    csr_write(scounteren, 0);
}

/* OpenSBI's probes: each CSR exists (no trap); the counts and values are the machine's. */
static void firmware_probes(void)
{
    trap_expect();
    (void)csr_read(mcounteren);
    (void)csr_read(CSR_MCOUNTINHIBIT);
    (void)csr_read(CSR_MENVCFG);
    check_no_trap("priv-1.12-probe-mcounteren-mcountinhibit-menvcfg");
    trap_expect();
    (void)csr_read(mhpmcounter3);
    (void)csr_read(mhpmcounter18);
    (void)csr_read(mhpmevent3);
    (void)csr_read(mhpmevent18);
    csr_write(mhpmevent3, 0);
    check_no_trap("mhpmcounter-mhpmevent-3-18-exist");
    trap_expect();
    csr_write(CSR_MCOUNTINHIBIT, 0);
    check_no_trap("mcountinhibit-writable");

    /* pmpaddr0 all ones with pmpcfg0 OFF: OpenSBI derives the granularity from the lowest set
     * bit (bit 0: 4 bytes) and the address bits from the highest; pmpaddr holds address
     * bits 55:2, 54 bits (3.7.1). QEMU 7.2 keeps all 64 bits written, so only the 54 are
     * checked. */
    u64 cfg = csr_read(pmpcfg0), addr = csr_read(pmpaddr0);
    csr_write(pmpcfg0, 0);
    csr_write(pmpaddr0, ~0UL);
    u64 all = csr_read(pmpaddr0);
    check("pmp-granularity-4", all & -all, 1);
    check("pmpaddr0-54-address-bits", all & ((1UL << 54) - 1), (1UL << 54) - 1);
    csr_write(pmpaddr0, addr);
    csr_write(pmpcfg0, cfg);
}

static void envcfg(void)
{
    csr_write(CSR_MENVCFG, 0);
    csr_set(CSR_MENVCFG, ENVCFG_FIOM);
    check("menvcfg-FIOM", csr_read(CSR_MENVCFG) & ENVCFG_FIOM, ENVCFG_FIOM);
    csr_write(CSR_SENVCFG, ENVCFG_FIOM);
    check("senvcfg-FIOM", csr_read(CSR_SENVCFG) & ENVCFG_FIOM, ENVCFG_FIOM);
    csr_write(CSR_HENVCFG, ENVCFG_FIOM);
    check("henvcfg-FIOM", csr_read(CSR_HENVCFG) & ENVCFG_FIOM, ENVCFG_FIOM);
    csr_write(CSR_MENVCFG, ENVCFG_STCE);
    check("menvcfg-STCE", csr_read(CSR_MENVCFG) & ENVCFG_STCE, ENVCFG_STCE);
    csr_write(CSR_HENVCFG, ENVCFG_STCE);
    check("henvcfg-STCE-with-menvcfg-STCE", csr_read(CSR_HENVCFG) & ENVCFG_STCE, ENVCFG_STCE);
    csr_write(CSR_HENVCFG, 0);
    csr_write(CSR_SENVCFG, 0);
    csr_write(CSR_MENVCFG, 0);
}

static int stip(void) { return (csr_read(mip) & MIP_STIP) != 0; }

static void sstc(void)
{
    csr_write(mie, 0);
    csr_write(mip, 0);
    /* From S: needs menvcfg.STCE and mcounteren.TM (Sstc section 1). */
    csr_write(mcounteren, COUNTEREN_TM);
    trap_expect();
    run_in_mode(PRV_S, read_stimecmp, 0);
    check_trap("stimecmp-from-S-menvcfg-STCE-0", CAUSE_ILLEGAL_INSN, CSRR_T0(CSR_STIMECMP));
    csr_write(CSR_MENVCFG, ENVCFG_STCE);
    csr_write(mcounteren, 0);
    trap_expect();
    run_in_mode(PRV_S, read_stimecmp, 0);
    check_trap("stimecmp-from-S-mcounteren-TM-0", CAUSE_ILLEGAL_INSN, CSRR_T0(CSR_STIMECMP));
    csr_write(mcounteren, COUNTEREN_TM);
    trap_expect();
    run_in_mode(PRV_S, read_stimecmp, 0);
    check_no_trap("stimecmp-from-S-STCE-TM");
    trap_expect();
    run_in_mode(PRV_U, read_stimecmp, 0);
    check_trap("stimecmp-from-U", CAUSE_ILLEGAL_INSN, CSRR_T0(CSR_STIMECMP));

    /* With STCE, STIP is time >= stimecmp, and writes to mip.STIP are ignored. */
    csr_write(CSR_STIMECMP, ~0UL);
    check("stip-stimecmp-never", stip(), 0);
    csr_set(mip, MIP_STIP);
    check("stip-not-writable-with-STCE", stip(), 0);
    csr_write(CSR_STIMECMP, 0);
    check("stip-stimecmp-past", stip(), 1);
    /* 1 000 000 ticks: 0.1 s of QEMU's real-time clock, so a loaded host cannot let the
     * compare pass before STIP is read; 10 M instructions on hvlab's instret clock. */
    csr_write(CSR_STIMECMP, csr_read(time) + 1000000);
    check("stip-stimecmp-future", stip(), 0);
    int rose = 0;
    for (int i = 0; i < 50000000 && !rose; i++)
        rose = stip();
    check("stip-rises-when-time-reaches-stimecmp", rose, 1);
    check_true("time-reached-stimecmp", csr_read(time) >= csr_read(CSR_STIMECMP));
    csr_write(CSR_STIMECMP, ~0UL);
    check("stip-falls-with-new-stimecmp", stip(), 0);
    /* WFI wakes when the stimecmp line rises (mie.STIE set, mstatus.MIE clear: no trap is
     * taken, 3.3.3); on hvlab the idle hart's clock skips to stimecmp. */
    csr_clear(mstatus, MSTATUS_MIE);
    csr_write(mie, MIP_STIP);
    csr_write(CSR_STIMECMP, csr_read(time) + 100000);
    while (!stip())
        asm volatile("wfi");
    check_true("wfi-woken-at-stimecmp", csr_read(time) >= csr_read(CSR_STIMECMP));
    csr_write(mie, 0);
    csr_write(CSR_STIMECMP, ~0UL);
    /* vstimecmp: the H extension's copy, accessible to M. */
    csr_write(CSR_VSTIMECMP, 0x1234);
    check("vstimecmp-writable", csr_read(CSR_VSTIMECMP), 0x1234);
    csr_write(CSR_VSTIMECMP, ~0UL);
    csr_write(CSR_MENVCFG, 0);
    csr_write(mcounteren, 0);
}

int main(void)
{
    println("fwcsr: the CSRs firmware and kernels probe at boot");
    zicntr_zihpm();
    firmware_probes();
    envcfg();
    sstc();
    return summary();
}
