/**
 * Target `sbi` (issue 17 item 1e): ecalls with random extension and function IDs and arguments,
 * to the builtin SBI (native S-mode) and the hypervisor's SBI (every VM mode; in pv also the PV
 * extension, docs/pv-abi.md). EIDs are drawn from the SBI v2.0 extensions the machine implements
 * (base, TIME, IPI, RFENCE, HSM, SRST, DBCN, the legacy ones), the PV extension and random
 * values; function IDs mostly small; arguments point into the data area, across its end, outside
 * RAM, at devices, or are edge values.
 *
 * Reach: at least one call passed the dispatch: it returned anything but
 * SBI_ERR_NOT_SUPPORTED (-2) in a0 (counted by the code in s11).
 */
import { X, addi, ecall, jal } from '../asm.js';
import { DATA_BYTES, DATA_OFF, PV_EID, imageBase } from '../harness.js';
import type { MachineTarget } from '../campaign.js';
import { flavourOf, type MachineCase, type Setup } from '../engine.js';
import type { Rng } from '../rng.js';
import { Gen } from './gen.js';
import { WFI } from './mmio.js';

/** SBI v2.0 extension IDs (chapters 4-12), the legacy ones (chapter 5), and the PV extension. */
export const EIDS = [0x10n, 0x54494D45n, 0x735049n, 0x52464E43n, 0x48534Dn, 0x53525354n, 0x4442434En,
  0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, PV_EID, PV_EID, PV_EID];
/** SRST (system reset) ends the input: drawn rarely. */
const SRST = 0x53525354n;

export function argValue(r: Rng, base: bigint): bigint {
  const data = base + BigInt(DATA_OFF);
  switch (r.below(8)) {
    case 0: case 1: return data + BigInt(r.below(DATA_BYTES / 8) * 8);
    case 2: return data + BigInt(DATA_BYTES - r.below(16));
    case 3: return r.pick([0x8000_0000n, 0x80FF_F000n, 0x8100_0000n, 0x7FFF_F000n, 0x1000_0000n, 0x0200_0000n]);
    case 4: return BigInt(r.below(600));
    default: return r.interesting64();
  }
}

export function sbiCase(r: Rng, setup: Setup): MachineCase {
  const g = new Gen();
  const base = imageBase(flavourOf(setup));
  const ARGS = [X.a0, X.a1, X.a2, X.a3, X.a4, X.a5];
  while (g.fits(14, 8) && g.consts.length < 240) {
    let eid = r.chance(0.85) ? r.pick(EIDS) : r.interesting64();
    if (eid === SRST && !r.chance(0.1)) eid = 0x10n;
    g.li(X.a7, eid);
    g.li(X.a6, r.chance(0.8) ? BigInt(r.below(16)) : r.interesting64());
    for (const a of ARGS) g.li(a, argValue(r, base));
    g.emit(ecall());
    g.emit(addi(X.t5, X.a0, 2)); // a0 + 2 == 0 exactly for SBI_ERR_NOT_SUPPORTED
    g.countNonzero(X.t5);
  }
  g.emit(WFI, jal(X.zero, -4));
  return {
    input: { code: g.bytes(), consts: g.consts, data: r.bytes(DATA_BYTES) },
    budget: 20_000,
    reached: (o) => o.regs[X.s11] > 0n,
  };
}

export const sbiTarget: MachineTarget = {
  name: 'sbi',
  reach: 'a call returned anything but SBI_ERR_NOT_SUPPORTED (counted by the guest in s11)',
  setups: [
    { mode: 'native', firmware: 'builtin' },
    { mode: 'trap-emulate', firmware: 'builtin' },
    { mode: 'hvm-shadow', firmware: 'builtin' },
    { mode: 'hvm-nested', firmware: 'builtin' },
    { mode: 'pv', firmware: 'builtin' },
    { mode: 'pv', firmware: 'builtin' },
  ],
  generate: sbiCase,
};
