/**
 * The core's records as the I/O backends see them (the contract with assembly/virtio): where
 * each lives in the core's linear memory, their field offsets, and the spec constants the
 * backends share. Everything here is plain numbers so that a worker can receive it in a message.
 *
 *   Slot record (virtioSlotPtr(n), n 0..7), little-endian:
 *     +0 deviceId u32   +4 status u32   +8 deviceFeaturesSel   +12 driverFeaturesSel
 *     +16 queueSel      +20 interruptStatus u32 (Atomics only: the core and a worker share it)
 *     +24 configGeneration   +28 backend u32 (0 core, 1 host, 2 offload)   +32 driverFeatures u64
 *   Queue record (virtioQueuePtr(n, q), q 0..1):
 *     +0 num  +4 ready  +8 lastAvail  +12 usedIdx  +16 eventIdx  +20 indirect (u32 each)
 *     +24 desc u64  +32 driver u64  +40 device u64 (guest-physical)
 *   Guest map (guestMapPtr()):
 *     +0 mode u32 (0 native)  +8 guestBase u64  +16 guestBytes u64  +24 ramHost u64
 *     +32 machineRamBase u64  +40 frameMap u64 (linear address of u32 host frame numbers)
 *   Console rings (txRingPtr(), rxRingPtr(); assembly/devices/console.ts):
 *     +0 head u32 (next write)  +4 tail u32 (next read)  +8 bytes (a power of 2)
 * Alone these are in the core's static data; an offload VM beside others has the slots, queues,
 * doorbell, guest map, RX ring and the worker's counters in its I/O block in the pool
 * (assembly/virtio/ioblock.ts), where they stay whichever VM is loaded.
 */

export const SLOT_COUNT = 8;
export const QUEUES_PER_SLOT = 2;

export const SLOT_DEVICE_ID = 0;
export const SLOT_STATUS = 4;
export const SLOT_INTERRUPT_STATUS = 20;
export const SLOT_BACKEND = 28;
export const SLOT_DRIVER_FEATURES = 32;

export const Q_NUM = 0;
export const Q_READY = 4;
export const Q_LAST_AVAIL = 8;
export const Q_USED_IDX = 12;
export const Q_EVENT_IDX = 16;
export const Q_INDIRECT = 20;
export const Q_DESC = 24;
export const Q_DRIVER = 32;
export const Q_DEVICE = 40;

export const GM_MODE = 0;
export const GM_GUEST_BASE = 8;
export const GM_GUEST_BYTES = 16;
export const GM_RAM_HOST = 24;
export const GM_MACHINE_RAM_BASE = 32;
export const GM_FRAME_MAP = 40;

export const RING_HEAD = 0;
export const RING_TAIL = 4;
export const RING_DATA = 8;

/** Which backend serves a slot (slot record +28). */
export const BACKEND_CORE = 0;
export const BACKEND_HOST = 1;
export const BACKEND_OFFLOAD = 2;

/** Device status bits (virtio v1.2 2.1). */
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_DEVICE_NEEDS_RESET = 64;
export const STATUS_FAILED = 128;

/** InterruptStatus bits (4.2.2). */
export const INT_USED_BUFFER = 1;
export const INT_CONFIG_CHANGE = 2;

/** Device IDs (5). */
export const VIRTIO_ID_BLOCK = 2;
export const VIRTIO_ID_CONSOLE = 3;
export const VIRTIO_ID_RNG = 4;

/** Counter slots: the core's own ids (docs/counters.md "Virtio"). */
export { Counter as CounterId } from '../../assembly/counter-ids.js';

/** Where the records live; read once from the core's exports (they are static data). */
export interface CoreLayout {
  slots: number[];
  /** queues[n][q]: the queue record of slot n, queue q. */
  queues: number[][];
  guestMap: number;
  counters: number;
  doorbell: number;
  txRing: number;
  txSize: number;
  rxRing: number;
  rxSize: number;
  disk: number;
  diskBytes: number;
}

/** The exports of the core the backends use (a subset of src/core.ts CoreExports). */
export interface IoCoreExports {
  virtioSlotPtr(n: number): number;
  virtioQueuePtr(n: number, q: number): number;
  guestMapPtr(): number;
  countersPtr(): number;
  /** Where a worker adds its counts, if not countersPtr() (an offload VM beside others:
   * assembly/virtio/ioblock.ts, folded into the VM's counters by the core). */
  ioCountersPtr?(): number;
  virtioDoorbellPtr(): number;
  txRingPtr(): number;
  txRingSize(): number;
  rxRingPtr(): number;
  rxRingSize(): number;
  diskPtr(): number;
  diskBytes(): number | bigint;
}

export interface IoCoreHandle {
  exports: IoCoreExports;
  memory: WebAssembly.Memory;
}

/**
 * Where the records are. guestMapPtr() also (re)describes guest memory into its record, so it
 * is called again at every VM reset (a reset re-creates the VM); the disk is placed once, after
 * RAM, but is read again then too.
 */
export function readLayout(e: IoCoreExports): CoreLayout {
  const slots: number[] = [];
  const queues: number[][] = [];
  for (let n = 0; n < SLOT_COUNT; n++) {
    slots.push(e.virtioSlotPtr(n) >>> 0);
    const qs: number[] = [];
    for (let q = 0; q < QUEUES_PER_SLOT; q++) qs.push(e.virtioQueuePtr(n, q) >>> 0);
    queues.push(qs);
  }
  return {
    slots, queues,
    guestMap: e.guestMapPtr() >>> 0,
    counters: (e.ioCountersPtr ? e.ioCountersPtr() : e.countersPtr()) >>> 0,
    doorbell: e.virtioDoorbellPtr() >>> 0,
    txRing: e.txRingPtr() >>> 0, txSize: e.txRingSize() >>> 0,
    rxRing: e.rxRingPtr() >>> 0, rxSize: e.rxRingSize() >>> 0,
    disk: e.diskPtr() >>> 0, diskBytes: Number(e.diskBytes()),
  };
}
