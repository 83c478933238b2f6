/**
 * `npm run bench:multi`: many VMs in one machine (issue 12), docs/performance.md "Many VMs".
 *  - 64 hvos VMs of 16 MiB (16 in each hypervisor mode) booted to their prompts in one host:
 *    the host memory each takes beyond its guest RAM, from the pool's frame counts, beside
 *    Host.overheadBytes; and the wall time of the boot under the scheduler.
 *  - The world switch: the median cost of loading another VM's state (µs), and its share of a
 *    default slice of the scheduler.
 *  - Aggregate MIPS of N CPU-bound VMs under the scheduler (N = 1, 4, 16, 64) against one VM
 *    alone in a machine of its own.
 * Medians of REPEAT runs (default 5) in one process.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { Host } from '../host.js';
import { DEFAULT_SLICE, Scheduler } from '../sched.js';
import { Vm, runScripted, type Mode } from '../vm.js';
import { loadCoreModule } from '../node/load-core.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const repeat = Number(process.env.REPEAT ?? 5);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[(s.length - 1) >> 1]; };
const MODES: Mode[] = ['trap-emulate', 'hvm-shadow', 'hvm-nested', 'pv'];
const MEM_MIB = 16;
const VMS = 64;
/** Room for 64 VMs of 16 MiB and their overheads (pv's m2p grows with the pool). */
const POOL_MIB = VMS * (MEM_MIB + 2) + 32;
const BUSY = 'compute 1000000000\n';
const KIB = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

const source = await loadCoreModule();
const hvos = new Uint8Array(await readFile(join(root, 'guests', 'hvos', 'prebuilt', 'hvos.elf')));
console.log(`hvlab many-VM benchmark, Node ${process.version}, median of ${repeat} runs`);

/** A host with `n` hvos VMs (modes in turn) under a scheduler, booted to their prompts. */
async function bootHost(n: number, modes: Mode[] = MODES, poolMiB = n * (MEM_MIB + 2) + 32): Promise<{ host: Host; vms: Vm[]; sched: Scheduler; bootMs: number; free0: number }> {
  const host = await Host.create({ poolMiB }, source);
  const free0 = host.pool().free;
  const sched = new Scheduler();
  const vms: Vm[] = [];
  for (let i = 0; i < n; i++) {
    const vm = await host.createVm({ mode: modes[i % modes.length], memMiB: MEM_MIB }, `vm${i}`);
    vm.load(hvos, 'hvos.elf');
    sched.add(vm);
    vms.push(vm);
  }
  const t = performance.now();
  while (sched.run(100_000_000) > 0);
  const bootMs = performance.now() - t;
  for (const [i, vm] of vms.entries()) {
    if (!sched.stats(vm).blocked || !vm.readConsole().endsWith('hvos$ ')) throw new Error(`vm${i} did not reach its prompt`);
  }
  return { host, vms, sched, bootMs, free0 };
}

// 1. Memory: 64 VMs booted, per mode.
{
  const { host, vms, bootMs, free0 } = await bootHost(VMS);
  const used = (free0 - host.pool().free) * 4096;
  console.log(`\n${VMS} hvos VMs of ${MEM_MIB} MiB booted to their prompts in one host (pool ${POOL_MIB} MiB): ${bootMs.toFixed(0)} ms`);
  console.log(`pool frames taken: ${(used / 1048576).toFixed(1)} MiB, ${KIB(used / VMS - (MEM_MIB << 20))} per VM beyond guest RAM on average`);
  console.log('mode          frames/VM  beyond guest RAM  Host.overheadBytes');
  for (const mode of MODES) {
    const mine = vms.filter((_, i) => MODES[i % MODES.length] === mode);
    const frames = mine.map((vm) => host.framesOf(vm));
    if (new Set(frames).size !== 1) throw new Error(`${mode}: VMs of one mode hold different frame counts`);
    const beyond = frames[0] * 4096 - (MEM_MIB << 20);
    console.log(`${mode.padEnd(13)} ${String(frames[0]).padStart(9)}  ${KIB(beyond).padStart(16)}  ${KIB(host.overheadBytes(mode, MEM_MIB)).padStart(18)}`);
  }
  const pvSmall = await Host.create({ poolMiB: 256 }, source);
  console.log(`(pv's m2p covers the window of machine frames its frames lie in, whatever the pool: with a 256 MiB pool a pv VM takes ${KIB(pvSmall.overheadBytes('pv', MEM_MIB))} beyond its RAM)`);
}

// 2. The world switch: loading another VM's state. A VM's property read that reaches the core
// (vm.instructions) loads that VM first; alternating two VMs switches on every read, reading
// one VM never does. The difference per read is the switch.
{
  const { vms } = await bootHost(2, ['hvm-nested']);
  const [a, b] = vms;
  const READS = 2000;
  const per: number[] = [];
  for (let s = 0; s < 25 * repeat; s++) {
    let t = performance.now();
    for (let i = 0; i < READS; i++) void (i & 1 ? a : b).instructions;
    const switching = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < READS; i++) void a.instructions;
    const staying = performance.now() - t;
    per.push((switching - staying) / READS * 1000);
  }
  const us = median(per);
  // The time of a default slice: DEFAULT_SLICE instructions of a CPU-bound VM.
  const alone = await Vm.create({ mode: 'hvm-nested', memMiB: MEM_MIB, firmware: 'builtin' }, source);
  alone.load(hvos, 'hvos.elf');
  await runScripted(alone, '', 5_000_000, 1);
  alone.sendInput(BUSY);
  alone.run(1_000_000);
  const sliceMs: number[] = [];
  for (let i = 0; i < 20 * repeat; i++) {
    const t = performance.now();
    alone.run(DEFAULT_SLICE);
    sliceMs.push(performance.now() - t);
  }
  const slice = median(sliceMs) * 1000;
  console.log(`\nworld switch: ${us.toFixed(1)} µs (median of ${per.length} × ${READS}); a default slice (${DEFAULT_SLICE} instructions) takes ${slice.toFixed(0)} µs: a switch is ${(us / slice * 100).toFixed(1)}% of it`);
}

// 3. Aggregate MIPS of N CPU-bound VMs against one VM alone. Every configuration is made and
// warmed first, then they run in turns, run by run, so load elsewhere on the machine hits them
// alike.
{
  const RUN = 40_000_000;
  const alone = await Vm.create({ mode: 'hvm-nested', memMiB: MEM_MIB, firmware: 'builtin' }, source);
  alone.load(hvos, 'hvos.elf');
  await runScripted(alone, '', 5_000_000, 1);
  alone.sendInput(BUSY);
  alone.run(RUN);
  const ns = [1, 4, 16, 64];
  const hosts = [];
  for (const n of ns) {
    const h = await bootHost(n, ['hvm-nested']);
    for (const vm of h.vms) vm.sendInput(BUSY);
    h.sched.run(RUN);
    hosts.push(h);
  }
  const soloMips: number[] = [];
  const mips: number[][] = ns.map(() => []);
  const slicesPerS: number[][] = ns.map(() => []);
  for (let r = 0; r < repeat; r++) {
    const before = alone.instructions;
    let t = performance.now();
    alone.run(RUN);
    soloMips.push(Number(alone.instructions - before) / ((performance.now() - t) * 1000));
    for (const [j, { vms, sched }] of hosts.entries()) {
      const s0 = vms.reduce((a, vm) => a + sched.stats(vm).slices, 0);
      t = performance.now();
      const ran = sched.run(RUN);
      const ms = performance.now() - t;
      mips[j].push(ran / (ms * 1000));
      slicesPerS[j].push((vms.reduce((a, vm) => a + sched.stats(vm).slices, 0) - s0) / (ms / 1000));
    }
  }
  const solo = median(soloMips);
  console.log(`\nCPU-bound (compute) hvm-nested VMs, ${RUN / 1e6} M instructions in all per run`);
  console.log('VMs    MIPS  vs one alone  slices/s');
  console.log(`alone ${solo.toFixed(0).padStart(5)}         1.000`);
  for (const [j, n] of ns.entries()) {
    const m = median(mips[j]);
    console.log(`${String(n).padStart(5)} ${m.toFixed(0).padStart(5)}  ${(m / solo).toFixed(3).padStart(12)}  ${median(slicesPerS[j]).toFixed(0).padStart(8)}`);
  }
}
