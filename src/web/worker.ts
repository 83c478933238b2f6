/**
 * The web console's VM worker: one VM per worker, driven by VmRunner (src/web/runner.ts),
 * spoken to with the messages of src/web/protocol.ts. The page compiles the core once and
 * sends the module; the bindings come with this script.
 */
import { instantiate } from '../../build/core.js';
import type { Instantiate } from '../core.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { DEFAULT_TIMING, VmRunner } from './runner.js';
import { opfsDiskStore } from './opfs.js';

interface WorkerScope {
  postMessage(message: FromWorker): void;
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;
const runner = new VmRunner((m) => scope.postMessage(m), instantiate as unknown as Instantiate, DEFAULT_TIMING,
  opfsDiskStore());
scope.onmessage = (ev) => runner.handle(ev.data);
