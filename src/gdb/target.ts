/**
 * The target description GDB reads with qXfer:features:read:target.xml (GDB manual, appendix G
 * "Target Descriptions"; the RISC-V features in section G.5.9): the integer registers and pc
 * (org.gnu.gdb.riscv.cpu), the f registers with fflags/frm/fcsr (org.gnu.gdb.riscv.fpu), the
 * CSRs by name (org.gnu.gdb.riscv.csr: machine, supervisor, hypervisor and VS), the privilege
 * level (org.gnu.gdb.riscv.virtual) and hvlab's V bit (org.hvlab.debug).
 *
 * Register numbers are GDB's RISC-V numbering, which the stub's p/P packets use too:
 *   0-31 x0-x31, 32 pc, 33-64 f0-f31, 65 + n the CSR numbered n, 4161 priv, 4162 virt.
 */

export const REG_PC = 32;
export const REG_F0 = 33;
export const REG_CSR0 = 65;
export const REG_PRIV = 65 + 4096;
export const REG_VIRT = REG_PRIV + 1;

const GPR_NAMES = ['zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 'fp', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5',
  'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6'];
const FPR_NAMES = ['ft0', 'ft1', 'ft2', 'ft3', 'ft4', 'ft5', 'ft6', 'ft7', 'fs0', 'fs1', 'fa0', 'fa1', 'fa2', 'fa3',
  'fa4', 'fa5', 'fa6', 'fa7', 'fs2', 'fs3', 'fs4', 'fs5', 'fs6', 'fs7', 'fs8', 'fs9', 'fs10', 'fs11', 'ft8', 'ft9',
  'ft10', 'ft11'];

/** The CSRs GDB is told about, by name (privileged spec v1.12 tables 2.2-2.6; assembly/riscv/csr.ts). */
export const CSRS: readonly [string, number][] = [
  ['cycle', 0xC00], ['time', 0xC01], ['instret', 0xC02],
  ['sstatus', 0x100], ['sie', 0x104], ['stvec', 0x105], ['scounteren', 0x106], ['senvcfg', 0x10A],
  ['sscratch', 0x140], ['sepc', 0x141], ['scause', 0x142], ['stval', 0x143], ['sip', 0x144],
  ['stimecmp', 0x14D], ['satp', 0x180],
  ['vsstatus', 0x200], ['vsie', 0x204], ['vstvec', 0x205], ['vsscratch', 0x240], ['vsepc', 0x241],
  ['vscause', 0x242], ['vstval', 0x243], ['vsip', 0x244], ['vstimecmp', 0x24D], ['vsatp', 0x280],
  ['mstatus', 0x300], ['misa', 0x301], ['medeleg', 0x302], ['mideleg', 0x303], ['mie', 0x304],
  ['mtvec', 0x305], ['mcounteren', 0x306], ['menvcfg', 0x30A], ['mcountinhibit', 0x320],
  ['mscratch', 0x340], ['mepc', 0x341], ['mcause', 0x342], ['mtval', 0x343], ['mip', 0x344],
  ['mtinst', 0x34A], ['mtval2', 0x34B],
  ['hstatus', 0x600], ['hedeleg', 0x602], ['hideleg', 0x603], ['hie', 0x604], ['htimedelta', 0x605],
  ['hcounteren', 0x606], ['hgeie', 0x607], ['henvcfg', 0x60A], ['htval', 0x643], ['hip', 0x644],
  ['hvip', 0x645], ['htinst', 0x64A], ['hgatp', 0x680], ['hgeip', 0xE12],
  ['mcycle', 0xB00], ['minstret', 0xB02],
  ['mvendorid', 0xF11], ['marchid', 0xF12], ['mimpid', 0xF13], ['mhartid', 0xF14],
];
/** fflags, frm, fcsr: in the fpu feature, as GDB expects them. */
const FP_CSRS: readonly [string, number][] = [['fflags', 0x001], ['frm', 0x002], ['fcsr', 0x003]];

/** Every CSR number the description names (the p packet reads others too, by number). */
export const DESCRIBED_CSRS = new Set([...CSRS, ...FP_CSRS].map(([, n]) => n));

export function targetXml(): string {
  const reg = (name: string, regnum: number, type = 'int', bits = 64) =>
    `    <reg name="${name}" bitsize="${bits}" type="${type}" regnum="${regnum}"/>`;
  return [
    '<?xml version="1.0"?>',
    '<!DOCTYPE target SYSTEM "gdb-target.dtd">',
    '<target version="1.0">',
    '  <architecture>riscv:rv64</architecture>',
    '  <feature name="org.gnu.gdb.riscv.cpu">',
    ...GPR_NAMES.map((n, i) => reg(n, i, i === 1 ? 'code_ptr' : i === 2 || i === 8 ? 'data_ptr' : 'int')),
    reg('pc', REG_PC, 'code_ptr'),
    '  </feature>',
    '  <feature name="org.gnu.gdb.riscv.fpu">',
    ...FPR_NAMES.map((n, i) => reg(n, REG_F0 + i, 'ieee_double')),
    ...FP_CSRS.map(([n, c]) => reg(n, REG_CSR0 + c, 'int', 32)),
    '  </feature>',
    '  <feature name="org.gnu.gdb.riscv.csr">',
    ...CSRS.map(([n, c]) => reg(n, REG_CSR0 + c)),
    '  </feature>',
    '  <feature name="org.gnu.gdb.riscv.virtual">',
    reg('priv', REG_PRIV, 'int', 8),
    '  </feature>',
    '  <feature name="org.hvlab.debug">',
    reg('virt', REG_VIRT, 'int', 8),
    '  </feature>',
    '</target>',
    '',
  ].join('\n');
}

/** The size in bytes of register `n` as described (what p/P exchange). */
export function registerBytes(n: number): number {
  if (n === REG_PRIV || n === REG_VIRT) return 1;
  if (n >= REG_CSR0 + 1 && n <= REG_CSR0 + 3) return 4;
  return 8;
}
