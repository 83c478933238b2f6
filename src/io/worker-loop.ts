/**
 * The offload worker's body, environment-neutral (worker.ts is the entry for Node's
 * worker_threads and the browser's Web Worker). It polls the rings of every offload slot over
 * the shared guest memory: the guest was told not to notify (queue.ts vqSuppressNotify), so a
 * request costs the vCPU no exit at all, and a completion is an Atomics.or on InterruptStatus
 * that the core samples at its next chunk boundary, without stopping.
 *
 * Polling: after a pass that found work it keeps polling for SPIN_MS of wall time (a driver
 * usually adds the next request right away; a device asleep would answer up to a sleep late,
 * and a driver that waits for each completion pays that per request), then sleeps on the
 * core's doorbell word with Atomics.wait
 * and a 1 ms timeout. The core bumps and notifies the doorbell on any QueueNotify of an
 * offload slot (a driver that ignores the suppression, or one before its queues are set up),
 * and the main side notifies it to wake the worker for a reset or to stop.
 */
import { ByteRing, type ConsoleOut } from './console.js';
import { Engine } from './engine.js';
import { CounterId, QUEUES_PER_SLOT, SLOT_COUNT } from './layout.js';
import { CTRL_DELAY_AT, CTRL_DELAY_MS, CTRL_DISK_BYTES, CTRL_DISK_LIN, CTRL_HOLDING, CTRL_PASSES, CTRL_PAUSE, CTRL_RESEED,
  CTRL_RESET_ACK, CTRL_RESET_REQ, CTRL_RNG_HI, CTRL_RNG_LO, CTRL_RNG_SET, CTRL_STOP, DELAY_PASS, DELAY_SERVED, OUT_SIZE,
  type OffloadInit } from './offload-shared.js';
import { QueueError } from './queue.js';

/** How long the worker keeps polling after its last work before it sleeps. */
const SPIN_MS = 5;
const SLEEP_MS = 1;

/** Console output into the shared ring; when it is full, wait for the Vm to drain it. */
class OffloadConsoleOut implements ConsoleOut {
  constructor(private readonly ring: ByteRing, private readonly control: Int32Array) {}
  write(src: Uint8Array, start: number, end: number): void {
    const tailIdx = (this.ring.lin + 4) >>> 2;
    let s = start;
    while (s < end) {
      const tail = Atomics.load(this.ring.mem.i32, tailIdx);
      s += this.ring.put(src, s, end);
      if (s < end) {
        if (Atomics.load(this.control, CTRL_STOP) !== 0) return;
        Atomics.wait(this.ring.mem.i32, tailIdx, tail, SLEEP_MS);
      }
    }
  }
}

/** One polling pass over every offload slot; returns the chains served and errors met. */
export function offloadPass(engine: Engine): { chains: number; errors: number } {
  let chains = 0;
  let errors = 0;
  for (let n = 0; n < SLOT_COUNT; n++) {
    if (!engine.mine(n) || !engine.live(n)) continue;
    for (let qi = 0; qi < QUEUES_PER_SLOT; qi++) {
      const r = engine.serveQueue(n, qi);
      chains += r.chains;
      if (r.error !== QueueError.NONE) errors++;
    }
  }
  if (chains > 0) engine.count(CounterId.VIRTIO_OFFLOAD_REQUESTS, chains);
  if (chains > 0 || errors > 0) engine.count(CounterId.VIRTIO_OFFLOAD_POLLS);
  return { chains, errors };
}

/**
 * Run until told to stop.
 *
 * What the Vm's busy() may conclude from what it reads (offload.ts): a chain is pending while
 * its avail entry is past the record's lastAvail, and the record moves only in saveCursors,
 * after the chain's used entry and interrupt; but between the take and that point a receive
 * chain has already eaten its input (so it no longer looks pending), and the pass's counters
 * and PASSES come after saveCursors. HOLDING covers exactly that stretch: it is set before the
 * first take of a pass (Engine.onTake) and cleared after everything the pass wrote. It used to
 * be set around every pass, empty ones too, so that busy() was true whenever it met the worker
 * in one of the passes it makes while it keeps polling (SPIN_MS), with nothing to do: busy()
 * right after waitIdle() returned true could be true (seen under load, when the worker was
 * descheduled inside such a pass).
 */
export function runOffloadWorker(init: OffloadInit): void {
  const control = new Int32Array(init.control);
  const outMem = { i32: new Int32Array(init.output), u8: new Uint8Array(init.output) };
  const out = new OffloadConsoleOut(new ByteRing(outMem, 0, OUT_SIZE), control);
  const engine = new Engine(init.memory, init.layout, 'offload', out);
  const bell = init.layout.doorbell >>> 2;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const delay = (at: number): void => {
    if (Atomics.load(control, CTRL_DELAY_AT) === at) Atomics.wait(nap, 0, 0, Atomics.load(control, CTRL_DELAY_MS));
  };
  let holding = false;
  engine.onTake = () => {
    if (holding) return;
    holding = true;
    Atomics.store(control, CTRL_HOLDING, 1);
  };
  engine.onServed = () => delay(DELAY_SERVED);
  // The generator's state, for snapshots (offload.ts rngState): published whenever it may have
  // changed and the worker holds nothing.
  const publishRng = () => {
    const x = engine.rng.state;
    Atomics.store(control, CTRL_RNG_LO, Number(x & 0xFFFF_FFFFn) | 0);
    Atomics.store(control, CTRL_RNG_HI, Number(x >> 32n) | 0);
  };
  engine.reset();
  publishRng();
  let lastWork = performance.now();
  // Paused by the last request: the worker's own state, changed only when it takes a request.
  // Reading the shared PAUSE word here instead would let a paused worker see the Vm's next
  // request half posted (PAUSE cleared, RESET_REQ not yet moved) and pass with the old
  // guest map and generator.
  let paused = false;
  while (Atomics.load(control, CTRL_STOP) === 0) {
    // A request is handled here, between passes, never inside one: once it is acknowledged
    // the Vm may rewrite guest memory and the records (offload.ts pause()). Its words were
    // stored before RESET_REQ moved, and the Vm changes none until the acknowledgement.
    const req = Atomics.load(control, CTRL_RESET_REQ);
    if (req !== Atomics.load(control, CTRL_RESET_ACK)) {
      paused = Atomics.load(control, CTRL_PAUSE) !== 0;
      if (!paused) {
        engine.setDisk(Atomics.load(control, CTRL_DISK_LIN) >>> 0, Atomics.load(control, CTRL_DISK_BYTES) >>> 0);
        if (Atomics.load(control, CTRL_RESEED) !== 0) engine.reset();
        else engine.guest.reload();
        // A snapshot restored hands over the generator's state (set while the worker was paused).
        if (Atomics.load(control, CTRL_RNG_SET) !== 0) {
          engine.rng.state = (BigInt(Atomics.load(control, CTRL_RNG_HI) >>> 0) << 32n) | BigInt(Atomics.load(control, CTRL_RNG_LO) >>> 0);
          Atomics.store(control, CTRL_RNG_SET, 0);
        }
        publishRng();
      }
      Atomics.store(control, CTRL_RESET_ACK, req);
      Atomics.notify(control, CTRL_RESET_ACK);
    }
    if (paused) {
      Atomics.wait(control, CTRL_RESET_REQ, req, SLEEP_MS);
      continue;
    }
    engine.mem.refresh();
    const seen = Atomics.load(engine.mem.i32, bell);
    delay(DELAY_PASS);
    const r = offloadPass(engine);
    if (r.chains > 0 || r.errors > 0) {
      lastWork = performance.now();
      publishRng();
      Atomics.add(control, CTRL_PASSES, 1);
    }
    // PASSES moves before HOLDING clears, so a Vm that sees HOLDING 0 also sees the pass
    // counted (Vm.ioBusy compares progress()); waiters on PASSES are woken after both.
    if (holding) {
      holding = false;
      Atomics.store(control, CTRL_HOLDING, 0);
    }
    if (r.chains > 0 || r.errors > 0) {
      Atomics.notify(control, CTRL_PASSES);
    } else if (performance.now() - lastWork > SPIN_MS) {
      Atomics.wait(engine.mem.i32, bell, seen, SLEEP_MS);
    }
  }
}
