/**
 * A fuzz campaign: inputs 0, 1, 2, ... of one target, each generated from (seed, index) alone,
 * run under the oracle, counted, and every failure saved as a reproducer. Used by the CLI
 * (fuzz/main.ts, `npm run fuzz`) and by the fixed-seed runs in test/fuzz.test.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FuzzFailure, Machine, flavourOf, setupName, type MachineCase, type Setup } from './engine.js';
import { buildImage } from './harness.js';
import { Rng } from './rng.js';

/** A target that runs generated code on a machine. */
export interface MachineTarget {
  name: string;
  /** What `reached` counts, for the report. */
  reach: string;
  setups: Setup[];
  generate(r: Rng, setup: Setup): MachineCase;
}

/** A target that feeds generated files to the host's loaders. */
export interface HostTarget {
  name: string;
  reach: string;
  host: true;
  /** Generate input `index`: a file (the reproducer's bytes) and what to do with it. */
  generate(r: Rng, index: number): HostCase;
}
export interface HostCase {
  what: string;
  bytes: Uint8Array;
  /** Feed the input to the code under test; true if it reached it. Throws FuzzFailure. */
  run(): Promise<boolean>;
}

export type Target = MachineTarget | HostTarget;

export interface CampaignOptions {
  seed: number;
  /** Stop after this many inputs ... */
  inputs?: number;
  /** ... or after this many seconds, whichever comes first. */
  seconds?: number;
  /** Run only this input index (replay). */
  only?: number;
  /** Where reproducers go; none saved if undefined. */
  crashDir?: string;
  /** Stop at the first failure. */
  stopOnFailure?: boolean;
  progress?: (line: string) => void;
}

export interface FailureRecord {
  target: string;
  seed: number;
  index: number;
  setup: string;
  kind: string;
  message: string;
  reproducer?: string;
  command: string;
}

export interface CampaignReport {
  target: string;
  seed: number;
  inputs: number;
  reached: number;
  reach: string;
  seconds: number;
  perSecond: number;
  failures: FailureRecord[];
  bySetup: Record<string, { inputs: number; reached: number }>;
  /** Failures by kind: host-exception, hang, escape, budget, shadow-incoherent. */
  kinds: Record<string, number>;
}

export const replayCommand = (target: string, seed: number, index: number) =>
  `npm run fuzz -- ${target} --seed ${seed} --replay ${index}`;

export async function runCampaign(target: Target, opts: CampaignOptions): Promise<CampaignReport> {
  const machines = new Map<string, Machine>();
  const report: CampaignReport = {
    target: target.name, seed: opts.seed, inputs: 0, reached: 0, reach: target.reach, seconds: 0, perSecond: 0,
    failures: [], bySetup: {}, kinds: {},
  };
  const t0 = performance.now();
  let lastProgress = t0;
  const limit = opts.only !== undefined ? 1 : opts.inputs ?? Infinity;
  const deadline = opts.seconds !== undefined ? t0 + opts.seconds * 1000 : Infinity;
  try {
    for (let n = 0; n < limit && performance.now() < deadline; n++) {
      const index = opts.only ?? n;
      const r = new Rng(opts.seed, index);
      let setup = 'host';
      let reproducer: Uint8Array | undefined;
      let reached = false;
      try {
        if ('host' in target) {
          const c = target.generate(r, index);
          setup = c.what;
          reproducer = c.bytes;
          reached = await runHostCase(c);
        } else {
          const s = target.setups[index % target.setups.length];
          setup = setupName(s);
          let m = machines.get(setup);
          if (!m) { m = await Machine.create(s); machines.set(setup, m); }
          const c = target.generate(r, s);
          reproducer = buildImage(flavourOf(s), c.input);
          const o = m.runCase(c, `${target.name}-${opts.seed}-${index}`);
          reached = c.reached(o);
        }
      } catch (e) {
        const f = e instanceof FuzzFailure ? e : new FuzzFailure('host-exception', (e as Error).stack ?? String(e));
        const rec: FailureRecord = {
          target: target.name, seed: opts.seed, index, setup, kind: f.kind, message: f.message,
          command: replayCommand(target.name, opts.seed, index),
        };
        if (opts.crashDir && reproducer) {
          mkdirSync(opts.crashDir, { recursive: true });
          const file = join(opts.crashDir, `${target.name}-${opts.seed}-${index}.bin`);
          writeFileSync(file, reproducer);
          writeFileSync(file.replace(/\.bin$/, '.txt'), `${rec.kind} in ${rec.setup}: ${rec.message}\nreplay: ${rec.command}\n`);
          rec.reproducer = file;
        }
        report.failures.push(rec);
        report.kinds[f.kind] = (report.kinds[f.kind] ?? 0) + 1;
        opts.progress?.(`FAIL ${rec.kind} ${rec.setup} input ${index}: ${rec.message.split('\n')[0]}\n  reproducer: ${rec.reproducer ?? '(not saved)'}\n  replay: ${rec.command}`);
        if (opts.stopOnFailure) break;
      }
      report.inputs++;
      if (reached) report.reached++;
      const b = (report.bySetup[setup] ??= { inputs: 0, reached: 0 });
      b.inputs++;
      if (reached) b.reached++;
      const now = performance.now();
      if (opts.progress && now - lastProgress > 10_000) {
        lastProgress = now;
        opts.progress(`${target.name}: ${report.inputs} inputs, ${report.reached} reached, ${report.failures.length} failures, ${(report.inputs / ((now - t0) / 1000)).toFixed(1)}/s`);
      }
    }
  } finally {
    for (const m of machines.values()) await m.close();
  }
  report.seconds = (performance.now() - t0) / 1000;
  report.perSecond = report.inputs / Math.max(report.seconds, 1e-9);
  return report;
}

async function runHostCase(c: HostCase): Promise<boolean> {
  const t = performance.now();
  const reached = await c.run();
  const ms = performance.now() - t;
  if (ms > 5000) throw new FuzzFailure('hang', `${c.what} took ${ms.toFixed(0)} ms`);
  return reached;
}

export function formatReport(r: CampaignReport): string {
  const pct = r.inputs ? ((100 * r.reached) / r.inputs).toFixed(1) : '0';
  const lines = [
    `target ${r.target} seed ${r.seed}: ${r.inputs} inputs in ${r.seconds.toFixed(1)} s (${r.perSecond.toFixed(1)}/s)`,
    `  reached: ${r.reached} (${pct}%) - ${r.reach}`,
    `  failures: ${r.failures.length}${Object.keys(r.kinds).length ? ` (${Object.entries(r.kinds).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`,
  ];
  for (const [s, b] of Object.entries(r.bySetup)) lines.push(`  ${s}: ${b.inputs} inputs, ${b.reached} reached`);
  for (const f of r.failures) lines.push(`  FAIL ${f.kind} ${f.setup} #${f.index}: ${f.message.split('\n')[0]}\n    ${f.reproducer ?? ''}\n    ${f.command}`);
  return lines.join('\n');
}
