import { readFileSync } from 'node:fs';
import { it } from 'vitest';
import { loadCoreModule } from '/work/wt-sched/src/node/load-core.js';
import { Host } from '/work/wt-sched/src/host.js';
import { Scheduler } from '/work/wt-sched/src/sched.js';
const HVOS = readFileSync('/work/wt-sched/guests/hvos/prebuilt/hvos.elf');
it('dbg', async () => {
  const host = await Host.create({ poolMiB: 128 }, await loadCoreModule());
  const s = new Scheduler();
  const vms = [];
  for (const mode of ['trap-emulate', 'hvm-shadow', 'hvm-nested', 'pv'] as const) { const vm = await host.createVm({ mode, memMiB: 16 }, mode); vm.load(HVOS, 'hvos.elf'); s.add(vm); vms.push(vm); }
  s.run(5_000_000);
  for (const vm of vms) { vm.readConsole(); vm.sendInput('compute 1000000\n'); }
  const b = vms.map(v => s.stats(v).instructions);
  let t = performance.now();
  s.run(1e9);
  console.log('ms', performance.now() - t, vms.map((v, i) => Number(s.stats(v).instructions - b[i])), vms[0].readConsole());
  for (const vm of vms) { vm.sendInput('sleep 100\n'); }
  s.run(1e9);
  console.log(vms.map((v, i) => JSON.stringify(s.stats(v), (k, x) => typeof x === 'bigint' ? Number(x) : x)), vms[3].readConsole());
  // world switch: alternate instructions getter
  t = performance.now();
  for (let i = 0; i < 1000; i++) { vms[i & 1].instructions; }
  console.log('switch us', (performance.now() - t));
});
