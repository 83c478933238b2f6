// Bit-exact IEEE 754-2008 binary32/binary64 arithmetic on integers, as the RISC-V F and D
// extensions require it (unprivileged spec v20191213, chapter 11 "F" and chapter 12 "D").
// WebAssembly's own f32/f64 operations round to nearest-even only, raise no flags and leave
// NaN payloads unspecified, so every operation here works on the significands as integers:
// one rounding step (roundPack) serves all operations, all five rounding modes and both
// formats, and records the exception flags.
//
// Values travel as raw bit patterns (u64; a single occupies the low 32 bits). A format is
// given by `fb`, its fraction bits (23 or 52), and `eb`, its exponent bits (8 or 11).
//
// Internal form of a finite nonzero value: sign, biased exponent e (i32, may go below 1 or
// above the format's range while computing) and a u64 significand `sig` with its leading one
// at bit 62, so that value = sig * 2^(e - bias - 62). Bit 63 is headroom for a carry; the bits
// below the format's precision (10 for binary64, 39 for binary32) are guard bits, with
// everything lower "jammed" (ORed) into bit 0 so that rounding stays correct.

import { mulhu } from './wide';
import { D_EB, D_FB, FLAG_DZ, FLAG_NV, FLAG_NX, FLAG_OF, FLAG_UF, RM_RDN, RM_RMM, RM_RNE, RM_RTZ,
  RM_RUP, S_EB, S_FB } from '../riscv/fp';

/**
 * The flags raised by the operation in progress. A transient, not machine state: the caller
 * (cpu/fpu.ts) clears it before an operation and accrues it into fcsr right after.
 */
export let raised: u32 = 0;
export function clearRaised(): void { raised = 0; }

// 128-bit results of the helpers below (a transient pair, like `raised`).
let hi128: u64 = 0;
let lo128: u64 = 0;

@inline function bias(eb: i32): i32 { return (1 << (eb - 1)) - 1; }
@inline function expMax(eb: i32): u64 { return (<u64>1 << <u64>eb) - 1; }
@inline function fracMask(fb: i32): u64 { return (<u64>1 << <u64>fb) - 1; }
@inline function signShift(fb: i32, eb: i32): u64 { return <u64>(fb + eb); }
@inline function signOf(x: u64, fb: i32, eb: i32): u64 { return (x >> signShift(fb, eb)) & 1; }
@inline function expField(x: u64, fb: i32, eb: i32): u64 { return (x >> <u64>fb) & expMax(eb); }

/** The canonical NaN of a format (section 11.3): positive, quiet, payload zero. */
@inline export function canonicalNaN(fb: i32, eb: i32): u64 {
  return (expMax(eb) << <u64>fb) | (<u64>1 << <u64>(fb - 1));
}
@inline export function isNaN_(x: u64, fb: i32, eb: i32): bool {
  return expField(x, fb, eb) == expMax(eb) && (x & fracMask(fb)) != 0;
}
/** A signalling NaN has the most significant fraction bit clear (IEEE 754-2008 6.2.1). */
@inline export function isSNaN(x: u64, fb: i32, eb: i32): bool {
  return isNaN_(x, fb, eb) && (x & (<u64>1 << <u64>(fb - 1))) == 0;
}
@inline function isInf(x: u64, fb: i32, eb: i32): bool {
  return expField(x, fb, eb) == expMax(eb) && (x & fracMask(fb)) == 0;
}
@inline function isZero(x: u64, fb: i32, eb: i32): bool {
  return (x & ((<u64>1 << signShift(fb, eb)) - 1)) == 0;
}
@inline function infinity(sign: u64, fb: i32, eb: i32): u64 {
  return (sign << signShift(fb, eb)) | (expMax(eb) << <u64>fb);
}
@inline function zero(sign: u64, fb: i32, eb: i32): u64 { return sign << signShift(fb, eb); }

/** The significand of a finite nonzero value with its leading one at bit 62. */
@inline function sigOf(x: u64, fb: i32, eb: i32): u64 {
  const f = x & fracMask(fb);
  const s = expField(x, fb, eb) == 0 ? f : f | (<u64>1 << <u64>fb);
  return s << (<u64>clz<u64>(s) - 1);
}
/** The biased exponent that goes with sigOf (subnormals have exponent 1 before normalising). */
@inline function expOf(x: u64, fb: i32, eb: i32): i32 {
  const e = <i32>expField(x, fb, eb);
  if (e != 0) return e;
  return 1 - (<i32>clz<u64>(x & fracMask(fb)) - 1 - (62 - fb));
}

/** x >> d, with any one bits shifted out ORed into bit 0 (the sticky bit). */
@inline function shiftRightJam(x: u64, d: i32): u64 {
  if (d <= 0) return x;
  if (d >= 64) return x != 0 ? 1 : 0;
  return (x >> <u64>d) | ((x << <u64>(64 - d)) != 0 ? 1 : 0);
}

/**
 * Whether rounding away the `shift` low bits `rb` of a significand whose kept part ends in
 * `q` goes up by one ulp, for rounding mode `rm` and sign `sign` (section 11.2; IEEE 754-2008
 * 4.3: RMM is roundTiesToAway).
 */
@inline function roundUp(rm: u32, sign: u64, q: u64, rb: u64, shift: i32): u64 {
  const half = <u64>1 << <u64>(shift - 1);
  switch (rm) {
    case RM_RNE: return rb > half || (rb == half && (q & 1) != 0) ? 1 : 0;
    case RM_RMM: return rb >= half ? 1 : 0;
    case RM_RDN: return sign != 0 && rb != 0 ? 1 : 0;
    case RM_RUP: return sign == 0 && rb != 0 ? 1 : 0;
    default: return 0;
  }
}

/**
 * Round sign * sig * 2^(e - bias - 62) (sig's leading one at bit 62) to the format and pack
 * it, raising NX, UF and OF. Overflow (IEEE 754-2008 7.4) gives infinity or the largest
 * finite number depending on the mode and the sign. Underflow: RISC-V detects tininess after
 * rounding (section 11.6, "tininess is detected after rounding"), and UF is raised only when
 * the result is both tiny and inexact (IEEE 754-2008 7.5).
 */
export function roundPack(sign: u64, e: i32, sig: u64, rm: u32, fb: i32, eb: i32): u64 {
  const shift = 62 - fb;
  const mask = (<u64>1 << <u64>shift) - 1;
  const sgn = sign << signShift(fb, eb);
  if (e <= 0) {
    // Tiny after rounding: the value rounded to full precision with an unbounded exponent is
    // still below the smallest normal, 2^emin. Only e == 0 can reach 2^emin by rounding up.
    let tiny = true;
    if (e == 0) {
      const r = (sig >> <u64>shift) + roundUp(rm, sign, sig >> <u64>shift, sig & mask, shift);
      if ((r >> <u64>(fb + 1)) != 0) tiny = false;
    }
    const s = shiftRightJam(sig, 1 - e);
    const rb = s & mask;
    // A subnormal is packed with exponent field 0; a carry into bit fb gives the smallest
    // normal number, which is its correct encoding.
    const r = (s >> <u64>shift) + roundUp(rm, sign, s >> <u64>shift, rb, shift);
    if (rb != 0) raised |= tiny ? FLAG_NX | FLAG_UF : FLAG_NX;
    return sgn | r;
  }
  const rb = sig & mask;
  let r = (sig >> <u64>shift) + roundUp(rm, sign, sig >> <u64>shift, rb, shift);
  if ((r >> <u64>(fb + 1)) != 0) { r >>= 1; e++; }
  if (<u64>e >= expMax(eb)) {
    raised |= FLAG_OF | FLAG_NX;
    const toMax = rm == RM_RTZ || (rm == RM_RDN && sign == 0) || (rm == RM_RUP && sign != 0);
    return toMax ? sgn | ((expMax(eb) - 1) << <u64>fb) | fracMask(fb) : infinity(sign, fb, eb);
  }
  if (rb != 0) raised |= FLAG_NX;
  // r carries the leading one at bit fb, which adds one to the exponent field.
  return sgn | ((<u64>(e - 1) << <u64>fb) + r);
}

/** roundPack for a nonzero significand with its leading one anywhere (bits 63..0). */
function normRoundPack(sign: u64, e: i32, sig: u64, rm: u32, fb: i32, eb: i32): u64 {
  const lz = <i32>clz<u64>(sig);
  if (lz == 0) return roundPack(sign, e + 1, shiftRightJam(sig, 1), rm, fb, eb);
  return roundPack(sign, e - (lz - 1), sig << <u64>(lz - 1), rm, fb, eb);
}

/** The result of an operation with a NaN operand: canonical (section 11.3), NV if signalling. */
@inline function nanResult(a: u64, b: u64, fb: i32, eb: i32): u64 {
  if (isSNaN(a, fb, eb) || isSNaN(b, fb, eb)) raised |= FLAG_NV;
  return canonicalNaN(fb, eb);
}
@inline function invalid(fb: i32, eb: i32): u64 {
  raised |= FLAG_NV;
  return canonicalNaN(fb, eb);
}

/** The exact zero of x + (-x): +0, or -0 when rounding down (IEEE 754-2008 6.3). */
@inline function cancelZero(rm: u32, fb: i32, eb: i32): u64 { return zero(rm == RM_RDN ? 1 : 0, fb, eb); }

/** a + b, or a - b when `negB` is 1 (FADD, FSUB). */
export function fadd(a: u64, b: u64, negB: u64, rm: u32, fb: i32, eb: i32): u64 {
  if (isNaN_(a, fb, eb) || isNaN_(b, fb, eb)) return nanResult(a, b, fb, eb);
  let sa = signOf(a, fb, eb);
  let sb = signOf(b, fb, eb) ^ negB;
  if (isInf(a, fb, eb)) {
    if (isInf(b, fb, eb) && sa != sb) return invalid(fb, eb);
    return infinity(sa, fb, eb);
  }
  if (isInf(b, fb, eb)) return infinity(sb, fb, eb);
  const za = isZero(a, fb, eb);
  const zb = isZero(b, fb, eb);
  if (za && zb) return sa == sb ? zero(sa, fb, eb) : cancelZero(rm, fb, eb);
  // Adding zero to a nonzero number is exact.
  if (za) return (b & ~(<u64>1 << signShift(fb, eb))) | (sb << signShift(fb, eb));
  if (zb) return a;
  let ea = expOf(a, fb, eb);
  let ma = sigOf(a, fb, eb);
  let e2 = expOf(b, fb, eb);
  let mb = sigOf(b, fb, eb);
  if (ea < e2 || (ea == e2 && ma < mb)) {
    const te = ea; ea = e2; e2 = te;
    const tm = ma; ma = mb; mb = tm;
    const ts = sa; sa = sb; sb = ts;
  }
  // The smaller operand loses bits only when it is 2 or more binades below, where at most one
  // bit cancels: the sticky bit stays below the rounding position.
  mb = shiftRightJam(mb, ea - e2);
  if (sa == sb) return normRoundPack(sa, ea, ma + mb, rm, fb, eb);
  const d = ma - mb;
  if (d == 0) return cancelZero(rm, fb, eb);
  return normRoundPack(sa, ea, d, rm, fb, eb);
}

/** The 128-bit product a * b into hi128:lo128. */
function mul128(a: u64, b: u64): void {
  hi128 = mulhu(a, b);
  lo128 = a * b;
}

/** a * b (FMUL). */
export function fmul(a: u64, b: u64, rm: u32, fb: i32, eb: i32): u64 {
  if (isNaN_(a, fb, eb) || isNaN_(b, fb, eb)) return nanResult(a, b, fb, eb);
  const sign = signOf(a, fb, eb) ^ signOf(b, fb, eb);
  const ia = isInf(a, fb, eb);
  const ib = isInf(b, fb, eb);
  const za = isZero(a, fb, eb);
  const zb = isZero(b, fb, eb);
  if ((ia && zb) || (ib && za)) return invalid(fb, eb);
  if (ia || ib) return infinity(sign, fb, eb);
  if (za || zb) return zero(sign, fb, eb);
  mul128(sigOf(a, fb, eb), sigOf(b, fb, eb));
  // The product's leading one is at bit 124 or 125; keep bits 126..63, jam the rest.
  const p = (hi128 << 1) | (lo128 >> 63) | ((lo128 << 1) != 0 ? 1 : 0);
  return normRoundPack(sign, expOf(a, fb, eb) + expOf(b, fb, eb) - bias(eb) + 1, p, rm, fb, eb);
}

/** a / b (FDIV): x/0 raises DZ, 0/0 and inf/inf raise NV. */
export function fdiv(a: u64, b: u64, rm: u32, fb: i32, eb: i32): u64 {
  if (isNaN_(a, fb, eb) || isNaN_(b, fb, eb)) return nanResult(a, b, fb, eb);
  const sign = signOf(a, fb, eb) ^ signOf(b, fb, eb);
  const ia = isInf(a, fb, eb);
  const ib = isInf(b, fb, eb);
  const za = isZero(a, fb, eb);
  const zb = isZero(b, fb, eb);
  if ((ia && ib) || (za && zb)) return invalid(fb, eb);
  if (ia) return infinity(sign, fb, eb);
  if (ib) return zero(sign, fb, eb);
  if (zb) { raised |= FLAG_DZ; return infinity(sign, fb, eb); }
  if (za) return zero(sign, fb, eb);
  let e = expOf(a, fb, eb) - expOf(b, fb, eb) + bias(eb);
  let rem = sigOf(a, fb, eb);
  const d = sigOf(b, fb, eb);
  if (rem < d) { rem <<= 1; e--; }
  // Restoring division, one quotient bit per step: 63 bits, the first one always 1.
  let q: u64 = 0;
  for (let i = 0; i < 63; i++) {
    q <<= 1;
    if (rem >= d) { rem -= d; q |= 1; }
    rem <<= 1;
  }
  return roundPack(sign, e, q | (rem != 0 ? 1 : 0), rm, fb, eb);
}

/** sqrt(a) (FSQRT): NV for a negative nonzero operand; sqrt(-0) = -0. */
export function fsqrt(a: u64, rm: u32, fb: i32, eb: i32): u64 {
  if (isNaN_(a, fb, eb)) return nanResult(a, a, fb, eb);
  if (isZero(a, fb, eb)) return a;
  if (signOf(a, fb, eb) != 0) return invalid(fb, eb);
  if (isInf(a, fb, eb)) return a;
  let x = expOf(a, fb, eb) - bias(eb);
  const m = sigOf(a, fb, eb);
  // The radicand N = m * 2^62 (or 2^63 when the exponent is odd, which makes it even), a
  // 128-bit number whose square root has its leading one at bit 62.
  let nHi: u64;
  let nLo: u64;
  if ((x & 1) != 0) { nHi = m >> 1; nLo = m << 63; x -= 1; } else { nHi = m >> 2; nLo = m << 62; }
  let r: u64 = 0;
  for (let bit = 62; bit >= 0; bit--) {
    const t = r | (<u64>1 << <u64>bit);
    mul128(t, t);
    if (hi128 < nHi || (hi128 == nHi && lo128 <= nLo)) r = t;
  }
  mul128(r, r);
  const exact = hi128 == nHi && lo128 == nLo;
  return roundPack(0, (x >> 1) + bias(eb), r | (exact ? 0 : 1), rm, fb, eb);
}

/** hi:lo >> d with the bits shifted out jammed into bit 0, into hi128:lo128. */
function shr128Jam(hi: u64, lo: u64, d: i32): void {
  if (d <= 0) { hi128 = hi; lo128 = lo; return; }
  if (d >= 128) { hi128 = 0; lo128 = (hi | lo) != 0 ? 1 : 0; return; }
  if (d >= 64) {
    const s = d - 64;
    const lost = lo != 0 || (s > 0 && (hi << <u64>(64 - s)) != 0);
    hi128 = 0;
    lo128 = (hi >> <u64>s) | (lost ? 1 : 0);
    return;
  }
  hi128 = hi >> <u64>d;
  lo128 = (lo >> <u64>d) | (hi << <u64>(64 - d)) | ((lo << <u64>(64 - d)) != 0 ? 1 : 0);
}

/**
 * (a * b) + c with one rounding (FMADD and its variants, section 11.6): `negP` negates the
 * product, `negC` the addend. The multiplicands infinity and zero raise NV even when the addend
 * is a quiet NaN (section 11.6).
 */
export function ffma(a: u64, b: u64, c: u64, negP: u64, negC: u64, rm: u32, fb: i32, eb: i32): u64 {
  const ia = isInf(a, fb, eb);
  const ib = isInf(b, fb, eb);
  const za = isZero(a, fb, eb);
  const zb = isZero(b, fb, eb);
  const infTimesZero = (ia && zb) || (ib && za);
  if (isNaN_(a, fb, eb) || isNaN_(b, fb, eb) || isNaN_(c, fb, eb)) {
    if (infTimesZero || isSNaN(c, fb, eb)) raised |= FLAG_NV;
    return nanResult(a, b, fb, eb);
  }
  if (infTimesZero) return invalid(fb, eb);
  const sp = signOf(a, fb, eb) ^ signOf(b, fb, eb) ^ negP;
  const sc = signOf(c, fb, eb) ^ negC;
  const ic = isInf(c, fb, eb);
  if (ia || ib) {
    if (ic && sc != sp) return invalid(fb, eb);
    return infinity(sp, fb, eb);
  }
  if (ic) return infinity(sc, fb, eb);
  const zc = isZero(c, fb, eb);
  if (za || zb) {
    if (zc) return sp == sc ? zero(sp, fb, eb) : cancelZero(rm, fb, eb);
    return (c & ~(<u64>1 << signShift(fb, eb))) | (sc << signShift(fb, eb));
  }
  // The exact product P (leading one at bit 124 or 125) is worth P * 2^(ep - bias - 124); the
  // addend is placed at bit 124 on the same scale. The one with the smaller exponent is
  // shifted right with jamming: its lost bits lie far below the rounding position (at least
  // 20 bits of the 128 are below both operands' lowest significant bit), or at most one bit
  // cancels, so the single rounding at the end is correct.
  mul128(sigOf(a, fb, eb), sigOf(b, fb, eb));
  let pHi = hi128;
  let pLo = lo128;
  const ep = expOf(a, fb, eb) + expOf(b, fb, eb) - bias(eb);
  if (zc) {
    const p = (pHi << 1) | (pLo >> 63) | ((pLo << 1) != 0 ? 1 : 0);
    return normRoundPack(sp, ep + 1, p, rm, fb, eb);
  }
  const mc = sigOf(c, fb, eb);
  let cHi = mc >> 2;
  let cLo = mc << 62;
  const ec = expOf(c, fb, eb);
  let e: i32;
  if (ep >= ec) {
    shr128Jam(cHi, cLo, ep - ec); cHi = hi128; cLo = lo128; e = ep;
  } else {
    shr128Jam(pHi, pLo, ec - ep); pHi = hi128; pLo = lo128; e = ec;
  }
  let sign = sp;
  let rHi: u64;
  let rLo: u64;
  if (sp == sc) {
    rLo = pLo + cLo;
    rHi = pHi + cHi + (rLo < pLo ? 1 : 0);
  } else if (pHi > cHi || (pHi == cHi && pLo >= cLo)) {
    rLo = pLo - cLo;
    rHi = pHi - cHi - (pLo < cLo ? 1 : 0);
  } else {
    rLo = cLo - pLo;
    rHi = cHi - pHi - (cLo < pLo ? 1 : 0);
    sign = sc;
  }
  if (rHi == 0 && rLo == 0) return cancelZero(rm, fb, eb);
  // Bring the leading one (bit `top` of 127..0) to bit 62 of a u64, jamming what falls off.
  const top = rHi != 0 ? 127 - <i32>clz<u64>(rHi) : 63 - <i32>clz<u64>(rLo);
  let sig: u64;
  if (top >= 62) {
    shr128Jam(rHi, rLo, top - 62);
    sig = lo128;
  } else {
    sig = rLo << <u64>(62 - top);
  }
  return roundPack(sign, e + top - 124, sig, rm, fb, eb);
}

/** Convert between the formats (FCVT.S.D, FCVT.D.S): NaNs become canonical. */
export function fcvtFF(a: u64, rm: u32, fb: i32, eb: i32, toFb: i32, toEb: i32): u64 {
  if (isNaN_(a, fb, eb)) {
    if (isSNaN(a, fb, eb)) raised |= FLAG_NV;
    return canonicalNaN(toFb, toEb);
  }
  const sign = signOf(a, fb, eb);
  if (isInf(a, fb, eb)) return infinity(sign, toFb, toEb);
  if (isZero(a, fb, eb)) return zero(sign, toFb, toEb);
  return roundPack(sign, expOf(a, fb, eb) - bias(eb) + bias(toEb), sigOf(a, fb, eb), rm, toFb, toEb);
}

/** Convert an integer (FCVT.fmt.W/WU/L/LU) of magnitude `mag` and sign `neg`. */
export function fcvtFromInt(mag: u64, neg: bool, rm: u32, fb: i32, eb: i32): u64 {
  if (mag == 0) return 0;
  return normRoundPack(neg ? 1 : 0, bias(eb) + 62, mag, rm, fb, eb);
}

// Integer widths and signedness of FCVT to integer.
export const INT_W: u32 = 0;
export const INT_WU: u32 = 1;
export const INT_L: u32 = 2;
export const INT_LU: u32 = 3;

/**
 * Convert to an integer (FCVT.W/WU/L/LU.fmt) and return the x-register value (32-bit results
 * sign-extended, section 11.7 and 12.5). An input that is NaN, infinite, or rounds to a value
 * out of range gives the saturated value of table 11.4 and raises NV only; an inexact in-range
 * result raises NX.
 */
export function fcvtToInt(a: u64, kind: u32, rm: u32, fb: i32, eb: i32): u64 {
  const unsigned = (kind & 1) != 0;
  const wide = kind >= INT_L;
  // Largest positive result, and the most negative one's magnitude.
  const maxPos: u64 = wide ? (unsigned ? 0xFFFF_FFFF_FFFF_FFFF : 0x7FFF_FFFF_FFFF_FFFF)
    : (unsigned ? 0xFFFF_FFFF : 0x7FFF_FFFF);
  const maxNegMag: u64 = unsigned ? 0 : wide ? 0x8000_0000_0000_0000 : 0x8000_0000;
  const sign = signOf(a, fb, eb);
  if (isNaN_(a, fb, eb)) {
    raised |= FLAG_NV;
    return finishInt(maxPos, false, wide);
  }
  let ok = true;
  let mag: u64 = 0;
  let inexact = false;
  if (isInf(a, fb, eb)) {
    ok = false;
  } else if (!isZero(a, fb, eb)) {
    const x = expOf(a, fb, eb) - bias(eb);
    const sig = sigOf(a, fb, eb);
    if (x > 63) {
      ok = false;
    } else {
      const k = 62 - x; // fraction bits of sig
      if (k <= 0) {
        mag = sig << <u64>(-k);
      } else if (k >= 64) {
        // |a| < 1/2: only the directed modes can round it away from zero.
        mag = roundUp(rm, sign, 0, 1, 63);
        inexact = true;
      } else {
        const rb = sig & ((<u64>1 << <u64>k) - 1);
        mag = (sig >> <u64>k) + roundUp(rm, sign, sig >> <u64>k, rb, k);
        inexact = rb != 0;
      }
      if (sign != 0 ? mag > maxNegMag : mag > maxPos) ok = false;
    }
  }
  if (!ok) {
    raised |= FLAG_NV;
    return finishInt(sign != 0 ? maxNegMag : maxPos, sign != 0, wide);
  }
  if (inexact) raised |= FLAG_NX;
  return finishInt(mag, sign != 0, wide);
}

@inline function finishInt(mag: u64, neg: bool, wide: bool): u64 {
  const v = neg ? 0 - mag : mag;
  return wide ? v : <u64><i64><i32>v;
}

/** FEQ (quiet: NV only for a signalling NaN) and FLT/FLE (signalling: NV for any NaN). */
export function fcompare(a: u64, b: u64, op: u32, fb: i32, eb: i32): u64 {
  if (isNaN_(a, fb, eb) || isNaN_(b, fb, eb)) {
    if (op != 2 || isSNaN(a, fb, eb) || isSNaN(b, fb, eb)) raised |= FLAG_NV;
    return 0;
  }
  const eq = a == b || (isZero(a, fb, eb) && isZero(b, fb, eb));
  if (op == 2) return eq ? 1 : 0;       // FEQ
  const lt = !eq && orderedLess(a, b, fb, eb);
  if (op == 1) return lt ? 1 : 0;       // FLT
  return lt || eq ? 1 : 0;              // FLE
}

/** a < b for non-NaN a and b in the total order of sign and magnitude, where -0 < +0. */
@inline function orderedLess(a: u64, b: u64, fb: i32, eb: i32): bool {
  const sa = signOf(a, fb, eb);
  const sb = signOf(b, fb, eb);
  if (sa != sb) return sa != 0;
  const ma = a & ((<u64>1 << signShift(fb, eb)) - 1);
  const mb = b & ((<u64>1 << signShift(fb, eb)) - 1);
  return sa != 0 ? ma > mb : ma < mb;
}

/**
 * FMIN/FMAX (section 11.6, IEEE 754-2019 minimumNumber/maximumNumber): -0 < +0; one NaN
 * operand gives the other; two give the canonical NaN; a signalling NaN raises NV.
 */
export function fminmax(a: u64, b: u64, max: bool, fb: i32, eb: i32): u64 {
  const na = isNaN_(a, fb, eb);
  const nb = isNaN_(b, fb, eb);
  if (isSNaN(a, fb, eb) || isSNaN(b, fb, eb)) raised |= FLAG_NV;
  if (na && nb) return canonicalNaN(fb, eb);
  if (na) return b;
  if (nb) return a;
  return orderedLess(a, b, fb, eb) != max ? a : b;
}

/** FCLASS (section 11.9, table 11.5): one bit set. */
export function fclass(a: u64, fb: i32, eb: i32): u64 {
  const neg = signOf(a, fb, eb) != 0;
  const e = expField(a, fb, eb);
  const f = a & fracMask(fb);
  if (e == expMax(eb)) {
    if (f == 0) return neg ? 1 << 0 : 1 << 7;
    return (f & (<u64>1 << <u64>(fb - 1))) != 0 ? 1 << 9 : 1 << 8;
  }
  if (e == 0) {
    if (f == 0) return neg ? 1 << 3 : 1 << 4;
    return neg ? 1 << 2 : 1 << 5;
  }
  return neg ? 1 << 1 : 1 << 6;
}
