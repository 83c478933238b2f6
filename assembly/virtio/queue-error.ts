// The errors a virtio device reports for a hostile or broken driver, shared by the core
// (assembly/virtio/queue.ts) and the TypeScript backends (src/io/queue.ts): this file is
// written in the subset of TypeScript that AssemblyScript also compiles, as counter-ids.ts is.
// Each is checked where queue.ts (either one) names its clause.

export enum QueueError {
  NONE = 0,
  /** avail.idx moved more than the queue size past the last entry served (2.7.6, 2.7.13.3). */
  AVAIL_JUMP = 1,
  /** An avail ring entry names a descriptor beyond the table (2.7.5, 2.7.6). */
  HEAD_OUT_OF_RANGE = 2,
  /** A descriptor's `next` is beyond its table (2.7.5). */
  NEXT_OUT_OF_RANGE = 3,
  /** More descriptors than the table holds: a loop or an overlong chain (2.7.5.2, 2.7.5.3.1). */
  CHAIN_TOO_LONG = 4,
  /** A buffer or an indirect table not entirely in guest memory (2.7.5: addr is guest-physical). */
  OUTSIDE_MEMORY = 5,
  /** INDIRECT used without VIRTIO_F_INDIRECT_DESC negotiated (2.7.5.3.1). */
  INDIRECT_NOT_NEGOTIATED = 6,
  /** INDIRECT inside an indirect table: only one table per descriptor (2.7.5.3.1). */
  INDIRECT_NESTED = 7,
  /** INDIRECT and NEXT set together (2.7.5.3.1). */
  INDIRECT_WITH_NEXT = 8,
  /** An indirect table whose length is not a nonzero multiple of 16 (2.7.5.3). */
  INDIRECT_BAD_SIZE = 9,
  /** A device-readable buffer after a device-writable one (2.7.4.2). */
  READABLE_AFTER_WRITABLE = 10,
  /** A chain over 2^32 bytes in total (2.7.5.2). */
  CHAIN_TOO_BIG = 11,
  /** A device request without the parts its device type requires (virtio-blk: a 16-byte
   * header and a status byte, 5.2.6): nothing can be answered, so the device needs a reset
   * (the device's error, not the queue's, but it ends the same way). */
  BAD_REQUEST = 12,
}
