/**
 * What the page's two runners (src/web/runner.ts, one VM; src/web/multi-runner.ts, many VMs in
 * one Host) do alike between the slices they run: the generation that stops an older loop, the
 * run state posted when it changes, the console window the page acknowledges (CONSOLE_WINDOW),
 * sleeping until woken (input, pause, a new boot) and yielding to the event loop without
 * setTimeout's clamp. Environment-neutral, as both runners are.
 */
import type { StopInfo } from '../vm.js';
import { CONSOLE_WINDOW } from './protocol.js';

/** Node's setImmediate (absent in browsers). */
const nodeImmediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;

/** Why a guest halted, as the page says it. */
export function haltMessage(info: StopInfo): string {
  return info.reason === 'pass' ? 'the guest powered off'
    : info.reason === 'fail' ? `the guest stopped with failure code ${info.code}`
    : info.message ?? `the guest stopped (${info.reason})`;
}

/** The run states both protocols have (src/web/protocol.ts RunState, src/web/multi-protocol.ts MultiState). */
type LoopState = 'running' | 'paused' | 'error';

/** The state message both protocols share (src/web/protocol.ts, src/web/multi-protocol.ts). */
type StateMessage<S> = { type: 'state'; state: S; message?: string };

export abstract class SliceLoop<S extends string, Msg extends { type: string }> {
  /** Run slices until the generation `gen` is over (a pause, a new boot or start). */
  protected abstract loop(gen: number): Promise<void>;
  /** Post the console output kept since the last call. */
  protected abstract flushConsole(): void;
  protected abstract postStats(): void;

  /** Incremented by every boot, start, reset, pause and resume: a loop of an older generation stops. */
  protected gen = 0;
  protected paused = false;
  /** Console characters posted and not yet acknowledged by the page (CONSOLE_WINDOW). */
  protected unacked = 0;
  protected lastStats = -Infinity;
  private wake?: () => void;
  private readonly channel?: MessageChannel;
  private readonly yielders: (() => void)[] = [];

  /** `check`: a runner's state type must hold LoopState, or it cannot extend this class. */
  protected constructor(protected readonly post: (m: Msg | StateMessage<S>) => void, protected state: S,
    ...check: LoopState extends S ? [] : [never]) {
    void check;
    // A MessageChannel round trip yields to the event loop without setTimeout's 4 ms clamp.
    // Node has setImmediate for that, and drains a port's messages without visiting timers.
    if (!nodeImmediate && typeof MessageChannel !== 'undefined') {
      this.channel = new MessageChannel();
      this.channel.port1.onmessage = () => this.yielders.shift()?.();
    }
  }

  /** Stop running and release the message channel (tests; a worker is simply terminated). */
  dispose(): void {
    this.gen++;
    this.wakeUp();
    this.channel?.port1.close();
    this.channel?.port2.close();
  }

  /** Called when a loop throws, before the state becomes 'error'. */
  protected onLoopError(): void {}

  /** A new generation of the loop; a loop that throws leaves its console posted and the state 'error'. */
  protected startLoop(): void {
    const gen = ++this.gen;
    this.setState('running');
    this.loop(gen).catch((e: unknown) => {
      this.flushConsole();
      this.onLoopError();
      this.setState('error', e instanceof Error ? e.message : String(e));
    });
  }

  /** Pause when there is something running to pause (`can`); answered with the state either way. */
  protected pause(can: boolean): void {
    if (!can || this.paused) { this.answer(); return; }
    this.paused = true;
    this.gen++;
    this.wakeUp();
    this.setState('paused');
    this.postStats();
  }

  /** Resume a paused loop (`can`: there is one); answered with the state either way. */
  protected resume(can: boolean): void {
    if (!can || !this.paused) { this.answer(); return; }
    this.paused = false;
    this.startLoop();
  }

  /** End a sleep() early. */
  protected wakeUp(): void { this.wake?.(); }

  /** The page showed `chars` more console characters: past the window the loop waits for that. */
  protected consoleAck(chars: number): void {
    this.unacked = Math.max(0, this.unacked - (Number.isFinite(chars) ? chars : 0));
    if (this.unacked <= CONSOLE_WINDOW) this.wakeUp();
  }

  /** The page has not shown what was sent: wait for it (flow control), stats flowing meanwhile. */
  protected async waitForConsoleAck(gen: number, statsMs: number): Promise<void> {
    while (this.unacked > CONSOLE_WINDOW && gen === this.gen) {
      if (!await this.sleep(statsMs)) this.postStats();
    }
  }

  /** Every control is answered with the state, even when it changes nothing. */
  protected answer(): void { this.post({ type: 'state', state: this.state }); }

  protected setState(state: S | LoopState, message?: string): void {
    if (state === this.state && message === undefined) return;
    // S holds LoopState (the constructor's check).
    this.state = state as S;
    this.post({ type: 'state', state: this.state, message });
  }

  /** Sleep up to `ms`; resolves true if woken early (input, pause, reset, boot). */
  protected sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wake = undefined; resolve(false); }, ms);
      this.wake = () => { clearTimeout(timer); this.wake = undefined; resolve(true); };
    });
  }

  protected yieldTask(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.channel) {
        if (nodeImmediate) nodeImmediate(resolve);
        else setTimeout(resolve, 0);
        return;
      }
      this.yielders.push(resolve);
      this.channel.port2.postMessage(null);
    });
  }
}
