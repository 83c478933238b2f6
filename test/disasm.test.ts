// The disassembler (src/disasm.ts) against GNU objdump 2.40 over the committed guest images:
// every instruction objdump decodes must read the same (whitespace normalized; objdump's
// `# address <symbol>` comments and `<symbol+off>` after targets removed).
//
// - With the toolchain installed (CI installs gcc-riscv64-unknown-elf), objdump -d runs over
//   hvos and every test guest, objdump -D over the raw Linux Image, and the words objdump left
//   undecoded because the image's arch attribute lacks the H extension are assembled again
//   with `-march=rv64gc_h` (`.insn`) so that objdump decodes them too.
// - Always: a committed golden listing (objdump's output, normalized) for hvos and the guests
//   that exercise C, F/D, A, Zicsr and H, so the test runs without the toolchain.
//
// Regenerate the golden listing from objdump: UPDATE_GOLDEN=1 npx vitest run test/disasm.test.ts
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { disasm, disasmRange, expandCompressed } from '../src/disasm.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const OBJDUMP = 'riscv64-unknown-elf-objdump';
const AS = 'riscv64-unknown-elf-as';
const have = (tool: string): boolean => spawnSync(tool, ['--version']).status === 0;
const haveObjdump = have(OBJDUMP);
const haveAs = have(AS);

const GOLDEN = join(root, 'test', 'golden', 'disasm.txt.gz');
/** The images the golden listing covers (guests/prebuilt/<name>.elf, and hvos). */
const GOLDEN_GUESTS = ['hext', 'hspec', 'hwalk', 'rvc', 'rvc-vm', 'rvfd', 'rv64a', 'rv64i', 'rv64m',
  'csr', 'fcsr', 'fpdecode', 'fwcsr', 'cpu-sv39'];

const imagePath = (name: string): string =>
  name === 'hvos' ? join(root, 'guests', 'hvos', 'prebuilt', 'hvos.elf') : join(root, 'guests', 'prebuilt', `${name}.elf`);

interface Line { pc: bigint; raw: number; text: string }

/** objdump's data directives: bytes marked as data by mapping symbols, or encodings too long for RV64GC. */
const DATA = /^\.(word|short|byte|8byte)$/;

/** One image's instructions as objdump prints them, normalized. Data lines are left out. */
function objdumpLines(args: string[]): Line[] {
  const out = execFileSync(OBJDUMP, args, { maxBuffer: 1 << 30 }).toString();
  const lines: Line[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*([0-9a-f]+):\t([0-9a-f]+)\s*\t([^\t]+)(?:\t(.*))?$/.exec(line);
    if (!m) continue;
    const mn = m[3].trim();
    if (DATA.test(mn)) continue;
    let ops = (m[4] ?? '').replace(/\s*#.*$/, '').replace(/\s*<[^>]*>$/, '').trim();
    // Without symbols (objdump -b binary) a target is printed with 0x; with them, without.
    if (/^(j|jal|b[a-z]+)$/.test(mn)) ops = ops.replace(/(^|,)0x([0-9a-f]+)$/, '$1$2');
    lines.push({ pc: BigInt(`0x${m[1]}`), raw: parseInt(m[2], 16), text: ops ? `${mn}\t${ops}` : mn });
  }
  return lines;
}

function mismatches(lines: Line[]): string[] {
  const bad: string[] = [];
  for (const l of lines) {
    const ours = disasm(l.raw, l.pc).text;
    if (ours !== l.text) bad.push(`${l.pc.toString(16)} ${l.raw.toString(16)}: objdump '${l.text}' hvlab '${ours}'`);
  }
  return bad;
}

const H_MNEMONIC = /^(hlv|hlvx|hsv|hfence)\./;

/** The 32-bit words of `lines` objdump printed as .4byte, decoded by objdump with the H extension on. */
function withHypervisorExtension(words: number[]): Line[] {
  const dir = mkdtempSync(join(tmpdir(), 'hvlab-disasm-'));
  try {
    const src = join(dir, 'h.s');
    const obj = join(dir, 'h.o');
    writeFileSync(src, words.map((w) => `.insn 0x${w.toString(16)}\n`).join(''));
    execFileSync(AS, ['-march=rv64gc_h', '-o', obj, src]);
    return objdumpLines(['-d', obj]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function formatGolden(name: string, lines: Line[]): string {
  return `# ${name}\n` + lines.map((l) => `${l.pc.toString(16)} ${l.raw.toString(16)} ${l.text}`).join('\n') + '\n';
}

function parseGolden(text: string): Map<string, Line[]> {
  const images = new Map<string, Line[]>();
  let cur: Line[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# ')) { cur = []; images.set(line.slice(2), cur); continue; }
    if (line === '') continue;
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (!m) throw new Error(`disasm golden: bad line '${line}'`);
    cur.push({ pc: BigInt(`0x${m[1]}`), raw: parseInt(m[2], 16), text: m[3] });
  }
  return images;
}

describe('disassembler against objdump', () => {
  if (!haveObjdump && process.env.CI) {
    it('riscv64-unknown-elf-objdump is installed (required in CI)', () => {
      expect.fail(`${OBJDUMP} not found: CI must install gcc-riscv64-unknown-elf (its binutils)`);
    });
  }
  it.skipIf(!haveObjdump)('agrees with objdump -d on hvos and every test guest', () => {
    const elfs = ['hvos', ...readdirSync(join(root, 'guests', 'prebuilt'))
      .filter((f) => f.endsWith('.elf')).map((f) => f.replace(/\.elf$/, ''))];
    let compared = 0;
    for (const name of elfs) {
      const lines = objdumpLines(['-d', imagePath(name)]);
      const known = lines.filter((l) => !l.text.startsWith('.4byte') && !l.text.startsWith('.2byte'));
      expect(mismatches(known), name).toEqual([]);
      compared += known.length;
    }
    expect(compared).toBeGreaterThan(70_000);
  }, 120_000);

  it.skipIf(!haveObjdump || !haveAs)('agrees with objdump on the H extension words the images hold', () => {
    const words = new Set<number>();
    for (const name of ['hvos', 'hext', 'hspec', 'hwalk', 'hfpu', 'hvm-grant']) {
      const out = execFileSync(OBJDUMP, ['-d', imagePath(name)], { maxBuffer: 1 << 28 }).toString();
      for (const m of out.matchAll(/^\s*[0-9a-f]+:\t([0-9a-f]{8})\s*\t\.(?:word|4byte)\b/gm)) {
        const w = parseInt(m[1], 16);
        // Only 32-bit encodings: a data word whose low bits say "compressed" is not an instruction.
        if ((w & 3) === 3 && (w & 0x1c) !== 0x1c) words.add(w);
      }
    }
    const lines = withHypervisorExtension([...words]);
    expect(lines.length).toBe(words.size);
    expect(mismatches(lines)).toEqual([]);
    const hyp = lines.filter((l) => H_MNEMONIC.test(l.text));
    expect(hyp.length).toBeGreaterThan(10);
  }, 60_000);

  it.skipIf(!haveObjdump)('agrees with objdump -D on the Linux Image, code and data alike', () => {
    const lines = objdumpLines(['-b', 'binary', '-m', 'riscv:rv64', '-D', join(root, 'guests', 'linux', 'prebuilt', 'Image')]);
    const bad = mismatches(lines).filter((m) => {
      // objdump cannot decode the H extension without the arch attribute a raw file lacks.
      const ours = /hvlab '([^']*)'/.exec(m)![1];
      return !(m.includes("objdump '.4byte") && H_MNEMONIC.test(ours));
    });
    expect(lines.length).toBeGreaterThan(600_000);
    expect(bad).toEqual([]);
  }, 180_000);

  it.skipIf(!haveObjdump || process.env.UPDATE_GOLDEN !== '1')('writes the golden listing', () => {
    let text = '';
    for (const name of ['hvos', ...GOLDEN_GUESTS]) text += formatGolden(name, objdumpLines(['-d', imagePath(name)]));
    writeFileSync(GOLDEN, gzipSync(Buffer.from(text), { level: 9 }));
  });
});

describe('disassembler against the committed golden listing', () => {
  let cached: Map<string, Line[]> | undefined;
  const loadGolden = (): Map<string, Line[]> => (cached ??= parseGolden(gunzipSync(readFileSync(GOLDEN)).toString()));

  it('covers hvos and the instruction-set guests', () => {
    const golden = loadGolden();
    expect([...golden.keys()]).toEqual(['hvos', ...GOLDEN_GUESTS]);
    expect(golden.get('hvos')!.length).toBeGreaterThan(10_000);
  });

  it('reads every instruction as objdump does', () => {
    const golden = loadGolden();
    for (const [name, lines] of golden) {
      const known = lines.filter((l) => !l.text.startsWith('.4byte') && !l.text.startsWith('.2byte'));
      expect(mismatches(known), name).toEqual([]);
    }
  });

  it('follows the listing through the image bytes (lengths of C and 32-bit instructions)', () => {
    // Walk hvos's .text from its first instruction with disasmRange: every address objdump
    // lists must be an instruction boundary there too.
    const elf = readFileSync(imagePath('hvos'));
    const lines = loadGolden().get('hvos')!;
    const first = lines[0].pc;
    const last = lines[lines.length - 1].pc;
    // hvos's .text opens its first PT_LOAD segment: find its file offset from the program
    // header (ELF64: e_phoff at 0x20; p_type at +0, p_offset at +8, p_vaddr at +16).
    const phoff = Number(elf.readBigUInt64LE(0x20));
    let ph = phoff;
    while (elf.readUInt32LE(ph) !== 1) ph += 56; // the first PT_LOAD (ELF64 phdr: 56 bytes)
    const pOffset = Number(elf.readBigUInt64LE(ph + 8));
    const pVaddr = elf.readBigUInt64LE(ph + 16);
    const start = pOffset + Number(first - pVaddr);
    const bytes = new Uint8Array(elf.buffer, elf.byteOffset + start, Number(last - first) + 4);
    const ours = new Map(disasmRange(bytes, first).map((d) => [d.pc, d.text]));
    let checked = 0;
    for (const l of lines) {
      if (l.text.startsWith('.')) continue;
      expect(ours.get(l.pc), l.pc.toString(16)).toBe(l.text);
      checked++;
    }
    expect(checked).toBeGreaterThan(10_000);
  });
});

describe('disassembler details', () => {
  it('decodes the hypervisor instructions (privileged spec 8.2.4, 8.3.2)', () => {
    // Encodings as the assembler emits them for `hlv.d a0,(a1)` etc. (-march=rv64gc_h).
    expect(disasm(0x6c05c573, 0).text).toBe('hlv.d\ta0,(a1)');
    expect(disasm(0x6835c573, 0).text).toBe('hlvx.wu\ta0,(a1)');
    expect(disasm(0x6ec5c073, 0).text).toBe('hsv.d\ta2,(a1)');
    expect(disasm(0x22000073, 0).text).toBe('hfence.vvma');
    expect(disasm(0x62b50073, 0).text).toBe('hfence.gvma\ta0,a1');
    // HLV with rs2 = 2 is not an instruction; nor HSV with rd != 0.
    expect(disasm(0x6c25c573, 0).text).toBe('.4byte\t0x6c25c573');
    expect(disasm(0x6ec5c0f3, 0).text).toBe('.4byte\t0x6ec5c0f3');
  });

  it('gives compressed instructions their length and the reserved ones a .2byte', () => {
    expect(disasm(0x8082, 0)).toEqual({ len: 2, text: 'ret' });
    expect(disasm(0x0000, 0)).toEqual({ len: 2, text: 'unimp' });
    // C.ADDI4SPN with a zero immediate is reserved (unprivileged spec 16.5).
    expect(expandCompressed(0x0004)).toBe(0);
    expect(disasm(0x0004, 0)).toEqual({ len: 2, text: '.2byte\t0x4' });
    expect(disasm(0x00000013, 0)).toEqual({ len: 4, text: 'nop' });
  });

  it('computes 64-bit branch targets', () => {
    // j -4 at the top of the address space wraps like the pc does.
    expect(disasm(0xffdff06f, 0xffffffff80000000n).text).toBe('j\tffffffff7ffffffc');
    expect(disasm(0xffdff06f, 0n).text).toBe('j\tfffffffffffffffc');
  });
});
