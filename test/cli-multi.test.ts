// Many VMs from the command line (issue 12 item 7, docs/multi-vm.md "The command line"): the
// console multiplexer's keys (src/cli/mux.ts), the config file's checks (src/cli/multi-config.ts),
// `hvlab run --config` with scripted input switching consoles (golden transcript), its --stats,
// and `hvlab top`'s batch tables. The bad configs themselves are in the corpus
// (test/corpus/index.json, run by test/corpus.test.ts). Like test/cli.test.ts this runs the
// compiled bin/hvlab.js: `npm run build` first.
// Regenerate the golden transcript: UPDATE_GOLDEN=1 npx vitest run test/cli-multi.test.ts
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConsoleMux, ConsoleTail, CTRL_A, type MuxAction } from '../src/cli/mux.js';
import { jsonErrorOffset, parseMultiConfig } from '../src/cli/multi-config.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'hvlab.js');
const golden = join(root, 'test', 'golden', 'cli-multi');
const tmp = mkdtempSync(join(tmpdir(), 'hvlab-cli-multi-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function hvlab(args: string[], input = ''): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, input, encoding: 'latin1', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const keys = (s: string) => new TextEncoder().encode(s);
const A = String.fromCharCode(CTRL_A);

// RV64I encodings (unprivileged spec, chapter 2) for a tiny kernel image.
const lui = (rd: number, imm20: number) => ((imm20 << 12) | (rd << 7) | 0x37) >>> 0;
const addi = (rd: number, rs1: number, imm: number) => (((imm & 0xfff) << 20) | (rs1 << 15) | (rd << 7) | 0x13) >>> 0;
const sw = (rs2: number, rs1: number) => ((rs2 << 20) | (rs1 << 15) | (2 << 12) | 0x23) >>> 0;
const J_SELF = 0x0000_006f; // jal x0, 0
const T0 = 5, T1 = 6;

/** An ELF64 RISC-V executable at 0x80200000 (where the builtin SBI starts a kernel) holding `words`. */
function kernelElf(words: number[]): Buffer {
  const code = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => code.writeUInt32LE(w, i * 4));
  const at = 0x8020_0000n;
  const h = Buffer.alloc(64 + 56);
  h.write('\x7fELF', 0, 'latin1');
  h[4] = 2; h[5] = 1; h[6] = 1;                   // ELFCLASS64, ELFDATA2LSB, EV_CURRENT
  h.writeUInt16LE(2, 16); h.writeUInt16LE(243, 18); h.writeUInt32LE(1, 20); // ET_EXEC, EM_RISCV
  h.writeBigUInt64LE(at, 24); h.writeBigUInt64LE(64n, 32);
  h.writeUInt16LE(64, 52); h.writeUInt16LE(56, 54); h.writeUInt16LE(1, 56); h.writeUInt16LE(64, 58);
  h.writeUInt32LE(1, 64); h.writeUInt32LE(5, 68); // PT_LOAD, R X
  h.writeBigUInt64LE(120n, 72); h.writeBigUInt64LE(at, 80); h.writeBigUInt64LE(at, 88);
  h.writeBigUInt64LE(BigInt(code.length), 96); h.writeBigUInt64LE(BigInt(code.length), 104); h.writeBigUInt64LE(0x1000n, 112);
  return Buffer.concat([h, code]);
}
/** Actions with their bytes as text, for readable expectations. */
const readable = (actions: MuxAction[]) => actions.map((a) => (a.kind === 'input' ? { ...a, bytes: new TextDecoder().decode(a.bytes) } : a));

describe('the console multiplexer (Ctrl-A keys)', () => {
  it('N and P step through the VMs and wrap around; a digit jumps; input goes to the VM shown', () => {
    const mux = new ConsoleMux(3);
    expect(readable(mux.feed(keys(`ls\n${A}nps\n${A}n${A}n${A}p${A}p${A}p${A}2x`)))).toEqual([
      { kind: 'input', vm: 0, bytes: 'ls\n' },
      { kind: 'switch', from: 0, to: 1 },
      { kind: 'input', vm: 1, bytes: 'ps\n' },
      { kind: 'switch', from: 1, to: 2 },
      { kind: 'switch', from: 2, to: 0 },
      { kind: 'switch', from: 0, to: 2 },
      { kind: 'switch', from: 2, to: 1 },
      { kind: 'switch', from: 1, to: 0 },
      { kind: 'switch', from: 0, to: 2 },
      { kind: 'input', vm: 2, bytes: 'x' },
    ]);
    expect(mux.focus).toBe(2);
  });

  it('upper case, Space, Ctrl-N, Backspace and Ctrl-P switch as n and p do (screen\'s bindings)', () => {
    const mux = new ConsoleMux(4);
    const to = (s: string) => mux.feed(keys(s)).map((a) => (a.kind === 'switch' ? a.to : a.kind));
    expect(to(`${A}N${A} ${A}\x0e`)).toEqual([1, 2, 3]);
    expect(to(`${A}P${A}\x7f${A}\x08${A}\x10`)).toEqual([2, 1, 0, 3]);
  });

  it('Ctrl-A Ctrl-A goes back to the VM shown before; Ctrl-A A sends a literal Ctrl-A', () => {
    const mux = new ConsoleMux(5);
    expect(readable(mux.feed(keys(`${A}3${A}${A}a${A}ab${A}${A}`)))).toEqual([
      { kind: 'switch', from: 0, to: 3 },
      { kind: 'switch', from: 3, to: 0 },
      { kind: 'input', vm: 0, bytes: `a${A}b` },
      { kind: 'switch', from: 0, to: 3 },
    ]);
  });

  it('a Ctrl-A at the end of one read escapes the first byte of the next', () => {
    const mux = new ConsoleMux(2);
    expect(readable(mux.feed(keys(`hi${A}`)))).toEqual([{ kind: 'input', vm: 0, bytes: 'hi' }]);
    expect(readable(mux.feed(keys('nyo')))).toEqual([{ kind: 'switch', from: 0, to: 1 }, { kind: 'input', vm: 1, bytes: 'yo' }]);
  });

  it('a digit past the last VM, T, H and X are their own actions; X ends the read; unbound keys are dropped', () => {
    const mux = new ConsoleMux(2);
    expect(readable(mux.feed(keys(`a${A}7b${A}tc${A}?${A}h${A}zd${A}1${A}1${A}xe`)))).toEqual([
      { kind: 'input', vm: 0, bytes: 'a' },
      { kind: 'no-such-vm', index: 7 },
      { kind: 'input', vm: 0, bytes: 'b' },
      { kind: 'top' },
      { kind: 'input', vm: 0, bytes: 'c' },
      { kind: 'help' },
      { kind: 'help' },
      { kind: 'input', vm: 0, bytes: 'd' }, // Ctrl-A z: unbound, dropped
      { kind: 'switch', from: 0, to: 1 }, // Ctrl-A 1 twice: the second is no switch
      { kind: 'quit' },
    ]);
  });

  it('one VM: N and P stay on it', () => {
    const mux = new ConsoleMux(1);
    expect(mux.feed(keys(`${A}n${A}p${A}0`))).toEqual([]);
    expect(() => new ConsoleMux(0)).toThrow(RangeError);
  });
});

describe('the replay buffer', () => {
  it('keeps the last max characters, from a line start', () => {
    const tail = new ConsoleTail(16);
    tail.push('first line\r\nsecond\r\nthird');
    expect(tail.recent()).toBe('second\r\nthird');
    tail.push('x'.repeat(40));
    expect(tail.recent()).toBe('x'.repeat(16)); // no line start among the last 16
    const short = new ConsoleTail(100);
    short.push('a\nb');
    expect(short.recent()).toBe('a\nb'); // nothing dropped: all of it
  });
});

describe('the config file', () => {
  const doc = (d: unknown) => JSON.stringify(d);
  const vm = { name: 'a', image: 'hvos.elf', mode: 'pv', memory: '16M' };
  it('defaults, sizes in MiB or with a unit, files relative to the config\'s folder', () => {
    const c = parseMultiConfig(doc({ pool: '1G', slice: 50_000, vms: [vm, { ...vm, name: 'b', memory: 32, image: '/abs/x.elf', io: 'core', weight: 7, cap: 25, disk: '4M', append: 'quiet', input: 'ls\n' }] }), 'conf/vms.json');
    expect(c.poolMiB).toBe(1024);
    expect(c.ksmPages).toBe(0);
    expect(parseMultiConfig(doc({ pool: 64, ksm: true, vms: [vm] }), 'v.json').ksmPages).toBe(4096);
    expect(parseMultiConfig(doc({ pool: 64, ksm: 300, vms: [vm] }), 'v.json').ksmPages).toBe(300);
    expect(() => parseMultiConfig(doc({ pool: 64, ksm: 'yes', vms: [vm] }), 'v.json'))
      .toThrow('v.json: ksm (true, false, or pages to scan per million instructions) must be a whole number from 1 to 1048576, got "yes"');
    expect(c.sliceInstructions).toBe(50_000);
    expect(c.vms[0]).toEqual({ name: 'a', image: 'hvos.elf', imagePath: 'conf/hvos.elf', mode: 'pv', memMiB: 16, io: 'emulated',
      weight: 256, cap: 0, diskBytes: undefined, drivePath: undefined, append: undefined, input: undefined });
    expect(c.vms[1]).toMatchObject({ imagePath: '/abs/x.elf', memMiB: 32, io: 'core', weight: 7, cap: 25, diskBytes: 4 << 20, append: 'quiet', input: 'ls\n' });
  });
  it('each mistake is one line naming the file, the VM and the problem', () => {
    const err = (text: string) => { try { parseMultiConfig(text, 'v.json'); } catch (e) { return (e as Error).message; } return 'accepted'; };
    expect(err(doc([]))).toBe('v.json: the config must be a JSON object with "pool" and "vms"');
    expect(err(doc({ pool: '8M', vms: [vm] }))).toBe('v.json: pool 8 MiB is outside 16M..3584M');
    expect(err(doc({ pool: '64M', slice: 5, vms: [vm] }))).toBe('v.json: slice must be a whole number from 1000 to 100000000, got 5');
    expect(err(doc({ pool: '64M', vms: [{ ...vm, name: undefined }] }))).toBe('v.json: vms[0] has no name');
    expect(err(doc({ pool: '64M', vms: [{ ...vm, image: undefined }] }))).toBe("v.json: VM 'a': no image");
    expect(err(doc({ pool: '64M', vms: [{ ...vm, memory: '1.5M' }] }))).toBe("v.json: VM 'a': memory \"1.5M\" is not a whole number of MiB");
    expect(err(doc({ pool: '64M', vms: [{ ...vm, io: 'fast' }] }))).toBe("v.json: VM 'a': unknown io 'fast' (one of emulated, core, host, offload, split)");
    const dom0 = { ...vm, name: 'dom0', mode: 'pv', io: 'core', disk: '1M' };
    expect(err(doc({ pool: '64M', vms: [{ ...vm, mode: 'pv', io: 'split' }] }))).toBe("v.json: VM 'a': io 'split' needs driver, the name of the VM whose blkback serves its disk");
    expect(err(doc({ pool: '64M', vms: [{ ...vm, mode: 'pv', io: 'split', driver: 'dom0' }, dom0] }))).toBe("v.json: VM 'a': driver 'dom0' is not a VM listed before it");
    expect(err(doc({ pool: '64M', vms: [{ ...dom0, disk: undefined }, { ...vm, mode: 'pv', io: 'split', driver: 'dom0' }] }))).toBe("v.json: VM 'a': driver 'dom0' must be a pv VM with a disk or drive");
    expect(err(doc({ pool: '64M', vms: [dom0, { ...vm, mode: 'pv', io: 'core', driver: 'dom0' }] }))).toBe("v.json: VM 'a': driver names a driver domain for io 'split', but the VM's io is 'core'");
    expect(err(doc({ pool: '64M', vms: [dom0, { ...vm, mode: 'pv', io: 'split', driver: 'dom0', disk: '1M' }] }))).toBe("v.json: VM 'a': io 'split' reaches the driver domain's disk: give the disk to 'dom0', not to this VM");
    expect(err(doc({ pool: '64M', vms: [{ ...vm, console: 'dom0' }, dom0] }))).toBe("v.json: VM 'a': console 'dom0' is not a VM listed before it");
    expect(err(doc({ pool: '64M', vms: [{ ...dom0, mode: 'hvm-nested' }, { ...vm, console: 'dom0' }] }))).toBe("v.json: VM 'a': console 'dom0' must be a pv VM (its consback carries the console)");
    expect(err(doc({ pool: '64M', vms: [dom0, { ...dom0, name: 'dom1' }, { ...vm, mode: 'pv', io: 'split', driver: 'dom0', console: 'dom1' }] })))
      .toBe("v.json: VM 'a': the disk and the console come from one driver domain: driver is 'dom0', console is 'dom1'");
    expect(err(doc({ pool: '64M', vms: [{ ...vm, disk: '100' }] }))).toBe("v.json: VM 'a': disk \"100\" must be a whole number of 512-byte sectors, at most 1G (example: \"4M\")");
    expect(err(doc({ pool: '64M', vms: [{ ...vm, append: 5 }] }))).toBe("v.json: VM 'a': append must be a string, got 5");
    expect(err(doc({ pool: '64M', vms: [7] }))).toBe('v.json: vms[0] must be an object');
    expect(err(doc({ pool: '3G', vms: Array.from({ length: 257 }, (_, i) => ({ ...vm, name: `v${i}` })) })))
      .toBe('v.json: 257 VMs, at most 256 fit in the host\'s VM table');
  });
  it('bad JSON: the place of the first character that cannot be JSON', () => {
    expect(jsonErrorOffset('{"a": [1, 2,]}')).toBe(12);
    expect(jsonErrorOffset('{"a": 01}')).toBe(7);
    expect(jsonErrorOffset('{"a": "\\q"}')).toBe(8);
    expect(jsonErrorOffset('{"a": tru}')).toBe(9);
    expect(jsonErrorOffset('[1] [2]')).toBe(4);
    expect(jsonErrorOffset('{"a": [1, {"b": null}], "c": -1.5e+3, "d": "\\u00e9\\n"}')).toBe(-1);
    expect(() => parseMultiConfig('{\n  "pool": "64M",\n  "vms": [1,]\n}', 'v.json')).toThrow("v.json: not valid JSON at line 3, column 13: unexpected ']'");
  });
});

describe('hvlab run --config: two VMs, scripted input switching consoles', () => {
  const config = join(golden, 'two.json');
  const input = readFileSync(join(golden, 'two.in'), 'latin1');

  it('matches the golden transcript: banners, replays, each VM\'s own commands, the table, a VM powering off', () => {
    const r = hvlab(['run', '--config', config], input);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    if (process.env.UPDATE_GOLDEN) writeFileSync(join(golden, 'two.out'), r.stdout, 'latin1');
    expect(r.stdout).toBe(readFileSync(join(golden, 'two.out'), 'latin1'));
    // What the transcript must show, whatever the golden file says: the banners in the order
    // the script switches, each command's output after its own VM's banner.
    const out = r.stdout.replace(/\r\n/g, '\n');
    const banners = [...out.matchAll(/^\[hvlab: VM (\d) '(\w+)' \(([\w-]+)\) - Ctrl-A 0\.\.1 or N\/P switch, Ctrl-A H keys\]$/gm)].map((m) => m[2]);
    expect(banners).toEqual(['alpha', 'beta', 'alpha', 'beta', 'alpha']);
    const sections = out.split(/^\[hvlab: VM \d .*\n/m).slice(1);
    expect(sections[0]).toContain('Hypervisor detected: hvlab (hvm-nested)\n');
    expect(sections[0].endsWith('hvos$ echo one\none\nhvos$ \n')).toBe(true);
    expect(sections[1]).toContain('Hypervisor detected: hvlab (pv)\n');
    expect(sections[1].endsWith('hvos$ echo two\ntwo\nhvos$ \n')).toBe(true);
    // Switching back replays alpha's recent output, then its next command runs live.
    expect(sections[2]).toMatch(/hvos\$ echo one\none\nhvos\$ spawn 2\nspawn n=2 time=[\d.]+ms us\/spawn=\d+\nhvos\$ \nhvlab top: \d+ instructions/);
    expect(sections[2]).toMatch(/^NAME {3}MODE {8}STATE {4}INSTRUCTIONS {2}SHARE% {2}EXITS {2}SLICES {2}WAITS {2}FRAMES$/m);
    expect(sections[3].endsWith('hvos$ poweroff\nhvos: powering off\n\n[hvlab: VM \'beta\' stopped: pass]\n\n')).toBe(true);
    expect(sections[4].endsWith('hvos$ echo three\nthree\nhvos$ ')).toBe(true);
    expect(sections[4]).not.toContain('two'); // alpha never saw beta's input
  }, 120_000);

  it('is the same on every run (the instruction-driven clock)', () => {
    const a = hvlab(['run', '--config', config], input);
    const b = hvlab(['run', '--config', config], input);
    expect(a.stdout).toBe(b.stdout);
  }, 120_000);

  it('--stats -: per VM, the single-VM counters and the scheduler\'s, adding up to the machine\'s instructions', () => {
    const r = hvlab(['run', '--config', config, '--stats', '-'], input);
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stderr);
    expect(s.config).toBe(config);
    expect(s.pool).toMatchObject({ MiB: 64, frames: 16384 });
    expect(s.vms.map((v: { name: string }) => v.name)).toEqual(['alpha', 'beta']);
    const [alpha, beta] = s.vms;
    expect(alpha).toMatchObject({ mode: 'hvm-nested', memMiB: 16, io: 'emulated', weight: 256, cap: 0, state: 'blocked', stop: null });
    expect(beta).toMatchObject({ mode: 'pv', io: 'core', weight: 512, state: 'pass', stop: { reason: 'pass', code: 0 } });
    for (const v of s.vms) {
      // The scheduler counts what the VM's own counters count.
      expect(v.scheduler.instructions).toBe(v.instructions.total);
      expect(v.scheduler.slices).toBeGreaterThan(0);
      expect(v.exits.total).toBeGreaterThan(0);
      expect(v.frames).toBeGreaterThan(16 * 256); // guest RAM and its tables
    }
    expect(alpha.scheduler.instructions + beta.scheduler.instructions).toBe(s.instructions);
    expect(alpha.scheduler.share + beta.scheduler.share).toBeCloseTo(1, 9);
    // pv's console went through virtio in the core; hvm-nested's through the emulated UART.
    expect(beta.virtio.notifies).toBeGreaterThan(0);
    expect(alpha.exits.byReason.mmioUart).toBeGreaterThan(0);
  }, 120_000);

  it('a VM that fails: the others run on, its stop shows in its console, the exit status is its code', () => {
    // A kernel that fails at once through the SiFive test device: (7 << 16) | 0x3333.
    const ws = [lui(T0, 0x100), lui(T1, 0x73), addi(T1, T1, 0x333), sw(T1, T0), J_SELF];
    const fail7 = join(tmp, 'fail7.elf');
    writeFileSync(fail7, kernelElf(ws));
    const conf = join(tmp, 'fail.json');
    writeFileSync(conf, JSON.stringify({ pool: '64M', vms: [
      { name: 'ok', image: join(root, 'guests', 'hvos', 'prebuilt', 'hvos.elf'), mode: 'pv', memory: '16M' },
      { name: 'bad', image: fail7, mode: 'trap-emulate', memory: '16M' },
    ] }));
    const r = hvlab(['run', '--config', conf], `echo still here\n${A}n`);
    const out = r.stdout.replace(/\r\n/g, '\n');
    expect(out).toContain('hvos$ echo still here\nstill here\nhvos$ \n');
    expect(out.endsWith("[hvlab: VM 1 'bad' (trap-emulate) - Ctrl-A 0..1 or N/P switch, Ctrl-A H keys]\n\n[hvlab: VM 'bad' stopped: fail (code 7)]\n")).toBe(true);
    expect(r.stderr).toBe("\nhvlab: VM 'bad' failed with code 7\n");
    expect(r.status).toBe(7);
  }, 120_000);

  it('a VM\'s drive (relative to the config) gets its guest\'s writes back; the other VM\'s disk is its own', () => {
    writeFileSync(join(tmp, 'd.img'), new Uint8Array(64 << 10));
    const conf = join(tmp, 'drive.json');
    const hvos = join(root, 'guests', 'hvos', 'prebuilt', 'hvos.elf');
    writeFileSync(conf, JSON.stringify({ pool: '64M', vms: [
      { name: 'a', image: hvos, mode: 'hvm-nested', memory: '16M', io: 'core', drive: 'd.img' },
      { name: 'b', image: hvos, mode: 'hvm-shadow', memory: '16M', io: 'core', disk: '64K' },
    ] }));
    const r = hvlab(['run', '--config', conf], `blk write 7 hello world\n${A}nblk write 3 not on the drive\n`);
    expect(r.stdout.replace(/\r\n/g, '\n')).toContain('hvos$ blk write 7 hello world\nblk: wrote 12 bytes to sector 7\n');
    expect(r.status).toBe(0);
    const after = readFileSync(join(tmp, 'd.img'));
    const expected = Buffer.alloc(64 << 10);
    expected.write('hello world\n', 7 * 512, 'latin1');
    expect(after.equals(expected)).toBe(true);
  }, 120_000);

  it('io split: a frontend reads and writes the driver domain\'s disk through blkfront and blkback', () => {
    const conf = join(tmp, 'split.json');
    const hvos = join(root, 'guests', 'hvos', 'prebuilt', 'hvos.elf');
    writeFileSync(conf, JSON.stringify({ pool: '64M', vms: [
      { name: 'dom0', image: hvos, mode: 'pv', memory: '16M', io: 'core', disk: '1M' },
      { name: 'domu', image: hvos, mode: 'pv', memory: '16M', io: 'split', driver: 'dom0' },
      { name: 'domc', image: hvos, mode: 'hvm-nested', memory: '16M', console: 'dom0' },
    ] }));
    const r = hvlab(['run', '--config', conf], `${A}nblk write 5 through dom0\nblk read 5\n${A}pblk read 5\ncons 3 echo typed through consback\n`);
    const out = r.stdout.replace(/\r\n/g, '\n');
    expect(out).toContain('blkfront: 2048 sectors (1024 KiB) from domain 1\n');
    expect(out).toContain('blkback: domain 2 connected on port 1\n');
    expect(out).toContain('hvos$ blk write 5 through dom0\nblk: wrote 13 bytes to sector 5\nhvos$ blk read 5\n00000a00  74 68 72 6f 75 67 68 20  64 6f 6d 30 0a 00 00 00  |through dom0....|\n');
    // The driver domain reads what the frontend wrote to its disk, through its own virtio-blk.
    // (The prompt may be followed by domc's relayed boot lines before the echo: `blk read 5` is
    // matched from there.)
    expect(out.split("[hvlab: VM 0 'dom0'").pop()).toMatch(/blk read 5\n00000a00 .*\|through dom0\.\.\.\.\|\n/);
    // domc's console is carried by dom0's consback (the config's `console` key): what `cons 3`
    // types there runs in domc, and its output comes back as [dom3] lines.
    const dom0 = out.split("[hvlab: VM 0 'dom0'").pop()!;
    expect(dom0).toContain('consback: domain 3 connected on port 2\n');
    expect(dom0).toContain('[dom3] hvos$ echo typed through consback\n[dom3] typed through consback\n');
    expect(r.status).toBe(0);
  }, 120_000);

  it('an offload VM beside a core one: its worker serves its disk and console while the other runs', () => {
    writeFileSync(join(tmp, 'o.img'), new Uint8Array(64 << 10));
    const conf = join(tmp, 'offload.json');
    const hvos = join(root, 'guests', 'hvos', 'prebuilt', 'hvos.elf');
    writeFileSync(conf, JSON.stringify({ pool: '64M', vms: [
      { name: 'a', image: hvos, mode: 'hvm-nested', memory: '16M', io: 'offload', drive: 'o.img' },
      { name: 'b', image: hvos, mode: 'hvm-shadow', memory: '16M', io: 'core', disk: '64K' },
    ] }));
    const r = hvlab(['run', '--config', conf], `blk write 5 offloaded\nrng 8\n${A}nblk write 3 not on the drive\n`);
    const out = r.stdout.replace(/\r\n/g, '\n');
    expect(out).toContain('hvos$ blk write 5 offloaded\nblk: wrote 10 bytes to sector 5\n');
    expect(out).toContain('hvos$ blk write 3 not on the drive\nblk: wrote 17 bytes to sector 3\n');
    expect(r.status).toBe(0);
    const expected = Buffer.alloc(64 << 10);
    expected.write('offloaded\n', 5 * 512, 'latin1');
    expect(readFileSync(join(tmp, 'o.img')).equals(expected)).toBe(true);
  }, 120_000);

  it('--max-instructions stops the machine with 124', () => {
    const r = hvlab(['run', '--config', config, '--max-instructions', '200000'], '');
    expect(r.stderr).toBe('\nhvlab: instruction limit 200000 reached\n');
    expect(r.status).toBe(124);
  }, 60_000);
});

describe('hvlab top --config: batch tables', () => {
  it('a table per interval: every VM, shares of the interval adding up to 100%, counts that only grow', () => {
    const config = join(tmp, 'top.json');
    const hvos = join(root, 'guests', 'hvos', 'prebuilt', 'hvos.elf');
    writeFileSync(config, JSON.stringify({ pool: '96M', vms: [
      { name: 'heavy', image: hvos, mode: 'hvm-shadow', memory: '16M', weight: 512, input: 'compute 1000000\n' },
      { name: 'light', image: hvos, mode: 'hvm-nested', memory: '16M', weight: 256, input: 'compute 1000000\n' },
      { name: 'idle', image: hvos, mode: 'trap-emulate', memory: '16M' },
    ] }));
    const r = hvlab(['top', '--config', config, '--interval', '3000000', '--iterations', '4']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const tables = r.stdout.split('\n\n');
    expect(tables).toHaveLength(4);
    let last = [0, 0, 0];
    tables.forEach((t, i) => {
      const lines = t.trimEnd().split('\n');
      const title = /^hvlab top: interval (\d+), (\d+) instructions, (\d+) in all \(pool 96 MiB, (\d+) of 24576 frames free\)$/.exec(lines[0]);
      expect(title, lines[0]).not.toBeNull();
      expect(Number(title![1])).toBe(i + 1);
      expect(Number(title![2])).toBe(3_000_000); // both computing VMs outlast four intervals
      expect(lines[1]).toMatch(/^NAME +MODE +STATE +INSTRUCTIONS +SHARE% +EXITS +SLICES +WAITS +FRAMES$/);
      const rows = lines.slice(2).map((l) => l.split(/ +/));
      expect(rows.map((c) => c[0])).toEqual(['heavy', 'light', 'idle']);
      expect(rows.map((c) => c[1])).toEqual(['hvm-shadow', 'hvm-nested', 'trap-emulate']);
      const instr = rows.map((c) => Number(c[3]));
      const shares = rows.map((c) => Number(c[4]));
      expect(instr.reduce((a, b) => a + b)).toBe(Number(title![3]));
      expect(shares.reduce((a, b) => a + b)).toBeCloseTo(100, 1);
      rows.forEach((c, k) => {
        expect(instr[k]).toBeGreaterThanOrEqual(last[k]);
        expect(shares[k]).toBeCloseTo((instr[k] - last[k]) / 30_000, 1);
        expect(Number(c[5])).toBeGreaterThan(0); // exits: every VM booted under the hypervisor
      });
      last = instr;
      if (i > 0) {
        // Once booted, the idle VM waits for input and costs nothing; the two computing VMs
        // share the hart 2:1 by weight (src/sched.ts).
        expect(rows[2][2]).toBe('blocked');
        expect(shares[2]).toBe(0);
        expect(rows[0][2]).toBe('running');
        expect(shares[0] / shares[1]).toBeCloseTo(2, 1);
      }
    });
    // The same tables on every run.
    expect(hvlab(['top', '--config', config, '--interval', '3000000', '--iterations', '4']).stdout).toBe(r.stdout);
  }, 120_000);

  it('"ksm": merged frames come back to the pool, and the table reports them as Linux names them', () => {
    const hvos = join(root, 'guests', 'hvos', 'prebuilt', 'hvos.elf');
    const vms = ['trap-emulate', 'hvm-shadow', 'hvm-nested', 'hvm-nested'].map((mode, i) => ({ name: `v${i}`, image: hvos, mode, memory: '16M' }));
    const free = (ksm: boolean) => {
      const config = join(tmp, `ksm-${ksm}.json`);
      writeFileSync(config, JSON.stringify({ pool: '128M', ...(ksm ? { ksm: true } : {}), vms }));
      const r = hvlab(['top', '--config', config, '--interval', '1000000']);
      expect(r.status).toBe(0);
      const last = r.stdout.split('\n\n').pop()!.trimEnd().split('\n');
      expect(last[1].split(/ +/).pop()).toBe(ksm ? 'COW' : 'FRAMES');
      return { free: Number(/(\d+) of 32768 frames free/.exec(last[0])![1]), ksmLine: last[last.length - 1] };
    };
    const off = free(false);
    const on = free(true);
    const m = /^KSM: pages_shared (\d+), pages_sharing (\d+), pages_unshared \d+, full_scans \d+, cow_breaks \d+; its tables take (\d+) frames$/.exec(on.ksmLine);
    expect(m, on.ksmLine).not.toBeNull();
    expect(off.ksmLine).toMatch(/^v3 /);
    // Every guest frame merged onto another's is a frame the pool has back, less the
    // scanner's own tables.
    expect(on.free - off.free).toBe(Number(m![2]) - Number(m![3]));
    expect(Number(m![2])).toBeGreaterThan(1000);
  }, 120_000);

  it('without --iterations it stops once every VM waits for input', () => {
    const r = hvlab(['top', '--config', join(golden, 'two.json'), '--interval', '1000000']);
    expect(r.status).toBe(0);
    const tables = r.stdout.split('\n\n');
    const lastRows = tables[tables.length - 1].trimEnd().split('\n').slice(2);
    expect(lastRows.map((l) => l.split(/ +/)[2])).toEqual(['blocked', 'blocked']);
    expect(r.stdout.endsWith('\n\n')).toBe(false);
  }, 120_000);
});

describe('hvlab run --config at a terminal', () => {
  // A pseudo-terminal from Python's pty module (Node has none): raw keys, typed with pauses.
  const python = ['/usr/bin/python3', '/bin/python3'].find((p) => existsSync(p));
  it.skipIf(!python)('raw keys through the mux: typing, switching, the table, help, a missing VM, quit', () => {
    const driver = join(tmp, 'drive_tty.py');
    writeFileSync(driver, [
      'import os, pty, select, sys, time',
      'pid, fd = pty.fork()',
      'if pid == 0:',
      `    os.execv(${JSON.stringify(process.execPath)}, ['node', ${JSON.stringify(bin)}, 'run', '--config', ${JSON.stringify(join(golden, 'two.json'))}])`,
      'out = b""',
      'def pump(t):',
      '    global out',
      '    end = time.time() + t',
      '    while time.time() < end:',
      '        r, _, _ = select.select([fd], [], [], 0.05)',
      '        if r:',
      '            try: out += os.read(fd, 65536)',
      '            except OSError: return',
      'pump(3)',
      'for k in [b"echo one\\r", b"\\x01n", b"echo two\\r", b"\\x01t", b"\\x01p", b"\\x01h", b"\\x017", b"\\x01x"]:',
      '    os.write(fd, k); pump(1)',
      'pump(2)',
      '_, status = os.waitpid(pid, 0)',
      'sys.stdout.write(out.decode("latin1"))',
      'sys.exit(os.WEXITSTATUS(status))',
    ].join('\n'));
    const r = spawnSync(python!, [driver], { encoding: 'latin1', timeout: 60_000 });
    expect(r.status).toBe(0);
    const out = r.stdout.replace(/\r/g, '');
    const events = [...out.matchAll(/^\[hvlab: (VM \d '\w+'|no VM \d).*$|^(hvos\$ echo \w+)$|^(NAME) |^(C-a n) /gm)].map((m) => m[1] ?? m[2] ?? m[3] ?? m[4]);
    expect(events).toEqual(["VM 0 'alpha'", 'hvos$ echo one', "VM 1 'beta'", 'hvos$ echo two', 'NAME', "VM 0 'alpha'",
      'hvos$ echo one', 'C-a n', 'no VM 7']);
    expect(out).toContain('[hvlab: no VM 7; VMs 0..1]');
  }, 90_000);
});

describe('help', () => {
  it('hvlab --help names run --config and top; their own --help lists their options', () => {
    const main = hvlab(['--help']);
    expect(main.stdout).toContain('run --config FILE');
    expect(main.stdout).toContain('top --config FILE');
    const run = hvlab(['run', '--config', 'x.json', '--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^usage: hvlab run --config FILE \[options\]\n/);
    for (const o of ['--max-instructions', '--stats', 'Ctrl-A N', 'Ctrl-A T', '4 KiB']) expect(run.stdout, o).toContain(o);
    const top = hvlab(['top', '--help']);
    expect(top.status).toBe(0);
    expect(top.stdout).toMatch(/^usage: hvlab top --config FILE \[--interval N\] \[--iterations K\]\n/);
    expect(hvlab(['run', '--help']).stdout).toContain('--config FILE');
  }, 60_000);
});
