// A guest that floods its console forever, for the limits tests (test/limits.test.ts,
// test/browser/flood.test.ts): four RV64I instructions, as a raw binary and as an ELF.
// RV64I (unprivileged spec chapter 2): lui t0, 0x10000; addi t1, x0, 'A'; sb t1, 0(t0); jal x0, -4.
const T0 = 5, T1 = 6;
const FLOOD_CODE = [(0x10000 << 12) | (T0 << 7) | 0x37, (65 << 20) | (T1 << 7) | 0x13, (T1 << 20) | (T0 << 15) | 0x23, 0xffdff06f];
export const flood = (() => { const b = Buffer.alloc(16); FLOOD_CODE.forEach((w, i) => b.writeUInt32LE(w >>> 0, i * 4)); return new Uint8Array(b); })();

/** The same program as an ELF64 executable at 0x80000000 (for the web runner, which loads ELFs). */
export function floodElf(): Uint8Array {
  const h = Buffer.alloc(120);
  h.write('\x7fELF', 0, 'latin1'); h[4] = 2; h[5] = 1; h[6] = 1;
  h.writeUInt16LE(2, 16); h.writeUInt16LE(243, 18); h.writeUInt32LE(1, 20);
  h.writeBigUInt64LE(0x8000_0000n, 24); h.writeBigUInt64LE(64n, 32);
  h.writeUInt16LE(64, 52); h.writeUInt16LE(56, 54); h.writeUInt16LE(1, 56); h.writeUInt16LE(64, 58);
  h.writeUInt32LE(1, 64); h.writeUInt32LE(5, 68); h.writeBigUInt64LE(120n, 72);
  h.writeBigUInt64LE(0x8000_0000n, 80); h.writeBigUInt64LE(0x8000_0000n, 88);
  h.writeBigUInt64LE(16n, 96); h.writeBigUInt64LE(16n, 104); h.writeBigUInt64LE(4096n, 112);
  return new Uint8Array(Buffer.concat([h, flood]));
}

