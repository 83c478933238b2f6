/**
 * Boot layout: where the firmware, the kernel, the initrd and the device tree go in guest RAM,
 * and what the hart gets in its registers, as QEMU 7.2's `virt` machine does it
 * (hw/riscv/boot.c, hw/riscv/virt.c virt_machine_done):
 *
 *   0x0000_1000  mask ROM: reset vector, kernel and FDT addresses, struct fw_dynamic_info
 *   0x8000_0000  firmware (--firmware FILE): an ELF at its addresses, a raw .bin here
 *   align_up(firmware end, 2 MiB)        the kernel (an ELF at its own addresses; a Linux
 *                                        Image here, or at RAM + text_offset if higher; under
 *                                        a firmware file, any other binary raw here)
 *   kernel entry + min(RAM / 2, 128 MiB) the initrd (/chosen linux,initrd-start/-end)
 *   align_down(min(RAM end, 3 GiB) - FDT size, 2 MiB)  the device tree (a1)
 *
 * With `--firmware none` or `builtin` there is no firmware file: the kernel is the image the
 * hart starts in (M-mode for none, S-mode for builtin); for a Linux Image the "firmware end" is
 * the start of RAM, so the Image goes to RAM + text_offset (0x80200000 for RV64), where it
 * would be under OpenSBI.
 *
 * Every region is checked against RAM and against the others: an error names both files and
 * both ranges. Nothing here touches guest memory; the VM writes `segments` and `dtb`.
 */
import { HvlabError } from '../errors.js';
import { hex, isElf, parseElf, type LoadedImage, type LoadSegment, type RamRegion } from './elf.js';
import { loadRaw } from './raw.js';
import { looksLikeLinuxImage, parseLinuxImage } from './linux-image.js';

export interface NamedFile { bytes: Uint8Array; name: string }
export type FirmwareKind = 'none' | 'builtin' | 'file';

const MiB = 1024n * 1024n;
/** RV64 kernels start on a 2 MiB boundary (QEMU riscv_calc_kernel_start_addr; 4 MiB on RV32). */
export const KERNEL_ALIGN = 2n * MiB;
/** QEMU puts the FDT 2 MiB-aligned below the end of RAM or 3 GiB, whichever is lower. */
const FDT_ALIGN = 2n * MiB;
const FDT_LIMIT = 3072n * MiB;
/** The initrd starts this far after the kernel's entry: half of RAM, at most 128 MiB. */
const INITRD_MAX_OFFSET = 128n * MiB;

/** QEMU virt's mask ROM and the layout its reset vector uses (hw/riscv/boot.c). */
export const MROM_BASE = 0x1000n;
/** The reset vector: 6 instructions, then the start address and the FDT address (8 bytes each). */
const ROM_START_ADDR_OFF = 24;
const ROM_FDT_ADDR_OFF = 32;
/** struct fw_dynamic_info follows them (OpenSBI include/sbi/fw_dynamic.h). */
export const FW_DYNAMIC_INFO_OFF = 40;
export const FW_DYNAMIC_INFO_ADDR = MROM_BASE + BigInt(FW_DYNAMIC_INFO_OFF);
const FW_DYNAMIC_INFO_MAGIC = 0x4942534fn; // "OSBI"
const FW_DYNAMIC_INFO_VERSION = 2n;        // version 2 adds boot_hart
const FW_DYNAMIC_INFO_NEXT_MODE_S = 1n;
const ROM_BYTES = FW_DYNAMIC_INFO_OFF + 6 * 8;

export interface BootRequest {
  ram: RamRegion;
  firmware: FirmwareKind;
  /** the M-mode firmware file when `firmware` is 'file' */
  firmwareFile?: NamedFile;
  kernel?: NamedFile;
  /** load the kernel as a raw binary at this address (the CLI's --load-address) */
  kernelAddress?: bigint;
  initrd?: NamedFile;
  /** builds the device tree once /chosen's initrd range is known */
  makeDtb(initrd?: { start: bigint; end: bigint }): Uint8Array;
}

export interface BootRegion { what: string; start: bigint; end: bigint }

export interface BootPlan {
  /** where the hart starts: the firmware's entry, or the kernel's without a firmware file */
  entry: bigint;
  /** what to copy into RAM (firmware, kernel, initrd), in that order */
  segments: LoadSegment[];
  firmware?: LoadedImage;
  kernel?: LoadedImage;
  /** the kernel's entry (the fw_dynamic next_addr; 0 without a kernel, as QEMU) */
  kernelEntry: bigint;
  initrd?: { start: bigint; end: bigint };
  dtb: Uint8Array;
  dtbAddr: bigint;
  /** the mask ROM's contents: QEMU's reset vector and fw_dynamic_info */
  rom: Uint8Array;
  /** a2 as the reset vector leaves it: the address of fw_dynamic_info */
  a2: bigint;
  /** every placed region, in address order (for errors, tests and `--stats`) */
  regions: BootRegion[];
}

function range(r: BootRegion): string { return `[${hex(r.start)}, ${hex(r.end)})`; }

/** The kernel: an ELF at its addresses, a Linux Image after the firmware, or a raw binary. */
function placeKernel(k: NamedFile, req: BootRequest, firmwareEnd: bigint): { img: LoadedImage; regionEnd: bigint } {
  if (req.kernelAddress !== undefined) {
    const img = loadRaw(k.bytes, req.kernelAddress, req.ram, k.name);
    return { img, regionEnd: img.highest };
  }
  if (isElf(k.bytes)) {
    const img = parseElf(k.bytes, req.ram, k.name);
    return { img, regionEnd: img.highest };
  }
  const afterFirmware = (firmwareEnd + KERNEL_ALIGN - 1n) / KERNEL_ALIGN * KERNEL_ALIGN;
  if (!looksLikeLinuxImage(k.bytes)) {
    // Under a firmware file QEMU's -kernel loads anything that is neither an ELF nor a uImage
    // raw at the kernel start address (hw/riscv/boot.c riscv_load_kernel): this is how
    // U-Boot's S-mode u-boot.bin is booted by fw_jump. Without one, a raw binary has no
    // natural place: --load-address says where.
    if (req.firmware === 'file') {
      const img = loadRaw(k.bytes, afterFirmware, req.ram, k.name);
      return { img, regionEnd: img.highest };
    }
    throw new HvlabError('NOT_AN_IMAGE', `${k.name}: not an ELF file`);
  }
  const hdr = parseLinuxImage(k.bytes, k.name);
  let at = afterFirmware;
  // text_offset counts from the 2 MiB-aligned start of RAM (boot-image-header.rst).
  if (req.ram.base + hdr.textOffset > at) at = req.ram.base + hdr.textOffset;
  const ramEnd = req.ram.base + req.ram.size;
  if (at + hdr.imageSize > ramEnd) {
    throw new HvlabError('KERNEL_TOO_BIG', `${k.name}: the kernel Image needs ${hex(hdr.imageSize)} bytes at ${hex(at)}, past the end of RAM at ${hex(ramEnd)}; give the VM more memory`);
  }
  if (at % KERNEL_ALIGN !== 0n) {
    throw new HvlabError('KERNEL_MISALIGNED', `${k.name}: the Image's text_offset ${hex(hdr.textOffset)} puts the kernel at ${hex(at)}, which is not 2 MiB aligned`);
  }
  const img = loadRaw(k.bytes, at, req.ram, k.name);
  return { img, regionEnd: at + hdr.imageSize };
}

/** The mask ROM as QEMU 7.2 fills it (riscv_setup_rom_reset_vec), encoded here. */
export function resetRom(startAddr: bigint, fdtAddr: bigint, kernelEntry: bigint): Uint8Array {
  // RV64I encodings (unprivileged spec chapter 2): U-type auipc, I-type addi/ld/jalr, csrrs.
  const T0 = 5, A0 = 10, A1 = 11, A2 = 12;
  const iType = (imm: number, rs1: number, f3: number, rd: number, op: number) =>
    (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
  const MHARTID = 0xF14;
  const code = [
    ((0 << 12) | (T0 << 7) | 0x17) >>> 0,                      // auipc t0, 0
    iType(FW_DYNAMIC_INFO_OFF, T0, 0, A2, 0x13),                // addi  a2, t0, 40 (fw_dynamic_info)
    iType(MHARTID, 0, 2, A0, 0x73),                            // csrr  a0, mhartid
    iType(ROM_FDT_ADDR_OFF, T0, 3, A1, 0x03),                  // ld    a1, 32(t0)
    iType(ROM_START_ADDR_OFF, T0, 3, T0, 0x03),                // ld    t0, 24(t0)
    iType(0, T0, 0, 0, 0x67),                                  // jr    t0
  ];
  const rom = new Uint8Array(ROM_BYTES);
  const v = new DataView(rom.buffer);
  code.forEach((w, i) => v.setUint32(i * 4, w, true));
  v.setBigUint64(ROM_START_ADDR_OFF, startAddr, true);
  v.setBigUint64(ROM_FDT_ADDR_OFF, fdtAddr, true);
  // struct fw_dynamic_info { magic, version, next_addr, next_mode, options, boot_hart }.
  const info = [FW_DYNAMIC_INFO_MAGIC, FW_DYNAMIC_INFO_VERSION, kernelEntry, FW_DYNAMIC_INFO_NEXT_MODE_S, 0n, 0n];
  info.forEach((x, i) => v.setBigUint64(FW_DYNAMIC_INFO_OFF + i * 8, x, true));
  return rom;
}

export function planBoot(req: BootRequest): BootPlan {
  const ramEnd = req.ram.base + req.ram.size;
  const regions: BootRegion[] = [];
  const segments: LoadSegment[] = [];
  let firmware: LoadedImage | undefined;
  let firmwareEnd = req.ram.base;
  if (req.firmware === 'file') {
    const f = req.firmwareFile!;
    // As QEMU's -bios: an ELF at its own addresses, anything else a raw image at RAM's start.
    firmware = isElf(f.bytes) ? parseElf(f.bytes, req.ram, f.name) : loadRaw(f.bytes, req.ram.base, req.ram, f.name);
    firmwareEnd = firmware.highest;
    segments.push(...firmware.segments);
    regions.push({ what: f.name, start: firmware.lowest, end: firmware.highest });
  }
  if (!req.kernel && req.firmware !== 'file') {
    throw new HvlabError('NO_KERNEL', `firmware '${req.firmware}' needs an image to run (a kernel)`);
  }
  if (req.initrd && !req.kernel) {
    throw new HvlabError('INITRD_WITHOUT_KERNEL', `${req.initrd.name}: an initrd needs a kernel (--kernel FILE)`);
  }
  let kernel: LoadedImage | undefined;
  let kernelEntry = 0n;
  if (req.kernel) {
    const placed = placeKernel(req.kernel, req, firmwareEnd);
    kernel = placed.img;
    kernelEntry = kernel.entry;
    segments.push(...kernel.segments);
    regions.push({ what: req.kernel.name, start: kernel.lowest, end: placed.regionEnd });
  }
  let initrd: { start: bigint; end: bigint } | undefined;
  if (req.initrd) {
    const offset = req.ram.size / 2n < INITRD_MAX_OFFSET ? req.ram.size / 2n : INITRD_MAX_OFFSET;
    const start = kernelEntry + offset;
    initrd = { start, end: start + BigInt(req.initrd.bytes.length) };
    segments.push({ paddr: start, data: req.initrd.bytes, memsz: BigInt(req.initrd.bytes.length), flags: 4 });
    regions.push({ what: req.initrd.name, start, end: initrd.end });
  }
  const dtb = req.makeDtb(initrd);
  const top = req.ram.base < FDT_LIMIT && ramEnd > FDT_LIMIT ? FDT_LIMIT : ramEnd;
  const dtbAddr = (top - BigInt(dtb.length)) / FDT_ALIGN * FDT_ALIGN;
  const dtbRegion = { what: 'the device tree', start: dtbAddr, end: dtbAddr + BigInt(dtb.length) };
  if (initrd && req.initrd && initrd.end > dtbAddr) {
    throw new HvlabError('INITRD_TOO_BIG', `${req.initrd.name}: the ${req.initrd.bytes.length}-byte initrd at ${hex(initrd.start)} reaches ${hex(initrd.end)}, past the device tree at ${hex(dtbAddr)} near the end of ${req.ram.size / MiB} MiB of RAM; give the VM more memory`);
  }
  // Everything goes below the device tree: the top of RAM is its (QEMU puts nothing there).
  for (const r of regions) {
    if (r.end > dtbAddr) {
      throw new HvlabError('IMAGE_TOO_BIG', `${r.what}: the image reaches ${hex(r.end)}, into the device tree at ${hex(dtbAddr)}; give the VM more memory`);
    }
  }
  for (let i = 0; i < regions.length; i++) {
    for (let j = i + 1; j < regions.length; j++) {
      const a = regions[i], b = regions[j];
      if (a.start < b.end && b.start < a.end) {
        throw new HvlabError('IMAGES_OVERLAP', `${b.what} ${range(b)} overlaps ${a.what} ${range(a)}`);
      }
    }
  }
  regions.push(dtbRegion);
  regions.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const entry = firmware ? firmware.entry : kernelEntry;
  return { entry, segments, firmware, kernel, kernelEntry, initrd, dtb, dtbAddr,
    rom: resetRom(entry, dtbAddr, kernelEntry), a2: FW_DYNAMIC_INFO_ADDR, regions };
}
