// The GDB stub (src/gdb/, docs/debugger.md) as a person uses it: `hvlab run --gdb PORT
// --gdb-wait` with hvos, and Debian's gdb-multiarch in batch mode attached to it. In native,
// trap-emulate, hvm-nested and pv: a breakpoint in hvos's syscall handler (by its ELF symbol),
// a step, CSRs with the values a system call leaves, a page read through the guest's
// translation; a watchpoint; Ctrl-C; detach; and a hostile client's packets.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HVOS_ELF } from './support/hvos.js';

const root = process.cwd();
const bin = join(root, 'bin', 'hvlab.js');
const elf = readFileSync(HVOS_ELF);
const haveGdb = spawnSync('gdb-multiarch', ['--version']).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'hvlab-gdb-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Hvlab { child: ChildProcess; port: number; stdout: () => string; stderr: () => string; exit: Promise<number | null> }

/** Start `hvlab run hvos --gdb 0 --gdb-wait` and wait until it names its port. */
async function startHvlab(args: string[], input: string): Promise<Hvlab> {
  const child = spawn(process.execPath, [bin, 'run', HVOS_ELF, '--gdb', '0', '--gdb-wait', ...args], { cwd: root });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => { out += d; });
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.stdin!.end(input);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hvlab did not listen: ${err}`)), 30_000);
    child.stderr!.on('data', (d) => {
      err += d;
      const m = /on 127\.0\.0\.1:(\d+)/.exec(err);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    child.on('close', () => reject(new Error(`hvlab exited: ${err}`)));
  });
  return { child, port, stdout: () => out, stderr: () => err, exit };
}

/** gdb-multiarch -batch with hvos's symbols, attached to `port`, running `commands`. */
async function gdb(port: number, commands: string[], interruptAfterMs?: number): Promise<string> {
  const args = ['-batch', '-nx', HVOS_ELF, '-ex', 'set architecture riscv:rv64', '-ex', 'set pagination off',
    '-ex', `target remote 127.0.0.1:${port}`, ...commands.flatMap((c) => ['-ex', c])];
  const child = spawn('gdb-multiarch', args, { cwd: root });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  // Ctrl-C at a terminal: GDB sends 0x03 to the stub while `continue` waits.
  const timer = interruptAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGINT'), interruptAfterMs);
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  await new Promise((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  clearTimeout(killer);
  return out;
}

/** The value GDB printed for `$N = value` (the Nth print). */
function printed(out: string, n: number): string {
  const m = new RegExp(`^\\$${n} = (.*)$`, 'm').exec(out);
  if (!m) throw new Error(`no $${n} in:\n${out}`);
  return m[1];
}

const MODES = ['native', 'trap-emulate', 'hvm-nested', 'pv'] as const;

describe('gdb-multiarch is installed', () => {
  it.skipIf(haveGdb || !process.env.CI)('(required in CI: .ci/run installs gdb-multiarch)', () => {
    expect.fail('gdb-multiarch not found: CI must install it');
  });
});

describe.skipIf(!haveGdb)('gdb-multiarch against hvlab --gdb', () => {
  for (const mode of MODES) {
    it(`${mode}: break in syscall, step, CSRs, a page through the guest's translation, detach runs on`, async () => {
      const page = join(tmp, `page-${mode}.bin`);
      const h = await startHvlab(['--mode', mode], 'syscall 2\necho after detach\npoweroff\n');
      const out = await gdb(h.port, [
        'break syscall',
        'continue',
        'p $scause',         // $1: environment call from U-mode
        // $2: SPP = 0, the trap came from U (pv has no sstatus: its kernel learns where a
        // trap came from by which handler the hypervisor bounced it to)
        mode === 'pv' ? 'p/x 0' : 'p/x $sstatus & 0x100',
        'p $priv',           // $3: the guest kernel's (virtual) privilege: S
        'p $pc == syscall',  // $4: GDB put the breakpoint after the prologue
        'stepi',
        'p $pc',             // $5
        'x/1xw $sepc',       // the user's ecall, through the guest's translation
        `dump binary memory ${page} 0x80206000 0x80207000`,
        'p/x $hstatus',      // $6: a guest has no H CSRs; natively the hart's
        'monitor hv',
        'p $virt',           // $7
        'monitor walk 0x80206000',
        'delete',
        'detach',
      ]);
      expect(out).toMatch(/Breakpoint 1, 0x[0-9a-f]+ in syscall \(\)/);
      expect(printed(out, 1)).toBe('8');
      expect(printed(out, 2)).toBe('0x0');
      expect(printed(out, 3)).toBe("1 '\\001'");
      expect(out).toMatch(/0x[0-9a-f]+(?: <[^>]+>)?:\s+0x00000073/); // ecall
      // The page GDB read through the guest's translation is the kernel's text from the ELF.
      expect(readFileSync(page)).toEqual(elf.subarray(0x7000, 0x8000));
      if (mode === 'native') {
        expect(printed(out, 6)).toMatch(/^0x2000000\d{2}$/); // hstatus.VSXL = 64-bit
        expect(printed(out, 7)).toBe("0 '\\000'");
        expect(out).toContain('0x80206000 -> host-physical 0x80206000');
      } else {
        expect(printed(out, 6)).toBe('<unavailable>');
        // The hypervisor's view: V = 1 under hvm; trap-emulate and pv run the kernel in real U.
        expect(printed(out, 7)).toBe(mode === 'hvm-nested' ? "1 '\\001'" : "0 '\\000'");
        // Guest frames are scattered: the kernel's page is at some other host address.
        expect(out).toMatch(/0x80206000 -> host-physical 0x[0-9a-f]+/);
      }
      expect(out).toContain('Inferior 1 (Remote target) detached');
      expect(await h.exit).toBe(0);
      expect(h.stdout()).toMatch(/syscall n=2 errors=0/);
      expect(h.stdout()).toContain('after detach');
    }, 120_000);
  }

  it('a write watchpoint stops at the store to curproc; a step shows the new value', async () => {
    const h = await startHvlab(['--mode', 'trap-emulate'], 'true\npoweroff\n');
    const out = await gdb(h.port, ['watch *(long *)&curproc', 'continue', 'p $pc != 0', 'continue', 'delete', 'detach']);
    expect(out).toMatch(/Hardware watchpoint 1: \*\(long \*\)&curproc/);
    expect(out).toMatch(/Old value = .*\nNew value = /);
    expect(await h.exit).toBe(0);
  }, 120_000);

  it('Ctrl-C interrupts a running guest; kill ends the run', async () => {
    const h = await startHvlab(['--mode', 'hvm-nested'], 'compute 1000000000\n');
    const out = await gdb(h.port, ['continue', 'p $priv', 'monitor info', 'kill'], 3000);
    expect(out).toContain('Program received signal SIGINT, Interrupt.');
    // The guest was computing in user mode.
    expect(printed(out, 1)).toBe("0 '\\000'");
    expect(out).toMatch(/mode hvm-nested, guest's view, privilege U, pc 0x[0-9a-f]+, \d+ instructions/);
    expect(await h.exit).toBe(0);
    expect(h.stderr()).toContain('gdb: debugger connected');
  }, 120_000);
});

/** A raw client: send `packets` (framed unless they start with '!'), collect what comes back. */
async function rawSession(port: number, packets: string[]): Promise<string[]> {
  const sock = connect(port, '127.0.0.1');
  let got = '';
  sock.on('data', (d) => { got += d.toString('latin1'); });
  await new Promise((resolve) => sock.once('connect', resolve));
  const replies: string[] = [];
  for (const p of packets) {
    got = '';
    if (p.startsWith('!')) sock.write(Buffer.from(p.slice(1), 'latin1'));
    else {
      let sum = 0;
      for (const c of Buffer.from(p, 'latin1')) sum = (sum + c) & 0xFF;
      sock.write(`$${p}#${sum.toString(16).padStart(2, '0')}`);
    }
    await new Promise((r) => setTimeout(r, 150));
    replies.push(got);
  }
  sock.destroy();
  return replies;
}

describe('the stub and a hostile client', () => {
  it('bad packets get error replies and the stub goes on serving', async () => {
    const h = await startHvlab([], 'poweroff\n');
    const r = await rawSession(h.port, [
      '!$g#00',                         // bad checksum
      '!garbage\x7f\xff',               // noise between packets
      'mzz,4',                          // malformed
      'mffffffff00000000,10',           // unmapped
      `m80200000,${(0x8000).toString(16)}`, // longer than a packet
      'Z0,80200001,4',                  // odd address
      'Z2,80231000,0',                  // empty watch
      'P99999=00',                      // no such register
      'p1041',                          // priv
      'qXfer:features:read:nosuch.xml:0,100',
      'vNoSuchThing',
      'X80200000,4:ab',                 // length mismatch
      '?',
      'm80200000,4',
      'k',
    ]);
    expect(r[0]).toBe('-');
    expect(r[1]).toBe('');
    expect(r[2]).toBe(ok('E01'));
    expect(r[3]).toBe(ok('E14'));
    expect(r[4]).toBe(ok('E01'));
    expect(r[5]).toBe(ok('E22'));
    expect(r[6]).toBe(ok('E22'));
    expect(r[7]).toBe(ok('E22'));
    expect(r[8]).toBe(ok('01')); // priv: the builtin SBI starts hvos in S-mode
    expect(r[9]).toBe(ok('E00'));
    expect(r[10]).toBe(ok(''));
    expect(r[11]).toBe(ok('E01'));
    expect(r[12]).toMatch(/^\+\$T05thread:1;#/);
    // The first instruction of hvos, read through the (bare) translation.
    expect(r[13]).toBe(ok(elf.subarray(0x1000, 0x1004).toString('hex')));
    expect(await h.exit).toBe(0);
  }, 60_000);
});

describe('the stub and random packets', () => {
  it('300 random well-framed packets of every command letter: each gets a reply, the stub survives', async () => {
    const h = await startHvlab([], 'poweroff\n');
    // A small deterministic generator (xorshift), so a failure reproduces.
    let x = 0x2545F491;
    const rnd = (n: number) => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x % n; };
    const letters = 'gGpPmMXZzHTqQv?';
    const alphabet = '0123456789abcdefABCDEF,:;=xX-+.qSupported:features:read:target.xml';
    const packets: string[] = [];
    for (let i = 0; i < 300; i++) {
      let p = letters[rnd(letters.length)];
      const n = rnd(40);
      for (let j = 0; j < n; j++) p += alphabet[rnd(alphabet.length)];
      packets.push(p);
    }
    const sock = connect(h.port, '127.0.0.1');
    let got = '';
    sock.on('data', (d) => { got += d.toString('latin1'); });
    await new Promise((resolve) => sock.once('connect', resolve));
    for (const p of packets) sock.write(`$${p}#${checksum(p)}`);
    sock.write(`$?#${checksum('?')}`);
    await new Promise((r) => setTimeout(r, 2000));
    // Every packet was acknowledged and answered (a reply per packet, the last the stop state).
    expect(got.split('+').length - 1).toBe(packets.length + 1);
    expect(got).toMatch(/\$T05thread:1;#[0-9a-f]{2}$/);
    sock.write(`$k#${checksum('k')}`);
    sock.destroy();
    expect(await h.exit).toBe(0);
    expect(h.stderr()).not.toMatch(/error serving/);
  }, 60_000);
});

/** An acknowledged reply carrying `data`. */
const ok = (data: string) => `+$${data}#${checksum(data)}`;

function checksum(s: string): string {
  let sum = 0;
  for (const c of Buffer.from(s, 'latin1')) sum = (sum + c) & 0xFF;
  return sum.toString(16).padStart(2, '0');
}
