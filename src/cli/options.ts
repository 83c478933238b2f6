/** Parsing and checking the CLI's option values: every bad value gets a one-line error. */
import { stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { HvlabError } from '../errors.js';
import { MAX_MEM_MIB, MIN_MEM_MIB } from '../vm.js';

/**
 * A memory size as QEMU's -m takes it: a number of MiB, or a number with a K, M or G suffix
 * (optionally followed by "iB" or "B"). Returns whole MiB.
 */
export function parseMemSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG])?(?:i?B)?$/i.exec(text.trim());
  if (!m) throw new HvlabError('BAD_OPTION', `--mem: '${text}' is not a size (examples: 128M, 1G, 256)`);
  const value = Number(m[1]);
  const unit = (m[2] ?? 'M').toUpperCase();
  const mib = unit === 'G' ? value * 1024 : unit === 'K' ? value / 1024 : value;
  if (!Number.isInteger(mib)) throw new HvlabError('BAD_OPTION', `--mem: '${text}' is not a whole number of MiB`);
  if (mib < MIN_MEM_MIB || mib > MAX_MEM_MIB) {
    throw new HvlabError('BAD_OPTION', `--mem: ${mib} MiB is outside ${MIN_MEM_MIB}M..${MAX_MEM_MIB}M`);
  }
  return mib;
}

/** A positive whole number, allowing 1e9-style and 1_000_000-style spellings. */
export function parseCount(option: string, text: string): number {
  const v = Number(text.replace(/_/g, ''));
  if (!Number.isFinite(v) || !Number.isInteger(v) || v <= 0 || v > Number.MAX_SAFE_INTEGER) {
    throw new HvlabError('BAD_OPTION', `${option}: '${text}' is not a positive whole number`);
  }
  return v;
}

export function parseChoice<T extends string>(option: string, text: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) {
    throw new HvlabError('BAD_OPTION', `${option}: '${text}' is not one of ${choices.join(', ')}`);
  }
  return text as T;
}

/** A physical address: hex with 0x, or decimal. */
export function parseAddress(option: string, text: string): bigint {
  if (!/^(0x[0-9a-f_]+|\d+)$/i.test(text)) throw new HvlabError('BAD_OPTION', `${option}: '${text}' is not an address (example: 0x80000000)`);
  return BigInt(text.replace(/_/g, ''));
}

/** A size in bytes: a number with an optional K, M or G suffix (binary units), a multiple of `unit`. */
export function parseByteSize(option: string, text: string, unit: number): number {
  const m = /^(\d+)\s*([KMG])?(?:i?B)?$/i.exec(text.trim());
  if (!m) throw new HvlabError('BAD_OPTION', `${option}: '${text}' is not a size (examples: 4M, 512K, 1G)`);
  const mult = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(m[2] ?? '').toUpperCase() as 'K' | 'M' | 'G'] ?? 1;
  const bytes = Number(m[1]) * mult;
  if (bytes <= 0 || bytes % unit !== 0 || bytes > 1024 ** 3) {
    throw new HvlabError('BAD_OPTION', `${option}: ${text} must be a whole number of ${unit}-byte units, at most 1G`);
  }
  return bytes;
}

/**
 * node:util's parseArgs refuses an option value that starts with '-' ("argument is ambiguous"),
 * which turns `--mem -1` into a message about parsing. A value that looks like a negative
 * number is joined to its option (`--mem=-1`) so the option's own check names what is wrong.
 */
export function joinNegativeValues(argv: string[], valued: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = argv[i + 1];
    if (valued.has(a) && next !== undefined && /^-[\d.]/.test(next)) { out.push(`${a}=${next}`); i++; }
    else out.push(a);
  }
  return out;
}

/**
 * An output file the user named (--stats, --json) must be writable before a run spends minutes:
 * its directory must exist. The write itself is checked again by `writeUserFile`.
 */
export async function checkOutputPath(option: string, path: string): Promise<void> {
  const dir = dirname(resolve(path));
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new HvlabError('BAD_OUTPUT', `${option} ${path}: ${dir} is not a directory`);
  } catch (e) {
    if (e instanceof HvlabError) throw e;
    throw new HvlabError('BAD_OUTPUT', `${option} ${path}: directory ${dir} does not exist`);
  }
  try {
    if ((await stat(path)).isDirectory()) throw new HvlabError('BAD_OUTPUT', `${option} ${path}: is a directory`);
  } catch (e) {
    if (e instanceof HvlabError) throw e; // absent is fine: it is created
  }
}

/** Write a file the user named; a failure is one line naming the option, the file and why. */
export async function writeUserFile(option: string, path: string, data: string | Uint8Array): Promise<void> {
  try {
    await writeFile(path, data);
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    const why = errno === 'ENOENT' ? 'no such directory' : errno === 'EISDIR' ? 'is a directory' : errno === 'EACCES' ? 'permission denied'
      : errno === 'ENOSPC' ? 'no space left on the device' : (e as Error).message.split('\n')[0];
    throw new HvlabError('BAD_OUTPUT', `${option} ${path}: cannot write: ${why}`);
  }
}
