/* exits: the light-exit benchmark. An S-mode kernel (for SBI firmware, linked at 0x80200000)
 * that reads sscratch N times and shuts down. Natively each read is one instruction; under
 * trap-emulate each is a VM exit the hypervisor handles in the core (an emulated CSR read),
 * so (wall time under trap-emulate - wall time native) / N is the cost of one light exit.
 * See npm run bench:hv and docs/performance.md. */
#define READS 2000000
#define SBI_EXT_SRST 0x53525354

    .section .text.init, "ax"
    .globl _start
_start:
    li      t0, READS
1:  csrr    t1, sscratch
    addi    t0, t0, -1
    bnez    t0, 1b
    /* SBI SRST system_reset(shutdown, no reason): a pass. */
    li      a0, 0
    li      a1, 0
    li      a6, 0
    li      a7, SBI_EXT_SRST
    ecall
2:  j       2b
