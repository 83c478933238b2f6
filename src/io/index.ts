/**
 * The host and offload I/O backends (docs/io-backends.md): the virtio device models outside
 * the core. The Vm (src/vm.ts) makes one per VM with createIoBackend and drives it through
 * IoBackend; the core serves the transport for every backend and hands queue work over per
 * slot (slot record +28).
 */
import { HostBackend } from './host.js';
import { readLayout, type IoCoreHandle } from './layout.js';
import { OffloadBackend, type WorkerHandle } from './offload.js';
import type { OffloadReply } from './offload-shared.js';
import type { IoBackend } from './types.js';

export type { IoBackend } from './types.js';
export type { IoCoreExports, IoCoreHandle, CoreLayout } from './layout.js';
export { HostBackend } from './host.js';
export { OffloadBackend } from './offload.js';

export interface IoBackendOptions {
  /** The offload worker's script. Default: worker.js beside this module (in Node; from the
   * TypeScript sources, as under vitest, dist/src/io/worker.js), or Vite's bundled worker. */
  workerUrl?: URL;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node &&
  (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === undefined;

/** Node: run from dist/ the worker is beside us; run from src/ (vitest) it is in dist/. */
function defaultNodeWorkerUrl(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('../../dist/src/io/worker.js', import.meta.url)
    : new URL('./worker.js', import.meta.url);
}

async function startNodeWorker(url: URL): Promise<WorkerHandle> {
  const spec = 'node:worker_threads';
  const wt = await import(/* @vite-ignore */ spec) as typeof import('node:worker_threads');
  const w = new wt.Worker(url);
  const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
  return {
    post: (m) => w.postMessage(m),
    onReply: (f) => {
      w.on('message', (m: OffloadReply) => f(m));
      w.on('error', (e) => f({ error: e instanceof Error ? e.message : String(e) }));
    },
    stop: async () => {
      const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), 2000));
      if (await Promise.race([exited.then(() => 'done' as const), timer]) === 'late') await w.terminate();
    },
  };
}

function startWebWorker(url?: URL): WorkerHandle {
  // The literal form lets Vite find and bundle the worker module.
  const w = url ? new Worker(url, { type: 'module' }) : new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  return {
    post: (m) => w.postMessage(m),
    onReply: (f) => {
      w.onmessage = (ev: MessageEvent<OffloadReply>) => f(ev.data);
      w.onerror = (ev) => f({ error: ev.message });
    },
    // The worker leaves its loop on STOP; a Web Worker has no exit event, so end it here.
    stop: async () => { w.terminate(); },
  };
}

/**
 * Make the backend for a VM. The core must be created (its records and guest map set up, the
 * disk in place): the layout is read now, and the guest map when serving starts.
 */
export async function createIoBackend(kind: 'host' | 'offload', core: IoCoreHandle,
  opts: IoBackendOptions = {}): Promise<IoBackend> {
  const layout = readLayout(core.exports);
  if (kind === 'host') return new HostBackend(core.memory, layout, core.exports);
  if (kind !== 'offload') throw new Error(`io backend must be 'host' or 'offload', got '${String(kind)}'`);
  const worker = isNode ? await startNodeWorker(opts.workerUrl ?? defaultNodeWorkerUrl()) : startWebWorker(opts.workerUrl);
  return OffloadBackend.start(core.memory, layout, core.exports, worker);
}
