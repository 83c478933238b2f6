/**
 * The page-walk panel in Debian's chromium (web/walk.ts, docs/walk-trace.md): with hvos at its
 * prompt in hvm-nested, tracing the kernel's first text page draws the two-dimensional walk as
 * a 4x4 grid of 15 references whose PTE addresses are those the same walk has in Node (the
 * deterministic clock makes both machines the same at the prompt); vmprint and the memory map
 * answer too (a screenshot of the panel goes to dist/browser/); and under trap-emulate a page fault in the exit log traces its own address.
 */
import { describe, test, expect } from 'vitest';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { usePreviewSite, watchErrors, waitForScreen, CHROMIUM } from './harness.js';
import { Vm, runScripted } from '../../src/vm.js';
import { loadCoreModule } from '../../src/node/load-core.js';
import { traceWalk, walkGrid } from '../../src/walk-trace.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = join(repo, 'dist/browser');
const PROMPT = /hvos\$ $/m;
const KTEXT = 0x8020_0000n;
const haveChromium = existsSync(CHROMIUM);

/** The grid's cells in reading order, as the page draws them: stage, level, PTE address. */
function cells(page: Page): Promise<string[]> {
  return page.$$eval('.walk-grid td[data-ref]', (els) => els.map((e) => {
    const d = (e as HTMLElement).dataset;
    return `${d.stage}${d.level ?? ''}@${d.ptePa ?? 'pwc'}`;
  }));
}

describe.skipIf(!haveChromium)('page-walk panel in chromium', () => {
  const site = usePreviewSite();
  const errors = site.errors;

  async function open(query: string): Promise<Page> {
    const page = await site.browser.newPage({ viewport: { width: 1280, height: 1000 } });
    watchErrors(page, errors);
    await page.goto(site.url + query);
    return page;
  }

  test('hvm-nested: a 2-D walk of hvos\'s kernel text shows 15 references at the right addresses', async () => {
    // The same machine in Node, at the same prompt: the walk the page must draw.
    const vm = await Vm.create({ firmware: 'builtin', mode: 'hvm-nested', memMiB: 64 }, await loadCoreModule());
    vm.load(new Uint8Array(readFileSync(join(repo, 'guests/hvos/prebuilt/hvos.elf'))));
    expect((await runScripted(vm, '', 50_000_000, 100_000)).reason).toBe('idle');
    const want = walkGrid(traceWalk(vm, KTEXT))!.flat().filter((c) => c !== undefined)
      .map((c) => `${c.stage}${c.level}@0x${c.ptePa.toString(16)}`);
    expect(want.length).toBe(15);
    await vm.close();

    const page = await open('?mode=hvm-nested&mem=64');
    await waitForScreen(page, PROMPT, 0, 30_000);
    await page.click('.walk summary');
    await page.fill('.walk-va', '0x80200000');
    await page.click('.walk-go');
    await page.waitForSelector('.walk-grid', { timeout: 10_000 });
    expect(await page.textContent('.walk-refs')).toBe('15');
    expect(await page.getAttribute('.walk-result', 'data-result')).toBe('ok');
    expect(await cells(page)).toEqual(want);
    // Four rows (three VS tables and the data), each a G-stage walk of 3 then the VS PTE.
    expect(await page.$$eval('.walk-grid tr', (rows) => rows.length)).toBe(5);

    await page.click('.walk-vmprint');
    await page.waitForFunction(() => /^page table 0x8/.test(document.querySelector('.walk-vmprint-out')?.textContent ?? ''));
    await page.click('.walk-map');
    await page.waitForSelector('.walk-map-canvas');
    const owners = await page.$$eval('.walk-legend [data-owner]', (els) => els.map((e) => (e as HTMLElement).dataset.owner));
    expect(owners).toEqual(expect.arrayContaining(['guest', 'g-stage', 'hypervisor', 'guest-page-table']));
    mkdirSync(SHOTS, { recursive: true });
    await page.locator('.walk').screenshot({ path: join(SHOTS, 'walk-hvm-nested.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  test('trap-emulate: clicking a page fault in the exit log traces its address', async () => {
    const page = await open('?mode=trap-emulate&mem=64');
    await waitForScreen(page, PROMPT, 0, 30_000);
    // A program's first touches of its pages are shadow page faults: exits with an address.
    await page.keyboard.type('spawn 3\n');
    await waitForScreen(page, /spawn n=3 time=/, 0, 30_000);
    await page.click('#pause');
    const row = page.locator('.exit-trace tr.walkable').first();
    await row.waitFor({ timeout: 10_000 });
    const tval = await row.getAttribute('data-tval');
    await row.click();
    await page.waitForSelector('.walk-pair', { timeout: 10_000 });
    expect(await page.inputValue('.walk-va')).toBe(tval);
    expect(await page.textContent('.walk-result')).toContain(`${tval} in trap-emulate`);
    // The guest's walk beside the shadow's: two tables of references.
    expect(await page.$$eval('.walk-pair table', (t) => t.length)).toBe(2);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
