/* hostile-stop: kernels that never end by themselves (see hostile.h). The host gives one byte
 * of console input before the run, read through DBCN console_read, that picks the variant:
 *   l  an endless loop with interrupts disabled: only the watchdog (maxInstructions) stops it
 *   w  WFI forever with no interrupt enabled and no timer armed: the run stops as idle
 *   0  satp = Sv39 with the root table at physical 0
 *   1  satp = Sv39 with the root table at 0x1_0000_0000 (PPN 0x100000), outside its RAM
 *   h  satp = Sv39 with the root at 0x8800_0000, just past its RAM (machine memory in a VM)
 *   u  satp = Sv39 with the root table on the UART
 * With satp pointing at no table, every fetch is an instruction access fault, including the
 * fetch of the trap handler: the kernel faults forever, and the watchdog stops the run.
 * No input: the 'l' variant. */
#include "hostile.h"

static void spin_forever(void)
{
    csr_clear(sstatus, MSTATUS_SIE);
    csr_write(sie, 0);
    for (;;)
        asm volatile("" ::: "memory");
}

static void wfi_forever(void)
{
    csr_clear(sstatus, MSTATUS_SIE);
    csr_write(sie, 0);
    for (;;)
        asm volatile("wfi" ::: "memory");
}

static void bad_satp(u64 root)
{
    print_kv("satp root", root);
    csr_write(satp, SATP_MODE_SV39 | (root >> 12));
    /* Not reached: this fetch faults, and so does every fetch after it. */
    asm volatile("sfence.vma" ::: "memory");
    println("UNEXPECTED: still running after the satp write");
    for (;;)
        ;
}

int main(void)
{
    static char sel;
    struct sbiret r;
    hostile_init();
    println("hostile-stop: runs that only a watchdog or the idle detector ends");
    platform_line();
    r = sbi(EID_DBCN, DBCN_READ, 1, (u64)&sel, 0);
    if (r.error != 0 || r.value != 1)
        sel = 'l';
    print("variant ");
    putc(sel);
    putc('\n');
    switch (sel) {
    case 'w': wfi_forever(); break;
    case '0': bad_satp(0); break;
    case '1': bad_satp(0x100000000UL); break;
    case 'h': bad_satp(0x88000000UL); break;
    case 'u': bad_satp(UART_BASE); break;
    default: spin_forever();
    }
    return 1;
}
