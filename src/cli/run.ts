/**
 * `hvlab run IMAGE`: boot an image with the terminal as the guest's UART.
 *   - stdin a TTY: raw mode, keys go to the guest as typed; Ctrl-A X quits, Ctrl-A H helps,
 *     Ctrl-A A sends a Ctrl-A (QEMU's escapes). Idle guest time passes at real-time pace.
 *   - stdin piped: the whole input is read first, then delivered one line at a time whenever
 *     the guest idles, as if typed; under the instret clock the run is deterministic.
 * The exit status is the guest's: 0 for pass (SiFive test 0x5555, tohost 1, SBI shutdown),
 * its code for fail; 124 when --max-instructions ran out; 1 for a machine error.
 */
import { formatTlbModel, parseTlbModel, type TlbModelConfig } from '../tlb-model.js';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { HvlabError } from '../errors.js';
import { GSTAGE_PAGES, SOLO_IO_PATHS, ioPathConfig, MODES, passIdleTime, runScripted, StepMeter, Vm, type Firmware, type IoPath,
  type GstagePages, type Mode, type StopInfo } from '../vm.js';
import { loadCoreModule } from '../node/load-core.js';
import { isElf, parseElf } from '../loader/elf.js';
import { looksLikeLinuxImage } from '../loader/linux-image.js';
import { Stop } from '../core.js';
import { multiRunCommand } from './multi-run.js';
import { Debugger } from '../debug.js';
import { parseTraceFilter, traceKeeps, traceLine, type TraceFilter } from '../trace.js';
import { decodeSnapshotFile, encodeSnapshotFile, type SnapshotHeader } from '../snapshot-file.js';
import { runUnderGdb } from './gdb.js';
import { checkOutputPath, joinNegativeValues, parseAddress, parseByteSize, parseChoice, parseCount, parseMemSize,
  writeUserFile } from './options.js';

export const RUN_USAGE = `usage: hvlab run [IMAGE] [options]

Boot IMAGE (an RV64 ELF executable; the same as --kernel IMAGE) on the emulated QEMU-virt
machine, with this terminal as its console.

options:
  --mode MODE                   native (default): the bare machine; trap-emulate, hvm-shadow,
                                hvm-nested, pv: a VM under hvlab's hypervisor
                                (docs/hypervisor.md; pv runs a PV kernel: docs/pv-abi.md)
  --nested-pwc                  cache the G-stage translations of guest page-table pages in
                                two-stage walks (hvm-nested; a nested page-walk cache)
  --gstage-pages 4k|2m|1g       host pages behind guest RAM (default 4k): 2m and 1g place it in
                                aligned runs, mapped by 2 MiB / 1 GiB G-stage leaves (hvm-nested)
                                and letting shadow tables keep the guest's 2 MiB pages
                                (docs/superpages.md)
  --tlb-model SPEC              model a TLB and walk caches beside the run and report them in
                                --stats (tlbModel): e.g. l1d=64x4,l2=1024x8,pwc=16,npwc=16,ntlb=32
                                (every key and its default: docs/cost-model.md "The model TLB")
  --nested                      give the guest the H extension (hvm-nested): it may be a
                                hypervisor (L1) running its own guests (L2; docs/nested.md)
  --nested-walk fold|naive      L2's G-stage: a folded table L0 keeps (default), or naive,
                                every L2 G-stage walk emulated by L0 in software
  --firmware none|builtin|auto|FILE
                                none: start at the ELF entry in M-mode (bare metal);
                                builtin: hvlab's SBI firmware, start in S-mode (kernels);
                                auto (default): builtin if the image starts at or above
                                0x80200000 (where SBI firmware expects a kernel), else none;
                                FILE: an M-mode firmware such as OpenSBI's fw_jump.elf or
                                fw_dynamic.bin (an ELF, or raw at 0x80000000), as QEMU's -bios
  --kernel FILE                 the kernel (an ELF, or a RISC-V Linux Image placed after the
                                firmware on a 2 MiB boundary; under a firmware FILE any other
                                binary goes there raw, e.g. U-Boot's u-boot.bin); IMAGE is the
                                same thing
  --initrd FILE                 an initial ramdisk (/chosen linux,initrd-start/-end)
  --append TEXT                 the kernel command line (/chosen bootargs)
  --mem SIZE                    guest RAM, e.g. 128M (default), 1G
  --io PATH                     the I/O path (docs/io.md): emulated (default): the UART, and
                                emudisk with a disk; core, host, offload: virtio console,
                                entropy and block devices served in the core, in the host
                                (heavy exits), or by a worker thread polling the rings
  --no-virtio-console           with --io core, host or offload: no virtio console, the UART
                                stays the console (U-Boot, or a kernel with console=ttyS0,
                                beside a virtio disk); the keyboard goes to the UART
  --drive FILE                  a raw disk image (whole 512-byte sectors); the guest's writes
                                are saved back to FILE when the run ends
  --disk SIZE                   a blank in-memory disk instead, e.g. 4M (discarded at the end)
  --clock instret|wall          instret (default): time advances with instructions, runs are
                                deterministic; wall: time follows the host clock
  --load-address ADDR           IMAGE is a raw binary: load it at ADDR (e.g. 0x80000000)
                                and start there
  --max-instructions N          stop after N instructions (exit status 124)
  --stats FILE|-                write counters as JSON to FILE, or to stderr with -
  --trace                       print each instruction to stderr: instructions retired, the
                                guest's privilege, pc and the registers it changed, and any VM
                                exit taken (a stable format for diffs: docs/debugger.md)
  --trace-filter SPEC           trace only some instructions: priv=U+S, pc=LO-HI, exits
                                (terms joined by commas must all hold); implies --trace
  --snapshot-at N FILE          save the whole machine to FILE after N instructions and go on
                                (piped or no input)
  --restore FILE                start from a snapshot FILE instead of booting (its machine
                                options come from the file; piped input goes on after the
                                lines the snapshot had consumed)
  --gdb PORT                    serve the GDB remote protocol on 127.0.0.1:PORT (gdb-multiarch:
                                set architecture riscv:rv64; target remote :PORT); the guest
                                runs until a debugger attaches (docs/debugger.md)
                                (PORT 0: any free port, named on stderr)
  --gdb-wait                    with --gdb: wait for the debugger before the first instruction
  --config FILE                 many VMs in one machine instead of IMAGE: see
                                hvlab run --config FILE --help and docs/multi-vm.md
  -h, --help                    this help

In the console: Ctrl-A X quits, Ctrl-A H shows these keys. Piped input is typed line by
line whenever the guest waits for input.`;

const KERNEL_BASE = 0x8020_0000n;
const CTRL_A = 0x01;

interface RunOptions {
  /** the kernel (IMAGE or --kernel); absent only with a firmware file */
  image?: string;
  firmwareFile?: string;
  initrd?: string;
  append?: string;
  mode: Mode;
  nestedPwc: boolean;
  gstagePages: GstagePages;
  tlbModel?: TlbModelConfig;
  nested: boolean;
  nestedFold: 'fold' | 'naive';
  firmware: Firmware | 'auto';
  memMiB: number;
  clock: 'instret' | 'wall';
  maxInstructions: number;
  loadAddress?: bigint;
  stats?: string;
  trace: boolean;
  traceFilter?: TraceFilter;
  snapshotAt?: { instructions: bigint; file: string };
  restore?: string;
  gdbPort?: number;
  gdbWait: boolean;
  io: IoPath;
  virtioConsole: boolean;
  drive?: string;
  diskBytes?: number;
}

const RUN_VALUED = new Set(['--mode', '--gstage-pages', '--tlb-model', '--firmware', '--kernel', '--initrd', '--append', '--mem', '--clock',
  '--max-instructions', '--load-address', '--stats', '--io', '--drive', '--disk', '--trace-filter', '--restore', '--gdb']);

/** `--snapshot-at N FILE` takes two values, which node:util's parseArgs cannot: take it out first. */
function takeSnapshotAt(argv: string[]): { rest: string[]; snapshotAt?: { instructions: bigint; file: string } } {
  const i = argv.indexOf('--snapshot-at');
  if (i < 0) return { rest: argv };
  const n = argv[i + 1];
  const file = argv[i + 2];
  if (n === undefined || file === undefined || file.startsWith('--')) {
    throw new HvlabError('BAD_OPTION', '--snapshot-at needs two values: N (instructions) and FILE');
  }
  if (argv.indexOf('--snapshot-at', i + 1) >= 0) throw new HvlabError('BAD_OPTION', '--snapshot-at is given twice');
  return { rest: [...argv.slice(0, i), ...argv.slice(i + 3)], snapshotAt: { instructions: BigInt(parseCount('--snapshot-at', n)), file } };
}

export function parseRunArgs(argv0: string[]): RunOptions | 'help' {
  if (argv0.includes('--help') || argv0.includes('-h')) return 'help';
  const { rest: argv, snapshotAt } = takeSnapshotAt(argv0);
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv, RUN_VALUED),
      allowPositionals: true,
      strict: true,
      options: {
        mode: { type: 'string' },
        'nested-pwc': { type: 'boolean' },
        'gstage-pages': { type: 'string' },
        'tlb-model': { type: 'string' },
        nested: { type: 'boolean' },
        'nested-walk': { type: 'string' },
        firmware: { type: 'string' },
        kernel: { type: 'string' },
        initrd: { type: 'string' },
        append: { type: 'string' },
        mem: { type: 'string' },
        clock: { type: 'string' },
        'max-instructions': { type: 'string' },
        'load-address': { type: 'string' },
        stats: { type: 'string' },
        trace: { type: 'boolean' },
        'trace-filter': { type: 'string' },
        restore: { type: 'string' },
        gdb: { type: 'string' },
        'gdb-wait': { type: 'boolean' },
        io: { type: 'string' },
        'no-virtio-console': { type: 'boolean' },
        drive: { type: 'string' },
        disk: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    // node:util's messages are long and mention internals; keep the part a person needs.
    const msg = (e as Error).message.split('\n')[0].replace(/\. To specify a positional.*$/, '');
    throw new HvlabError('BAD_OPTION', `${msg} (see hvlab run --help)`);
  }
  const v = parsed.values;
  const FIRMWARE_KEYWORDS = ['none', 'builtin', 'auto'] as const;
  const firmwareFile = v.firmware !== undefined && !(FIRMWARE_KEYWORDS as readonly string[]).includes(v.firmware) ? v.firmware : undefined;
  if (v.kernel !== undefined && parsed.positionals.length > 0) {
    throw new HvlabError('BAD_OPTION', `run: the kernel is given twice (IMAGE ${parsed.positionals[0]} and --kernel ${v.kernel}): give one`);
  }
  const image = v.kernel ?? parsed.positionals[0];
  if (v.restore !== undefined) {
    // The machine comes from the snapshot: options that would make another one make no sense.
    const clash = image !== undefined ? `IMAGE ${image}` : (['mode', 'mem', 'io', 'firmware', 'drive', 'disk', 'initrd', 'append', 'load-address'] as const)
      .filter((k) => v[k] !== undefined).map((k) => `--${k}`)[0];
    if (clash) throw new HvlabError('BAD_OPTION', `--restore ${v.restore} takes the machine from the snapshot: drop ${clash}`);
  }
  if (v['gdb-wait'] && v.gdb === undefined) throw new HvlabError('BAD_OPTION', '--gdb-wait needs --gdb PORT');
  const gdbPort = v.gdb === undefined ? undefined : Number(v.gdb);
  if (gdbPort !== undefined && (!/^\d+$/.test(v.gdb!) || gdbPort > 65535)) {
    throw new HvlabError('BAD_OPTION', `--gdb: '${v.gdb}' is not a TCP port (1..65535, or 0 for any free one)`);
  }
  if (gdbPort !== undefined && (v.trace || v['trace-filter'] !== undefined || snapshotAt)) {
    throw new HvlabError('BAD_OPTION', '--gdb runs the guest under the debugger: drop --trace, --trace-filter and --snapshot-at');
  }
  if (snapshotAt && (v.trace || v['trace-filter'] !== undefined)) {
    throw new HvlabError('BAD_OPTION', '--snapshot-at and --trace do not go together: trace the restored run instead');
  }
  if (image === undefined && v.restore === undefined) {
    if (v.initrd !== undefined) throw new HvlabError('BAD_OPTION', '--initrd needs a kernel (--kernel FILE or IMAGE)');
    if (v.append !== undefined) throw new HvlabError('BAD_OPTION', '--append needs a kernel (--kernel FILE or IMAGE)');
    if (firmwareFile === undefined) throw new HvlabError('BAD_OPTION', 'run: no image given (see hvlab run --help)');
  }
  if (v.drive !== undefined && v.disk !== undefined) {
    throw new HvlabError('BAD_OPTION', '--drive and --disk both give the VM a disk: choose one');
  }
  if (parsed.positionals.length > 1) {
    throw new HvlabError('BAD_OPTION', `run: one image expected, got ${parsed.positionals.length}: ${parsed.positionals.join(' ')}`);
  }
  return {
    image,
    firmwareFile,
    initrd: v.initrd,
    append: v.append,
    mode: v.mode === undefined ? 'native' : parseChoice('--mode', v.mode, MODES),
    nestedPwc: v['nested-pwc'] ?? false,
    gstagePages: v['gstage-pages'] === undefined ? '4k' : parseChoice('--gstage-pages', v['gstage-pages'], GSTAGE_PAGES),
    tlbModel: v['tlb-model'] === undefined ? undefined : parseTlbModel(v['tlb-model']),
    nested: v.nested ?? false,
    nestedFold: v['nested-walk'] === undefined ? 'fold' : parseChoice('--nested-walk', v['nested-walk'], ['fold', 'naive'] as const),
    firmware: v.firmware === undefined ? 'auto' : firmwareFile !== undefined ? 'file' : v.firmware as Firmware | 'auto',
    memMiB: v.mem === undefined ? 128 : parseMemSize(v.mem),
    clock: v.clock === undefined ? 'instret' : parseChoice('--clock', v.clock, ['instret', 'wall'] as const),
    maxInstructions: v['max-instructions'] === undefined ? Number.MAX_SAFE_INTEGER : parseCount('--max-instructions', v['max-instructions']),
    loadAddress: v['load-address'] === undefined ? undefined : parseAddress('--load-address', v['load-address']),
    stats: v.stats,
    trace: (v.trace ?? false) || v['trace-filter'] !== undefined,
    traceFilter: v['trace-filter'] === undefined ? undefined : parseTraceFilter(v['trace-filter']),
    snapshotAt,
    restore: v.restore,
    gdbPort,
    gdbWait: v['gdb-wait'] ?? false,
    io: v.io === undefined ? 'emulated' : parseChoice('--io', v.io, SOLO_IO_PATHS),
    virtioConsole: !v['no-virtio-console'],
    drive: v.drive,
    diskBytes: v.disk === undefined ? undefined : parseByteSize('--disk', v.disk, 512),
  };
}

/** Read a file the user named; a failure is one line naming the file (`label`) and why. */
async function readUserFile(path: string, code: string, label: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    const why = errno === 'ENOENT' ? 'no such file' : errno === 'EISDIR' ? 'is a directory' : errno === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new HvlabError(code, `${label}: ${why}`);
  }
}

/** A --drive image: readable, and whole 512-byte sectors. */
async function readDrive(path: string): Promise<Uint8Array> {
  const bytes = await readUserFile(path, 'BAD_DRIVE', `--drive ${path}`);
  if (bytes.length === 0 || bytes.length % 512 !== 0) {
    throw new HvlabError('BAD_DRIVE', `--drive ${path}: ${bytes.length} bytes is not a whole number of 512-byte sectors`);
  }
  return bytes;
}

const readImage = (path: string) => readUserFile(path, 'BAD_IMAGE', path);

/** `auto`: an image at or above 0x80200000 is a kernel expecting SBI firmware below it. */
function chooseFirmware(opt: RunOptions['firmware'], bytes: Uint8Array, name: string, memMiB: number): Firmware {
  if (opt !== 'auto') return opt;
  // A Linux Image is a kernel: it needs an SBI below it.
  if (looksLikeLinuxImage(bytes)) return 'builtin';
  if (!isElf(bytes)) return 'none';
  const img = parseElf(bytes, { base: 0x8000_0000n, size: BigInt(memMiB) << 20n }, name);
  return img.lowest >= KERNEL_BASE ? 'builtin' : 'none';
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Interactive session: raw TTY, keys to the guest, Ctrl-A escapes. */
async function interactive(vm: Vm, opts: RunOptions): Promise<StopInfo> {
  const stdin = process.stdin;
  let quit = false;
  let escape = false;
  let wake: (() => void) | undefined;
  stdin.setRawMode(true);
  stdin.resume();
  // A virtio console learns the terminal's size, and every resize (5.3.6.2).
  const resize = () => vm.resizeConsole(process.stdout.columns ?? 80, process.stdout.rows ?? 24);
  resize();
  process.stdout.on('resize', resize);
  stdin.on('data', (buf: Buffer) => {
    const out: number[] = [];
    for (const b of buf) {
      if (escape) {
        escape = false;
        const k = String.fromCharCode(b).toLowerCase();
        if (k === 'x') { quit = true; break; }
        if (k === 'a') out.push(CTRL_A);
        if (k === 'h') process.stderr.write('\r\nC-a x  quit hvlab\r\nC-a a  send C-a to the guest\r\nC-a h  this help\r\n');
        continue;
      }
      if (b === CTRL_A) { escape = true; continue; }
      out.push(b);
    }
    if (out.length) vm.sendInput(new Uint8Array(out));
    wake?.();
  });
  try {
    const SLICE = 2_000_000;
    const steps = new StepMeter(vm);
    while (!quit) {
      const left = opts.maxInstructions - steps.used;
      if (left <= 0) return { reason: 'limit', code: 124, message: `instruction limit ${opts.maxInstructions} reached` };
      const slice = Math.min(left, SLICE);
      const r = vm.run(slice);
      steps.after(r.stop, slice);
      const gate = vm.outputGate?.();
      if (gate) await gate;
      if (r.info) return r.info;
      if (r.stop === Stop.Idle && vm.ioBusy()) {
        vm.ioWait(5); // the guest waits for the offload worker, not for time
        await new Promise<void>((r2) => setImmediate(r2));
      } else if (r.stop === Stop.Idle && vm.inputPending === 0) {
        // Let guest time pass at real-time pace (up to the next timer), or wait for a key.
        const ticks = vm.ticksToNextTimer();
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, ticks === undefined ? 1000 : Math.min(20, Number(ticks) / 10_000));
        });
        wake = undefined;
        if (vm.inputPending === 0 && vm.config.clock === 'instret' && ticks !== undefined) vm.idleSkip();
      } else {
        await new Promise<void>((r2) => setImmediate(r2));
      }
    }
    return { reason: 'pass', code: 0, message: 'quit (Ctrl-A X)' };
  } finally {
    process.stdout.off('resize', resize);
    stdin.setRawMode(false);
    stdin.pause();
  }
}

/**
 * Single-step with a trace line per instruction (src/trace.ts has the format and the filter):
 * `N P 0xPC reg=0x... | exit cause=0x... tval=0x...`.
 */
async function traced(vm: Vm, input: string, opts: RunOptions): Promise<StopInfo> {
  const lines = input.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  // The debugger's guest view gives the privilege the guest believes it has.
  const view = new Debugger(vm);
  let regs = vm.registers();
  let exits = vm.exitLog(1)[0]?.index ?? -1;
  const steps = new StepMeter(vm);
  const out: string[] = [];
  const flush = () => { if (out.length) { process.stderr.write(out.join('')); out.length = 0; } };
  try {
    while (steps.used < opts.maxInstructions) {
      const pc = vm.pc;
      const instret = vm.instructions;
      const priv = view.privilege().name;
      const r = vm.run(1);
      steps.after(r.stop, 1);
      const now = vm.registers();
      const last = vm.exitLog(1)[0];
      const exit = last && last.index !== exits ? { cause: last.cause, tval: last.tval } : undefined;
      if (last) exits = last.index;
      const step = { instret, priv, pc, before: regs, after: now, exit };
      if (traceKeeps(opts.traceFilter, step)) out.push(traceLine(step) + '\n');
      if (out.length >= 256) flush();
      regs = now;
      if (r.info) return r.info;
      if (r.stop === Stop.Idle) {
        const next = lines.shift();
        if (next !== undefined) vm.sendInput(next);
        else if (!await passIdleTime(vm)) return { reason: 'idle', code: 0, message: 'the guest is waiting for input and none is left' };
      }
    }
    return { reason: 'limit', code: 124, message: `instruction limit ${opts.maxInstructions} reached` };
  } finally {
    flush();
  }
}

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Make the VM of `hvlab run`: booted from the options, or restored from a snapshot file. */
async function makeVm(opts: RunOptions): Promise<{ vm: Vm; firmware: Firmware | string; drive?: Uint8Array; restored?: SnapshotHeader }> {
  if (opts.restore !== undefined) {
    const file = await readUserFile(opts.restore, 'BAD_SNAPSHOT', `--restore ${opts.restore}`);
    const { header, bytes } = decodeSnapshotFile(file, opts.restore);
    const vm = await Vm.create(header.config, await loadCoreModule());
    vm.restore(bytes);
    // What the VM held outside the core when the snapshot was taken: queued input, and the
    // count of console bytes, so the restored run's figures go on from there.
    vm.lifeLoad({ input: header.pendingInput });
    vm.outputBytes = header.outputBytes;
    return { vm, firmware: String(header.config.firmware ?? 'none'), restored: header };
  }
  if (opts.mode !== 'native' && (opts.firmware === 'none' || opts.firmware === 'file')) {
    throw new HvlabError('BAD_OPTION', `--mode ${opts.mode} runs a kernel under the hypervisor's SBI: --firmware ${opts.firmwareFile ?? 'none'} does not apply`);
  }
  const fwBytes = opts.firmwareFile === undefined ? undefined : await readUserFile(opts.firmwareFile, 'BAD_FIRMWARE', `--firmware ${opts.firmwareFile}`);
  const bytes = opts.image === undefined ? undefined : await readImage(opts.image);
  if (bytes && bytes.length === 0) throw new HvlabError('BAD_IMAGE', `${opts.image}: the file is empty`);
  if (bytes && opts.loadAddress !== undefined && isElf(bytes)) {
    throw new HvlabError('BAD_OPTION', `--load-address is for a raw binary, and ${opts.image} is an ELF file (it loads at its own addresses): drop --load-address`);
  }
  if (opts.stats !== undefined && opts.stats !== '-') await checkOutputPath('--stats', opts.stats);
  if (opts.snapshotAt) await checkOutputPath('--snapshot-at', opts.snapshotAt.file);
  const initrd = opts.initrd === undefined ? undefined : await readUserFile(opts.initrd, 'BAD_INITRD', `--initrd ${opts.initrd}`);
  const firmware: Firmware = opts.mode !== 'native' ? 'builtin' : opts.firmware === 'file' ? 'file'
    : chooseFirmware(opts.firmware, bytes!, opts.image!, opts.memMiB);
  const drive = opts.drive === undefined ? undefined : await readDrive(opts.drive);
  const io = ioPathConfig(opts.io, drive ?? opts.diskBytes);
  // A virtio console takes the keyboard from the UART (assembly/devices/console.ts): leave it
  // out when the guest's console is the UART.
  if (!opts.virtioConsole && io.virtio) io.virtio = { ...io.virtio, console: false };
  const vm = await Vm.create({ memMiB: opts.memMiB, clock: opts.clock, mode: opts.mode, nestedPwc: opts.nestedPwc,
    gstagePages: opts.gstagePages,
    tlbModel: opts.tlbModel,
    nested: opts.nested, nestedFold: opts.nestedFold,
    firmware: fwBytes ? { file: fwBytes, name: opts.firmwareFile } : firmware as 'none' | 'builtin',
    bootargs: opts.append, ...io }, await loadCoreModule());
  vm.boot({ kernel: bytes, kernelName: opts.image, kernelAddress: opts.loadAddress, initrd, initrdName: opts.initrd });
  return { vm, firmware: opts.firmwareFile ?? firmware, drive };
}

export async function runCommand(argv: string[]): Promise<number> {
  // Many VMs from a config file: their own options and console (multi-run.ts).
  if (argv.some((a) => a === '--config' || a.startsWith('--config='))) return multiRunCommand(argv);
  const opts = parseRunArgs(argv);
  if (opts === 'help') { console.log(RUN_USAGE); return 0; }
  if (opts.snapshotAt && process.stdin.isTTY) {
    throw new HvlabError('BAD_OPTION', '--snapshot-at needs piped input (or none: < /dev/null), so the run can be replayed');
  }
  const { vm, firmware, drive, restored } = await makeVm(opts);
  // A reader that goes away (`hvlab run ... | head`) closes stdout: the guest's further output
  // is dropped, and the run ends as it would have (a drive is still written back).
  let stdoutOpen = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    stdoutOpen = false;
  });
  vm.onConsole = (text) => { if (stdoutOpen) process.stdout.write(text); };
  // stdout to a slow pipe or terminal: the guest waits for it rather than Node buffering a
  // flooding guest's output without bound (docs/io.md "Bounds"); a closed one is not waited for.
  vm.outputGate = () => (stdoutOpen && process.stdout.writableNeedDrain ? once(process.stdout, 'drain').then(() => undefined) : undefined);
  let stop: StopInfo;
  if (opts.gdbPort !== undefined) {
    stop = await runUnderGdb(vm, opts.gdbPort, opts.gdbWait, opts.maxInstructions);
  } else if (opts.trace) {
    stop = await traced(vm, process.stdin.isTTY ? '' : await readAllStdin(), opts);
  } else if (process.stdin.isTTY) {
    stop = await interactive(vm, opts);
  } else {
    const snap = opts.snapshotAt;
    let written = false;
    stop = await runScripted(vm, await readAllStdin(), opts.maxInstructions, undefined, {
      skipLines: restored?.linesDelivered,
      pauseAt: snap?.instructions,
      onPause: snap && (async (linesDelivered) => {
        const bytes = vm.snapshot();
        const header: SnapshotHeader = { config: vm.portableConfig(), instructions: vm.instructions.toString(),
          outputBytes: vm.outputBytes, linesDelivered, pendingInput: vm.lifeExtras().input, image: opts.image };
        await writeUserFile('--snapshot-at', snap.file, encodeSnapshotFile(header, bytes));
        written = true;
      }),
    });
    if (snap && !written) process.stderr.write(`\nhvlab: the run ended after ${vm.instructions} instructions, before --snapshot-at ${snap.instructions}: no snapshot written\n`);
  }
  // The guest's writes go back to the drive file (only if it wrote anything).
  const disk = vm.disk();
  if (opts.drive !== undefined && drive && disk && !equalBytes(disk, drive)) await writeUserFile('--drive', opts.drive, disk);
  await vm.close();
  if (opts.stats !== undefined) {
    const json = JSON.stringify({ image: opts.image ?? restored?.image, mode: vm.config.mode, firmware, clock: vm.config.clock,
      memMiB: vm.config.memMiB, ...(vm.config.tlbModel ? { tlbModelSpec: formatTlbModel(vm.config.tlbModel) } : {}), stop, ...vm.stats() }, null, 2);
    if (opts.stats === '-') process.stderr.write(json + '\n');
    else await writeUserFile('--stats', opts.stats, json + '\n');
  }
  if (stop.reason === 'error' || stop.reason === 'limit') process.stderr.write(`\nhvlab: ${stop.message}\n`);
  if (stop.reason === 'fail') process.stderr.write(`\nhvlab: guest failed with code ${stop.code}\n`);
  if (stop.reason === 'reset') process.stderr.write('\nhvlab: guest requested a reset; stopping\n');
  return Math.min(255, stop.code);
}
