/**
 * The live counters, in the spirit of kvm_stat: one entry per row, each with a one-sentence
 * explanation and a link into docs/counters.md (modeled cycles: docs/cost-model.md), with a
 * total and a per-second column. A counter the core adds is one entry here; until then any
 * counter the core reports that has no entry is still shown, under "Other", so nothing is
 * hidden. Rows of counters that are zero in every VM are hidden unless `always` is set.
 */
import { EXCEPTION_NAMES, INTERRUPT_NAMES } from '../src/counters.js';
import { modeledCycles, type CycleBreakdown } from '../src/cost-model.js';

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
  /** The anchor in docs/counters.md, or a `file.md#anchor` of docs/ (default: its group's, GROUP_DOCS). */
  doc?: string;
}

/** The section of docs/counters.md that documents each group (GitHub-style heading anchors). */
const GROUP_DOCS: Record<string, string> = {
  'Instructions': 'instructions', 'Exceptions by cause': 'traps', 'Interrupts by cause': 'traps',
  'TLB': 'tlb-and-page-walks', 'Page walks': 'tlb-and-page-walks',
  'MMIO by device': 'mmio-firmware-console', 'SBI calls': 'mmio-firmware-console', 'Console': 'mmio-firmware-console',
  'Exits by reason': 'exits', 'Injections': 'exits', 'Emulated CSR accesses': 'exits',
  'Shadow paging': 'shadow-paging', 'Modeled cycles': 'cost-model.md',
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
    ['VIRTIO', 'the virtio-mmio slots'], ['EMUDISK', 'emudisk, the register-level disk'],
  ];
  return devices.flatMap(([dev, what]) => (['READS', 'WRITES'] as const).map((op) => ({
    key: `MMIO_${dev}_${op}`, label: `${dev.toLowerCase()} ${op.toLowerCase()}`, group: 'MMIO by device', rate: true,
    explain: `Register ${op === 'READS' ? 'reads' : 'writes'} to ${what}; under a hypervisor each one is an exit.`,
  })));
}

const EXIT_REASONS: [string, string, string][] = [
  ['CSR', 'csr access', 'A CSR instruction of the deprivileged guest kernel (trap-emulate), emulated on its virtual CSRs.'],
  ['SRET', 'sret', 'The guest kernel returning to user mode (trap-emulate): the hypervisor switches the virtual privilege.'],
  ['WFI', 'wfi', 'The guest waiting for an interrupt: the hypervisor lets the hart sleep until the guest\'s next event.'],
  ['SFENCE', 'sfence.vma', 'A guest TLB flush, intercepted so the hypervisor can drop the matching shadow entries.'],
  ['SATP', 'satp write', 'A guest address-space switch, intercepted so the hypervisor can switch to the matching shadow root.'],
  ['SBI', 'hypercall', 'An SBI call of the guest kernel (timer, console, reset), served by the hypervisor.'],
  ['SHADOW_FILL', 'shadow fill', 'A page fault on an address the shadow tables do not map yet: the hypervisor walks the guest\'s table and fills the entry.'],
  ['SHADOW_WP', 'shadow write-protect', 'A guest store to one of its own (write-protected) page-table pages, emulated so the shadow stays coherent.'],
  ['GUEST_PAGE_FAULT', 'guest-page fault', 'A G-stage (guest-physical) fault that was not MMIO.'],
  ['MMIO_UART', 'mmio uart', 'A guest access to the emulated UART (the console): every register read or write exits.'],
  ['MMIO_PLIC', 'mmio plic', 'A guest access to the emulated interrupt controller (claim, complete, enable).'],
  ['MMIO_CLINT', 'mmio clint', 'A guest access to the emulated core-local interruptor (timer compare, software interrupts).'],
  ['MMIO_VIRTIO', 'mmio virtio', 'A guest access to an emulated virtio-mmio slot.'],
  ['MMIO_TEST', 'mmio test', 'A guest access to the emulated SiFive test device (poweroff).'],
  ['MMIO_EMUDISK', 'mmio emudisk', 'A guest access to emudisk: one per 4 bytes of data, the price of fully emulated disks.'],
  ['TIMER', 'timer interrupt', 'A timer interrupt taken by the hypervisor while the guest ran (then injected into it).'],
  ['EXTERNAL', 'external interrupt', 'A device (PLIC) interrupt taken by the hypervisor while the guest ran.'],
  ['REFLECT', 'reflected trap', 'A guest trap (system call, page fault) that the hypervisor forwarded to the guest kernel, as in trap-emulate and shadow modes.'],
  ['VIRTUAL_INSTRUCTION', 'virtual instruction', 'A virtual-instruction exception: the guest in VS-mode ran something the H extension traps (VTVM, VTW, VTSR, hypervisor CSRs).'],
  ['ILLEGAL', 'illegal instruction', 'An illegal instruction of the guest, reflected into it.'],
  ['HOST', 'to host', 'An exit handled outside the core, by a device model in TypeScript (the heaviest kind).'],
  ['PV_BOUNCE', 'pv bounce', 'A trap of a pv guest\'s user mode (system call, fault) that the hypervisor bounced to the handler the guest registered.'],
  ['PV_KERNEL_TRAP', 'pv kernel trap', 'A fault of a pv guest\'s kernel, bounced to its kernel handler.'],
];

const CSRS = ['SSTATUS', 'SIE', 'STVEC', 'SCOUNTEREN', 'SENVCFG', 'SSCRATCH', 'SEPC', 'SCAUSE', 'STVAL', 'SIP', 'SATP'];

function exitRows(): CounterRow[] {
  return [
    { key: 'EXITS', label: 'total', group: 'Exits by reason', rate: true, always: true,
      explain: 'Every VM exit: a trap that left the guest for the hypervisor (zero on the bare machine, which has none).' },
    ...EXIT_REASONS.map(([k, label, explain]) => ({ key: `EXIT_${k}`, label, group: 'Exits by reason', rate: true, explain })),
    { key: 'INJECTIONS', label: 'virtual interrupts', group: 'Injections', rate: true,
      explain: 'Interrupts the hypervisor delivered into the guest (timer, external, software).' },
    ...CSRS.map((csr) => ({ key: `CSR_${csr}`, label: csr.toLowerCase(), group: 'Emulated CSR accesses', rate: true,
      explain: `Accesses to the guest's virtual ${csr.toLowerCase()} emulated by the hypervisor (trap-emulate).` })),
    { key: 'CSR_OTHER', label: 'other', group: 'Emulated CSR accesses', rate: true, explain: 'Emulated accesses to any other CSR.' },
  ];
}

function shadowRows(): CounterRow[] {
  const rows: [string, string, string][] = [
    ['FILLS', 'fills', 'Shadow page-table entries built from the guest\'s own PTEs, on demand.'],
    ['ZAPS', 'zaps', 'Shadow entries dropped because the guest changed the PTE they came from.'],
    ['REBUILDS', 'rebuilds', 'Times everything shadowed was dropped at once (pool exhausted, or a mapping untraceable).'],
    ['SWITCHES', 'root switches', 'Guest address-space switches (satp writes) that changed the shadow root.'],
    ['EVICTIONS', 'root evictions', 'Cached shadow roots evicted to make room for another address space.'],
    ['PAGES', 'pages', 'Shadow page-table pages allocated by the hypervisor.'],
    ['PROTECTED', 'write-protected', 'Guest page-table pages write-protected so edits to them exit.'],
    ['UNPROTECTED', 'unprotected', 'Guest page-table pages released from write protection after a flood of writes.'],
  ];
  return rows.map(([k, label, explain]) => ({ key: `SHADOW_${k}`, label, group: 'Shadow paging', rate: true, explain }));
}

function pvRows(): CounterRow[] {
  const calls: [string, string, string][] = [
    ['INFO', 'info', 'Calls asking which hvlab mode the guest runs in.'],
    ['VERSION', 'version', 'Calls asking the PV ABI version.'],
    ['MMU_UPDATE', 'mmu_update', 'Batches of page-table updates, each entry validated before it is written.'],
    ['PIN', 'pin', 'Page-table pages pinned: validated once, then kept read-only to the guest.'],
    ['UNPIN', 'unpin', 'Page-table pages unpinned (ordinary pages again once nothing uses them as tables).'],
    ['SET_ROOT', 'set_root', 'Address-space switches: the guest kernel\'s and its user\'s roots.'],
    ['TLB_FLUSH', 'tlb_flush', 'TLB flushes the guest asked for (one address, an ASID, or all).'],
    ['SET_CALLBACKS', 'set_callbacks', 'Registrations of the guest\'s trap handlers.'],
    ['IRET', 'iret', 'Returns from the guest kernel to its user mode (or to itself after a trap).'],
    ['SHARED_INFO', 'shared_info', 'Registrations of the shared info page (interrupt mask, pending bits, trap information).'],
    ['SET_TIMER', 'set_timer', 'Timer deadlines set through the PV extension (pv, and PV-on-HVM).'],
    ['YIELD', 'yield', 'Yields to the hypervisor (also how a guest has an unmasked interrupt delivered).'],
    ['BLOCK', 'block', 'Waits for a virtual interrupt (the pv kernel\'s idle).'],
    ['CONSOLE_WRITE', 'console_write', 'Console output through the PV extension: a line per exit instead of UART register exits.'],
    ['SET_FP_STATE', 'set_fp_state', 'Changes of the guest kernel\'s virtual FP state (FS Off for lazy FP switching; the previous state says whether the f registers were written).'],
  ];
  const events: [string, string, string][] = [
    ['PTE_UPDATES', 'PTE updates', 'Page-table entries written through mmu_update; divided by the mmu_update calls, the batch size.'],
    ['REFUSED', 'refused', 'PV calls refused with an SBI error (a bad frame, a writable mapping of a table, a bad address): each changed nothing.'],
    ['TABLES_VALIDATED', 'tables validated', 'Pages that became page tables, each entry checked once.'],
    ['BOUNCES', 'bounced traps', 'Traps and virtual interrupts of the guest\'s user mode bounced to its handler.'],
    ['KERNEL_TRAPS', 'kernel traps', 'Traps of the guest kernel bounced to its kernel handler.'],
    ['VIRQS', 'virtual interrupts', 'Virtual interrupts delivered: bounced, or returned by block.'],
    ['IMPLIED_FLUSHES', 'implied flushes', 'TLB flushes the hypervisor made after a batch changed or removed a valid entry.'],
  ];
  return [
    ...calls.map(([k, label, explain]) => ({ key: `PV_${k}`, label, group: 'PV hypercalls', rate: true, explain })),
    ...events.map(([k, label, explain]) => ({ key: `PV_${k}`, label, group: 'PV events', rate: true, explain })),
  ];
}

/** Modeled cycles from the default cost table (src/cost-model.ts), rounded to whole cycles. */
const cycles = (part: keyof CycleBreakdown) => (c: Counters): bigint | undefined =>
  c.INSTRET_U === undefined ? undefined : BigInt(Math.round(modeledCycles(c)[part]));

function cycleRows(): CounterRow[] {
  const parts: [keyof CycleBreakdown, string, string][] = [
    ['instructions', 'instructions', 'Retired instructions at one cycle each.'],
    ['pageWalks', 'page walks', 'Page-table references of every stage (and of shadow fills) at their cost each.'],
    ['traps', 'traps', 'Traps that stayed inside the guest (or the bare machine), at a trap\'s cost each.'],
    ['exits', 'exits', 'The fixed cost of leaving and re-entering the guest, once per exit.'],
    ['exitHandling', 'exit handling', 'What the hypervisor did for each exit: emulate, fill a shadow entry, model a device, inject.'],
    ['tlbFlushes', 'tlb flushes', 'TLB flushes at their cost each (the refills are counted as page walks).'],
  ];
  return [
    { key: 'CYCLES_TOTAL', label: 'total', group: 'Modeled cycles', rate: true, always: true, value: cycles('total'),
      explain: 'What the run would cost on a simple in-order core: each event counted times its price in a cost table, not a measurement.' },
    ...parts.map(([part, label, explain]) => ({
      key: `CYCLES_${part.toUpperCase()}`, label, group: 'Modeled cycles', rate: true, always: true, value: cycles(part), explain,
    })),
  ];
}

export const COUNTER_ROWS: CounterRow[] = [
  { key: 'INSTRUCTIONS', label: 'total', group: 'Instructions', rate: true, always: true,
    value: sum('INSTRET_U', 'INSTRET_S', 'INSTRET_M'), explain: 'Instructions retired in all modes; the rate is the MIPS.' },
  { key: 'INSTRET_U', label: 'U-mode', group: 'Instructions', rate: true, always: true, explain: 'Instructions retired in user mode (the programs).' },
  { key: 'INSTRET_S', label: 'S-mode', group: 'Instructions', rate: true, always: true, explain: 'Instructions retired in supervisor mode (the guest kernel).' },
  { key: 'INSTRET_M', label: 'M-mode', group: 'Instructions', rate: true, always: true, explain: 'Instructions retired in machine mode (firmware; zero with the builtin SBI, which runs in the core).' },
  { key: 'INSTRET_V', label: 'in the VM (V=1)', group: 'Instructions', rate: true, explain: 'Instructions retired with V=1, by a guest running under the H extension (also counted in U-mode and S-mode).' },
  { key: 'IDLE_INSTRUCTIONS', label: 'idle skipped', group: 'Instructions', rate: true, explain: 'Instruction times skipped by the deterministic clock while the hart slept in WFI.' },
  ...trapRows(),
  ...exitRows(),
  { key: 'TLB_FETCH_LOOKUPS', label: 'fetch lookups', group: 'TLB', rate: true, always: true, explain: 'Translations looked up in the TLB for instruction fetches (one per instruction).' },
  { key: 'TLB_FETCH_MISSES', label: 'fetch misses', group: 'TLB', rate: true, always: true, explain: 'Fetch lookups that missed and walked the page table.' },
  { key: 'TLB_LOAD_LOOKUPS', label: 'load lookups', group: 'TLB', rate: true, always: true, explain: 'Translations looked up in the TLB for loads.' },
  { key: 'TLB_LOAD_MISSES', label: 'load misses', group: 'TLB', rate: true, always: true, explain: 'Load lookups that missed and walked the page table.' },
  { key: 'TLB_STORE_LOOKUPS', label: 'store lookups', group: 'TLB', rate: true, always: true, explain: 'Translations looked up in the TLB for stores.' },
  { key: 'TLB_STORE_MISSES', label: 'store misses', group: 'TLB', rate: true, always: true, explain: 'Store lookups that missed and walked the page table.' },
  { key: 'TLB_FLUSHES', label: 'flushes', group: 'TLB', rate: true, always: true, explain: 'TLB flushes: sfence.vma, hfence, MXR changes, the hypervisor dropping shadows, and an address space evicting the least recently used ASID set (satp writes select a set, they do not flush).' },
  { key: 'TLB_FLUSHES_GUEST', label: 'guest flushes', group: 'TLB', rate: true, explain: 'Flushes of the guest\'s (V=1) TLB view: vsatp and hgatp writes, sfence.vma in VS-mode, hfence.' },
  { key: 'WALKS', label: 'walks', group: 'Page walks', rate: true, always: true, explain: 'Page-table walks made to fill the TLB.' },
  { key: 'WALK_REFS', label: 'native refs', group: 'Page walks', rate: true, always: true, doc: 'tlb-and-page-walks',
    explain: 'PTEs read by single-stage walks (the bare machine, or the shadow tables): 3 for a full Sv39 walk to a 4 KiB page, fewer for larger pages.' },
  { key: 'WALK_REFS_VS', label: 'VS-stage refs', group: 'Page walks', rate: true, doc: 'tlb-and-page-walks',
    explain: 'PTEs of the guest\'s own table read by two-stage walks (hvm-nested), at most 3 per walk.' },
  { key: 'WALK_REFS_G', label: 'G-stage refs', group: 'Page walks', rate: true, doc: 'tlb-and-page-walks',
    explain: 'PTEs of the hypervisor\'s Sv39x4 table read to translate guest-physical addresses: up to 12 more per two-stage walk, the price of nesting.' },
  { key: 'WALKS_G', label: 'G-stage walks', group: 'Page walks', rate: true, doc: 'tlb-and-page-walks',
    explain: 'G-stage translations made, one for each guest page-table page and one for the final guest-physical address.' },
  { key: 'WALK_REFS_SHADOW', label: 'shadow fill refs', group: 'Page walks', rate: true, doc: 'tlb-and-page-walks',
    explain: 'Guest PTEs read in software by the hypervisor while filling shadow entries.' },
  { key: 'NPWC_HITS', label: 'nested PWC hits', group: 'Page walks', rate: true, doc: 'tlb-and-page-walks',
    explain: 'G-stage translations of guest page-table pages answered by the nested page-walk cache.' },
  { key: 'NPWC_MISSES', label: 'nested PWC misses', group: 'Page walks', rate: true, doc: 'tlb-and-page-walks',
    explain: 'G-stage translations of guest page-table pages that missed the nested page-walk cache and walked.' },
  { key: 'PAGE_FAULTS', label: 'page faults', group: 'Page walks', rate: true, always: true, explain: 'Walks that ended in a page fault.' },
  { key: 'GUEST_PAGE_FAULTS', label: 'guest-page faults', group: 'Page walks', rate: true, doc: 'tlb-and-page-walks',
    explain: 'Walks whose G-stage found no mapping (most are the guest\'s MMIO, which the hypervisor emulates).' },
  ...shadowRows(),
  ...pvRows(),
  ...mmioRows(),
  { key: 'SBI_BASE', label: 'base', group: 'SBI calls', explain: 'SBI base extension calls (version and extension probes).' },
  { key: 'SBI_TIME', label: 'time', group: 'SBI calls', rate: true, explain: 'SBI set_timer calls: the kernel arming its next timer interrupt.' },
  { key: 'SBI_IPI', label: 'ipi', group: 'SBI calls', explain: 'SBI inter-processor interrupt calls.' },
  { key: 'SBI_RFENCE', label: 'rfence', group: 'SBI calls', explain: 'SBI remote fence calls.' },
  { key: 'SBI_HSM', label: 'hsm', group: 'SBI calls', explain: 'SBI hart state management calls.' },
  { key: 'SBI_SRST', label: 'srst', group: 'SBI calls', explain: 'SBI system reset calls (poweroff, reboot).' },
  { key: 'SBI_DBCN', label: 'dbcn', group: 'SBI calls', explain: 'SBI debug console calls.' },
  { key: 'SBI_HVLAB', label: 'hvlab pv', group: 'SBI calls', rate: true, explain: 'Calls to the hvlab paravirtual extension (VMs only).' },
  { key: 'SBI_OTHER', label: 'unsupported', group: 'SBI calls', explain: 'SBI calls to extensions the firmware does not implement.' },
  { key: 'UART_TX_BYTES', label: 'output bytes', group: 'Console', rate: true, explain: 'Bytes the guest wrote to the UART.' },
  { key: 'UART_RX_BYTES', label: 'input bytes', group: 'Console', rate: true, explain: 'Bytes the guest read from the UART.' },
  { key: 'VIRTIO_NOTIFIES', label: 'kicks', group: 'Virtio', rate: true, explain: 'Queue notifications: the driver telling a device it has new buffers (each an exit in a VM, unless the device said not to).' },
  { key: 'VIRTIO_INTERRUPTS', label: 'interrupts', group: 'Virtio', rate: true, explain: 'Interrupts raised by the devices: used buffers returned, or a configuration change.' },
  { key: 'VIRTIO_DESCRIPTORS', label: 'descriptors', group: 'Virtio', rate: true, explain: 'Ring descriptors the devices read (a request is a chain of one or more).' },
  { key: 'VIRTIO_BYTES', label: 'bytes', group: 'Virtio', rate: true, explain: 'Bytes the devices moved to or from guest buffers.' },
  { key: 'VIRTIO_BLK_REQUESTS', label: 'block requests', group: 'Virtio', rate: true, explain: 'Requests served by the block device (read, write, flush, identify).' },
  { key: 'VIRTIO_RESETS', label: 'needs-reset', group: 'Virtio', explain: 'Times a device stopped because the driver broke a ring rule (a hostile or buggy guest).' },
  { key: 'VIRTIO_HOST_NOTIFIES', label: 'served by host', group: 'Virtio', rate: true, explain: 'Kicks served by the device model in TypeScript: each one left WebAssembly (a heavy exit), as KVM hands I/O to QEMU.' },
  { key: 'VIRTIO_OFFLOAD_REQUESTS', label: 'offloaded requests', group: 'Virtio', rate: true, explain: 'Requests served by the offload worker beside the guest, with no exit at all (the Nitro idea).' },
  { key: 'VIRTIO_OFFLOAD_POLLS', label: 'offload polls', group: 'Virtio', rate: true, explain: 'Passes of the offload worker over the rings that found work.' },
  { key: 'VIRTIO_EXITS_RNG', label: 'exits: entropy', group: 'Virtio', rate: true, explain: 'VM exits on the entropy device\'s registers.' },
  { key: 'VIRTIO_EXITS_CONSOLE', label: 'exits: console', group: 'Virtio', rate: true, explain: 'VM exits on the virtio console\'s registers.' },
  { key: 'VIRTIO_EXITS_BLOCK', label: 'exits: block', group: 'Virtio', rate: true, explain: 'VM exits on the block device\'s registers.' },
  { key: 'EMUDISK_BYTES', label: 'emudisk bytes', group: 'Virtio', rate: true, explain: 'Bytes through emudisk\'s 4-byte data port, for comparison: one register access per 4 bytes.' },
  { key: 'EMUDISK_COMMANDS', label: 'emudisk commands', group: 'Virtio', rate: true, explain: 'Commands written to emudisk (read, write, flush).' },
  ...cycleRows(),
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
  if (!anchor) return 'docs/counters.md';
  return /\.md(#|$)/.test(anchor) ? `docs/${anchor}` : `docs/counters.md#${anchor}`;
}

/** The name of an exit's trap cause (bit 63 set: an interrupt). */
export function causeName(cause: bigint): string {
  const irq = (cause >> 63n) === 1n;
  const code = Number(cause & 0x7fff_ffff_ffff_ffffn);
  const name = (irq ? INTERRUPT_NAMES : EXCEPTION_NAMES)[code];
  return name ? name.replace(/_/g, ' ') : `${irq ? 'interrupt' : 'exception'} ${code}`;
}
