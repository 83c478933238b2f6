// Heavy exits: guest device accesses served by the TypeScript host, as KVM hands an MMIO exit
// to QEMU in user space (DESIGN.md "I/O paths", backend `host`). The host claims a window of
// guest-physical addresses (setHostWindow); a guest load or store there, decoded like any
// MMIO exit, stops the core with STOP_HOST and leaves the request here. The host serves it
// and calls completeHostExit(value), which finishes the instruction (a load's register gets
// the value) before the guest runs on. Light exits (devices in the core) never leave wasm.
//
// Only guests under the hypervisor take MMIO-window exits: the bare machine has no host
// device there. The second kind, a virtio notification for a slot whose device model is in the
// host (virtio/mmio.ts BACKEND_HOST), stops the core in every mode, the bare machine included:
// it is how the host backend is reached at all.

import { Counter } from '../counter-ids';
import { count, hart, machine, rset, rget, STOP_HOST } from '../state';
import { extendLoad } from '../mmu/access';

/** What the pending stop asks the host: an access in the MMIO window, or a virtio notification. */
export const HOST_EXIT_MMIO: u32 = 0;
export const HOST_EXIT_VIRTIO: u32 = 1;

@unmanaged class HostIo {
  /** The window the host serves: [base, base + size); size 0 = none. */
  base: u64 = 0;
  size: u64 = 0;
  /** The pending request. */
  pending: u32 = 0;
  isWrite: u32 = 0;
  offset: u64 = 0;
  width: u32 = 0;
  value: u64 = 0;
  /** For a load: the destination register and funct3 (for the sign extension). */
  rd: u32 = 0;
  f3: u32 = 0;
  /** HOST_EXIT_*; for HOST_EXIT_VIRTIO the slot and queue notified. */
  kind: u32 = 0;
  slot: u32 = 0;
  queue: u32 = 0;
}
export const hostIo = changetype<HostIo>(memory.data(offsetof<HostIo>(), 16));

export function setHostWindow(base: u64, size: u64): void {
  hostIo.base = base;
  hostIo.size = size;
  hostIo.pending = 0;
}

@inline export function inHostWindow(gpa: u64): bool {
  return hostIo.size != 0 && gpa - hostIo.base < hostIo.size;
}

/**
 * Hand the load or store `inst` at `gpa` to the host. Returns false if it is not a plain,
 * naturally aligned load or store (the caller then faults the guest).
 */
export function requestHostExit(inst: u32, gpa: u64): bool {
  const op = inst & 0x7F;
  const f3 = (inst >> 12) & 7;
  const isLoad = op == 0x03 && f3 != 7;
  const isStore = op == 0x23 && f3 <= 3;
  if (!isLoad && !isStore) return false;
  const width: u32 = 1 << (f3 & 3);
  if ((gpa & <u64>(width - 1)) != 0) return false;
  hostIo.pending = 1;
  hostIo.kind = HOST_EXIT_MMIO;
  hostIo.isWrite = isStore ? 1 : 0;
  hostIo.offset = gpa - hostIo.base;
  hostIo.width = width;
  hostIo.value = isStore ? rget((inst >> 20) & 31) & (width == 8 ? 0xFFFF_FFFF_FFFF_FFFF : ((<u64>1 << (<u64>width * 8)) - 1)) : 0;
  hostIo.rd = (inst >> 7) & 31;
  hostIo.f3 = f3;
  count(Counter.EXIT_HOST);
  machine.stopReason = STOP_HOST;
  hart.chunkBreak = 1;
  return true;
}

/**
 * A guest notified virtio queue `queue` of slot `slot`, whose device model is in the host: stop
 * the core after this instruction (the store has been performed) with STOP_HOST. In a VM the
 * exit that brought us here is then counted as EXIT_HOST (hv/mmio.ts), not as a light one.
 */
export function requestVirtioHostExit(slot: u32, queue: u32): void {
  hostIo.pending = 1;
  hostIo.kind = HOST_EXIT_VIRTIO;
  hostIo.isWrite = 1;
  hostIo.slot = slot;
  hostIo.queue = queue;
  machine.stopReason = STOP_HOST;
  hart.chunkBreak = 1;
}

/** Whether a heavy exit is waiting for the host (set during the current instruction). */
export function hostExitPending(): bool { return hostIo.pending != 0; }

/** The host served the pending request; for a load, `value` is what the device returned. */
export function completeHostExit(value: u64): void {
  if (hostIo.pending == 0) return;
  hostIo.pending = 0;
  if (hostIo.isWrite == 0) rset(hostIo.rd, extendLoad(value, hostIo.f3));
}
