// Native privileged operations: the real CSR accesses, sfence.vma, sret and
// wfi. This is the only C file that touches privileged state directly.
#include "pvops.h"
#include "proc.h"
#include "sbi.h"
#include "defs.h"

static void native_set_satp(u64 satp)
{
    csr_write(satp, satp);
}

static u64 native_get_satp(void)
{
    return csr_read(satp);
}

static void native_set_pte(pte_t *ptep, pte_t pte)
{
    *(volatile pte_t *)ptep = pte;
}

static void native_flush_tlb_page(u64 va, u64 asid)
{
    asm volatile("sfence.vma %0, %1" :: "r"(va), "r"(asid) : "memory");
}

static void native_flush_tlb_asid(u64 asid)
{
    asm volatile("sfence.vma zero, %0" :: "r"(asid) : "memory");
}

static void native_flush_tlb_all(void)
{
    asm volatile("sfence.vma" ::: "memory");
}

static pte_t native_read_pte(pte_t *ptep)
{
    return *(volatile pte_t *)ptep;
}

// Page-table pages are ordinary memory to the hardware: nothing to do.
static void native_alloc_table(pagetable_t page) { (void)page; }
static void native_release_tables(pagetable_t root) { (void)root; }

static u64 native_read_sstatus(void)      { return csr_read(sstatus); }
static void native_sstatus_set(u64 bits)  { csr_set(sstatus, bits); }
static void native_sstatus_clear(u64 bits){ csr_clear(sstatus, bits); }
static void native_write_sie(u64 bits)    { csr_write(sie, bits); }
static void native_write_stvec(u64 addr)  { csr_write(stvec, addr); }
static void native_write_sscratch(u64 v)  { csr_write(sscratch, v); }
static u64 native_read_sepc(void)         { return csr_read(sepc); }
static void native_write_sepc(u64 v)      { csr_write(sepc, v); }
static u64 native_read_scause(void)       { return csr_read(scause); }
static u64 native_read_stval(void)        { return csr_read(stval); }

// Return to U-mode: sret goes to sepc in the mode named by sstatus.SPP, and
// sets SIE from SPIE, so user code always runs with interrupts enabled.
// Traps from U-mode enter uservec, which finds the trap frame in sscratch.
static void __attribute__((noreturn)) native_return_to_user(struct trapframe *tf)
{
    csr_clear(sstatus, SSTATUS_SPP);
    csr_set(sstatus, SSTATUS_SPIE);
    csr_write(sepc, tf->epc);
    csr_write(stvec, (u64)uservec);
    csr_write(sscratch, (u64)tf);
    native_userret(tf);
}

// The time CSR needs the firmware to allow it (mcounteren.TM); both OpenSBI
// and hvlab's builtin firmware do.
static u64 native_read_time(void)
{
    return csr_read(time);
}

static void native_set_timer(u64 deadline)
{
    sbi_call(SBI_EXT_TIME, SBI_TIME_SET_TIMER, deadline, 0, 0);
}

// Called with sstatus.SIE clear. wfi returns when an enabled interrupt is
// pending even with SIE clear, so no wakeup is lost between the caller's
// "anything to run?" check and here; then we open the window for one trap.
static void native_idle(void)
{
    asm volatile("wfi" ::: "memory");
    csr_set(sstatus, SSTATUS_SIE);
    csr_clear(sstatus, SSTATUS_SIE);
}

static void native_console_putc(int c)
{
    uart_putc(c);
}

const struct pv_ops pv_native_ops = {
    .name = "native",
    .set_satp = native_set_satp,
    .get_satp = native_get_satp,
    .set_pte = native_set_pte,
    .flush_tlb_page = native_flush_tlb_page,
    .flush_tlb_asid = native_flush_tlb_asid,
    .flush_tlb_all = native_flush_tlb_all,
    .read_pte = native_read_pte,
    .alloc_table = native_alloc_table,
    .release_tables = native_release_tables,
    .mmu_flags = 0,
    .read_sstatus = native_read_sstatus,
    .sstatus_set = native_sstatus_set,
    .sstatus_clear = native_sstatus_clear,
    .write_sie = native_write_sie,
    .write_stvec = native_write_stvec,
    .write_sscratch = native_write_sscratch,
    .read_sepc = native_read_sepc,
    .write_sepc = native_write_sepc,
    .read_scause = native_read_scause,
    .read_stval = native_read_stval,
    .return_to_user = native_return_to_user,
    .read_time = native_read_time,
    .set_timer = native_set_timer,
    .idle = native_idle,
    .console_putc = native_console_putc,
};
