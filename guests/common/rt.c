/* rt.c: UART console, named checks, and the default trap handlers. */
#include "rt.h"

/* 16550A registers (offsets from UART_BASE) and the LSR bit we poll. */
#define UART_THR 0
#define UART_LSR 5
#define LSR_THRE 0x20

volatile struct trap_info trap;
volatile u64 boot_hartid, boot_dtb;
int (*mtrap_hook)(struct frame *f, u64 cause);
int (*strap_hook)(struct frame *f, u64 cause);

static volatile int trap_expected;
volatile u64 trap_resume;
static u64 n_ok, n_fail;

extern char run_in_mode_return[];

void *memset(void *d, int c, unsigned long n)
{
    u8 *p = d;
    while (n--)
        *p++ = (u8)c;
    return d;
}

void *memcpy(void *d, const void *s, unsigned long n)
{
    u8 *p = d;
    const u8 *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

void putc(char c)
{
    while (!(mmio_read8(UART_BASE + UART_LSR) & LSR_THRE))
        ;
    mmio_write8(UART_BASE + UART_THR, (u8)c);
}

void print(const char *s)
{
    while (*s)
        putc(*s++);
}

void println(const char *s)
{
    print(s);
    putc('\n');
}

void print_hex(u64 v)
{
    int shift = 60;
    print("0x");
    while (shift > 0 && ((v >> shift) & 0xf) == 0)
        shift -= 4;
    for (; shift >= 0; shift -= 4)
        putc("0123456789abcdef"[(v >> shift) & 0xf]);
}

void print_kv(const char *key, u64 v)
{
    print(key);
    putc('=');
    print_hex(v);
    putc('\n');
}

void check(const char *name, u64 got, u64 want)
{
    if (got == want) {
        n_ok++;
        print("ok ");
        println(name);
        return;
    }
    n_fail++;
    print("FAIL ");
    print(name);
    print(" got=");
    print_hex(got);
    print(" want=");
    print_hex(want);
    putc('\n');
}

void check_true(const char *name, int cond)
{
    check(name, cond ? 1 : 0, 1);
}

int summary(void)
{
    print("summary: ");
    print_hex(n_ok);
    print(" ok, ");
    print_hex(n_fail);
    println(" failed");
    return (int)n_fail;
}

void exit(int code)
{
    u32 v = code == 0 ? TEST_PASS : (((u32)code & 0xffff) << 16) | TEST_FAIL;
    if (code != 0 && (code & 0xffff) == 0)
        v = (1u << 16) | TEST_FAIL;
    mmio_write32(TEST_BASE, v);
    for (;;)
        asm volatile("wfi");
}

void trap_expect(void)
{
    trap.count = 0;
    trap.cause = ~0UL;
    trap.tval = ~0UL;
    trap.epc = 0;
    trap_expected = 1;
}

void trap_resume_at(u64 addr)
{
    trap_resume = addr;
}

void check_trap(const char *name, u64 cause, u64 tval)
{
    trap_expected = 0;
    if (trap.count != 1) {
        check(name, trap.count, 1);
        return;
    }
    if (trap.cause != cause) {
        check(name, trap.cause, cause);
        return;
    }
    check(name, trap.tval, tval);
}

void check_trap_cause(const char *name, u64 cause)
{
    trap_expected = 0;
    if (trap.count != 1) {
        check(name, trap.count, 1);
        return;
    }
    check(name, trap.cause, cause);
}

void check_no_trap(const char *name)
{
    trap_expected = 0;
    check(name, trap.count, 0);
}

static void unexpected(const char *who, u64 cause, u64 epc, u64 tval)
{
    print("UNEXPECTED ");
    print(who);
    print(" trap cause=");
    print_hex(cause);
    print(" epc=");
    print_hex(epc);
    print(" tval=");
    print_hex(tval);
    putc('\n');
    summary();
    exit(126);
}

/* Records the trap and returns the pc to resume at. */
static u64 record(u64 cause, u64 epc, u64 tval, u64 taken_in, u64 from)
{
    u64 resume;
    if (!trap_expected)
        unexpected(taken_in == PRV_M ? "M" : "S", cause, epc, tval);
    trap.count++;
    trap.cause = cause;
    trap.tval = tval;
    trap.epc = epc;
    trap.taken_in = taken_in;
    trap.from = from;
    resume = trap_resume ? trap_resume : epc + 4;
    trap_resume = 0;
    return resume;
}

static int is_ecall(u64 cause)
{
    return cause == CAUSE_ECALL_U || cause == CAUSE_ECALL_S || cause == CAUSE_ECALL_M;
}

void mtrap_handler(struct frame *f)
{
    u64 cause = csr_read(mcause);
    u64 status = csr_read(mstatus);
    if (is_ecall(cause) && f->regs[17] == SYS_RETURN_M) {
        /* End of run_in_mode: back to M-mode at run_in_mode_return. */
        csr_write(mepc, (u64)run_in_mode_return);
        csr_set(mstatus, MSTATUS_MPP);
        csr_clear(mstatus, MSTATUS_MPRV);
        return;
    }
    if (mtrap_hook && mtrap_hook(f, cause))
        return;
    csr_write(mepc, record(cause, csr_read(mepc), csr_read(mtval), PRV_M,
                           (status & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT));
}

void strap_handler(struct frame *f)
{
    u64 cause = csr_read(scause);
    u64 status = csr_read(sstatus);
    if (cause == CAUSE_ECALL_U && f->regs[17] == SYS_RETURN_M) {
        /* Delegated end of run_in_mode from U: pass it on to M-mode. */
        register u64 a0 asm("a0") = f->regs[10];
        register u64 a7 asm("a7") = SYS_RETURN_M;
        asm volatile("ecall" :: "r"(a0), "r"(a7) : "memory");
    }
    if (strap_hook && strap_hook(f, cause))
        return;
    csr_write(sepc, record(cause, csr_read(sepc), csr_read(stval), PRV_S,
                           (status & MSTATUS_SPP) ? PRV_S : PRV_U));
}
