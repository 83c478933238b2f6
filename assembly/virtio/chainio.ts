// Moving bytes between the chain being served (queue.ts `chain`) and a linear buffer in the
// core's memory. A request's fields need not line up with its buffers: virtio v1.2 2.6.4
// ("Message Framing") lets a driver split a request across descriptors any way it likes, so a
// device reads a header or writes a status byte at a byte offset into the readable or the
// writable part of the chain, whatever the descriptor boundaries. Guest memory is reached one
// page at a time through guestMem (a VM's frames are not contiguous); vqPop has already
// checked every buffer is guest RAM.

import { guestMem, guestMemWrite } from './guestmem';
import { chain, segAddr, segLen, segWritable } from './queue';

const PAGE: u64 = 4096;

/**
 * Copy `len` bytes between linear memory at `buf` and the chain, starting `off` bytes into its
 * device-readable part (toGuest false: guest -> buf) or its device-writable part (toGuest true:
 * buf -> guest). Returns the bytes moved: fewer when that part of the chain is shorter.
 */
export function chainCopy(off: u64, buf: usize, len: u64, toGuest: bool): u64 {
  let skip = off;
  let done: u64 = 0;
  for (let i: u32 = 0; i < chain.count && done < len; i++) {
    if (segWritable(i) != toGuest) continue;
    const sl = <u64>segLen(i);
    if (skip >= sl) { skip -= sl; continue; }
    let a = segAddr(i) + skip;
    let left = min(sl - skip, len - done);
    skip = 0;
    while (left > 0) {
      const n = min(left, PAGE - (a & (PAGE - 1)));
      const h = toGuest ? guestMemWrite(a, n) : guestMem(a, n);
      if (h == 0) return done; // cannot happen after vqPop's checks; never stray
      if (toGuest) memory.copy(h, buf + <usize>done, <usize>n);
      else memory.copy(buf + <usize>done, h, <usize>n);
      a += n; left -= n; done += n;
    }
  }
  return done;
}
