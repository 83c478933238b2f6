/**
 * `npm run bench:boot`: wall time for hvos to boot to its shell prompt on hvlab under Node:
 * from creating the VM (the compiled core cached, as in a running host) through loading the
 * image and running until the shell waits for input. Prints the median of REPEAT boots in one
 * process, and the first (cold) boot separately: it includes compiling the wasm core.
 * See docs/performance.md.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { runScripted, Vm } from '../vm.js';
import { loadCoreModule } from '../node/load-core.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const repeat = Number(process.env.REPEAT ?? 21);
const image = await readFile(join(root, 'guests', 'hvos', 'prebuilt', 'hvos.elf'));

async function boot(): Promise<{ ms: number; instructions: bigint; prompt: boolean }> {
  const t0 = performance.now();
  const vm = await Vm.create({ firmware: 'builtin' }, await loadCoreModule());
  vm.load(image, 'hvos.elf');
  const stop = await runScripted(vm, '', 50_000_000);
  const ms = performance.now() - t0;
  return { ms, instructions: vm.instructions, prompt: stop.reason === 'idle' && vm.readConsole().endsWith('$ ') };
}

const cold = await boot();
if (!cold.prompt) throw new Error('hvos did not reach its prompt');
const times: number[] = [];
for (let i = 0; i < repeat; i++) times.push((await boot()).ms);
times.sort((a, b) => a - b);
const median = times[(times.length - 1) >> 1];
console.log(`hvos boot to prompt: ${cold.instructions} instructions`);
console.log(`  cold (first boot, includes compiling the core): ${cold.ms.toFixed(1)} ms`);
console.log(`  warm median of ${repeat}: ${median.toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times[times.length - 1].toFixed(1)})`);
