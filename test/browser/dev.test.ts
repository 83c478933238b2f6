/**
 * `npm start`'s development server: the page is cross-origin isolated there too (COOP/COEP
 * from vite.config.ts), boots hvos from the TypeScript sources, and serves the linked docs.
 */
import { test, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { createServer } from 'vite';
import { launch, waitForScreen, watchErrors, CHROMIUM } from './harness.js';
import { webConfig } from '../../vite.config.js';

test.skipIf(!existsSync(CHROMIUM))('the dev server serves the page isolated and hvos boots', async () => {
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
    expect(errors).toEqual([]);
  } finally {
    await browser.close();
    await server.close();
  }
}, 60_000);
