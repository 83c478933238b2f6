/**
 * `npm run bench:split`: Xen's split drivers on hvlab (issue 12 item 3; docs/split.md,
 * docs/performance.md). Two tables, from the deterministic counters (exact, reproducible):
 *  1. one VM reading 256 KiB from its disk (`disk 256`) on each I/O path: the guest's exits
 *     and hypercalls, and whose CPU time it costs (the guest's instructions, the driver
 *     domain's on the split path);
 *  2. 1, 2, 4, 8 and 16 pv guests doing it at once through one driver domain: the machine's
 *     instructions (one hart) until all are done, the driver domain's share of them, and the
 *     per-guest throughput (KiB per million machine instructions): on one hart it falls as 1/N,
 *     since the guests share the hart; and the bound if every VM had a hart of its own, KiB over
 *     the larger of the driver domain's instructions and one guest's, which stays flat until
 *     the driver domain's work for all guests exceeds one guest's own: there it saturates.
 *     Beside each row, in the same table, the same load with each guest's virtio-blk on its own
 *     offload worker (offloadRun below): no driver domain, so nothing shared grows with N; its
 *     guest instructions include polling for completions, so they follow wall time.
 * Wall times are printed beside, never mixed in.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { loadCoreModule } from '../node/load-core.js';
import { benchDisk, measure, releaseVms } from './workloads.js';
import { makeSplitSet, runSplitSet } from '../split.js';
import { Host } from '../host.js';
import { Scheduler } from '../sched.js';
import { ioPathConfig, type IoPath, type Mode, type Vm } from '../vm.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const KIB = Number(process.env.KIB ?? 256);
const COUNTS = (process.env.GUESTS ?? '1,2,4,8,16,32,48').split(',').map(Number);
/** Offload runs one worker thread per guest: beyond this many guests it is not measured. */
const OFFLOAD_MAX = Number(process.env.OFFLOAD_MAX ?? 16);
const source = await loadCoreModule();
const hvos = new Uint8Array(await readFile(join(root, 'guests', 'hvos', 'prebuilt', 'hvos.elf')));
const disk = benchDisk();
const cmd = `disk ${KIB}`;
const c = (r: Record<string, bigint>, k: string) => Number(r[k] ?? 0n);
const instr = (r: Record<string, bigint>) => c(r, 'INSTRET_U') + c(r, 'INSTRET_S') + c(r, 'INSTRET_M');
const diff = (a: Record<string, bigint>, b: Record<string, bigint>) =>
  Object.fromEntries(Object.keys(b).map((k) => [k, (b[k] ?? 0n) - (a[k] ?? 0n)])) as Record<string, bigint>;
const pad = (v: string | number, w: number) => String(v).padStart(w);

console.log(`hvlab split-driver benchmark: '${cmd}', Node ${process.version}`);
console.log(`\n1. one VM, '${cmd}' (counters of the command alone, boot excluded)`);
console.log('path                  exits  hypercalls  io exits   guest instr   driver dom. instr   machine instr');
// pv reaches emudisk and virtio-mmio without exits (its devices are assigned, docs/pv-abi.md)
// and serves virtio only in the core, so the exit-per-access paths are shown in hvm-nested.
const single: [string, Mode, IoPath][] = [
  ['emulated (hvm-nested)', 'hvm-nested', 'emulated'], ['core (hvm-nested)', 'hvm-nested', 'core'],
  ['host (hvm-nested)', 'hvm-nested', 'host'], ['core (pv)', 'pv', 'core'],
];
for (const [label, mode, io] of single) {
  const m = await measure(hvos, source, mode, 'disk', cmd, { io, disk, bootargs: 'nopv' });
  const ioExits = c(m.counters, 'EXIT_MMIO_EMUDISK') + c(m.counters, 'EXIT_MMIO_VIRTIO') + c(m.counters, 'EXIT_HOST');
  const g = instr(m.counters);
  console.log(`${label.padEnd(21)}${pad(c(m.counters, 'EXITS'), 7)} ${pad(c(m.counters, 'EXIT_SBI'), 11)} ${pad(ioExits, 9)} ` +
    `${pad(g, 13)} ${pad('-', 19)} ${pad(g, 15)}`);
  releaseVms();
}

/** Boot a set of `n` frontends, run `cmd` in all at once; the counters of the command alone. */
async function splitRun(count: number) {
  const set = await makeSplitSet(source, hvos, disk, count);
  runSplitSet(set);
  const vms: Vm[] = [set.backend, ...set.frontends];
  const before = vms.map((vm) => vm.counters());
  const outBefore = set.frontends.map((vm) => set.out.get(vm)!.length);
  const t0 = performance.now();
  for (const f of set.frontends) f.sendInput(cmd + '\n');
  runSplitSet(set, 20_000);
  const wallMs = performance.now() - t0;
  const d = vms.map((vm, i) => diff(before[i], vm.counters()));
  set.frontends.forEach((vm, i) => {
    const out = set.out.get(vm)!.slice(outBefore[i]);
    if (!out.includes(`disk kib=${KIB} `) || !out.includes('driver=blkfront')) throw new Error(`frontend ${i + 1}: ${out}`);
  });
  return { d, wallMs };
}

const one = await splitRun(1);
const [b1, f1] = one.d;
const ioExits1 = c(f1, 'EXIT_MMIO_EMUDISK') + c(f1, 'EXIT_MMIO_VIRTIO') + c(f1, 'EXIT_HOST');
console.log(`${'split (pv, dom0 pv)'.padEnd(21)}${pad(c(f1, 'EXITS'), 7)} ${pad(c(f1, 'EXIT_SBI'), 11)} ${pad(ioExits1, 9)} ` +
  `${pad(instr(f1), 13)} ${pad(instr(b1), 19)} ${pad(instr(f1) + instr(b1), 15)}`);
console.log(`  split: frontend event sends ${c(f1, 'EVTCHN_SENDS')}, driver domain: exits ${c(b1, 'EXITS')}, ` +
  `hypercalls ${c(b1, 'EXIT_SBI')}, virtio-blk requests ${c(b1, 'VIRTIO_BLK_REQUESTS')}, grant copies ` +
  `${c(b1, 'GRANT_COPY_BYTES') / 1024} KiB, event sends ${c(b1, 'EVTCHN_SENDS')}`);

/**
 * The same command in `count` hvm-nested guests whose virtio-blk is served by the offload
 * backend: each VM's own worker thread polls its rings beside the hart (docs/io-backends.md),
 * no driver domain. The VMs share the hart under the Scheduler in slices of 20,000
 * instructions, as the split set runs in turns of 20,000. hvos's virtio-blk driver polls for
 * its completions, so a guest's instructions include the spinning while its worker serves it:
 * they follow wall time, unlike every other figure here.
 */
async function offloadRun(count: number) {
  const host = await Host.create({ poolMiB: 64 + count * 24 }, source);
  const vms: Vm[] = [];
  for (let i = 1; i <= count; i++) {
    const vm = await host.createVm({ mode: 'hvm-nested', memMiB: 16, clock: 'instret', ...ioPathConfig('offload', disk) }, `off${i}`);
    vm.load(hvos, 'hvos.elf');
    vms.push(vm);
  }
  const sched = new Scheduler({ sliceInstructions: 20_000 });
  for (const vm of vms) sched.add(vm);
  const out = vms.map(() => '');
  const until = (done: (o: string, i: number) => boolean) => {
    const end = Date.now() + 600_000;
    while (!out.every(done)) {
      if (Date.now() > end) throw new Error(`offload, ${count} guests: no result in 10 minutes`);
      const retired = sched.run(1_000_000);
      vms.forEach((vm, i) => { out[i] += vm.readConsole(); });
      if (retired === 0) for (const vm of vms) if (vm.ioBusy()) vm.ioWait(5);
    }
  };
  until((o) => o.includes('hvos$ '));
  const before = vms.map((vm) => vm.counters());
  const mark = out.map((o) => o.length);
  const t0 = performance.now();
  for (const vm of vms) vm.sendInput(cmd + '\n');
  until((o, i) => /disk kib=\d+ .*us\/request=\d+/.test(o.slice(mark[i])));
  const wallMs = performance.now() - t0;
  const d = vms.map((vm, i) => diff(before[i], vm.counters()));
  vms.forEach((_, i) => {
    const o = out[i].slice(mark[i]);
    if (!o.includes(`disk kib=${KIB} `) || !o.includes('driver=virtio-blk')) throw new Error(`offload guest ${i + 1}: ${o}`);
  });
  for (const vm of vms) await vm.close();
  return { d, wallMs };
}

console.log(`\n2. N guests running '${cmd}' at once: split, through one pv driver domain (pv guests, in turns of 20,000`);
console.log(`   instructions), against offload, each hvm-nested guest's virtio-blk served by its own worker thread (the`);
console.log(`   Scheduler, slices of 20,000). "own harts": KiB per million instructions of the busiest of the VMs`);
console.log(`   (the driver domain or a guest) if each VM had a hart of its own; offload's device work is on its`);
console.log(`   workers, not on any hart. Wall ms: this machine, all the harts' work on one thread, the workers beside.`);
console.log('         |                                  split                                   |                  offload');
console.log('guests   machine instr   dom0 instr   dom0 share   dom0 instr/request   guest instr (each)   KiB/M instr, one hart   own harts   wall ms   KiB/s each' +
  '   machine instr   guest instr (each)   worker requests   KiB/M instr, one hart   own harts   wall ms   KiB/s each');
for (const count of COUNTS) {
  const { d, wallMs } = count === 1 ? one : await splitRun(count);
  const dom0 = instr(d[0]);
  const guests = d.slice(1).map(instr);
  const machine = dom0 + guests.reduce((s, x) => s + x, 0);
  const each = guests.reduce((s, x) => s + x, 0) / count;
  const perGuest = KIB / (machine / 1e6);
  const ownHarts = KIB / (Math.max(dom0, ...guests) / 1e6);
  const requests = count * KIB / 4;
  let offload = '';
  if (count <= OFFLOAD_MAX) {
    const o = await offloadRun(count);
    const g = o.d.map(instr);
    const m = g.reduce((s, x) => s + x, 0);
    const served = o.d.reduce((s, x) => s + c(x, 'VIRTIO_OFFLOAD_REQUESTS'), 0);
    offload = `${pad(m, 16)} ${pad(Math.round(m / count), 20)} ${pad(served, 17)} ${pad((KIB / (m / 1e6)).toFixed(1), 23)} ` +
      `${pad((KIB / (Math.max(...g) / 1e6)).toFixed(1), 11)} ${pad(o.wallMs.toFixed(0), 9)} ${pad((KIB / (o.wallMs / 1000)).toFixed(0), 12)}`;
  } else {
    offload = `${pad('-', 16)} (more than OFFLOAD_MAX=${OFFLOAD_MAX} worker threads)`;
  }
  console.log(`${pad(count, 6)} ${pad(machine, 15)} ${pad(dom0, 12)} ${pad((100 * dom0 / machine).toFixed(1) + ' %', 12)} ` +
    `${pad(Math.round(dom0 / requests), 20)} ${pad(Math.round(each), 20)} ${pad(perGuest.toFixed(1), 23)} ` +
    `${pad(ownHarts.toFixed(1), 11)} ${pad(wallMs.toFixed(0), 9)} ${pad((KIB / (wallMs / 1000)).toFixed(0), 12)}` + offload);
}
