/**
 * Live migration figures (docs/multi-vm.md "Lifecycle"): an hvos VM in each relocatable mode is
 * cut at a fixed instruction of a script and moved to another host by pre-copy; prints the
 * rounds (frames sent, guest instructions run meanwhile), the stop-and-copy, the downtime in
 * guest instructions, and the wall time of the whole move. Deterministic but for the wall time.
 * Run: npm run build && node dist/src/bench/migrate.js
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { loadCoreModule } from '../node/load-core.js';
import { Host } from '../host.js';
import { advance, migrate, type MigrationOptions } from '../migrate.js';
import type { Mode } from '../vm.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const hvos = new Uint8Array(await readFile(join(root, 'guests', 'hvos', 'prebuilt', 'hvos.elf')));
const source = await loadCoreModule();
const SCRIPT = 'echo hi\ncompute 20000\nmemwalk 512 4\nptchurn 16 8\nspawn 3\nps\n';
const cases: [Mode, string, number, MigrationOptions][] = [
  ['trap-emulate', SCRIPT, 1_000_000, {}],
  ['hvm-shadow', SCRIPT, 1_000_000, {}],
  ['hvm-nested', SCRIPT, 1_000_000, {}],
  ['hvm-shadow', 'ptchurn 64 400\necho done\n', 400_000, { maxRounds: 3, stopPages: 4 }],
];
console.log('hvlab live migration: 16 MiB hvos VM, pool 64 MiB to pool 64 MiB, 256 guest instructions per frame sent');
for (const [mode, script, at, opts] of cases) {
  const from = await Host.create({ poolMiB: 64 }, source);
  const vm = await from.createVm({ mode, memMiB: 16 }, 'guest');
  vm.load(hvos, 'hvos.elf');
  vm.sendInput(script);
  advance(vm, at);
  const to = await Host.create({ poolMiB: 64 }, source);
  const t0 = performance.now();
  const { report } = await migrate(vm, from, to, opts);
  const ms = performance.now() - t0;
  console.log(`${mode.padEnd(12)} '${script.split('\n')[0]}…' from ${at}: rounds ${report.rounds.map((r) => `${r.pages}`).join(', ')} frames; ` +
    `stop-and-copy ${report.stopPages} frames + ${Math.ceil(report.stateBytes / 1024)} KiB state; ${report.totalPages} frames in all; ` +
    `downtime ${report.downtimeInstructions} instructions; ${report.converged ? 'converged' : 'rounds ran out'}; ${ms.toFixed(0)} ms wall`);
}
