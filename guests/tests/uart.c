/* uart: 16550A register behaviour (National Semiconductor PC16550D data
 * sheet) as QEMU's virt UART implements it: reset values, the divisor latch
 * behind LCR.DLAB, SCR, IER's writable bits, LSR THRE/TEMT, IIR with FIFOs
 * off (0x01) and on (0xc1), and MCR loopback (MSR mirrors MCR, a transmitted
 * byte is received). Values are read first and printed after, because a
 * print itself uses the UART. */
#include "rt.h"

enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3,
       MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define LCR_DLAB 0x80
#define LCR_8N1  0x03
#define FCR_ENABLE 0x01
#define FCR_CLEAR  0x06
#define MCR_LOOP 0x10
#define LSR_DR   0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

static u8 rd(int reg) { return mmio_read8(UART_BASE + reg); }
static void wr(int reg, u8 v) { mmio_write8(UART_BASE + reg, v); }

static void drain(void)
{
    while ((rd(LSR) & (LSR_THRE | LSR_TEMT)) != (LSR_THRE | LSR_TEMT))
        ;
}

int main(void)
{
    u8 reset[8], lsr_idle, v[16];
    for (int r = 1; r < 8; r++)
        reset[r] = rd(r);
    println("uart: 16550A registers");
    check("reset-IER", reset[IER], 0x00);
    check("reset-IIR", reset[IIR], 0x01);
    check("reset-LCR", reset[LCR], 0x00);
    check("reset-MCR", reset[MCR], 0x08);
    check("reset-LSR", reset[LSR], LSR_THRE | LSR_TEMT);
    check("reset-MSR", reset[MSR], 0xb0);
    check("reset-SCR", reset[SCR], 0x00);

    drain();
    lsr_idle = rd(LSR);
    check("lsr-idle-thre-temt", lsr_idle, LSR_THRE | LSR_TEMT);

    wr(SCR, 0x5a);
    v[0] = rd(SCR);
    wr(SCR, 0xa5);
    v[1] = rd(SCR);
    check("scr-5a", v[0], 0x5a);
    check("scr-a5", v[1], 0xa5);

    wr(IER, 0xff);
    v[0] = rd(IER);
    wr(IER, 0);
    check("ier-writable-bits", v[0], 0x0f);

    /* Divisor latch: DLAB=1 maps offsets 0/1 to DLL/DLM. */
    wr(LCR, LCR_DLAB | LCR_8N1);
    wr(DLL, 0x03);
    wr(DLM, 0x01);
    v[0] = rd(DLL);
    v[1] = rd(DLM);
    v[2] = rd(LCR);
    wr(LCR, LCR_8N1);
    v[3] = rd(IER);
    v[4] = rd(LCR);
    check("dll", v[0], 0x03);
    check("dlm", v[1], 0x01);
    check("lcr-dlab", v[2], LCR_DLAB | LCR_8N1);
    check("ier-after-dlab", v[3], 0);
    check("lcr-8n1", v[4], LCR_8N1);

    v[0] = rd(IIR);
    wr(FCR, FCR_ENABLE | FCR_CLEAR);
    v[1] = rd(IIR);
    drain();
    v[2] = rd(LSR);
    wr(FCR, 0);
    v[3] = rd(IIR);
    check("iir-fifo-off", v[0], 0x01);
    check("iir-fifo-on", v[1], 0xc1);
    check("lsr-fifo-on-idle", v[2], LSR_THRE | LSR_TEMT);
    check("iir-fifo-off-again", v[3], 0x01);

    /* Loopback: MSR[7:4] = OUT2, OUT1, RTS, DTR; THR feeds RBR. */
    drain();
    wr(MCR, MCR_LOOP | 0x0f);
    v[0] = rd(MSR);
    wr(MCR, MCR_LOOP | 0x00);
    v[1] = rd(MSR) & 0xf0;
    wr(THR, 0x42);
    for (int i = 0; i < 1000 && !(rd(LSR) & LSR_DR); i++)
        ;
    v[2] = rd(LSR) & LSR_DR;
    v[3] = rd(RBR);
    v[4] = rd(LSR) & LSR_DR;
    wr(MCR, 0x08);
    v[5] = rd(MCR);
    check("loopback-msr-all", v[0] & 0xf0, 0xf0);
    check("loopback-msr-none", v[1], 0x00);
    check("loopback-rx-ready", v[2], LSR_DR);
    check("loopback-rx-byte", v[3], 0x42);
    check("loopback-rx-drained", v[4], 0);
    check("mcr-restored", v[5], 0x08);
    return summary();
}
