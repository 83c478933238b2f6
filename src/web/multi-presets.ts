/**
 * The many-VM view's presets (web/multi.ts), as configs the page shows in its editor. Apart from
 * src/web/multi-config.ts (which the worker parses with) so the page's bundle does not take the
 * VM code with it: only types come from there.
 */
import type { MultiConfig, VmSpec } from '../multi-config.js';

/**
 * Pages the merging scanner looks at per million instructions with `"ksm": true`: the value of
 * DEFAULT_KSM_PAGES in src/multi-config.ts, not imported so the page's bundle stays free of the
 * VM code (the presets test parses every preset back and checks they agree).
 */
export const DEFAULT_KSM_PAGES = 4096;

/** A preset: the parts of a parsed config (src/multi-config.ts MultiConfig) the page's keys give. */
export interface PresetConfig extends Pick<MultiConfig, 'poolMiB' | 'ksmPages'> {
  vms: Pick<VmSpec, 'name' | 'image' | 'mode' | 'memMiB' | 'io' | 'weight' | 'cap'>[];
}

/** The page's presets: a config as text, so the user sees it and can edit it. */
export const PRESETS: { id: string; label: string; config: PresetConfig }[] = [
  {
    id: 'four-modes', label: '4 hvos VMs, one per mode',
    config: { poolMiB: 128, ksmPages: 0, vms: [
      { name: 'te', image: 'hvos', mode: 'trap-emulate', memMiB: 16, io: 'emulated', weight: 256, cap: 0 },
      { name: 'shadow', image: 'hvos', mode: 'hvm-shadow', memMiB: 16, io: 'emulated', weight: 256, cap: 0 },
      { name: 'nested', image: 'hvos', mode: 'hvm-nested', memMiB: 16, io: 'emulated', weight: 256, cap: 0 },
      { name: 'pv', image: 'hvos', mode: 'pv', memMiB: 16, io: 'emulated', weight: 256, cap: 0 },
    ] },
  },
  {
    id: 'weights', label: '2 hvos VMs, weights 2:1',
    config: { poolMiB: 64, ksmPages: 0, vms: [
      { name: 'heavy', image: 'hvos', mode: 'hvm-nested', memMiB: 16, io: 'emulated', weight: 512, cap: 0 },
      { name: 'light', image: 'hvos', mode: 'hvm-nested', memMiB: 16, io: 'emulated', weight: 256, cap: 0 },
    ] },
  },
  {
    id: 'eight', label: '8 hvos VMs, same-page merging on',
    config: { poolMiB: 256, ksmPages: DEFAULT_KSM_PAGES, vms: Array.from({ length: 8 }, (_, i) => ({
      name: `vm${i + 1}`, image: 'hvos', mode: (['trap-emulate', 'hvm-shadow', 'hvm-nested'] as const)[i % 3], memMiB: 16, io: 'emulated' as const,
      weight: 256, cap: 0 })) },
  },
];

/** A config as the text of its JSON form (the CLI's keys: sizes as "16M"). */
export function configText(c: PresetConfig): string {
  const vms = c.vms.map((v) => `    ${JSON.stringify({ name: v.name, image: v.image, mode: v.mode, memory: `${v.memMiB}M`, io: v.io, weight: v.weight, cap: v.cap })}`).join(',\n');
  const ksm = c.ksmPages === 0 ? '' : `\n  "ksm": ${c.ksmPages === DEFAULT_KSM_PAGES ? 'true' : c.ksmPages},`;
  return `{\n  "pool": "${c.poolMiB}M",${ksm}\n  "vms": [\n${vms}\n  ]\n}\n`;
}
