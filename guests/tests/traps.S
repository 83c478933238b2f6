/* traps.S: an mtvec vector table (priv spec 3.1.7): exceptions enter at
 * base, interrupt N at base + 4*N. Slot 3 (machine software interrupt)
 * records its number and clears CLINT msip; other interrupt slots record
 * 0xee so a wrong slot shows in the output. */
#include "encoding.h"

    .text
    .balign 256
    .globl mvec_table
mvec_table:
    j       mtrap_entry         /* 0: exceptions */
    .rept 2
    j       vec_other
    .endr
    j       vec_msi             /* 3: machine software interrupt */
    .rept 12
    j       vec_other
    .endr

.macro VEC_RECORD value
    csrrw   sp, mscratch, sp
    addi    sp, sp, -16
    sd      t0, 0(sp)
    sd      t1, 8(sp)
    li      t0, \value
    la      t1, vec_hit
    sd      t0, 0(t1)
.endm

.macro VEC_RETURN
    ld      t0, 0(sp)
    ld      t1, 8(sp)
    addi    sp, sp, 16
    csrrw   sp, mscratch, sp
    mret
.endm

vec_msi:
    VEC_RECORD 3
    li      t0, CLINT_MSIP
    sw      zero, 0(t0)
    VEC_RETURN

vec_other:
    VEC_RECORD 0xee
    /* Stop whatever fired so it cannot repeat forever. */
    csrw    mie, zero
    VEC_RETURN

    .bss
    .balign 8
    .globl vec_hit
vec_hit: .dword 0
