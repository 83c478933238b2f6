/**
 * Flattened device tree reader: checks and decodes a DTB blob into a node tree.
 *
 * The host uses it to validate a user-supplied DTB (and the tests use it to check the
 * generator). The blob is untrusted: every offset and length is checked against the blob, so
 * malformed input becomes an HvlabError (FDT_*), never a RangeError or a runaway loop.
 *
 * Reference: Devicetree Specification v0.4, chapter 5.
 */
import { HvlabError } from '../errors.js';

export interface FdtHeader {
  magic: number;
  totalsize: number;
  offDtStruct: number;
  offDtStrings: number;
  offMemRsvmap: number;
  version: number;
  lastCompVersion: number;
  bootCpuidPhys: number;
  sizeDtStrings: number;
  sizeDtStruct: number;
}

export interface ParsedFdtNode {
  name: string;
  /** raw property values, in blob order */
  props: Map<string, Uint8Array>;
  children: ParsedFdtNode[];
}

export interface ParsedFdt {
  header: FdtHeader;
  memreserve: { address: bigint; size: bigint }[];
  root: ParsedFdtNode;
}

const FDT_MAGIC = 0xd00dfeed;
const FDT_HEADER_SIZE = 40;
const FDT_BEGIN_NODE = 0x1;
const FDT_END_NODE = 0x2;
const FDT_PROP = 0x3;
const FDT_NOP = 0x4;
const FDT_END = 0x9;
const MAX_DEPTH = 64; // far deeper than any real tree; stops stack exhaustion on crafted input

export function parseFdt(bytes: Uint8Array, name = 'dtb'): ParsedFdt {
  const fail = (code: string, msg: string): HvlabError => new HvlabError(code, `${name}: ${msg}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || view.getUint32(0) !== FDT_MAGIC) {
    throw fail('FDT_BAD_MAGIC', `not a flattened device tree (magic 0xd00dfeed expected)`);
  }
  if (bytes.length < FDT_HEADER_SIZE) {
    throw fail('FDT_TRUNCATED', `header needs ${FDT_HEADER_SIZE} bytes, the blob has ${bytes.length}`);
  }
  const f = (i: number) => view.getUint32(i * 4);
  const header: FdtHeader = {
    magic: f(0),
    totalsize: f(1),
    offDtStruct: f(2),
    offDtStrings: f(3),
    offMemRsvmap: f(4),
    version: f(5),
    lastCompVersion: f(6),
    bootCpuidPhys: f(7),
    sizeDtStrings: f(8),
    sizeDtStruct: f(9),
  };
  if (header.totalsize > bytes.length) {
    throw fail('FDT_TRUNCATED', `totalsize is ${header.totalsize} bytes, the blob has ${bytes.length}`);
  }
  // Version 16 lacks size_dt_struct; hvlab reads 17 and anything that is compatible with 16.
  if (header.version < 17 || header.lastCompVersion > 17) {
    throw fail('FDT_BAD_VERSION', `version ${header.version} (last compatible ${header.lastCompVersion}) is not readable as version 17`);
  }
  const block = (off: number, size: number, what: string, align: number): void => {
    if (off % align !== 0) throw fail('FDT_MALFORMED', `${what} offset ${off} is not ${align}-byte aligned`);
    if (off < FDT_HEADER_SIZE || off + size > header.totalsize) {
      throw fail('FDT_MALFORMED', `${what} [${off}, ${off + size}) is outside the ${header.totalsize}-byte blob`);
    }
  };
  block(header.offDtStruct, header.sizeDtStruct, 'structure block', 4);
  block(header.offDtStrings, header.sizeDtStrings, 'strings block', 1);
  block(header.offMemRsvmap, 16, 'memory reservation block', 8);

  const memreserve: { address: bigint; size: bigint }[] = [];
  for (let off = header.offMemRsvmap; ; off += 16) {
    if (off + 16 > header.totalsize) throw fail('FDT_MALFORMED', `memory reservation block has no terminating entry`);
    const address = view.getBigUint64(off);
    const size = view.getBigUint64(off + 8);
    if (address === 0n && size === 0n) break;
    memreserve.push({ address, size });
  }

  const strings = bytes.subarray(header.offDtStrings, header.offDtStrings + header.sizeDtStrings);
  const decoder = new TextDecoder('utf-8');
  const structEnd = header.offDtStruct + header.sizeDtStruct;
  let pos = header.offDtStruct;

  const token = (): number => {
    if (pos + 4 > structEnd) throw fail('FDT_MALFORMED', `structure block ends at offset ${structEnd} without FDT_END`);
    const t = view.getUint32(pos);
    pos += 4;
    return t;
  };
  const cstringAt = (buf: Uint8Array, off: number, what: string): string => {
    const nul = buf.indexOf(0, off);
    if (off >= buf.length || nul < 0) throw fail('FDT_MALFORMED', `${what} is not NUL-terminated inside its block`);
    return decoder.decode(buf.subarray(off, nul));
  };
  const align4 = (n: number) => (n + 3) & ~3;

  const readNode = (depth: number): ParsedFdtNode => {
    if (depth > MAX_DEPTH) throw fail('FDT_MALFORMED', `nodes nest deeper than ${MAX_DEPTH} levels`);
    const nul = bytes.subarray(0, structEnd).indexOf(0, pos);
    if (nul < 0) throw fail('FDT_MALFORMED', `node name at offset ${pos} is not NUL-terminated inside the structure block`);
    const nodeName = decoder.decode(bytes.subarray(pos, nul));
    pos = align4(nul + 1);
    const node: ParsedFdtNode = { name: nodeName, props: new Map(), children: [] };
    for (;;) {
      const t = token();
      if (t === FDT_NOP) continue;
      if (t === FDT_END_NODE) return node;
      if (t === FDT_BEGIN_NODE) {
        node.children.push(readNode(depth + 1));
      } else if (t === FDT_PROP) {
        const len = token();
        const nameoff = token();
        if (pos + len > structEnd) throw fail('FDT_MALFORMED', `property at offset ${pos - 12} runs past the structure block`);
        const propName = cstringAt(strings, nameoff, `property name at strings offset ${nameoff}`);
        node.props.set(propName, bytes.subarray(pos, pos + len));
        pos = align4(pos + len);
      } else {
        throw fail('FDT_MALFORMED', `unexpected token ${t} at structure offset ${pos - 4}`);
      }
    }
  };

  let t = token();
  while (t === FDT_NOP) t = token();
  if (t !== FDT_BEGIN_NODE) throw fail('FDT_MALFORMED', `structure block does not start with the root node`);
  const root = readNode(0);
  t = token();
  while (t === FDT_NOP) t = token();
  if (t !== FDT_END) throw fail('FDT_MALFORMED', `expected FDT_END after the root node, found token ${t}`);
  return { header, memreserve, root };
}

/** The node at an absolute path such as '/soc/serial@10000000', or undefined. */
export function fdtNode(root: ParsedFdtNode, path: string): ParsedFdtNode | undefined {
  let n: ParsedFdtNode | undefined = root;
  for (const part of path.split('/').filter((s) => s !== '')) {
    n = n.children.find((c) => c.name === part);
    if (!n) return undefined;
  }
  return n;
}

/** A property as NUL-separated strings (a stringlist); a single string gives one element. */
export function fdtStrings(value: Uint8Array): string[] {
  if (value.length === 0 || value[value.length - 1] !== 0) return [];
  return new TextDecoder().decode(value.subarray(0, value.length - 1)).split('\0');
}

/** A property as big-endian u32 cells (its length must be a multiple of 4). */
export function fdtCells(value: Uint8Array): number[] {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= value.length; i += 4) out.push(view.getUint32(i));
  return out;
}
