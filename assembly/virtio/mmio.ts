// The virtio-mmio transport, version 2 (virtio v1.2 section 4.2.2), in the eight slots of the
// `virt` map. A slot with no device answers as an empty slot does (4.2.2: device ID 0): magic,
// version 2, vendor, zero elsewhere, writes ignored. A slot with a device has the full register
// file below. Like every device here it sees only its slot number and the offset.
//
//   0x000 MagicValue R        0x034 QueueNumMax R      0x080 QueueDescLow/High W (0x084)
//   0x004 Version R           0x038 QueueNum W         0x090 QueueDriverLow/High W (0x094)
//   0x008 DeviceID R          0x044 QueueReady RW      0x0a0 QueueDeviceLow/High W (0x0a4)
//   0x00c VendorID R          0x050 QueueNotify W      0x0ac SHMSel W, 0x0b0.. SHMLen/Base R
//   0x010 DeviceFeatures R    0x060 InterruptStatus R  0x0c0 QueueReset RW
//   0x014 DeviceFeaturesSel W 0x064 InterruptACK W     0x0fc ConfigGeneration R
//   0x020 DriverFeatures W    0x070 Status RW          0x100+ device configuration space
//   0x024 DriverFeaturesSel W
//   0x030 QueueSel W
//
// Interrupts: slot n drives PLIC source n + 1 (as QEMU's virt wires it), high while
// InterruptStatus is nonzero; cpu/irq.ts samples it with the other device lines.

import { Counter } from '../counter-ids';
import { count, hart, machine, STOP_HOST } from '../state';
import { availPending, QueueError, vqClear, vqNeedsInterrupt, vqSuppressNotify, vqValid, Vq, QUEUE_NUM_MAX } from './queue';
import { rngReset, rngServe, VIRTIO_ID_RNG } from './rng';
import { blkConfigRead, blkServe, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_ID_BLOCK } from './blk';
import { CONSOLE_RX_QUEUE, CONSOLE_TX_QUEUE, vconsoleConfigRead, vconsoleReset, vconsoleRx,
  vconsoleDefaultSize, vconsoleSetSize, vconsoleTx, vconsoleTxWaiting, VIRTIO_CONSOLE_F_SIZE, VIRTIO_ID_CONSOLE } from './vconsole';
import { consoleClaimRx, rxPending } from '../devices/console';
import { emptySlotRead } from '../devices/virtio_stub';
import { requestVirtioHostExit } from '../hv/hostio';
import { ioAt, IO_OFF_DOORBELL, IO_OFF_QUEUES, IO_OFF_SLOTS } from './ioblock';

export const VIRTIO_SLOT_COUNT: u32 = 8;
const QUEUES_PER_SLOT: u32 = 2;

// Who serves a slot's queues (DESIGN.md "I/O paths"; src/io/ has the TypeScript backends). The
// transport registers and the configuration space stay here, in the core, for all three.
/** The device model in the core: a notification is served at once (a light exit in a VM). */
export const BACKEND_CORE: u32 = 0;
/** The device model in the TypeScript host: a notification stops the core (STOP_HOST). */
export const BACKEND_HOST: u32 = 1;
/** A worker beside the vCPU polls the rings: notifications only ring its doorbell. */
export const BACKEND_OFFLOAD: u32 = 2;


// Registers (4.2.2, table "MMIO Device Register Layout").
const REG_MAGIC: u32 = 0x000;
const REG_VERSION: u32 = 0x004;
const REG_DEVICE_ID: u32 = 0x008;
const REG_VENDOR_ID: u32 = 0x00C;
const REG_DEVICE_FEATURES: u32 = 0x010;
const REG_DEVICE_FEATURES_SEL: u32 = 0x014;
const REG_DRIVER_FEATURES: u32 = 0x020;
const REG_DRIVER_FEATURES_SEL: u32 = 0x024;
const REG_QUEUE_SEL: u32 = 0x030;
const REG_QUEUE_NUM_MAX: u32 = 0x034;
const REG_QUEUE_NUM: u32 = 0x038;
const REG_QUEUE_READY: u32 = 0x044;
const REG_QUEUE_NOTIFY: u32 = 0x050;
const REG_INTERRUPT_STATUS: u32 = 0x060;
const REG_INTERRUPT_ACK: u32 = 0x064;
const REG_STATUS: u32 = 0x070;
const REG_QUEUE_DESC_LOW: u32 = 0x080;
const REG_QUEUE_DESC_HIGH: u32 = 0x084;
const REG_QUEUE_DRIVER_LOW: u32 = 0x090;
const REG_QUEUE_DRIVER_HIGH: u32 = 0x094;
const REG_QUEUE_DEVICE_LOW: u32 = 0x0A0;
const REG_QUEUE_DEVICE_HIGH: u32 = 0x0A4;
const REG_SHM_LEN_LOW: u32 = 0x0B0;
const REG_SHM_LEN_HIGH: u32 = 0x0B4;
const REG_CONFIG_GENERATION: u32 = 0x0FC;
const REG_CONFIG: u32 = 0x100;

// Device status bits (2.1).
export const STATUS_ACKNOWLEDGE: u32 = 1;
export const STATUS_DRIVER: u32 = 2;
export const STATUS_DRIVER_OK: u32 = 4;
export const STATUS_FEATURES_OK: u32 = 8;
export const STATUS_DEVICE_NEEDS_RESET: u32 = 64;
export const STATUS_FAILED: u32 = 128;

// InterruptStatus bits (4.2.2).
export const INT_USED_BUFFER: u32 = 1;
export const INT_CONFIG_CHANGE: u32 = 2;

// Feature bits (2.7.5.3, 2.7.7, 6).
export const VIRTIO_F_INDIRECT_DESC: u64 = <u64>1 << 28;
export const VIRTIO_F_EVENT_IDX: u64 = <u64>1 << 29;
export const VIRTIO_F_VERSION_1: u64 = <u64>1 << 32;

/** One slot's transport state. */
@unmanaged class Slot {
  /** 0: an empty slot (virtio_stub.ts answers); else the virtio device ID (4: entropy, 5.4). */
  deviceId: u32 = 0;
  status: u32 = 0;
  deviceFeaturesSel: u32 = 0;
  driverFeaturesSel: u32 = 0;
  queueSel: u32 = 0;
  interruptStatus: u32 = 0;
  configGeneration: u32 = 0;
  /** BACKEND_*: who serves the queues. */
  backend: u32 = 0;
  driverFeatures: u64 = 0;
}

const SLOT_BYTES: usize = offsetof<Slot>();
const VQ_BYTES: usize = offsetof<Vq>();
const SLOTS: usize = memory.data(<i32>(SLOT_BYTES * VIRTIO_SLOT_COUNT), 16);
const QUEUES: usize = memory.data(<i32>(VQ_BYTES * VIRTIO_SLOT_COUNT * QUEUES_PER_SLOT), 16);
/** The offload worker's doorbell: bumped and Atomics-notified at every notification to an
 * offload slot, so the worker may sleep (Atomics.wait) instead of spinning. */
const DOORBELL: usize = memory.data(8, 8);
/** Nonzero while some slot holds a console served in the core (virtioPollWanted). */
const CORE_CONSOLE: usize = memory.data(4, 4);

// Beside other VMs an offload VM's slots, queues and doorbell are in its I/O block instead,
// where its worker finds them whichever VM is loaded (ioblock.ts).
@inline function slotsBase(): usize { return ioAt(IO_OFF_SLOTS, SLOTS); }
@inline function doorbell(): usize { return ioAt(IO_OFF_DOORBELL, DOORBELL); }

// Layout for the TypeScript backends (src/io/), which read these records from shared memory.
export function virtioSlotPtr(n: u32): usize { return slotsBase() + <usize>min(n, VIRTIO_SLOT_COUNT - 1) * SLOT_BYTES; }
export function virtioQueuePtr(n: u32, q: u32): usize {
  return changetype<usize>(queueAt(min(n, VIRTIO_SLOT_COUNT - 1), min(q, QUEUES_PER_SLOT - 1)));
}
export function virtioDoorbellPtr(): usize { return doorbell(); }

@inline function slotAt(n: u32): Slot { return changetype<Slot>(slotsBase() + <usize>n * SLOT_BYTES); }
@inline function queueAt(n: u32, q: u32): Vq {
  return changetype<Vq>(ioAt(IO_OFF_QUEUES, QUEUES) + (<usize>n * QUEUES_PER_SLOT + <usize>q) * VQ_BYTES);
}

/** Features a device offers: the transport's ones, plus its own (5.2.3, 5.3.3; none for entropy). */
function deviceFeatures(s: Slot): u64 {
  if (s.deviceId == 0) return 0;
  let f = VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX;
  if (s.deviceId == VIRTIO_ID_BLOCK) f |= VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_BLK_SIZE;
  if (s.deviceId == VIRTIO_ID_CONSOLE) f |= VIRTIO_CONSOLE_F_SIZE;
  return f;
}

/** Queues a device has (4.2.2.1: QueueNumMax of any other queue reads 0): 5.2.2, 5.3.2, 5.4.2. */
function queueCount(s: Slot): u32 {
  if (s.deviceId == VIRTIO_ID_CONSOLE) return 2; // port 0: receiveq, transmitq (no MULTIPORT)
  return s.deviceId == VIRTIO_ID_RNG || s.deviceId == VIRTIO_ID_BLOCK ? 1 : 0;
}

@inline function knownDevice(id: u32): bool {
  return id == VIRTIO_ID_RNG || id == VIRTIO_ID_BLOCK || id == VIRTIO_ID_CONSOLE;
}

/** Device reset (2.4, 4.2.2.1): everything but the device's identity back to its initial state. */
function resetSlot(n: u32): void {
  const s = slotAt(n);
  atomic.store<u32>(statusAddr(s), 0);
  s.deviceFeaturesSel = 0;
  s.driverFeaturesSel = 0;
  s.queueSel = 0;
  atomic.store<u32>(changetype<usize>(s) + offsetof<Slot>('interruptStatus'), 0); // 4.2.2.1: cleared on reset
  s.configGeneration = 0;
  s.driverFeatures = 0;
  for (let q: u32 = 0; q < QUEUES_PER_SLOT; q++) vqClear(queueAt(n, q)); // QueueReady reads 0
  if (s.deviceId == VIRTIO_ID_CONSOLE) vconsoleReset();
}

/** Reset every slot and the devices' own state (machine reset). Device IDs stay as set. */
export function virtioResetAll(): void {
  for (let n: u32 = 0; n < VIRTIO_SLOT_COUNT; n++) resetSlot(n);
  rngReset();
}

/**
 * Put device `deviceId` (0 = none) in slot `n` with its queues served by `backend`, reset.
 * Unknown IDs leave the slot empty. A console anywhere claims the host's input.
 */
export function virtioSetDevice(n: u32, deviceId: u32, backend: u32): void {
  if (n >= VIRTIO_SLOT_COUNT) return;
  const s = slotAt(n);
  s.deviceId = knownDevice(deviceId) ? deviceId : 0;
  s.backend = s.deviceId != 0 && backend <= BACKEND_OFFLOAD ? backend : BACKEND_CORE;
  resetSlot(n);
  if (deviceId == VIRTIO_ID_RNG) rngReset();
  if (s.deviceId == VIRTIO_ID_CONSOLE) vconsoleDefaultSize();
  let console = false;
  let coreConsole = false;
  for (let i: u32 = 0; i < VIRTIO_SLOT_COUNT; i++) {
    const t = slotAt(i);
    if (t.deviceId != VIRTIO_ID_CONSOLE) continue;
    console = true;
    coreConsole = coreConsole || t.backend == BACKEND_CORE;
  }
  consoleClaimRx(console);
  store<u32>(CORE_CONSOLE, coreConsole ? 1 : 0);
}

/** The slot's interrupt line: high while any InterruptStatus bit is set (4.2.2). An offload
 * worker sets bits from another thread, hence the atomic load. */
export function virtioIrq(n: u32): bool {
  return atomic.load<u32>(changetype<usize>(slotAt(n)) + offsetof<Slot>('interruptStatus')) != 0;
}

/** The device ID in slot `n` (0: empty), for the exit counters. */
export function virtioDeviceId(n: u32): u32 { return n < VIRTIO_SLOT_COUNT ? slotAt(n).deviceId : 0; }

/**
 * The device entered an error state it cannot leave without a reset (2.1.2): set
 * DEVICE_NEEDS_RESET and, if the driver is running (DRIVER_OK), send a configuration change
 * notification. The queues stop: nothing is served until the driver resets the device.
 */
@inline function statusAddr(s: Slot): usize { return changetype<usize>(s) + offsetof<Slot>('status'); }

function needsReset(s: Slot): void {
  if ((s.status & STATUS_DEVICE_NEEDS_RESET) != 0) return;
  atomic.or<u32>(statusAddr(s), STATUS_DEVICE_NEEDS_RESET);
  count(Counter.VIRTIO_RESETS);
  if ((s.status & STATUS_DRIVER_OK) != 0) raise(s, INT_CONFIG_CHANGE);
}

function raise(s: Slot, bit: u32): void {
  // Atomic: an offload worker raises bits in the same word from its thread (src/io/).
  atomic.or<u32>(changetype<usize>(s) + offsetof<Slot>('interruptStatus'), bit);
  count(Counter.VIRTIO_INTERRUPTS);
}

/** Whether the device may serve its queues: features accepted, driver ready, no pending reset. */
@inline function live(s: Slot): bool {
  return (s.status & (STATUS_FEATURES_OK | STATUS_DRIVER_OK | STATUS_DEVICE_NEEDS_RESET | STATUS_FAILED))
    == (STATUS_FEATURES_OK | STATUS_DRIVER_OK);
}

/** Serve queue `qi` of slot `n` in the core, then notify the driver if it asked (2.7.7). */
function serveInCore(n: u32, qi: u32): void {
  const s = slotAt(n);
  const q = queueAt(n, qi);
  if (q.ready == 0) return;
  const oldUsed = q.usedIdx;
  let err = QueueError.NONE;
  if (s.deviceId == VIRTIO_ID_RNG) err = rngServe(q);
  else if (s.deviceId == VIRTIO_ID_BLOCK) err = blkServe(q);
  else if (qi == CONSOLE_TX_QUEUE) err = vconsoleTx(q);
  else err = vconsoleRx(q);
  if (vqNeedsInterrupt(q, oldUsed)) raise(s, INT_USED_BUFFER);
  if (err != QueueError.NONE) needsReset(s);
}

/** The driver notified queue `qi` (4.2.3.3): hand it to the slot's backend. */
function notify(n: u32, qi: u32): void {
  const s = slotAt(n);
  count(Counter.VIRTIO_NOTIFIES);
  // 4.2.2: QueueNotify names a queue; a notification for a queue the device lacks, or before
  // DRIVER_OK (3.1.1 step 8: the device is not live until then), is ignored.
  if (!live(s) || qi >= queueCount(s)) return;
  if (s.backend == BACKEND_HOST) {
    // The device model is in the host: stop the core, as KVM returns to QEMU (src/io/).
    count(Counter.VIRTIO_HOST_NOTIFIES);
    requestVirtioHostExit(n, qi);
    return;
  }
  if (s.backend == BACKEND_OFFLOAD) {
    // The worker polls; a notification (from a driver that ignores VIRTQ_USED_F_NO_NOTIFY)
    // only wakes it if it sleeps.
    const bell = doorbell();
    atomic.add<u32>(bell, 1);
    atomic.notify(bell, 1);
    return;
  }
  serveInCore(n, qi);
}

/**
 * Work a core-backend device does without a notification, checked by the run loop between
 * chunks: host input for a virtio console's receiveq (it arrives while the core is stopped),
 * and a transmitq chain left half sent when the TX ring filled (vconsole.ts).
 */
export function virtioPoll(): void {
  for (let n: u32 = 0; n < VIRTIO_SLOT_COUNT; n++) {
    const s = slotAt(n);
    if (s.deviceId != VIRTIO_ID_CONSOLE || s.backend != BACKEND_CORE || !live(s)) continue;
    if (vconsoleTxWaiting()) serveInCore(n, CONSOLE_TX_QUEUE);
    if (rxPending() != 0) {
      const q = queueAt(n, CONSOLE_RX_QUEUE);
      if (q.ready != 0 && availPending(q) != 0) serveInCore(n, CONSOLE_RX_QUEUE);
    }
  }
}

/** Whether any core-backend console may have work for virtioPoll (a cheap test for the run loop). */
export function virtioPollWanted(): bool { return load<u32>(CORE_CONSOLE) != 0; }

/**
 * The terminal was resized (5.3.6.2 with VIRTIO_CONSOLE_F_SIZE): new cols and rows, a new
 * configuration generation (4.2.2: it changes whenever the configuration does) and a
 * configuration change notification to every running console.
 */
export function virtioConsoleResize(cols: u32, rows: u32): void {
  vconsoleSetSize(cols, rows);
  for (let n: u32 = 0; n < VIRTIO_SLOT_COUNT; n++) {
    const s = slotAt(n);
    if (s.deviceId != VIRTIO_ID_CONSOLE) continue;
    s.configGeneration++;
    if ((s.status & STATUS_DRIVER_OK) != 0) raise(s, INT_CONFIG_CHANGE);
  }
}

/**
 * Status writes (2.1, 3.1.1). 0 resets the device (2.4.1). FEATURES_OK is kept only if the
 * features the driver accepted are a subset of those offered and include VERSION_1 (2.2.1,
 * 6.1/6.2: a device may refuse a driver that does not accept VERSION_1); a driver re-reads the
 * status to learn the verdict (3.1.1 step 6). DEVICE_NEEDS_RESET belongs to the device: the
 * driver neither sets nor clears it. Other bits are the driver's (2.1.1) and read back as written.
 */
function writeStatus(n: u32, v: u32): void {
  const s = slotAt(n);
  if (v == 0) { resetSlot(n); return; }
  // Compare-and-swap: an offload worker may set DEVICE_NEEDS_RESET from its thread meanwhile,
  // and that bit must not be lost to this read-modify-write.
  const addr = statusAddr(s);
  while (true) {
    const old = atomic.load<u32>(addr);
    let nv = (v & 0xFF & ~STATUS_DEVICE_NEEDS_RESET) | (old & STATUS_DEVICE_NEEDS_RESET);
    if ((nv & STATUS_FEATURES_OK) != 0 && (old & STATUS_FEATURES_OK) == 0) {
      const offered = deviceFeatures(s);
      const ok = (s.driverFeatures & ~offered) == 0 && (s.driverFeatures & VIRTIO_F_VERSION_1) != 0;
      if (!ok) nv &= ~STATUS_FEATURES_OK;
    }
    if (atomic.cmpxchg<u32>(addr, old, nv) == old) return;
  }
}

function readQueue(n: u32, off: u32): u32 {
  const s = slotAt(n);
  if (s.queueSel >= queueCount(s)) return 0; // 4.2.2.1: an absent queue reads 0 (QueueNumMax too)
  const q = queueAt(n, s.queueSel);
  if (off == REG_QUEUE_NUM_MAX) return QUEUE_NUM_MAX;
  return q.ready; // REG_QUEUE_READY
}

/** Queue configuration writes (4.2.3.2). A queue's layout is fixed once it is ready: writes
 * to a ready queue's size or addresses are ignored, so the rings cannot move under the device. */
function writeQueue(n: u32, off: u32, v: u32): void {
  const s = slotAt(n);
  if (s.queueSel >= queueCount(s)) return;
  const q = queueAt(n, s.queueSel);
  if (off == REG_QUEUE_READY) {
    if ((v & 1) == 0) { q.ready = 0; return; }
    if (q.ready != 0) return;
    // 2.7 and 4.2.3.2: a size and areas the device can use, wholly in guest memory; otherwise
    // the queue stays not ready (the driver sees QueueReady read 0).
    if (!vqValid(q)) return;
    q.eventIdx = (s.driverFeatures & VIRTIO_F_EVENT_IDX) != 0 ? 1 : 0;
    q.indirect = (s.driverFeatures & VIRTIO_F_INDIRECT_DESC) != 0 ? 1 : 0;
    q.lastAvail = 0;
    q.usedIdx = 0;
    q.ready = 1;
    // An offload worker polls this queue: the driver is told not to notify from the start,
    // before the worker has even seen the queue (its first request would otherwise kick).
    if (s.backend == BACKEND_OFFLOAD) vqSuppressNotify(q);
    return;
  }
  if (q.ready != 0) return;
  const hi = <u64>v << 32;
  const lo = <u64>v;
  if (off == REG_QUEUE_NUM) q.num = v;
  else if (off == REG_QUEUE_DESC_LOW) q.desc = (q.desc & 0xFFFF_FFFF_0000_0000) | lo;
  else if (off == REG_QUEUE_DESC_HIGH) q.desc = (q.desc & 0xFFFF_FFFF) | hi;
  else if (off == REG_QUEUE_DRIVER_LOW) q.driver = (q.driver & 0xFFFF_FFFF_0000_0000) | lo;
  else if (off == REG_QUEUE_DRIVER_HIGH) q.driver = (q.driver & 0xFFFF_FFFF) | hi;
  else if (off == REG_QUEUE_DEVICE_LOW) q.device = (q.device & 0xFFFF_FFFF_0000_0000) | lo;
  else if (off == REG_QUEUE_DEVICE_HIGH) q.device = (q.device & 0xFFFF_FFFF) | hi;
}

/** Whether an access of `size` bytes at `off` is one the transport takes (4.2.2.2): the
 * registers are 32 bits wide; the device configuration space may be read with the width of
 * its fields (1, 2 or 4 bytes; 8-byte fields are read as two halves). */
export function virtioAccessOk(off: u32, size: u32): bool {
  return size == 4 || (off >= REG_CONFIG && (size == 1 || size == 2));
}

/** Read `size` bytes of the device configuration space at `off` (0-based). */
function configRead(s: Slot, off: u32, size: u32): u32 {
  if (s.deviceId == VIRTIO_ID_BLOCK) return blkConfigRead(off, size);
  if (s.deviceId == VIRTIO_ID_CONSOLE) return vconsoleConfigRead(off, size);
  return 0; // entropy has no configuration space (5.4.4)
}

/** A read of `size` bytes (virtioAccessOk) at `off` in slot `n`. */
export function virtioRead(n: u32, off: u32, size: u32): u32 {
  count(Counter.MMIO_VIRTIO_READS);
  const s = slotAt(n);
  // MagicValue, Version and VendorID are the same in every slot; an empty slot has nothing else.
  if (s.deviceId == 0 || off == REG_MAGIC || off == REG_VERSION || off == REG_VENDOR_ID) {
    return emptySlotRead(off);
  }
  if (off >= REG_CONFIG) return configRead(s, off - REG_CONFIG, size);
  switch (off) {
    case REG_DEVICE_ID: return s.deviceId;
    case REG_DEVICE_FEATURES:
      // 4.2.2: bits 32 * DeviceFeaturesSel and up; selectors past the offered words read 0.
      return s.deviceFeaturesSel > 1 ? 0 : <u32>(deviceFeatures(s) >> (32 * <u64>s.deviceFeaturesSel));
    case REG_QUEUE_NUM_MAX:
    case REG_QUEUE_READY: return readQueue(n, off);
    case REG_INTERRUPT_STATUS: return atomic.load<u32>(changetype<usize>(s) + offsetof<Slot>('interruptStatus'));
    case REG_STATUS: return s.status;
    case REG_SHM_LEN_LOW:
    case REG_SHM_LEN_HIGH: return 0xFFFF_FFFF; // 4.2.2: no shared memory region: length -1
    case REG_CONFIG_GENERATION: return s.configGeneration;
  }
  // Write-only registers read 0.
  return 0;
}

/** A write of `v` (`size` bytes, virtioAccessOk) at `off` in slot `n`. */
export function virtioWrite(n: u32, off: u32, size: u32, v: u32): void {
  count(Counter.MMIO_VIRTIO_WRITES);
  const s = slotAt(n);
  // An empty slot ignores writes; so do the configuration fields hvlab's devices have (block
  // and console fields are read-only without the features that make them writable: 5.2.4,
  // 5.3.4), and a register written with less than 32 bits.
  if (s.deviceId == 0 || off >= REG_CONFIG || size != 4) return;
  switch (off) {
    case REG_DEVICE_FEATURES_SEL: s.deviceFeaturesSel = v; return;
    case REG_DRIVER_FEATURES_SEL: s.driverFeaturesSel = v; return;
    case REG_DRIVER_FEATURES: {
      // 3.1.1 step 5: features are written before FEATURES_OK; afterwards they are fixed.
      if ((s.status & STATUS_FEATURES_OK) != 0 || s.driverFeaturesSel > 1) return;
      const sh = 32 * <u64>s.driverFeaturesSel;
      s.driverFeatures = (s.driverFeatures & ~(<u64>0xFFFF_FFFF << sh)) | (<u64>v << sh);
      return;
    }
    case REG_QUEUE_SEL: s.queueSel = v; return;
    case REG_QUEUE_NOTIFY: notify(n, v & 0xFFFF); return;
    case REG_INTERRUPT_ACK: // 4.2.2: ACK clears the bits written (atomically: see raise)
      atomic.and<u32>(changetype<usize>(s) + offsetof<Slot>('interruptStatus'), ~v);
      return;
    case REG_STATUS: writeStatus(n, v); return;
  }
  writeQueue(n, off, v);
}
