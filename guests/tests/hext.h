/* hext.h: hypervisor-extension constants for the H guests (priv spec v1.12,
 * chapter 8), by CSR number so no assembler H support is needed. */
#ifndef GUEST_HEXT_H
#define GUEST_HEXT_H

#define CSR_HSTATUS    0x600
#define CSR_HEDELEG    0x602
#define CSR_HIDELEG    0x603
#define CSR_HIE        0x604
#define CSR_HTIMEDELTA 0x605
#define CSR_HCOUNTEREN 0x606
#define CSR_HGEIE      0x607
#define CSR_HTVAL      0x643
#define CSR_HIP        0x644
#define CSR_HVIP       0x645
#define CSR_HTINST     0x64a
#define CSR_HGATP      0x680
#define CSR_HGEIP      0xe12
#define CSR_VSSTATUS   0x200
#define CSR_VSIE       0x204
#define CSR_VSTVEC     0x205
#define CSR_VSSCRATCH  0x240
#define CSR_VSEPC      0x241
#define CSR_VSCAUSE    0x242
#define CSR_VSTVAL     0x243
#define CSR_VSIP       0x244
#define CSR_VSATP      0x280
#define CSR_MTINST     0x34a
#define CSR_MTVAL2     0x34b

/* hstatus (8.2.1) and mstatus additions (8.3.1). */
#define HSTATUS_GVA   (1UL << 6)
#define HSTATUS_SPV   (1UL << 7)
#define HSTATUS_SPVP  (1UL << 8)
#define HSTATUS_HU    (1UL << 9)
#define HSTATUS_VTVM  (1UL << 20)
#define HSTATUS_VTW   (1UL << 21)
#define HSTATUS_VTSR  (1UL << 22)
#define HSTATUS_VSXL  (3UL << 32)
#define MSTATUS_GVA   (1UL << 38)
#define MSTATUS_MPV   (1UL << 39)

#define HGATP_SV39X4  (8UL << 60)

#define MIP_VSSIP (1UL << 2)
#define MIP_VSTIP (1UL << 6)
#define MIP_VSEIP (1UL << 10)

#define CAUSE_ECALL_VS          10
#define CAUSE_FETCH_GUEST_PF    20
#define CAUSE_LOAD_GUEST_PF     21
#define CAUSE_VIRTUAL_INSN      22
#define CAUSE_STORE_GUEST_PF    23

#define PTE_LEAF(pa, perm) ((((u64)(pa)) >> 12) << PTE_PPN_SHIFT | (perm) | PTE_V)
#define PTE_TABLE(p) ((((u64)(p)) >> 12) << PTE_PPN_SHIFT | PTE_V)

/* Hypervisor instructions as raw words (rs1/rs2/rd fields filled by the macros). */
#define HFENCE_VVMA_ALL ".word 0x22000073"
#define HFENCE_GVMA_ALL ".word 0x62000073"
#define RS1(r) ((r) << 15)
#define RS2(r) ((r) << 20)
#define RD(r)  ((r) << 7)
/* hlv.d a0, (a1): funct7 0x36, rs2 0, rs1 a1 (11), funct3 4, rd a0 (10). */
#define HLV(f7, sel) ((f7) << 25 | RS2(sel) | RS1(11) | (4 << 12) | RD(10) | 0x73)
#define HSV(f7) ((f7) << 25 | RS2(12) | RS1(11) | (4 << 12) | 0x73)
#define INSN_HLV_B   HLV(0x30, 0)
#define INSN_HLV_BU  HLV(0x30, 1)
#define INSN_HLV_H   HLV(0x32, 0)
#define INSN_HLV_HU  HLV(0x32, 1)
#define INSN_HLVX_HU HLV(0x32, 3)
#define INSN_HLV_W   HLV(0x34, 0)
#define INSN_HLV_WU  HLV(0x34, 1)
#define INSN_HLVX_WU HLV(0x34, 3)
#define INSN_HLV_D   HLV(0x36, 0)
#define INSN_HSV_B   HSV(0x31)
#define INSN_HSV_H   HSV(0x33)
#define INSN_HSV_W   HSV(0x35)
#define INSN_HSV_D   HSV(0x37)

#endif
