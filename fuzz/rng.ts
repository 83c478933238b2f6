/**
 * The fuzzers' random numbers: deterministic from (seed, input index), so any input of a
 * campaign can be regenerated alone from its two numbers. sfc32 (Chris Doty-Humphrey's small
 * fast counter generator) seeded through a 32-bit mix of the pair.
 */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

export class Rng {
  private a: number; private b: number; private c: number; private d: number;
  constructor(seed: number, index: number) {
    this.a = mix32(seed ^ 0x9e3779b9);
    this.b = mix32(index ^ 0x85ebca6b);
    this.c = mix32((seed + Math.imul(index, 0x27d4eb2d)) >>> 0);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }
  /** An integer in [0, n). */
  below(n: number): number { return Math.floor((this.u32() / 0x1_0000_0000) * n); }
  chance(p: number): boolean { return this.u32() / 0x1_0000_0000 < p; }
  pick<T>(xs: readonly T[]): T { return xs[this.below(xs.length)]; }
  u64(): bigint { return (BigInt(this.u32()) << 32n) | BigInt(this.u32()); }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.u32();
      out[i] = v; if (i + 1 < n) out[i + 1] = v >>> 8; if (i + 2 < n) out[i + 2] = v >>> 16; if (i + 3 < n) out[i + 3] = v >>> 24;
    }
    return out;
  }
  /** A 64-bit value biased to the edges: 0, small, sign boundaries, all ones, or random. */
  interesting64(): bigint {
    switch (this.below(8)) {
      case 0: return 0n;
      case 1: return BigInt(this.below(16));
      case 2: return (1n << BigInt(this.below(64)));
      case 3: return BigInt.asUintN(64, -(1n << BigInt(this.below(64))));
      case 4: return 0xFFFF_FFFF_FFFF_FFFFn - BigInt(this.below(4));
      case 5: return BigInt(this.u32());
      default: return this.u64();
    }
  }
}
