// hvlab's device tree against QEMU 7.2's own (qemu-system-riscv64 -machine virt,dumpdtb=...):
// the same nodes but for those QEMU has and hvlab does not emulate, and for every node the
// properties a firmware or kernel reads with the same values (phandles compared by the path of
// the node they point at). What differs on purpose is listed in docs/loading.md.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fdtCells, fdtStrings, parseFdt, type ParsedFdtNode } from '../../src/loader/fdt-parse.js';
import { qemuAvailable, QEMU_BINARY } from '../qemu.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fw = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin';
const hvos = join(root, 'guests', 'hvos', 'prebuilt', 'hvos.elf');

/** Nodes of QEMU's virt that hvlab does not emulate (docs/loading.md). */
const NOT_EMULATED = ['/pmu', '/fw-cfg@10100000', '/flash@20000000', '/platform-bus@4000000', '/soc/rtc@101000', '/soc/pci@30000000'];

/** Properties that must be equal, per node path pattern; `phandles` ones hold references. */
const MUST_MATCH: [RegExp, string[]][] = [
  [/^\/$/, ['#address-cells', '#size-cells', 'compatible']],
  [/^\/chosen$/, ['stdout-path', 'bootargs', 'linux,initrd-start', 'linux,initrd-end']],
  [/^\/memory@/, ['device_type', 'reg']],
  [/^\/cpus$/, ['#address-cells', '#size-cells', 'timebase-frequency']],
  [/^\/cpus\/cpu@\d+$/, ['device_type', 'reg', 'status', 'compatible']],
  [/^\/cpus\/cpu@\d+\/interrupt-controller$/, ['#interrupt-cells', 'interrupt-controller', 'compatible']],
  [/^\/cpus\/cpu-map\/cluster0\/core\d+$/, ['cpu']],
  [/^\/(poweroff|reboot)$/, ['value', 'offset', 'regmap', 'compatible']],
  [/^\/soc$/, ['#address-cells', '#size-cells', 'compatible', 'ranges']],
  [/^\/soc\/test@/, ['reg', 'compatible']],
  [/^\/soc\/clint@/, ['interrupts-extended', 'reg', 'compatible']],
  [/^\/soc\/plic@/, ['riscv,ndev', 'reg', 'interrupts-extended', 'interrupt-controller', 'compatible', '#interrupt-cells']],
  [/^\/soc\/serial@/, ['interrupts', 'interrupt-parent', 'clock-frequency', 'reg', 'compatible']],
  [/^\/soc\/virtio_mmio@/, ['interrupts', 'interrupt-parent', 'reg', 'compatible']],
];
const PHANDLE_PROPS = new Set(['interrupts-extended', 'interrupt-parent', 'regmap', 'cpu']);
const STRING_PROPS = new Set(['compatible', 'device_type', 'status', 'stdout-path', 'bootargs']);

function walk(n: ParsedFdtNode, path: string, out: Map<string, ParsedFdtNode>): void {
  out.set(path, n);
  for (const c of n.children) walk(c, path === '/' ? `/${c.name}` : `${path}/${c.name}`, out);
}

function nodes(blob: Uint8Array): Map<string, ParsedFdtNode> {
  const m = new Map<string, ParsedFdtNode>();
  walk(parseFdt(blob).root, '/', m);
  return m;
}

/** A property's value in comparable form: strings, cells, or cells with phandles as paths. */
function value(all: Map<string, ParsedFdtNode>, name: string, v: Uint8Array): unknown {
  if (STRING_PROPS.has(name)) return fdtStrings(v);
  const cells = fdtCells(v);
  if (!PHANDLE_PROPS.has(name)) return cells;
  const byPhandle = new Map<number, string>();
  for (const [p, n] of all) { const ph = n.props.get('phandle'); if (ph) byPhandle.set(fdtCells(ph)[0], p); }
  // interrupts-extended: <phandle irq>...; the others: one phandle each
  if (name === 'interrupts-extended') return cells.map((c, i) => (i % 2 === 0 ? byPhandle.get(c) : c));
  return cells.map((c) => byPhandle.get(c));
}

describe.skipIf(!qemuAvailable())('the device tree against QEMU 7.2 virt', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'hvlab-dtb-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('same nodes (but those not emulated) and the same values of the properties that matter', async () => {
    const rd = join(tmp, 'rd');
    writeFileSync(rd, new Uint8Array(4096));
    const dump = join(tmp, 'q.dtb');
    const q = spawnSync(QEMU_BINARY, ['-machine', `virt,dumpdtb=${dump}`, '-m', '128M', '-nographic', '-bios', fw,
      '-kernel', hvos, '-initrd', rd, '-append', 'console=ttyS0'], { encoding: 'utf8' });
    expect(q.status).toBe(0);
    const qemu = nodes(new Uint8Array(readFileSync(dump)));
    const { Vm } = await import('../../src/vm.js');
    const { loadCoreModule } = await import('../../src/node/load-core.js');
    const vm = await Vm.create({ firmware: { file: new Uint8Array(readFileSync(fw)), name: 'fw_jump.bin' }, bootargs: 'console=ttyS0' }, await loadCoreModule());
    const plan = vm.boot({ kernel: new Uint8Array(readFileSync(hvos)), kernelName: 'hvos.elf', initrd: new Uint8Array(4096), initrdName: 'rd' });
    await vm.close();
    const ours = nodes(plan.dtb);
    expect([...ours.keys()].sort()).toEqual([...qemu.keys()].filter((p) => !NOT_EMULATED.includes(p)).sort());
    let compared = 0;
    for (const [path, n] of ours) {
      for (const [pattern, props] of MUST_MATCH) {
        if (!pattern.test(path)) continue;
        for (const p of props) {
          const a = n.props.get(p), b = qemu.get(path)!.props.get(p);
          expect(a !== undefined, `${path} ${p} in hvlab's tree`).toBe(b !== undefined);
          if (a && b) expect(value(ours, p, a), `${path} ${p}`).toEqual(value(qemu, p, b));
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(60);
    // riscv,isa: hvlab's names what the core has; both start with the base and the letters.
    const isa = fdtStrings(ours.get('/cpus/cpu@0')!.props.get('riscv,isa')!)[0];
    expect(isa).toMatch(/^rv64ima[a-z]*h_zicntr_zicsr_zifencei_zihpm_sstc$/);
  });

  it('dtc reads the full tree (firmware, initrd, bootargs) with no warnings', async () => {
    const { Vm } = await import('../../src/vm.js');
    const { loadCoreModule } = await import('../../src/node/load-core.js');
    const vm = await Vm.create({ firmware: { file: new Uint8Array(readFileSync(fw)), name: 'fw_jump.bin' }, bootargs: 'console=ttyS0' }, await loadCoreModule());
    const plan = vm.boot({ kernel: new Uint8Array(readFileSync(hvos)), kernelName: 'hvos.elf', initrd: new Uint8Array(4096), initrdName: 'rd' });
    await vm.close();
    const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', '-'], { input: plan.dtb, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('linux,initrd-start = <0x84200000>;');
  });
});
