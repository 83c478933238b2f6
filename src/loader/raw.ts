/**
 * Raw binary loader: a flat image (objcopy -O binary, an OpenSBI fw_jump.bin, a Linux `Image`)
 * placed at one guest-physical address and entered at its first byte.
 *
 * It returns the same LoadedImage as the ELF loader, with one RWX segment and no symbols, and
 * checks the same things: the image is not empty, fits in RAM, and starts on an instruction
 * boundary.
 */
import { HvlabError } from '../errors.js';
import { hex, type LoadedImage, type RamRegion } from './elf.js';

/* p_flags bits, as an ELF loader would report them (gABI "Segment Permissions"). */
const PF_X = 1;
const PF_W = 2;
const PF_R = 4;

/** Without the C extension, instructions are 4-byte aligned (IALIGN = 32). */
const IALIGN_BYTES = 4n;

export function loadRaw(bytes: Uint8Array, addr: bigint, ram: RamRegion, name = 'image'): LoadedImage {
  if (bytes.length === 0) {
    throw new HvlabError('RAW_EMPTY', `${name}: the raw image is empty, nothing to load`);
  }
  const end = addr + BigInt(bytes.length);
  const ramEnd = ram.base + ram.size;
  if (addr < ram.base || end > ramEnd) {
    throw new HvlabError(
      'RAW_OUTSIDE_RAM',
      `${name}: the ${bytes.length}-byte raw image at [${hex(addr)}, ${hex(end)}) does not fit in RAM [${hex(ram.base)}, ${hex(ramEnd)})`,
    );
  }
  if (addr % IALIGN_BYTES !== 0n) {
    throw new HvlabError('RAW_MISALIGNED', `${name}: load address ${hex(addr)} is not ${IALIGN_BYTES}-byte aligned, so it cannot be the entry point`);
  }
  return {
    entry: addr,
    segments: [{ paddr: addr, data: bytes, memsz: BigInt(bytes.length), flags: PF_R | PF_W | PF_X }],
    symbols: new Map(),
    lowest: addr,
    highest: end,
  };
}
