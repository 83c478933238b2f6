# The first instructions of hvos.
#
# The SBI firmware (OpenSBI, or hvlab's builtin firmware) jumps here in S-mode
# with paging off and interrupts disabled, a0 = hart ID and a1 = physical
# address of the flattened device tree. We set up a stack, clear .bss (C
# expects it zero) and call kmain(hartid, dtb).

    .section .text.entry
    .globl _start
_start:
    la   sp, boot_stack_top

    la   t0, __bss_start
    la   t1, __bss_end
1:  bgeu t0, t1, 2f
    sd   zero, 0(t0)
    addi t0, t0, 8
    j    1b
2:
    call kmain
3:  wfi                     # kmain never returns; if it does, park the hart
    j    3b

    # The boot stack: kmain runs on it, and later the scheduler.
    .section .bss.stack
    .balign 16
boot_stack:
    .space 16384
    .globl boot_stack_top
boot_stack_top:
