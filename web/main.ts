/**
 * The web console (docs/web.md): one VM with its console, or two side by side racing the same
 * workload; controls for mode, memory, clock, I/O, disk and image (hvos, Linux or an upload)
 * kept in the URL; live counters and plots. Each VM runs in its own worker
 * (src/web/worker.ts) so the page never waits on it.
 */
import '@xterm/xterm/css/xterm.css';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import wasmUrl from '../build/core.wasm?url';
import hvosUrl from '../guests/hvos/prebuilt/hvos.elf?url';
import { ensureIsolation } from './isolation.js';
import { MODES } from './modes.js';
import { DISK_CHOICES, IO_CHOICES, MEMORY_CHOICES, defaultWorkload, fitModes, readSettings, settingsQuery, toggledView,
  type DiskChoice, type Settings } from './settings.js';
import { GUEST_FILES, IMAGES, diskNote, linuxBootargs, modeRefusal, type ImageChoice } from './images.js';
import { SHORTCUTS, VmPanel } from './vm-panel.js';
import { causeName, docHref, rowsFor, valueOf, type CounterRow, type Counters } from './counters.js';
import { LivePlot, PLOTS } from './plots.js';
import type { StatsMessage } from '../src/web/protocol.js';
import { modeledCycles } from '../src/cost-model.js';
import { startMulti } from './multi.js';
import { WalkPanel } from './walk.js';
import { LessonPane, type LessonHost } from './lessons.js';
import { SnapshotTools, type SnapshotHost } from './snapshot.js';
import type { BootConfig } from '../src/web/protocol.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** How often rates are computed and the plots and table advance. */
const SAMPLE_MS = 500;

/** What a VM boots: the kernel (an ELF or a Linux Image), and Linux's initramfs and command line. */
interface Image { bytes: Uint8Array; name: string; initrd?: { bytes: Uint8Array; name: string }; bootargs?: (io: string) => string }

interface RaceLeg { startT: number; start?: StatsMessage; done?: number; result?: string }

class App implements LessonHost, SnapshotHost {
  readonly panels: VmPanel[] = [];
  /** The guided lessons' pane (web/lessons.ts) and the snapshot tools (web/snapshot.ts). */
  lessons?: LessonPane;
  tools?: SnapshotTools;
  /** Set while a snapshot from the URL is fetched: nothing boots until it is restored or fails. */
  holdBoot = false;
  /** A disk image the user uploaded (web/snapshot.ts): the disk of every boot while Disk says "memory". */
  private diskImage?: { bytes: Uint8Array; name: string };
  readonly plots: LivePlot[] = [];
  /** performance.now() when the first VM first showed its prompt (the time-to-prompt figure). */
  promptAt?: number;
  private image?: Image;
  private module: WebAssembly.Module;
  /** The built-in images fetched so far (each fetched once per page). */
  private readonly fetched = new Map<ImageChoice, Promise<Image>>();
  /** Counts image choices: a fetch that finishes after a later choice is dropped. */
  private choice = 0;
  /** True while the chosen image is being fetched: configuration changes wait for it. */
  private loading = false;
  /** The chosen image's fetch failed (its reason is shown): Start and Reset retry it. */
  private fetchFailed = false;
  /** The progress messages of the last fetch (the browser test reads them). */
  loadLog: string[] = [];
  private sampleBase: (StatsMessage | undefined)[] = [];
  private rates: Map<string, number | null>[] = [];
  private tableKey = '';
  private race?: RaceLeg[];
  /** Each panel's exit-trace box (the same index as panels). */
  private readonly traces: HTMLElement[] = [];
  /** Each panel's page-walk panel (web/walk.ts; the same index as panels). */
  readonly walks: WalkPanel[] = [];
  private autorun: boolean;

  constructor(readonly settings: Settings, module: WebAssembly.Module, first: Promise<Image> | undefined, autorun: boolean) {
    this.module = module;
    if (first && settings.image === 'hvos') {
      this.fetched.set('hvos', first);
      first.catch(() => this.fetched.delete('hvos'));
    }
    this.autorun = autorun;
    this.buildControls();
    const names = settings.view === 'side' ? ['left', 'right'] : ['vm'];
    const consoles = $('consoles');
    consoles.classList.toggle('two', names.length === 2);
    for (const name of names) this.panels.push(this.makePanel(name, consoles));
    for (const def of PLOTS) {
      const host = document.createElement('div');
      $('plots').append(host);
      this.plots.push(new LivePlot(def, host, this.panels.map((p) => this.panelTitle(p))));
    }
    setInterval(() => this.sample(), SAMPLE_MS);
    this.holdBoot = settings.snapshot !== undefined && settings.view === 'single';
    void this.useBuiltIn(settings.image === 'upload' ? 'hvos' : settings.image);
    this.lessons = new LessonPane(this, $('lessons'), $('lessons-toggle'));
    this.tools = new SnapshotTools(this, $('tools'));
    this.panels[0].focus();
  }

  // ---- hooks for the lessons (web/lessons.ts) and the snapshot tools (web/snapshot.ts) ----

  lessonPanel(): VmPanel | undefined { return this.settings.view === 'single' ? this.panels[0] : undefined; }
  coreModule(): WebAssembly.Module { return this.module; }
  uploaded() { return this.settings.image === 'upload' ? this.image : undefined; }

  /** A built-in image's files, fetched once per page, without booting it. */
  builtIn(id: ImageChoice): Promise<Image> {
    let files = this.fetched.get(id);
    if (!files) {
      files = fetchBuiltIn(id, () => undefined);
      this.fetched.set(id, files);
      files.catch(() => this.fetched.delete(id));
    }
    return files;
  }

  async fleetSource(): Promise<{ module: WebAssembly.Module; hvos: Uint8Array }> {
    return { module: this.module, hvos: (await this.builtIn('hvos')).bytes };
  }

  /** A lesson's settings: hvos on the deterministic clock; reboot only if something differs. */
  configure(c: { mode: string; io: string; disk: 'none' | 'memory'; memMiB: number }): void {
    const s = this.settings;
    const same = s.mode === c.mode && s.io === c.io && s.disk === c.disk && s.memMiB === c.memMiB && s.clock === 'instret'
      && s.image === 'hvos' && !this.diskImage && this.panels[0].state !== 'halted' && this.panels[0].state !== 'error';
    if (same) return;
    Object.assign(s, { mode: c.mode, io: c.io, disk: c.disk, memMiB: c.memMiB, clock: 'instret' });
    this.diskImage = undefined;
    this.syncControls();
    if (s.image !== 'hvos') { this.imageChanged('hvos'); return; }
    this.configChanged();
  }

  /** The worker runs a restored snapshot: take its settings and image; nothing boots. */
  adopt(choice: ImageChoice | 'upload', image: Image, config: BootConfig): void {
    ++this.choice;
    this.loading = false;
    this.fetchFailed = false;
    this.holdBoot = false;
    this.image = image;
    const s = this.settings;
    Object.assign(s, { image: choice, mode: config.mode, memMiB: config.memMiB, clock: config.clock,
      io: config.io ?? 'emulated', disk: config.disk ?? 'none' });
    this.diskImage = undefined;
    this.syncControls();
    this.saveUrl();
  }

  useDiskImage(bytes: Uint8Array, name: string): void {
    this.diskImage = { bytes, name };
    this.settings.disk = 'memory';
    this.syncControls();
    this.configChanged();
  }

  /** The controls show the settings (after a lesson or a snapshot changed them). */
  private syncControls(): void {
    const s = this.settings;
    $<HTMLSelectElement>('mode').value = s.mode;
    $<HTMLSelectElement>('mem').value = String(s.memMiB);
    $<HTMLSelectElement>('clock').value = s.clock;
    $<HTMLSelectElement>('io').value = s.io;
    $<HTMLSelectElement>('disk').value = s.disk;
    const image = $<HTMLSelectElement>('image');
    if (s.image !== 'upload') image.value = s.image;
    this.markModes();
  }

  private panelMode(p: VmPanel): string {
    return this.panels.indexOf(p) === 1 ? this.settings.modeB : this.settings.mode;
  }

  private panelTitle(p: VmPanel): string {
    const mode = this.panelMode(p);
    return this.panels.length > 1 ? `${p.name}: ${mode}` : mode;
  }

  private makePanel(name: string, parent: HTMLElement): VmPanel {
    const box = document.createElement('div');
    box.className = 'vm';
    box.innerHTML = `<div class="vm-head"><span class="vm-title"></span><span class="vm-state" data-state="booting">booting</span></div>
      <div class="term"></div><div class="shortcuts"></div>
      <details class="exit-trace" open><summary>Last VM exits <small>(newest first; <a href="docs/counters.md#exits" target="_blank" rel="noopener">what exits are</a>)</small></summary>
      <p class="exit-note"></p><div class="exit-scroll"><table><thead><tr><th>#</th><th>cause</th><th>guest pc</th><th>tval</th><th>instr. since prev.</th></tr></thead><tbody></tbody></table></div></details>`;
    parent.append(box);
    (box.querySelector('.shortcuts') as HTMLElement).textContent = SHORTCUTS;
    const panel = new VmPanel(name, box.querySelector('.term') as HTMLElement);
    box.dataset.vm = name;
    this.traces.push(box.querySelector('.exit-trace') as HTMLElement);
    const walk = new WalkPanel(box, panel);
    this.walks.push(walk);
    // A page fault in the exit log traces its address (web/walk.ts).
    (box.querySelector('.exit-trace tbody') as HTMLElement).onclick = (e) => {
      const row = (e.target as HTMLElement).closest('tr[data-tval]') as HTMLElement | null;
      if (row) void walk.traceAddress(BigInt(row.dataset.tval!), row.dataset.kind as 'fetch' | 'load' | 'store');
    };
    const title = box.querySelector('.vm-title') as HTMLElement;
    const stateEl = box.querySelector('.vm-state') as HTMLElement;
    const showState = () => {
      title.textContent = this.panelTitle(panel);
      if (panel.loading !== undefined) {
        stateEl.dataset.state = 'loading';
        stateEl.textContent = 'loading';
        stateEl.title = panel.loading;
        return;
      }
      stateEl.dataset.state = panel.state;
      stateEl.textContent = panel.stateMessage ? `${panel.state}: ${panel.stateMessage}` : panel.state;
      stateEl.title = '';
    };
    panel.onState = showState;
    panel.onBootError = (_p, message) => this.notice(message);
    panel.onOutput = (p) => this.onOutput(p);
    panel.onStats = (p) => this.onStats(p);
    showState();
    return panel;
  }

  private buildControls(): void {
    const s = this.settings;
    const fillModes = (sel: HTMLSelectElement, value: string) => {
      for (const m of MODES) sel.add(new Option(m.label, m.id, false, m.id === value));
    };
    fillModes($('mode'), s.mode);
    fillModes($('mode-b'), s.modeB);
    this.markModes();
    const side = s.view === 'side';
    $('mode-b-label').hidden = !side;
    $('mode-a-label').firstChild!.textContent = side ? 'Left ' : 'Mode ';
    $('race').hidden = !side;
    const mem = $<HTMLSelectElement>('mem');
    for (const m of MEMORY_CHOICES) mem.add(new Option(`${m} MiB`, String(m), false, m === s.memMiB));
    $<HTMLSelectElement>('clock').value = s.clock;
    const io = $<HTMLSelectElement>('io');
    for (const [id, explain] of IO_CHOICES) {
      const o = new Option(id, id, false, id === s.io);
      o.title = explain;
      io.add(o);
    }
    const disk = $<HTMLSelectElement>('disk');
    for (const [id, label] of DISK_CHOICES) disk.add(new Option(label, id, false, id === s.disk));
    io.onchange = () => { s.io = io.value; this.configChanged(); };
    disk.onchange = () => { s.disk = disk.value as DiskChoice; this.diskImage = undefined; this.configChanged(); };
    const toggle = $<HTMLAnchorElement>('view-toggle');
    toggle.textContent = side ? 'Single VM' : 'Side by side';
    toggle.href = settingsQuery(toggledView(s)) || './';
    $<HTMLInputElement>('workload').value = s.workload;

    $('mode').onchange = () => { s.mode = $<HTMLSelectElement>('mode').value; this.configChanged(); };
    $('mode-b').onchange = () => { s.modeB = $<HTMLSelectElement>('mode-b').value; this.configChanged(); };
    mem.onchange = () => { s.memMiB = Number(mem.value); this.configChanged(); };
    $('clock').onchange = () => { s.clock = $<HTMLSelectElement>('clock').value === 'wall' ? 'wall' : 'instret'; this.configChanged(); };
    $('workload').onchange = () => { s.workload = $<HTMLInputElement>('workload').value; this.saveUrl(); };
    const image = $<HTMLSelectElement>('image');
    for (const def of IMAGES) {
      const o = new Option(def.label, def.id, false, def.id === s.image);
      o.title = def.explain;
      image.add(o);
    }
    image.add(new Option('upload an ELF…', 'upload'));
    const upload = $<HTMLInputElement>('upload');
    image.onchange = () => {
      if (image.value === 'upload') upload.click();
      else this.imageChanged(image.value as ImageChoice);
    };
    upload.onchange = () => { const f = upload.files?.[0]; if (f) void this.useUpload(f); };
    // While an image is fetched the old guest is paused and about to go: the buttons wait; after
    // a failed fetch, Start and Reset try the fetch again.
    const retry = () => {
      if (!this.fetchFailed || this.settings.image === 'upload') return false;
      void this.useBuiltIn(this.settings.image);
      return true;
    };
    $('start').onclick = () => retry() || this.forAll((p) => {
      if (this.loading) return;
      if (p.state === 'paused') p.resume();
      else if (p.state === 'halted' || p.state === 'error') this.boot(p);
      p.focus();
    });
    $('pause').onclick = () => this.forAll((p) => p.pause());
    $('reset').onclick = () => retry() || this.forAll((p) => {
      if (this.loading) return;
      if (p.state === 'error') this.boot(p);
      else p.reset();
      p.focus();
    });
    $('race-start').onclick = () => this.startRace();
  }

  private forAll(f: (p: VmPanel) => void): void { for (const p of this.panels) f(p); }

  notice(message: string): void {
    const n = $('notice');
    n.textContent = message;
    n.hidden = message === '';
  }

  saveUrl(): void {
    history.replaceState(null, '', settingsQuery(this.settings) || location.pathname);
    const side = this.settings.view === 'side';
    $<HTMLAnchorElement>('view-toggle').href = settingsQuery(toggledView(this.settings)) || './';
  }

  private configChanged(): void {
    // The page no longer shows the snapshot the URL named: a link must not restore it.
    delete this.settings.snapshot;
    this.saveUrl();
    this.notice(diskNote(this.settings) ?? '');
    this.bootAll();
  }

  /**
   * The modes that cannot run the chosen image (pv with Linux) are disabled, and say why in
   * their label and tooltip; so are modes the core does not run yet.
   */
  private markModes(): void {
    for (const id of ['mode', 'mode-b']) {
      for (const o of $<HTMLSelectElement>(id).options) {
        const m = MODES.find((d) => d.id === o.value)!;
        const refusal = modeRefusal(this.settings.image, m.id);
        o.disabled = !m.available || refusal !== undefined;
        o.textContent = !m.available ? `${m.label} (not yet)` : refusal ? `${m.label} (needs a PV kernel)` : m.label;
        o.title = refusal ?? m.explain;
      }
    }
  }

  /** A built-in image was chosen: keep the modes runnable, the URL and the race's workload in step. */
  private imageChanged(id: ImageChoice): void {
    this.holdBoot = false;
    delete this.settings.snapshot;
    const s = this.settings;
    const wasDefault = s.workload === defaultWorkload(s.image);
    s.image = id;
    if (wasDefault) {
      s.workload = defaultWorkload(id);
      $<HTMLInputElement>('workload').value = s.workload;
    }
    const notes: string[] = [];
    fitModes(s, notes);
    $<HTMLSelectElement>('mode').value = s.mode;
    $<HTMLSelectElement>('mode-b').value = s.modeB;
    this.markModes();
    this.saveUrl();
    void this.useBuiltIn(id, notes);
  }

  /** Fetch a built-in image (once) with progress in every panel, then boot it. */
  private async useBuiltIn(id: ImageChoice, notes: string[] = []): Promise<void> {
    const token = ++this.choice;
    this.loading = true;
    this.fetchFailed = false;
    this.notice([...notes, diskNote(this.settings)].filter((n) => n).join('; '));
    let image: Image;
    try {
      let files = this.fetched.get(id);
      if (!files) {
        this.loadLog = [];
        const progress = (message: string) => {
          this.loadLog.push(message);
          // Shown while this image is the one chosen (a later choice of it shares this fetch).
          if (this.loading && this.settings.image === id) this.forAll((p) => p.showLoading(message));
        };
        files = fetchBuiltIn(id, progress);
        this.fetched.set(id, files);
        // A failed fetch is not kept: choosing the image again tries again.
        files.catch(() => this.fetched.delete(id));
      }
      image = await files;
    } catch (e) {
      if (token !== this.choice) return;
      this.loading = false;
      this.fetchFailed = true;
      const message = e instanceof Error ? e.message : String(e);
      this.notice(message);
      this.forAll((p) => p.loadFailed(message));
      return;
    }
    if (token !== this.choice) return;
    this.loading = false;
    this.image = image;
    this.bootAll();
  }

  private async useUpload(file: File): Promise<void> {
    ++this.choice;
    this.holdBoot = false;
    delete this.settings.snapshot;
    this.loading = false;
    this.fetchFailed = false;
    this.image = { bytes: new Uint8Array(await file.arrayBuffer()), name: file.name };
    this.settings.image = 'upload';
    this.markModes();
    this.saveUrl();
    this.notice('');
    this.bootAll();
  }

  /** Boot now if a held boot (a snapshot URL that failed) is still waiting. */
  bootPending(): void { if (this.panels[0].state === 'booting') this.bootAll(); }

  /** Boot every panel with the current image and settings (after the fetch, while one runs). */
  private bootAll(): void {
    if (this.loading || !this.image || this.holdBoot) return;
    this.forAll((p) => this.boot(p));
  }

  private boot(p: VmPanel): void {
    const image = this.image;
    if (this.loading || !image) return;
    const mode = this.panels.indexOf(p) === 1 ? this.settings.modeB : this.settings.mode;
    const io = this.settings.io;
    p.boot({ module: this.module, image: image.bytes, imageName: image.name,
      initrd: image.initrd?.bytes, initrdName: image.initrd?.name,
      config: { mode, memMiB: this.settings.memMiB, clock: this.settings.clock, io, disk: this.settings.disk,
        bootargs: image.bootargs?.(io), diskImage: this.settings.disk === 'memory' ? this.diskImage?.bytes : undefined } });
    this.race = undefined;
    $('race-result').textContent = '';
  }

  private onOutput(p: VmPanel): void {
    if (!p.atPrompt()) return;
    this.promptAt ??= performance.now();
    const i = this.panels.indexOf(p);
    const leg = this.race?.[i];
    if (leg && leg.done === undefined) leg.done = performance.now();
    if (this.autorun && this.panels.every((q) => q.atPrompt())) {
      this.autorun = false;
      this.startRace();
    }
  }

  private onStats(p: VmPanel): void {
    const i = this.panels.indexOf(p);
    const leg = this.race?.[i];
    if (leg && p.stats) {
      leg.start ??= p.stats;
      if (leg.done !== undefined && leg.result === undefined && p.stats.t >= leg.start.t) {
        const instr = Number(p.stats.instructions - leg.start.instructions);
        const run = p.stats.runSeconds - leg.start.runSeconds;
        const exits = (p.stats.counters.EXITS ?? 0n) - (leg.start.counters.EXITS ?? 0n);
        const cyc = modeledCycles(p.stats.counters).total - modeledCycles(leg.start.counters).total;
        leg.result = `${this.panelTitle(p)}: ${((leg.done - leg.startT) / 1000).toFixed(2)} s, `
          + `${(instr / 1e6).toFixed(1)} M instructions, ${run > 0 ? (instr / run / 1e6).toFixed(0) : '–'} MIPS, `
          + `${formatCount(exits)} exits, ${(cyc / 1e6).toFixed(1)} M modeled cycles`;
      }
      this.showRace();
    }
    if (i === 0) this.renderHeadline();
  }

  private startRace(): void {
    const cmd = $<HTMLInputElement>('workload').value.trim();
    if (cmd === '') return;
    if (!this.panels.every((p) => p.atPrompt())) {
      $('race-result').textContent = 'waiting for both prompts…';
      this.autorun = true;
      return;
    }
    const now = performance.now();
    // The first stats after this ping are read before the workload is typed: the start line.
    this.race = this.panels.map(() => ({ startT: now }));
    this.forAll((p) => { p.requestStats(); p.type(`${cmd}\r`); });
    this.showRace();
  }

  private showRace(): void {
    if (!this.race) return;
    $('race-result').textContent = this.race.map((leg, i) => leg.result
      ?? `${this.panelTitle(this.panels[i])}: ${leg.done === undefined ? 'running' : 'finishing'}…`).join('  ·  ');
  }

  /** Every SAMPLE_MS: per-second rates from the stats received since the last sample. */
  private sample(): void {
    const allCounters: Counters[] = [];
    const plotRates: (number | null)[][] = PLOTS.map(() => []);
    this.panels.forEach((p, i) => {
      const cur = p.stats;
      const base = this.sampleBase[i];
      this.sampleBase[i] = cur;
      const rates = new Map<string, number | null>();
      const dt = cur && base ? (cur.t - base.t) / 1000 : 0;
      const rate = (a?: bigint, b?: bigint) => (a === undefined || b === undefined ? null : dt > 0 ? Number(a - b) / dt : 0);
      if (cur) {
        for (const row of rowsFor([cur.counters])) {
          if (row.rate) rates.set(row.key, base ? rate(valueOf(row, cur.counters), valueOf(row, base.counters)) : null);
        }
        allCounters.push(cur.counters);
      }
      this.rates[i] = rates;
      PLOTS.forEach((def, k) => {
        const r = cur && base ? rate(def.value(cur.counters, cur.instructions), def.value(base.counters, base.instructions)) : null;
        plotRates[k].push(r === null ? null : r / def.scale);
      });
    });
    this.plots.forEach((plot, k) => plot.push(plotRates[k]));
    this.renderTable(allCounters);
    this.renderHeadline();
    this.panels.forEach((p, i) => this.renderTrace(p, this.traces[i]));
  }

  /** The panel's latest exits, decoded (the worker sends them with each stats message). */
  private renderTrace(p: VmPanel, box: HTMLElement): void {
    const note = box.querySelector('.exit-note') as HTMLElement;
    const scroll = box.querySelector('.exit-scroll') as HTMLElement;
    const body = box.querySelector('tbody') as HTMLTableSectionElement;
    if (this.panelMode(p) === 'native') {
      note.textContent = 'no exits: native mode (no hypervisor runs under the guest)';
      scroll.hidden = true;
      body.innerHTML = '';
      return;
    }
    const log = p.stats?.exitLog ?? [];
    scroll.hidden = log.length === 0;
    note.textContent = log.length === 0 ? 'no exits yet' : `${formatCount(p.stats?.counters.EXITS ?? 0n)} exits since boot; the last ${log.length}:`;
    const hex = (v: bigint) => `0x${v.toString(16)}`;
    const rows: string[] = [];
    for (let k = log.length - 1; k >= 0; k--) {
      const e = log[k];
      const gap = k > 0 ? formatCount(e.instructions - log[k - 1].instructions) : '';
      const kind = faultKind(e.cause);
      const walkable = kind ? ` class="walkable" data-tval="${hex(e.tval)}" data-kind="${kind}" title="trace this address's page walk"` : '';
      rows.push(`<tr${walkable}><td>${e.index}</td><td class="cause">${escapeHtml(causeName(e.cause))}</td><td>${hex(e.pc)}</td><td>${hex(e.tval)}</td><td>${gap}</td></tr>`);
    }
    body.innerHTML = rows.join('');
  }

  private renderHeadline(): void {
    const cards: string[] = [];
    for (const [i, p] of this.panels.entries()) {
      const s = p.stats;
      const who = this.panels.length > 1 ? `${p.name} ` : '';
      const mips = this.rates[i]?.get('INSTRUCTIONS');
      cards.push(card(`${who}MIPS`, mips == null ? '–' : (mips / 1e6).toFixed(1), 'instructions per second (wall clock), millions'));
      cards.push(card(`${who}instructions`, s ? formatCount(s.instructions) : '–', 'retired since boot'));
      cards.push(card(`${who}guest time`, s ? `${(Number(s.mtime) / 1e7).toFixed(2)} s` : '–', 'mtime at 10 MHz'));
      const exits = s?.counters.EXITS;
      const exitRate = this.rates[i]?.get('EXITS');
      cards.push(card(`${who}exits`, exits === undefined ? '–' : `${formatCount(exits)}${exitRate == null ? '' : ` (${formatRate(exitRate)}/s)`}`,
        'VM exits since boot, and per second'));
      cards.push(card(`${who}modeled Mcycles`, s ? (modeledCycles(s.counters).total / 1e6).toFixed(1) : '–',
        'modeled cycles since boot, millions: counted events priced by the cost table (docs/cost-model.md)'));
    }
    $('headline').innerHTML = cards.join('');
  }

  private renderTable(all: Counters[]): void {
    const table = $<HTMLTableElement>('counters');
    const rows = rowsFor(all);
    const key = rows.map((r) => r.key).join(',') + `|${this.panels.length}`;
    if (key !== this.tableKey) {
      this.tableKey = key;
      table.innerHTML = '';
      const head = table.createTHead().insertRow();
      head.innerHTML = '<th>counter</th>' + this.panels.map((p) => {
        const who = this.panels.length > 1 ? `${p.name} ` : '';
        return `<th>${who}total</th><th>${who}per s</th>`;
      }).join('');
      const body = table.createTBody();
      let group = '';
      for (const row of rows) {
        if (row.group !== group) {
          group = row.group;
          const g = body.insertRow();
          g.className = 'group';
          g.innerHTML = `<th colspan="${1 + 2 * this.panels.length}">${escapeHtml(group)}</th>`;
        }
        const tr = body.insertRow();
        tr.dataset.key = row.key;
        tr.innerHTML = `<td class="name"><a href="${docHref(row)}" target="_blank" rel="noopener" title="${escapeHtml(row.explain)}">${escapeHtml(row.label)}</a>`
          + `<small>${escapeHtml(row.explain)}</small></td>` + this.panels.map(() => '<td class="v"></td><td class="r"></td>').join('');
      }
    }
    for (const tr of table.tBodies[0]?.rows ?? []) {
      const rowKey = tr.dataset.key;
      if (!rowKey) continue;
      const row = rows.find((r) => r.key === rowKey) as CounterRow;
      this.panels.forEach((p, i) => {
        const v = p.stats ? valueOf(row, p.stats.counters) : undefined;
        const r = this.rates[i]?.get(rowKey);
        tr.cells[1 + 2 * i].textContent = v === undefined ? '–' : formatCount(v);
        tr.cells[2 + 2 * i].textContent = !row.rate || r == null ? '' : formatRate(r);
      });
    }
  }
}

function card(label: string, value: string, title: string): string {
  return `<div title="${escapeHtml(title)}"><b>${escapeHtml(value)}</b><span>${escapeHtml(label)}</span></div>`;
}

function formatCount(v: bigint): string { return v.toLocaleString('en-US'); }
function formatRate(r: number): string {
  if (r >= 1e6) return `${(r / 1e6).toFixed(1)} M`;
  if (r >= 1e4) return `${(r / 1e3).toFixed(0)} k`;
  return r.toFixed(0);
}
function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[ch] as string));
}

async function fetchImage(url: string, name: string): Promise<Image> {
  return { bytes: await fetchBytes(url, name), name };
}

/**
 * Fetch a file, reporting the bytes received so far and the total (0 when the server does not
 * say: Content-Length is absent, or counts compressed bytes under a Content-Encoding).
 */
async function fetchBytes(url: string, name: string, onBytes?: (received: number, total: number) => void): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`could not fetch ${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!res.ok) throw new Error(`could not fetch ${name}: HTTP ${res.status}`);
  const length = res.headers.get('Content-Encoding') ? 0 : Number(res.headers.get('Content-Length') ?? 0);
  if (!onBytes || !res.body) return new Uint8Array(await res.arrayBuffer());
  const parts: Uint8Array[] = [];
  let received = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    received += value.length;
    onBytes(received, length);
  }
  const bytes = new Uint8Array(received);
  let at = 0;
  for (const p of parts) { bytes.set(p, at); at += p.length; }
  return bytes;
}

/** A built-in image's files; Linux's two with one progress line, "Linux: 1.2 of 2.7 MB". */
async function fetchBuiltIn(id: ImageChoice, progress: (message: string) => void): Promise<Image> {
  if (id === 'hvos') return fetchImage(hvosUrl, 'hvos.elf');
  // Linux is fetched only when chosen (about 2.7 MB), from beside the page (vite.config.ts).
  const files = GUEST_FILES;
  const got = files.map(() => ({ received: 0, total: 0 }));
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const report = () => {
    const received = got.reduce((a, g) => a + g.received, 0);
    const total = got.every((g) => g.total > 0) ? got.reduce((a, g) => a + g.total, 0) : 0;
    progress(`Fetching Linux (Image, initramfs.cpio.gz): ${mb(received)}${total > 0 ? ` of ${mb(total)}` : ''} MB`);
  };
  report();
  const [kernel, initrd] = await Promise.all(files.map((f, i) => fetchBytes(f.url, f.name, (received, total) => {
    got[i] = { received, total };
    report();
  })));
  progress(`Fetched ${files.map((f, i) => `${f.name} (${[kernel, initrd][i].length} bytes)`).join(', ')}`);
  return { bytes: kernel, name: 'Image', initrd: { bytes: initrd, name: 'initramfs.cpio.gz' }, bootargs: linuxBootargs };
}

async function compileCore(): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compileStreaming(fetch(wasmUrl));
  } catch {
    // Hosts that serve .wasm without application/wasm: compile from the bytes instead.
    const res = await fetch(wasmUrl);
    return WebAssembly.compile(await res.arrayBuffer());
  }
}

/** The access kind of a page-fault or guest-page-fault cause (privileged spec table 8.7), else undefined. */
function faultKind(cause: bigint): 'fetch' | 'load' | 'store' | undefined {
  return ({ 12: 'fetch', 13: 'load', 15: 'store', 20: 'fetch', 21: 'load', 23: 'store' } as const)[Number(cause)];
}

declare global {
  interface Window { hvlab?: App }
}

async function main(): Promise<void> {
  const show = (m: string) => { const n = $('notice'); n.textContent = m; n.hidden = false; };
  if (!(await ensureIsolation(show))) return;
  if (new URLSearchParams(location.search).get('view') === 'multi') {
    // Many VMs in one host (web/multi.ts): its own controls, hvos for every VM.
    const [module, hvos] = await Promise.all([compileCore(), fetchImage(hvosUrl, 'hvos.elf')]);
    startMulti(module, hvos.bytes, location.search, show);
    return;
  }
  const { settings, notes } = readSettings(location.search);
  // hvos (small) is fetched while the core compiles; Linux once the page can show progress.
  const hvos = settings.image === 'hvos' ? fetchImage(hvosUrl, 'hvos.elf') : undefined;
  hvos?.catch(() => undefined);
  const module = await compileCore();
  const autorun = new URLSearchParams(location.search).has('run') && settings.view === 'side';
  const app = window.hvlab = new App(settings, module, hvos, autorun);
  // A value that fell back is replaced in the address bar too: the URL shows what runs.
  if (notes.length > 0) app.saveUrl();
  const note = [...notes, diskNote(settings)].filter((n) => n).join('; ');
  if (note) show(note);
  if (app.holdBoot && settings.snapshot) void startFromSnapshot(app, settings.snapshot);
}

/**
 * `?snapshot=URL`: fetch the file and restore it instead of booting (a lesson can start at a
 * prepared point). If it cannot be fetched or restored, the page says why and boots as usual.
 */
async function startFromSnapshot(app: App, url: string): Promise<void> {
  const name = url.replace(/[?#].*$/, '').replace(/^.*\//, '') || url;
  let ok = false;
  try {
    const href = new URL(url, location.href).href;
    let res: Response;
    try {
      res = await fetch(href);
    } catch (e) {
      throw new Error(`could not fetch snapshot ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!res.ok) throw new Error(`could not fetch snapshot ${name}: HTTP ${res.status}`);
    // A single-page host answers a missing file with its index page: say so, not "not a snapshot".
    if ((res.headers.get('Content-Type') ?? '').startsWith('text/html')) {
      throw new Error(`could not fetch snapshot ${name}: the server answered with a web page, not a file (is the address right?)`);
    }
    ok = await app.tools!.restore(new Uint8Array(await res.arrayBuffer()), name, true);
  } catch (e) {
    app.notice(e instanceof Error ? e.message : String(e));
  }
  if (!ok) {
    const why = $('notice').textContent;
    app.holdBoot = false;
    app.bootPending();
    app.notice(why ?? '');
  }
}

main().catch((e: unknown) => {
  const n = $('notice');
  n.textContent = `hvlab could not start: ${e instanceof Error ? e.message : String(e)}`;
  n.hidden = false;
});
