// The boot layout (src/loader/boot.ts) and the RISC-V Linux Image header (linux-image.ts):
// where QEMU 7.2's virt puts firmware, kernel, initrd and device tree, the mask ROM's reset
// vector and fw_dynamic_info, and a specific one-line error for each bad input.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { planBoot, resetRom, type BootRequest } from '../../src/loader/boot.js';
import { buildDtb, defaultVirtMachine } from '../../src/loader/dtb.js';
import { fdtCells, fdtNode, fdtStrings, parseFdt } from '../../src/loader/fdt-parse.js';
import { parseLinuxImage } from '../../src/loader/linux-image.js';
import { errorOf } from '../support/errors.js';
import { qemuAvailable, QEMU_BINARY } from '../qemu.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MiB = 1024n * 1024n;
const RAM = { base: 0x8000_0000n, size: 128n * MiB };

/** A RISC-V Linux Image: the 64-byte header (boot-image-header.rst), then `body` bytes. */
function linuxImage(opts: { textOffset?: bigint; imageSize?: bigint; body?: number; magic?: string; magic2?: string } = {}): Uint8Array {
  const b = Buffer.alloc(64 + (opts.body ?? 4096));
  b.writeUInt32LE(0x0100006f, 0);                       // j +16 (over the header's start)
  b.writeBigUInt64LE(opts.textOffset ?? 0x200000n, 8);
  b.writeBigUInt64LE(opts.imageSize ?? BigInt(b.length + 0x1000), 16);
  b.writeUInt32LE(2, 32);                               // version 0.2
  b.write(opts.magic ?? 'RISCV\0\0\0', 48, 'latin1');
  b.write(opts.magic2 ?? 'RSC\x05', 56, 'latin1');
  return new Uint8Array(b);
}

/** A raw firmware of `size` bytes (its contents do not matter to the layout). */
const rawFirmware = (size: number) => ({ bytes: new Uint8Array(size), name: 'fw.bin' });

function request(patch: Partial<BootRequest>): BootRequest {
  return {
    ram: RAM, firmware: 'file', firmwareFile: rawFirmware(0x48000),
    makeDtb: (initrd) => buildDtb({ ...defaultVirtMachine(RAM.size), initrd, bootargs: 'console=ttyS0' }),
    ...patch,
  };
}

describe('boot layout as QEMU 7.2 virt', () => {
  it('firmware at 0x80000000, Image at the next 2 MiB boundary, initrd 64 MiB after it, FDT below 128 MiB', () => {
    const p = planBoot(request({ kernel: { bytes: linuxImage(), name: 'Image' }, initrd: { bytes: new Uint8Array(100_000), name: 'rd' } }));
    expect(p.entry).toBe(0x8000_0000n);
    expect(p.kernelEntry).toBe(0x8020_0000n);
    expect(p.initrd).toEqual({ start: 0x8420_0000n, end: 0x8420_0000n + 100_000n });
    expect(p.dtbAddr).toBe(0x87e0_0000n);
    expect(p.regions.map((r) => r.what)).toEqual(['fw.bin', 'Image', 'rd', 'the device tree']);
    const chosen = fdtNode(parseFdt(p.dtb).root, '/chosen')!;
    expect(fdtCells(chosen.props.get('linux,initrd-start')!)).toEqual([0x8420_0000]);
    expect(fdtCells(chosen.props.get('linux,initrd-end')!)).toEqual([0x8420_0000 + 100_000]);
    expect(fdtStrings(chosen.props.get('bootargs')!)).toEqual(['console=ttyS0']);
  });

  it('a firmware past 2 MiB pushes the Image to the next 2 MiB boundary', () => {
    const p = planBoot(request({ firmwareFile: rawFirmware(0x28_0000), kernel: { bytes: linuxImage(), name: 'Image' } }));
    expect(p.kernelEntry).toBe(0x8040_0000n);
  });

  it('under a firmware file a raw kernel (U-Boot\'s u-boot.bin) goes where an Image would, as QEMU\'s -kernel', () => {
    const raw = new Uint8Array(0x1234).fill(0x13);
    const p = planBoot(request({ kernel: { bytes: raw, name: 'u-boot.bin' } }));
    expect([p.entry, p.kernelEntry]).toEqual([0x8000_0000n, 0x8020_0000n]);
    expect(p.regions.find((r) => r.what === 'u-boot.bin')).toEqual({ what: 'u-boot.bin', start: 0x8020_0000n, end: 0x8020_1234n });
    // The ROM's fw_dynamic_info names it as the next stage.
    expect(new DataView(p.rom.buffer).getBigUint64(40 + 16, true)).toBe(0x8020_0000n);
    const big = planBoot(request({ firmwareFile: rawFirmware(0x28_0000), kernel: { bytes: raw, name: 'u-boot.bin' } }));
    expect(big.kernelEntry).toBe(0x8040_0000n);
  });

  it('small RAM: the initrd goes half-way into RAM after the kernel entry', () => {
    const ram = { base: RAM.base, size: 64n * MiB };
    const p = planBoot(request({ ram, kernel: { bytes: linuxImage(), name: 'Image' }, initrd: { bytes: new Uint8Array(16), name: 'rd' },
      makeDtb: (initrd) => buildDtb({ ...defaultVirtMachine(ram.size), initrd }) }));
    expect(p.initrd!.start).toBe(0x8020_0000n + 32n * MiB);
    expect(p.dtbAddr).toBe(0x83e0_0000n);
  });

  it('with builtin or none, an Image goes to RAM + text_offset (0x80200000), the hart starts in it', () => {
    for (const firmware of ['builtin', 'none'] as const) {
      const p = planBoot(request({ firmware, firmwareFile: undefined, kernel: { bytes: linuxImage(), name: 'Image' } }));
      expect([p.entry, p.kernelEntry, p.firmware]).toEqual([0x8020_0000n, 0x8020_0000n, undefined]);
    }
  });

  it('the mask ROM holds the reset vector, the start and FDT addresses, and fw_dynamic_info', () => {
    const rom = resetRom(0x8000_0000n, 0x87e0_0000n, 0x8020_0000n);
    const v = new DataView(rom.buffer);
    // auipc t0,0; addi a2,t0,40; csrr a0,mhartid; ld a1,32(t0); ld t0,24(t0); jr t0
    expect([0, 4, 8, 12, 16, 20].map((o) => v.getUint32(o, true).toString(16)))
      .toEqual(['297', '2828613', 'f1402573', '202b583', '182b283', '28067']);
    expect([24, 32].map((o) => v.getBigUint64(o, true))).toEqual([0x8000_0000n, 0x87e0_0000n]);
    // magic "OSBI", version 2, next_addr, next_mode S (1), options 0, boot_hart 0
    expect([40, 48, 56, 64, 72, 80].map((o) => v.getBigUint64(o, true))).toEqual([0x4942534fn, 2n, 0x8020_0000n, 1n, 0n, 0n]);
    expect(planBoot(request({ kernel: { bytes: linuxImage(), name: 'Image' } })).a2).toBe(0x1028n);
  });

  it('the Image header: text_offset and image_size are read, image_size 0 means the file size', () => {
    expect(parseLinuxImage(linuxImage({ textOffset: 0x400000n, imageSize: 0x9000n }), 'Image')).toEqual({ textOffset: 0x400000n, imageSize: 0x9000n, version: 2 });
    expect(parseLinuxImage(linuxImage({ imageSize: 0n, body: 100 }), 'Image').imageSize).toBe(164n);
  });
});

describe('boot layout errors: one line each', () => {
  const cases: [string, Partial<BootRequest>, string, string][] = [
    ['an Image with a bad first magic', { kernel: { bytes: linuxImage({ magic: 'RISCX\0\0\0' }), name: 'Image' } }, 'IMAGE_BAD_MAGIC',
      'Image: bad RISC-V Linux Image magic: "RISCX\\x00\\x00\\x00" at 0x30 and "RSC\\x05" at 0x38, expected "RISCV\\x00\\x00\\x00" and "RSC\\x05"'],
    ['an Image with a bad second magic', { kernel: { bytes: linuxImage({ magic2: 'RSC\x06' }), name: 'Image' } }, 'IMAGE_BAD_MAGIC',
      'Image: bad RISC-V Linux Image magic: "RISCV\\x00\\x00\\x00" at 0x30 and "RSC\\x06" at 0x38, expected "RISCV\\x00\\x00\\x00" and "RSC\\x05"'],
    ['an Image whose image_size does not fit in RAM', { kernel: { bytes: linuxImage({ imageSize: 200n * MiB }), name: 'Image' } }, 'KERNEL_TOO_BIG',
      'Image: the kernel Image needs 0xc800000 bytes at 0x80200000, past the end of RAM at 0x88000000; give the VM more memory'],
    ['an image_size smaller than the file', { kernel: { bytes: linuxImage({ imageSize: 0x10n }), name: 'Image' } }, 'IMAGE_BAD_SIZE',
      "Image: the Image header's image_size 0x10 is smaller than the file (0x1040 bytes)"],
    ['a firmware larger than RAM', { firmwareFile: rawFirmware(129 * 1024 * 1024) }, 'RAW_OUTSIDE_RAM',
      'fw.bin: the 135266304-byte raw image at [0x80000000, 0x88100000) does not fit in RAM [0x80000000, 0x88000000)'],
    ['a raw kernel overlapping the firmware', { kernel: { bytes: new Uint8Array(64), name: 'k.bin' }, kernelAddress: 0x8004_0000n }, 'IMAGES_OVERLAP',
      'k.bin [0x80040000, 0x80040040) overlaps fw.bin [0x80000000, 0x80048000)'],
    ['an initrd overlapping the kernel', { kernel: { bytes: linuxImage({ imageSize: 80n * MiB }), name: 'Image' }, initrd: { bytes: new Uint8Array(8), name: 'rd' } }, 'IMAGES_OVERLAP',
      'rd [0x84200000, 0x84200008) overlaps Image [0x80200000, 0x85200000)'],
    ['an initrd too large for the memory', { kernel: { bytes: linuxImage(), name: 'Image' }, initrd: { bytes: new Uint8Array(61 * 1024 * 1024), name: 'rd' } }, 'INITRD_TOO_BIG',
      'rd: the 63963136-byte initrd at 0x84200000 reaches 0x87f00000, past the device tree at 0x87e00000 near the end of 128 MiB of RAM; give the VM more memory'],
    ['an initrd without a kernel', { initrd: { bytes: new Uint8Array(8), name: 'rd' } }, 'INITRD_WITHOUT_KERNEL', 'rd: an initrd needs a kernel (--kernel FILE)'],
    ['a raw kernel without a header, an address or a firmware file', { firmware: 'none', firmwareFile: undefined, kernel: { bytes: new Uint8Array(100), name: 'k.bin' } }, 'NOT_AN_IMAGE', 'k.bin: not an ELF file'],
    ['builtin without a kernel', { firmware: 'builtin', firmwareFile: undefined }, 'NO_KERNEL', "firmware 'builtin' needs an image to run (a kernel)"],
  ];
  for (const [what, patch, code, message] of cases) {
    it(what, () => {
      const e = errorOf(() => planBoot(request(patch)));
      expect([e.code, e.message]).toEqual([code, message]);
    });
  }
});

describe.skipIf(!qemuAvailable())('initrd, bootargs and FDT placement against QEMU 7.2', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'hvlab-boot-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  it('/chosen linux,initrd-start/-end and bootargs equal QEMU\'s for -bios fw_jump.bin -kernel hvos.elf -initrd', async () => {
    const fw = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin';
    const hvos = join(root, 'guests', 'hvos', 'prebuilt', 'hvos.elf');
    const rd = join(tmp, 'rd.img');
    writeFileSync(rd, new Uint8Array(100_000).fill(7));
    const dtb = join(tmp, 'q.dtb');
    const q = spawnSync(QEMU_BINARY, ['-machine', `virt,dumpdtb=${dtb}`, '-m', '128M', '-nographic', '-bios', fw,
      '-kernel', hvos, '-initrd', rd, '-append', 'console=ttyS0 quiet'], { encoding: 'utf8' });
    expect(q.status).toBe(0);
    const qc = fdtNode(parseFdt(new Uint8Array(readFileSync(dtb))).root, '/chosen')!;
    const { Vm } = await import('../../src/vm.js');
    const { loadCoreModule } = await import('../../src/node/load-core.js');
    const vm = await Vm.create({ firmware: { file: new Uint8Array(readFileSync(fw)), name: 'fw_jump.bin' }, bootargs: 'console=ttyS0 quiet' }, await loadCoreModule());
    const plan = vm.boot({ kernel: new Uint8Array(readFileSync(hvos)), kernelName: 'hvos.elf', initrd: new Uint8Array(readFileSync(rd)), initrdName: 'rd.img' });
    const hc = fdtNode(parseFdt(plan.dtb).root, '/chosen')!;
    for (const p of ['linux,initrd-start', 'linux,initrd-end']) expect(fdtCells(hc.props.get(p)!), p).toEqual(fdtCells(qc.props.get(p)!));
    expect(fdtStrings(hc.props.get('bootargs')!)).toEqual(fdtStrings(qc.props.get('bootargs')!));
    expect(plan.dtbAddr).toBe(0x87e0_0000n);
    await vm.close();
  });
});

describe('a Linux Image runs where it is placed', () => {
  // code0 jumps over the 64-byte header; the body writes 0x5555 to the SiFive test device
  // (pass). RV64I encodings (unprivileged spec chapter 2).
  const T0 = 5, T1 = 6;
  const body = [
    ((0x100 << 12) | (T0 << 7) | 0x37) >>> 0,                   // lui  t0, 0x100    (0x100000)
    ((0x5 << 12) | (T1 << 7) | 0x37) >>> 0,                     // lui  t1, 0x5
    ((0x555 << 20) | (T1 << 15) | (T1 << 7) | 0x13) >>> 0,      // addi t1, t1, 0x555
    ((T1 << 20) | (T0 << 15) | (2 << 12) | 0x23) >>> 0,         // sw   t1, 0(t0)
    0x0000006f,                                                 // j    .
  ];
  const image = linuxImage({ body: body.length * 4 });
  const view = new DataView(image.buffer);
  view.setUint32(0, 0x0400006f, true);                          // j    +64
  body.forEach((w, i) => view.setUint32(64 + i * 4, w, true));

  for (const firmware of ['builtin', 'none', 'fw_jump.bin'] as const) {
    const fwPath = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin';
    it.skipIf(firmware === 'fw_jump.bin' && !existsSync(fwPath))(`under ${firmware}: entered at 0x80200000, it passes`, async () => {
      const { runGuest } = await import('../../src/vm.js');
      const fw = firmware === 'fw_jump.bin' ? { file: new Uint8Array(readFileSync(fwPath)), name: firmware } : firmware;
      const r = await runGuest(image, { firmware: fw, maxInstructions: 20_000_000 });
      expect(r.stop).toEqual({ reason: 'pass', code: 0 });
      expect(r.counters[firmware === 'none' ? 'INSTRET_M' : 'INSTRET_S']).toBeGreaterThanOrEqual(5n);
    });
  }
});

describe('images needing extensions the core lacks (isa.ts ELF_FLAG_REQUIREMENTS)', () => {
  /** An ELF64 RISC-V executable at 0x80000000 with e_flags = `flags` and one `j .`. */
  function elf(flags: number): Uint8Array {
    const h = Buffer.alloc(64 + 56 + 4);
    h.write('\x7fELF', 0, 'latin1');
    h[4] = 2; h[5] = 1; h[6] = 1;
    h.writeUInt16LE(2, 16); h.writeUInt16LE(243, 18); h.writeUInt32LE(1, 20);
    h.writeBigUInt64LE(0x8000_0000n, 24); h.writeBigUInt64LE(64n, 32);
    h.writeUInt32LE(flags, 48);
    h.writeUInt16LE(64, 52); h.writeUInt16LE(56, 54); h.writeUInt16LE(1, 56); h.writeUInt16LE(64, 58);
    h.writeUInt32LE(1, 64); h.writeUInt32LE(5, 68); h.writeBigUInt64LE(120n, 72);
    h.writeBigUInt64LE(0x8000_0000n, 80); h.writeBigUInt64LE(0x8000_0000n, 88);
    h.writeBigUInt64LE(4n, 96); h.writeBigUInt64LE(4n, 104);
    h.writeUInt32LE(0x6f, 120);
    return new Uint8Array(h);
  }

  it('a double-float-ABI image is refused naming the extensions while misa lacks F or D, and loads once it has them', async () => {
    const { Vm } = await import('../../src/vm.js');
    const { loadCoreModule } = await import('../../src/node/load-core.js');
    const { misaLetters, marchFor } = await import('../../src/loader/isa.js');
    const vm = await Vm.create({ firmware: 'none' }, await loadCoreModule());
    const misa = vm.misa;
    const FLOAT_ABI_DOUBLE = 0x4;
    if (misaLetters(misa).includes('f') && misaLetters(misa).includes('d')) {
      expect(vm.load(elf(FLOAT_ABI_DOUBLE), 'fd.elf').entry).toBe(0x8000_0000n);
    } else {
      const e = errorOf(() => vm.load(elf(FLOAT_ABI_DOUBLE), 'fd.elf'));
      expect([e.code, e.message]).toEqual(['NEEDS_FLOAT',
        `fd.elf: the image uses the double-precision float ABI (F and D), which hvlab does not implement yet; build with -march=${marchFor(misa)}`]);
    }
    // C is implemented (IALIGN = 16): an RVC image loads, a soft-float one too.
    expect(vm.load(elf(0x1), 'c.elf').rvc).toBe(true);
    await vm.close();
  });
});
