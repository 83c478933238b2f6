/**
 * Snapshots and disks in the page's worker (src/web/runner.ts, src/web/snapshot-file.ts), in Node:
 * a snapshot restored into another runner continues with the same output and counters; bad files
 * (not a snapshot, truncated, another format version, another image, another core layout) are one
 * line each and the running VM runs on; an uploaded disk image is the guest's disk, and the disk
 * comes back out with what the guest wrote.
 */
import { describe, test, expect, afterEach } from 'vitest';
import { readFileSync } from 'node:fs';
import { VmRunner, DEFAULT_TIMING } from '../../src/web/runner.js';
import type { BootConfig, FromWorker, StatsMessage, ToWorker } from '../../src/web/protocol.js';
import { loadCoreModule } from '../../src/node/load-core.js';
import { encodeSnapshot, readSnapshotHeader, readSnapshotState, SNAPSHOT_VERSION } from '../../src/web/snapshot-file.js';
import { HVOS_ELF } from '../support/hvos.js';

const HVOS = new Uint8Array(readFileSync(HVOS_ELF));
const PROMPT = 'hvos$ ';

class Page {
  readonly messages: FromWorker[] = [];
  console = '';
  runner!: VmRunner;
  module!: WebAssembly.Module;
  private nextId = 1;

  static async boot(config: Partial<BootConfig> = {}): Promise<Page> {
    const p = new Page();
    const { module, instantiate } = await loadCoreModule();
    p.module = module;
    p.runner = new VmRunner((m) => {
      p.messages.push(m);
      if (m.type === 'console') p.console += m.text;
    }, instantiate, DEFAULT_TIMING);
    p.runner.handle({ type: 'boot', module, config: { mode: 'trap-emulate', memMiB: 32, clock: 'instret', ...config }, image: HVOS, imageName: 'hvos.elf' });
    await p.until('the prompt', () => p.console.endsWith(PROMPT));
    return p;
  }

  async until(what: string, pred: () => boolean, timeout = 20_000): Promise<void> {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > timeout) throw new Error(`timed out waiting for ${what}; console:\n${this.console.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Type a command and wait for the next prompt; the output it printed. */
  async command(text: string): Promise<string> {
    const from = this.console.length;
    this.runner.handle({ type: 'input', data: `${text}\r` });
    await this.until(`'${text}'`, () => this.console.length > from + text.length && this.console.endsWith(PROMPT));
    return this.console.slice(from);
  }

  /** Send a request with an id and wait for its answer. */
  async ask<T extends FromWorker['type']>(msg: ToWorker, type: T | T[]): Promise<Extract<FromWorker, { type: T }>> {
    const id = (msg as { id: number }).id;
    const types = Array.isArray(type) ? type : [type];
    const from = this.messages.length;
    this.runner.handle(msg);
    let found: FromWorker | undefined;
    await this.until(`${types.join('/')} ${id}`, () => {
      found = this.messages.slice(from).find((m) => (types as string[]).includes(m.type) && (m as { id?: number }).id === id);
      return found !== undefined;
    });
    return found as Extract<FromWorker, { type: T }>;
  }

  id(): number { return this.nextId++; }

  async stats(): Promise<StatsMessage> {
    const id = this.id();
    await this.ask({ type: 'ping', id }, 'pong');
    return this.messages.filter((m): m is StatsMessage => m.type === 'stats').at(-1)!;
  }

  async snapshot(): Promise<Uint8Array> {
    const r = await this.ask({ type: 'snapshot', id: this.id(), console: this.console, store: false }, 'snapshot');
    if (!r.file) throw new Error(r.error);
    return r.file;
  }

  restore(file: Uint8Array, fileName = 'saved.hvsnap', image = HVOS): Promise<Extract<FromWorker, { type: 'restored' | 'restore-error' }>> {
    return this.ask({ type: 'restore', id: this.id(), module: this.module, file, fileName, image, imageName: 'hvos.elf' }, ['restored', 'restore-error']);
  }
}

const timeless = (s: string) => s.replace(/ time=.*$/gm, ' time=<t>');
let pages: Page[] = [];
afterEach(() => { for (const p of pages) p.runner.dispose(); pages = []; });

describe('snapshots in the page\'s worker', () => {
  test('a restored snapshot continues with the same output and counters, in a runner that ran something else', async () => {
    const a = await Page.boot({ mode: 'trap-emulate', disk: 'memory' });
    pages.push(a);
    await a.command('compute 20000');
    // The guest is at its prompt with no timer armed: what a lesson waits for before it reads counters.
    await a.until('waiting for input', () => a.messages.some((m) => m.type === 'stats' && m.waitingForInput === true));
    const file = await a.snapshot();
    const header = readSnapshotHeader(file, 'saved.hvsnap');
    expect(header).toMatchObject({ config: { mode: 'trap-emulate', memMiB: 32, disk: 'memory' }, imageName: 'hvos.elf', diskBytes: 4 << 20 });
    expect(header.console.endsWith(PROMPT)).toBe(true);
    // Guest RAM is mostly zeros: the file is far smaller than the 36 MiB of state.
    expect(file.length).toBeLessThan(header.layout.stateBytes / 8);
    const script = ['syscall 300', 'blk write 2 after the snapshot', 'blk read 2', 'ps'];
    const afterA: string[] = [];
    for (const c of script) afterA.push(timeless(await a.command(c)));
    const statsA = await a.stats();

    // Another runner, booted native with other settings: the restore brings the snapshot's settings.
    const b = await Page.boot({ mode: 'native', memMiB: 64 });
    pages.push(b);
    const r = await b.restore(file);
    expect(r.type).toBe('restored');
    const afterB: string[] = [];
    for (const c of script) afterB.push(timeless(await b.command(c)));
    expect(afterB).toEqual(afterA);
    expect(afterB.join('')).toContain('after the snapshot');
    const statsB = await b.stats();
    expect(statsB.instructions).toBe(statsA.instructions);
    expect(statsB.counters.EXITS).toBe(statsA.counters.EXITS);
    expect(statsB.counters.EXIT_REFLECT).toBe(statsA.counters.EXIT_REFLECT);
  }, 120_000);

  test('a bad file is one line and the VM that runs runs on', async () => {
    const p = await Page.boot({ mode: 'hvm-nested' });
    pages.push(p);
    const good = await p.snapshot();
    const header = readSnapshotHeader(good, 'x');
    const state = await readSnapshotState(good, 'x', header.layout.stateBytes);
    const wrongVersion = good.slice();
    new DataView(wrongVersion.buffer).setUint32(8, SNAPSHOT_VERSION + 1, true);
    const otherCore = await encodeSnapshot({ ...header, layout: { ...header.layout, chunkStatePtr: header.layout.chunkStatePtr + 64 } }, state);
    const cases: [string, Uint8Array, string, Uint8Array?][] = [
      ['notes.txt', new TextEncoder().encode('hello, this is not a snapshot at all'), 'notes.txt: not an hvlab snapshot (no HVLBSNAP signature)'],
      ['tiny.hvsnap', good.slice(0, 10), 'tiny.hvsnap: not an hvlab snapshot (10 bytes, too short)'],
      ['cut.hvsnap', good.slice(0, good.length - 100), 'cut.hvsnap: truncated or damaged (the compressed machine state does not decompress)'],
      ['head.hvsnap', good.slice(0, 40), 'head.hvsnap: truncated (the header ends early)'],
      ['v2.hvsnap', wrongVersion, `v2.hvsnap: snapshot format version ${SNAPSHOT_VERSION + 1}; this page reads version ${SNAPSHOT_VERSION}`],
      ['other.hvsnap', good, 'other.hvsnap: made with image hvos.elf, not the one given to restore it with', HVOS.slice(0, HVOS.length - 1)],
      ['core.hvsnap', otherCore, 'core.hvsnap: made by another build of the hvlab core'],
      // A header that matches, over a state that inflates past the VM's size: stopped early.
      ['bomb.hvsnap', await encodeSnapshot(header, new Uint8Array(header.layout.stateBytes + 4096)),
        `bomb.hvsnap: more machine state than this VM holds (over ${header.layout.stateBytes} bytes): the file is damaged`],
    ];
    for (const [name, file, message, image] of cases) {
      const r = await p.restore(file, name, image);
      expect(r.type, name).toBe('restore-error');
      if (r.type === 'restore-error') {
        expect(r.message.startsWith(message), `${name}: ${r.message}`).toBe(true);
        expect(r.message).not.toContain('\n');
      }
    }
    expect(await p.command('echo still here')).toContain('still here');
    expect(p.console).toContain('Hypervisor detected: hvlab (hvm-nested)');
  }, 120_000);

  test('an uploaded disk image is the guest\'s disk, and the disk comes back with what it wrote', async () => {
    const text = new TextEncoder().encode('greetings from the host file\n');
    const p = await Page.boot({ mode: 'hvm-nested', io: 'core', disk: 'memory', diskImage: text });
    pages.push(p);
    // Padded to the page's 4 MiB (8192 sectors).
    expect(await p.command('blk')).toContain('8192 sectors of 512 bytes');
    expect(await p.command('blk read 0')).toContain('|greetings from t|');
    await p.command('blk write 1 written by the guest');
    const r = await p.ask({ type: 'get-disk', id: p.id() }, 'disk');
    const disk = r.bytes!;
    expect(disk.length).toBe(4 << 20);
    expect(new TextDecoder().decode(disk.subarray(0, text.length))).toBe('greetings from the host file\n');
    expect(new TextDecoder().decode(disk.subarray(512, 512 + 20))).toBe('written by the guest');
  }, 60_000);

  test('a disk image too large for the page is refused in one line', async () => {
    const p = new Page();
    pages.push(p);
    const { module, instantiate } = await loadCoreModule();
    p.runner = new VmRunner((m) => p.messages.push(m), instantiate, DEFAULT_TIMING);
    p.runner.handle({ type: 'boot', module, config: { mode: 'native', memMiB: 32, clock: 'instret', disk: 'memory', diskImage: new Uint8Array((64 << 20) + 1) }, image: HVOS, imageName: 'hvos.elf' });
    await p.until('the refusal', () => p.messages.some((m) => m.type === 'boot-error'));
    const e = p.messages.find((m) => m.type === 'boot-error');
    expect(e).toMatchObject({ code: 'BAD_DISK', message: `the disk image is ${(64 << 20) + 1} bytes; the page takes at most 64 MiB` });
  }, 60_000);
});
