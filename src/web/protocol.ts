/**
 * The messages between the web page and the VM worker (src/web/worker.ts), one union each way.
 * Everything here is structured-cloneable: the compiled core travels as a WebAssembly.Module
 * (compiled once by the page, shared by every worker), counters as bigints. docs/web.md
 * describes the protocol.
 */
import type { AccessKind, MemoryRegion, Vmprint, WalkTrace } from '../walk-trace.js';
import type { SnapshotHeader } from './snapshot-file.js';

/** What the page chooses; `mode` is passed through to the VM config (src/vm.ts MODES). */
export interface BootConfig {
  mode: string;
  memMiB: number;
  clock: 'instret' | 'wall';
  /** The I/O path (src/vm.ts IO_PATHS, docs/io.md); default emulated. */
  io?: string;
  /**
   * The VM's disk: none; a blank in-memory one of DISK_MIB; or `keep`: the same size, kept in
   * the browser's origin-private file system (OPFS) across page loads.
   */
  disk?: 'none' | 'memory' | 'keep';
  /** The kernel command line (/chosen bootargs), for a kernel that reads it (Linux). */
  bootargs?: string;
  /**
   * A disk image the user uploaded (web/snapshot.ts): the VM's disk instead of a blank one,
   * padded with zeros to whole sectors (at most UPLOAD_DISK_MAX_MIB). Not with `keep`.
   */
  diskImage?: Uint8Array;
}

/** The largest disk image the page takes from an upload. */
export const UPLOAD_DISK_MAX_MIB = 64;

/** The size of the page's disk. */
export const DISK_MIB = 4;
/** The OPFS file a kept disk lives in. */
export const KEPT_DISK_FILE = 'hvlab-disk.img';

export type ToWorker =
  /**
   * Create a fresh VM (dropping any previous one), load the image (the kernel: an ELF or a
   * Linux Image) and the initrd if there is one, and start running.
   */
  | { type: 'boot'; module: WebAssembly.Module; config: BootConfig; image: Uint8Array; imageName: string;
      initrd?: Uint8Array; initrdName?: string }
  /** Keyboard input for the guest's UART. */
  | { type: 'input'; data: string }
  | { type: 'pause' }
  | { type: 'resume' }
  /** Reset the hart and devices and reload the image (the same VM and configuration). */
  | { type: 'reset' }
  /** Ask for a stats message now, then a pong (answered even while paused). */
  | { type: 'ping'; id: number }
  /** The terminal's size changed: a virtio console tells its driver (5.3.6.2). */
  | { type: 'resize'; cols: number; rows: number }
  /** The page has shown `chars` characters of console text (flow control: CONSOLE_WINDOW). */
  | { type: 'console-ack'; chars: number }
  /**
   * The page-walk visualizer (web/walk.ts, src/walk-trace.ts): trace `va` in the VM's current
   * mode, and with `vmprint`/`map` list the address space and the memory map. Answered between
   * chunks or while paused with a `walk` message of the same id; the trace changes nothing.
   */
  | WalkRequest
  /**
   * Snapshot the machine into a file (src/web/snapshot-file.ts), between two slices; `console`
   * is the terminal's text to keep with it; `store`: also keep it in OPFS. Answered by `snapshot`.
   */
  | { type: 'snapshot'; id: number; console: string; store: boolean }
  /**
   * Replace the VM by the machine in a snapshot file: a VM with the file's settings, the given
   * images (the page checked they are the file's), then the state. Answered by `restored` or
   * `restore-error`; on an error the VM that ran runs on.
   */
  | { type: 'restore'; id: number; module: WebAssembly.Module; file: Uint8Array; fileName: string;
      image: Uint8Array; imageName: string; initrd?: Uint8Array; initrdName?: string }
  /** The snapshot kept in OPFS, if any: answered by `stored`. */
  | { type: 'load-stored'; id: number }
  /** A copy of the VM's disk: answered by `disk`. */
  | { type: 'get-disk'; id: number };

export interface WalkRequest {
  type: 'walk'; id: number; va: bigint; kind: AccessKind; vmprint?: boolean; shadow?: boolean; map?: boolean;
}

export interface WalkReply {
  type: 'walk'; id: number; trace?: WalkTrace; vmprint?: Vmprint; map?: MemoryRegion[]; error?: string;
}

/**
 * The most console text (characters) the worker has posted and the page not yet acknowledged.
 * Past it the worker stops running the guest until the page catches up, so a guest flooding
 * its console cannot fill the page's message queue and xterm's write buffer without bound, nor
 * keep the page's main thread busy rendering (docs/io.md "Bounds", docs/web.md).
 */
export const CONSOLE_WINDOW = 128 << 10;

/**
 * booting: creating the VM; running: executing instructions; idle: the guest sleeps in WFI
 * (waiting for a timer or for input); paused; halted: the guest stopped (poweroff, failure or
 * a reset request); error: the VM could not be created or stopped with an error.
 */
export type RunState = 'booting' | 'running' | 'idle' | 'paused' | 'halted' | 'error';

export interface StatsMessage {
  type: 'stats';
  /** The worker's clock (performance.now(), ms) when the counters were read. */
  t: number;
  state: RunState;
  /** Instructions retired since boot. */
  instructions: bigint;
  /** Guest time: mtime in 10 MHz ticks. */
  mtime: bigint;
  /** Seconds of wall time spent inside the core's run loop (MIPS = instructions / this). */
  runSeconds: number;
  /** The core's named counters (src/counters.ts namedCounters). */
  counters: Record<string, bigint>;
  /** The most recent VM exits, oldest first (vm.exitLog(EXIT_TRACE_LENGTH)); absent in native mode. */
  exitLog?: ExitEntry[];
  /**
   * The guest sleeps with no timer armed: only input can wake it (hvos at its prompt). A lesson
   * reads the counters then, so a command's cost is what it is in Node (src/lessons/run.ts).
   */
  waitingForInput?: boolean;
}

/** How many of the latest exits each stats message carries. */
export const EXIT_TRACE_LENGTH = 30;

/** One VM exit (src/vm.ts ExitRecord): cause with bit 63 set for interrupts, guest pc, tval. */
export interface ExitEntry { index: number; cause: bigint; pc: bigint; tval: bigint; instructions: bigint }

export type FromWorker =
  | { type: 'console'; text: string }
  | { type: 'state'; state: RunState; message?: string }
  /** The image could not be loaded or the VM not created: a one-line message for the user. */
  | { type: 'boot-error'; code: string; message: string }
  | { type: 'booted'; imageName: string; entry: string; memMiB: number }
  | { type: 'pong'; id: number }
  | WalkReply
  /** A snapshot file, or why none could be made. */
  | { type: 'snapshot'; id: number; file?: Uint8Array; error?: string }
  /** The snapshot was restored: the VM now runs from it (the header says with what). */
  | { type: 'restored'; id: number; header: SnapshotHeader }
  | { type: 'restore-error'; id: number; message: string }
  | { type: 'stored'; id: number; file?: Uint8Array }
  | { type: 'disk'; id: number; bytes?: Uint8Array }
  | StatsMessage;
