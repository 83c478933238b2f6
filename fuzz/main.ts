/**
 * `npm run fuzz -- TARGET [--seconds N] [--inputs N] [--seed S] [--replay INDEX] [--crashes DIR]`
 * (docs/reliability.md). TARGET is one of the targets in fuzz/targets/ or `all`. Without
 * --seconds or --inputs a target runs for 60 seconds. Exit status 1 if anything failed.
 */
import { join } from 'node:path';
import { formatReport, runCampaign } from './campaign.js';
import { TARGETS, targetByName } from './targets/index.js';
import { HvlabError } from '../src/errors.js';

function usage(): string {
  return `usage: npm run fuzz -- TARGET|all [--seconds N] [--inputs N] [--seed S] [--replay INDEX] [--crashes DIR]\ntargets: ${TARGETS.map((t) => t.name).join(', ')}`;
}

function parse(argv: string[]) {
  const o: { target?: string; seconds?: number; inputs?: number; seed: number; replay?: number; crashes: string } = { seed: 1, crashes: 'fuzz/crashes' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new HvlabError('BAD_OPTION', `${a} needs a non-negative number, got '${argv[i] ?? ''}'`);
      return v;
    };
    if (a === '--seconds') o.seconds = num();
    else if (a === '--inputs') o.inputs = num();
    else if (a === '--seed') o.seed = num() >>> 0;
    else if (a === '--replay') o.replay = num();
    else if (a === '--crashes') o.crashes = argv[++i] ?? o.crashes;
    else if (a === '--help' || a === '-h') { console.log(usage()); process.exit(0); }
    else if (!a.startsWith('-') && o.target === undefined) o.target = a;
    else throw new HvlabError('BAD_OPTION', `unknown option '${a}'\n${usage()}`);
  }
  if (!o.target) throw new HvlabError('BAD_OPTION', `no target\n${usage()}`);
  return o;
}

async function main(): Promise<number> {
  const o = parse(process.argv.slice(2));
  const targets = o.target === 'all' ? TARGETS : [targetByName(o.target!)];
  if (!targets[0]) throw new HvlabError('BAD_OPTION', `unknown target '${o.target}'\n${usage()}`);
  const seconds = o.seconds ?? (o.inputs === undefined ? 60 : undefined);
  let failed = 0;
  for (const t of targets) {
    const r = await runCampaign(t!, {
      seed: o.seed, inputs: o.inputs, seconds, only: o.replay, crashDir: join(process.cwd(), o.crashes),
      progress: (line) => console.log(line),
    });
    console.log(formatReport(r));
    failed += r.failures.length;
  }
  return failed > 0 ? 1 : 0;
}

main().then((code) => process.exit(code), (e) => {
  if (e instanceof HvlabError) { console.error(`fuzz: ${e.message}`); process.exit(2); }
  console.error(e);
  process.exit(3);
});
