// The core's counters: u64 slots at `countersPtr() + 8 * id` in linear memory, read by the host
// through a BigUint64Array view. This file is written in the subset of TypeScript that
// AssemblyScript also compiles, so the core and the host share one list: add new counters at
// the end of a group's reserved range and document each in docs/counters.md.

export enum Counter {
  // Instructions retired, by the privilege mode they retired in.
  INSTRET_U = 0,
  INSTRET_S = 1,
  INSTRET_M = 3,
  /** Time ticks skipped while the hart slept in WFI (deterministic clock only). */
  IDLE_INSTRUCTIONS = 4,

  // Synchronous exceptions taken, by cause code 0..23 (EXC_BASE + cause).
  EXC_BASE = 8,
  // Interrupts taken, by cause code 0..15 (IRQ_BASE + cause).
  IRQ_BASE = 32,

  // Software TLB (fast path) lookups and misses by access kind. A fetch lookup happens once per
  // instruction; a miss is a lookup that had to walk the page table (or the physical map).
  TLB_FETCH_LOOKUPS = 48,
  TLB_FETCH_MISSES = 49,
  TLB_LOAD_LOOKUPS = 50,
  TLB_LOAD_MISSES = 51,
  TLB_STORE_LOOKUPS = 52,
  TLB_STORE_MISSES = 53,
  TLB_FLUSHES = 54,

  // Page walks and the memory references they made (one per PTE read).
  WALKS = 56,
  /** PTE reads of single-stage walks: native Sv39, or a VS-stage walk with G-stage Bare. */
  WALK_REFS = 57,
  PAGE_FAULTS = 58,
  /** Two-stage translation (H extension): VS-stage PTE reads, G-stage PTE reads (for the
   * VS-stage tables' own addresses and for the final guest-physical address), G-stage walks. */
  WALK_REFS_VS = 59,
  WALK_REFS_G = 60,
  WALKS_G = 61,
  GUEST_PAGE_FAULTS = 62,
  /** Guest-table PTE reads the hypervisor makes while filling shadow page tables. */
  WALK_REFS_SHADOW = 63,

  // MMIO accesses by device.
  MMIO_UART_READS = 64,
  MMIO_UART_WRITES = 65,
  MMIO_CLINT_READS = 66,
  MMIO_CLINT_WRITES = 67,
  MMIO_PLIC_READS = 68,
  MMIO_PLIC_WRITES = 69,
  MMIO_TEST_WRITES = 70,
  MMIO_VIRTIO_READS = 71,
  MMIO_VIRTIO_WRITES = 72,
  MMIO_TEST_READS = 73,

  // Builtin SBI calls by extension.
  SBI_BASE = 80,
  SBI_TIME = 81,
  SBI_IPI = 82,
  SBI_RFENCE = 83,
  SBI_HSM = 84,
  SBI_SRST = 85,
  SBI_DBCN = 86,
  SBI_OTHER = 87,

  // Console bytes through the UART.
  UART_TX_BYTES = 96,
  UART_RX_BYTES = 97,

  // Slots 112..127: the H extension's own events (docs/h-extension.md).
  /** Instructions retired with V=1 (also counted in INSTRET_U/INSTRET_S by nominal mode). */
  INSTRET_V = 112,
  /** Nested page-walk cache (machine.nestedPwc): hits and misses for VS-stage table pages. */
  NPWC_HITS = 113,
  NPWC_MISSES = 114,
  /** Flushes of the guest (V=1) TLB views: vsatp/hgatp writes, SFENCE.VMA in VS, HFENCEs. */
  TLB_FLUSHES_GUEST = 115,
  // Slots 128..255: the hypervisor (assembly/hv/): exits by reason, shadow paging, hypercalls.
  HV_BASE = 128,

  /** Number of slots reserved; the counter block is COUNT * 8 bytes. */
  COUNT = 256,
}
