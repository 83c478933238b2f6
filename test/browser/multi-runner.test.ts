/**
 * The page's many-VM runner (src/web/multi-runner.ts) in Node, without a browser: a config's
 * VMs boot to their prompts in one Host, each console is its own, keystrokes reach only the VM
 * they name, weights reach the scheduler, VMs at their prompts cost nothing, and every bad
 * config is one line with nothing started (and what ran before runs on).
 */
import { describe, test, expect, afterEach } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { MultiRunner, DEFAULT_MULTI_TIMING } from '../../src/web/multi-runner.js';
import type { FromMultiWorker, MultiStatsMessage } from '../../src/web/multi-protocol.js';
import { configText, PRESETS } from '../../src/web/multi-presets.js';
import { loadCoreModule } from '../../src/node/load-core.js';

const HVOS = new Uint8Array(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../guests/hvos/prebuilt/hvos.elf')));
const PROMPT = 'hvos$ ';

const two = (extra: Record<string, unknown> = {}) => JSON.stringify({
  pool: '64M',
  vms: [{ name: 'a', mode: 'hvm-nested', weight: 512, ...extra }, { name: 'b', mode: 'trap-emulate' }],
});

class Harness {
  readonly messages: FromMultiWorker[] = [];
  readonly consoles: Record<string, string> = {};
  runner!: MultiRunner;
  module!: WebAssembly.Module;

  static async start(text: string): Promise<Harness> {
    const h = new Harness();
    const { module, instantiate } = await loadCoreModule();
    h.module = module;
    h.runner = new MultiRunner((m) => {
      h.messages.push(m);
      if (m.type === 'console') for (const [vm, t] of Object.entries(m.out)) h.consoles[vm] = (h.consoles[vm] ?? '') + t;
      if (m.type === 'console') h.runner.handle({ type: 'console-ack', chars: Object.values(m.out).join('').length });
    }, instantiate, DEFAULT_MULTI_TIMING);
    h.send(text);
    return h;
  }

  send(text: string): void { this.runner.handle({ type: 'start', module: this.module, configText: text, images: { hvos: HVOS } }); }

  async until(what: string, pred: () => boolean, timeout = 10_000): Promise<void> {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > timeout) throw new Error(`timed out waiting for ${what}; consoles:\n${JSON.stringify(this.consoles, null, 1)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  of<T extends FromMultiWorker['type']>(type: T): Extract<FromMultiWorker, { type: T }>[] {
    return this.messages.filter((m): m is Extract<FromMultiWorker, { type: T }> => m.type === type);
  }

  lastStats(): MultiStatsMessage | undefined { return this.of('stats').at(-1); }

  atPrompt(vm: string): boolean { return (this.consoles[vm] ?? '').endsWith(PROMPT); }

  /** Fresh stats: ping, then wait for the message it brings. */
  async stats(): Promise<MultiStatsMessage> {
    const n = this.of('stats').length;
    this.runner.handle({ type: 'ping' });
    await this.until('stats', () => this.of('stats').length > n);
    return this.lastStats()!;
  }
}

let harness: Harness | undefined;
afterEach(() => { harness?.runner.dispose(); harness = undefined; });

describe('many VMs in the page worker', () => {
  test('two VMs reach their prompts, each console is its own, input goes to one VM only', async () => {
    const h = harness = await Harness.start(two());
    await h.until('started', () => h.of('started').length === 1);
    expect(h.of('started')[0].vms.map((v) => [v.name, v.mode, v.weight])).toEqual([['a', 'hvm-nested', 512], ['b', 'trap-emulate', 256]]);
    await h.until('both prompts', () => h.atPrompt('a') && h.atPrompt('b'));
    expect(h.consoles.a).toContain('Hypervisor detected: hvlab (hvm-nested)');
    expect(h.consoles.b).toContain('Hypervisor detected: hvlab (trap-emulate)');
    // At their prompts both are blocked: the runner sleeps, and no instruction runs.
    await h.until('idle', () => h.lastStats()?.state === 'idle' || h.of('state').at(-1)?.state === 'idle');
    const s1 = await h.stats();
    expect(s1.vms.map((v) => v.state)).toEqual(['blocked', 'blocked']);
    await new Promise((r) => setTimeout(r, 300));
    const s2 = await h.stats();
    expect(s2.vms.map((v) => v.instructions)).toEqual(s1.vms.map((v) => v.instructions));

    const before = h.consoles.b;
    h.runner.handle({ type: 'input', vm: 'a', data: 'echo only-in-a\r' });
    await h.until('the echo in a', () => /only-in-a\r?\n[^]*hvos\$ $/.test(h.consoles.a));
    await new Promise((r) => setTimeout(r, 100));
    expect(h.consoles.b).toBe(before);
    expect(h.consoles.b).not.toContain('only-in-a');
    const s3 = await h.stats();
    expect(s3.vms[0].instructions).toBeGreaterThan(s2.vms[0].instructions);
    expect(s3.vms[1].instructions).toBe(s2.vms[1].instructions);
    expect(s3.pool.frames).toBe(64 * 256);
    // Each VM holds its 16 MiB of guest RAM and its tables and saved state (under 1 MiB more, docs/multi-vm.md).
    for (const v of s3.vms) {
      expect(v.frames).toBeGreaterThan(16 * 256);
      expect(v.frames).toBeLessThan(17 * 256);
    }
    expect(s3.pool.free).toBeLessThan(s3.pool.frames - 2 * 16 * 256);
  }, 30_000);

  test('weights reach the scheduler: two CPU-bound VMs at 2:1', async () => {
    const h = harness = await Harness.start(two());
    await h.until('both prompts', () => h.atPrompt('a') && h.atPrompt('b'));
    const s0 = await h.stats();
    for (const vm of ['a', 'b']) h.runner.handle({ type: 'input', vm, data: 'compute 1000000000\r' });
    await new Promise((r) => setTimeout(r, 1500));
    const s1 = await h.stats();
    const ran = s1.vms.map((v, i) => Number(v.schedInstructions - s0.vms[i].schedInstructions));
    expect(ran[1]).toBeGreaterThan(1_000_000);
    expect(ran[0] / ran[1]).toBeGreaterThan(1.8);
    expect(ran[0] / ran[1]).toBeLessThan(2.2);
    // Equal weights from now on: the shares even out.
    h.runner.handle({ type: 'params', vm: 'a', weight: 256, cap: 0 });
    const s2 = await h.stats();
    await new Promise((r) => setTimeout(r, 1500));
    const s3 = await h.stats();
    const even = s3.vms.map((v, i) => Number(v.schedInstructions - s2.vms[i].schedInstructions));
    expect(even[0] / even[1]).toBeGreaterThan(0.9);
    expect(even[0] / even[1]).toBeLessThan(1.1);
  }, 30_000);

  test('every bad config is one line, and nothing starts', async () => {
    const bad: [string, RegExp][] = [
      // The messages of hvlab run --config (src/multi-config.ts), the config named `config`.
      ['{"vms": [', /^config: not valid JSON: the file ends before the JSON does$/],
      ['[]', /^config: the config must be a JSON object with "pool" and "vms"$/],
      ['{"ksm": "yes", "vms": [{"name": "a", "mode": "pv"}]}', /^config: ksm \(true, false, or pages to scan per million instructions\) must be a whole number from 1 to 1048576, got "yes"$/],
      ['{"vms": []}', /^config: "vms" must be a non-empty list of VMs$/],
      ['{"vms": [{"name": "a", "mode": "hvm-nested"}], "extra": 1}', /^config: unknown key 'extra' \(known keys: pool, ksm, vms\)$/],
      [two({ colour: 'red' }), /^config: VM 'a': unknown key 'colour'/],
      [two({ drive: 'disk.img' }), /^config: VM 'a': 'drive' works in hvlab run --config, not in the page: a page cannot name a file$/],
      ['{"vms": [{"name": "a", "mode": "pv"}], "slice": 5000}', /^config: 'slice' works in hvlab run --config, not in the page: /],
      ['{"vms": [{"name": "a", "mode": "vmx"}]}', /^config: VM 'a': unknown mode 'vmx' \(one of trap-emulate, hvm-shadow, hvm-nested, pv\)$/],
      ['{"vms": [{"name": "a", "mode": "native"}]}', /^config: VM 'a': mode native runs the bare machine alone/],
      ['{"vms": [{"name": "a", "mode": "pv"}, {"name": "a", "mode": "pv"}]}', /^config: VM 'a': the name is used twice \(VM names must be unique\)$/],
      ['{"vms": [{"name": "a", "mode": "pv", "image": "doom"}]}', /^config: VM 'a': unknown image "doom" \(the page offers hvos\)$/],
      ['{"pool": "32M", "vms": [{"name": "a", "mode": "pv", "memory": "64M"}]}', /^config: the VMs' memory adds up to 64 MiB, more than the 32 MiB pool$/],
      ['{"pool": "lots", "vms": [{"name": "a", "mode": "pv"}]}', /^config: pool 'lots' is not a size \(examples: 16M, 1G, 64\)$/],
      ['{"vms": [{"name": "a", "mode": "pv", "memory": "1.5M"}]}', /^config: VM 'a': memory "1.5M" is not a whole number of MiB$/],
      ['{"vms": [{"name": "a", "mode": "pv", "weight": 0}]}', /^config: VM 'a': weight must be a whole number from 1 to 65535, got 0$/],
      ['{"vms": [{"name": "a", "mode": "pv", "cap": 101}]}', /^config: VM 'a': cap must be a whole number from 0 to 100, got 101$/],
      ['{"vms": [{"name": "a", "mode": "hvm-nested", "io": "offload"}]}', /^config: VM 'a': io offload works in hvlab run --config, not in the page: use core or host$/],
      ['{"vms": [{"name": "a", "mode": "pv", "io": "offload"}]}', /^config: VM 'a': a pv guest's virtio devices are served in the core: use io 'core', not 'offload'$/],
      ['{"vms": [{"name": "a", "mode": "pv", "io": "host"}]}', /^config: VM 'a': a pv guest's virtio devices are served in the core: use io 'core', not 'host'$/],
      ['{"vms": [{"name": "a b", "mode": "pv"}]}', /^config: vms\[0\]: name "a b" must be 1 to 32 letters/],
      [JSON.stringify({ vms: Array.from({ length: 17 }, (_, i) => ({ mode: 'pv', memory: 16 + i })) }), /^config: 17 VMs, at most 16 fit the page \(one terminal each\)$/],
      // Guest RAM fits, but not with each VM's tables and saved state (src/host.ts NO_MEMORY).
      ['{"pool": 32, "vms": [{"name": "a", "mode": "pv"}, {"name": "b", "mode": "pv"}]}', /^config: VM 'b' needs \d+ MiB of the host pool, \d+ MiB is free \(pool 32 MiB\)$/],
    ];
    const h = harness = await Harness.start(bad[0][0]);
    for (const [text] of bad.slice(1)) h.send(text);
    await h.until('every refusal', () => h.of('start-error').length === bad.length);
    const errors = h.of('start-error').map((m) => m.message);
    bad.forEach(([, re], i) => expect(errors[i]).toMatch(re));
    for (const e of errors) expect(e).not.toContain('\n');
    expect(h.of('started')).toEqual([]);
    expect(h.of('console')).toEqual([]);

    // A bad config while VMs run changes nothing: they keep their consoles and answer input.
    h.send(two());
    await h.until('both prompts', () => h.atPrompt('a') && h.atPrompt('b'));
    h.send('{"vms": [{"name": "x", "mode": "vmx"}]}');
    await h.until('the refusal', () => h.of('start-error').length === bad.length + 1);
    h.runner.handle({ type: 'input', vm: 'b', data: 'echo still-here\r' });
    await h.until('b answers', () => h.consoles.b.includes('still-here\r\n') || h.consoles.b.includes('still-here\n'));
    expect(h.of('started').length).toBe(1);
  }, 30_000);

  test('a VM that powers off halts with its reason; its neighbour runs on', async () => {
    const h = harness = await Harness.start(two());
    await h.until('both prompts', () => h.atPrompt('a') && h.atPrompt('b'));
    h.runner.handle({ type: 'input', vm: 'a', data: 'poweroff\r' });
    await h.until('a halted', () => h.lastStats()?.vms[0].state === 'halted');
    expect(h.lastStats()!.vms[0].message).toBe('the guest powered off');
    // Keystrokes for a halted VM go nowhere; the other VM still answers.
    h.runner.handle({ type: 'input', vm: 'a', data: 'echo ignored\r' });
    h.runner.handle({ type: 'input', vm: 'b', data: 'echo b-lives\r' });
    await h.until('b answers', () => /b-lives\r\n[^]*hvos\$ $/.test(h.consoles.b));
    expect(h.consoles.a).not.toContain('ignored');
    const s = await h.stats();
    expect(s.vms.map((v) => v.state)).toEqual(['halted', 'blocked']);
  }, 30_000);

  test('with "ksm": true the pool shrinks by what merging saves, and every console prints the same as without', async () => {
    const config = (ksm: boolean) => JSON.stringify({ pool: '96M', ksm, vms: [
      { name: 'te', mode: 'trap-emulate' }, { name: 'shadow', mode: 'hvm-shadow' }, { name: 'nested', mode: 'hvm-nested' }, { name: 'pv', mode: 'pv' }] });
    const session = async (ksm: boolean) => {
      const h = harness = await Harness.start(config(ksm));
      const names = ['te', 'shadow', 'nested', 'pv'];
      await h.until('four prompts', () => names.every((n) => h.atPrompt(n)));
      // Idle at their prompts, the scanner goes on until two passes change nothing.
      if (ksm) await h.until('two full passes', () => (h.lastStats()?.ksm?.fullScans ?? 0) >= 2, 20_000);
      if (ksm) {
        // After two passes that change nothing the scanner rests while the VMs wait: no CPU spent.
        await h.until('the scanner at rest', () => {
          const [a, b] = h.of('stats').slice(-2);
          return a?.state === 'idle' && b?.state === 'idle' && a.ksm!.pagesScanned === b.ksm!.pagesScanned;
        }, 20_000);
        const rested = (await h.stats()).ksm!.pagesScanned;
        await new Promise((r) => setTimeout(r, 1200));
        expect((await h.stats()).ksm!.pagesScanned).toBe(rested);
      }
      const atPrompt = await h.stats();
      // Writing memory after the merge: copy-on-write gives each writer its own frame.
      for (const n of names) h.runner.handle({ type: 'input', vm: n, data: 'memwalk 64 2\r' });
      await h.until('four prompts again', () => names.every((n) => (h.consoles[n].match(/hvos\$ /g) ?? []).length === 2), 20_000);
      const after = await h.stats();
      h.runner.dispose();
      harness = undefined;
      return { consoles: { ...h.consoles }, atPrompt, after };
    };
    const on = await session(true);
    const off = await session(false);
    expect(on.consoles).toEqual(off.consoles);
    expect(off.atPrompt.ksm).toBeUndefined();
    const k = on.atPrompt.ksm!;
    expect(k.on).toBe(true);
    // Three translated VMs of 16 MiB mostly hold zero and identical kernel pages (pv's frames are never merged).
    expect(k.pagesSharing).toBeGreaterThan(3 * 2048);
    const used = (s: MultiStatsMessage) => s.pool.frames - s.pool.free;
    expect(used(on.atPrompt)).toBe(used(off.atPrompt) - k.pagesSharing + k.tableFrames);
    expect(on.after.ksm!.cowBreaks).toBeGreaterThan(0);
  }, 60_000);

  test('the presets are good configs', async () => {
    const { parsePageConfig } = await import('../../src/web/multi-config.js');
    for (const p of PRESETS) {
      const c = parsePageConfig(configText(p.config), ['hvos']);
      expect({ poolMiB: c.poolMiB, ksmPages: c.ksmPages }).toEqual({ poolMiB: p.config.poolMiB, ksmPages: p.config.ksmPages });
      expect(c.vms.map(({ name, image, mode, memMiB, io, weight, cap }) => ({ name, image, mode, memMiB, io, weight, cap }))).toEqual(p.config.vms);
    }
    // `"ksm": true` means the same pages per million instructions in the page as in the CLI.
    expect(PRESETS.find((p) => p.id === 'eight')!.config.ksmPages).toBe(parsePageConfig('{"ksm": true, "vms": [{"mode": "pv"}]}', ['hvos']).ksmPages);
  }, 30_000);
});
