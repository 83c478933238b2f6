/**
 * The many-VM view (`?view=multi`, docs/web.md "Many VMs"): every VM of a config in one Host
 * (src/host.ts), in one worker (src/web/multi-worker.ts) under the credit scheduler. A list of
 * the VMs (name, mode, state, instructions, share, weight), a console tab per VM (the tab
 * chooses which terminal shows and where the keyboard goes), a plot of the scheduler's shares
 * and one of the pool's frames (with same-page merging's savings when the core has it).
 */
import type { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { attachCopyPaste, makeTerminal, SHORTCUTS, terminalText } from './vm-panel.js';
import { LivePlot } from './plots.js';
import { CONSOLE_WINDOW } from '../src/web/protocol.js';
import { configText, PRESETS } from '../src/web/multi-presets.js';
import type { FromMultiWorker, MultiStatsMessage, MultiVmInfo, ToMultiWorker } from '../src/web/multi-protocol.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** How often shares are computed and the plots advance. */
const SAMPLE_MS = 500;
/** The weights the list offers (Xen's default is 256). */
const WEIGHTS = [32, 64, 128, 256, 512, 1024, 2048];
const DEFAULT_PRESET = PRESETS[0].id;
/** The console prefix key (ASCII SOH), as the CLI's Ctrl-A. */
const CTRL_A = '\x01';

/** One VM's console: its terminal in its own box, shown while its tab is selected. */
class VmConsole {
  readonly term: Terminal;
  private readonly fit = new FitAddon();
  readonly box: HTMLElement;
  readonly tab: HTMLButtonElement;

  constructor(readonly info: MultiVmInfo, stack: HTMLElement, tabs: HTMLElement, onInput: (data: string) => void,
    onSelect: () => void) {
    this.box = document.createElement('div');
    this.box.className = 'term';
    this.box.dataset.vm = info.name;
    this.box.hidden = true;
    stack.append(this.box);
    this.term = makeTerminal();
    this.term.loadAddon(this.fit);
    this.term.open(this.box);
    attachCopyPaste(this.term);
    this.term.onData(onInput);
    new ResizeObserver(() => this.refit()).observe(this.box);
    this.tab = document.createElement('button');
    this.tab.type = 'button';
    this.tab.className = 'tab';
    this.tab.setAttribute('role', 'tab');
    this.tab.dataset.vm = info.name;
    this.tab.textContent = info.name;
    this.tab.title = `${info.mode}, ${info.memMiB} MiB, I/O ${info.io}`;
    this.tab.onclick = onSelect;
    tabs.append(this.tab);
  }

  refit(): void {
    const el = this.term.element;
    if (!el || el.clientWidth === 0 || el.clientHeight === 0) return;
    this.fit.fit();
  }

  show(on: boolean): void {
    this.box.hidden = !on;
    this.tab.setAttribute('aria-selected', String(on));
    this.tab.classList.toggle('active', on);
    if (on) { this.refit(); this.term.focus(); }
  }

  dispose(): void {
    this.term.dispose();
    this.box.remove();
    this.tab.remove();
  }
}

export class MultiApp {
  private readonly worker: Worker;
  readonly consoles = new Map<string, VmConsole>();
  vms: MultiVmInfo[] = [];
  active?: string;
  stats?: MultiStatsMessage;
  /** Each VM's share of the instructions in the last sample, percent (null: nothing ran). */
  readonly shares = new Map<string, number | null>();
  state = 'starting';
  /** The last refusal or error shown (the browser test reads it). */
  lastError = '';
  private sampleBase?: MultiStatsMessage;
  private sharePlot?: LivePlot;
  private framePlot?: LivePlot;
  private listKey = '';
  /** Ctrl-A was typed: the next key is a command to the page (typed()). */
  private prefix = false;

  constructor(private readonly module: WebAssembly.Module, private readonly images: Record<string, Uint8Array>, presetId: string) {
    this.worker = new Worker(new URL('../src/web/multi-worker.ts', import.meta.url), { type: 'module', name: 'hvlab-multi' });
    this.worker.onmessage = (ev: MessageEvent<FromMultiWorker>) => this.receive(ev.data);
    this.worker.onerror = (ev) => this.notice(`the VMs' worker failed: ${ev.message}`);
    this.buildPage(presetId);
    setInterval(() => this.sample(), SAMPLE_MS);
    this.start();
  }

  private buildPage(presetId: string): void {
    document.body.classList.add('multi-view');
    $('controls').hidden = true;
    const bar = document.createElement('form');
    bar.id = 'multi-controls';
    bar.className = 'controls';
    bar.onsubmit = () => false;
    bar.innerHTML = `<label>Preset <select id="multi-preset"></select></label>
      <span class="buttons"><button id="multi-start" type="button" title="Start the VMs of the config below (replacing those that run)">Start</button>
      <button id="multi-pause" type="button" title="Pause or resume all VMs">Pause</button></span>
      <a class="view-toggle" href="./">Single VM</a>`;
    $('controls').after(bar);
    const preset = $<HTMLSelectElement>('multi-preset');
    for (const p of PRESETS) preset.add(new Option(p.label, p.id, false, p.id === presetId));
    const config = document.createElement('details');
    config.id = 'multi-config';
    config.className = 'multi-config';
    config.innerHTML = `<summary>Config (JSON): the VMs, their images, modes, memory, I/O paths and weights</summary>
      <textarea id="multi-json" rows="12" spellcheck="false" aria-label="config"></textarea>
      <p>The config of <code>hvlab run --config</code>: <code>pool</code> (the host pool, e.g. "256M"), <code>ksm</code> (true: merge identical pages
      across the VMs), and per VM <code>name</code>, <code>image</code> (hvos), <code>mode</code> (trap-emulate, hvm-shadow, hvm-nested, pv),
      <code>memory</code> (e.g. "16M"), <code>io</code> (emulated, core, host), <code>weight</code> (1 to 65535), <code>cap</code> (percent, 0 = none).
      Start checks it all first: a bad config starts nothing.
      <a href="docs/web.md#many-vms" target="_blank" rel="noopener">docs/web.md</a></p>`;
    $('notice').after(config);
    const json = $<HTMLTextAreaElement>('multi-json');
    const presetText = (id: string) => configText((PRESETS.find((p) => p.id === id) ?? PRESETS[0]).config);
    json.value = presetText(presetId);
    preset.onchange = () => {
      json.value = presetText(preset.value);
      history.replaceState(null, '', `?view=multi${preset.value === DEFAULT_PRESET ? '' : `&preset=${preset.value}`}`);
      this.start();
    };
    $('multi-start').onclick = () => this.start();
    $('multi-pause').onclick = () => this.send({ type: this.state === 'paused' ? 'resume' : 'pause' });

    const consoles = $('consoles');
    consoles.innerHTML = `<div class="vm-list-scroll"><table id="vm-list" class="vm-list"><thead><tr><th>VM</th><th>mode</th><th>state</th>
      <th title="instructions retired since boot">instructions</th><th title="its part of the instructions in the last half second">share</th>
      <th title="the credit scheduler's weight">weight</th><th title="slices it ran">slices</th>
      <th title="slices another VM ran while it was runnable">waits</th><th>exits</th>
      <th title="host memory it holds: guest RAM, its hypervisor tables and saved state (a frame merged with others counts for each VM that maps it)">host MiB</th></tr></thead><tbody></tbody></table></div>
      <div class="vm"><div id="vm-tabs" class="tabs" role="tablist"></div><div id="vm-terms" class="term-stack"></div>
      <div class="shortcuts"></div></div>`;
    (consoles.querySelector('.shortcuts') as HTMLElement).textContent = `${SHORTCUTS} · the tab chooses the VM the keyboard types into; Ctrl-A N / Ctrl-A P: next / previous VM, Ctrl-A 1..9: that VM, Ctrl-A A: a Ctrl-A for the guest`;
    $('counters').hidden = true;
    (document.querySelector('.footnote') as HTMLElement).innerHTML = 'Each VM\'s share is its part of the instructions the '
      + 'scheduler ran in the last half second; a VM waiting at its prompt is blocked and costs nothing. '
      + '<a href="docs/multi-vm.md" target="_blank" rel="noopener">docs/multi-vm.md</a>';
  }

  /** Send the config to the worker; it answers started or start-error. */
  start(): void {
    this.notice('');
    this.send({ type: 'start', module: this.module, configText: $<HTMLTextAreaElement>('multi-json').value, images: this.images });
  }

  private send(msg: ToMultiWorker): void { this.worker.postMessage(msg); }

  private notice(message: string): void {
    const n = $('notice');
    n.textContent = message;
    n.hidden = message === '';
    if (message) this.lastError = message;
  }

  select(name: string): void {
    if (!this.consoles.has(name)) return;
    this.active = name;
    for (const [n, c] of this.consoles) c.show(n === name);
    for (const tr of $('vm-list').querySelectorAll('tbody tr')) (tr as HTMLElement).classList.toggle('active', (tr as HTMLElement).dataset.vm === name);
  }

  /**
   * Keys typed into a VM's terminal. Ctrl-A is a prefix, as in the CLI's console and in screen:
   * Ctrl-A N and Ctrl-A P switch to the next and previous VM, Ctrl-A 1..9 to the VM of that
   * number, Ctrl-A A sends a Ctrl-A to the guest; anything else after Ctrl-A is dropped.
   */
  private typed(name: string, data: string): void {
    if (this.prefix) {
      this.prefix = false;
      const names = this.vms.map((v) => v.name);
      const at = names.indexOf(this.active ?? name);
      const key = data.toLowerCase();
      if (key === 'n') this.select(names[(at + 1) % names.length]);
      else if (key === 'p') this.select(names[(at + names.length - 1) % names.length]);
      else if (/^[1-9]$/.test(key) && Number(key) <= names.length) this.select(names[Number(key) - 1]);
      else if (key === 'a' || data === CTRL_A) this.send({ type: 'input', vm: name, data: CTRL_A });
      return;
    }
    if (data === CTRL_A) { this.prefix = true; return; }
    this.send({ type: 'input', vm: name, data });
  }

  /** The pool plot's data: time, then one array per series (the browser test reads it). */
  framePlotData(): number[][] { return (this.framePlot?.plot.data ?? []) as number[][]; }

  /** A VM's terminal text (the browser test reads it). */
  screenText(name: string): string {
    const c = this.consoles.get(name);
    return c ? terminalText(c.term) : '';
  }

  private receive(m: FromMultiWorker): void {
    switch (m.type) {
      case 'started': this.started(m.vms); break;
      case 'start-error': this.notice(m.message); break;
      case 'console': {
        let chars = 0;
        for (const [name, text] of Object.entries(m.out)) {
          chars += text.length;
          const c = this.consoles.get(name);
          // Acknowledged once xterm has parsed it: the worker keeps at most CONSOLE_WINDOW in flight.
          if (c) c.term.write(text, () => this.send({ type: 'console-ack', chars: text.length }));
          else this.send({ type: 'console-ack', chars: text.length });
        }
        if (chars > CONSOLE_WINDOW) this.send({ type: 'ping' });
        break;
      }
      case 'state':
        this.state = m.state;
        $('multi-pause').textContent = m.state === 'paused' ? 'Resume' : 'Pause';
        if (m.message) this.notice(m.message);
        this.renderHeadline();
        break;
      case 'stats':
        this.stats = m;
        this.renderList();
        this.renderHeadline();
        break;
    }
  }

  /** A config was accepted: a console, a tab and a list row per VM; fresh plots. */
  private started(vms: MultiVmInfo[]): void {
    for (const c of this.consoles.values()) c.dispose();
    this.consoles.clear();
    this.vms = vms;
    this.stats = this.sampleBase = undefined;
    this.shares.clear();
    this.listKey = '';
    for (const info of vms) {
      this.consoles.set(info.name, new VmConsole(info, $('vm-terms'), $('vm-tabs'),
        (data) => this.typed(info.name, data), () => this.select(info.name)));
    }
    const plots = $('plots');
    plots.innerHTML = '';
    const shareHost = document.createElement('div');
    shareHost.id = 'share-plot';
    const frameHost = document.createElement('div');
    frameHost.id = 'frame-plot';
    const ksm = document.createElement('p');
    ksm.id = 'ksm-state';
    ksm.className = 'ksm-state';
    plots.append(shareHost, frameHost, ksm);
    this.sharePlot = new LivePlot({ id: 'share', title: 'scheduler share, % of instructions' }, shareHost, vms.map((v) => v.name), 100);
    this.framePlot = undefined;
    this.renderList();
    this.select(vms[0].name);
  }

  /** Every SAMPLE_MS: each VM's share of what the scheduler ran since the last sample. */
  private sample(): void {
    const cur = this.stats;
    if (!cur) return;
    const base = this.sampleBase;
    this.sampleBase = cur;
    if (base && base.vms.length === cur.vms.length && cur.t > base.t) {
      // A VM that rebooted starts its scheduler counters over: count what it ran since, not less than nothing.
      const ran = cur.vms.map((v, i) => Math.max(0, Number(v.schedInstructions - base.vms[i].schedInstructions)));
      const total = ran.reduce((a, b) => a + b, 0);
      cur.vms.forEach((v, i) => this.shares.set(v.name, total > 0 ? 100 * ran[i] / total : null));
      this.sharePlot?.push(cur.vms.map((v) => this.shares.get(v.name) ?? null));
    }
    const used = cur.pool.frames - cur.pool.free;
    const ksm = cur.ksm;
    if (!this.framePlot) {
      // The series are fixed when the plot is made: with merging on, also what the VMs would take without it.
      this.framePlot = new LivePlot({ id: 'frames', title: ksm ? 'host frames: used, and without merging (KSM on)' : 'host frames used (KSM off)' },
        $('frame-plot'), ksm ? ['used', 'without merging'] : ['used']);
    }
    // Without merging the VMs would hold every frame merging saved (pages_sharing), and the
    // scanner's own tables would not exist.
    this.framePlot.push(ksm ? [used, used - ksm.tableFrames + ksm.pagesSharing] : [used]);
    $('ksm-state').textContent = ksm
      ? `KSM on: ${ksm.pagesShared} shared frames, ${ksm.pagesSharing} guest pages merged into them `
        + `(${(ksm.pagesSharing / 256).toFixed(1)} MiB saved; the scanner's tables take ${ksm.tableFrames} frames), `
        + `${ksm.pagesUnshared} unshared, ${ksm.fullScans} full scans, ${ksm.cowBreaks} copy-on-write breaks`
      : 'KSM off: identical pages are not merged (the config\'s "ksm": true turns it on), so nothing is saved.';
    this.renderList();
  }

  private renderList(): void {
    const body = ($('vm-list') as HTMLTableElement).tBodies[0];
    const key = this.vms.map((v) => v.name).join(',');
    if (key !== this.listKey) {
      this.listKey = key;
      body.innerHTML = '';
      for (const info of this.vms) {
        const tr = body.insertRow();
        tr.dataset.vm = info.name;
        tr.innerHTML = `<td class="name"><a href="#" role="button"></a></td><td>${info.mode}</td><td class="state"></td>`
          + '<td class="v instr"></td><td class="v share"></td><td><select class="weight"></select></td>'
          + '<td class="v slices"></td><td class="v waits"></td><td class="v exits"></td><td class="v frames"></td>';
        const link = tr.querySelector('a') as HTMLAnchorElement;
        link.textContent = info.name;
        link.onclick = (ev) => { ev.preventDefault(); this.select(info.name); };
        const weight = tr.querySelector('select') as HTMLSelectElement;
        weight.setAttribute('aria-label', `${info.name} weight`);
        for (const w of new Set([...WEIGHTS, info.weight].sort((a, b) => a - b))) weight.add(new Option(String(w), String(w), false, w === info.weight));
        weight.onchange = () => {
          info.weight = Number(weight.value);
          this.send({ type: 'params', vm: info.name, weight: info.weight, cap: info.cap });
        };
        tr.classList.toggle('active', info.name === this.active);
      }
    }
    const s = this.stats;
    for (const tr of body.rows) {
      const v = s?.vms.find((x) => x.name === tr.dataset.vm);
      const cell = (cls: string) => tr.querySelector(`.${cls}`) as HTMLElement;
      const state = cell('state');
      state.textContent = v ? v.state : 'starting';
      state.dataset.state = v?.state ?? 'starting';
      state.title = v?.message ?? '';
      cell('instr').textContent = v ? v.instructions.toLocaleString('en-US') : '–';
      const share = v ? this.shares.get(v.name) : undefined;
      cell('share').textContent = share == null ? '–' : `${share.toFixed(1)} %`;
      cell('slices').textContent = v ? String(v.slices) : '–';
      cell('waits').textContent = v ? String(v.waits) : '–';
      cell('exits').textContent = v ? v.exits.toLocaleString('en-US') : '–';
      cell('frames').textContent = v ? (v.frames / 256).toFixed(1) : '–';
    }
  }

  private renderHeadline(): void {
    const s = this.stats;
    const cards: [string, string, string][] = [
      [String(this.vms.length), 'VMs', 'in one host: one core, one pool of 4 KiB frames'],
      [this.state, 'state', 'running: the scheduler runs slices; idle: every VM waits for input; paused'],
      [s ? `${((s.pool.frames - s.pool.free) / 256).toFixed(1)} MiB` : '–', `of ${s ? s.pool.frames / 256 : '–'} MiB pool used`,
        'host frames the VMs hold: guest RAM, tables, saved state'],
      [s ? (s.vms.reduce((a, v) => a + v.instructions, 0n)).toLocaleString('en-US') : '–', 'instructions, all VMs', 'retired since boot'],
    ];
    $('headline').innerHTML = cards.map(([value, label, title]) => `<div title="${title}"><b>${value}</b><span>${label}</span></div>`).join('');
  }
}

declare global {
  interface Window { hvlabMulti?: MultiApp }
}

/** Open the many-VM view: the preset from `?preset=` (or the first). */
export function startMulti(module: WebAssembly.Module, hvos: Uint8Array, search: string, note: (m: string) => void): MultiApp {
  const asked = new URLSearchParams(search).get('preset');
  const known = asked === null || PRESETS.some((p) => p.id === asked);
  const app = new MultiApp(module, { hvos }, known && asked !== null ? asked : DEFAULT_PRESET);
  window.hvlabMulti = app;
  // After the app's first start, which clears the notice.
  if (!known) note(`unknown preset '${asked}' (${PRESETS.map((p) => p.id).join(', ')}); using ${DEFAULT_PRESET}`);
  return app;
}
