// Named values of the F and D extensions (unprivileged spec v20191213, chapter 11 "F" and
// chapter 12 "D").

// Rounding modes, the instruction's rm field and fcsr.frm (section 11.2, table 11.1). 5 and 6
// are reserved; 7 (DYN) in an instruction selects frm, and is reserved in frm.
export const RM_RNE: u32 = 0;
export const RM_RTZ: u32 = 1;
export const RM_RDN: u32 = 2;
export const RM_RUP: u32 = 3;
export const RM_RMM: u32 = 4;
export const RM_DYN: u32 = 7;

// Accrued exception flags, fcsr.fflags (section 11.2, figure 11.3 and table 11.2).
export const FLAG_NX: u32 = 1;
export const FLAG_UF: u32 = 2;
export const FLAG_OF: u32 = 4;
export const FLAG_DZ: u32 = 8;
export const FLAG_NV: u32 = 16;
export const FFLAGS_MASK: u32 = 0x1F;
/** fcsr: frm in bits 7:5 above fflags; bits 31:8 are reserved (read as zero). */
export const FCSR_FRM_SHIFT: u32 = 5;
export const FCSR_MASK: u32 = 0xFF;

// Format parameters: fraction bits and exponent bits (IEEE 754-2008 table 3.5).
export const S_FB: i32 = 23;
export const S_EB: i32 = 8;
export const D_FB: i32 = 52;
export const D_EB: i32 = 11;

/** Upper half of a NaN-boxed single in a 64-bit f register (section 12.2). */
export const NAN_BOX: u64 = 0xFFFF_FFFF_0000_0000;
/** The canonical NaNs (section 11.3): positive, quiet, payload zero. */
export const CANONICAL_NAN_S: u64 = 0x7FC0_0000;
export const CANONICAL_NAN_D: u64 = 0x7FF8_0000_0000_0000;

// OP-FP funct5 values (chapter 24, "RV32F/RV32D/RV64F/RV64D Standard Extension").
export const F5_ADD: u32 = 0x00;
export const F5_SUB: u32 = 0x01;
export const F5_MUL: u32 = 0x02;
export const F5_DIV: u32 = 0x03;
export const F5_SGNJ: u32 = 0x04;
export const F5_MINMAX: u32 = 0x05;
export const F5_CVT_FF: u32 = 0x08;
export const F5_SQRT: u32 = 0x0B;
export const F5_CMP: u32 = 0x14;
export const F5_CVT_TO_INT: u32 = 0x18;
export const F5_CVT_FROM_INT: u32 = 0x1A;
/** FMV.X.W/D (rm 0) and FCLASS (rm 1). */
export const F5_MV_TO_X: u32 = 0x1C;
export const F5_MV_FROM_X: u32 = 0x1E;
