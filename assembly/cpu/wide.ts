// 64 x 64 -> 128-bit multiplication, which WebAssembly lacks: the high halves MULH, MULHSU
// and MULHU need (unprivileged spec section 7.1), and the exact products of the soft-float
// multiply and fused multiply-add (cpu/softfloat.ts).

/** High 64 bits of the unsigned 128-bit product (wasm has no 64x64->128 multiply). */
@inline export function mulhu(a: u64, b: u64): u64 {
  const aLo = a & 0xFFFF_FFFF;
  const aHi = a >> 32;
  const bLo = b & 0xFFFF_FFFF;
  const bHi = b >> 32;
  const ll = aLo * bLo;
  const lh = aLo * bHi;
  const hl = aHi * bLo;
  const mid = (ll >> 32) + (lh & 0xFFFF_FFFF) + (hl & 0xFFFF_FFFF);
  return aHi * bHi + (lh >> 32) + (hl >> 32) + (mid >> 32);
}
// Signed corrections of mulhu (two's complement): a*b = mulhu(a,b) - (a<0 ? b<<64 : 0) - ...
@inline export function mulh(a: u64, b: u64): u64 {
  return mulhu(a, b) - (<i64>a < 0 ? b : 0) - (<i64>b < 0 ? a : 0);
}
@inline export function mulhsu(a: u64, b: u64): u64 {
  return mulhu(a, b) - (<i64>a < 0 ? b : 0);
}
