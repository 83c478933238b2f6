/**
 * The many-VM view in Debian's chromium (docs/web.md "Many VMs"): a preset's VMs run in one
 * worker under the scheduler, each reaches its prompt in its own tab, the keyboard types into
 * the selected tab's VM only, the list and the share plot move with a weight change, the pool
 * plot says "KSM off" when the core has no merging, a bad config is one line and changes
 * nothing, and no console error occurs. Screenshot: dist/browser/multi.png.
 */
import { describe, test, expect } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { usePreviewSite, watchErrors, CHROMIUM } from './harness.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = join(repo, 'dist/browser');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`chromium not found at ${CHROMIUM}: CI must install the Debian package chromium`);

interface MultiHook { hvlabMulti?: {
  active?: string; state: string; lastError: string; vms: { name: string; mode: string; weight: number }[];
  screenText(name: string): string;
  stats?: { vms: { name: string; state: string; instructions: bigint; schedInstructions: bigint }[]; ksm?: unknown };
  shares: Map<string, number | null>;
} }

describe.skipIf(!haveChromium)('many VMs in chromium', () => {
  const site = usePreviewSite();

  async function open(query: string): Promise<Page> {
    const page = await site.browser.newPage({ viewport: { width: 1280, height: 900 } });
    watchErrors(page, site.errors);
    await page.goto(site.url + query);
    return page;
  }

  const screenOf = (page: Page, vm: string) => page.evaluate((n) => (window as unknown as MultiHook).hvlabMulti?.screenText(n) ?? '', vm);

  async function waitFor<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeout = 15_000): Promise<T> {
    const t0 = Date.now();
    let v = await get();
    while (!ok(v)) {
      if (Date.now() - t0 > timeout) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v, (_k, x) => typeof x === 'bigint' ? String(x) : x)}`);
      await new Promise((r) => setTimeout(r, 25));
      v = await get();
    }
    return v;
  }

  test('two VMs reach their prompts in their own tabs; a command typed in one tab runs only there', async () => {
    const page = await open('?view=multi&preset=four-modes');
    await waitFor('four VMs listed', () => page.locator('#vm-list tbody tr').count(), (n) => n === 4);
    const modes = await page.evaluate(() => (window as unknown as MultiHook).hvlabMulti?.vms.map((v) => `${v.name}:${v.mode}`));
    expect(modes).toEqual(['te:trap-emulate', 'shadow:hvm-shadow', 'nested:hvm-nested', 'pv:pv']);
    // Each VM's own terminal shows its own platform line and its prompt.
    for (const [vm, mode] of [['shadow', 'hvm-shadow'], ['pv', 'pv']]) {
      const text = await waitFor(`${vm}'s prompt`, () => screenOf(page, vm), (t) => /hvos\$ $/.test(t));
      expect(text).toContain(`Hypervisor detected: hvlab (${mode})`);
    }
    // The first tab is selected, and only its terminal is shown.
    expect(await page.evaluate(() => (window as unknown as MultiHook).hvlabMulti?.active)).toBe('te');
    expect(await page.locator('#vm-terms .term:visible').count()).toBe(1);

    // Switch to the pv tab with the mouse and type: the keyboard goes to pv only.
    await page.locator('#vm-tabs .tab[data-vm="pv"]').click();
    expect(await page.locator('#vm-tabs .tab[data-vm="pv"]').getAttribute('aria-selected')).toBe('true');
    expect(await page.locator('#vm-terms .term[data-vm="pv"]').isVisible()).toBe(true);
    expect(await page.locator('#vm-terms .term[data-vm="te"]').isVisible()).toBe(false);
    const shadowBefore = await screenOf(page, 'shadow');
    await page.locator('#vm-terms .term[data-vm="pv"] .xterm').click();
    await page.keyboard.type('echo typed-into-pv\r');
    const pv = await waitFor('the echo in pv', () => screenOf(page, 'pv'), (t) => /typed-into-pv\n(?:.*\n)*hvos\$ $/.test(t));
    expect(pv.split('typed-into-pv').length - 1).toBe(2);
    for (const other of ['te', 'shadow', 'nested']) expect(await screenOf(page, other)).not.toContain('typed-into-pv');
    expect(await screenOf(page, 'shadow')).toBe(shadowBefore);

    // Selecting a VM in the list selects its tab too.
    await page.locator('#vm-list tr[data-vm="nested"] a').click();
    expect(await page.evaluate(() => (window as unknown as MultiHook).hvlabMulti?.active)).toBe('nested');
    expect(await page.locator('#vm-terms .term[data-vm="nested"]').isVisible()).toBe(true);

    // Ctrl-A N / P / digit switch tabs from the keyboard, as the CLI's console does; the guest never sees them.
    await page.keyboard.press('Control+A');
    await page.keyboard.press('n');
    expect(await page.evaluate(() => (window as unknown as MultiHook).hvlabMulti?.active)).toBe('pv');
    await page.keyboard.press('Control+A');
    await page.keyboard.press('1');
    expect(await page.evaluate(() => (window as unknown as MultiHook).hvlabMulti?.active)).toBe('te');
    await page.keyboard.press('Control+A');
    await page.keyboard.press('p');
    expect(await page.evaluate(() => (window as unknown as MultiHook).hvlabMulti?.active)).toBe('pv');
    expect(await page.locator('#vm-terms .term[data-vm="pv"]').isVisible()).toBe(true);
    await page.keyboard.type('echo keys-ok\r');
    await waitFor('pv answers after the switches', () => screenOf(page, 'pv'), (t) => /keys-ok\nhvos\$ $/.test(t));
    for (const other of ['te', 'shadow', 'nested']) expect(await screenOf(page, other)).not.toContain('keys-ok');

    // The page stays responsive while a neighbour computes: a command in another tab answers at once.
    await page.keyboard.type('compute 1000000000\r');
    await waitFor('pv computing', () => page.evaluate(() => (window as unknown as MultiHook).hvlabMulti?.stats?.vms.find((v) => v.name === 'pv')?.state), (s) => s === 'running');
    await page.locator('#vm-tabs .tab[data-vm="shadow"]').click();
    const t0 = Date.now();
    await page.keyboard.type('echo beside-a-busy-neighbour\r');
    await waitFor('shadow answers', () => screenOf(page, 'shadow'), (t) => /beside-a-busy-neighbour\nhvos\$ $/.test(t));
    const answered = Date.now() - t0;
    console.log(`many VMs: a command answered in ${answered} ms while a neighbour runs compute`);
    expect(answered).toBeLessThan(5000);
    await page.locator('#vm-tabs .tab[data-vm="pv"]').click();
    await page.keyboard.press('Control+C');
    await waitFor('pv back at its prompt', () => screenOf(page, 'pv'), (t) => /hvos\$ $/.test(t));

    // At their prompts every VM is blocked and the worker idles.
    await waitFor('all blocked', () => page.evaluate(() => (window as unknown as MultiHook).hvlabMulti?.stats?.vms.map((v) => v.state).join(',')),
      (s) => s === 'blocked,blocked,blocked,blocked');
    expect(await page.locator('#vm-list tr[data-vm="pv"] .state').textContent()).toBe('blocked');
    // The core here has no same-page merging: the page says so instead of drawing savings.
    await waitFor('the KSM note', () => page.locator('#ksm-state').textContent(), (t) => (t ?? '').startsWith('KSM off'));
    expect(await page.locator('#frame-plot .u-title').textContent()).toBe('host frames used (KSM off)');
    // The footnote's link to the design of many VMs is served beside the page.
    const doc = await page.request.get(new URL(await page.locator('.footnote a').getAttribute('href') ?? '', page.url()).href);
    expect(doc.status()).toBe(200);
    expect(await doc.text()).toContain('# Many VMs in one machine');
    await page.close();
  }, 60_000);

  test('shares follow the weights; the share plot and the list show them', async () => {
    const page = await open('?view=multi&preset=weights');
    for (const vm of ['heavy', 'light']) await waitFor(`${vm}'s prompt`, () => screenOf(page, vm), (t) => /hvos\$ $/.test(t));
    for (const vm of ['heavy', 'light']) {
      await page.locator(`#vm-tabs .tab[data-vm="${vm}"]`).click();
      await page.keyboard.type('compute 1000000000\r');
    }
    // Half-second samples: wait until a few full ones have been taken with both running.
    const shareOf = (vm: string) => page.evaluate((n) => (window as unknown as MultiHook).hvlabMulti?.shares.get(n) ?? null, vm);
    await page.waitForTimeout(1500);
    const heavy = await waitFor('a 2:1 share', () => shareOf('heavy'), (s) => s !== null && s > 55).catch(async (e) => {
      throw new Error(`${e}\n${await screenOf(page, 'heavy')}\n${await screenOf(page, 'light')}\n${JSON.stringify(await page.evaluate(() => (window as unknown as MultiHook).hvlabMulti?.stats), (_k, x) => typeof x === 'bigint' ? String(x) : x)}`);
    });
    expect(heavy).toBeGreaterThan(60);
    expect(heavy).toBeLessThan(73);
    expect(await page.locator('#vm-list tr[data-vm="heavy"] .share').textContent()).toMatch(/^\d+\.\d %$/);
    // Equal weights from the list: the shares even out.
    await page.locator('#vm-list tr[data-vm="heavy"] select.weight').selectOption('256');
    await waitFor('an even share', () => shareOf('heavy'), (s) => s !== null && s > 45 && s < 55, 10_000);
    const plotted = await page.evaluate(() => document.querySelectorAll('#share-plot canvas').length);
    expect(plotted).toBe(1);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'multi.png'), fullPage: true });
    await page.close();
  }, 60_000);

  test('a bad config is one line and starts nothing; the VMs that ran run on', async () => {
    const page = await open('?view=multi&preset=weights');
    await waitFor('heavy\'s prompt', () => screenOf(page, 'heavy'), (t) => /hvos\$ $/.test(t));
    await page.locator('#multi-config summary').click();
    const json = page.locator('#multi-json');
    for (const [text, message] of [
      ['{"vms": [{"name": "a", "mode": "vmx"}]}', 'config: VM \'a\': unknown mode \'vmx\' (one of trap-emulate, hvm-shadow, hvm-nested, pv)'],
      ['{"vms": [{"name": "a", "mode": "pv"}, {"name": "a", "mode": "pv"}]}', 'config: VM \'a\': the name is used twice (VM names must be unique)'],
      ['{"pool": "32M", "vms": [{"name": "a", "mode": "pv", "memory": "64M"}]}', 'config: the VMs\' memory adds up to 64 MiB, more than the 32 MiB pool'],
    ]) {
      await json.fill(text);
      await page.locator('#multi-start').click();
      await waitFor('the notice', () => page.locator('#notice').textContent(), (t) => t === message);
      expect(await page.locator('#notice').isVisible()).toBe(true);
    }
    await json.fill('{"vms": [');
    await page.locator('#multi-start').click();
    await waitFor('the JSON notice', () => page.locator('#notice').textContent(), (t) => (t ?? '').startsWith('config: not valid JSON: '));
    expect(await page.locator('#vm-list tbody tr').count()).toBe(2);
    await page.locator('#vm-tabs .tab[data-vm="light"]').click();
    await page.keyboard.type('echo still-here\r');
    await waitFor('light answers', () => screenOf(page, 'light'), (t) => /still-here\nhvos\$ $/.test(t));
    await page.close();
  }, 60_000);

  test('with merging on (the eight preset) the pool plot draws what the VMs would take without it', async () => {
    const page = await open('?view=multi&preset=eight');
    await waitFor('eight VMs listed', () => page.locator('#vm-list tbody tr').count(), (n) => n === 8);
    for (const vm of ['vm1', 'vm8']) await waitFor(`${vm}'s prompt`, () => screenOf(page, vm), (t) => /hvos\$ $/.test(t));
    type Ksm = { pagesSharing: number; fullScans: number; tableFrames: number };
    const ksm = () => page.evaluate(() => (window as unknown as { hvlabMulti?: { stats?: { ksm?: Ksm; pool: { frames: number; free: number } } } }).hvlabMulti?.stats);
    const s = await waitFor('a full pass', ksm, (x) => (x?.ksm?.fullScans ?? 0) >= 1, 20_000);
    // Eight VMs of 16 MiB (32768 guest frames), most of them zero or the same kernel: over half merged.
    expect(s!.ksm!.pagesSharing).toBeGreaterThan(16_384);
    await waitFor('the KSM line', () => page.locator('#ksm-state').textContent(), (t) => /^KSM on: \d+ shared frames, \d+ guest pages merged/.test(t ?? ''));
    expect(await page.locator('#frame-plot .u-title').textContent()).toBe('host frames: used, and without merging (KSM on)');
    // The plot's last sample (every 500 ms): "without merging" is above "used" by what merging saved.
    const lastSample = () => page.evaluate(() => {
      const data = (window as unknown as { hvlabMulti: { framePlotData(): number[][] } }).hvlabMulti.framePlotData();
      return [data[1].at(-1) ?? 0, data[2].at(-1) ?? 0];
    });
    const [used, without] = await waitFor('the saving plotted', lastSample, ([u, w]) => w - u > 16_384, 5000);
    expect(used).toBeGreaterThan(0);
    expect(without - used).toBeLessThan(8 * 16 * 256);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'multi-ksm.png'), fullPage: true });
    await page.close();
  }, 60_000);

  test('works on a narrow (phone) screen: the list scrolls, the terminal fits', async () => {
    const page = await site.browser.newPage({ viewport: { width: 390, height: 844 } });
    watchErrors(page, site.errors);
    await page.goto(`${site.url}?view=multi&preset=weights`);
    await waitFor('heavy\'s prompt', () => screenOf(page, 'heavy'), (t) => /hvos\$ $/.test(t));
    // Nothing wider than the screen but the list's own scroller.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    const term = await page.locator('#vm-terms .term[data-vm="heavy"]').boundingBox();
    expect(term!.width).toBeLessThanOrEqual(390);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'multi-phone.png') });
    await page.close();
  }, 60_000);

  test('no page logged a console error', () => {
    expect(site.errors).toEqual([]);
  });
});
