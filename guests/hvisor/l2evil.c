// l2evil: a hostile L2 kernel, booted by hvisor with the boot argument l2=evil. It tries what
// a guest kernel must not be able to do to its hypervisor, one thing per line, and prints
// what it got: a bad instruction, accesses outside its RAM, hypervisor instructions, bad SBI
// calls. The answers are guest-visible faults and SBI errors; at the end it points its page
// table at memory it does not have, so that not even its trap handler can run, and hvisor
// must stop it instead of looping. Console: the emulated UART (each byte an exit).
#include "layout.h"

typedef unsigned long u64;
typedef long i64;

static volatile unsigned char *const uart = (volatile unsigned char *)L2_UART_GPA;

static void putc_(char c)
{
    while ((uart[5] & 0x20) == 0)
        ;
    uart[0] = (unsigned char)c;
}

static void puts_(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            putc_('\r');
        putc_(*s);
    }
}

static void puthex(u64 v)
{
    puts_("0x");
    int started = 0;
    for (int i = 60; i >= 0; i -= 4) {
        int d = (v >> i) & 15;
        if (d || started || i == 0) {
            putc_("0123456789abcdef"[d]);
            started = 1;
        }
    }
}

static int traps;

#define EXC_FETCH_ACCESS 1

// Returns the pc to resume at.
u64 evil_trap(u64 cause, u64 tval, u64 epc, u64 ra)
{
    traps++;
    puts_("l2evil:   trap scause ");
    puthex(cause);
    puts_(" stval ");
    puthex(tval);
    puts_(" sepc ");
    puthex(epc);
    puts_("\n");
    return cause == EXC_FETCH_ACCESS ? ra : epc + 4;
}

struct sbiret { i64 error, value; };

static struct sbiret ecall(u64 eid, u64 fid, u64 a0, u64 a1, u64 a2)
{
    register u64 r0 asm("a0") = a0, r1 asm("a1") = a1, r2 asm("a2") = a2;
    register u64 r6 asm("a6") = fid, r7 asm("a7") = eid;
    asm volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r6), "r"(r7) : "memory");
    return (struct sbiret){ (i64)r0, (i64)r1 };
}

static void sbi_result(const char *what, struct sbiret r)
{
    puts_("l2evil: ");
    puts_(what);
    puts_(": error ");
    puthex((u64)r.error);
    puts_(" value ");
    puthex((u64)r.value);
    puts_("\n");
}

#define EID_BASE 0x10
#define EID_DBCN 0x4442434E
#define EID_SRST 0x53525354
#define EID_HVLAB 0x08484C56

static const char hello[] = "l2evil: a line through the SBI debug console\n";

void evil_main(void)
{
    puts_("l2evil: a hostile L2 kernel\n");

    puts_("l2evil: an illegal instruction (all zeros)\n");
    asm volatile(".word 0");

    puts_("l2evil: a load below RAM, where nothing is\n");
    (void)*(volatile u64 *)0x40000000UL;

    puts_("l2evil: a store just past the end of RAM\n");
    *(volatile u64 *)(L2_RAM_GPA + L2_RAM_SIZE) = 1;

    puts_("l2evil: a fetch outside RAM\n");
    asm volatile("li ra, 0x40001000\n\tjalr ra, 0(ra)" ::: "ra", "memory");

    puts_("l2evil: hypervisor CSR and instruction from VS\n");
    asm volatile(".option push\n.option arch, +h\ncsrr t0, hgatp\nhfence.gvma zero, zero\n.option pop"
                 ::: "t0", "memory");

    puts_("l2evil: a misaligned and a byte access to the PLIC\n");
    // In assembly: the compiler (with -mstrict-align) would split a misaligned load.
    asm volatile("lw t0, 0(%0)\n\tlbu t0, 0(%1)" :: "r"(L2_PLIC_GPA + 0x200006UL),
                 "r"(L2_PLIC_GPA + 0x200004UL) : "t0", "memory");

    // 16-bit loads and stores to a device: QEMU gives no htinst, so L1 reads them back with
    // HLVX and expands them; hvlab gives their transformed 32-bit forms (bit 1 clear).
    puts_("l2evil: C.SW and C.LW to the PLIC's priority of source 1: ");
    register u64 base asm("a4") = L2_PLIC_GPA, val asm("a5") = 5;
    asm volatile(".option push\n.option rvc\nc.sw a5, 4(a4)\nli a5, 0\nc.lw a5, 4(a4)\n.option pop"
                 : "+r"(val) : "r"(base) : "memory");
    puthex(val);
    puts_("\n");

    sbi_result("probe hvlab PV", ecall(EID_BASE, 3, EID_HVLAB, 0, 0));
    sbi_result("unknown extension", ecall(0x0A000000, 0, 0, 0, 0));
    sbi_result("dbcn write outside RAM", ecall(EID_DBCN, 0, 16, 0x40000000, 0));
    sbi_result("dbcn write across the end of RAM",
               ecall(EID_DBCN, 0, 64, L2_RAM_GPA + L2_RAM_SIZE - 32, 0));
    sbi_result("dbcn write with high address bits", ecall(EID_DBCN, 0, 4, (u64)hello, 1));
    sbi_result("dbcn write", ecall(EID_DBCN, 0, sizeof hello - 1, (u64)hello, 0));
    sbi_result("srst with a bad type", ecall(EID_SRST, 0, 7, 0, 0));
    sbi_result("srst with a bad reason", ecall(EID_SRST, 0, 0, 9, 0));

    puts_("l2evil: traps seen: ");
    puthex((u64)traps);
    puts_("\nl2evil: now a page table outside RAM (Sv39 root at 0x40000000)\n");
    asm volatile("csrw satp, %0\n\tsfence.vma" :: "r"((8UL << 60) | (0x40000000UL >> 12)) : "memory");
    puts_("l2evil: still running: wrong\n");
    for (;;)
        ;
}
