// Guest memory as a virtio device sees it: guest-physical addresses, checked before every access.
// Natively guest-physical is machine-physical RAM (mmu/access.ts ramHost); in a VM it goes
// through the VM's gPA->hPA map (hv/vm.ts gpaHost), whose frames are not contiguous, so a VM
// range is only ever reached one page at a time. Nothing here can fault: a range that is not
// entirely guest RAM gives 0 (or false), and the caller treats it as the guest's error.

import { machine, MODE_NATIVE } from '../state';
import { ramHost } from '../mmu/access';
import { gpaHost, vm } from '../hv/vm';

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
  return gpaHost(addr, len);
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
  const h = guestMem(addr, 2);
  if (h != 0) store<u16>(h, <u16>v);
}
export function guestStore32(addr: u64, v: u32): void {
  const h = guestMem(addr, 4);
  if (h != 0) store<u32>(h, v);
}
