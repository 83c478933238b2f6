/**
 * `hvlab sweep CONFIG`: run the cross product of a config's axes (docs/sweep.md) on worker
 * threads, each point cached by the hash of what determines it, and write CSV, JSON, the HTML
 * report and its figures. `hvlab sweep --plot FILE.csv` redraws the report from a previous run.
 */
import { readFile, mkdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { HvlabError } from '../errors.js';
import { AXES } from '../sweep/axes.js';
import { expand, parseSweepConfig, pointLabel, varyingAxes } from '../sweep/config.js';
import { currentBuild, runPoints } from '../sweep/run.js';
import { figures, parseCsv, toCsv, toHtml, toJson, type ReportMeta } from '../sweep/report.js';
import { joinNegativeValues, parseCount, writeUserFile } from './options.js';

export const SWEEP_USAGE = `usage: hvlab sweep CONFIG.json|CONFIG.toml [--out DIR] [--cache DIR | --no-cache] [--jobs N]
       hvlab sweep --plot FILE.csv [--out FILE.html]

Run every combination of the config's axes (deterministic clock), each point once: a point
already in the cache (same run, same hvlab version, core build and guest image) is not run
again. Writes DIR/NAME.csv, NAME.json, NAME.html and one NAME-FIGURE.svg per figure
(docs/sweep.md).

axes (the config's "axes" object; a value or a list of values):
${AXES.map((a) => `  ${a.name.padEnd(12)} ${a.doc}${a.pending ? ' [pending: not in this build]' : ''}`).join('\n')}

options:
  --out DIR        where the outputs go (default: sweep-out); with --plot, the HTML file
                   (default: FILE.csv with .html)
  --cache DIR      the point cache (default: $XDG_CACHE_HOME/hvlab/sweep or ~/.cache/hvlab/sweep)
  --no-cache       run every point, and store nothing
  --jobs N         worker threads (default: the machine's cores)
  --plot FILE.csv  redraw the HTML report from a sweep's CSV; nothing runs
  -h, --help       this help`;

function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'hvlab', 'sweep');
}

async function ensureDir(option: string, dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    throw new HvlabError('BAD_OUTPUT', `${option} ${dir}: cannot create the directory (${(e as Error).message.split('\n')[0]})`);
  }
}

export async function sweepCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, new Set(['--jobs'])), strict: true, allowPositionals: true, options: {
      out: { type: 'string' }, cache: { type: 'string' }, 'no-cache': { type: 'boolean' }, jobs: { type: 'string' },
      plot: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    } });
  } catch (e) {
    throw new HvlabError('BAD_OPTION', `${(e as Error).message.split('\n')[0]} (see hvlab sweep --help)`);
  }
  const v = parsed.values;
  if (v.help) { console.log(SWEEP_USAGE); return 0; }
  if (v.plot !== undefined) {
    if (parsed.positionals.length) throw new HvlabError('BAD_OPTION', '--plot redraws from a CSV: give no CONFIG with it');
    let text: string;
    try { text = await readFile(v.plot, 'utf8'); } catch { throw new HvlabError('BAD_OPTION', `--plot: cannot read ${v.plot}`); }
    const { rows, meta } = parseCsv(text, v.plot);
    const out = v.out ?? v.plot.replace(/\.csv$/i, '') + '.html';
    await writeUserFile('--out', out, toHtml(rows, meta));
    console.log(`hvlab sweep: ${rows.length} points redrawn into ${out}`);
    return 0;
  }
  if (parsed.positionals.length !== 1) throw new HvlabError('BAD_OPTION', 'give one CONFIG file (see hvlab sweep --help)');
  const configPath = parsed.positionals[0];
  if (v.cache !== undefined && v['no-cache']) throw new HvlabError('BAD_OPTION', '--cache and --no-cache contradict each other');
  const jobs = v.jobs === undefined ? undefined : parseCount('--jobs', v.jobs);
  if (jobs !== undefined && jobs > 64) throw new HvlabError('BAD_OPTION', `--jobs: ${jobs} is more than 64 worker threads`);
  let text: string;
  try { text = await readFile(configPath, 'utf8'); } catch { throw new HvlabError('BAD_OPTION', `cannot read the config ${configPath}`); }
  // Everything is checked before anything runs: the config, its product, the outputs.
  const config = parseSweepConfig(text, configPath, basename(configPath, extname(configPath)));
  const product = expand(config);
  const build = currentBuild();
  const outDir = v.out ?? 'sweep-out';
  await ensureDir('--out', outDir);
  const cacheDir = v['no-cache'] ? undefined : v.cache ?? defaultCacheDir();
  if (cacheDir) await ensureDir('--cache', cacheDir);

  const varying = varyingAxes(product.points);
  const label = (p: (typeof product.points)[number]) => pointLabel(p, varying.length ? varying : ['workload', 'mode']);
  const results = await runPoints(product.points, { cacheDir, jobs, label });
  const computed = results.filter((r) => !r.cached).length;

  const meta: ReportMeta = {
    name: config.name, description: config.description, version: build.version, core: build.core,
    command: `hvlab sweep ${configPath}${v.out !== undefined ? ` --out ${outDir}` : ''}`,
    config: config.raw, costs: config.costs, skipped: product.skipped,
  };
  const rows = results.map((r) => ({ axes: r.point.axes, counters: r.counters, wallSeconds: r.wallSeconds, cached: r.cached, hash: r.hash }));
  const base = join(outDir, config.name);
  await writeUserFile('--out', `${base}.csv`, toCsv(rows, meta));
  await writeUserFile('--out', `${base}.json`, toJson(rows, meta));
  await writeUserFile('--out', `${base}.html`, toHtml(rows, meta));
  for (const f of figures(rows, meta.costs)) await writeUserFile('--out', `${base}-${f.id}.svg`, f.svg + '\n');
  for (const s of product.skipped) {
    process.stderr.write(`sweep: not run: ${pointLabel({ axes: s.axes, run: undefined as never }, varying.length ? varying : ['workload'])}: ${s.reason}\n`);
  }
  console.log(`hvlab sweep: ${results.length} points (${computed} run, ${results.length - computed} from the cache) -> ${base}.{csv,json,html}`);
  return 0;
}
