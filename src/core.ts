/**
 * The core as the host sees it: the wasm module instantiated through AssemblyScript's
 * generated bindings (build/core.js), over a shared WebAssembly.Memory that the host creates,
 * so a worker or a second thread can see guest RAM and the counters. Environment-neutral:
 * Node (src/node/load-core.ts) and the browser each supply the compiled module and bindings.
 */

export interface CoreExports {
  memory?: WebAssembly.Memory;
  init(ramBase: bigint, ramSize: bigint, firmware: number, clock: number, instrPerTick: bigint): number;
  reset(entry: bigint, dtbAddr: bigint): void;
  setTohost(pa: bigint): void;
  run(budget: bigint): number;
  idleSkip(): boolean;
  idleSkipAtMost(max: bigint): bigint;
  mtimeNow(): bigint;
  nextTimer(): bigint;
  haltKind(): number;
  haltCode(): bigint;
  pc(): bigint;
  priv(): number;
  instret(): bigint;
  mtimeTicks(): bigint;
  countersPtr(): number;
  /** Where an offload worker adds its counts (assembly/virtio/ioblock.ts). */
  ioCountersPtr(): number;
  counterCount(): number;
  regsPtr(): number;
  mromPtr(): number;
  mromBytes(): number;
  misa(): bigint;
  txRingPtr(): number;
  txRingSize(): number;
  rxRingPtr(): number;
  rxRingSize(): number;
  stateEnd(): number;
  vmOverheadBytes(guestBytes: bigint, gstagePages: number): bigint;
  vmCreate(mode: number, guestBytes: bigint): boolean;
  guestPageHost(gpa: bigint): number;
  shadowIncoherent(): number;
  vmLayoutOffset(what: number): bigint;
  setNestedPwc(on: boolean): void;
  setGstagePages(pages: number): void;
  setTlbModel(l1iEntries: number, l1iWays: number, l1dEntries: number, l1dWays: number,
    l2Entries: number, l2Ways: number, repl: number, seed: bigint, tags: boolean, split: boolean,
    pwc: number, npwc: number, ntlb: number): boolean;
  setTlbModelOff(): void;
  setNested(on: boolean, naive: boolean): void;
  nestedLevel(): number;
  setHostWindow(base: bigint, size: bigint): void;
  hostExitIsWrite(): boolean;
  hostExitOffset(): bigint;
  hostExitWidth(): number;
  hostExitValue(): bigint;
  completeHostExit(value: bigint): void;
  exitLogPtr(): number;
  /** The interpreter's per-chunk state (assembly/cpu/exec.ts): rewritten at every chunk's start. */
  chunkStatePtr(): number;
  chunkStateBytes(): number;
  exitLogSize(): number;
  exitLogNext(): bigint;
  setVirtioDevice(slot: number, deviceId: number, backend: number): void;
  virtioSlotPtr(slot: number): number;
  virtioQueuePtr(slot: number, queue: number): number;
  virtioDoorbellPtr(): number;
  guestMapPtr(): number;
  hostExitKind(): number;
  hostExitSlot(): number;
  hostExitQueue(): number;
  consoleResize(cols: number, rows: number): void;
  diskAlloc(bytes: bigint, emudisk: boolean): number;
  diskPtr(): number;
  diskBytes(): bigint;
  // Many VMs in one machine (assembly/hv/host.ts, src/host.ts).
  vmConfigure(firmware: number, clock: number, instrPerTick: bigint): void;
  hostInit(): boolean;
  hostSwitch(id: number): boolean;
  hostCurrent(): number;
  hostVmCreate(mode: number, guestBytes: bigint, gstagePages: number): number;
  hostVmDestroy(id: number): boolean;
  hostVmFrames(id: number): bigint;
  hostFrames(): bigint;
  hostFreeFrames(): bigint;
  hostLiveVms(): number;
  hostVmOverhead(mode: number, guestBytes: bigint): bigint;
  hostSetShadowPages(pages: bigint): void;
  hostClearGuestRam(): boolean;
  /** Give the loaded VM an I/O block for an offload worker (assembly/virtio/ioblock.ts). */
  hostVmIoBlock(): number;
  hostIoBlockFrames(): bigint;
  // Same-page merging across the host's VMs (assembly/hv/ksm.ts).
  ksmEnable(on: boolean): boolean;
  ksmScan(pages: number): number;
  ksmStat(what: number): bigint;
  hostVmCowBreaks(id: number): bigint;
  hostVmSetMergeable(id: number, on: boolean): boolean;
  // Split drivers (assembly/hv/grant.ts, evtchn.ts).
  hostVmEventPending(id: number): boolean;
  hostSplitConnect(front: number, back: number): number;
  // A VM's lifecycle beside others (assembly/hv/life.ts, hv/dirty.ts; src/host.ts, src/migrate.ts).
  contextBytes(): bigint;
  hostVmArea(id: number, what: number): bigint;
  hostVmAreaFrames(id: number, what: number): bigint;
  hostScratchAlloc(frames: bigint): bigint;
  hostScratchFree(hpa: bigint, frames: bigint): void;
  hostVmUnshare(): boolean;
  lifeRelocate(ramBase: bigint, ramSize: bigint, ramHost: bigint, oldHv: bigint, reloc: bigint, relocFrames: bigint): number;
  lifeRestored(): void;
  dirtyStart(): boolean;
  dirtyStop(): void;
  dirtyFetch(): bigint;
  dirtyGuestBitmap(): number;
  dirtyLogging(): boolean;
  // The walk trace and the memory map (assembly/mmu/walktrace.ts, src/walk-trace.ts).
  walkTrace(va: bigint, kind: number): number;
  walkTraceRecords(): number;
  walkTraceResult(): number;
  walkTraceLocate(space: number, pa: bigint): number;
  walkProbe(va: bigint, kind: number): bigint;
  frameOwner(hpa: bigint): number;
  guestFrameOwner(gfn: bigint): number;
  guestFrameHpa(gfn: bigint): bigint;
  walkRoot(which: number): bigint;
  walkTraceScratch(): number;
  walkTraceScratchBytes(): number;
  /** The I/O block pointer's address (assembly/virtio/ioblock.ts): 0 there for a VM alone. */
  ioBasePtr(): number;
  // The debugger (assembly/cpu/debug.ts, src/debug.ts).
  debugReset(): void;
  debugSetBreakpoint(va: bigint): boolean;
  debugClearBreakpoint(va: bigint): boolean;
  debugSetWatch(va: bigint, len: bigint, kind: number): boolean;
  debugClearWatch(va: bigint, len: bigint, kind: number): boolean;
  debugSkip(pc: bigint, on: boolean): void;
  debugHostAddress(addr: bigint, virtual: boolean, hv: boolean): number;
  debugTranslate(va: bigint, hv: boolean): bigint;
  debugFault(): number;
  debugPriv(hv: boolean): number;
  debugVirt(hv: boolean): number;
  debugCsrRead(csr: number, hv: boolean): bigint;
  debugCsrWrite(csr: number, v: bigint, hv: boolean): boolean;
  debugCsrMissing(): boolean;
  debugHitKind(): number;
  debugHitAddr(): bigint;
  fregsPtr(): number;
  setPc(pc: bigint): void;
}

export type Instantiate = (module: WebAssembly.Module, imports: Record<string, unknown>) => Promise<CoreExports>;

/** Stop reasons of run() (assembly/state.ts STOP_*). */
export const enum Stop { Budget = 0, Idle = 1, Halt = 2, Console = 3, Error = 4, Host = 5, Debug = 6 }
/** Ways a guest ends a run (assembly/state.ts HALT_*). */
export const enum Halt { Pass = 1, Fail = 2, Reset = 3 }

export const WASM_PAGE = 65536;
/** The largest wasm32 memory: 4 GiB. */
export const MAX_PAGES = 65536;

export interface CoreHandle {
  exports: CoreExports;
  memory: WebAssembly.Memory;
}

/**
 * Instantiate the core over a fresh shared memory. `hostTicks` is the wall clock in 10 MHz
 * ticks, used only under the wall clock.
 */
export async function instantiateCore(instantiate: Instantiate, module: WebAssembly.Module,
  hostTicks: () => number): Promise<CoreHandle> {
  const memory = new WebAssembly.Memory({ initial: 32, maximum: MAX_PAGES, shared: true });
  const exports = await instantiate(module, {
    env: {
      memory,
      hostTicks,
      abort(msg: number, file: number, line: number, col: number) {
        throw new Error(`hvlab core aborted at ${line}:${col} (message ${msg}, file ${file})`);
      },
    },
  });
  return { exports, memory };
}
