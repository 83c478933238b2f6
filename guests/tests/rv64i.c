/* rv64i: every RV64I base instruction (unprivileged spec ch. 2 and 5), with
 * the corner cases an emulator gets wrong: sign extension of W results and
 * loads, shift amounts 0/31/32/63 and masking of register shift amounts,
 * slt/sltu with signs, branches taken and not taken, JAL/JALR link values and
 * JALR clearing bit 0, LUI/AUIPC, writes to x0, FENCE and FENCE.I. */
#include "rt.h"

#define RR(op, a, b) ({ u64 r_; asm volatile(op " %0, %1, %2" : "=r"(r_) : "r"((u64)(a)), "r"((u64)(b))); r_; })
#define RI(op, a, imm) ({ u64 r_; asm volatile(op " %0, %1, %2" : "=r"(r_) : "r"((u64)(a)), "i"(imm)); r_; })
/* 1 when the branch is taken. */
#define BR(op, a, b) ({ u64 t_; asm volatile("li %0, 1\n\t" op " %1, %2, 1f\n\tli %0, 0\n1:" \
                        : "=&r"(t_) : "r"((u64)(a)), "r"((u64)(b))); t_; })
#define LOAD(op, p) ({ u64 r_; asm volatile(op " %0, 0(%1)" : "=r"(r_) : "r"(p) : "memory"); r_; })

static u64 mem[4];
static const u64 pattern = 0x8081828384858687UL;

static void arith(void)
{
    check("add", RR("add", 5, 7), 12);
    check("add-wrap", RR("add", 0xffffffffffffffffUL, 2), 1);
    check("sub", RR("sub", 5, 7), 0xfffffffffffffffeUL);
    check("addi-neg", RI("addi", 5, -6), 0xffffffffffffffffUL);
    check("addi-max", RI("addi", 0, 2047), 2047);
    check("addi-min", RI("addi", 0, -2048), 0xfffffffffffff800UL);
    check("addw-overflow", RR("addw", 0x7fffffff, 1), 0xffffffff80000000UL);
    check("addw-ignores-upper", RR("addw", 0x1234567800000001UL, 0xff00000000000002UL), 3);
    check("subw", RR("subw", 0, 1), 0xffffffffffffffffUL);
    check("subw-positive", RR("subw", 0x80000000UL, 1), 0x7fffffff);
    check("addiw-sext", RI("addiw", 0x7fffffffUL, 1), 0xffffffff80000000UL);
    check("addiw-0-is-sext.w", RI("addiw", 0x00000000fedcba98UL, 0), 0xfffffffffedcba98UL);
    check("and", RR("and", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL), 0x0f000f000f000f00UL);
    check("or", RR("or", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL), 0xfff0fff0fff0fff0UL);
    check("xor", RR("xor", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL), 0xf0f0f0f0f0f0f0f0UL);
    check("andi-sext-imm", RI("andi", 0x123456789abcdef0UL, -16), 0x123456789abcdef0UL);
    check("andi", RI("andi", 0x123456789abcdef0UL, 0x7f0), 0x6f0);
    check("ori", RI("ori", 0x1000000000000000UL, -2048), 0xfffffffffffff800UL);
    check("xori-not", RI("xori", 0x00ff00ff00ff00ffUL, -1), 0xff00ff00ff00ff00UL);
}

static void compares(void)
{
    check("slt-neg-lt-0", RR("slt", -1L, 0), 1);
    check("slt-0-lt-neg", RR("slt", 0, -1L), 0);
    check("slt-equal", RR("slt", 7, 7), 0);
    check("slt-min-max", RR("slt", 0x8000000000000000UL, 0x7fffffffffffffffUL), 1);
    check("sltu-neg-lt-0", RR("sltu", -1L, 0), 0);
    check("sltu-0-lt-neg", RR("sltu", 0, -1L), 1);
    check("sltu-x0-snez", RR("sltu", 0, 5), 1);
    check("slti", RI("slti", -5L, -4), 1);
    check("slti-false", RI("slti", 3, -4), 0);
    check("sltiu-imm-sext", RI("sltiu", 0xfffffffffffffffeUL, -1), 1);
    check("sltiu-all-ones", RI("sltiu", 0xffffffffffffffffUL, -1), 0);
    check("sltiu-seqz", RI("sltiu", 0, 1), 1);
    check("sltiu-seqz-false", RI("sltiu", 9, 1), 0);
}

static void shifts(void)
{
    const u64 v = 0x8000000000000001UL;
    check("sll-0", RR("sll", v, 0), v);
    check("sll-31", RR("sll", v, 31), 0x80000000UL);
    check("sll-32", RR("sll", v, 32), 0x100000000UL);
    check("sll-63", RR("sll", v, 63), 0x8000000000000000UL);
    check("sll-masks-amount", RR("sll", 1, 64 + 3), 8);
    check("srl-0", RR("srl", v, 0), v);
    check("srl-31", RR("srl", v, 31), 0x100000000UL);
    check("srl-32", RR("srl", v, 32), 0x80000000UL);
    check("srl-63", RR("srl", v, 63), 1);
    check("sra-0", RR("sra", v, 0), v);
    check("sra-31", RR("sra", v, 31), 0xffffffff00000000UL);
    check("sra-32", RR("sra", v, 32), 0xffffffff80000000UL);
    check("sra-63", RR("sra", v, 63), 0xffffffffffffffffUL);
    check("sra-positive", RR("sra", 0x4000000000000000UL, 62), 1);
    check("slli-0", RI("slli", v, 0), v);
    check("slli-31", RI("slli", v, 31), 0x80000000UL);
    check("slli-32", RI("slli", v, 32), 0x100000000UL);
    check("slli-63", RI("slli", v, 63), 0x8000000000000000UL);
    check("srli-31", RI("srli", v, 31), 0x100000000UL);
    check("srli-32", RI("srli", v, 32), 0x80000000UL);
    check("srli-63", RI("srli", v, 63), 1);
    check("srai-0", RI("srai", v, 0), v);
    check("srai-31", RI("srai", v, 31), 0xffffffff00000000UL);
    check("srai-32", RI("srai", v, 32), 0xffffffff80000000UL);
    check("srai-63", RI("srai", v, 63), 0xffffffffffffffffUL);
    /* W shifts: operate on the low 32 bits, 5-bit amount, sign-extend. */
    check("sllw-0-sext", RR("sllw", 0x80000000UL, 0), 0xffffffff80000000UL);
    check("sllw-31", RR("sllw", 1, 31), 0xffffffff80000000UL);
    check("sllw-masks-amount", RR("sllw", 1, 32 + 3), 8);
    check("sllw-drops-upper", RR("sllw", 0xffffffff00000001UL, 4), 0x10);
    check("srlw-31", RR("srlw", 0x80000000UL, 31), 1);
    check("srlw-0-sext", RR("srlw", 0x00000000deadbeefUL, 0), 0xffffffffdeadbeefUL);
    check("srlw-ignores-upper", RR("srlw", 0xffffffff00000010UL, 4), 1);
    check("srlw-1", RR("srlw", 0x80000000UL, 1), 0x40000000);
    check("sraw-31", RR("sraw", 0x80000000UL, 31), 0xffffffffffffffffUL);
    check("sraw-1", RR("sraw", 0x80000000UL, 1), 0xffffffffc0000000UL);
    check("sraw-masks-amount", RR("sraw", 0x80000000UL, 32 + 4), 0xfffffffff8000000UL);
    check("slliw-0", RI("slliw", 0x12345678ffffffffUL, 0), 0xffffffffffffffffUL);
    check("slliw-31", RI("slliw", 3, 31), 0xffffffff80000000UL);
    check("srliw-0", RI("srliw", 0x80000000UL, 0), 0xffffffff80000000UL);
    check("srliw-31", RI("srliw", 0xffffffffffffffffUL, 31), 1);
    check("sraiw-0", RI("sraiw", 0x80000000UL, 0), 0xffffffff80000000UL);
    check("sraiw-31", RI("sraiw", 0x7fffffffUL, 31), 0);
    check("sraiw-4", RI("sraiw", 0x80000000UL, 4), 0xfffffffff8000000UL);
}

static void loads_stores(void)
{
    const u8 *p = (const u8 *)&pattern;
    check("lb-sext", LOAD("lb", p), 0xffffffffffffff87UL);
    check("lbu", LOAD("lbu", p), 0x87);
    check("lh-sext", LOAD("lh", p + 2), 0xffffffffffff8485UL);
    check("lhu", LOAD("lhu", p + 2), 0x8485);
    check("lw-sext", LOAD("lw", p + 4), 0xffffffff80818283UL);
    check("lwu", LOAD("lwu", p + 4), 0x80818283UL);
    check("ld", LOAD("ld", p), 0x8081828384858687UL);
    {
        u64 r;
        asm volatile("lb %0, -1(%1)" : "=r"(r) : "r"(p + 8) : "memory");
        check("lb-neg-offset", r, 0xffffffffffffff80UL);
    }

    mem[0] = 0;
    asm volatile("sb %1, 1(%0)" :: "r"(mem), "r"(0x1122334455667788UL) : "memory");
    check("sb", mem[0], 0x8800);
    asm volatile("sh %1, 2(%0)" :: "r"(mem), "r"(0x1122334455667788UL) : "memory");
    check("sh", mem[0], 0x77888800);
    asm volatile("sw %1, 4(%0)" :: "r"(mem), "r"(0x1122334455667788UL) : "memory");
    check("sw", mem[0], 0x5566778877888800UL);
    asm volatile("sd %1, 8(%0)" :: "r"(mem), "r"(0x1122334455667788UL) : "memory");
    check("sd", mem[1], 0x1122334455667788UL);
    asm volatile("sd %1, -8(%0)" :: "r"(&mem[3]), "r"(0xabcdUL) : "memory");
    check("sd-neg-offset", mem[2], 0xabcd);
}

static void branches(void)
{
    check("beq-taken", BR("beq", 3, 3), 1);
    check("beq-not", BR("beq", 3, 4), 0);
    check("bne-taken", BR("bne", 3, 4), 1);
    check("bne-not", BR("bne", 3, 3), 0);
    check("blt-signed-taken", BR("blt", -1L, 0), 1);
    check("blt-not", BR("blt", 0, -1L), 0);
    check("blt-equal", BR("blt", 5, 5), 0);
    check("bge-taken", BR("bge", 0, -1L), 1);
    check("bge-equal", BR("bge", 5, 5), 1);
    check("bge-not", BR("bge", -1L, 0), 0);
    check("bltu-taken", BR("bltu", 0, -1L), 1);
    check("bltu-not", BR("bltu", -1L, 0), 0);
    check("bgeu-taken", BR("bgeu", -1L, 0), 1);
    check("bgeu-equal", BR("bgeu", 7, 7), 1);
    check("bgeu-not", BR("bgeu", 0, -1L), 0);
    {
        /* Backward branch: a loop of 5. */
        u64 n = 5, count = 0;
        asm volatile("1: addi %0, %0, 1\n\taddi %1, %1, -1\n\tbnez %1, 1b"
                     : "+r"(count), "+r"(n));
        check("branch-backward-loop", count, 5);
    }
}

static void jumps(void)
{
    u64 link, pc;
    asm volatile("jal %0, 1f\n1:\tauipc %1, 0" : "=r"(link), "=r"(pc));
    check("jal-link", link, pc);
    asm volatile("jal %0, 1f\n\tli %0, 0\n1:\tauipc %1, 0" : "=&r"(link), "=r"(pc));
    check("jal-skips", pc - link, 4);
    {
        u64 v = 1;
        asm volatile("jal x0, 1f\n\tli %0, 2\n1:" : "+r"(v));
        check("jal-x0-jumps", v, 1);
    }
    /* JALR target = (rs1 + imm) & ~1 (unprivileged spec 2.5). */
    asm volatile("la t0, 1f\n\taddi t0, t0, 1\n\tjalr %0, 0(t0)\n\tli %0, 0\n1:\tauipc %1, 0"
                 : "=&r"(link), "=r"(pc) :: "t0");
    check("jalr-clears-bit0", pc - link, 4);
    asm volatile("la t0, 1f\n\tjalr %0, 8(t0)\n1:\tli %0, 0\n\tli %0, 0\n\tauipc %1, 0"
                 : "=&r"(link), "=r"(pc) :: "t0");
    check("jalr-offset", pc - link, 8);
    asm volatile("la t0, 1f\n\taddi t0, t0, 16\n\tjalr %0, -16(t0)\n1:\tauipc %1, 0"
                 : "=&r"(link), "=r"(pc) :: "t0");
    check("jalr-neg-offset", link, pc);
    /* rd == rs1: the target uses the old rs1. */
    asm volatile("la %0, 1f\n\tjalr %0, 0(%0)\n\tli %0, 0\n1:\tauipc %1, 0"
                 : "=&r"(link), "=r"(pc));
    check("jalr-rd-eq-rs1", pc - link, 4);
}

static void upper(void)
{
    u64 v, a, b;
    asm volatile("lui %0, 0x12345" : "=r"(v));
    check("lui", v, 0x12345000);
    asm volatile("lui %0, 0x80000" : "=r"(v));
    check("lui-sext", v, 0xffffffff80000000UL);
    asm volatile("lui %0, 0xfffff" : "=r"(v));
    check("lui-neg", v, 0xfffffffffffff000UL);
    asm volatile("1: auipc %0, 0\n\tla %1, 1b" : "=r"(a), "=r"(b));
    check("auipc-0", a, b);
    asm volatile("1: auipc %0, 1\n\tla %1, 1b" : "=r"(a), "=r"(b));
    check("auipc-1", a - b, 0x1000);
    asm volatile("1: auipc %0, 0xfffff\n\tla %1, 1b" : "=r"(a), "=r"(b));
    check("auipc-neg", b - a, 0x1000);
    asm volatile("li t0, 5\n\taddi x0, t0, 5\n\tmv %0, x0" : "=r"(v) :: "t0");
    check("x0-stays-zero", v, 0);
    asm volatile("lui x0, 0x1\n\tmv %0, x0" : "=r"(v));
    check("lui-x0", v, 0);
}

/* A two-instruction function in data memory: "addi a0, x0, N; jalr x0, 0(ra)". */
static u32 code_buf[2] __attribute__((aligned(8)));
#define ADDI_A0(n) (((u32)(n) << 20) | (10 << 7) | 0x13)
#define RET_INSN 0x00008067u

static void fences(void)
{
    u64 (*fn)(void) = (u64 (*)(void))(u64)code_buf;
    asm volatile("fence\n\tfence rw, rw\n\tfence r, w\n\tfence w, r\n\tfence iorw, iorw\n\tfence.tso");
    check("fence-forms", 1, 1);
    code_buf[0] = ADDI_A0(1);
    code_buf[1] = RET_INSN;
    asm volatile("fence.i" ::: "memory");
    check("fence.i-first", fn(), 1);
    code_buf[0] = ADDI_A0(42);
    asm volatile("fence.i" ::: "memory");
    check("fence.i-modified-code", fn(), 42);
}

int main(void)
{
    println("rv64i: base integer instructions");
    arith();
    compares();
    shifts();
    loads_stores();
    branches();
    jumps();
    upper();
    fences();
    return summary();
}
