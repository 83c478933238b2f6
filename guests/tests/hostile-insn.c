/* hostile-insn: instructions a kernel may not execute, SBI calls with bad buffers, and
 * device accesses of the wrong size (see hostile.h).
 *
 *  - M-mode CSRs, MRET, unknown CSRs, the all-zero and all-ones words, reserved 16-bit
 *    (C extension) encodings, F instructions (no F): illegal instruction, stval = the
 *    instruction bits (only the 16 bits of a compressed one).
 *  - H-extension instructions and CSRs (HLV, HSV, HFENCE.VVMA/GVMA, hstatus, vsstatus):
 *    natively the kernel runs in HS-mode, where they are legal; in a VM its "S-mode" has no
 *    H extension, so each is an illegal instruction for it, whatever the hypervisor took
 *    (an illegal or a virtual-instruction exception).
 *  - DBCN console_write/read with buffers outside its RAM (just past it, where a VM's
 *    machine memory goes on; below it; straddling its end; wrapping around; in device
 *    space): SBI_ERR_INVALID_PARAM, nothing printed, nothing written.
 *  - Device accesses the devices do not answer: a 4-byte or 2-byte UART load, an 8-byte
 *    UART load, a 1-byte PLIC store, a misaligned PLIC word, an AMO on the UART, holes in
 *    the memory map: access faults with stval = the address. */
#include "hostile.h"

/* Instruction words run from data (so no 16-bit encoding appears in .text): the word under
 * test, then RET. The trap resumes at the next word. */
static u32 code_buf[4] __attribute__((aligned(16)));
static volatile u64 hvar = 0x1122334455667788UL;

static void run_word(u32 insn)
{
    code_buf[0] = insn;
    code_buf[1] = 0x00008067; /* ret */
    asm volatile("fence.i" ::: "memory");
    ((void (*)(void))code_buf)();
}

/* An instruction word that must be an illegal instruction, stval = `tval`. */
static void illegal_tval(const char *name, u32 insn, u64 tval)
{
    arm();
    run_word(insn);
    check_fault(name, CAUSE_ILLEGAL_INSN, tval);
}

/* An instruction word that must be an illegal instruction, stval = its bits. */
static void illegal(const char *name, u32 insn) { illegal_tval(name, insn, insn); }

#define ASM_ILLEGAL(name, insn_word, asm_text)                  \
    do {                                                        \
        arm();                                                  \
        asm volatile(asm_text ::: "memory", "a0");              \
        check_fault(name, CAUSE_ILLEGAL_INSN, insn_word);       \
    } while (0)

static void test_illegal(void)
{
    ASM_ILLEGAL("csrr-mstatus", 0x30002573, "csrr a0, mstatus");
    ASM_ILLEGAL("csrw-mtvec", 0x30551073, "csrw mtvec, a0");
    ASM_ILLEGAL("csrr-mhartid", 0xf1402573, "csrr a0, mhartid");
    ASM_ILLEGAL("csrr-mscratch", 0x34002573, "csrr a0, mscratch");
    ASM_ILLEGAL("csrw-pmpaddr0", 0x3b051073, "csrw pmpaddr0, a0");
    ASM_ILLEGAL("csrr-unknown-0ff", 0x0ff02573, ".4byte 0x0ff02573");
    ASM_ILLEGAL("mret-from-s", 0x30200073, "mret");
    illegal("all-zero", 0x00000000);
    illegal("all-ones", 0xffffffff);
    /* Reserved 16-bit encodings in the low half of the word (the high half, never run, is
     * not part of stval); the trap resumes at the next word. */
    illegal_tval("16-bit-c.lwsp-rd0", 0xffff4002, 0x4002);
    illegal_tval("16-bit-c.jr-rs1-0", 0x00018002, 0x8002);
    illegal_tval("16-bit-c.addi4spn-0", 0x00000004, 0x0004);
    illegal_tval("16-bit-q1-reserved-alu", 0x90029c41, 0x9c41);
    illegal("f-fadd.s", 0x00000053);
    illegal("f-flw", 0x00002007);
    illegal("custom-0", 0x0000000b);
    /* ebreak: a breakpoint, stval 0 here (as on QEMU). */
    arm();
    asm volatile("ebreak" ::: "memory");
    check_fault("ebreak", CAUSE_BREAKPOINT, 0);
}

static void test_hext(int vm)
{
    u64 v;
    /* What the guest gets: legal in HS (native), an illegal instruction in a VM. */
#define HEXT(name, word, asm_text)                                      \
    do {                                                                \
        arm();                                                          \
        asm volatile(asm_text ::: "memory", "a0", "a1");                \
        if (vm) check_fault(name, CAUSE_ILLEGAL_INSN, word);            \
        else check_no_fault(name);                                      \
    } while (0)
    HEXT("hfence.vvma", 0x22000073, ".4byte 0x22000073");
    HEXT("hfence.gvma", 0x62000073, ".4byte 0x62000073");
    HEXT("csrr-hstatus", 0x60002573, ".4byte 0x60002573");
    HEXT("csrr-hgatp", 0x68002573, ".4byte 0x68002573");
    HEXT("csrr-vsstatus", 0x20002573, ".4byte 0x20002573");
    /* hlv.d a0, (a1) and hsv.d a0, (a1) on the guest's own variable. */
    arm();
    {
        register u64 a0 asm("a0") = SENTINEL;
        register u64 a1 asm("a1") = (u64)&hvar;
        asm volatile(".4byte 0x6c05c573" : "+r"(a0) : "r"(a1) : "memory");
        v = a0;
    }
    if (vm) { check_fault("hlv.d", CAUSE_ILLEGAL_INSN, 0x6c05c573); check("hlv.d-value", v, SENTINEL); }
    else { check_no_fault("hlv.d"); check("hlv.d-value", v, 0x1122334455667788UL); }
    arm();
    {
        register u64 a0 asm("a0") = 0x99;
        register u64 a1 asm("a1") = (u64)&hvar;
        asm volatile(".4byte 0x6ea5c073" :: "r"(a0), "r"(a1) : "memory");
    }
    if (vm) { check_fault("hsv.d", CAUSE_ILLEGAL_INSN, 0x6ea5c073); check("hsv.d-value", hvar, 0x1122334455667788UL); }
    else { check_no_fault("hsv.d"); check("hsv.d-value", hvar, 0x99); hvar = 0x1122334455667788UL; }
#undef HEXT
}

static char msg[] = "SHOULD-NOT-PRINT";
static u64 inbuf[2];

static void test_sbi(void)
{
    u64 len = sizeof msg - 1;
#define BAD(name, fid, n, addr, hi) \
    check(name, (u64)sbi(EID_DBCN, fid, n, addr, hi).error, (u64)SBI_ERR_INVALID_PARAM)
    BAD("dbcn-write-ram-end", DBCN_WRITE, 16, RAM_END, 0);
    BAD("dbcn-write-8900_0000", DBCN_WRITE, 16, 0x89000000UL, 0);
    BAD("dbcn-write-891f_fff0", DBCN_WRITE, 16, 0x891ffff0UL, 0);
    BAD("dbcn-write-9000_0000", DBCN_WRITE, 16, 0x90000000UL, 0);
    BAD("dbcn-write-below-ram", DBCN_WRITE, 16, RAM_BASE - 16, 0);
    BAD("dbcn-write-straddles-end", DBCN_WRITE, 32, RAM_END - 16, 0);
    BAD("dbcn-write-straddles-start", DBCN_WRITE, 32, RAM_BASE - 16, 0);
    BAD("dbcn-write-len-wraps", DBCN_WRITE, ~0UL, (u64)msg, 0);
    BAD("dbcn-write-len-2^63", DBCN_WRITE, 1UL << 63, (u64)msg, 0);
    BAD("dbcn-write-len-whole-ram-plus-1", DBCN_WRITE, RAM_SIZE + 1, RAM_BASE, 0);
    BAD("dbcn-write-uart", DBCN_WRITE, 1, UART_BASE, 0);
    BAD("dbcn-write-addr-2^48", DBCN_WRITE, len, 1UL << 48, 0);
    BAD("dbcn-write-base-hi", DBCN_WRITE, len, (u64)msg, 1);
    BAD("dbcn-read-ram-end", DBCN_READ, 8, RAM_END, 0);
    BAD("dbcn-read-891f_fff8", DBCN_READ, 8, 0x891ffff8UL, 0);
    BAD("dbcn-read-below-ram", DBCN_READ, 8, RAM_BASE - 8, 0);
    BAD("dbcn-read-plic", DBCN_READ, 4, PLIC_BASE, 0);
    BAD("dbcn-read-len-wraps", DBCN_READ, ~0UL, (u64)inbuf, 0);
#undef BAD
    check("dbcn-read-untouched", inbuf[0] | inbuf[1], 0);
    check("sbi-unknown-eid", (u64)sbi(0xdeadbeefUL, 0, 0, 0, 0).error, (u64)SBI_ERR_NOT_SUPPORTED);
    check("sbi-eid-all-ones", (u64)sbi(~0UL, ~0UL, 0, 0, 0).error, (u64)SBI_ERR_NOT_SUPPORTED);
    check("sbi-dbcn-fid-huge", (u64)sbi(EID_DBCN, ~0UL, 0, 0, 0).error, (u64)SBI_ERR_NOT_SUPPORTED);
    check("sbi-pv-fid-huge", (u64)sbi(EID_HVLAB, ~0UL, 0, 0, 0).error, (u64)SBI_ERR_NOT_SUPPORTED);
}

static void test_mmio(void)
{
    u64 v;
#define LOAD_FAULT(name, fn, addr)                          \
    do {                                                    \
        arm();                                              \
        v = fn(addr);                                       \
        show(name, v);                                      \
        check_fault(name, CAUSE_LOAD_ACCESS, addr);         \
    } while (0)
#define STORE_FAULT(name, fn, addr)                         \
    do {                                                    \
        arm();                                              \
        fn(addr, 0);                                        \
        check_fault(name, CAUSE_STORE_ACCESS, addr);        \
    } while (0)
    LOAD_FAULT("uart-lw", lw32, UART_BASE);
    LOAD_FAULT("uart-lh", lh16, UART_BASE + 4);
    LOAD_FAULT("uart-ld", ld64, UART_BASE);
    STORE_FAULT("uart-sw", sw32, UART_BASE + 4);
    STORE_FAULT("plic-sb", sb8, PLIC_BASE + 4);
    LOAD_FAULT("plic-lb", lb8, PLIC_BASE + 4);
    LOAD_FAULT("plic-ld", ld64, PLIC_BASE + 0x1000);
    STORE_FAULT("plic-sd", sd64, PLIC_BASE + 0x2000);
    LOAD_FAULT("plic-lw-misaligned", lw32, PLIC_BASE + 6);
    LOAD_FAULT("hole-200000", ld64, 0x200000UL);
    STORE_FAULT("hole-3000_0000", sd64, 0x30000000UL);
    LOAD_FAULT("hole-4000_0000", lw32, 0x40000000UL);
    arm();
    v = amoadd32(UART_BASE, 1);
    show("uart-amoadd", v);
    check_fault("uart-amoadd", CAUSE_STORE_ACCESS, UART_BASE);
    /* Correct accesses still work afterwards. */
    arm();
    v = lb8(UART_BASE + 5);
    check_no_fault("uart-lsr-after");
    check("uart-lsr-after-value", v & 0x60, 0x60);
#undef LOAD_FAULT
#undef STORE_FAULT
}

int main(void)
{
    int vm;
    hostile_init();
    println("hostile-insn: illegal and hypervisor instructions, bad SBI buffers, device abuse");
    platform_line();
    vm = in_vm();
    test_illegal();
    test_hext(vm);
    test_sbi();
    test_mmio();
    return summary();
}
