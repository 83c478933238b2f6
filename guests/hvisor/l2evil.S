# l2evil's entry and trap vector: a hostile L2 kernel (l2evil.c) for hvisor's tests. It runs
# in VS-mode and sees only what any S-mode kernel sees.
    .section .text.entry
    .globl _start
_start:
    la   sp, evil_stack_top
    la   t0, evil_vector
    csrw stvec, t0
    call evil_main
1:  j    1b

# Record the trap and resume where evil_trap says: after the faulting instruction (all are
# 4 bytes), or at the return address for a fetch fault after a jump.
    .text
    .balign 4
evil_vector:
    addi sp, sp, -128
    sd   ra, 0(sp)
    sd   t0, 8(sp)
    sd   t1, 16(sp)
    sd   t2, 24(sp)
    sd   a0, 32(sp)
    sd   a1, 40(sp)
    sd   a2, 48(sp)
    sd   a3, 56(sp)
    sd   a4, 64(sp)
    sd   a5, 72(sp)
    sd   a6, 80(sp)
    sd   a7, 88(sp)
    sd   t3, 96(sp)
    sd   t4, 104(sp)
    sd   t5, 112(sp)
    sd   t6, 120(sp)
    csrr a0, scause
    csrr a1, stval
    csrr a2, sepc
    ld   a3, 0(sp)
    call evil_trap
    csrw sepc, a0
    ld   ra, 0(sp)
    ld   t0, 8(sp)
    ld   t1, 16(sp)
    ld   t2, 24(sp)
    ld   a0, 32(sp)
    ld   a1, 40(sp)
    ld   a2, 48(sp)
    ld   a3, 56(sp)
    ld   a4, 64(sp)
    ld   a5, 72(sp)
    ld   a6, 80(sp)
    ld   a7, 88(sp)
    ld   t3, 96(sp)
    ld   t4, 104(sp)
    ld   t5, 112(sp)
    ld   t6, 120(sp)
    addi sp, sp, 128
    sret

    .bss
    .balign 16
    .space 8192
evil_stack_top:
