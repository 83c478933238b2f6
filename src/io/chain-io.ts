/**
 * Moving bytes between a checked chain (queue.ts vqPop) and the rest of the machine. A chain's
 * buffers were all checked to be guest RAM when it was popped; these still go through
 * GuestMemory piece by piece (page-bounded, as a VM's frames require), so nothing can stray.
 */
import type { Chain } from './queue.js';
import type { GuestMemory } from './memory.js';

/** A piece of a chain: `n` bytes at linear address `lin`, `done` bytes into the span asked. */
export type Piece = (lin: number, n: number, done: number) => void;

function walk(g: GuestMemory, c: Chain, writable: boolean, off: number, len: number, f: Piece): number {
  let skip = off;
  let left = len;
  let done = 0;
  for (let i = 0; i < c.count && left > 0; i++) {
    if ((c.write[i] !== 0) !== writable) continue;
    const segLen = c.len[i];
    if (skip >= segLen) { skip -= segLen; continue; }
    const n = Math.min(segLen - skip, left);
    const base = done;
    if (!g.pieces(c.addr[i] + skip, n, (lin, k, d) => f(lin, k, base + d))) return done;
    done += n; left -= n; skip = 0;
  }
  return done;
}

/** Visit device-readable bytes [off, off + len) of the chain; returns the bytes visited. */
export function readable(g: GuestMemory, c: Chain, off: number, len: number, f: Piece): number {
  return walk(g, c, false, off, len, f);
}

/** Visit device-writable bytes [off, off + len) of the chain; returns the bytes visited. */
export function writable(g: GuestMemory, c: Chain, off: number, len: number, f: Piece): number {
  return walk(g, c, true, off, len, f);
}

/** Copy device-readable bytes [off, off + dst.length) into dst. */
export function readInto(g: GuestMemory, c: Chain, off: number, dst: Uint8Array): number {
  const u8 = g.mem.u8;
  return readable(g, c, off, dst.length, (lin, n, d) => dst.set(u8.subarray(lin, lin + n), d));
}

/** Copy src into device-writable bytes [off, off + src.length). */
export function writeFrom(g: GuestMemory, c: Chain, off: number, src: Uint8Array): number {
  const u8 = g.mem.u8;
  return writable(g, c, off, src.length, (lin, n, d) => u8.set(src.subarray(d, d + n), lin));
}
