/**
 * The web console in Debian's chromium (docs/web.md): the page is cross-origin isolated, hvos
 * boots to its prompt in each mode (native, trap-emulate, hvm-shadow, hvm-nested), typed
 * commands run, controls reboot the VM and land in the URL, counters and plots move, exits are
 * counted, plotted and traced under trap-emulate, Pause and Reset answer a guest that loops
 * forever, a bad upload is explained, the side-by-side page races two modes (screenshot in
 * dist/browser/), a narrow screen works, the static-host fallback isolates the page, and no
 * console errors occur; with io=offload the page runs the offload backend (a Web Worker over
 * shared memory) for hvos's virtio console and disk, and a disk=keep disk survives a reload
 * (OPFS). Copy and paste go through the system clipboard. Also measures time-to-prompt and worker-vs-Node MIPS
 * (docs/performance.md "Web console").
 */
import { describe, test, expect } from 'vitest';
import { existsSync, statSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { usePreviewSite, plainServer, watchErrors, screen, waitForScreen, CHROMIUM } from './harness.js';
import { MODES, SIDE_DEFAULTS } from '../../web/modes.js';
import { Vm, runScripted } from '../../src/vm.js';
import { loadCoreModule } from '../../src/node/load-core.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = join(repo, 'dist/browser');
const PROMPT = /hvos\$ $/m;
const HVOS = join(repo, 'guests/hvos/prebuilt/hvos.elf');

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`chromium not found at ${CHROMIUM}: CI must install the Debian package chromium`);

type Hook = { hvlab?: {
  promptAt?: number;
  panels: { state: string; stats?: { instructions: bigint; runSeconds: number; t: number } }[];
  plots: { samples: number; def: { id: string }; plot: { data: (number | null)[][] } }[];
} };

describe.skipIf(!haveChromium)('web console in chromium', () => {
  const site = usePreviewSite();
  const errors = site.errors;

  async function open(query = '', viewport = { width: 1280, height: 900 }): Promise<Page> {
    const page = await site.browser.newPage({ viewport });
    watchErrors(page, errors);
    await page.goto(site.url + query);
    return page;
  }

  const state = (page: Page, vm = 0) => page.evaluate((i) => (window as unknown as Hook).hvlab?.panels[i].state, vm);
  const instructions = (page: Page, vm = 0) => page.evaluate((i) => (window as unknown as Hook).hvlab?.panels[i].stats?.instructions ?? 0n, vm);

  async function waitState(page: Page, want: string, vm = 0, timeout = 5000): Promise<number> {
    const t0 = Date.now();
    while (Date.now() - t0 < timeout) {
      if (await state(page, vm) === want) return Date.now() - t0;
      await page.waitForTimeout(10);
    }
    throw new Error(`VM ${vm} did not reach state ${want} (it is ${await state(page, vm)})`);
  }

  // The 1 s target is a benchmark figure (docs/performance.md), printed here: asserting wall
  // time on a shared machine would make the suite fail at random. What must hold everywhere
  // is asserted: isolation, and a prompt in a bounded time.
  test('loads cross-origin isolated and shows the prompt (time to prompt printed, median of 5 loads)', async () => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const page = await open();
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
      await waitForScreen(page, PROMPT);
      times.push(await page.evaluate(() => (window as unknown as Hook).hvlab?.promptAt ?? Infinity));
      await page.close();
    }
    times.sort((a, b) => a - b);
    const median = times[2];
    console.log(`web console: time to prompt (ms from navigation) ${times.map((t) => t.toFixed(0)).join(', ')}; median ${median.toFixed(0)}`);
    expect(median).toBeLessThan(10_000);
  }, 60_000);

  test('boots to its prompt in each available mode, with that mode\'s platform line', async () => {
    const available = MODES.filter((m) => m.available);
    expect(available.map((m) => m.id)).toEqual(['native', 'trap-emulate', 'hvm-shadow', 'hvm-nested', 'pv']);
    // Two at a time: the machine has two cores, and each page compiles the core and boots.
    for (let k = 0; k < available.length; k += 2) {
      await Promise.all(available.slice(k, k + 2).map(async (mode) => {
        const page = await open(`?mode=${mode.id}`);
        const text = await waitForScreen(page, PROMPT);
        expect(text).toMatch(mode.platform);
        expect(await page.locator('#mode').inputValue()).toBe(mode.id);
        await page.close();
      }));
    }
  }, 60_000);

  // The I/O paths in the page (docs/io.md): hvos finds a virtio console and a disk, and under
  // offload (the device model on a Web Worker started by the VM's worker, polling the rings in
  // shared memory) a workload's console and disk traffic costs the vCPU no virtio exit.
  test('io=offload&disk=memory: virtio console and disk served by the offload worker with no virtio exits', async () => {
    const page = await open('?mode=hvm-nested&io=offload&disk=memory');
    const text = await waitForScreen(page, PROMPT, 0, 20_000);
    expect(text).toMatch(/virtio-console: the console moves here/);
    expect(text).toMatch(/virtio-blk: 8192 sectors \(4096 KiB\)/);
    expect(await page.locator('#io').inputValue()).toBe('offload');
    const counters = () => page.evaluate(async () => {
      const h = (window as unknown as { hvlab: { panels: { requestStats(): void; stats?: { counters: Record<string, bigint> } }[] } }).hvlab;
      h.panels[0].requestStats();
      await new Promise((r) => setTimeout(r, 300));
      return h.panels[0].stats?.counters ?? {};
    });
    // Setting the queues up may notify (before the device has said not to); the workloads not.
    const before = await counters();
    // On a timeout, say what the VM was doing (its state and its virtio counters).
    const why = async (e: unknown) => {
      const st = await page.evaluate(() => { const p = (window as unknown as { hvlab: { panels: { state: string; stateMessage: string }[] } }).hvlab.panels[0]; return `${p.state} ${p.stateMessage}`; });
      const c = await counters();
      throw new Error(`${(e as Error).message}\nVM state: ${st}; offload requests ${c.VIRTIO_OFFLOAD_REQUESTS}, polls ${c.VIRTIO_OFFLOAD_POLLS}, resets ${c.VIRTIO_RESETS}, instructions ${c.INSTRET_S}/${c.INSTRET_U}`);
    };
    await page.keyboard.type('disk 256\n');
    await waitForScreen(page, /disk kib=256 requests=64 fnv1a=[0-9a-f]{8} driver=virtio-blk/, 0, 30_000).catch(why);
    await page.keyboard.type('io 4\n');
    await waitForScreen(page, /io kib=4 bytes=4096 writes=4/, 0, 30_000).catch(why);
    const after = await counters();
    const delta = (k: string) => (after[k] ?? 0n) - (before[k] ?? 0n);
    expect(delta('VIRTIO_OFFLOAD_REQUESTS')).toBeGreaterThan(64n);
    expect(delta('VIRTIO_NOTIFIES')).toBe(0n);
    // The disk costs no exit at all; the console's exits are its input interrupts (reading
    // and acknowledging InterruptStatus for the 14 typed bytes), none for output.
    expect(delta('VIRTIO_EXITS_BLOCK')).toBe(0n);
    expect(delta('VIRTIO_EXITS_CONSOLE')).toBeLessThanOrEqual(2n * 14n);
    expect(delta('EXIT_HOST')).toBe(0n);
    await page.close();
  }, 90_000);

  test('disk=keep: what the guest writes survives a reload (the origin-private file system)', async () => {
    const context = await site.browser.newContext();
    const page = await context.newPage();
    watchErrors(page, errors);
    await page.goto(site.url + '?io=core&disk=keep');
    await waitForScreen(page, PROMPT, 0, 20_000);
    await page.keyboard.type('blk write 7 kept across page loads\n');
    await waitForScreen(page, /blk: wrote 23 bytes to sector 7/);
    // The worker saves a written kept disk at most every 2 s, and when the guest stops.
    await page.keyboard.type('poweroff\n');
    await waitState(page, 'halted', 0, 10_000);
    await page.reload();
    await waitForScreen(page, PROMPT, 0, 20_000);
    await page.keyboard.type('blk read 7 1\n');
    await waitForScreen(page, /\|kept across page\|\n.*\| loads\.{10}\|/);
    await context.close();
  }, 90_000);

  test('the terminal has the focus: typing a command shows its output', async () => {
    const page = await open();
    await waitForScreen(page, PROMPT);
    expect(await page.evaluate(() => document.activeElement?.classList.contains('xterm-helper-textarea'))).toBe(true);
    await page.keyboard.type('echo hello from the browser\n');
    await waitForScreen(page, /^hello from the browser$/m);
    await page.keyboard.type('help\n');
    await waitForScreen(page, /memwalk/);
    await page.close();
  }, 30_000);

  test('copy and paste with Ctrl+Shift+C and Ctrl+Shift+V', async () => {
    const context = await site.browser.newContext();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(site.url).origin });
    const page = await context.newPage();
    watchErrors(page, errors);
    await page.goto(site.url);
    await waitForScreen(page, PROMPT);
    expect(await page.locator('.shortcuts').first().textContent()).toMatch(/Ctrl\+Shift\+C copy .*Ctrl\+Shift\+V paste/);
    await page.evaluate(() => navigator.clipboard.writeText('echo pasted text\r'));
    await page.keyboard.press('Control+Shift+V');
    await waitForScreen(page, /^pasted text$/m);
    await page.evaluate(() => (window as unknown as { hvlab: { panels: { term: { selectAll(): void } }[] } }).hvlab.panels[0].term.selectAll());
    await page.keyboard.press('Control+Shift+C');
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toMatch(/hvos v0\.1[\s\S]*pasted text/);
    await context.close();
  }, 30_000);

  test('switching mode or memory reboots with the new platform and puts it in the URL', async () => {
    const page = await open();
    await waitForScreen(page, PROMPT);
    // Every mode is listed; those the core does not run yet cannot be chosen.
    const options = await page.locator('#mode option').evaluateAll((os) => os.map((o) => ({ v: (o as HTMLOptionElement).value, d: (o as HTMLOptionElement).disabled })));
    expect(options.map((o) => o.v)).toEqual(MODES.map((m) => m.id));
    expect(options.map((o) => !o.d)).toEqual(MODES.map((m) => m.available));
    const available = MODES.filter((m) => m.available);
    for (const mode of [...available].reverse()) {
      if (mode.id === await page.locator('#mode').inputValue()) continue;
      await page.selectOption('#mode', mode.id);
      const text = await waitForScreen(page, PROMPT);
      expect(text).toMatch(mode.platform);
      expect(new URL(page.url()).searchParams.get('mode') ?? 'native').toBe(mode.id);
    }
    await page.selectOption('#mem', '64');
    await waitForScreen(page, /fdt: memory 64 MiB[\s\S]*hvos\$ $/m);
    expect(new URL(page.url()).searchParams.get('mem')).toBe('64');
    await page.selectOption('#clock', 'wall');
    await waitForScreen(page, /fdt: memory 64 MiB[\s\S]*hvos\$ $/m);
    expect(new URL(page.url()).searchParams.get('clock')).toBe('wall');
    // The shared link opens on the same configuration.
    const again = await open(new URL(page.url()).search);
    await waitForScreen(again, /fdt: memory 64 MiB[\s\S]*hvos\$ $/m);
    expect(await again.locator('#clock').inputValue()).toBe('wall');
    await again.close();
    await page.close();
  }, 30_000);

  test('counters and plots update', async () => {
    const page = await open();
    await waitForScreen(page, PROMPT);
    const before = await instructions(page);
    await page.keyboard.type('compute 10000000\n');
    await waitForScreen(page, /compute n=10000000 [\s\S]*hvos\$ $/m, 0, 20_000);
    await page.keyboard.type('memwalk 8192 16\n');
    await waitForScreen(page, /memwalk pages=8192[\s\S]*hvos\$ $/m, 0, 20_000);
    await page.waitForTimeout(700);
    expect(await instructions(page)).toBeGreaterThan(before);
    const cell = (key: string) => page.locator(`#counters tr[data-key="${key}"] td.v`).first().textContent();
    expect(Number((await cell('TLB_LOAD_MISSES'))?.replace(/,/g, ''))).toBeGreaterThan(8192 * 16 - 1);
    expect(Number((await cell('WALK_REFS'))?.replace(/,/g, ''))).toBeGreaterThan(0);
    // Each counter explains itself and links to its documentation.
    const link = page.locator('#counters tr[data-key="WALK_REFS"] a');
    expect(await link.getAttribute('href')).toBe('docs/counters.md#tlb-and-page-walks');
    expect(await link.getAttribute('title')).toMatch(/\w+ .*\./);
    // Modeled cycles come from the cost table and say so; the bare machine has no exits.
    const cyc = page.locator('#counters tr[data-key="CYCLES_TOTAL"] a');
    expect(await cyc.getAttribute('href')).toBe('docs/cost-model.md');
    expect(await cyc.getAttribute('title')).toMatch(/cost table/);
    expect(Number((await cell('CYCLES_TOTAL'))?.replace(/,/g, ''))).toBeGreaterThan(Number(await instructions(page)) - 1);
    expect(await cell('EXITS')).toBe('0');
    expect(await page.locator('.exit-trace .exit-note').textContent()).toMatch(/^no exits: native mode/);
    expect(await page.locator('.exit-trace tbody tr').count()).toBe(0);
    await expect.poll(() => page.evaluate(() => (window as unknown as Hook).hvlab!.plots[0].samples)).toBeGreaterThan(2);
    const plots = await page.evaluate(() => (window as unknown as Hook).hvlab!.plots.map((p) => ({ n: p.samples, max: Math.max(...p.plot.data[1].map((v) => v ?? 0)) })));
    for (const p of plots) expect(p.n).toBeGreaterThan(2);
    expect(plots[0].max).toBeGreaterThan(1); // MIPS
    expect(plots[2].max).toBeGreaterThan(0); // TLB misses per second
    await page.close();
  }, 30_000);

  test('under trap-emulate, exits are counted by reason, plotted per second and traced', async () => {
    const page = await open('?mode=trap-emulate');
    await waitForScreen(page, PROMPT);
    const cell = async (key: string, col = 'v') => (await page.locator(`#counters tr[data-key="${key}"] td.${col}`).first().textContent()) ?? '';
    const count = async (key: string) => Number((await cell(key)).replace(/,/g, ''));
    await expect.poll(() => count('EXITS')).toBeGreaterThan(0);
    const before = await count('EXITS');
    await page.keyboard.type('syscall 1000\n');
    await waitForScreen(page, /syscall n=1000 errors=0[\s\S]*hvos\$ $/m);
    // Each system call exits at least twice: the trap reflected into the guest kernel, its sret.
    await expect.poll(() => count('EXITS')).toBeGreaterThanOrEqual(before + 2000);
    expect(await count('EXIT_REFLECT')).toBeGreaterThanOrEqual(1000);
    expect(await count('EXIT_SRET')).toBeGreaterThanOrEqual(1000);
    expect(await count('EXIT_CSR')).toBeGreaterThan(1000);
    expect(await page.locator('#counters tr[data-key="EXITS"] a').getAttribute('href')).toBe('docs/counters.md#exits');
    expect(await page.locator('#counters tr[data-key="SHADOW_FILLS"] a').getAttribute('href')).toBe('docs/counters.md#shadow-paging');
    // Modeled cycles: the exits dominate (1000 cycles each in the default table).
    expect(await count('CYCLES_EXITS')).toBeGreaterThan(await count('CYCLES_INSTRUCTIONS'));
    // The exits plot saw them.
    await expect.poll(() => page.evaluate(() => {
      const plot = (window as unknown as Hook).hvlab!.plots.find((p) => p.def.id === 'exits')!;
      return Math.max(0, ...plot.plot.data[1].map((v) => v ?? 0));
    })).toBeGreaterThan(1000);
    // The trace decodes the latest exits: a cause name, the guest pc and tval in hex.
    await expect.poll(() => page.locator('.exit-trace tbody tr').count()).toBeGreaterThanOrEqual(20);
    const first = await page.locator('.exit-trace tbody tr').first().locator('td').allTextContents();
    expect(first[1]).toMatch(/^[a-z]+( [a-z]+)*$/);
    expect(first[2]).toMatch(/^0x[0-9a-f]+$/);
    expect(first[3]).toMatch(/^0x[0-9a-f]+$/);
    const causes = await page.locator('.exit-trace td.cause').allTextContents();
    expect(causes.join(',')).toMatch(/illegal instruction/);
    expect(await page.locator('.exit-trace .exit-note').textContent()).toMatch(/exits since boot; the last \d+:/);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'trap-emulate.png') });
    await page.close();
  }, 30_000);

  test('Pause and Reset answer while the guest loops forever', async () => {
    const page = await open();
    await waitForScreen(page, PROMPT);
    await page.keyboard.type('compute 1000000000\n');
    await waitState(page, 'running');
    await page.waitForTimeout(300);
    await page.click('#pause');
    const pauseMs = await waitState(page, 'paused', 0, 1000);
    const frozen = await instructions(page);
    await page.waitForTimeout(300);
    expect(await instructions(page)).toBe(frozen);
    await page.click('#start');
    await waitState(page, 'running', 0, 1000);
    const t0 = Date.now();
    await page.click('#reset');
    await waitForScreen(page, /^\n?hvos v0\.1[\s\S]*hvos\$ $/, 0, 3000);
    console.log(`web console: pause answered in ${pauseMs} ms, reset to the prompt in ${Date.now() - t0} ms`);
    expect(await screen(page)).not.toMatch(/compute 1000000000/);
    await page.close();
  }, 30_000);

  test('uploading a file that is not a usable RV64 image shows why', async () => {
    const page = await open();
    await waitForScreen(page, PROMPT);
    await page.setInputFiles('#upload', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello, not an ELF\n') });
    await expect.poll(() => page.locator('#notice').textContent()).toMatch(/^notes\.txt: not an ELF file/);
    expect(await page.locator('#notice').isVisible()).toBe(true);
    const x86 = readFileSync(process.execPath).subarray(0, 4096);
    await page.setInputFiles('#upload', { name: 'node', mimeType: 'application/octet-stream', buffer: x86 });
    await expect.poll(() => page.locator('#notice').textContent()).toMatch(/^node: .*not RISC-V/);
    // A good upload boots and clears the message.
    await page.setInputFiles('#upload', { name: 'hvos-copy.elf', mimeType: 'application/octet-stream', buffer: readFileSync(HVOS) });
    await waitForScreen(page, PROMPT);
    expect(await page.locator('#notice').isVisible()).toBe(false);
    await page.close();
  }, 30_000);

  test('works on a narrow (phone) screen', async () => {
    const page = await open('', { width: 390, height: 844 });
    await waitForScreen(page, PROMPT);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    const term = await page.locator('.term').first().boundingBox();
    expect(term!.width).toBeGreaterThan(300);
    expect(term!.width).toBeLessThanOrEqual(390);
    await page.keyboard.type('echo narrow\n');
    await waitForScreen(page, /^narrow$/m);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'phone.png') });
    await page.close();
  }, 30_000);

  test('side by side: two modes race the same workload; screenshot', async () => {
    // The default race (SIDE_DEFAULTS): trap-emulate against hvm-nested, syscall 20000.
    expect(SIDE_DEFAULTS).toEqual({ a: 'trap-emulate', b: 'hvm-nested', workload: 'syscall 20000' });
    const page = await open('?view=side&run=syscall%2020000', { width: 1600, height: 1000 });
    await waitForScreen(page, /Hypervisor detected: hvlab \(trap-emulate\)[\s\S]*hvos\$ /, 0);
    await waitForScreen(page, /Hypervisor detected: hvlab \(hvm-nested\)[\s\S]*hvos\$ /, 1);
    expect(await page.locator('.vm-title').allTextContents()).toEqual(['left: trap-emulate', 'right: hvm-nested']);
    await waitForScreen(page, /syscall n=20000 errors=0[\s\S]*hvos\$ $/, 0, 20_000);
    await waitForScreen(page, /syscall n=20000 errors=0[\s\S]*hvos\$ $/, 1, 20_000);
    await expect.poll(() => page.locator('#race-result').textContent(), { timeout: 5000 })
      .toMatch(/left: trap-emulate: [\d.]+ s, [\d.]+ M instructions, \d+ MIPS, [\d,]+ exits, [\d.]+ M modeled cycles .*right: hvm-nested: [\d.]+ s, .*exits/);
    // Both VMs' counters stand next to each other: trap-emulate exits on every system call.
    // The table follows the workers' stats messages (about ten a second): wait for it.
    await expect.poll(() => page.locator('#counters thead th').allTextContents(), { timeout: 5000 })
      .toEqual(['counter', 'left total', 'left per s', 'right total', 'right per s']);
    await expect.poll(async () => Number((await page.locator('#counters tr[data-key="EXITS"] td.v').first().textContent() ?? '0').replace(/,/g, '')),
      { timeout: 5000 }).toBeGreaterThan(40_000);
    const exits = await page.locator('#counters tr[data-key="EXITS"] td.v').allTextContents();
    const [left, right] = exits.map((t) => Number(t.replace(/,/g, '')));
    expect(left).toBeGreaterThan(40_000);
    expect(left).toBeGreaterThan(10 * right);
    const cycles = (await page.locator('#counters tr[data-key="CYCLES_TOTAL"] td.v').allTextContents()).map((t) => Number(t.replace(/,/g, '')));
    expect(cycles[0]).toBeGreaterThan(cycles[1]);
    console.log(`web console: side by side syscall 20000: exits ${left} vs ${right}, modeled cycles ${cycles[0]} vs ${cycles[1]}`);
    mkdirSync(SHOTS, { recursive: true });
    const file = join(SHOTS, 'side-by-side.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(10_000);
    await page.close();
  }, 30_000);

  test('on a static host without headers, the service worker isolates the page', async () => {
    const plain = await plainServer(site.dir);
    try {
      const page = await site.browser.newPage();
      watchErrors(page, errors);
      await page.goto(plain.url);
      await page.waitForFunction(() => crossOriginIsolated, undefined, { timeout: 10_000 });
      await waitForScreen(page, PROMPT);
      await page.close();
    } finally {
      await plain.close();
    }
  }, 30_000);

  // Speed is a benchmark figure (docs/performance.md), printed here and not asserted: wall
  // time on a shared machine is noise. What is asserted is that the worker computes exactly
  // what Node computes: the same result and the same guest time under the instret clock.
  test('the worker runs the guest as Node does (compute 10000000 three times; MIPS ratio printed)', async () => {
    // Long enough (about 190 M instructions) that both engines have tiered the core up; the
    // best of three runs each, as other processes share this machine.
    const WORK = 'compute 10000000\n';
    const source = await loadCoreModule();
    const vm = await Vm.create({ firmware: 'builtin' }, source);
    vm.load(new Uint8Array(readFileSync(HVOS)), 'hvos.elf');
    runScripted(vm, '', 1e9);
    const page = await open();
    await waitForScreen(page, PROMPT);
    const stats = () => page.evaluate(() => {
      const s = (window as unknown as Hook).hvlab!.panels[0].stats!;
      return { i: s.instructions, w: s.runSeconds };
    });
    // Alternate the two, so that load from other processes falls on both alike.
    const node: number[] = [];
    const web: number[] = [];
    const nodeLines: string[] = [];
    let screen = '';
    vm.readConsole();
    for (let i = 0; i < 3; i++) {
      const i0 = vm.instructions;
      const w0 = vm.wallTime;
      runScripted(vm, WORK, 1e10);
      node.push(Number(vm.instructions - i0) / (vm.wallTime - w0) / 1e6);
      nodeLines.push(...(vm.readConsole().match(/compute n=10000000 .*/g) ?? []));
      await page.waitForTimeout(300);
      const a = await stats();
      await page.keyboard.type(WORK);
      screen = await waitForScreen(page, new RegExp(`(compute n=10000000 .*\\n[\\s\\S]*){${i + 1}}hvos\\$ $`), 0, 20_000);
      await page.waitForTimeout(300);
      const b = await stats();
      web.push(Number(b.i - a.i) / (b.w - a.w) / 1e6);
    }
    await page.close();
    const ratio = Math.max(...web) / Math.max(...node);
    console.log(`web console: MIPS worker ${web.map((x) => x.toFixed(0)).join(', ')} vs Node ${node.map((x) => x.toFixed(0)).join(', ')}; ratio of the best runs ${ratio.toFixed(2)}`);
    const webLines = (screen.match(/compute n=10000000 .*/g) ?? []).map((l) => l.trimEnd());
    expect(nodeLines).toHaveLength(3);
    // The same result and cost per iteration; the time may differ in its last digit (1 µs):
    // typed keys reach the guest at other instructions than runScripted's whole line, so the
    // command starts at another phase of the 10 MHz tick (hvos's boot length decides which).
    const fields = (l: string) => { const m = /^(.*) time=([\d.]+)ms (.*)$/.exec(l.trimEnd())!; return { rest: `${m[1]} ${m[3]}`, ms: Number(m[2]) }; };
    expect(webLines.map((l) => fields(l).rest)).toEqual(nodeLines.map((l) => fields(l).rest));
    webLines.forEach((l, i) => expect(Math.abs(fields(l).ms - fields(nodeLines[i]).ms)).toBeLessThanOrEqual(0.0011));
  }, 60_000);

  test('no console errors on any page', () => {
    expect(errors).toEqual([]);
  });
});
