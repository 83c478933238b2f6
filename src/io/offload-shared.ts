/**
 * What the offload backend's two sides share besides the core's memory: a control block and
 * the console output ring, both SharedArrayBuffers made by the main side and sent to the
 * worker once.
 *
 *   control (Int32Array)                      output ring (console.ts ByteRing format)
 *     [0] STOP      main sets 1: worker exits    +0 head u32 (worker writes)
 *     [1] RESET_REQ main increments               +4 tail u32 (Vm drains)
 *     [2] RESET_ACK worker copies RESET_REQ       +8 OUT_SIZE bytes
 *     [3] PASSES    worker increments after each pass that served something (waitIdle waits on it)
 *     [4] FAILED    worker sets 1 if it died; its message is posted
 *     [5] DISK_LIN  [6] DISK_BYTES  where the disk is, read by the worker at each reset
 *     [8..12] the generator's state and the pause handshake (below)
 *     [7] IN_PASS   worker sets 1 while a pass runs: a chain it has taken from the avail ring
 *                   (so no longer pending) may not have its output and used entry written yet
 */
import type { CoreLayout } from './layout.js';

export const CTRL_STOP = 0;
export const CTRL_RESET_REQ = 1;
export const CTRL_RESET_ACK = 2;
export const CTRL_PASSES = 3;
export const CTRL_FAILED = 4;
export const CTRL_DISK_LIN = 5;
export const CTRL_DISK_BYTES = 6;
export const CTRL_IN_PASS = 7;
/** [8] RNG_LO [9] RNG_HI: the worker's generator state, published after every pass; with
 *  [10] RNG_SET = 1 the main side asks the worker to take LO/HI as its state at the next reset
 *  request (a snapshot restore: docs/properties.md). */
export const CTRL_RNG_LO = 8;
export const CTRL_RNG_HI = 9;
export const CTRL_RNG_SET = 10;
/** [11] PAUSE main sets 1 to hold the worker between passes; [12] PAUSED the worker sets 1 while
 *  it holds (a snapshot is copied, or restored, with no pass reading or writing the rings). */
export const CTRL_PAUSE = 11;
export const CTRL_PAUSED = 12;
export const CTRL_WORDS = 13;

/** The worker's console output ring: 1 MiB, so a driver's transmit buffers rarely wait. */
export const OUT_SIZE = 1 << 20;

/** The one message the main side sends the worker. */
export interface OffloadInit {
  memory: WebAssembly.Memory;
  layout: CoreLayout;
  control: SharedArrayBuffer;
  output: SharedArrayBuffer;
}

/** The worker's answers: started, or failed with a message. */
export type OffloadReply = { ready: true } | { error: string };
