// The VM's disk image: one block of bytes in the core's linear memory, right after machine RAM
// (index.ts diskAlloc), shared by the two disk devices, virtio-blk (virtio/blk.ts) and emudisk
// (devices/emudisk.ts), so the same workload sees the same data on every I/O path. The host
// fills it from a file or an in-memory image and writes it back (src/vm.ts); a snapshot of the
// machine covers it. Sectors are 512 bytes (virtio v1.2 5.2.4: capacity is in 512-byte sectors).

export const SECTOR: u64 = 512;

@unmanaged class DiskState {
  /** Linear address and length of the image; 0 bytes = no disk. */
  host: u64 = 0;
  bytes: u64 = 0;
}
export const disk = changetype<DiskState>(memory.data(offsetof<DiskState>(), 16));

@inline export function diskSectors(): u64 { return disk.bytes / SECTOR; }

/** Linear address of `len` bytes at byte `off` of the image, or 0 if not wholly inside it. */
export function diskAt(off: u64, len: u64): usize {
  if (disk.bytes == 0 || off > disk.bytes || len > disk.bytes - off) return 0;
  return <usize>(disk.host + off);
}
