/**
 * The model TLB's configuration (assembly/mmu/tlbmodel.ts; docs/cost-model.md "The model TLB"):
 * the type a VmConfig carries (`tlbModel`), the `--tlb-model SPEC` text format and its parser,
 * and the figures `--stats` reports. `hvlab sweep` builds its points from `parseTlbModel`.
 *
 * SPEC: comma-separated key=value pairs, every key optional (defaults in DEFAULT_TLB_MODEL):
 *   l1i=ExW  l1d=ExW   L1 instruction and data TLBs: E entries, W ways (powers of two, W <= E)
 *   l2=ExW | l2=off    the unified L2 TLB
 *   repl=lru|random    replacement in a full set
 *   seed=N             the random replacement's seed (a fixed seed: the same victims every run)
 *   tags=on|off        ASID/VMID-tagged entries; off: everything is flushed on each satp, vsatp
 *                      or hgatp switch, as on hardware without ASIDs
 *   sizes=split|shared one array per page size (4 KiB, 2 MiB, 1 GiB) in each level, each of the
 *                      level's shape, or one array holding every size
 *   pwc=N npwc=N ntlb=N  entries of the page-walk cache, the nested page-walk cache and the
 *                      nested TLB (fully associative; 0 = none)
 * e.g. `l1i=32x4,l1d=32x4,l2=512x8,repl=lru,seed=1,tags=on,sizes=split,pwc=16,npwc=16,ntlb=32`.
 */
import { Counter } from '../assembly/counter-ids.js';
import { HvlabError } from './errors.js';

export interface TlbShape { entries: number; ways: number }

export interface TlbModelConfig {
  l1i: TlbShape;
  l1d: TlbShape;
  /** The unified L2 TLB, or null for none. */
  l2: TlbShape | null;
  repl: 'lru' | 'random';
  seed: number;
  tags: boolean;
  sizes: 'split' | 'shared';
  /** Page-walk cache entries (upper-level PTEs of native and VS-stage walks); 0 = none. */
  pwc: number;
  /** Nested page-walk cache entries (G-stage translations of VS-stage table pages); 0 = none. */
  npwc: number;
  /** Nested TLB entries (G-stage translations of the final guest-physical page); 0 = none. */
  ntlb: number;
}

export const DEFAULT_TLB_MODEL: Readonly<TlbModelConfig> = Object.freeze({
  l1i: { entries: 32, ways: 4 }, l1d: { entries: 32, ways: 4 }, l2: { entries: 512, ways: 8 },
  repl: 'lru', seed: 1, tags: true, sizes: 'split', pwc: 16, npwc: 16, ntlb: 32,
});

/** What fits the core's region for the model (assembly/mmu/tlbmodel.ts TLBM_REGION_BYTES). */
export const TLB_MODEL_LIMITS = Object.freeze({ l1: 256, l2: 4096, cache: 256 });

const KEYS = ['l1i', 'l1d', 'l2', 'repl', 'seed', 'tags', 'sizes', 'pwc', 'npwc', 'ntlb'] as const;

function bad(field: string, msg: string): never {
  throw new HvlabError('BAD_TLB_MODEL', `tlb model: ${field}: ${msg}`);
}

const isPow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

function checkShape(field: string, s: TlbShape, max: number): TlbShape {
  if (typeof s !== 'object' || s === null) bad(field, 'expected entries and ways');
  const { entries, ways } = s;
  if (!isPow2(entries)) bad(field, `entries must be a power of two, got ${entries}`);
  if (!isPow2(ways)) bad(field, `ways must be a power of two, got ${ways}`);
  if (ways > entries) bad(field, `ways (${ways}) must not exceed entries (${entries})`);
  if (entries > max) bad(field, `at most ${max} entries, got ${entries}`);
  return { entries, ways };
}

function checkCache(field: string, n: number): number {
  if (n === 0) return 0;
  if (!isPow2(n)) bad(field, `entries must be 0 or a power of two, got ${n}`);
  if (n > TLB_MODEL_LIMITS.cache) bad(field, `at most ${TLB_MODEL_LIMITS.cache} entries, got ${n}`);
  return n;
}

/**
 * Check a configuration (from a VmConfig or a sweep) and fill in the defaults: the first bad
 * field throws a one-line HvlabError naming it.
 */
export function validateTlbModel(c: Partial<TlbModelConfig>): TlbModelConfig {
  if (typeof c !== 'object' || c === null) bad('tlbModel', 'expected an object');
  for (const k of Object.keys(c)) {
    if (!(KEYS as readonly string[]).includes(k)) bad(k, `unknown key (known: ${KEYS.join(', ')})`);
  }
  const d = DEFAULT_TLB_MODEL;
  const repl = c.repl ?? d.repl;
  if (repl !== 'lru' && repl !== 'random') bad('repl', `must be lru or random, got '${String(repl)}'`);
  const sizes = c.sizes ?? d.sizes;
  if (sizes !== 'split' && sizes !== 'shared') bad('sizes', `must be split or shared, got '${String(sizes)}'`);
  const seed = c.seed ?? d.seed;
  if (!Number.isSafeInteger(seed) || seed < 0) bad('seed', `must be a whole number >= 0, got ${seed}`);
  const tags = c.tags ?? d.tags;
  if (typeof tags !== 'boolean') bad('tags', `must be on or off, got '${String(tags)}'`);
  const l2 = c.l2 === undefined ? d.l2 : c.l2;
  return {
    l1i: checkShape('l1i', c.l1i ?? d.l1i, TLB_MODEL_LIMITS.l1),
    l1d: checkShape('l1d', c.l1d ?? d.l1d, TLB_MODEL_LIMITS.l1),
    l2: l2 === null ? null : checkShape('l2', l2, TLB_MODEL_LIMITS.l2),
    repl, seed, tags, sizes,
    pwc: checkCache('pwc', c.pwc ?? d.pwc),
    npwc: checkCache('npwc', c.npwc ?? d.npwc),
    ntlb: checkCache('ntlb', c.ntlb ?? d.ntlb),
  };
}

function parseShape(field: string, v: string): TlbShape {
  const m = /^(\d+)x(\d+)$/.exec(v);
  if (!m) bad(field, `expected ENTRIESxWAYS (e.g. 32x4), got '${v}'`);
  return { entries: Number(m[1]), ways: Number(m[2]) };
}

function parseCount(field: string, v: string): number {
  if (!/^\d+$/.test(v)) bad(field, `expected a number of entries, got '${v}'`);
  return Number(v);
}

function parseSwitch(field: string, v: string): boolean {
  if (v === 'on') return true;
  if (v === 'off') return false;
  return bad(field, `must be on or off, got '${v}'`);
}

/** Parse `--tlb-model SPEC` (grammar above; `on` or an empty SPEC is the defaults). */
export function parseTlbModel(text: string): TlbModelConfig {
  const c: Partial<TlbModelConfig> = {};
  const spec = text.trim();
  if (spec === '' || spec === 'on' || spec === 'default') return validateTlbModel(c);
  const seen = new Set<string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) bad(part.trim() || '(empty)', 'expected key=value');
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (!(KEYS as readonly string[]).includes(k)) bad(k, `unknown key (known: ${KEYS.join(', ')})`);
    if (seen.has(k)) bad(k, 'given twice');
    seen.add(k);
    switch (k) {
      case 'l1i': c.l1i = parseShape(k, v); break;
      case 'l1d': c.l1d = parseShape(k, v); break;
      case 'l2': c.l2 = v === 'off' || v === '0' ? null : parseShape(k, v); break;
      case 'repl': c.repl = v as TlbModelConfig['repl']; break;
      case 'seed': c.seed = parseCount(k, v); break;
      case 'tags': c.tags = parseSwitch(k, v); break;
      case 'sizes': c.sizes = v as TlbModelConfig['sizes']; break;
      case 'pwc': c.pwc = parseCount(k, v); break;
      case 'npwc': c.npwc = parseCount(k, v); break;
      case 'ntlb': c.ntlb = parseCount(k, v); break;
    }
  }
  return validateTlbModel(c);
}

/** The SPEC text of a configuration (every key; parseTlbModel reads it back to the same). */
export function formatTlbModel(c: TlbModelConfig): string {
  const shape = (s: TlbShape | null) => (s ? `${s.entries}x${s.ways}` : 'off');
  return [`l1i=${shape(c.l1i)}`, `l1d=${shape(c.l1d)}`, `l2=${shape(c.l2)}`, `repl=${c.repl}`,
    `seed=${c.seed}`, `tags=${c.tags ? 'on' : 'off'}`, `sizes=${c.sizes}`, `pwc=${c.pwc}`,
    `npwc=${c.npwc}`, `ntlb=${c.ntlb}`].join(',');
}

/** The core's surface for the model (src/core.ts). */
export interface TlbModelCore {
  setTlbModel(l1iEntries: number, l1iWays: number, l1dEntries: number, l1dWays: number,
    l2Entries: number, l2Ways: number, repl: number, seed: bigint, tags: boolean, split: boolean,
    pwc: number, npwc: number, ntlb: number): boolean;
  setTlbModelOff(): void;
}

/**
 * Configure the core's model; throws if the core refuses the shape. Without a model nothing is
 * called: the model is off in a fresh context (and a core built before the model still runs,
 * which `npm run bench:cpu --ab` relies on).
 */
export function applyTlbModel(core: TlbModelCore, c: TlbModelConfig | undefined): void {
  if (!c) return;
  const ok = core.setTlbModel(c.l1i.entries, c.l1i.ways, c.l1d.entries, c.l1d.ways,
    c.l2?.entries ?? 0, c.l2?.ways ?? 0, c.repl === 'random' ? 1 : 0, BigInt(c.seed), c.tags,
    c.sizes === 'split', c.pwc, c.npwc, c.ntlb);
  if (!ok) throw new HvlabError('BAD_TLB_MODEL', `tlb model: the core refused ${formatTlbModel(c)} (too large for its region)`);
}

const SIZES = ['4k', '2m', '1g'] as const;

/**
 * The model's figures for `--stats` (docs/counters.md "The model TLB"), or undefined when the
 * model counted nothing (off). Rates are per lookup; `refsPerWalk` per modeled walk.
 */
export function tlbModelStats(v: BigUint64Array): Record<string, unknown> | undefined {
  const n = (id: number) => Number(v[id]);
  if (n(Counter.TLBM_L1I_LOOKUPS) + n(Counter.TLBM_L1D_LOOKUPS) === 0) return undefined;
  const level = (base: number) => {
    const lookups = n(base);
    const hits: Record<string, number> = {};
    SIZES.forEach((s, i) => { hits[s] = n(base + 1 + i); });
    const misses = n(base + 4);
    return { lookups, hits, misses, missRate: lookups ? misses / lookups : 0 };
  };
  const walks = n(Counter.TLBM_WALKS);
  const refs = { oneStage: n(Counter.TLBM_WALK_REFS), vs: n(Counter.TLBM_WALK_REFS_VS), g: n(Counter.TLBM_WALK_REFS_G) };
  const total = refs.oneStage + refs.vs + refs.g;
  const walks2d = n(Counter.TLBM_WALKS_2D);
  return {
    l1i: level(Counter.TLBM_L1I_LOOKUPS),
    l1d: level(Counter.TLBM_L1D_LOOKUPS),
    l2: level(Counter.TLBM_L2_LOOKUPS),
    walks: {
      total: walks, '4k': n(Counter.TLBM_WALKS_4K), '2m': n(Counter.TLBM_WALKS_2M), '1g': n(Counter.TLBM_WALKS_1G),
      faults: n(Counter.TLBM_WALK_FAULTS), twoStage: walks2d,
      refs: { ...refs, total }, refsPerWalk: walks ? total / walks : 0,
      refsPer2dWalk: walks2d ? (refs.vs + refs.g) / walks2d : 0,
    },
    pwc: { lookups: n(Counter.TLBM_PWC_LOOKUPS), hits: n(Counter.TLBM_PWC_HITS), refsSaved: n(Counter.TLBM_PWC_REFS_SAVED) },
    npwc: { lookups: n(Counter.TLBM_NPWC_LOOKUPS), hits: n(Counter.TLBM_NPWC_HITS) },
    ntlb: { lookups: n(Counter.TLBM_NTLB_LOOKUPS), hits: n(Counter.TLBM_NTLB_HITS) },
    flushes: n(Counter.TLBM_FLUSHES), switchFlushes: n(Counter.TLBM_SWITCH_FLUSHES),
  };
}
