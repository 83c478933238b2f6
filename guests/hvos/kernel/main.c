// kmain: hvos boots here from entry.S, in S-mode, paging off, on the boot hart.
#include "defs.h"
#include "memlayout.h"
#include "proc.h"
#include "pvops.h"

extern char __kernel_end[];

const struct program *program_find(const char *name)
{
    for (const struct program *p = programs; p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

// The device tree is read before anything else, so we know where the UART
// is; if there is none we fall back to QEMU virt's addresses.
static void find_platform(u64 hartid, u64 dtb)
{
    int ok = fdt_parse(dtb, hartid) == 0;
    if (!plat.found_uart) {
        plat.uart_base = 0x10000000;
        plat.uart_irq = 10;
    }
    if (!plat.found_plic)
        plat.plic_base = 0x0C000000;
    if (!plat.found_memory) {
        plat.mem_base = RAM_BASE;
        plat.mem_size = 128UL << 20;
    }
    uart_early_init();
    if (!ok)
        kprintf("fdt: no device tree at %p, assuming QEMU virt\n", (void *)dtb);
}

void kmain(u64 hartid, u64 dtb)
{
    pvops_init();
    find_platform(hartid, dtb);
    pvops_cmdline(plat.bootargs);

    kprintf("\nhvos v0.1: the hvlab teaching kernel (RV64, Sv39), hart %lu\n", hartid);
    platform_detect();
    kprintf("fdt: memory %lu MiB at 0x%lx\n", plat.mem_size >> 20, plat.mem_base);
    kprintf("fdt: uart at 0x%lx irq %u, plic at 0x%lx context %u\n", plat.uart_base,
            plat.uart_irq, plat.plic_base, plat.plic_context);
    kprintf("fdt: timebase %lu Hz, %d virtio-mmio slots\n", plat.timebase_hz,
            plat.virtio_slots);

    kalloc_init((u64)__kernel_end, plat.mem_base + plat.mem_size);
    kvm_init();
    kvm_enable();
    uart_init();
    trap_init();
    timer_init();
    plic_init();
    console_init();
    devices_init();
    proc_init();
    kprintf("mem: kernel 0x%lx-0x%lx, %lu KiB free, Sv39 paging on\n",
            KERNEL_BASE, (u64)__kernel_end, kalloc_free_pages() * 4);

    char *argv[] = { "sh", NULL };
    if (proc_spawn(NULL, "sh", argv, 1) != 1)
        panic("kmain: cannot start sh");
    scheduler();
}
