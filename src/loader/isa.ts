/**
 * The riscv,isa string of the device tree, built from what the core implements so that it follows
 * the core as extensions are added: the single-letter extensions are read from the core's `misa`
 * (privileged spec 3.1.1: bit n is letter 'A' + n), the multi-letter ones come from the table
 * below. Naming and order: unprivileged spec, chapter "ISA Extension Naming Conventions"
 * (single letters in canonical order, then '_'-separated Z extensions grouped by their second
 * letter's category and then alphabetically, then S extensions).
 *
 * Consumers: Linux 6.1 (arch/riscv/kernel/cpufeature.c) reads the single letters into its
 * hwcap and skips multi-letter names it does not know; OpenSBI 1.1 detects features by probing
 * CSRs, not from this string.
 */

/** Canonical order of the single-letter extensions ('h' last; 'g' is never written). */
const SINGLE_ORDER = 'iemafdqlcbkjtpvh';

/**
 * Multi-letter extensions the core implements, in canonical order, with where each lives.
 * `mFirmware`: usable only once M-mode firmware enables it (Sstc needs menvcfg.STCE), so the
 * tree names it only when M-mode code of the guest's own runs (a firmware file, or `none`).
 */
export const MULTI_LETTER_EXTENSIONS: readonly { name: string; what: string; mFirmware?: boolean }[] = [
  { name: 'zicntr', what: 'cycle, time, instret (assembly/cpu/csr.ts, counter-enable rules)' },
  { name: 'zicsr', what: 'the CSR instructions (assembly/cpu/csr.ts)' },
  { name: 'zifencei', what: 'fence.i (assembly/cpu/exec.ts)' },
  { name: 'zihpm', what: 'hpmcounter3..31: present, read zero, gated by the counter-enable bits' },
  { name: 'sstc', what: 'stimecmp, vstimecmp (assembly/cpu/csr.ts, cpu/irq.ts, machine.ts)', mFirmware: true },
];

/** The single letters of `misa` in canonical order, e.g. 'imah' for I, M, A and H. */
export function misaLetters(misa: bigint): string {
  let out = '';
  for (const ch of SINGLE_ORDER) {
    if ((misa >> BigInt(ch.charCodeAt(0) - 97)) & 1n) out += ch;
  }
  return out;
}

/**
 * The riscv,isa string for a hart with this `misa`, without 'h': whether a guest may see the
 * hypervisor extension is the device tree's `hypervisor` flag (src/loader/dtb.ts isaString).
 */
export function isaFromMisa(misa: bigint, mFirmware = true): string {
  const letters = misaLetters(misa).replace('h', '');
  const multi = MULTI_LETTER_EXTENSIONS.filter((e) => mFirmware || !e.mFirmware).map((e) => e.name);
  return ['rv64' + letters, ...multi].join('_');
}

/** Whether the core implements the hypervisor extension (misa.H). */
export function misaHasH(misa: bigint): boolean {
  return ((misa >> 7n) & 1n) === 1n;
}

/**
 * What an ELF's e_flags (RISC-V psABI, "ELF Object Files": EF_RISCV_RVC and EF_RISCV_FLOAT_ABI)
 * say it needs, each with the misa letters it needs. One table, so that the check follows the
 * core: when misa gains C, F or D, images using them are accepted without a change here.
 */
export const ELF_FLAG_REQUIREMENTS: readonly { code: string; what: string; needs: string; test(eFlags: number): boolean }[] = [
  { code: 'NEEDS_RVC', what: 'compressed (C) instructions', needs: 'c', test: (f) => (f & 0x1) !== 0 },
  { code: 'NEEDS_FLOAT', what: 'the single-precision float ABI (F)', needs: 'f', test: (f) => (f & 0x6) === 0x2 },
  { code: 'NEEDS_FLOAT', what: 'the double-precision float ABI (F and D)', needs: 'fd', test: (f) => (f & 0x6) === 0x4 },
  { code: 'NEEDS_FLOAT', what: 'the quad-precision float ABI (F, D and Q)', needs: 'fdq', test: (f) => (f & 0x6) === 0x6 },
];

/** The first requirement of `eFlags` the core (`misa`) does not meet, or undefined. */
export function unmetRequirement(eFlags: number, misa: bigint): typeof ELF_FLAG_REQUIREMENTS[number] | undefined {
  const have = misaLetters(misa);
  return ELF_FLAG_REQUIREMENTS.find((r) => r.test(eFlags) && [...r.needs].some((l) => !have.includes(l)));
}

/** A -march for GCC that the core runs: its misa letters and the Z extensions GCC 12 knows. */
export function marchFor(misa: bigint): string {
  return `rv64${misaLetters(misa).replace('h', '')}_zicsr_zifencei`;
}
