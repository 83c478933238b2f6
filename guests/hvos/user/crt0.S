# User program entry: the kernel starts us with a0 = argc, a1 = argv and sp
# just below the argument strings. main's return value is the exit status.
    .section .text.start
    .globl _start
_start:
    call main
    call exit
