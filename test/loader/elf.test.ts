import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HvlabError } from '../../src/errors.js';
import { isElf, parseElf, type LoadedImage, type RamRegion } from '../../src/loader/elf.js';
import { loadRaw } from '../../src/loader/raw.js';
import { errorOf } from '../support/errors.js';

const RAM: RamRegion = { base: 0x8000_0000n, size: 128n << 20n };
const RAM_END = RAM.base + RAM.size;

/* ---------- a small ELF64 writer, so that every error case is a crafted file ---------- */

interface Phdr {
  type?: number; // default PT_LOAD
  flags?: number; // default R|X
  vaddr?: bigint; // default = paddr
  paddr: bigint;
  data?: Uint8Array; // file bytes; default 16 bytes of 0x13 (nops' low byte)
  filesz?: bigint; // default data.length
  memsz?: bigint; // default filesz
  offset?: bigint; // default: where the writer placed data
}

interface Sym {
  name: string;
  value: bigint;
  bind?: number; // default STB_GLOBAL (1)
  type?: number; // default STT_NOTYPE (0)
  shndx?: number; // default 1
}

interface ElfSpec {
  ident?: Partial<{ cls: number; data: number; version: number }>;
  type?: number;
  machine?: number;
  version?: number;
  entry?: bigint;
  flags?: number;
  phentsize?: number;
  phnumOverride?: number;
  phoffOverride?: bigint;
  phdrs: Phdr[];
  symbols?: Sym[];
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function buildElf(spec: ElfSpec): Uint8Array {
  const phoff = 64;
  const phnum = spec.phdrs.length;
  let cursor = phoff + phnum * 56;
  const placed = spec.phdrs.map((p) => {
    const data = p.data ?? new Uint8Array(16).fill(0x13);
    cursor = align(cursor, 8);
    const at = cursor;
    cursor += data.length;
    return { p, data, at };
  });
  let symOff = 0;
  let strOff = 0;
  let shOff = 0;
  let strtab = new Uint8Array(0);
  const syms = spec.symbols ?? [];
  if (spec.symbols) {
    const enc = new TextEncoder();
    const parts: number[] = [0];
    const nameOffs = syms.map((s) => {
      const off = parts.length;
      parts.push(...enc.encode(s.name), 0);
      return off;
    });
    strtab = Uint8Array.from(parts);
    cursor = align(cursor, 8);
    symOff = cursor;
    cursor += (syms.length + 1) * 24;
    strOff = cursor;
    cursor += strtab.length;
    cursor = align(cursor, 8);
    shOff = cursor;
    cursor += 3 * 64;
    (syms as (Sym & { nameOff?: number })[]).forEach((s, i) => ((s as { nameOff?: number }).nameOff = nameOffs[i]));
  }
  const out = new Uint8Array(cursor);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46]);
  out[4] = spec.ident?.cls ?? 2;
  out[5] = spec.ident?.data ?? 1;
  out[6] = spec.ident?.version ?? 1;
  v.setUint16(16, spec.type ?? 2, true);
  v.setUint16(18, spec.machine ?? 243, true);
  v.setUint32(20, spec.version ?? 1, true);
  v.setBigUint64(24, spec.entry ?? spec.phdrs[0]?.paddr ?? 0n, true);
  v.setBigUint64(32, spec.phoffOverride ?? BigInt(phoff), true);
  v.setBigUint64(40, BigInt(shOff), true);
  v.setUint32(48, spec.flags ?? 0, true);
  v.setUint16(52, 64, true);
  v.setUint16(54, spec.phentsize ?? 56, true);
  v.setUint16(56, spec.phnumOverride ?? phnum, true);
  v.setUint16(58, 64, true);
  v.setUint16(60, spec.symbols ? 3 : 0, true);
  v.setUint16(62, spec.symbols ? 2 : 0, true);
  placed.forEach(({ p, data, at }, i) => {
    const o = phoff + i * 56;
    const filesz = p.filesz ?? BigInt(data.length);
    v.setUint32(o, p.type ?? 1, true);
    v.setUint32(o + 4, p.flags ?? 5, true);
    v.setBigUint64(o + 8, p.offset ?? BigInt(at), true);
    v.setBigUint64(o + 16, p.vaddr ?? p.paddr, true);
    v.setBigUint64(o + 24, p.paddr, true);
    v.setBigUint64(o + 32, filesz, true);
    v.setBigUint64(o + 40, p.memsz ?? filesz, true);
    v.setBigUint64(o + 48, 8n, true);
    out.set(data, at);
  });
  if (spec.symbols) {
    syms.forEach((s, i) => {
      const o = symOff + (i + 1) * 24;
      v.setUint32(o, (s as { nameOff?: number }).nameOff!, true);
      out[o + 4] = ((s.bind ?? 1) << 4) | (s.type ?? 0);
      v.setUint16(o + 6, s.shndx ?? 1, true);
      v.setBigUint64(o + 8, s.value, true);
    });
    out.set(strtab, strOff);
    // Section headers: [0] null, [1] .symtab (link 2), [2] .strtab.
    const sh1 = shOff + 64;
    v.setUint32(sh1 + 4, 2, true);
    v.setBigUint64(sh1 + 24, BigInt(symOff), true);
    v.setBigUint64(sh1 + 32, BigInt((syms.length + 1) * 24), true);
    v.setUint32(sh1 + 40, 2, true);
    v.setBigUint64(sh1 + 56, 24n, true);
    const sh2 = shOff + 128;
    v.setUint32(sh2 + 4, 3, true);
    v.setBigUint64(sh2 + 24, BigInt(strOff), true);
    v.setBigUint64(sh2 + 32, BigInt(strtab.length), true);
  }
  return out;
}

/** A sane two-segment image: code at RAM base, data + bss a page later. */
function goodSpec(): ElfSpec {
  return {
    entry: RAM.base,
    phdrs: [
      { paddr: RAM.base, flags: 5 },
      { paddr: RAM.base + 0x1000n, flags: 6, data: new Uint8Array(32).fill(0xaa), memsz: 0x100n },
    ],
    symbols: [
      { name: '_start', value: RAM.base },
      { name: 'tohost', value: RAM.base + 0x1000n },
      { name: 'fromhost', value: RAM.base + 0x1008n },
    ],
  };
}


function expectError(bytes: Uint8Array, code: string, ...fragments: (string | RegExp)[]): HvlabError {
  const e = errorOf(() => parseElf(bytes, RAM, 'kernel.elf'));
  expect(e.code).toBe(code);
  expect(e.message.startsWith('kernel.elf: ')).toBe(true);
  expect(e.message).not.toContain('\n');
  for (const f of fragments) expect(e.message).toMatch(f);
  return e;
}

describe('parseElf: a well-formed crafted image', () => {
  it('loads segments by paddr, finds symbols, tohost and fromhost', () => {
    const bytes = buildElf(goodSpec());
    const img = parseElf(bytes, RAM, 'kernel.elf');
    expect(img.entry).toBe(RAM.base);
    expect(img.segments.map((s) => [s.paddr, s.data.length, s.memsz, s.flags])).toEqual([
      [RAM.base, 16, 16n, 5],
      [RAM.base + 0x1000n, 32, 0x100n, 6],
    ]);
    expect(img.segments[1].data.every((b) => b === 0xaa)).toBe(true);
    // data is a view into the file, not a copy
    expect(img.segments[1].data.buffer).toBe(bytes.buffer);
    expect(img.tohost).toBe(RAM.base + 0x1000n);
    expect(img.fromhost).toBe(RAM.base + 0x1008n);
    expect(img.symbols.get('_start')).toBe(RAM.base);
    expect(img.lowest).toBe(RAM.base);
    expect(img.highest).toBe(RAM.base + 0x1100n);
    expect(img.rvc).toBe(false);
  });

  it('works on a view with a non-zero byteOffset', () => {
    const bytes = buildElf(goodSpec());
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    const img = parseElf(padded.subarray(3), RAM);
    expect(img.entry).toBe(RAM.base);
    expect(img.tohost).toBe(RAM.base + 0x1000n);
  });

  it('sorts segments by address and skips non-LOAD and empty LOAD headers', () => {
    const spec: ElfSpec = {
      entry: RAM.base + 0x2000n,
      phdrs: [
        { paddr: RAM.base + 0x2000n },
        { type: 0x70000003, paddr: 0n, memsz: 0n }, // PT_RISCV_ATTRIBUTES
        { paddr: 0n, filesz: 0n, memsz: 0n, data: new Uint8Array(0) }, // empty PT_LOAD, anywhere
        { paddr: RAM.base },
      ],
    };
    const img = parseElf(buildElf(spec), RAM);
    expect(img.segments.map((s) => s.paddr)).toEqual([RAM.base, RAM.base + 0x2000n]);
    expect(img.tohost).toBeUndefined();
    expect(img.symbols.size).toBe(0);
  });

  it('translates a virtual entry and tohost to physical when p_vaddr != p_paddr', () => {
    const va = 0xffff_ffff_8000_0000n;
    const spec: ElfSpec = {
      entry: va + 0x10n,
      phdrs: [{ paddr: RAM.base + 0x20_0000n, vaddr: va, data: new Uint8Array(64) }],
      symbols: [{ name: 'tohost', value: va + 0x20n }],
    };
    const img = parseElf(buildElf(spec), RAM);
    expect(img.entry).toBe(RAM.base + 0x20_0010n);
    expect(img.tohost).toBe(RAM.base + 0x20_0020n);
    expect(img.symbols.get('tohost')).toBe(va + 0x20n);
  });

  it('prefers a global symbol over a local one of the same name, and skips section/file symbols', () => {
    const spec = goodSpec();
    spec.symbols = [
      { name: 'x', value: 1n, bind: 0 },
      { name: 'x', value: 2n, bind: 1 },
      { name: 'x', value: 3n, bind: 1 },
      { name: 'y', value: 4n, bind: 0 },
      { name: '.text', value: 5n, type: 3 },
      { name: 'a.c', value: 0n, type: 4, shndx: 0xfff1 },
      { name: 'undef', value: 0n, shndx: 0 },
    ];
    const img = parseElf(buildElf(spec), RAM);
    expect([...img.symbols]).toEqual([
      ['x', 2n],
      ['y', 4n],
    ]);
  });

  it('accepts a 2-byte aligned entry only for RVC images', () => {
    const spec = goodSpec();
    spec.entry = RAM.base + 2n;
    expectError(buildElf(spec), 'ELF_BAD_ENTRY', /0x80000002/, /4-byte aligned/);
    spec.flags = 1; // EF_RISCV_RVC
    const img = parseElf(buildElf(spec), RAM);
    expect(img.entry).toBe(RAM.base + 2n);
    expect(img.rvc).toBe(true);
  });
});

describe('isElf', () => {
  it('recognises the magic and nothing else', () => {
    expect(isElf(buildElf(goodSpec()))).toBe(true);
    expect(isElf(new Uint8Array([0x7f, 0x45, 0x4c]))).toBe(false);
    expect(isElf(new Uint8Array([0x4d, 0x5a, 0x90, 0x00]))).toBe(false);
    expect(isElf(new Uint8Array(0))).toBe(false);
  });
});

describe('parseElf: every user error is a specific HvlabError', () => {
  it('ELF_BAD_MAGIC: not an ELF', () => {
    expectError(new Uint8Array([0x4d, 0x5a, 0x90, 0x00, 1, 2, 3]), 'ELF_BAD_MAGIC', /not an ELF/, /4d 5a 90 00/);
    expectError(new Uint8Array(0), 'ELF_BAD_MAGIC', /empty file/);
  });

  it('ELF_NOT_64BIT: ELFCLASS32', () => {
    expectError(buildElf({ ...goodSpec(), ident: { cls: 1 } }), 'ELF_NOT_64BIT', /32-bit/, /ELFCLASS32/);
    // a short ELF32 header still gets the class message, not "truncated"
    expectError(buildElf({ ...goodSpec(), ident: { cls: 1 } }).subarray(0, 52), 'ELF_NOT_64BIT');
  });

  it('ELF_NOT_LITTLE_ENDIAN', () => {
    expectError(buildElf({ ...goodSpec(), ident: { data: 2 } }), 'ELF_NOT_LITTLE_ENDIAN', /big-endian/);
  });

  it('ELF_BAD_VERSION', () => {
    expectError(buildElf({ ...goodSpec(), ident: { version: 0 } }), 'ELF_BAD_VERSION', /EI_VERSION is 0/);
    expectError(buildElf({ ...goodSpec(), version: 7 }), 'ELF_BAD_VERSION', /e_version is 7/);
  });

  it('ELF_WRONG_MACHINE names the machine', () => {
    expectError(buildElf({ ...goodSpec(), machine: 62 }), 'ELF_WRONG_MACHINE', /x86-64/, /e_machine 62/, /RISC-V/);
    expectError(buildElf({ ...goodSpec(), machine: 183 }), 'ELF_WRONG_MACHINE', /AArch64/);
    expectError(buildElf({ ...goodSpec(), machine: 4242 }), 'ELF_WRONG_MACHINE', /unknown machine/, /4242/);
  });

  it('ELF_NOT_EXECUTABLE: relocatable objects, PIE/shared objects, core dumps', () => {
    expectError(buildElf({ ...goodSpec(), type: 1 }), 'ELF_NOT_EXECUTABLE', /ET_REL/);
    expectError(buildElf({ ...goodSpec(), type: 3 }), 'ELF_NOT_EXECUTABLE', /ET_DYN/, /-no-pie/);
    expectError(buildElf({ ...goodSpec(), type: 4 }), 'ELF_NOT_EXECUTABLE', /core dump/);
  });

  it('ELF_TRUNCATED: header, program headers, segment bytes, section headers', () => {
    const good = buildElf(goodSpec());
    expectError(good.subarray(0, 10), 'ELF_TRUNCATED', /identification/);
    expectError(good.subarray(0, 40), 'ELF_TRUNCATED', /ELF header/, /40-byte file/);
    expectError(good.subarray(0, 64 + 56 + 10), 'ELF_TRUNCATED', /2 program headers/);
    expectError(buildElf({ ...goodSpec(), phoffOverride: 0xffff_ffff_ffff_fff0n }), 'ELF_TRUNCATED', /program headers/);
    const spec = goodSpec();
    spec.phdrs[1].offset = BigInt(good.length - 8);
    expectError(buildElf(spec), 'ELF_TRUNCATED', /segment 1's 32 file bytes/);
    const spec2 = goodSpec();
    spec2.phdrs[0].offset = 0xffff_ffff_ffff_ff00n;
    expectError(buildElf(spec2), 'ELF_TRUNCATED', /segment 0/);
    // cut inside the section header table: the segments are intact, the symbols are not
    expectError(good.subarray(0, good.length - 10), 'ELF_TRUNCATED', /section headers/);
  });

  it('ELF_BAD_HEADER: wrong program header entry size', () => {
    expectError(buildElf({ ...goodSpec(), phentsize: 32 }), 'ELF_BAD_HEADER', /e_phentsize is 32/);
  });

  it('ELF_FILESZ_GT_MEMSZ', () => {
    const spec = goodSpec();
    spec.phdrs[1].memsz = 8n;
    expectError(buildElf(spec), 'ELF_FILESZ_GT_MEMSZ', /segment 1/, /p_filesz 0x20/, /p_memsz 0x8/);
  });

  it('ELF_OUTSIDE_RAM: below, above, straddling the end, and a huge memsz', () => {
    const below = goodSpec();
    below.phdrs[0].paddr = 0x1000n;
    below.entry = RAM.base + 0x1000n;
    expectError(buildElf(below), 'ELF_OUTSIDE_RAM', /segment 0 at \[0x1000, 0x1010\)/, /RAM \[0x80000000, 0x88000000\)/);

    const straddle = goodSpec();
    straddle.phdrs[1].paddr = RAM_END - 0x80n;
    expectError(buildElf(straddle), 'ELF_OUTSIDE_RAM', /\[0x87ffff80, 0x88000080\)/);

    // A crafted memsz must be rejected before anything is allocated (the test would run out of memory otherwise).
    const huge = goodSpec();
    huge.phdrs[1].memsz = 0xffff_ffff_ffff_0000n;
    expectError(buildElf(huge), 'ELF_OUTSIDE_RAM', /segment 1/);

    const virt = goodSpec();
    virt.phdrs[0].paddr = 0x1000n;
    virt.phdrs[0].vaddr = RAM.base;
    virt.phdrs[1].paddr = RAM.base + 0x4000n;
    expectError(buildElf(virt), 'ELF_OUTSIDE_RAM', /p_vaddr 0x80000000 is in RAM/);
  });

  it('ELF_OVERLAP', () => {
    const spec = goodSpec();
    spec.phdrs[1].paddr = RAM.base + 8n;
    spec.symbols = [];
    expectError(buildElf(spec), 'ELF_OVERLAP', /segments 0 \[0x80000000, 0x80000010\) and 1 \[0x80000008, 0x80000108\) overlap/);
  });

  it('ELF_BAD_ENTRY: outside every loaded segment', () => {
    const spec = goodSpec();
    spec.entry = RAM.base + 0x800n; // in the gap between the two segments
    expectError(buildElf(spec), 'ELF_BAD_ENTRY', /entry point 0x80000800/, /not inside any loaded segment/);
    spec.entry = 0n;
    expectError(buildElf(spec), 'ELF_BAD_ENTRY', /entry point 0x0 /);
  });

  it('ELF_NO_LOAD: no program headers, or no PT_LOAD', () => {
    expectError(buildElf({ phdrs: [] }), 'ELF_NO_LOAD', /no program headers/);
    expectError(buildElf({ phdrs: [{ type: 4, paddr: RAM.base }] }), 'ELF_NO_LOAD', /no PT_LOAD/, /1 program headers/);
  });

  it('ELF_BAD_SYMTAB: name offsets past the string table', () => {
    const bytes = buildElf(goodSpec());
    const v = new DataView(bytes.buffer);
    // goodSpec layout: the symbol table follows the segments; find it through the section header.
    const shoff = Number(v.getBigUint64(40, true));
    const symOff = Number(v.getBigUint64(shoff + 64 + 24, true));
    v.setUint32(symOff + 24, 0x7fff_ffff, true);
    expectError(bytes, 'ELF_BAD_SYMTAB', /symbol 1/, /string offset 2147483647/);
  });

  it('ELF_BAD_TOHOST: misaligned or not loaded', () => {
    const spec = goodSpec();
    spec.symbols![1].value = RAM.base + 0x1004n;
    expectError(buildElf(spec), 'ELF_BAD_TOHOST', /tohost at 0x80001004/, /8-byte aligned/);
    spec.symbols![1].value = RAM.base + 0x800n;
    expectError(buildElf(spec), 'ELF_BAD_TOHOST', /not inside a loaded segment/);
  });

  it('never throws anything but HvlabError on any truncation or random corruption', () => {
    const good = buildElf(goodSpec());
    for (let n = 0; n < good.length; n++) {
      try {
        parseElf(good.subarray(0, n), RAM);
      } catch (e) {
        expect(e, `truncated to ${n} bytes`).toBeInstanceOf(HvlabError);
      }
    }
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8);
    for (let k = 0; k < 3000; k++) {
      const bad = good.slice();
      for (let j = 0; j < 4; j++) bad[16 + (rand() % (bad.length - 16))] = rand() & 0xff;
      try {
        const img: LoadedImage = parseElf(bad, RAM);
        for (const s of img.segments) {
          expect(s.paddr >= RAM.base && s.paddr + s.memsz <= RAM_END).toBe(true);
          expect(BigInt(s.data.length) <= s.memsz).toBe(true);
        }
      } catch (e) {
        expect(e).toBeInstanceOf(HvlabError);
      }
    }
  });
});

describe('parseElf: a real cross-compiled image (test/loader/fixtures/tohost.elf)', () => {
  const bytes = new Uint8Array(readFileSync(new URL('./fixtures/tohost.elf', import.meta.url)));

  it('has the entry, segments and symbols the linker script asked for', () => {
    const img = parseElf(bytes, RAM, 'tohost.elf');
    expect(img.entry).toBe(0x8000_0000n);
    expect(img.segments.map((s) => [s.paddr, BigInt(s.data.length), s.memsz, s.flags])).toEqual([
      [0x8000_0000n, 0x14n, 0x14n, 5], // .text, R X
      [0x8000_1000n, 0x48n, 0x148n, 6], // .tohost + .bss, R W
    ]);
    expect(img.tohost).toBe(0x8000_1000n);
    expect(img.fromhost).toBe(0x8000_1040n);
    expect(img.symbols.get('_start')).toBe(0x8000_0000n);
    expect(img.symbols.get('scratch')).toBe(0x8000_1048n);
    expect(img.lowest).toBe(0x8000_0000n);
    expect(img.highest).toBe(0x8000_1148n);
    // first instruction: auipc t0, 0x1 (la t0, tohost)
    expect(Array.from(img.segments[0].data.subarray(0, 4))).toEqual([0x97, 0x12, 0x00, 0x00]);
  });

  it('is refused when RAM is somewhere else', () => {
    const e = errorOf(() => parseElf(bytes, { base: 0x4000_0000n, size: 0x1000_0000n }, 'tohost.elf'));
    expect(e.code).toBe('ELF_OUTSIDE_RAM');
    expect(e.message).toMatch(/^tohost\.elf: ELF segment 1 at \[0x80000000, 0x80000014\) lies outside RAM \[0x40000000, 0x50000000\)$/);
  });
});

describe('loadRaw: flat binaries', () => {
  it('places the bytes at the address and enters at the first byte', () => {
    const bytes = new Uint8Array([0x6f, 0, 0, 0, 1, 2, 3]);
    const img = loadRaw(bytes, RAM.base + 0x20_0000n, RAM, 'fw.bin');
    expect(img.entry).toBe(RAM.base + 0x20_0000n);
    expect(img.segments).toHaveLength(1);
    expect(img.segments[0].paddr).toBe(RAM.base + 0x20_0000n);
    expect(img.segments[0].data).toBe(bytes);
    expect(img.segments[0].memsz).toBe(7n);
    expect(img.segments[0].flags).toBe(7);
    expect(img.lowest).toBe(RAM.base + 0x20_0000n);
    expect(img.highest).toBe(RAM.base + 0x20_0007n);
    expect(img.tohost).toBeUndefined();
    // exactly filling RAM is fine
    expect(loadRaw(new Uint8Array(16), RAM_END - 16n, RAM).highest).toBe(RAM_END);
  });

  it('RAW_EMPTY, RAW_OUTSIDE_RAM, RAW_MISALIGNED', () => {
    const code = (fn: () => unknown, c: string, re: RegExp) => {
      const e = errorOf(fn);
      expect(e.code).toBe(c);
      expect(e.message).toMatch(/^fw\.bin: /);
      expect(e.message).toMatch(re);
    };
    code(() => loadRaw(new Uint8Array(0), RAM.base, RAM, 'fw.bin'), 'RAW_EMPTY', /empty/);
    code(() => loadRaw(new Uint8Array(32), RAM_END - 16n, RAM, 'fw.bin'), 'RAW_OUTSIDE_RAM', /\[0x87fffff0, 0x88000010\).*RAM \[0x80000000, 0x88000000\)/);
    code(() => loadRaw(new Uint8Array(32), 0x1000n, RAM, 'fw.bin'), 'RAW_OUTSIDE_RAM', /32-byte raw image at \[0x1000, 0x1020\)/);
    code(() => loadRaw(new Uint8Array(32), RAM.base + 2n, RAM, 'fw.bin'), 'RAW_MISALIGNED', /0x80000002 is not 4-byte aligned/);
  });
});
