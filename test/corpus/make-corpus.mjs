// Writes the bad-input corpus (test/corpus/*): small malformed images, drives and files, each
// built byte by byte here so a reader sees exactly what is wrong with it. The files are
// committed; run `node test/corpus/make-corpus.mjs` to rebuild them (the
// test checks that the committed files are exactly its output) (the output is the same
// every time). What each file is for, and the error it must give, is in index.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// An argument writes the files elsewhere (the test rebuilds them to check the committed ones).
const dir = process.argv[2] ?? dirname(fileURLToPath(import.meta.url));
mkdirSync(dir, { recursive: true });
const out = (name, bytes) => writeFileSync(join(dir, name), bytes);

const EM_RISCV = 243, EM_X86_64 = 62;
const PT_LOAD = 1;
const RAM = 0x8000_0000n;

/**
 * An ELF64 executable (ELF spec, "ELF Header" and "Program Header"): `segs` are PT_LOAD
 * segments { vaddr, data, memsz?, filesz?, offset? }; `hdr` overrides header fields.
 */
function elf({ machine = EM_RISCV, cls = 2, data = 1, type = 2, entry, segs, phoff = 64, phnum, phentsize = 56 }) {
  const phdrs = Buffer.alloc(segs.length * 56);
  let off = 64 + phdrs.length;
  const bodies = [];
  segs.forEach((s, i) => {
    const p = i * 56;
    phdrs.writeUInt32LE(PT_LOAD, p); phdrs.writeUInt32LE(5, p + 4); // R X
    phdrs.writeBigUInt64LE(s.offset ?? BigInt(off), p + 8);
    phdrs.writeBigUInt64LE(s.vaddr, p + 16); phdrs.writeBigUInt64LE(s.vaddr, p + 24);
    phdrs.writeBigUInt64LE(s.filesz ?? BigInt(s.data.length), p + 32);
    phdrs.writeBigUInt64LE(s.memsz ?? BigInt(s.data.length), p + 40);
    phdrs.writeBigUInt64LE(0x1000n, p + 48);
    bodies.push(s.data);
    off += s.data.length;
  });
  const h = Buffer.alloc(64);
  h.write('\x7fELF', 0, 'latin1');
  h[4] = cls; h[5] = data; h[6] = 1;
  h.writeUInt16LE(type, 16); h.writeUInt16LE(machine, 18); h.writeUInt32LE(1, 20);
  h.writeBigUInt64LE(entry ?? segs[0].vaddr, 24);
  h.writeBigUInt64LE(BigInt(phoff), 32);
  h.writeUInt16LE(64, 52); h.writeUInt16LE(phentsize, 54); h.writeUInt16LE(phnum ?? segs.length, 56); h.writeUInt16LE(64, 58);
  return Buffer.concat([h, phdrs, ...bodies]);
}

const code = Buffer.from([0x6f, 0x00, 0x00, 0x00]); // jal x0, 0: a loop, never reached
const good = elf({ segs: [{ vaddr: RAM, data: code }] });

out('empty.elf', Buffer.alloc(0));
out('truncated-header.elf', good.subarray(0, 20));
out('x86-64.elf', elf({ machine: EM_X86_64, segs: [{ vaddr: 0x40_1000n, data: code }] }));
{ // ELFCLASS32: the identification bytes say 32-bit (the rest is the 64-bit layout; it is refused first)
  const b = Buffer.from(good); b[4] = 1; out('elf32.elf', b);
}
{ // ELFDATA2MSB: big-endian
  const b = Buffer.from(good); b[5] = 2; out('big-endian.elf', b);
}
out('relocatable.elf', elf({ type: 1, segs: [{ vaddr: RAM, data: code }] }));
out('outside-ram.elf', elf({ segs: [{ vaddr: 0x1000_0000n, data: code }] }));
out('overlapping-segments.elf', elf({ segs: [{ vaddr: RAM, data: Buffer.alloc(0x100) }, { vaddr: RAM + 0x80n, data: code }] }));
out('huge-filesz.elf', elf({ segs: [{ vaddr: RAM, data: code, filesz: 0xffff_ffff_ffffn, memsz: 0xffff_ffff_ffffn }] }));
out('segment-past-eof.elf', elf({ segs: [{ vaddr: RAM, data: code, filesz: 0x10000n, memsz: 0x10000n }] }));
out('memsz-below-filesz.elf', elf({ segs: [{ vaddr: RAM, data: Buffer.alloc(0x100), memsz: 0x10n }] }));
out('phdrs-past-eof.elf', elf({ segs: [{ vaddr: RAM, data: code }], phoff: 0x10000 }));
out('bad-phentsize.elf', elf({ segs: [{ vaddr: RAM, data: code }], phentsize: 32 }));
out('no-program-headers.elf', elf({ segs: [{ vaddr: RAM, data: code }], phnum: 0 }));
out('entry-outside-segments.elf', elf({ entry: RAM + 0x10_0000n, segs: [{ vaddr: RAM, data: code }] }));
out('misaligned-entry.elf', elf({ entry: RAM + 1n, segs: [{ vaddr: RAM, data: code }] }));
// A kernel (at 0x80200000, so firmware auto = builtin) whose .bss (memsz) needs 256 MiB
out('kernel-256M-bss.elf', elf({ segs: [{ vaddr: RAM + 0x20_0000n, data: code, memsz: 256n << 20n }] }));
// A segment whose end wraps past 2^64
out('wrapping-segment.elf', elf({ segs: [{ vaddr: 0xffff_ffff_ffff_f000n, data: code, memsz: 0x2000n }] }));

/** A RISC-V Linux Image header (Documentation/riscv/boot-image-header.rst), 64 bytes + code. */
function linuxImage({ magic2 = 'RSC\x05', textOffset = 0x20_0000n, imageSize = 0x1000n, flags = 0n } = {}) {
  const b = Buffer.alloc(128);
  b.writeUInt32LE(0x0000006f, 0); // code0: a jump
  b.writeBigUInt64LE(textOffset, 8);
  b.writeBigUInt64LE(imageSize, 16);
  b.writeBigUInt64LE(flags, 24);
  b.writeUInt32LE(2, 32); // version 0.2
  b.write('RISCV\0\0\0', 48, 'latin1');
  b.write(magic2, 56, 'latin1');
  return b;
}
out('bad-magic.Image', linuxImage({ magic2: 'RSC\x04' }));
out('huge.Image', linuxImage({ imageSize: 0x4000_0000n }));
out('big-endian.Image', linuxImage({ flags: 1n }));
out('misaligned.Image', linuxImage({ textOffset: 0x20_1000n }));
out('image-size-below-file.Image', linuxImage({ imageSize: 0x10n }));

out('drive-1000-bytes.img', Buffer.alloc(1000));
out('drive-empty.img', Buffer.alloc(0));
out('costs-not-json.json', '{ "exitCost": 10,\n');
out('costs-bad-key.json', JSON.stringify({ noSuchCost: 1 }) + '\n');
out('costs-bad-value.json', JSON.stringify({ exit: 'ten' }) + '\n');
out('notes.txt', 'hello, not an image\n');

// Many-VM config files (hvlab run --config, hvlab top; docs/multi-vm.md "The config file").
// Images are relative to the config file.
const HVOS = '../../guests/hvos/prebuilt/hvos.elf';
const vm = (name, extra = {}) => ({ name, image: HVOS, mode: 'hvm-nested', memory: '16M', ...extra });
const config = (name, doc) => out(name, typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2) + '\n');
config('vms-missing-image.json', { pool: '64M', vms: [vm('a'), vm('b', { image: 'no-such-image.elf' })] });
config('vms-unknown-mode.json', { pool: '64M', vms: [vm('a', { mode: 'warp' })] });
config('vms-native.json', { pool: '64M', vms: [vm('a', { mode: 'native' })] });
config('vms-over-pool.json', { pool: '32M', vms: [vm('a'), vm('b'), vm('c')] });
config('vms-no-room.json', { pool: '32M', vms: [vm('a'), vm('b')] });
config('vms-duplicate-name.json', { pool: '64M', vms: [vm('a'), vm('b'), vm('a', { mode: 'pv' })] });
config('vms-unknown-key.json', { pool: '64M', vms: [vm('a', { wieght: 512 })] });
config('vms-unknown-top-key.json', { pool: '64M', scheduler: 'credit', vms: [vm('a')] });
config('vms-bad-json.json', '{\n  "pool": "64M"\n  "vms": []\n}\n');
config('vms-truncated.json', '{\n  "pool": "64M",\n  "vms": [\n');
config('vms-empty.json', { pool: '64M', vms: [] });
config('vms-no-pool.json', { vms: [vm('a')] });
config('vms-bad-memory.json', { pool: '64M', vms: [vm('a', { memory: '16X' })] });
config('vms-bad-weight.json', { pool: '64M', vms: [vm('a', { weight: 0 })] });
config('vms-bad-cap.json', { pool: '64M', vms: [vm('a', { cap: 150 })] });
config('vms-bad-name.json', { pool: '64M', vms: [vm('a b')] });
config('vms-offload.json', { pool: '64M', vms: [vm('a', { mode: 'pv', io: 'offload' })] });
config('vms-pv-host.json', { pool: '64M', vms: [vm('a', { mode: 'pv', io: 'host' })] });
config('vms-disk-and-drive.json', { pool: '64M', vms: [vm('a', { disk: '1M', drive: 'drive-1000-bytes.img' })] });
config('vms-bad-image.json', { pool: '64M', vms: [vm('a', { image: 'x86-64.elf' })] });
config('vms-bad-drive.json', { pool: '64M', vms: [vm('a', { io: 'core', drive: 'drive-1000-bytes.img' })] });
