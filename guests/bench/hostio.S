/* hostio: heavy exits. An S-mode kernel (for SBI firmware, linked at 0x80200000) that talks
 * to a device the host models in TypeScript at 0x10008000 (the last virtio-mmio slot's
 * window, where the core has no device of its own): 1000 times it loads word 0, adds one and
 * stores the result to word 1; then a 64-bit load of word 2 stored to word 4 and a byte store
 * to offset 0x20. Every access is a heavy exit (hv/hostio.ts); test/hostio.test.ts checks
 * what the device saw, and npm run bench:hv prices one. */
#define DEVICE       0x10008000
#define ROUNDS       1000
#define SBI_EXT_SRST 0x53525354

    .section .text.init, "ax"
    .globl _start
_start:
    li      t0, DEVICE
    li      t2, ROUNDS
1:  lw      t1, 0(t0)
    addi    t1, t1, 1
    sw      t1, 4(t0)
    addi    t2, t2, -1
    bnez    t2, 1b
    ld      t3, 8(t0)
    sd      t3, 16(t0)
    li      t4, 0x5a
    sb      t4, 0x20(t0)
    /* SBI SRST system_reset(shutdown, no reason): a pass. */
    li      a0, 0
    li      a1, 0
    li      a6, 0
    li      a7, SBI_EXT_SRST
    ecall
2:  j       2b
