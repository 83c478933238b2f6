/* misaligned: plain loads and stores at every misaligned offset, including
 * across a doubleword and a page boundary. The spec lets an implementation
 * either perform them or trap (unprivileged spec 2.6); QEMU 7.2 and hvlab
 * both perform them, so this guest runs on both. Misaligned LR is checked to
 * trap with cause 4 (both agree); misaligned SC/AMO are in the guest "spec"
 * because QEMU 7.2 reports them differently from the spec. */
#include "rt.h"

static u8 buf[2 * 4096] __attribute__((aligned(4096)));

#define LOAD(op, p) ({ u64 r_; asm volatile(op " %0, 0(%1)" : "=r"(r_) : "r"(p) : "memory"); r_; })
#define STORE(op, p, v) asm volatile(op " %1, 0(%0)" :: "r"(p), "r"((u64)(v)) : "memory")

static void fill(void)
{
    for (int i = 0; i < (int)sizeof buf; i++)
        buf[i] = (u8)(0x80 + i);
}

static void loads(void)
{
    static const char *names_ld[8] = { 0, "ld+1", "ld+2", "ld+3", "ld+4", "ld+5", "ld+6", "ld+7" };
    static const char *names_lw[4] = { 0, "lw+1", "lw+2", "lw+3" };
    fill();
    for (int off = 1; off < 8; off++) {
        u64 want = 0;
        for (int b = 7; b >= 0; b--)
            want = (want << 8) | buf[8 + off + b];
        check(names_ld[off], LOAD("ld", &buf[8 + off]), want);
    }
    for (int off = 1; off < 4; off++) {
        u32 w = 0;
        for (int b = 3; b >= 0; b--)
            w = (w << 8) | buf[4 + off + b];
        check(names_lw[off], LOAD("lw", &buf[4 + off]), (u64)(s64)(s32)w);
    }
    check("lwu+1", LOAD("lwu", &buf[1]), 0x84838281UL);
    check("lh+1", LOAD("lh", &buf[1]), 0xffffffffffff8281UL);
    check("lhu+3", LOAD("lhu", &buf[3]), 0x8483);
    check("ld-cross-doubleword", LOAD("ld", &buf[13]), 0x94939291908f8e8dUL);
    check("ld-cross-page", LOAD("ld", &buf[4093]), 0x84838281807f7e7dUL);
    check("lw-cross-page", LOAD("lw", &buf[4094]), 0xffffffff81807f7eUL);
}

static void stores(void)
{
    u64 *d = (u64 *)buf;
    memset(buf, 0, 32);
    STORE("sd", &buf[3], 0x1122334455667788UL);
    check("sd+3-low", d[0], 0x4455667788000000UL);
    check("sd+3-high", d[1], 0x0000000000112233UL);
    memset(buf, 0, 32);
    STORE("sw", &buf[6], 0xaabbccddUL);
    check("sw+6", d[0], 0xccdd000000000000UL);
    check("sw+6-high", d[1], 0xaabb);
    memset(buf, 0, 32);
    STORE("sh", &buf[7], 0xeeffUL);
    check("sh+7", d[0] >> 56 | d[1] << 8, 0xeeff);
    memset(&buf[4088], 0, 16);
    STORE("sd", &buf[4092], 0x0102030405060708UL);
    check("sd-cross-page-low", *(u64 *)&buf[4088], 0x0506070800000000UL);
    check("sd-cross-page-high", *(u64 *)&buf[4096], 0x01020304UL);
}

static void lr(void)
{
    trap_expect();
    asm volatile("lr.w t0, (%0)" :: "r"(&buf[2]) : "t0", "memory");
    check_trap("lr.w-misaligned", CAUSE_MISALIGNED_LOAD, (u64)&buf[2]);
    trap_expect();
    asm volatile("lr.d t0, (%0)" :: "r"(&buf[4]) : "t0", "memory");
    check_trap("lr.d-misaligned", CAUSE_MISALIGNED_LOAD, (u64)&buf[4]);
}

int main(void)
{
    println("misaligned: loads and stores at unaligned addresses");
    loads();
    stores();
    lr();
    return summary();
}
