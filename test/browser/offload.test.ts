/**
 * The offload I/O backend in Debian's chromium: the page (offload-page.html/.ts, built here
 * with Vite, served cross-origin isolated) starts the backend's Web Worker over a shared
 * WebAssembly.Memory holding a fake core (test/io-fake-core.ts) and plays the vCPU. The worker
 * must use the requests the "driver" never notified: entropy bytes equal to the core
 * generator's (natively and in a VM's scattered frames), console output through drainOutput(),
 * the used-buffer interrupt raised, the driver told not to notify; and the same from a worker
 * with the io worker nested in it, as the web console runs its VMs (offload-worker.ts).
 */
import { describe, test, expect, beforeAll, afterAll } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { build, preview, type PreviewServer } from 'vite';
import type { Browser } from 'playwright-core';
import { CHROMIUM, launch, removeDir, watchErrors } from './harness.js';
import { ISOLATION_HEADERS } from '../../vite.config.js';
import type { OffloadPageResult } from './offload-page.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../..');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`chromium not found at ${CHROMIUM}: CI must install the Debian package chromium`);

/** The core generator's first bytes (xorshift64*, seed 0x9E3779B97F4A7C15), pieces split at
 * guest pages as the core fills them. */
function rngBytes(pieces: number[]): number[] {
  let x = 0x9E3779B97F4A7C15n;
  const M = (1n << 64n) - 1n;
  const next = () => { x ^= x >> 12n; x = (x ^ (x << 25n)) & M; x ^= x >> 27n; return (x * 0x2545F4914F6CDD1Dn) & M; };
  const out: number[] = [];
  for (const n of pieces) {
    for (let k = 0; k < n; k += 8) {
      const v = next();
      for (let i = 0; i < 8 && k + i < n; i++) out.push(Number((v >> BigInt(8 * i)) & 0xFFn));
    }
  }
  return out;
}

describe.skipIf(!haveChromium)('offload backend in chromium', () => {
  let outDir = '';
  let server: PreviewServer;
  let browser: Browser;

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'hvlab-offload-'));
    const common = { root: here, base: './', configFile: false as const, logLevel: 'warn' as const, worker: { format: 'es' as const } };
    await build({ ...common, server: { fs: { allow: [repo] } },
      build: { outDir, emptyOutDir: true, target: 'es2022', rollupOptions: { input: join(here, 'offload-page.html') } } });
    server = await preview({ ...common, build: { outDir },
      preview: { headers: ISOLATION_HEADERS, host: '127.0.0.1', port: 0, strictPort: false, open: false } });
    browser = await launch();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (outDir) await removeDir(outDir);
  });

  test('the worker serves un-notified requests over shared memory and raises the interrupt', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    watchErrors(page, errors);
    const url = server.resolvedUrls?.local[0];
    expect(url).toBeDefined();
    await page.goto(`${url}offload-page.html`);
    await page.waitForFunction(() => 'offloadTest' in window);
    const r = await page.evaluate(() => (window as unknown as { offloadTest(): Promise<OffloadPageResult> }).offloadTest());
    expect(r.isolated).toBe(true);
    expect(r.rngUsed).toEqual({ id: 0, len: 24 });
    expect(r.rngBytes).toEqual(rngBytes([24]));
    expect(r.usedFlags).toBe(1);      // VIRTQ_USED_F_NO_NOTIFY
    expect(r.interrupts & 1).toBe(1); // used buffer
    expect(r.consoleText).toBe('from the page worker');
    expect(r.txUsed).toEqual({ id: 0, len: 0 });
    expect(r.requests).toBe('2');     // VIRTIO_OFFLOAD_REQUESTS
    expect(r.vmRngBytes).toEqual(rngBytes([8, 16]));
    // From a worker, as the web console's VM worker would: the io worker nested in it.
    expect(r.nested).toEqual({ idle: true, used: { id: 0, len: 40 }, bytes: rngBytes([40]), usedFlags: 1,
      availEvent: 0x8001, interrupts: 1 });   // lastAvail 1 + half the index space (src/io/queue.ts)
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
