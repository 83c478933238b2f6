/* sbi-crt.S: entry of the sbi guest, an S-mode kernel for an SBI firmware
 * (hvlab --firmware builtin). The firmware enters it at 0x80200000 in S-mode
 * with a0 = hart id, a1 = device tree, satp = 0 (SBI spec v2.0, ch. 9 and the
 * RISC-V boot convention). No M-mode CSR may be touched here, unlike crt0.S:
 * S-mode traps go to strap_entry (common/trap.S) on its own stack. */
#include "encoding.h"

#define SBI_EXT_SRST        0x53525354
#define SRST_SHUTDOWN       0
#define SRST_REASON_FAILURE 1

    .section .text.init, "ax"
    .globl _start
_start:
    /* Only hart 0 runs the test; another hart would wait for an IPI forever. */
    bnez    a0, park
    la      sp, __stack_top
    la      t0, strap_entry
    csrw    stvec, t0
    la      t0, __strap_stack_top
    csrw    sscratch, t0
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
    /* SRST system_reset(shutdown, reason): 0 (none) for a pass, 1 (system
     * failure) for a run with failed checks. */
    snez    a1, a0
    li      a0, SRST_SHUTDOWN
    li      a6, 0
    li      a7, SBI_EXT_SRST
    ecall
    /* Not reached if the firmware shut down; a refusal ends the run here. */
park:
    wfi
    j       park
