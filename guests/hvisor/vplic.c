// L2's PLIC (RISC-V PLIC specification v1.0.0), and L1's use of the real one.
//
// The model has 32 sources (only the UART's is wired) and two contexts, as the L2 device tree
// says: 0 for L2's hart in M-mode (which L2 never is: it exists so the register map matches
// QEMU's), 1 for its S-mode, whose interrupt is L2's supervisor external interrupt, raised in
// hvip.VSEIP (8.2.3). The gateway is level-triggered: a source is pending while its line is
// high and it is not claimed, as QEMU's PLIC does.
#include "hvisor.h"

#define NSOURCES      32
#define NCONTEXTS     2
#define PRIORITY(s)   (0x000000 + 4 * (s))
#define PENDING       0x001000
#define ENABLE(c)     (0x002000 + 0x80 * (c))
#define THRESHOLD(c)  (0x200000 + 0x1000 * (c))
#define CLAIM(c)      (0x200004 + 0x1000 * (c))
#define PRIORITY_MASK 7
#define S_CONTEXT     1

static struct {
    u32 priority[NSOURCES];
    u32 enable[NCONTEXTS];
    u32 threshold[NCONTEXTS];
    u32 claimed;
    int seip;                   // what hvip.VSEIP holds, so it is written only on a change
} p;

static u32 lines(void)
{
    return vuart_irq_line() ? 1u << L2_UART_IRQ : 0;
}

static u32 pending(void)
{
    return lines() & ~p.claimed;
}

// The best claimable source of context c: pending, enabled, priority above the threshold.
static u32 best(u64 c)
{
    u32 pend = pending() & p.enable[c], id = 0, prio = p.threshold[c];
    for (u32 s = 1; s < NSOURCES; s++)
        if ((pend >> s) & 1 && p.priority[s] > prio) {
            prio = p.priority[s];
            id = s;
        }
    return id;
}

void vplic_update(void)
{
    int want = best(S_CONTEXT) != 0;
    if (want == p.seip)
        return;
    p.seip = want;
    if (want) {
        csr_set(hvip, MIP_VSEIP);
        stats[ST_INJECT_EXT]++;
    } else {
        csr_clear(hvip, MIP_VSEIP);
    }
}

u64 vplic_read(u64 off)
{
    if (off < PRIORITY(NSOURCES))
        return p.priority[off / 4];
    if (off == PENDING)
        return pending();
    for (u64 c = 0; c < NCONTEXTS; c++) {
        if (off == ENABLE(c))
            return p.enable[c];
        if (off == THRESHOLD(c))
            return p.threshold[c];
        if (off == CLAIM(c)) {
            u32 id = best(c);
            p.claimed |= id ? 1u << id : 0;
            return id;
        }
    }
    return 0;
}

void vplic_write(u64 off, u64 val)
{
    if (off < PRIORITY(NSOURCES)) {
        if (off >= PRIORITY(1))         // source 0 does not exist
            p.priority[off / 4] = val & PRIORITY_MASK;
        return;
    }
    for (u64 c = 0; c < NCONTEXTS; c++) {
        if (off == ENABLE(c))
            p.enable[c] = val & ~1u;
        else if (off == THRESHOLD(c))
            p.threshold[c] = val & PRIORITY_MASK;
        else if (off == CLAIM(c) && val < NSOURCES && ((p.enable[c] >> val) & 1))
            p.claimed &= ~(1u << val);  // completion: the gateway may forward it again
    }
}

// The real PLIC: L1 takes the real UART's interrupt in its own S-mode context.
static volatile u32 *const plic = (volatile u32 *)L1_PLIC;

void l1_plic_init(void)
{
    plic[PRIORITY(L2_UART_IRQ) / 4] = 1;
    plic[ENABLE(L1_PLIC_CONTEXT) / 4] = 1u << L2_UART_IRQ;
    plic[THRESHOLD(L1_PLIC_CONTEXT) / 4] = 0;
}

// L1's supervisor external interrupt: the real UART received input. It goes into L2's UART,
// whose line may now raise L2's external interrupt.
void l1_external_irq(void)
{
    u32 id;
    while ((id = plic[CLAIM(L1_PLIC_CONTEXT) / 4]) != 0) {
        if (id == L2_UART_IRQ)
            vuart_rx_poll();
        plic[CLAIM(L1_PLIC_CONTEXT) / 4] = id;
    }
    vplic_update();
}
