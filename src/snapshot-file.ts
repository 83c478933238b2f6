/**
 * A machine snapshot as a file (`hvlab run --snapshot-at N FILE`, `--restore FILE`;
 * docs/debugger.md "Snapshots"): the bytes of Vm.snapshot() (core state, RAM, disk, and the
 * entropy generator of a host or offload backend) behind a header that says how to make a VM
 * they fit and where the run was:
 *
 *   "hvlab-snapshot 1\n"  one line of JSON (SnapshotHeader)  "\n"  the snapshot's bytes
 *
 * The bytes are only meaningful to the same core build with the same configuration; the
 * header carries the configuration, and Vm.restore checks the size.
 */
import { HvlabError } from './errors.js';
import type { VmConfig } from './vm.js';

const MAGIC = 'hvlab-snapshot 1\n';

export interface SnapshotHeader {
  /** What Vm.create needs to make a VM the bytes fit. */
  config: VmConfig;
  /** Instructions retired when it was taken (decimal). */
  instructions: string;
  /** Console bytes the guest had written by then (the restored run prints what follows). */
  outputBytes: number;
  /** Scripted input lines delivered by then (the restored run goes on with the next). */
  linesDelivered: number;
  /** Console input queued but not yet in the guest's receive ring. */
  pendingInput: number[];
  /** The image it was booted from, for people reading the header. */
  image?: string;
}

export function encodeSnapshotFile(header: SnapshotHeader, bytes: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(MAGIC + JSON.stringify(header) + '\n');
  const out = new Uint8Array(head.length + bytes.length);
  out.set(head);
  out.set(bytes, head.length);
  return out;
}

export function decodeSnapshotFile(file: Uint8Array, name: string): { header: SnapshotHeader; bytes: Uint8Array } {
  const magic = new TextEncoder().encode(MAGIC);
  if (file.length < magic.length || magic.some((b, i) => file[i] !== b)) {
    throw new HvlabError('BAD_SNAPSHOT', `${name}: not an hvlab snapshot (no '${MAGIC.trim()}' header)`);
  }
  const nl = file.indexOf(0x0A, magic.length);
  if (nl < 0) throw new HvlabError('BAD_SNAPSHOT', `${name}: the snapshot header is cut short`);
  let header: SnapshotHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(file.subarray(magic.length, nl))) as SnapshotHeader;
  } catch {
    throw new HvlabError('BAD_SNAPSHOT', `${name}: the snapshot header is not valid JSON`);
  }
  if (typeof header !== 'object' || header === null || typeof header.config !== 'object' || typeof header.instructions !== 'string' ||
    typeof header.linesDelivered !== 'number' || !Array.isArray(header.pendingInput) || typeof header.outputBytes !== 'number') {
    throw new HvlabError('BAD_SNAPSHOT', `${name}: the snapshot header lacks config, instructions, outputBytes, linesDelivered or pendingInput`);
  }
  return { header, bytes: file.subarray(nl + 1) };
}
