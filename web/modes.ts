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
  { id: 'trap-emulate', label: 'trap-emulate', available: false, platform: /Hypervisor detected: hvlab \(trap-emulate\)/, explain: 'guest kernel deprivileged to U-mode; privileged instructions trap and are emulated' },
  { id: 'hvm-shadow', label: 'hvm-shadow', available: false, platform: /Hypervisor detected: hvlab \(hvm-shadow\)/, explain: 'H extension, shadow page tables' },
  { id: 'hvm-nested', label: 'hvm-nested', available: false, platform: /Hypervisor detected: hvlab \(hvm-nested\)/, explain: 'H extension, two-stage (nested) page tables' },
  { id: 'pv', label: 'pv', available: false, platform: /Hypervisor detected: hvlab \(pv\)/, explain: 'paravirtualized kernel making hypercalls' },
];

export const DEFAULT_MODE = 'native';

export function modeById(id: string): ModeDef | undefined {
  return MODES.find((m) => m.id === id);
}
