// The user/kernel ABI: system call numbers, limits and shared structures.
// User programs put the number in a7 and the arguments in a0..a5, execute
// ecall, and find the result in a0 (negative values are errors).
#ifndef HVOS_ABI_H
#define HVOS_ABI_H
#ifndef __ASSEMBLER__
#include "types.h"
#endif

#define SYS_write     1   // write(fd, buf, len) -> bytes written
#define SYS_read      2   // read(fd, buf, len) -> bytes read, 0 at end of input (Ctrl-D)
#define SYS_exit      3   // exit(status), does not return
#define SYS_spawn     4   // spawn(name, argv) -> pid: a new process running program `name`
#define SYS_wait      5   // wait(pid or -1, &status) -> pid of a reaped child
#define SYS_getpid    6   // getpid() -> pid
#define SYS_yield     7   // yield() -> 0: give the CPU to the next runnable process
#define SYS_sleep     8   // sleep(ms) -> 0
#define SYS_map       9   // map(va or 0, len) -> va: anonymous zeroed read/write memory
#define SYS_unmap    10   // unmap(va, len) -> 0
#define SYS_time     11   // time() -> microseconds since boot
#define SYS_ps       12   // ps(struct procinfo *buf, max) -> number of entries
#define SYS_poweroff 13   // poweroff(): shut the machine down via SBI SRST

// Error returns.
#define E_FAULT   -1   // bad user pointer
#define E_INVAL   -2   // bad argument
#define E_NOENT   -3   // no such program
#define E_NOMEM   -4   // out of memory or address space
#define E_AGAIN   -5   // process table full
#define E_CHILD   -6   // no such child
#define E_INTR    -7   // interrupted (Ctrl-C)
#define E_NOSYS   -8   // unknown system call

// Exit statuses set by the kernel when it kills a process.
#define STATUS_FAULT     -11   // killed after a fault it could not handle
#define STATUS_INTR      -2    // killed by Ctrl-C

#define MAXARGS   16     // spawn: at most this many arguments (including argv[0])
#define MAXARGLEN 512    // spawn: total bytes of argument strings
#define MAXNAME   16     // program and process names

// The user address space (Sv39, lower half; see kernel/memlayout.h).
#define USER_TEXT_BASE   0x10000UL
#define USER_MMAP_BASE   0x40000000UL
#define USER_STACK_TOP   0x80000000UL
#define USER_STACK_PAGES 4
#define USER_MMAP_TOP    (USER_STACK_TOP - USER_STACK_PAGES * 4096UL - 4096UL)

#ifndef __ASSEMBLER__
struct procinfo {
    i32 pid;
    i32 ppid;
    char state[12];
    char name[MAXNAME];
    u64 pages;        // user pages mapped (text, data, stack, anonymous)
};
#endif

#endif
