// L1's own console: the machine's real 16550A UART, which L1 owns (L2 gets an emulated one,
// vuart.c). Output is polled; input arrives by interrupt through the real PLIC (vplic.c's
// l1_external_irq) and is handed to the emulated UART.
#include <stdarg.h>
#include "hvisor.h"

#define UART_RBR 0
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5

#define IER_RX_AVAIL    0x01
#define FCR_FIFO_ON     0x01
#define LCR_8N1         0x03
#define MCR_DTR_RTS_OUT2 0x0b
#define LSR_DATA_READY  0x01
#define LSR_THR_EMPTY   0x20

static volatile u8 *const uart = (volatile u8 *)L1_UART;

void cons_init(void)
{
    uart[UART_LCR] = LCR_8N1;
    uart[UART_FCR] = FCR_FIFO_ON;
    uart[UART_MCR] = MCR_DTR_RTS_OUT2;
    uart[UART_IER] = 0;
}

void cons_putc(int c)
{
    while ((uart[UART_LSR] & LSR_THR_EMPTY) == 0)
        ;
    uart[UART_THR] = (u8)c;
}

int cons_getc(void)
{
    if ((uart[UART_LSR] & LSR_DATA_READY) == 0)
        return -1;
    return uart[UART_RBR];
}

// The receive interrupt is switched off while the emulated UART's FIFO is full, so that
// input waits in the real UART (and behind it, in QEMU's or hvlab's input queue) instead of
// being dropped.
void cons_rx_irq(int on)
{
    uart[UART_IER] = on ? IER_RX_AVAIL : 0;
}

static void puts_(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            cons_putc('\r');
        cons_putc(*s);
    }
}

static void putnum(u64 v, unsigned base, int neg)
{
    char buf[24];
    int i = 0;
    if (neg)
        cons_putc('-');
    do {
        buf[i++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (i)
        cons_putc(buf[--i]);
}

// %s, %c, %d (long), %u (unsigned long), %x (unsigned long, with 0x): every integer
// argument is passed as 64 bits.
static void vprintf_(const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            if (*fmt == '\n')
                cons_putc('\r');
            cons_putc(*fmt);
            continue;
        }
        switch (*++fmt) {
        case 's': puts_(va_arg(ap, const char *)); break;
        case 'c': cons_putc(va_arg(ap, int)); break;
        case 'd': { i64 v = va_arg(ap, i64); putnum(v < 0 ? -(u64)v : (u64)v, 10, v < 0); break; }
        case 'u': putnum(va_arg(ap, u64), 10, 0); break;
        case 'x': puts_("0x"); putnum(va_arg(ap, u64), 16, 0); break;
        case '%': cons_putc('%'); break;
        default: cons_putc('?'); break;
        }
    }
}

void printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf_(fmt, ap);
    va_end(ap);
}

void panic(const char *fmt, ...)
{
    va_list ap;
    puts_("hvisor: panic: ");
    va_start(ap, fmt);
    vprintf_(fmt, ap);
    va_end(ap);
    puts_("\n");
    stats_print();
    sbi_shutdown(1);
}

void *memcpy(void *d, const void *s, u64 n)
{
    u8 *dp = d;
    const u8 *sp = s;
    while (n--)
        *dp++ = *sp++;
    return d;
}

void *memset(void *d, int c, u64 n)
{
    u8 *dp = d;
    while (n--)
        *dp++ = (u8)c;
    return d;
}

u64 strlen(const char *s)
{
    u64 n = 0;
    while (s[n])
        n++;
    return n;
}
