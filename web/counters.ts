/**
 * The live counters, in the spirit of kvm_stat: one entry per row, each with a one-sentence
 * explanation and a link into docs/counters.md. A counter the core adds (exits by reason,
 * modeled cycles, as the hypervisor lands) is one entry here; until then any counter the core
 * reports that has no entry is still shown, under "Other", so nothing is hidden. Rows of
 * counters that are zero in every VM are hidden unless `always` is set.
 */
import { EXCEPTION_NAMES, INTERRUPT_NAMES } from '../src/counters.js';

export type Counters = Record<string, bigint>;

export interface CounterRow {
  /** The counter's name in vm.counters() (also its anchor in docs/counters.md). */
  key: string;
  label: string;
  group: string;
  explain: string;
  /** A value computed from several counters instead of one. */
  value?: (c: Counters) => bigint | undefined;
  /** Show a per-second rate column. */
  rate?: boolean;
  always?: boolean;
  /** The anchor in docs/counters.md (default: its group's section, GROUP_DOCS). */
  doc?: string;
}

/** The section of docs/counters.md that documents each group (GitHub-style heading anchors). */
const GROUP_DOCS: Record<string, string> = {
  'Instructions': 'instructions', 'Exceptions by cause': 'traps', 'Interrupts by cause': 'traps',
  'TLB': 'tlb-and-page-walks', 'Page walks': 'tlb-and-page-walks',
  'MMIO by device': 'mmio-firmware-console', 'SBI calls': 'mmio-firmware-console', 'Console': 'mmio-firmware-console',
};

const sum = (...keys: string[]) => (c: Counters): bigint | undefined => {
  let total = 0n;
  let any = false;
  for (const k of keys) if (c[k] !== undefined) { total += c[k]; any = true; }
  return any ? total : undefined;
};

const EXC_EXPLAIN: Record<string, string> = {
  illegal_instruction: 'Instructions the hart refused to execute (in a trap-and-emulate VM, each is a privileged instruction to emulate).',
  ecall_from_u: 'System calls: user programs entering the kernel with ecall.',
  ecall_from_s: 'SBI calls: the kernel calling the firmware (or hypervisor) with ecall.',
  instruction_page_fault: 'Instruction fetches whose page-table walk found no executable mapping.',
  load_page_fault: 'Loads whose page-table walk found no readable mapping.',
  store_page_fault: 'Stores whose page-table walk found no writable mapping.',
};

function trapRows(): CounterRow[] {
  const rows: CounterRow[] = [];
  for (const name of Object.values(EXCEPTION_NAMES)) {
    rows.push({
      key: `EXC_${name.toUpperCase()}`, label: name.replace(/_/g, ' '), group: 'Exceptions by cause', rate: true,
      explain: EXC_EXPLAIN[name] ?? `Synchronous exceptions taken with cause "${name.replace(/_/g, ' ')}".`,
    });
  }
  for (const name of Object.values(INTERRUPT_NAMES)) {
    rows.push({
      key: `IRQ_${name.toUpperCase()}`, label: name.replace(/_/g, ' '), group: 'Interrupts by cause', rate: true,
      explain: `Interrupts taken with cause "${name.replace(/_/g, ' ')}".`,
    });
  }
  return rows;
}

function mmioRows(): CounterRow[] {
  const devices: [string, string][] = [
    ['UART', 'the 16550A serial port (the console)'], ['CLINT', 'the core-local interruptor (timer, software interrupts)'],
    ['PLIC', 'the platform-level interrupt controller'], ['TEST', 'the SiFive test device (poweroff)'],
    ['VIRTIO', 'the virtio-mmio slots'],
  ];
  return devices.flatMap(([dev, what]) => (['READS', 'WRITES'] as const).map((op) => ({
    key: `MMIO_${dev}_${op}`, label: `${dev.toLowerCase()} ${op.toLowerCase()}`, group: 'MMIO by device', rate: true,
    explain: `Register ${op === 'READS' ? 'reads' : 'writes'} to ${what}; under a hypervisor each one is an exit.`,
  })));
}

export const COUNTER_ROWS: CounterRow[] = [
  { key: 'INSTRUCTIONS', label: 'total', group: 'Instructions', rate: true, always: true,
    value: sum('INSTRET_U', 'INSTRET_S', 'INSTRET_M'), explain: 'Instructions retired in all modes; the rate is the MIPS.' },
  { key: 'INSTRET_U', label: 'U-mode', group: 'Instructions', rate: true, always: true, explain: 'Instructions retired in user mode (the programs).' },
  { key: 'INSTRET_S', label: 'S-mode', group: 'Instructions', rate: true, always: true, explain: 'Instructions retired in supervisor mode (the guest kernel).' },
  { key: 'INSTRET_M', label: 'M-mode', group: 'Instructions', rate: true, always: true, explain: 'Instructions retired in machine mode (firmware; zero with the builtin SBI, which runs in the core).' },
  { key: 'IDLE_INSTRUCTIONS', label: 'idle skipped', group: 'Instructions', rate: true, explain: 'Instruction times skipped by the deterministic clock while the hart slept in WFI.' },
  ...trapRows(),
  { key: 'TLB_FETCH_LOOKUPS', label: 'fetch lookups', group: 'TLB', rate: true, always: true, explain: 'Translations looked up in the TLB for instruction fetches (one per instruction).' },
  { key: 'TLB_FETCH_MISSES', label: 'fetch misses', group: 'TLB', rate: true, always: true, explain: 'Fetch lookups that missed and walked the page table.' },
  { key: 'TLB_LOAD_LOOKUPS', label: 'load lookups', group: 'TLB', rate: true, always: true, explain: 'Translations looked up in the TLB for loads.' },
  { key: 'TLB_LOAD_MISSES', label: 'load misses', group: 'TLB', rate: true, always: true, explain: 'Load lookups that missed and walked the page table.' },
  { key: 'TLB_STORE_LOOKUPS', label: 'store lookups', group: 'TLB', rate: true, always: true, explain: 'Translations looked up in the TLB for stores.' },
  { key: 'TLB_STORE_MISSES', label: 'store misses', group: 'TLB', rate: true, always: true, explain: 'Store lookups that missed and walked the page table.' },
  { key: 'TLB_FLUSHES', label: 'flushes', group: 'TLB', rate: true, always: true, explain: 'TLB flushes (sfence.vma, satp writes).' },
  { key: 'WALKS', label: 'walks', group: 'Page walks', rate: true, always: true, explain: 'Page-table walks made to fill the TLB.' },
  { key: 'WALK_REFS', label: 'memory references', group: 'Page walks', rate: true, always: true, explain: 'Page-table entries read by those walks: 3 for a full Sv39 walk to a 4 KiB page, fewer for larger pages, up to 15 for a two-stage walk.' },
  { key: 'PAGE_FAULTS', label: 'page faults', group: 'Page walks', rate: true, always: true, explain: 'Walks that ended in a page fault.' },
  ...mmioRows(),
  { key: 'SBI_BASE', label: 'base', group: 'SBI calls', explain: 'SBI base extension calls (version and extension probes).' },
  { key: 'SBI_TIME', label: 'time', group: 'SBI calls', rate: true, explain: 'SBI set_timer calls: the kernel arming its next timer interrupt.' },
  { key: 'SBI_IPI', label: 'ipi', group: 'SBI calls', explain: 'SBI inter-processor interrupt calls.' },
  { key: 'SBI_RFENCE', label: 'rfence', group: 'SBI calls', explain: 'SBI remote fence calls.' },
  { key: 'SBI_HSM', label: 'hsm', group: 'SBI calls', explain: 'SBI hart state management calls.' },
  { key: 'SBI_SRST', label: 'srst', group: 'SBI calls', explain: 'SBI system reset calls (poweroff, reboot).' },
  { key: 'SBI_DBCN', label: 'dbcn', group: 'SBI calls', explain: 'SBI debug console calls.' },
  { key: 'SBI_OTHER', label: 'unsupported', group: 'SBI calls', explain: 'SBI calls to extensions the firmware does not implement.' },
  { key: 'UART_TX_BYTES', label: 'output bytes', group: 'Console', rate: true, explain: 'Bytes the guest wrote to the UART.' },
  { key: 'UART_RX_BYTES', label: 'input bytes', group: 'Console', rate: true, explain: 'Bytes the guest read from the UART.' },
];

const KNOWN = new Set(COUNTER_ROWS.map((r) => r.key));

/** The rows to show for these VMs' counters: the table, then any counter it does not know. */
export function rowsFor(all: Counters[]): CounterRow[] {
  const extra = new Set<string>();
  for (const c of all) for (const k of Object.keys(c)) if (!KNOWN.has(k)) extra.add(k);
  const others: CounterRow[] = [...extra].sort().map((key) => ({
    key, label: key.toLowerCase().replace(/_/g, ' '), group: 'Other', rate: true,
    explain: 'A counter of the core that this page has no entry for yet (see docs/counters.md).',
  }));
  return [...COUNTER_ROWS, ...others].filter((row) => row.always
    || all.some((c) => { const v = valueOf(row, c); return v !== undefined && v !== 0n; }));
}

export function valueOf(row: CounterRow, c: Counters): bigint | undefined {
  return row.value ? row.value(c) : c[row.key];
}

export function docHref(row: CounterRow): string {
  const anchor = row.doc ?? GROUP_DOCS[row.group];
  return anchor ? `docs/counters.md#${anchor}` : 'docs/counters.md';
}
