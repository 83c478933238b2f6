// Privileged-architecture constants hvisor uses, named as in the RISC-V privileged
// specification (version 20211203): chapter 4 (supervisor level) and chapter 8 (the
// hypervisor extension). Only #defines: the L2 device tree (l2.dts) includes layout.h, which
// includes nothing, but this file stays preprocessor-only as well.
#ifndef HVISOR_RISCV_H
#define HVISOR_RISCV_H

#define UL(x) x##UL

// sstatus (4.1.1)
#define SSTATUS_SIE   (UL(1) << 1)
#define SSTATUS_SPIE  (UL(1) << 5)
#define SSTATUS_SPP   (UL(1) << 8)

// hstatus (8.2.1)
#define HSTATUS_GVA   (UL(1) << 6)
#define HSTATUS_SPV   (UL(1) << 7)   // V before the trap into HS
#define HSTATUS_SPVP  (UL(1) << 8)   // its privilege (1 = VS); also HLV/HSV/HLVX's privilege
#define HSTATUS_VTVM  (UL(1) << 20)
#define HSTATUS_VTW   (UL(1) << 21)  // WFI in VS is a virtual-instruction exception
#define HSTATUS_VTSR  (UL(1) << 22)

// scause (4.1.9, table 8.7): exception codes
#define CAUSE_INTERRUPT           (UL(1) << 63)
#define EXC_FETCH_MISALIGNED      0
#define EXC_FETCH_ACCESS          1
#define EXC_ILLEGAL_INSN          2
#define EXC_BREAKPOINT            3
#define EXC_LOAD_MISALIGNED       4
#define EXC_LOAD_ACCESS           5
#define EXC_STORE_MISALIGNED      6
#define EXC_STORE_ACCESS          7
#define EXC_ECALL_U               8   // from U or VU
#define EXC_ECALL_HS              9
#define EXC_ECALL_VS              10
#define EXC_FETCH_PAGE_FAULT      12
#define EXC_LOAD_PAGE_FAULT       13
#define EXC_STORE_PAGE_FAULT      15
#define EXC_FETCH_GUEST_PAGE_FAULT 20
#define EXC_LOAD_GUEST_PAGE_FAULT  21
#define EXC_VIRTUAL_INSN           22
#define EXC_STORE_GUEST_PAGE_FAULT 23
#define EXC_COUNT                  24

// Interrupt codes and their bits in sip/sie, hip/hie/hvip, hideleg (4.1.3, 8.2.3)
#define IRQ_S_TIMER    5
#define IRQ_S_EXT      9
#define MIP_VSSIP      (UL(1) << 2)
#define MIP_STIP       (UL(1) << 5)
#define MIP_VSTIP      (UL(1) << 6)
#define MIP_SEIP       (UL(1) << 9)
#define MIP_VSEIP      (UL(1) << 10)
#define MIP_VS_ALL     (MIP_VSSIP | MIP_VSTIP | MIP_VSEIP)

// hgatp (8.2.10): MODE 8 = Sv39x4, VMID in bits 57:44, PPN of the 16 KiB root
#define HGATP_MODE_SV39X4 (UL(8) << 60)
#define HGATP_VMID_SHIFT  44

// hcounteren (8.2.7): VS and VU may read time
#define HCOUNTEREN_TM  (UL(1) << 1)

// Sv39/Sv39x4 PTEs (4.4.1, 8.5.1): a G-stage leaf must have U = 1, since every
// guest access counts as a U-mode access to the G-stage.
#define PTE_V (UL(1) << 0)
#define PTE_R (UL(1) << 1)
#define PTE_W (UL(1) << 2)
#define PTE_X (UL(1) << 3)
#define PTE_U (UL(1) << 4)
#define PTE_A (UL(1) << 6)
#define PTE_D (UL(1) << 7)
#define PTE_PPN_SHIFT 10
#define PAGE_SHIFT 12
#define PAGE_SIZE  (UL(1) << PAGE_SHIFT)

// Instruction encodings the exit handlers decode (unprivileged spec chapter 24)
#define OPCODE_LOAD   0x03
#define OPCODE_STORE  0x23
#define INSN_WFI      0x10500073
// htinst (8.6.3): a transformed instruction has bit 0 set; bit 1 clear means the trapping
// instruction was a 16-bit one. Values with bit 0 clear are pseudoinstructions for implicit
// (VS-stage page-table) accesses, or 0 when the hardware gives no information.
#define HTINST_TRANSFORMED 0x1
#define HTINST_32BIT       0x2

#endif
