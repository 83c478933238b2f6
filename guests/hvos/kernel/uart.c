// A driver for the 16550A UART (NS16550A datasheet; QEMU's and hvlab's model).
// Output polls "transmit holding register empty"; input is interrupt-driven:
// the UART raises its PLIC line when a byte arrives and uart_intr() hands
// each byte to the line discipline (console.c).
#include "defs.h"
#include "memlayout.h"

// Register offsets (one byte apart: the device tree gives no reg-shift)
#define UART_RBR 0   // receive buffer (read)
#define UART_THR 0   // transmit holding (write)
#define UART_IER 1   // interrupt enable
#define UART_FCR 2   // FIFO control (write)
#define UART_LCR 3   // line control
#define UART_MCR 4   // modem control
#define UART_LSR 5   // line status

#define IER_RX_AVAIL  0x01
#define FCR_FIFO_ON   0x01
#define LCR_8N1       0x03
#define MCR_DTR_RTS_OUT2 0x0B  // OUT2 gates the interrupt line on real 16550s
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY  0x20

static volatile u8 *regs;        // physical before paging, DEV_VA after
static int rx_enabled;

static u8 rd(int reg) { return regs[reg]; }
static void wr(int reg, u8 v) { regs[reg] = v; }

// Before paging: print through the physical address.
void uart_early_init(void)
{
    regs = (volatile u8 *)plat.uart_base;
}

// After paging: switch to the kernel's device mapping and enable input
// interrupts. FCR is written without the "clear FIFO" bits, and the FIFO
// enable bit is not toggled if the firmware already set it, because either
// would drop bytes that arrived while we booted (piped input on QEMU).
void uart_init(void)
{
    regs = (volatile u8 *)DEV_VA(plat.uart_base);
    wr(UART_LCR, LCR_8N1);
    wr(UART_FCR, FCR_FIFO_ON);
    wr(UART_MCR, MCR_DTR_RTS_OUT2);
    uart_rx_enable(1);
}

void uart_putc(int c)
{
    while ((rd(UART_LSR) & LSR_THR_EMPTY) == 0)
        ;
    wr(UART_THR, (u8)c);
}

// Flow control: when the console's buffer is full we stop taking bytes, so
// the UART's FIFO fills and the sender (QEMU's stdin, hvlab's input queue)
// waits, instead of bytes being lost.
void uart_rx_enable(int on)
{
    if (on == rx_enabled)
        return;
    rx_enabled = on;
    wr(UART_IER, on ? IER_RX_AVAIL : 0);
}

void uart_intr(void)
{
    while (rd(UART_LSR) & LSR_DATA_READY) {
        if (console_rx_room() == 0) {
            uart_rx_enable(0);
            return;
        }
        console_rx(rd(UART_RBR));
    }
}
