/**
 * Device tree generator: describes the machine to the guest as a flattened device tree (FDT).
 *
 * Two layers: `machineTree()` builds the node tree for a MachineDescription, mirroring what QEMU's
 * `virt` machine presents for the devices hvlab emulates (so Linux, OpenSBI and xv6-style kernels
 * find them where they expect), and `buildFdt()` serialises any tree into the binary format.
 * Nodes reference each other by label (`{ ref: 'plic' }`); phandles are assigned at write time.
 *
 * Reference: Devicetree Specification v0.4, chapter 5 "Flattened Devicetree (DTB) Format",
 * and the Linux bindings for riscv,cpu-intc, sifive,plic-1.0.0, sifive,clint0, syscon-poweroff.
 */
import { HvlabError } from '../errors.js';

/* ---------------------------------- the tree ---------------------------------- */

/** A 32-bit cell, or the phandle of the node carrying `label`. */
export type FdtCell = number | { ref: string };
/** null = empty property (a flag such as `interrupt-controller`); string(s) are NUL-terminated. */
export type FdtValue = null | string | string[] | FdtCell[] | Uint8Array;

export interface FdtNode {
  /** node name with unit address, e.g. `serial@10000000`; the root is named '' */
  name: string;
  /** a label makes the node referable by `{ ref: label }` and gives it a `phandle` property */
  label?: string;
  props: Record<string, FdtValue>;
  children?: FdtNode[];
}

export interface MemReserve {
  address: bigint;
  size: bigint;
}

/** Split a 64-bit value into two cells (high, low), as `#address-cells = 2` requires. */
export function u64Cells(v: bigint): number[] {
  return [Number((v >> 32n) & 0xffff_ffffn), Number(v & 0xffff_ffffn)];
}

/** A `reg` entry with two address cells and two size cells. */
export function reg2(base: bigint, size: bigint): number[] {
  return [...u64Cells(base), ...u64Cells(size)];
}

/* ------------------------------ the FDT format (DT spec §5) ------------------------------ */

const FDT_MAGIC = 0xd00dfeed;
const FDT_VERSION = 17;
const FDT_LAST_COMP_VERSION = 16;
const FDT_HEADER_SIZE = 40; // ten u32 fields (§5.2)
const FDT_BEGIN_NODE = 0x1;
const FDT_END_NODE = 0x2;
const FDT_PROP = 0x3;
const FDT_END = 0x9;
const RSVMAP_ALIGN = 8; // §5.3: the memory reservation block is 8-byte aligned
const STRUCT_ALIGN = 4; // §5.4: tokens and property values are 4-byte aligned
const RSV_ENTRY_SIZE = 16;

// §2.2.1 and §2.2.4: characters allowed in node and property names.
const NODE_NAME = /^[A-Za-z0-9,._+-]{1,31}(@[A-Za-z0-9,._+-]+)?$/;
const PROP_NAME = /^[A-Za-z0-9,._+?#-]{1,31}$/;

/** A growable big-endian byte buffer. */
class ByteWriter {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v);
    this.length += 4;
  }
  u64(v: bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, v);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  /** Zero-pad to a multiple of `a`. */
  align(a: number): void {
    const pad = (a - (this.length % a)) % a;
    this.reserve(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

const utf8 = new TextEncoder();

function invalid(msg: string): HvlabError {
  return new HvlabError('DTB_INVALID_TREE', `device tree: ${msg}`);
}

function cstring(s: string, where: string): Uint8Array {
  if (s.includes('\0')) throw invalid(`${where}: string contains a NUL character`);
  const enc = utf8.encode(s);
  const out = new Uint8Array(enc.length + 1);
  out.set(enc);
  return out;
}

/** Assign phandles 1, 2, ... to labelled nodes in document order and check label uniqueness. */
function assignPhandles(root: FdtNode): Map<string, number> {
  const phandles = new Map<string, number>();
  const visit = (n: FdtNode, path: string): void => {
    if (n.label !== undefined) {
      if (phandles.has(n.label)) throw invalid(`label '${n.label}' is used twice (again at ${path})`);
      phandles.set(n.label, phandles.size + 1);
    }
    for (const c of n.children ?? []) visit(c, `${path === '/' ? '' : path}/${c.name}`);
  };
  visit(root, '/');
  return phandles;
}

function encodeValue(v: FdtValue, phandles: Map<string, number>, where: string): Uint8Array {
  if (v === null) return new Uint8Array(0);
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return cstring(v, where);
  if (v.length > 0 && typeof v[0] === 'string') {
    const parts = (v as string[]).map((s) => cstring(s, where));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
  const cells = v as FdtCell[];
  const out = new Uint8Array(cells.length * 4);
  const view = new DataView(out.buffer);
  cells.forEach((c, i) => {
    let n: number;
    if (typeof c === 'number') {
      n = c;
    } else {
      const ph = phandles.get(c.ref);
      if (ph === undefined) throw invalid(`${where}: reference to unknown label '${c.ref}'`);
      n = ph;
    }
    if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw invalid(`${where}: cell ${n} is not a 32-bit unsigned integer`);
    view.setUint32(i * 4, n);
  });
  return out;
}

/**
 * Serialise a tree to an FDT blob (version 17, last compatible 16, boot CPU 0).
 * Layout: header | memory reservation block | structure block | strings block.
 */
export function buildFdt(root: FdtNode, memreserve: MemReserve[] = []): Uint8Array {
  const phandles = assignPhandles(root);

  // Strings block: each property name stored once, referenced by offset (§5.5).
  const strings = new ByteWriter();
  const stringOffsets = new Map<string, number>();
  const nameOffset = (name: string): number => {
    let off = stringOffsets.get(name);
    if (off === undefined) {
      off = strings.length;
      stringOffsets.set(name, off);
      strings.bytes(cstring(name, `property name '${name}'`));
    }
    return off;
  };

  const struct = new ByteWriter();
  const emit = (n: FdtNode, path: string, isRoot: boolean): void => {
    if (!isRoot && !NODE_NAME.test(n.name)) throw invalid(`bad node name '${n.name}' at ${path}`);
    struct.u32(FDT_BEGIN_NODE);
    struct.bytes(cstring(n.name, path));
    struct.align(STRUCT_ALIGN);
    const props: [string, FdtValue][] = Object.entries(n.props);
    if (n.label !== undefined) {
      if ('phandle' in n.props) throw invalid(`${path}: has both a label and an explicit phandle`);
      props.unshift(['phandle', [phandles.get(n.label)!]]);
    }
    for (const [name, value] of props) {
      if (!PROP_NAME.test(name)) throw invalid(`bad property name '${name}' at ${path}`);
      const bytes = encodeValue(value, phandles, `${path}:${name}`);
      struct.u32(FDT_PROP);
      struct.u32(bytes.length);
      struct.u32(nameOffset(name));
      struct.bytes(bytes);
      struct.align(STRUCT_ALIGN);
    }
    const seen = new Set<string>();
    for (const c of n.children ?? []) {
      if (seen.has(c.name)) throw invalid(`${path} has two children named '${c.name}'`);
      seen.add(c.name);
      emit(c, `${isRoot ? '' : path}/${c.name}`, false);
    }
    struct.u32(FDT_END_NODE);
  };
  emit(root, '/', true);
  struct.u32(FDT_END);

  const out = new ByteWriter();
  const offRsvmap = FDT_HEADER_SIZE; // 40 is already a multiple of RSVMAP_ALIGN
  const offStruct = offRsvmap + (memreserve.length + 1) * RSV_ENTRY_SIZE;
  const offStrings = offStruct + struct.length;
  const totalSize = offStrings + strings.length;
  // §5.2 header, all fields big-endian u32.
  for (const field of [
    FDT_MAGIC,
    totalSize,
    offStruct,
    offStrings,
    offRsvmap,
    FDT_VERSION,
    FDT_LAST_COMP_VERSION,
    0, // boot_cpuid_phys
    strings.length,
    struct.length,
  ]) {
    out.u32(field);
  }
  out.align(RSVMAP_ALIGN);
  for (const r of memreserve) {
    if (r.address < 0n || r.size <= 0n || r.address + r.size > 1n << 64n) {
      throw invalid(`memory reservation at ${hex(r.address)} size ${hex(r.size)} is not a valid 64-bit range`);
    }
    out.u64(r.address);
    out.u64(r.size);
  }
  out.u64(0n);
  out.u64(0n);
  out.bytes(struct.result());
  out.bytes(strings.result());
  return out.result();
}

/* ------------------------------ the hvlab virt machine ------------------------------ */

export interface MmioRegion {
  base: bigint;
  size: bigint;
}

export interface MachineDescription {
  ramBase: bigint;
  ramSize: bigint;
  harts: number;
  /** riscv,isa string, e.g. 'rv64ima_zicsr_zifencei' */
  isa: string;
  /** 'riscv,sv39' */
  mmuType: string;
  /** mtime ticks per second; 10 MHz on QEMU virt */
  timebaseFrequency: number;
  /** kernel command line; /chosen/bootargs is omitted when undefined */
  bootargs?: string;
  /** the initrd's physical range: /chosen linux,initrd-start and linux,initrd-end */
  initrd?: { start: bigint; end: bigint };
  /** the harts implement the H extension and the guest may use it: adds 'h' to riscv,isa */
  hypervisor?: boolean;
  uart: MmioRegion & { irq: number; clockFrequency: number };
  clint: MmioRegion;
  plic: MmioRegion & { ndev: number };
  test: MmioRegion;
  virtio: (MmioRegion & { irq: number })[];
  /** ranges the guest must not use as normal RAM (e.g. firmware), as /memreserve/ entries */
  memreserve?: MemReserve[];
  /**
   * Nodes added under an existing node of the generated tree (`parent` is its path, such as
   * '/' or '/soc'); they may reference MACHINE_LABELS, e.g. `interrupt-parent = <{ref:'plic'}>`.
   */
  extraNodes?: { parent: string; node: FdtNode }[];
}

/** Labels of generated nodes that extra nodes may reference with `{ ref: ... }`. */
export const MACHINE_LABELS = {
  plic: 'plic',
  test: 'test',
  cpu: (hart: number) => `cpu${hart}`,
  intc: (hart: number) => `cpu${hart}_intc`,
} as const;

/* QEMU virt's memory map (hw/riscv/virt.c, virt_memmap) and interrupt numbers. */
const VIRT_TEST = 0x10_0000n;
const VIRT_CLINT = 0x200_0000n;
const VIRT_PLIC = 0xc00_0000n;
const VIRT_UART0 = 0x1000_0000n;
const VIRT_VIRTIO = 0x1000_1000n;
const VIRT_DRAM = 0x8000_0000n;
const VIRTIO_COUNT = 8;
const VIRTIO_IRQ = 1; // slots use PLIC sources 1..8
const UART0_IRQ = 10;
const UART_CLOCK = 3_686_400;
const PLIC_NDEV = 96; // QEMU's VIRT_IRQCHIP_NUM_SOURCES; riscv,ndev = <0x60>
const TIMEBASE = 10_000_000;
const MAX_HARTS = 512; // QEMU virt's VIRT_CPUS_MAX

/* Local interrupt numbers (privileged spec, mip/mie bits) used in interrupts-extended. */
const IRQ_M_SOFT = 3;
const IRQ_M_TIMER = 7;
const IRQ_S_EXT = 9;
const IRQ_M_EXT = 11;

/* Values the syscon-poweroff/-reboot nodes write to the SiFive test device. */
const TEST_PASS_POWEROFF = 0x5555;
const TEST_RESET = 0x7777;

/** The machine QEMU's `virt` board describes, with the devices hvlab emulates. */
export function defaultVirtMachine(ramSize: bigint, isa = 'rv64imafdc_zicntr_zicsr_zifencei_zihpm'): MachineDescription {
  return {
    ramBase: VIRT_DRAM,
    ramSize,
    harts: 1,
    isa,
    mmuType: 'riscv,sv39',
    timebaseFrequency: TIMEBASE,
    uart: { base: VIRT_UART0, size: 0x100n, irq: UART0_IRQ, clockFrequency: UART_CLOCK },
    clint: { base: VIRT_CLINT, size: 0x1_0000n },
    plic: { base: VIRT_PLIC, size: 0x60_0000n, ndev: PLIC_NDEV },
    test: { base: VIRT_TEST, size: 0x1000n },
    virtio: Array.from({ length: VIRTIO_COUNT }, (_, n) => ({
      base: VIRT_VIRTIO + BigInt(n) * 0x1000n,
      size: 0x1000n,
      irq: VIRTIO_IRQ + n,
    })),
  };
}

function hex(v: bigint | number): string {
  return '0x' + v.toString(16);
}

function bad(msg: string): HvlabError {
  return new HvlabError('DTB_BAD_MACHINE', `machine description: ${msg}`);
}

/**
 * riscv,isa with 'h' appended to the single-letter extensions when the hypervisor extension is
 * exposed: "rv64ima_zicsr" becomes "rv64imah_zicsr" (single letters precede the '_'-separated
 * multi-letter ones, ISA manual "ISA Extension Naming Conventions").
 */
export function isaString(m: Pick<MachineDescription, 'isa' | 'hypervisor'>): string {
  const isa = m.isa.toLowerCase();
  if (!/^rv64[a-z][a-z0-9_]*$/.test(isa)) {
    throw bad(`riscv,isa '${m.isa}' is not an RV64 ISA string such as 'rv64ima_zicsr_zifencei'`);
  }
  if (!m.hypervisor) return isa;
  const us = isa.indexOf('_');
  const single = us < 0 ? isa : isa.slice(0, us);
  if (single.slice(4).includes('h')) return isa;
  return single + 'h' + (us < 0 ? '' : isa.slice(us));
}

function checkMachine(m: MachineDescription): void {
  const u32 = (v: number, what: string, min = 0): void => {
    if (!Number.isInteger(v) || v < min || v > 0xffff_ffff) throw bad(`${what} ${v} is not an integer in [${min}, 0xffffffff]`);
  };
  if (!Number.isInteger(m.harts) || m.harts < 1 || m.harts > MAX_HARTS) {
    throw bad(`harts ${m.harts} must be an integer from 1 to ${MAX_HARTS}`);
  }
  u32(m.timebaseFrequency, 'timebase-frequency', 1);
  u32(m.uart.clockFrequency, 'uart clock-frequency', 1);
  if (!Number.isInteger(m.plic.ndev) || m.plic.ndev < 1 || m.plic.ndev > 1023) {
    throw bad(`plic ndev ${m.plic.ndev} must be from 1 to 1023 (PLIC source 0 is reserved)`);
  }
  const regions: [string, bigint, bigint][] = [
    ['RAM', m.ramBase, m.ramSize],
    ['test', m.test.base, m.test.size],
    ['clint', m.clint.base, m.clint.size],
    ['plic', m.plic.base, m.plic.size],
    ['uart', m.uart.base, m.uart.size],
    ...m.virtio.map((v, i): [string, bigint, bigint] => [`virtio ${i}`, v.base, v.size]),
  ];
  for (const [what, base, size] of regions) {
    if (base < 0n || size <= 0n || base + size > 1n << 64n) {
      throw bad(`${what} at ${hex(base)} size ${hex(size)} is not a non-empty 64-bit range`);
    }
  }
  const sorted = [...regions].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    const [an, ab, as] = sorted[i - 1];
    const [bn, bb, bs] = sorted[i];
    if (bb < ab + as) {
      throw bad(`${an} [${hex(ab)}, ${hex(ab + as)}) overlaps ${bn} [${hex(bb)}, ${hex(bb + bs)})`);
    }
  }
  const irqs = new Map<number, string>();
  for (const [what, irq] of [['uart', m.uart.irq] as const, ...m.virtio.map((v, i) => [`virtio ${i}`, v.irq] as const)]) {
    if (!Number.isInteger(irq) || irq < 1 || irq > m.plic.ndev) throw bad(`${what} irq ${irq} is not a PLIC source in [1, ${m.plic.ndev}]`);
    const other = irqs.get(irq);
    if (other !== undefined) throw bad(`${what} and ${other} both use PLIC source ${irq}`);
    irqs.set(irq, what);
  }
  if (m.initrd && (m.initrd.start < 0n || m.initrd.end < m.initrd.start || m.initrd.end >= 1n << 64n)) {
    throw bad(`initrd [${hex(m.initrd.start)}, ${hex(m.initrd.end)}) is not a 64-bit range`);
  }
  for (const [what, s] of [['mmu-type', m.mmuType], ['bootargs', m.bootargs ?? '']] as const) {
    if (s.includes('\0')) throw bad(`${what} contains a NUL character`);
  }
}

/** `name@unitaddress` with the unit address in lowercase hex without leading zeros (DT spec §2.2.1). */
function at(name: string, addr: bigint | number): string {
  return `${name}@${addr.toString(16)}`;
}

/** The node tree for `m`, before serialisation; exposed so callers can inspect or extend it. */
export function machineTree(m: MachineDescription): FdtNode {
  checkMachine(m);
  const isa = isaString(m);
  const harts = Array.from({ length: m.harts }, (_, h) => h);
  const intc = (h: number) => ({ ref: MACHINE_LABELS.intc(h) });
  const plicParent = { 'interrupt-parent': [{ ref: MACHINE_LABELS.plic }] };

  const cpus: FdtNode = {
    name: 'cpus',
    props: { '#address-cells': [1], '#size-cells': [0], 'timebase-frequency': [m.timebaseFrequency] },
    children: [
      ...harts.map(
        (h): FdtNode => ({
          name: at('cpu', h),
          label: MACHINE_LABELS.cpu(h),
          props: {
            device_type: 'cpu',
            reg: [h],
            status: 'okay',
            compatible: 'riscv',
            'riscv,isa': isa,
            'mmu-type': m.mmuType,
          },
          children: [
            {
              name: 'interrupt-controller',
              label: MACHINE_LABELS.intc(h),
              props: {
                // QEMU omits #address-cells here and dtc warns (interrupt_provider); 0 is what
                // the binding allows and what the PLIC node already has.
                '#address-cells': [0],
                '#interrupt-cells': [1],
                'interrupt-controller': null,
                compatible: 'riscv,cpu-intc',
              },
            },
          ],
        }),
      ),
      {
        name: 'cpu-map',
        props: {},
        children: [
          {
            name: 'cluster0',
            props: {},
            children: harts.map((h): FdtNode => ({ name: `core${h}`, props: { cpu: [{ ref: MACHINE_LABELS.cpu(h) }] } })),
          },
        ],
      },
    ],
  };

  const soc: FdtNode = {
    name: 'soc',
    props: { '#address-cells': [2], '#size-cells': [2], compatible: 'simple-bus', ranges: null },
    children: [
      {
        name: at('test', m.test.base),
        label: MACHINE_LABELS.test,
        props: { reg: reg2(m.test.base, m.test.size), compatible: ['sifive,test1', 'sifive,test0', 'syscon'] },
      },
      {
        name: at('clint', m.clint.base),
        props: {
          'interrupts-extended': harts.flatMap((h) => [intc(h), IRQ_M_SOFT, intc(h), IRQ_M_TIMER]),
          reg: reg2(m.clint.base, m.clint.size),
          compatible: ['sifive,clint0', 'riscv,clint0'],
        },
      },
      {
        name: at('plic', m.plic.base),
        label: MACHINE_LABELS.plic,
        props: {
          'riscv,ndev': [m.plic.ndev],
          reg: reg2(m.plic.base, m.plic.size),
          // one M-mode and one S-mode context per hart, in that order, as QEMU numbers them
          'interrupts-extended': harts.flatMap((h) => [intc(h), IRQ_M_EXT, intc(h), IRQ_S_EXT]),
          'interrupt-controller': null,
          compatible: ['sifive,plic-1.0.0', 'riscv,plic0'],
          '#address-cells': [0],
          '#interrupt-cells': [1],
        },
      },
      {
        name: at('serial', m.uart.base),
        props: {
          interrupts: [m.uart.irq],
          ...plicParent,
          'clock-frequency': [m.uart.clockFrequency],
          reg: reg2(m.uart.base, m.uart.size),
          compatible: 'ns16550a',
        },
      },
      ...m.virtio.map(
        (v): FdtNode => ({
          name: at('virtio_mmio', v.base),
          props: { interrupts: [v.irq], ...plicParent, reg: reg2(v.base, v.size), compatible: 'virtio,mmio' },
        }),
      ),
    ],
  };

  const chosen: FdtNode = { name: 'chosen', props: {} };
  if (m.initrd) {
    // One cell when the address fits in 32 bits, as QEMU writes them; two (a u64) otherwise.
    // Linux reads either length (drivers/of/fdt.c early_init_dt_check_for_initrd).
    const cells = (v: bigint) => (v >> 32n === 0n ? [Number(v)] : u64Cells(v));
    chosen.props['linux,initrd-start'] = cells(m.initrd.start);
    chosen.props['linux,initrd-end'] = cells(m.initrd.end);
  }
  if (m.bootargs !== undefined) chosen.props.bootargs = m.bootargs;
  chosen.props['stdout-path'] = `/soc/${at('serial', m.uart.base)}`;

  const syscon = (name: string, compatible: string, value: number): FdtNode => ({
    name,
    props: { value: [value], offset: [0], regmap: [{ ref: MACHINE_LABELS.test }], compatible },
  });

  const root: FdtNode = {
    name: '',
    props: { '#address-cells': [2], '#size-cells': [2], compatible: 'riscv-virtio', model: 'riscv-virtio,hvlab' },
    children: [
      chosen,
      { name: at('memory', m.ramBase), props: { device_type: 'memory', reg: reg2(m.ramBase, m.ramSize) } },
      cpus,
      syscon('poweroff', 'syscon-poweroff', TEST_PASS_POWEROFF),
      syscon('reboot', 'syscon-reboot', TEST_RESET),
      soc,
    ],
  };

  for (const { parent, node } of m.extraNodes ?? []) {
    const p = findNode(root, parent);
    if (!p) throw bad(`extra node '${node.name}' names parent '${parent}', which is not in the tree`);
    (p.children ??= []).push(node);
  }
  return root;
}

function findNode(root: FdtNode, path: string): FdtNode | undefined {
  if (!path.startsWith('/')) return undefined;
  let n: FdtNode | undefined = root;
  for (const part of path.split('/').filter((s) => s !== '')) {
    n = n.children?.find((c) => c.name === part);
    if (!n) return undefined;
  }
  return n;
}

/** The FDT blob for `m`: its address goes to the boot hart in a1. */
export function buildDtb(m: MachineDescription): Uint8Array {
  return buildFdt(machineTree(m), m.memreserve ?? []);
}
