# Trap entry and exit stubs (native). The C side is trap.c.
#
# While a process runs in U-mode, sscratch holds the address of its trap frame
# (struct trapframe in proc.h: x1..x31 at 8*n, epc at 256, kernel sp at 264)
# and stvec points at uservec. While the kernel runs, stvec points at kernelvec.

    .section .text
    .globl uservec
    .balign 4
uservec:
    csrrw sp, sscratch, sp          # sp = trap frame, sscratch = user sp
    .irp n, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd   x\n, (\n * 8)(sp)
    .endr
    csrr t0, sscratch
    sd   t0, (2 * 8)(sp)            # the user sp
    mv   a0, sp
    ld   sp, 264(sp)                # this process's kernel stack
    call usertrap                   # never returns: it leaves via return_to_user

# native_userret(struct trapframe *tf): load every user register from tf and
# sret. The caller has already set sepc, sstatus.SPP/SPIE, stvec and sscratch.
    .globl native_userret
native_userret:
    .irp n, 1,2,3,4,5,6,7,8,9,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld   x\n, (\n * 8)(a0)
    .endr
    ld   a0, (10 * 8)(a0)           # a0 last: it was the base register
    sret

# Traps taken in S-mode. hvos keeps interrupts off in the kernel except in the
# scheduler's idle loop, so this sees interrupts during idle, and faults that
# are kernel bugs. It saves the registers a C call may clobber.
    .globl kernelvec
    .balign 4
kernelvec:
    addi sp, sp, -144
    sd   ra, 0(sp)
    sd   t0, 8(sp)
    sd   t1, 16(sp)
    sd   t2, 24(sp)
    sd   t3, 32(sp)
    sd   t4, 40(sp)
    sd   t5, 48(sp)
    sd   t6, 56(sp)
    sd   a0, 64(sp)
    sd   a1, 72(sp)
    sd   a2, 80(sp)
    sd   a3, 88(sp)
    sd   a4, 96(sp)
    sd   a5, 104(sp)
    sd   a6, 112(sp)
    sd   a7, 120(sp)
    call kerneltrap
    ld   ra, 0(sp)
    ld   t0, 8(sp)
    ld   t1, 16(sp)
    ld   t2, 24(sp)
    ld   t3, 32(sp)
    ld   t4, 40(sp)
    ld   t5, 48(sp)
    ld   t6, 56(sp)
    ld   a0, 64(sp)
    ld   a1, 72(sp)
    ld   a2, 80(sp)
    ld   a3, 88(sp)
    ld   a4, 96(sp)
    ld   a5, 104(sp)
    ld   a6, 112(sp)
    ld   a7, 120(sp)
    addi sp, sp, 144
    sret
