/**
 * The entropy device (virtio v1.2 5.4) for the host and offload backends: device ID 4, one
 * request queue. Same bytes as the core's (assembly/virtio/rng.ts): xorshift64* (Vigna 2016)
 * seeded with 0x9E3779B97F4A7C15 at every VM reset; each device-writable buffer is filled one
 * page-bounded piece at a time, whole 64-bit outputs little-endian, and a piece's tail from one
 * more output, low byte first. The state is the backend's own (the core's lives in core
 * memory), reseeded identically, so a guest sees the same bytes under every backend.
 */
import { writable } from './chain-io.js';
import type { Chain } from './queue.js';
import type { GuestMemory } from './memory.js';

export const RNG_SEED = 0x9E37_79B9_7F4A_7C15n;
const MULT = 0x2545_F491_4F6C_DD1Dn;
const MASK = 0xFFFF_FFFF_FFFF_FFFFn;

export class Xorshift64Star {
  private x = RNG_SEED;
  reset(): void { this.x = RNG_SEED; }
  /** The generator's whole state: a snapshot carries it (src/vm.ts snapshot()). */
  get state(): bigint { return this.x; }
  set state(x: bigint) { this.x = x & MASK; }
  next(): bigint {
    let x = this.x;
    x ^= x >> 12n;
    x = (x ^ (x << 25n)) & MASK;
    x ^= x >> 27n;
    this.x = x;
    return (x * MULT) & MASK;
  }
}

/** 5.4.6.2: fill every device-writable byte of the chain; the used length is that count
 * (readable buffers, which a driver should not send, are left alone: 2.7.5.1). */
export function rngChain(g: GuestMemory, c: Chain, gen: Xorshift64Star): number {
  const dv = g.mem.dv;
  return writable(g, c, 0, c.writable, (lin, n) => {
    let k = 0;
    for (; k + 8 <= n; k += 8) dv.setBigUint64(lin + k, gen.next(), true);
    if (k < n) {
      let r = gen.next();
      for (; k < n; k++) { dv.setUint8(lin + k, Number(r & 0xFFn)); r >>= 8n; }
    }
  });
}
