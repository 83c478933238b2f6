/* rv64a: atomics (unprivileged spec ch. 8). LR/SC success and failure (rd = 0
 * on success, nonzero on failure; a failed SC writes nothing), SC without a
 * reservation, SC to another address than the LR; every AMO in .W and .D
 * (old value returned, sign-extended for .W; memory result; the other half of
 * the doubleword untouched by .W); the aq/rl variants. */
#include "rt.h"

#define AMO(op, p, v) ({ u64 r_; asm volatile(op " %0, %2, (%1)" : "=r"(r_) : "r"(p), "r"((u64)(v)) : "memory"); r_; })
#define LR(op, p) ({ u64 r_; asm volatile(op " %0, (%1)" : "=r"(r_) : "r"(p) : "memory"); r_; })
#define SC(op, p, v) ({ u64 r_; asm volatile(op " %0, %2, (%1)" : "=&r"(r_) : "r"(p), "r"((u64)(v)) : "memory"); r_; })

/* Cells 128 bytes apart, so they lie in different reservation sets. */
static volatile u64 cell[64] __attribute__((aligned(128)));
#define A (&cell[0])
#define B (&cell[16])

static void lrsc(void)
{
    u64 r;
    *A = 0x1111;
    r = LR("lr.d", A);
    check("lr.d-value", r, 0x1111);
    r = SC("sc.d", A, 0x2222);
    check("sc.d-success-rd", r, 0);
    check("sc.d-success-mem", *A, 0x2222);
    r = SC("sc.d", A, 0x3333);
    check_true("sc.d-no-reservation-fails", r != 0);
    check("sc.d-no-reservation-mem", *A, 0x2222);

    *B = 0x4444;
    r = LR("lr.d", A);
    r = SC("sc.d", B, 0x5555);
    check_true("sc.d-other-address-fails", r != 0);
    check("sc.d-other-address-mem", *B, 0x4444);
    r = SC("sc.d", A, 0x6666);
    check_true("sc.d-after-failed-sc-fails", r != 0);

    *A = 0x00000000fffffffeUL;
    r = LR("lr.w", A);
    check("lr.w-sext", r, 0xfffffffffffffffeUL);
    r = SC("sc.w", A, 0x1234567887654321UL);
    check("sc.w-success-rd", r, 0);
    check("sc.w-writes-low-word", *A, 0x0000000087654321UL);

    r = LR("lr.d.aq", A);
    r = SC("sc.d.rl", A, 7);
    check("lr.aq-sc.rl", r, 0);
    r = LR("lr.w.aqrl", A);
    r = SC("sc.w.aqrl", A, 8);
    check("lr.aqrl-sc.aqrl", r | (*A << 8), 0x800);

    /* An LR/SC increment loop, as a lock-free counter does it. */
    *A = 0;
    for (int i = 0; i < 10; i++) {
        u64 old, fail;
        asm volatile("1: lr.d %0, (%2)\n\taddi %0, %0, 3\n\tsc.d %1, %0, (%2)\n\tbnez %1, 1b"
                     : "=&r"(old), "=&r"(fail) : "r"(A) : "memory");
    }
    check("lrsc-loop", *A, 30);
}

struct amo_case {
    const char *name;
    u64 init, operand, want_old, want_mem;
};

#define RUN_D(op, c) do { *A = (c).init; u64 o_ = AMO(op, A, (c).operand); \
    check((c).name, o_, (c).want_old); check((c).name, *A, (c).want_mem); } while (0)

static void amo_d(void)
{
    const u64 neg = 0xfffffffffffffff0UL;   /* -16 */
    struct amo_case c;
    c = (struct amo_case){ "amoswap.d", 5, 9, 5, 9 };                    RUN_D("amoswap.d", c);
    c = (struct amo_case){ "amoadd.d", 5, neg, 5, 0xfffffffffffffff5UL }; RUN_D("amoadd.d", c);
    c = (struct amo_case){ "amoand.d", 0xff0f, 0x0ff0, 0xff0f, 0x0f00 };  RUN_D("amoand.d", c);
    c = (struct amo_case){ "amoor.d", 0xf000, 0x000f, 0xf000, 0xf00f };   RUN_D("amoor.d", c);
    c = (struct amo_case){ "amoxor.d", 0xff, 0x0f, 0xff, 0xf0 };           RUN_D("amoxor.d", c);
    c = (struct amo_case){ "amomax.d", 5, neg, 5, 5 };                    RUN_D("amomax.d", c);
    c = (struct amo_case){ "amomax.d-pos", neg, 5, neg, 5 };              RUN_D("amomax.d", c);
    c = (struct amo_case){ "amomin.d", 5, neg, 5, neg };                  RUN_D("amomin.d", c);
    c = (struct amo_case){ "amomaxu.d", 5, neg, 5, neg };                 RUN_D("amomaxu.d", c);
    c = (struct amo_case){ "amominu.d", 5, neg, 5, 5 };                   RUN_D("amominu.d", c);
    c = (struct amo_case){ "amoadd.d.aq", 1, 2, 1, 3 };                   RUN_D("amoadd.d.aq", c);
    c = (struct amo_case){ "amoswap.d.rl", 1, 2, 1, 2 };                  RUN_D("amoswap.d.rl", c);
    c = (struct amo_case){ "amoor.d.aqrl", 1, 2, 1, 3 };                  RUN_D("amoor.d.aqrl", c);
}

/* .W on the low word of a doubleword whose high word holds a guard value. */
#define GUARD 0x5a5a5a5a00000000UL
#define RUN_W(op, c) do { *A = GUARD | (u32)(c).init; u64 o_ = AMO(op, A, (c).operand); \
    check((c).name, o_, (c).want_old); check((c).name, *A, GUARD | (u32)(c).want_mem); } while (0)

static void amo_w(void)
{
    const u64 neg = 0xfffffffffffffff0UL;   /* -16 as a register value */
    struct amo_case c;
    c = (struct amo_case){ "amoswap.w", 0x80000000, 9, 0xffffffff80000000UL, 9 };      RUN_W("amoswap.w", c);
    c = (struct amo_case){ "amoadd.w", 0x7fffffff, 1, 0x7fffffff, 0x80000000 };        RUN_W("amoadd.w", c);
    c = (struct amo_case){ "amoadd.w-wrap", 0xffffffff, 1, ~0UL, 0 };                  RUN_W("amoadd.w", c);
    c = (struct amo_case){ "amoand.w", 0xf0f0f0f0, 0xff00ff00, 0xfffffffff0f0f0f0UL, 0xf000f000 }; RUN_W("amoand.w", c);
    c = (struct amo_case){ "amoor.w", 0x0000f000, 0x8000000f, 0xf000, 0x8000f00f };    RUN_W("amoor.w", c);
    c = (struct amo_case){ "amoxor.w", 0xff, 0x0f, 0xff, 0xf0 };                        RUN_W("amoxor.w", c);
    c = (struct amo_case){ "amomax.w", 5, neg, 5, 5 };                                 RUN_W("amomax.w", c);
    c = (struct amo_case){ "amomax.w-upper-ignored", 5, 0x100000000UL, 5, 5 };         RUN_W("amomax.w", c);
    c = (struct amo_case){ "amomin.w", 5, neg, 5, 0xfffffff0 };                        RUN_W("amomin.w", c);
    c = (struct amo_case){ "amomaxu.w", 5, neg, 5, 0xfffffff0 };                       RUN_W("amomaxu.w", c);
    c = (struct amo_case){ "amominu.w", 0xfffffff0, 5, 0xfffffffffffffff0UL, 5 };      RUN_W("amominu.w", c);
    c = (struct amo_case){ "amominu.w-upper-ignored", 7, 0xffffffff00000003UL, 7, 3 }; RUN_W("amominu.w", c);
    c = (struct amo_case){ "amoadd.w.aq", 1, 2, 1, 3 };                                RUN_W("amoadd.w.aq", c);
    c = (struct amo_case){ "amoxor.w.rl", 1, 3, 1, 2 };                                RUN_W("amoxor.w.rl", c);
    c = (struct amo_case){ "amoswap.w.aqrl", 1, 2, 1, 2 };                             RUN_W("amoswap.w.aqrl", c);
    /* .W at the high word of a doubleword. */
    *A = 0x0000000100000002UL;
    check("amoadd.w-high-half", AMO("amoadd.w", (volatile u8 *)A + 4, 0x10), 1);
    check("amoadd.w-high-half-mem", *A, 0x0000001100000002UL);
    {
        u64 x0 = 1;
        *A = 77;
        asm volatile("amoadd.d x0, %1, (%2)\n\tmv %0, x0" : "=r"(x0) : "r"(3UL), "r"(A) : "memory");
        check("amo-rd-x0", x0 | (*A << 8), 80 << 8);
    }
}

int main(void)
{
    println("rv64a: atomics");
    lrsc();
    amo_d();
    amo_w();
    return summary();
}
