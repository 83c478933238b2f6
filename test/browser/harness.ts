/**
 * The browser tests' harness: build the web console into a temporary directory, serve it with
 * `vite preview` (COOP/COEP headers) or with a plain static server (no headers, to exercise the
 * service-worker fallback), and drive Debian's chromium through playwright-core.
 */
import { afterAll, beforeAll } from 'vitest';
import { build, preview, type PreviewServer } from 'vite';
import { createServer, type Server } from 'node:http';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, extname, normalize } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { webConfig } from '../../vite.config.js';

export const CHROMIUM = process.env.HVLAB_CHROMIUM ?? '/usr/bin/chromium';

/** Flags for a quiet headless chromium as root on a closed network. */
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

export async function buildSite(): Promise<string> {
  const outDir = await mkdtemp(join(tmpdir(), 'hvlab-web-'));
  const config = webConfig();
  await build({ ...config, configFile: false, logLevel: 'warn', build: { ...config.build, outDir } });
  return outDir;
}

export async function previewSite(outDir: string): Promise<{ url: string; close(): Promise<void> }> {
  const config = webConfig();
  const server: PreviewServer = await preview({
    ...config, configFile: false, logLevel: 'warn', build: { ...config.build, outDir },
    preview: { ...config.preview, host: '127.0.0.1', port: 0, strictPort: false, open: false },
  });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report its address');
  return { url, close: () => server.close() };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm',
  '.md': 'text/plain', '.elf': 'application/octet-stream',
};

/** A static host that sends no isolation headers. */
export async function plainServer(root: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const file = join(root, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(root) || !existsSync(file)) { res.statusCode = 404; res.end(); return; }
    readFile(file).then((data) => {
      res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
      res.end(data);
    }, () => { res.statusCode = 500; res.end(); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  return { url: `http://127.0.0.1:${addr.port}/`, close: () => new Promise((r) => server.close(() => r())) };
}

export async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** What a describe block of page tests shares: the served site, the browser, the errors seen. */
export interface Site { url: string; browser: Browser; errors: string[]; /** the built site */ dir: string }

/**
 * Build the site, serve it with `vite preview` and launch Chromium before the block's tests;
 * close them after. The returned object is filled in by beforeAll.
 */
export function usePreviewSite(): Site {
  const site: Site = { url: '', browser: undefined as unknown as Browser, errors: [], dir: '' };
  let outDir = '';
  let server: { url: string; close(): Promise<void> } | undefined;
  beforeAll(async () => {
    outDir = await buildSite();
    site.dir = outDir;
    server = await previewSite(outDir);
    site.url = server.url;
    site.browser = await launch();
  }, 60_000);
  afterAll(async () => {
    await site.browser?.close();
    await server?.close();
    if (outDir) await removeDir(outDir);
  });
  return site;
}

/** Collects console errors and uncaught exceptions of a page. */
export function watchErrors(page: Page, into: string[]): void {
  page.on('console', (m) => { if (m.type() === 'error') into.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => into.push(`pageerror: ${e.message}`));
}

/** The text of a VM's terminal (0: the first VM). */
export function screen(page: Page, vm = 0): Promise<string> {
  return page.evaluate((i) => (window as unknown as { hvlab?: { panels: { screenText(): string }[] } }).hvlab?.panels[i].screenText() ?? '', vm);
}

/** Wait until a VM's terminal matches `re`. */
export async function waitForScreen(page: Page, re: RegExp, vm = 0, timeout = 10_000): Promise<string> {
  const deadline = Date.now() + timeout;
  let text = '';
  while (Date.now() < deadline) {
    text = await screen(page, vm);
    if (re.test(text)) return text;
    await page.waitForTimeout(25);
  }
  throw new Error(`timed out waiting for ${re} on VM ${vm}; the screen shows:\n${text}`);
}
