/**
 * A worker for one fleet experiment of a guided lesson (web/lessons.ts): its VMs run in one Host
 * under the credit scheduler with the code the Node test runs (src/lessons/run.ts), so the page
 * shows the numbers the test checks. One message in (the compiled core, hvos, the experiment),
 * one out (the figures or the error); the page then ends the worker.
 */
import { instantiate } from '../../build/core.js';
import type { Instantiate } from '../core.js';
import type { FleetExperiment } from '../lessons/format.js';
import { runFleetExperiment } from '../lessons/run.js';

interface LessonWorkerScope {
  postMessage(message: { figures?: Record<string, number>; error?: string }): void;
  onmessage: ((ev: MessageEvent<{ module: WebAssembly.Module; hvos: Uint8Array; experiment: FleetExperiment }>) => void) | null;
}

const scope = globalThis as unknown as LessonWorkerScope;
scope.onmessage = (ev) => {
  const { module, hvos, experiment } = ev.data;
  runFleetExperiment(experiment, { module, instantiate: instantiate as unknown as Instantiate }, hvos)
    .then((r) => scope.postMessage({ figures: r.figures }))
    .catch((e: unknown) => scope.postMessage({ error: e instanceof Error ? e.message : String(e) }));
};
