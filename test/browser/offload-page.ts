/**
 * The page of test/browser/offload.test.ts: the offload backend (src/io) with its Web Worker,
 * over a fake core memory (test/io-fake-core.ts) in this page. window.offloadTest() plays the
 * vCPU: it makes requests available without notifying and waits (without blocking the page:
 * a page's main thread may not Atomics.wait) for the worker to use them.
 */
import { createIoBackend } from '../../src/io/index.js';
import { VIRTQ_DESC_F_NEXT as NEXT, VIRTQ_DESC_F_WRITE as WRITE } from '../../src/io/queue.js';
import { FakeCore, GUEST_BASE } from '../io-fake-core.js';

const FEATURES = (1n << 32n) | (1n << 28n) | (1n << 29n);
const OFFLOAD = 2;
const SPARE = GUEST_BASE + 0xA0000;

export interface OffloadPageResult {
  isolated: boolean;
  rngUsed: { id: number; len: number };
  rngBytes: number[];
  usedFlags: number;
  interrupts: number;
  consoleText: string;
  txUsed: { id: number; len: number };
  requests: string;
  vmRngBytes: number[];
}

async function until(what: string, pred: () => boolean, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`offload page: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function offloadTest(): Promise<OffloadPageResult> {
  const core = new FakeCore();
  core.slot(0, 4, OFFLOAD, FEATURES);
  core.slot(1, 3, OFFLOAD, FEATURES);
  const rng = core.queue(0, 0, 8, true, true);
  core.queue(1, 0, 8, true, true);
  const tx = core.queue(1, 1, 8, true, true);
  const io = await createIoBackend('offload', core.handle());
  try {
    rng.setDesc(0, SPARE, 24, WRITE);
    rng.add(0);
    core.write(SPARE + 0x1000, new TextEncoder().encode('from the '));
    core.write(SPARE + 0x1100, new TextEncoder().encode('page worker'));
    tx.setDesc(0, SPARE + 0x1000, 9, NEXT, 1);
    tx.setDesc(1, SPARE + 0x1100, 11, 0);
    tx.add(0);
    await until('both requests used', () => rng.usedIdx() === 1 && tx.usedIdx() === 1 && !io.busy());
    const out = io.drainOutput();
    const result = {
      isolated: crossOriginIsolated,
      rngUsed: rng.used(0),
      rngBytes: [...core.read(SPARE, 24)],
      usedFlags: rng.usedFlags(),
      interrupts: core.interrupts(0),
      consoleText: out ? new TextDecoder().decode(out) : '',
      txUsed: tx.used(0),
      requests: core.counter(106).toString(),
      vmRngBytes: [] as number[],
    };
    await io.close();
    // The same in a VM's scattered frames, across a page boundary.
    const vm = new FakeCore({ vm: true });
    vm.slot(0, 4, OFFLOAD, FEATURES);
    const q = vm.queue(0, 0, 8, true, true);
    const io2 = await createIoBackend('offload', vm.handle());
    try {
      q.setDesc(0, SPARE + 0x1000 - 8, 24, WRITE);
      q.add(0);
      await until('the VM request used', () => q.usedIdx() === 1 && !io2.busy());
      result.vmRngBytes = [...vm.read(SPARE + 0x1000 - 8, 24)];
    } finally {
      await io2.close();
    }
    return result;
  } finally {
    await io.close();
  }
}

(window as unknown as { offloadTest: typeof offloadTest }).offloadTest = offloadTest;
