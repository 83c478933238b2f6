// Runs a guest image on the reference machine, qemu-system-riscv64 -machine virt,
// and captures its console. The guests end through the SiFive test device, which
// makes QEMU exit with the guest's code (0 pass, N for (N<<16)|0x3333).
import { spawn, spawnSync } from 'node:child_process';

export interface QemuRunOptions {
  timeoutMs?: number;
  /** Bytes fed to the UART receive side (stdin of the serial port). */
  input?: string;
  /** 'none', 'default' (QEMU's OpenSBI), or a firmware file (e.g. Debian's fw_jump.elf). */
  bios?: 'none' | 'default' | string;
  memMiB?: number;
  /** -cpu value; default hvlab's ISA: rv64 (IMAFDC, with H where asked). */
  cpu?: string;
  /**
   * Drive QEMU's clock by instructions (`-icount shift=0,sleep=off`) instead of real time, for
   * guests that race a timer against their own code: on a loaded host, real time can pass
   * a short timer deadline between two instructions and the reference output would change.
   */
  icount?: boolean;
}

export interface QemuRunResult {
  console: string;
  exitCode: number | null;
  timedOut: boolean;
}

export const QEMU_BINARY = process.env.HVLAB_QEMU ?? 'qemu-system-riscv64';

/** The flags used for every run; the UART is the only thing on stdio. */
export function qemuArgs(elfPath: string, opts: QemuRunOptions = {}): string[] {
  return [
    '-machine', 'virt',
    '-nographic',
    '-bios', opts.bios ?? 'none',
    '-m', `${opts.memMiB ?? 128}M`,
    '-serial', 'stdio',
    '-monitor', 'none',
    // hvlab's CPU: RV64IMAFDC (+H). With C, IALIGN = 16 on both.
    '-cpu', opts.cpu ?? 'rv64',
    ...(opts.icount ? ['-icount', 'shift=0,sleep=off'] : []),
    '-kernel', elfPath,
  ];
}

let available: boolean | undefined;

export function qemuAvailable(): boolean {
  if (available === undefined) {
    const r = spawnSync(QEMU_BINARY, ['--version'], { encoding: 'utf8' });
    available = r.status === 0;
  }
  return available;
}

export function runOnQemu(elfPath: string, opts: QemuRunOptions = {}): Promise<QemuRunResult> {
  return spawnQemu(qemuArgs(elfPath, opts), opts.timeoutMs ?? 20_000, { input: opts.input });
}

/** What spawnQemu may do beside capturing the console. */
export interface QemuIo {
  /** Bytes written to QEMU's stdin (the serial port) at once. */
  input?: string;
  /** Called with the whole console so far after each chunk of output; it may type more. */
  onOutput?: (console: string, type: (text: string) => void) => void;
}

/**
 * Run qemu-system-riscv64 with `args`; the console is its stdout. Resolves when QEMU exits, or
 * kills it after `timeoutMs` (timedOut, exit code null); rejects if QEMU itself failed.
 */
export function spawnQemu(args: string[], timeoutMs: number, io: QemuIo = {}): Promise<QemuRunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU_BINARY, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let console = '';
    const err: Buffer[] = [];
    let timedOut = false;
    const type = (text: string) => { child.stdin.write(text); };
    child.stdout.on('data', (b: Buffer) => {
      console += b.toString('latin1');
      io.onOutput?.(console, type);
    });
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => { /* QEMU may exit before reading its input */ });
    if (io.input !== undefined) child.stdin.write(io.input);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      const stderr = Buffer.concat(err).toString('utf8');
      if (code !== 0 && !timedOut && stderr.includes('qemu-system')) {
        reject(new Error(`qemu failed: ${stderr.trim()}`));
        return;
      }
      resolve({ console, exitCode: timedOut ? null : code, timedOut });
    });
  });
}
