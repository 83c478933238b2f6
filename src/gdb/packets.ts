/**
 * The GDB remote serial protocol's framing (GDB manual, appendix E "GDB Remote Serial
 * Protocol", sections "Overview" and "Binary Data"): `$data#cc` with a two-hex-digit modulo-256
 * checksum, `+`/`-` acknowledgements, 0x03 as an interrupt outside a packet, and `}` escaping
 * (the byte XOR 0x20) of `#`, `$`, `}` and `*` in binary data.
 *
 * The reader is a byte-at-a-time state machine, so a client that sends garbage, half a packet,
 * a bad checksum or an endless packet gets a `-` or a dropped packet, never an exception.
 */

/** Longest packet accepted (and advertised as PacketSize): longer input is dropped. */
export const MAX_PACKET = 0x4000;

export type Incoming =
  | { kind: 'packet'; data: Buffer }
  | { kind: 'interrupt' }
  | { kind: 'ack'; ok: boolean }
  | { kind: 'bad-checksum' };

export class PacketReader {
  private state: 'idle' | 'data' | 'sum1' | 'sum2' = 'idle';
  private buf: number[] = [];
  private sum = 0;
  private hi = 0;
  private overflow = false;

  /** Feed bytes from the socket; returns what they completed. */
  feed(chunk: Uint8Array): Incoming[] {
    const out: Incoming[] = [];
    for (const b of chunk) {
      switch (this.state) {
        case 'idle':
          if (b === 0x24) { this.state = 'data'; this.buf = []; this.sum = 0; this.overflow = false; }
          else if (b === 0x03) out.push({ kind: 'interrupt' });
          else if (b === 0x2B) out.push({ kind: 'ack', ok: true });
          else if (b === 0x2D) out.push({ kind: 'ack', ok: false });
          break; // anything else between packets is noise, ignored
        case 'data':
          if (b === 0x23) { this.state = 'sum1'; break; }
          this.sum = (this.sum + b) & 0xFF;
          if (this.buf.length < MAX_PACKET) this.buf.push(b); else this.overflow = true;
          break;
        case 'sum1':
          this.hi = hexValue(b);
          this.state = 'sum2';
          break;
        case 'sum2': {
          const lo = hexValue(b);
          this.state = 'idle';
          if (this.hi < 0 || lo < 0 || ((this.hi << 4) | lo) !== this.sum || this.overflow) out.push({ kind: 'bad-checksum' });
          else out.push({ kind: 'packet', data: Buffer.from(this.buf) });
          break;
        }
      }
    }
    return out;
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Frame a reply: `$data#cc`, with the binary escapes applied to `data`. */
export function frame(data: string | Buffer): Buffer {
  const raw = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const bytes: number[] = [0x24];
  let sum = 0;
  for (const b of raw) {
    if (b === 0x23 || b === 0x24 || b === 0x7D || b === 0x2A) {
      bytes.push(0x7D, b ^ 0x20);
      sum = (sum + 0x7D + (b ^ 0x20)) & 0xFF;
    } else {
      bytes.push(b);
      sum = (sum + b) & 0xFF;
    }
  }
  bytes.push(0x23, ...Buffer.from(sum.toString(16).padStart(2, '0'), 'latin1'));
  return Buffer.from(bytes);
}

/** Undo the binary escapes of an X packet's data. */
export function unescapeBinary(data: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0x7D && i + 1 < data.length) out.push(data[++i] ^ 0x20);
    else out.push(data[i]);
  }
  return Buffer.from(out);
}

export const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Strict hex: an even number of hex digits, else undefined. */
export function fromHex(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** A little-endian 64-bit register value as GDB's hex. */
export function regHex(v: bigint, bytes = 8): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  return b.subarray(0, bytes).toString('hex');
}

/** GDB's hex of a little-endian register back to a value, or undefined if malformed. */
export function parseRegHex(text: string): bigint | undefined {
  const b = fromHex(text);
  if (!b || b.length === 0 || b.length > 8) return undefined;
  const full = Buffer.alloc(8);
  full.set(b);
  return full.readBigUInt64LE();
}

/** An unsigned hex number (an address or a length), or undefined. */
export function parseHexNumber(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F]{1,16}$/.test(text)) return undefined;
  return BigInt('0x' + text);
}
