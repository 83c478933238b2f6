// The L2 guest's machine, as hvisor presents it (docs/nested.md, "The L1 hypervisor"): a
// subset of QEMU's virt board. Included by the C code and by l2.dts (through cpp), so the
// device tree and the G-stage table agree. Preprocessor definitions only.
#ifndef HVISOR_LAYOUT_H
#define HVISOR_LAYOUT_H

// L2's RAM: guest-physical, carved out of L1's own RAM at boot.
#define L2_RAM_GPA      0x80000000
#define L2_RAM_SIZE     0x02000000          // 32 MiB
#define L2_RAM_MIB      32
// The device tree lies in the first 2 MiB, which an SBI kernel leaves to its firmware.
#define L2_DTB_GPA      0x80100000
#define L2_DTB_MAX      0x2000

// Emulated devices: never mapped in the G-stage, so every access is a guest-page fault.
#define L2_PLIC_GPA     0x0c000000
#define L2_PLIC_SIZE    0x00600000
#define L2_UART_GPA     0x10000000
#define L2_UART_SIZE    0x00001000
#define L2_UART_IRQ     10

#define L2_TIMEBASE_HZ  10000000
#define L2_VMID         1

// L1's own devices (QEMU virt): the real UART and PLIC, S-mode context of hart 0.
#define L1_UART         0x10000000
#define L1_PLIC         0x0c000000
#define L1_PLIC_CONTEXT 1

#endif
