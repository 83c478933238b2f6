/* rvc: the C extension (unprivileged spec ch. 16, RV64C), built with
 * -march=rv64imac (one of the two guests exempt from `make check`). Every
 * RV64C instruction's result, with immediates whose bits are all set and
 * mixed so each field of each format is decoded; the reserved encodings
 * (illegal instruction, mtval = the 16 bits); HINTs running as no-ops;
 * IALIGN = 16 (jumps and branches to 2-byte aligned targets, misa.C, mepc
 * bit 0); C.FLD/C.FSD/C.FLDSP/C.FSDSP (illegal without D, a round trip with
 * it); and instruction fetch across a page boundary: a 4-byte instruction
 * split over two pages runs, and with the second page unmapped (Sv39) the
 * fetch page fault reports mtval = the second page. */
#include "rt.h"

#define MISA_EXT(c) (1UL << ((c) - 'A'))

/* a4 and a5 (x14, x15) are reachable by every compressed format. */
#define C1(insn, in) ({ u64 r_; asm volatile("mv a5, %1\n\t" insn "\n\tmv %0, a5" \
                        : "=r"(r_) : "r"((u64)(in)) : "a5", "memory"); r_; })
#define C2(insn, a, b) ({ u64 r_; asm volatile("mv a5, %1\n\tmv a4, %2\n\t" insn "\n\tmv %0, a5" \
                        : "=r"(r_) : "r"((u64)(a)), "r"((u64)(b)) : "a4", "a5", "memory"); r_; })
/* A load through a5 = base into a4. */
#define CL(insn, base) ({ u64 r_; asm volatile("mv a5, %1\n\t" insn "\n\tmv %0, a4" \
                        : "=r"(r_) : "r"(base) : "a4", "a5", "memory"); r_; })
/* A store of a4 = v through a5 = base. */
#define CS(insn, base, v) asm volatile("mv a5, %0\n\tmv a4, %1\n\t" insn \
                        :: "r"(base), "r"((u64)(v)) : "a4", "a5", "memory")
/* With 512 bytes of stack reserved: a4 = in, the sequence, result = a5. */
#define CSP(seq, in) ({ u64 r_; asm volatile("c.addi16sp sp, -512\n\tmv a4, %1\n\t" seq \
                        "\n\taddi sp, sp, 512\n\tmv %0, a5" \
                        : "=r"(r_) : "r"((u64)(in)) : "a4", "a5", "memory"); r_; })
/* 1 when the branch (on a5 = v) is taken. */
#define CB(insn, v) ({ u64 t_; asm volatile("mv a5, %1\n\tli %0, 1\n\t" insn " a5, 1f\n\tli %0, 0\n1:" \
                        : "=&r"(t_) : "r"((u64)(v)) : "a5"); t_; })
/* Run the 16-bit encoding hw, which traps; resume right after it; pc = its address. */
#define CTRAP(hw, pc) asm volatile("la t1, 1f\n\tsd t1, 0(%1)\n\tla %0, 2f\n2:\t.2byte " STR(hw) "\n1:" \
                        : "=&r"(pc) : "r"(&trap_resume) : "t1", "memory")

static u64 buf[40] __attribute__((aligned(8)));

static void quadrant0(void)
{
    u64 sp_delta;
    asm volatile("c.addi4spn a5, sp, 1020\n\tsub %0, a5, sp" : "=r"(sp_delta) :: "a5");
    check("c.addi4spn-1020", sp_delta, 1020);
    asm volatile("c.addi4spn a5, sp, 520\n\tsub %0, a5, sp" : "=r"(sp_delta) :: "a5");
    check("c.addi4spn-520", sp_delta, 520);
    asm volatile("c.addi4spn s0, sp, 4\n\tsub %0, s0, sp" : "=r"(sp_delta) :: "s0");
    check("c.addi4spn-4-s0", sp_delta, 4);

    buf[15] = 0x8765432100000000UL;
    buf[8] = 0x1234567800000000UL;
    buf[31] = 0x00000000fedcba98UL;
    buf[17] = 0x7654321080000001UL;
    buf[3] = 0x0102030405060708UL;
    buf[1] = 0x1020304050607080UL;
    check("c.lw-124-sext", CL("c.lw a4, 124(a5)", buf), 0xffffffff87654321UL);
    check("c.lw-120", CL("c.lw a4, 120(a5)", buf), 0);
    check("c.lw-68", CL("c.lw a4, 68(a5)", buf), 0x12345678UL);
    check("c.lw-0-sext", CL("c.lw a4, 0(a5)", buf + 17), 0xffffffff80000001UL);
    check("c.lw-4", CL("c.lw a4, 4(a5)", buf + 17), 0x0000000076543210UL);
    check("c.ld-248", CL("c.ld a4, 248(a5)", buf), 0x00000000fedcba98UL);
    check("c.ld-136", CL("c.ld a4, 136(a5)", buf), 0x7654321080000001UL);
    check("c.ld-0", CL("c.ld a4, 0(a5)", buf + 3), buf[3]);
    CS("c.sw a4, 124(a5)", buf, 0xaabbccdd11223344UL);
    check("c.sw-124", buf[15] >> 32, 0x11223344);
    CS("c.sw a4, 68(a5)", buf, 0x55667788);
    check("c.sw-68", buf[8] >> 32, 0x55667788);
    CS("c.sd a4, 248(a5)", buf, 0x0123456789abcdefUL);
    check("c.sd-248", buf[31], 0x0123456789abcdefUL);
    CS("c.sd a4, 136(a5)", buf, 0xfedcba9876543210UL);
    check("c.sd-136", buf[17], 0xfedcba9876543210UL);
    /* rs1' = s0 (x8) and rd' = s1 (x9): the low end of the register field. */
    {
        u64 r;
        asm volatile("mv s0, %1\n\tc.ld s1, 8(s0)\n\tmv %0, s1" : "=r"(r) : "r"(buf) : "s0", "s1", "memory");
        check("c.ld-s1-s0", r, buf[1]);
    }
}

static void quadrant1(void)
{
    check("c.nop", C1("c.nop", 0x1234), 0x1234);
    check("c.addi-neg", C1("c.addi a5, -32", 5), (u64)-27L);
    check("c.addi-max", C1("c.addi a5, 31", 1), 32);
    check("c.addiw-sext", C1("c.addiw a5, 1", 0x7fffffffUL), 0xffffffff80000000UL);
    check("c.addiw-0-sext.w", C1("c.addiw a5, 0", 0x12345678fedcba98UL), 0xfffffffffedcba98UL);
    check("c.addiw-neg", C1("c.addiw a5, -32", 0x100000000UL), 0xffffffffffffffe0UL);
    check("c.li-neg", C1("c.li a5, -32", 7), (u64)-32L);
    check("c.li-max", C1("c.li a5, 31", 7), 31);
    {
        u64 d;
        asm volatile("mv a5, sp\n\tc.addi16sp sp, -512\n\tsub %0, sp, a5\n\tmv sp, a5" : "=r"(d) :: "a5", "memory");
        check("c.addi16sp-min", d, (u64)-512L);
        asm volatile("mv a5, sp\n\tc.addi16sp sp, 496\n\tsub %0, sp, a5\n\tmv sp, a5" : "=r"(d) :: "a5", "memory");
        check("c.addi16sp-max", d, 496);
        asm volatile("mv a5, sp\n\tc.addi16sp sp, 336\n\tsub %0, sp, a5\n\tmv sp, a5" : "=r"(d) :: "a5", "memory");
        check("c.addi16sp-336", d, 336);
    }
    check("c.lui-max", C1("c.lui a5, 31", 0), 0x1f000);
    check("c.lui-neg", C1("c.lui a5, 0xfffe0", 0), 0xfffffffffffe0000UL);
    check("c.lui-1", C1("c.lui a5, 1", 0), 0x1000);
    check("c.srli-63", C1("c.srli a5, 63", 0x8000000000000000UL), 1);
    check("c.srli-32", C1("c.srli a5, 32", 0xffffffff00000000UL), 0xffffffffUL);
    check("c.srli-1", C1("c.srli a5, 1", 0x8000000000000000UL), 0x4000000000000000UL);
    check("c.srai-63", C1("c.srai a5, 63", 0x8000000000000000UL), ~0UL);
    check("c.srai-33", C1("c.srai a5, 33", 0x8000000000000000UL), 0xffffffffc0000000UL);
    check("c.andi-neg", C1("c.andi a5, -32", 0x12345678UL), 0x12345660UL);
    check("c.andi-31", C1("c.andi a5, 31", 0xffUL), 31);
    check("c.sub", C2("c.sub a5, a4", 5, 7), (u64)-2L);
    check("c.xor", C2("c.xor a5, a4", 0xff00ff00UL, 0x0ff00ff0UL), 0xf0f0f0f0UL);
    check("c.or", C2("c.or a5, a4", 0xff00ff00UL, 0x0ff00ff0UL), 0xfff0fff0UL);
    check("c.and", C2("c.and a5, a4", 0xff00ff00UL, 0x0ff00ff0UL), 0x0f000f00UL);
    check("c.subw", C2("c.subw a5, a4", 0x80000000UL, 1), 0x7fffffff);
    check("c.subw-sext", C2("c.subw a5, a4", 0, 1), ~0UL);
    check("c.addw", C2("c.addw a5, a4", 0x7fffffffUL, 1), 0xffffffff80000000UL);
    check("c.addw-ignores-upper", C2("c.addw a5, a4", 0x1234567800000001UL, 0xff00000000000002UL), 3);
    {
        u64 r;
        asm volatile("mv s0, %1\n\tmv s1, %2\n\tc.sub s0, s1\n\tmv %0, s0" : "=r"(r) : "r"(9UL), "r"(4UL) : "s0", "s1");
        check("c.sub-s0-s1", r, 5);
    }
}

static void control(void)
{
    u64 r, link, want;
    check("c.beqz-taken", CB("c.beqz", 0), 1);
    check("c.beqz-not-taken", CB("c.beqz", 1), 0);
    check("c.bnez-taken", CB("c.bnez", 0x8000000000000000UL), 1);
    check("c.bnez-not-taken", CB("c.bnez", 0), 0);
    /* Backward branches: a loop of three. */
    asm volatile("li a5, 3\n\tli a4, 0\n1:\tc.addi a4, 1\n\tc.addi a5, -1\n\tc.bnez a5, 1b\n\tmv %0, a4"
                 : "=r"(r) :: "a4", "a5");
    check("c.bnez-backward-loop", r, 3);
    /* The longest C.J (+2046) and C.BNEZ (-256) offsets. */
    asm volatile("li a5, 1\n\tc.j 1f\n\t.fill 1022, 2, 0x0001\n\tli a5, 7\n1:\tmv %0, a5" : "=r"(r) :: "a5");
    check("c.j-forward-2046", r, 1);
    asm volatile("li a5, 1\n\tli a4, 0\n\tc.j 2f\n1:\tc.li a4, 7\n\tc.j 3f\n2:\t.fill 126, 2, 0x0001\n\t"
                 "c.bnez a5, 1b\n3:\tmv %0, a4" : "=r"(r) :: "a4", "a5");
    check("c.bnez-backward-256", r, 7);
    asm volatile("li a5, 0\n\tc.j 2f\n1:\tc.addi a5, 1\n\tc.j 3f\n2:\tc.j 1b\n3:\tmv %0, a5" : "=r"(r) :: "a5");
    check("c.j-backward", r, 1);
    /* C.JR and C.JALR: the link is the pc of the next instruction, pc + 2. */
    asm volatile("li a4, 5\n\tla a5, 1f\n\tc.jr a5\n\tli a4, 9\n1:\tmv %0, a4" : "=r"(r) :: "a4", "a5");
    check("c.jr", r, 5);
    asm volatile("la a5, 1f\n\tc.jalr a5\n2:\tla %1, 2b\n\tj 3f\n1:\tmv %0, ra\n\tc.jr ra\n3:"
                 : "=&r"(link), "=&r"(want) :: "a5", "ra");
    check("c.jalr-link-pc+2", link, want);
    /* C.JALR ra: the target is read before the link is written. */
    asm volatile("la ra, 1f\n\tc.jalr ra\n2:\tla %1, 2b\n\tj 3f\n1:\tmv %0, ra\n\tc.jr ra\n3:"
                 : "=&r"(link), "=&r"(want) :: "ra");
    check("c.jalr-ra-reads-first", link, want);
    check("c.mv", C2("c.mv a5, a4", 1, 0x123456789UL), 0x123456789UL);
    check("c.add", C2("c.add a5, a4", 0x7fffffffffffffffUL, 1), 0x8000000000000000UL);
    check("c.slli-63", C1("c.slli a5, 63", 1), 0x8000000000000000UL);
    check("c.slli-32", C1("c.slli a5, 32", 0xffffffffUL), 0xffffffff00000000UL);
    check("c.slli-1", C1("c.slli a5, 1", 0x40000000UL), 0x80000000UL);
    {
        u64 pc;
        trap_expect();
        asm volatile("la t1, 1f\n\tsd t1, 0(%1)\n\tla %0, 2f\n2:\tc.ebreak\n1:"
                     : "=&r"(pc) : "r"(&trap_resume) : "t1", "memory");
        check_trap("c.ebreak", CAUSE_BREAKPOINT, 0);
        check("c.ebreak-mepc", trap.epc, pc);
    }
}

static void stack(void)
{
    check("c.sdsp-504", CSP("c.sdsp a4, 504(sp)\n\tld a5, 504(sp)", 0x0123456789abcdefUL), 0x0123456789abcdefUL);
    check("c.sdsp-328", CSP("c.sdsp a4, 328(sp)\n\tld a5, 328(sp)", 0x1122334455667788UL), 0x1122334455667788UL);
    check("c.ldsp-504", CSP("sd a4, 504(sp)\n\tc.ldsp a5, 504(sp)", 0x8877665544332211UL), 0x8877665544332211UL);
    check("c.ldsp-328", CSP("sd a4, 328(sp)\n\tc.ldsp a5, 328(sp)", 0x8877665544332211UL), 0x8877665544332211UL);
    check("c.ldsp-0", CSP("sd a4, 0(sp)\n\tc.ldsp a5, 0(sp)", 42), 42);
    check("c.swsp-252", CSP("c.swsp a4, 252(sp)\n\tlwu a5, 252(sp)", 0xaabbccdd87654321UL), 0x87654321UL);
    check("c.swsp-68", CSP("c.swsp a4, 68(sp)\n\tlwu a5, 68(sp)", 0x12345678UL), 0x12345678UL);
    check("c.lwsp-252-sext", CSP("sw a4, 252(sp)\n\tc.lwsp a5, 252(sp)", 0x87654321UL), 0xffffffff87654321UL);
    check("c.lwsp-132", CSP("sw a4, 132(sp)\n\tc.lwsp a5, 132(sp)", 0x7654321UL), 0x7654321UL);
}

/* HINTs (section 16.7) execute as no-ops: a5 keeps its value. */
static void hints(void)
{
    check("hint-c.addi-x0", C1(".2byte 0x0005", 77), 77);        /* c.addi x0, 1 */
    check("hint-c.addi-imm0", C1(".2byte 0x0781", 77), 77);      /* c.addi a5, 0 */
    check("hint-c.li-x0", C1(".2byte 0x4015", 77), 77);          /* c.li x0, 5 */
    check("hint-c.lui-x0", C1(".2byte 0x6005", 77), 77);         /* c.lui x0, 1 */
    check("hint-c.mv-x0", C1(".2byte 0x803e", 77), 77);          /* c.mv x0, a5 */
    check("hint-c.add-x0", C1(".2byte 0x903e", 77), 77);         /* c.add x0, a5 */
    check("hint-c.slli-x0", C1(".2byte 0x0006", 77), 77);        /* c.slli x0, 1 */
    check("hint-c.slli-shamt0", C1(".2byte 0x0782", 77), 77);    /* c.slli a5, 0 */
    check("hint-c.srli-shamt0", C1(".2byte 0x8381", 77), 77);    /* c.srli a5, 0 */
    check("hint-c.srai-shamt0", C1(".2byte 0x8781", 77), 77);    /* c.srai a5, 0 */
}

/* Reserved encodings: illegal instruction, mtval = the 16 bits, mepc = them. */
#define RESERVED(name, hw) do { u64 pc_; trap_expect(); CTRAP(hw, pc_); \
        check_trap(name, CAUSE_ILLEGAL_INSN, hw); check(name "-mepc", trap.epc, pc_); } while (0)

static void reserved(void)
{
    RESERVED("illegal-all-zero", 0x0000);
    RESERVED("illegal-c.addi4spn-imm0", 0x0004);
    RESERVED("illegal-q0-funct3-100", 0x8000);
    RESERVED("illegal-c.addiw-rd0", 0x2005);
    RESERVED("illegal-c.addi16sp-imm0", 0x6101);
    RESERVED("illegal-c.lui-imm0", 0x6281);
    RESERVED("illegal-q1-alu-w-10", 0x9c41);
    RESERVED("illegal-q1-alu-w-11", 0x9c61);
    RESERVED("illegal-c.lwsp-rd0", 0x4002);
    RESERVED("illegal-c.ldsp-rd0", 0x6002);
    RESERVED("illegal-c.jr-rs1-0", 0x8002);
}

/* C.FLD/C.FSD/C.FLDSP/C.FSDSP are D instructions: illegal while misa.D = 0,
 * a round trip through f8 when D is present. Either way one line each. */
static void fp(void)
{
    static const u16 enc[4] = { 0x2380, 0xa780, 0x2442, 0xac22 };
    static const char *const names[4] = { "c.fld", "c.fsd", "c.fldsp", "c.fsdsp" };
    if (csr_read(misa) & MISA_EXT('D')) {
        u64 out[2] = { 0, 0 };
        u64 in = 0x400921fb54442d18UL, r;
        csr_set(mstatus, 1UL << 13);    /* mstatus.FS = Initial */
        /* c.fld f8, 0(a5); c.fsd f8, 8(a5) */
        out[0] = in;
        asm volatile("mv a5, %0\n\t.2byte 0x2380\n\t.2byte 0xa780" :: "r"(out) : "a5", "memory");
        check_true("c.fld", out[1] == in);
        check_true("c.fsd", out[1] == in);
        /* c.fldsp f8, 16(sp); c.fsdsp f8, 24(sp) */
        r = CSP("sd a4, 16(sp)\n\t.2byte 0x2442\n\t.2byte 0xac22\n\tld a5, 24(sp)", in);
        check_true("c.fldsp", r == in);
        check_true("c.fsdsp", r == in);
        return;
    }
    for (int i = 0; i < 4; i++) {
        u64 pc;
        trap_expect();
        switch (i) {
        case 0: CTRAP(0x2380, pc); break;
        case 1: CTRAP(0xa780, pc); break;
        case 2: CTRAP(0x2442, pc); break;
        default: CTRAP(0xac22, pc); break;
        }
        check_trap(names[i], CAUSE_ILLEGAL_INSN, enc[i]);
        (void)pc;
    }
}

static void ialign16(void)
{
    u64 misa = csr_read(misa);
    check("misa-has-C", misa & MISA_EXT('C'), MISA_EXT('C'));
    /* A 4-byte JALR to a 2-byte aligned target runs it (no misaligned fetch). */
    {
        u64 r;
        trap_expect();
        asm volatile("li a5, 0\n\tla a4, 1f\n\tjalr ra, 2(a4)\n\t.balign 4\n1:\tc.li a5, 1\n\tc.addi a5, 2\n\tmv %0, a5"
                     : "=r"(r) :: "a4", "a5", "ra");
        check("jalr-2-aligned-target", r, 2);
        asm volatile("li a5, 0\n\t.balign 4\n\tbeq x0, x0, 1f\n\tc.li a5, 3\n1:\tc.addi a5, 1\n\tmv %0, a5" : "=r"(r) :: "a5");
        check("branch-2-aligned-target", r, 1);
        asm volatile("li a5, 0\n\t.balign 4\n\tjal x0, 1f\n\tc.li a5, 3\n1:\tc.addi a5, 4\n\tmv %0, a5" : "=r"(r) :: "a5");
        check("jal-2-aligned-target", r, 4);
        check_no_trap("ialign16-no-misaligned-fetch");
    }
}

/* ---- Fetch across a page boundary (privileged spec 1.5, 3.1.16) ---- */

static u8 xpages[3 * PAGE_SIZE] __attribute__((aligned(4096)));
static u64 root[512] __attribute__((aligned(4096)));
static u64 l1[512] __attribute__((aligned(4096)));
static u64 l0[512] __attribute__((aligned(4096)));

#define ADDI_A5_A5_1 0x00178793u   /* addi a5, a5, 1 */
#define C_ADDI_A5_1  0x0785u       /* c.addi a5, 1 */
#define C_JR_RA      0x8082u       /* c.jr ra (ret) */

static void put16(u8 *p, u16 v) { *(volatile u16 *)p = v; }

/* Call the code at `at` with a5 = 41; returns a5. A fault resumes after the call. */
static u64 call_with_a5(u64 at)
{
    u64 r;
    asm volatile("fence.i\n\tla t1, 1f\n\tsd t1, 0(%1)\n\tli a5, 41\n\tjalr ra, 0(%2)\n1:\tmv %0, a5"
                 : "=r"(r) : "r"(&trap_resume), "r"(at) : "t1", "a5", "ra", "memory");
    trap_resume = 0;
    return r;
}

static u64 leaf(u64 pa, u64 perm) { return ((pa >> PAGE_SHIFT) << PTE_PPN_SHIFT) | perm | PTE_V; }

static void cross_page(void)
{
    u8 *a = xpages, *b = xpages + PAGE_SIZE, *c = xpages + 2 * PAGE_SIZE;
    const u64 rwxad = PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;

    /* Bare (M-mode): a 4-byte instruction whose halves are on two pages. */
    put16(a + PAGE_SIZE - 2, ADDI_A5_A5_1 & 0xffff);
    put16(b, ADDI_A5_A5_1 >> 16);
    put16(b + 2, C_JR_RA);
    check("cross-page-4byte-runs", call_with_a5((u64)a + PAGE_SIZE - 2), 42);
    put16(a + PAGE_SIZE - 2, C_ADDI_A5_1);
    put16(b, C_JR_RA);
    check("page-end-2byte-runs", call_with_a5((u64)a + PAGE_SIZE - 2), 42);

    /* Sv39 in S-mode, identity map of RAM with page c unmapped. */
    check_true("xpages-in-first-2MiB", (u64)c + PAGE_SIZE <= RAM_BASE + (2UL << 20));
    root[2] = ((u64)l1 >> PAGE_SHIFT) << PTE_PPN_SHIFT | PTE_V;
    l1[0] = ((u64)l0 >> PAGE_SHIFT) << PTE_PPN_SHIFT | PTE_V;
    for (u64 i = 1; i < 64; i++)
        l1[i] = leaf(RAM_BASE + (i << 21), rwxad);
    for (u64 i = 0; i < 512; i++)
        l0[i] = leaf(RAM_BASE + (i << PAGE_SHIFT), rwxad);
    l0[((u64)c - RAM_BASE) >> PAGE_SHIFT] = 0;
    csr_write(satp, SATP_MODE_SV39 | ((u64)root >> PAGE_SHIFT));
    asm volatile("sfence.vma" ::: "memory");

    put16(b + PAGE_SIZE - 2, ADDI_A5_A5_1 & 0xffff);
    put16(c, ADDI_A5_A5_1 >> 16);   /* physically there, but not mapped */
    trap_expect();
    check("sv39-cross-page-unmapped-a5", run_in_mode(PRV_S, call_with_a5, (u64)b + PAGE_SIZE - 2), 41);
    check_trap("sv39-cross-page-fetch-fault-tval-2nd-page", CAUSE_FETCH_PAGE_FAULT, (u64)c);
    check("sv39-cross-page-fetch-fault-epc", trap.epc, (u64)b + PAGE_SIZE - 2);

    put16(b + PAGE_SIZE - 2, C_JR_RA);  /* a 2-byte one at the end never touches page c */
    trap_expect();
    check("sv39-page-end-2byte-unmapped-next", run_in_mode(PRV_S, call_with_a5, (u64)b + PAGE_SIZE - 2), 41);
    check_no_trap("sv39-page-end-2byte-no-fault");

    put16(a + PAGE_SIZE - 2, ADDI_A5_A5_1 & 0xffff);
    put16(b, ADDI_A5_A5_1 >> 16);
    put16(b + 2, C_JR_RA);
    trap_expect();
    check("sv39-cross-page-mapped-runs", run_in_mode(PRV_S, call_with_a5, (u64)a + PAGE_SIZE - 2), 42);
    check_no_trap("sv39-cross-page-mapped-no-fault");

    csr_write(satp, 0);
    asm volatile("sfence.vma" ::: "memory");
}

static void xepc(void)
{
    /* IALIGN = 16: only bit 0 of mepc/sepc is zero (privileged spec 3.1.14). */
    csr_write(mepc, 0x80000002UL);
    check("mepc-bit1-kept", csr_read(mepc), 0x80000002UL);
    csr_write(sepc, 0x80000006UL);
    check("sepc-bit1-kept", csr_read(sepc), 0x80000006UL);
}

int main(void)
{
    println("rvc: the C extension (RV64C), IALIGN = 16, fetch across pages");
    quadrant0();
    quadrant1();
    control();
    stack();
    hints();
    reserved();
    fp();
    ialign16();
    cross_page();
    xepc();
    return summary();
}
