/* crt0.S: entry of every test guest (M-mode, firmware none).
 * On entry a0 = hart id, a1 = device-tree address (QEMU virt, hvlab). */
#include "encoding.h"

    .section .text.init, "ax"
    .globl _start
_start:
    /* Only hart 0 runs the test; others park. */
    bnez    a0, park
    la      sp, __stack_top
    la      t0, mtrap_entry
    csrw    mtvec, t0
    la      t0, __mtrap_stack_top
    csrw    mscratch, t0
    la      t0, strap_entry
    csrw    stvec, t0
    la      t0, __strap_stack_top
    csrw    sscratch, t0
    /* PMP: one NAPOT entry granting RWX over all of physical memory, as
     * firmware does; without it S/U accesses fail (priv spec 3.7.1). */
    li      t0, PMP_ALL_NAPOT
    csrw    pmpaddr0, t0
    li      t0, PMPCFG_NAPOT_RWX
    csrw    pmpcfg0, t0
    /* Zero .bss. */
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  la      t0, boot_hartid
    sd      a0, 0(t0)
    la      t0, boot_dtb
    sd      a1, 0(t0)
    call    main
    call    exit
park:
    wfi
    j       park
