// virtio-console (virtio v1.2, 5.3), one port without MULTIPORT: queue 0
// receiveq (host to us), queue 1 transmitq. When present, the console moves
// here from the UART: console.c sends output bytes to vcon_putc, and input
// arrives in receive buffers and goes to console_rx like UART bytes.
//
// Output is what has to be cheap. Under a hypervisor a UART costs one exit
// per byte (a register write each); here
//   - bytes are gathered in a 2 KiB transmit buffer, and a buffer becomes one
//     descriptor when it fills or when the kernel flushes the console (end
//     of a write() or of a kprintf); a 1 KiB write() is one buffer;
//   - a flush notifies only if the device asked for it (virtq_kick: avail_event
//     with EVENT_IDX, else the NO_NOTIFY flag), so at most one exit per batch,
//     none with a device that polls the ring;
//   - transmit completions raise no interrupt (virtq_init with interrupts off):
//     used buffers are reclaimed by reading the used ring when we need one;
//   - nothing on this path reads a device register.
// Input needs interrupts: the receive queue keeps them on.
//
// VIRTIO_CONSOLE_F_SIZE is not negotiated: nothing in hvos uses the console
// size (QEMU's virtio-serial does not offer it either). MULTIPORT is not
// negotiated: port 0 then uses queues 0 and 1 (5.3.2).
#include "defs.h"
#include "pvops.h"
#include "virtio.h"

#define VCON_RXQ 0
#define VCON_TXQ 1
#define TX_BUFS  16
#define TX_SIZE  2048            // two buffers a page
#define RX_BUFS  16
#define RX_SIZE  128             // all of them in one page

int vcon_active;
static struct virtio_dev *vdev;
static struct virtq rxq, txq;
static u8 *txbuf[TX_BUFS];       // descriptor i of txq is always txbuf[i]
static u16 tx_free[TX_BUFS];     // stack of idle buffers
static int tx_nfree, tx_bufs;
static int cur = -1;             // the buffer being filled, -1: none
static u32 cur_len;
static u8 *rxbuf;                // descriptor i of rxq is rxbuf + i * RX_SIZE
static int rx_bufs;
static int rx_id = -1;           // a received buffer not yet fully delivered
static u32 rx_off, rx_len;
static int rx_stalled;           // stopped because console.c's buffer was full

// Take back the transmit buffers the device is done with.
static void tx_reclaim(void)
{
    u32 len;
    int id;
    while ((id = virtq_get_used(&txq, &len)) >= 0)
        if (id < tx_bufs)
            tx_free[tx_nfree++] = (u16)id;
}

// An idle transmit buffer; if none, make sure the device has been told about
// the full ones and poll the used ring (memory, not registers) until it
// returns one: with an offload device that takes as long as its thread
// needs. -1 if the device stopped.
static int tx_get(void)
{
    for (u64 spins = 1;; spins++) {
        tx_reclaim();
        if (tx_nfree > 0)
            return tx_free[--tx_nfree];
        if (vdev->broken)
            return -1;
        virtq_kick(&txq);
        if ((spins & 0xFFFFF) == 0 && virtio_check_reset(vdev))
            return -1;
    }
}

static void tx_submit(void)
{
    virtq_set_desc(&txq, (u16)cur, txbuf[cur], cur_len, 0, 0);
    virtq_submit(&txq, (u16)cur);
    cur = -1;
}

// If the device stops, the console goes back to the UART, with what was
// buffered but not yet sent.
static void fall_back(void)
{
    vcon_active = 0;
    if (cur >= 0)
        for (u32 i = 0; i < cur_len; i++)
            pv.console_putc(txbuf[cur][i]);
    cur = -1;
    kprintf("virtio-console: stopped; console back on the UART\n");
}

void vcon_putc(int c)
{
    if (vdev->broken) {
        fall_back();
        pv.console_putc(c);
        return;
    }
    if (cur < 0) {
        cur = tx_get();
        if (cur < 0) {
            fall_back();
            pv.console_putc(c);
            return;
        }
        cur_len = 0;
    }
    txbuf[cur][cur_len++] = (u8)c;
    if (cur_len == TX_SIZE)
        tx_submit();             // full: queued now, notified at the flush
}

void vcon_flush(void)
{
    if (vdev->broken) {
        fall_back();
        return;
    }
    if (cur >= 0 && cur_len > 0)
        tx_submit();
    virtq_kick(&txq);
}

// Hand received bytes to the line discipline while it has room; a buffer
// goes back to the device once all its bytes are delivered. When the line
// discipline is full we stop (rx_stalled), the device runs out of buffers
// and holds further input: flow control, as with the UART.
static void rx_deliver(void)
{
    int reposted = 0;
    for (;;) {
        if (rx_id < 0) {
            int id = virtq_get_used(&rxq, &rx_len);
            if (id < 0) {
                // With EVENT_IDX, virtq_get_used moved used_event on; an entry
                // written before the device saw it raises no interrupt, so
                // look once more after a full barrier (2.7.10).
                mb();
                if (!vdev->broken && virtq_used_pending(&rxq))
                    continue;
                break;
            }
            if (id >= rx_bufs)
                continue;
            rx_id = id;
            rx_off = 0;
            if (rx_len > RX_SIZE)
                rx_len = RX_SIZE;        // never read past our buffer
        }
        for (; rx_off < rx_len; rx_off++) {
            if (console_rx_room() == 0) {
                rx_stalled = 1;
                goto out;
            }
            console_rx(rxbuf[rx_id * RX_SIZE + rx_off]);
        }
        virtq_set_desc(&rxq, (u16)rx_id, rxbuf + rx_id * RX_SIZE, RX_SIZE, VIRTQ_DESC_F_WRITE, 0);
        virtq_submit(&rxq, (u16)rx_id);
        rx_id = -1;
        reposted = 1;
    }
out:
    if (reposted)
        virtq_kick(&rxq);
}

static void vcon_intr(struct virtio_dev *d)
{
    virtio_ack_interrupt(d);
    if (!d->broken)
        rx_deliver();
}

// console.c made room: take the input we held back.
void vcon_rx_resume(void)
{
    if (vcon_active && rx_stalled) {
        rx_stalled = 0;
        rx_deliver();
    }
}

int vcon_init(struct virtio_dev *d)
{
    vdev = d;
    if (virtio_setup(d, VIRTIO_F_EVENT_IDX) < 0 ||
        virtq_init(&rxq, d, VCON_RXQ, 1) < 0 || virtq_init(&txq, d, VCON_TXQ, 0) < 0)
        return -1;
    tx_bufs = txq.num < TX_BUFS ? (int)txq.num : TX_BUFS;
    rx_bufs = rxq.num < RX_BUFS ? (int)rxq.num : RX_BUFS;
    rxbuf = kalloc();
    for (int i = 0; i < tx_bufs; i += 2) {
        u8 *page = kalloc();
        if (!page || !rxbuf) {
            virtio_fail(d, "out of memory");
            return -1;
        }
        txbuf[i] = page;
        txbuf[i + 1] = page + TX_SIZE;
    }
    for (int i = tx_bufs - 1; i >= 0; i--)
        tx_free[tx_nfree++] = (u16)i;
    // Receive buffers go in before DRIVER_OK; the notification only after
    // it (3.1.1: no notifications before DRIVER_OK).
    for (int i = 0; i < rx_bufs; i++) {
        virtq_set_desc(&rxq, (u16)i, rxbuf + i * RX_SIZE, RX_SIZE, VIRTQ_DESC_F_WRITE, 0);
        virtq_submit(&rxq, (u16)i);
    }
    d->intr = vcon_intr;
    virtio_driver_ok(d);
    virtq_kick(&rxq);
    kprintf("virtio-console: the console moves here\n");
    vcon_active = 1;
    return 0;
}
