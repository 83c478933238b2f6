/**
 * The guided lessons, snapshots, disks and the share link in Debian's chromium (docs/web.md
 * "Lessons", "Snapshots, disks and sharing"): every button of every lesson runs on the page and
 * shows its numbers, every claim is ticked, and a deterministic experiment gives on the page the
 * numbers it gives in Node; the share link reopens the lesson step with its settings; a snapshot
 * saved, restored from the browser's storage, loaded from a file and from `?snapshot=URL`
 * continues with the same output; bad snapshot files and a missing URL are one line in the page
 * and the VM runs on; a disk image goes in and comes back out with what the guest wrote.
 */
import { describe, test, expect } from 'vitest';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { usePreviewSite, watchErrors, screen, waitForScreen, CHROMIUM } from './harness.js';
import { runExperiment } from '../../src/lessons/run.js';
import { loadCoreModule } from '../../src/node/load-core.js';
import { encodeSnapshot, readSnapshotHeader, readSnapshotState, SNAPSHOT_VERSION } from '../../src/web/snapshot-file.js';
import { HVOS_ELF } from '../support/hvos.js';
import { parseLesson, type RunExperiment } from '../../src/lessons/format.js';

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`chromium not found at ${CHROMIUM}: CI must install the Debian package chromium`);
const PROMPT = /hvos\$ $/;
const LESSONS = readdirSync(join('docs', 'lessons')).filter((f) => /^\d+-.*\.md$/.test(f)).sort()
  .map((f) => parseLesson(f, readFileSync(join('docs', 'lessons', f), 'utf8')));
const timeless = (s: string) => s.replace(/ time=\S+( \S+=\S+)?/g, ' time=<t>');

type Hook = { hvlab?: {
  panels: { state: string; screenText(): string }[];
  lessons?: { figures(l: string, e: string): Record<string, number> | undefined };
  tools?: { lastFile?: Uint8Array };
} };

describe.skipIf(!haveChromium)('lessons, snapshots and sharing in chromium', () => {
  const site = usePreviewSite();
  const errors = site.errors;
  const tmp = mkdtempSync(join(tmpdir(), 'hvlab-lessons-'));

  async function open(query = ''): Promise<Page> {
    const page = await site.browser.newPage({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
    watchErrors(page, errors);
    await page.goto(site.url + query);
    return page;
  }

  /** Type a command into the VM's terminal and wait for the prompt after its output; the new text. */
  async function command(page: Page, text: string): Promise<string> {
    const before = await screen(page);
    await page.keyboard.type(`${text}\r`);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const now = await screen(page);
      if (now.length > before.length + text.length && PROMPT.test(now)) return now.slice(before.length);
      if (Date.now() > deadline) throw new Error(`'${text}' did not finish; the screen shows:\n${now}`);
      await page.waitForTimeout(25);
    }
  }

  const notice = (page: Page) => page.locator('#notice').textContent();

  test('every lesson\'s buttons run on the page, show their numbers, and every claim is ticked', async () => {
    const page = await open('?lesson=trap-emulate');
    await waitForScreen(page, PROMPT, 0, 20_000);
    expect(await page.locator('#lessons').isVisible()).toBe(true);
    for (const lesson of LESSONS) {
      await page.selectOption('.lesson-pick', lesson.id);
      for (let step = 0; step < lesson.steps.length; step++) {
        await page.waitForFunction((s) => document.querySelector('.lesson-where')?.textContent?.startsWith(`Step ${s + 1} of`), step);
        const names = await page.locator('.lesson-exp').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.experiment!));
        for (const name of names) {
          const box = page.locator(`.lesson-exp[data-experiment="${name}"]`);
          await box.locator('button.lesson-run').click();
          await page.waitForFunction((n) => {
            const s = (document.querySelector(`.lesson-exp[data-experiment="${n}"]`) as HTMLElement | null)?.dataset.state;
            return s === 'done' || s === 'error';
          }, name, { timeout: 120_000 });
          const state = await box.getAttribute('data-state');
          expect(state, `${lesson.id}/${name}: ${await box.locator('.lesson-status').textContent()}`).toBe('done');
          // Every counter the experiment shows has a number.
          const values = await box.locator('.lesson-figures td.v').allTextContents();
          expect(values.length, `${lesson.id}/${name}`).toBeGreaterThan(0);
          for (const v of values) expect(v, `${lesson.id}/${name}`).toMatch(/^[\d,.]+$/);
          const e = lesson.experiments.get(name)!;
          if (e.kind === 'run') expect(await screen(page), `${lesson.id}/${name}`).toContain(`hvos$ ${e.commands.at(-1)}`);
        }
        // Every claim of the step is ticked with the numbers measured on this page.
        const checks = page.locator('ul.lesson-checks li');
        for (let i = 0; i < await checks.count(); i++) {
          expect(await checks.nth(i).getAttribute('data-state'), `${lesson.id} step ${step + 1}: ${await checks.nth(i).textContent()}`).toBe('ok');
        }
        if (step < lesson.steps.length - 1) await page.click('.lesson-nav button:text("Next ›")');
      }
    }
    // Trap-emulate's system calls on the page cost exactly what they cost in Node: the same
    // experiment on the same deterministic machine (its first run, right after its boot).
    const te = LESSONS[0].experiments.get('te') as RunExperiment;
    const node = await runExperiment(te, await loadCoreModule(), readFileSync(HVOS_ELF));
    const onPage = await page.evaluate(() => (window as unknown as Hook).hvlab?.lessons?.figures('trap-emulate', 'te'));
    for (const k of ['EXITS', 'EXIT_CSR', 'EXIT_REFLECT', 'EXIT_SRET', 'INSTRET_U']) expect(onPage?.[k], k).toBe(node.figures[k]);
    await page.screenshot({ path: join('dist', 'browser', 'lessons.png') });
    await page.close();
  }, 900_000);

  test('the share link reopens the lesson step with its settings', async () => {
    const page = await open('?lesson=io-paths');
    await waitForScreen(page, PROMPT, 0, 20_000);
    await page.click('.lesson-nav button:text("Next ›")');
    await page.click('.lesson-nav button:text("Next ›")');
    await page.selectOption('#mode', 'hvm-shadow');
    await page.selectOption('#io', 'core');
    await page.click('#share');
    const link = await page.locator('#share-link').inputValue();
    const q = new URL(link).searchParams;
    expect(Object.fromEntries(q)).toEqual({ mode: 'hvm-shadow', io: 'core', lesson: 'io-paths', step: '2' });
    await page.close();
    const again = await open(new URL(link).search);
    await waitForScreen(again, /Hypervisor detected: hvlab \(hvm-shadow\)[\s\S]*hvos\$ $/, 0, 20_000);
    expect(await again.locator('.lesson-where').textContent()).toMatch(/^Step 3 of \d+: Virtio, served in the core and in the host/);
    expect(await again.locator('.lesson-pick').inputValue()).toBe('io-paths');
    expect(await again.locator('#mode').inputValue()).toBe('hvm-shadow');
    expect(await again.locator('#io').inputValue()).toBe('core');
    await again.close();
  }, 120_000);

  test('a snapshot saved, restored from storage, from a file and from a URL continues with the same output', async () => {
    const page = await open('?mode=trap-emulate&disk=memory');
    await waitForScreen(page, PROMPT, 0, 20_000);
    await command(page, 'compute 50000');
    const downloading = page.waitForEvent('download');
    await page.click('#snap-save');
    const dl = await downloading;
    expect(dl.suggestedFilename()).toBe('hvlab-snapshot.hvsnap');
    const saved = join(tmp, 'saved.hvsnap');
    await dl.saveAs(saved);
    await page.waitForFunction(() => document.querySelector('#tools-note')?.textContent?.startsWith('saved '));
    const script = ['syscall 300', 'blk write 2 after the snapshot', 'blk read 2', 'ps'];
    const first: string[] = [];
    for (const c of script) first.push(timeless(await command(page, c)));
    expect(first.join('')).toContain('after the snapshot');

    // Back to the saved point from the browser's own storage (OPFS).
    await page.click('#snap-restore');
    await page.waitForFunction(() => document.querySelector('#tools-note')?.textContent?.startsWith('restored '));
    const back = await screen(page);
    expect(back).toContain('compute n=50000');
    expect(back).not.toContain('syscall n=300');
    expect(back).toMatch(PROMPT);
    const second: string[] = [];
    for (const c of script) second.push(timeless(await command(page, c)));
    expect(second).toEqual(first);
    await page.close();

    // From a file, into a page that booted something else.
    const other = await open('?mode=native&mem=64');
    await waitForScreen(other, PROMPT, 0, 20_000);
    await other.setInputFiles('#snap-file', saved);
    await other.waitForFunction(() => document.querySelector('#tools-note')?.textContent?.startsWith('restored '));
    expect(await other.locator('#mode').inputValue()).toBe('trap-emulate');
    expect(await other.locator('#mem').inputValue()).toBe('128');
    expect(new URL(other.url()).searchParams.get('mode')).toBe('trap-emulate');
    const third: string[] = [];
    for (const c of script) third.push(timeless(await command(other, c)));
    expect(third).toEqual(first);
    await other.close();

    // From a URL: no boot, the saved screen, then the same output.
    copyFileSync(saved, join(site.dir, 'lesson-start.hvsnap'));
    const fromUrl = await open('?snapshot=lesson-start.hvsnap');
    await fromUrl.waitForFunction(() => document.querySelector('#tools-note')?.textContent?.startsWith('restored lesson-start.hvsnap'));
    expect(await screen(fromUrl)).toContain('Hypervisor detected: hvlab (trap-emulate)');
    expect(await screen(fromUrl)).not.toContain('No hypervisor detected');
    const fourth: string[] = [];
    for (const c of script) fourth.push(timeless(await command(fromUrl, c)));
    expect(fourth).toEqual(first);
    expect(new URL(fromUrl.url()).searchParams.get('snapshot')).toBe('lesson-start.hvsnap');
    // The share link carries the snapshot with the settings it runs.
    await fromUrl.click('#share');
    const shared = new URL(await fromUrl.locator('#share-link').inputValue()).searchParams;
    expect(Object.fromEntries(shared)).toEqual({ mode: 'trap-emulate', disk: 'memory', snapshot: 'lesson-start.hvsnap' });
    await fromUrl.close();
  }, 300_000);

  test('bad snapshot files and a missing URL are one line in the page, and the VM runs on', async () => {
    const page = await open('?mode=hvm-nested');
    await waitForScreen(page, PROMPT, 0, 20_000);
    const good = readFileSync(join(tmp, 'saved.hvsnap'));
    const header = readSnapshotHeader(good, 'x');
    const state = await readSnapshotState(good, 'x', header.layout.stateBytes);
    const v2 = Uint8Array.from(good);
    new DataView(v2.buffer).setUint32(8, SNAPSHOT_VERSION + 1, true);
    const cases: [string, Uint8Array, RegExp][] = [
      ['notes.txt', new TextEncoder().encode('not a snapshot, just some notes'), /^notes\.txt: not an hvlab snapshot \(no HVLBSNAP signature\)$/],
      ['cut.hvsnap', good.subarray(0, good.length - 200), /^cut\.hvsnap: truncated or damaged/],
      ['v2.hvsnap', v2, new RegExp(`^v2\\.hvsnap: snapshot format version ${SNAPSHOT_VERSION + 1}; this page reads version ${SNAPSHOT_VERSION}$`)],
      ['other.hvsnap', await encodeSnapshot({ ...header, imageName: 'mykernel.elf', imageSha256: 'ab'.repeat(32) }, state),
        /^other\.hvsnap: made with image mykernel\.elf \(sha256 abababababab…\), which this page does not run/],
    ];
    for (const [name, bytes, message] of cases) {
      const file = join(tmp, name);
      writeFileSync(file, bytes);
      await page.setInputFiles('#snap-file', file);
      await page.waitForFunction((n) => document.querySelector('#notice')?.textContent?.startsWith(n), name);
      expect(await notice(page)).toMatch(message);
      expect(await page.evaluate(() => (window as unknown as Hook).hvlab?.panels[0].state)).not.toBe('error');
      expect(await command(page, `echo after ${name}`)).toContain(`after ${name}`);
    }
    expect(await page.locator('#mode').inputValue()).toBe('hvm-nested');
    await page.close();

    const missing = await open('?snapshot=nothing-here.hvsnap');
    await waitForScreen(missing, PROMPT, 0, 20_000);
    // vite preview answers a missing file with the site's index page, as single-page hosts do.
    expect(await notice(missing)).toBe('could not fetch snapshot nothing-here.hvsnap: the server answered with a web page, not a file (is the address right?)');
    await missing.close();
  }, 300_000);

  test('a disk image goes onto the guest\'s disk and comes back with what the guest wrote', async () => {
    const page = await open('?mode=hvm-nested&io=core');
    await waitForScreen(page, PROMPT, 0, 20_000);
    const img = join(tmp, 'notes.img');
    writeFileSync(img, 'a file from the host, raw on sector 0\n');
    await page.setInputFiles('#disk-file', img);
    await waitForScreen(page, /virtio-blk: 8192 sectors[\s\S]*hvos\$ $/, 0, 20_000);
    expect(await page.locator('#disk').inputValue()).toBe('memory');
    expect(await command(page, 'blk read 0')).toContain('|a file from the |');
    await command(page, 'blk write 3 the guest wrote this');
    const downloading = page.waitForEvent('download');
    await page.click('#disk-download');
    const dl = await downloading;
    expect(dl.suggestedFilename()).toBe('hvlab-disk.img');
    const path = join(tmp, 'disk.img');
    await dl.saveAs(path);
    const disk = readFileSync(path);
    expect(disk.length).toBe(4 << 20);
    expect(disk.subarray(0, 38).toString('latin1')).toBe('a file from the host, raw on sector 0\n');
    expect(disk.subarray(3 * 512, 3 * 512 + 20).toString('latin1')).toBe('the guest wrote this');
    await page.close();
    expect(errors).toEqual([]);
  }, 120_000);
});
