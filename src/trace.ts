/**
 * `hvlab run --trace`: one line per instruction in a stable text format meant for diffing
 * (docs/debugger.md "Tracing"), and `--trace-filter SPEC` to keep only some lines.
 *
 * A line (version 1 of the format; fields separated by one space, nothing variable but them):
 *
 *   N P 0xPC [reg=0xV ...] [| exit cause=0xC tval=0xT]
 *
 *   N      instructions retired before this one (decimal)
 *   P      the privilege the guest sees (U, S, M; in trap-emulate and pv its virtual one)
 *   PC     the pc, 16 hex digits
 *   reg=   each integer register the instruction changed, ABI name, lowercase hex
 *   exit   the VM exit the hypervisor took while running it (the exit log's cause and tval)
 *
 * Filter grammar (all terms must hold):
 *
 *   SPEC := TERM [',' TERM]...
 *   TERM := 'priv=' P ['+' P]...     P one of U, S, M
 *         | 'pc=' ADDR '-' ADDR       LO <= pc < HI; ADDR hex (0x...) or decimal
 *         | 'exits'                   only instructions during which a VM exit was taken
 */
import { HvlabError } from './errors.js';

export const REG_NAMES = ['zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 's0', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5',
  'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6'];

export interface TraceFilter {
  /** Privilege names to keep (undefined: all). */
  privs?: Set<string>;
  /** [lo, hi) of pcs to keep. */
  pc?: [bigint, bigint];
  /** Only instructions with a VM exit. */
  exitsOnly: boolean;
}

const bad = (spec: string, why: string) => new HvlabError('BAD_OPTION', `--trace-filter ${spec}: ${why} (grammar: priv=U+S, pc=LO-HI, exits; joined by commas)`);

function parseAddr(spec: string, text: string): bigint {
  if (!/^(0x[0-9a-f_]+|\d+)$/i.test(text)) throw bad(spec, `'${text}' is not an address`);
  return BigInt(text.replace(/_/g, ''));
}

export function parseTraceFilter(spec: string): TraceFilter {
  const f: TraceFilter = { exitsOnly: false };
  if (spec.trim() === '') throw bad(spec, 'empty');
  for (const term of spec.split(',')) {
    const t = term.trim();
    if (t === 'exits') { f.exitsOnly = true; continue; }
    const eq = t.indexOf('=');
    const key = eq < 0 ? t : t.slice(0, eq);
    const value = eq < 0 ? '' : t.slice(eq + 1);
    if (key === 'priv') {
      if (f.privs) throw bad(spec, 'priv given twice');
      const names = value.split('+').map((p) => p.trim().toUpperCase());
      for (const p of names) if (!['U', 'S', 'M'].includes(p)) throw bad(spec, `'${p}' is not a privilege (U, S or M)`);
      f.privs = new Set(names);
    } else if (key === 'pc') {
      if (f.pc) throw bad(spec, 'pc given twice');
      const m = /^([^-]+)-([^-]+)$/.exec(value);
      if (!m) throw bad(spec, `'${value}' is not a range LO-HI`);
      const lo = parseAddr(spec, m[1]);
      const hi = parseAddr(spec, m[2]);
      if (hi <= lo) throw bad(spec, `the range ${value} is empty`);
      f.pc = [lo, hi];
    } else {
      throw bad(spec, `unknown term '${t}'`);
    }
  }
  return f;
}

export interface TraceStep {
  instret: bigint;
  priv: string;
  pc: bigint;
  before: bigint[];
  after: bigint[];
  exit?: { cause: bigint; tval: bigint };
}

export function traceKeeps(f: TraceFilter | undefined, s: TraceStep): boolean {
  if (!f) return true;
  if (f.privs && !f.privs.has(s.priv)) return false;
  if (f.pc && (s.pc < f.pc[0] || s.pc >= f.pc[1])) return false;
  if (f.exitsOnly && !s.exit) return false;
  return true;
}

export function traceLine(s: TraceStep): string {
  let line = `${s.instret} ${s.priv} 0x${s.pc.toString(16).padStart(16, '0')}`;
  for (let i = 1; i < 32; i++) if (s.after[i] !== s.before[i]) line += ` ${REG_NAMES[i]}=0x${s.after[i].toString(16)}`;
  if (s.exit) line += ` | exit cause=0x${s.exit.cause.toString(16)} tval=0x${s.exit.tval.toString(16)}`;
  return line;
}
