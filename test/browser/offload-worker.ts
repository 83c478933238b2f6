/**
 * The VM's side of the offload backend inside a Web Worker, as the web console runs a VM (the
 * VM worker, src/web/worker.ts) with the io worker nested in it: here Atomics.wait is allowed,
 * so waitIdle blocks for real. Posts what a driver saw back to offload-page.ts.
 */
import { createIoBackend } from '../../src/io/index.js';
import { VIRTQ_DESC_F_WRITE as WRITE } from '../../src/io/queue.js';
import { FakeCore, GUEST_BASE } from '../io-fake-core.js';

const FEATURES = (1n << 32n) | (1n << 28n) | (1n << 29n);
const SPARE = GUEST_BASE + 0xA0000;

interface Scope { postMessage(m: unknown): void; onmessage: ((ev: MessageEvent) => void) | null }
const scope = globalThis as unknown as Scope;

scope.onmessage = async () => {
  try {
    const core = new FakeCore();
    core.slot(0, 4, 2, FEATURES);
    const q = core.queue(0, 0, 8, true, true);
    const io = await createIoBackend('offload', core.handle());
    q.setDesc(0, SPARE, 40, WRITE);
    q.add(0);
    const idle = io.waitIdle(10_000);
    const result = { idle, used: q.used(0), bytes: [...core.read(SPARE, 40)], usedFlags: q.usedFlags(),
      availEvent: q.availEvent(), interrupts: core.interrupts(0) };
    await io.close();
    scope.postMessage(result);
  } catch (e) {
    scope.postMessage({ error: String(e) });
  }
};
