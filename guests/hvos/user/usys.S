# System call stubs: number in a7, arguments already in a0..a5, result in a0.
#include "../lib/abi.h"

    .macro SYSCALL name, number
    .globl \name
\name:
    li   a7, \number
    ecall
    ret
    .endm

    SYSCALL write,    SYS_write
    SYSCALL read,     SYS_read
    SYSCALL exit,     SYS_exit
    SYSCALL spawn,    SYS_spawn
    SYSCALL wait,     SYS_wait
    SYSCALL getpid,   SYS_getpid
    SYSCALL yield,    SYS_yield
    SYSCALL sleep,    SYS_sleep
    SYSCALL map,      SYS_map
    SYSCALL unmap,    SYS_unmap
    SYSCALL time_us,  SYS_time
    SYSCALL ps,       SYS_ps
    SYSCALL poweroff, SYS_poweroff
    SYSCALL blkinfo,  SYS_blkinfo
    SYSCALL blkread,  SYS_blkread
    SYSCALL blkwrite, SYS_blkwrite
    SYSCALL blkflush, SYS_blkflush
    SYSCALL random,   SYS_random
    SYSCALL consput,  SYS_consput
