/**
 * The page stays responsive while a guest floods its console (issue 17 item 5, docs/io.md
 * "Bounds"): the worker keeps at most CONSOLE_WINDOW characters in flight to the page, so the
 * page's main thread is never buried in console messages. A guest that stores 'A' to the UART
 * forever is uploaded; while it runs, round trips into the page, animation frames and the
 * Pause button must answer promptly, and the page's heap must not grow with the output.
 */
import { describe, test, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { usePreviewSite, watchErrors, screen, waitForScreen, CHROMIUM } from './harness.js';
import { floodElf } from '../support/flood.js';

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`chromium not found at ${CHROMIUM}: CI must install the Debian package chromium`);

type Hook = { hvlab?: { panels: { state: string; stats?: { instructions: bigint } }[] } };

describe.skipIf(!haveChromium)('a flooding guest in the web console', () => {
  const site = usePreviewSite();
  const errors = site.errors;

  test('round trips, frames and Pause answer while the guest writes to its console without end', async () => {
    const page = await site.browser.newPage({ viewport: { width: 1280, height: 900 } });
    watchErrors(page, errors);
    await page.goto(site.url);
    await waitForScreen(page, /hvos\$ $/m);
    await page.setInputFiles('#upload', { name: 'flood.elf', mimeType: 'application/octet-stream', buffer: Buffer.from(floodElf()) });
    await waitForScreen(page, /A{80}/);
    const instructions = () => page.evaluate(() => (window as unknown as Hook).hvlab?.panels[0].stats?.instructions ?? 0n);
    const heap = () => page.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0);
    const i0 = await instructions();
    const h0 = await heap();
    let worstEval = 0, worstFrame = 0, samples = 0;
    const until = Date.now() + 4000;
    while (Date.now() < until) {
      let t = Date.now();
      await page.evaluate(() => 1);
      worstEval = Math.max(worstEval, Date.now() - t);
      t = Date.now();
      await page.evaluate(() => new Promise<number>((r) => requestAnimationFrame(() => r(0))));
      worstFrame = Math.max(worstFrame, Date.now() - t);
      samples++;
      await page.waitForTimeout(50);
    }
    const i1 = await instructions();
    const h1 = await heap();
    console.log(`flooding guest: ${samples} samples, worst evaluate() ${worstEval} ms, worst frame ${worstFrame} ms, ` +
      `${Number(i1 - i0) / 1e6} M instructions in 4 s, page heap ${(h0 / 1048576).toFixed(1)} -> ${(h1 / 1048576).toFixed(1)} MiB`);
    // The guest kept running (flow control holds it only while the page catches up) ...
    expect(i1).toBeGreaterThan(i0);
    expect(await screen(page)).toMatch(/A{80}/);
    // ... and the page answered throughout.
    expect(worstEval).toBeLessThan(400);
    expect(worstFrame).toBeLessThan(400);
    expect(h1 - h0).toBeLessThan(64 * 1048576);
    const t0 = Date.now();
    await page.click('#pause');
    await expect.poll(() => page.evaluate(() => (window as unknown as Hook).hvlab?.panels[0].state), { timeout: 1000 }).toBe('paused');
    console.log(`flooding guest: pause answered in ${Date.now() - t0} ms`);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
