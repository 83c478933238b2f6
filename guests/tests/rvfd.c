/* rvfd: directed checks of the F and D extensions (unprivileged spec ch. 11
 * and 12), in M-mode: every rounding mode on values that round differently
 * (ties, negative values, overflow to infinity or the largest finite number),
 * every flag, underflow with tininess after rounding, NaN boxing, canonical
 * NaNs, FMIN/FMAX with signed zeros and signalling NaNs, quiet and signalling
 * comparisons, FCLASS, conversions with the saturation table 11.4, fused
 * multiply-add with exact zeros and cancellation, division by zero and square
 * roots of negatives, loads and stores. Each check prints one line; a check of
 * a result also checks the fflags it raised ("NAME.fl"). */
#include "rt.h"

static u64 fl;

/* Run one instruction on raw operands; fl gets the flags it raised. */
#define FOP2(op, rm, a, b) ({ u64 r_; csr_write(fflags, 0); \
    asm volatile("fmv.d.x ft0, %1\n\tfmv.d.x ft1, %2\n\t" op " ft2, ft0, ft1" rm "\n\tfmv.x.d %0, ft2" \
        : "=r"(r_) : "r"((u64)(a)), "r"((u64)(b)) : "ft0", "ft1", "ft2"); fl = csr_read(fflags); r_; })
#define FOP1(op, rm, a) ({ u64 r_; csr_write(fflags, 0); \
    asm volatile("fmv.d.x ft0, %1\n\t" op " ft2, ft0" rm "\n\tfmv.x.d %0, ft2" \
        : "=r"(r_) : "r"((u64)(a)) : "ft0", "ft2"); fl = csr_read(fflags); r_; })
#define FOP3(op, rm, a, b, c) ({ u64 r_; csr_write(fflags, 0); \
    asm volatile("fmv.d.x ft0, %1\n\tfmv.d.x ft1, %2\n\tfmv.d.x ft3, %3\n\t" op " ft2, ft0, ft1, ft3" rm \
        "\n\tfmv.x.d %0, ft2" : "=r"(r_) : "r"((u64)(a)), "r"((u64)(b)), "r"((u64)(c)) \
        : "ft0", "ft1", "ft2", "ft3"); fl = csr_read(fflags); r_; })
/* Result in an x register: comparisons, FCLASS, conversions to integers. */
#define XOP2(op, a, b) ({ u64 r_; csr_write(fflags, 0); \
    asm volatile("fmv.d.x ft0, %1\n\tfmv.d.x ft1, %2\n\t" op " %0, ft0, ft1" \
        : "=r"(r_) : "r"((u64)(a)), "r"((u64)(b)) : "ft0", "ft1"); fl = csr_read(fflags); r_; })
#define XOP1(op, rm, a) ({ u64 r_; csr_write(fflags, 0); \
    asm volatile("fmv.d.x ft0, %1\n\t" op " %0, ft0" rm : "=r"(r_) : "r"((u64)(a)) : "ft0"); \
    fl = csr_read(fflags); r_; })
/* Integer source: FCVT.fmt.W/WU/L/LU, FMV.W.X, FMV.D.X. */
#define IOP(op, rm, x) ({ u64 r_; csr_write(fflags, 0); \
    asm volatile(op " ft2, %1" rm "\n\tfmv.x.d %0, ft2" : "=r"(r_) : "r"((u64)(x)) : "ft2"); \
    fl = csr_read(fflags); r_; })

#define NX 1
#define UF 2
#define OF 4
#define DZ 8
#define NV 16

static void checkf(const char *name, u64 got, u64 want, u64 flags)
{
    char buf[64];
    int i = 0;
    check(name, got, want);
    while (name[i] && i < 60) { buf[i] = name[i]; i++; }
    buf[i++] = '.'; buf[i++] = 'f'; buf[i++] = 'l'; buf[i] = 0;
    check(buf, fl, flags);
}

/* binary64 constants */
#define D_ONE    0x3ff0000000000000UL
#define D_TWO    0x4000000000000000UL
#define D_HALF   0x3fe0000000000000UL
#define D_H53    0x3ca0000000000000UL   /* 2^-53: half an ulp of 1.0 */
#define D_ONE_U  0x3ff0000000000001UL   /* 1 + ulp */
#define D_ONE_2U 0x3ff0000000000002UL
#define D_MAX    0x7fefffffffffffffUL
#define D_INF    0x7ff0000000000000UL
#define D_MINN   0x0010000000000000UL
#define D_CNAN   0x7ff8000000000000UL
#define D_QNAN   0x7ff8000000000123UL
#define D_SNAN   0x7ff0000000000001UL
#define D_NEG    0x8000000000000000UL
/* binary32 constants, NaN-boxed */
#define B(x)     (0xffffffff00000000UL | (x))
#define S_ONE    B(0x3f800000)
#define S_H24    B(0x33800000)          /* 2^-24: half an ulp of 1.0f */
#define S_MAX    B(0x7f7fffff)
#define S_INF    B(0x7f800000)
#define S_CNAN   B(0x7fc00000)
#define S_QNAN   B(0x7fc00123)
#define S_SNAN   B(0x7f800001)
#define S_NEG    0x80000000UL

static void rounding(void)
{
    /* 1 + 2^-53 is a tie between 1 and 1 + ulp (even: 1). */
    checkf("add.d-tie-rne", FOP2("fadd.d", ", rne", D_ONE, D_H53), D_ONE, NX);
    checkf("add.d-tie-rtz", FOP2("fadd.d", ", rtz", D_ONE, D_H53), D_ONE, NX);
    checkf("add.d-tie-rdn", FOP2("fadd.d", ", rdn", D_ONE, D_H53), D_ONE, NX);
    checkf("add.d-tie-rup", FOP2("fadd.d", ", rup", D_ONE, D_H53), D_ONE_U, NX);
    checkf("add.d-tie-rmm", FOP2("fadd.d", ", rmm", D_ONE, D_H53), D_ONE_U, NX);
    /* (1 + ulp) + 2^-53: a tie whose even neighbour is above. */
    checkf("add.d-tie-odd-rne", FOP2("fadd.d", ", rne", D_ONE_U, D_H53), D_ONE_2U, NX);
    checkf("add.d-tie-odd-rtz", FOP2("fadd.d", ", rtz", D_ONE_U, D_H53), D_ONE_U, NX);
    checkf("add.d-tie-odd-rmm", FOP2("fadd.d", ", rmm", D_ONE_U, D_H53), D_ONE_2U, NX);
    /* Negative ties: RDN goes away from zero, RUP towards it. */
    checkf("add.d-neg-rne", FOP2("fadd.d", ", rne", D_ONE | D_NEG, D_H53 | D_NEG), D_ONE | D_NEG, NX);
    checkf("add.d-neg-rdn", FOP2("fadd.d", ", rdn", D_ONE | D_NEG, D_H53 | D_NEG), D_ONE_U | D_NEG, NX);
    checkf("add.d-neg-rup", FOP2("fadd.d", ", rup", D_ONE | D_NEG, D_H53 | D_NEG), D_ONE | D_NEG, NX);
    checkf("add.d-neg-rmm", FOP2("fadd.d", ", rmm", D_ONE | D_NEG, D_H53 | D_NEG), D_ONE_U | D_NEG, NX);
    checkf("add.d-neg-rtz", FOP2("fadd.d", ", rtz", D_ONE | D_NEG, D_H53 | D_NEG), D_ONE | D_NEG, NX);
    /* The same in binary32. */
    checkf("add.s-tie-rne", FOP2("fadd.s", ", rne", S_ONE, S_H24), S_ONE, NX);
    checkf("add.s-tie-rup", FOP2("fadd.s", ", rup", S_ONE, S_H24), B(0x3f800001), NX);
    checkf("add.s-tie-rmm", FOP2("fadd.s", ", rmm", S_ONE, S_H24), B(0x3f800001), NX);
    checkf("add.s-neg-rdn", FOP2("fadd.s", ", rdn", S_ONE | S_NEG, S_H24 | S_NEG), B(0xbf800001), NX);
    checkf("add.s-neg-rtz", FOP2("fadd.s", ", rtz", S_ONE | S_NEG, S_H24 | S_NEG), B(0xbf800000), NX);
    /* Overflow: infinity or the largest finite number, by mode and sign (IEEE 7.4). */
    checkf("mul.d-of-rne", FOP2("fmul.d", ", rne", D_MAX, D_TWO), D_INF, OF | NX);
    checkf("mul.d-of-rtz", FOP2("fmul.d", ", rtz", D_MAX, D_TWO), D_MAX, OF | NX);
    checkf("mul.d-of-rdn", FOP2("fmul.d", ", rdn", D_MAX, D_TWO), D_MAX, OF | NX);
    checkf("mul.d-of-rup", FOP2("fmul.d", ", rup", D_MAX, D_TWO), D_INF, OF | NX);
    checkf("mul.d-of-rmm", FOP2("fmul.d", ", rmm", D_MAX, D_TWO), D_INF, OF | NX);
    checkf("mul.d-of-neg-rdn", FOP2("fmul.d", ", rdn", D_MAX | D_NEG, D_TWO), D_INF | D_NEG, OF | NX);
    checkf("mul.d-of-neg-rup", FOP2("fmul.d", ", rup", D_MAX | D_NEG, D_TWO), D_MAX | D_NEG, OF | NX);
    checkf("mul.s-of-rtz", FOP2("fmul.s", ", rtz", S_MAX, B(0x40000000)), S_MAX, OF | NX);
    checkf("mul.s-of-rne", FOP2("fmul.s", ", rne", S_MAX, B(0x40000000)), S_INF, OF | NX);
    checkf("add.d-max-no-of", FOP2("fadd.d", ", rne", D_MAX, D_ONE), D_MAX, NX);
}

static void underflow(void)
{
    /* Exact subnormal results raise nothing. */
    checkf("mul.d-subnormal-exact", FOP2("fmul.d", ", rne", D_MINN, D_HALF), 0x0008000000000000UL, 0);
    /* Half the smallest subnormal: a tie, to 0 (even) or up. */
    checkf("mul.d-tiny-rne", FOP2("fmul.d", ", rne", 1, D_HALF), 0, UF | NX);
    checkf("mul.d-tiny-rup", FOP2("fmul.d", ", rup", 1, D_HALF), 1, UF | NX);
    checkf("mul.d-tiny-rmm", FOP2("fmul.d", ", rmm", 1, D_HALF), 1, UF | NX);
    checkf("mul.d-tiny-neg-rdn", FOP2("fmul.d", ", rdn", 1 | D_NEG, D_HALF), 1 | D_NEG, UF | NX);
    /* (1 - 2^-30) * 2^-1022 (1 + 2^-30) = 2^-1022 (1 - 2^-60): rounded with an unbounded
     * exponent it is 2^-1022 under RNE (not tiny after rounding: no UF), but stays below it
     * under RTZ (tiny, inexact: UF). The same with (1 - 2^-13)(1 + 2^-13) in binary32. */
    checkf("mul.d-tininess-after-rne", FOP2("fmul.d", ", rne", 0x3fefffffff800000UL, 0x0010000000400000UL),
           D_MINN, NX);
    checkf("mul.d-tininess-after-rtz", FOP2("fmul.d", ", rtz", 0x3fefffffff800000UL, 0x0010000000400000UL),
           0x000fffffffffffffUL, UF | NX);
    checkf("mul.s-tininess-after-rne", FOP2("fmul.s", ", rne", B(0x3f7ff800), B(0x00800400)), B(0x00800000), NX);
    checkf("mul.s-tininess-after-rtz", FOP2("fmul.s", ", rtz", B(0x3f7ff800), B(0x00800400)), B(0x007fffff), UF | NX);
    /* Subnormal arithmetic is exact when it fits. */
    checkf("add.d-subnormals", FOP2("fadd.d", ", rne", 3, 0x800fffffffffffffUL), 0x800ffffffffffffcUL, 0);
    checkf("sub.d-min-normal", FOP2("fsub.d", ", rne", 0x0010000000000001UL, D_MINN), 1, 0);
    checkf("div.s-underflow", FOP2("fdiv.s", ", rne", B(0x00800000), B(0x4b800000)), B(0x00000000), UF | NX);
}

static void nan_boxing(void)
{
    u64 r;
    /* An f register holding a single that is not NaN-boxed reads as the canonical NaN. */
    checkf("unboxed-add-is-canonical", FOP2("fadd.s", ", rne", 0x3f800000UL, S_ONE), S_CNAN, 0);
    checkf("unboxed-sgnj", FOP2("fsgnj.s", "", 0x000000003f800000UL, S_NEG | S_ONE), B(0xffc00000), 0);
    check("unboxed-fclass-qnan", XOP1("fclass.s", "", 0x123456783f800000UL), 1 << 9);
    checkf("partly-boxed-add", FOP2("fadd.s", ", rne", 0xfffffffe3f800000UL, S_ONE), S_CNAN, 0);
    /* Transfers do not check: FMV.X.W sign-extends the low word; FSW stores it. */
    check("unboxed-fmv.x.w", XOP1("fmv.x.w", "", 0x12345678bf800000UL), 0xffffffffbf800000UL);
    check("fmv.x.w-positive", XOP1("fmv.x.w", "", S_ONE), 0x3f800000UL);
    check("fmv.w.x-boxes", IOP("fmv.w.x", "", 0xabcdef0112345678UL), B(0x12345678));
    check("fmv.d.x-bits", IOP("fmv.d.x", "", 0x0123456789abcdefUL), 0x0123456789abcdefUL);
    check("fmv.x.d-bits", XOP1("fmv.x.d", "", 0xfedcba9876543210UL), 0xfedcba9876543210UL);
    static volatile u32 word[2] = { 0x40490fdb, 0 };
    static volatile u64 dword;
    asm volatile("flw ft0, 0(%1)\n\tfmv.x.d %0, ft0" : "=r"(r) : "r"(word) : "ft0");
    check("flw-boxes", r, B(0x40490fdb));
    asm volatile("fmv.d.x ft0, %0\n\tfsw ft0, 4(%1)" :: "r"(0x1111111140490fdbUL), "r"(word) : "ft0", "memory");
    check("fsw-low-word-unchecked", word[1], 0x40490fdb);
    asm volatile("fmv.d.x ft0, %0\n\tfsd ft0, 0(%1)" :: "r"(0x0123456789abcdefUL), "r"(&dword) : "ft0", "memory");
    check("fsd", dword, 0x0123456789abcdefUL);
    asm volatile("fld ft1, 0(%1)\n\tfmv.x.d %0, ft1" : "=r"(r) : "r"(&dword) : "ft1");
    check("fld", r, 0x0123456789abcdefUL);
    /* A single result is always boxed, also from FCVT.S.D and FMIN. */
    checkf("fcvt.s.d-boxed", FOP1("fcvt.s.d", ", rne", D_ONE), S_ONE, 0);
    checkf("fmin.s-boxed", FOP2("fmin.s", "", S_ONE, S_INF), S_ONE, 0);
}

static void nans(void)
{
    /* Results are canonical: payloads do not propagate (11.3). */
    checkf("add.d-qnan-canonical", FOP2("fadd.d", ", rne", D_QNAN, D_ONE), D_CNAN, 0);
    checkf("add.d-snan-nv", FOP2("fadd.d", ", rne", D_ONE, D_SNAN), D_CNAN, NV);
    checkf("mul.s-qnan-canonical", FOP2("fmul.s", ", rne", S_QNAN | S_NEG, S_ONE), S_CNAN, 0);
    checkf("sqrt.s-snan", FOP1("fsqrt.s", ", rne", S_SNAN), S_CNAN, NV);
    checkf("fcvt.s.d-nan", FOP1("fcvt.s.d", ", rne", D_QNAN | D_NEG), S_CNAN, 0);
    checkf("fcvt.s.d-snan", FOP1("fcvt.s.d", ", rne", D_SNAN), S_CNAN, NV);
    checkf("fcvt.d.s-nan", FOP1("fcvt.d.s", "", S_QNAN), D_CNAN, 0);
    checkf("fcvt.d.s-snan", FOP1("fcvt.d.s", "", S_SNAN), D_CNAN, NV);
    checkf("inf-minus-inf", FOP2("fsub.d", ", rne", D_INF, D_INF), D_CNAN, NV);
    checkf("inf-times-zero", FOP2("fmul.s", ", rne", S_INF, B(0)), S_CNAN, NV);
    checkf("sgnj-keeps-payload", FOP2("fsgnjn.d", "", D_QNAN, D_QNAN), D_QNAN | D_NEG, 0);
    checkf("sgnjx-snan-no-nv", FOP2("fsgnjx.d", "", D_SNAN | D_NEG, D_NEG), D_SNAN, 0);
}

static void minmax(void)
{
    checkf("fmin.d-signed-zero", FOP2("fmin.d", "", 0, D_NEG), D_NEG, 0);
    checkf("fmin.d-signed-zero-2", FOP2("fmin.d", "", D_NEG, 0), D_NEG, 0);
    checkf("fmax.d-signed-zero", FOP2("fmax.d", "", D_NEG, 0), 0, 0);
    checkf("fmax.s-signed-zero", FOP2("fmax.s", "", B(0), B(S_NEG)), B(0), 0);
    checkf("fmin.d-one-qnan", FOP2("fmin.d", "", D_QNAN, D_ONE), D_ONE, 0);
    checkf("fmax.d-one-qnan", FOP2("fmax.d", "", D_TWO, D_QNAN), D_TWO, 0);
    checkf("fmin.d-one-snan", FOP2("fmin.d", "", D_SNAN, D_ONE), D_ONE, NV);
    checkf("fmin.d-two-qnan", FOP2("fmin.d", "", D_QNAN, D_QNAN | D_NEG), D_CNAN, 0);
    checkf("fmax.d-snan-qnan", FOP2("fmax.d", "", D_QNAN, D_SNAN), D_CNAN, NV);
    checkf("fmin.s-snan", FOP2("fmin.s", "", S_SNAN, S_ONE | S_NEG), B(0xbf800000), NV);
    checkf("fmax.s-unboxed-is-nan", FOP2("fmax.s", "", 0x3f800000UL, B(0xc0000000)), B(0xc0000000), 0);
    checkf("fmin.d-order", FOP2("fmin.d", "", D_ONE | D_NEG, D_TWO | D_NEG), D_TWO | D_NEG, 0);
    checkf("fmax.d-inf", FOP2("fmax.d", "", D_INF, D_MAX), D_INF, 0);
}

static void compare(void)
{
    checkf("feq.d-qnan-quiet", XOP2("feq.d", D_QNAN, D_QNAN), 0, 0);
    checkf("feq.d-snan-nv", XOP2("feq.d", D_SNAN, D_ONE), 0, NV);
    checkf("flt.d-qnan-nv", XOP2("flt.d", D_QNAN, D_ONE), 0, NV);
    checkf("fle.s-qnan-nv", XOP2("fle.s", S_ONE, S_QNAN), 0, NV);
    checkf("feq.d-zeros", XOP2("feq.d", D_NEG, 0), 1, 0);
    checkf("flt.d-zeros", XOP2("flt.d", D_NEG, 0), 0, 0);
    checkf("fle.d-zeros", XOP2("fle.d", 0, D_NEG), 1, 0);
    checkf("flt.d-neg", XOP2("flt.d", D_TWO | D_NEG, D_ONE | D_NEG), 1, 0);
    checkf("flt.s", XOP2("flt.s", S_ONE, B(0x40000000)), 1, 0);
    checkf("fle.s-eq", XOP2("fle.s", S_ONE, S_ONE), 1, 0);
    checkf("feq.s-unboxed", XOP2("feq.s", 0x3f800000UL, 0x3f800000UL), 0, 0);
    checkf("flt.d-inf", XOP2("flt.d", D_MAX, D_INF), 1, 0);
}

static void classify(void)
{
    static const u64 d[10] = { D_INF | D_NEG, D_ONE | D_NEG, 1 | D_NEG, D_NEG, 0, 1, D_ONE, D_INF, D_SNAN, D_QNAN };
    static const u64 s[10] = { B(0xff800000), B(0xbf800000), B(0x80000001), B(0x80000000), B(0), B(1),
                               S_ONE, S_INF, S_SNAN, S_QNAN };
    static const char *names[10] = { "-inf", "-normal", "-subnormal", "-zero", "+zero", "+subnormal",
                                     "+normal", "+inf", "snan", "qnan" };
    char buf[32];
    for (int i = 0; i < 10; i++) {
        const char *p = names[i];
        int n = 0;
        for (const char *q = "fclass.d"; *q; q++) buf[n++] = *q;
        buf[n++] = ' ';
        while (*p) buf[n++] = *p++;
        buf[n] = 0;
        checkf(buf, XOP1("fclass.d", "", d[i]), 1UL << i, 0);
        buf[7] = 's';
        checkf(buf, XOP1("fclass.s", "", s[i]), 1UL << i, 0);
    }
}

static void conversions(void)
{
    /* Table 11.4: NaN and +inf give the largest value, -inf the smallest; NV only. */
    checkf("fcvt.w.d-nan", XOP1("fcvt.w.d", ", rtz", D_QNAN), 0x7fffffffUL, NV);
    checkf("fcvt.w.d-inf", XOP1("fcvt.w.d", ", rtz", D_INF), 0x7fffffffUL, NV);
    checkf("fcvt.w.d--inf", XOP1("fcvt.w.d", ", rtz", D_INF | D_NEG), 0xffffffff80000000UL, NV);
    checkf("fcvt.w.d-2^31", XOP1("fcvt.w.d", ", rtz", 0x41e0000000000000UL), 0x7fffffffUL, NV);
    checkf("fcvt.w.d--2^31", XOP1("fcvt.w.d", ", rtz", 0xc1e0000000000000UL), 0xffffffff80000000UL, 0);
    checkf("fcvt.w.d--2^31-half-rne", XOP1("fcvt.w.d", ", rne", 0xc1e0000000100000UL), 0xffffffff80000000UL, NX);
    checkf("fcvt.w.d--2^31-half-rdn", XOP1("fcvt.w.d", ", rdn", 0xc1e0000000100000UL), 0xffffffff80000000UL, NV);
    checkf("fcvt.wu.d-nan", XOP1("fcvt.wu.d", ", rtz", D_SNAN), 0xffffffffffffffffUL, NV);
    checkf("fcvt.wu.d--inf", XOP1("fcvt.wu.d", ", rtz", D_INF | D_NEG), 0, NV);
    checkf("fcvt.wu.d--half-rne", XOP1("fcvt.wu.d", ", rne", D_HALF | D_NEG), 0, NX);
    checkf("fcvt.wu.d--half-rdn", XOP1("fcvt.wu.d", ", rdn", D_HALF | D_NEG), 0, NV);
    checkf("fcvt.wu.d--one", XOP1("fcvt.wu.d", ", rtz", D_ONE | D_NEG), 0, NV);
    checkf("fcvt.wu.d--zero", XOP1("fcvt.wu.d", ", rtz", D_NEG), 0, 0);
    checkf("fcvt.wu.d-2^32", XOP1("fcvt.wu.d", ", rtz", 0x41f0000000000000UL), 0xffffffffffffffffUL, NV);
    checkf("fcvt.wu.d-max-sext", XOP1("fcvt.wu.d", ", rtz", 0x41efffffffffffffUL), 0xffffffffffffffffUL, NX);
    checkf("fcvt.l.d-2^63", XOP1("fcvt.l.d", ", rtz", 0x43e0000000000000UL), 0x7fffffffffffffffUL, NV);
    checkf("fcvt.l.d--2^63", XOP1("fcvt.l.d", ", rtz", 0xc3e0000000000000UL), 0x8000000000000000UL, 0);
    checkf("fcvt.l.d-nan", XOP1("fcvt.l.d", ", rtz", D_CNAN), 0x7fffffffffffffffUL, NV);
    checkf("fcvt.lu.d-2^64", XOP1("fcvt.lu.d", ", rtz", 0x43f0000000000000UL), 0xffffffffffffffffUL, NV);
    checkf("fcvt.lu.d-big", XOP1("fcvt.lu.d", ", rtz", 0x43efffffffffffffUL), 0xfffffffffffff800UL, 0);
    checkf("fcvt.lu.s--inf", XOP1("fcvt.lu.s", ", rtz", B(0xff800000)), 0, NV);
    checkf("fcvt.l.s-big", XOP1("fcvt.l.s", ", rtz", B(0x5f000000)), 0x7fffffffffffffffUL, NV);
    /* 2.5 and -2.5 in each mode. */
    checkf("fcvt.w.d-2.5-rne", XOP1("fcvt.w.d", ", rne", 0x4004000000000000UL), 2, NX);
    checkf("fcvt.w.d-2.5-rtz", XOP1("fcvt.w.d", ", rtz", 0x4004000000000000UL), 2, NX);
    checkf("fcvt.w.d-2.5-rdn", XOP1("fcvt.w.d", ", rdn", 0x4004000000000000UL), 2, NX);
    checkf("fcvt.w.d-2.5-rup", XOP1("fcvt.w.d", ", rup", 0x4004000000000000UL), 3, NX);
    checkf("fcvt.w.d-2.5-rmm", XOP1("fcvt.w.d", ", rmm", 0x4004000000000000UL), 3, NX);
    checkf("fcvt.l.d--2.5-rne", XOP1("fcvt.l.d", ", rne", 0xc004000000000000UL), -2UL, NX);
    checkf("fcvt.l.d--2.5-rtz", XOP1("fcvt.l.d", ", rtz", 0xc004000000000000UL), -2UL, NX);
    checkf("fcvt.l.d--2.5-rdn", XOP1("fcvt.l.d", ", rdn", 0xc004000000000000UL), -3UL, NX);
    checkf("fcvt.l.d--2.5-rup", XOP1("fcvt.l.d", ", rup", 0xc004000000000000UL), -2UL, NX);
    checkf("fcvt.l.d--2.5-rmm", XOP1("fcvt.l.d", ", rmm", 0xc004000000000000UL), -3UL, NX);
    checkf("fcvt.w.s-3.5-rne", XOP1("fcvt.w.s", ", rne", B(0x40600000)), 4, NX);
    checkf("fcvt.wu.s-0.25-rup", XOP1("fcvt.wu.s", ", rup", B(0x3e800000)), 1, NX);
    /* From integers: 2^24 + 1 and 2^53 + 1 are ties. */
    checkf("fcvt.s.w-2^24+1-rne", IOP("fcvt.s.w", ", rne", 0x1000001), B(0x4b800000), NX);
    checkf("fcvt.s.w-2^24+1-rup", IOP("fcvt.s.w", ", rup", 0x1000001), B(0x4b800001), NX);
    checkf("fcvt.s.w-neg", IOP("fcvt.s.w", ", rne", -7UL), B(0xc0e00000), 0);
    checkf("fcvt.s.w-uses-low-word", IOP("fcvt.s.w", ", rne", 0x1234567800000002UL), B(0x40000000), 0);
    checkf("fcvt.s.wu-max", IOP("fcvt.s.wu", ", rtz", 0xffffffffUL), B(0x4f7fffff), NX);
    checkf("fcvt.d.l-2^53+1-rne", IOP("fcvt.d.l", ", rne", 0x20000000000001UL), 0x4340000000000000UL, NX);
    checkf("fcvt.d.l-min", IOP("fcvt.d.l", ", rne", 0x8000000000000000UL), 0xc3e0000000000000UL, 0);
    checkf("fcvt.d.lu-max-rup", IOP("fcvt.d.lu", ", rup", -1UL), 0x43f0000000000000UL, NX);
    checkf("fcvt.d.lu-max-rtz", IOP("fcvt.d.lu", ", rtz", -1UL), 0x43efffffffffffffUL, NX);
    checkf("fcvt.d.w", IOP("fcvt.d.w", "", -1UL), 0xbff0000000000000UL, 0);
    checkf("fcvt.d.wu", IOP("fcvt.d.wu", "", -1UL), 0x41efffffffe00000UL, 0);
    checkf("fcvt.s.l-zero", IOP("fcvt.s.l", ", rdn", 0), B(0), 0);
    /* Between the formats. */
    checkf("fcvt.s.d-tie-rne", FOP1("fcvt.s.d", ", rne", 0x3ff0000010000000UL), S_ONE, NX);
    checkf("fcvt.s.d-tie-rmm", FOP1("fcvt.s.d", ", rmm", 0x3ff0000010000000UL), B(0x3f800001), NX);
    checkf("fcvt.s.d-of-rtz", FOP1("fcvt.s.d", ", rtz", D_MAX), S_MAX, OF | NX);
    checkf("fcvt.s.d-of-rne", FOP1("fcvt.s.d", ", rne", D_MAX | D_NEG), B(0xff800000), OF | NX);
    checkf("fcvt.s.d-uf", FOP1("fcvt.s.d", ", rne", 0x3690000000000001UL), B(1), UF | NX);
    checkf("fcvt.d.s-subnormal", FOP1("fcvt.d.s", "", B(1)), 0x36a0000000000000UL, 0);
    checkf("fcvt.d.s-neg-zero", FOP1("fcvt.d.s", "", B(S_NEG)), D_NEG, 0);
}

static void fused(void)
{
    /* One rounding: (1 + 2^-30)(1 - 2^-30) - 1 = -2^-60 exactly. */
    checkf("fmadd.d-single-rounding", FOP3("fmadd.d", ", rne", 0x3ff0000000400000UL, 0x3fefffffff800000UL,
           D_ONE | D_NEG), 0xbc30000000000000UL, 0);
    checkf("fmadd.d-exact-zero-rne", FOP3("fmadd.d", ", rne", D_TWO, 0x4008000000000000UL, 0xc018000000000000UL), 0, 0);
    checkf("fmadd.d-exact-zero-rdn", FOP3("fmadd.d", ", rdn", D_TWO, 0x4008000000000000UL, 0xc018000000000000UL), D_NEG, 0);
    checkf("fmadd.d-zero-plus-negzero", FOP3("fmadd.d", ", rne", 0, 0x4014000000000000UL, D_NEG), 0, 0);
    checkf("fmadd.d-zero-plus-negzero-rdn", FOP3("fmadd.d", ", rdn", 0, 0x4014000000000000UL, D_NEG), D_NEG, 0);
    checkf("fmadd.d-negzero-product", FOP3("fmadd.d", ", rne", D_NEG, D_ONE, D_NEG), D_NEG, 0);
    checkf("fmadd.d-inf-zero-qnan", FOP3("fmadd.d", ", rne", D_INF, 0, D_QNAN), D_CNAN, NV);
    checkf("fmadd.d-inf-minus-inf", FOP3("fmadd.d", ", rne", D_INF, D_ONE, D_INF | D_NEG), D_CNAN, NV);
    checkf("fmadd.d-qnan", FOP3("fmadd.d", ", rne", D_ONE, D_QNAN, D_ONE), D_CNAN, 0);
    checkf("fmsub.d", FOP3("fmsub.d", ", rne", D_TWO, D_TWO, D_ONE), 0x4008000000000000UL, 0);
    checkf("fnmsub.d", FOP3("fnmsub.d", ", rne", D_TWO, D_TWO, D_ONE), 0xc008000000000000UL, 0);
    checkf("fnmadd.d", FOP3("fnmadd.d", ", rne", D_TWO, D_TWO, D_ONE), 0xc014000000000000UL, 0);
    checkf("fmsub.d-zero", FOP3("fmsub.d", ", rne", D_ONE, D_ONE, D_ONE), 0, 0);
    checkf("fnmadd.d-zero-rdn", FOP3("fnmadd.d", ", rdn", D_ONE, D_ONE, D_ONE | D_NEG), D_NEG, 0);
    checkf("fmadd.s-single-rounding", FOP3("fmadd.s", ", rne", B(0x3f800800), B(0x3f7ff000), S_ONE | S_NEG),
           B(0xb3800000), 0);
    checkf("fmadd.s-overflow", FOP3("fmadd.s", ", rup", S_MAX, B(0x40000000), S_ONE | S_NEG), S_INF, OF | NX);
    checkf("fnmsub.s-inf", FOP3("fnmsub.s", ", rne", S_INF, S_ONE, S_ONE), B(0xff800000), 0);
    checkf("fmadd.d-tiny", FOP3("fmadd.d", ", rne", D_MINN, D_HALF, 1 | D_NEG), 0x0007ffffffffffffUL, 0);
}

static void divsqrt(void)
{
    checkf("fdiv.d-by-zero", FOP2("fdiv.d", ", rne", D_ONE, 0), D_INF, DZ);
    checkf("fdiv.d-neg-by-zero", FOP2("fdiv.d", ", rne", D_ONE | D_NEG, 0), D_INF | D_NEG, DZ);
    checkf("fdiv.d-by-negzero", FOP2("fdiv.d", ", rne", D_ONE, D_NEG), D_INF | D_NEG, DZ);
    checkf("fdiv.d-zero-by-zero", FOP2("fdiv.d", ", rne", 0, 0), D_CNAN, NV);
    checkf("fdiv.d-inf-by-inf", FOP2("fdiv.d", ", rne", D_INF, D_INF), D_CNAN, NV);
    checkf("fdiv.d-inf-by-zero", FOP2("fdiv.d", ", rne", D_INF, 0), D_INF, 0);
    checkf("fdiv.d-1/3-rne", FOP2("fdiv.d", ", rne", D_ONE, 0x4008000000000000UL), 0x3fd5555555555555UL, NX);
    checkf("fdiv.d-1/3-rup", FOP2("fdiv.d", ", rup", D_ONE, 0x4008000000000000UL), 0x3fd5555555555556UL, NX);
    checkf("fdiv.s-2/3-rne", FOP2("fdiv.s", ", rne", B(0x40000000), B(0x40400000)), B(0x3f2aaaab), NX);
    checkf("fdiv.s-2/3-rtz", FOP2("fdiv.s", ", rtz", B(0x40000000), B(0x40400000)), B(0x3f2aaaaa), NX);
    checkf("fdiv.s-by-zero", FOP2("fdiv.s", ", rne", S_ONE, B(0)), S_INF, DZ);
    checkf("fsqrt.d-neg", FOP1("fsqrt.d", ", rne", D_ONE | D_NEG), D_CNAN, NV);
    checkf("fsqrt.d--inf", FOP1("fsqrt.d", ", rne", D_INF | D_NEG), D_CNAN, NV);
    checkf("fsqrt.d--zero", FOP1("fsqrt.d", ", rne", D_NEG), D_NEG, 0);
    checkf("fsqrt.d-4", FOP1("fsqrt.d", ", rne", 0x4010000000000000UL), D_TWO, 0);
    checkf("fsqrt.d-2-rne", FOP1("fsqrt.d", ", rne", D_TWO), 0x3ff6a09e667f3bcdUL, NX);
    checkf("fsqrt.d-2-rtz", FOP1("fsqrt.d", ", rtz", D_TWO), 0x3ff6a09e667f3bccUL, NX);
    checkf("fsqrt.d-inf", FOP1("fsqrt.d", ", rne", D_INF), D_INF, 0);
    checkf("fsqrt.s-2-rup", FOP1("fsqrt.s", ", rup", B(0x40000000)), B(0x3fb504f4), NX);
    checkf("fsqrt.s-2-rdn", FOP1("fsqrt.s", ", rdn", B(0x40000000)), B(0x3fb504f3), NX);
    checkf("fsqrt.s-subnormal", FOP1("fsqrt.s", ", rne", B(1)), B(0x1a3504f3), NX);
}

static void memory(void)
{
    static volatile u64 buf[3];
    u64 r;
    buf[0] = 0x1122334455667788UL;
    buf[1] = 0x99aabbccddeeff00UL;
    /* Misaligned FP loads and stores in RAM are performed, as integer ones are. */
    asm volatile("fld ft0, 4(%1)\n\tfmv.x.d %0, ft0" : "=r"(r) : "r"(buf) : "ft0");
    check("fld-misaligned", r, 0xddeeff0011223344UL);
    asm volatile("flw ft0, 2(%1)\n\tfmv.x.d %0, ft0" : "=r"(r) : "r"(buf) : "ft0");
    check("flw-misaligned-boxed", r, B(0x33445566UL));
    asm volatile("fmv.d.x ft0, %0\n\tfsd ft0, 3(%1)" :: "r"(0x0102030405060708UL), "r"(buf) : "ft0", "memory");
    check("fsd-misaligned-lo", buf[0], 0x0405060708667788UL);
    check("fsd-misaligned-hi", buf[1], 0x99aabbccdd010203UL);
    /* Outside RAM (128 MiB) and any device: access faults with the address as tval. */
    trap_expect();
    asm volatile("fld ft0, 0(%0)" :: "r"(0x88000000UL) : "ft0");
    check_trap("fld-access-fault", CAUSE_LOAD_ACCESS, 0x88000000UL);
    trap_expect();
    asm volatile("fsw ft0, 8(%0)" :: "r"(0x88000000UL) : "memory");
    check_trap("fsw-access-fault", CAUSE_STORE_ACCESS, 0x88000008UL);
}

int main(void)
{
    csr_set(mstatus, MSTATUS_FS);
    rounding();
    underflow();
    nan_boxing();
    nans();
    minmax();
    compare();
    classify();
    conversions();
    fused();
    divsqrt();
    memory();
    return summary();
}
