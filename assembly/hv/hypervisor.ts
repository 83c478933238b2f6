// The hypervisor's entry points for the machine: create a VM in machine RAM and boot the
// guest in it, in the mode chosen when the VM was created (machine.mode).

import { hart, machine, MODE_HVM_NESTED, MODE_HVM_SHADOW, MODE_PV, MODE_TRAP_EMULATE, REGS } from '../state';
import { pvReset } from './pv';
import { hvmReset } from './hvm';
import { PRV_U } from '../riscv/bits';
import { hvAreaBytes, vmCreate, gpaHost, vmTablesReset, vm, vmCountBacking } from './vm';
import { hostActive } from './host';
import { ksmPrivate } from './ksm';
import { KEY_BARE, selectContext, shadowReset } from './shadow';
import { teApplyView, teSyncInterrupts, vcpuReset } from './vcpu';

export { hvAreaBytes };

/** Lay out a VM for `guestBytes` of guest RAM in mode `mode`; false if it does not fit. */
export function hvCreate(mode: u32, guestBytes: u64): bool {
  if (hostActive()) {
    // Beside other VMs the area was placed when the VM was made (hv/host.ts hostVmCreate),
    // with this mode and size; a reset only clears what the hypervisor knows of the guest.
    if (mode != machine.mode || guestBytes != vm.guestFrames << 12) return false;
    vmTablesReset();
    return true;
  }
  machine.mode = mode;
  return vmCreate(guestBytes);
}

/** Host (linear-memory) address of the guest page holding `gpa`, or 0 if not guest RAM. */
export function guestPageHost(gpa: u64): usize {
  // The host writes through it (an image being loaded): a shared frame is copied first.
  if (!ksmPrivate(gpa & ~(<u64>4095))) return 0;
  return gpaHost(gpa & ~(<u64>4095), 4096);
}

/**
 * Boot the guest: it starts at `entry` in (virtual) S-mode with a0 = 0 and a1 = the device
 * tree's guest-physical address, as an SBI firmware would start a kernel.
 */
export function vmReset(entry: u64, dtbGpa: u64): void {
  store<u64>(REGS + 10 * 8, 0);
  store<u64>(REGS + 11 * 8, dtbGpa);
  hart.pc = entry;
  // Let the guest read time, cycle and instret without exits, as its firmware would.
  hart.mcounteren = 7;
  hart.scounteren = 7;
  shadowReset();
  vcpuReset();
  vmCountBacking();
  if (machine.mode == MODE_HVM_SHADOW || machine.mode == MODE_HVM_NESTED) hvmReset(entry, dtbGpa);
  if (machine.mode == MODE_TRAP_EMULATE) {
    selectContext(KEY_BARE);
    teApplyView();
    teSyncInterrupts();
    hart.priv = PRV_U;
  }
  // pv: the guest kernel starts in U-mode on the hypervisor's boot address space (hv/pvmmu.ts).
  if (machine.mode == MODE_PV) pvReset();
}
