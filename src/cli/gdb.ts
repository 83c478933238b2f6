/**
 * `hvlab run --gdb PORT [--gdb-wait]`: the guest runs under the GDB stub (src/gdb/server.ts).
 * The console is this terminal as in a plain run; input (typed or piped) is handed to the guest
 * a line at a time when it waits for some, so a piped session replays as `hvlab run` does.
 * The run ends when the guest does, when GDB kills it, or - with no debugger attached - when
 * the guest has waited a second of guest time for input that will not come.
 */
import { GdbServer } from '../gdb/server.js';
import type { StopInfo, Vm } from '../vm.js';

/** Guest time (10 MHz ticks) an idle guest with no input left waits before the run ends. */
const QUIET_TICKS = 10_000_000n;

export async function runUnderGdb(vm: Vm, port: number, wait: boolean, maxInstructions: number): Promise<StopInfo> {
  const lines: string[] = [];
  let partial = '';
  let stdinEnded = false;
  process.stdin.on('data', (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    const parts = partial.split(/(?<=\n)/);
    partial = parts[parts.length - 1].endsWith('\n') ? '' : parts.pop()!;
    lines.push(...parts.filter((p) => p.endsWith('\n')));
  });
  process.stdin.on('end', () => {
    if (partial !== '') lines.push(partial);
    partial = '';
    stdinEnded = true;
  });
  let quietSince = vm.mtime;
  let outputSeen = vm.outputBytes;
  const server = new GdbServer(vm, {
    port,
    wait,
    onIdle: () => {
      const next = lines.shift();
      if (next === undefined) return false;
      vm.sendInput(next);
      return true;
    },
    shouldEnd: () => {
      if (vm.outputBytes !== outputSeen) { outputSeen = vm.outputBytes; quietSince = vm.mtime; }
      if (vm.instructions >= BigInt(maxInstructions)) return true;
      return stdinEnded && lines.length === 0 && vm.mtime - quietSince >= QUIET_TICKS;
    },
    log: (line) => process.stderr.write(line + '\n'),
  });
  const bound = await server.listen();
  process.stderr.write(`gdb: ${wait ? 'waiting for a debugger' : 'the guest runs; a debugger may attach'} on 127.0.0.1:${bound} ` +
    `(gdb-multiarch -ex 'set architecture riscv:rv64' -ex 'target remote :${bound}')\n`);
  try {
    const end = await server.run();
    if (end.kind === 'exited') return end.info;
    if (end.kind === 'killed') return { reason: 'pass', code: 0, message: 'killed by the debugger' };
    if (vm.instructions >= BigInt(maxInstructions)) return { reason: 'limit', code: 124, message: `instruction limit ${maxInstructions} reached` };
    return { reason: 'idle', code: 0, message: 'the guest is waiting for input and none is left' };
  } finally {
    await server.close();
    process.stdin.pause();
    process.stdin.destroy();
  }
}
