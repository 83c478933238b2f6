/**
 * Running a sweep's points: each point is looked up in the cache by the hash of everything
 * its counters depend on (the run, the hvlab version, the core build, the guest images); the
 * rest run on a pool of worker threads, one point per worker at a time; a progress line on
 * stderr. Every point is deterministic (the instret clock), so a cached point is exactly what
 * running it again would give.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { HvlabError } from '../errors.js';
import { HVOS_IMAGE, LINUX_INITRD, LINUX_KERNEL, type GuestName } from '../bench/workloads.js';
import type { RunSpec } from './axes.js';
import type { Point } from './config.js';

export type WorkerRequest = { type: 'run'; id: number; run: RunSpec } | { type: 'stop' };
export interface WorkerReply {
  id: number;
  /** Counter deltas as decimal strings (u64 values do not all fit a JSON number). */
  counters?: Record<string, string>;
  wallSeconds?: number;
  /** The whole point in the worker: boot, workload, and a VM's creation when it needed one. */
  seconds?: number;
  output?: string;
  error?: string;
  code?: string;
}

export interface PointResult {
  point: Point;
  counters: Record<string, bigint>;
  /** Wall time of the run that computed it (a cached point keeps its first run's). */
  wallSeconds: number;
  cached: boolean;
  /** The cache key: sha256 of the point's identity. */
  hash: string;
}

/** The repository root: the directory above src/ (sources) or dist/ (compiled) with package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'guests'))) return dir;
    dir = dirname(dir);
  }
  throw new HvlabError('SWEEP_ROOT', 'cannot find the hvlab repository above src/sweep');
}

export function hvlabVersion(root = repoRoot()): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** What the counters of a point depend on besides the point itself. */
export interface Build { version: string; core: string; guests: Record<GuestName, string> }

export function currentBuild(root = repoRoot()): Build {
  const core = join(root, 'build', 'core.wasm');
  if (!existsSync(core)) throw new HvlabError('CORE_MISSING', 'the compiled core build/core.wasm was not found: run `npm run build` first');
  const file = (p: string) => (existsSync(join(root, p)) ? sha256(readFileSync(join(root, p))) : 'missing');
  return {
    version: hvlabVersion(root), core: sha256(readFileSync(core)),
    guests: { hvos: file(HVOS_IMAGE), linux: sha256(file(LINUX_KERNEL) + file(LINUX_INITRD)) },
  };
}

/** JSON with sorted keys, so equal objects hash alike whatever order their fields were set in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The cache key of a run: its identity and the build's (the hvlab version, core and guest hashes). */
export function pointHash(run: RunSpec, build: Build): string {
  return sha256(canonical({ format: 1, version: build.version, core: build.core, guest: build.guests[run.guest], run }));
}

interface CacheEntry { hash: string; run: RunSpec; version: string; counters: Record<string, string>; wallSeconds: number }

async function readCache(dir: string, hash: string): Promise<CacheEntry | undefined> {
  try {
    const e = JSON.parse(await readFile(join(dir, `${hash}.json`), 'utf8')) as CacheEntry;
    return e.hash === hash && e.counters ? e : undefined;
  } catch { return undefined; }
}

async function writeCache(dir: string, e: CacheEntry): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Write then rename: a sweep killed halfway never leaves a half-written entry behind.
  const tmp = join(dir, `${e.hash}.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(e) + '\n');
  await rename(tmp, join(dir, `${e.hash}.json`));
}

/** Progress on stderr: a bar rewritten in place on a terminal, a line per point otherwise. */
export class Progress {
  private done = 0;
  private computed = 0;
  private readonly start = Date.now();
  constructor(private readonly total: number, private readonly toCompute: number,
    private readonly out: NodeJS.WriteStream | { isTTY?: boolean; write(s: string): boolean } = process.stderr) {}

  point(label: string, seconds: number | undefined): void {
    this.done++;
    if (seconds !== undefined) this.computed++;
    const eta = this.eta();
    if (this.out.isTTY) {
      const width = 30;
      const fill = Math.round((this.done / this.total) * width);
      this.out.write(`\r\x1b[K[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${this.done}/${this.total}` +
        `${eta !== undefined ? `  ETA ${formatSeconds(eta)}` : ''}`);
      if (this.done === this.total) this.out.write('\n');
    } else {
      this.out.write(`sweep: [${this.done}/${this.total}] ${label}: ${seconds === undefined ? 'cached' : `${seconds.toFixed(1)} s`}` +
        `${eta !== undefined && this.done < this.total ? `, ETA ${formatSeconds(eta)}` : ''}\n`);
    }
  }

  /** Seconds left: the time per computed point so far (wall, so parallelism is in it) times those left. */
  private eta(): number | undefined {
    if (this.computed === 0) return undefined;
    return ((Date.now() - this.start) / 1000 / this.computed) * (this.toCompute - this.computed);
  }
}

export function formatSeconds(s: number): string {
  const t = Math.round(s);
  return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`;
}

export interface RunOptions {
  cacheDir?: string;
  /** Worker threads (default: the machine's cores). */
  jobs?: number;
  label: (p: Point) => string;
  /** Where progress goes (default: a Progress on stderr). */
  progress?: { point(label: string, seconds: number | undefined): void };
}

/** Run (or find in the cache) every point; results in the points' order. */
export async function runPoints(points: readonly Point[], opts: RunOptions): Promise<PointResult[]> {
  const root = repoRoot();
  const build = currentBuild(root);
  const results: (PointResult | undefined)[] = points.map(() => undefined);
  const todo: number[] = [];
  const hashes = points.map((p) => pointHash(p.run, build));
  for (const [i, p] of points.entries()) {
    const e = opts.cacheDir ? await readCache(opts.cacheDir, hashes[i]) : undefined;
    if (e) {
      results[i] = { point: p, counters: fromStrings(e.counters), wallSeconds: e.wallSeconds, cached: true, hash: hashes[i] };
    } else todo.push(i);
  }
  const progress = opts.progress ?? new Progress(points.length, todo.length);
  for (const [i, r] of results.entries()) if (r) progress.point(opts.label(points[i]), undefined);
  if (todo.length === 0) return results as PointResult[];

  const jobs = Math.max(1, Math.min(opts.jobs ?? availableParallelism(), todo.length));
  // From the TypeScript sources (vitest) the worker is the compiled one in dist/.
  const workerUrl = import.meta.url.endsWith('.ts') ? new URL('../../dist/src/sweep/worker.js', import.meta.url) : new URL('./worker.js', import.meta.url);
  const workers = Array.from({ length: jobs }, () => new Worker(workerUrl, { workerData: { root } }));
  let next = 0;
  try {
    await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
      let current = -1;
      const feed = () => {
        if (next >= todo.length) { resolve(); return; }
        current = todo[next++];
        w.postMessage({ type: 'run', id: current, run: points[current].run } satisfies WorkerRequest);
      };
      w.on('message', (r: WorkerReply) => {
        const p = points[r.id];
        if (r.error !== undefined || !r.counters) {
          reject(new HvlabError('SWEEP_POINT', `point ${opts.label(p)}: ${r.error ?? 'no result'}`));
          return;
        }
        results[r.id] = { point: p, counters: fromStrings(r.counters), wallSeconds: r.wallSeconds ?? 0, cached: false, hash: hashes[r.id] };
        const done = opts.cacheDir
          ? writeCache(opts.cacheDir, { hash: hashes[r.id], run: p.run, version: build.version, counters: r.counters, wallSeconds: r.wallSeconds ?? 0 })
          : Promise.resolve();
        done.then(() => { progress.point(opts.label(p), r.seconds ?? 0); feed(); }, reject);
      });
      w.on('error', (e) => reject(new HvlabError('SWEEP_WORKER', `a sweep worker failed${current >= 0 ? ` on ${opts.label(points[current])}` : ''}: ${e.message.split('\n')[0]}`)));
      w.on('exit', (code) => { if (next < todo.length || results[current] === undefined) reject(new HvlabError('SWEEP_WORKER', `a sweep worker exited (${code})`)); });
      feed();
    })));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results as PointResult[];
}

function fromStrings(c: Record<string, string>): Record<string, bigint> {
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [k, BigInt(v)]));
}
