/**
 * Target `pagetable` (issue 17 item 1b): garbage page tables and satp/vsatp/hgatp values. The
 * data area holds 8 pages of field-aware random tables (privileged spec 4.4.1 PTE format):
 * invalid entries, pointers to the other pages, leaves with random R/W/X/U/G/A/D bits aimed at
 * the data, the harness, RAM's edges, devices or random frames, superpages aligned or not,
 * reserved bits (63:54) set, W-without-R. The code writes satp (and natively vsatp and hgatp,
 * then touches memory through HLV/HSV, privileged spec 8.3.2) with Sv39/Sv48/bare/reserved
 * modes, random ASIDs/VMIDs and roots in the tables or anywhere, then loads, stores, AMOs and
 * jumps to random virtual addresses. Most roots map the harness's gigabyte 1:1 so the code
 * survives the switch. pv has no satp: there the same tables go to mmu_update, pin, set_root
 * and tlb_flush with machine addresses the guest looks up in its p2m table.
 *
 * Reach: natively and in the hvm/trap-emulate modes, a translation CSR write took effect
 * (read back nonzero); in pv, a page-table hypercall succeeded (counted in s11).
 */
import { OP, X, addi, sltiu, amoaddD, csrrs, csrrw, ecall, hlvD, hsvD, jal, jalr, load, lrD, lwu, ori, rType, sfenceVma, slli, srli, store } from '../asm.js';
import { CSR, DATA_BYTES, DATA_OFF, PV_EID, imageBase } from '../harness.js';
import type { MachineTarget } from '../campaign.js';
import { ALL_MODES, flavourOf, type MachineCase, type Setup } from '../engine.js';
import type { Rng } from '../rng.js';
import { Gen } from './gen.js';
import { WFI } from './mmio.js';

const PAGES = DATA_BYTES / 4096;
/* PTE bits, privileged spec 4.4.1. */
const V = 1n, R = 2n, W = 4n, XB = 8n, U = 16n, G = 32n, A = 64n, D = 128n;
/** Where the p2m table is mapped for a pv guest (docs/pv-abi.md). */
const P2M_VA = 0xFFFF_FFFF_C000_0000n;

function pteValue(r: Rng, dataGpa: bigint, pv: boolean): bigint {
  const ppnOf = (pa: bigint) => (pa >> 12n) << 10n;
  const target = () => r.pick([
    dataGpa + BigInt(r.below(PAGES) * 4096), 0x8000_0000n, 0x8100_0000n - 4096n, 0x1000_0000n, 0x0200_0000n,
    BigInt(r.u32()) << 12n, (r.u64() & 0xFFF_FFFF_FFFFn) << 12n,
  ]);
  switch (r.below(10)) {
    case 0: case 1: case 2: return 0n;
    case 3: case 4: return ppnOf(dataGpa + BigInt(r.below(PAGES) * 4096)) | V;
    case 5: case 6: case 7: {
      let flags = V | BigInt(r.below(256)) & ~1n;
      if (pv) flags |= U;
      return ppnOf(target()) | flags;
    }
    case 8: return r.u64();
    default: return (BigInt(r.below(1024)) << 54n) | ppnOf(target()) | V | R | W | XB | A | D;
  }
}

function tables(r: Rng, dataGpa: bigint, pv: boolean): Uint8Array {
  const out = new Uint8Array(DATA_BYTES);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < DATA_BYTES / 8; i++) dv.setBigUint64(i * 8, pteValue(r, dataGpa, pv), true);
  // Most roots map 0x8000_0000..0xBFFF_FFFF 1:1 (a 1 GiB leaf, root index 2) so the harness
  // keeps running after the switch; the rest leave it to chance.
  for (let p = 0; p < PAGES; p++) if (r.chance(0.85)) dv.setBigUint64(p * 4096 + 2 * 8, (0x8000_0000n >> 2n) | V | R | W | XB | A | D, true);
  return out;
}

function satpValue(r: Rng, dataGpa: bigint, modeShift: bigint, idBits: number): bigint {
  const mode = r.chance(0.7) ? 8n : r.pick([0n, 9n, 10n, BigInt(r.below(16))]);
  const root = r.chance(0.8) ? (dataGpa + BigInt(r.below(PAGES) * 4096)) >> 12n : r.u64() & 0xFFF_FFFF_FFFFn;
  return (mode << modeShift) | (BigInt(r.below(1 << idBits)) << 44n) | root;
}

/** A virtual address built from random VPNs, sometimes not sign-extended (non-canonical). */
function vaValue(r: Rng): bigint {
  const va = (BigInt(r.pick([2, 0, 511, r.below(512)])) << 30n) | (BigInt(r.below(512)) << 21n) | (BigInt(r.below(512)) << 12n) | BigInt(r.below(512) * 8);
  if (r.chance(0.2)) return va | (0xFF_FFFFn << 39n) | (r.chance(0.5) ? 1n << 38n : 0n);
  return (va & (1n << 38n)) && r.chance(0.8) ? va | (0x3FF_FFFFn << 39n) : va;
}

function touch(g: Gen, r: Rng, hyper: boolean): void {
  g.li(X.a0, vaValue(r));
  switch (r.below(hyper ? 9 : 7)) {
    case 0: case 1: g.emit(load(r.below(4), X.a2, X.a0, 0)); break;
    case 2: case 3: g.emit(store(r.below(4), X.a2, X.a0, 0)); break;
    case 4: g.emit(amoaddD(X.a2, X.a0, X.a1)); break;
    case 5: g.emit(lrD(X.a2, X.a0)); break;
    case 6: if (r.chance(0.2)) g.emit(jalr(X.ra, X.a0, 0)); else g.emit(load(3, X.a2, X.a0, 0)); break;
    case 7: g.emit(hlvD(X.a2, X.a0)); break;
    default: g.emit(hsvD(X.a2, X.a0)); break;
  }
}

function nativeOrHvm(r: Rng, setup: Setup, g: Gen, dataGpa: bigint): void {
  const m = flavourOf(setup) === 'm';
  // Natively the hart is HS (or M): vsatp and hgatp are real CSRs, reached through HLV/HSV.
  const hyper = setup.mode === 'native';
  while (g.fits(40, 16) && g.consts.length < 230) {
    const csr = hyper && r.chance(0.4) ? r.pick([CSR.vsatp, CSR.hgatp]) : CSR.satp;
    const value = csr === CSR.hgatp ? satpValue(r, dataGpa & ~0x3FFFn, 60n, 14) : satpValue(r, dataGpa, 60n, 16);
    g.li(X.t0, value);
    g.emit(csrrw(X.zero, csr, X.t0));
    if (r.chance(0.6)) g.emit(sfenceVma(X.zero, X.zero));
    if (csr !== CSR.satp && r.chance(0.5)) g.emit(rType(OP.SYSTEM, 0, 0, 0, 0, r.pick([0x11, 0x31]))); // hfence
    g.emit(csrrs(X.t1, csr, X.zero));
    g.countNonzero(X.t1);
    // M-mode: MPRV with MPP = S makes loads and stores translate (privileged spec 3.1.6.3);
    // the first trap sets MPP = M again.
    if (m && r.chance(0.5)) { g.li(X.t2, (1n << 17n) | (1n << 11n)); g.emit(csrrs(X.zero, CSR.mstatus, X.t2)); }
    for (let k = 1 + r.below(10); k > 0; k--) touch(g, r, hyper);
  }
}

/** pv: page-table hypercalls on the data pages, by machine address (docs/pv-abi.md). */
function pvCalls(r: Rng, g: Gen, dataGpa: bigint): void {
  // s1..s8 = machine address of data page k: m2p/p2m lookup, p2m[gfn] is a u32 mfn.
  const MREG = [X.s1, X.s2, X.s3, X.s4, X.s5, X.s6, X.s7, X.s8];
  for (let k = 0; k < PAGES; k++) {
    const gfn = ((dataGpa - 0x8000_0000n) >> 12n) + BigInt(k);
    g.li(X.t0, P2M_VA + gfn * 4n);
    g.emit(lwu(MREG[k], X.t0, 0), slli(MREG[k], MREG[k], 12));
  }
  const list = dataGpa + BigInt((PAGES - 1) * 4096); // the last page is the update list
  g.li(X.a7, PV_EID);
  const call = (fid: number) => {
    g.emit(addi(X.a6, X.zero, fid), ecall());
    g.emit(sltuZero(X.t5, X.a0));
    g.countNonzero(X.t5);
    g.li(X.a7, PV_EID);
  };
  while (g.fits(60, 8) && g.consts.length < 230) {
    const fid = r.pick([2, 2, 2, 3, 4, 5, 6, 3]);
    const page = () => MREG[r.below(PAGES - 1)];
    if (fid === 2) {
      // mmu_update: count entries {ptr, val}, built by the guest in the list page.
      const n = 1 + r.below(8);
      g.li(X.t3, list);
      for (let j = 0; j < n; j++) {
        g.emit(addi(X.t4, page(), r.below(512) * 8 + (r.chance(0.05) ? 4 : 0)), store(3, X.t4, X.t3, j * 16));
        const kind = r.below(4);
        if (kind === 3) { g.li(X.t4, pteValue(r, dataGpa, true)); }
        else { g.emit(srli(X.t4, page(), 2), ori(X.t4, X.t4, Number(kind === 0 ? 1n : (V | R | U | A | (r.chance(0.3) ? W | D : 0n))))); }
        g.emit(store(3, X.t4, X.t3, j * 16 + 8));
      }
      g.emit(addi(X.a0, X.t3, 0), addi(X.a1, X.zero, r.chance(0.95) ? n : 600));
    } else if (fid === 3 || fid === 4) {
      g.emit(addi(X.a0, page(), 0), addi(X.a1, X.zero, r.below(4)));
    } else if (fid === 5) {
      g.emit(addi(X.a0, page(), 0), addi(X.a1, r.chance(0.5) ? X.zero : page(), 0), addi(X.a2, X.zero, r.below(4)));
    } else {
      g.emit(addi(X.a0, X.zero, r.below(4))); g.li(X.a1, vaValue(r));
    }
    call(fid);
    for (let k = r.below(4); k > 0; k--) touch(g, r, false);
  }
}
/** t5 = (t5 == 0): a pv call counts when it returned SBI_SUCCESS. */
const sltuZero = (rd: number, rs: number) => sltiu(rd, rs, 1);

export function pagetableCase(r: Rng, setup: Setup): MachineCase {
  const pv = setup.mode === 'pv';
  const dataGpa = imageBase(flavourOf(setup)) + BigInt(DATA_OFF);
  const g = new Gen();
  if (pv) pvCalls(r, g, dataGpa); else nativeOrHvm(r, setup, g, dataGpa);
  g.emit(WFI, jal(X.zero, -4));
  return {
    input: { code: g.bytes(), consts: g.consts, data: tables(r, dataGpa, pv) },
    budget: 20_000,
    reached: (o) => o.regs[X.s11] > 0n,
  };
}

export const pagetableTarget: MachineTarget = {
  name: 'pagetable',
  reach: 'a satp/vsatp/hgatp write took effect (read back nonzero), or in pv a page-table hypercall succeeded (s11)',
  setups: ALL_MODES,
  generate: pagetableCase,
};
