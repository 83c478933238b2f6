/**
 * The many-VM config (docs/multi-vm.md "The config file"), one parser for `hvlab run --config`
 * and `hvlab top` (src/cli/multi-config.ts) and the page's many-VM view (src/web/multi-config.ts):
 * a JSON document naming the host pool and each VM's image, mode, memory, I/O path and
 * scheduler weight. Every mistake is one HvlabError line naming the config, the VM and what is
 * wrong, raised before anything is created: a config either starts whole or not at all.
 *
 *   { "pool": "128M",
 *     "vms": [ { "name": "a", "image": "hvos.elf", "mode": "hvm-nested", "memory": "16M" }, ... ] }
 *
 * Environment-neutral (no node:fs): the caller says how an image or drive is found (a path
 * relative to the config file, a built-in image's name), which keys it cannot take and why,
 * and what it offers where the CLI requires a key.
 */
import { HvlabError } from './errors.js';
import { MAX_POOL_MIB, MIN_POOL_MIB } from './host.js';
import { DEFAULT_WEIGHT, MAX_SLICE, MAX_WEIGHT, MIN_SLICE } from './sched.js';
import { IO_PATHS, ioPathConfig, MAX_MEM_MIB, MIN_MEM_MIB, MODES, type IoPath, type Mode, type VmConfig } from './vm.js';

/** The VM table's size (assembly/hv/host.ts MAX_VMS). */
export const MAX_CONFIG_VMS = 256;
/**
 * Pages the merging scanner looks at per million instructions the machine runs with
 * `"ksm": true` (docs/multi-vm.md "The config file"; src/multi-fleet.ts KSM_PERIOD).
 */
export const DEFAULT_KSM_PAGES = 4096;
const MAX_KSM_PAGES = 1 << 20;
/** A VM name: what a person types and reads in the console banner and `hvlab top`. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
/** Modes a VM beside others can take: every one but native (src/host.ts createVm). */
export const SHARED_MODES = MODES.filter((m) => m !== 'native') as Exclude<Mode, 'native'>[];
/** I/O paths a VM beside others can take: all of them (split with its driver domain). */
export const SHARED_IO_PATHS = [...IO_PATHS] as IoPath[];

export interface VmSpec {
  name: string;
  /** the image as the config wrote it, and as the environment resolved it (ConfigEnv.resolve) */
  image: string;
  imagePath: string;
  mode: Exclude<Mode, 'native'>;
  memMiB: number;
  io: IoPath;
  weight: number;
  /** percent of the hart, 0 = no cap */
  cap: number;
  /** a blank disk of this many bytes */
  diskBytes?: number;
  /** a raw disk image file (resolved), written back when the run ends */
  drivePath?: string;
  append?: string;
  /** console input typed line by line whenever the VM waits for it */
  input?: string;
  /** io 'split': the VM whose blkback serves this VM's disk (docs/split.md) */
  driver?: string;
  /** the split console: the pv VM whose consback carries this VM's console (docs/split.md) */
  console?: string;
}

export interface MultiConfig {
  /** how messages name the config (ConfigEnv.name) */
  path: string;
  poolMiB: number;
  /** instructions per scheduler slice (src/sched.ts; undefined: the scheduler's default) */
  sliceInstructions?: number;
  /** same-page merging: pages the scanner looks at per million instructions run; 0 = off */
  ksmPages: number;
  vms: VmSpec[];
}

export const TOP_KEYS = ['pool', 'slice', 'ksm', 'vms'] as const;
export const VM_KEYS = ['name', 'image', 'mode', 'memory', 'io', 'weight', 'cap', 'disk', 'drive', 'append', 'input', 'driver', 'console'] as const;

/**
 * Where a text stops being JSON (RFC 8259), as "line L, column C": JSON.parse says where only
 * for some mistakes and in words that change between Node versions, so the place is found
 * here by a scan of the grammar. Returns the offset of the first character that cannot be.
 */
export function jsonErrorOffset(t: string): number {
  let i = 0;
  const ws = () => { while (i < t.length && ' \t\n\r'.includes(t[i])) i++; };
  const fail = (): never => { throw i; };
  const lit = (word: string) => { for (const ch of word) { if (t[i] !== ch) fail(); i++; } };
  const str = () => {
    i++; // the opening quote
    for (;;) {
      if (i >= t.length) fail();
      const ch = t.charCodeAt(i);
      if (ch === 0x22) { i++; return; }
      if (ch < 0x20) fail();
      if (ch === 0x5c) {
        i++;
        if (t[i] === 'u') { i++; for (let k = 0; k < 4; k++) { if (!/[0-9a-fA-F]/.test(t[i] ?? '')) fail(); i++; } }
        else if (t[i] !== undefined && '"\\/bfnrt'.includes(t[i])) i++;
        else fail();
      } else i++;
    }
  };
  const num = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(t.slice(i));
    if (!m) fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const ch = t[i];
    if (ch === '{') {
      i++; ws();
      if (t[i] === '}') { i++; return; }
      for (;;) {
        ws();
        if (t[i] !== '"') fail();
        str(); ws();
        if (t[i] !== ':') fail();
        i++; value(); ws();
        if (t[i] === '}') { i++; return; }
        if (t[i] !== ',') fail();
        i++;
      }
    }
    if (ch === '[') {
      i++; ws();
      if (t[i] === ']') { i++; return; }
      for (;;) {
        value(); ws();
        if (t[i] === ']') { i++; return; }
        if (t[i] !== ',') fail();
        i++;
      }
    }
    if (ch === '"') return str();
    if (ch === 't') return lit('true');
    if (ch === 'f') return lit('false');
    if (ch === 'n') return lit('null');
    return num();
  };
  try {
    value(); ws();
    return i < t.length ? i : -1;
  } catch (at) {
    return at as number;
  }
}

function jsonErrorPlace(t: string): string {
  const at = Math.max(0, jsonErrorOffset(t));
  if (at >= t.length) return ': the file ends before the JSON does';
  const before = t.slice(0, at).split('\n');
  const ch = t.charCodeAt(at) < 0x20 ? `\\x${t.charCodeAt(at).toString(16).padStart(2, '0')}` : t[at];
  return ` at line ${before.length}, column ${before[before.length - 1].length + 1}: unexpected '${ch}'`;
}

/** A size in MiB: a whole number (MiB) or a string with a K, M or G suffix ("16M", "1G"). */
function sizeMiB(where: string, key: string, value: unknown, min: number, max: number): number {
  let mib: number;
  if (typeof value === 'number') mib = value;
  else if (typeof value === 'string') {
    const m = /^(\d+(?:\.\d+)?)\s*([KMG])?(?:i?B)?$/i.exec(value.trim());
    if (!m) throw new HvlabError('BAD_CONFIG', `${where}: ${key} '${value}' is not a size (examples: 16M, 1G, 64)`);
    const unit = (m[2] ?? 'M').toUpperCase();
    mib = Number(m[1]) * (unit === 'G' ? 1024 : unit === 'K' ? 1 / 1024 : 1);
  } else {
    throw new HvlabError('BAD_CONFIG', `${where}: ${key} must be a size such as "16M", got ${JSON.stringify(value)}`);
  }
  if (!Number.isInteger(mib)) throw new HvlabError('BAD_CONFIG', `${where}: ${key} ${JSON.stringify(value)} is not a whole number of MiB`);
  if (mib < min || mib > max) throw new HvlabError('BAD_CONFIG', `${where}: ${key} ${mib} MiB is outside ${min}M..${max}M`);
  return mib;
}

/** A disk size in bytes: whole 512-byte sectors, at most 1 GiB, as `hvlab run --disk`. */
function diskBytes(where: string, value: unknown): number {
  const m = typeof value === 'string' ? /^(\d+)\s*([KMG])?(?:i?B)?$/i.exec(value.trim()) : null;
  const bytes = typeof value === 'number' ? value
    : m ? Number(m[1]) * ({ K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(m[2] ?? '').toUpperCase() as 'K'] ?? 1) : NaN;
  if (!Number.isInteger(bytes) || bytes <= 0 || bytes % 512 !== 0 || bytes > 1024 ** 3) {
    throw new HvlabError('BAD_CONFIG', `${where}: disk ${JSON.stringify(value)} must be a whole number of 512-byte sectors, at most 1G (example: "4M")`);
  }
  return bytes;
}

function wholeNumber(where: string, key: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new HvlabError('BAD_CONFIG', `${where}: ${key} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function text(where: string, key: string, value: unknown): string {
  if (typeof value !== 'string') throw new HvlabError('BAD_CONFIG', `${where}: ${key} must be a string, got ${JSON.stringify(value)}`);
  return value;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownKeys(where: string, obj: Record<string, unknown>, keys: readonly string[], unsupported: Record<string, string>): void {
  const known = keys.filter((k) => !(k in unsupported));
  const bad = Object.keys(obj).find((k) => !known.includes(k));
  if (bad === undefined) return;
  if (keys.includes(bad)) throw new HvlabError('BAD_CONFIG', `${where}: '${bad}' ${unsupported[bad]}`);
  throw new HvlabError('BAD_CONFIG', `${where}: unknown key '${bad}' (known keys: ${known.join(', ')})`);
}

/** Throw the one-line config error: `where` names the config (and the VM), as every check does. */
export function configError(where: string, message: string): never {
  throw new HvlabError('BAD_CONFIG', `${where}: ${message}`);
}

/** What differs between the environments that run a config; the checks are the same. */
export interface ConfigEnv {
  /** how messages name the config: its file's path (the CLI), `config` (the page) */
  name: string;
  /**
   * Find an image or drive the config names (as written) and return what the environment
   * loads it by; a name it cannot find is a configError(where, ...).
   */
  resolve(key: 'image' | 'drive', file: string, where: string): string;
  /** keys the environment cannot take, each with the rest of the one-line message saying why */
  unsupported?: Record<string, string>;
  /** values the environment offers where the CLI requires the key (the page: pool, memory, image, names) */
  defaults?: { poolMiB?: number; memMiB?: number; image?: string; name?: (index: number) => string };
  /** fewer VMs than the host's VM table holds, and why */
  maxVms?: { count: number; why: string };
}

/**
 * Check a config's text. Checks nothing outside the text but what `env.resolve` looks at
 * (the CLI's loadMultiConfig checks the files).
 */
export function parseMultiConfig(textIn: string, env: ConfigEnv): MultiConfig {
  const path = env.name;
  const unsupported = env.unsupported ?? {};
  const defaults = env.defaults ?? {};
  let doc: unknown;
  try {
    doc = JSON.parse(textIn);
  } catch {
    throw new HvlabError('BAD_CONFIG', `${path}: not valid JSON${jsonErrorPlace(textIn)}`);
  }
  if (!isRecord(doc)) throw new HvlabError('BAD_CONFIG', `${path}: the config must be a JSON object with "pool" and "vms"`);
  unknownKeys(path, doc, TOP_KEYS, unsupported);
  if (doc.pool === undefined && defaults.poolMiB === undefined) {
    throw new HvlabError('BAD_CONFIG', `${path}: no "pool" (the host memory every VM comes from, e.g. "256M")`);
  }
  const poolMiB = doc.pool === undefined ? defaults.poolMiB! : sizeMiB(path, 'pool', doc.pool, MIN_POOL_MIB, MAX_POOL_MIB);
  const sliceInstructions = doc.slice === undefined ? undefined : wholeNumber(path, 'slice', doc.slice, MIN_SLICE, MAX_SLICE);
  // ksm: true, false, or the pages to scan per million instructions (Linux's pages_to_scan).
  const ksmPages = doc.ksm === undefined || doc.ksm === false ? 0 : doc.ksm === true ? DEFAULT_KSM_PAGES
    : wholeNumber(path, 'ksm (true, false, or pages to scan per million instructions)', doc.ksm, 1, MAX_KSM_PAGES);
  if (!Array.isArray(doc.vms) || doc.vms.length === 0) {
    throw new HvlabError('BAD_CONFIG', `${path}: "vms" must be a non-empty list of VMs`);
  }
  const maxVms = env.maxVms ?? { count: MAX_CONFIG_VMS, why: 'fit in the host\'s VM table' };
  if (doc.vms.length > maxVms.count) {
    throw new HvlabError('BAD_CONFIG', `${path}: ${doc.vms.length} VMs, at most ${maxVms.count} ${maxVms.why}`);
  }
  const names = new Set<string>();
  const specs: VmSpec[] = [];
  const vms: VmSpec[] = doc.vms.map((raw: unknown, i: number) => {
    if (!isRecord(raw)) throw new HvlabError('BAD_CONFIG', `${path}: vms[${i}] must be an object`);
    if (raw.name === undefined && !defaults.name) throw new HvlabError('BAD_CONFIG', `${path}: vms[${i}] has no name`);
    const name = raw.name === undefined ? defaults.name!(i) : text(`${path}: vms[${i}]`, 'name', raw.name);
    if (!NAME_RE.test(name)) {
      throw new HvlabError('BAD_CONFIG', `${path}: vms[${i}]: name ${JSON.stringify(name)} must be 1 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit`);
    }
    const where = `${path}: VM '${name}'`;
    if (names.has(name)) throw new HvlabError('BAD_CONFIG', `${where}: the name is used twice (VM names must be unique)`);
    names.add(name);
    unknownKeys(where, raw, VM_KEYS, unsupported);
    const given: Record<string, unknown> = { ...raw, image: raw.image ?? defaults.image, memory: raw.memory ?? defaults.memMiB };
    for (const key of ['image', 'mode', 'memory'] as const) {
      if (given[key] === undefined) throw new HvlabError('BAD_CONFIG', `${where}: no ${key}`);
    }
    const image = text(where, 'image', given.image);
    const mode = text(where, 'mode', raw.mode);
    if (mode === 'native') {
      throw new HvlabError('BAD_CONFIG', `${where}: mode native runs the bare machine alone; beside other VMs choose ${SHARED_MODES.join(', ')}`);
    }
    if (!(SHARED_MODES as string[]).includes(mode)) {
      throw new HvlabError('BAD_CONFIG', `${where}: unknown mode '${mode}' (one of ${SHARED_MODES.join(', ')})`);
    }
    const io = raw.io === undefined ? 'emulated' : text(where, 'io', raw.io);
    if (!(SHARED_IO_PATHS as string[]).includes(io)) {
      throw new HvlabError('BAD_CONFIG', `${where}: unknown io '${io}' (one of ${SHARED_IO_PATHS.join(', ')})`);
    }
    if (mode === 'pv' && (io === 'host' || io === 'offload')) {
      throw new HvlabError('BAD_CONFIG', `${where}: a pv guest's virtio devices are served in the core: use io 'core', not '${io}'`);
    }
    if (raw.disk !== undefined && raw.drive !== undefined) {
      throw new HvlabError('BAD_CONFIG', `${where}: disk and drive both give the VM a disk: choose one`);
    }
    let driver: string | undefined;
    if (io === 'split' || raw.driver !== undefined) {
      // The split path (docs/split.md): blkfront here, blkback in a driver domain made before it.
      if (io !== 'split') throw new HvlabError('BAD_CONFIG', `${where}: driver names a driver domain for io 'split', but the VM's io is '${io}'`);
      if (raw.driver === undefined) throw new HvlabError('BAD_CONFIG', `${where}: io 'split' needs driver, the name of the VM whose blkback serves its disk`);
      driver = text(where, 'driver', raw.driver);
      const backend = specs.find((v) => v.name === driver);
      if (!backend) throw new HvlabError('BAD_CONFIG', `${where}: driver '${driver}' is not a VM listed before it`);
      if (backend.mode !== 'pv' || (backend.diskBytes === undefined && backend.drivePath === undefined)) {
        throw new HvlabError('BAD_CONFIG', `${where}: driver '${driver}' must be a pv VM with a disk or drive`);
      }
      if (raw.disk !== undefined || raw.drive !== undefined) {
        throw new HvlabError('BAD_CONFIG', `${where}: io 'split' reaches the driver domain's disk: give the disk to '${driver}', not to this VM`);
      }
    }
    let consoleDomain: string | undefined;
    if (raw.console !== undefined) {
      // The split console (docs/split.md "The console pair"): consfront here, consback in any pv
      // VM made before it; one driver domain carries a VM's disk and console, or none.
      consoleDomain = text(where, 'console', raw.console);
      const backend = specs.find((v) => v.name === consoleDomain);
      if (!backend) throw new HvlabError('BAD_CONFIG', `${where}: console '${consoleDomain}' is not a VM listed before it`);
      if (backend.mode !== 'pv') throw new HvlabError('BAD_CONFIG', `${where}: console '${consoleDomain}' must be a pv VM (its consback carries the console)`);
      if (driver !== undefined && driver !== consoleDomain) {
        throw new HvlabError('BAD_CONFIG', `${where}: the disk and the console come from one driver domain: driver is '${driver}', console is '${consoleDomain}'`);
      }
    }
    const spec: VmSpec = {
      name,
      image,
      imagePath: env.resolve('image', image, where),
      mode: mode as VmSpec['mode'],
      memMiB: sizeMiB(where, 'memory', given.memory, MIN_MEM_MIB, MAX_MEM_MIB),
      io: io as VmSpec['io'],
      weight: raw.weight === undefined ? DEFAULT_WEIGHT : wholeNumber(where, 'weight', raw.weight, 1, MAX_WEIGHT),
      cap: raw.cap === undefined ? 0 : wholeNumber(where, 'cap', raw.cap, 0, 100),
      diskBytes: raw.disk === undefined ? undefined : diskBytes(where, raw.disk),
      drivePath: raw.drive === undefined ? undefined : env.resolve('drive', text(where, 'drive', raw.drive), where),
      append: raw.append === undefined ? undefined : text(where, 'append', raw.append),
      input: raw.input === undefined ? undefined : text(where, 'input', raw.input),
      driver,
      ...(consoleDomain === undefined ? {} : { console: consoleDomain }),
    };
    specs.push(spec);
    return spec;
  });
  // The pool must hold every VM's guest RAM (and, checked by the Host as each VM is made and
  // before any runs, its tables and saved state too).
  const guestMiB = vms.reduce((s, v) => s + v.memMiB, 0);
  if (guestMiB > poolMiB) {
    throw new HvlabError('BAD_CONFIG', `${path}: the VMs' memory adds up to ${guestMiB} MiB, more than the ${poolMiB} MiB pool`);
  }
  return { path, poolMiB, sliceInstructions, ksmPages, vms };
}

/**
 * The VmConfig part a VM spec's I/O path gives (src/vm.ts ioPathConfig), with `split` made
 * from its driver domain (src/host.ts createVm, docs/split.md), the split console's driver
 * domain, and `disk` the VM's disk.
 */
export function specIoConfig(spec: VmSpec, disk?: Uint8Array | number): Pick<VmConfig, 'virtio' | 'io' | 'disk' | 'emudisk' | 'driverDomain' | 'consoleDomain'> {
  const consoleDomain = spec.console === undefined ? {} : { consoleDomain: spec.console };
  if (spec.io === 'split') return { driverDomain: spec.driver, ...consoleDomain };
  return { ...ioPathConfig(spec.io, disk), ...consoleDomain };
}
