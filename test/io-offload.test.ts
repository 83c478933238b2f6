// The offload backend in Node (src/io/offload.ts, worker-loop.ts): a worker_threads worker
// (dist/src/io/worker.js, built by `npm run build:host`) serves the rings of a fake core memory
// (io-fake-core.ts) while this thread plays the vCPU: it makes requests available without
// notifying and reads the results, the interrupt bits and the counters. No wall time is
// asserted; waitIdle's timeouts only bound a broken worker.
import { afterEach, describe, expect, it } from 'vitest';
import { createIoBackend, OffloadBackend, type IoBackend } from '../src/io/index.js';
import { DELAY_PASS, DELAY_SERVED } from '../src/io/offload-shared.js';
import { VIRTQ_DESC_F_NEXT as NEXT, VIRTQ_DESC_F_WRITE as WRITE, VIRTQ_USED_F_NO_NOTIFY } from '../src/io/queue.js';
import { FakeCore, GUEST_BASE } from './io-fake-core.js';

const FEATURES = (1n << 32n) | (1n << 28n) | (1n << 29n);
const OFFLOAD = 2;
const SPARE = GUEST_BASE + 0xA0000;
const C = { INTERRUPTS: 101, RESETS: 104, HOST_NOTIFIES: 105, OFFLOAD_REQUESTS: 106, OFFLOAD_POLLS: 107 };
const WORKER = new URL('../dist/src/io/worker.js', import.meta.url);

let open: IoBackend[] = [];
afterEach(async () => { await Promise.all(open.map((b) => b.close())); open = []; });

async function offload(core: FakeCore): Promise<IoBackend> {
  const io = await createIoBackend('offload', core.handle(), { workerUrl: WORKER });
  open.push(io);
  return io;
}

/** The core generator's first bytes (xorshift64*, the core's seed), written out independently. */
function firstRngBytes(n: number): number[] {
  let x = 0x9E3779B97F4A7C15n;
  const M = (1n << 64n) - 1n;
  const out: number[] = [];
  while (out.length < n) {
    x ^= x >> 12n; x = (x ^ (x << 25n)) & M; x ^= x >> 27n;
    const v = (x * 0x2545F4914F6CDD1Dn) & M;
    for (let i = 0; i < 8 && out.length < n; i++) out.push(Number((v >> BigInt(8 * i)) & 0xFFn));
  }
  return out;
}

describe('offload backend (worker_threads)', () => {
  it('serves requests the driver never notified; completes with an interrupt; tells the driver not to notify', async () => {
    const core = new FakeCore();
    core.slot(0, 4, OFFLOAD, FEATURES);
    const d = core.queue(0, 0, 8, true, true);
    const io = await offload(core);
    expect(io.kind).toBe('offload');
    // The worker sets the queue up for polling before any request.
    expect(io.waitIdle(10_000)).toBe(true);
    d.setDesc(0, SPARE, 32, WRITE);
    d.add(0);                         // no QueueNotify, no doorbell: the worker polls
    expect(io.waitIdle(10_000)).toBe(true);
    expect(io.busy()).toBe(false);
    expect(d.usedIdx()).toBe(1);
    expect(d.used(0)).toEqual({ id: 0, len: 32 });
    expect([...core.read(SPARE, 32)]).toEqual(firstRngBytes(32));
    expect(core.interrupts(0) & 1).toBe(1);
    expect(d.usedFlags()).toBe(VIRTQ_USED_F_NO_NOTIFY);
    expect(d.availEvent()).toBe(0x8001);   // lastAvail 1, plus half the index space
    expect(core.counter(C.OFFLOAD_REQUESTS)).toBe(1n);
    expect(core.counter(C.OFFLOAD_POLLS)).toBeGreaterThanOrEqual(1n);
    expect(core.counter(C.HOST_NOTIFIES)).toBe(0n);
  });

  it('many requests in flight are all served, in order, while the "vCPU" keeps adding', async () => {
    const core = new FakeCore();
    core.slot(1, 4, OFFLOAD, FEATURES);
    const d = core.queue(1, 0, 16, true, true);
    const io = await offload(core);
    for (let i = 0; i < 16; i++) d.setDesc(i, SPARE + 64 * i, 64, WRITE);
    const total = 200;
    let added = 0;
    while (added < total) {
      // keep at most 16 outstanding, as a driver must (2.7.6)
      while (added < total && ((added - d.usedIdx()) & 0xFFFF) < 16) { d.add(added % 16); added++; }
      core.ring();
      io.waitIdle(10_000);
    }
    expect(io.waitIdle(10_000)).toBe(true);
    expect(d.usedIdx()).toBe(total);
    for (let i = 0; i < total; i++) expect(d.used(i)).toEqual({ id: i % 16, len: 64 });
    expect(core.counter(C.OFFLOAD_REQUESTS)).toBe(BigInt(total));
    expect(core.queueRecord(1, 0)).toEqual({ ready: 1, lastAvail: total, usedIdx: total });
  });

  it('console output arrives through drainOutput(); input reaches receive buffers', async () => {
    const core = new FakeCore();
    core.slot(3, 3, OFFLOAD, FEATURES);
    const rx = core.queue(3, 0, 8, true, true);
    const tx = core.queue(3, 1, 8, true, true);
    const io = await offload(core);
    core.write(SPARE, new TextEncoder().encode('offloaded '));
    core.write(SPARE + 0x10, new TextEncoder().encode('console'));
    tx.setDesc(0, SPARE, 10, NEXT, 1);
    tx.setDesc(1, SPARE + 0x10, 7, 0);
    tx.add(0);
    expect(io.waitIdle(10_000)).toBe(true);
    expect(new TextDecoder().decode(io.drainOutput()!)).toBe('offloaded console');
    expect(io.drainOutput()).toBeNull();
    expect(core.takeTx().length).toBe(0); // not the core's ring: the worker must not race the core
    rx.setDesc(0, SPARE + 0x1000, 16, WRITE);
    rx.add(0);
    expect(io.waitIdle(10_000)).toBe(true); // a receive buffer without input is not work
    expect(rx.usedIdx()).toBe(0);
    core.input(new TextEncoder().encode('hi\n'));
    io.serviceInput();
    expect(io.waitIdle(10_000)).toBe(true);
    expect(rx.used(0)).toEqual({ id: 0, len: 3 });
    expect(new TextDecoder().decode(core.read(SPARE + 0x1000, 3))).toBe('hi\n');
  });

  it('output larger than the shared ring waits for the Vm to drain it, nothing lost', async () => {
    const core = new FakeCore({ guestBytes: 4 << 20 });
    core.slot(3, 3, OFFLOAD, FEATURES);
    core.queue(3, 0, 8, true, true);
    const tx = core.queue(3, 1, 8, true, true);
    const io = await offload(core);
    const big = Uint8Array.from({ length: (1 << 20) + 12345 }, (_, i) => (i * 13) & 0xFF);
    const at = GUEST_BASE + (2 << 20);
    core.write(at, big);
    tx.setDesc(0, at, big.length, 0);
    tx.add(0);
    const got: Uint8Array[] = [];
    for (let i = 0; i < 10_000 && !(tx.usedIdx() === 1 && !io.busy()); i++) {
      io.waitIdle(5);
      const b = io.drainOutput();
      if (b) got.push(b);
    }
    const b = io.drainOutput();
    if (b) got.push(b);
    expect(tx.usedIdx()).toBe(1);
    expect(Buffer.compare(Buffer.concat(got), big)).toBe(0);
  });

  it('2.1.2: a hostile chain makes the worker set DEVICE_NEEDS_RESET; reset() reseeds the generator', async () => {
    const core = new FakeCore();
    core.slot(0, 4, OFFLOAD, FEATURES);
    let d = core.queue(0, 0, 8, true, true);
    const io = await offload(core);
    // A good request first: once it is used, the worker has set the queue up for polling.
    d.setDesc(1, SPARE + 0x100, 8, WRITE);
    d.add(1);
    expect(io.waitIdle(10_000)).toBe(true);
    expect(d.usedIdx()).toBe(1);
    core.ackInterrupts(0);
    d.setDesc(0, SPARE, 16, WRITE | NEXT, 0); // a loop: CHAIN_TOO_LONG
    d.add(0);
    // The worker writes nothing for a refused chain, whether it has looked at it yet or not.
    const before = core.guestRam();
    expect(io.waitIdle(10_000)).toBe(true); // a slot needing reset has no work
    expect(core.status(0) & 64).toBe(64);
    expect(core.interrupts(0)).toBe(2);
    expect(core.counter(C.RESETS)).toBe(1n);
    expect(Buffer.compare(core.guestRam(), before)).toBe(0);
    expect(d.usedIdx()).toBe(1);
    // The driver resets the device; the VM resets too.
    core.resetSlot(0);
    io.reset();
    core.slot(0, 4, OFFLOAD, FEATURES);
    d = core.queue(0, 0, 8, true, true);
    // The worker may look at the queue as soon as it is ready, before the driver adds
    // anything (here it surely does): it must find it empty, not the old run's entries (the
    // driver zeroed the queue memory, io-fake-core.ts queue()).
    expect(io.waitIdle(10_000)).toBe(true);
    expect(d.usedIdx()).toBe(0);
    d.setDesc(0, SPARE, 16, WRITE);
    d.add(0);
    expect(io.waitIdle(10_000)).toBe(true);
    expect([...core.read(SPARE, 16)]).toEqual(firstRngBytes(16));
  });

  it('busy() is false after waitIdle() while the worker keeps polling with nothing to do', async () => {
    const core = new FakeCore();
    core.slot(0, 4, OFFLOAD, FEATURES);
    const d = core.queue(0, 0, 8, true, true);
    const io = await offload(core);
    // Every pass, empty ones too, now lasts 20 ms: as a worker descheduled inside one.
    (io as OffloadBackend).testDelay(DELAY_PASS, 20);
    d.setDesc(0, SPARE, 32, WRITE);
    d.add(0);
    expect(io.waitIdle(10_000)).toBe(true);
    expect(d.usedIdx()).toBe(1);
    for (let i = 0; i < 10; i++) {
      expect(io.busy()).toBe(false);
      await new Promise((r) => setTimeout(r, 5));
    }
  });

  it('a receive chain that has taken its input and is not finished keeps busy() true', async () => {
    const core = new FakeCore();
    core.slot(3, 3, OFFLOAD, FEATURES);
    const rx = core.queue(3, 0, 8, true, true);
    core.queue(3, 1, 8, true, true);
    const io = await offload(core);
    // The worker stops for 300 ms between a chain's device work and its used entry.
    (io as OffloadBackend).testDelay(DELAY_SERVED, 300);
    rx.setDesc(0, SPARE, 16, WRITE);
    rx.add(0);
    core.input(new TextEncoder().encode('ok\n'));
    io.serviceInput();
    // Once the input is gone from the RX ring the chain no longer looks pending.
    for (let i = 0; i < 10_000 && core.rxLeft() !== 0; i++) await new Promise((r) => setTimeout(r, 1));
    expect(core.rxLeft()).toBe(0);
    const busy = io.busy();
    // Not busy means finished: the used entry is there (a loaded host may get here late).
    if (!busy) expect(rx.usedIdx()).toBe(1);
    expect(io.waitIdle(10_000)).toBe(true);
    expect(rx.usedIdx()).toBe(1);
    expect(rx.used(0)).toEqual({ id: 0, len: 3 });
    expect(core.interrupts(3) & 1).toBe(1);
    expect(core.counter(C.OFFLOAD_REQUESTS)).toBe(1n);
  });

  it('pause() waits for a pass under way and keeps the worker out until resume()', async () => {
    const core = new FakeCore();
    core.slot(0, 4, OFFLOAD, FEATURES);
    const d = core.queue(0, 0, 8, true, true);
    const io = await offload(core);
    (io as OffloadBackend).testDelay(DELAY_SERVED, 200);
    d.setDesc(0, SPARE, 16, WRITE);
    d.setDesc(1, SPARE + 0x100, 16, WRITE);
    d.add(0);
    // The generator's bytes appear before the used entry: the worker is inside the pass.
    for (let i = 0; i < 10_000 && core.read(SPARE, 16).every((b) => b === 0); i++) await new Promise((r) => setTimeout(r, 1));
    io.pause();
    // The pass finished before pause() returned: nothing of it is left to land later.
    expect(d.usedIdx()).toBe(1);
    expect(io.busy()).toBe(false);
    (io as OffloadBackend).testDelay(0, 0);
    d.add(1);
    core.ring();
    await new Promise((r) => setTimeout(r, 50));
    expect(d.usedIdx()).toBe(1);
    expect([...core.read(SPARE + 0x100, 16)]).toEqual(new Array(16).fill(0));
    io.resume();
    expect(io.waitIdle(10_000)).toBe(true);
    expect(d.usedIdx()).toBe(2);
    // resume() does not reseed: the second request has the generator's next bytes.
    expect([...core.read(SPARE, 16), ...core.read(SPARE + 0x100, 16)]).toEqual(firstRngBytes(32));
  });

  it('close() stops the worker: nothing is served afterwards', async () => {
    const core = new FakeCore();
    core.slot(0, 4, OFFLOAD, FEATURES);
    const d = core.queue(0, 0, 8, true, true);
    const io = await offload(core);
    await io.close();
    d.setDesc(0, SPARE, 16, WRITE);
    d.add(0);
    core.ring();
    await new Promise((r) => setTimeout(r, 50));
    expect(d.usedIdx()).toBe(0);
    expect(io.busy()).toBe(true);
  });
});
