/**
 * The page's snapshot file (docs/web.md "Snapshots"): the whole machine of the single-VM view in
 * one file a user can download, keep in the origin-private file system, or load back from disk or
 * from a URL (`?snapshot=URL`). DOM-free: the worker writes and reads it (src/web/runner.ts),
 * the page reads its header to know which image and settings to restore with (web/snapshot.ts).
 *
 *   offset  size  field
 *   0       8     magic "HVLBSNAP"
 *   8       4     format version (u32, little-endian): SNAPSHOT_VERSION
 *   12      4     header bytes H (u32)
 *   16      H     header: JSON (SnapshotHeader), UTF-8
 *   16+H    …     the machine state: Vm.snapshot() (core state, guest RAM, disk), gzip-compressed
 *
 * A snapshot is a copy of the core's memory, so it fits only a core with the same memory layout
 * (`layout` below: the state's size, the counters, and where the core's static data lies) and a VM with the same settings; the image is named by its SHA-256 so the page can
 * tell whether it has it. Everything that can be wrong with a file is one line (HvlabError
 * BAD_SNAPSHOT) naming the file, and nothing is changed.
 */
import { HvlabError } from '../errors.js';
import type { BootConfig } from './protocol.js';

export const SNAPSHOT_MAGIC = 'HVLBSNAP';
export const SNAPSHOT_VERSION = 1;
/** The file name a download gets and the OPFS file the last saved snapshot lives in. */
export const SNAPSHOT_FILE = 'hvlab-snapshot.hvsnap';
const PREFIX_BYTES = 16;
/** A header longer than this is not one of ours (the console tail is the largest part). */
const MAX_HEADER_BYTES = 1 << 20;
/** How much of the console a snapshot keeps, so the restored terminal shows where it was. */
export const SNAPSHOT_CONSOLE_CHARS = 16 << 10;

/**
 * What must match for a state to fit: its size (RAM, disk, I/O state), the number of counters, and
 * where the core's static data puts the interpreter's chunk state (Vm.snapshotScratch), which
 * moves when the core's data changes.
 */
export interface SnapshotLayout { stateBytes: number; counterCount: number; chunkStatePtr: number }

export interface SnapshotHeader {
  /** The settings the VM ran with (bootargs included: Linux's command line). */
  config: BootConfig;
  imageName: string;
  /** SHA-256 of the kernel image, hex. */
  imageSha256: string;
  initrdName?: string;
  initrdSha256?: string;
  /** The disk's size in bytes (its contents are in the state), absent without a disk. */
  diskBytes?: number;
  layout: SnapshotLayout;
  /** Instructions retired at the snapshot (shown to the user). */
  instructions: string;
  /** The end of the console output before the snapshot (SNAPSHOT_CONSOLE_CHARS at most). */
  console: string;
}

export interface SnapshotFile { header: SnapshotHeader; state: Uint8Array }

const bad = (name: string, why: string): never => { throw new HvlabError('BAD_SNAPSHOT', `${name}: ${why}`); };

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function pipe(bytes: Uint8Array, stream: TransformStream<Uint8Array, Uint8Array>): Promise<Uint8Array> {
  const out = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

/** The file for a snapshot: prefix, header, and the state gzip-compressed (guest RAM is mostly zeros). */
export async function encodeSnapshot(header: SnapshotHeader, state: Uint8Array): Promise<Uint8Array> {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const body = await pipe(state, new CompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>);
  const file = new Uint8Array(PREFIX_BYTES + json.length + body.length);
  file.set(new TextEncoder().encode(SNAPSHOT_MAGIC), 0);
  const view = new DataView(file.buffer);
  view.setUint32(8, SNAPSHOT_VERSION, true);
  view.setUint32(12, json.length, true);
  file.set(json, PREFIX_BYTES);
  file.set(body, PREFIX_BYTES + json.length);
  return file;
}

/** The header of a snapshot file, checked; `name` is the file's name for the messages. */
export function readSnapshotHeader(file: Uint8Array, name: string): SnapshotHeader {
  if (file.length < PREFIX_BYTES) bad(name, `not an hvlab snapshot (${file.length} bytes, too short)`);
  if (new TextDecoder().decode(file.subarray(0, 8)) !== SNAPSHOT_MAGIC) bad(name, 'not an hvlab snapshot (no HVLBSNAP signature)');
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const version = view.getUint32(8, true);
  if (version !== SNAPSHOT_VERSION) bad(name, `snapshot format version ${version}; this page reads version ${SNAPSHOT_VERSION}`);
  const length = view.getUint32(12, true);
  if (length > MAX_HEADER_BYTES) bad(name, `header of ${length} bytes is too long: the file is damaged`);
  if (PREFIX_BYTES + length > file.length) bad(name, 'truncated (the header ends early)');
  let header: SnapshotHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(file.subarray(PREFIX_BYTES, PREFIX_BYTES + length))) as SnapshotHeader;
  } catch {
    return bad(name, 'the header is not valid JSON: the file is damaged');
  }
  const c = header?.config;
  if (!c || typeof c.mode !== 'string' || typeof c.memMiB !== 'number' || typeof header.imageSha256 !== 'string'
    || typeof header.imageName !== 'string' || typeof header.layout?.stateBytes !== 'number' || typeof header.console !== 'string') {
    bad(name, 'the header lacks the VM\'s settings: the file is damaged');
  }
  return header;
}

/**
 * The machine state of a checked file, decompressed. `expectBytes` is the size of the VM it is
 * for: decompression stops as soon as the state would be longer (a small file that inflates
 * without bound must not exhaust the worker's memory), and a shorter one is truncated.
 */
export async function readSnapshotState(file: Uint8Array, name: string, expectBytes: number): Promise<Uint8Array> {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  readSnapshotHeader(file, name);
  const body = file.subarray(PREFIX_BYTES + view.getUint32(12, true));
  const state = new Uint8Array(expectBytes);
  let at = 0;
  try {
    const reader = new Blob([body as Uint8Array<ArrayBuffer>]).stream()
      .pipeThrough(new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (at + value.length > expectBytes) {
        await reader.cancel();
        return bad(name, `more machine state than this VM holds (over ${expectBytes} bytes): the file is damaged`);
      }
      state.set(value, at);
      at += value.length;
    }
  } catch (e) {
    if (e instanceof HvlabError) throw e;
    return bad(name, 'truncated or damaged (the compressed machine state does not decompress)');
  }
  if (at !== expectBytes) bad(name, `truncated (${at} bytes of machine state, the VM holds ${expectBytes})`);
  return state;
}

/**
 * Whether this snapshot fits the core the page runs: the same state size and counter layout for
 * its settings. Undefined if it fits, else the one-line reason.
 */
export function layoutMismatch(header: SnapshotHeader, here: SnapshotLayout, name: string): string | undefined {
  const there = header.layout;
  if (there.stateBytes === here.stateBytes && there.counterCount === here.counterCount && there.chunkStatePtr === here.chunkStatePtr) return undefined;
  return `${name}: made by another build of the hvlab core (${there.stateBytes} bytes of state, ${there.counterCount} counters, data at ${there.chunkStatePtr}; `
    + `this one has ${here.stateBytes}, ${here.counterCount}, ${here.chunkStatePtr}): it cannot be restored here`;
}
