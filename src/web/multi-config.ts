/**
 * The page's many-VM configuration (docs/web.md "Many VMs"): a small JSON document naming each
 * VM's image, mode, memory, I/O path and scheduler weight, parsed and checked as a whole before
 * anything starts, so a bad config is one line for the user and no VM. DOM-free: the page and
 * the worker (src/web/multi-runner.ts) both use it, and the Node tests check every refusal.
 *
 *   { "poolMiB": 256, "ksm": true,
 *     "vms": [ { "name": "a", "image": "hvos", "mode": "hvm-nested", "memMiB": 16,
 *                "io": "emulated", "weight": 512, "cap": 0 }, ... ] }
 *
 * Images are the page's built-in ones by name (a page cannot name a file on disk).
 */
import { HvlabError } from '../errors.js';
import { MAX_MEM_MIB, MIN_MEM_MIB, MODES, type IoPath, type Mode } from '../vm.js';
import { MAX_POOL_MIB, MIN_POOL_MIB } from '../host.js';
import { DEFAULT_WEIGHT, MAX_WEIGHT } from '../sched.js';

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
  /** Same-page merging across the VMs (Host.ksm, docs/multi-vm.md "KSM"); default off. */
  ksm?: boolean;
  vms: MultiVmSpec[];
}

export const MULTI_DEFAULT_POOL_MIB = 256;
export const MULTI_DEFAULT_MEM_MIB = 16;
/** Each VM gets a terminal on the page; more than this many would not fit a tab row. */
export const MAX_PAGE_VMS = 16;
const VM_MODES = MODES.filter((m) => m !== 'native');
const VM_IO = ['emulated', 'core', 'host'] as const;
const TOP_KEYS = ['poolMiB', 'ksm', 'vms'];
const VM_KEYS = ['name', 'image', 'mode', 'memMiB', 'io', 'weight', 'cap'];
const NAME = /^[A-Za-z0-9_.-]{1,24}$/;

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
  if (extra !== undefined) bad(`${where}unknown key '${extra}' (known: ${known.join(', ')})`);
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
  const poolMiB = doc.poolMiB === undefined ? MULTI_DEFAULT_POOL_MIB : wholeNumber(doc.poolMiB, 'poolMiB', MIN_POOL_MIB, MAX_POOL_MIB);
  if (doc.ksm !== undefined && typeof doc.ksm !== 'boolean') bad(`ksm must be true or false, got ${JSON.stringify(doc.ksm)}`);
  if (!Array.isArray(doc.vms) || doc.vms.length === 0) bad('"vms" must be a list of at least one VM');
  if (doc.vms.length > MAX_PAGE_VMS) bad(`the page runs at most ${MAX_PAGE_VMS} VMs, the config has ${doc.vms.length}`);
  const vms: MultiVmSpec[] = [];
  const names = new Set<string>();
  doc.vms.forEach((raw: unknown, i: number) => {
    if (!isObject(raw)) bad(`VM ${i + 1} must be an object`);
    const name = raw.name === undefined ? `vm${i + 1}` : raw.name;
    if (typeof name !== 'string' || !NAME.test(name)) {
      bad(`VM ${i + 1}: name must be 1 to 24 letters, digits, '.', '_' or '-', got ${JSON.stringify(name)}`);
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
    const memMiB = raw.memMiB === undefined ? MULTI_DEFAULT_MEM_MIB : wholeNumber(raw.memMiB, `${who}memMiB`, MIN_MEM_MIB, MAX_MEM_MIB);
    const io = raw.io ?? 'emulated';
    if (typeof io !== 'string' || !(VM_IO as readonly string[]).includes(io)) {
      bad(`${who}I/O path must be one of ${VM_IO.join(', ')}, got ${JSON.stringify(io)}`
        + (io === 'offload' ? ' (the offload worker serves one loaded VM only)' : ''));
    }
    const weight = raw.weight === undefined ? DEFAULT_WEIGHT : wholeNumber(raw.weight, `${who}weight`, 1, MAX_WEIGHT);
    const cap = raw.cap === undefined ? 0 : wholeNumber(raw.cap, `${who}cap`, 0, 100);
    vms.push({ name, image, mode: mode as MultiVmSpec['mode'], memMiB, io: io as MultiVmSpec['io'], weight, cap });
  });
  // Guest RAM alone must fit; the Host refuses what its tables would not leave room for.
  const guest = vms.reduce((a, v) => a + v.memMiB, 0);
  if (guest > poolMiB) bad(`the VMs' memory (${guest} MiB) is more than the host pool (${poolMiB} MiB)`);
  return { poolMiB, ...(doc.ksm === undefined ? {} : { ksm: doc.ksm }), vms };
}
