/**
 * The many-VM config file of `hvlab run --config` and `hvlab top` (docs/multi-vm.md "The
 * config file"): a JSON document naming the host pool and each VM's image, mode, memory, I/O
 * path and scheduler weight. Every mistake is one HvlabError line naming the file, the VM and
 * what is wrong, raised before anything is created: a config either starts whole or not at all.
 *
 *   { "pool": "128M",
 *     "vms": [ { "name": "a", "image": "hvos.elf", "mode": "hvm-nested", "memory": "16M" }, ... ] }
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { HvlabError } from '../errors.js';
import { MAX_POOL_MIB, MIN_POOL_MIB } from '../host.js';
import { DEFAULT_WEIGHT, MAX_SLICE, MAX_WEIGHT, MIN_SLICE } from '../sched.js';
import { MAX_MEM_MIB, SOLO_IO_PATHS, MIN_MEM_MIB, MODES, type IoPath, type Mode } from '../vm.js';

/** The VM table's size (assembly/hv/host.ts MAX_VMS). */
export const MAX_CONFIG_VMS = 256;
/** Pages the merging scanner looks at per million instructions with `"ksm": true`. */
export const DEFAULT_KSM_PAGES = 4096;
const MAX_KSM_PAGES = 1 << 20;
/** A VM name: what a person types and reads in the console banner and `hvlab top`. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
/** Modes a VM beside others can take: every one but native (src/host.ts createVm). */
export const SHARED_MODES = MODES.filter((m) => m !== 'native') as Exclude<Mode, 'native'>[];
/** I/O paths a VM in a config file can take: the single-VM ones, offload included (an offload
 * VM's worker serves its own I/O block, docs/multi-vm.md "Offload beside other VMs"); split
 * needs a driver domain, which a config file does not name. */
export const SHARED_IO_PATHS = [...SOLO_IO_PATHS] as IoPath[];

export interface VmSpec {
  name: string;
  /** the image as the config wrote it, and resolved against the config file's folder */
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
}

export interface MultiConfig {
  path: string;
  poolMiB: number;
  /** instructions per scheduler slice (src/sched.ts; undefined: the scheduler's default) */
  sliceInstructions?: number;
  /** same-page merging: pages the scanner looks at per million instructions run; 0 = off */
  ksmPages: number;
  vms: VmSpec[];
}

const TOP_KEYS = ['pool', 'slice', 'ksm', 'vms'] as const;
const VM_KEYS = ['name', 'image', 'mode', 'memory', 'io', 'weight', 'cap', 'disk', 'drive', 'append', 'input'] as const;

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

function unknownKeys(where: string, obj: Record<string, unknown>, known: readonly string[]): void {
  const bad = Object.keys(obj).find((k) => !known.includes(k));
  if (bad !== undefined) throw new HvlabError('BAD_CONFIG', `${where}: unknown key '${bad}' (known keys: ${known.join(', ')})`);
}

/**
 * Check a config's text. `path` names the file in messages and is where image paths are
 * relative to. Checks nothing on disk (loadMultiConfig does).
 */
export function parseMultiConfig(textIn: string, path: string): MultiConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(textIn);
  } catch {
    throw new HvlabError('BAD_CONFIG', `${path}: not valid JSON${jsonErrorPlace(textIn)}`);
  }
  if (!isRecord(doc)) throw new HvlabError('BAD_CONFIG', `${path}: the config must be a JSON object with "pool" and "vms"`);
  unknownKeys(path, doc, TOP_KEYS);
  if (doc.pool === undefined) throw new HvlabError('BAD_CONFIG', `${path}: no "pool" (the host memory every VM comes from, e.g. "256M")`);
  const poolMiB = sizeMiB(path, 'pool', doc.pool, MIN_POOL_MIB, MAX_POOL_MIB);
  const sliceInstructions = doc.slice === undefined ? undefined : wholeNumber(path, 'slice', doc.slice, MIN_SLICE, MAX_SLICE);
  // ksm: true, false, or the pages to scan per million instructions (Linux's pages_to_scan).
  const ksmPages = doc.ksm === undefined || doc.ksm === false ? 0 : doc.ksm === true ? DEFAULT_KSM_PAGES
    : wholeNumber(path, 'ksm (true, false, or pages to scan per million instructions)', doc.ksm, 1, MAX_KSM_PAGES);
  if (!Array.isArray(doc.vms) || doc.vms.length === 0) {
    throw new HvlabError('BAD_CONFIG', `${path}: "vms" must be a non-empty list of VMs`);
  }
  if (doc.vms.length > MAX_CONFIG_VMS) {
    throw new HvlabError('BAD_CONFIG', `${path}: ${doc.vms.length} VMs, at most ${MAX_CONFIG_VMS} fit in the host's VM table`);
  }
  // Files are relative to the config's folder; joined (not resolved) so messages show the
  // path as the user would type it from here.
  const base = dirname(path);
  const near = (file: string) => (isAbsolute(file) ? file : join(base, file));
  const names = new Set<string>();
  const vms: VmSpec[] = doc.vms.map((raw: unknown, i: number) => {
    if (!isRecord(raw)) throw new HvlabError('BAD_CONFIG', `${path}: vms[${i}] must be an object`);
    if (raw.name === undefined) throw new HvlabError('BAD_CONFIG', `${path}: vms[${i}] has no name`);
    const name = text(`${path}: vms[${i}]`, 'name', raw.name);
    if (!NAME_RE.test(name)) {
      throw new HvlabError('BAD_CONFIG', `${path}: vms[${i}]: name ${JSON.stringify(name)} must be 1 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit`);
    }
    const where = `${path}: VM '${name}'`;
    if (names.has(name)) throw new HvlabError('BAD_CONFIG', `${where}: the name is used twice (VM names must be unique)`);
    names.add(name);
    unknownKeys(where, raw, VM_KEYS);
    for (const key of ['image', 'mode', 'memory'] as const) {
      if (raw[key] === undefined) throw new HvlabError('BAD_CONFIG', `${where}: no ${key}`);
    }
    const image = text(where, 'image', raw.image);
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
    return {
      name,
      image,
      imagePath: near(image),
      mode: mode as VmSpec['mode'],
      memMiB: sizeMiB(where, 'memory', raw.memory, MIN_MEM_MIB, MAX_MEM_MIB),
      io: io as VmSpec['io'],
      weight: raw.weight === undefined ? DEFAULT_WEIGHT : wholeNumber(where, 'weight', raw.weight, 1, MAX_WEIGHT),
      cap: raw.cap === undefined ? 0 : wholeNumber(where, 'cap', raw.cap, 0, 100),
      diskBytes: raw.disk === undefined ? undefined : diskBytes(where, raw.disk),
      drivePath: raw.drive === undefined ? undefined : near(text(where, 'drive', raw.drive)),
      append: raw.append === undefined ? undefined : text(where, 'append', raw.append),
      input: raw.input === undefined ? undefined : text(where, 'input', raw.input),
    };
  });
  // The pool must hold every VM's guest RAM (and, checked by the Host as each VM is made and
  // before any runs, its tables and saved state too).
  const guestMiB = vms.reduce((s, v) => s + v.memMiB, 0);
  if (guestMiB > poolMiB) {
    throw new HvlabError('BAD_CONFIG', `${path}: the VMs' memory adds up to ${guestMiB} MiB, more than the ${poolMiB} MiB pool`);
  }
  return { path, poolMiB, sliceInstructions, ksmPages, vms };
}

/** Read and check a config file and that every image and drive it names can be read. */
export async function loadMultiConfig(path: string): Promise<MultiConfig> {
  let textIn: string;
  try {
    textIn = await readFile(path, 'utf8');
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    const why = errno === 'ENOENT' ? 'no such file' : errno === 'EISDIR' ? 'is a directory' : errno === 'EACCES' ? 'permission denied' : (e as Error).message.split('\n')[0];
    throw new HvlabError('BAD_CONFIG', `--config ${path}: ${why}`);
  }
  const config = parseMultiConfig(textIn, path);
  for (const vm of config.vms) {
    for (const [key, file] of [['image', vm.imagePath], ['drive', vm.drivePath]] as const) {
      if (file === undefined) continue;
      let isFile: boolean;
      try { isFile = (await stat(file)).isFile(); } catch { isFile = false; }
      if (!isFile) {
        throw new HvlabError('BAD_CONFIG', `${path}: VM '${vm.name}': ${key} ${file}: ${await exists(file) ? 'is not a file' : 'no such file'}`);
      }
    }
  }
  return config;
}

async function exists(file: string): Promise<boolean> {
  try { await stat(file); return true; } catch { return false; }
}
