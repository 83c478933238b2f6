// Trap causes (privileged specification v1.12, table 3.6, "Machine cause register values").
// Exception codes are written to mcause/scause as is; interrupts additionally set bit 63.

export const EXC_INST_MISALIGNED: u32 = 0;
export const EXC_INST_ACCESS: u32 = 1;
export const EXC_ILLEGAL_INST: u32 = 2;
export const EXC_BREAKPOINT: u32 = 3;
export const EXC_LOAD_MISALIGNED: u32 = 4;
export const EXC_LOAD_ACCESS: u32 = 5;
export const EXC_STORE_MISALIGNED: u32 = 6;
export const EXC_STORE_ACCESS: u32 = 7;
export const EXC_ECALL_U: u32 = 8;
export const EXC_ECALL_S: u32 = 9;
export const EXC_ECALL_VS: u32 = 10;
export const EXC_ECALL_M: u32 = 11;
export const EXC_INST_PAGE_FAULT: u32 = 12;
export const EXC_LOAD_PAGE_FAULT: u32 = 13;
export const EXC_STORE_PAGE_FAULT: u32 = 15;
// Hypervisor extension (section 8.6.1 and table 8.6).
export const EXC_INST_GUEST_PAGE_FAULT: u32 = 20;
export const EXC_LOAD_GUEST_PAGE_FAULT: u32 = 21;
export const EXC_VIRTUAL_INST: u32 = 22;
export const EXC_STORE_GUEST_PAGE_FAULT: u32 = 23;

export const IRQ_S_SOFT: u32 = 1;
export const IRQ_VS_SOFT: u32 = 2;
export const IRQ_M_SOFT: u32 = 3;
export const IRQ_S_TIMER: u32 = 5;
export const IRQ_VS_TIMER: u32 = 6;
export const IRQ_M_TIMER: u32 = 7;
export const IRQ_S_EXT: u32 = 9;
export const IRQ_VS_EXT: u32 = 10;
export const IRQ_M_EXT: u32 = 11;
export const IRQ_SG_EXT: u32 = 12;

export const CAUSE_INTERRUPT: u64 = 1 << 63;

/** No exception pending: the value of Hart.excCause between traps. */
export const EXC_NONE: u32 = 0xFFFF_FFFF;
