/**
 * The guided lessons' pane beside the console (docs/lessons/, docs/web.md "Lessons"). The
 * lessons are the markdown files of docs/lessons, bundled as text and parsed with the same code
 * the Node test uses (src/lessons/format.ts), so the page and the test read one source.
 *
 * A `run` experiment's button drives the live VM: it switches the page to the experiment's
 * settings (a reboot if they differ), waits for hvos's prompt with no timer armed, reads the
 * counters, types each command as a user would, waits for the prompt again and shows the
 * difference. A `fleet` experiment runs its VMs in a worker of its own (src/web/lesson-worker.ts)
 * with the test's code. Each check is evaluated on what has been measured so far.
 */
import { counterDelta, evalCheck, formatFigure, parseLesson, type Block, type Check, type Experiment, type FleetExperiment,
  type Lesson, type Results, type RunExperiment } from '../src/lessons/format.js';
import type { StatsMessage } from '../src/web/protocol.js';
import type { Settings } from './settings.js';
import type { VmPanel } from './vm-panel.js';
import { esc, renderMarkdown } from './markdown.js';

const SOURCES = import.meta.glob('../docs/lessons/[0-9]*.md', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

/** Every lesson, in order; a file that does not parse is left out with its message (lessonErrors). */
export const LESSONS: Lesson[] = [];
export const lessonErrors: string[] = [];
for (const [path, text] of Object.entries(SOURCES).sort(([a], [b]) => a.localeCompare(b))) {
  try {
    LESSONS.push(parseLesson(path.replace(/^.*\//, ''), text));
  } catch (e) {
    lessonErrors.push(e instanceof Error ? e.message : String(e));
  }
}

/** What the pane needs from the page (web/main.ts App). */
export interface LessonHost {
  readonly settings: Settings;
  /** The VM a lesson drives: the single view's one panel (undefined side by side). */
  lessonPanel(): VmPanel | undefined;
  /** Run hvos with this mode, I/O path, disk and memory on the deterministic clock; reboots only if something differs. */
  configure(c: { mode: string; io: string; disk: 'none' | 'memory'; memMiB: number }): void;
  saveUrl(): void;
  /** The compiled core and hvos's bytes, for a fleet experiment's worker. */
  fleetSource(): Promise<{ module: WebAssembly.Module; hvos: Uint8Array }>;
}

/** The longest a lesson waits for one thing (a boot, a prompt, a fleet run) before it gives up. */
const WAIT_MS = 120_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor(what: string, pred: () => boolean, timeout = WAIT_MS): Promise<void> {
  const t0 = performance.now();
  while (!pred()) {
    if (performance.now() - t0 > timeout) throw new Error(`gave up waiting for ${what}`);
    await sleep(30);
  }
}

interface Measured { figures: Record<string, number>; note?: string }

export class LessonPane {
  private lesson?: Lesson;
  private step = 0;
  /** Measured figures per lesson id, then per experiment: kept while the page is open. */
  private readonly results = new Map<string, Results>();
  private running = false;
  readonly root: HTMLElement;

  constructor(private readonly host: LessonHost, root: HTMLElement, toggle: HTMLElement) {
    this.root = root;
    toggle.onclick = (ev) => {
      ev.preventDefault();
      this.open(this.lesson ? undefined : (LESSONS[0]?.id), 0);
    };
    const s = host.settings;
    if (s.lesson) this.open(s.lesson, s.step ?? 0);
  }

  /** Open a lesson at a step (undefined: close the pane). Unknown ids and steps fall back. */
  open(id: string | undefined, step: number): void {
    const s = this.host.settings;
    this.lesson = id === undefined ? undefined : LESSONS.find((l) => l.id === id) ?? LESSONS[0];
    this.step = this.lesson ? Math.min(Math.max(0, step), this.lesson.steps.length - 1) : 0;
    s.lesson = this.lesson?.id;
    s.step = this.lesson ? this.step : undefined;
    this.host.saveUrl();
    this.render();
  }

  /** What an experiment measured on this page (the browser test compares it with Node's). */
  figures(lessonId: string, experiment: string): Record<string, number> | undefined {
    return this.results.get(lessonId)?.get(experiment);
  }

  private resultsOf(l: Lesson): Results {
    let r = this.results.get(l.id);
    if (!r) { r = new Map(); this.results.set(l.id, r); }
    return r;
  }

  render(): void {
    const root = this.root;
    const l = this.lesson;
    root.hidden = l === undefined;
    root.innerHTML = '';
    if (!l) return;
    const head = el('div', 'lesson-head');
    const pick = document.createElement('select');
    pick.className = 'lesson-pick';
    pick.title = 'Choose a lesson';
    for (const x of LESSONS) pick.add(new Option(`${x.order}. ${x.title}`, x.id, false, x.id === l.id));
    pick.onchange = () => this.open(pick.value, 0);
    const close = button('×', 'Close the lesson', () => this.open(undefined, 0));
    close.className = 'lesson-close';
    head.append(pick, close);
    const nav = el('div', 'lesson-nav');
    const prev = button('‹ Back', 'The previous step', () => this.open(l.id, this.step - 1));
    const next = button('Next ›', 'The next step', () => this.open(l.id, this.step + 1));
    prev.disabled = this.step === 0;
    next.disabled = this.step === l.steps.length - 1;
    const where = el('span', 'lesson-where');
    where.textContent = `Step ${this.step + 1} of ${l.steps.length}${l.steps[this.step].title ? `: ${l.steps[this.step].title}` : ''}`;
    nav.append(prev, where, next);
    const body = el('div', 'lesson-body');
    if (this.step === 0) body.append(heading('h2', l.title));
    else body.append(heading('h3', l.steps[this.step].title));
    for (const b of l.steps[this.step].blocks) body.append(this.renderBlock(l, b));
    if (this.host.settings.view !== 'single') {
      const warn = el('p', 'lesson-warn');
      warn.textContent = 'The lessons run on the single-VM view: switch to it with "Single VM" above.';
      body.prepend(warn);
    }
    root.append(head, nav, body);
    if (lessonErrors.length > 0) {
      const bad = el('p', 'lesson-warn');
      bad.textContent = lessonErrors.join('; ');
      root.append(bad);
    }
  }

  private renderBlock(l: Lesson, b: Block): HTMLElement {
    switch (b.kind) {
      case 'text': {
        const div = el('div', 'lesson-text');
        div.innerHTML = renderMarkdown(b.markdown);
        return div;
      }
      case 'answer': {
        const d = document.createElement('details');
        d.className = 'lesson-answer';
        d.innerHTML = `<summary>Answer</summary>${renderMarkdown(b.markdown)}`;
        return d;
      }
      case 'experiment': return this.renderExperiment(l, b.experiment);
      case 'checks': {
        const ul = el('ul', 'lesson-checks');
        ul.dataset.checks = '';
        for (const c of b.checks) ul.append(this.renderCheck(l, c));
        return ul;
      }
    }
  }

  private renderCheck(l: Lesson, c: Check): HTMLElement {
    const li = document.createElement('li');
    let mark = '·';
    let value = 'run the experiments above';
    let state = 'pending';
    try {
      const v = evalCheck(c, this.resultsOf(l));
      if (v.ok !== undefined) {
        mark = v.ok ? '✓' : '✗';
        state = v.ok ? 'ok' : 'bad';
        value = `${formatFigure(v.value!)}${v.ok ? '' : ' (not what the lesson says: were other commands typed in between?)'}`;
      }
    } catch (e) {
      mark = '✗';
      state = 'bad';
      value = e instanceof Error ? e.message : String(e);
    }
    li.dataset.state = state;
    li.innerHTML = `<span class="mark">${mark}</span> <code>${esc(c.text)}</code> <span class="value">${esc(value)}</span>`;
    return li;
  }

  private renderExperiment(l: Lesson, e: Experiment): HTMLElement {
    const box = el('div', 'lesson-exp');
    box.dataset.experiment = e.name;
    const run = button(`▶ ${e.label}`, e.kind === 'run'
      ? `Boot hvos in ${e.mode} (I/O ${e.io}, disk ${e.disk}) if it does not run so, then type: ${e.commands.join('; ')}`
      : 'Run these VMs in one host under the credit scheduler, in a worker of their own', () => void this.run(l, e, box));
    run.className = 'lesson-run';
    const what = el('div', 'lesson-what');
    what.textContent = e.kind === 'run'
      ? `${e.mode} · I/O ${e.io}${e.disk === 'memory' ? ' · disk' : ''} · ${e.commands.map((c) => `hvos$ ${c}`).join(' · ')}`
      : `${e.inputs.map((i) => `${i.vm}: ${i.command}`).join(' · ') || 'boot to the prompts'}`;
    const status = el('div', 'lesson-status');
    const table = document.createElement('table');
    table.className = 'lesson-figures';
    box.append(run, what, status, table);
    const have = this.resultsOf(l).get(e.name);
    if (have) this.showFigures(e, table, have);
    return box;
  }

  private showFigures(e: Experiment, table: HTMLTableElement, figures: Record<string, number>): void {
    const names = e.show.length > 0 ? e.show : ['EXITS'];
    table.innerHTML = names.map((n) => `<tr data-figure="${esc(n)}"><td>${esc(n)}</td><td class="v">${n in figures ? formatFigure(figures[n]) : '–'}</td></tr>`).join('');
  }

  private async run(l: Lesson, e: Experiment, box: HTMLElement): Promise<void> {
    let status = box.querySelector('.lesson-status') as HTMLElement;
    if (this.running) { status.textContent = 'another experiment is running: wait for it'; return; }
    this.running = true;
    box.dataset.state = 'running';
    const buttons = [...this.root.querySelectorAll<HTMLButtonElement>('button.lesson-run')];
    for (const b of buttons) b.disabled = true;
    try {
      const m = e.kind === 'run' ? await this.runOnVm(e, (t) => { status.textContent = t; }) : await this.runFleet(e, (t) => { status.textContent = t; });
      this.resultsOf(l).set(e.name, m.figures);
      // Drawn again: the figures, and the checks of the step that name this experiment.
      if (this.lesson === l) this.render();
      const now = this.root.querySelector<HTMLElement>(`.lesson-exp[data-experiment="${e.name}"]`);
      if (now) {
        status = now.querySelector('.lesson-status') as HTMLElement;
        now.dataset.state = 'done';
      }
      status.textContent = m.note ?? 'done';
    } catch (err) {
      status.textContent = `stopped: ${err instanceof Error ? err.message : String(err)}`;
      box.dataset.state = 'error';
    } finally {
      this.running = false;
      for (const b of this.root.querySelectorAll<HTMLButtonElement>('button.lesson-run')) b.disabled = false;
    }
  }

  /** The live VM: settings, prompt, counters, commands, prompt, counters. */
  private async runOnVm(e: RunExperiment, say: (t: string) => void): Promise<Measured> {
    if (this.host.settings.view !== 'single') throw new Error('lessons run in the single-VM view');
    say(`preparing ${e.mode}, I/O ${e.io}…`);
    this.host.configure({ mode: e.mode, io: e.io, disk: e.disk, memMiB: e.memMiB });
    const p = () => {
      const panel = this.host.lessonPanel();
      if (!panel) throw new Error('no VM');
      return panel;
    };
    const quiet = async (): Promise<StatsMessage> => {
      for (let t0 = performance.now(); ;) {
        if (p().state === 'halted' || p().state === 'error') throw new Error(`the VM is ${p().state}${p().stateMessage ? `: ${p().stateMessage}` : ''}`);
        const s = p().atPrompt() ? await p().freshStats() : undefined;
        if (s?.waitingForInput) return s;
        if (performance.now() - t0 > WAIT_MS) throw new Error('gave up waiting for the prompt');
        await sleep(50);
      }
    };
    say('waiting for the prompt…');
    if (p().state === 'paused') p().resume();
    const before = await quiet();
    for (const command of e.commands) {
      say(`running: ${command}`);
      const from = p().outputChars;
      p().type(`${command}\r`);
      await waitFor(`'${command}' to finish`, () => p().outputChars > from + command.length && p().atPrompt());
      await quiet();
    }
    const after = await quiet();
    p().focus();
    return { figures: counterDelta(before.counters, after.counters) };
  }

  /** A fleet experiment in a worker of its own, with the code the Node test runs. */
  private async runFleet(e: FleetExperiment, say: (t: string) => void): Promise<Measured> {
    say('starting the VMs in a worker…');
    const { module, hvos } = await this.host.fleetSource();
    const worker = new Worker(new URL('../src/web/lesson-worker.ts', import.meta.url), { type: 'module', name: 'hvlab-lesson' });
    const t0 = performance.now();
    try {
      const answer = await new Promise<{ figures?: Record<string, number>; error?: string }>((resolve, reject) => {
        worker.onmessage = (ev) => resolve(ev.data as { figures?: Record<string, number>; error?: string });
        worker.onerror = (ev) => reject(new Error(`the lesson worker failed: ${ev.message}`));
        setTimeout(() => reject(new Error('gave up waiting for the VMs')), WAIT_MS);
        worker.postMessage({ module, hvos, experiment: e });
      });
      if (!answer.figures) throw new Error(answer.error ?? 'no figures');
      return { figures: answer.figures, note: `done in ${((performance.now() - t0) / 1000).toFixed(1)} s` };
    } finally {
      worker.terminate();
    }
  }
}

function el(tag: string, cls: string): HTMLElement {
  const e = document.createElement(tag);
  e.className = cls;
  return e;
}
function heading(tag: 'h2' | 'h3', text: string): HTMLElement {
  const h = document.createElement(tag);
  h.textContent = text;
  return h;
}
function button(text: string, title: string, onclick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.title = title;
  b.onclick = onclick;
  return b;
}
