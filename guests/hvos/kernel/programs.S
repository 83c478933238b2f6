# The user programs, embedded in the kernel image: each is the ELF file built
# from user/<name>.c, included byte for byte. The table `programs` lists
# { name, start, end } and ends with a zero entry.

    .section .rodata.programs, "a"

    .macro PROGRAM name
    .balign 8
prog_\name\()_start:
    .incbin "\name\().elf"
prog_\name\()_end:
    .endm

    .macro NAME name
prog_\name\()_name:
    .asciz "\name"
    .endm

    .macro ENTRY name
    .dword prog_\name\()_name, prog_\name\()_start, prog_\name\()_end
    .endm

    .irp p, sh, bench, compute, memwalk, ptchurn, spawn, syscall, ctxsw, io, fault, sleep, true, blk, disk, rng, cons
    PROGRAM \p
    NAME \p
    .endr

    .balign 8
    .globl programs
programs:
    .irp p, sh, bench, compute, memwalk, ptchurn, spawn, syscall, ctxsw, io, fault, sleep, true, blk, disk, rng, cons
    ENTRY \p
    .endr
    .dword 0, 0, 0
