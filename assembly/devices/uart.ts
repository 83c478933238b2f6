// A 16550A UART (National Semiconductor PC16550D datasheet), the console of the QEMU `virt`
// machine at 0x1000_0000, interrupt source 10 of the PLIC. Registers are bytes at offsets 0..7
// (reg-shift 0). Transmission is instantaneous: THR is always empty, so LSR.THRE and LSR.TEMT
// are always set, and a THR write re-raises the THR-empty interrupt at once, as the chip does
// once its shift register drains. The receive FIFO is the console RX ring.

import { Counter } from '../counter-ids';
import { count, hart } from '../state';
import { rxAvailable, rxGet, rxPut, txPut } from './console';

const RBR_THR_DLL: u32 = 0; // receive buffer (read) / transmit holding (write) / divisor low
const IER_DLM: u32 = 1;     // interrupt enable / divisor high
const IIR_FCR: u32 = 2;     // interrupt identification (read) / FIFO control (write)
const LCR: u32 = 3;
const MCR: u32 = 4;
const LSR: u32 = 5;
const MSR: u32 = 6;
const SCR: u32 = 7;

const IER_RDI: u32 = 0x01;  // received data available
const IER_THRI: u32 = 0x02; // transmitter holding register empty
const IER_MASK: u32 = 0x0F;
const IIR_NO_INT: u32 = 0x01;
const IIR_THRI: u32 = 0x02;
const IIR_RDI: u32 = 0x04;
const IIR_FIFO_ENABLED: u32 = 0xC0;
const FCR_ENABLE: u32 = 0x01;
const FCR_CLEAR_RX: u32 = 0x02;
const LCR_DLAB: u32 = 0x80;
const MCR_LOOP: u32 = 0x10;
const MCR_OUT2: u32 = 0x08;
const LSR_DR: u32 = 0x01;
const LSR_THRE: u32 = 0x20;
const LSR_TEMT: u32 = 0x40;
const MSR_CTS: u32 = 0x10;
const MSR_DSR: u32 = 0x20;
const MSR_DCD: u32 = 0x80;

@unmanaged class UartState {
  ier: u32 = 0;
  lcr: u32 = 0;
  mcr: u32 = 0;
  fcr: u32 = 0;
  scr: u32 = 0;
  dll: u32 = 0;
  dlm: u32 = 0;
  /** The THR-empty interrupt is pending (cleared by reading IIR or writing THR). */
  thrIp: u32 = 0;
}
const u = changetype<UartState>(memory.data(offsetof<UartState>(), 16));

export function uartReset(): void {
  while (rxAvailable() != 0) rxGet(); // input typed before the reset is gone with it
  u.ier = 0; u.lcr = 0; u.mcr = MCR_OUT2; u.fcr = 0; u.scr = 0; u.dll = 0x0C; u.dlm = 0;
  u.thrIp = 0;
}

/** The level of the UART's interrupt line (to PLIC source 10). */
export function uartIrq(): bool {
  if ((u.ier & IER_RDI) != 0 && rxAvailable() != 0) return true;
  return (u.ier & IER_THRI) != 0 && u.thrIp != 0;
}

function iir(): u32 {
  const fifo = (u.fcr & FCR_ENABLE) != 0 ? IIR_FIFO_ENABLED : 0;
  if ((u.ier & IER_RDI) != 0 && rxAvailable() != 0) return IIR_RDI | fifo;
  if ((u.ier & IER_THRI) != 0 && u.thrIp != 0) return IIR_THRI | fifo;
  return IIR_NO_INT | fifo;
}

function msr(): u32 {
  if ((u.mcr & MCR_LOOP) == 0) return MSR_DCD | MSR_DSR | MSR_CTS;
  // Loopback (datasheet 8.6): the modem inputs follow the modem outputs.
  return ((u.mcr & 0x02) << 3) | ((u.mcr & 0x01) << 5) | ((u.mcr & 0x04) << 4) | ((u.mcr & 0x08) << 4);
}

export function uartRead(off: u32): u32 {
  count(Counter.MMIO_UART_READS);
  const dlab = (u.lcr & LCR_DLAB) != 0;
  switch (off) {
    case RBR_THR_DLL: {
      if (dlab) return u.dll;
      if (rxAvailable() == 0) return 0;
      count(Counter.UART_RX_BYTES);
      return rxGet();
    }
    case IER_DLM: return dlab ? u.dlm : u.ier;
    case IIR_FCR: {
      const v = iir();
      // Reading IIR while it reports THR-empty clears that interrupt (datasheet table 4).
      if ((v & 0x0F) == IIR_THRI) u.thrIp = 0;
      return v;
    }
    case LCR: return u.lcr;
    case MCR: return u.mcr;
    case LSR: return (rxAvailable() != 0 ? LSR_DR : 0) | LSR_THRE | LSR_TEMT;
    case MSR: return msr();
    case SCR: return u.scr;
  }
  return 0;
}

export function uartWrite(off: u32, v: u32): void {
  count(Counter.MMIO_UART_WRITES);
  v &= 0xFF;
  const dlab = (u.lcr & LCR_DLAB) != 0;
  switch (off) {
    case RBR_THR_DLL: {
      if (dlab) { u.dll = v; break; }
      if ((u.mcr & MCR_LOOP) != 0) {
        rxPut(v);
      } else {
        count(Counter.UART_TX_BYTES);
        if (!txPut(v)) hart.chunkBreak = 1;
      }
      u.thrIp = 1;
      break;
    }
    case IER_DLM: {
      if (dlab) { u.dlm = v; break; }
      // Enabling the THR-empty interrupt while THR is empty raises it at once.
      if ((v & IER_THRI) != 0 && (u.ier & IER_THRI) == 0) u.thrIp = 1;
      u.ier = v & IER_MASK;
      break;
    }
    case IIR_FCR: {
      if ((v & FCR_CLEAR_RX) != 0) { while (rxAvailable() != 0) rxGet(); }
      u.fcr = v & 0xC9;
      break;
    }
    case LCR: u.lcr = v; break;
    case MCR: u.mcr = v & 0x1F; break;
    case SCR: u.scr = v; break;
  }
}
