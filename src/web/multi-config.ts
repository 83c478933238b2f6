/**
 * The page's many-VM configuration (docs/web.md "Many VMs"): the JSON document of
 * `hvlab run --config` (src/cli/multi-config.ts, docs/multi-vm.md), with images named by the
 * page's built-in names instead of files. Parsed and checked as a whole before anything starts,
 * so a bad config is one line for the user and no VM. DOM-free: the worker
 * (src/web/multi-runner.ts) parses with it, and the Node tests check every refusal.
 *
 *   { "pool": "256M", "ksm": true,
 *     "vms": [ { "name": "a", "image": "hvos", "mode": "hvm-nested", "memory": "16M",
 *                "io": "emulated", "weight": 512, "cap": 0 }, ... ] }
 *
 * Keys the CLI has for files (disk, drive) or scripted input (input, append) are refused with
 * the reason: a page cannot name a file, and its consoles are typed into.
 */
import { HvlabError } from '../errors.js';
import { MAX_MEM_MIB, MIN_MEM_MIB, MODES, type IoPath, type Mode } from '../vm.js';
import { MAX_POOL_MIB, MIN_POOL_MIB } from '../host.js';
import { DEFAULT_WEIGHT, MAX_WEIGHT } from '../sched.js';
import { DEFAULT_KSM_PAGES } from './multi-presets.js';

export interface MultiVmSpec {
  name: string;
  /** A built-in image's name (the page offers `hvos`). */
  image: string;
  mode: Exclude<Mode, 'native'>;
  memMiB: number;
  /** emulated, core or host: the offload backend serves one loaded VM only (docs/multi-vm.md "Limits"). */
  io: Exclude<IoPath, 'offload'>;
  /** The credit scheduler's weight, 1..65535 (src/sched.ts SchedParams). */
  weight: number;
  /** Percent of the hart, 0 = no cap. */
  cap: number;
}

export interface MultiConfig {
  poolMiB: number;
  /**
   * Same-page merging across the VMs (Host.ksm, docs/multi-vm.md "KSM"): the guest frames the
   * scanner looks at per step (the config's `"ksm": true` is DEFAULT_KSM_PAGES); 0 = off.
   */
  ksmPages: number;
  vms: MultiVmSpec[];
}
const MAX_KSM_PAGES = 1 << 20;

export const MULTI_DEFAULT_POOL_MIB = 256;
export const MULTI_DEFAULT_MEM_MIB = 16;
/** Each VM gets a terminal on the page; more than this many would not fit a tab row. */
export const MAX_PAGE_VMS = 16;
const VM_MODES = MODES.filter((m) => m !== 'native');
const VM_IO = ['emulated', 'core', 'host'] as const;
const TOP_KEYS = ['pool', 'ksm', 'vms'];
const VM_KEYS = ['name', 'image', 'mode', 'memory', 'io', 'weight', 'cap'];
/** The CLI's keys the page cannot take, and why. */
const CLI_ONLY: Record<string, string> = {
  disk: 'the page\'s VMs have no disk', drive: 'a page cannot name a file', append: 'hvos takes no command line',
  input: 'type into the VM\'s console tab instead', slice: 'the page uses the scheduler\'s default slice',
};
/** As the CLI's names (src/cli/multi-config.ts), no longer, so a name fits a tab. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,23}$/;

function bad(message: string): never { throw new HvlabError('BAD_CONFIG', `config: ${message}`); }

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function wholeNumber(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    bad(`${what} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function unknownKeys(o: Record<string, unknown>, known: string[], where: string): void {
  const extra = Object.keys(o).find((k) => !known.includes(k));
  if (extra === undefined) return;
  if (CLI_ONLY[extra]) bad(`${where}'${extra}' works in hvlab run --config, not in the page: ${CLI_ONLY[extra]}`);
  bad(`${where}unknown key '${extra}' (known: ${known.join(', ')})`);
}

/** A size in MiB, as the CLI's config takes it: a whole number (MiB) or "16M", "1G", "512K"... */
function sizeMiB(v: unknown, what: string, min: number, max: number): number {
  let mib = NaN;
  if (typeof v === 'number') mib = v;
  else if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)\s*([KMG])?(?:i?B)?$/i.exec(v.trim());
    if (!m) bad(`${what} ${JSON.stringify(v)} is not a size (examples: 16M, 1G, 64)`);
    const unit = (m[2] ?? 'M').toUpperCase();
    mib = Number(m[1]) * (unit === 'G' ? 1024 : unit === 'K' ? 1 / 1024 : 1);
  } else {
    bad(`${what} must be a size such as "16M", got ${JSON.stringify(v)}`);
  }
  if (!Number.isInteger(mib) || mib < min || mib > max) bad(`${what} must be a whole number of MiB from ${min}M to ${max}M, got ${JSON.stringify(v)}`);
  return mib;
}

/**
 * Parse and check a config. `images` are the image names the caller can supply. Throws an
 * HvlabError (code BAD_CONFIG) whose message is one line starting `config: `.
 */
export function parseMultiConfig(text: string, images: readonly string[]): MultiConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    bad(`not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isObject(doc)) bad('the top level must be an object with a "vms" list');
  unknownKeys(doc, TOP_KEYS, '');
  const poolMiB = doc.pool === undefined ? MULTI_DEFAULT_POOL_MIB : sizeMiB(doc.pool, 'pool', MIN_POOL_MIB, MAX_POOL_MIB);
  const ksmPages = doc.ksm === undefined || doc.ksm === false ? 0 : doc.ksm === true ? DEFAULT_KSM_PAGES
    : wholeNumber(doc.ksm, 'ksm (true, false, or the frames the scanner looks at per step)', 1, MAX_KSM_PAGES);
  if (!Array.isArray(doc.vms) || doc.vms.length === 0) bad('"vms" must be a list of at least one VM');
  if (doc.vms.length > MAX_PAGE_VMS) bad(`the page runs at most ${MAX_PAGE_VMS} VMs, the config has ${doc.vms.length}`);
  const vms: MultiVmSpec[] = [];
  const names = new Set<string>();
  doc.vms.forEach((raw: unknown, i: number) => {
    if (!isObject(raw)) bad(`VM ${i + 1} must be an object`);
    const name = raw.name === undefined ? `vm${i + 1}` : raw.name;
    if (typeof name !== 'string' || !NAME.test(name)) {
      bad(`VM ${i + 1}: name must be 1 to 24 letters, digits, '.', '_' or '-', starting with a letter or digit, got ${JSON.stringify(name)}`);
    }
    const who = `VM '${name}': `;
    unknownKeys(raw, VM_KEYS, who);
    if (names.has(name)) bad(`two VMs are named '${name}'`);
    names.add(name);
    const image = raw.image ?? images[0];
    if (typeof image !== 'string' || !images.includes(image)) {
      bad(`${who}unknown image ${JSON.stringify(image)} (the page offers ${images.join(', ')})`);
    }
    const mode = raw.mode;
    if (mode === 'native') bad(`${who}native runs the bare machine alone; beside other VMs choose ${VM_MODES.join(', ')}`);
    if (typeof mode !== 'string' || !(VM_MODES as string[]).includes(mode)) {
      bad(`${who}unknown mode ${JSON.stringify(mode)} (choose ${VM_MODES.join(', ')})`);
    }
    const memMiB = raw.memory === undefined ? MULTI_DEFAULT_MEM_MIB : sizeMiB(raw.memory, `${who}memory`, MIN_MEM_MIB, MAX_MEM_MIB);
    const io = raw.io ?? 'emulated';
    if (typeof io !== 'string' || !(VM_IO as readonly string[]).includes(io)) {
      bad(`${who}I/O path must be one of ${VM_IO.join(', ')}, got ${JSON.stringify(io)}`
        + (io === 'offload' ? ' (the offload worker serves one loaded VM only)' : ''));
    }
    if (mode === 'pv' && io === 'host') bad(`${who}a pv guest's virtio devices are served in the core: use io 'core', not 'host'`);
    const weight = raw.weight === undefined ? DEFAULT_WEIGHT : wholeNumber(raw.weight, `${who}weight`, 1, MAX_WEIGHT);
    const cap = raw.cap === undefined ? 0 : wholeNumber(raw.cap, `${who}cap`, 0, 100);
    vms.push({ name, image, mode: mode as MultiVmSpec['mode'], memMiB, io: io as MultiVmSpec['io'], weight, cap });
  });
  // Guest RAM alone must fit; the Host refuses what its tables would not leave room for.
  const guest = vms.reduce((a, v) => a + v.memMiB, 0);
  if (guest > poolMiB) bad(`the VMs' memory (${guest} MiB) is more than the host pool (${poolMiB} MiB)`);
  return { poolMiB, ksmPages, vms };
}
