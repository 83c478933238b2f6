// The device models of the host and offload backends (src/io/rng.ts, console.ts, blk.ts),
// driven through the host backend (createIoBackend('host')) over a fake core memory
// (io-fake-core.ts): entropy bytes equal to the core generator's, block requests of every type
// and status, console output and input.
import { describe, expect, it } from 'vitest';
import { createIoBackend, type IoBackend } from '../src/io/index.js';
import { OVERFLOW_MAX } from '../src/io/host.js';
import { VIRTQ_DESC_F_INDIRECT as INDIRECT, VIRTQ_DESC_F_NEXT as NEXT, VIRTQ_DESC_F_WRITE as WRITE } from '../src/io/queue.js';
import { DISK_BYTES, FakeCore, GUEST_BASE, type Driver } from './io-fake-core.js';

const FEATURES = (1n << 32n) | (1n << 28n) | (1n << 29n);
const HOST = 1;
const NEEDS_RESET = 64;
const C = { INTERRUPTS: 101, DESCRIPTORS: 102, BYTES: 103, RESETS: 104, HOST_NOTIFIES: 105, BLK_REQUESTS: 111 };
const SPARE = GUEST_BASE + 0xA0000;

/** xorshift64* (Vigna 2016) with the core's seed, written out here independently of src/io/rng.ts:
 * the expected bytes of the core's entropy device (assembly/virtio/rng.ts). */
function coreGenerator(): () => bigint {
  let x = 0x9E3779B97F4A7C15n;
  const M = (1n << 64n) - 1n;
  return () => {
    x ^= x >> 12n;
    x = (x ^ (x << 25n)) & M;
    x ^= x >> 27n;
    return (x * 0x2545F4914F6CDD1Dn) & M;
  };
}
/** The bytes the core writes into one page-bounded piece of n bytes. */
function piece(next: () => bigint, n: number): number[] {
  const out: number[] = [];
  while (out.length + 8 <= n) { const v = next(); for (let i = 0; i < 8; i++) out.push(Number((v >> BigInt(8 * i)) & 0xFFn)); }
  if (out.length < n) { let v = next(); while (out.length < n) { out.push(Number(v & 0xFFn)); v >>= 8n; } }
  return out;
}

async function host(deviceId: number, o: { vm?: boolean } = {}): Promise<{ core: FakeCore; io: IoBackend; q: Driver[] }> {
  const core = new FakeCore({ vm: o.vm });
  core.slot(2, deviceId, HOST, FEATURES);
  const q = [core.queue(2, 0, 16, true, true)];
  if (deviceId === 3) q.push(core.queue(2, 1, 16, true, true));
  const io = await createIoBackend('host', core.handle());
  return { core, io, q };
}

describe('entropy (5.4) in the host backend', () => {
  for (const vm of [false, true]) {
    it(`5.4.6.2: bytes equal the core generator's, piece by page-bounded piece${vm ? ' (in a VM)' : ''}`, async () => {
      const { core, io, q: [d] } = await host(4, { vm });
      // 20 bytes in a page, then 20 bytes across a page boundary (6 + 14), chained.
      const a = SPARE + 0x100;
      const b = SPARE + 0x2000 - 6;
      d.setDesc(0, a, 20, WRITE | NEXT, 1);
      d.setDesc(1, b, 20, WRITE);
      d.add(0);
      io.notify(2, 0);
      const next = coreGenerator();
      expect([...core.read(a, 20)]).toEqual(piece(next, 20));
      expect([...core.read(b, 20)]).toEqual([...piece(next, 6), ...piece(next, 14)]);
      expect(d.used(0)).toEqual({ id: 0, len: 40 });
      expect(core.interrupts(2)).toBe(1);
      // The core counts the heavy exit when it stops for it; the backend must not count it again.
      expect(core.counter(C.HOST_NOTIFIES)).toBe(0n);
      expect(core.counter(C.BYTES)).toBe(40n);
      // A VM reset reseeds: the same request gives the same first bytes again.
      io.reset();
      d.add(0);
      io.notify(2, 0);
      const again = coreGenerator();
      expect([...core.read(a, 20)]).toEqual(piece(again, 20));
    });
  }

  it('a notification for a slot that is not live, or out of range, serves nothing', async () => {
    const { core, io, q: [d] } = await host(4);
    core.setStatus(2, 1 | 2 | 8); // no DRIVER_OK
    d.setDesc(0, SPARE, 8, WRITE);
    d.add(0);
    io.notify(2, 0);
    io.notify(9, 0);
    io.notify(-1, 0);
    expect(d.usedIdx()).toBe(0);
  });
});

/** A block request: header {type, 0, sector}, optional readable data, writable data, status. */
function blkRequest(core: FakeCore, d: Driver, type: number, sector: bigint, out: Uint8Array | null, inLen: number): { status: number; data: number } {
  const hdr = SPARE;
  const dataOut = SPARE + 0x1000;
  const dataIn = SPARE + 0x3000;
  const status = SPARE + 0x80;
  core.w32(hdr, type); core.w32(hdr + 4, 0); core.w64(hdr + 8, sector);
  core.write(status, [0xEE]);
  let i = 0;
  d.setDesc(i, hdr, 16, NEXT, i + 1); i++;
  if (out) { core.write(dataOut, out); d.setDesc(i, dataOut, out.length, NEXT, i + 1); i++; }
  if (inLen > 0) { d.setDesc(i, dataIn, inLen, WRITE | NEXT, i + 1); i++; }
  d.setDesc(i, status, 1, WRITE);
  d.add(0);
  return { status, data: dataIn };
}

describe('block (5.2) in the host backend', () => {
  const T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8;
  const pattern = (n: number, k: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + k) & 0xFF);

  it('5.2.6: T_OUT writes sectors to the disk and T_IN reads them back; used length = every writable byte', async () => {
    const { core, io, q: [d] } = await host(2);
    const data = pattern(1024, 3);
    let r = blkRequest(core, d, T_OUT, 5n, data, 0);
    io.notify(2, 0);
    expect(core.read(r.status, 1)[0]).toBe(0);
    expect(d.used(0)).toEqual({ id: 0, len: 1 });
    expect([...core.disk().subarray(5 * 512, 7 * 512)]).toEqual([...data]);
    r = blkRequest(core, d, T_IN, 5n, null, 1024);
    io.notify(2, 0);
    expect(core.read(r.status, 1)[0]).toBe(0);
    expect([...core.read(r.data, 1024)]).toEqual([...data]);
    expect(d.used(1)).toEqual({ id: 0, len: 1025 });
    expect(core.counter(C.BYTES)).toBe(2048n);
    expect(core.counter(C.BLK_REQUESTS)).toBe(2n);
  });

  it('5.2.6: T_IN reaching past the capacity is IOERR, nothing read; so is a partial sector', async () => {
    const { core, io, q: [d] } = await host(2);
    const capacity = BigInt(DISK_BYTES / 512);
    for (const [sector, len] of [[capacity - 1n, 1024], [capacity, 512], [0xFFFF_FFFF_FFFF_FFFFn, 512], [0n, 100]] as const) {
      const r = blkRequest(core, d, T_IN, sector, null, len);
      core.write(r.data, new Uint8Array(len).fill(0x55));
      io.notify(2, 0);
      expect(core.read(r.status, 1)[0]).toBe(1);
      expect(core.read(r.data, len).every((b) => b === 0x55)).toBe(true);
      expect(d.used(d.usedIdx() - 1).len).toBe(len + 1); // as QEMU: all writable bytes
    }
    expect(core.counter(C.BYTES)).toBe(0n);
    const disk = core.disk().slice();
    const r = blkRequest(core, d, T_OUT, capacity - 1n, pattern(1024, 1), 0);
    io.notify(2, 0);
    expect(core.read(r.status, 1)[0]).toBe(1);
    expect(Buffer.compare(core.disk(), disk)).toBe(0);
  });

  it('5.2.6: T_FLUSH is OK; T_GET_ID gives "hvlab-disk" NUL padded to 20 bytes', async () => {
    const { core, io, q: [d] } = await host(2);
    let r = blkRequest(core, d, T_FLUSH, 0n, null, 0);
    io.notify(2, 0);
    expect(core.read(r.status, 1)[0]).toBe(0);
    expect(d.used(0).len).toBe(1);
    r = blkRequest(core, d, T_GET_ID, 0n, null, 20);
    core.write(r.data, new Uint8Array(20).fill(0xAA));
    io.notify(2, 0);
    expect(core.read(r.status, 1)[0]).toBe(0);
    expect(new TextDecoder().decode(core.read(r.data, 20))).toBe('hvlab-disk\0\0\0\0\0\0\0\0\0\0');
    expect(d.used(1).len).toBe(21);
    // A shorter ID buffer gets what fits.
    r = blkRequest(core, d, T_GET_ID, 0n, null, 5);
    io.notify(2, 0);
    expect(new TextDecoder().decode(core.read(r.data, 5))).toBe('hvlab');
    expect(d.used(2).len).toBe(6);
  });

  it('5.2.6.1: an unknown request type is UNSUPP', async () => {
    const { core, io, q: [d] } = await host(2);
    const r = blkRequest(core, d, 0x1234, 0n, null, 512);
    io.notify(2, 0);
    expect(core.read(r.status, 1)[0]).toBe(2);
    expect(d.used(0).len).toBe(513);
  });

  it('5.2.6: without a disk every read or write is IOERR', async () => {
    const core = new FakeCore();
    core.slot(2, 2, HOST, FEATURES);
    const d = core.queue(2, 0, 16, true, true);
    core.layout.diskBytes = 0;
    const io = await createIoBackend('host', core.handle());
    for (const [type, len] of [[T_IN, 512], [T_IN, 0], [T_OUT, 512]] as const) {
      const r = blkRequest(core, d, type, 0n, type === T_OUT ? new Uint8Array(len) : null, type === T_IN ? len : 0);
      io.notify(2, 0);
      expect(core.read(r.status, 1)[0]).toBe(1);
    }
  });

  it('5.2.6.1: a request without a whole header or without a status byte needs a reset, nothing written', async () => {
    for (const shape of ['short header', 'no status']) {
      const { core, io, q: [d] } = await host(2);
      if (shape === 'short header') {
        d.setDesc(0, SPARE, 8, NEXT, 1);
        d.setDesc(1, SPARE + 0x80, 1, WRITE);
      } else {
        d.setDesc(0, SPARE, 16, 0);
      }
      d.add(0);
      const before = core.guestRam();
      io.notify(2, 0);
      expect(Buffer.compare(core.guestRam(), before)).toBe(0);
      expect(core.status(2) & NEEDS_RESET).toBe(NEEDS_RESET);
      expect(core.counter(C.RESETS)).toBe(1n);
    }
  });
});

describe('console (5.3) in the host backend', () => {
  it('5.3.6: transmitted bytes go to the core\'s TX ring; the used length is 0', async () => {
    const { core, io, q: [, tx] } = await host(3);
    core.write(SPARE, new TextEncoder().encode('hello, '));
    core.write(SPARE + 0x1000 - 3, new TextEncoder().encode('world'));
    tx.setDesc(0, SPARE, 7, NEXT, 1);
    tx.setDesc(1, SPARE + 0x1000 - 3, 5, 0);
    tx.add(0);
    io.notify(2, 1);
    expect(new TextDecoder().decode(core.takeTx())).toBe('hello, world');
    expect(tx.used(0)).toEqual({ id: 0, len: 0 });
    expect(io.drainOutput()).toBeNull();
  });

  it('a transmit buffer larger than the TX ring\'s room waits in drainOutput(), in order', async () => {
    const { core, io, q: [, tx] } = await host(3);
    const big = Uint8Array.from({ length: 70_000 }, (_, i) => 65 + (i % 26));
    core.write(SPARE, big);
    tx.setDesc(0, SPARE, big.length, 0);
    tx.add(0);
    io.notify(2, 1);
    const ring = core.takeTx();
    expect(ring.length).toBe(65536 - 256); // 256 bytes stay free for the UART (as vconsole.ts)
    const rest = io.drainOutput();
    expect(rest?.length).toBe(70_000 - ring.length);
    expect(Buffer.compare(Buffer.concat([ring, rest!]), big)).toBe(0);
    expect(io.drainOutput()).toBeNull();
  });

  it('a transmit chain of gigabytes keeps at most OVERFLOW_MAX waiting; the rest is dropped, not copied', async () => {
    const { core, io, q: [, tx] } = await host(3);
    const page = Uint8Array.from({ length: 4096 }, (_, i) => 97 + (i % 26));
    core.write(SPARE, page);
    // An indirect table of 48 descriptors all pointing at the same 256 KiB: a 12 MiB chain (a
    // guest can go on this way to 4 GiB).
    const table = SPARE - 0x1000;
    for (let i = 0; i < 48; i++) tx.setDesc(i, SPARE, 256 << 10, i < 47 ? NEXT : 0, i + 1, table);
    tx.setDesc(0, table, 48 * 16, INDIRECT);
    tx.add(0);
    io.notify(2, 1);
    const ring = core.takeTx();
    const rest = io.drainOutput();
    expect(ring.length).toBe(65536 - 256);
    expect(rest?.length).toBe(OVERFLOW_MAX);
    expect(tx.used(0)).toEqual({ id: 0, len: 0 });
    expect(io.drainOutput()).toBeNull();
  });

  it('5.3.6: input fills receive buffers; a buffer without input stays available', async () => {
    const { core, io, q: [rx] } = await host(3);
    rx.setDesc(0, SPARE, 4, WRITE);
    rx.setDesc(1, SPARE + 0x100, 64, WRITE);
    rx.add(0);
    rx.add(1);
    io.notify(2, 0); // no input yet
    expect(rx.usedIdx()).toBe(0);
    core.input(new TextEncoder().encode('ls -l\n'));
    io.serviceInput();
    expect(rx.usedIdx()).toBe(2);
    expect(rx.used(0)).toEqual({ id: 0, len: 4 });
    expect(rx.used(1)).toEqual({ id: 1, len: 2 });
    expect(new TextDecoder().decode(core.read(SPARE, 4)) + new TextDecoder().decode(core.read(SPARE + 0x100, 2))).toBe('ls -l\n');
    expect(core.rxLeft()).toBe(0);
  });

  it('5.3.6: input wrapping around the RX ring arrives in order', async () => {
    const { core, io, q: [rx] } = await host(3);
    rx.setDesc(0, SPARE, 4096, WRITE);
    core.input(new Uint8Array(4000));
    rx.add(0);
    io.serviceInput();
    expect(rx.used(0).len).toBe(4000);
    const text = Uint8Array.from({ length: 200 }, (_, i) => i);
    core.input(text);
    rx.add(0);
    io.serviceInput();
    expect(rx.used(1).len).toBe(200);
    expect([...core.read(SPARE, 200)]).toEqual([...text]);
  });
});
