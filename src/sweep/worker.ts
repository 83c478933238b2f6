/**
 * A sweep worker (Node worker_threads; built to dist/src/sweep/worker.js): it measures the
 * points the main thread sends, one at a time, with the bench's `measure` (boot to the prompt,
 * run the command, counter deltas). It keeps one VM and resets it while consecutive points
 * share its configuration, and releases it when they do not, so a worker holds one guest's
 * memory at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { HvlabError } from '../errors.js';
import { loadCoreModule } from '../node/load-core.js';
import { benchDisk, loadBenchGuest, measure, releaseVms, type BenchGuest, type GuestName } from '../bench/workloads.js';
import type { RunSpec } from './axes.js';
import type { WorkerReply, WorkerRequest } from './run.js';

const port = parentPort!;
const { root } = workerData as { root: string };
const guests = new Map<GuestName, BenchGuest>();
let lastVm = '';

async function runOne(run: RunSpec): Promise<WorkerReply> {
  const source = await loadCoreModule();
  let guest = guests.get(run.guest);
  if (!guest) { guest = await loadBenchGuest(run.guest, root); guests.set(run.guest, guest); }
  const vmKey = JSON.stringify({ g: run.guest, m: run.mode, p: run.nestedPwc, io: run.io, b: run.bootargs, vm: run.vm, d: run.workload === 'disk' });
  if (vmKey !== lastVm) { await releaseVms(); lastVm = vmKey; }
  const bootargs = run.bootargs.length ? [guest.bootargs, ...run.bootargs].filter(Boolean).join(' ') : undefined;
  const m = await measure(guest, source, run.mode, run.workload, run.command, {
    nestedPwc: run.nestedPwc, io: run.io, bootargs, vm: run.vm, gstagePages: run.vm.gstagePages,
    // Every point that reads the disk reads the same data (the bench's disk).
    disk: run.workload === 'disk' ? benchDisk() : undefined,
  });
  return {
    id: -1, counters: Object.fromEntries(Object.entries(m.counters).map(([k, v]) => [k, v.toString()])),
    wallSeconds: m.wallSeconds, output: m.output,
  };
}

port.on('message', (msg: WorkerRequest) => {
  if (msg.type === 'stop') { void releaseVms().then(() => port.close()); return; }
  const t0 = performance.now();
  runOne(msg.run).then(
    (r) => port.postMessage({ ...r, id: msg.id, seconds: (performance.now() - t0) / 1000 }),
    (e: unknown) => port.postMessage({
      id: msg.id, error: e instanceof Error ? e.message.split('\n')[0] : String(e),
      code: e instanceof HvlabError ? e.code : undefined,
    } satisfies WorkerReply),
  );
});
