/**
 * The GDB stub: `hvlab run --gdb PORT` serves the GDB remote serial protocol on 127.0.0.1:PORT
 * for one client at a time (docs/debugger.md "GDB"). It owns the VM's run loop: the guest runs
 * in slices between which the event loop reads the socket (so Ctrl-C stops a running guest),
 * and stops at breakpoints, watchpoints and steps through src/debug.ts.
 *
 * Packets served (GDB manual, appendix E): ? g G p P m M X, Z0-Z4 and z0-z4, c s vCont,
 * D k, qSupported qXfer:features:read qAttached qC qfThreadInfo/qsThreadInfo qOffsets qSymbol
 * qRcmd (monitor commands), QStartNoAckMode, H. Anything else gets the empty reply ("not
 * supported"); a malformed packet gets an error reply (E01 bad syntax, E14 bad address, E22
 * bad argument), never an exception.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Debugger, DebugMemoryError, type DebugStop, type WatchKind } from '../debug.js';
import type { StopInfo, Vm } from '../vm.js';
import { fromHex, MAX_PACKET, PacketReader, parseHexNumber, parseRegHex, regHex, toHex, frame, unescapeBinary } from './packets.js';
import { CSRS, REG_CSR0, REG_F0, REG_PC, REG_PRIV, REG_VIRT, registerBytes, targetXml } from './target.js';
import { monitorCommand } from './monitor.js';

/** Instructions per run slice: short enough that Ctrl-C is prompt (well under a millisecond's worth of events). */
const SLICE = 1_000_000;
const SIGTRAP = 5;
const SIGINT = 2;

export interface GdbServerOptions {
  port: number;
  /** Wait for the debugger before the first instruction (QEMU's -S). */
  wait: boolean;
  /** Called when the guest idles: deliver input if there is some (true), else false. */
  onIdle?: () => boolean;
  /** True when the run should end because the guest idles with nothing left to deliver and no debugger attached. */
  shouldEnd?: () => boolean;
  /** One line of diagnostics (connections, errors) for stderr. */
  log?: (line: string) => void;
}

/** How the run ended. */
export type GdbRunEnd = { kind: 'exited'; info: StopInfo } | { kind: 'killed' } | { kind: 'idle' };

export class GdbServer {
  readonly dbg: Debugger;
  private server?: Server;
  private client?: Socket;
  private reader = new PacketReader();
  private noAck = false;
  private running: boolean;
  /** The stop GDB was (or will be) told about last. */
  private lastStop = stopReply(SIGTRAP);
  /** GDB is waiting for a stop reply (after c, s, vCont, or a Ctrl-C while running). */
  private replyPending = false;
  private ended?: GdbRunEnd;
  private wake?: () => void;
  private loopDone?: Promise<GdbRunEnd>;
  boundPort = 0;

  constructor(readonly vm: Vm, readonly opts: GdbServerOptions) {
    this.dbg = new Debugger(vm);
    this.running = !opts.wait;
  }

  /** Listen on 127.0.0.1 (port 0: any free port; boundPort says which). */
  async listen(): Promise<number> {
    const server = createServer((sock) => this.accept(sock));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
    });
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : this.opts.port;
    return this.boundPort;
  }

  /** Run the guest until it ends or GDB kills it; serves GDB meanwhile. */
  run(): Promise<GdbRunEnd> {
    this.loopDone ??= this.loop();
    return this.loopDone;
  }

  async close(): Promise<void> {
    this.client?.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(sock: Socket): void {
    if (this.client) {
      // One debugger at a time, as QEMU's stub.
      sock.end();
      return;
    }
    this.client = sock;
    this.noAck = false;
    this.reader = new PacketReader();
    sock.setNoDelay(true);
    this.opts.log?.(`gdb: debugger connected from ${sock.remoteAddress}:${sock.remotePort}`);
    // Attaching stops the guest (GDB asks '?' and expects it stopped).
    if (this.running) {
      this.running = false;
      this.lastStop = stopReply(SIGTRAP);
    }
    sock.on('data', (chunk) => this.onData(chunk));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (this.client !== sock) return;
      this.client = undefined;
      this.opts.log?.('gdb: debugger disconnected; the guest runs on');
      // A debugger that went away without detaching: forget its points and run on.
      this.dbg.detach();
      this.running = true;
      this.kick();
    });
  }

  private send(data: string | Buffer): void {
    this.client?.write(frame(data));
  }

  private onData(chunk: Buffer): void {
    for (const item of this.reader.feed(chunk)) {
      if (item.kind === 'interrupt') {
        if (this.running) { this.dbg.pause(); this.replyPending = true; }
        continue;
      }
      if (item.kind === 'ack') continue;
      if (item.kind === 'bad-checksum') {
        if (!this.noAck) this.client?.write('-');
        continue;
      }
      if (!this.noAck) this.client?.write('+');
      let reply: string | Buffer | undefined;
      try {
        reply = this.handle(item.data);
      } catch (e) {
        // A packet the stub did not foresee must not take the VM down.
        this.opts.log?.(`gdb: error serving ${item.data.toString('latin1').slice(0, 40)}: ${(e as Error).message}`);
        reply = 'E01';
      }
      if (reply !== undefined) this.send(reply);
    }
  }

  /** Serve one packet; undefined when the reply comes later (a stop after c or s). */
  private handle(pkt: Buffer): string | Buffer | undefined {
    const text = pkt.toString('latin1');
    const cmd = text[0];
    // A packet that arrives while the guest runs (anything but Ctrl-C) is answered as if
    // stopped: GDB in all-stop mode sends none, so this only guards against a bad client.
    switch (cmd) {
      case '?': return this.lastStop;
      case 'g': return this.readAllRegisters();
      case 'G': return this.writeAllRegisters(text.slice(1));
      case 'p': return this.readRegister(text.slice(1));
      case 'P': return this.writeRegister(text.slice(1));
      case 'm': return this.readMemory(text.slice(1));
      case 'M': return this.writeMemory(text.slice(1));
      case 'X': return this.writeBinary(pkt);
      case 'Z': case 'z': return this.point(cmd === 'Z', text.slice(1));
      case 'c': return this.resume('continue', text.slice(1));
      case 's': return this.resume('step', text.slice(1));
      case 'v': return this.vPacket(text);
      case 'D': {
        this.dbg.detach();
        this.running = true;
        this.send('OK');
        this.opts.log?.('gdb: detached; the guest runs on');
        const c = this.client;
        this.client = undefined;
        c?.end();
        this.kick();
        return undefined;
      }
      case 'k':
        this.ended = { kind: 'killed' };
        this.client?.end();
        this.client = undefined;
        this.kick();
        return undefined;
      case 'H': return 'OK';
      case 'T': return 'OK'; // thread 1 is alive
      case 'q': return this.query(text);
      case 'Q':
        if (text === 'QStartNoAckMode') { this.send('OK'); this.noAck = true; return undefined; }
        return '';
      default: return '';
    }
  }

  private query(text: string): string | Buffer {
    if (text.startsWith('qSupported')) {
      return `PacketSize=${MAX_PACKET.toString(16)};qXfer:features:read+;swbreak+;hwbreak+;QStartNoAckMode+;vContSupported+`;
    }
    if (text.startsWith('qXfer:features:read:')) {
      const m = /^qXfer:features:read:([^:]*):([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(text);
      if (!m) return 'E01';
      if (m[1] !== 'target.xml') return 'E00';
      const xml = Buffer.from(targetXml(), 'latin1');
      const off = parseInt(m[2], 16);
      const len = Math.min(parseInt(m[3], 16), MAX_PACKET - 8);
      if (off > xml.length) return 'E22';
      const part = xml.subarray(off, off + len);
      return Buffer.concat([Buffer.from(off + len >= xml.length ? 'l' : 'm'), part]);
    }
    if (text === 'qAttached') return '1';
    if (text === 'qC') return 'QC1';
    if (text === 'qfThreadInfo') return 'm1';
    if (text === 'qsThreadInfo') return 'l';
    if (text === 'qSymbol::') return 'OK';
    if (text.startsWith('qRcmd,')) {
      const bytes = fromHex(text.slice(6));
      if (!bytes) return 'E01';
      const out = monitorCommand(this.dbg, Buffer.from(bytes).toString('latin1'));
      // Output goes in O packets (hex of the text), then the final OK.
      for (let i = 0; i < out.length; i += 512) this.send('O' + toHex(Buffer.from(out.slice(i, i + 512), 'latin1')));
      return 'OK';
    }
    return '';
  }

  private vPacket(text: string): string | undefined {
    if (text === 'vCont?') return 'vCont;c;C;s;S';
    if (text.startsWith('vCont;')) {
      // One thread: the first action decides (s or c; a signal to deliver is ignored).
      const action = text.slice(6).split(';')[0].split(':')[0];
      if (action === 's' || action.startsWith('S')) return this.resume('step', '');
      if (action === 'c' || action.startsWith('C')) return this.resume('continue', '');
      return 'E22';
    }
    if (text === 'vMustReplyEmpty') return '';
    if (text.startsWith('vKill')) { this.handle(Buffer.from('k')); return 'OK'; }
    return '';
  }

  // ---- registers ----

  private registerValue(n: number): bigint | undefined {
    if (n >= 0 && n < 32) return this.dbg.registers()[n];
    if (n === REG_PC) return this.dbg.pc;
    if (n >= REG_F0 && n < REG_F0 + 32) return this.dbg.fregisters()[n - REG_F0];
    if (n >= REG_CSR0 && n < REG_CSR0 + 4096) return this.dbg.csr(n - REG_CSR0);
    if (n === REG_PRIV) return BigInt(this.dbg.privilege().level);
    if (n === REG_VIRT) return this.dbg.privilege().virt ? 1n : 0n;
    return undefined;
  }

  private readAllRegisters(): string {
    const regs = this.dbg.registers();
    return regs.map((v) => regHex(v)).join('') + regHex(this.dbg.pc);
  }

  private writeAllRegisters(hex: string): string {
    if (hex.length < 33 * 16 || !/^[0-9a-fA-F]+$/.test(hex)) return 'E01';
    for (let i = 0; i < 32; i++) this.dbg.setRegister(i, parseRegHex(hex.slice(i * 16, i * 16 + 16))!);
    this.dbg.pc = parseRegHex(hex.slice(32 * 16, 33 * 16))!;
    return 'OK';
  }

  private readRegister(arg: string): string {
    const n = parseHexNumber(arg);
    if (n === undefined || n > 0xFFFFn) return 'E01';
    const bytes = registerBytes(Number(n));
    const v = this.registerValue(Number(n));
    // A register the current view does not have reads as unavailable.
    return v === undefined ? 'xx'.repeat(bytes) : regHex(v, bytes);
  }

  private writeRegister(arg: string): string {
    const m = /^([0-9a-fA-F]+)=([0-9a-fA-F]+)$/.exec(arg);
    if (!m) return 'E01';
    const n = parseInt(m[1], 16);
    const v = parseRegHex(m[2]);
    if (v === undefined) return 'E01';
    if (n >= 0 && n < 32) { this.dbg.setRegister(n, v); return 'OK'; }
    if (n === REG_PC) { this.dbg.pc = v; return 'OK'; }
    if (n >= REG_F0 && n < REG_F0 + 32) { this.dbg.setFregister(n - REG_F0, v); return 'OK'; }
    if (n >= REG_CSR0 && n < REG_CSR0 + 4096) return this.dbg.setCsr(n - REG_CSR0, v) ? 'OK' : 'E22';
    return 'E22'; // priv and virt are the hart's: change them by running it
  }

  // ---- memory ----

  private range(arg: string): { addr: bigint; len: number } | undefined {
    const m = /^([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8})$/.exec(arg);
    if (!m) return undefined;
    const len = parseInt(m[2], 16);
    if (len > MAX_PACKET) return undefined;
    return { addr: BigInt('0x' + m[1]), len };
  }

  private readMemory(arg: string): string {
    const r = this.range(arg);
    if (!r) return 'E01';
    try {
      return toHex(this.dbg.readMemory(r.addr, r.len));
    } catch (e) {
      if (e instanceof DebugMemoryError) return 'E14';
      throw e;
    }
  }

  private writeMemory(arg: string): string {
    const colon = arg.indexOf(':');
    const r = colon < 0 ? undefined : this.range(arg.slice(0, colon));
    const data = colon < 0 ? undefined : fromHex(arg.slice(colon + 1));
    if (!r || !data || data.length !== r.len) return 'E01';
    return this.store(r.addr, data);
  }

  private writeBinary(pkt: Buffer): string {
    const colon = pkt.indexOf(0x3A);
    const r = colon < 0 ? undefined : this.range(pkt.subarray(1, colon).toString('latin1'));
    if (!r) return 'E01';
    const data = unescapeBinary(pkt.subarray(colon + 1));
    if (data.length !== r.len) return 'E01';
    return this.store(r.addr, data);
  }

  private store(addr: bigint, data: Uint8Array): string {
    try {
      this.dbg.writeMemory(addr, data);
      return 'OK';
    } catch (e) {
      if (e instanceof DebugMemoryError) return 'E14';
      throw e;
    }
  }

  // ---- breakpoints and watchpoints ----

  private point(insert: boolean, arg: string): string {
    const m = /^([0-4]),([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8})(;.*)?$/.exec(arg);
    if (!m) return 'E01';
    const type = Number(m[1]);
    const addr = BigInt('0x' + m[2]);
    const kind = BigInt('0x' + m[3]);
    try {
      if (type <= 1) {
        // Z0 and Z1 are the same here: the core checks the address at fetch, so no
        // instruction is written into guest memory (docs/debugger.md).
        if (insert) this.dbg.setBreakpoint(addr); else this.dbg.clearBreakpoint(addr);
        return 'OK';
      }
      const watch: WatchKind = type === 2 ? 'write' : type === 3 ? 'read' : 'access';
      if (insert) this.dbg.setWatchpoint(addr, kind, watch); else this.dbg.clearWatchpoint(addr, kind, watch);
      return 'OK';
    } catch {
      return 'E22';
    }
  }

  // ---- running ----

  private resume(how: 'continue' | 'step', arg: string): string | undefined {
    if (arg !== '') {
      const addr = parseHexNumber(arg);
      if (addr === undefined) return 'E01';
      this.dbg.pc = addr;
    }
    this.replyPending = true;
    if (how === 'step') {
      this.report(this.dbg.step());
      return undefined;
    }
    this.running = true;
    this.kick();
    return undefined;
  }

  /** Tell GDB about a stop (if it waits for one) and remember it for '?'. */
  private report(s: DebugStop): void {
    let reply: string;
    switch (s.kind) {
      case 'breakpoint': reply = stopReply(SIGTRAP, 'swbreak:;'); break;
      case 'watchpoint': {
        const key = s.watch === 'write' ? 'watch' : s.watch === 'read' ? 'rwatch' : 'awatch';
        reply = stopReply(SIGTRAP, `${key}:${s.address.toString(16)};`);
        break;
      }
      case 'paused': reply = stopReply(SIGINT); break;
      case 'exited': {
        this.ended = { kind: 'exited', info: s.info };
        reply = s.info.reason === 'pass' ? 'W00' : `W${Math.min(255, s.info.code || 1).toString(16).padStart(2, '0')}`;
        break;
      }
      default: reply = stopReply(SIGTRAP);
    }
    this.running = false;
    this.lastStop = reply;
    if (this.replyPending && this.client) {
      this.replyPending = false;
      this.send(reply);
    }
  }

  private kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async loop(): Promise<GdbRunEnd> {
    while (!this.ended) {
      if (!this.running) {
        await new Promise<void>((resolve) => { this.wake = resolve; });
        continue;
      }
      const s = this.dbg.cont(SLICE, this.opts.onIdle);
      if (s.kind === 'stopped') {
        // A slice ended: let the socket be read, then go on.
        if (this.opts.shouldEnd?.() && !this.client) { this.ended = { kind: 'idle' }; break; }
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      if (s.kind === 'idle') {
        // Only input can wake the guest: wait for some (or for the debugger).
        if (!this.client && this.opts.shouldEnd?.()) { this.ended = { kind: 'idle' }; break; }
        await new Promise<void>((resolve) => setTimeout(resolve, 20));
        continue;
      }
      if (s.kind === 'exited' && !this.client) { this.ended = { kind: 'exited', info: s.info }; break; }
      if (!this.client && s.kind !== 'exited') continue; // a stale pause with nobody to tell
      this.report(s);
    }
    return this.ended!;
  }
}

function stopReply(signal: number, extra = ''): string {
  return `T${signal.toString(16).padStart(2, '0')}${extra}thread:1;`;
}

/** The CSR names GDB knows, for the monitor's register listing. */
export const CSR_NAMES = new Map(CSRS.map(([n, c]) => [c, n]));
