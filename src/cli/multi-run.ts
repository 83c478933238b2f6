/**
 * `hvlab run --config FILE`: the VMs of a config file (multi-config.ts) in one Host, run by
 * the Scheduler, with this terminal showing one VM's console at a time (mux.ts).
 *   - stdin a TTY: raw mode; Ctrl-A N / P switch VMs, Ctrl-A 0..9 jumps, Ctrl-A T prints the
 *     top table, Ctrl-A X quits. Background VMs keep running.
 *   - stdin piped: the script goes through the same key handling. Each line typed for a VM
 *     is delivered when that VM waits for input; a switch (or any other Ctrl-A command) takes
 *     effect once the VM shown waits for input, so the output is the same on every run.
 * The run ends when every VM has stopped or waits for input with no script left. Exit status:
 * 0, or the status of the first VM (in config order) that failed or stopped with an error;
 * 124 when --max-instructions ran out.
 */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { HvlabError } from '../errors.js';
import { loadCoreModule } from '../node/load-core.js';
import { inputLines } from '../vm.js';
import { Fleet, topTable, type Member, type TopMark } from './fleet.js';
import { loadMultiConfig } from './multi-config.js';
import { ConsoleMux, MUX_HELP, type MuxAction } from './mux.js';
import { checkOutputPath, joinNegativeValues, parseCount, writeUserFile } from './options.js';

export const MULTI_RUN_USAGE = `usage: hvlab run --config FILE [options]

Run the VMs a config file names (docs/multi-vm.md "The config file") in one machine, sharing
its hart by the credit scheduler, with this terminal showing one VM's console at a time.

options:
  --config FILE           the machine: its pool, scheduler slice and same-page merging
                          (ksm), and each VM's name, image, mode, memory, io, weight, cap,
                          disk or drive, append and scripted input
  --max-instructions N    stop after N instructions in all (exit status 124)
  --stats FILE|-          per-VM counters and scheduler statistics as JSON, to FILE or stderr
  -h, --help              this help

In the console: Ctrl-A N / Ctrl-A P show the next / previous VM, Ctrl-A 0..9 VM number 0..9,
Ctrl-A Ctrl-A the VM shown before, Ctrl-A T the per-VM table of hvlab top, Ctrl-A A sends a
Ctrl-A, Ctrl-A X quits, Ctrl-A H shows these keys. On a switch a one-line banner names the VM
and its last 4 KiB of output is shown again. Piped input goes through the same keys.`;

/** Instructions the scheduler runs between looks at the script and the keyboard. */
const CHUNK = 1_000_000;

/** The options of `hvlab run` that a config file gives per VM instead. */
const PER_VM_OPTIONS = ['--mode', '--nested-pwc', '--gstage-pages', '--tlb-model', '--firmware', '--kernel', '--initrd', '--append', '--mem', '--clock',
  '--load-address', '--trace', '--io', '--no-virtio-console', '--drive', '--disk'];

interface MultiRunOptions { config: string; maxInstructions: number; stats?: string }

export function parseMultiRunArgs(argv: string[]): MultiRunOptions | 'help' {
  const perVm = argv.find((a) => PER_VM_OPTIONS.includes(a.split('=')[0]));
  if (perVm !== undefined) {
    throw new HvlabError('BAD_OPTION', `run: ${perVm.split('=')[0]} does not go with --config: each VM's settings are in the config file`);
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv, new Set(['--config', '--max-instructions', '--stats'])),
      allowPositionals: true,
      strict: true,
      options: { config: { type: 'string' }, 'max-instructions': { type: 'string' }, stats: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0].replace(/\. To specify a positional.*$/, '');
    throw new HvlabError('BAD_OPTION', `${msg} (see hvlab run --help)`);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (parsed.positionals.length > 0) {
    throw new HvlabError('BAD_OPTION', `run: with --config the images are in the config file, not on the command line (${parsed.positionals[0]})`);
  }
  return {
    config: v.config!,
    maxInstructions: v['max-instructions'] === undefined ? Number.MAX_SAFE_INTEGER : parseCount('--max-instructions', v['max-instructions']),
    stats: v.stats,
  };
}

/** The one-line banner on a switch: which VM the terminal now shows. */
export function banner(m: Member, count: number): string {
  return `\r\n[hvlab: VM ${m.index} '${m.spec.name}' (${m.spec.mode}) - Ctrl-A 0..${count - 1} or N/P switch, Ctrl-A H keys]\r\n`;
}

export async function multiRunCommand(argv: string[]): Promise<number> {
  const opts = parseMultiRunArgs(argv);
  if (opts === 'help') { console.log(MULTI_RUN_USAGE); return 0; }
  const config = await loadMultiConfig(opts.config);
  if (opts.stats !== undefined && opts.stats !== '-') await checkOutputPath('--stats', opts.stats);
  const fleet = await Fleet.create(config, await loadCoreModule());
  const mux = new ConsoleMux(fleet.members.length);

  let stdoutOpen = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    stdoutOpen = false;
  });
  const write = (s: string) => { if (stdoutOpen) process.stdout.write(s); };
  fleet.onOutput = (m, text) => { if (m.index === mux.focus) write(text); };
  fleet.onStop = (m) => {
    const note = `\r\n[hvlab: VM '${m.spec.name}' stopped: ${m.stop!.reason}${m.stop!.reason === 'fail' ? ` (code ${m.stop!.code})` : ''}${m.stop!.message ? `: ${m.stop!.message}` : ''}]\r\n`;
    m.tail.push(note);
    if (m.index === mux.focus) write(note);
  };
  let mark: TopMark | undefined;
  /** Carry out one mux action; returns false on quit. */
  const act = (a: MuxAction, deliver: (m: Member, bytes: Uint8Array) => void): boolean => {
    if (a.kind === 'input') deliver(fleet.members[a.vm], a.bytes);
    else if (a.kind === 'switch') {
      const m = fleet.members[a.to];
      write(banner(m, fleet.members.length) + m.tail.recent());
    } else if (a.kind === 'no-such-vm') write(`\r\n[hvlab: no VM ${a.index}; VMs 0..${fleet.members.length - 1}]\r\n`);
    else if (a.kind === 'help') write('\r\n' + MUX_HELP.join('\r\n') + '\r\n');
    else if (a.kind === 'top') {
      const t = topTable(fleet, mark, `hvlab top: ${fleet.total} instructions`);
      mark = t.mark;
      write('\r\n' + t.text.replace(/\n/g, '\r\n'));
    } else if (a.kind === 'quit') return false;
    return true;
  };
  write(banner(fleet.members[0], fleet.members.length).slice(2));

  let limited = false;
  const step = async (): Promise<number> => {
    const left = opts.maxInstructions - fleet.total;
    if (left <= 0) { limited = true; return 0; }
    const ran = fleet.run(Math.min(left, CHUNK));
    if (stdoutOpen && process.stdout.writableNeedDrain) await once(process.stdout, 'drain');
    return ran;
  };

  try {
    if (process.stdin.isTTY) await interactive(fleet, mux, act, step, () => limited);
    else await scripted(fleet, mux, await readAllStdin(), act, step, () => limited);
    await fleet.writeBackDrives((path, data) => writeUserFile(`${config.path}: drive`, path, data));
    if (opts.stats !== undefined) {
      const json = JSON.stringify(fleet.statsDocument(), null, 2);
      if (opts.stats === '-') process.stderr.write(json + '\n');
      else await writeUserFile('--stats', opts.stats, json + '\n');
    }
  } finally {
    await fleet.close();
  }
  if (limited) {
    process.stderr.write(`\nhvlab: instruction limit ${opts.maxInstructions} reached\n`);
    return 124;
  }
  const bad = fleet.members.find((m) => m.stop && (m.stop.reason === 'fail' || m.stop.reason === 'error'));
  if (bad) {
    process.stderr.write(`\nhvlab: VM '${bad.spec.name}' ${bad.stop!.reason === 'fail' ? `failed with code ${bad.stop!.code}` : `stopped: ${bad.stop!.message}`}\n`);
    return Math.min(255, bad.stop!.code);
  }
  return 0;
}

type Act = (a: MuxAction, deliver: (m: Member, bytes: Uint8Array) => void) => boolean;

/**
 * Piped input: the whole script through the mux first, then the actions in order. Lines typed
 * for a VM queue on it and go in one at a time as it waits (Fleet.deliverLines); every other
 * action waits until the VM shown has nothing left to do, as a person would wait for a prompt.
 */
async function scripted(fleet: Fleet, mux: ConsoleMux, script: string, act: Act, step: () => Promise<number>, limited: () => boolean): Promise<void> {
  const actions = mux.feed(new TextEncoder().encode(script));
  // The mux has already moved its focus to the end of the script; the screen follows the
  // actions as they are carried out.
  mux.focus = 0;
  const decoder = new TextDecoder();
  const queue = (m: Member, bytes: Uint8Array) => { m.lines.push(...inputLines(decoder.decode(bytes))); };
  let next = 0;
  // Turns in a row in which the scheduler ran nothing: every VM is blocked or stopped.
  let stalled = 0;
  for (;;) {
    fleet.deliverLines();
    // Input for a VM queues at once; anything else waits until the shown VM waits.
    while (next < actions.length && actions[next].kind === 'input') act(actions[next++], queue);
    if (next < actions.length && (stalled > 1 || fleet.waiting(fleet.members[mux.focus]))) {
      stalled = 0;
      const a = actions[next++];
      if (a.kind === 'switch') mux.focus = a.to;
      if (!act(a, queue)) return;
      continue;
    }
    if (next >= actions.length && (stalled > 1 || fleet.allWaiting())) return;
    stalled = await step() === 0 ? stalled + 1 : 0;
    if (limited()) return;
  }
}

/** A terminal: raw keys through the mux; VMs run between keystrokes. */
async function interactive(fleet: Fleet, mux: ConsoleMux, act: Act, step: () => Promise<number>, limited: () => boolean): Promise<void> {
  const stdin = process.stdin;
  let quit = false;
  let wake: (() => void) | undefined;
  stdin.setRawMode(true);
  stdin.resume();
  // Every VM's virtio console learns the terminal's size, and every resize (virtio 5.3.6.2).
  const resize = () => { for (const m of fleet.members) if (!m.stop) m.vm.resizeConsole(process.stdout.columns ?? 80, process.stdout.rows ?? 24); };
  resize();
  process.stdout.on('resize', resize);
  const typed = (m: Member, bytes: Uint8Array) => m.vm.sendInput(bytes);
  stdin.on('data', (buf: Buffer) => {
    for (const a of mux.feed(buf)) if (!act(a, typed)) { quit = true; break; }
    wake?.();
  });
  try {
    while (!quit) {
      const ran = await step();
      if (limited()) return;
      if (fleet.members.every((m) => m.stop)) return;
      if (ran === 0) {
        // Every VM waits for a key: sleep until one comes.
        await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, 1000); });
        wake = undefined;
      } else {
        await new Promise<void>((r) => setImmediate(r));
      }
    }
  } finally {
    process.stdout.off('resize', resize);
    stdin.setRawMode(false);
    stdin.pause();
  }
}

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
