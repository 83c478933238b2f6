// Grant tables and event channels between VMs of one Host (issue 12 item 3; docs/pv-abi.md
// "Grant tables", "Event channels"; assembly/hv/grant.ts, assembly/hv/evtchn.ts). A pair of
// pv guests, grant-a (the granter) and grant-b (the mapper), in two VMs: grants, maps, reads
// and writes through the mapping, revokes under it, copies, notifies, with every call's bad
// arguments and the SBI error each must return (golden console output); and the hostile
// ends: a granter destroyed under a mapping, a mapper destroyed holding one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCoreModule } from '../src/node/load-core.js';
import { Host } from '../src/host.js';
import { Stop } from '../src/core.js';
import type { Vm } from '../src/vm.js';

const image = (name: string) => new Uint8Array(readFileSync(join('guests', 'prebuilt', `${name}.elf`)));
const golden = (name: string) => readFileSync(join('test', 'golden', `${name}.out`), 'latin1');
const n = (c: Record<string, bigint>, k: string) => Number(c[k] ?? 0n);

/** Calls a guest's source expects to be refused (each returns an SBI error and counts in PV_REFUSED). */
function refusals(path: string, skipFrom?: string, skipTo?: string): number {
  let src = readFileSync(path, 'utf8');
  if (skipFrom && skipTo) src = src.slice(0, src.indexOf(skipFrom)) + src.slice(src.indexOf(skipTo));
  return [...src.matchAll(/SBI_ERR_(INVALID_PARAM|DENIED|INVALID_ADDRESS|NOT_SUPPORTED)\b/g)].length;
}

interface Pair { host: Host; a: Vm; b: Vm; out: string[]; stops: (Stop | undefined)[] }

async function pair(): Promise<Pair> {
  const host = await Host.create({ poolMiB: 64 }, await loadCoreModule());
  // grant-b takes grant-a's domid + 1: made in this order in a fresh host, they are 1 and 2.
  const a = await host.createVm({ mode: 'pv', memMiB: 16 }, 'a');
  const b = await host.createVm({ mode: 'pv', memMiB: 16 }, 'b');
  a.load(image('grant-a'), 'grant-a.elf');
  b.load(image('grant-b'), 'grant-b.elf');
  return { host, a, b, out: ['', ''], stops: [undefined, undefined] };
}

/**
 * Run the live VMs of `p` in turns until each has stopped or waits. A VM blocked with a timer
 * armed gets its time skipped only when no VM made progress in a whole round, so events are
 * delivered before timers expire, as they would be on a host with idle time to spare.
 */
function drive(p: Pair, vms: (Vm | undefined)[], rounds = 100): void {
  for (let round = 0; round < rounds; round++) {
    let progress = false;
    vms.forEach((vm, i) => {
      if (!vm || p.stops[i] === Stop.Halt || p.stops[i] === Stop.Error) return;
      const r = vm.run(2_000_000);
      p.out[i] += vm.readConsole();
      p.stops[i] = r.stop;
      if (r.stop !== Stop.Idle) progress = true;
    });
    if (progress) continue;
    if (!vms.some((vm, i) => vm && p.stops[i] === Stop.Idle && vm.idleSkip())) return;
  }
  throw new Error('the VMs did not settle');
}

/** One turn each, as far as each goes before it stops or waits. */
function turn(p: Pair, vms: (Vm | undefined)[]): void {
  vms.forEach((vm, i) => {
    if (!vm) return;
    const r = vm.run(2_000_000);
    p.out[i] += vm.readConsole();
    p.stops[i] = r.stop;
  });
}

describe('grant tables and event channels (guests/tests/grant-a.c, grant-b.c)', () => {
  it('golden files: every check passes', () => {
    expect(golden('grant-a')).not.toMatch(/FAIL/);
    expect(golden('grant-a')).toMatch(/\nsummary: 0x2e ok, 0x0 failed\n$/);
    expect(golden('grant-b')).not.toMatch(/FAIL/);
    expect(golden('grant-b')).toMatch(/\nsummary: 0x3d ok, 0x0 failed\n$/);
  });

  it('grant, map, write, revoke under the mapping, copy, notify: the golden output, twice the same', async () => {
    const runs = [];
    for (let k = 0; k < 2; k++) {
      const p = await pair();
      drive(p, [p.a, p.b]);
      expect(p.out[0]).toBe(golden('grant-a'));
      expect(p.out[1]).toBe(golden('grant-b'));
      expect(p.stops).toEqual([Stop.Halt, Stop.Halt]);
      runs.push([p.a.counters(), p.b.counters()]);
    }
    expect(runs[1]).toEqual(runs[0]);
    const [a, b] = runs[0];
    // Every call the sources expect an error from was refused, and counted, once; grant-b's
    // granter-gone path did not run.
    expect(n(a, 'PV_REFUSED')).toBe(refusals('guests/tests/grant-a.c'));
    expect(n(b, 'PV_REFUSED')).toBe(refusals('guests/tests/grant-b.c', 'static void granter_gone', 'int main'));
    // b: three mappings (read-write, read-only, a page table read-only), three unmaps; 16 + 8
    // bytes copied. a made none.
    expect([n(b, 'GRANT_MAPS'), n(b, 'GRANT_UNMAPS'), n(b, 'GRANT_COPY_BYTES')]).toEqual([3, 3, 24]);
    expect([n(a, 'GRANT_MAPS'), n(a, 'GRANT_COPY_BYTES')]).toEqual([0, 0]);
    // a: two loopback sends and one to b; upcalls: the loopback send, the unmask of a pending
    // port, and b's two sends to a (counted in b, the sender).
    expect([n(a, 'EVTCHN_SENDS'), n(a, 'EVTCHN_UPCALLS')]).toEqual([3, 3]);
    expect([n(b, 'EVTCHN_SENDS'), n(b, 'EVTCHN_UPCALLS')]).toEqual([2, 2]);
    // Each wait is one block that returned the event: a's two loopback waits and two for b,
    // b's one for a.
    expect(n(a, 'PV_BLOCK')).toBe(4);
    expect(n(b, 'PV_BLOCK')).toBe(1);
  });

  it('a granter destroyed under a mapping: the mapping goes, the mapper sees a fault, every frame comes back', async () => {
    const p = await pair();
    const initialFree = p.host.pool().free + p.host.framesOf(p.a) + p.host.framesOf(p.b);
    // a waits for b; b maps ref 1, writes through it, tells a and blocks with its timer armed.
    turn(p, [p.a, p.b]);
    expect(p.stops).toEqual([Stop.Idle, Stop.Idle]);
    expect(p.out[0]).toMatch(/a: waiting for b\n$/);
    expect(p.out[1]).toMatch(/b: waiting for a\n$/);
    // b's send waits for a (the scheduler sees a runnable again), which never runs again: it
    // is destroyed.
    expect(p.host.eventPending(p.a)).toBe(true);
    expect(p.host.eventPending(p.b)).toBe(false);
    await p.a.close();
    expect(p.host.pool().free).toBe(initialFree - p.host.framesOf(p.b));
    drive(p, [undefined, p.b]);
    expect(p.stops[1]).toBe(Stop.Halt);
    const after = p.out[1].slice(p.out[1].indexOf('b: waiting for a\n'));
    expect(after).toBe('b: waiting for a\nb: woken by its timer\nok gone-entry-cleared\nok gone-mapping-faults\n' +
      'ok gone-unmap\nok gone-send\nok gone-map\nok gone-close\nsummary: 0x2e ok, 0x0 failed\n');
    await p.b.close();
    expect(p.host.pool().free).toBe(initialFree);
  });

  it('a mapper destroyed holding a mapping: the granter frame\'s reference goes with it', async () => {
    const p = await pair();
    const initialFree = p.host.pool().free + p.host.framesOf(p.a) + p.host.framesOf(p.b);
    turn(p, [p.a, p.b]);
    expect(p.out[1]).toMatch(/b: waiting for a\n$/);
    await p.b.close();
    expect(p.host.pool().free).toBe(initialFree - p.host.framesOf(p.a));
    // a takes b's event, finds b's write, and its send now fails: b's port closed with b.
    drive(p, [p.a, undefined]);
    expect(p.out[0]).toContain('ok a-sees-b-write\n');
    expect(p.out[0]).toContain('FAIL a-send');
    await p.a.close();
    expect(p.host.pool().free).toBe(initialFree);
  });
});
