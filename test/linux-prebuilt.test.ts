// The committed Linux guest (guests/linux/prebuilt, docs/linux.md) is what a loader expects:
// a RISC-V Image with its boot header, a newc initramfs with fixed times and owners, and an
// MBR disk with one bootable ext2 partition. The byte-for-byte rebuild is
// guests/linux/check-prebuilt.sh (minutes of kernel build): it runs here in CI (CI set) or
// when HVLAB_CHECK_LINUX is set.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { LINUX_DISK_GZ, LINUX_IMAGE, LINUX_INITRAMFS } from './support/linux.js';

/** The time every initramfs entry and disk file carries (guests/linux/Makefile EPOCH). */
const EPOCH = 1767225600;

describe('prebuilt Linux Image', () => {
  const img = readFileSync(LINUX_IMAGE);
  const view = new DataView(img.buffer, img.byteOffset, img.byteLength);

  it('has the RISC-V boot image header (Documentation/riscv/boot-image-header.rst)', () => {
    expect(img.subarray(48, 53).toString('latin1')).toBe('RISCV'); // magic
    expect(view.getUint32(56, true)).toBe(0x05435352); // magic2 "RSC\x05"
    // Loaded 2 MiB into RAM: the first 2 MiB are the firmware's (0x80200000 on virt).
    expect(view.getBigUint64(8, true)).toBe(0x200000n);
    const imageSize = Number(view.getBigUint64(16, true));
    // image_size covers the file and the bss the loader must leave free after it.
    expect(imageSize).toBeGreaterThanOrEqual(img.length);
    expect(imageSize - img.length).toBeLessThan(1 << 20);
    expect(img.subarray(0, 2).toString('latin1')).toBe('MZ'); // the EFI stub's PE header
  });

  it('carries the fixed build stamp (reproducible build)', () => {
    expect(img.includes(Buffer.from('(hvlab@hvlab)'))).toBe(true);
    expect(img.includes(Buffer.from('#1 Thu Jan  1 00:00:00 UTC 2026'))).toBe(true);
  });
});

interface CpioEntry { name: string; mode: number; uid: number; gid: number; mtime: number; nlink: number; size: number }

/** Parses a newc ("070701") archive: 110-byte ASCII-hex headers, names and data 4-aligned. */
function parseNewc(buf: Buffer): CpioEntry[] {
  const entries: CpioEntry[] = [];
  let off = 0;
  const align4 = (n: number) => (n + 3) & ~3;
  for (;;) {
    const magic = buf.subarray(off, off + 6).toString('latin1');
    if (magic !== '070701') throw new Error(`bad cpio magic at ${off}: ${magic}`);
    const field = (i: number) => parseInt(buf.subarray(off + 6 + i * 8, off + 14 + i * 8).toString('latin1'), 16);
    const namesize = field(11);
    const size = field(6);
    const name = buf.subarray(off + 110, off + 110 + namesize - 1).toString('latin1');
    if (name === 'TRAILER!!!') return entries;
    entries.push({ name, mode: field(1), uid: field(2), gid: field(3), nlink: field(4), mtime: field(5), size });
    off = align4(align4(off + 110 + namesize) + size);
  }
}

describe('prebuilt Linux initramfs', () => {
  const entries = parseNewc(gunzipSync(readFileSync(LINUX_INITRAMFS)));
  const PROGRAMS = ['sh', 'echo', 'cat', 'ls', 'uname', 'true', 'poweroff',
    'forkwait', 'mmapchurn', 'pagewalk', 'nullsys', 'pipeping'];

  it('holds /init, the console node and every program as a link to one binary', () => {
    const byName = new Map(entries.map((e) => [e.name, e]));
    const console = byName.get('dev/console');
    expect(console?.mode).toBe(0o020600); // character device, rw for root
    const init = byName.get('init');
    expect(init?.mode).toBe(0o100755);
    expect(init?.nlink).toBe(1 + PROGRAMS.length);
    for (const p of PROGRAMS) expect(byName.has(`bin/${p}`), p).toBe(true);
    // The data is stored once: every link but the last has size 0 (newc hard links).
    expect(entries.filter((e) => e.size > 0).map((e) => e.name)).toEqual(['bin/pipeping']);
  });

  it('has fixed owners and times', () => {
    for (const e of entries) {
      expect([e.name, e.uid, e.gid, e.mtime]).toEqual([e.name, 0, 0, EPOCH]);
    }
  });
});

describe('prebuilt Linux boot disk', () => {
  const disk = gunzipSync(readFileSync(LINUX_DISK_GZ));
  const SECTOR = 512;

  it('is an MBR disk with one bootable Linux partition at 1 MiB, filled by ext2', () => {
    expect(disk.readUInt16LE(510)).toBe(0xaa55);
    const entry = disk.subarray(446, 462);
    expect(entry[0]).toBe(0x80); // bootable
    expect(entry[4]).toBe(0x83); // Linux
    const first = entry.readUInt32LE(8);
    const count = entry.readUInt32LE(12);
    expect(first).toBe(2048);
    expect((first + count) * SECTOR).toBe(disk.length);
    expect(disk.subarray(462, 510).every((b) => b === 0)).toBe(true); // no other partition
    // The ext2 superblock, 1024 bytes into the partition: magic 0xef53 at offset 56.
    const sb = first * SECTOR + 1024;
    expect(disk.readUInt16LE(sb + 56)).toBe(0xef53);
    expect(disk.readUInt32LE(sb + 48)).toBe(EPOCH); // s_wtime: E2FSPROGS_FAKE_TIME
    expect(disk.subarray(sb + 120, sb + 130).toString('latin1')).toBe('hvlab-boot'); // s_volume_name
  });
});

describe('prebuilt Linux guest rebuild', () => {
  const want = !!process.env.HVLAB_CHECK_LINUX || !!process.env.CI;
  it.skipIf(!want)(`matches its sources byte for byte${want ? '' : ' (skipped: a kernel build takes minutes; set HVLAB_CHECK_LINUX=1, as CI does through CI=true)'}`, () => {
    const r = spawnSync('sh', ['guests/linux/check-prebuilt.sh'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('the Linux guest matches its sources');
  }, 1_800_000);
});
