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
#define SYS_blkinfo  14   // blkinfo(struct blkinfo *) -> 0: the block device
#define SYS_blkread  15   // blkread(sector, buf, count) -> count: read 512-byte sectors
#define SYS_blkwrite 16   // blkwrite(sector, buf, count) -> count: write sectors
#define SYS_blkflush 17   // blkflush() -> 0: make written sectors durable
#define SYS_random   18   // random(buf, len) -> len: bytes from the entropy device
#define SYS_consput  19   // consput(domid, buf, len) -> bytes queued: input for a split console's frontend

// Error returns.
#define E_FAULT   -1   // bad user pointer
#define E_INVAL   -2   // bad argument
#define E_NOENT   -3   // no such program
#define E_NOMEM   -4   // out of memory or address space
#define E_AGAIN   -5   // process table full
#define E_CHILD   -6   // no such child
#define E_INTR    -7   // interrupted (Ctrl-C)
#define E_NOSYS   -8   // unknown system call
#define E_NODEV   -9   // no such device (no block device, no entropy device)
#define E_IO      -10  // the device failed the request, or stopped working
#define E_ROFS    -11  // the disk is read-only

// Exit statuses set by the kernel when it kills a process.
#define STATUS_FAULT     -11   // killed after a fault it could not handle
#define STATUS_INTR      -2    // killed by Ctrl-C

#define MAXARGS   16     // spawn: at most this many arguments (including argv[0])
#define MAXARGLEN 512    // spawn: total bytes of argument strings
#define MAXNAME   16     // program and process names
#define BLK_MAX_SECTORS 256   // blkread/blkwrite: at most this many sectors a call
#define RANDOM_MAX      4096  // random: at most this many bytes a call

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

struct blkinfo {
    u64 sectors;      // capacity in 512-byte sectors
    u32 block_size;   // the device's preferred I/O unit in bytes
    u32 readonly;
    char driver[16];  // "virtio-blk" or "emudisk"
    char id[24];      // the device's ID string (virtio-blk GET_ID), may be empty
};
#endif

#endif
