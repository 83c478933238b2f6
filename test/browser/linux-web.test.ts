/**
 * Linux in the web console, in Debian's chromium (docs/web.md "Images"): `image=linux` fetches
 * the kernel and initramfs (with progress), boots them in the worker to the `hvlab# ` prompt
 * natively on the UART, under hvm-nested on the virtio console with a virtio-blk disk, and
 * under hvm-shadow with the offload worker serving virtio;
 * typed commands run in xterm; counters and the exit trace follow; the URL keeps the image
 * across a reload; choosing Linux from the menu reboots into it; pv is refused with its reason;
 * the side-by-side race runs a Linux workload in two modes.
 * Screenshots: dist/browser/linux-loading.png, dist/browser/linux-hvm-nested.png.
 */
import { describe, test, expect } from 'vitest';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { usePreviewSite, watchErrors, waitForScreen, CHROMIUM } from './harness.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const PREBUILT = join(repo, 'guests/linux/prebuilt');
const SHOTS = join(repo, 'dist/browser');
/** The shell's prompt at the end of the screen (guests/linux/initramfs/hvbox.c). */
const PROMPT = /hvlab# $/;
const UNAME = /^Linux \(none\) 6\.1\.192 #1 Thu Jan {2}1 00:00:00 UTC 2026 riscv64$/m;
/** Boot to the prompt: about 50 M instructions natively, more in a VM on a loaded machine. */
const BOOT_MS = 40_000;

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`chromium not found at ${CHROMIUM}: CI must install the Debian package chromium`);

type Hook = { hvlab?: { loadLog: string[]; panels: { state: string; stats?: { counters: Record<string, bigint> } }[] } };

describe.skipIf(!haveChromium)('Linux in the web console', () => {
  const site = usePreviewSite();
  const errors = site.errors;

  /** Open the page; `slowKernel`: the kernel's file arrives that many ms late (a slow network). */
  async function open(query: string, slowKernel = 0): Promise<Page> {
    const page = await site.browser.newPage({ viewport: { width: 1280, height: 900 } });
    watchErrors(page, errors);
    if (slowKernel > 0) {
      await page.route('**/guests/linux-Image.bin', async (route) => {
        await new Promise((r) => setTimeout(r, slowKernel));
        await route.continue();
      });
    }
    await page.goto(site.url + query);
    return page;
  }

  const count = async (page: Page, key: string) =>
    Number(((await page.locator(`#counters tr[data-key="${key}"] td.v`).first().textContent()) ?? '').replace(/,/g, ''));

  test('image=linux boots natively on the UART; commands run; the counters move; a reload keeps Linux', async () => {
    const page = await open('?image=linux', 1500);
    // While the files come, the VM's state says loading and the terminal shows the progress.
    await waitForScreen(page, /^Fetching Linux \(Image, initramfs\.cpio\.gz\): \d\.\d/);
    expect(await page.locator('.vm-state').textContent()).toBe('loading');
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'linux-loading.png') });
    await waitForScreen(page, PROMPT, 0, BOOT_MS);
    expect(await page.locator('.vm-state').textContent()).toMatch(/^(idle|running)$/);
    expect(await page.locator('#image').inputValue()).toBe('linux');
    // The two files were fetched with progress, byte for byte (not decompressed in transit).
    const kernel = statSync(join(PREBUILT, 'Image')).size;
    const initrd = statSync(join(PREBUILT, 'initramfs.cpio.gz')).size;
    const mb = ((kernel + initrd) / 1e6).toFixed(1);
    const log = await page.evaluate(() => (window as unknown as Hook).hvlab!.loadLog);
    expect(log[0]).toMatch(/^Fetching Linux \(Image, initramfs\.cpio\.gz\): 0\.0 (of \d\.\d )?MB$/);
    expect(log.at(-2)).toBe(`Fetching Linux (Image, initramfs.cpio.gz): ${mb} of ${mb} MB`);
    expect(log.at(-1)).toBe(`Fetched Image (${kernel} bytes), initramfs.cpio.gz (${initrd} bytes)`);
    // The UART is the kernel's console (ttyS0), from the first line of the log.
    const boot = await waitForScreen(page, /Kernel command line: console=ttyS0 initramfs_async=0$/m);
    expect(boot).toMatch(/^Linux version 6\.1\.192/m);
    await page.keyboard.type('uname -a\n');
    await waitForScreen(page, UNAME);
    await page.keyboard.type('forkwait 10\n');
    await waitForScreen(page, /^forkwait: 10 fork\+exec\+wait rounds ok\nhvlab# $/m, 0, 20_000);
    // Natively: instructions and page walks counted, no exits.
    await expect.poll(() => count(page, 'INSTRUCTIONS')).toBeGreaterThan(10_000_000);
    expect(await count(page, 'WALK_REFS')).toBeGreaterThan(0);
    expect(await count(page, 'EXITS')).toBe(0);
    // The URL says image=linux; a reload opens Linux again.
    expect(new URL(page.url()).searchParams.get('image')).toBe('linux');
    await page.reload();
    await waitForScreen(page, PROMPT, 0, BOOT_MS);
    expect(await page.locator('#image').inputValue()).toBe('linux');
    await page.keyboard.type('uname -a\n');
    await waitForScreen(page, UNAME);
    await page.close();
  }, 120_000);

  test('hvm-nested, virtio: the console is hvc0 and the disk /dev/vda; exits are counted and traced', async () => {
    const page = await open('?mode=hvm-nested&io=core&disk=memory&image=linux');
    await waitForScreen(page, PROMPT, 0, BOOT_MS);
    // A figure for docs/performance.md, not asserted (wall time on a shared machine).
    const promptAt = await page.evaluate(() => (window as unknown as { hvlab: { promptAt?: number } }).hvlab.promptAt ?? NaN);
    console.log(`web console: Linux, hvm-nested, virtio: time to prompt ${promptAt.toFixed(0)} ms from navigation (fetch, compile, boot)`);
    const params = new URL(page.url()).searchParams;
    expect([params.get('mode'), params.get('io'), params.get('disk'), params.get('image')]).toEqual(['hvm-nested', 'core', 'memory', 'linux']);
    await page.keyboard.type('cat /sys/block/vda/size\n');
    await waitForScreen(page, /^8192\nhvlab# $/m);
    await page.keyboard.type('uname -a\n');
    await waitForScreen(page, UNAME);
    // The virtio console's exits and the two-stage walks show in the table and the trace.
    await expect.poll(() => count(page, 'EXITS')).toBeGreaterThan(100);
    expect(await count(page, 'EXIT_MMIO_VIRTIO')).toBeGreaterThan(0);
    expect(await count(page, 'WALK_REFS_G')).toBeGreaterThan(await count(page, 'WALK_REFS_VS'));
    await expect.poll(() => page.locator('.exit-trace tbody tr').count()).toBeGreaterThanOrEqual(20);
    // Decoded causes (which ones depends on when the trace is read: an idle shell exits on timers).
    for (const cause of await page.locator('.exit-trace td.cause').allTextContents()) expect(cause).toMatch(/^[a-z]+( [a-z]+)*$/);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'linux-hvm-nested.png') });
    await page.close();
  }, 120_000);

  test('hvm-shadow, io=offload: the disk and console served by the offload worker; fork and exec run', async () => {
    const page = await open('?mode=hvm-shadow&io=offload&disk=memory&image=linux');
    await waitForScreen(page, PROMPT, 0, BOOT_MS);
    await page.keyboard.type('cat /sys/block/vda/size\n');
    await waitForScreen(page, /^8192\nhvlab# $/m);
    await page.keyboard.type('forkwait 20\n');
    await waitForScreen(page, /^forkwait: 20 fork\+exec\+wait rounds ok\nhvlab# $/m, 0, 20_000);
    // Shadow paging: every new page table of fork and exec is filled and write-protected.
    await expect.poll(() => count(page, 'SHADOW_FILLS')).toBeGreaterThan(1000);
    expect(await count(page, 'VIRTIO_OFFLOAD_REQUESTS')).toBeGreaterThan(0);
    await page.close();
  }, 120_000);

  test('pv is refused for Linux with the reason; choosing Linux from the menu reboots into it', async () => {
    // From the URL: the mode falls back, and the page says why.
    const page = await open('?image=linux&mode=pv');
    await expect.poll(() => page.locator('#notice').textContent()).toMatch(/a stock Linux kernel cannot run in pv mode: .*docs\/pv-abi\.md.*; using native/);
    expect(await page.locator('#mode').inputValue()).toBe('native');
    const pv = page.locator('#mode option[value="pv"]');
    expect(await pv.isDisabled()).toBe(true);
    expect(await pv.textContent()).toBe('pv (needs a PV kernel)');
    expect(await pv.getAttribute('title')).toMatch(/cannot run in pv mode/);
    expect(new URL(page.url()).searchParams.get('mode')).toBe(null);
    await waitForScreen(page, PROMPT, 0, BOOT_MS);
    // Back to hvos: pv can be chosen again, and runs it.
    await page.selectOption('#image', 'hvos');
    expect(await pv.isDisabled()).toBe(false);
    await page.selectOption('#mode', 'pv');
    await waitForScreen(page, /Hypervisor detected: hvlab \(pv\)[\s\S]*hvos\$ $/, 0, 20_000);
    expect(new URL(page.url()).searchParams.get('image')).toBe(null);
    // In pv, choosing Linux moves to the default mode with the reason, and boots Linux.
    await page.selectOption('#image', 'linux');
    await expect.poll(() => page.locator('#notice').textContent()).toMatch(/cannot run in pv mode.*; using native/);
    await waitForScreen(page, PROMPT, 0, BOOT_MS);
    expect(await page.locator('#mode').inputValue()).toBe('native');
    expect(new URL(page.url()).searchParams.get('image')).toBe('linux');
    expect(new URL(page.url()).searchParams.get('mode')).toBe(null);
    await page.keyboard.type('uname -a\n');
    await waitForScreen(page, UNAME);
    await page.close();
  }, 120_000);

  test('a failed fetch says why; Start fetches again and boots', async () => {
    const page = await site.browser.newPage({ viewport: { width: 1280, height: 900 } });
    // The failing request itself is logged by chromium as a console error: expected here, and
    // the only one allowed.
    const pageErrors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error' && !/404/.test(m.text())) pageErrors.push(m.text()); });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.route('**/guests/linux-Image.bin', (route) => route.fulfill({ status: 404, body: 'gone' }));
    await page.goto(`${site.url}?image=linux`);
    await expect.poll(() => page.locator('#notice').textContent()).toBe('could not fetch Image: HTTP 404');
    await expect.poll(() => page.locator('.vm-state').textContent()).toBe('error: could not fetch Image: HTTP 404');
    await page.unroute('**/guests/linux-Image.bin');
    await page.click('#start');
    await waitForScreen(page, PROMPT, 0, BOOT_MS);
    expect(await page.locator('#notice').isVisible()).toBe(false);
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 60_000);

  test('side by side: the race waits for both Linux prompts and runs the workload in both', async () => {
    // The default race's modes with Linux: trap-emulate exits on every system call, hvm-nested not.
    const page = await site.browser.newPage({ viewport: { width: 1600, height: 1000 } });
    watchErrors(page, errors);
    await page.goto(`${site.url}?view=side&image=linux&run=nullsys%205000`);
    for (const vm of [0, 1]) await waitForScreen(page, /^nullsys: 5000 getppid calls ok\nhvlab# $/m, vm, BOOT_MS);
    await expect.poll(() => page.locator('#race-result').textContent(), { timeout: 10_000 })
      .toMatch(/left: trap-emulate: [\d.]+ s, .* ([\d,]+) exits, .*right: hvm-nested: [\d.]+ s, .* ([\d,]+) exits/);
    const text = (await page.locator('#race-result').textContent()) ?? '';
    const [left, right] = [...text.matchAll(/([\d,]+) exits/g)].map((m) => Number(m[1].replace(/,/g, '')));
    expect(left).toBeGreaterThan(2 * 5000);
    expect(left).toBeGreaterThan(10 * right);
    console.log(`web console: Linux side by side, nullsys 5000: ${text}`);
    await page.close();
  }, 120_000);

  test('no console errors on any page', () => {
    expect(errors).toEqual([]);
  });
});
