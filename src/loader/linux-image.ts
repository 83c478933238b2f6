/**
 * The RISC-V Linux `Image` header (Linux Documentation/riscv/boot-image-header.rst): the first 64
 * bytes of a raw kernel image, little-endian.
 *
 *   0x00 code0         u32   executable code (a jump over the header)
 *   0x04 code1         u32
 *   0x08 text_offset   u64   image load offset from a 2 MiB-aligned start of RAM
 *   0x10 image_size    u64   effective image size (including .bss), 0 in old images
 *   0x18 flags         u64   bit 0: kernel endianness (0 = little)
 *   0x20 version       u32   header version, major << 16 | minor (0.2 today)
 *   0x24 res1          u32
 *   0x28 res2          u64
 *   0x30 magic         u64   "RISCV\0\0\0" (deprecated, still written)
 *   0x38 magic2        u32   "RSC\x05"
 *   0x3c res3          u32
 */
import { HvlabError } from '../errors.js';
import { hex } from './elf.js';

export const IMAGE_HEADER_SIZE = 64;
const OFF_TEXT_OFFSET = 0x08;
const OFF_IMAGE_SIZE = 0x10;
const OFF_FLAGS = 0x18;
const OFF_VERSION = 0x20;
const OFF_MAGIC = 0x30;
const OFF_MAGIC2 = 0x38;
const MAGIC = 'RISCV\0\0\0';
const MAGIC2 = 'RSC\x05';
const FLAG_BIG_ENDIAN = 1n;

export interface LinuxImageHeader {
  textOffset: bigint;
  /** bytes the kernel occupies once running: image_size, or the file's length when that is 0 */
  imageSize: bigint;
  version: number;
}

function ascii(bytes: Uint8Array, off: number, n: number): string {
  return String.fromCharCode(...bytes.subarray(off, off + n));
}

function shown(s: string): string {
  return JSON.stringify(s).replace(/\\u00/g, '\\x');
}

/** Whether either magic of the header is present: the file means to be a Linux Image. */
export function looksLikeLinuxImage(bytes: Uint8Array): boolean {
  return bytes.length >= IMAGE_HEADER_SIZE
    && (ascii(bytes, OFF_MAGIC, 8) === MAGIC || ascii(bytes, OFF_MAGIC2, 4) === MAGIC2);
}

/**
 * Read and check the header. Both magics must be right (an image with one of them wrong is
 * corrupt or not for RISC-V), the kernel little-endian, and image_size not smaller than the file.
 */
export function parseLinuxImage(bytes: Uint8Array, name: string): LinuxImageHeader {
  if (bytes.length < IMAGE_HEADER_SIZE) {
    throw new HvlabError('IMAGE_TRUNCATED', `${name}: ${bytes.length} bytes is too short for a RISC-V Linux Image header (${IMAGE_HEADER_SIZE} bytes)`);
  }
  const magic = ascii(bytes, OFF_MAGIC, 8);
  const magic2 = ascii(bytes, OFF_MAGIC2, 4);
  if (magic !== MAGIC || magic2 !== MAGIC2) {
    throw new HvlabError('IMAGE_BAD_MAGIC', `${name}: bad RISC-V Linux Image magic: ${shown(magic)} at 0x30 and ${shown(magic2)} at 0x38, expected ${shown(MAGIC)} and ${shown(MAGIC2)}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = view.getBigUint64(OFF_FLAGS, true);
  if ((flags & FLAG_BIG_ENDIAN) !== 0n) {
    throw new HvlabError('IMAGE_BIG_ENDIAN', `${name}: the Image header says the kernel is big-endian; hvlab runs little-endian RISC-V`);
  }
  const textOffset = view.getBigUint64(OFF_TEXT_OFFSET, true);
  const declared = view.getBigUint64(OFF_IMAGE_SIZE, true);
  const fileSize = BigInt(bytes.length);
  if (declared !== 0n && declared < fileSize) {
    throw new HvlabError('IMAGE_BAD_SIZE', `${name}: the Image header's image_size ${hex(declared)} is smaller than the file (${hex(fileSize)} bytes)`);
  }
  return { textOffset, imageSize: declared === 0n ? fileSize : declared, version: view.getUint32(OFF_VERSION, true) };
}
