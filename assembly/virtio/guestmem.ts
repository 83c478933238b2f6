// Guest memory as a virtio device sees it: guest-physical addresses, checked before every access.
// Natively guest-physical is machine-physical RAM (mmu/access.ts ramHost); in a VM it goes
// through the VM's gPA->hPA map (hv/vm.ts gpaHost), whose frames are not contiguous, so a VM
// range is only ever reached one page at a time. Nothing here can fault: a range that is not
// entirely guest RAM gives 0 (or false), and the caller treats it as the guest's error.

import { machine, MODE_NATIVE, MODE_PV } from '../state';
import { ramHost } from '../mmu/access';
import { gpaHost, vm, GUEST_RAM_BASE } from '../hv/vm';
import { pvRangeWritable } from '../hv/pvmmu';
import { ksmPrivate } from '../hv/ksm';
import { ioAt, IO_OFF_GUEST_MAP } from './ioblock';

const PAGE: u64 = 4096;

/** Bytes of RAM the guest has: the machine's natively, the VM's guest frames otherwise. */
@inline function guestBytes(): u64 {
  return machine.mode == MODE_NATIVE ? machine.ramSize : vm.guestFrames * PAGE;
}

/**
 * Host (linear memory) address of `len` bytes of guest memory at guest-physical `addr`, or 0
 * if they are not all guest RAM. In a VM the bytes must also lie within one page (the only
 * contiguous unit there); callers that need longer ranges go page by page (guestRangeOk,
 * guestFill). `len` must be at least 1.
 */
export function guestMem(addr: u64, len: u64): usize {
  if (len == 0 || len > guestBytes()) return 0;
  if (machine.mode == MODE_NATIVE) return ramHost(addr, len);
  // pv: a page-table page is not DMA memory (its writes would bypass validation, hv/pvmmu.ts).
  if (machine.mode == MODE_PV && !pvRangeWritable(addr, len)) return 0;
  return gpaHost(addr, len);
}

/** guestMem for a write by the device: a frame shared with other VMs is copied first
 * (copy-on-write, hv/ksm.ts), so the write lands in this VM's own frame. */
export function guestMemWrite(addr: u64, len: u64): usize {
  if (machine.mode != MODE_NATIVE && !ksmPrivate(addr)) return 0;
  return guestMem(addr, len);
}

/** Whether all of [addr, addr + len) is guest RAM (an empty range always is). */
export function guestRangeOk(addr: u64, len: u64): bool {
  if (len == 0) return true;
  if (len > guestBytes() || addr + len < addr) return false;
  if (machine.mode == MODE_NATIVE) return ramHost(addr, len) != 0;
  let a = addr;
  let left = len;
  while (left > 0) {
    const n = min(left, PAGE - (a & (PAGE - 1)));
    if (gpaHost(a, n) == 0) return false;
    if (machine.mode == MODE_PV && !pvRangeWritable(a, n)) return false;
    a += n;
    left -= n;
  }
  return true;
}

/** Aligned little-endian accessors for ring fields; the address was checked by the caller
 * (ringsOk in queue.ts) or is checked here, giving 0 / doing nothing when it is not RAM. */
export function guestLoad16(addr: u64): u32 {
  const h = guestMem(addr, 2);
  return h == 0 ? 0 : <u32>load<u16>(h);
}
export function guestLoad32(addr: u64): u32 {
  const h = guestMem(addr, 4);
  return h == 0 ? 0 : load<u32>(h);
}
export function guestLoad64(addr: u64): u64 {
  const h = guestMem(addr, 8);
  return h == 0 ? 0 : load<u64>(h);
}
export function guestStore16(addr: u64, v: u32): void {
  const h = guestMemWrite(addr, 2);
  if (h != 0) store<u16>(h, <u16>v);
}
export function guestStore32(addr: u64, v: u32): void {
  const h = guestMemWrite(addr, 4);
  if (h != 0) store<u32>(h, v);
}

/**
 * Guest memory described for a device model outside the core (src/io/: the `host` and
 * `offload` backends), which reads linear memory directly. Filled by guestMapDescribe():
 *   +0 mode u32 (0 native: guest-physical is machine RAM; else the VM's map)
 *   +8 guestBase u64    +16 guestBytes u64    +24 ramHost u64 (linear address of machine RAM)
 *   +32 machineRamBase u64    +40 frameMap u64 (linear address of u32 host frame numbers, one
 *   per guest frame; 0 natively)
 * The VM's layout is fixed from its creation on, so the record is good until the next one.
 */
@unmanaged class GuestMap {
  mode: u32 = 0;
  pad: u32 = 0;
  guestBase: u64 = 0;
  guestBytes: u64 = 0;
  ramHost: u64 = 0;
  machineRamBase: u64 = 0;
  frameMap: u64 = 0;
}
export const GUEST_MAP: usize = memory.data(offsetof<GuestMap>(), 16);

/** Describe guest memory into the record (the I/O block's beside other VMs, ioblock.ts). */
export function guestMapDescribe(): usize {
  const at = ioAt(IO_OFF_GUEST_MAP, GUEST_MAP);
  const m = changetype<GuestMap>(at);
  m.mode = machine.mode;
  m.guestBase = machine.mode == MODE_NATIVE ? machine.ramBase : GUEST_RAM_BASE;
  m.guestBytes = guestBytes();
  m.ramHost = machine.ramHost;
  m.machineRamBase = machine.ramBase;
  m.frameMap = machine.mode == MODE_NATIVE ? 0 : <u64>ramHost(vm.frameMap, 4);
  return at;
}
