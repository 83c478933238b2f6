/**
 * Target `loaders` (issue 17 item 1f): the host's file parsers with mutated files. Seeds: ELF
 * guests from guests/prebuilt, a raw image, a RISC-V Linux Image (header + payload), the device
 * tree the loader builds, a drive image, and a snapshot of a running VM. Mutations: bit flips,
 * interesting bytes, truncation, extension, and field-aware rewrites of the ELF header, program
 * headers and section headers (gABI "ELF Header", "Program Header", "Sections"), the Linux Image
 * header (Documentation/arch/riscv/boot-image-header.rst) and the FDT header (devicetree spec 5.2).
 * Each goes through the real path: parseElf / loadRaw / parseLinuxImage / parseFdt, Vm.load
 * (boot planning and the device tree) with a short run, Vm.create with the drive, and
 * Vm.restore of the snapshot with a short run.
 *
 * The only acceptable outcomes: success, or an HvlabError with a one-line message. Anything else
 * (a TypeError, a RangeError, a wasm trap, a multi-line message) is a failure.
 *
 * Reach: the mutated file was accepted (parsed, loaded or restored) - what got past every check.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HvlabError } from '../../src/errors.js';
import { parseElf } from '../../src/loader/elf.js';
import { loadRaw } from '../../src/loader/raw.js';
import { parseLinuxImage } from '../../src/loader/linux-image.js';
import { parseFdt } from '../../src/loader/fdt-parse.js';
import { buildDtb, defaultVirtMachine } from '../../src/loader/dtb.js';
import { RAM_BASE, Vm } from '../../src/vm.js';
import { loadCoreModule } from '../../src/node/load-core.js';
import type { HostCase, HostTarget } from '../campaign.js';
import { FuzzFailure } from '../engine.js';
import type { Rng } from '../rng.js';

/** The repository root: fuzz/targets (vitest) or dist/fuzz/targets (npm run fuzz) lies below it. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'guests', 'prebuilt')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
const root = repoRoot();
const MIB = 1024 * 1024;
const RAM = { base: RAM_BASE, size: 16n * BigInt(MIB) };
const ELF_SEEDS = ['hello', 'sbi', 'rvc', 'cpu-bare'];

let elfSeeds: Uint8Array[] | undefined;
const elfs = () => (elfSeeds ??= ELF_SEEDS.map((n) => new Uint8Array(readFileSync(join(root, 'guests', 'prebuilt', `${n}.elf`)))));

/** A RISC-V Linux Image: the 64-byte header (magic "RISCV\0\0\0" at 0x30, "RSC\x05" at 0x38) and a payload. */
function linuxImage(): Uint8Array {
  const img = new Uint8Array(8192);
  const dv = new DataView(img.buffer);
  dv.setUint32(0, 0x0000_006F, true); // code0: j . (any code)
  dv.setBigUint64(8, 0x20_0000n, true); // text_offset
  dv.setBigUint64(16, BigInt(img.length), true); // image_size
  dv.setUint32(32, 2, true); // version 0.2
  img.set([0x52, 0x49, 0x53, 0x43, 0x56, 0, 0, 0], 0x30);
  img.set([0x52, 0x53, 0x43, 0x05], 0x38);
  return img;
}

// Field offsets (ELF64): header, program header, section header.
const EHDR_FIELDS: Array<[number, number]> = [[4, 1], [5, 1], [6, 1], [16, 2], [18, 2], [20, 4], [24, 8], [32, 8], [40, 8], [48, 4], [52, 2], [54, 2], [56, 2], [58, 2], [60, 2], [62, 2]];
const PHDR_FIELDS: Array<[number, number]> = [[0, 4], [4, 4], [8, 8], [16, 8], [24, 8], [32, 8], [40, 8], [48, 8]];
const SHDR_FIELDS: Array<[number, number]> = [[0, 4], [4, 4], [8, 8], [16, 8], [24, 8], [32, 8], [40, 4], [44, 4], [48, 8], [56, 8]];
const LINUX_FIELDS: Array<[number, number]> = [[8, 8], [16, 8], [24, 8], [32, 4], [0x30, 8], [0x38, 4]];
const FDT_FIELDS: Array<[number, number]> = [[0, 4], [4, 4], [8, 4], [12, 4], [16, 4], [20, 4], [24, 4], [28, 4], [32, 4], [36, 4]];

function edgeValue(r: Rng, bytes: number): bigint {
  const max = (1n << BigInt(bytes * 8)) - 1n;
  return r.chance(0.5) ? r.interesting64() & max : r.pick([0n, 1n, max, max >> 1n, max - 1n, 0x40n, 0x1000n, 0x8000_0000n & max]);
}

function setField(b: Uint8Array, off: number, size: number, v: bigint, bigEndian = false): void {
  if (off + size > b.length) return;
  for (let i = 0; i < size; i++) {
    const byte = Number((v >> BigInt(8 * i)) & 0xFFn);
    b[bigEndian ? off + size - 1 - i : off + i] = byte;
  }
}

/** Generic mutations: flips, interesting bytes, truncation, extension, a copied block. */
function mutateBytes(r: Rng, src: Uint8Array): Uint8Array {
  let b: Uint8Array = src.slice();
  for (let n = 1 + r.below(4); n > 0; n--) {
    switch (r.below(6)) {
      case 0: { const i = r.below(b.length * 8); b[i >> 3] ^= 1 << (i & 7); break; }
      case 1: b[r.below(b.length)] = r.pick([0, 0xFF, 0x7F, 0x80, r.below(256)]); break;
      case 2: b = b.slice(0, r.below(b.length + 1)); if (b.length === 0) return b; break;
      case 3: { const e = new Uint8Array(b.length + r.below(4096)); e.set(b); b = e; break; }
      case 4: { const s = r.below(b.length), d = r.below(b.length), n = r.below(64); b.copyWithin(d, s, s + n); break; }
      default: { const i = r.below(b.length); setField(b, i - (i % 8), 8, edgeValue(r, 8)); break; }
    }
    if (b.length === 0) return b;
  }
  return b;
}

function mutateElf(r: Rng, src: Uint8Array): Uint8Array {
  const b = src.slice();
  const dv = new DataView(b.buffer);
  const phoff = Number(dv.getBigUint64(32, true)), phnum = dv.getUint16(56, true);
  const shoff = Number(dv.getBigUint64(40, true)), shnum = dv.getUint16(60, true);
  for (let n = 1 + r.below(3); n > 0; n--) {
    const which = r.below(3);
    if (which === 0) { const [o, s] = r.pick(EHDR_FIELDS); setField(b, o, s, edgeValue(r, s)); }
    else if (which === 1 && phnum > 0) { const [o, s] = r.pick(PHDR_FIELDS); setField(b, phoff + r.below(phnum) * 56 + o, s, edgeValue(r, s)); }
    else if (shnum > 0) { const [o, s] = r.pick(SHDR_FIELDS); setField(b, shoff + r.below(shnum) * 64 + o, s, edgeValue(r, s)); }
  }
  return r.chance(0.3) ? mutateBytes(r, b) : b;
}

function mutateFields(r: Rng, src: Uint8Array, fields: Array<[number, number]>, bigEndian: boolean): Uint8Array {
  const b = src.slice();
  for (let n = 1 + r.below(3); n > 0; n--) { const [o, s] = r.pick(fields); setField(b, o, s, edgeValue(r, s), bigEndian); }
  return r.chance(0.3) ? mutateBytes(r, b) : b;
}

/** Run `f`; an HvlabError with one line is an accepted refusal (false), anything else a failure. */
async function accepted(what: string, f: () => unknown): Promise<boolean> {
  try {
    await f();
    return true;
  } catch (e) {
    if (e instanceof HvlabError && !e.message.includes('\n') && e.message.length > 0) return false;
    if (e instanceof FuzzFailure) throw e;
    throw new FuzzFailure('host-exception', `${what}: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
  }
}

let shared: { vm: Vm; snap: Uint8Array; stateEnd: number } | undefined;
async function sharedVm() {
  if (shared) return shared;
  const vm = await Vm.create({ mode: 'native', firmware: 'builtin', memMiB: 16 }, await loadCoreModule());
  vm.load(elfs()[0], 'hello');
  vm.run(20_000);
  vm.readConsole();
  shared = { vm, snap: vm.snapshot(), stateEnd: vm.ram().byteOffset };
  return shared;
}

/** Run a loaded or restored VM briefly: loading must leave a machine that runs. */
function briefly(vm: Vm): void {
  for (let i = 0; i < 4; i++) { vm.run(2000); vm.readConsole(); }
}

const KINDS = ['elf', 'elf-load', 'raw', 'linux', 'dtb', 'drive', 'snapshot'] as const;

export function loaderCase(r: Rng, index: number): HostCase {
  const kind = KINDS[index % KINDS.length];
  switch (kind) {
    case 'elf': {
      const bytes = r.chance(0.7) ? mutateElf(r, r.pick(elfs())) : mutateBytes(r, r.pick(elfs()));
      return { what: 'elf', bytes, run: () => accepted('parseElf', () => parseElf(bytes, RAM, 'fuzz.elf')) };
    }
    case 'elf-load': {
      const bytes = mutateElf(r, r.pick(elfs()));
      return { what: 'elf-load', bytes, run: async () => { const { vm } = await sharedVm(); return accepted('Vm.load', () => { vm.load(bytes, 'fuzz.elf'); briefly(vm); }); } };
    }
    case 'raw': {
      const bytes = mutateBytes(r, r.bytes(1 + r.below(8192)));
      const addr = r.chance(0.7) ? RAM_BASE + BigInt(r.below(16 * MIB)) : r.interesting64();
      return { what: 'raw', bytes, run: () => accepted('loadRaw', () => loadRaw(bytes, addr, RAM, 'fuzz.bin')) };
    }
    case 'linux': {
      const bytes = mutateFields(r, linuxImage(), LINUX_FIELDS, false);
      return {
        what: 'linux', bytes, run: async () => {
          const ok = await accepted('parseLinuxImage', () => parseLinuxImage(bytes, 'Image'));
          const { vm } = await sharedVm();
          await accepted('Vm.load(Image)', () => { vm.load(bytes, 'Image'); briefly(vm); });
          return ok;
        },
      };
    }
    case 'dtb': {
      const seed = buildDtb(defaultVirtMachine(BigInt(16 * MIB)));
      const bytes = r.chance(0.5) ? mutateFields(r, seed, FDT_FIELDS, true) : mutateBytes(r, seed);
      return { what: 'dtb', bytes, run: () => accepted('parseFdt', () => parseFdt(bytes, 'fuzz.dtb')) };
    }
    case 'drive': {
      const size = r.pick([0, 1, 511, 512, 513, 4096, 65536, 65537, r.below(200_000)]);
      const bytes = r.bytes(size);
      const emudisk = r.chance(0.5);
      return {
        what: 'drive', bytes, run: () => accepted('Vm.create(disk)', async () => {
          const vm = await Vm.create({ mode: 'native', firmware: 'builtin', memMiB: 16, disk: bytes, ...(emudisk ? { emudisk: true } : { virtio: { blk: true } }) }, await loadCoreModule());
          await vm.close();
        }),
      };
    }
    default: {
      // A snapshot whose machine state (everything below guest RAM) is corrupted, or truncated.
      const flips: Array<[number, number]> = [];
      // Mostly in the first pages: the Hart and Machine records (assembly/state.ts) come first.
      for (let n = 1 + r.below(8); n > 0; n--) flips.push([r.chance(0.7) ? r.below(8192) : r.u32(), r.below(256)]);
      const truncate = r.chance(0.1) ? r.below(1 << 24) : -1;
      const bytes = new Uint8Array(flips.length * 5);
      flips.forEach(([o, v], i) => { new DataView(bytes.buffer).setUint32(i * 5, o, true); bytes[i * 5 + 4] = v; });
      return {
        what: 'snapshot', bytes, run: async () => {
          const s = await sharedVm();
          const snap = truncate >= 0 ? s.snap.slice(0, truncate) : s.snap.slice();
          if (truncate < 0) for (const [o, v] of flips) snap[o % s.stateEnd] ^= v || 1;
          const ok = await accepted('Vm.restore', () => { s.vm.restore(snap); briefly(s.vm); });
          s.vm.restore(s.snap);
          return ok;
        },
      };
    }
  }
}

export const loadersTarget: HostTarget = {
  name: 'loaders',
  host: true,
  reach: 'the mutated file was accepted (parsed, loaded or restored) rather than refused',
  generate: loaderCase,
};
