/**
 * `npm run bench:boot`: wall time to boot a guest to its shell prompt on hvlab under Node:
 * from creating the VM (the compiled core cached, as in a running host) through loading the
 * images and running until the shell waits for input, with the deterministic (instret) clock.
 *  - hvos, native, builtin SBI: the median of REPEAT boots, and the first (cold) boot
 *    separately: it includes compiling the wasm core;
 *  - the prebuilt Linux 6.1 with its initramfs (guests/linux) to `hvlab# `: native with the
 *    builtin SBI (the headline figure, target <= 2 s), native under Debian's OpenSBI fw_jump
 *    (M-mode firmware run instruction by instruction), and in hvm-nested; medians of
 *    LINUX_REPEAT boots, the three interleaved run by run so that a burst of load elsewhere
 *    hits them alike.
 * Instructions to the prompt are exact (every boot of a case must give the same count, or the
 * script fails); MIPS is those instructions over the median wall time. Beside wall time the
 * median process CPU time is printed: on a shared machine it leaves out the time the process
 * waited for a core. See docs/performance.md.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { runScripted, Vm, type VmConfig } from '../vm.js';
import { loadCoreModule } from '../node/load-core.js';
import { bootToPrompt, loadBenchGuest } from './workloads.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const repeat = Number(process.env.REPEAT ?? 21);
const linuxRepeat = Number(process.env.LINUX_REPEAT ?? 11);
/** Debian's OpenSBI (package opensbi), the firmware QEMU's virt runs by default. */
const FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf';
const image = await readFile(join(root, 'guests', 'hvos', 'prebuilt', 'hvos.elf'));
const source = await loadCoreModule();
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => sorted(xs)[(xs.length - 1) >> 1];

async function bootHvos(): Promise<{ ms: number; instructions: bigint; prompt: boolean }> {
  const t0 = performance.now();
  const vm = await Vm.create({ firmware: 'builtin' }, source);
  vm.load(image, 'hvos.elf');
  const stop = await runScripted(vm, '', 50_000_000);
  const ms = performance.now() - t0;
  return { ms, instructions: vm.instructions, prompt: stop.reason === 'idle' && vm.readConsole().endsWith('$ ') };
}

const cold = await bootHvos();
if (!cold.prompt) throw new Error('hvos did not reach its prompt');
const times: number[] = [];
for (let i = 0; i < repeat; i++) times.push((await bootHvos()).ms);
const hvosSorted = sorted(times);
console.log(`hvos boot to prompt: ${cold.instructions} instructions`);
console.log(`  cold (first boot, includes compiling the core): ${cold.ms.toFixed(1)} ms`);
console.log(`  warm median of ${repeat}: ${median(times).toFixed(1)} ms (min ${hvosSorted[0].toFixed(1)}, max ${hvosSorted[hvosSorted.length - 1].toFixed(1)})`);

const linux = await loadBenchGuest('linux', root);
interface LinuxCase { label: string; config: VmConfig }
const cases: LinuxCase[] = [
  { label: 'native, builtin SBI', config: { firmware: 'builtin' } },
  ...(existsSync(FW_JUMP)
    ? [{ label: 'native, OpenSBI fw_jump', config: { firmware: { file: new Uint8Array(await readFile(FW_JUMP)), name: 'fw_jump.elf' } } }]
    : []),
  { label: 'hvm-nested', config: { mode: 'hvm-nested', firmware: 'builtin' } },
];
if (!existsSync(FW_JUMP)) console.log(`(no ${FW_JUMP}: install Debian's opensbi for the fw_jump figure)`);

async function bootLinux(c: LinuxCase): Promise<{ ms: number; cpuMs: number; instructions: bigint }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const vm = await Vm.create({ ...c.config, clock: 'instret', bootargs: linux.bootargs }, source);
  linux.load(vm);
  bootToPrompt(vm, linux);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const instructions = vm.instructions;
  await vm.close();
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, instructions };
}

const wall = new Map<LinuxCase, number[]>();
const cpu = new Map<LinuxCase, number[]>();
const count = new Map<LinuxCase, bigint>();
for (let i = 0; i < linuxRepeat; i++) {
  for (const c of cases) {
    const r = await bootLinux(c);
    const seen = count.get(c);
    if (seen !== undefined && seen !== r.instructions) {
      throw new Error(`Linux (${c.label}) reached its prompt after ${r.instructions} instructions, ${seen} before: not deterministic`);
    }
    count.set(c, r.instructions);
    wall.set(c, [...(wall.get(c) ?? []), r.ms]);
    cpu.set(c, [...(cpu.get(c) ?? []), r.cpuMs]);
  }
}
console.log(`Linux 6.1 + initramfs boot to 'hvlab# ' (instret clock, ${linux.bootargs}), median of ${linuxRepeat}:`);
for (const c of cases) {
  const ms = median(wall.get(c)!);
  const s = sorted(wall.get(c)!);
  const instructions = count.get(c)!;
  console.log(`  ${c.label.padEnd(24)} ${ms.toFixed(0).padStart(5)} ms (min ${s[0].toFixed(0)}, max ${s[s.length - 1].toFixed(0)})  ` +
    `${instructions} instructions  ${(Number(instructions) / ms / 1000).toFixed(1)} MIPS; ` +
    `CPU ${median(cpu.get(c)!).toFixed(0)} ms, ${(Number(instructions) / median(cpu.get(c)!) / 1000).toFixed(1)} MIPS per CPU second`);
}
