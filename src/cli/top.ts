/**
 * `hvlab top --config FILE`: run a config file's VMs and print the per-VM table (fleet.ts
 * topTable) after every interval, in batch mode as `xentop -b` does. The interval is counted
 * in instructions run by the whole machine, not seconds, so under the deterministic clock the
 * tables are the same on every run. Each VM's scripted `input` (the config's) is typed as it
 * waits for it; the consoles themselves are not shown.
 */
import { parseArgs } from 'node:util';
import { HvlabError } from '../errors.js';
import { loadCoreModule } from '../node/load-core.js';
import { Fleet, topTable, type TopMark } from './fleet.js';
import { loadMultiConfig } from './multi-config.js';
import { joinNegativeValues, parseCount } from './options.js';

export const TOP_USAGE = `usage: hvlab top --config FILE [--interval N] [--iterations K]

Run the VMs of a config file (as hvlab run --config does, without their consoles) and print a
table per interval, as xentop -b does: each VM's name, mode, state (running, blocked on input,
or how it stopped), instructions so far and its share of the interval's, VM exits, scheduler
slices and waits, and the frames it shares when the host merges pages.

options:
  --config FILE      the VMs (docs/multi-vm.md "The config file")
  --interval N       instructions the machine runs between tables (default 10000000)
  --iterations K     print K tables, then stop (default: until every VM waits or stopped)
  -h, --help         this help`;

export const DEFAULT_TOP_INTERVAL = 10_000_000;
/** Instructions run between deliveries of scripted input lines within an interval. */
const CHUNK = 1_000_000;

interface TopOptions { config: string; interval: number; iterations: number }

export function parseTopArgs(argv: string[]): TopOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv, new Set(['--config', '--interval', '--iterations'])),
      allowPositionals: false,
      strict: true,
      options: { config: { type: 'string' }, interval: { type: 'string' }, iterations: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0].replace(/\. To specify a positional.*$/, '');
    throw new HvlabError('BAD_OPTION', `${msg} (see hvlab top --help)`);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.config === undefined) throw new HvlabError('BAD_OPTION', 'top: no config given: hvlab top --config FILE (see hvlab top --help)');
  return {
    config: v.config,
    interval: v.interval === undefined ? DEFAULT_TOP_INTERVAL : parseCount('--interval', v.interval),
    iterations: v.iterations === undefined ? Number.MAX_SAFE_INTEGER : parseCount('--iterations', v.iterations),
  };
}

export async function topCommand(argv: string[]): Promise<number> {
  const opts = parseTopArgs(argv);
  if (opts === 'help') { console.log(TOP_USAGE); return 0; }
  const config = await loadMultiConfig(opts.config);
  const fleet = await Fleet.create(config, await loadCoreModule());
  try {
    let mark: TopMark | undefined;
    for (let i = 1; i <= opts.iterations; i++) {
      let ran = 0;
      while (ran < opts.interval) {
        fleet.deliverLines();
        if (fleet.allWaiting()) break;
        const r = fleet.run(Math.min(CHUNK, opts.interval - ran));
        ran += r;
        // Nothing ran: every VM is blocked or stopped (lines, if any, go in on the next turn).
        if (r === 0 && fleet.members.every((m) => m.lines.length === 0 || m.stop)) break;
      }
      const t = topTable(fleet, mark, `hvlab top: interval ${i}, ${ran} instructions, ${fleet.total} in all`);
      mark = t.mark;
      process.stdout.write((i > 1 ? '\n' : '') + t.text);
      if (fleet.allWaiting()) break;
    }
  } finally {
    await fleet.close();
  }
  return 0;
}
