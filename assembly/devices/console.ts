// The byte rings between the guest's console devices and the host. Single producer, single
// consumer, indices free-running (u32, wrapping), capacity a power of two:
//   TX: the core produces (UART THR, SBI DBCN), the host consumes after run() returns.
//   RX: the host produces (keyboard, scripted input), the core consumes (UART RBR, DBCN read).
//
//   Ring header (8 bytes): head u32 (next write) | tail u32 (next read) | then the bytes.

import { ioAt, IO_OFF_RX_RING } from '../virtio/ioblock';

@unmanaged export class Ring {
  head: u32 = 0;
  tail: u32 = 0;
}

export const TX_SIZE: u32 = 1 << 16;
export const RX_SIZE: u32 = 1 << 12;
/** Below this much free TX space the core stops (STOP_CONSOLE) so the host can drain. */
export const TX_LOW_WATER: u32 = 1024;

export const TX_RING: usize = memory.data(<i32>(8 + TX_SIZE), 16);
export const RX_RING: usize = memory.data(<i32>(8 + RX_SIZE), 16);
const tx = changetype<Ring>(TX_RING);
/** The RX ring: an offload VM beside others has it in its I/O block, where its worker consumes
 * it whichever VM is loaded (virtio/ioblock.ts). */
@inline export function rxRing(): usize { return ioAt(IO_OFF_RX_RING, RX_RING); }

/** Append a byte to the output; returns false if the ring is nearly full (time to drain). */
export function txPut(b: u32): bool {
  const used = tx.head - tx.tail;
  if (used < TX_SIZE) {
    store<u8>(TX_RING + 8 + <usize>(tx.head & (TX_SIZE - 1)), <u8>b);
    tx.head = tx.head + 1;
  }
  return TX_SIZE - (tx.head - tx.tail) > TX_LOW_WATER;
}

export function txFree(): u32 { return TX_SIZE - (tx.head - tx.tail); }

@unmanaged class RxOwner { virtio: u32 = 0; }
const rxOwner = changetype<RxOwner>(memory.data(offsetof<RxOwner>(), 16));

/**
 * A virtio console claims the input (virtio/vconsole.ts): the terminal has one keyboard, and
 * its bytes go to the console the guest is expected to use. While claimed, the UART and the SBI
 * console see no input (rxAvailable reads 0); the virtio console reads rxPending.
 */
export function consoleClaimRx(virtio: bool): void { rxOwner.virtio = virtio ? 1 : 0; }

/** Input bytes waiting for the UART or the SBI console (none while a virtio console owns input). */
export function rxAvailable(): u32 {
  if (rxOwner.virtio != 0) return 0;
  const rx = changetype<Ring>(rxRing());
  return rx.head - rx.tail;
}

/** Input bytes waiting, whoever owns them. */
export function rxPending(): u32 { const rx = changetype<Ring>(rxRing()); return rx.head - rx.tail; }

/** Take the next input byte; the caller checks rxAvailable() or rxPending() first. */
export function rxGet(): u32 {
  const at = rxRing();
  const rx = changetype<Ring>(at);
  const b = load<u8>(at + 8 + <usize>(rx.tail & (RX_SIZE - 1)));
  rx.tail = rx.tail + 1;
  return b;
}

/** Put a byte on the input side (the UART's loopback mode); dropped when full, as a FIFO would. */
export function rxPut(b: u32): void {
  const at = rxRing();
  const rx = changetype<Ring>(at);
  if (rx.head - rx.tail >= RX_SIZE) return;
  store<u8>(at + 8 + <usize>(rx.head & (RX_SIZE - 1)), <u8>b);
  rx.head = rx.head + 1;
}
