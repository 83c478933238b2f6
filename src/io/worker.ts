/**
 * The offload worker's entry: a Web Worker module in the browser, a worker_threads worker in
 * Node (built to dist/src/io/worker.js). It takes one OffloadInit message, answers
 * { ready: true } and polls until the main side sets STOP (worker-loop.ts).
 */
import { runOffloadWorker } from './worker-loop.js';
import { CTRL_FAILED, type OffloadInit, type OffloadReply } from './offload-shared.js';

interface Port { post(m: OffloadReply): void; once(f: (m: OffloadInit) => void): void }

async function port(): Promise<Port> {
  const g = globalThis as unknown as { WorkerGlobalScope?: unknown; postMessage(m: unknown): void;
    addEventListener(t: 'message', f: (ev: MessageEvent) => void, o: { once: boolean }): void };
  if (g.WorkerGlobalScope !== undefined) {
    return { post: (m) => g.postMessage(m), once: (f) => g.addEventListener('message', (ev) => f(ev.data as OffloadInit), { once: true }) };
  }
  const spec = 'node:worker_threads';
  const wt = await import(/* @vite-ignore */ spec) as typeof import('node:worker_threads');
  const p = wt.parentPort;
  if (!p) throw new Error('hvlab io worker: not started as a worker');
  return { post: (m) => p.postMessage(m), once: (f) => p.once('message', f) };
}

const p = await port();
p.once((init) => {
  p.post({ ready: true });
  try {
    runOffloadWorker(init);
  } catch (e) {
    Atomics.store(new Int32Array(init.control), CTRL_FAILED, 1);
    p.post({ error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) });
  }
});
