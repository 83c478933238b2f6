/**
 * The console multiplexer of `hvlab run --config`: which VM's console the terminal shows, and
 * the Ctrl-A keys that switch it, as screen and tmux do. Pure (no I/O, no VMs): bytes typed in,
 * actions out, so the key handling is tested on its own (test/cli-multi.test.ts) and the
 * interactive and scripted runs share it.
 *
 *   Ctrl-A N, Space, Ctrl-N   next VM              Ctrl-A 0..9    VM number 0..9
 *   Ctrl-A P, Backspace, ^P   previous VM          Ctrl-A Ctrl-A  the VM shown before
 *   Ctrl-A A                  a literal Ctrl-A     Ctrl-A T       the `hvlab top` table once
 *   Ctrl-A X                  quit                 Ctrl-A H, ?    the keys
 *
 * Any other key after Ctrl-A is dropped, as screen does with an unbound key.
 */

export const CTRL_A = 0x01;
const CTRL_N = 0x0e;
const CTRL_P = 0x10;
const BACKSPACE = 0x08;
const DEL = 0x7f;

export type MuxAction =
  /** bytes typed for VM `vm` (the one shown when they were typed) */
  | { kind: 'input'; vm: number; bytes: Uint8Array }
  /** the terminal now shows VM `to` (it was showing `from`) */
  | { kind: 'switch'; from: number; to: number }
  /** Ctrl-A then a digit naming no VM */
  | { kind: 'no-such-vm'; index: number }
  | { kind: 'top' }
  | { kind: 'help' }
  | { kind: 'quit' };

export const MUX_HELP = [
  'C-a n  next VM          C-a p  previous VM    C-a 0..9  VM by number',
  'C-a C-a  the VM before  C-a t  the top table  C-a a  send C-a to the VM',
  'C-a x  quit hvlab       C-a h  these keys',
];

export class ConsoleMux {
  /** The VM the terminal shows. */
  focus = 0;
  /** The VM shown before the last switch (Ctrl-A Ctrl-A goes back to it). */
  private previous = 0;
  /** A Ctrl-A came last: the next byte is a command. It may arrive in a later feed(). */
  private escape = false;

  constructor(readonly count: number) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`ConsoleMux: ${count} VMs`);
  }

  /** Take typed bytes; return what they ask for, in order. */
  feed(bytes: Uint8Array): MuxAction[] {
    const actions: MuxAction[] = [];
    let pending: number[] = [];
    const flush = () => {
      if (pending.length) actions.push({ kind: 'input', vm: this.focus, bytes: Uint8Array.from(pending) });
      pending = [];
    };
    const go = (to: number) => {
      flush();
      if (to === this.focus) return;
      actions.push({ kind: 'switch', from: this.focus, to });
      this.previous = this.focus;
      this.focus = to;
    };
    for (const b of bytes) {
      if (!this.escape) {
        if (b === CTRL_A) this.escape = true;
        else pending.push(b);
        continue;
      }
      this.escape = false;
      const k = b >= 0x41 && b <= 0x5a ? b + 0x20 : b; // letters either case
      if (k === 0x6e /* n */ || k === 0x20 || k === CTRL_N) go((this.focus + 1) % this.count);
      else if (k === 0x70 /* p */ || k === BACKSPACE || k === DEL || k === CTRL_P) go((this.focus + this.count - 1) % this.count);
      else if (k === CTRL_A) go(this.previous);
      else if (k >= 0x30 && k <= 0x39) {
        const index = k - 0x30;
        if (index < this.count) go(index);
        else { flush(); actions.push({ kind: 'no-such-vm', index }); }
      } else if (k === 0x61 /* a */) pending.push(CTRL_A);
      else if (k === 0x74 /* t */) { flush(); actions.push({ kind: 'top' }); }
      else if (k === 0x68 /* h */ || k === 0x3f /* ? */) { flush(); actions.push({ kind: 'help' }); }
      else if (k === 0x78 /* x */) { flush(); actions.push({ kind: 'quit' }); return actions; }
    }
    flush();
    return actions;
  }
}

/**
 * The recent output of one VM's console, replayed when the terminal switches to it: at most
 * `max` characters (default 4096, about two screens of 80 columns), cut at a line start when
 * one is near so the replay does not begin mid-line.
 */
export class ConsoleTail {
  private text = '';
  constructor(readonly max = 4096) {}

  push(s: string): void {
    this.text += s;
    // Trim at twice the bound, so a chatty guest costs one slice per `max` characters.
    if (this.text.length > 2 * this.max) this.text = this.text.slice(this.text.length - this.max);
  }

  /** The replay: the last `max` characters, from the first line start among them if any. */
  recent(): string {
    let s = this.text.length > this.max ? this.text.slice(this.text.length - this.max) : this.text;
    if (s.length < this.text.length) {
      const nl = s.indexOf('\n');
      if (nl >= 0 && nl < s.length - 1) s = s.slice(nl + 1);
    }
    return s;
  }
}
