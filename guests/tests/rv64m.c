/* rv64m: multiply and divide (unprivileged spec ch. 7), including the
 * division-by-zero and signed-overflow results of table 7.1:
 *   x/0: DIV -1, DIVU 2^XLEN-1, REM x, REMU x;  INT_MIN/-1: DIV INT_MIN, REM 0.
 * W forms use the low 32 bits of the operands and sign-extend the result. */
#include "rt.h"

#define RR(op, a, b) ({ u64 r_; asm volatile(op " %0, %1, %2" : "=r"(r_) : "r"((u64)(a)), "r"((u64)(b))); r_; })

#define MIN64 0x8000000000000000UL
#define ALL1  0xffffffffffffffffUL

static void mul(void)
{
    check("mul", RR("mul", 6, 7), 42);
    check("mul-neg", RR("mul", -3L, 5), (u64)-15L);
    check("mul-low-bits", RR("mul", 0x123456789abcdef0UL, 0x10), 0x23456789abcdef00UL);
    check("mul-wrap", RR("mul", MIN64, 2), 0);
    check("mulh-neg-neg", RR("mulh", ALL1, ALL1), 0);
    check("mulh-min-min", RR("mulh", MIN64, MIN64), 0x4000000000000000UL);
    check("mulh-min-neg1", RR("mulh", MIN64, ALL1), 0);
    check("mulh-neg-pos", RR("mulh", -2L, 3), ALL1);
    check("mulh-big", RR("mulh", 0x7fffffffffffffffUL, 0x7fffffffffffffffUL), 0x3fffffffffffffffUL);
    check("mulhu-all-ones", RR("mulhu", ALL1, ALL1), 0xfffffffffffffffeUL);
    check("mulhu-min-2", RR("mulhu", MIN64, 2), 1);
    check("mulhu-small", RR("mulhu", 0x12345, 0x6789), 0);
    check("mulhsu-neg1-max", RR("mulhsu", ALL1, ALL1), ALL1);
    check("mulhsu-2-max", RR("mulhsu", 2, ALL1), 1);
    check("mulhsu-min-max", RR("mulhsu", MIN64, ALL1), MIN64);
    check("mulhsu-neg-small", RR("mulhsu", -1L, 1), ALL1);
    check("mulw", RR("mulw", 6, 7), 42);
    check("mulw-sext", RR("mulw", 0x7fffffff, 2), 0xfffffffffffffffeUL);
    check("mulw-ignores-upper", RR("mulw", 0x100000003UL, 0x100000005UL), 15);
    check("mulw-neg", RR("mulw", 0xffffffffUL, 0xffffffffUL), 1);
}

static void div(void)
{
    check("div", RR("div", 42, 6), 7);
    check("div-trunc-neg-divisor", RR("div", 7, -2L), (u64)-3L);
    check("div-trunc-neg-dividend", RR("div", -7L, 2), (u64)-3L);
    check("div-neg-neg", RR("div", -7L, -2L), 3);
    check("div-by-zero", RR("div", 42, 0), ALL1);
    check("div-neg-by-zero", RR("div", -42L, 0), ALL1);
    check("div-overflow", RR("div", MIN64, ALL1), MIN64);
    check("divu", RR("divu", ALL1, 2), 0x7fffffffffffffffUL);
    check("divu-by-zero", RR("divu", 42, 0), ALL1);
    check("divu-min-neg1", RR("divu", MIN64, ALL1), 0);
    check("rem", RR("rem", 7, 2), 1);
    check("rem-sign-of-dividend", RR("rem", -7L, 2), ALL1);
    check("rem-neg-divisor", RR("rem", 7, -2L), 1);
    check("rem-by-zero", RR("rem", -42L, 0), (u64)-42L);
    check("rem-overflow", RR("rem", MIN64, ALL1), 0);
    check("remu", RR("remu", ALL1, 10), 5);
    check("remu-by-zero", RR("remu", 0x123456789UL, 0), 0x123456789UL);
}

static void divw(void)
{
    check("divw", RR("divw", -8L, 3), (u64)-2L);
    check("divw-ignores-upper", RR("divw", 0x100000010UL, 0x100000002UL), 8);
    check("divw-by-zero", RR("divw", 5, 0), ALL1);
    check("divw-by-zero-upper-only", RR("divw", 5, 0x100000000UL), ALL1);
    check("divw-overflow", RR("divw", 0x80000000UL, ALL1), 0xffffffff80000000UL);
    check("divuw", RR("divuw", 0xffffffffUL, 2), 0x7fffffff);
    check("divuw-sext", RR("divuw", 0x80000000UL, 1), 0xffffffff80000000UL);
    check("divuw-by-zero", RR("divuw", 5, 0), ALL1);
    check("remw", RR("remw", -8L, 3), (u64)-2L);
    check("remw-by-zero-sext", RR("remw", 0x80000001UL, 0), 0xffffffff80000001UL);
    check("remw-overflow", RR("remw", 0x80000000UL, ALL1), 0);
    check("remuw", RR("remuw", 0xffffffffUL, 2), 1);
    check("remuw-sext", RR("remuw", 0x80000005UL, 0x90000000UL), 0xffffffff80000005UL);
    check("remuw-by-zero-sext", RR("remuw", 0x1f0000000UL, 0), 0xfffffffff0000000UL);
}

int main(void)
{
    println("rv64m: multiply and divide");
    mul();
    div();
    divw();
    return summary();
}
