/** Parsing and checking the CLI's option values: every bad value gets a one-line error. */
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
