// hvisor's boot: read L1's device tree, carve L2's RAM out of L1's own, map it in a G-stage
// table, load the L2 kernel and its device tree, set up the hypervisor CSRs and enter L2 with
// sret (hstatus.SPV = 1). From then on L1 runs only inside exits (exit.c).
#include "hvisor.h"

#define MIB (UL(1) << 20)
#define L2_RAM_ALIGN (2 * MIB)      // so a later superpage G-stage could map it

// Exceptions L2's kernel handles itself (hedeleg, 8.2.2): what it causes in its own
// address spaces. Not delegated, so they reach L1: illegal instructions (reflected, as KVM
// does), ecalls from VS (its SBI calls), guest-page faults and virtual instructions (those
// two cannot be delegated to VS at all).
#define HEDELEG_L2 ((UL(1) << EXC_FETCH_MISALIGNED) | (UL(1) << EXC_BREAKPOINT) |          \
                    (UL(1) << EXC_LOAD_MISALIGNED) | (UL(1) << EXC_STORE_MISALIGNED) |     \
                    (UL(1) << EXC_FETCH_PAGE_FAULT) | (UL(1) << EXC_LOAD_PAGE_FAULT) |     \
                    (UL(1) << EXC_STORE_PAGE_FAULT))

extern char __end[], hv_stack_top[];
extern const u8 hvos_image[], hvos_image_end[], evil_image[], evil_image_end[];
extern const u8 l2_dtb[], l2_dtb_end[];

int user_traps_to_l1;
static struct vcpu vcpu;

void hv_main(u64 hartid, const void *dtb)
{
    struct l1_boot boot;
    cons_init();
    if (fdt_read(dtb, &boot) < 0)
        panic("hv_main: no usable device tree at %x", (u64)dtb);
    user_traps_to_l1 = bootarg(boot.bootargs, "usertraps");
    int evil = bootarg(boot.bootargs, "l2=evil");
    printf("hvisor: an L1 hypervisor (HS-mode, H extension), hart %u\n", hartid);

    // L2's RAM: the first aligned block after L1's image, if L1's RAM holds it.
    u64 l2_hpa = ((u64)__end + L2_RAM_ALIGN - 1) & ~(L2_RAM_ALIGN - 1);
    if (l2_hpa < boot.mem_base || l2_hpa + L2_RAM_SIZE > boot.mem_base + boot.mem_size)
        panic("hv_main: L1 RAM %u MiB at %x cannot hold L2's %u MiB", boot.mem_size / MIB,
              boot.mem_base, (u64)L2_RAM_MIB);
    printf("hvisor: L1 RAM %u MiB at %x; L2 RAM %u MiB at gpa %x = hpa %x\n",
           boot.mem_size / MIB, boot.mem_base, (u64)L2_RAM_MIB, (u64)L2_RAM_GPA, l2_hpa);
    // L1 never used this memory, but the firmware may have: L2 must not see its leftovers.
    for (u64 *p = (u64 *)l2_hpa; p < (u64 *)(l2_hpa + L2_RAM_SIZE); p++)
        *p = 0;
    gstage_map(L2_RAM_GPA, l2_hpa, L2_RAM_SIZE);
    printf("hvisor: G-stage Sv39x4, %u pages of 4 KiB, VMID %u; UART and PLIC emulated\n",
           gstage_pages(), (u64)L2_VMID);

    const u8 *image = evil ? evil_image : hvos_image;
    u64 image_size = evil ? (u64)(evil_image_end - evil_image) : (u64)(hvos_image_end - hvos_image);
    u64 entry;
    if (elf_load(image, image_size, &entry) < 0)
        panic("hv_main: the L2 kernel image does not fit L2's RAM");
    u64 dtb_size = (u64)(l2_dtb_end - l2_dtb);
    void *l2dtb = gpa_ptr(L2_DTB_GPA, dtb_size);
    if (dtb_size > L2_DTB_MAX || !l2dtb)
        panic("hv_main: the L2 device tree does not fit");
    memcpy(l2dtb, l2_dtb, dtb_size);

    u64 hedeleg = HEDELEG_L2 | (user_traps_to_l1 ? 0 : UL(1) << EXC_ECALL_U);
    if (user_traps_to_l1)
        printf("hvisor: L2 user ecalls exit to L1, which reflects them (usertraps), hedeleg %x\n", hedeleg);
    else
        printf("hvisor: L2 user ecalls go to L2's kernel directly, hedeleg %x\n", hedeleg);
    printf("hvisor: L2 kernel %s, entry %x, device tree at gpa %x\n",
           evil ? "l2evil" : "hvos", entry, (u64)L2_DTB_GPA);

    // The hypervisor CSRs (8.2). VS-level interrupts are L2's (hideleg): L1 raises them in
    // hvip. WFI in VS exits (VTW), so L1 sees an idle L2. L2 may read the counters
    // (hcounteren) as a kernel on the firmware may.
    csr_write(hedeleg, hedeleg);
    csr_write(hideleg, MIP_VS_ALL);
    csr_write(hcounteren, 7);
    csr_write(htimedelta, 0);
    csr_write(hvip, 0);
    csr_write(hie, 0);
    csr_write(vsstatus, 0);
    csr_write(vstvec, 0);
    csr_write(vsatp, 0);
    csr_write(hgatp, gstage_hgatp());
    asm volatile(".option push\n.option arch, +h\nhfence.gvma zero, zero\n.option pop" ::: "memory");

    // L1's own interrupts: its timer (standing in for L2's) and the real PLIC (the real
    // UART's input). Taken while L2 runs whatever sstatus.SIE says (8.2.3); L1 runs with
    // SIE = 0 and so is never interrupted itself.
    sbi_set_timer(~UL(0));
    l1_plic_init();
    cons_rx_irq(1);
    csr_write(sie, MIP_STIP | MIP_SEIP);

    // Enter L2: sret to VS (SPV = 1, SPP = 1) at its entry, a0 = hart ID, a1 = its tree.
    csr_set(hstatus, HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_VTW);
    csr_set(sstatus, SSTATUS_SPP);
    csr_write(sepc, entry);
    vcpu.x[10] = 0;
    vcpu.x[11] = L2_DTB_GPA;
    vcpu.hv_sp = (u64)hv_stack_top;
    hv_enter(&vcpu);
}
