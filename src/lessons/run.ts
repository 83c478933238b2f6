/**
 * Running a lesson's experiments (src/lessons/format.ts) on the VM API: the Node test
 * (test/lessons.test.ts) runs every experiment here and checks every claim, and the page runs
 * fleet experiments here too (src/web/lesson-worker.ts), so both measure with the same code.
 * Environment-neutral: the caller gives the core and hvos's bytes.
 *
 * A `run` experiment boots hvos with the experiment's settings on the deterministic clock,
 * waits for the prompt, then types each command (as a terminal does: the text and a carriage
 * return) and waits for the prompt again. Its figures are the counters' difference between the
 * prompt before the first command and the prompt after the last: what the commands cost,
 * boot left out. The page does the same on the live VM (web/lessons.ts): hvos at its prompt
 * arms no timer (docs/hvos.md), so the machine waits in WFI with no time passing and a
 * command's cost does not depend on when it was typed.
 */
import { Stop } from '../core.js';
import { HvlabError } from '../errors.js';
import { Fleet } from '../multi-fleet.js';
import { DEFAULT_SLICE } from '../sched.js';
import { specIoConfig } from '../multi-config.js';
import { parsePageConfig } from '../web/multi-config.js';
import { ioPathConfig, Vm, type CoreSource, type IoPath, type VmConfig } from '../vm.js';
import { counterDelta, type FleetExperiment, type RunExperiment } from './format.js';

export const HVOS_PROMPT = 'hvos$ ';
/** The page's disk size (src/web/protocol.ts DISK_MIB), here too so both boot the same machine. */
export const LESSON_DISK_MIB = 4;
/** The most instructions one experiment may take (boot and commands), so a bad lesson stops. */
export const EXPERIMENT_LIMIT = 3_000_000_000;
const SLICE = 10_000_000;

/** The VM config a `run` experiment boots (the page's worker builds the same from BootConfig). */
export function experimentConfig(e: RunExperiment): VmConfig {
  return {
    memMiB: e.memMiB, clock: 'instret', firmware: 'builtin', mode: e.mode as VmConfig['mode'],
    ...ioPathConfig(e.io as IoPath, e.disk === 'memory' ? LESSON_DISK_MIB << 20 : undefined),
  };
}


/**
 * Run the VM until hvos's prompt is the last thing it printed and it sleeps waiting for input.
 * Idle time before that (a `sleep`, a timer tick) is skipped, as the deterministic clock does.
 */
async function toPrompt(vm: Vm, out: { text: string }, what: string): Promise<void> {
  const start = vm.instructions;
  for (;;) {
    if (vm.instructions - start > BigInt(EXPERIMENT_LIMIT)) throw new HvlabError('LESSON', `${what}: no prompt after ${EXPERIMENT_LIMIT} instructions`);
    const r = vm.run(SLICE);
    if (r.info) throw new HvlabError('LESSON', `${what}: the guest stopped (${r.info.reason}${r.info.message ? `: ${r.info.message}` : ''})`);
    if (r.stop !== Stop.Idle) continue;
    if (vm.ioBusy()) { vm.ioWait(50); continue; }
    if (out.text.endsWith(HVOS_PROMPT) && vm.ticksToNextTimer() === undefined) return;
    if (!vm.idleSkip()) throw new HvlabError('LESSON', `${what}: the guest waits for input but printed no prompt`);
  }
}

export interface RunResult {
  figures: Record<string, number>;
  /** The console text of the commands (from the first command's echo to the last prompt). */
  console: string;
}

/** Boot hvos for a `run` experiment, type its commands, and count what they cost. */
export async function runExperiment(e: RunExperiment, source: CoreSource, hvos: Uint8Array): Promise<RunResult> {
  const vm = await Vm.create(experimentConfig(e), source);
  try {
    const out = { text: '' };
    vm.onConsole = (t) => { out.text += t; };
    vm.boot({ kernel: hvos, kernelName: 'hvos.elf' });
    await toPrompt(vm, out, `${e.name}: boot`);
    const before = vm.counters();
    out.text = '';
    for (const command of e.commands) {
      vm.sendInput(`${command}\r`);
      await toPrompt(vm, out, `${e.name}: ${command}`);
    }
    return { figures: counterDelta(before, vm.counters()), console: out.text };
  } finally {
    await vm.close();
  }
}

/**
 * A fleet experiment: every VM of the config boots to its prompt, then each input is typed into
 * its VM at once and the scheduler runs until every VM is back at its prompt. Figures, per VM
 * (VM.FIGURE): `sched` the instructions the scheduler gave it from the inputs to the end, `busy`
 * those it got until the first VM finished (while all of them competed: the shares the weights
 * set), `exits`, `frames` (host frames it holds); and for the host: `pool_used` frames, and with
 * merging the scanner's `pages_shared`, `pages_sharing`, `cow_breaks`. Merging goes on after the
 * run while it still finds pages (Fleet.ksmIdleStep), as ksmd does while the guests wait.
 */
export async function runFleetExperiment(e: FleetExperiment, source: CoreSource, hvos: Uint8Array): Promise<RunResult> {
  const config = parsePageConfig(e.config, ['hvos']);
  const fleet = await Fleet.create(config, source, {
    prepare: (spec) => ({ image: hvos, kernelName: 'hvos.elf', config: specIoConfig(spec) }),
  });
  try {
    const text = new Map<string, string>();
    fleet.onOutput = (m, t) => text.set(m.spec.name, (text.get(m.spec.name) ?? '') + t);
    fleet.onStop = (m) => { throw new HvlabError('LESSON', `${e.name}: VM '${m.spec.name}' stopped (${m.stop?.reason})`); };
    const atPrompt = (name: string) => (text.get(name) ?? '').endsWith(HVOS_PROMPT);
    const runUntil = (done: () => boolean, what: string, budget = SLICE) => {
      const start = fleet.total;
      while (!done()) {
        if (fleet.total - start > EXPERIMENT_LIMIT) throw new HvlabError('LESSON', `${e.name}: ${what} did not happen in ${EXPERIMENT_LIMIT} instructions`);
        if (fleet.run(budget) === 0 && fleet.allBlocked() && !done()) throw new HvlabError('LESSON', `${e.name}: every VM waits, ${what} did not happen`);
      }
    };
    runUntil(() => fleet.members.every((m) => atPrompt(m.spec.name) && fleet.stats(m).blocked), 'every VM at its prompt');
    for (const input of e.inputs) {
      if (!fleet.members.some((m) => m.spec.name === input.vm)) throw new HvlabError('LESSON', `${e.name}: input for VM '${input.vm}', which the config does not have`);
    }
    const base = new Map(fleet.members.map((m) => [m.spec.name, fleet.stats(m).instructions]));
    const typed = new Set(e.inputs.map((i) => i.vm));
    for (const m of fleet.members) text.set(m.spec.name, '');
    for (const input of e.inputs) fleet.members.find((m) => m.spec.name === input.vm)!.vm.sendInput(`${input.command}\r`);
    const busy = new Map<string, number>();
    const finished = () => fleet.members.some((m) => typed.has(m.spec.name) && atPrompt(m.spec.name));
    // One scheduler slice at a time, so `busy` ends within a slice of the first finish (with a
    // larger budget the VMs still computing would run on alone before the check, and get more).
    if (typed.size > 0) runUntil(finished, 'a command finishing', DEFAULT_SLICE);
    for (const m of fleet.members) busy.set(m.spec.name, Number(fleet.stats(m).instructions - base.get(m.spec.name)!));
    runUntil(() => fleet.allBlocked() && fleet.members.every((m) => !typed.has(m.spec.name) || atPrompt(m.spec.name)), 'every command finishing');
    while (fleet.ksmIdleStep()) { /* merge what the guests left, as ksmd does while they wait */ }
    const figures: Record<string, number> = {};
    for (const m of fleet.members) {
      const f = fleet.figures(m);
      const name = m.spec.name;
      figures[`${name}.sched`] = Number(f.sched.instructions - base.get(name)!);
      figures[`${name}.busy`] = busy.get(name)!;
      figures[`${name}.instructions`] = Number(m.vm.instructions);
      figures[`${name}.exits`] = Number(f.exits);
      figures[`${name}.frames`] = f.frames;
    }
    const pool = fleet.host.pool();
    figures.pool_used = pool.frames - pool.free;
    const ksm = fleet.ksm();
    if (ksm) {
      figures.pages_shared = ksm.pagesShared;
      figures.pages_sharing = ksm.pagesSharing;
      figures.cow_breaks = ksm.cowBreaks;
    }
    return { figures, console: [...text].map(([k, v]) => `[${k}] ${v}`).join('\n') };
  } finally {
    await fleet.close();
  }
}
