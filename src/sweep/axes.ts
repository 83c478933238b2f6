/**
 * The axes a sweep can vary (docs/sweep.md), one entry each: its name (the key in the config's
 * `axes` object and the CSV column), how a value is checked, and how it sets up a run (the
 * VmConfig fields and the kernel command line). Adding an axis is adding an entry here.
 *
 * An axis whose feature is not in the build has no `apply` and says why in `pending`: a config
 * that uses it is refused before anything runs rather than silently measuring a machine without
 * the feature. (None is pending now: the model TLB, its walk caches and superpages are wired.)
 */
import { HvlabError } from '../errors.js';
import { MODES, SOLO_IO_PATHS, type IoPath, type Mode, type VmConfig } from '../vm.js';
import { parseTlbModel, TLB_MODEL_LIMITS, type TlbModelConfig } from '../tlb-model.js';
import { GUESTS, LINUX_WORKLOADS, WORKLOADS, IO_WORKLOADS, type GuestName } from '../bench/workloads.js';

export type AxisValue = string | number | boolean;

/** What one point of the product runs: built from the axes' values by their `apply`. */
export interface RunSpec {
  guest: GuestName;
  mode: Mode;
  /** The workload's name (the shell command's first word). */
  workload: string;
  /** The full shell command, defaults filled in. */
  command: string;
  io: IoPath;
  nestedPwc: boolean;
  /** Kernel command-line words the axes add (appended to the guest's own). */
  bootargs: string[];
  /** VmConfig fields the axes set beyond the ones above. */
  vm: Partial<VmConfig>;
}

export interface Axis {
  name: string;
  /** One line for `hvlab sweep --help` and docs/sweep.md. */
  doc: string;
  /** The value a point has when the config does not name the axis. */
  default: AxisValue;
  /** Check one value; `field` names it in the message (e.g. `axes.mode[2]`). */
  check(value: unknown, field: string): AxisValue;
  /** Set the run up for this value. Absent while the axis is pending. */
  apply?(value: AxisValue, run: RunSpec): void;
  /** Why the axis cannot be used in this build (the feature it needs is not merged yet). */
  pending?: string;
}

export function bad(field: string, what: string): HvlabError {
  return new HvlabError('BAD_SWEEP', `${field}: ${what}`);
}

function choice<T extends string>(known: readonly T[]) {
  return (value: unknown, field: string): T => {
    if (typeof value !== 'string' || !(known as readonly string[]).includes(value)) {
      throw bad(field, `unknown value ${JSON.stringify(value)} (known: ${known.join(', ')})`);
    }
    return value as T;
  };
}

function boolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw bad(field, `must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * A size that hardware indexes by bits, so a power of two, within [min, max]; 0 is allowed
 * where it means "none" (a walk cache switched off).
 */
function powerOfTwo(min: number, max: number, zeroOff: boolean) {
  return (value: unknown, field: string): number => {
    if (typeof value !== 'number' || !Number.isInteger(value)) throw bad(field, `must be a whole number, got ${JSON.stringify(value)}`);
    if (zeroOff && value === 0) return 0;
    if (value < min || value > max) throw bad(field, `${value} is outside ${min}..${max}${zeroOff ? ' (or 0: off)' : ''}`);
    if ((value & (value - 1)) !== 0) throw bad(field, `${value} is not a power of two`);
    return value;
  };
}

/**
 * A workload's arguments, per guest: how many, and each one's range (docs/hvos.md
 * "Workloads", guests/linux/initramfs/hvbox.c `count_arg`). The guests check them too, but a
 * sweep should not boot a guest to learn that its argument was out of range. `step` is a
 * required divisor (hvos's `disk` reads whole 4 KiB requests).
 */
interface ArgSpec { min: number; max: number; step?: number }
const HVOS_ARGS: Readonly<Record<string, ArgSpec[]>> = {
  compute: [{ min: 1, max: 1e9 }],
  memwalk: [{ min: 1, max: 16384 }, { min: 1, max: 100000 }],
  ptchurn: [{ min: 1, max: 4096 }, { min: 1, max: 1e6 }],
  spawn: [{ min: 1, max: 100000 }],
  syscall: [{ min: 1, max: 1e9 }],
  ctxsw: [{ min: 1, max: 1e7 }],
  io: [{ min: 1, max: 1024 }],
  disk: [{ min: 4, max: 65536, step: 4 }],
};
const LINUX_ARGS: Readonly<Record<string, ArgSpec[]>> = {
  forkwait: [{ min: 1, max: 1e6 }],
  mmapchurn: [{ min: 1, max: 1e7 }],
  pagewalk: [{ min: 1, max: 1e8 }, { min: 1, max: 65536 }],
  nullsys: [{ min: 1, max: 1e9 }],
  pipeping: [{ min: 1, max: 1e8 }],
};
export const WORKLOAD_ARGS: Readonly<Record<GuestName, Readonly<Record<string, ArgSpec[]>>>> = { hvos: HVOS_ARGS, linux: LINUX_ARGS };
/** Each guest's default command per workload (the bench's standard set). */
export const WORKLOAD_DEFAULTS: Readonly<Record<GuestName, Readonly<Record<string, string>>>> = {
  hvos: { ...WORKLOADS, disk: IO_WORKLOADS.disk },
  linux: LINUX_WORKLOADS,
};

/** The guests a workload name belongs to. */
export function workloadGuests(name: string): GuestName[] {
  return GUESTS.filter((g) => name in WORKLOAD_ARGS[g]);
}

/**
 * A workload: a shell command with its arguments (`memwalk 512 8`), or the name alone for the
 * bench's standard arguments (`memwalk` = `memwalk 512 8`). Normalised to the full command,
 * single-spaced, so two spellings of one run share a cache entry.
 */
function workload(value: unknown, field: string): string {
  if (typeof value !== 'string') throw bad(field, `must be a shell command such as "memwalk 512 8", got ${JSON.stringify(value)}`);
  const words = value.trim().split(/\s+/);
  const name = words[0];
  const guests = workloadGuests(name);
  if (guests.length === 0) {
    const known = GUESTS.map((g) => `${g}: ${Object.keys(WORKLOAD_ARGS[g]).join(', ')}`).join('; ');
    throw bad(field, `unknown workload '${name}' (known: ${known})`);
  }
  if (words.length === 1) return WORKLOAD_DEFAULTS[guests[0]][name];
  const spec = WORKLOAD_ARGS[guests[0]][name];
  const args = words.slice(1);
  if (args.length > spec.length) throw bad(field, `'${name}' takes at most ${spec.length} argument${spec.length > 1 ? 's' : ''}, got ${args.length}`);
  for (const [i, a] of args.entries()) {
    const s = spec[i];
    const v = /^\d+$/.test(a) ? Number(a) : NaN;
    if (!Number.isSafeInteger(v) || v < s.min || v > s.max || (s.step !== undefined && v % s.step !== 0)) {
      throw bad(field, `'${name}' argument ${i + 1} must be a whole number in ${s.min}..${s.max}${s.step ? `, a multiple of ${s.step}` : ''}, got '${a}'`);
    }
  }
  return [name, ...args.map(Number)].join(' ');
}

/**
 * The model TLB a run measures with, created on first use: the one the `tlbModel` axis set (it
 * applies before the size axes, being earlier in AXES), else the default model
 * (DEFAULT_TLB_MODEL: l1i=32x4, l1d=32x4, l2=512x8, lru, tags on, split, pwc=16, npwc=16,
 * ntlb=32). A size axis needs a model to size, so naming one switches the model on.
 */
function model(r: RunSpec): TlbModelConfig {
  r.vm.tlbModel ??= parseTlbModel('');
  return r.vm.tlbModel;
}

/** A model-TLB SPEC (src/tlb-model.ts): checked by the model's own parser, kept as written. */
function tlbSpec(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw bad(field, `must be a non-empty SPEC text, got ${JSON.stringify(v)}`);
  try { parseTlbModel(v); } catch (e) { throw bad(field, (e as Error).message); }
  return v.trim();
}

/**
 * A size axis of the model: '' (its default, never a configured value) leaves the base model's
 * size; a value overrides it. The ranges are what the core's region for the model holds
 * (TLB_MODEL_LIMITS).
 */
const modelSize = powerOfTwo;
const sized = (set: (m: TlbModelConfig, n: number) => void) => (v: AxisValue, r: RunSpec) => {
  if (v !== '') set(model(r), v as number);
};

/** The G-stage page size; 1g is refused: a 1 GiB leaf needs 1 GiB of guest RAM (docs/superpages.md). */
function gstagePages(value: unknown, field: string): string {
  const v = choice(['4k', '2m', '1g'] as const)(value, field);
  if (v === '1g') {
    throw bad(field, '1g needs a guest of at least 1024 MiB (memMiB), and a sweep\'s guests have 128 MiB: below that ' +
      'every GiB falls back to 2 MiB leaves, the 2m point again (docs/superpages.md)');
  }
  return v;
}

export const AXES: readonly Axis[] = [
  {
    name: 'guest', doc: `the guest: ${GUESTS.join(' or ')} (Linux: the prebuilt 6.1, docs/linux.md; no pv)`, default: 'hvos',
    check: choice(GUESTS), apply: (v, r) => { r.guest = v as GuestName; },
  },
  {
    name: 'mode', doc: `the execution mode: ${MODES.join(', ')}`, default: 'native',
    check: choice(MODES), apply: (v, r) => { r.mode = v as Mode; },
  },
  {
    name: 'workload', doc: 'a workload command with its arguments ("memwalk 512 8"), or its name for the bench\'s arguments',
    default: WORKLOADS.memwalk, check: workload,
    apply: (v, r) => { r.command = String(v); r.workload = r.command.split(' ')[0]; },
  },
  {
    name: 'nestedPwc', doc: 'the nested page-walk cache for two-stage walks (hvm-nested): true or false', default: false,
    check: boolean, apply: (v, r) => { r.nestedPwc = v as boolean; },
  },
  {
    name: 'io', doc: `the I/O path (hvos): ${SOLO_IO_PATHS.join(', ')} (docs/io.md)`, default: 'emulated',
    check: choice(SOLO_IO_PATHS), apply: (v, r) => { r.io = v as IoPath; },
  },
  // The model TLB and its walk caches (src/tlb-model.ts, docs/cost-model.md "The model TLB").
  // `ways larger than entries` is checked across the product in config.ts, and every point's
  // model whole (validateTlbModel) when the product is expanded.
  {
    name: 'tlbModel', doc: 'a model-TLB SPEC as --tlb-model takes it (docs/cost-model.md); "" (default): no model unless a size axis is set',
    default: '', check: tlbSpec,
    apply: (v, r) => { if (v !== '') r.vm.tlbModel = parseTlbModel(String(v)); },
  },
  {
    name: 'tlbEntries', doc: `model L1 data TLB entries: a power of two, 1..${TLB_MODEL_LIMITS.l1}`, default: '',
    check: modelSize(1, TLB_MODEL_LIMITS.l1, false), apply: sized((m, n) => { m.l1d = { ...m.l1d, entries: n }; }),
  },
  {
    name: 'tlbWays', doc: 'model L1 data TLB ways: a power of two, at most its entries', default: '',
    check: modelSize(1, TLB_MODEL_LIMITS.l1, false), apply: sized((m, n) => { m.l1d = { ...m.l1d, ways: n }; }),
  },
  {
    name: 'pwcEntries', doc: `model page-walk cache entries (upper-level PTEs): a power of two up to ${TLB_MODEL_LIMITS.cache}, or 0 for none`, default: '',
    check: modelSize(1, TLB_MODEL_LIMITS.cache, true), apply: sized((m, n) => { m.pwc = n; }),
  },
  {
    name: 'npwcEntries', doc: 'model nested page-walk cache entries: a power of two, or 0 for none', default: '',
    check: modelSize(1, TLB_MODEL_LIMITS.cache, true), apply: sized((m, n) => { m.npwc = n; }),
  },
  {
    name: 'ntlbEntries', doc: 'model nested TLB (gPA to hPA) entries: a power of two, or 0 for none', default: '',
    check: modelSize(1, TLB_MODEL_LIMITS.cache, true), apply: sized((m, n) => { m.ntlb = n; }),
  },
  // Superpages (docs/superpages.md). '4k' sets nothing, so such a point is the run it always was.
  {
    name: 'gstagePages', doc: 'the host pages behind guest RAM (--gstage-pages): 4k or 2m (1g needs a 1 GiB guest)', default: '4k',
    check: gstagePages, apply: (v, r) => { if (v !== '4k') r.vm.gstagePages = v as '2m'; },
  },
  {
    name: 'hugepages', doc: 'hvos maps its kernel and user heap with 2 MiB pages (boot argument hugepages): true or false', default: false,
    check: boolean, apply: (v, r) => { if (v) r.bootargs.push('hugepages'); },
  },
];

export const AXIS_BY_NAME: ReadonlyMap<string, Axis> = new Map(AXES.map((a) => [a.name, a]));
/** The axes that can run in this build: the columns every point has. */
export const ACTIVE_AXES: readonly Axis[] = AXES.filter((a) => a.apply !== undefined);
