/* sv39.S: stack-free helpers for U-mode, which runs them through a U alias
 * of the image (no stack is mapped for U). */
    .text
    .globl u_load
u_load:                 /* u64 u_load(u64 va) */
    ld      a0, 0(a0)
    ret
    .globl u_store
u_store:                /* u64 u_store(u64 va): stores 0x600d, returns 0 */
    li      t0, 0x600d
    sd      t0, 0(a0)
    li      a0, 0
    ret
