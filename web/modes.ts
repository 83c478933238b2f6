/**
 * The execution modes the page offers (DESIGN.md "The execution modes"). Adding a mode once
 * the core runs it is one line: set `available`. `platform` is the hypervisor line hvos prints
 * at boot in that mode (docs/hvos.md "Boot"), which the browser tests look for.
 */
export interface ModeDef {
  id: string;
  label: string;
  available: boolean;
  platform: RegExp;
  explain: string;
}

export const MODES: ModeDef[] = [
  { id: 'native', label: 'native', available: true, platform: /No hypervisor detected/, explain: 'hvos on the bare machine, no hypervisor' },
  { id: 'trap-emulate', label: 'trap-emulate', available: true, platform: /Hypervisor detected: hvlab \(trap-emulate\)/, explain: 'guest kernel deprivileged to U-mode; privileged instructions trap and are emulated' },
  { id: 'hvm-shadow', label: 'hvm-shadow', available: true, platform: /Hypervisor detected: hvlab \(hvm-shadow\)/, explain: 'H extension (guest kernel in VS-mode); the hypervisor keeps shadow page tables, so satp writes, sfences and page-table edits exit' },
  { id: 'hvm-nested', label: 'hvm-nested', available: true, platform: /Hypervisor detected: hvlab \(hvm-nested\)/, explain: 'H extension with two-stage (nested) translation in hardware: page tables never exit, TLB misses walk both stages' },
  { id: 'pv', label: 'pv', available: true, platform: /Hypervisor detected: hvlab \(pv\)/, explain: 'paravirtualized kernel in U-mode making hypercalls (Xen PV): its page tables hold machine frames, every update validated in batches; user traps bounced to its handler' },
];

export const DEFAULT_MODE = 'native';

/**
 * The side-by-side view's default race: the same system-call loop deprivileged (every CSR
 * access and sret of the guest kernel exits) and under the H extension (no exits at all).
 */
export const SIDE_DEFAULTS = { a: 'trap-emulate', b: 'hvm-nested', workload: 'syscall 20000' };

export function modeById(id: string): ModeDef | undefined {
  return MODES.find((m) => m.id === id);
}
