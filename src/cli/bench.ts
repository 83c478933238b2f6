/**
 * `hvlab bench`: run a guest's workloads (hvos's, or with `--guest linux` the prebuilt Linux's)
 * in each execution mode with the deterministic clock and print what each costs (exits by
 * class, page-walk references, TLB misses, modeled cycles, wall time); write every counter as
 * JSON. Figures other than wall time reproduce exactly.
 */
import { readFile } from 'node:fs/promises';
import { checkOutputPath, joinNegativeValues, writeUserFile } from './options.js';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { HvlabError } from '../errors.js';
import { loadCoreModule } from '../node/load-core.js';
import { parseCostOverrides, type CostTable } from '../cost-model.js';
import { ALL_MODES, benchDisk, checkNames, GUESTS, IO_WORKLOADS, LINUX_BOOTARGS, LINUX_WORKLOADS, loadBenchGuest, measure, releaseVms, WORKLOADS,
  type GuestName, type Measurement } from '../bench/workloads.js';
import { SOLO_IO_PATHS, type IoPath, type Mode } from '../vm.js';

export const BENCH_USAGE = `usage: hvlab bench [--guest hvos|linux] [--workloads LIST] [--modes LIST] [--io LIST]
                   [--repeat N] [--json FILE] [--costs FILE]

Run a guest's workloads in each execution mode (deterministic clock) and print their costs.

options:
  --guest NAME       hvos (default) or linux: the prebuilt Linux 6.1 and its initramfs, builtin
                     SBI (docs/linux.md); pv is skipped for it (a stock kernel has no PV port)
  --workloads LIST   comma-separated (default: the guest's standard set), from
                     hvos: ${Object.keys(WORKLOADS).join(', ')}
                       and the I/O set ${Object.keys(IO_WORKLOADS).join(', ')} (the default with --io)
                     linux: ${Object.keys(LINUX_WORKLOADS).join(', ')}
  --modes LIST       comma-separated, from: ${ALL_MODES.join(', ')} (default: all)
  --io LIST          the I/O axis (hvos): comma-separated, from: ${SOLO_IO_PATHS.join(', ')}
                     (default: emulated); the VMs get a 4 MiB disk (docs/io.md)
  --bootargs TEXT    the kernel command line; 'nopv' keeps hvos's native operations under
                     hardware assist (its console on the UART: compare I/O paths with it);
                     Linux's default is '${LINUX_BOOTARGS}'
  --json FILE        also write every counter of every run as JSON
  --costs FILE       JSON object overriding cost-model entries (docs/cost-model.md)
  --nested-pwc       turn on the nested page-walk cache for two-stage walks
  --repeat N         run everything N times, interleaved, and print the median wall time
                     (the counters must come out the same every time; default 1)
  -h, --help         this help`;

const n = (c: Record<string, bigint>, k: string) => Number(c[k] ?? 0n);

/** Exits grouped the way the literature talks about them. */
export function exitClasses(c: Record<string, bigint>): Record<string, number> {
  // A pv guest's page-table hypercalls are page-table exits; its bounced traps are the
  // counterpart of trap-emulate's reflections.
  const pvPageTable = n(c, 'PV_MMU_UPDATE') + n(c, 'PV_PIN') + n(c, 'PV_UNPIN') + n(c, 'PV_SET_ROOT') + n(c, 'PV_TLB_FLUSH');
  return {
    privileged: n(c, 'EXIT_CSR') + n(c, 'EXIT_SRET') + n(c, 'EXIT_WFI') + n(c, 'EXIT_REFLECT') +
      n(c, 'EXIT_VIRTUAL_INSTRUCTION') + n(c, 'EXIT_ILLEGAL') + n(c, 'EXIT_PV_BOUNCE') + n(c, 'EXIT_PV_KERNEL_TRAP'),
    pageTable: n(c, 'EXIT_SHADOW_FILL') + n(c, 'EXIT_SHADOW_WP') + n(c, 'EXIT_SATP') + n(c, 'EXIT_SFENCE') +
      n(c, 'EXIT_GUEST_PAGE_FAULT') + pvPageTable,
    io: n(c, 'EXIT_MMIO_UART') + n(c, 'EXIT_MMIO_PLIC') + n(c, 'EXIT_MMIO_CLINT') + n(c, 'EXIT_MMIO_VIRTIO') +
      n(c, 'EXIT_MMIO_TEST') + n(c, 'EXIT_MMIO_EMUDISK') + n(c, 'EXIT_HOST'),
    hypercall: n(c, 'EXIT_SBI') - pvPageTable,
    interrupt: n(c, 'EXIT_TIMER') + n(c, 'EXIT_EXTERNAL'),
  };
}

function walkRefs(c: Record<string, bigint>): number {
  return n(c, 'WALK_REFS') + n(c, 'WALK_REFS_VS') + n(c, 'WALK_REFS_G') + n(c, 'WALK_REFS_SHADOW');
}
function tlbMisses(c: Record<string, bigint>): number {
  return n(c, 'TLB_FETCH_MISSES') + n(c, 'TLB_LOAD_MISSES') + n(c, 'TLB_STORE_MISSES');
}

/** The table; with `withIo`, the I/O path and the virtio kicks, interrupts and heavy exits too. */
export function formatTable(rows: Measurement[], withIo = false): string {
  const head = ['workload', 'mode', ...(withIo ? ['io path'] : []), 'instructions', 'exits', 'priv', 'pt', 'io', 'hcall', 'irq',
    ...(withIo ? ['kicks', 'vio irqs', 'heavy'] : []), 'walk refs', 'TLB misses', 'Mcycles', 'wall ms'];
  const labels = withIo ? 3 : 2;
  const body = rows.map((m) => {
    const c = m.counters;
    const e = exitClasses(c);
    return [m.workload, m.mode, ...(withIo ? [m.io] : []), String(n(c, 'INSTRET_U') + n(c, 'INSTRET_S') + n(c, 'INSTRET_M')),
      String(n(c, 'EXITS')), String(e.privileged), String(e.pageTable), String(e.io), String(e.hypercall), String(e.interrupt),
      ...(withIo ? [String(n(c, 'VIRTIO_NOTIFIES')), String(n(c, 'VIRTIO_INTERRUPTS')), String(n(c, 'EXIT_HOST'))] : []),
      String(walkRefs(c)), String(tlbMisses(c)), (m.cycles.total / 1e6).toFixed(2), (m.wallSeconds * 1000).toFixed(1)];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((v, i) => (i < labels ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

function sameCounters(a: Record<string, bigint>, b: Record<string, bigint>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if ((a[k] ?? 0n) !== (b[k] ?? 0n)) return false;
  return true;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1];

export async function benchCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, new Set(['--repeat'])), strict: true, allowPositionals: false, options: {
      workloads: { type: 'string' }, modes: { type: 'string' }, json: { type: 'string' }, costs: { type: 'string' },
      io: { type: 'string' }, bootargs: { type: 'string' }, guest: { type: 'string' },
      'nested-pwc': { type: 'boolean' }, repeat: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    } });
  } catch (e) {
    throw new HvlabError('BAD_OPTION', `${(e as Error).message.split('\n')[0]} (see hvlab bench --help)`);
  }
  const v = parsed.values;
  if (v.help) { console.log(BENCH_USAGE); return 0; }
  const guestName = (v.guest ?? 'hvos') as GuestName;
  checkNames('guest', [guestName], GUESTS);
  if (guestName !== 'hvos' && v.io !== undefined) {
    throw new HvlabError('BAD_OPTION', `--io compares hvos's I/O paths; the ${guestName} guest runs with its console on the UART`);
  }
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const guest = await loadBenchGuest(guestName, root);
  const ioPaths = (v.io !== undefined ? v.io.split(',') : ['emulated']) as IoPath[];
  // hvos also has the I/O set, the default with --io.
  const allWorkloads = guestName === 'hvos' ? { ...guest.workloads, ...IO_WORKLOADS } : guest.workloads;
  const defaultWorkloads = guestName === 'hvos' && v.io ? IO_WORKLOADS : guest.workloads;
  // An empty list (--modes '') is a mistake, not 'all': it names nothing and checkNames says so.
  const workloads = v.workloads !== undefined ? v.workloads.split(',') : Object.keys(defaultWorkloads);
  const modes = (v.modes !== undefined ? v.modes.split(',') : [...ALL_MODES]) as Mode[];
  checkNames(`${guestName} workload`, workloads, Object.keys(allWorkloads));
  checkNames('mode', modes, ALL_MODES);
  checkNames('I/O path', ioPaths, SOLO_IO_PATHS);
  const repeat = v.repeat === undefined ? 1 : Number(v.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 1000) {
    throw new HvlabError('BAD_OPTION', `--repeat must be a whole number from 1 to 1000, got '${v.repeat}'`);
  }
  let costs: Partial<CostTable> = {};
  if (v.costs) {
    let text: string;
    try { text = await readFile(v.costs, 'utf8'); } catch { throw new HvlabError('BAD_OPTION', `--costs: cannot read ${v.costs}`); }
    let json: unknown;
    try { json = JSON.parse(text); } catch (e) { throw new HvlabError('BAD_COSTS', `${v.costs}: not JSON (${(e as Error).message})`); }
    costs = parseCostOverrides(json, v.costs);
  }
  if (v.json !== undefined) await checkOutputPath('--json', v.json);
  const source = await loadCoreModule();
  // Every VM gets the same disk when a workload needs one, so every path reads the same data.
  const disk = workloads.some((w) => w in IO_WORKLOADS) ? benchDisk() : undefined;
  const skipped: { workload: string; mode: Mode; io: IoPath; reason: string }[] = [];
  const runs: { workload: string; mode: Mode; io: IoPath }[] = [];
  for (const w of workloads) {
    for (const m of modes) {
      for (const io of ioPaths) {
        const why = guest.unsupported[m] ??
          // A pv guest's virtio devices are served in the core only (docs/pv-abi.md "Validation").
          (m === 'pv' && (io === 'host' || io === 'offload') ? 'pv serves virtio in the core only' : undefined);
        if (why !== undefined) skipped.push({ workload: w, mode: m, io, reason: why });
        else runs.push({ workload: w, mode: m, io });
      }
    }
  }
  // With --repeat the whole set runs again and again (not one row N times), so a burst of load
  // elsewhere lands on every row alike; each row keeps its first run's counters and the
  // median of its wall times.
  const rows: Measurement[] = [];
  const walls: number[][] = runs.map(() => []);
  try {
    for (let r = 0; r < repeat; r++) {
      for (const [i, x] of runs.entries()) {
        const m = await measure(guest, source, x.mode, x.workload, allWorkloads[x.workload],
          { costs, nestedPwc: v['nested-pwc'] ?? false, io: x.io, disk, bootargs: v.bootargs });
        // The offload backend's worker polls in real time: its counters follow the clock.
        if (r === 0) rows.push(m);
        else if (x.io !== 'offload' && !sameCounters(rows[i].counters, m.counters)) {
          throw new HvlabError('BENCH_NONDETERMINISTIC', `${x.workload} in ${x.mode}: run ${r + 1} counted differently from run 1`);
        }
        walls[i].push(m.wallSeconds);
      }
    }
  } finally {
    await releaseVms();
  }
  for (const [i, row] of rows.entries()) row.wallSeconds = median(walls[i]);
  console.log(formatTable(rows, v.io !== undefined));
  // One line per reason, naming the runs it kept out.
  const byReason = new Map<string, string[]>();
  for (const x of skipped) {
    byReason.set(x.reason, [...(byReason.get(x.reason) ?? []), `${x.workload}/${x.mode}${v.io ? `/${x.io}` : ''}`]);
  }
  for (const [why, left] of byReason) console.log(`not run: ${left.join(', ')}: ${why}`);
  if (v.json) {
    const json = rows.map((r, i) => ({
      guest: r.guest, workload: r.workload, command: r.command, mode: r.mode, io: r.io, wallSeconds: r.wallSeconds,
      ...(repeat > 1 ? { wallSecondsEach: walls[i] } : {}),
      exitClasses: exitClasses(r.counters), modeledCycles: r.cycles,
      counters: Object.fromEntries(Object.entries(r.counters).map(([k, x]) => [k, Number(x)])),
    }));
    await writeUserFile('--json', v.json, JSON.stringify({ guest: guestName, repeat, costs, runs: json, skipped }, null, 2) + '\n');
  }
  return 0;
}
