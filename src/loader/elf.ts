/**
 * ELF64 loader: turns a RISC-V executable into the list of byte ranges to place in guest RAM.
 *
 * It owns the validation of untrusted image files: every problem becomes an HvlabError whose
 * code is listed in docs/loading.md, nothing is copied (segment data are views into the file)
 * and nothing is allocated from a size the file claims until that size has been checked.
 * Writing the segments into RAM is the VM's job; this file never touches guest memory.
 *
 * Reference: System V ABI, "ELF-64 Object File Format" (v1.5), and the RISC-V ELF psABI.
 */
import { HvlabError } from '../errors.js';

export interface LoadSegment {
  /** guest-physical load address (p_paddr) */
  paddr: bigint;
  /** the segment's file bytes (p_filesz of them), a view into the image, not a copy */
  data: Uint8Array;
  /** bytes the segment occupies in RAM; [data.length, memsz) is zero-filled (.bss) */
  memsz: bigint;
  /** p_flags: PF_X | PF_W | PF_R */
  flags: number;
}

export interface LoadedImage {
  /** guest-physical address of the first instruction */
  entry: bigint;
  /** PT_LOAD segments with memsz > 0, sorted by paddr, pairwise disjoint, all inside RAM */
  segments: LoadSegment[];
  /** every named symbol of SHT_SYMTAB at its link-time value (st_value), globals winning */
  symbols: Map<string, bigint>;
  /** guest-physical address of the riscv-tests `tohost` mailbox, when the image has one */
  tohost?: bigint;
  /** guest-physical address of `fromhost`, when the image has one */
  fromhost?: bigint;
  /** lowest paddr of any segment */
  lowest: bigint;
  /** end (exclusive) of the highest segment */
  highest: bigint;
  /**
   * e_flags has EF_RISCV_RVC: the image may contain compressed (C) instructions.
   * The loader accepts such images; the VM decides whether its core can run them.
   */
  rvc?: boolean;
  /** the ELF header's e_flags (RISC-V psABI: RVC, float ABI, RVE, TSO); the VM checks them */
  eFlags?: number;
}

export interface RamRegion {
  base: bigint;
  size: bigint;
}

/* ELF constants, named as in the gABI (e_ident indices, types, machines) and the RISC-V psABI. */
const EI_MAG0 = 0;
const EI_CLASS = 4;
const EI_DATA = 5;
const EI_VERSION = 6;
const EI_NIDENT = 16;
const ELFMAG = [0x7f, 0x45, 0x4c, 0x46]; // "\x7fELF"
const ELFCLASS32 = 1;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const ELFDATA2MSB = 2;
const EV_CURRENT = 1;
const ET_REL = 1;
const ET_EXEC = 2;
const ET_DYN = 3;
const ET_CORE = 4;
const EM_RISCV = 243;
const EF_RISCV_RVC = 0x1;
const PT_LOAD = 1;
const PN_XNUM = 0xffff;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHN_UNDEF = 0;
const STB_LOCAL = 0;
const STT_SECTION = 3;
const STT_FILE = 4;

/* Fixed ELF64 record sizes (gABI, ELF-64 "Data Representation"). */
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;

/* The tohost/fromhost words are 64-bit and the host reads them as such. */
const HOST_WORD_BYTES = 8n;

/** Machines a user is likely to hand us by mistake, so the error can say what the file is. */
const MACHINE_NAMES: Record<number, string> = {
  0: 'no machine (EM_NONE)',
  2: 'SPARC',
  3: 'x86 (i386)',
  8: 'MIPS',
  20: 'PowerPC',
  21: 'PowerPC64',
  22: 'IBM S/390',
  40: 'ARM (32-bit)',
  43: 'SPARC V9',
  50: 'IA-64',
  62: 'x86-64',
  183: 'AArch64',
  243: 'RISC-V',
  247: 'eBPF',
  258: 'LoongArch',
};

const TYPE_NAMES: Record<number, string> = {
  0: 'ET_NONE',
  [ET_REL]: 'a relocatable object (ET_REL; link it first)',
  [ET_EXEC]: 'ET_EXEC',
  [ET_DYN]: 'position-independent (ET_DYN; link with -static -no-pie at a fixed address)',
  [ET_CORE]: 'a core dump (ET_CORE)',
};

/** True when `bytes` starts with the ELF magic; the CLI uses it to choose ELF or raw loading. */
export function isElf(bytes: Uint8Array): boolean {
  if (bytes.length < ELFMAG.length) return false;
  for (let i = 0; i < ELFMAG.length; i++) if (bytes[EI_MAG0 + i] !== ELFMAG[i]) return false;
  return true;
}

export function hex(v: bigint | number): string {
  return '0x' + v.toString(16);
}

function range(lo: bigint, hi: bigint): string {
  return `[${hex(lo)}, ${hex(hi)})`;
}

/** A little-endian reader that refuses to look past the end of the file instead of throwing RangeError. */
class Reader {
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    private readonly name: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get length(): number {
    return this.bytes.length;
  }
  /** Throws ELF_TRUNCATED unless [off, off+len) lies inside the file. Offsets are bigint (u64 fields). */
  need(off: bigint, len: bigint, what: string): number {
    const end = off + len;
    if (off < 0n || len < 0n || end > BigInt(this.length)) {
      throw new HvlabError(
        'ELF_TRUNCATED',
        `${this.name}: truncated ELF: ${what} at file offset ${range(off, end)} runs past the end of the ${this.length}-byte file`,
      );
    }
    return Number(off);
  }
  u8(off: number): number {
    return this.view.getUint8(off);
  }
  u16(off: number): number {
    return this.view.getUint16(off, true);
  }
  u32(off: number): number {
    return this.view.getUint32(off, true);
  }
  u64(off: number): bigint {
    return this.view.getBigUint64(off, true);
  }
}

interface ProgramHeader {
  index: number;
  type: number;
  flags: number;
  offset: bigint;
  vaddr: bigint;
  paddr: bigint;
  filesz: bigint;
  memsz: bigint;
}

interface SectionHeader {
  type: number;
  link: number;
  info: number;
  offset: bigint;
  size: bigint;
  entsize: bigint;
}

/**
 * Validate an ELF64 RISC-V executable and describe what to load where.
 * `ram` is the guest-physical RAM window every segment must fit in; `name` is used in messages.
 */
export function parseElf(bytes: Uint8Array, ram: RamRegion, name = 'image'): LoadedImage {
  const r = new Reader(bytes, name);
  checkIdent(r, name);
  r.need(0n, BigInt(EHDR_SIZE), 'the ELF header');

  // Elf64_Ehdr field offsets.
  const eType = r.u16(16);
  const eMachine = r.u16(18);
  const eVersion = r.u32(20);
  const eEntry = r.u64(24);
  const ePhoff = r.u64(32);
  const eShoff = r.u64(40);
  const eFlags = r.u32(48);
  const ePhentsize = r.u16(54);
  let ePhnum = r.u16(56);
  const eShentsize = r.u16(58);
  const eShnum = r.u16(60);

  if (eMachine !== EM_RISCV) {
    const known = MACHINE_NAMES[eMachine];
    throw new HvlabError(
      'ELF_WRONG_MACHINE',
      `${name}: ELF is for ${known ?? 'an unknown machine'} (e_machine ${eMachine}), not RISC-V (e_machine ${EM_RISCV})`,
    );
  }
  if (eVersion !== EV_CURRENT) {
    throw new HvlabError('ELF_BAD_VERSION', `${name}: ELF e_version is ${eVersion}, expected ${EV_CURRENT}`);
  }
  if (eType !== ET_EXEC) {
    // ET_DYN is refused on purpose: the loader does not relocate, and a PIE linked at 0 would
    // only fail later with a confusing "outside RAM" error. See docs/loading.md.
    const what = TYPE_NAMES[eType] ?? `an unknown type`;
    throw new HvlabError(
      'ELF_NOT_EXECUTABLE',
      `${name}: ELF is ${what} (e_type ${eType}), expected an executable (ET_EXEC, e_type ${ET_EXEC})`,
    );
  }

  // Section 0 carries the real counts when they overflow 16 bits (gABI "Extended numbering").
  let section0: SectionHeader | undefined;
  if (eShoff !== 0n && (ePhnum === PN_XNUM || eShnum === 0)) {
    checkShentsize(eShentsize, name);
    section0 = readSection(r, eShoff, 0);
  }
  if (ePhnum === PN_XNUM && section0) ePhnum = section0.info;

  if (ePhnum === 0) {
    throw new HvlabError('ELF_NO_LOAD', `${name}: ELF has no program headers, so nothing to load (a relocatable object or a stripped header?)`);
  }
  if (ePhentsize !== PHDR_SIZE) {
    throw new HvlabError(
      'ELF_BAD_HEADER',
      `${name}: ELF e_phentsize is ${ePhentsize}, expected ${PHDR_SIZE} for ELF64 program headers`,
    );
  }
  r.need(ePhoff, BigInt(ePhnum) * BigInt(PHDR_SIZE), `${ePhnum} program headers`);

  const loads: ProgramHeader[] = [];
  for (let i = 0; i < ePhnum; i++) {
    const ph = readProgramHeader(r, Number(ePhoff) + i * PHDR_SIZE, i);
    if (ph.type !== PT_LOAD) continue;
    checkLoad(r, ph, ram, name);
    if (ph.memsz > 0n) loads.push(ph);
  }
  if (loads.length === 0) {
    throw new HvlabError('ELF_NO_LOAD', `${name}: ELF has no PT_LOAD segment with memsz > 0 among its ${ePhnum} program headers`);
  }

  loads.sort((a, b) => (a.paddr < b.paddr ? -1 : a.paddr > b.paddr ? 1 : 0));
  for (let i = 1; i < loads.length; i++) {
    const a = loads[i - 1];
    const b = loads[i];
    if (b.paddr < a.paddr + a.memsz) {
      throw new HvlabError(
        'ELF_OVERLAP',
        `${name}: ELF segments ${a.index} ${range(a.paddr, a.paddr + a.memsz)} and ${b.index} ${range(b.paddr, b.paddr + b.memsz)} overlap in physical memory`,
      );
    }
  }

  const rvc = (eFlags & EF_RISCV_RVC) !== 0;
  const entry = toPhysical(loads, eEntry);
  if (entry === undefined) {
    throw new HvlabError(
      'ELF_BAD_ENTRY',
      `${name}: ELF entry point ${hex(eEntry)} is not inside any loaded segment (image spans ${range(loads[0].paddr, end(loads[loads.length - 1]))})`,
    );
  }
  // IALIGN is 32 bits without C and 16 with it (unprivileged spec, "Instruction-Address-Misaligned").
  const ialign = rvc ? 2n : 4n;
  if (entry % ialign !== 0n) {
    throw new HvlabError(
      'ELF_BAD_ENTRY',
      `${name}: ELF entry point ${hex(entry)} is not ${ialign}-byte aligned${rvc ? '' : ' (the image does not use compressed instructions)'}`,
    );
  }

  const symbols = eShoff !== 0n ? readSymbols(r, eShoff, eShentsize, eShnum, section0, name) : new Map<string, bigint>();

  const segments: LoadSegment[] = loads.map((ph) => {
    const off = Number(ph.offset);
    return { paddr: ph.paddr, data: bytes.subarray(off, off + Number(ph.filesz)), memsz: ph.memsz, flags: ph.flags };
  });

  const image: LoadedImage = {
    entry,
    segments,
    symbols,
    lowest: loads[0].paddr,
    highest: end(loads[loads.length - 1]),
    rvc,
    eFlags,
  };
  const tohost = hostWord(symbols, loads, 'tohost', name);
  if (tohost !== undefined) image.tohost = tohost;
  const fromhost = hostWord(symbols, loads, 'fromhost', name);
  if (fromhost !== undefined) image.fromhost = fromhost;
  return image;
}

/** e_ident checks, in the order that gives the most useful message for a wrong file. */
function checkIdent(r: Reader, name: string): void {
  if (!isElf(r.bytes)) {
    const got = Array.from(r.bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new HvlabError(
      'ELF_BAD_MAGIC',
      `${name}: not an ELF file (expected magic 7f 45 4c 46, found ${got || 'an empty file'})`,
    );
  }
  r.need(0n, BigInt(EI_NIDENT), 'the ELF identification bytes');
  const cls = r.u8(EI_CLASS);
  if (cls !== ELFCLASS64) {
    const what = cls === ELFCLASS32 ? 'a 32-bit ELF (ELFCLASS32)' : `an ELF of unknown class ${cls}`;
    throw new HvlabError('ELF_NOT_64BIT', `${name}: ${what}; hvlab runs RV64 and needs ELFCLASS64`);
  }
  const data = r.u8(EI_DATA);
  if (data !== ELFDATA2LSB) {
    const what = data === ELFDATA2MSB ? 'big-endian (ELFDATA2MSB)' : `of unknown byte order (EI_DATA ${data})`;
    throw new HvlabError('ELF_NOT_LITTLE_ENDIAN', `${name}: ELF is ${what}; RISC-V images are little-endian`);
  }
  const version = r.u8(EI_VERSION);
  if (version !== EV_CURRENT) {
    throw new HvlabError('ELF_BAD_VERSION', `${name}: ELF EI_VERSION is ${version}, expected ${EV_CURRENT}`);
  }
}

function checkShentsize(shentsize: number, name: string): void {
  if (shentsize !== SHDR_SIZE) {
    throw new HvlabError(
      'ELF_BAD_HEADER',
      `${name}: ELF e_shentsize is ${shentsize}, expected ${SHDR_SIZE} for ELF64 section headers`,
    );
  }
}

function readProgramHeader(r: Reader, off: number, index: number): ProgramHeader {
  // Elf64_Phdr: p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align.
  return {
    index,
    type: r.u32(off),
    flags: r.u32(off + 4),
    offset: r.u64(off + 8),
    vaddr: r.u64(off + 16),
    paddr: r.u64(off + 24),
    filesz: r.u64(off + 32),
    memsz: r.u64(off + 40),
  };
}

function readSection(r: Reader, shoff: bigint, index: number): SectionHeader {
  const off = r.need(shoff + BigInt(index * SHDR_SIZE), BigInt(SHDR_SIZE), `section header ${index}`);
  // Elf64_Shdr: sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, ...
  return {
    type: r.u32(off + 4),
    offset: r.u64(off + 24),
    size: r.u64(off + 32),
    link: r.u32(off + 40),
    info: r.u32(off + 44),
    entsize: r.u64(off + 56),
  };
}

/**
 * A PT_LOAD is accepted only if its file bytes exist, it fits its memory size, and the whole of
 * [p_paddr, p_paddr + p_memsz) lies in RAM. These checks come before any use of memsz, so a
 * crafted size cannot make anyone allocate or zero-fill gigabytes.
 */
function checkLoad(r: Reader, ph: ProgramHeader, ram: RamRegion, name: string): void {
  if (ph.filesz > ph.memsz) {
    throw new HvlabError(
      'ELF_FILESZ_GT_MEMSZ',
      `${name}: ELF segment ${ph.index} has p_filesz ${hex(ph.filesz)} larger than p_memsz ${hex(ph.memsz)}`,
    );
  }
  r.need(ph.offset, ph.filesz, `segment ${ph.index}'s ${ph.filesz} file bytes`);
  if (ph.memsz === 0n) return;
  const ramEnd = ram.base + ram.size;
  const segEnd = ph.paddr + ph.memsz;
  if (ph.paddr < ram.base || segEnd > ramEnd) {
    // Images linked for virtual addresses (p_vaddr in RAM, p_paddr elsewhere) are a common
    // mistake; the loader uses p_paddr only, so say what p_vaddr was to make it recognisable.
    const vaddrHint =
      ph.vaddr !== ph.paddr && ph.vaddr >= ram.base && ph.vaddr + ph.memsz <= ramEnd
        ? ` (its p_vaddr ${hex(ph.vaddr)} is in RAM, but the loader places segments by p_paddr)`
        : '';
    throw new HvlabError(
      'ELF_OUTSIDE_RAM',
      `${name}: ELF segment ${ph.index} at ${range(ph.paddr, segEnd)} lies outside RAM ${range(ram.base, ramEnd)}${vaddrHint}`,
    );
  }
}

function end(ph: ProgramHeader): bigint {
  return ph.paddr + ph.memsz;
}

/**
 * Map a link-time (virtual) address to where it was loaded. e_entry and st_value are virtual
 * addresses; for bare-metal images p_vaddr == p_paddr and this is the identity, and for images
 * with VMA != LMA (e.g. a Linux vmlinux) it finds the physical copy, which is what runs with
 * translation off.
 */
function toPhysical(loads: ProgramHeader[], vaddr: bigint): bigint | undefined {
  for (const ph of loads) {
    if (vaddr >= ph.vaddr && vaddr < ph.vaddr + ph.memsz) return vaddr - ph.vaddr + ph.paddr;
  }
  return undefined;
}

/** The host polls tohost/fromhost as 64-bit words, so they must be loaded and 8-byte aligned. */
function hostWord(symbols: Map<string, bigint>, loads: ProgramHeader[], sym: string, name: string): bigint | undefined {
  const value = symbols.get(sym);
  if (value === undefined) return undefined;
  const pa = toPhysical(loads, value);
  if (pa === undefined || toPhysical(loads, value + HOST_WORD_BYTES - 1n) === undefined) {
    throw new HvlabError('ELF_BAD_TOHOST', `${name}: ELF symbol ${sym} at ${hex(value)} is not inside a loaded segment`);
  }
  if (pa % HOST_WORD_BYTES !== 0n) {
    throw new HvlabError('ELF_BAD_TOHOST', `${name}: ELF symbol ${sym} at ${hex(value)} is not 8-byte aligned`);
  }
  return pa;
}

/**
 * Collect named symbols from the first SHT_SYMTAB and the string table its sh_link names.
 * Section and file symbols are skipped (their "value" is not an address); a global symbol
 * replaces a local one of the same name, and the first of several globals wins.
 */
function readSymbols(
  r: Reader,
  shoff: bigint,
  shentsize: number,
  shnumField: number,
  section0: SectionHeader | undefined,
  name: string,
): Map<string, bigint> {
  const symbols = new Map<string, bigint>();
  const shnum = shnumField === 0 && section0 ? section0.size : BigInt(shnumField);
  if (shnum === 0n) return symbols;
  checkShentsize(shentsize, name);
  r.need(shoff, shnum * BigInt(SHDR_SIZE), `${shnum} section headers`);

  let symtab: SectionHeader | undefined;
  for (let i = 0; i < Number(shnum); i++) {
    const sh = readSection(r, shoff, i);
    if (sh.type === SHT_SYMTAB) {
      symtab = sh;
      break;
    }
  }
  if (!symtab) return symbols;
  if (symtab.entsize !== BigInt(SYM_SIZE) || symtab.size % BigInt(SYM_SIZE) !== 0n) {
    throw new HvlabError(
      'ELF_BAD_SYMTAB',
      `${name}: ELF symbol table has entry size ${symtab.entsize} and size ${symtab.size}, expected multiples of ${SYM_SIZE}`,
    );
  }
  if (BigInt(symtab.link) >= shnum) {
    throw new HvlabError(
      'ELF_BAD_SYMTAB',
      `${name}: ELF symbol table links to string table section ${symtab.link}, but there are only ${shnum} sections`,
    );
  }
  const strtab = readSection(r, shoff, symtab.link);
  if (strtab.type !== SHT_STRTAB) {
    throw new HvlabError(
      'ELF_BAD_SYMTAB',
      `${name}: ELF symbol table links to section ${symtab.link} of type ${strtab.type}, not a string table (${SHT_STRTAB})`,
    );
  }
  const symOff = r.need(symtab.offset, symtab.size, 'the symbol table');
  const strOff = r.need(strtab.offset, strtab.size, 'the symbol string table');
  const strings = r.bytes.subarray(strOff, strOff + Number(strtab.size));
  const decoder = new TextDecoder('utf-8');
  const count = Number(symtab.size) / SYM_SIZE;
  const isGlobal = new Set<string>();

  for (let i = 1; i < count; i++) {
    // Elf64_Sym: st_name u32, st_info u8, st_other u8, st_shndx u16, st_value u64, st_size u64.
    const off = symOff + i * SYM_SIZE;
    const nameOff = r.u32(off);
    const info = r.u8(off + 4);
    const shndx = r.u16(off + 6);
    const value = r.u64(off + 8);
    const type = info & 0xf;
    const bind = info >> 4;
    if (nameOff === 0 || shndx === SHN_UNDEF || type === STT_SECTION || type === STT_FILE) continue;
    if (nameOff >= strings.length) {
      throw new HvlabError(
        'ELF_BAD_SYMTAB',
        `${name}: ELF symbol ${i} names string offset ${nameOff}, past the ${strings.length}-byte string table`,
      );
    }
    const nul = strings.indexOf(0, nameOff);
    if (nul < 0) {
      throw new HvlabError('ELF_BAD_SYMTAB', `${name}: ELF symbol ${i}'s name at string offset ${nameOff} is not NUL-terminated`);
    }
    const sym = decoder.decode(strings.subarray(nameOff, nul));
    const global = bind !== STB_LOCAL;
    if (!symbols.has(sym) || (global && !isGlobal.has(sym))) {
      symbols.set(sym, value);
      if (global) isGlobal.add(sym);
    }
  }
  return symbols;
}
