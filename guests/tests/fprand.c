/* fprand: a randomized differential test of the F and D extensions
 * (unprivileged spec ch. 11 and 12). A fixed-seed generator makes operands
 * from special values, random bit patterns, short significands (which make
 * ties), subnormals, values near overflow and underflow, near-integers for the
 * conversions and correlated pairs (x + -x, a*b - c with c close to a*b) for
 * cancellation. Every operation runs on each case in each rounding mode (set
 * through frm, the instruction's rm = DYN), and the result bits and the
 * fflags it raised are folded into one hash per operation and mode: one line
 * each, whose golden value is QEMU's. Build with -DVERBOSE to print every case
 * instead (to find the first difference). */
#include "rt.h"

#define CASES 2000

static u64 seed = 0x9E3779B97F4A7C15UL;
static u64 rnd(void)
{
    /* xorshift64* (Vigna 2016) */
    seed ^= seed >> 12;
    seed ^= seed << 25;
    seed ^= seed >> 27;
    return seed * 0x2545F4914F6CDD1DUL;
}

static const u64 special_d[] = {
    0, 0x8000000000000000UL, 0x7ff0000000000000UL, 0xfff0000000000000UL,
    0x7ff8000000000000UL, 0x7ff4000000000001UL, 0xfff8000000000123UL, 0x7ff0000000000001UL,
    1, 0x8000000000000001UL, 0x000fffffffffffffUL, 0x0010000000000000UL,
    0x8010000000000000UL, 0x7fefffffffffffffUL, 0xffefffffffffffffUL, 0x3ff0000000000000UL,
    0xbff0000000000000UL, 0x3fe0000000000000UL, 0xbfe0000000000000UL, 0x41e0000000000000UL,
    0xc1e0000000000000UL, 0x41f0000000000000UL, 0x43e0000000000000UL, 0xc3e0000000000000UL,
    0x43f0000000000000UL, 0x41dfffffffc00000UL, 0xc1e0000000200000UL, 0x3ff8000000000000UL,
    0x4004000000000000UL, 0xc00c000000000000UL, 0x3cb0000000000000UL, 0x0000000000000002UL,
};
static const u32 special_s[] = {
    0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7fa00001, 0xffc00123, 0x7f800001,
    1, 0x80000001, 0x007fffff, 0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff, 0x3f800000,
    0xbf800000, 0x3f000000, 0xbf000000, 0x4f000000, 0xcf000000, 0x4f800000, 0x5f000000,
    0xdf000000, 0x5f800000, 0x4effffff, 0xcf000001, 0x3fc00000, 0x40200000, 0xc0600000,
    0x33800000, 2,
};
#define NSPECIAL 32

/* A binary64 (or, with s, binary32 in the low 32 bits) operand. */
static u64 gen(int s)
{
    u64 fb = s ? 23 : 52, bias = s ? 127 : 1023, emax = s ? 255 : 2047;
    u64 sign = (rnd() & 1) << (s ? 31 : 63);
    u64 e, f = rnd() & ((1UL << fb) - 1);
    switch (rnd() % 12) {
    case 0: case 1: return s ? special_s[rnd() % NSPECIAL] : special_d[rnd() % NSPECIAL];
    case 2: return s ? rnd() & 0xffffffff : rnd();
    case 3: /* short significand: few one bits, so sums and products tie */
        f &= ~((1UL << (fb - (rnd() % 6))) - 1);
        e = bias - 8 + rnd() % 80;
        break;
    case 4: f >>= rnd() % fb; e = 0; break;               /* subnormal */
    case 5: e = emax - 1 - rnd() % 4; break;              /* near overflow */
    case 6: e = 1 + rnd() % 4; break;                     /* near underflow */
    case 7: e = bias - 2 + rnd() % 70;                    /* near an integer */
        f &= ~((1UL << (rnd() % fb)) - 1);
        break;
    default: e = bias - 30 + rnd() % 60; break;
    }
    return sign | (e << fb) | f;
}

static u64 gen_int(void)
{
    u64 v;
    switch (rnd() % 6) {
    case 0: {
        static const u64 sp[] = { 0, 1, -1UL, 0x7fffffff, 0x80000000, 0xffffffff,
            0x7fffffffffffffffUL, 0x8000000000000000UL, 0x100000001UL, 0xffffffff80000000UL,
            0x20000001, 0x1000001, 0x20000000000001UL, 0xfffffffffffff801UL };
        return sp[rnd() % 14];
    }
    case 1: return rnd();
    default:
        v = rnd() >> (rnd() % 64);
        return rnd() & 1 ? -v : v;
    }
}

/* Operations: a stub loads the operands (fmv: singles arrive NaN-boxed or not,
 * as gen made them), runs the instruction with rm = DYN, and returns the result
 * bits (an f register as fmv.x.d shows it: a single must come back boxed). */
typedef u64 (*opfn)(u64, u64, u64);
#define LD3 "fmv.d.x ft0, %1\n\tfmv.d.x ft1, %2\n\tfmv.d.x ft2, %3\n\t"
#define FOP(name, insn) static u64 name(u64 a, u64 b, u64 c) { u64 r; \
    asm volatile(LD3 insn "\n\tfmv.x.d %0, ft3" : "=r"(r) : "r"(a), "r"(b), "r"(c) : "ft0", "ft1", "ft2", "ft3"); return r; }
#define IOP(name, insn) static u64 name(u64 a, u64 b, u64 c) { u64 r; \
    asm volatile(LD3 insn : "=r"(r) : "r"(a), "r"(b), "r"(c) : "ft0", "ft1", "ft2"); return r; }
#define XOP(name, insn) static u64 name(u64 a, u64 b, u64 c) { u64 r; (void)b; (void)c; \
    asm volatile(insn "\n\tfmv.x.d %0, ft3" : "=r"(r) : "r"(a) : "ft3"); return r; }

FOP(fadd_d, "fadd.d ft3, ft0, ft1, dyn")
FOP(fsub_d, "fsub.d ft3, ft0, ft1, dyn")
FOP(fmul_d, "fmul.d ft3, ft0, ft1, dyn")
FOP(fdiv_d, "fdiv.d ft3, ft0, ft1, dyn")
FOP(fsqrt_d, "fsqrt.d ft3, ft0, dyn")
FOP(fmadd_d, "fmadd.d ft3, ft0, ft1, ft2, dyn")
FOP(fmsub_d, "fmsub.d ft3, ft0, ft1, ft2, dyn")
FOP(fnmsub_d, "fnmsub.d ft3, ft0, ft1, ft2, dyn")
FOP(fnmadd_d, "fnmadd.d ft3, ft0, ft1, ft2, dyn")
FOP(fmin_d, "fmin.d ft3, ft0, ft1")
FOP(fmax_d, "fmax.d ft3, ft0, ft1")
FOP(fsgnj_d, "fsgnj.d ft3, ft0, ft1")
FOP(fsgnjn_d, "fsgnjn.d ft3, ft0, ft1")
FOP(fsgnjx_d, "fsgnjx.d ft3, ft0, ft1")
IOP(feq_d, "feq.d %0, ft0, ft1")
IOP(flt_d, "flt.d %0, ft0, ft1")
IOP(fle_d, "fle.d %0, ft0, ft1")
IOP(fclass_d, "fclass.d %0, ft0")
IOP(fcvt_w_d, "fcvt.w.d %0, ft0, dyn")
IOP(fcvt_wu_d, "fcvt.wu.d %0, ft0, dyn")
IOP(fcvt_l_d, "fcvt.l.d %0, ft0, dyn")
IOP(fcvt_lu_d, "fcvt.lu.d %0, ft0, dyn")
FOP(fcvt_s_d, "fcvt.s.d ft3, ft0, dyn")
XOP(fcvt_d_w, "fcvt.d.w ft3, %1")
XOP(fcvt_d_wu, "fcvt.d.wu ft3, %1")
XOP(fcvt_d_l, "fcvt.d.l ft3, %1, dyn")
XOP(fcvt_d_lu, "fcvt.d.lu ft3, %1, dyn")

FOP(fadd_s, "fadd.s ft3, ft0, ft1, dyn")
FOP(fsub_s, "fsub.s ft3, ft0, ft1, dyn")
FOP(fmul_s, "fmul.s ft3, ft0, ft1, dyn")
FOP(fdiv_s, "fdiv.s ft3, ft0, ft1, dyn")
FOP(fsqrt_s, "fsqrt.s ft3, ft0, dyn")
FOP(fmadd_s, "fmadd.s ft3, ft0, ft1, ft2, dyn")
FOP(fmsub_s, "fmsub.s ft3, ft0, ft1, ft2, dyn")
FOP(fnmsub_s, "fnmsub.s ft3, ft0, ft1, ft2, dyn")
FOP(fnmadd_s, "fnmadd.s ft3, ft0, ft1, ft2, dyn")
FOP(fmin_s, "fmin.s ft3, ft0, ft1")
FOP(fmax_s, "fmax.s ft3, ft0, ft1")
FOP(fsgnj_s, "fsgnj.s ft3, ft0, ft1")
FOP(fsgnjn_s, "fsgnjn.s ft3, ft0, ft1")
FOP(fsgnjx_s, "fsgnjx.s ft3, ft0, ft1")
IOP(feq_s, "feq.s %0, ft0, ft1")
IOP(flt_s, "flt.s %0, ft0, ft1")
IOP(fle_s, "fle.s %0, ft0, ft1")
IOP(fclass_s, "fclass.s %0, ft0")
IOP(fcvt_w_s, "fcvt.w.s %0, ft0, dyn")
IOP(fcvt_wu_s, "fcvt.wu.s %0, ft0, dyn")
IOP(fcvt_l_s, "fcvt.l.s %0, ft0, dyn")
IOP(fcvt_lu_s, "fcvt.lu.s %0, ft0, dyn")
FOP(fcvt_d_s, "fcvt.d.s ft3, ft0")
XOP(fcvt_s_w, "fcvt.s.w ft3, %1, dyn")
XOP(fcvt_s_wu, "fcvt.s.wu ft3, %1, dyn")
XOP(fcvt_s_l, "fcvt.s.l ft3, %1, dyn")
XOP(fcvt_s_lu, "fcvt.s.lu ft3, %1, dyn")
IOP(fmv_x_w, "fmv.x.w %0, ft0")
XOP(fmv_w_x, "fmv.w.x ft3, %1")

/* Operand kinds. */
#define K_D 0     /* binary64 operands */
#define K_S 1     /* binary32 operands */
#define K_INT 2   /* one integer operand */
#define K_DS 3    /* a binary64 operand converted to single */
#define K_SD 4    /* a binary32 operand converted to double */

struct op { const char *name; opfn fn; int kind; int nargs; int rounds; };
static const struct op ops[] = {
    { "fadd.d", fadd_d, K_D, 2, 1 }, { "fsub.d", fsub_d, K_D, 2, 1 },
    { "fmul.d", fmul_d, K_D, 2, 1 }, { "fdiv.d", fdiv_d, K_D, 2, 1 },
    { "fsqrt.d", fsqrt_d, K_D, 1, 1 }, { "fmadd.d", fmadd_d, K_D, 3, 1 },
    { "fmsub.d", fmsub_d, K_D, 3, 1 }, { "fnmsub.d", fnmsub_d, K_D, 3, 1 },
    { "fnmadd.d", fnmadd_d, K_D, 3, 1 }, { "fmin.d", fmin_d, K_D, 2, 0 },
    { "fmax.d", fmax_d, K_D, 2, 0 }, { "fsgnj.d", fsgnj_d, K_D, 2, 0 },
    { "fsgnjn.d", fsgnjn_d, K_D, 2, 0 }, { "fsgnjx.d", fsgnjx_d, K_D, 2, 0 },
    { "feq.d", feq_d, K_D, 2, 0 }, { "flt.d", flt_d, K_D, 2, 0 }, { "fle.d", fle_d, K_D, 2, 0 },
    { "fclass.d", fclass_d, K_D, 1, 0 }, { "fcvt.w.d", fcvt_w_d, K_D, 1, 1 },
    { "fcvt.wu.d", fcvt_wu_d, K_D, 1, 1 }, { "fcvt.l.d", fcvt_l_d, K_D, 1, 1 },
    { "fcvt.lu.d", fcvt_lu_d, K_D, 1, 1 }, { "fcvt.s.d", fcvt_s_d, K_D, 1, 1 },
    { "fcvt.d.w", fcvt_d_w, K_INT, 1, 0 }, { "fcvt.d.wu", fcvt_d_wu, K_INT, 1, 0 },
    { "fcvt.d.l", fcvt_d_l, K_INT, 1, 1 }, { "fcvt.d.lu", fcvt_d_lu, K_INT, 1, 1 },
    { "fadd.s", fadd_s, K_S, 2, 1 }, { "fsub.s", fsub_s, K_S, 2, 1 },
    { "fmul.s", fmul_s, K_S, 2, 1 }, { "fdiv.s", fdiv_s, K_S, 2, 1 },
    { "fsqrt.s", fsqrt_s, K_S, 1, 1 }, { "fmadd.s", fmadd_s, K_S, 3, 1 },
    { "fmsub.s", fmsub_s, K_S, 3, 1 }, { "fnmsub.s", fnmsub_s, K_S, 3, 1 },
    { "fnmadd.s", fnmadd_s, K_S, 3, 1 }, { "fmin.s", fmin_s, K_S, 2, 0 },
    { "fmax.s", fmax_s, K_S, 2, 0 }, { "fsgnj.s", fsgnj_s, K_S, 2, 0 },
    { "fsgnjn.s", fsgnjn_s, K_S, 2, 0 }, { "fsgnjx.s", fsgnjx_s, K_S, 2, 0 },
    { "feq.s", feq_s, K_S, 2, 0 }, { "flt.s", flt_s, K_S, 2, 0 }, { "fle.s", fle_s, K_S, 2, 0 },
    { "fclass.s", fclass_s, K_S, 1, 0 }, { "fcvt.w.s", fcvt_w_s, K_S, 1, 1 },
    { "fcvt.wu.s", fcvt_wu_s, K_S, 1, 1 }, { "fcvt.l.s", fcvt_l_s, K_S, 1, 1 },
    { "fcvt.lu.s", fcvt_lu_s, K_S, 1, 1 }, { "fcvt.d.s", fcvt_d_s, K_S, 1, 0 },
    { "fcvt.s.w", fcvt_s_w, K_INT, 1, 1 }, { "fcvt.s.wu", fcvt_s_wu, K_INT, 1, 1 },
    { "fcvt.s.l", fcvt_s_l, K_INT, 1, 1 }, { "fcvt.s.lu", fcvt_s_lu, K_INT, 1, 1 },
    { "fmv.x.w", fmv_x_w, K_S, 1, 0 }, { "fmv.w.x", fmv_w_x, K_INT, 1, 0 },
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))
static const char *rm_name[] = { "rne", "rtz", "rdn", "rup", "rmm" };

/* A single operand: NaN-boxed, except now and then (it must read as the canonical NaN). */
static u64 box(u64 v)
{
    if (rnd() % 64 == 0) return (rnd() << 32) | (v & 0xffffffff);
    return 0xffffffff00000000UL | v;
}

static u64 operand(int kind, int s)
{
    (void)kind;
    return s ? box(gen(1)) : gen(0);
}

int main(void)
{
    csr_set(mstatus, MSTATUS_FS);
    for (u64 i = 0; i < NOPS; i++) {
        const struct op *o = &ops[i];
        int s = o->kind == K_S;
        for (u64 rm = 0; rm < (o->rounds ? 5 : 1); rm++) {
            u64 h = 0xcbf29ce484222325UL;
            csr_write(frm, rm);
            for (u64 n = 0; n < CASES; n++) {
                u64 a, b, c;
                if (o->kind == K_INT) {
                    a = gen_int(); b = c = 0;
                } else {
                    a = operand(o->kind, s);
                    b = operand(o->kind, s);
                    c = operand(o->kind, s);
                    u64 sbit = s ? 0x80000000UL : 0x8000000000000000UL;
                    switch (rnd() % 8) {
                    case 0: b = (a ^ sbit) + (rnd() % 5) - 2; break;  /* a + b cancels */
                    case 1: { /* c close to -(a * b): the fused sum cancels */
                        u64 p = s ? fmul_s(a, b, 0) : fmul_d(a, b, 0);
                        c = (p ^ sbit) + (rnd() % 5) - 2;
                        if (s) c = 0xffffffff00000000UL | (c & 0xffffffff);
                        break;
                    }
                    }
                }
                csr_write(fflags, 0);
                u64 r = o->fn(a, b, c);
                u64 fl = csr_read(fflags);
#ifdef VERBOSE
                print(o->name); putc(' '); print(rm_name[rm]); putc(' ');
                print_hex(a); putc(' '); print_hex(b); putc(' '); print_hex(c); print(" -> ");
                print_hex(r); putc(' '); print_hex(fl); putc('\n');
#endif
                h = (h ^ r) * 0x100000001b3UL;
                h = (h ^ fl) * 0x100000001b3UL;
            }
            print(o->name);
            putc(' ');
            print(rm_name[rm]);
            putc(' ');
            print_hex(h);
            putc('\n');
        }
    }
    exit(0);
}
