/**
 * Target `xvm` (issue 17 item 1e, between VMs): grant-table and event-channel hypercalls with
 * random commands and arguments (docs/pv-abi.md "Grant tables", "Event channels", "PV-on-HVM"),
 * made by an *attacker* VM against a *victim* VM that granted it some of its frames and offered
 * it some ports, in one Host beside a *bystander* VM that granted nothing.
 *
 * Each input makes the three VMs afresh in one Host (so VM creation and destruction, with the
 * revocation of every mapping and port between them, is exercised every time):
 * - the victim runs first: it registers its shared page, sets up a grant table whose entries
 *   the generator wrote into its image (in use or not, read-only or not, for the attacker, the
 *   bystander, itself or a random domid, naming its data frames, its code, the table itself
 *   (only ever read-only), or frames outside its RAM), offers ports to the attacker, and waits;
 * - the attacker runs the generated calls: map, unmap, copy in both directions, setup_table,
 *   commands out of range; alloc_unbound, bind_interdomain, send, unmask, close, status; with
 *   domids of the three VMs, 0 and random ones, refs and ports across their limits, offsets and
 *   lengths across a page, buffers inside, across the end of and outside its RAM.
 *
 * The oracle, beyond "no host exception" and the budget:
 * - the bystander's RAM (filled with a random pattern before the input) is unchanged;
 * - the victim's RAM is unchanged but for the frames it granted the attacker writable, its
 *   shared page (event bits) and its trap frame page (an event upcall runs its handler);
 * - when all three are destroyed, the pool has exactly the free frames it had before: no frame
 *   is leaked or kept referenced by a mapping that outlived its VM.
 *
 * Reach: at least one grant or event call succeeded (a0 >= 0; counted by the guest in s11).
 */
import { createHash } from 'node:crypto';
import { X, addi, ecall, jal, srli } from '../asm.js';
import { DATA_BYTES, DATA_OFF, FRAME_OFF, PV_EID, SHARED_OFF, PV_FID_SHARED_INFO, buildImage, imageBase, type Flavour } from '../harness.js';
import type { HostCase, HostTarget } from '../campaign.js';
import { FuzzFailure, runBudgeted } from '../engine.js';
import type { Rng } from '../rng.js';
import { Gen } from './gen.js';
import { WFI } from './mmio.js';
import { Host } from '../../src/host.js';
import type { Mode, Vm } from '../../src/vm.js';
import { loadCoreModule } from '../../src/node/load-core.js';

/** The PV extension's grant and event functions (docs/pv-abi.md "Functions"). */
const FID_GRANT = 15;
const FID_EVTCHN = 16;
/** Grant commands (Xen's numbers): setup_table, map, unmap, copy. */
const GNT = { setup: 2n, map: 0n, unmap: 1n, copy: 5n };
/** Event commands (Xen's numbers): alloc_unbound, bind_interdomain, send, unmask, close, status. */
const EVT = { alloc: 6n, bind: 0n, send: 4n, unmask: 9n, close: 3n, status: 5n };
const GTF_PERMIT = 1;
const GTF_READONLY = 4;
/** Grant entries the victim's table has (and refs the attacker tries beyond them). */
const VICTIM_REFS = 16;
const MEM_MIB = 16;
const POOL_MIB = 64;
/** The victim's table is the first page of its data area; the pages after it are what it grants. */
const TABLE_OFF = DATA_OFF;
const GRANTABLE_PAGES = DATA_BYTES / 4096 - 1;

interface Pair { attacker: Exclude<Mode, 'native'>; victim: Exclude<Mode, 'native'> }
/** pv to pv (maps and copies), PV-on-HVM each way, and the shadow modes (copies, events). */
const PAIRS: Pair[] = [
  { attacker: 'pv', victim: 'pv' },
  { attacker: 'hvm-nested', victim: 'pv' },
  { attacker: 'pv', victim: 'hvm-nested' },
  { attacker: 'trap-emulate', victim: 'hvm-shadow' },
];
const flavour = (m: Mode): Flavour => (m === 'pv' ? 'pv' : 's');
/** Domids in creation order: victim 1, attacker 2, bystander 3 (a fresh Host per campaign keeps them so). */
const VICTIM = 1n;
const ATTACKER = 2n;
const BYSTANDER = 3n;

let hostPromise: Promise<Host> | undefined;
/** One Host for the campaign: VMs come and go in it, as they would on a long-running host. */
const sharedHost = () => (hostPromise ??= loadCoreModule().then((src) => Host.create({ poolMiB: POOL_MIB }, src)));

/** The victim's grant table: VICTIM_REFS entries of Xen's grant_entry_v1 (flags, domid, frame). */
function victimTable(r: Rng, base: bigint): Uint8Array {
  const t = new Uint8Array(4096);
  const dv = new DataView(t.buffer);
  // A guest frame number is the frame's index in the VM's RAM (docs/pv-abi.md "Grant tables").
  const gfn = (off: number) => Number((base + BigInt(off) - 0x8000_0000n) >> 12n);
  for (let ref = 0; ref < VICTIM_REFS; ref++) {
    let flags = r.pick([GTF_PERMIT, GTF_PERMIT, GTF_PERMIT | GTF_READONLY, 0, r.below(0x10000)]);
    const domid = r.pick([ATTACKER, ATTACKER, ATTACKER, BYSTANDER, VICTIM, BigInt(r.below(0x10000))]);
    let frame: number;
    switch (r.below(6)) {
      case 0: frame = gfn(TABLE_OFF); flags |= GTF_READONLY; break; // the table itself, never writable
      case 1: frame = gfn(0x4000); break;                           // its code
      case 2: frame = (MEM_MIB << 8) + r.below(4); break;            // just past its RAM
      case 3: frame = r.below(0x1_0000_0000); break;
      default: frame = gfn(TABLE_OFF + 4096 * (1 + r.below(GRANTABLE_PAGES)));
    }
    if (frame === gfn(TABLE_OFF)) flags |= GTF_READONLY;
    dv.setUint16(ref * 8, flags, true);
    dv.setUint16(ref * 8 + 2, Number(domid & 0xFFFFn), true);
    dv.setUint32(ref * 8 + 4, frame >>> 0, true);
  }
  return t;
}

/** The victim's program: shared page (non-pv: pv's prologue registers it), grant table, ports for the attacker, wait. */
function victimImage(r: Rng, mode: Mode): { image: Uint8Array; table: Uint8Array } {
  const f = flavour(mode);
  const base = imageBase(f);
  const g = new Gen();
  g.li(X.a7, PV_EID);
  if (f !== 'pv') { g.li(X.a0, base + BigInt(SHARED_OFF)); g.emit(addi(X.a6, X.zero, PV_FID_SHARED_INFO), ecall()); }
  g.li(X.a6, BigInt(FID_GRANT)); g.li(X.a0, GNT.setup); g.li(X.a1, base + BigInt(TABLE_OFF)); g.li(X.a2, BigInt(VICTIM_REFS));
  g.emit(ecall());
  for (let k = 0; k < 1 + r.below(4); k++) {
    g.li(X.a7, PV_EID); g.li(X.a6, BigInt(FID_EVTCHN)); g.li(X.a0, EVT.alloc); g.li(X.a1, r.chance(0.8) ? ATTACKER : BYSTANDER);
    g.emit(ecall());
  }
  g.emit(WFI, jal(X.zero, -4));
  const table = victimTable(r, base);
  const data = r.bytes(DATA_BYTES);
  data.set(table, TABLE_OFF - DATA_OFF);
  return { image: buildImage(f, { code: g.bytes(), consts: g.consts, data }), table };
}

function argBuffer(r: Rng, base: bigint): bigint {
  const data = base + BigInt(DATA_OFF);
  switch (r.below(6)) {
    case 0: case 1: return data + BigInt(r.below(DATA_BYTES));
    case 2: return data + BigInt(DATA_BYTES - r.below(64));
    case 3: return 0x8000_0000n + (BigInt(MEM_MIB) << 20n) - BigInt(r.below(8192));
    case 4: return r.pick([0x8000_0000n, 0x1000_0000n, 0x7FFF_F000n, 0n]);
    default: return r.interesting64();
  }
}

/** Mostly the victim (which granted and offered something), else the others, 0, a free id, or anything. */
const domid = (r: Rng) => r.chance(0.6) ? VICTIM : r.chance(0.8) ? r.pick([ATTACKER, BYSTANDER, 0n, 4n]) : r.interesting64();
/** Mostly the first ports (those the victim offered, and the attacker's own), else any up to past 63, or anything. */
const port = (r: Rng) => r.chance(0.6) ? BigInt(1 + r.below(5)) : r.chance(0.8) ? BigInt(r.below(66)) : r.interesting64();

/** The attacker's calls. */
function attackerImage(r: Rng, mode: Mode): Uint8Array {
  const f = flavour(mode);
  const base = imageBase(f);
  const g = new Gen();
  g.li(X.a7, PV_EID);
  if (f !== 'pv') { g.li(X.a0, base + BigInt(SHARED_OFF)); g.emit(addi(X.a6, X.zero, PV_FID_SHARED_INFO), ecall()); }
  while (g.fits(16, 8) && g.consts.length < 240) {
    g.li(X.a7, PV_EID);
    const args: bigint[] = [];
    let crossing: boolean;
    if (r.chance(0.55)) {
      g.li(X.a6, BigInt(FID_GRANT));
      const cmd = r.chance(0.95) ? r.pick([GNT.copy, GNT.copy, GNT.copy, GNT.map, GNT.map, GNT.unmap, GNT.setup]) : r.interesting64();
      crossing = cmd === GNT.copy || cmd === GNT.map;
      const ref = r.chance(0.85) ? BigInt(r.below(VICTIM_REFS + 4)) : r.interesting64();
      const offset = r.chance(0.5) ? 0n : r.chance(0.7) ? BigInt(r.below(4096)) : BigInt(r.below(0x10000));
      switch (cmd) {
        case GNT.copy: args.push(cmd, domid(r), ref | (offset << 16n), argBuffer(r, base), r.chance(0.8) ? BigInt(1 + r.below(4096)) : r.interesting64(), r.chance(0.9) ? BigInt(1 + r.below(2)) : r.interesting64()); break;
        case GNT.map: args.push(cmd, domid(r), ref, argBuffer(r, base) & ~7n, r.chance(0.8) ? BigInt(r.below(2)) : r.interesting64()); break;
        case GNT.unmap: args.push(cmd, r.chance(0.8) ? BigInt(r.below(70)) : r.interesting64()); break;
        case GNT.setup: args.push(cmd, argBuffer(r, base) & ~0xFFFn, r.chance(0.8) ? BigInt(r.below(600)) : r.interesting64()); break;
        default: args.push(cmd, domid(r), ref, argBuffer(r, base), r.interesting64(), r.interesting64());
      }
    } else {
      g.li(X.a6, BigInt(FID_EVTCHN));
      const cmd = r.chance(0.95) ? r.pick([EVT.alloc, EVT.bind, EVT.bind, EVT.send, EVT.send, EVT.unmask, EVT.close, EVT.status]) : r.interesting64();
      crossing = cmd === EVT.bind || cmd === EVT.send;
      if (cmd === EVT.bind) args.push(cmd, domid(r), port(r));
      else if (cmd === EVT.alloc) args.push(cmd, domid(r));
      else args.push(cmd, port(r), r.interesting64());
    }
    const regs = [X.a0, X.a1, X.a2, X.a3, X.a4, X.a5];
    args.forEach((v, i) => g.li(regs[i], v));
    g.emit(ecall());
    // Reach counts the calls that cross to another VM and succeed: a copy or map of a grant, a
    // bind to an offered port, a send on a connected one.
    if (crossing) {
      g.emit(srli(X.t5, X.a0, 63), addi(X.t5, X.t5, -1)); // t5 != 0 exactly when a0 >= 0
      g.countNonzero(X.t5);
    }
  }
  g.emit(WFI, jal(X.zero, -4));
  return buildImage(f, { code: g.bytes(), consts: g.consts, data: r.bytes(DATA_BYTES) });
}

const sha = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

/** For the oracle's own tests: something done to the Host between the attacker's run and the checks. */
export type Tamper = (host: Host, vms: { victim: Vm; attacker: Vm; bystander: Vm }) => void;

export function xvmCase(r: Rng, index: number, tamper?: Tamper): HostCase {
  const pair = PAIRS[index % PAIRS.length];
  const victim = victimImage(r, pair.victim);
  const attacker = attackerImage(r, pair.attacker);
  const tile = r.bytes(4096);
  const pattern = new Uint8Array(MEM_MIB << 20);
  for (let off = 0; off < pattern.length; off += 4096) pattern.set(tile, off);
  return {
    what: `${pair.attacker} attacking ${pair.victim}`,
    bytes: attacker,
    async run(): Promise<boolean> {
      const host = await sharedHost();
      const t0 = performance.now();
      const free0 = host.pool().free;
      if (host.pool().vms !== 0) throw new FuzzFailure('escape', `${host.pool().vms} VMs outlived the previous input`);
      const vms: Vm[] = [];
      let leaked: string | undefined;
      let reached: boolean;
      try {
        const v = await host.createVm({ mode: pair.victim, memMiB: MEM_MIB }, 'victim');
        vms.push(v);
        const a = await host.createVm({ mode: pair.attacker, memMiB: MEM_MIB }, 'attacker');
        vms.push(a);
        const b = await host.createVm({ mode: 'hvm-nested', memMiB: MEM_MIB }, 'bystander');
        vms.push(b);
        if ([v, a, b].map((x) => BigInt(x.shared!.id)).join() !== [VICTIM, ATTACKER, BYSTANDER].join()) {
          throw new FuzzFailure('host-exception', `domids ${[v, a, b].map((x) => x.shared!.id)} are not 1, 2, 3: the host reuses ids differently`);
        }
        const gfns = Array.from({ length: (MEM_MIB << 20) / 4096 }, (_, i) => i);
        host.writeFrames(b, gfns, pattern);
        const bystanderBefore = sha(host.guestRam(b));
        v.load(victim.image, 'victim', imageBase(flavour(pair.victim)));
        a.load(attacker, 'attacker', imageBase(flavour(pair.attacker)));
        runBudgeted(v, 50_000, t0, 'victim');
        const victimBefore = host.guestRam(v);
        runBudgeted(a, 30_000, t0, 'attacker');
        tamper?.(host, { victim: v, attacker: a, bystander: b });
        if (sha(host.guestRam(b)) !== bystanderBefore) throw new FuzzFailure('escape', 'the bystander\'s RAM changed: it granted nothing');
        // The victim's pages that may change: those granted writable to the attacker, its
        // shared page and its trap frame's page.
        const vbase = imageBase(flavour(pair.victim));
        const pageOf = (gpa: bigint) => Number((gpa - 0x8000_0000n) >> 12n);
        const mayChange = new Set([pageOf(vbase + BigInt(SHARED_OFF)), pageOf(vbase + BigInt(FRAME_OFF))]);
        const tv = new DataView(victim.table.buffer);
        for (let ref = 0; ref < VICTIM_REFS; ref++) {
          const flags = tv.getUint16(ref * 8, true);
          if ((flags & 3) === GTF_PERMIT && (flags & GTF_READONLY) === 0 && BigInt(tv.getUint16(ref * 8 + 2, true)) === ATTACKER) {
            mayChange.add(tv.getUint32(ref * 8 + 4, true));
          }
        }
        const after = host.guestRam(v);
        for (let p = 0; p < after.length / 4096; p++) {
          if (mayChange.has(p)) continue;
          const x = after.subarray(p * 4096, (p + 1) * 4096);
          const y = victimBefore.subarray(p * 4096, (p + 1) * 4096);
          const at = x.findIndex((byte, i) => byte !== y[i]);
          if (at >= 0) throw new FuzzFailure('escape', `the victim's page at 0x${(0x8000_0000 + p * 4096).toString(16)} (+0x${at.toString(16)}) changed: not granted writable to the attacker`);
        }
        reached = a.registers()[X.s11] > 0n;
      } catch (e) {
        if (e instanceof FuzzFailure) throw e;
        throw new FuzzFailure('host-exception', `${(e as Error).stack ?? e}`);
      } finally {
        for (const vm of vms.reverse()) await vm.close();
        leaked = host.pool().free !== free0 ? `the pool has ${host.pool().free} free frames after the VMs went, ${free0} before: frames leaked` : undefined;
      }
      if (leaked) throw new FuzzFailure('escape', leaked);
      return reached;
    },
  };
}

export const xvmTarget: HostTarget = {
  name: 'xvm',
  reach: 'a grant or event call between VMs succeeded (a0 >= 0, counted by the attacker in s11)',
  host: true,
  generate: xvmCase,
};
