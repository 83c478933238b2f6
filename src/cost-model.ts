/**
 * The cost model (DESIGN.md "Counters and the cost model"): modeled cycles = sum over events of
 * count x cost, from one table. The core only counts; this file prices. Every default is
 * explained, with where its order of magnitude comes from, in docs/cost-model.md. A user can
 * override any entry (`hvlab run --costs FILE.json`, or `modeledCycles(counters, overrides)`).
 */
import { HvlabError } from './errors.js';

export interface CostTable {
  /** A retired instruction (an in-order core's CPI of 1). */
  instruction: number;
  /** One page-table memory reference by the hardware walker (any stage). */
  walkRef: number;
  /** One guest PTE read by the hypervisor while filling a shadow entry (software walk). */
  shadowWalkRef: number;
  /** A trap taken inside the guest or the bare machine (exception or interrupt entry + xRET). */
  trap: number;
  /** The fixed cost of any VM exit: leave the guest, save and restore state, re-enter. */
  exit: number;
  /** Extra work per exit, by what the hypervisor did. */
  emulateInstruction: number;
  shadowFill: number;
  shadowWriteProtect: number;
  shadowSwitch: number;
  mmio: number;
  hypercall: number;
  reflect: number;
  inject: number;
  /** Validating one page-table entry a pv guest writes through mmu_update (PV_PTE_UPDATES). */
  pvUpdate: number;
  /** An exit handed to the host's user space (a device model in TypeScript). */
  hostExit: number;
  /** Flushing the TLB (the refills are counted as misses and walks). */
  tlbFlush: number;
  // The model TLB (src/tlb-model.ts; docs/cost-model.md "Modeled translation time"). A walk's
  // references that reach memory are priced by walkRef; these price what served the rest.
  /** A hit in an L1 TLB (in parallel with the cache access: no extra cycles by default). */
  tlbL1Hit: number;
  /** An L1 miss that hits the L2 TLB. */
  tlbL2Hit: number;
  /** A page-walk cache hit (the upper levels of a walk it saved). */
  pwcHit: number;
  /** A nested page-walk cache hit (a G-stage walk of a VS table page saved). */
  npwcHit: number;
  /** A nested TLB hit (the G-stage walk of the final guest-physical page saved). */
  ntlbHit: number;
}

export const DEFAULT_COSTS: Readonly<CostTable> = Object.freeze({
  instruction: 1,
  walkRef: 20,
  shadowWalkRef: 30,
  trap: 40,
  exit: 1000,
  emulateInstruction: 150,
  shadowFill: 400,
  shadowWriteProtect: 600,
  shadowSwitch: 300,
  mmio: 300,
  hypercall: 200,
  reflect: 300,
  inject: 150,
  pvUpdate: 50,
  hostExit: 10000,
  tlbFlush: 100,
  tlbL1Hit: 0,
  tlbL2Hit: 7,
  pwcHit: 2,
  npwcHit: 2,
  ntlbHit: 2,
});

/** Check a user's overrides: known keys, finite non-negative numbers. */
export function parseCostOverrides(json: unknown, source = 'costs'): Partial<CostTable> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new HvlabError('BAD_COSTS', `${source}: expected a JSON object of costs, e.g. {"exit": 800}`);
  }
  const out: Partial<CostTable> = {};
  for (const [k, v] of Object.entries(json)) {
    if (!(k in DEFAULT_COSTS)) {
      throw new HvlabError('BAD_COSTS', `${source}: unknown cost '${k}' (known: ${Object.keys(DEFAULT_COSTS).join(', ')})`);
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new HvlabError('BAD_COSTS', `${source}: cost '${k}' must be a number >= 0, got ${JSON.stringify(v)}`);
    }
    (out as Record<string, number>)[k] = v;
  }
  return out;
}

export interface CycleBreakdown {
  total: number;
  instructions: number;
  pageWalks: number;
  traps: number;
  exits: number;
  exitHandling: number;
  tlbFlushes: number;
}

const get = (c: Record<string, bigint>, k: string) => Number(c[k] ?? 0n);

/** Modeled cycles of a run from its named counters (Vm.counters()). */
export function modeledCycles(c: Record<string, bigint>, overrides: Partial<CostTable> = {}): CycleBreakdown {
  const t = { ...DEFAULT_COSTS, ...overrides };
  const instructionCount = get(c, 'INSTRET_U') + get(c, 'INSTRET_S') + get(c, 'INSTRET_M');
  const instructions = instructionCount * t.instruction;
  const pageWalks = (get(c, 'WALK_REFS') + get(c, 'WALK_REFS_VS') + get(c, 'WALK_REFS_G')) * t.walkRef +
    get(c, 'WALK_REFS_SHADOW') * t.shadowWalkRef;
  let trapCount = 0;
  for (const [k, v] of Object.entries(c)) if (k.startsWith('EXC_') || k.startsWith('IRQ_')) trapCount += Number(v);
  const exitCount = get(c, 'EXITS');
  // A trap that exits is priced as an exit, not also as a trap.
  const traps = Math.max(0, trapCount - exitCount) * t.trap;
  const exits = exitCount * t.exit + get(c, 'EXIT_HOST') * t.hostExit;
  const exitHandling =
    (get(c, 'EXIT_CSR') + get(c, 'EXIT_SATP') + get(c, 'EXIT_SRET') + get(c, 'EXIT_WFI') + get(c, 'EXIT_SFENCE')) * t.emulateInstruction +
    get(c, 'EXIT_SHADOW_FILL') * t.shadowFill +
    get(c, 'EXIT_SHADOW_WP') * t.shadowWriteProtect +
    get(c, 'SHADOW_SWITCHES') * t.shadowSwitch +
    (get(c, 'EXIT_MMIO_UART') + get(c, 'EXIT_MMIO_PLIC') + get(c, 'EXIT_MMIO_CLINT') + get(c, 'EXIT_MMIO_VIRTIO') +
      get(c, 'EXIT_MMIO_TEST') + get(c, 'EXIT_MMIO_EMUDISK')) * t.mmio +
    get(c, 'EXIT_SBI') * t.hypercall +
    (get(c, 'EXIT_REFLECT') + get(c, 'EXIT_PV_BOUNCE') + get(c, 'EXIT_PV_KERNEL_TRAP')) * t.reflect +
    get(c, 'PV_PTE_UPDATES') * t.pvUpdate +
    get(c, 'INJECTIONS') * t.inject;
  const tlbFlushes = get(c, 'TLB_FLUSHES') * t.tlbFlush;
  return {
    total: instructions + pageWalks + traps + exits + exitHandling + tlbFlushes,
    instructions, pageWalks, traps, exits, exitHandling, tlbFlushes,
  };
}

export interface TranslationCycles {
  /** Cycles of address translation by the model TLB: the sum of the parts below. */
  total: number;
  l1Hits: number;
  l2Hits: number;
  /** The modeled walks' references that went to memory (one-stage, VS-stage, G-stage). */
  walkReferences: number;
  pwcHits: number;
  npwcHits: number;
  ntlbHits: number;
  /**
   * The run's modeled cycles with translation priced by the model: modeledCycles' total, less
   * its hardware page walks (the fast TLB's, whose shape is not the model's), plus `total`.
   * The hypervisor's software walks (shadow fills) stay as they were.
   */
  runTotal: number;
}

/** Modeled cycles of address translation from the model TLB's counters (TLBM_*). */
export function modeledTranslation(c: Record<string, bigint>, overrides: Partial<CostTable> = {}): TranslationCycles {
  const t = { ...DEFAULT_COSTS, ...overrides };
  const sum = (...keys: string[]) => keys.reduce((s, k) => s + get(c, k), 0);
  const l1Hits = sum('TLBM_L1I_HITS_4K', 'TLBM_L1I_HITS_2M', 'TLBM_L1I_HITS_1G',
    'TLBM_L1D_HITS_4K', 'TLBM_L1D_HITS_2M', 'TLBM_L1D_HITS_1G') * t.tlbL1Hit;
  const l2Hits = sum('TLBM_L2_HITS_4K', 'TLBM_L2_HITS_2M', 'TLBM_L2_HITS_1G') * t.tlbL2Hit;
  const walkReferences = sum('TLBM_WALK_REFS', 'TLBM_WALK_REFS_VS', 'TLBM_WALK_REFS_G') * t.walkRef;
  const pwcHits = get(c, 'TLBM_PWC_HITS') * t.pwcHit;
  const npwcHits = get(c, 'TLBM_NPWC_HITS') * t.npwcHit;
  const ntlbHits = get(c, 'TLBM_NTLB_HITS') * t.ntlbHit;
  const total = l1Hits + l2Hits + walkReferences + pwcHits + npwcHits + ntlbHits;
  const run = modeledCycles(c, overrides);
  const hardwareWalks = sum('WALK_REFS', 'WALK_REFS_VS', 'WALK_REFS_G') * t.walkRef;
  return { total, l1Hits, l2Hits, walkReferences, pwcHits, npwcHits, ntlbHits,
    runTotal: run.total - hardwareWalks + total };
}
