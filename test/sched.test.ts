// The credit scheduler (src/sched.ts, docs/multi-vm.md "Scheduler"): weights share the hart,
// a VM blocked on input costs nothing, caps hold, bad parameters are refused.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCoreModule } from '../src/node/load-core.js';
import { Host } from '../src/host.js';
import { Scheduler, type SchedParams } from '../src/sched.js';
import { HvlabError } from '../src/errors.js';
import type { Vm } from '../src/vm.js';

const HVOS = readFileSync('guests/hvos/prebuilt/hvos.elf');
/** A CPU-bound command that runs far longer than any test's budget. */
const BUSY = 'compute 1000000000\n';

async function hostWith(n: number, slice?: number): Promise<{ host: Host; vms: Vm[]; sched: Scheduler }> {
  const host = await Host.create({ poolMiB: 16 * n + 32 }, await loadCoreModule());
  const sched = new Scheduler({ sliceInstructions: slice });
  const vms: Vm[] = [];
  for (let i = 0; i < n; i++) {
    const vm = await host.createVm({ mode: 'hvm-nested', memMiB: 16 }, `vm${i}`);
    vm.load(HVOS, 'hvos.elf');
    vms.push(vm);
  }
  return { host, vms, sched };
}

/** Run until every VM waits at its prompt; returns the instructions that took. */
function settle(sched: Scheduler): number {
  let total = 0;
  for (let i = 0; i < 1000; i++) {
    const n = sched.run(5_000_000);
    total += n;
    if (sched.vms.every((vm) => sched.stats(vm).blocked)) return total;
  }
  throw new Error('the VMs did not reach their prompts');
}

function instructions(sched: Scheduler, vms: Vm[]): bigint[] { return vms.map((vm) => sched.stats(vm).instructions); }

function shares(before: bigint[], after: bigint[]): number[] {
  return after.map((a, i) => Number(a - before[i]));
}

describe('credit scheduler', () => {
  /** Two busy VMs of weights 2:1 and `idle` more at their prompts: each one's instructions over 6 M. */
  async function twoToOne(idle: number): Promise<{ got: number[]; vms: Vm[]; sched: Scheduler; third?: ReturnType<Scheduler['stats']> }> {
    const { vms, sched } = await hostWith(2 + idle);
    vms.forEach((vm, i) => sched.add(vm, { weight: i === 0 ? 512 : 256 }));
    settle(sched);
    for (const vm of vms) expect(vm.readConsole()).toContain('$ ');
    vms[0].sendInput(BUSY);
    vms[1].sendInput(BUSY);
    const before = instructions(sched, vms);
    const third = idle ? sched.stats(vms[2]) : undefined;
    expect(sched.run(6_000_000)).toBe(6_000_000);
    return { got: shares(before, instructions(sched, vms)), vms, sched, third };
  }

  it('two CPU-bound VMs of weights 2:1 get 2:1 of the instructions; a blocked third costs nothing', async () => {
    const { got: [a, b, c], vms, sched, third } = await twoToOne(1);
    expect(c).toBe(0);
    expect(sched.stats(vms[2]).slices).toBe(third!.slices);
    expect(sched.stats(vms[2]).blocked).toBe(true);
    expect(a + b).toBe(6_000_000);
    // Listed in the order they were added, however the run queue turned.
    expect(sched.vms).toEqual(vms);
    expect(Math.abs(a / b / 2 - 1)).toBeLessThan(0.02);
    // Both were runnable all along: each waited while the other ran.
    expect(sched.stats(vms[0]).waits).toBeGreaterThan(0);
    expect(sched.stats(vms[1]).waits).toBeGreaterThan(0);
  });

  it('a VM blocked at its prompt changes nothing: the two busy ones run exactly as without it', async () => {
    const [with3, with2] = [await twoToOne(1), await twoToOne(0)];
    expect(with3.got.slice(0, 2)).toEqual(with2.got);
    expect(with3.vms[0].readConsole()).toBe(with2.vms[0].readConsole());
  });

  it('a cap holds, beside another VM and alone (the hart idles rather than exceed it)', async () => {
    const { vms, sched } = await hostWith(2);
    sched.add(vms[0], { cap: 25 });
    sched.add(vms[1]);
    settle(sched);
    for (const vm of vms) vm.sendInput(BUSY);
    let before = instructions(sched, vms);
    expect(sched.run(3_000_000)).toBe(3_000_000);
    const [a, b] = shares(before, instructions(sched, vms));
    // Equal weights would give it half; its cap gives it a quarter of each period.
    expect(a / (a + b)).toBeGreaterThan(0.245);
    expect(a / (a + b)).toBeLessThanOrEqual(0.25);
    // Alone, it still gets a quarter of the hart's time: the rest is idle.
    sched.remove(vms[1]);
    expect(sched.vms).toEqual([vms[0]]);
    before = instructions(sched, [vms[0]]);
    const idle = sched.idleTime;
    expect(sched.run(600_000)).toBe(600_000);
    expect(sched.idleTime - idle).toBeGreaterThanOrEqual(1_800_000 - sched.period);
    expect(sched.idleTime - idle).toBeLessThanOrEqual(1_800_000 + sched.period);
    // Lifting the cap gives it the whole hart.
    sched.setParams(vms[0], { cap: 0 });
    const idle2 = sched.idleTime;
    expect(sched.run(600_000)).toBe(600_000);
    expect(sched.idleTime).toBe(idle2);
    expect(sched.params(vms[0])).toEqual({ weight: 256, cap: 0 });
  });

  it('a sleeper\'s idle time passes as the others run, at no cost, and it wakes when they have run its sleep', async () => {
    const { vms, sched } = await hostWith(2);
    for (const vm of vms) sched.add(vm);
    settle(sched);
    for (const vm of vms) vm.readConsole();
    vms[0].sendInput('sleep 20\n');
    vms[1].sendInput(BUSY);
    const before = instructions(sched, vms);
    // 20 ms of guest time is 200 000 ticks, 2 million instructions at 10 per tick. One hart, one
    // time line: after the busy VM has run 1 million, the sleeper has slept 10 ms of it.
    sched.run(1_000_000);
    expect(vms[0].readConsole()).not.toContain('slept');
    const [a, b] = shares(before, instructions(sched, vms));
    expect(a).toBeLessThan(100_000);
    expect(a + b).toBe(1_000_000);
    // Another 1.5 million: its 20 ms have passed, it woke to print, and it spent none of them.
    sched.run(1_500_000);
    const s0 = sched.stats(vms[0]);
    expect(s0.idleSkips).toBeGreaterThan(0);
    expect(vms[0].readConsole()).toContain('sleep: slept 20 ms');
    expect(s0.blocked).toBe(true);
    const [a2] = shares(before, instructions(sched, vms));
    expect(a2).toBeLessThan(200_000);
  });

  it('a sleeper alone has its idle time skipped whole: the hart has nothing else to do', async () => {
    const { vms, sched } = await hostWith(2);
    for (const vm of vms) sched.add(vm);
    settle(sched);
    for (const vm of vms) vm.readConsole();
    vms[0].sendInput('sleep 50\n');
    const before = instructions(sched, vms);
    sched.run(1_000_000);
    expect(vms[0].readConsole()).toContain('sleep: slept 50 ms');
    const [a, b] = shares(before, instructions(sched, vms));
    expect(a).toBeLessThan(100_000);
    expect(b).toBe(0);
  });

  it('a VM that powers off is halted and never scheduled again; the others run on', async () => {
    const { vms, sched } = await hostWith(2);
    for (const vm of vms) sched.add(vm);
    settle(sched);
    vms[0].sendInput('poweroff\n');
    vms[1].sendInput(BUSY);
    sched.run(1_000_000);
    expect(sched.stats(vms[0]).halted).toBe(true);
    const slices = sched.stats(vms[0]).slices;
    expect(sched.run(1_000_000)).toBe(1_000_000);
    expect(sched.stats(vms[0]).slices).toBe(slices);
  });

  it('a blocked VM wakes when input is sent between runs (an interactive console)', async () => {
    const { vms, sched } = await hostWith(2);
    for (const vm of vms) sched.add(vm);
    settle(sched);
    for (const vm of vms) vm.readConsole();
    const idle = sched.stats(vms[1]);
    vms[0].sendInput('echo woken\n');
    expect(sched.stats(vms[0]).blocked).toBe(true);
    expect(sched.run(10_000_000)).toBeGreaterThan(0);
    expect(vms[0].readConsole()).toBe('echo woken\r\nwoken\r\nhvos$ ');
    expect(sched.stats(vms[0]).blocked).toBe(true);
    // The other was not run at all, nor did it wait: it was blocked throughout.
    expect(sched.stats(vms[1])).toEqual(idle);
  });

  it('a paste larger than the console\'s RX ring (4 KiB) is delivered whole', async () => {
    // Slices long enough that the guest empties the ring and idles within one, with the rest
    // of the paste still waiting in the host: the run's end moves it into the ring.
    const { vms, sched } = await hostWith(2, 20_000_000);
    for (const vm of vms) sched.add(vm);
    settle(sched);
    vms[0].readConsole();
    const lines = Array.from({ length: 150 }, (_, i) => `echo line${String(i).padStart(3, '0')} ${'x'.repeat(40)}\n`);
    vms[0].sendInput(lines.join(''));
    expect(vms[0].inputPending).toBeGreaterThan(0);
    for (let i = 0; i < 100 && !(sched.stats(vms[0]).blocked && vms[0].inputPending === 0); i++) sched.run(5_000_000);
    const out = vms[0].readConsole();
    expect(vms[0].inputPending).toBe(0);
    expect(out.match(/^line\d{3} x+\r$/gm)?.length).toBe(150);
    expect(out).toContain(`line149 ${'x'.repeat(40)}\r\nhvos$ `);
  });

  it('on the wall clock a VM idle with a timer sleeps until it, and run() returns meanwhile', async () => {
    const host = await Host.create({ poolMiB: 48 }, await loadCoreModule());
    const vm = await host.createVm({ mode: 'hvm-nested', memMiB: 16, clock: 'wall' }, 'wall');
    vm.load(HVOS, 'hvos.elf');
    const sched = new Scheduler();
    sched.add(vm);
    settle(sched);
    vm.readConsole();
    vm.sendInput('sleep 30\n');
    const t0 = performance.now();
    let out = '';
    let early = 0;
    while (!out.includes('sleep: slept 30 ms')) {
      if (performance.now() - t0 > 5000) throw new Error(`no wake-up: ${JSON.stringify(out)}`);
      const n = sched.run(10_000_000);
      out += vm.readConsole();
      // Asleep: not blocked (a timer will wake it) and not spinning through the budget.
      if (n < 10_000_000 && !out.includes('slept')) { early++; expect(sched.stats(vm).blocked).toBe(false); }
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(early).toBeGreaterThan(0);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    expect(sched.stats(vm).idleSkips).toBe(0);
  });

  it('bad parameters are refused with a one-line reason', () => {
    const err = (f: () => unknown): string => {
      try { f(); } catch (e) { expect(e).toBeInstanceOf(HvlabError); return (e as Error).message; }
      return 'no error';
    };
    const sched = new Scheduler();
    const vm = {} as Vm;
    const bad: [SchedParams, string][] = [
      [{ weight: 0 }, 'weight must be a whole number from 1 to 65535, got 0'],
      [{ weight: 65536 }, 'weight must be a whole number from 1 to 65535, got 65536'],
      [{ weight: 1.5 }, 'weight must be a whole number from 1 to 65535, got 1.5'],
      [{ cap: 101 }, 'cap must be a whole percentage from 0 (none) to 100, got 101'],
      [{ cap: -1 }, 'cap must be a whole percentage from 0 (none) to 100, got -1'],
    ];
    for (const [p, msg] of bad) expect(err(() => sched.add(vm, p))).toBe(msg);
    expect(sched.vms).toEqual([]);
    sched.add(vm, { weight: 1, cap: 100 });
    expect(err(() => sched.add(vm))).toBe('that VM is already in this scheduler');
    expect(err(() => sched.setParams(vm, { weight: 0 }))).toBe('weight must be a whole number from 1 to 65535, got 0');
    expect(sched.params(vm)).toEqual({ weight: 1, cap: 100 });
    expect(err(() => sched.stats({} as Vm))).toBe('that VM is not in this scheduler');
    expect(err(() => new Scheduler({ sliceInstructions: 10 }))).toBe('a slice must be a whole number of instructions from 1000 to 100000000, got 10');
  });
});
