/**
 * A second hvlab machine on a worker thread (Node worker_threads): a Host of its own core and
 * memory that receives a live migration (src/migrate.ts MigrationTarget) and then runs the
 * migrated VM. The migration's messages are plain data, so they cross the thread boundary as
 * they would cross a network between two machines. Request and reply, one at a time:
 *   MigrationMessage        -> { ok: true }
 *   { type: 'settle' }      -> { ok: true, output, instructions }: the VM run until it waits for
 *                              input with none left (runScripted), its console output since
 *   anything failing        -> { ok: false, error }
 * workerData: { poolMiB }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadCoreModule } from './load-core.js';
import { Host } from '../host.js';
import { MigrationTarget, type MigrationMessage } from '../migrate.js';
import { runScripted } from '../vm.js';

export type MachineRequest = MigrationMessage | { type: 'settle' };
export type MachineReply = { ok: true; output?: string; instructions?: string } | { ok: false; error: string };

const host = await Host.create({ poolMiB: (workerData as { poolMiB: number }).poolMiB }, await loadCoreModule());
const target = new MigrationTarget(host);
const port = parentPort!;

port.on('message', (m: MachineRequest) => {
  void (async (): Promise<MachineReply> => {
    if (m.type !== 'settle') { await target.receive(m); return { ok: true }; }
    const vm = target.vm;
    if (!vm) return { ok: false, error: 'no VM has migrated here' };
    await runScripted(vm, '', 2e9);
    return { ok: true, output: vm.readConsole(), instructions: vm.instructions.toString() };
  })().then((r) => port.postMessage(r), (e: unknown) => port.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) }));
});
port.postMessage({ ok: true });
