// The entropy device, virtio-rng (virtio v1.2 section 5.4): device ID 4, one request queue, no
// feature bits of its own and no configuration space. The driver makes device-writable buffers
// available; the device fills them with random bytes and returns them. Served in the core when
// the driver notifies (the `core` backend of DESIGN.md "I/O paths").
//
// The bytes come from a deterministic generator (xorshift64*, Vigna 2016), reseeded at every
// machine reset, so runs reproduce byte for byte like the rest of the machine. It is not a
// cryptographic source and does not pretend to be one.

import { Counter } from '../counter-ids';
import { count } from '../state';
import { guestMemWrite } from './guestmem';
import { chain, QueueError, segAddr, segLen, segWritable, vqServeAll, Vq } from './queue';

export const VIRTIO_ID_RNG: u32 = 4;
const SEED: u64 = 0x9E37_79B9_7F4A_7C15;
const PAGE: u64 = 4096;

@unmanaged class RngState { x: u64 = 0; }
const rng = changetype<RngState>(memory.data(offsetof<RngState>(), 16));

export function rngReset(): void { rng.x = SEED; }

@inline function next64(): u64 {
  let x = rng.x;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rng.x = x;
  return x * 0x2545_F491_4F6C_DD1D;
}

/** Fill [addr, addr + len) of guest memory with random bytes, a page-bounded piece at a time
 * (the range was checked by vqPop; guestMem is asked again so nothing can stray). */
function fill(addr: u64, len: u64): void {
  let a = addr;
  let left = len;
  while (left > 0) {
    const n = min(left, PAGE - (a & (PAGE - 1)));
    const h = guestMemWrite(a, n);
    if (h == 0) return;
    let k: usize = 0;
    while (<u64>k + 8 <= n) { store<u64>(h + k, next64()); k += 8; }
    if (<u64>k < n) {
      let r = next64();
      while (<u64>k < n) { store<u8>(h + k, <u8>r); r >>= 8; k++; }
    }
    a += n;
    left -= n;
  }
}

/**
 * Serve every available request of the queue. 5.4.6.2: the device places random bytes into the
 * buffer; hvlab fills every device-writable byte of the chain and returns that length (readable
 * buffers, which a driver should not send, are left alone and count for nothing). Stops at the
 * first error, which the transport turns into DEVICE_NEEDS_RESET.
 */
export function rngServe(q: Vq): QueueError { return vqServeAll(q, rngChain); }

function rngChain(): i64 {
  for (let i: u32 = 0; i < chain.count; i++) {
    if (segWritable(i)) fill(segAddr(i), <u64>segLen(i));
  }
  count(Counter.VIRTIO_BYTES, chain.writable);
  return <i64>chain.writable;
}
