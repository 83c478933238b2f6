/**
 * `npm start`'s development server: the page is cross-origin isolated there too (COOP/COEP
 * from vite.config.ts), boots hvos from the TypeScript sources, serves the linked docs, and
 * serves Linux's files (vite.config.ts guestFiles) byte for byte: Linux boots there too.
 */
import { test, expect } from 'vitest';
import { existsSync, statSync } from 'node:fs';
import { createServer } from 'vite';
import { launch, waitForScreen, watchErrors, CHROMIUM } from './harness.js';
import { webConfig } from '../../vite.config.js';

test.skipIf(!existsSync(CHROMIUM))('the dev server serves the page isolated; hvos and Linux boot', async () => {
  const config = webConfig();
  const server = await createServer({ ...config, configFile: false, logLevel: 'warn',
    server: { ...config.server, host: '127.0.0.1', port: 0, strictPort: false, open: false, hmr: false } });
  await server.listen();
  const browser = await launch();
  try {
    const url = server.resolvedUrls?.local[0];
    expect(url).toBeTruthy();
    const page = await browser.newPage();
    const errors: string[] = [];
    watchErrors(page, errors);
    await page.goto(url!);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    await waitForScreen(page, /hvos\$ $/m, 0, 15_000);
    expect(await page.evaluate(async () => (await fetch('docs/web.md')).status)).toBe(200);
    await page.goto(`${url!}?image=linux`);
    await waitForScreen(page, /hvlab# $/m, 0, 40_000);
    const log = await page.evaluate(() => (window as unknown as { hvlab: { loadLog: string[] } }).hvlab.loadLog);
    const size = (f: string) => statSync(new URL(`../../guests/linux/prebuilt/${f}`, import.meta.url)).size;
    expect(log.at(-1)).toBe(`Fetched Image (${size('Image')} bytes), initramfs.cpio.gz (${size('initramfs.cpio.gz')} bytes)`);
    expect(errors).toEqual([]);
  } finally {
    await browser.close();
    await server.close();
  }
}, 60_000);
