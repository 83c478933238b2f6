# Trap entry stubs of the `pv` mode (pvops_pv.c; docs/pv-abi.md). The
# hypervisor bounces traps here instead of the hardware vectoring to stvec;
# the trap information (cause, epc, tval) is in the shared info page.

#define SH_SCRATCH 16
#define SH_EPC     32
#define EID_HVLAB  0x08484C56
#define FID_IRET   8

    .section .text

# A trap from user mode. The hypervisor has exchanged sp with the shared
# page's scratch slot, as `csrrw sp, sscratch, sp` does natively: sp is the
# process's trap frame, and the scratch slot holds the user sp.
    .globl pv_uservec
    .balign 4
pv_uservec:
    .irp n, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd   x\n, (\n * 8)(sp)
    .endr
    la   t0, pv_shared_page
    ld   t0, SH_SCRATCH(t0)
    sd   t0, (2 * 8)(sp)            # the user sp
    mv   a0, sp
    ld   sp, 264(sp)                # this process's kernel stack
    call usertrap                   # never returns: it leaves via iret

# A trap taken in the kernel: a fault (kerneltrap panics), or a virtual
# interrupt delivered while unmasked. Every register is saved in a frame on
# the kernel stack in the iret layout (x1..x31, then the pc at 256), and
# iret to the kernel restores them all, sp and a0 included.
    .globl pv_kernelvec
    .balign 4
pv_kernelvec:
    addi sp, sp, -272
    .irp n, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd   x\n, (\n * 8)(sp)
    .endr
    addi t0, sp, 272
    sd   t0, (2 * 8)(sp)            # the interrupted sp
    la   t0, pv_shared_page
    ld   t0, SH_EPC(t0)
    sd   t0, 256(sp)
    call kerneltrap
    mv   a0, sp
    li   a1, 1                      # back to the kernel
    li   a6, FID_IRET
    li   a7, EID_HVLAB
    ecall
1:  j    1b                         # iret does not return
