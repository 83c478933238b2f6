/**
 * The messages between the page's many-VM view (web/multi.ts) and its worker
 * (src/web/multi-worker.ts), one union each way. One worker holds one Host (src/host.ts): every
 * VM of the config in one core and one pool, shared out by the Scheduler (src/sched.ts).
 * Structured-cloneable, as src/web/protocol.ts. docs/web.md "Many VMs" describes it.
 */
import type { KsmStats } from '../host.js';

export type ToMultiWorker =
  /**
   * Parse the config (src/web/multi-config.ts) and, if it is good and every VM fits, replace
   * the VMs that run now with it; a bad config is answered with start-error and changes nothing.
   * `images`: the bytes of each image the config may name.
   */
  | { type: 'start'; module: WebAssembly.Module; configText: string; images: Record<string, Uint8Array> }
  /** Keystrokes for one VM's console. */
  | { type: 'input'; vm: string; data: string }
  /** A VM's scheduler parameters changed (SchedParams). */
  | { type: 'params'; vm: string; weight: number; cap: number }
  | { type: 'pause' }
  | { type: 'resume' }
  /** The page has shown `chars` characters of console text (flow control, CONSOLE_WINDOW). */
  | { type: 'console-ack'; chars: number }
  /** Post stats now. */
  | { type: 'ping' };

/**
 * running: the scheduler runs slices; idle: every VM is blocked (waiting for input) or halted,
 * so the worker sleeps until a keystroke; paused; error: the run stopped with an error.
 */
export type MultiState = 'starting' | 'running' | 'idle' | 'paused' | 'error';

/** One VM as the page lists it. */
export interface MultiVmInfo { name: string; mode: string; memMiB: number; io: string; weight: number; cap: number }

/**
 * A VM's state in the list: running (runnable), blocked (idle with no timer armed: waiting for
 * input; costs nothing), halted (powered off or stopped; `message` says why).
 */
export type VmRunState = 'running' | 'blocked' | 'halted';

export interface MultiVmStats {
  name: string;
  state: VmRunState;
  message?: string;
  /** Instructions retired since boot (the VM's own clock). */
  instructions: bigint;
  /** The scheduler's counters for the VM (src/sched.ts VmSchedStats). */
  schedInstructions: bigint;
  slices: number;
  waits: number;
  idleSkips: number;
  exits: bigint;
  /** Host frames it holds (Host.framesOf: guest RAM, tables, saved state; a shared frame counts for each holder). */
  frames: number;
}

export interface MultiStatsMessage {
  type: 'stats';
  /** The worker's clock (performance.now(), ms). */
  t: number;
  state: MultiState;
  vms: MultiVmStats[];
  /** The pool's 4 KiB frames: all of them, and how many are free. */
  pool: { frames: number; free: number };
  /** The Host's merging figures while merging is on (the config's `ksm`); absent when off: the page says "KSM off". */
  ksm?: KsmStats;
}

export type FromMultiWorker =
  | { type: 'started'; poolMiB: number; vms: MultiVmInfo[] }
  /** The config was refused or the VMs could not be made: one line; what ran before runs on. */
  | { type: 'start-error'; code: string; message: string }
  /** Console output per VM name, once per slice. */
  | { type: 'console'; out: Record<string, string> }
  | { type: 'state'; state: MultiState; message?: string }
  | MultiStatsMessage;
