/**
 * `npm run bench:hv`: the hypervisor's two performance targets (issue 4), medians of REPEAT
 * runs in one process:
 *  - hvos `compute` under hvm-nested within 10% of native wall time (the guest runs without
 *    exits once its TLB is warm, so it should run at the interpreter's native speed);
 *  - a light exit (an emulated CSR read under trap-emulate, guests/bench/exits.S) at most
 *    150 ns: (wall under trap-emulate - wall native) / number of exits.
 *  - a heavy exit: a device access served by a device modeled in TypeScript.
 * See docs/performance.md.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { MODES, runGuest, runScripted, Vm } from '../vm.js';
import { loadCoreModule } from '../node/load-core.js';
import { measure } from './workloads.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const repeat = Number(process.env.REPEAT ?? 7);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[(s.length - 1) >> 1]; };

const source = await loadCoreModule();
const hvos = new Uint8Array(await readFile(join(root, 'guests', 'hvos', 'prebuilt', 'hvos.elf')));
console.log(`hvlab hypervisor benchmark, Node ${process.version}, median of ${repeat} runs`);

// Modes interleaved run by run, so a burst of load elsewhere hits them all alike.
const wallMs: Record<string, number[]> = {};
for (let i = 0; i < repeat; i++) {
  for (const mode of MODES) {
    const m = await measure(hvos, source, mode, 'compute', 'compute 3000000');
    (wallMs[mode] ??= []).push(m.wallSeconds * 1000);
  }
}
for (const mode of MODES) {
  const w = median(wallMs[mode]);
  console.log(`compute 3000000  ${mode.padEnd(12)} ${w.toFixed(1).padStart(6)} ms  ${(w / median(wallMs.native)).toFixed(3)} x native`);
}

const exitsImage = new Uint8Array(await readFile(join(root, 'guests', 'prebuilt', 'exits.elf')));
const wall = async (mode: 'native' | 'trap-emulate') => {
  const r = await runGuest(exitsImage, { mode, firmware: 'builtin', source });
  if (r.stop.reason !== 'pass') throw new Error(`exits.elf under ${mode}: ${r.stop.reason}`);
  return { seconds: r.wallSeconds, exits: Number(r.counters.EXITS ?? 0n) };
};
const nat: number[] = [];
const tes: number[] = [];
let exitCount = 0;
for (let i = 0; i < repeat; i++) {
  nat.push((await wall('native')).seconds);
  const t = await wall('trap-emulate');
  tes.push(t.seconds);
  exitCount = t.exits;
}
const native = { seconds: median(nat) };
const te = { seconds: median(tes), exits: exitCount };
console.log(`light exit (emulated CSR read, trap-emulate): ${te.exits} exits, ` +
  `${((te.seconds - native.seconds) / te.exits * 1e9).toFixed(0)} ns each ` +
  `(${(te.seconds * 1000).toFixed(1)} ms vs ${(native.seconds * 1000).toFixed(1)} ms native)`);

// Heavy exits: guests/bench/hostio.S makes 2003 accesses to a device modeled in TypeScript;
// each leaves the core for the host and comes back (compare the light exit above).
const hostio = new Uint8Array(await readFile(join(root, 'guests', 'prebuilt', 'hostio.elf')));
const heavy: number[] = [];
let deviceExits = 0;
for (let i = 0; i < repeat; i++) {
  const vm = await Vm.create({ mode: 'hvm-nested' }, source);
  vm.attachDevice(0x1000_8000n, 0x1000n, { read: () => 1n, write: () => {} });
  vm.load(hostio, 'hostio.elf');
  const stop = await runScripted(vm, '', 1e8);
  if (stop.reason !== 'pass') throw new Error(`hostio.elf: ${stop.reason}`);
  deviceExits = Number(vm.counters().EXIT_HOST ?? 0n);
  heavy.push(vm.wallTime);
}
console.log(`heavy exit (a device modeled in TypeScript, hvm-nested): ${deviceExits} exits, ` +
  `${(median(heavy) / deviceExits * 1e9).toFixed(0)} ns each`);
