/**
 * Reading the core's counters (assembly/counter-ids.ts) and shaping them for people: a flat
 * record for tests, and the structured `--stats` JSON documented in docs/counters.md.
 */
import { Counter } from '../assembly/counter-ids.js';
import { modeledCycles, modeledTranslation, type CostTable } from './cost-model.js';
import { tlbModelStats } from './tlb-model.js';

/** Exception cause names (privileged spec v1.12, table 3.6). */
export const EXCEPTION_NAMES: Record<number, string> = {
  0: 'instruction_misaligned', 1: 'instruction_access_fault', 2: 'illegal_instruction',
  3: 'breakpoint', 4: 'load_misaligned', 5: 'load_access_fault', 6: 'store_misaligned',
  7: 'store_access_fault', 8: 'ecall_from_u', 9: 'ecall_from_s', 10: 'ecall_from_vs',
  11: 'ecall_from_m', 12: 'instruction_page_fault', 13: 'load_page_fault',
  15: 'store_page_fault', 20: 'instruction_guest_page_fault', 21: 'load_guest_page_fault',
  22: 'virtual_instruction', 23: 'store_guest_page_fault',
};
export const INTERRUPT_NAMES: Record<number, string> = {
  1: 'supervisor_software', 2: 'vs_software', 3: 'machine_software', 5: 'supervisor_timer',
  6: 'vs_timer', 7: 'machine_timer', 9: 'supervisor_external', 10: 'vs_external',
  11: 'machine_external', 12: 'supervisor_guest_external',
};

/** Reasons of L2 exits (hv/nested.ts NEST_REASON_*), by their offset in NEST_*_BY_REASON. */
export const NEST_L2_REASONS = ['ecall', 'guestPageFault', 'virtualInstruction', 'timer', 'external', 'vsInterrupt', 'otherException', 'l1Interrupt'];
/** Reasons of L1 exits (hv/nested.ts NEST_L1_REASON_*), by offset in NEST_L1_HANDLING_BY_REASON. */
export const NEST_L1_REASONS = ['hypervisorCsr', 'sbi', 'hfence', 'hlv', 'mmio', 'interrupt', 'other', 'gstageWrite'];
const NEST_REASON_GROUPS: ReadonlyArray<[number, string, string[]]> = [
  [Counter.NEST_L2_BY_REASON, 'NEST_L2_EXIT_', NEST_L2_REASONS],
  [Counter.NEST_REFLECTED_BY_REASON, 'NEST_REFLECTED_', NEST_L2_REASONS],
  [Counter.NEST_L1_HANDLING_BY_REASON, 'NEST_L1_HANDLING_', NEST_L1_REASONS],
];
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();

/** Flat counters by name: enum names, plus EXC_<cause> and IRQ_<cause> for the trap slots, and
 * NEST_L2_EXIT_<reason>, NEST_REFLECTED_<reason>, NEST_L1_HANDLING_<reason> for nesting's. */
export function namedCounters(values: BigUint64Array): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (let i = 0; i < Counter.COUNT; i++) {
    let name: string | undefined = Counter[i];
    const group = NEST_REASON_GROUPS.find(([base]) => i >= base && i < base + 8);
    if (group) {
      const reason = group[2][i - group[0]];
      name = reason === undefined ? undefined : group[1] + snake(reason);
    } else if (i >= Counter.EXC_BASE && i < Counter.EXC_BASE + 24) {
      const c = i - Counter.EXC_BASE;
      name = EXCEPTION_NAMES[c] ? `EXC_${EXCEPTION_NAMES[c].toUpperCase()}` : undefined;
    } else if (i >= Counter.IRQ_BASE && i < Counter.IRQ_BASE + 16) {
      const c = i - Counter.IRQ_BASE;
      name = INTERRUPT_NAMES[c] ? `IRQ_${INTERRUPT_NAMES[c].toUpperCase()}` : undefined;
    }
    if (name !== undefined && name !== 'COUNT') out[name] = values[i];
  }
  return out;
}

const n = (v: bigint) => Number(v);

/** Exit reasons as the stats and the page name them, each with its counter. */
export const EXIT_REASONS: ReadonlyArray<[string, Counter]> = [
  ['csr', Counter.EXIT_CSR], ['sret', Counter.EXIT_SRET], ['wfi', Counter.EXIT_WFI],
  ['sfence', Counter.EXIT_SFENCE], ['satp', Counter.EXIT_SATP], ['hypercall', Counter.EXIT_SBI],
  ['shadowFill', Counter.EXIT_SHADOW_FILL], ['shadowWriteProtect', Counter.EXIT_SHADOW_WP],
  ['guestPageFault', Counter.EXIT_GUEST_PAGE_FAULT], ['mmioUart', Counter.EXIT_MMIO_UART],
  ['mmioPlic', Counter.EXIT_MMIO_PLIC], ['mmioClint', Counter.EXIT_MMIO_CLINT],
  ['mmioVirtio', Counter.EXIT_MMIO_VIRTIO], ['mmioTest', Counter.EXIT_MMIO_TEST],
  ['mmioEmudisk', Counter.EXIT_MMIO_EMUDISK],
  ['timer', Counter.EXIT_TIMER], ['external', Counter.EXIT_EXTERNAL], ['reflect', Counter.EXIT_REFLECT],
  ['virtualInstruction', Counter.EXIT_VIRTUAL_INSTRUCTION], ['illegal', Counter.EXIT_ILLEGAL],
  ['host', Counter.EXIT_HOST], ['pvBounce', Counter.EXIT_PV_BOUNCE], ['pvKernelTrap', Counter.EXIT_PV_KERNEL_TRAP],
];

/** The hvlab PV extension's functions (docs/pv-abi.md), with their counters. */
export const PV_CALLS: ReadonlyArray<[string, Counter]> = [
  ['info', Counter.PV_INFO], ['version', Counter.PV_VERSION], ['mmuUpdate', Counter.PV_MMU_UPDATE],
  ['pin', Counter.PV_PIN], ['unpin', Counter.PV_UNPIN], ['setRoot', Counter.PV_SET_ROOT],
  ['tlbFlush', Counter.PV_TLB_FLUSH], ['setCallbacks', Counter.PV_SET_CALLBACKS], ['iret', Counter.PV_IRET],
  ['sharedInfo', Counter.PV_SHARED_INFO], ['setTimer', Counter.PV_SET_TIMER], ['yield', Counter.PV_YIELD],
  ['block', Counter.PV_BLOCK], ['consoleWrite', Counter.PV_CONSOLE_WRITE],
  ['setFpState', Counter.PV_SET_FP_STATE], ['grantTableOp', Counter.PV_GRANT_TABLE_OP],
  ['eventChannelOp', Counter.PV_EVENT_CHANNEL_OP],
];

/** The structured statistics of a run, as `hvlab run --stats` writes them. */
export function structuredStats(values: BigUint64Array, wallSeconds: number, costs: Partial<CostTable> = {}): Record<string, unknown> {
  const c = (id: number) => values[id];
  const byCause = (base: number, names: Record<number, string>) => {
    const out: Record<string, number> = {};
    for (const [code, name] of Object.entries(names)) {
      const v = n(values[base + Number(code)]);
      if (v !== 0) out[name] = v;
    }
    return out;
  };
  const instructions = c(Counter.INSTRET_U) + c(Counter.INSTRET_S) + c(Counter.INSTRET_M);
  return {
    instructions: {
      total: n(instructions),
      byMode: { U: n(c(Counter.INSTRET_U)), S: n(c(Counter.INSTRET_S)), M: n(c(Counter.INSTRET_M)) },
      idleSkipped: n(c(Counter.IDLE_INSTRUCTIONS)),
    },
    traps: {
      exceptions: byCause(Counter.EXC_BASE, EXCEPTION_NAMES),
      interrupts: byCause(Counter.IRQ_BASE, INTERRUPT_NAMES),
    },
    tlb: {
      fetch: { lookups: n(c(Counter.TLB_FETCH_LOOKUPS)), misses: n(c(Counter.TLB_FETCH_MISSES)) },
      load: { lookups: n(c(Counter.TLB_LOAD_LOOKUPS)), misses: n(c(Counter.TLB_LOAD_MISSES)) },
      store: { lookups: n(c(Counter.TLB_STORE_LOOKUPS)), misses: n(c(Counter.TLB_STORE_MISSES)) },
      flushes: n(c(Counter.TLB_FLUSHES)),
    },
    pageWalks: {
      walks: n(c(Counter.WALKS)),
      memoryReferences: n(c(Counter.WALK_REFS)),
      vsStageReferences: n(c(Counter.WALK_REFS_VS)),
      gStageReferences: n(c(Counter.WALK_REFS_G)),
      gStageWalks: n(c(Counter.WALKS_G)),
      shadowFillReferences: n(c(Counter.WALK_REFS_SHADOW)),
      pageFaults: n(c(Counter.PAGE_FAULTS)),
      guestPageFaults: n(c(Counter.GUEST_PAGE_FAULTS)),
    },
    exits: {
      total: n(c(Counter.EXITS)),
      byReason: Object.fromEntries(EXIT_REASONS.map(([k, id]) => [k, n(c(id))]).filter(([, v]) => v !== 0)),
      injections: n(c(Counter.INJECTIONS)),
    },
    shadow: {
      fills: n(c(Counter.SHADOW_FILLS)), zaps: n(c(Counter.SHADOW_ZAPS)),
      rebuilds: n(c(Counter.SHADOW_REBUILDS)), switches: n(c(Counter.SHADOW_SWITCHES)),
      evictions: n(c(Counter.SHADOW_EVICTIONS)), pages: n(c(Counter.SHADOW_PAGES)),
      protected: n(c(Counter.SHADOW_PROTECTED)), unprotected: n(c(Counter.SHADOW_UNPROTECTED)),
    },
    pv: {
      calls: Object.fromEntries(PV_CALLS.map(([k, id]) => [k, n(c(id))]).filter(([, v]) => v !== 0)),
      pteUpdates: n(c(Counter.PV_PTE_UPDATES)), refused: n(c(Counter.PV_REFUSED)),
      tablesValidated: n(c(Counter.PV_TABLES_VALIDATED)), bounces: n(c(Counter.PV_BOUNCES)),
      kernelTraps: n(c(Counter.PV_KERNEL_TRAPS)), virtualInterrupts: n(c(Counter.PV_VIRQS)),
      impliedFlushes: n(c(Counter.PV_IMPLIED_FLUSHES)),
      grantMaps: n(c(Counter.GRANT_MAPS)), grantUnmaps: n(c(Counter.GRANT_UNMAPS)),
      grantCopyBytes: n(c(Counter.GRANT_COPY_BYTES)), eventSends: n(c(Counter.EVTCHN_SENDS)),
      eventUpcalls: n(c(Counter.EVTCHN_UPCALLS)),
    },
    modeledCycles: modeledCycles(namedCounters(values), costs),
    ...modelSection(values, costs),
    mmio: {
      uart: { reads: n(c(Counter.MMIO_UART_READS)), writes: n(c(Counter.MMIO_UART_WRITES)) },
      clint: { reads: n(c(Counter.MMIO_CLINT_READS)), writes: n(c(Counter.MMIO_CLINT_WRITES)) },
      plic: { reads: n(c(Counter.MMIO_PLIC_READS)), writes: n(c(Counter.MMIO_PLIC_WRITES)) },
      test: { reads: n(c(Counter.MMIO_TEST_READS)), writes: n(c(Counter.MMIO_TEST_WRITES)) },
      virtio: { reads: n(c(Counter.MMIO_VIRTIO_READS)), writes: n(c(Counter.MMIO_VIRTIO_WRITES)) },
      emudisk: { reads: n(c(Counter.MMIO_EMUDISK_READS)), writes: n(c(Counter.MMIO_EMUDISK_WRITES)) },
    },
    sbi: {
      base: n(c(Counter.SBI_BASE)), time: n(c(Counter.SBI_TIME)), ipi: n(c(Counter.SBI_IPI)),
      rfence: n(c(Counter.SBI_RFENCE)), hsm: n(c(Counter.SBI_HSM)), srst: n(c(Counter.SBI_SRST)),
      dbcn: n(c(Counter.SBI_DBCN)), unsupported: n(c(Counter.SBI_OTHER)),
    },
    console: { txBytes: n(c(Counter.UART_TX_BYTES)), rxBytes: n(c(Counter.UART_RX_BYTES)) },
    virtio: {
      notifies: n(c(Counter.VIRTIO_NOTIFIES)), interrupts: n(c(Counter.VIRTIO_INTERRUPTS)),
      descriptors: n(c(Counter.VIRTIO_DESCRIPTORS)), bytes: n(c(Counter.VIRTIO_BYTES)),
      resets: n(c(Counter.VIRTIO_RESETS)), blockRequests: n(c(Counter.VIRTIO_BLK_REQUESTS)),
      hostNotifies: n(c(Counter.VIRTIO_HOST_NOTIFIES)), offloadRequests: n(c(Counter.VIRTIO_OFFLOAD_REQUESTS)),
      offloadPolls: n(c(Counter.VIRTIO_OFFLOAD_POLLS)),
      exitsByDevice: { rng: n(c(Counter.VIRTIO_EXITS_RNG)), console: n(c(Counter.VIRTIO_EXITS_CONSOLE)), block: n(c(Counter.VIRTIO_EXITS_BLOCK)) },
    },
    emudisk: { bytes: n(c(Counter.EMUDISK_BYTES)), commands: n(c(Counter.EMUDISK_COMMANDS)) },
    nested: nestedStats(values),
    wall: {
      seconds: wallSeconds,
      mips: wallSeconds > 0 ? Number(instructions) / wallSeconds / 1e6 : 0,
    },
  };
}

/**
 * `tlbModel` in the stats, only when the model TLB counted something: its figures and the
 * translation time it models (docs/cost-model.md "Modeled translation time").
 */
function modelSection(values: BigUint64Array, costs: Partial<CostTable>): Record<string, unknown> {
  const stats = tlbModelStats(values);
  if (!stats) return {};
  return { tlbModel: { ...stats, cycles: modeledTranslation(namedCounters(values), costs) } };
}

/**
 * Nested virtualization by level (docs/nested.md): what L2's exits did at L0 and L1, what L1
 * cost L0, and L2's page walks. Exits that L0 took are all in `exits`; here they are split by
 * the level that ran: L2's (handled by L0 or reflected into L1) and L1's.
 */
function nestedStats(values: BigUint64Array): Record<string, unknown> {
  const c = (id: number) => n(values[id]);
  const reasons = (base: number, names: string[]) =>
    Object.fromEntries(names.map((k, i) => [k, c(base + i)]).filter(([, v]) => v !== 0));
  const reflected = c(Counter.NEST_REFLECTED);
  return {
    L2: {
      entries: c(Counter.NEST_L2_ENTRIES),
      exits: c(Counter.NEST_L2_EXITS),
      exitsByReason: reasons(Counter.NEST_L2_BY_REASON, NEST_L2_REASONS),
      handledByL0: c(Counter.NEST_L2_EXITS) - reflected,
      reflectedToL1: reflected,
      reflectedByReason: reasons(Counter.NEST_REFLECTED_BY_REASON, NEST_L2_REASONS),
      mmioByL0: c(Counter.NEST_L2_MMIO),
      walks: {
        completed: c(Counter.NEST_L2_WALKS),
        vsStageReferences: c(Counter.NEST_L2_REFS_VS),
        gStageReferences: c(Counter.NEST_L2_REFS_G),
        faultedReferences: c(Counter.NEST_L2_REFS_FAULTED),
      },
    },
    L1: {
      exits: c(Counter.NEST_L1_EXITS),
      exitsWhileHandlingL2: c(Counter.NEST_L1_EXITS_HANDLING),
      exitsWhileHandlingByReason: reasons(Counter.NEST_L1_HANDLING_BY_REASON, NEST_L1_REASONS),
      /** L0 exits per L2 exit reflected into L1: the exit multiplication. */
      exitMultiplication: reflected > 0 ? (reflected + c(Counter.NEST_L1_EXITS_HANDLING)) / reflected : 0,
      hypervisorCsrs: c(Counter.NEST_L1_HCSR),
      hfenceGvma: c(Counter.NEST_L1_HFENCE_GVMA),
      hfenceVvma: c(Counter.NEST_L1_HFENCE_VVMA),
      hlvHsv: c(Counter.NEST_L1_HLV),
    },
    L0: {
      foldFills: c(Counter.NEST_FOLD_FILLS),
      foldReferences: c(Counter.NEST_FOLD_REFS),
      foldResets: c(Counter.NEST_FOLD_RESETS),
      foldProtectedPages: c(Counter.NEST_FOLD_PROTECTED),
      foldWriteProtectExits: c(Counter.NEST_FOLD_WP),
      naiveWalks: c(Counter.NEST_NAIVE_WALKS),
      naiveL1References: c(Counter.NEST_NAIVE_REFS_L1),
      naiveL0References: c(Counter.NEST_NAIVE_REFS_L0),
    },
  };
}
