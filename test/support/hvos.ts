// Shared by the tests that run hvos: where its image and golden session are, and how to make
// a transcript comparable across platforms, modes and runs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const HVOS_ELF = join('guests', 'hvos', 'prebuilt', 'hvos.elf');
export const GOLDEN_DIR = join('test', 'golden', 'hvos');
export const SESSION_IN = readFileSync(join(GOLDEN_DIR, 'session.in'), 'latin1');
export const SESSION_OUT = join(GOLDEN_DIR, 'session.out');
export const BANNER = 'hvos v';
export const PROMPT = 'hvos$ ';

/**
 * Drop what the firmware printed before the banner, turn "\r\n" into "\n", and replace the
 * lines that legitimately differ: the SBI implementation, the hypervisor probe, timings.
 */
export function normalise(raw: string): string {
  const start = raw.indexOf(BANNER);
  const text = (start < 0 ? raw : raw.slice(start)).replace(/\r\n/g, '\n');
  return text
    .replace(/^SBI: .*$/gm, 'SBI: <platform>')
    .replace(/^(Hypervisor detected|No hypervisor detected).*$/gm, '<hypervisor>')
    .replace(/ time=.*$/gm, ' time=<t>');
}
