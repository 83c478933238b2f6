/* interrupts: a bare-metal guest that takes every interrupt source of the
 * virt machine it can make deterministic, first in M-mode, then in S-mode
 * with Sv39 paging on (priv spec 3.1.9, 3.2.1; PLIC spec; 16550A).
 *
 * M-mode: CLINT machine timer (mtimecmp/mtime, 10 MHz), CLINT software
 * interrupt (msip), and the UART THR-empty interrupt through PLIC context 0.
 * S-mode: supervisor timer forwarded by the M timer handler through STIP as
 * firmware does (the S code asks for it with an SBI set_timer ecall), the
 * supervisor software interrupt, the UART THR-empty interrupt and the UART
 * receive interrupt (the test feeds one byte of input) through PLIC
 * context 1. Every line printed depends only on the order of events. */
#include "rt.h"

/* PLIC (riscv-plic spec 1.0): context 0 = hart 0 M-mode, 1 = hart 0 S-mode. */
#define PLIC_PRIORITY(src) (PLIC_BASE + 4 * (src))
#define PLIC_PENDING       (PLIC_BASE + 0x1000)
#define PLIC_ENABLE(ctx)   (PLIC_BASE + 0x2000 + 0x80 * (ctx))
#define PLIC_THRESHOLD(ctx) (PLIC_BASE + 0x200000 + 0x1000 * (ctx))
#define PLIC_CLAIM(ctx)    (PLIC_BASE + 0x200004 + 0x1000 * (ctx))

/* 16550A registers. */
#define UART_RBR (UART_BASE + 0)
#define UART_IER (UART_BASE + 1)
#define UART_IIR (UART_BASE + 2)
#define UART_LSR (UART_BASE + 5)
#define IER_RDI  0x01
#define IER_THRI 0x02
#define LSR_DR   0x01

/* SBI TIME extension, set_timer (SBI spec ch. 6). */
#define SBI_EXT_TIME 0x54494d45UL

#define TICK 1000   /* 100 us at 10 MHz */

static volatile u64 m_timer_ticks, m_soft_hits, m_ext_hits;
static volatile u64 s_timer_hits, s_soft_hits, s_ext_hits, s_rx_hits;
static volatile int forward_timer;

static u64 mtime(void) { return mmio_read64(CLINT_MTIME); }
static void set_mtimecmp(u64 v) { mmio_write64(CLINT_MTIMECMP, v); }

/* Handles one UART interrupt claimed from PLIC context ctx. */
static void uart_irq(int ctx, const char *who)
{
    u32 src = mmio_read32(PLIC_CLAIM(ctx));
    u8 iir = mmio_read8(UART_IIR);     /* reading IIR clears a THRE interrupt */
    u8 rx = 0;
    if ((iir & 0x0f) == 0x04)
        rx = mmio_read8(UART_RBR);
    mmio_write8(UART_IER, 0);
    mmio_write32(PLIC_CLAIM(ctx), src);
    print("irq ");
    print(who);
    print(" claim=");
    print_hex(src);
    print(" iir=");
    print_hex(iir & 0x0f);
    if ((iir & 0x0f) == 0x04) {
        print(" rx=");
        print_hex(rx);
    }
    putc('\n');
}

static int m_hook(struct frame *f, u64 cause)
{
    if (cause == (CAUSE_INTERRUPT | IRQ_M_TIMER)) {
        if (forward_timer) {
            /* Firmware: pass the tick to S-mode and mask until re-armed. */
            csr_clear(mie, MIP_MTIP);
            csr_set(mip, MIP_STIP);
            return 1;
        }
        m_timer_ticks++;
        print("irq M-timer cause=");
        print_hex(cause);
        print(" tick=");
        print_hex(m_timer_ticks);
        putc('\n');
        set_mtimecmp(m_timer_ticks < 3 ? mtime() + TICK : ~0UL);
        return 1;
    }
    if (cause == (CAUSE_INTERRUPT | IRQ_M_SOFT)) {
        mmio_write32(CLINT_MSIP, 0);
        m_soft_hits++;
        print("irq M-soft cause=");
        print_hex(cause);
        putc('\n');
        return 1;
    }
    if (cause == (CAUSE_INTERRUPT | IRQ_M_EXT)) {
        m_ext_hits++;
        uart_irq(0, "M-ext");
        return 1;
    }
    if (cause == CAUSE_ECALL_S && f->regs[17] == SBI_EXT_TIME && f->regs[16] == 0) {
        set_mtimecmp(f->regs[10]);
        csr_clear(mip, MIP_STIP);
        csr_set(mie, MIP_MTIP);
        f->regs[10] = 0;
        csr_write(mepc, csr_read(mepc) + 4);
        return 1;
    }
    return 0;
}

static int s_hook(struct frame *f, u64 cause)
{
    (void)f;
    if (cause == (CAUSE_INTERRUPT | IRQ_S_TIMER)) {
        register u64 a0 asm("a0") = ~0UL;
        register u64 a6 asm("a6") = 0;
        register u64 a7 asm("a7") = SBI_EXT_TIME;
        s_timer_hits++;
        /* Clears STIP (the firmware does) and parks the timer. */
        asm volatile("ecall" : "+r"(a0) : "r"(a6), "r"(a7) : "memory");
        print("irq S-timer cause=");
        print_hex(cause);
        putc('\n');
        return 1;
    }
    if (cause == (CAUSE_INTERRUPT | IRQ_S_SOFT)) {
        csr_clear(sip, MIP_SSIP);
        s_soft_hits++;
        print("irq S-soft cause=");
        print_hex(cause);
        putc('\n');
        return 1;
    }
    if (cause == (CAUSE_INTERRUPT | IRQ_S_EXT)) {
        s_ext_hits++;
        uart_irq(1, "S-ext");
        return 1;
    }
    return 0;
}

/* Sleep until *counter reaches value. The check and the WFI run with the
 * interrupt enable off, so an interrupt cannot slip in between them and leave
 * WFI waiting forever; WFI still wakes on a pending enabled interrupt. */
static void m_wait_for(volatile u64 *counter, u64 value)
{
    for (u64 spins = 0; spins < 1000000; spins++) {
        csr_clear(mstatus, MSTATUS_MIE);
        if (*counter >= value)
            break;
        asm volatile("wfi" ::: "memory");
        csr_set(mstatus, MSTATUS_MIE);
    }
    csr_set(mstatus, MSTATUS_MIE);
}

static void s_wait_for(volatile u64 *counter, u64 value)
{
    for (u64 spins = 0; spins < 1000000; spins++) {
        csr_clear(sstatus, MSTATUS_SIE);
        if (*counter >= value)
            break;
        asm volatile("wfi" ::: "memory");
        csr_set(sstatus, MSTATUS_SIE);
    }
    csr_set(sstatus, MSTATUS_SIE);
}

static void machine_mode(void)
{
    csr_write(mie, MIP_MTIP | MIP_MSIP);
    csr_set(mstatus, MSTATUS_MIE);

    set_mtimecmp(mtime() + TICK);
    m_wait_for(&m_timer_ticks, 3);
    check("m-timer-ticks", m_timer_ticks, 3);
    check("m-timer-mtip-clear", csr_read(mip) & MIP_MTIP, 0);

    mmio_write32(CLINT_MSIP, 1);
    m_wait_for(&m_soft_hits, 1);
    check("m-soft", m_soft_hits, 1);

    mmio_write32(PLIC_PRIORITY(UART_IRQ), 1);
    mmio_write32(PLIC_THRESHOLD(0), 0);
    mmio_write32(PLIC_ENABLE(0), 1u << UART_IRQ);
    csr_set(mie, MIP_MEIP);
    mmio_write8(UART_IER, IER_THRI);
    m_wait_for(&m_ext_hits, 1);
    check("m-ext-uart-thre", m_ext_hits, 1);
    mmio_write32(PLIC_ENABLE(0), 0);

    csr_clear(mstatus, MSTATUS_MIE);
    csr_write(mie, 0);
}

/* Sv39: identity-map devices (first GiB) and RAM (third GiB). */
static u64 root[512] __attribute__((aligned(4096)));

static void enable_paging(void)
{
    const u64 rwx = PTE_R | PTE_W | PTE_X | PTE_A | PTE_D | PTE_G | PTE_V;
    root[0] = ((0x0UL >> PAGE_SHIFT) << PTE_PPN_SHIFT) | rwx;
    root[2] = ((RAM_BASE >> PAGE_SHIFT) << PTE_PPN_SHIFT) | rwx;
    csr_write(satp, SATP_MODE_SV39 | ((u64)root >> PAGE_SHIFT));
    asm volatile("sfence.vma" ::: "memory");
}

static void sbi_set_timer(u64 when)
{
    register u64 a0 asm("a0") = when;
    register u64 a6 asm("a6") = 0;
    register u64 a7 asm("a7") = SBI_EXT_TIME;
    asm volatile("ecall" : "+r"(a0) : "r"(a6), "r"(a7) : "memory");
}

static u64 supervisor_main(u64 unused)
{
    (void)unused;
    println("S-mode with Sv39 paging");
    csr_write(sie, MIP_STIP | MIP_SSIP | MIP_SEIP);
    csr_set(sstatus, MSTATUS_SIE);

    for (u64 i = 1; i <= 2; i++) {
        sbi_set_timer(mtime() + TICK);
        s_wait_for(&s_timer_hits, i);
    }

    csr_set(sip, MIP_SSIP);
    s_wait_for(&s_soft_hits, 1);

    /* A pending interrupt waits while SIE is clear, then is taken. */
    csr_clear(sstatus, MSTATUS_SIE);
    csr_set(sip, MIP_SSIP);
    for (volatile int i = 0; i < 100; i++)
        ;
    println("S-soft pending with SIE=0");
    csr_set(sstatus, MSTATUS_SIE);
    s_wait_for(&s_soft_hits, 2);

    mmio_write8(UART_IER, IER_THRI);
    s_wait_for(&s_ext_hits, 1);

    /* Receive: the runner feeds one byte of input. */
    mmio_write8(UART_IER, IER_RDI);
    s_wait_for(&s_ext_hits, 2);

    csr_clear(sstatus, MSTATUS_SIE);
    csr_write(sie, 0);
    return csr_read(satp) >> 60;
}

static void supervisor_mode(void)
{
    mmio_write32(PLIC_PRIORITY(UART_IRQ), 1);
    mmio_write32(PLIC_THRESHOLD(1), 0);
    mmio_write32(PLIC_ENABLE(1), 1u << UART_IRQ);
    csr_write(mideleg, MIP_SSIP | MIP_STIP | MIP_SEIP);
    csr_write(mie, MIP_SEIP | MIP_STIP | MIP_SSIP);
    forward_timer = 1;
    enable_paging();
    check("s-ran-with-sv39", run_in_mode(PRV_S, supervisor_main, 0), 8);
    csr_write(satp, 0);
    asm volatile("sfence.vma" ::: "memory");
    csr_write(mie, 0);
    csr_write(mideleg, 0);
    mmio_write32(PLIC_ENABLE(1), 0);
    check("s-timer", s_timer_hits, 2);
    check("s-soft", s_soft_hits, 2);
    check("s-ext-uart", s_ext_hits, 2);
}

int main(void)
{
    println("interrupts: CLINT, PLIC, UART in M and S mode");
    mtrap_hook = m_hook;
    strap_hook = s_hook;
    machine_mode();
    supervisor_mode();
    return summary();
}
