// The platform-level interrupt controller (RISC-V PLIC specification v1.0.0).
// hvos routes the UART and its virtio devices to this hart's S-mode context.
#include "defs.h"
#include "memlayout.h"

#define PLIC_PRIORITY(irq)    (0x000000 + 4 * (irq))
#define PLIC_ENABLE(ctx)      (0x002000 + 0x80 * (ctx))
#define PLIC_THRESHOLD(ctx)   (0x200000 + 0x1000 * (ctx))
#define PLIC_CLAIM(ctx)       (0x200004 + 0x1000 * (ctx))

static volatile u32 *reg(u64 off)
{
    return (volatile u32 *)(DEV_VA(plat.plic_base) + off);
}

void plic_init(void)
{
    u32 irq = plat.uart_irq, ctx = plat.plic_context;
    *reg(PLIC_PRIORITY(irq)) = 1;
    *reg(PLIC_ENABLE(ctx) + 4 * (irq / 32)) = 1U << (irq % 32);
    *reg(PLIC_THRESHOLD(ctx)) = 0;
}

// Enable one more source (read-modify-write: the enable words hold 32 sources).
void plic_enable(u32 irq)
{
    if (irq == 0 || irq >= 1024)
        return;
    volatile u32 *en = reg(PLIC_ENABLE(plat.plic_context) + 4 * (irq / 32));
    *reg(PLIC_PRIORITY(irq)) = 1;
    *en = *en | (1U << (irq % 32));
}

u32 plic_claim(void)
{
    return *reg(PLIC_CLAIM(plat.plic_context));
}

void plic_complete(u32 irq)
{
    *reg(PLIC_CLAIM(plat.plic_context)) = irq;
}
