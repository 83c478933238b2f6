/**
 * The page's many-VM worker: one Host with every VM of the config, driven by MultiRunner
 * (src/web/multi-runner.ts), spoken to with the messages of src/web/multi-protocol.ts.
 */
import { instantiate } from '../../build/core.js';
import type { Instantiate } from '../core.js';
import type { FromMultiWorker, ToMultiWorker } from './multi-protocol.js';
import { DEFAULT_MULTI_TIMING, MultiRunner } from './multi-runner.js';

interface WorkerScope {
  postMessage(message: FromMultiWorker): void;
  onmessage: ((ev: MessageEvent<ToMultiWorker>) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;
const runner = new MultiRunner((m) => scope.postMessage(m), instantiate as unknown as Instantiate, DEFAULT_MULTI_TIMING);
scope.onmessage = (ev) => runner.handle(ev.data);
