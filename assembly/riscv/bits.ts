// Named bits of the privileged architecture (privileged specification v1.12).

// Privilege levels (section 1.2, table 1.1).
export const PRV_U: u32 = 0;
export const PRV_S: u32 = 1;
export const PRV_M: u32 = 3;

// mstatus / sstatus (section 3.1.6, figure 3.7).
export const MSTATUS_SIE: u64 = 1 << 1;
export const MSTATUS_MIE: u64 = 1 << 3;
export const MSTATUS_SPIE: u64 = 1 << 5;
export const MSTATUS_MPIE: u64 = 1 << 7;
export const MSTATUS_SPP: u64 = 1 << 8;
export const MSTATUS_MPP_SHIFT: u64 = 11;
export const MSTATUS_MPP: u64 = 3 << 11;
export const MSTATUS_FS_SHIFT: u64 = 13;
export const MSTATUS_FS: u64 = 3 << 13;
/** FS values (section 3.1.6.6, table 3.3): the state of the F/D registers and fcsr. */
export const FS_OFF: u64 = 0 << 13;
export const FS_INITIAL: u64 = 1 << 13;
export const FS_CLEAN: u64 = 2 << 13;
export const FS_DIRTY: u64 = 3 << 13;
/** SD summarises FS, VS or XS being Dirty (section 3.1.6.6); read-only, computed on read. */
export const MSTATUS_SD: u64 = <u64>1 << 63;
export const MSTATUS_MPRV: u64 = 1 << 17;
export const MSTATUS_SUM: u64 = 1 << 18;
export const MSTATUS_MXR: u64 = 1 << 19;
export const MSTATUS_TVM: u64 = 1 << 20;
export const MSTATUS_TW: u64 = 1 << 21;
export const MSTATUS_TSR: u64 = 1 << 22;
export const MSTATUS_UXL: u64 = 3 << 32;
export const MSTATUS_SXL: u64 = 3 << 34;
/** Hypervisor extension (section 8.3.1): the V bit and guest-virtual tval of an M trap. */
export const MSTATUS_GVA: u64 = <u64>1 << 38;
export const MSTATUS_MPV: u64 = <u64>1 << 39;
/** UXL = SXL = 2: U and S modes are 64-bit (section 3.1.6.2); read-only here. */
export const MSTATUS_XLEN64: u64 = (2 << 32) | (2 << 34);
/** The mstatus bits that software can write (FS but no V/X state, fixed endianness, XLEN 64). */
export const MSTATUS_WRITABLE: u64 = MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE |
  MSTATUS_SPP | MSTATUS_MPP | MSTATUS_FS | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM |
  MSTATUS_TW | MSTATUS_TSR | MSTATUS_GVA | MSTATUS_MPV;
/** sstatus is a restricted view of mstatus (section 4.1.1). */
export const SSTATUS_VISIBLE: u64 = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS |
  MSTATUS_SUM | MSTATUS_MXR | MSTATUS_UXL | MSTATUS_SD;
export const SSTATUS_WRITABLE: u64 = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS |
  MSTATUS_SUM | MSTATUS_MXR;
/** xstatus with SD set when FS is Dirty (the only dirty-able state here). */
@inline export function withSd(s: u64): u64 {
  return (s & MSTATUS_FS) == FS_DIRTY ? s | MSTATUS_SD : s & ~MSTATUS_SD;
}

// mip / mie bits (section 3.1.9).
export const MIP_SSIP: u64 = 1 << 1;
export const MIP_MSIP: u64 = 1 << 3;
export const MIP_STIP: u64 = 1 << 5;
export const MIP_MTIP: u64 = 1 << 7;
export const MIP_SEIP: u64 = 1 << 9;
export const MIP_MEIP: u64 = 1 << 11;
// VS-level interrupts of the hypervisor extension (section 8.2.3, 8.4.1).
export const MIP_VSSIP: u64 = 1 << 2;
export const MIP_VSTIP: u64 = 1 << 6;
export const MIP_VSEIP: u64 = 1 << 10;
export const MIP_SGEIP: u64 = 1 << 12;
export const MIP_VS_ALL: u64 = MIP_VSSIP | MIP_VSTIP | MIP_VSEIP;
export const MIP_S_ALL: u64 = MIP_SSIP | MIP_STIP | MIP_SEIP;
/** mie/hie: SGEIE is read-only zero because GEILEN = 0 (no guest external interrupt lines). */
export const MIE_WRITABLE: u64 = MIP_SSIP | MIP_MSIP | MIP_STIP | MIP_MTIP | MIP_SEIP | MIP_MEIP |
  MIP_VS_ALL;
/** Bits of mip that M-mode software may write; MTIP, MSIP and MEIP follow the devices. */
export const MIP_SW_WRITABLE: u64 = MIP_SSIP | MIP_STIP | MIP_SEIP;
/** Interrupts that may be delegated to S-mode via mideleg. */
export const MIDELEG_WRITABLE: u64 = MIP_SSIP | MIP_STIP | MIP_SEIP;
/** mideleg's VS-level bits are read-only one with the H extension (section 8.4.1). */
export const MIDELEG_FORCED: u64 = MIP_VS_ALL;
/** Exceptions that may be delegated via medeleg: all but ecall from M (sections 3.1.8, 8.4.1). */
export const MEDELEG_WRITABLE: u64 = 0xF0_B7FF;
/** hedeleg: causes 9-11 (ecalls from HS/VS/M) and 20-23 stay with HS (section 8.2.2). */
export const HEDELEG_WRITABLE: u64 = 0xB1FF;
/** hideleg: only the VS-level interrupts can go on to VS-mode (section 8.2.2). */
export const HIDELEG_WRITABLE: u64 = MIP_VS_ALL;

// misa (section 3.1.1): MXL=2 (64-bit) and one bit per extension letter.
export const MISA_MXL64: u64 = 2 << 62;
@inline export function misaExt(letter: i32): u64 { return (<u64>1) << <u64>(letter - 0x41); }

// hstatus (section 8.2.1, figure 8.3).
export const HSTATUS_GVA: u64 = 1 << 6;
export const HSTATUS_SPV: u64 = 1 << 7;
export const HSTATUS_SPVP: u64 = 1 << 8;
export const HSTATUS_HU: u64 = 1 << 9;
export const HSTATUS_VTVM: u64 = 1 << 20;
export const HSTATUS_VTW: u64 = 1 << 21;
export const HSTATUS_VTSR: u64 = 1 << 22;
/** VSXL = 2: VS-mode is 64-bit; read-only. VGEIN is read-only zero (GEILEN = 0). */
export const HSTATUS_VSXL64: u64 = <u64>2 << 32;
export const HSTATUS_WRITABLE: u64 = HSTATUS_GVA | HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_HU |
  HSTATUS_VTVM | HSTATUS_VTW | HSTATUS_VTSR;

// hgatp (section 8.2.10): MODE 63:60, VMID 57:44 (VMIDLEN = 14 here), PPN 43:0.
export const HGATP_MODE_SV39X4: u64 = 8;
export const HGATP_VMID_MASK: u64 = ((<u64>1 << 14) - 1) << 44;
/** The root table is 16 KiB: PPN[1:0] read as zero. */
export const HGATP_PPN_MASK: u64 = ((<u64>1 << 44) - 1) & ~(<u64>3);
/** Sv39x4 guest-physical addresses are 41 bits (section 8.5.1). */
export const SV39X4_GPA_BITS: u64 = 41;

// satp (section 4.1.11).
export const SATP_MODE_SHIFT: u64 = 60;
export const SATP_MODE_BARE: u64 = 0;
export const SATP_MODE_SV39: u64 = 8;
export const SATP_ASID_SHIFT: u64 = 44;
export const SATP_ASID_MASK: u64 = 0xFFFF;
export const SATP_PPN_MASK: u64 = (1 << 44) - 1;

// Sv39 page-table entries (section 4.4.1, figure 4.21).
export const PTE_V: u64 = 1 << 0;
export const PTE_R: u64 = 1 << 1;
export const PTE_W: u64 = 1 << 2;
export const PTE_X: u64 = 1 << 3;
export const PTE_U: u64 = 1 << 4;
export const PTE_G: u64 = 1 << 5;
export const PTE_A: u64 = 1 << 6;
export const PTE_D: u64 = 1 << 7;
export const PTE_PPN_SHIFT: u64 = 10;
export const PTE_PPN_MASK: u64 = (1 << 44) - 1;
/** Bits 63:54 are reserved (or Svpbmt/Svnapot, not implemented) and must be zero. */
export const PTE_RESERVED: u64 = 0xFFC0_0000_0000_0000;

export const PAGE_SHIFT: u64 = 12;
export const PAGE_SIZE: u64 = 4096;
export const PAGE_MASK: u64 = 4095;

// menvcfg, senvcfg, henvcfg (privileged spec v1.12 sections 3.1.18, 4.1.4, 8.2.11): the fields
// hvlab implements. FIOM only strengthens FENCE, which hvlab already executes as a full fence;
// STCE (menvcfg, henvcfg) enables Sstc's stimecmp and vstimecmp.
export const ENVCFG_FIOM: u64 = 1;
export const ENVCFG_STCE: u64 = <u64>1 << 63;
/** mcounteren/hcounteren bit 1 (TM): also gates stimecmp/vstimecmp below M (Sstc section 1). */
export const COUNTEREN_TM: u64 = 1 << 1;
