/**
 * The axes a sweep can vary (docs/sweep.md), one entry each: its name (the key in the config's
 * `axes` object and the CSV column), how a value is checked, and how it sets up a run (the
 * VmConfig fields and the kernel command line). Adding an axis is adding an entry here.
 *
 * Some axes belong to features other branches are adding (issue 16: the model TLB and its
 * walk caches, superpages). Their entries are here with their checks, so a config that names
 * them is validated now, but they have no `apply` yet: `pending` says what is missing, and a
 * config that uses them is refused before anything runs rather than silently measuring a
 * machine without the feature.
 */
import { HvlabError } from '../errors.js';
import { MODES, SOLO_IO_PATHS, type IoPath, type Mode, type VmConfig } from '../vm.js';
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

/** Where the model-TLB axes wait (issue 16 part 1, the tlbmodel branch). */
const NEEDS_TLB_MODEL = 'needs the configurable model TLB (VmConfig.tlbModel, src/tlb-model.ts), not in this build';
const NEEDS_SUPERPAGES = 'needs superpages in the hypervisor and hvos (issue 16 part 3), not in this build';

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
  // --- Pending: the model TLB and its walk caches (tlbmodel branch). Wiring: build a
  // TlbModelConfig from `tlbModel` (parseTlbModel(text); its check should call it too), then
  // override its L1 data TLB's entries/ways and the walk-cache sizes from the numeric axes, and
  // set r.vm.tlbModel. `ways larger than entries` is checked across the product in config.ts.
  {
    name: 'tlbModel', doc: 'a model-TLB SPEC as --tlb-model takes it (docs/cost-model.md)', default: '',
    check: (v, field) => {
      if (typeof v !== 'string' || v.trim() === '') throw bad(field, `must be a non-empty SPEC text, got ${JSON.stringify(v)}`);
      return v.trim();
    },
    pending: NEEDS_TLB_MODEL,
  },
  { name: 'tlbEntries', doc: 'model L1 data TLB entries: a power of two, 1..65536', default: 0, check: powerOfTwo(1, 65536, false), pending: NEEDS_TLB_MODEL },
  { name: 'tlbWays', doc: 'model L1 data TLB ways: a power of two, at most tlbEntries', default: 0, check: powerOfTwo(1, 65536, false), pending: NEEDS_TLB_MODEL },
  { name: 'pwcEntries', doc: 'page-walk cache entries (upper-level PTEs): a power of two, or 0 for none', default: 0, check: powerOfTwo(1, 4096, true), pending: NEEDS_TLB_MODEL },
  { name: 'npwcEntries', doc: 'nested page-walk cache entries: a power of two, or 0 for none', default: 0, check: powerOfTwo(1, 4096, true), pending: NEEDS_TLB_MODEL },
  { name: 'ntlbEntries', doc: 'nested TLB (gPA to hPA) entries: a power of two, or 0 for none', default: 0, check: powerOfTwo(1, 4096, true), pending: NEEDS_TLB_MODEL },
  // --- Pending: superpages (superpages branch). Wiring: r.vm.gstagePages = v, and for
  // hugepages push 'hugepages' onto r.bootargs (hvos's boot argument, docs/hvos.md).
  { name: 'gstagePages', doc: 'the G-stage\'s page size: 4k, 2m or 1g (--gstage-pages)', default: '4k', check: choice(['4k', '2m', '1g'] as const), pending: NEEDS_SUPERPAGES },
  { name: 'hugepages', doc: 'hvos maps its kernel and user heap with 2 MiB pages (boot argument hugepages): true or false', default: false, check: boolean, pending: NEEDS_SUPERPAGES },
];

export const AXIS_BY_NAME: ReadonlyMap<string, Axis> = new Map(AXES.map((a) => [a.name, a]));
/** The axes that can run in this build: the columns every point has. */
export const ACTIVE_AXES: readonly Axis[] = AXES.filter((a) => a.apply !== undefined);
