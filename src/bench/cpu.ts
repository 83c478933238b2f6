/**
 * `npm run bench:cpu`: MIPS of the interpreter on the CPU benchmark guest (guests/bench/cpu.c:
 * integer mix, multiply/divide, memory copies, atomics; ~327 M instructions), once in M-mode
 * without paging (cpu-bare) and once in S-mode under Sv39 with 4 KiB pages (cpu-sv39).
 * Runs each REPEAT times in one process and prints the median MIPS over wall time (the time
 * spent inside the core's run()). See docs/performance.md.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { runGuest } from '../vm.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const repeat = Number(process.env.REPEAT ?? 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function bench(name: string): Promise<number> {
  const image = await readFile(join(root, 'guests', 'prebuilt', `${name}.elf`));
  const mips: number[] = [];
  let instructions = 0n;
  for (let i = 0; i < repeat; i++) {
    const r = await runGuest(image, { maxInstructions: 2e9 });
    if (r.stop.reason !== 'pass') throw new Error(`${name}: ${r.stop.reason} ${r.stop.message ?? ''}\n${r.console}`);
    instructions = r.instructions;
    mips.push(Number(r.instructions) / r.wallSeconds / 1e6);
  }
  const m = median(mips);
  console.log(`${name.padEnd(9)} ${String(instructions).padStart(10)} instructions  median ${m.toFixed(1)} MIPS  (runs: ${mips.map((x) => x.toFixed(0)).join(' ')})`);
  return m;
}

console.log(`hvlab CPU benchmark, Node ${process.version}, ${repeat} runs each`);
const bare = await bench('cpu-bare');
const sv39 = await bench('cpu-sv39');
console.log(`paging costs ${((1 - sv39 / bare) * 100).toFixed(1)}% (sv39/bare = ${(sv39 / bare).toFixed(3)})`);
