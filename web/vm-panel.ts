/**
 * One VM on the page: its worker (src/web/worker.ts) and its xterm console. The panel sends
 * keystrokes and controls to the worker and keeps what comes back: console text, the run
 * state, and the last two stats messages (for rates).
 */
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import type { BootConfig, FromWorker, RunState, StatsMessage, ToWorker, WalkReply, WalkRequest } from '../src/web/protocol.js';
import { ANY_PROMPT } from './images.js';

export interface BootRequest {
  module: WebAssembly.Module; config: BootConfig; image: Uint8Array; imageName: string;
  initrd?: Uint8Array; initrdName?: string;
}

/** A request without its id (distributed over the union, so each message keeps its own fields). */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** Shown under each terminal; handled by attachCopyPaste(). */
export const SHORTCUTS = 'Ctrl+Shift+C copy · Ctrl+Shift+V paste (⌘C/⌘V on a Mac) · Ctrl+C interrupt · Ctrl+D end of input';

/** How long a control may go unanswered before the worker is replaced (it yields every ~30 ms). */
const WATCHDOG_MS = 3000;

/** A console terminal as every VM on the page has it. */
export function makeTerminal(): Terminal {
  return new Terminal({
    cursorBlink: true, fontSize: window.innerWidth < 500 ? 12 : 14, scrollback: 5000, allowProposedApi: false,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
    // At a line height of 1 the underscore of DejaVu Sans Mono falls below the cell and is
    // clipped ("virtio_blk" read "virtio blk"); a little leading keeps it.
    lineHeight: 1.15,
    theme: { background: '#101418', foreground: '#d8dee4' },
  });
}

/**
 * Copy and paste on Ctrl+Shift+C/V, without losing Ctrl+C (interrupt) and Ctrl+V to the
 * guest's terminal keys. Shared with the many-VM view's terminals (web/multi.ts).
 */
export function attachCopyPaste(term: Terminal): void {
  term.attachCustomKeyEventHandler((ev) => {
    if (ev.type !== 'keydown' || !ev.ctrlKey || !ev.shiftKey) return true;
    if (ev.code === 'KeyC') {
      if (term.hasSelection()) void navigator.clipboard?.writeText(term.getSelection());
      ev.preventDefault();
      return false;
    }
    // Let the browser's paste reach xterm's textarea, which types the text into onData.
    if (ev.code === 'KeyV') return false;
    return true;
  });
}

/** The terminal's text: one line per line of output (wrapped rows joined), no trailing blank rows. */
export function terminalText(term: Terminal): string {
  const buf = term.buffer.active;
  const lines: string[] = [];
  for (let i = 0; i < buf.length; i++) {
    const line = buf.getLine(i);
    const text = line?.translateToString(true) ?? '';
    if (line?.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
    else lines.push(text);
  }
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.join('\n');
}

export class VmPanel {
  readonly term: Terminal;
  private readonly fit = new FitAddon();
  private worker!: Worker;
  private lastBoot?: BootRequest;
  state: RunState = 'booting';
  stateMessage = '';
  /** Set while the page fetches the next image (web/main.ts): shown instead of the worker's state. */
  loading?: string;
  stats?: StatsMessage;
  prevStats?: StatsMessage;
  /** The end of the console output, for prompt detection. */
  private tail = '';
  private watchdog?: ReturnType<typeof setTimeout>;
  onStats?: (p: VmPanel) => void;
  onState?: (p: VmPanel) => void;
  onBootError?: (p: VmPanel, message: string) => void;
  /** Called with each chunk of console output (after it is written to the terminal). */
  onOutput?: (p: VmPanel, text: string) => void;
  /** Console characters received since boot (a lesson waits for output after what it typed). */
  outputChars = 0;
  /** Requests with an id waiting for their answer (ask()). */
  private readonly waiting = new Map<number, (m: FromWorker) => void>();
  private nextId = 1;

  constructor(readonly name: string, termHost: HTMLElement) {
    this.term = makeTerminal();
    this.term.loadAddon(this.fit);
    this.term.open(termHost);
    attachCopyPaste(this.term);
    this.term.onData((data) => this.send({ type: 'input', data }));
    new ResizeObserver(() => this.refit()).observe(termHost);
    this.refit();
    this.spawn();
    // After spawn: the first fit above happens before there is a worker (boot sends the size).
    this.term.onResize(({ cols, rows }) => this.send({ type: 'resize', cols, rows }));
  }

  private spawn(): void {
    this.worker = new Worker(new URL('../src/web/worker.ts', import.meta.url), { type: 'module', name: `hvlab-${this.name}` });
    this.worker.onmessage = (ev: MessageEvent<FromWorker>) => this.receive(ev.data);
    this.worker.onerror = (ev) => this.setState('error', `the VM worker failed: ${ev.message}`);
  }

  refit(): void {
    // The fit addon measures the element; skip while it is hidden (zero size).
    const el = this.term.element;
    if (!el || el.clientWidth === 0 || el.clientHeight === 0) return;
    this.fit.fit();
  }

  /**
   * The next image is being fetched: say so in the state and on the terminal's last line, and
   * pause the guest that runs now (it is about to be replaced).
   */
  showLoading(message: string): void {
    if (this.loading === undefined) {
      this.term.reset();
      this.tail = '';
      if (this.lastBoot) this.pause();
    }
    this.loading = message;
    this.term.write(`\r\x1b[K${message}`);
    this.onState?.(this);
  }

  /** The image could not be fetched: the panel shows the reason as an error state. */
  loadFailed(message: string): void {
    this.loading = undefined;
    this.term.write(`\r\n\x1b[31m${message}\x1b[0m\r\n`);
    this.setState('error', message);
  }

  boot(req: BootRequest): void {
    // xterm parses writes later: the progress line may still be queued, so clear the screen
    // with a write (RIS, ECMA-48 8.3.105) that lands after it, not only with reset().
    if (this.loading !== undefined) this.term.write('\x1bc');
    this.loading = undefined;
    this.lastBoot = req;
    this.term.reset();
    this.tail = '';
    this.outputChars = 0;
    this.stats = this.prevStats = undefined;
    this.setState('booting', '');
    this.send({ type: 'resize', cols: this.term.cols, rows: this.term.rows });
    this.send({ type: 'boot', ...req });
  }

  pause(): void { this.control({ type: 'pause' }); }
  resume(): void { this.control({ type: 'resume' }); }
  reset(): void {
    this.term.reset();
    this.tail = '';
    this.control({ type: 'reset' });
  }
  type(data: string): void { this.send({ type: 'input', data }); }
  /** Ask for fresh counters: the next stats message is read before any later message is handled. */
  requestStats(): void { this.send({ type: 'ping', id: 0 }); }
  focus(): void { this.term.focus(); }

  /**
   * Send a request that the worker answers with the same id (snapshot, restore, the stored
   * snapshot, the disk, a page walk, ping), and resolve with the answer. `msg` gets its id here.
   */
  ask<T extends FromWorker>(msg: WithoutId<Extract<ToWorker, { id: number }>>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve) => {
      this.waiting.set(id, (m) => resolve(m as T));
      this.send({ ...msg, id } as ToWorker);
    });
  }

  /** Counters read now (a ping: its stats message comes before its pong). */
  async freshStats(): Promise<StatsMessage | undefined> {
    await this.ask({ type: 'ping' });
    return this.stats;
  }

  /** A restored snapshot replaced the machine: the terminal shows the console it was saved with. */
  showRestored(consoleText: string): void {
    this.term.reset();
    const text = consoleText.replace(/\r?\n/g, '\r\n');
    this.term.write(text);
    this.tail = consoleText.slice(-64);
    this.outputChars = 0;
    this.stats = this.prevStats = undefined;
  }

  /** True if the console ends with the shell's prompt. */
  atPrompt(): boolean { return ANY_PROMPT.test(this.tail); }

  /** The terminal's text: one line per line of output (wrapped rows joined), no trailing blank rows. */
  screenText(): string { return terminalText(this.term); }

  dispose(): void {
    this.worker.terminate();
    this.term.dispose();
  }

  private send(msg: ToWorker): void { this.worker.postMessage(msg); }

  /** Ask the worker for a page-walk trace (and vmprint, memory map): answered between chunks. */
  walk(req: Omit<WalkRequest, 'type' | 'id'>): Promise<WalkReply> {
    return this.ask<WalkReply>({ type: 'walk', ...req });
  }

  /** A control message the worker must answer with a state; if it does not, replace it. */
  private control(msg: ToWorker): void {
    this.send(msg);
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      this.worker.terminate();
      this.spawn();
      if (this.lastBoot) this.boot(this.lastBoot);
    }, WATCHDOG_MS);
  }

  private receive(m: FromWorker): void {
    switch (m.type) {
      case 'console':
        // Acknowledged once xterm has parsed it (or dropped: the old guest's last words while it
        // is being replaced): the worker keeps at most CONSOLE_WINDOW characters in flight
        // (docs/io.md "Bounds").
        if (this.loading !== undefined) { this.send({ type: 'console-ack', chars: m.text.length }); break; }
        this.term.write(m.text, () => this.send({ type: 'console-ack', chars: m.text.length }));
        this.tail = (this.tail + m.text).slice(-64);
        this.outputChars += m.text.length;
        this.onOutput?.(this, m.text);
        break;
      case 'state':
        clearTimeout(this.watchdog);
        this.setState(m.state, m.message ?? '');
        break;
      case 'stats':
        clearTimeout(this.watchdog);
        this.prevStats = this.stats;
        this.stats = m;
        this.onStats?.(this);
        break;
      case 'boot-error':
        this.term.write(`\r\n\x1b[31m${m.message}\x1b[0m\r\n`);
        this.onBootError?.(this, m.message);
        break;
      case 'booted':
        break;
      case 'pong':
      case 'walk':
      case 'snapshot':
      case 'restored':
      case 'restore-error':
      case 'stored':
      case 'disk': {
        const answer = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        answer?.(m);
        break;
      }
    }
  }

  private setState(state: RunState, message: string): void {
    this.state = state;
    this.stateMessage = message;
    this.onState?.(this);
  }
}
