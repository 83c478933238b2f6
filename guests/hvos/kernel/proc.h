// Processes: the trap frame, the saved kernel context, and the process table entry.
#ifndef HVOS_PROC_H
#define HVOS_PROC_H
#include "riscv.h"
#include "param.h"
#include "../lib/abi.h"

// Registers of a user process saved on a trap, indexed by register number
// (regs[10] is a0). trapvec.S depends on this layout.
struct trapframe {
    u64 regs[32];     //   0: x0..x31 (x0 unused)
    u64 epc;          // 256: user pc to resume at
    u64 kernel_sp;    // 264: top of this process's kernel stack
};
#define TF_EPC       256
#define TF_KERNEL_SP 264

enum { REG_RA = 1, REG_SP = 2, REG_A0 = 10, REG_A1 = 11, REG_A2 = 12, REG_A3 = 13,
       REG_A4 = 14, REG_A5 = 15, REG_A7 = 17 };

// Callee-saved registers for a kernel-to-kernel switch (swtch.S).
struct context {
    u64 ra;
    u64 sp;
    u64 s[12];
};

enum procstate { UNUSED, RUNNABLE, RUNNING, SLEEPING, ZOMBIE };

struct proc {
    enum procstate state;
    int pid;
    int pgid;                 // process group: Ctrl-C kills the foreground group
    struct proc *parent;      // NULL: detached (its parent exited); reaped by the scheduler
    char name[MAXNAME];

    pagetable_t pagetable;    // root of the Sv39 table; kernel half shared
    u16 asid;                 // address-space ID tagging this process's TLB entries
    u64 pages;                // user pages mapped
    u64 mmap_next;            // where map(0, len) looks for space next

    void *chan;               // sleeping on this channel
    u64 wake_time;            // sleep(): timebase ticks at which to wake (0: none)
    int killed;               // nonzero: exit with this status at the next chance
    int xstatus;              // exit status for wait()

    u8 *kstack;               // KSTACK_SIZE bytes
    struct context ctx;       // kernel registers while switched out
    struct trapframe tf;      // user registers while in the kernel
};

#endif
