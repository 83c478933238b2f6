/**
 * `npm run bench:io`: the I/O paths compared on the same hvos workloads (issue 6, "Must show";
 * docs/io.md, docs/performance.md). In a VM (hvm-nested by default, MODE=... to change):
 *  - writing 64 KiB to the console (`io 64`): exits per byte over the UART; exits per batch
 *    (kick) over virtio with the core and host backends; exits with offload;
 *  - reading 1 MiB from the disk (`disk 1024`): exits per 4 bytes over emudisk; exits per
 *    request over virtio-blk.
 * Exit counts come from the deterministic counters of the workload alone (boot excluded) and
 * are exact; wall times are medians of REPEAT runs, paths interleaved run by run so a burst of
 * load elsewhere hits them all alike, with ratios against the emulated path.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { loadCoreModule } from '../node/load-core.js';
import { benchDisk, IO_WORKLOADS, measure, releaseVms, type Measurement } from './workloads.js';
import { SOLO_IO_PATHS, MODES, type IoPath, type Mode } from '../vm.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const repeat = Number(process.env.REPEAT ?? 5);
const mode = (process.env.MODE ?? 'hvm-nested') as Mode;
if (!MODES.includes(mode)) throw new Error(`MODE must be one of ${MODES.join(', ')}`);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[(s.length - 1) >> 1]; };
const n = (m: Measurement, k: string) => Number(m.counters[k] ?? 0n);

const source = await loadCoreModule();
const hvos = new Uint8Array(await readFile(join(root, 'guests', 'hvos', 'prebuilt', 'hvos.elf')));
const disk = benchDisk();
console.log(`hvlab I/O benchmark, ${mode}, Node ${process.version}, median of ${repeat} runs`);

for (const [workload, command] of Object.entries(IO_WORKLOADS)) {
  const wall: Record<string, number[]> = {};
  const last: Record<string, Measurement> = {};
  for (let i = 0; i < repeat; i++) {
    for (const io of SOLO_IO_PATHS) {
      // nopv: under hardware assist hvos would write its console with hypercalls (PV-on-HVM);
      // the comparison wants the emulated UART itself.
      const m = await measure(hvos, source, mode, workload, command, { io, disk, bootargs: 'nopv' });
      (wall[io] ??= []).push(m.wallSeconds * 1000);
      last[io] = m;
    }
  }
  const bytes = workload === 'console' ? 64 * 1024 : 1024 * 1024;
  console.log(`\n${command}: ${bytes} bytes`);
  console.log('path       exits   io exits  per KiB   kicks  requests  heavy  wall ms   x emulated');
  const base = median(wall.emulated);
  for (const io of SOLO_IO_PATHS as readonly IoPath[]) {
    const m = last[io];
    const ioExits = n(m, 'EXIT_MMIO_UART') + n(m, 'EXIT_MMIO_EMUDISK') + n(m, 'EXIT_MMIO_VIRTIO') + n(m, 'EXIT_HOST') +
      n(m, 'EXIT_MMIO_PLIC');
    const requests = workload === 'disk'
      ? (io === 'emulated' ? n(m, 'EMUDISK_COMMANDS') : n(m, 'VIRTIO_BLK_REQUESTS'))
      : (io === 'emulated' ? n(m, 'UART_TX_BYTES') : n(m, 'VIRTIO_DESCRIPTORS'));
    const w = median(wall[io]);
    console.log(`${io.padEnd(9)} ${String(n(m, 'EXITS')).padStart(6)} ${String(ioExits).padStart(10)} ` +
      `${(ioExits / (bytes / 1024)).toFixed(2).padStart(8)} ${String(n(m, 'VIRTIO_NOTIFIES')).padStart(7)} ` +
      `${String(requests).padStart(9)} ${String(n(m, 'EXIT_HOST')).padStart(6)} ${w.toFixed(1).padStart(8)} ` +
      `${(w / base).toFixed(3).padStart(12)}`);
    if (!m.output.includes('\n')) throw new Error(`${command} over ${io}: no output`);
  }
}
await releaseVms();
