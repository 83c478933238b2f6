/**
 * Target `mmio` (issue 17 item 1c): loads and stores of random widths (1, 2, 4, 8 bytes, and
 * FLD/FSD), offsets and values to every device region of the virt map (docs/memory-map.md):
 * the mask ROM, the test device (it halts the machine: an expected stop), CLINT, PLIC, UART, the
 * eight virtio-mmio slots (virtio devices on the core backend, or emudisk on the emulated path)
 * and emudisk, plus unmapped holes; from M and S natively and from a guest in every VM mode.
 *
 * Reach: at least one access completed without a trap (accesses issued - traps counted by the
 * handler in s10 > 0), or the test device stopped the machine.
 */
import { OP, X, fld, fsd, jal, load, rType, store } from '../asm.js';
import { DATA_BYTES } from '../harness.js';
import type { MachineTarget } from '../campaign.js';
import type { MachineCase, Setup } from '../engine.js';
import type { Rng } from '../rng.js';
import { Gen } from './gen.js';

export const WFI = 0x1050_0073;
/** FMV.D.X (unprivileged spec 12.7): funct7 0x79. */
const fmvDX = (fd: number, rs1: number) => rType(OP.OP_FP, fd, 0, rs1, 0, 0x79);

interface Region { base: bigint; size: number; offsets: number[] }
/** Register offsets worth aiming at, per device (the devices' sources and the specs they cite). */
export const REGIONS: Region[] = [
  { base: 0x0000_1000n, size: 0xF000, offsets: [0, 0x18, 0x20, 0x28] },
  { base: 0x0200_0000n, size: 0x1_0000, offsets: [0, 4, 0x4000, 0x4004, 0xBFF8, 0xBFFC] },
  { base: 0x0C00_0000n, size: 0x60_0000, offsets: [4, 0x28, 0x40, 0x1000, 0x2000, 0x2080, 0x20_0000, 0x20_0004, 0x20_1000, 0x20_1004] },
  { base: 0x1000_0000n, size: 0x100, offsets: [0, 1, 2, 3, 4, 5, 6, 7] },
  ...Array.from({ length: 8 }, (_, n) => ({
    base: 0x1000_1000n + BigInt(n) * 0x1000n, size: 0x1000,
    offsets: [0, 4, 8, 0xC, 0x10, 0x14, 0x20, 0x24, 0x30, 0x34, 0x38, 0x44, 0x50, 0x60, 0x64, 0x70, 0x80, 0x84, 0x90, 0x94, 0xA0, 0xA4, 0xFC, 0x100, 0x108],
  })),
  { base: 0x1000_9000n, size: 0x1000, offsets: [0, 4, 8, 0xC, 0x10, 0x14, 0x18] },
  { base: 0x0300_0000n, size: 0x1000, offsets: [0] }, // a hole: access faults
];
const TESTDEV = { base: 0x0010_0000n, size: 0x1000, offsets: [0] };
const TESTDEV_VALUES = [0x5555n, 0x3333n, 0x7777n, 0x1_3333n, 0x1234n];

export function mmioCase(r: Rng, _setup: Setup): MachineCase {
  const g = new Gen();
  let accesses = 0;
  // The test device ends the input: only some inputs touch it, last.
  const withTestdev = r.chance(0.05);
  while (g.fits(8, 2) && g.consts.length < 240) {
    const reg = r.pick(REGIONS);
    const off = r.chance(0.8) ? r.pick(reg.offsets) + (r.chance(0.1) ? r.below(8) : 0) : r.below(reg.size);
    g.li(X.a0, reg.base + BigInt(off));
    const width = r.below(4);
    if (r.chance(0.5)) {
      g.li(X.a1, r.interesting64());
      if (r.chance(0.1)) g.emit(fmvDX(1, X.a1), fsd(1, X.a0, 0));
      else g.emit(store(width, X.a1, X.a0, 0));
    } else if (r.chance(0.1)) {
      g.emit(fld(2, X.a0, 0));
    } else {
      // LB/LH/LW/LD, or the unsigned LBU/LHU/LWU (funct3 + 4; 7 is no load: illegal).
      g.emit(load(width + (r.chance(0.3) ? 4 : 0), X.a2, X.a0, 0));
    }
    accesses++;
  }
  if (withTestdev) {
    g.li(X.a0, TESTDEV.base + BigInt(r.chance(0.8) ? 0 : r.below(TESTDEV.size)));
    g.li(X.a1, r.pick(TESTDEV_VALUES));
    g.emit(store(r.pick([1, 2, 3]), X.a1, X.a0, 0));
    accesses++;
  }
  g.emit(WFI, jal(X.zero, -4));
  return {
    input: { code: g.bytes(), consts: g.consts, regs: undefined, data: r.bytes(DATA_BYTES) },
    budget: 20_000,
    reached: (o) => (o.stop !== undefined && o.stop.reason !== 'idle' && o.stop.reason !== 'error') || BigInt(accesses) > o.regs[X.s10],
  };
}

export const mmioTarget: MachineTarget = {
  name: 'mmio',
  reach: 'an access completed without a trap (accesses - traps > 0), or the test device stopped the machine',
  setups: [
    { mode: 'native', firmware: 'none', io: 'core' },
    { mode: 'native', firmware: 'builtin', io: 'emulated' },
    { mode: 'trap-emulate', firmware: 'builtin', io: 'core' },
    { mode: 'trap-emulate', firmware: 'builtin', io: 'emulated' },
    { mode: 'hvm-shadow', firmware: 'builtin', io: 'emulated' },
    { mode: 'hvm-nested', firmware: 'builtin', io: 'core' },
    { mode: 'hvm-nested', firmware: 'builtin', io: 'emulated' },
    { mode: 'pv', firmware: 'builtin', io: 'core' },
  ],
  generate: mmioCase,
};
