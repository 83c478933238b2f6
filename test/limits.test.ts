// Limits that hold (issue 17 item 5, docs/io.md "Bounds"): a guest that floods its console
// cannot make the host's memory grow without bound, whoever is (or is not) reading. The
// flooding guest is five RV64I instructions built here: store 'A' to the UART's THR, forever.
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ioPathConfig, runScripted, Vm } from '../src/vm.js';
import { loadCoreModule } from '../src/node/load-core.js';
import { VmRunner, DEFAULT_TIMING } from '../src/web/runner.js';
import { CONSOLE_WINDOW, type FromWorker } from '../src/web/protocol.js';
import { HVOS_IMAGE } from '../src/bench/workloads.js';

import { flood, floodElf } from './support/flood.js';

const MiB = 1 << 20;

// A full garbage collection before each memory sample, so what is measured is what is kept.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const held = () => { gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };

describe('a guest flooding its console', () => {
  it('with nobody reading, the Vm keeps at most maxUnreadOutput characters and counts the rest', async () => {
    const vm = await Vm.create({ firmware: 'none', memMiB: 16 }, await loadCoreModule());
    vm.load(flood, 'flood', 0x8000_0000n);
    vm.maxUnreadOutput = MiB;
    const base = held();
    let peak = 0;
    // 40 M instructions: 13 M characters, thirteen times the bound.
    for (let i = 0; i < 20; i++) {
      const stop = await runScripted(vm, '', 2_000_000);
      expect(stop.reason).toBe('limit');
      peak = Math.max(peak, held() - base);
    }
    const kept = vm.readConsole();
    expect(vm.outputBytes).toBeGreaterThan(13_000_000);
    expect(kept.length).toBeLessThanOrEqual(MiB);
    expect(kept).toMatch(/^A+$/);
    expect(kept.length + vm.droppedOutput).toBe(vm.outputBytes);
    // What the host keeps beyond the guest's RAM: the kept text (one byte a character), well
    // below the 13 MB the guest wrote.
    expect(peak).toBeLessThan(4 * MiB);
  }, 60_000);

  it('a slow console sink (outputGate) holds the guest back: at most one run of output waits', async () => {
    const vm = await Vm.create({ firmware: 'none', memMiB: 16 }, await loadCoreModule());
    vm.load(flood, 'flood', 0x8000_0000n);
    const queue: string[] = [];
    let queued = 0, maxQueued = 0, shown = 0;
    vm.onConsole = (t) => { queue.push(t); queued += t.length; maxQueued = Math.max(maxQueued, queued); };
    // A sink that takes 64 KiB a millisecond; the gate waits while more than 256 KiB wait.
    const drain = () => new Promise<void>((r) => setTimeout(() => {
      let n = 0;
      while (queue.length && n < 65536) { const t = queue.shift()!; n += t.length; shown += t.length; queued -= t.length; }
      r();
    }, 1));
    vm.outputGate = () => (queued > 256 * 1024 ? (async () => { while (queued > 256 * 1024) await drain(); })() : undefined);
    await runScripted(vm, '', 20_000_000);
    expect(shown + queued).toBe(vm.outputBytes);
    expect(vm.outputBytes).toBeGreaterThan(9_000_000);
    // One run() produces at most a TX ring's worth (64 KiB) before it returns to be drained.
    expect(maxQueued).toBeLessThanOrEqual(256 * 1024 + 64 * 1024);
  }, 60_000);

  it('the host backend hands a transmit buffer over at each notification, not at the end of the run', async () => {
    const vm = await Vm.create({ firmware: 'builtin', memMiB: 64, ...ioPathConfig('host') }, await loadCoreModule());
    vm.load(new Uint8Array(readFileSync(HVOS_IMAGE)), 'hvos.elf');
    let biggest = 0, total = 0;
    vm.onConsole = (t) => { biggest = Math.max(biggest, t.length); total += t.length; };
    // One run() of 50 M instructions covers all of a 1 MiB burst (hvos writes 1 KiB at a time).
    const stop = await runScripted(vm, 'io 1024\npoweroff\n', 400_000_000);
    await vm.close();
    expect(stop.reason).toBe('pass');
    expect(total).toBeGreaterThan(MiB);
    expect(biggest).toBeLessThanOrEqual(64 * 1024);
  }, 60_000);

  it('the web runner stops the guest while CONSOLE_WINDOW characters wait for the page, and goes on when acknowledged', async () => {
    const { module, instantiate } = await loadCoreModule();
    let received = 0;
    const states: string[] = [];
    const runner = new VmRunner((m: FromWorker) => {
      if (m.type === 'console') received += m.text.length;
      if (m.type === 'state') states.push(m.state);
    }, instantiate, DEFAULT_TIMING);
    try {
      runner.handle({ type: 'boot', module, config: { mode: 'native', memMiB: 16, clock: 'instret' }, image: floodElf(), imageName: 'flood.elf' });
      const settle = async () => {
        let last = -1;
        while (received !== last) { last = received; await new Promise((r) => setTimeout(r, 300)); }
      };
      await settle();
      // Held at the window: no more than one busy period's output past it (a run() slice is at
      // most a TX ring, 64 KiB, and a busy period a few of them).
      expect(received).toBeGreaterThan(CONSOLE_WINDOW);
      expect(received).toBeLessThan(CONSOLE_WINDOW + 4 * MiB);
      const held = received;
      await new Promise((r) => setTimeout(r, 300));
      expect(received).toBe(held);
      // The page catches up: the guest runs again.
      runner.handle({ type: 'console-ack', chars: held });
      await settle();
      expect(received).toBeGreaterThan(held + CONSOLE_WINDOW);
      expect(states).not.toContain('error');
    } finally {
      runner.dispose();
    }
  }, 60_000);

  it('disk requests and exits as fast as the guest can make them leave no host memory behind', async () => {
    // hvos reading its virtio-blk disk through the host backend (a heavy exit per request) and
    // making system calls under trap-emulate (exits): the host's memory stays where it was.
    const hvos = new Uint8Array(readFileSync(HVOS_IMAGE));
    for (const [mode, io, script] of [['native', 'host', 'disk 4096\ndisk 4096\npoweroff\n'], ['trap-emulate', 'emulated', 'syscall 200000\npoweroff\n']] as const) {
      const vm = await Vm.create({ firmware: 'builtin', mode, memMiB: 64, ...ioPathConfig(io, 4 * MiB) }, await loadCoreModule());
      vm.load(hvos, 'hvos.elf');
      vm.onConsole = () => { /* discarded */ };
      await runScripted(vm, 'echo warm\n', 100_000_000); // boot and one command first
      const base = held();
      const stop = await runScripted(vm, script, 2_000_000_000);
      const grew = held() - base;
      const c = vm.counters();
      await vm.close();
      expect(stop.reason).toBe('pass');
      if (io === 'host') expect(Number(c.VIRTIO_BLK_REQUESTS)).toBeGreaterThan(2000);
      else expect(Number(c.EXITS)).toBeGreaterThan(400_000);
      expect(grew, `${mode} ${io}: held memory grew by ${grew} bytes`).toBeLessThan(2 * MiB);
    }
  }, 120_000);
});
