/** The `hvlab` command: dispatches subcommands and turns HvlabError into a one-line message. */
import { readFileSync } from 'node:fs';
import { HvlabError } from '../errors.js';
import { runCommand } from './run.js';
import { benchCommand } from './bench.js';
import { topCommand } from './top.js';
import { sweepCommand } from './sweep.js';

const USAGE = `usage: hvlab <command> [options]

commands:
  run IMAGE     boot an image with this terminal as its console (hvlab run --help)
  run --config FILE
                many VMs in one machine, one console at a time (hvlab run --config F --help)
  top --config FILE
                run many VMs and print a per-VM table per interval (hvlab top --help)
  bench         hvos workloads in each execution mode, with their costs (hvlab bench --help)
  sweep CONFIG  run the cross product of a config's axes in parallel, cached; CSV, JSON and an
                HTML report with figures (hvlab sweep --help, docs/sweep.md)

hvlab is a hypervisor laboratory: a RISC-V RV64 machine in WebAssembly.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') { console.log(USAGE); return 0; }
    if (cmd === '--version' || cmd === '-v') { console.log(version()); return 0; }
    if (cmd === 'run') return await runCommand(rest);
    if (cmd === 'bench') return await benchCommand(rest);
    if (cmd === 'top') return await topCommand(rest);
    if (cmd === 'sweep') return await sweepCommand(rest);
    throw new HvlabError('BAD_COMMAND', `unknown command '${cmd}' (see hvlab --help)`);
  } catch (e) {
    if (e instanceof HvlabError) {
      // On the command line a raw binary can still be run: say how.
      const hint = e.code === 'NOT_AN_IMAGE' ? ' (to run a raw binary, give its load address: hvlab run --load-address 0x80000000)' : '';
      process.stderr.write(`hvlab: ${e.message}${hint}\n`);
      return 2;
    }
    // Anything else is hvlab's own bug, not the user's: still one line, with the stack on request.
    if (process.env.HVLAB_DEBUG) throw e;
    process.stderr.write(`hvlab: internal error: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]} (HVLAB_DEBUG=1 shows the stack)\n`);
    return 70;
  }
}
