# hvisor's entry and its one trap vector.
#
# The SBI firmware (OpenSBI, or hvlab's builtin firmware) jumps to _start in HS-mode with
# paging off: a0 = hart ID, a1 = the device tree. L1 runs with sstatus.SIE = 0 and satp bare;
# it only ever waits inside an exit, so every trap it takes is either an exit of its L2 guest
# (taken from V = 1) or a fault of its own (an HLVX that faults, or a bug).
#
# sscratch tells the two apart, as xv6's kernelvec/uservec pair does with two vectors: while
# L2 runs it holds the vCPU's save area; while L1 runs it holds 0.

    .option arch, +h
    .section .text.entry
    .globl _start
_start:
    la   sp, hv_stack_top
    la   t0, __bss_start
    la   t1, __bss_end
1:  bgeu t0, t1, 2f
    sd   zero, 0(t0)
    addi t0, t0, 8
    j    1b
2:  csrw sscratch, zero
    la   t0, hv_trap_vector
    csrw stvec, t0
    call hv_main
3:  wfi
    j    3b

    .text
    .balign 4
    .globl hv_trap_vector
hv_trap_vector:
    csrrw sp, sscratch, sp      # sp = vCPU save area, sscratch = L2's sp
    beqz  sp, self_trap         # sscratch was 0: the trap is L1's own
    sd   x1, 8(sp)
    sd   x3, 24(sp)
    sd   x4, 32(sp)
    sd   x5, 40(sp)
    sd   x6, 48(sp)
    sd   x7, 56(sp)
    sd   x8, 64(sp)
    sd   x9, 72(sp)
    sd   x10, 80(sp)
    sd   x11, 88(sp)
    sd   x12, 96(sp)
    sd   x13, 104(sp)
    sd   x14, 112(sp)
    sd   x15, 120(sp)
    sd   x16, 128(sp)
    sd   x17, 136(sp)
    sd   x18, 144(sp)
    sd   x19, 152(sp)
    sd   x20, 160(sp)
    sd   x21, 168(sp)
    sd   x22, 176(sp)
    sd   x23, 184(sp)
    sd   x24, 192(sp)
    sd   x25, 200(sp)
    sd   x26, 208(sp)
    sd   x27, 216(sp)
    sd   x28, 224(sp)
    sd   x29, 232(sp)
    sd   x30, 240(sp)
    sd   x31, 248(sp)
    csrrw t0, sscratch, zero    # L2's sp; from now on traps are L1's own
    sd   t0, 16(sp)
    mv   s0, sp
    ld   sp, 256(s0)            # L1's stack (struct vcpu.hv_sp)
    mv   a0, s0
    call hv_exit
    mv   a0, s0
    # fall through: resume L2

# hv_enter(vcpu): load L2's registers and sret into it. The caller has set sepc, sstatus.SPP
# and hstatus.SPV/SPVP for the mode L2 resumes in.
    .globl hv_enter
hv_enter:
    csrw sscratch, a0
    ld   x1, 8(a0)
    ld   x2, 16(a0)
    ld   x3, 24(a0)
    ld   x4, 32(a0)
    ld   x5, 40(a0)
    ld   x6, 48(a0)
    ld   x7, 56(a0)
    ld   x8, 64(a0)
    ld   x9, 72(a0)
    ld   x11, 88(a0)
    ld   x12, 96(a0)
    ld   x13, 104(a0)
    ld   x14, 112(a0)
    ld   x15, 120(a0)
    ld   x16, 128(a0)
    ld   x17, 136(a0)
    ld   x18, 144(a0)
    ld   x19, 152(a0)
    ld   x20, 160(a0)
    ld   x21, 168(a0)
    ld   x22, 176(a0)
    ld   x23, 184(a0)
    ld   x24, 192(a0)
    ld   x25, 200(a0)
    ld   x26, 208(a0)
    ld   x27, 216(a0)
    ld   x28, 224(a0)
    ld   x29, 232(a0)
    ld   x30, 240(a0)
    ld   x31, 248(a0)
    ld   x10, 80(a0)
    sret

# A trap taken in L1 itself: save the caller-saved registers on L1's stack and let
# hv_self_trap decide (it resumes after a faulting HLVX, or stops the machine).
self_trap:
    csrrw sp, sscratch, sp      # back to L1's sp; sscratch = 0 again
    addi sp, sp, -144
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
    mv   a0, sp
    call hv_self_trap
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
    addi sp, sp, 144
    sret

    .section .bss.stack
    .balign 16
hv_stack:
    .space 16384
    .globl hv_stack_top
hv_stack_top:
