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
  MMIO_EMUDISK_READS = 74,
  MMIO_EMUDISK_WRITES = 75,

  // Builtin SBI calls by extension.
  SBI_BASE = 80,
  SBI_TIME = 81,
  SBI_IPI = 82,
  SBI_RFENCE = 83,
  SBI_HSM = 84,
  SBI_SRST = 85,
  SBI_DBCN = 86,
  SBI_OTHER = 87,
  /** Calls to the hvlab PV extension (VMs only). */
  SBI_HVLAB = 88,

  // Console bytes through the UART.
  UART_TX_BYTES = 96,
  UART_RX_BYTES = 97,
  /** emudisk (devices/emudisk.ts): bytes moved through its 4-byte data port. */
  EMUDISK_BYTES = 98,
  /** emudisk: commands written (READ, WRITE, FLUSH, ABORT, and refused ones). */
  EMUDISK_COMMANDS = 99,

  // Slots 100..111: virtio (assembly/virtio/, docs/virtio.md), all slots together.
  /** Queue notifications (kicks): QueueNotify writes to a slot with a device. */
  VIRTIO_NOTIFIES = 100,
  /** InterruptStatus bits raised: used-buffer and configuration-change notifications. */
  VIRTIO_INTERRUPTS = 101,
  /** Descriptors read from the rings (indirect-table entries included). */
  VIRTIO_DESCRIPTORS = 102,
  /** Bytes the devices wrote into (or read from) guest buffers. */
  VIRTIO_BYTES = 103,
  /** Times a device entered DEVICE_NEEDS_RESET because the driver broke the rules. */
  VIRTIO_RESETS = 104,
  /** Notifications served by the `host` backend: each one left wasm (a heavy exit natively too). */
  VIRTIO_HOST_NOTIFIES = 105,
  /** Chains served by the `offload` backend's worker, beside the running vCPU. */
  VIRTIO_OFFLOAD_REQUESTS = 106,
  /** Polling passes of the offload worker that found work. */
  VIRTIO_OFFLOAD_POLLS = 107,
  /** VM exits on each virtio device's registers (they add up to EXIT_MMIO_VIRTIO + the heavy
   * ones of the host backend, which count as EXIT_HOST). */
  VIRTIO_EXITS_RNG = 108,
  VIRTIO_EXITS_CONSOLE = 109,
  VIRTIO_EXITS_BLOCK = 110,
  /** virtio-blk requests served (any backend, any type). */
  VIRTIO_BLK_REQUESTS = 111,

  // Slots 112..127: the H extension's own events (docs/h-extension.md).
  /** Instructions retired with V=1 (also counted in INSTRET_U/INSTRET_S by nominal mode). */
  INSTRET_V = 112,
  /** Nested page-walk cache (machine.nestedPwc): hits and misses for VS-stage table pages. */
  NPWC_HITS = 113,
  NPWC_MISSES = 114,
  /** Flushes of the guest (V=1) TLB views: vsatp/hgatp writes, SFENCE.VMA in VS, HFENCEs. */
  TLB_FLUSHES_GUEST = 115,
  // Slots 128..255: the hypervisor (assembly/hv/): exits by reason, shadow paging.
  /** Every VM exit: a trap that reached the hypervisor (HS-mode) while a VM ran. */
  EXITS = 128,
  /** Exits by reason. A privileged instruction the guest kernel ran in U-mode (trap-emulate). */
  EXIT_CSR = 129,
  EXIT_SRET = 130,
  EXIT_WFI = 131,
  EXIT_SFENCE = 132,
  EXIT_SATP = 133,
  /** An SBI call (a hypercall); by extension in SBI_*. */
  EXIT_SBI = 134,
  /** A page fault resolved by filling a shadow page-table entry. */
  EXIT_SHADOW_FILL = 135,
  /** A store to a write-protected guest page-table page, emulated. */
  EXIT_SHADOW_WP = 136,
  /** A guest-page fault (G-stage) that was not MMIO. */
  EXIT_GUEST_PAGE_FAULT = 137,
  /** MMIO emulated for the guest, by device. */
  EXIT_MMIO_UART = 138,
  EXIT_MMIO_PLIC = 139,
  EXIT_MMIO_CLINT = 140,
  EXIT_MMIO_VIRTIO = 141,
  EXIT_MMIO_TEST = 142,
  /** Host interrupts that exited: the guest's timer, an external (PLIC) interrupt. */
  EXIT_TIMER = 143,
  EXIT_EXTERNAL = 144,
  /** A guest trap the hypervisor reflected into the guest kernel (trap-emulate, shadow). */
  EXIT_REFLECT = 145,
  /** A virtual-instruction exception (hvm modes: VTVM, VTW, VTSR, hypervisor CSRs). */
  EXIT_VIRTUAL_INSTRUCTION = 146,
  /** An illegal instruction reflected into the guest. */
  EXIT_ILLEGAL = 147,
  /** Virtual interrupts delivered into the guest. */
  INJECTIONS = 148,
  /** Exits that left the core for the TypeScript host (a heavy exit). */
  EXIT_HOST = 149,
  /** MMIO exit on emudisk's registers: one per 4 bytes of data (devices/emudisk.ts). */
  EXIT_MMIO_EMUDISK = 150,
  // Exit reasons of the pv mode, slots 152..159 (hv/pv.ts).
  /** A trap of the pv guest's user mode (system call, fault) bounced to its registered handler. */
  EXIT_PV_BOUNCE = 152,
  /** A trap of the pv guest's kernel (a fault) bounced to its kernel handler. */
  EXIT_PV_KERNEL_TRAP = 153,
  // Emulated CSR accesses by CSR (trap-emulate), slots 160..175.
  CSR_SSTATUS = 160,
  CSR_SIE = 161,
  CSR_STVEC = 162,
  CSR_SCOUNTEREN = 163,
  CSR_SENVCFG = 164,
  CSR_SSCRATCH = 165,
  CSR_SEPC = 166,
  CSR_SCAUSE = 167,
  CSR_STVAL = 168,
  CSR_SIP = 169,
  CSR_SATP = 170,
  CSR_OTHER = 171,
  // Shadow paging.
  SHADOW_FILLS = 176,
  /** Shadow entries dropped because the guest changed the PTE they came from. */
  SHADOW_ZAPS = 177,
  /** Everything shadowed dropped at once (pool exhausted, or a mapping untraceable). */
  SHADOW_REBUILDS = 178,
  /** Guest address-space switches (satp writes) and shadow roots evicted to make room. */
  SHADOW_SWITCHES = 179,
  SHADOW_EVICTIONS = 180,
  /** Shadow page-table pages allocated. */
  SHADOW_PAGES = 181,
  /** Guest page-table pages write-protected, and ones released after a write flood. */
  SHADOW_PROTECTED = 182,
  SHADOW_UNPROTECTED = 183,

  // Slots 192..223: paravirtualization (hv/pv.ts, hv/pvmmu.ts; docs/pv-abi.md).
  /** Calls to the hvlab PV extension by function (PV_INFO + FID). */
  PV_INFO = 192,
  PV_VERSION = 193,
  PV_MMU_UPDATE = 194,
  PV_PIN = 195,
  PV_UNPIN = 196,
  PV_SET_ROOT = 197,
  PV_TLB_FLUSH = 198,
  PV_SET_CALLBACKS = 199,
  PV_IRET = 200,
  PV_SHARED_INFO = 201,
  PV_SET_TIMER = 202,
  PV_YIELD = 203,
  PV_BLOCK = 204,
  PV_CONSOLE_WRITE = 205,
  PV_SET_FP_STATE = 206,
  PV_GRANT_TABLE_OP = 207,
  /** Page-table entries written by mmu_update (PV_PTE_UPDATES / PV_MMU_UPDATE: per batch). */
  PV_PTE_UPDATES = 208,
  /** PV calls refused with an error (a refused update, a bad argument): nothing changed. */
  PV_REFUSED = 209,
  /** Page-table pages validated (each entry checked once, when the page becomes a table). */
  PV_TABLES_VALIDATED = 210,
  /** Traps and virtual interrupts bounced to the guest's user handler, and to its kernel handler. */
  PV_BOUNCES = 211,
  PV_KERNEL_TRAPS = 212,
  /** Virtual interrupts delivered: bounced, or returned by the block hypercall. */
  PV_VIRQS = 213,
  /** TLB flushes the hypervisor made after an update batch changed or removed a valid entry. */
  PV_IMPLIED_FLUSHES = 214,

  // Split drivers (hv/grant.ts, hv/evtchn.ts; docs/pv-abi.md). Numbered from 224 so that other
  // lists appended after 214 at the same time do not collide.
  /** Calls of the PV extension's FID 16 (FID 15 is PV_GRANT_TABLE_OP, at PV_INFO + 15). */
  PV_EVENT_CHANNEL_OP = 224,
  /** Grant mappings made, and ended by unmap (not those revoked when a VM goes). */
  GRANT_MAPS = 225,
  GRANT_UNMAPS = 226,
  /** Bytes copied by grant copy. */
  GRANT_COPY_BYTES = 227,
  /** Event sends, and upcalls they (or an unmask) raised in the receiving VM. */
  EVTCHN_SENDS = 228,
  EVTCHN_UPCALLS = 229,

  // Slots 384..399: superpages in every stage (hv/vm.ts G-stage backing, hv/shadow.ts large
  // shadow leaves; docs/superpages.md).
  /** G-stage leaves built at level 1 (2 MiB) and level 2 (1 GiB) by --gstage-pages. */
  GSTAGE_LEAVES_2M = 384,
  GSTAGE_LEAVES_1G = 385,
  /** Regions that asked for a large G-stage leaf and got the next size down: the host memory
   * behind them was not contiguous and aligned (or the guest's RAM does not fill them). */
  GSTAGE_FALLBACKS = 386,
  /** Large G-stage leaves split into the next level after they were built (a frame moved:
   * same-page merging, a copy-on-write break). */
  GSTAGE_SPLITS = 387,
  /** Shadow fills of a guest 2 MiB (or larger) page kept as one 2 MiB shadow leaf. */
  SHADOW_LARGE_FILLS = 388,
  /** Shadow fills of a guest large page splintered into a 4 KiB shadow leaf (host memory not
   * contiguous, a page table inside it, a shared frame). */
  SHADOW_SPLINTERS = 389,
  /** Large shadow leaves split into 4 KiB leaves because a frame inside became a page table. */
  SHADOW_LARGE_SPLITS = 390,
  // Slots 320..383: the model TLB and walk caches (mmu/tlbmodel.ts; docs/counters.md "The model
  // TLB"). Counted only while the model is on; nothing else depends on them.
  /** L1 instruction TLB: lookups (one per code page entered), hits by page size, misses. */
  TLBM_L1I_LOOKUPS = 320,
  TLBM_L1I_HITS_4K = 321,
  TLBM_L1I_HITS_2M = 322,
  TLBM_L1I_HITS_1G = 323,
  TLBM_L1I_MISSES = 324,
  /** L1 data TLB: lookups (every load, store and AMO in a translated view), hits, misses. */
  TLBM_L1D_LOOKUPS = 325,
  TLBM_L1D_HITS_4K = 326,
  TLBM_L1D_HITS_2M = 327,
  TLBM_L1D_HITS_1G = 328,
  TLBM_L1D_MISSES = 329,
  /** The unified L2 TLB: lookups (L1 misses), hits by page size, misses. */
  TLBM_L2_LOOKUPS = 330,
  TLBM_L2_HITS_4K = 331,
  TLBM_L2_HITS_2M = 332,
  TLBM_L2_HITS_1G = 333,
  TLBM_L2_MISSES = 334,
  /** Modeled walks (a miss in every level), by the page size they filled, and the faulting ones. */
  TLBM_WALKS = 335,
  TLBM_WALKS_4K = 336,
  TLBM_WALKS_2M = 337,
  TLBM_WALKS_1G = 338,
  TLBM_WALK_FAULTS = 339,
  /** Modeled walks of two stages (VS-stage and G-stage both on) that completed. A G-stage-only
   * walk (vsatp Bare) is a one-stage walk: its references count TLBM_WALK_REFS. */
  TLBM_WALKS_2D = 340,
  /** PTE reads that went to memory: one-stage walks (native, shadow), and the two stages. */
  TLBM_WALK_REFS = 341,
  TLBM_WALK_REFS_VS = 342,
  TLBM_WALK_REFS_G = 343,
  /** The page-walk cache: walks that looked, walks that hit, PTE reads it saved. */
  TLBM_PWC_LOOKUPS = 344,
  TLBM_PWC_HITS = 345,
  /** The nested page-walk cache (G-stage of VS table pages): lookups, hits (a G walk saved). */
  TLBM_NPWC_LOOKUPS = 346,
  TLBM_NPWC_HITS = 347,
  /** The nested TLB (G-stage of the final gPA): lookups, hits (a G walk saved). */
  TLBM_NTLB_LOOKUPS = 348,
  TLBM_NTLB_HITS = 349,
  /** Model flushes by fences and the hypervisor, and by address-space switches with tags off. */
  TLBM_FLUSHES = 350,
  TLBM_SWITCH_FLUSHES = 351,
  TLBM_PWC_REFS_SAVED = 352,
  // Slots 256..319: nested virtualization (hv/nested.ts; docs/nested.md). L0 is the core's
  // hypervisor, L1 the guest hypervisor running in VS-mode with a virtual HS-mode, L2 its guest.
  /** Exits taken while L2 ran, and of those the ones reflected into L1 (the rest L0 handled). */
  NEST_L2_EXITS = 256,
  NEST_REFLECTED = 257,
  /** Exits taken while L1 ran; of those, the ones between a reflection and L1's next entry
   * into L2 (the exit multiplication: L0 exits caused by L1 handling an L2 exit). */
  NEST_L1_EXITS = 258,
  NEST_L1_EXITS_HANDLING = 259,
  /** L1's entries into L2 (its SRET with hstatus.SPV = 1, emulated by L0). */
  NEST_L2_ENTRIES = 260,
  /** Folded G-stage: leaves filled (L2 gPA -> host), L1 G-stage PTE reads those fills made,
   * and resets of the folded table (L1's HFENCE.GVMA and hgatp writes, or the pool full). */
  NEST_FOLD_FILLS = 261,
  NEST_FOLD_REFS = 262,
  NEST_FOLD_RESETS = 263,
  /** Naive path: L2 G-stage translations L0 emulated, and the PTE reads they made in L1's
   * G-stage table and in L0's own. */
  NEST_NAIVE_WALKS = 264,
  NEST_NAIVE_REFS_L1 = 265,
  NEST_NAIVE_REFS_L0 = 266,
  /** L2's two-dimensional walks that completed and their VS-stage and G-stage PTE reads; the
   * reads of L2 walks cut short by a guest-page fault. */
  NEST_L2_WALKS = 267,
  NEST_L2_REFS_VS = 268,
  NEST_L2_REFS_G = 269,
  NEST_L2_REFS_FAULTED = 270,
  /** L1's hypervisor instructions emulated by L0: H/VS CSR accesses, HFENCE.GVMA, HFENCE.VVMA,
   * HLV/HSV. */
  NEST_L1_HCSR = 271,
  NEST_L1_HFENCE_GVMA = 272,
  NEST_L1_HFENCE_VVMA = 273,
  NEST_L1_HLV = 274,
  /** L2 accesses to L0's devices through an L1 G-stage mapping, emulated by L0. */
  NEST_L2_MMIO = 275,
  /** L1 G-stage table pages write-protected by fills, and stores to them (an exit each, by L1
   * or L2), each lifting the protection and dropping the folded table. */
  NEST_FOLD_PROTECTED = 278,
  NEST_FOLD_WP = 279,
  /** Scratch: an L2 walk's references until it completes or faults (never reported). */
  NEST_SCRATCH_VS = 276,
  NEST_SCRATCH_G = 277,
  /** L2 exits by reason (NEST_L2_BY_REASON + NEST_REASON_*), and reflected exits by reason. */
  NEST_L2_BY_REASON = 280,
  NEST_REFLECTED_BY_REASON = 288,
  /** L1 exits while handling a reflected exit, by L1 reason (NEST_L1_REASON_*). */
  NEST_L1_HANDLING_BY_REASON = 296,

  /** Number of slots reserved; the counter block is COUNT * 8 bytes. */
  COUNT = 512,
}
