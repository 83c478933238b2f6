// The hvos address map.
//
// Physical (QEMU virt and hvlab):
//   0x0010_0000  SiFive test device (unused: hvos powers off through SBI SRST)
//   0x0C00_0000  PLIC
//   0x1000_0000  UART 16550A
//   0x8000_0000  RAM; the SBI firmware owns the first 2 MiB
//   0x8020_0000  hvos kernel image (text, rodata, data, bss), then free pages
//
// Virtual (Sv39, one table per process; the kernel half is shared):
//   0x0000_0000_0001_0000  user program text and data (USER_TEXT_BASE)
//   0x0000_0000_4000_0000  user anonymous mappings (map/unmap)
//   0x0000_0000_7FFF_C000  user stack, 4 pages, growing down from 0x8000_0000
//   0x0000_0000_8000_0000  kernel: RAM mapped at its physical address
//                          (identity), so the kernel runs at its link address
//                          with paging on and off
//   0xFFFF_FFC0_0000_0000  kernel: device registers (DEV_VA(pa) = DEVMAP_BASE + pa)
//
// Devices live in the first GiB of physical space, which is where user
// programs live virtually; mapping them high keeps the lower half for users.
#ifndef HVOS_MEMLAYOUT_H
#define HVOS_MEMLAYOUT_H
#include "../lib/abi.h"

#define RAM_BASE       0x80000000UL
#define KERNEL_BASE    0x80200000UL
#define DEVMAP_BASE    0xFFFFFFC000000000UL
#define DEV_VA(pa)     (DEVMAP_BASE + (u64)(pa))

// Root-table slots (Sv39 VPN[2]) that belong to the user: 0 and 1 cover
// 0..0x7FFF_FFFF. Everything from slot 2 up is kernel and shared.
#define USER_ROOT_SLOTS 2
#define USER_TOP        USER_STACK_TOP

#endif
