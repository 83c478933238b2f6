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
 *     [7] HOLDING   worker sets 1 before it takes the first chain of a pass (from then on the
 *                   chain may be neither pending nor finished: a receive chain has eaten its
 *                   input) and clears it once everything the pass did is written
 *     [8] PAUSE     with a RESET_REQ: 1 acknowledge, then serve nothing until the next request;
 *                   0 restart (DISK_*, RESEED) and serve
 *     [9] RESEED    with a restart (PAUSE 0): 1 reseed the generator (VM reset), 0 not
 *                   (a snapshot restored: the guest's state is whatever the snapshot holds)
 *    [10] DELAY_AT  [11] DELAY_MS  test hook: the worker sleeps DELAY_MS at point DELAY_AT
 *                   (DELAY_*), to widen a window a race needs; 0 in normal use
 *    [12] RNG_LO  [13] RNG_HI  the worker's generator state, published after reset and after
 *                   every pass that served something (a snapshot carries it)
 *    [14] RNG_SET   main sets 1 with LO/HI while the worker is paused: the worker takes LO/HI as
 *                   its state when it restarts (a snapshot restored: docs/properties.md)
 */
import type { CoreLayout } from './layout.js';

export const CTRL_STOP = 0;
export const CTRL_RESET_REQ = 1;
export const CTRL_RESET_ACK = 2;
export const CTRL_PASSES = 3;
export const CTRL_FAILED = 4;
export const CTRL_DISK_LIN = 5;
export const CTRL_DISK_BYTES = 6;
export const CTRL_HOLDING = 7;
export const CTRL_PAUSE = 8;
export const CTRL_RESEED = 9;
export const CTRL_DELAY_AT = 10;
export const CTRL_DELAY_MS = 11;
export const CTRL_RNG_LO = 12;
export const CTRL_RNG_HI = 13;
export const CTRL_RNG_SET = 14;
export const CTRL_WORDS = 15;

/** Where the test hook (CTRL_DELAY_AT) makes the worker sleep. */
export const DELAY_PASS = 1;   // at the start of every polling pass, work or not
export const DELAY_SERVED = 2; // after a chain's device work, before its used entry is written

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
