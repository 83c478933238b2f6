/* hext: the hypervisor extension (priv spec v1.12, chapter 8), from M-mode.
 * CSRs and their aliases (8.2, V=0 and V=1), the virtual-instruction cases of
 * 8.6.1, trap delegation to VS and HS with every field written (8.6.4), SRET
 * and MRET with SPV/MPV, two-stage translation (8.5: 4 KiB and superpages at
 * both stages, 11-bit Sv39x4 root index, G-stage U=0, misaligned G superpage,
 * MXR of both stages, implicit VS-stage PTE faults), HLV/HLVX/HSV, HFENCE, and
 * VS interrupts injected through hvip and delegated by hideleg.
 *
 * Code runs in VS/VU through run_v() (mret with MPV=1). VS-mode traps land in
 * strap_entry through vstvec, on a stack of their own (vsscratch), where the
 * strap hook recognises them by that stack. Guest-physical map (G-stage):
 *   0x0_8000_0000 1 GiB -> RAM identity (U RWX)        [code, data, stacks]
 *   0x1_0000_0000 4 KiB -> frame[0] (RW)  +0x1000 -> frame[1] (U=0)
 *                 +0x2000 unmapped        +0x3000 -> frame[2] (X only)
 *   0x1_0020_0000 2 MiB -> 0x8100_0000;  0x1_0040_0000 2 MiB misaligned
 *   0x1ff_c000_0000 1 GiB -> RAM (root index 0x7ff)
 * VS-stage (vsatp Sv39), tables at identity gPAs:
 *   0x0_8000_0000 1 GiB identity; 0xc000_0000 4 KiB pages: +0 -> gPA frame[0],
 *   +0x1000 -> gPA 0x1_0000_1000 (G fault), +0x2000 X-only -> frame[0],
 *   +0x3000 U -> frame[0];  0xc020_0000 2 MiB -> gPA 0x1_0020_0000;
 *   0x1_0000_0000 via a table at unmapped gPA 0x1_0000_2000. */
#include "rt.h"
#include "hext.h"
#include "hrun.h"

/* SPEC_ONLY(...): checks where QEMU 7.2 departs from the spec (docs/h-extension.md);
 * compiled only into hspec (tests/hspec.c includes this file with HSPEC set). */
#ifdef HSPEC
#define SPEC_ONLY(...) do { __VA_ARGS__; } while (0)
#define BANNER "hspec: hypervisor extension, with the checks QEMU 7.2 fails (hvlab only)"
#else
#define SPEC_ONLY(...) do { } while (0)
#define BANNER "hext: hypervisor extension"
#endif

#define GPA_PAGES  0x100000000UL
#define GPA_2M     0x100200000UL
#define GPA_2M_BAD 0x100400000UL
#define HPA_2M     0x81000000UL
#define GPA_HIGH   0x1ffc0000000UL
#define GVA_PAGES  0xc0000000UL
#define GVA_2M     0xc0200000UL
#define GVA_BADTBL 0x100000000UL
#define UNMAPPED   0x200000UL
#define INT(c)     (CAUSE_INTERRUPT | (c))

#define CSRR_A0(csr) (((csr) << 20) | (2 << 12) | (10 << 7) | 0x73)
#define INSN_WFI     0x10500073u
#define INSN_SRET    0x10200073u
#define INSN_SFENCE  0x12000073u
#define INSN_HFENCE_VVMA 0x22000073u
#define INSN_HFENCE_GVMA 0x62000073u

extern char strap_entry[];

static u64 groot[2048] __attribute__((aligned(16384)));
static u64 gl1[512] __attribute__((aligned(4096)));
static u64 gl0[512] __attribute__((aligned(4096)));
static u64 vroot[512] __attribute__((aligned(4096)));
static u64 vl1[512] __attribute__((aligned(4096)));
static u64 vl0[512] __attribute__((aligned(4096)));
static u64 frame[4][512] __attribute__((aligned(4096)));
static u64 vs_stack[512] __attribute__((aligned(16)));
static u64 probe = 0x9e0be;

/* What the last VS-mode trap and the last HS/M trap extras looked like. */
static volatile struct { u64 count, cause, tval, epc, status; } vt;
static volatile u64 s_htval, s_htinst, s_hstatus, s_sstatus, s_irq;
static volatile u64 m_mtval2, m_mtinst, m_mstatus;

static int mhook(struct frame *f, u64 cause)
{
    if (v_return(f, cause))
        return 1;
    m_mtval2 = csr_read(CSR_MTVAL2);
    m_mtinst = csr_read(CSR_MTINST);
    m_mstatus = csr_read(mstatus);
    return 0;
}

static int shook(struct frame *f, u64 cause)
{
    if ((u64)f >= (u64)vs_stack && (u64)f < (u64)(vs_stack + 512)) {
        /* In VS-mode: the S CSR numbers reach the VS CSRs. */
        vt.count++;
        vt.cause = cause;
        vt.tval = csr_read(stval);
        vt.epc = csr_read(sepc);
        vt.status = csr_read(sstatus);
        if (cause & CAUSE_INTERRUPT) {
            if ((cause & 63) == IRQ_S_SOFT)
                csr_clear(sip, MIP_SSIP);
            csr_clear(sie, 1UL << (cause & 63));
        } else {
            csr_write(sepc, vt.epc + 4);
        }
        return 1;
    }
    s_htval = csr_read(CSR_HTVAL);
    s_htinst = csr_read(CSR_HTINST);
    s_hstatus = csr_read(CSR_HSTATUS);
    s_sstatus = csr_read(sstatus);
    if (cause & CAUSE_INTERRUPT) {
        s_irq = cause;
        csr_write(CSR_HVIP, 0);
        return 1;
    }
    return 0;
}

static void vt_expect(void) { vt.count = 0; vt.cause = ~0UL; vt.tval = ~0UL; }

static void check_vt(const char *name, u64 cause, u64 tval)
{
    if (vt.count != 1) { check(name, vt.count, 1); return; }
    if (vt.cause != cause) { check(name, vt.cause, cause); return; }
    check(name, vt.tval, tval);
}

/* ---- code run in VS/VU/HS/U ---- */
static u64 g_load(u64 va) { return *(volatile u64 *)va; }
static u64 g_store(u64 va) { *(volatile u64 *)va = 0x5707e; return 0; }
static u64 g_load_off(u64 va)
{
    u64 v;
    asm volatile("ld %0, 16(%1)" : "=r"(v) : "r"(va - 16) : "memory");
    return v;
}
static u64 rd_sscratch(u64 x) { (void)x; return csr_read(sscratch); }
static u64 wr_sscratch(u64 x) { csr_write(sscratch, x); return 0; }
static u64 rd_sstatus(u64 x) { (void)x; return csr_read(sstatus); }
static u64 rd_sepc(u64 x) { (void)x; return csr_read(sepc); }
static u64 rd_time(u64 x) { (void)x; return csr_read(time); }
static u64 illegal(u64 x) { (void)x; asm volatile(".word 0"); return 0; }
static u64 ebreak(u64 x) { (void)x; asm volatile("ebreak"); return 0; }
static u64 ecall_plain(u64 x) { (void)x; asm volatile("li a7, 0\n\tecall" ::: "a7", "memory"); return 0; }

#define INSN_FN(name, word) \
    static u64 name(u64 x) { (void)x; asm volatile("mv a1, a0\n\t.word " STR(word) ::: "a0", "a1", "memory"); return 0; }
INSN_FN(i_rd_hstatus, CSRR_A0(0x600))
INSN_FN(i_rd_vsstatus, CSRR_A0(0x200))
INSN_FN(i_rd_mstatus, CSRR_A0(0x300))
INSN_FN(i_rd_sstatus, CSRR_A0(0x100))
INSN_FN(i_rd_satp, CSRR_A0(0x180))
INSN_FN(i_rd_hgatp, CSRR_A0(0x680))
INSN_FN(i_rd_cycle, CSRR_A0(0xc00))
INSN_FN(i_wfi, 0x10500073)
INSN_FN(i_sret, 0x10200073)
INSN_FN(i_sfence, 0x12000073)
INSN_FN(i_hfence_vvma, 0x22000073)
INSN_FN(i_hfence_gvma, 0x62000073)
INSN_FN(i_hlv_d, INSN_HLV_D)

static u64 hlv(u32 which, u64 va)
{
    register u64 a0 asm("a0");
    register u64 a1 asm("a1") = va;
    switch (which) {
    case 0: asm volatile(".word " STR(INSN_HLV_B) : "=r"(a0) : "r"(a1) : "memory"); break;
    case 1: asm volatile(".word " STR(INSN_HLV_BU) : "=r"(a0) : "r"(a1) : "memory"); break;
    case 2: asm volatile(".word " STR(INSN_HLV_H) : "=r"(a0) : "r"(a1) : "memory"); break;
    case 3: asm volatile(".word " STR(INSN_HLV_HU) : "=r"(a0) : "r"(a1) : "memory"); break;
    case 4: asm volatile(".word " STR(INSN_HLV_W) : "=r"(a0) : "r"(a1) : "memory"); break;
    case 5: asm volatile(".word " STR(INSN_HLV_WU) : "=r"(a0) : "r"(a1) : "memory"); break;
    case 6: asm volatile(".word " STR(INSN_HLV_D) : "=r"(a0) : "r"(a1) : "memory"); break;
    case 7: asm volatile(".word " STR(INSN_HLVX_HU) : "=r"(a0) : "r"(a1) : "memory"); break;
    default: asm volatile(".word " STR(INSN_HLVX_WU) : "=r"(a0) : "r"(a1) : "memory"); break;
    }
    return a0;
}

static void hsv(u32 size, u64 va, u64 v)
{
    register u64 a1 asm("a1") = va;
    register u64 a2 asm("a2") = v;
    switch (size) {
    case 1: asm volatile(".word " STR(INSN_HSV_B) :: "r"(a1), "r"(a2) : "memory"); break;
    case 2: asm volatile(".word " STR(INSN_HSV_H) :: "r"(a1), "r"(a2) : "memory"); break;
    case 4: asm volatile(".word " STR(INSN_HSV_W) :: "r"(a1), "r"(a2) : "memory"); break;
    default: asm volatile(".word " STR(INSN_HSV_D) :: "r"(a1), "r"(a2) : "memory"); break;
    }
}

static u64 u_hlv_d(u64 va) { return hlv(6, va); }

/* VS code that enables its interrupts; a pending one is taken right away. */
static u64 vs_enable_irqs(u64 bits)
{
    csr_set(sie, bits);
    csr_set(sstatus, MSTATUS_SIE);
    asm volatile("nop\n\tnop\n\tnop");
    csr_clear(sstatus, MSTATUS_SIE);
    return 0;
}
static u64 nothing(u64 x) { return x; }

static void vm_trap_expect(void)
{
    trap_expect();
    vt_expect();
    s_htval = s_htinst = s_hstatus = s_sstatus = ~0UL;
    m_mtval2 = m_mtinst = m_mstatus = ~0UL;
}

static void csrs_section(void)
{
    u64 v;
    check_true("misa-h", (csr_read(misa) >> 7) & 1);
    check("hstatus-vsxl-64", (csr_read(CSR_HSTATUS) & HSTATUS_VSXL) >> 32, 2);
    csr_write(CSR_HSTATUS, HSTATUS_VTSR | HSTATUS_VTW | HSTATUS_VTVM | HSTATUS_HU | HSTATUS_SPVP | HSTATUS_SPV | HSTATUS_GVA);
    check("hstatus-writable", csr_read(CSR_HSTATUS) & ~HSTATUS_VSXL,
          HSTATUS_VTSR | HSTATUS_VTW | HSTATUS_VTVM | HSTATUS_HU | HSTATUS_SPVP | HSTATUS_SPV | HSTATUS_GVA);
    csr_write(CSR_HSTATUS, 0);
    csr_write(CSR_HEDELEG, ~0UL);
    check("hedeleg-writable", csr_read(CSR_HEDELEG) & 0xffffff, 0xb1ff);
    csr_write(CSR_HEDELEG, 0);
    csr_write(CSR_HIDELEG, ~0UL);
    check("hideleg-writable", csr_read(CSR_HIDELEG) & 0xfff, 0x444);
    csr_write(mideleg, 0);
    check("mideleg-vs-read-only-one", csr_read(mideleg) & 0x444, 0x444);
    csr_write(CSR_HVIP, ~0UL);
    check("hvip-writable", csr_read(CSR_HVIP) & 0xfff, 0x444);
    check("hip-shows-hvip", csr_read(CSR_HIP) & 0x444, 0x444);
    check("mip-shows-hvip", csr_read(mip) & 0x444, 0x444);
    check("vsip-ssip-via-hideleg", csr_read(CSR_VSIP) & 2, 2);
    SPEC_ONLY(check("vsip-via-hideleg", csr_read(CSR_VSIP), 0x222));
    check("sip-no-vs-bits", csr_read(sip) & 0x444, 0);
    csr_write(CSR_HVIP, 0);
    check("hip-clear", csr_read(CSR_HIP) & 0x444, 0);
    csr_write(CSR_VSIP, 2);
    check("vsip-ssip-is-hvip-vssip", csr_read(CSR_HVIP), MIP_VSSIP);
    csr_write(CSR_HIP, 0);
    check("hip-vssip-writable", csr_read(CSR_HVIP), 0);
    csr_write(CSR_HIE, ~0UL);
    check("hie-vs-bits", csr_read(CSR_HIE) & 0x444, 0x444);
    check("mie-shows-hie", csr_read(mie) & 0x444, 0x444);
    check("vsie-via-hideleg", csr_read(CSR_VSIE), 0x222);
    csr_write(CSR_HIDELEG, MIP_VSSIP);
    check("vsie-only-delegated", csr_read(CSR_VSIE), 0x2);
    csr_write(CSR_HIE, 0);
    csr_write(CSR_HIDELEG, 0);
    csr_write(CSR_HGATP, HGATP_SV39X4 | ((u64)groot >> 12));
    v = csr_read(CSR_HGATP);
    check("hgatp-mode-ppn", v & ~(0x3fffUL << 44), HGATP_SV39X4 | ((u64)groot >> 12));
    csr_write(CSR_HGATP, 0);
    check("hgatp-bare", csr_read(CSR_HGATP), 0);
    csr_write(CSR_VSSTATUS, MSTATUS_SUM | MSTATUS_SPP);
    check("vsstatus-fields", csr_read(CSR_VSSTATUS) & (MSTATUS_SUM | MSTATUS_SPP | MSTATUS_SIE), MSTATUS_SUM | MSTATUS_SPP);
    check("vsstatus-not-sstatus", csr_read(sstatus) & MSTATUS_SUM, 0);
    csr_write(CSR_VSSTATUS, 0);
    csr_write(CSR_VSEPC, 0x80001234UL);
    check("vsepc", csr_read(CSR_VSEPC), 0x80001234UL);
    csr_write(CSR_HTVAL, 0x1234);
    check("htval", csr_read(CSR_HTVAL), 0x1234);
    csr_write(CSR_MTVAL2, 0x5678);
    check("mtval2", csr_read(CSR_MTVAL2), 0x5678);
    csr_write(CSR_HCOUNTEREN, 7);
    check("hcounteren", csr_read(CSR_HCOUNTEREN) & 7, 7);
    csr_set(mstatus, MSTATUS_MPV);
    check("mstatus-mpv", (csr_read(mstatus) >> 39) & 1, 1);
    csr_clear(mstatus, MSTATUS_MPV);
}

static void alias_section(void)
{
    csr_write(CSR_VSSCRATCH, 0x1234);
    csr_write(sscratch, 0x5678);
    check("vs-sscratch-is-vsscratch", run_v(PRV_S, rd_sscratch, 0), 0x1234);
    run_v(PRV_S, wr_sscratch, 0xabcd);
    check("vs-write-vsscratch", csr_read(CSR_VSSCRATCH), 0xabcd);
    csr_write(CSR_VSSTATUS, MSTATUS_SUM);
    check("vs-sstatus-is-vsstatus", run_v(PRV_S, rd_sstatus, 0) & MSTATUS_SUM, MSTATUS_SUM);
    csr_write(CSR_VSSTATUS, 0);
    csr_write(CSR_VSEPC, 0x80004444UL);
    check("vs-sepc-is-vsepc", run_v(PRV_S, rd_sepc, 0), 0x80004444UL);
    csr_write(mcounteren, 7);
    csr_write(CSR_HCOUNTEREN, 7);
    csr_write(CSR_HTIMEDELTA, 1UL << 50);
    check_true("vs-time-adds-htimedelta", run_v(PRV_S, rd_time, 0) >= (1UL << 50));
    csr_write(CSR_HTIMEDELTA, 0);
    check_true("hs-time-without-delta", csr_read(time) < (1UL << 50));
}

static void vi(const char *name, u64 mode, u64 (*fn)(u64), u64 cause, u64 insn)
{
    vm_trap_expect();
    run_v(mode, fn, 0);
    check_trap(name, cause, (u32)insn);
}

/* A virtual-instruction case QEMU 7.2 reports with the wrong cause or tval. */
static void vi_spec(const char *name, u64 mode, u64 (*fn)(u64), u64 cause, u64 insn)
{
    SPEC_ONLY(vi(name, mode, fn, cause, insn));
    (void)name; (void)mode; (void)fn; (void)cause; (void)insn;
}

static void virtual_insn_section(void)
{
    vi("vs-hstatus-virtual", PRV_S, i_rd_hstatus, CAUSE_VIRTUAL_INSN, CSRR_A0(0x600));
    check("vs-virtual-mpv", (m_mstatus >> 39) & 1, 1);
    check("vs-virtual-mpp", (m_mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT, PRV_S);
    SPEC_ONLY(check("vs-virtual-gva-0", (m_mstatus >> 38) & 1, 0));
    vi("vs-vsstatus-virtual", PRV_S, i_rd_vsstatus, CAUSE_VIRTUAL_INSN, CSRR_A0(0x200));
    vi("vs-hgatp-virtual", PRV_S, i_rd_hgatp, CAUSE_VIRTUAL_INSN, CSRR_A0(0x680));
    vi("vs-mstatus-illegal", PRV_S, i_rd_mstatus, CAUSE_ILLEGAL_INSN, CSRR_A0(0x300));
    vi_spec("vu-sstatus-virtual", PRV_U, i_rd_sstatus, CAUSE_VIRTUAL_INSN, CSRR_A0(0x100));
    vi("vu-hstatus-virtual", PRV_U, i_rd_hstatus, CAUSE_VIRTUAL_INSN, CSRR_A0(0x600));
    vi("vu-wfi-virtual", PRV_U, i_wfi, CAUSE_VIRTUAL_INSN, INSN_WFI);
    vi_spec("vu-sret-virtual", PRV_U, i_sret, CAUSE_VIRTUAL_INSN, INSN_SRET);
    vi_spec("vu-sfence-virtual", PRV_U, i_sfence, CAUSE_VIRTUAL_INSN, INSN_SFENCE);
    csr_set(mstatus, MSTATUS_TW);
    vi_spec("vu-wfi-tw-illegal", PRV_U, i_wfi, CAUSE_ILLEGAL_INSN, INSN_WFI);
    vi("vs-wfi-tw-illegal", PRV_S, i_wfi, CAUSE_ILLEGAL_INSN, INSN_WFI);
    csr_clear(mstatus, MSTATUS_TW);
    csr_write(CSR_HSTATUS, HSTATUS_VTW | HSTATUS_VTSR | HSTATUS_VTVM);
    vi("vs-wfi-vtw-virtual", PRV_S, i_wfi, CAUSE_VIRTUAL_INSN, INSN_WFI);
    vi("vs-sret-vtsr-virtual", PRV_S, i_sret, CAUSE_VIRTUAL_INSN, INSN_SRET);
    vi("vs-sfence-vtvm-virtual", PRV_S, i_sfence, CAUSE_VIRTUAL_INSN, INSN_SFENCE);
    vi_spec("vs-satp-vtvm-virtual", PRV_S, i_rd_satp, CAUSE_VIRTUAL_INSN, CSRR_A0(0x180));
    csr_write(CSR_HSTATUS, 0);
    vi("vs-hfence-vvma-virtual", PRV_S, i_hfence_vvma, CAUSE_VIRTUAL_INSN, INSN_HFENCE_VVMA);
    vi("vs-hfence-gvma-virtual", PRV_S, i_hfence_gvma, CAUSE_VIRTUAL_INSN, INSN_HFENCE_GVMA);
    vm_trap_expect();
    run_v(PRV_S, i_hlv_d, 0);
    check_trap_cause("vs-hlv-virtual", CAUSE_VIRTUAL_INSN);
    vm_trap_expect();
    run_v(PRV_U, i_hlv_d, 0);
    check_trap_cause("vu-hlv-virtual", CAUSE_VIRTUAL_INSN);
    vi_spec("vs-hlv-virtual-mtval", PRV_S, i_hlv_d, CAUSE_VIRTUAL_INSN, INSN_HLV_D);
    csr_write(mcounteren, 7);
    csr_write(CSR_HCOUNTEREN, 0);
    vi("vs-cycle-hcounteren-virtual", PRV_S, i_rd_cycle, CAUSE_VIRTUAL_INSN, CSRR_A0(0xc00));
    csr_write(CSR_HCOUNTEREN, 7);
    csr_write(scounteren, 0);
    vi("vu-cycle-scounteren-virtual", PRV_U, i_rd_cycle, CAUSE_VIRTUAL_INSN, CSRR_A0(0xc00));
    csr_write(scounteren, 7);
    csr_write(mcounteren, 0);
    vi("vs-cycle-mcounteren-illegal", PRV_S, i_rd_cycle, CAUSE_ILLEGAL_INSN, CSRR_A0(0xc00));
    csr_write(mcounteren, 7);
    /* V=0: U without HU, and HS with TVM. */
    SPEC_ONLY(vm_trap_expect(); run_in_mode(PRV_U, i_hlv_d, 0);
              check_trap("u-hlv-illegal", CAUSE_ILLEGAL_INSN, INSN_HLV_D));
    vm_trap_expect();
    run_in_mode(PRV_U, i_hfence_vvma, 0);
    check_trap("u-hfence-illegal", CAUSE_ILLEGAL_INSN, INSN_HFENCE_VVMA);
    csr_set(mstatus, MSTATUS_TVM);
    vm_trap_expect();
    run_in_mode(PRV_S, i_hfence_gvma, 0);
    check_trap("hs-hfence-gvma-tvm-illegal", CAUSE_ILLEGAL_INSN, INSN_HFENCE_GVMA);
    SPEC_ONLY(vm_trap_expect(); run_in_mode(PRV_S, i_rd_hgatp, 0);
              check_trap("hs-hgatp-tvm-illegal", CAUSE_ILLEGAL_INSN, CSRR_A0(0x680)));
    csr_clear(mstatus, MSTATUS_TVM);
    vm_trap_expect();
    run_in_mode(PRV_S, i_hfence_vvma, 0);
    check_no_trap("hs-hfence-vvma-ok");
}

static void delegation_section(void)
{
    csr_write(medeleg, (1UL << CAUSE_ILLEGAL_INSN) | (1UL << CAUSE_LOAD_ACCESS));
    csr_write(CSR_HEDELEG, (1UL << CAUSE_ILLEGAL_INSN) | (1UL << CAUSE_BREAKPOINT));
    csr_write(medeleg, (1UL << CAUSE_ILLEGAL_INSN) | (1UL << CAUSE_LOAD_ACCESS) | (1UL << CAUSE_BREAKPOINT));
    vm_trap_expect();
    run_v(PRV_S, ebreak, 0);
    check_vt("vs-ebreak-to-vs", CAUSE_BREAKPOINT, 0);
    check("  vs-trap-epc", vt.epc, (u64)ebreak);
    check("  vs-trap-vsstatus-spp", (vt.status & MSTATUS_SPP) != 0, 1);
    check("  vs-trap-no-hs", trap.count, 0);
    vm_trap_expect();
    run_v(PRV_U, ebreak, 0);
    check_vt("vu-ebreak-to-vs", CAUSE_BREAKPOINT, 0);
    check("  vu-trap-vsstatus-spp", (vt.status & MSTATUS_SPP) != 0, 0);
    /* QEMU 7.2 reports exception causes 2, 6 and 10 taken in VS as cause - 1, mistaking
     * them for the VS-level interrupt codes it renumbers. */
    SPEC_ONLY(vm_trap_expect(); run_v(PRV_S, illegal, 0);
              check_vt("vs-illegal-to-vs", CAUSE_ILLEGAL_INSN, 0));
    SPEC_ONLY(vm_trap_expect(); run_v(PRV_U, illegal, 0);
              check_vt("vu-illegal-to-vs", CAUSE_ILLEGAL_INSN, 0));
    csr_write(medeleg, (1UL << CAUSE_ILLEGAL_INSN) | (1UL << CAUSE_LOAD_ACCESS));

    csr_write(CSR_HEDELEG, 0);
    vm_trap_expect();
    run_v(PRV_S, illegal, 0);
    check_trap("vs-illegal-to-hs", CAUSE_ILLEGAL_INSN, 0);
    check("hs-trap-taken-in-s", trap.taken_in, PRV_S);
    check("hs-trap-spv", (s_hstatus & HSTATUS_SPV) != 0, 1);
    check("hs-trap-spvp-vs", (s_hstatus & HSTATUS_SPVP) != 0, 1);
    check("hs-trap-gva-0", (s_hstatus & HSTATUS_GVA) != 0, 0);
    check("hs-trap-spp-vs", (s_sstatus & MSTATUS_SPP) != 0, 1);
    check("hs-trap-htval-0", s_htval, 0);
    check("hs-sret-clears-spv", csr_read(CSR_HSTATUS) & HSTATUS_SPV, 0);
    vm_trap_expect();
    run_v(PRV_U, illegal, 0);
    check_trap("vu-illegal-to-hs", CAUSE_ILLEGAL_INSN, 0);
    check("hs-trap-spvp-vu", (s_hstatus & HSTATUS_SPVP) != 0, 0);
    check("hs-trap-spp-vu", (s_sstatus & MSTATUS_SPP) != 0, 0);
    csr_write(CSR_HSTATUS, HSTATUS_SPVP);
    vm_trap_expect();
    run_in_mode(PRV_S, illegal, 0);
    check_trap("hs-illegal-to-hs", CAUSE_ILLEGAL_INSN, 0);
    check("hs-from-hs-spv-0", (s_hstatus & HSTATUS_SPV) != 0, 0);
    check("hs-from-hs-spvp-kept", (s_hstatus & HSTATUS_SPVP) != 0, 1);
    csr_write(CSR_HSTATUS, 0);
    vm_trap_expect();
    run_v(PRV_S, g_load, UNMAPPED);
    check_trap("vs-access-fault-to-hs", CAUSE_LOAD_ACCESS, UNMAPPED);
    check("hs-access-fault-gva", (s_hstatus & HSTATUS_GVA) != 0, 1);

    csr_write(medeleg, 0);
    vm_trap_expect();
    run_v(PRV_S, g_load, UNMAPPED);
    check_trap("vs-access-fault-to-m", CAUSE_LOAD_ACCESS, UNMAPPED);
    check("m-trap-mpv", (m_mstatus >> 39) & 1, 1);
    check("m-trap-gva", (m_mstatus >> 38) & 1, 1);
    check("m-trap-mpp-s", (m_mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT, PRV_S);
    check("m-trap-mtval2-0", m_mtval2, 0);
    check("mret-clears-mpv", (csr_read(mstatus) >> 39) & 1, 0);
    vm_trap_expect();
    run_v(PRV_S, ecall_plain, 0);
    check_trap("vs-ecall-cause-10", CAUSE_ECALL_VS, 0);
    vm_trap_expect();
    run_v(PRV_U, ecall_plain, 0);
    check_trap("vu-ecall-cause-8", CAUSE_ECALL_U, 0);
    check("vu-ecall-mpv", (m_mstatus >> 39) & 1, 1);
    vm_trap_expect();
    run_in_mode(PRV_S, illegal, 0);
    check_trap("hs-to-m-mpv-0", CAUSE_ILLEGAL_INSN, 0);
    check("hs-to-m-mpv-0-value", (m_mstatus >> 39) & 1, 0);
}

static void build_tables(void)
{
    const u64 rwxad = PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
    for (int i = 0; i < 4; i++)
        frame[i][0] = 0x1111111111111111UL * (i + 1);
    frame[0][1] = 0x8081828384858687UL;
    *(volatile u64 *)(HPA_2M + 0x1008) = 0x2a2a;
    groot[RAM_BASE >> 30] = PTE_LEAF(RAM_BASE, rwxad | PTE_U);
    groot[GPA_PAGES >> 30] = PTE_TABLE(gl1);
    groot[GPA_HIGH >> 30] = PTE_LEAF(RAM_BASE, rwxad | PTE_U);
    gl1[0] = PTE_TABLE(gl0);
    gl1[1] = PTE_LEAF(HPA_2M, rwxad | PTE_U);
    gl1[2] = PTE_LEAF(HPA_2M + 0x1000, rwxad | PTE_U);
    gl0[0] = PTE_LEAF(frame[0], PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D);
    gl0[1] = PTE_LEAF(frame[1], PTE_R | PTE_W | PTE_A | PTE_D);
    gl0[3] = PTE_LEAF(frame[2], PTE_X | PTE_U | PTE_A);
    vroot[RAM_BASE >> 30] = PTE_LEAF(RAM_BASE, rwxad);
    vroot[GVA_PAGES >> 30] = PTE_TABLE(vl1);
    vroot[GVA_BADTBL >> 30] = ((GPA_PAGES + 0x2000) >> 12) << PTE_PPN_SHIFT | PTE_V;
    vl1[0] = PTE_TABLE(vl0);
    vl1[1] = (GPA_2M >> 12) << PTE_PPN_SHIFT | PTE_R | PTE_W | PTE_A | PTE_D | PTE_V;
    vl0[0] = (GPA_PAGES >> 12) << PTE_PPN_SHIFT | PTE_R | PTE_W | PTE_A | PTE_D | PTE_V;
    vl0[1] = ((GPA_PAGES + 0x1000) >> 12) << PTE_PPN_SHIFT | PTE_R | PTE_W | PTE_A | PTE_D | PTE_V;
    vl0[2] = (GPA_PAGES >> 12) << PTE_PPN_SHIFT | PTE_X | PTE_A | PTE_V;
    vl0[3] = (GPA_PAGES >> 12) << PTE_PPN_SHIFT | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D | PTE_V;
}

#ifdef HSPEC
/* c.ld a0, 0(a0); c.nop; ret, run from data (this image holds no 16-bit code in .text).
 * The trap handler resumes at epc + 4: at the ret. */
static u16 c_ld_code[3] __attribute__((aligned(4))) = { 0x6108, 0x0001, 0x8082 };
#endif

static void gpf(const char *name, u64 (*fn)(u64), u64 va, u64 cause, u64 gpa)
{
    vm_trap_expect();
    run_v(PRV_S, fn, va);
    check_trap(name, cause, va);
    check("  htval", m_mtval2, gpa >> 2);
    check("  gva", (m_mstatus >> 38) & 1, 1);
}

static void translation_section(void)
{
    u64 off = (u64)&probe - RAM_BASE;
    (void)off;
    build_tables();
    csr_write(CSR_HGATP, HGATP_SV39X4 | ((u64)groot >> 12));
    asm volatile(HFENCE_GVMA_ALL ::: "memory");
    /* VS-stage Bare: gVA = gPA. */
    check("g-4k-load", run_v(PRV_S, g_load, GPA_PAGES), frame[0][0]);
    check("g-2m-load", run_v(PRV_S, g_load, GPA_2M + 0x1008), 0x2a2a);
    SPEC_ONLY(check("g-root-index-7ff", run_v(PRV_S, g_load, GPA_HIGH + off), 0x9e0be));
    check("g-vu-load", run_v(PRV_U, g_load, GPA_PAGES), frame[0][0]);
    gpf("g-u0-load-gpf", g_load, GPA_PAGES + 0x1000, CAUSE_LOAD_GUEST_PF, GPA_PAGES + 0x1000);
    SPEC_ONLY(check("  mtinst-ld", m_mtinst, 0x00003503)); /* ld a0, 0(a0), rs1 -> offset 0 */
    /* A compressed load: htinst is its expansion with bits 1:0 = 01 (priv. spec 8.6.3). */
    SPEC_ONLY(asm volatile("fence.i" ::: "memory");
              gpf("g-u0-c.ld-gpf", (u64 (*)(u64))(void *)c_ld_code, GPA_PAGES + 0x1000,
                  CAUSE_LOAD_GUEST_PF, GPA_PAGES + 0x1000);
              check("  mtinst-c.ld", m_mtinst, 0x00003501));
    gpf("g-u0-store-gpf", g_store, GPA_PAGES + 0x1000, CAUSE_STORE_GUEST_PF, GPA_PAGES + 0x1000);
    gpf("g-unmapped-gpf", g_load, GPA_PAGES + 0x2008, CAUSE_LOAD_GUEST_PF, GPA_PAGES + 0x2008);
    gpf("g-misaligned-2m-gpf", g_load, GPA_2M_BAD, CAUSE_LOAD_GUEST_PF, GPA_2M_BAD);
    gpf("g-beyond-41-bits-gpf", g_load, 1UL << 41, CAUSE_LOAD_GUEST_PF, 1UL << 41);
    gpf("g-xonly-gpf", g_load, GPA_PAGES + 0x3000, CAUSE_LOAD_GUEST_PF, GPA_PAGES + 0x3000);
    csr_set(mstatus, MSTATUS_MXR);
    SPEC_ONLY(check("g-xonly-mxr-load", run_v(PRV_S, g_load, GPA_PAGES + 0x3000), frame[2][0]));
    csr_clear(mstatus, MSTATUS_MXR);
    /* To HS, with htval/htinst/GVA in the HS registers. */
    csr_write(medeleg, 1UL << CAUSE_LOAD_GUEST_PF);
    vm_trap_expect();
    run_v(PRV_S, g_load_off, GPA_PAGES + 0x1000);
    check_trap("g-gpf-to-hs", CAUSE_LOAD_GUEST_PF, GPA_PAGES + 0x1000);
    check("  hs-htval", s_htval, (GPA_PAGES + 0x1000) >> 2);
    check("  hs-gva", (s_hstatus & HSTATUS_GVA) != 0, 1);
    check("  hs-spv", (s_hstatus & HSTATUS_SPV) != 0, 1);
    csr_write(medeleg, 0);

    /* VS-stage Sv39 over the G-stage. */
    csr_write(CSR_VSATP, SATP_MODE_SV39 | ((u64)vroot >> 12));
    asm volatile(HFENCE_VVMA_ALL ::: "memory");
    check("vs-g-4k-load", run_v(PRV_S, g_load, GVA_PAGES), frame[0][0]);
    check("vs-g-2m-2m-load", run_v(PRV_S, g_load, GVA_2M + 0x1008), 0x2a2a);
    gpf("vs-g-final-gpf", g_load, GVA_PAGES + 0x1000, CAUSE_LOAD_GUEST_PF, GPA_PAGES + 0x1000);
    gpf("vs-g-pte-gpf", g_load, GVA_BADTBL, CAUSE_LOAD_GUEST_PF, GPA_PAGES + 0x2000);
    vm_trap_expect();
    run_v(PRV_S, g_load, GVA_PAGES + 0x2000);
    check_trap("vs-xonly-page-fault", CAUSE_LOAD_PAGE_FAULT, GVA_PAGES + 0x2000);
    check("  gva", (m_mstatus >> 38) & 1, 1);
    check("  mtval2-0", m_mtval2, 0);
    csr_write(CSR_VSSTATUS, MSTATUS_MXR);
    check("vs-xonly-vsstatus-mxr", run_v(PRV_S, g_load, GVA_PAGES + 0x2000), frame[0][0]);
    csr_write(CSR_VSSTATUS, 0);
    vm_trap_expect();
    run_v(PRV_S, g_load, GVA_PAGES + 0x3000);
    check_trap("vs-upage-no-sum", CAUSE_LOAD_PAGE_FAULT, GVA_PAGES + 0x3000);
    csr_write(CSR_VSSTATUS, MSTATUS_SUM);
    check("vs-upage-sum", run_v(PRV_S, g_load, GVA_PAGES + 0x3000), frame[0][0]);
    csr_write(CSR_VSSTATUS, 0);

    /* MPRV with MPV: M-mode loads through both stages. */
    csr_clear(mstatus, MSTATUS_MPP);
    csr_set(mstatus, (PRV_S << MSTATUS_MPP_SHIFT) | MSTATUS_MPV);
    {
        u64 v;
        asm volatile("csrs mstatus, %1\n\tld %0, 0(%2)\n\tcsrc mstatus, %1"
                     : "=&r"(v) : "r"(MSTATUS_MPRV), "r"(GVA_PAGES) : "memory");
        check("mprv-mpv-load", v, frame[0][0]);
    }
    csr_clear(mstatus, MSTATUS_MPV | MSTATUS_MPP);

    /* HLV/HLVX/HSV from M-mode, as VS (SPVP = 1). */
    csr_write(CSR_HSTATUS, HSTATUS_SPVP);
    check("hlv-d", hlv(6, GVA_PAGES + 8), 0x8081828384858687UL);
    check("hlv-w", hlv(4, GVA_PAGES + 12), 0xffffffff80818283UL);
    check("hlv-wu", hlv(5, GVA_PAGES + 12), 0x80818283UL);
    check("hlv-h", hlv(2, GVA_PAGES + 14), 0xffffffffffff8081UL);
    check("hlv-hu", hlv(3, GVA_PAGES + 14), 0x8081UL);
    check("hlv-b", hlv(0, GVA_PAGES + 15), 0xffffffffffffff80UL);
    check("hlv-bu", hlv(1, GVA_PAGES + 15), 0x80UL);
    hsv(8, GVA_PAGES + 16, 0x1122334455667788UL);
    hsv(4, GVA_PAGES + 24, 0xaabbccdd);
    hsv(2, GVA_PAGES + 28, 0xeeff);
    hsv(1, GVA_PAGES + 30, 0x99);
    check("hsv-d", frame[0][2], 0x1122334455667788UL);
    check("hsv-w-h-b", frame[0][3], 0x0099eeffaabbccddUL);
    SPEC_ONLY(check("hlvx-wu-xonly", hlv(8, GVA_PAGES + 0x2000), frame[0][0] & 0xffffffff));
    SPEC_ONLY(check("hlvx-hu-xonly", hlv(7, GVA_PAGES + 0x2000), frame[0][0] & 0xffff));
    SPEC_ONLY(vm_trap_expect(); hlv(4, GVA_PAGES + 0x2000);
              check_trap("hlv-xonly-page-fault", CAUSE_LOAD_PAGE_FAULT, GVA_PAGES + 0x2000);
              check("  hlv-gva", (m_mstatus >> 38) & 1, 1);
              check("  hlv-mpv-0", (m_mstatus >> 39) & 1, 0));
    vm_trap_expect();
    hlv(6, GVA_PAGES + 0x1000);
    check_trap("hlv-gpf", CAUSE_LOAD_GUEST_PF, GVA_PAGES + 0x1000);
    check("  hlv-gpf-mtval2", m_mtval2, (GPA_PAGES + 0x1000) >> 2);
    csr_write(CSR_HSTATUS, 0);
    SPEC_ONLY(vm_trap_expect(); hlv(6, GVA_PAGES);
              check_trap("hlv-as-vu-page-fault", CAUSE_LOAD_PAGE_FAULT, GVA_PAGES));
    check("hlv-as-vu-upage", hlv(6, GVA_PAGES + 0x3000), frame[0][0]);
    csr_write(CSR_HSTATUS, HSTATUS_HU | HSTATUS_SPVP);
    check("u-hlv-with-hu", run_in_mode(PRV_U, u_hlv_d, GVA_PAGES), frame[0][0]);
    csr_write(CSR_HSTATUS, 0);

    /* HFENCE after changing each stage's tables. */
    gl0[3] = PTE_LEAF(frame[3], PTE_R | PTE_U | PTE_A);
    asm volatile(HFENCE_GVMA_ALL ::: "memory");
    vl0[0] = ((GPA_PAGES + 0x3000) >> 12) << PTE_PPN_SHIFT | PTE_R | PTE_W | PTE_A | PTE_D | PTE_V;
    asm volatile(HFENCE_VVMA_ALL ::: "memory");
    check("hfence-vvma-new-vs-pte", run_v(PRV_S, g_load, GVA_PAGES), frame[3][0]);
    gl0[3] = PTE_LEAF(frame[1], PTE_R | PTE_U | PTE_A);
    asm volatile(HFENCE_GVMA_ALL ::: "memory");
    check("hfence-gvma-new-g-pte", run_v(PRV_S, g_load, GVA_PAGES), frame[1][0]);
    csr_write(CSR_VSATP, 0);
    csr_write(CSR_HGATP, 0);
    asm volatile(HFENCE_GVMA_ALL ::: "memory");
}

static void interrupt_section(void)
{
    csr_write(CSR_HIDELEG, MIP_VSSIP | MIP_VSTIP | MIP_VSEIP);
    csr_write(CSR_HVIP, MIP_VSSIP);
    vt_expect();
    run_v(PRV_S, vs_enable_irqs, MIP_SSIP);
    check_vt("vssip-to-vs-ssi", INT(IRQ_S_SOFT), 0);
    check("vssip-cleared-by-guest", csr_read(CSR_HVIP), 0);
    csr_write(CSR_HVIP, MIP_VSTIP);
    vt_expect();
    run_v(PRV_S, vs_enable_irqs, MIP_STIP);
    check_vt("vstip-to-vs-sti", INT(IRQ_S_TIMER), 0);
    csr_write(CSR_HVIP, MIP_VSEIP);
    vt_expect();
    run_v(PRV_S, vs_enable_irqs, MIP_SEIP);
    check_vt("vseip-to-vs-sei", INT(IRQ_S_EXT), 0);
    csr_write(CSR_HVIP, MIP_VSEIP | MIP_VSSIP);
    vt_expect();
    run_v(PRV_S, vs_enable_irqs, MIP_SEIP | MIP_SSIP);
    /* The last one taken is the lower priority (SSI after SEI); QEMU 7.2 orders by number. */
    SPEC_ONLY(check("vs-priority-sei-first", vt.cause, INT(IRQ_S_SOFT)));
    check("vs-both-taken", vt.count, 2);
    csr_write(CSR_HVIP, MIP_VSTIP);
    vt_expect();
    run_v(PRV_S, nothing, 0);
    check("vs-masked-by-sie", vt.count, 0);
    /* Not delegated by hideleg: an HS interrupt, taken with V=1 whatever sstatus.SIE. */
    csr_write(CSR_HIDELEG, 0);
    csr_write(CSR_HIE, MIP_VSTIP);
    s_irq = 0;
    vt_expect();
    run_v(PRV_S, nothing, 0);
    check("vstip-to-hs", s_irq, INT(6));
    check("  hs-irq-spv", (s_hstatus & HSTATUS_SPV) != 0, 1);
    check("  hs-irq-not-in-vs", vt.count, 0);
    csr_write(CSR_HIE, 0);
    csr_write(CSR_HVIP, 0);
    csr_write(CSR_VSIE, 0);
}

int main(void)
{
    println(BANNER);
    mtrap_hook = mhook;
    strap_hook = shook;
    csr_write(CSR_VSTVEC, (u64)strap_entry);
    csr_write(CSR_VSSCRATCH, (u64)(vs_stack + 512));
    csrs_section();
    csr_write(CSR_VSSCRATCH, (u64)(vs_stack + 512));
    alias_section();
    csr_write(CSR_VSSCRATCH, (u64)(vs_stack + 512));
    virtual_insn_section();
    delegation_section();
    translation_section();
    interrupt_section();
    return summary();
}
