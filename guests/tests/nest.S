/* nest.S: an HS-mode kernel running code in its guest (VS/VU, "L2") and coming
 * back, for the nesting guests (tests/nest.c, tests/nestwalk.c,
 * tests/hostile-nest.c; tests/nest.h). Under hvlab --nested the kernel is
 * itself a guest (L1) whose HS-mode is virtual: every CSR access below to an
 * H or VS CSR, and the SRET with hstatus.SPV = 1, is emulated by L0.
 *
 * run_l2_raw(fn, arg, sp) saves the caller's callee-saved registers, points
 * stvec at l1_vec and SRETs into fn(arg) with hstatus.SPV = 1 (the caller set
 * SPVP and sstatus.SPP for VS or VU). fn's return lands in l2_done, whose ECALL
 * (a7 = L2_RETURN) traps back to l1_vec. Any trap of L2 that reaches the
 * kernel ends the run the same way: l1_vec records the trap CSRs in l1trap
 * and returns from run_l2_raw with fn's a0 (L2_RETURN) or ~0 (anything else).
 * Delegated traps go to l2_vec, L2's own handler (vstvec), which records them
 * in l2trap and resumes L2 past the instruction (or where an interrupt hit). */
#define CSR_HSTATUS 0x600
#define CSR_HTVAL   0x643
#define CSR_HTINST  0x64a
#define HSTATUS_SPV (1 << 7)
#define L2_RETURN   0x5e7a12

    .text
    .balign 4
    .globl run_l2_raw
run_l2_raw:
    la      t0, l1ctx
    sd      ra, 0(t0)
    sd      sp, 8(t0)
    sd      s0, 16(t0)
    sd      s1, 24(t0)
    sd      s2, 32(t0)
    sd      s3, 40(t0)
    sd      s4, 48(t0)
    sd      s5, 56(t0)
    sd      s6, 64(t0)
    sd      s7, 72(t0)
    sd      s8, 80(t0)
    sd      s9, 88(t0)
    sd      s10, 96(t0)
    sd      s11, 104(t0)
    csrr    t1, stvec
    sd      t1, 112(t0)
    la      t1, l1_vec
    csrw    stvec, t1
    csrw    sepc, a0
    mv      a0, a1
    mv      sp, a2
    li      a7, 0               /* not L2_RETURN until l2_done sets it */
    la      ra, l2_done
    li      t1, HSTATUS_SPV
    csrs    CSR_HSTATUS, t1
    sret

/* In L2: fn returned. */
    .globl l2_done
l2_done:
    li      a7, L2_RETURN
    ecall
1:  j       1b

/* In L2: the walk guest's load (tests/nestwalk.c): on the same page as
 * l2_done, so that L2 touches exactly one code page and one data page. */
    .globl l2_load
l2_load:
    ld      a0, 0(a0)
    ret

    .balign 4
l1_vec:
    la      t0, l1trap
    csrr    t1, scause
    sd      t1, 0(t0)
    csrr    t1, stval
    sd      t1, 8(t0)
    csrr    t1, sepc
    sd      t1, 16(t0)
    csrr    t1, CSR_HTVAL
    sd      t1, 24(t0)
    csrr    t1, CSR_HTINST
    sd      t1, 32(t0)
    csrr    t1, CSR_HSTATUS
    sd      t1, 40(t0)
    csrr    t1, sstatus
    sd      t1, 48(t0)
    sd      a7, 56(t0)
    li      t1, HSTATUS_SPV
    csrc    CSR_HSTATUS, t1
    li      t1, L2_RETURN
    beq     a7, t1, 1f
    li      a0, -1
1:  la      t0, l1ctx
    ld      ra, 0(t0)
    ld      sp, 8(t0)
    ld      s0, 16(t0)
    ld      s1, 24(t0)
    ld      s2, 32(t0)
    ld      s3, 40(t0)
    ld      s4, 48(t0)
    ld      s5, 56(t0)
    ld      s6, 64(t0)
    ld      s7, 72(t0)
    ld      s8, 80(t0)
    ld      s9, 88(t0)
    ld      s10, 96(t0)
    ld      s11, 104(t0)
    ld      t1, 112(t0)
    csrw    stvec, t1
    ret

/* L2's own trap handler (its stvec, the real vstvec): t0 and t1 are kept in
 * sscratch and l2trap. */
    .balign 4
    .globl l2_vec
l2_vec:
    csrw    sscratch, t0
    la      t0, l2trap
    sd      t1, 32(t0)
    csrr    t1, scause
    sd      t1, 0(t0)
    csrr    t1, stval
    sd      t1, 8(t0)
    csrr    t1, sepc
    sd      t1, 16(t0)
    ld      t1, 24(t0)
    addi    t1, t1, 1
    sd      t1, 24(t0)
    csrr    t1, scause
    bltz    t1, 1f
    csrr    t1, sepc
    addi    t1, t1, 4
    csrw    sepc, t1
    j       2f
1:  csrci   sip, 2          /* a software interrupt: acknowledged (hvip.VSSIP) */
2:  ld      t1, 32(t0)
    csrr    t0, sscratch
    sret

    .bss
    .balign 8
l1ctx:
    .space 15 * 8
    .globl l1trap
l1trap:
    .space 8 * 8
    .globl l2trap
l2trap:
    .space 5 * 8
