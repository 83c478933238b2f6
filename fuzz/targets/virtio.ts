/**
 * Target `virtio` (issue 17 item 1d): a driver gone wrong. The code brings a virtio-mmio device
 * (entropy, console or block, or an empty slot) through the status sequence of virtio 1.2
 * section 3.1.1 with random deviations, programs a queue (section 4.2.3.2) with random sizes
 * and ring addresses (in the data area, overlapping each other or the code, outside RAM,
 * misaligned), notifies it repeatedly while moving the avail index by random jumps. The data
 * area holds the split virtqueue (section 2.7) with field-aware random descriptors: buffers in
 * and out of RAM, huge lengths, NEXT chains that loop or leave the table, INDIRECT tables
 * (section 2.7.5.3), and random avail/used rings; half the inputs start from a well-formed
 * queue for the device and corrupt a few fields. Runs on the core backend in every mode and on
 * the host and offload backends natively and under hvm-nested. The offload worker serves the
 * rings on its own thread, so which inputs reach a descriptor there can vary from run to run;
 * the oracle's verdicts do not depend on it.
 *
 * Reach: the device processed at least one descriptor (VIRTIO_DESCRIPTORS went up); inputs
 * whose every notify was refused before that are not counted.
 */
import { X, addi, jal, store } from '../asm.js';
import { DATA_BYTES, DATA_OFF, imageBase } from '../harness.js';
import type { MachineTarget } from '../campaign.js';
import { flavourOf, type MachineCase, type Setup } from '../engine.js';
import type { Rng } from '../rng.js';
import { Gen } from './gen.js';
import { WFI } from './mmio.js';

const SLOT0 = 0x1000_1000n;
/* virtio-mmio v2 registers (virtio 1.2 section 4.2.2). */
const REG = {
  driverFeatures: 0x20, driverFeaturesSel: 0x24, queueSel: 0x30, queueNum: 0x38, queueReady: 0x44,
  queueNotify: 0x50, interruptAck: 0x64, status: 0x70, descLow: 0x80, descHigh: 0x84,
  driverLow: 0x90, driverHigh: 0x94, deviceLow: 0xA0, deviceHigh: 0xA4,
};
/* Device status bits (section 2.1) and descriptor flags (section 2.7.5). */
const ACK = 1, DRIVER = 2, DRIVER_OK = 4, FEATURES_OK = 8;
const F_NEXT = 1, F_WRITE = 2, F_INDIRECT = 4;

/**
 * Half the inputs start from a well-formed queue for the device (so the device gets past its
 * first checks) and mutate a few fields; the rest are random throughout.
 */
function plausible(r: Rng, dv: DataView, dataGpa: bigint, slot: number): void {
  const chain = slot === 2 ? 3 : 1; // virtio-blk: header, data, status (5.2.6)
  for (let i = 0; i < 256; i++) {
    const o = i * 16;
    const k = i % chain;
    dv.setBigUint64(o, dataGpa + 0x4000n + BigInt(i * 64), true);
    dv.setUint32(o + 8, slot === 2 ? [16, 512, 1][k] : 64, true);
    const write = slot === 0 || (slot === 2 && k > 0) || (slot === 1 && r.chance(0.5));
    dv.setUint16(o + 12, (write ? F_WRITE : 0) | (k < chain - 1 ? F_NEXT : 0), true);
    dv.setUint16(o + 14, (i + 1) & 255, true);
  }
  for (let i = 0; i < 256; i++) dv.setUint16(4096 + 4 + i * 2, (i * chain) & 255, true);
  dv.setUint16(4096 + 2, 1 + r.below(4), true); // overwritten by the code's index stores
  for (let i = 0; i < 64; i++) dv.setBigUint64(0x4000 + i * 192, BigInt(r.below(2)), true); // blk: IN or OUT, sector 0
  // A few field-aware corruptions.
  for (let n = r.below(4); n > 0; n--) {
    const o = r.below(16) * 16;
    switch (r.below(5)) {
      case 0: dv.setUint32(o + 8, r.pick([0, 0xFFFF_FFFF, 0x8000_0000, 0x10_0000]), true); break;
      case 1: dv.setBigUint64(o, r.pick([0n, 0x8100_0000n - 8n, 0xFFFF_FFFF_FFFF_FFF0n, dataGpa]), true); break;
      case 2: dv.setUint16(o + 14, r.chance(0.5) ? o / 16 : r.below(0x10000), true); dv.setUint16(o + 12, F_NEXT, true); break;
      case 3: dv.setUint16(o + 12, F_INDIRECT, true); dv.setBigUint64(o, dataGpa + 3n * 4096n, true); dv.setUint32(o + 8, 16 * r.below(20), true); break;
      default: dv.setUint16(4096 + 2, r.below(0x10000), true);
    }
  }
}

function queueData(r: Rng, dataGpa: bigint, slot: number): Uint8Array {
  const out = new Uint8Array(DATA_BYTES);
  const dv = new DataView(out.buffer);
  if (r.chance(0.5)) {
    for (let i = 3 * 4096; i < DATA_BYTES; i++) out[i] = r.below(256);
    plausible(r, dv, dataGpa, slot);
    return out;
  }
  // Page 0 and page 3: descriptor tables (16 bytes each: addr, len, flags, next).
  for (const page of [0, 3]) {
    for (let i = 0; i < 256; i++) {
      const o = page * 4096 + i * 16;
      const addr = r.chance(0.7) ? dataGpa + BigInt(0x4000 + r.below(0x4000))
        : r.pick([0n, 0x7FFF_F000n, 0x80FF_FFF0n, 0x8100_0000n, 0xFFFF_FFFF_FFFF_FFF0n, dataGpa, dataGpa - 0x4000n, r.u64()]);
      const len = r.chance(0.7) ? r.below(0x1000) : r.pick([0, 0xFFFF_FFFF, 0x8000_0000, 0x10_0000, 16, 4096 * 3]);
      let flags = r.below(8);
      if (flags & F_INDIRECT && r.chance(0.5)) {
        dv.setBigUint64(o, dataGpa + 3n * 4096n + BigInt(r.below(16) * 16), true);
      } else dv.setBigUint64(o, addr, true);
      if (r.chance(0.05)) flags |= r.below(0x10000);
      dv.setUint32(o + 8, len, true);
      dv.setUint16(o + 12, flags, true);
      dv.setUint16(o + 14, r.chance(0.8) ? r.below(16) : r.chance(0.5) ? i : r.below(0x10000), true);
    }
  }
  // Page 1: avail ring (flags, idx, ring[], used_event); page 2: used ring.
  dv.setUint16(4096, r.below(2), true);
  dv.setUint16(4096 + 2, r.chance(0.7) ? r.below(8) : r.below(0x10000), true);
  for (let i = 0; i < 256; i++) dv.setUint16(4096 + 4 + i * 2, r.chance(0.8) ? r.below(16) : r.below(0x10000), true);
  for (let i = 0; i < 2048; i++) out[8192 + i] = r.chance(0.9) ? 0 : r.below(256);
  // Pages 4-7: buffers (a block request header lives at their start).
  for (let i = 0x4000; i < DATA_BYTES; i++) out[i] = r.below(256);
  if (r.chance(0.7)) dv.setUint32(0x4000, r.below(10), true); // virtio-blk request type (5.2.6)
  return out;
}

export function virtioCase(r: Rng, setup: Setup): MachineCase {
  const g = new Gen();
  const dataGpa = imageBase(flavourOf(setup)) + BigInt(DATA_OFF);
  const slot = r.chance(0.9) ? r.below(3) : r.below(8);
  g.li(X.s1, SLOT0 + BigInt(slot) * 0x1000n);
  const w32 = (reg: number, v: bigint | number) => {
    if (r.chance(0.03)) return; // a step skipped
    g.li(X.t0, BigInt(v));
    g.emit(store(2, X.t0, X.s1, reg));
  };
  w32(REG.status, 0);
  w32(REG.status, ACK | DRIVER);
  for (const sel of [0, 1]) {
    w32(REG.driverFeaturesSel, sel);
    // VERSION_1 is bit 32; INDIRECT_DESC 28, EVENT_IDX 29 (section 6).
    w32(REG.driverFeatures, r.chance(0.7) ? (sel === 0 ? (r.below(2) << 28) | (r.below(2) << 29) : 1) : r.u32());
  }
  w32(REG.status, ACK | DRIVER | FEATURES_OK);
  const ring = (page: number) => r.chance(0.8) ? dataGpa + BigInt(page * 4096) + (r.chance(0.1) ? BigInt(r.below(16)) : 0n)
    : r.pick([0n, dataGpa - 4096n, 0x80FF_F000n, 0x1_0000_0000n, r.u64(), dataGpa + 0x4000n]);
  const queues = 1 + r.below(2);
  for (let q = 0; q < queues; q++) {
    w32(REG.queueSel, r.chance(0.9) ? q : r.below(0x10000));
    w32(REG.queueNum, r.chance(0.8) ? r.pick([8, 16, 64, 256]) : r.pick([1, 2, 0, 3, 1024, r.u32()]));
    for (const [lo, hi, v] of [[REG.descLow, REG.descHigh, ring(0)], [REG.driverLow, REG.driverHigh, ring(1)], [REG.deviceLow, REG.deviceHigh, ring(2)]] as const) {
      w32(lo, v & 0xFFFF_FFFFn);
      w32(hi, v >> 32n);
    }
    w32(REG.queueReady, 1);
  }
  w32(REG.status, ACK | DRIVER | FEATURES_OK | DRIVER_OK);
  // Notify, moving the avail index (a store into the ring page) between kicks.
  g.li(X.s2, dataGpa + 4096n);
  let idx = 0;
  let first = true;
  while (g.fits(12, 4) && g.consts.length < 200) {
    // The index mostly advances by a few entries (a driver adding buffers); sometimes it jumps.
    if (!first && r.chance(0.6)) {
      idx = r.chance(0.9) ? idx + 1 + r.below(3) : r.below(0x10000);
      g.li(X.t1, BigInt(idx & 0xFFFF));
      g.emit(store(1, X.t1, X.s2, 2));
    }
    first = false;
    if (r.chance(0.2)) { g.li(X.t1, BigInt(r.below(16))); g.emit(store(1, X.t1, X.s2, 4 + 2 * r.below(16))); }
    w32(REG.queueNotify, r.chance(0.9) ? r.below(queues) : r.below(0x10000));
    if (r.chance(0.3)) w32(REG.interruptAck, r.below(4));
    if (r.chance(0.05)) w32(REG.status, r.chance(0.5) ? 0 : r.below(256));
    g.emit(addi(X.zero, X.zero, 0));
  }
  g.emit(WFI, jal(X.zero, -4));
  return {
    input: { code: g.bytes(), consts: g.consts, data: queueData(r, dataGpa, slot) },
    budget: 30_000,
    reached: (o) => (o.counters.VIRTIO_DESCRIPTORS ?? 0n) > 0n,
  };
}

export const virtioTarget: MachineTarget = {
  name: 'virtio',
  reach: 'the device processed at least one descriptor (VIRTIO_DESCRIPTORS went up)',
  setups: [
    { mode: 'native', firmware: 'none', io: 'core' },
    { mode: 'native', firmware: 'builtin', io: 'core' },
    { mode: 'trap-emulate', firmware: 'builtin', io: 'core' },
    { mode: 'hvm-shadow', firmware: 'builtin', io: 'core' },
    { mode: 'hvm-nested', firmware: 'builtin', io: 'core' },
    { mode: 'pv', firmware: 'builtin', io: 'core' },
    { mode: 'native', firmware: 'builtin', io: 'host' },
    { mode: 'hvm-nested', firmware: 'builtin', io: 'host' },
    { mode: 'native', firmware: 'builtin', io: 'offload' },
    { mode: 'hvm-nested', firmware: 'builtin', io: 'offload' },
  ],
  generate: virtioCase,
};
