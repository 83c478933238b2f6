/**
 * `npm run bench:cpu`: MIPS of the interpreter on the CPU benchmark guest (guests/bench/cpu.c:
 * integer mix, multiply/divide, memory copies, atomics; ~253 M instructions), once in M-mode
 * without paging (cpu-bare) and once in S-mode under Sv39 with 4 KiB pages (cpu-sv39), and
 * cpu-bare's kernel compiled for RV64IMAC (cpu-rvc: the same work in compressed code, whose
 * console, with the checksum, must equal cpu-bare's).
 * Runs each REPEAT times in one process and prints the median MIPS over wall time (the time
 * spent inside the core's run()) and per CPU second (process CPU time: on a shared machine,
 * time spent descheduled does not count). Arguments name a subset of the guests.
 *
 * A/B: `node dist/src/bench/cpu.js --ab DIR_A DIR_B [guests]` loads two core builds (each a
 * directory with core.wasm and core.js, e.g. a copy of build/ made before a change) and
 * alternates their runs in this one process, so both see the same machine load.
 * See docs/performance.md.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { runGuest, type CoreSource } from '../vm.js';
import type { Instantiate } from '../core.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const repeat = Number(process.env.REPEAT ?? 5);
const GUESTS = ['cpu-bare', 'cpu-sv39', 'cpu-rvc'];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

interface Sample { wall: number; cpu: number }
const consoles = new Map<string, string>();
const instructionsOf = new Map<string, bigint>();

async function once(name: string, image: Uint8Array, source?: CoreSource): Promise<Sample> {
  const c0 = process.cpuUsage();
  const r = await runGuest(image, { maxInstructions: 2e9, source });
  const c = process.cpuUsage(c0);
  if (r.stop.reason !== 'pass') throw new Error(`${name}: ${r.stop.reason} ${r.stop.message ?? ''}\n${r.console}`);
  instructionsOf.set(name, r.instructions);
  consoles.set(name, r.console);
  const n = Number(r.instructions);
  return { wall: n / r.wallSeconds / 1e6, cpu: n / ((c.user + c.system) / 1e6) / 1e6 };
}

function line(label: string, xs: Sample[]): string {
  const w = xs.map((s) => s.wall);
  const c = xs.map((s) => s.cpu);
  return `${label} median ${median(w).toFixed(1)} MIPS, ${median(c).toFixed(1)} per CPU second  ` +
    `(runs: ${w.map((x) => x.toFixed(0)).join(' ')} | ${c.map((x) => x.toFixed(0)).join(' ')})`;
}

const image = async (name: string) => new Uint8Array(await readFile(join(root, 'guests', 'prebuilt', `${name}.elf`)));

async function loadCore(dir: string): Promise<CoreSource> {
  const module = await WebAssembly.compile(await readFile(join(dir, 'core.wasm')));
  const bindings = await import(pathToFileURL(join(dir, 'core.js')).href) as { instantiate: Instantiate };
  return { module, instantiate: bindings.instantiate };
}

const args = process.argv.slice(2);
if (args[0] === '--ab') {
  const [dirA, dirB, ...names] = args.slice(1);
  const cores = [await loadCore(resolve(dirA)), await loadCore(resolve(dirB))];
  console.log(`hvlab CPU benchmark A/B, Node ${process.version}, ${repeat} alternating runs each\nA = ${dirA}\nB = ${dirB}`);
  for (const name of names.length ? names : GUESTS) {
    const img = await image(name);
    const runs: Sample[][] = [[], []];
    for (let i = 0; i < repeat; i++) {
      for (const k of i % 2 ? [1, 0] : [0, 1]) runs[k].push(await once(name, img, cores[k]));
    }
    console.log(`${name}\n${line('  A', runs[0])}\n${line('  B', runs[1])}`);
    const ratio = (f: (s: Sample) => number) => (median(runs[1].map(f)) / median(runs[0].map(f))).toFixed(3);
    console.log(`  B/A ${ratio((s) => s.wall)} (wall), ${ratio((s) => s.cpu)} (per CPU second)`);
  }
} else {
  const want = (name: string) => args.length === 0 || args.includes(name);
  console.log(`hvlab CPU benchmark, Node ${process.version}, ${repeat} runs each`);
  const med = new Map<string, number>();
  for (const name of GUESTS.filter(want)) {
    const img = await image(name);
    const runs: Sample[] = [];
    for (let i = 0; i < repeat; i++) runs.push(await once(name, img));
    med.set(name, median(runs.map((s) => s.cpu)));
    console.log(line(`${name.padEnd(9)} ${String(instructionsOf.get(name)).padStart(10)} instructions `, runs));
  }
  const bare = med.get('cpu-bare');
  const sv39 = med.get('cpu-sv39');
  const rvc = med.get('cpu-rvc');
  if (bare && sv39) console.log(`paging costs ${((1 - sv39 / bare) * 100).toFixed(1)}% per CPU second (sv39/bare = ${(sv39 / bare).toFixed(3)})`);
  if (bare && rvc) {
    if (consoles.get('cpu-rvc') !== consoles.get('cpu-bare')) throw new Error('cpu-rvc: console (checksum) differs from cpu-bare');
    console.log(`compressed code: same checksum as cpu-bare; rvc/bare = ${(rvc / bare).toFixed(3)} per CPU second`);
  }
}
