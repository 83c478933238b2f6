// The core's surface: the only functions the host may call (DESIGN.md "Layout"). Numbers in,
// numbers out; everything else the host needs (guest RAM, counters, console rings, registers)
// it reads and writes directly in the shared linear memory at the addresses given here.

import { nestConfigure, nestLevelNow } from './hv/nested';
import { Counter } from './counter-ids';
import { COUNTERS, hart, machine, REGS } from './state';
import { idleSkip as machineIdleSkip, idleSkipAtMost as machineIdleSkipAtMost, nextTimerTicks as machineNextTimer, reset as machineReset,
  run as machineRun } from './machine';
import { mtime } from './devices/clint';
import { rxRing, RX_SIZE, TX_RING, TX_SIZE } from './devices/console';
import { ioCounters, ioFold } from './virtio/ioblock';
export { ioBasePtr } from './virtio/ioblock';
import { tlbFlushAll } from './mmu/tlb';
import { TLBM_REGION_BYTES, tlbModelConfigure, tlbModelOff } from './mmu/tlbmodel';
import { initRvcTable, rvcTable, RVC_TABLE_BYTES } from './cpu/exec';
export { chunkStatePtr, chunkStateBytes } from './cpu/exec';
import { guestPageHost as hvGuestPageHost, hvAreaBytes, hvCreate } from './hv/hypervisor';
import { vmLayout, vmSetGstagePages as hvSetGstagePages } from './hv/vm';
import { shadowIncoherent as hvShadowIncoherent } from './hv/shadow';
import { completeHostExit as hvCompleteHostExit, hostIo, setHostWindow as hvSetHostWindow } from './hv/hostio';
import { EXIT_LOG, EXIT_LOG_SIZE, exitLogNext as hvExitLogNext } from './hv/exits';
import { virtioConsoleResize, virtioDoorbellPtr as vDoorbell, virtioQueuePtr as vQueue, virtioResetAll,
  virtioSetDevice, virtioSlotPtr as vSlot } from './virtio/mmio';
import { disk } from './devices/disk';
import { MROM, MROM_BYTES } from './devices/mrom';
import { MISA_VALUE } from './cpu/csr';
import { emudiskSetPresent } from './devices/emudisk';
import { guestMapDescribe } from './virtio/guestmem';
import { hostActive, hostDiskAlloc } from './hv/host';
export { hostInit, hostSwitch, hostCurrent, hostVmCreate, hostVmDestroy, hostVmFrames, hostFrames, hostFreeFrames,
  hostLiveVms, hostVmOverhead, hostSetShadowPages, hostClearGuestRam, hostVmCowBreaks,
  hostVmSetMergeable, hostVmArea, hostVmAreaFrames, hostScratchAlloc, hostScratchFree, hostVmUnshare, hostVmIoBlock,
  hostIoBlockFrames } from './hv/host';
// Same-page merging across the host's VMs (hv/ksm.ts): switch, scan budget, figures.
export { ksmEnable, ksmScan, ksmStat } from './hv/ksm';
export { evtchnPending as hostVmEventPending, hostSplitConnect } from './hv/evtchn';
export { dirtyStart, dirtyStop, dirtyFetch, dirtyGuestBitmap, dirtyLogging } from './hv/dirty';
export { lifeRelocate, lifeRestored } from './hv/life';
import { contextBytes as hostContextBytes } from './hv/host';
// The debugger's support (cpu/debug.ts, docs/debugger.md).
export { debugReset, debugSetBreakpoint, debugClearBreakpoint, debugSetWatch, debugClearWatch, debugSkip,
  debugHostAddress, debugTranslate, debugFault, debugPriv, debugVirt, debugCsrRead, debugCsrWrite,
  debugCsrMissing } from './cpu/debug';
import { debug as debugState } from './cpu/debug';
import { FREGS } from './state';
/** What stopped the last STOP_DEBUG run: 1 breakpoint, 2 | kind << 4 a watch; and the address. */
export function debugHitKind(): u32 { return debugState.hitKind; }
export function debugHitAddr(): u64 { return debugState.hitAddr; }
/** The f registers f0..f31 (64 bits each), for the debugger. */
export function fregsPtr(): usize { return FREGS; }
/** Move the pc (a debugger's write of it); the next run starts there. */
export function setPc(pc: u64): void { hart.pc = pc & ~(<u64>1); }
/** Bytes of the core's static data a world switch copies (a VM's context). */
export function contextBytes(): u64 { return hostContextBytes(); }

const PAGE64K: usize = 65536;

/**
 * Configure the machine and make room for its RAM after the core's static data. Returns the
 * address of guest RAM in linear memory, or 0 if the memory could not grow that far.
 */
export function init(ramBase: u64, ramSize: u64, firmware: u32, clock: u32, instrPerTick: u64): usize {
  // Guest RAM follows the compressed-instruction table (cpu/exec.ts) that follows the statics,
  // and the model TLB's region after it (mmu/tlbmodel.ts: machine hardware, not VM context).
  const ramHost = (rvcTable() + RVC_TABLE_BYTES + TLBM_REGION_BYTES + PAGE64K - 1) & ~(PAGE64K - 1);
  const end = <u64>ramHost + ramSize;
  if (end > (<u64>1 << 32)) return 0;
  const needPages = <i32>((end + PAGE64K - 1) / PAGE64K);
  const have = memory.size();
  if (needPages > have && memory.grow(needPages - have) < 0) return 0;
  machine.ramBase = ramBase;
  machine.ramSize = ramSize;
  machine.ramHost = ramHost;
  machine.firmware = firmware;
  machine.clock = clock;
  machine.instrPerTick = instrPerTick == 0 ? 1 : instrPerTick;
  machine.tohost = 0;
  initRvcTable();
  return ramHost;
}

/**
 * Set a VM's own machine settings when machine RAM is a pool of VMs (hv/host.ts): what init()
 * sets for a machine alone, without touching the pool.
 */
export function vmConfigure(firmware: u32, clock: u32, instrPerTick: u64): void {
  machine.firmware = firmware;
  machine.clock = clock;
  machine.instrPerTick = instrPerTick == 0 ? 1 : instrPerTick;
  machine.tohost = 0;
}

// A machine reset also resets the virtio slots (keeping which device each holds: virtio/mmio.ts).
export function reset(entry: u64, dtbAddr: u64): void { machineReset(entry, dtbAddr); virtioResetAll(); }

/** Watch the riscv-tests `tohost` word at this physical address (0: none). */
export function setTohost(pa: u64): void {
  machine.tohost = pa;
  tlbFlushAll();
}

export function run(budget: u64): u32 {
  ioFold(); // an offload worker's counts since the last call (virtio/ioblock.ts)
  return machineRun(budget);
}
/** After STOP_IDLE: skip deterministic time to the next timer event; false if none is armed. */
export function idleSkip(): bool { return machineIdleSkip(); }
/** idleSkip by at most `max` instructions of time; returns how many (0: none armed). */
export function idleSkipAtMost(max: u64): u64 { return machineIdleSkipAtMost(max); }
/** The current mtime and the mtime of the next timer event (u64 max: none). */
export function mtimeNow(): u64 { return mtime(); }
export function nextTimer(): u64 { return machineNextTimer(); }

export function haltKind(): u32 { return machine.haltKind; }
export function haltCode(): u64 { return machine.haltCode; }
export function pc(): u64 { return hart.pc; }
export function priv(): u32 { return hart.priv; }
export function instret(): u64 { return hart.instret; }
export function mtimeTicks(): u64 { return hart.now; }

export function countersPtr(): usize {
  ioFold();
  return COUNTERS;
}
/** Where an offload worker adds its counts: the counters, or the VM's I/O block (ioFold). */
export function ioCountersPtr(): usize { return ioCounters(); }
export function counterCount(): u32 { return <u32>Counter.COUNT; }
export function regsPtr(): usize { return REGS; }
/** The mask ROM's contents (devices/mrom.ts): the host writes QEMU's reset vector there. */
export function mromPtr(): usize { return MROM; }
export function mromBytes(): u32 { return MROM_BYTES; }
/** misa as the core implements it: the host builds the device tree's riscv,isa from it. */
export function misa(): u64 { return MISA_VALUE; }
export function txRingPtr(): usize { return TX_RING; }
export function txRingSize(): u32 { return TX_SIZE; }
export function rxRingPtr(): usize { return rxRing(); }
export function rxRingSize(): u32 { return RX_SIZE; }
/** End of the core's own state: a snapshot copies [0, ramHost) and RAM. */
export function stateEnd(): usize { return <usize>machine.ramHost; }

/** Machine RAM the hypervisor needs beside `guestBytes` of guest RAM. */
export function vmOverheadBytes(guestBytes: u64, gstagePages: u32): u64 { return hvAreaBytes(guestBytes, gstagePages); }
/** The VM's hypervisor area: offset `what` (hv/vm.ts HV_*) from the start of machine RAM. */
export function vmLayoutOffset(what: u32): u64 { return vmLayout(what); }
/** Create the VM (mode 1..4) in machine RAM, after init(); false if it does not fit. */
export function vmCreate(mode: u32, guestBytes: u64): bool { return hvCreate(mode, guestBytes); }
/** Linear-memory address of the 4 KiB guest page holding `gpa`, or 0. */
export function guestPageHost(gpa: u64): usize { return hvGuestPageHost(gpa); }
/** Shadow page-table entries that disagree with the guest's tables now (0 = coherent). */
export function shadowIncoherent(): u32 { return hvShadowIncoherent(); }
/** The exit log (hv/exits.ts): address, capacity (entries of 32 bytes), and the next index. */
export function exitLogPtr(): usize { return EXIT_LOG; }
export function exitLogSize(): u32 { return EXIT_LOG_SIZE; }
export function exitLogNext(): u64 { return hvExitLogNext(); }
/** The nested page-walk cache (Bhargava et al., ASPLOS 2008) of two-stage walks: on or off. */
export function setNestedPwc(on: bool): void { machine.nestedPwc = on ? 1 : 0; }
/** G-stage leaves for the next vmCreate (hv/vm.ts GSTAGE_*: 0 4 KiB, 1 2 MiB, 2 1 GiB). */
export function setGstagePages(pages: u32): void { hvSetGstagePages(pages); }
/**
 * The model TLB (mmu/tlbmodel.ts; docs/cost-model.md): entries and ways per level (0 entries:
 * absent), replacement (0 LRU, 1 random with `seed`), ASID/VMID tags, one array per page size
 * (`split`) or one shared, and the walk caches' entries. False (model off) if the shape is bad.
 */
export function setTlbModel(l1iEntries: u32, l1iWays: u32, l1dEntries: u32, l1dWays: u32,
  l2Entries: u32, l2Ways: u32, repl: u32, seed: u64, tags: bool, split: bool,
  pwc: u32, npwc: u32, ntlb: u32): bool {
  return tlbModelConfigure(l1iEntries, l1iWays, l1dEntries, l1dWays, l2Entries, l2Ways, repl, seed,
    tags, split, pwc, npwc, ntlb);
}
export function setTlbModelOff(): void { tlbModelOff(); }
/** Nested virtualization (hv/nested.ts): the VM gets a virtual H extension; `naive` emulates
 * every L2 G-stage walk instead of folding. Takes effect at the VM's reset. */
export function setNested(on: bool, naive: bool): void { nestConfigure(on, naive); }
/** The nesting level the hart runs now: 0 off, 1 L1 (the guest hypervisor), 2 its guest. */
export function nestedLevel(): u32 { return nestLevelNow(); }

/** Heavy exits (hv/hostio.ts): the guest-physical window the host serves (size 0: none). */
export function setHostWindow(base: u64, size: u64): void { hvSetHostWindow(base, size); }
/** The pending heavy exit, after run() returned STOP_HOST: write?, offset in the window, width, value written. */
export function hostExitIsWrite(): bool { return hostIo.isWrite != 0; }
export function hostExitOffset(): u64 { return hostIo.offset; }
export function hostExitWidth(): u32 { return hostIo.width; }
export function hostExitValue(): u64 { return hostIo.value; }
/** Finish the pending heavy exit; `value` is a load's result (ignored for a store). */
export function completeHostExit(value: u64): void { hvCompleteHostExit(value); }

/**
 * Put virtio device `deviceId` (2 block, 3 console, 4 entropy; 0 = none) in virtio-mmio slot
 * `slot`, its queues served by `backend` (0 core, 1 host, 2 offload) (docs/virtio.md).
 */
export function setVirtioDevice(slot: u32, deviceId: u32, backend: u32): void { virtioSetDevice(slot, deviceId, backend); }

/** Records the TypeScript backends read in shared memory (layouts in virtio/mmio.ts, guestmem.ts). */
export function virtioSlotPtr(slot: u32): usize { return vSlot(slot); }
export function virtioQueuePtr(slot: u32, queue: u32): usize { return vQueue(slot, queue); }
export function virtioDoorbellPtr(): usize { return vDoorbell(); }
export function guestMapPtr(): usize { return guestMapDescribe(); }

/** The pending heavy exit's kind (0: MMIO window access, 1: virtio notification), slot, queue. */
export function hostExitKind(): u32 { return hostIo.kind; }
export function hostExitSlot(): u32 { return hostIo.slot; }
export function hostExitQueue(): u32 { return hostIo.queue; }

/** The terminal has `cols` x `rows` cells: a virtio console's configuration change (5.3.6.2). */
export function consoleResize(cols: u32, rows: u32): void { virtioConsoleResize(cols, rows); }

/**
 * Give the machine a disk of `bytes` (a multiple of 512; 0 = none), placed in linear memory
 * right after machine RAM (64 KiB aligned) so snapshots cover it; returns its linear address,
 * or 0 if memory cannot grow. The host fills it. `emudisk` puts the register-level disk on the
 * bus at 0x1000_9000 (devices/emudisk.ts); virtio-blk is a virtio slot (setVirtioDevice).
 */
export function diskAlloc(bytes: u64, emudisk: bool): usize {
  if (bytes == 0 || (bytes & 511) != 0) { disk.host = 0; disk.bytes = 0; emudiskSetPresent(false); return 0; }
  if (hostActive()) {
    // Beside other VMs the disk is a run of frames from the pool (hv/host.ts).
    const at = hostDiskAlloc(bytes);
    if (at == 0) return 0;
    disk.host = at;
    disk.bytes = bytes;
    emudiskSetPresent(emudisk);
    return at;
  }
  const host = (machine.ramHost + machine.ramSize + PAGE64K - 1) & ~(PAGE64K - 1);
  const end = host + bytes;
  if (end > (<u64>1 << 32)) return 0;
  const needPages = <i32>((end + PAGE64K - 1) / PAGE64K);
  const have = memory.size();
  if (needPages > have && memory.grow(needPages - have) < 0) return 0;
  disk.host = host;
  disk.bytes = bytes;
  emudiskSetPresent(emudisk);
  return <usize>host;
}
export function diskPtr(): usize { return <usize>disk.host; }
export function diskBytes(): u64 { return disk.bytes; }

// The walk trace and the memory map (mmu/walktrace.ts, docs/walk-trace.md): a translation of
// one address in the current mode without side effects, its references, and frame owners.
export { walkTrace, traceLocate as walkTraceLocate, frameOwner, guestFrameOwner, guestFrameHpa, walkRoot } from './mmu/walktrace';
import { traceResult } from './mmu/walktrace';
import { TRACE_RECORDS, TRACE_SCRATCH, TRACE_SCRATCH_BYTES } from './mmu/walkrec';
import { translate } from './mmu/access';
import { computeViews } from './mmu/access';
import { KIND_FETCH } from './mmu/tlb';
import { EXC_NONE } from './riscv/cause';
export function walkTraceRecords(): usize { return TRACE_RECORDS; }
export function walkTraceResult(): usize { return changetype<usize>(traceResult); }
/** The static data a trace writes (and nothing else): for the host's and the tests' checks. */
export function walkTraceScratch(): usize { return TRACE_SCRATCH; }
export function walkTraceScratchBytes(): usize { return TRACE_SCRATCH_BYTES; }

/**
 * For tests: the real miss path's translation of `va` (mmu/access.ts translate), with all its
 * effects on counters and A/D bits, as a load, store or fetch that missed the TLB would make
 * it. A fault is not taken: the pending exception is cleared. Returns the physical (host)
 * address, or all ones on a fault.
 */
export function walkProbe(va: u64, kind: u32): u64 {
  computeViews();
  const pa = translate(va, kind, kind == KIND_FETCH ? hart.fetchView : hart.dataView);
  if (hart.excCause != EXC_NONE) {
    hart.excCause = EXC_NONE;
    hart.excTval = 0;
    hart.excGva = 0;
    hart.excGpa4 = 0;
    hart.excTinst = 0;
    return 0xFFFF_FFFF_FFFF_FFFF;
  }
  return pa;
}
