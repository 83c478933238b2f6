// L2's UART: a 16550A model (the registers QEMU's virt UART has, as hvos and Linux's 8250
// driver use them). Transmitted bytes go out on L1's real UART at once, so the transmitter is
// always empty; received bytes come from L1's real UART (l1_external_irq) into a FIFO. Its
// interrupt line is source L2_UART_IRQ of the emulated PLIC.
#include "hvisor.h"

#define RBR_THR_DLL 0
#define IER_DLM     1
#define IIR_FCR     2
#define LCR         3
#define MCR         4
#define LSR         5
#define MSR         6
#define SCR         7

#define IER_RDA     0x01        // received data available
#define IER_THRE    0x02        // transmitter holding register empty
#define IIR_NONE    0x01
#define IIR_THRE    0x02
#define IIR_RDA     0x04
#define IIR_FIFO    0xc0
#define FCR_ENABLE  0x01
#define FCR_CLR_RX  0x02
#define LCR_DLAB    0x80
#define LSR_DR      0x01
#define LSR_THRE    0x20
#define LSR_TEMT    0x40
#define MSR_RESET   0xb0        // DCD, DSR, CTS: a terminal is attached (QEMU's value)

#define RX_SIZE     256         // a power of two

static struct {
    u8 ier, lcr, mcr, scr, dll, dlm, fifo;
    int thre_pending;           // the THR-empty interrupt, until IIR reports it or THR is written
    u8 rx[RX_SIZE];
    u32 head, tail;             // rx[head..tail): free-running indices
    int rx_off;                 // the real UART's receive interrupt is off (FIFO full)
} u;

static u32 rx_count(void)
{
    return u.tail - u.head;
}

int vuart_rx_pop(u8 *c)
{
    if (rx_count() == 0)
        return 0;
    *c = u.rx[u.head++ % RX_SIZE];
    // Room again: let the real UART interrupt L1 for more.
    if (u.rx_off && rx_count() < RX_SIZE / 2) {
        u.rx_off = 0;
        cons_rx_irq(1);
    }
    return 1;
}

// Move what the real UART received into the FIFO; when it is full, leave the rest in the
// real UART and stop its interrupt until L2 reads.
void vuart_rx_poll(void)
{
    while (rx_count() < RX_SIZE) {
        int c = cons_getc();
        if (c < 0)
            return;
        u.rx[u.tail++ % RX_SIZE] = (u8)c;
    }
    if (!u.rx_off) {
        u.rx_off = 1;
        cons_rx_irq(0);
    }
}

int vuart_irq_line(void)
{
    return ((u.ier & IER_RDA) && rx_count()) || ((u.ier & IER_THRE) && u.thre_pending);
}

u64 vuart_read(u64 off)
{
    u8 c;
    switch (off) {
    case RBR_THR_DLL:
        if (u.lcr & LCR_DLAB)
            return u.dll;
        return vuart_rx_pop(&c) ? c : 0;
    case IER_DLM:
        return (u.lcr & LCR_DLAB) ? u.dlm : u.ier;
    case IIR_FCR: {
        u8 fifo = u.fifo ? IIR_FIFO : 0;
        if ((u.ier & IER_RDA) && rx_count())
            return IIR_RDA | fifo;
        if ((u.ier & IER_THRE) && u.thre_pending) {
            u.thre_pending = 0;         // reading IIR acknowledges THR empty
            return IIR_THRE | fifo;
        }
        return IIR_NONE | fifo;
    }
    case LCR: return u.lcr;
    case MCR: return u.mcr;
    case LSR: return (rx_count() ? LSR_DR : 0) | LSR_THRE | LSR_TEMT;
    case MSR: return MSR_RESET;
    case SCR: return u.scr;
    }
    return 0;
}

void vuart_write(u64 off, u64 val)
{
    switch (off) {
    case RBR_THR_DLL:
        if (u.lcr & LCR_DLAB) {
            u.dll = (u8)val;
        } else {
            cons_putc((int)val);
            u.thre_pending = 1;
        }
        break;
    case IER_DLM:
        if (u.lcr & LCR_DLAB) {
            u.dlm = (u8)val;
        } else {
            // Enabling the THR-empty interrupt while THR is empty raises it at once.
            if (!(u.ier & IER_THRE) && (val & IER_THRE))
                u.thre_pending = 1;
            u.ier = val & 0x0f;
        }
        break;
    case IIR_FCR:
        u.fifo = val & FCR_ENABLE;
        if (val & FCR_CLR_RX)
            u.head = u.tail;
        break;
    case LCR: u.lcr = (u8)val; break;
    case MCR: u.mcr = val & 0x1f; break;
    case SCR: u.scr = (u8)val; break;
    }
}
