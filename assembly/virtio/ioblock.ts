// Where the core keeps the records it shares with a device model on another thread (the
// `offload` backend, src/io/worker-loop.ts): the virtio slot and queue records, the doorbell,
// the guest map description, the console's RX ring, and the counters the worker adds to.
//
// A VM alone keeps them where they always were, in the core's static data (mmio.ts SLOTS,
// QUEUES, DOORBELL; guestmem.ts GUEST_MAP; devices/console.ts RX_RING; state.ts COUNTERS).
// Beside other VMs the static data is the *loaded* VM's only: a world switch copies it to and
// from each VM's save area (hv/host.ts), while the worker reads and writes the records at
// whatever moment suits it. So an offload VM in a Host gets an I/O block of its own, a run of
// pool frames that never moves (hv/host.ts hostVmIoBlock), and the records are reached
// through IO_BASE, a pointer in static data that goes with the VM's context: 0 means "the
// static records", anything else is the block. One load more per record access, and none of
// these accesses is on the interpreter's hot path (MMIO, between-chunk sampling, the console).
//
//   I/O block (linear memory, 3 frames):
//     +0     slots     8 x 40 B  (mmio.ts Slot)
//     +320   queues   16 x 48 B  (queue.ts Vq)
//     +1088  doorbell  8 B
//     +1104  guest map 48 B      (guestmem.ts GuestMap)
//     +1152  RX ring   8 + 4096 B (devices/console.ts Ring)
//     +5256  counters  Counter.COUNT x 8 B: what the worker counts, folded into the VM's own
//                      counters (state.ts COUNTERS) by ioFold while the VM is loaded
//
// Interrupts need nothing more: InterruptStatus is in the slot record, so a completion the
// worker raises while another VM is loaded is in the block when this VM is loaded again, and
// the core samples it between chunks as it always does (cpu/irq.ts).

import { Counter } from '../counter-ids';
import { COUNTERS } from '../state';

export const IO_OFF_SLOTS: usize = 0;
export const IO_OFF_QUEUES: usize = 320;
export const IO_OFF_DOORBELL: usize = 1088;
export const IO_OFF_GUEST_MAP: usize = 1104;
export const IO_OFF_RX_RING: usize = 1152;
export const IO_OFF_COUNTERS: usize = 5256;
export const IO_BLOCK_BYTES: u64 = <u64>IO_OFF_COUNTERS + <u64>Counter.COUNT * 8;
export const IO_BLOCK_FRAMES: u64 = (IO_BLOCK_BYTES + 4095) >> 12;

/** The loaded VM's I/O block (linear address), 0: its records are the static ones. */
const IO_BASE: usize = memory.data(8, 8);

/** Where a record lives: `off` in the I/O block if the VM has one, else its static place. */
@inline export function ioAt(off: usize, staticAddr: usize): usize {
  const b = load<usize>(IO_BASE);
  return b != 0 ? b + off : staticAddr;
}

/** Whether the loaded VM's records are in an I/O block of its own. */
@inline export function ioBlockActive(): bool { return load<usize>(IO_BASE) != 0; }

/** Point the loaded VM's records at the (zeroed, fresh) block at linear `base`. */
export function ioBlockSet(base: usize): void { store<usize>(IO_BASE, base); }
/** Where IO_BASE is: a VM alone must have 0 there, which the host checks in a snapshot it restores. */
export function ioBasePtr(): usize { return IO_BASE; }

/** Where the worker adds its counts: the VM's counters, or the block's for ioFold. */
export function ioCounters(): usize { return ioAt(IO_OFF_COUNTERS, COUNTERS); }

/**
 * Add what the worker counted in the block to the loaded VM's counters (and zero it there,
 * atomically: the worker may be adding meanwhile). Called when the host runs the VM or reads
 * its counters, so they read as a VM alone's do.
 */
export function ioFold(): void {
  const b = load<usize>(IO_BASE);
  if (b == 0) return;
  for (let i: usize = 0; i < <usize>Counter.COUNT; i++) {
    const p = b + IO_OFF_COUNTERS + (i << 3);
    if (atomic.load<u64>(p) == 0) continue;
    const v = atomic.xchg<u64>(p, 0);
    const q = COUNTERS + (i << 3);
    store<u64>(q, load<u64>(q) + v);
  }
}
