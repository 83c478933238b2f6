// CSR numbers, named as in the RISC-V privileged specification (v1.12, chapter 2.2,
// "CSR Listing", tables 2.2-2.6). Bits [9:8] of the number give the lowest privilege that may
// access the CSR and bits [11:10] == 0b11 mark it read-only (section 2.1).

// Unprivileged floating-point CSRs (unprivileged spec 11.2, F and D extensions)
export const CSR_FFLAGS: u32 = 0x001;
export const CSR_FRM: u32 = 0x002;
export const CSR_FCSR: u32 = 0x003;

// Unprivileged counters (Zicntr)
export const CSR_CYCLE: u32 = 0xC00;
export const CSR_TIME: u32 = 0xC01;
export const CSR_INSTRET: u32 = 0xC02;
export const CSR_HPMCOUNTER3: u32 = 0xC03;
export const CSR_HPMCOUNTER31: u32 = 0xC1F;

// Supervisor
export const CSR_SSTATUS: u32 = 0x100;
export const CSR_SIE: u32 = 0x104;
export const CSR_STVEC: u32 = 0x105;
export const CSR_SCOUNTEREN: u32 = 0x106;
export const CSR_SENVCFG: u32 = 0x10A;
export const CSR_SSCRATCH: u32 = 0x140;
export const CSR_SEPC: u32 = 0x141;
export const CSR_SCAUSE: u32 = 0x142;
export const CSR_STVAL: u32 = 0x143;
export const CSR_SIP: u32 = 0x144;
export const CSR_SATP: u32 = 0x180;

// Machine information
export const CSR_MVENDORID: u32 = 0xF11;
export const CSR_MARCHID: u32 = 0xF12;
export const CSR_MIMPID: u32 = 0xF13;
export const CSR_MHARTID: u32 = 0xF14;
export const CSR_MCONFIGPTR: u32 = 0xF15;

// Machine trap setup and handling
export const CSR_MSTATUS: u32 = 0x300;
export const CSR_MISA: u32 = 0x301;
export const CSR_MEDELEG: u32 = 0x302;
export const CSR_MIDELEG: u32 = 0x303;
export const CSR_MIE: u32 = 0x304;
export const CSR_MTVEC: u32 = 0x305;
export const CSR_MCOUNTEREN: u32 = 0x306;
export const CSR_MENVCFG: u32 = 0x30A;
export const CSR_MCOUNTINHIBIT: u32 = 0x320;
export const CSR_MHPMEVENT3: u32 = 0x323;
export const CSR_MHPMEVENT31: u32 = 0x33F;
export const CSR_MSCRATCH: u32 = 0x340;
export const CSR_MEPC: u32 = 0x341;
export const CSR_MCAUSE: u32 = 0x342;
export const CSR_MTVAL: u32 = 0x343;
export const CSR_MIP: u32 = 0x344;

// Physical memory protection (section 3.7): RV64 has only the even pmpcfg registers.
export const CSR_PMPCFG0: u32 = 0x3A0;
export const CSR_PMPCFG15: u32 = 0x3AF;
export const CSR_PMPADDR0: u32 = 0x3B0;
export const CSR_PMPADDR63: u32 = 0x3EF;

// Machine counters
export const CSR_MCYCLE: u32 = 0xB00;
export const CSR_MINSTRET: u32 = 0xB02;
export const CSR_MHPMCOUNTER3: u32 = 0xB03;
export const CSR_MHPMCOUNTER31: u32 = 0xB1F;

// Debug/trace triggers (Sdtrig): present so that probing code does not trap.
export const CSR_TSELECT: u32 = 0x7A0;
export const CSR_TDATA1: u32 = 0x7A1;
export const CSR_TDATA2: u32 = 0x7A2;
export const CSR_TDATA3: u32 = 0x7A3;
export const CSR_TINFO: u32 = 0x7A4;

// Hypervisor extension (section 8.2; table 2.3 "Currently allocated RISC-V hypervisor-level CSR
// addresses"). Bits [9:8] = 0b10: accessible from HS-mode (and M), never from VS/VU.
export const CSR_HSTATUS: u32 = 0x600;
export const CSR_HEDELEG: u32 = 0x602;
export const CSR_HIDELEG: u32 = 0x603;
export const CSR_HIE: u32 = 0x604;
export const CSR_HTIMEDELTA: u32 = 0x605;
export const CSR_HCOUNTEREN: u32 = 0x606;
export const CSR_HGEIE: u32 = 0x607;
export const CSR_HENVCFG: u32 = 0x60A;
export const CSR_HTVAL: u32 = 0x643;
export const CSR_HIP: u32 = 0x644;
export const CSR_HVIP: u32 = 0x645;
export const CSR_HTINST: u32 = 0x64A;
export const CSR_HGATP: u32 = 0x680;
export const CSR_HGEIP: u32 = 0xE12;

// Virtual supervisor CSRs (section 8.2.10-8.2.18): when V=1 the S-level numbers above reach
// these instead (section 8.2 "substitute registers").
export const CSR_VSSTATUS: u32 = 0x200;
export const CSR_VSIE: u32 = 0x204;
export const CSR_VSTVEC: u32 = 0x205;
export const CSR_VSSCRATCH: u32 = 0x240;
export const CSR_VSEPC: u32 = 0x241;
export const CSR_VSCAUSE: u32 = 0x242;
export const CSR_VSTVAL: u32 = 0x243;
export const CSR_VSIP: u32 = 0x244;
export const CSR_VSATP: u32 = 0x280;
/** The S-level CSR number plus this gives its VS substitute. */
export const CSR_VS_OFFSET: u32 = 0x100;

// Machine-level CSRs the hypervisor extension adds (section 8.3).
export const CSR_MTINST: u32 = 0x34A;
export const CSR_MTVAL2: u32 = 0x34B;

// Sstc (the "Stimecmp/Vstimecmp" extension, v1.0): supervisor timer compare registers.
export const CSR_STIMECMP: u32 = 0x14D;
export const CSR_VSTIMECMP: u32 = 0x24D;
