/* pvguest.S: entry and trap handlers of the pv guests (pvguest.h). The hypervisor starts the
 * guest at _start in U-mode on its boot address space; traps come to the handlers registered
 * with set_callbacks, with the trap information in the shared page. */

#define SH_EPC     32
#define EID_HVLAB  0x08484C56
#define FID_IRET   8

    .section .text.init, "ax"
    .globl _start
_start:
    la      sp, __stack_top
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  call    main
3:  j       3b

    .text
/* A trap of user mode: the hypervisor exchanged sp with shared.scratch, so sp is the handler
 * stack the test put there. The user registers go to user_frame; the C side goes on from
 * there and never returns. */
    .globl pv_user_entry
    .balign 4
pv_user_entry:
    addi    sp, sp, -16
    sd      t0, 0(sp)
    la      t0, user_frame
    .irp n, 1,3,4,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd      x\n, (\n * 8)(t0)
    .endr
    ld      t1, 0(sp)
    sd      t1, (5 * 8)(t0)
    addi    sp, sp, 16
    mv      a0, t0
    call    user_trapped
4:  j       4b

/* A trap of the kernel: every register is live. Save them all in an iret frame on the stack,
 * let kernel_trapped() look (and move the pc), and iret back to the kernel. */
    .globl pv_kernel_entry
    .balign 4
pv_kernel_entry:
    addi    sp, sp, -272
    .irp n, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd      x\n, (\n * 8)(sp)
    .endr
    addi    t0, sp, 272
    sd      t0, (2 * 8)(sp)
    la      t0, shared
    ld      t0, SH_EPC(t0)
    sd      t0, 256(sp)
    mv      a0, sp
    call    kernel_trapped
    mv      a0, sp
    li      a1, 1
    li      a6, FID_IRET
    li      a7, EID_HVLAB
    ecall
5:  j       5b

    .bss
    .balign 4096
    .globl shared
shared:
    .space 4096
    .balign 8
    .globl user_frame
user_frame:
    .space 264
