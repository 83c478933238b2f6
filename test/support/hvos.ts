// Shared by the tests that run hvos: where its image and golden session are, and how to make
// a transcript comparable across platforms, modes and runs.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QEMU_BINARY } from '../qemu.js';

export const HVOS_ELF = join('guests', 'hvos', 'prebuilt', 'hvos.elf');
export const GOLDEN_DIR = join('test', 'golden', 'hvos');
export const SESSION_IN = readFileSync(join(GOLDEN_DIR, 'session.in'), 'latin1');
export const SESSION_OUT = join(GOLDEN_DIR, 'session.out');
export const BANNER = 'hvos v';
export const PROMPT = 'hvos$ ';

/**
 * Drop what the firmware printed before the banner, turn "\r\n" into "\n", and replace the
 * lines that legitimately differ: the SBI implementation, the hypervisor probe, timings.
 */
export function normalise(raw: string): string {
  const start = raw.indexOf(BANNER);
  const text = (start < 0 ? raw : raw.slice(start)).replace(/\r\n/g, '\n');
  return text
    .replace(/^SBI: .*$/gm, 'SBI: <platform>')
    .replace(/^(Hypervisor detected|No hypervisor detected).*$/gm, '<hypervisor>')
    .replace(/ time=.*$/gm, ' time=<t>');
}

/** One step of a scripted QEMU session: wait for `text` (the `count`th time), then send. */
export interface QemuStep {
  text: string;
  count?: number;
  /** Wait this long after seeing the text before sending. */
  delayMs?: number;
  send: string;
}

export interface HvosQemuOptions {
  /** Added to the command line: devices, drives. */
  extraArgs?: string[];
  /**
   * Put a virtio-console on stdio (virtio-serial-device + virtconsole, port 0) and the UART
   * in a file. The transcript is then the UART's output (firmware, hvos's first lines)
   * followed by the virtio-console's.
   */
  virtioConsole?: boolean;
  timeoutMs?: number;
}

export interface HvosQemuResult {
  console: string;
  exitCode: number | null;
  timedOut: boolean;
}

/**
 * Boot hvos on QEMU (OpenSBI) and play `steps`. Input is written only once the guest has
 * printed what a step waits for: OpenSBI reads the UART while it starts, and bytes sent before
 * the kernel runs could be lost.
 */
export function runHvosOnQemu(image: string, steps: QemuStep[], opts: HvosQemuOptions = {}):
  Promise<HvosQemuResult> {
  // No '-cpu rv64,c=off' here (unlike test/qemu.ts): OpenSBI itself is built with the C
  // extension. hvos has no compressed instruction either way (checked by make and its test).
  const dir = opts.virtioConsole ? mkdtempSync(join(tmpdir(), 'hvos-qemu-')) : '';
  const uartFile = join(dir, 'uart.out');
  const consoleArgs = opts.virtioConsole
    ? ['-serial', `file:${uartFile}`, '-device', 'virtio-serial-device',
      '-chardev', 'stdio,id=hvc0', '-device', 'virtconsole,chardev=hvc0']
    : ['-serial', 'stdio'];
  const args = ['-machine', 'virt', '-bios', 'default', '-m', '128M', '-nographic',
    '-monitor', 'none', ...consoleArgs, ...(opts.extraArgs ?? []), '-kernel', image];
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU_BINARY, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timedOut = false;
    let next = 0;
    const pump = () => {
      while (next < steps.length) {
        const s = steps[next];
        const seen = out.split(s.text).length - 1;
        if (seen < (s.count ?? 1)) return;
        next++;
        if (s.delayMs) {
          setTimeout(() => { child.stdin.write(s.send); pump(); }, s.delayMs);
          return;
        }
        child.stdin.write(s.send);
      }
    };
    child.stdout.on('data', (b: Buffer) => { out += b.toString('latin1'); pump(); });
    child.stderr.on('data', (b: Buffer) => { err += b.toString('latin1'); });
    child.stdin.on('error', () => { /* QEMU may exit before reading all input */ });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, opts.timeoutMs ?? 60_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0 && !timedOut && err.includes('qemu-system')) {
        reject(new Error(`qemu failed: ${err.trim()}`));
        return;
      }
      let console = out;
      if (dir) {
        console = readFileSync(uartFile, 'latin1') + out;
        rmSync(dir, { recursive: true, force: true });
      }
      resolve({ console, exitCode: timedOut ? null : code, timedOut });
    });
  });
}
