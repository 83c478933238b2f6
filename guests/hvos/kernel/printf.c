// Kernel printing and panic.
#include "defs.h"
#include "sbi.h"
#include "../lib/fmt.h"

static void kput(void *ctx, char c)
{
    (void)ctx;
    console_putc(c);
}

void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vformat(kput, NULL, fmt, ap);
    va_end(ap);
    console_flush();
}

// Panics name the function that gave up, e.g. panic("kalloc: bad free %p", pa).
void panic(const char *fmt, ...)
{
    va_list ap;
    kprintf("panic: ");
    va_start(ap, fmt);
    vformat(kput, NULL, fmt, ap);
    va_end(ap);
    kprintf("\n");
    sbi_call(SBI_EXT_SRST, SBI_SRST_SYSTEM_RESET, SBI_SRST_TYPE_SHUTDOWN, 1 /* system failure */, 0);
    for (;;)
        ;
}
