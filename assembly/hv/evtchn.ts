// Event channels: notifications between VMs, after Xen's (docs/pv-abi.md "Event channels").
// A VM offers a port to one other VM (alloc_unbound), that VM binds a port of its own to it
// (bind_interdomain), and from then on a send on either end sets the other end's pending bit
// and, unless that port is masked, raises the other VM's event upcall: a virtual software
// interrupt (sip bit 1), which also ends a `block`. Pending and mask bits are two u64 bitmaps
// in the shared info page pv already has (bit n = port n), so a guest masks and acknowledges
// with plain stores, as with Xen's evtchn_pending and evtchn_mask.
//
// The ports live in the VM's grant/event area in the pool (hv/grant.ts), not in the core's
// static data, because a send must change a VM that is not loaded: the sender sets the bit in
// the receiver's shared page (its host-physical address is recorded at registration) and
// leaves the upcall in the receiver's area, taken when it is next loaded (hv/host.ts
// hostSwitch). Port 0 is never allocated (as in Xen).

import { Counter } from '../counter-ids';
import { count, hart, machine, rset, MODE_NATIVE, MODE_PV, MODE_TRAP_EMULATE } from '../state';
import { MIP_SSIP } from '../riscv/bits';
import { gpaToHpa, NO_HPA } from './vm';
import { hostCurrent, hostPoolAddr, hostVmLive, hostVmMode, hostVmSplitArea, hostVmSplitAreaEnsure, MAX_VMS } from './host';
import { A_PORTS, A_SHARED_HPA, A_UPCALL, PV_ERR_NOT_SUPPORTED } from './grant';
import { PV_ERR_DENIED, PV_ERR_INVALID_PARAM, PV_OK } from './pvmmu';
import { pv, pvSyncInterrupts } from './pv';
import { teSyncInterrupts, vcpuRaiseSoft } from './vcpu';

// event_channel_op commands: Xen's EVTCHNOP_* numbers (xen/include/public/event_channel.h).
export const EVTCHNOP_BIND_INTERDOMAIN: u64 = 0;
export const EVTCHNOP_CLOSE: u64 = 3;
export const EVTCHNOP_STATUS: u64 = 5;
export const EVTCHNOP_SEND: u64 = 4;
export const EVTCHNOP_ALLOC_UNBOUND: u64 = 6;
export const EVTCHNOP_UNMASK: u64 = 9;

/** Ports per VM: one u64 bitmap of pending and one of mask bits. */
export const EVTCHN_PORTS: u64 = 64;
/** Offsets of the two bitmaps in the shared info page (after the fields of ABI 1.1). */
export const SH_EVTCHN_PENDING: u64 = 88;
export const SH_EVTCHN_MASK: u64 = 96;

// A port record, 8 bytes: u8 state, u8 0, u16 remote port, u32 remote domid.
const PORT_FREE: u8 = 0;
const PORT_UNBOUND: u8 = 1;     // offered to `remote domid`, waiting for its bind
const PORT_INTERDOMAIN: u8 = 2; // connected to (remote domid, remote port)

const A0: u32 = 10;
const A1: u32 = 11;

@inline function portAt(id: u32, port: u64): usize { return hostPoolAddr(hostVmSplitArea(id)) + <usize>(A_PORTS + port * 8); }
@inline function portState(id: u32, port: u64): u8 { return load<u8>(portAt(id, port)); }
@inline function portRemote(id: u32, port: u64): u32 { return load<u32>(portAt(id, port), 4); }
@inline function portRemotePort(id: u32, port: u64): u64 { return <u64>load<u16>(portAt(id, port), 2); }
function setPort(id: u32, port: u64, state: u8, remote: u32, remotePort: u64): void {
  const p = portAt(id, port);
  store<u8>(p, state);
  store<u8>(p, 0, 1);
  store<u16>(p, <u16>remotePort, 2);
  store<u32>(p, remote, 4);
}

function ret(err: i64, value: u64): void {
  rset(A0, <u64>err);
  rset(A1, value);
  if (err != PV_OK) count(Counter.PV_REFUSED);
}

/** The current VM's shared info page was registered at guest-physical `gpa` (hv/pv.ts). */
export function evtchnSharedRegistered(gpa: u64): bool {
  const me = hostCurrent();
  if (me == 0) return true;
  const hpa = gpaToHpa(gpa);
  if (hpa == NO_HPA) return false;
  if (hostVmSplitAreaEnsure(me) == 0) return false;
  store<u64>(hostPoolAddr(hostVmSplitArea(me)) + <usize>A_SHARED_HPA, hpa);
  return true;
}

@inline function sharedOf(id: u32): u64 { return load<u64>(hostPoolAddr(hostVmSplitArea(id)) + <usize>A_SHARED_HPA); }

/** A port of `id` in use (not free, not port 0), or false. */
function portInUse(id: u32, port: u64): bool {
  return port != 0 && port < EVTCHN_PORTS && hostVmSplitArea(id) != 0 && portState(id, port) != PORT_FREE;
}

function freePort(id: u32): u64 {
  for (let p: u64 = 1; p < EVTCHN_PORTS; p++) if (portState(id, p) == PORT_FREE) return p;
  return 0;
}

/** Raise VM `id`'s event upcall: now if it is loaded, else when it is next loaded. */
function raiseUpcall(id: u32): void {
  count(Counter.EVTCHN_UPCALLS);
  if (id == hostCurrent()) {
    // pv: the virtual interrupt pv.ts delivers; PV-on-HVM: the guest's supervisor software
    // interrupt (hvip.VSSIP, or trap-emulate's virtual sip.SSIP), where an SBI IPI lands too.
    if (machine.mode == MODE_PV) pv.softPending |= MIP_SSIP;
    else vcpuRaiseSoft();
    hart.chunkBreak = 1;
  } else {
    store<u64>(hostPoolAddr(hostVmSplitArea(id)) + <usize>A_UPCALL, 1);
  }
}

/** Set `port`'s pending bit in VM `id`'s shared page; raise its upcall if newly pending and unmasked. */
function setPending(id: u32, port: u64): void {
  // A VM that has not registered its shared page yet (a channel the host made before it
  // booted, hostSplitConnect) keeps no pending bits: the event is lost, as an event to a
  // Xen domain without its shared info would be; the protocol on top resends.
  if (sharedOf(id) == 0) return;
  const sh = hostPoolAddr(sharedOf(id));
  const bit: u64 = <u64>1 << port;
  const pending = load<u64>(sh + <usize>SH_EVTCHN_PENDING);
  if ((pending & bit) != 0) return;
  store<u64>(sh + <usize>SH_EVTCHN_PENDING, pending | bit);
  if ((load<u64>(sh + <usize>SH_EVTCHN_MASK) & bit) == 0) raiseUpcall(id);
}

function allocUnbound(remote: u64): void {
  const me = hostCurrent();
  if (!hostVmLive(remote)) { ret(PV_ERR_INVALID_PARAM, 0); return; }
  if (hostVmSplitArea(me) == 0 || sharedOf(me) == 0) { ret(PV_ERR_DENIED, 0); return; }
  const port = freePort(me);
  if (port == 0) { ret(PV_ERR_DENIED, 0); return; }
  setPort(me, port, PORT_UNBOUND, <u32>remote, 0);
  ret(PV_OK, port);
}

function bindInterdomain(remote: u64, remotePort: u64): void {
  const me = hostCurrent();
  if (!hostVmLive(remote) || !portInUse(<u32>remote, remotePort)) { ret(PV_ERR_INVALID_PARAM, 0); return; }
  const r = <u32>remote;
  if (portState(r, remotePort) != PORT_UNBOUND || portRemote(r, remotePort) != me) { ret(PV_ERR_DENIED, 0); return; }
  if (hostVmSplitArea(me) == 0 || sharedOf(me) == 0) { ret(PV_ERR_DENIED, 0); return; }
  const port = freePort(me);
  if (port == 0) { ret(PV_ERR_DENIED, 0); return; }
  setPort(me, port, PORT_INTERDOMAIN, r, remotePort);
  setPort(r, remotePort, PORT_INTERDOMAIN, me, port);
  ret(PV_OK, port);
}

function send(port: u64): void {
  const me = hostCurrent();
  if (!portInUse(me, port) || portState(me, port) != PORT_INTERDOMAIN) { ret(PV_ERR_INVALID_PARAM, 0); return; }
  count(Counter.EVTCHN_SENDS);
  setPending(portRemote(me, port), portRemotePort(me, port));
  ret(PV_OK, 0);
}

function unmask(port: u64): void {
  const me = hostCurrent();
  if (!portInUse(me, port)) { ret(PV_ERR_INVALID_PARAM, 0); return; }
  const sh = hostPoolAddr(sharedOf(me));
  const bit: u64 = <u64>1 << port;
  store<u64>(sh + <usize>SH_EVTCHN_MASK, load<u64>(sh + <usize>SH_EVTCHN_MASK) & ~bit);
  // An event that came while masked is delivered now (Xen's evtchn_unmask).
  if ((load<u64>(sh + <usize>SH_EVTCHN_PENDING) & bit) != 0) raiseUpcall(me);
  ret(PV_OK, 0);
}

/** Close `port` of VM `id`: its peer's end goes back to unbound, still offered to `id`. */
function closePort(id: u32, port: u64): void {
  if (portState(id, port) == PORT_INTERDOMAIN) {
    const r = portRemote(id, port);
    const rp = portRemotePort(id, port);
    if (hostVmLive(r) && portState(r, rp) == PORT_INTERDOMAIN) setPort(r, rp, PORT_UNBOUND, id, 0);
  }
  setPort(id, port, PORT_FREE, 0, 0);
}

/**
 * status(port): what a port is (Xen's EVTCHNOP_status): state (1 unbound, 2 connected) in
 * bits 7:0, the remote port in 15:8, the remote domid from bit 16. How a driver domain learns
 * who is at the other end of a channel the host connected (hostSplitConnect).
 */
function status(port: u64): void {
  const me = hostCurrent();
  if (!portInUse(me, port)) { ret(PV_ERR_INVALID_PARAM, 0); return; }
  ret(PV_OK, <u64>portState(me, port) | (portRemotePort(me, port) << 8) | (<u64>portRemote(me, port) << 16));
}

/**
 * The host's toolstack connects a frontend VM to its driver domain (src/host.ts, I/O path
 * `split`), as Xen's toolstack sets up a device's channel: a new port of each, joined.
 * Returns the frontend's port (the backend's in bits 15:8), or 0 if either has no free port or
 * does not exist, the backend is not pv, or the pool is full.
 */
export function hostSplitConnect(front: u32, back: u32): u32 {
  if (front == back || !hostVmLive(front) || !hostVmLive(back)) return 0;
  // The frontend may be any VM mode (PV-on-HVM); the driver domain's backends are pv.
  if (hostVmMode(front) == MODE_NATIVE || hostVmMode(back) != MODE_PV) return 0;
  if (hostVmSplitAreaEnsure(front) == 0 || hostVmSplitAreaEnsure(back) == 0) return 0;
  const fp = freePort(front), bp = freePort(back);
  if (fp == 0 || bp == 0) return 0;
  setPort(front, fp, PORT_INTERDOMAIN, back, bp);
  setPort(back, bp, PORT_INTERDOMAIN, front, fp);
  return <u32>(fp | (bp << 8));
}

/** event_channel_op(cmd, ...): the PV extension's FID 16 (docs/pv-abi.md). */
export function eventChannelOp(cmd: u64, a1: u64, a2: u64): void {
  const me = hostCurrent();
  if (cmd == EVTCHNOP_ALLOC_UNBOUND) allocUnbound(a1);
  else if (cmd == EVTCHNOP_BIND_INTERDOMAIN) bindInterdomain(a1, a2);
  else if (cmd == EVTCHNOP_SEND) send(a1);
  else if (cmd == EVTCHNOP_UNMASK) unmask(a1);
  else if (cmd == EVTCHNOP_STATUS) status(a1);
  else if (cmd == EVTCHNOP_CLOSE) {
    if (!portInUse(me, a1)) ret(PV_ERR_INVALID_PARAM, 0);
    else { closePort(me, a1); ret(PV_OK, 0); }
  } else ret(PV_ERR_NOT_SUPPORTED, 0);
}

/** At a world switch into VM `id`: an upcall raised while it was not loaded is taken now. */
export function evtchnOnLoad(id: u32): void {
  const up = hostPoolAddr(hostVmSplitArea(id)) + <usize>A_UPCALL;
  if (load<u64>(up) == 0) return;
  store<u64>(up, 0);
  if (machine.mode != MODE_PV) {
    // hvm: hvip.VSSIP wakes a WFI by itself (the hart's mip). trap-emulate's virtual sip
    // is looked at after each exit; this load is not one, so look now (it may end a WFI).
    vcpuRaiseSoft();
    if (machine.mode == MODE_TRAP_EMULATE) teSyncInterrupts();
    return;
  }
  pv.softPending |= MIP_SSIP;
  // Delivered as at any exit: it ends a block, or is bounced if the guest can take it.
  pvSyncInterrupts();
}

/**
 * Has VM `id` an event upcall waiting for its next load (the host's scheduler: a VM blocked
 * in `block` is runnable again)?
 */
export function evtchnPending(id: u32): bool {
  return hostVmLive(id) && hostVmSplitArea(id) != 0 &&
    load<u64>(hostPoolAddr(hostVmSplitArea(id)) + <usize>A_UPCALL) != 0;
}

/**
 * VM `id` is destroyed or reset: close its ports (their peers go back to unbound), and ports
 * of others still offered to it are offered to nobody (domid 0 is never a VM), so a VM made
 * later with the same id cannot bind them.
 */
export function evtchnVmGone(id: u32): void {
  if (hostVmSplitArea(id) != 0) {
    for (let p: u64 = 1; p < EVTCHN_PORTS; p++) if (portState(id, p) != PORT_FREE) closePort(id, p);
  }
  for (let m: u32 = 1; m <= MAX_VMS; m++) {
    if (m == id || !hostVmLive(m) || hostVmSplitArea(m) == 0) continue;
    for (let p: u64 = 1; p < EVTCHN_PORTS; p++) {
      if (portState(m, p) == PORT_UNBOUND && portRemote(m, p) == id) setPort(m, p, PORT_UNBOUND, 0, 0);
    }
  }
}
