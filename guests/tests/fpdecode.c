/* fpdecode: which F/D encodings exist (unprivileged spec ch. 24, the RV64F and
 * RV64D listings). Every OP-FP encoding with rd = 10 and rs1 = 11 - all 128
 * funct7 values x 32 rs2 values x 8 rm values - and every fused multiply-add
 * opcode x fmt x rm is executed once from a code buffer, on fixed register
 * contents (normal, subnormal, boxed and unboxed singles, NaNs, infinities);
 * whether it trapped as illegal (mtval = the instruction), the x10 and f10 it
 * left and the flags it raised are hashed per funct7: one line each, golden
 * from QEMU. frm is RNE, so rm = DYN is legal. */
#include "rt.h"

static u32 code[2] __attribute__((aligned(8)));
static u64 h;

static const u64 fvals[32] = {
    0x3ff8000000000000UL, 0xffffffff40200000UL, 0x123456783f800000UL, 0x7ff0000000000001UL,
    0xffffffff7fc00001UL, 0x0000000000000001UL, 0xffffffff00000001UL, 0xfff0000000000000UL,
    0x8000000000000000UL, 0xffffffff80000000UL, 0x4340000000000001UL, 0xc1e0000000100000UL,
    0xffffffff7f7fffffUL, 0x7fefffffffffffffUL, 0xffffffffcf000001UL, 0x3fd5555555555555UL,
    0xffffffff3eaaaaabUL, 0x0010000000000000UL, 0xffffffff00800000UL, 0x43e0000000000000UL,
    0xffffffffff800000UL, 0x7ff8000000000000UL, 0xffffffff7fa00000UL, 0xc004000000000000UL,
    0xffffffffc0200000UL, 0x3cb0000000000000UL, 0xffffffff33800000UL, 0x0000000000000000UL,
    0xffffffff00000000UL, 0x41dfffffffc00000UL, 0xffffffff4f7fffffUL, 0x400921fb54442d18UL,
};

static void load_fregs(void)
{
    const u64 *v = fvals;
    asm volatile(
        "fld f0, 0(%0)\n\tfld f1, 8(%0)\n\tfld f2, 16(%0)\n\tfld f3, 24(%0)\n\t"
        "fld f4, 32(%0)\n\tfld f5, 40(%0)\n\tfld f6, 48(%0)\n\tfld f7, 56(%0)\n\t"
        "fld f8, 64(%0)\n\tfld f9, 72(%0)\n\tfld f10, 80(%0)\n\tfld f11, 88(%0)\n\t"
        "fld f12, 96(%0)\n\tfld f13, 104(%0)\n\tfld f14, 112(%0)\n\tfld f15, 120(%0)\n\t"
        "fld f16, 128(%0)\n\tfld f17, 136(%0)\n\tfld f18, 144(%0)\n\tfld f19, 152(%0)\n\t"
        "fld f20, 160(%0)\n\tfld f21, 168(%0)\n\tfld f22, 176(%0)\n\tfld f23, 184(%0)\n\t"
        "fld f24, 192(%0)\n\tfld f25, 200(%0)\n\tfld f26, 208(%0)\n\tfld f27, 216(%0)\n\t"
        "fld f28, 224(%0)\n\tfld f29, 232(%0)\n\tfld f30, 240(%0)\n\tfld f31, 248(%0)"
        :: "r"(v) : "memory");
}

static void mix(u64 v) { h = (h ^ v) * 0x100000001b3UL; }

/* Run `insn` (x10/f10 destination, x11/f11 first source) and hash what it did. */
static void run(u32 insn)
{
    u64 f10;
    code[0] = insn;
    code[1] = 0x00008067; /* ret */
    csr_write(fflags, 0);
    trap_expect();
    /* Declared after the calls: a call may clobber a register variable's register. */
    register u64 a0 asm("a0") = 0x5a5a5a5a5a5a5a5aUL;
    register u64 a1 asm("a1") = (u64)-7L;
    asm volatile("fence.i\n\tfmv.d.x fa0, %2\n\tjalr ra, %3\n\tfmv.x.d %1, fa0"
                 : "+r"(a0), "=r"(f10) : "r"(fvals[10]), "r"(code), "r"(a1) : "ra", "fa0", "memory");
    u64 trapped = trap.count;
    mix(trapped);
    if (trapped) {
        mix(trap.cause);
        mix(trap.tval == insn);
    }
    mix(a0);
    mix(f10);
    mix(csr_read(fflags));
}

int main(void)
{
    csr_set(mstatus, MSTATUS_FS);
    csr_write(frm, 0);
    load_fregs();
    /* OP-FP (0x53): funct7 | rs2 | rs1 = 11 | rm | rd = 10 */
    for (u32 f7 = 0; f7 < 128; f7++) {
        h = 0xcbf29ce484222325UL;
        for (u32 rs2 = 0; rs2 < 32; rs2++)
            for (u32 rm = 0; rm < 8; rm++)
                run(f7 << 25 | rs2 << 20 | 11 << 15 | rm << 12 | 10 << 7 | 0x53);
        print("op-fp funct7=");
        print_hex(f7);
        putc(' ');
        print_hex(h);
        putc('\n');
    }
    /* MADD, MSUB, NMSUB, NMADD: rs3 = 12 | fmt | rs2 = 13 | rs1 = 11 | rm | rd = 10 */
    for (u32 op = 0x43; op <= 0x4f; op += 4) {
        h = 0xcbf29ce484222325UL;
        for (u32 fmt = 0; fmt < 4; fmt++)
            for (u32 rs3 = 0; rs3 < 32; rs3 += 5)
                for (u32 rm = 0; rm < 8; rm++)
                    run(rs3 << 27 | fmt << 25 | 13 << 20 | 11 << 15 | rm << 12 | 10 << 7 | op);
        print("fma opcode=");
        print_hex(op);
        putc(' ');
        print_hex(h);
        putc('\n');
    }
    /* LOAD-FP and STORE-FP widths (funct3 0-7; only 2 and 3 exist without V or Q). */
    static u64 slot[4];
    for (u32 w = 0; w < 8; w++) {
        h = 0xcbf29ce484222325UL;
        u64 base = (u64)slot;
        u32 ld = 0 << 20 | 11 << 15 | w << 12 | 10 << 7 | 0x07;
        u32 st = 10 << 20 | 11 << 15 | w << 12 | 8 << 7 | 0x27;
        slot[0] = 0x0123456789abcdefUL;
        slot[1] = 0;
        /* rs1 = x11 must hold the buffer: run() sets a1 = -7, so use a wrapper here. */
        code[0] = ld; code[1] = 0x00008067;
        csr_write(fflags, 0);
        trap_expect();
        u64 f10;
        register u64 a1 asm("a1") = base;
        asm volatile("fence.i\n\tjalr ra, %1\n\tfmv.x.d %0, fa0" : "=r"(f10) : "r"(code), "r"(a1) : "ra", "fa0", "memory");
        mix(trap.count);
        mix(f10);
        code[0] = st;
        trap_expect();
        asm volatile("fence.i\n\tjalr ra, %0" :: "r"(code), "r"(a1) : "ra", "memory");
        mix(trap.count);
        mix(slot[1]);
        print("ld-st width=");
        print_hex(w);
        putc(' ');
        print_hex(h);
        putc('\n');
    }
    exit(0);
}
