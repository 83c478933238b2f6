/**
 * The guided lessons' source format (docs/lessons/README.md): one markdown file per lesson, read
 * by the page (web/lessons.ts) and by the Node test (test/lessons.test.ts), so the text a student
 * reads and the claims the test checks are the same file and cannot drift apart.
 *
 * A lesson is markdown with three kinds of fenced block that plain markdown viewers show as code:
 *
 *   ```hvlab-run NAME          one experiment on one VM: boot hvos with these settings, type the
 *   label: …                    commands at the prompt, and count what they cost (the counters'
 *   mode: trap-emulate          difference from the prompt before the first command to the prompt
 *   io: emulated                after the last)
 *   disk: none | memory
 *   command: syscall 2000       (one or more, in order)
 *   show: EXITS, EXIT_SBI       the counters the page shows after the run
 *   ```
 *
 *   ```hvlab-fleet NAME        many VMs in one host under the credit scheduler (docs/multi-vm.md):
 *   label: …                    the config is the many-VM view's JSON; each `input` line types a
 *   config: {…one line of JSON…}  command into one VM; the run ends when every VM is back at
 *   input: VM: COMMAND          its prompt. Figures are named VM.FIGURE (see FLEET_FIGURES).
 *   show: heavy.sched, light.sched
 *   ```
 *
 *   ```hvlab-check             claims about the numbers, one a line: `EXPR OP EXPR` or
 *   te.EXITS / 2000 >= 4        `EXPR between LO and HI`; a name is EXPERIMENT.COUNTER (or
 *   hn.EXITS < 10               EXPERIMENT.VM.FIGURE for a fleet). + - * / and parentheses.
 *   ```
 *
 *   ```hvlab-answer            the answer to the question above it: folded until opened.
 *   ```
 *
 * `## ` headings divide a lesson into steps (the share link names one). Everything here is
 * DOM-free and guest-free: parsing, and evaluating checks over numbers someone else measured.
 */

import { modeledCycles } from '../cost-model.js';

export interface RunExperiment {
  kind: 'run';
  name: string;
  label: string;
  mode: string;
  io: string;
  disk: 'none' | 'memory';
  memMiB: number;
  commands: string[];
  show: string[];
}

export interface FleetExperiment {
  kind: 'fleet';
  name: string;
  label: string;
  /** The many-VM config as JSON text (src/web/multi-config.ts parses it). */
  config: string;
  inputs: { vm: string; command: string }[];
  show: string[];
}

export type Experiment = RunExperiment | FleetExperiment;

/** A fleet experiment's figures per VM (Scheduler stats, src/sched.ts, and the exits counter). */
export const FLEET_FIGURES = ['sched', 'instructions', 'exits', 'frames'] as const;
/** A fleet experiment's host-wide figures: the pool's frames in use, and KSM's (Host.ksmStats). */
export const FLEET_HOST_FIGURES = ['pool_used', 'pages_shared', 'pages_sharing', 'cow_breaks'] as const;

export interface Check {
  /** The line as written: what the page shows beside its verdict. */
  text: string;
  /** Line number in the lesson file (1-based), for messages. */
  line: number;
  left: Expr;
  op: '<' | '<=' | '>' | '>=' | '=' | 'between';
  right: Expr;
  /** The upper bound of `between`. */
  high?: Expr;
}

/** A piece of a lesson, in order: markdown text, an experiment's button, checks, an answer. */
export type Block =
  | { kind: 'text'; markdown: string }
  | { kind: 'experiment'; experiment: Experiment }
  | { kind: 'checks'; checks: Check[] }
  | { kind: 'answer'; markdown: string };

export interface Step { title: string; blocks: Block[] }

export interface Lesson {
  /** The file it was read from (its name only), for messages. */
  file: string;
  /** From the file name: `01-trap-emulate.md` is lesson `trap-emulate`, ordered 1. */
  id: string;
  order: number;
  title: string;
  /** Text before the first `## ` heading is step 0 (the introduction). */
  steps: Step[];
  experiments: Map<string, Experiment>;
}

export class LessonError extends Error {
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'LessonError';
  }
}

const MODES = ['native', 'trap-emulate', 'hvm-shadow', 'hvm-nested', 'pv'];
const IO_PATHS = ['emulated', 'core', 'host', 'offload'];
const NAME = /^[a-z][a-z0-9_]*$/;
/** A counter or figure name: the core's counters are upper case with digits and underscores. */
const COUNTER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The lesson id and order from a file name such as `03-shadow-vs-nested.md`. */
export function lessonIdOf(fileName: string): { id: string; order: number } | undefined {
  const m = /^(\d+)-([a-z0-9-]+)\.md$/.exec(fileName.replace(/^.*\//, ''));
  return m ? { order: Number(m[1]), id: m[2] } : undefined;
}

export function parseLesson(fileName: string, text: string): Lesson {
  const idOrder = lessonIdOf(fileName);
  if (!idOrder) throw new LessonError(fileName, 1, 'a lesson file is named NN-id.md (for example 01-trap-emulate.md)');
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  let title = '';
  const steps: Step[] = [{ title: '', blocks: [] }];
  const experiments = new Map<string, Experiment>();
  let prose: string[] = [];
  const flush = () => {
    const md = prose.join('\n').trim();
    if (md !== '') steps[steps.length - 1].blocks.push({ kind: 'text', markdown: md });
    prose = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^```(hvlab-[a-z]+)?\s*(.*)$/.exec(line);
    if (fence) {
      // Collect the block up to its closing fence.
      const start = i + 1;
      const body: string[] = [];
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
      if (i >= lines.length) throw new LessonError(fileName, start, 'code block is not closed');
      if (!fence[1]) { prose.push(line, ...body, '```'); continue; }
      flush();
      // `start` is the fence's 0-based index, so start + 1 is the first body line's number.
      const block = parseBlock(fileName, start + 1, fence[1], fence[2].trim(), body);
      if (block.kind === 'experiment') {
        const name = block.experiment.name;
        if (experiments.has(name)) throw new LessonError(fileName, start, `experiment '${name}' is defined twice`);
        experiments.set(name, block.experiment);
      }
      steps[steps.length - 1].blocks.push(block);
      continue;
    }
    const h1 = /^# (.+)$/.exec(line);
    if (h1 && title === '') { title = h1[1].trim(); continue; }
    const h2 = /^## (.+)$/.exec(line);
    if (h2) { flush(); steps.push({ title: h2[1].trim(), blocks: [] }); continue; }
    prose.push(line);
  }
  flush();
  if (title === '') throw new LessonError(fileName, 1, 'a lesson starts with a `# Title` line');
  // Every name a check uses must be an experiment of this lesson, defined before the check.
  const seen = new Set<string>();
  for (const step of steps) {
    for (const b of step.blocks) {
      if (b.kind === 'experiment') seen.add(b.experiment.name);
      if (b.kind !== 'checks') continue;
      for (const c of b.checks) {
        for (const ref of checkRefs(c)) {
          if (!seen.has(ref.experiment)) throw new LessonError(fileName, c.line, `'${ref.experiment}' is not an experiment defined above this check`);
        }
      }
    }
  }
  if (steps[0].blocks.length === 0 && steps.length > 1) steps.shift();
  return { file: fileName.replace(/^.*\//, ''), ...idOrder, title, steps, experiments };
}

function parseBlock(file: string, line: number, kind: string, arg: string, body: string[]): Block {
  switch (kind) {
    case 'hvlab-run': case 'hvlab-fleet': return { kind: 'experiment', experiment: parseExperiment(file, line, kind, arg, body) };
    case 'hvlab-check': {
      const checks: Check[] = [];
      body.forEach((text, k) => { if (text.trim() !== '') checks.push(parseCheck(file, line + k, text.trim())); });
      if (checks.length === 0) throw new LessonError(file, line - 1, 'an hvlab-check block has no checks');
      return { kind: 'checks', checks };
    }
    case 'hvlab-answer': return { kind: 'answer', markdown: body.join('\n').trim() };
    default: throw new LessonError(file, line - 1, `unknown block '${kind}' (hvlab-run, hvlab-fleet, hvlab-check, hvlab-answer)`);
  }
}

function parseExperiment(file: string, line: number, kind: string, name: string, body: string[]): Experiment {
  if (!NAME.test(name)) throw new LessonError(file, line - 1, `an experiment needs a name (lower case, digits, '_'): \`\`\`${kind} NAME`);
  const fields = new Map<string, string[]>();
  /** The line each key was last seen on, for messages about its value. */
  const lineOf = new Map<string, number>();
  body.forEach((text, k) => {
    if (text.trim() === '') return;
    const m = /^([a-z]+):\s*(.*)$/.exec(text.trim());
    if (!m) throw new LessonError(file, line + k, `expected 'key: value', found '${text.trim()}'`);
    fields.set(m[1], [...(fields.get(m[1]) ?? []), m[2].trim()]);
    lineOf.set(m[1], line + k);
  });
  const at = (key: string) => lineOf.get(key) ?? line - 1;
  const one = (key: string, fallback?: string): string => {
    const v = fields.get(key);
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      throw new LessonError(file, line - 1, `experiment '${name}' needs '${key}:'`);
    }
    if (v.length > 1) throw new LessonError(file, at(key), `experiment '${name}' has '${key}:' twice`);
    return v[0];
  };
  const show = one('show', '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const s of show) if (!/^[A-Za-z0-9_.]+$/.test(s)) throw new LessonError(file, at('show'), `show: '${s}' is not a counter name`);
  const label = one('label');
  if (kind === 'hvlab-fleet') {
    const allowed = new Set(['label', 'config', 'input', 'show']);
    for (const key of fields.keys()) if (!allowed.has(key)) throw new LessonError(file, at(key), `unknown key '${key}' in a fleet experiment (${[...allowed].join(', ')})`);
    const config = one('config');
    try { JSON.parse(config); } catch { throw new LessonError(file, at('config'), `experiment '${name}': config is not valid JSON`); }
    const inputs = (fields.get('input') ?? []).map((text) => {
      const m = /^([A-Za-z0-9][A-Za-z0-9._-]*):\s*(.+)$/.exec(text);
      if (!m) throw new LessonError(file, at('input'), `input: expected 'VM: COMMAND', found '${text}'`);
      return { vm: m[1], command: m[2] };
    });
    return { kind: 'fleet', name, label, config, inputs, show };
  }
  const allowed = new Set(['label', 'mode', 'io', 'disk', 'mem', 'command', 'show']);
  for (const key of fields.keys()) if (!allowed.has(key)) throw new LessonError(file, at(key), `unknown key '${key}' in an experiment (${[...allowed].join(', ')})`);
  const mode = one('mode');
  if (!MODES.includes(mode)) throw new LessonError(file, at('mode'), `mode '${mode}' is not one of ${MODES.join(', ')}`);
  const io = one('io', 'emulated');
  if (!IO_PATHS.includes(io)) throw new LessonError(file, at('io'), `io '${io}' is not one of ${IO_PATHS.join(', ')}`);
  const disk = one('disk', 'none');
  if (disk !== 'none' && disk !== 'memory') throw new LessonError(file, at('disk'), `disk '${disk}' is not none or memory`);
  const memMiB = Number(one('mem', '128'));
  const commands = fields.get('command') ?? [];
  if (commands.length === 0) throw new LessonError(file, line - 1, `experiment '${name}' needs at least one 'command:'`);
  return { kind: 'run', name, label, mode, io, disk, memMiB, commands, show };
}

// ---- checks: a tiny expression language over measured numbers ----

export type Expr =
  | { kind: 'num'; value: number }
  | { kind: 'ref'; experiment: string; figure: string }
  | { kind: 'bin'; op: '+' | '-' | '*' | '/'; a: Expr; b: Expr };

function parseCheck(file: string, line: number, text: string): Check {
  const between = /^(.+?)\s+between\s+(.+?)\s+and\s+(.+)$/.exec(text);
  if (between) {
    return { text, line, left: parseExpr(file, line, between[1]), op: 'between', right: parseExpr(file, line, between[2]), high: parseExpr(file, line, between[3]) };
  }
  const m = /^(.+?)\s*(<=|>=|<|>|=)\s*(.+)$/.exec(text);
  if (!m) throw new LessonError(file, line, `a check is 'EXPR OP EXPR' (OP one of < <= > >= =) or 'EXPR between LO and HI': '${text}'`);
  return { text, line, left: parseExpr(file, line, m[1]), op: m[2] as Check['op'], right: parseExpr(file, line, m[3]) };
}

/** Recursive descent over + - (lowest), * /, then numbers, names and parentheses. */
function parseExpr(file: string, line: number, text: string): Expr {
  const tokens = text.match(/\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_.]*|[-+*/()]|\S/g) ?? [];
  let at = 0;
  const fail = (why: string): never => { throw new LessonError(file, line, `${why} in '${text}'`); };
  const primary = (): Expr => {
    const t = tokens[at++];
    if (t === undefined) return fail('expression ends too soon');
    if (t === '(') {
      const e = sum();
      if (tokens[at++] !== ')') fail('missing )');
      return e;
    }
    if (/^\d/.test(t)) return { kind: 'num', value: Number(t) };
    const dot = t.indexOf('.');
    if (dot > 0 && COUNTER.test(t.slice(t.lastIndexOf('.') + 1))) {
      return { kind: 'ref', experiment: t.slice(0, dot), figure: t.slice(dot + 1) };
    }
    return fail(`'${t}' is not a number or EXPERIMENT.COUNTER`);
  };
  const product = (): Expr => {
    let e = primary();
    while (tokens[at] === '*' || tokens[at] === '/') { const op = tokens[at++] as '*' | '/'; e = { kind: 'bin', op, a: e, b: primary() }; }
    return e;
  };
  const sum = (): Expr => {
    let e = product();
    while (tokens[at] === '+' || tokens[at] === '-') { const op = tokens[at++] as '+' | '-'; e = { kind: 'bin', op, a: e, b: product() }; }
    return e;
  };
  const e = sum();
  if (at !== tokens.length) fail(`unexpected '${tokens[at]}'`);
  return e;
}

export function exprRefs(e: Expr): { experiment: string; figure: string }[] {
  if (e.kind === 'ref') return [e];
  if (e.kind === 'bin') return [...exprRefs(e.a), ...exprRefs(e.b)];
  return [];
}

export function checkRefs(c: Check): { experiment: string; figure: string }[] {
  return [...exprRefs(c.left), ...exprRefs(c.right), ...(c.high ? exprRefs(c.high) : [])];
}

/** Measured figures: experiment name → figure name → value (counter deltas, fleet figures). */
export type Results = Map<string, Record<string, number>>;

/** An expression's value, or undefined while an experiment it names has not run. */
export function evalExpr(e: Expr, results: Results): number | undefined {
  switch (e.kind) {
    case 'num': return e.value;
    case 'ref': {
      const r = results.get(e.experiment);
      if (!r) return undefined;
      // A counter the core does not have (a typo, or one renamed) must fail loudly, not read 0.
      if (!(e.figure in r)) throw new Error(`${e.experiment}.${e.figure}: no such counter or figure`);
      return r[e.figure];
    }
    case 'bin': {
      const a = evalExpr(e.a, results);
      const b = evalExpr(e.b, results);
      if (a === undefined || b === undefined) return undefined;
      switch (e.op) {
        case '+': return a + b;
        case '-': return a - b;
        case '*': return a * b;
        case '/': return a / b;
      }
    }
  }
}

export interface Verdict { ok: boolean | undefined; value: number | undefined }

/** Whether a check holds for these results (undefined until its experiments have run). */
export function evalCheck(c: Check, results: Results): Verdict {
  const value = evalExpr(c.left, results);
  const right = evalExpr(c.right, results);
  const high = c.high ? evalExpr(c.high, results) : undefined;
  if (value === undefined || right === undefined || (c.high && high === undefined)) return { ok: undefined, value };
  switch (c.op) {
    case '<': return { ok: value < right, value };
    case '<=': return { ok: value <= right, value };
    case '>': return { ok: value > right, value };
    case '>=': return { ok: value >= right, value };
    case '=': return { ok: value === right, value };
    case 'between': return { ok: value >= right && value <= high!, value };
  }
}

/** Every check of a lesson, in order. */
export function lessonChecks(lesson: Lesson): Check[] {
  return lesson.steps.flatMap((s) => s.blocks.flatMap((b) => b.kind === 'checks' ? b.checks : []));
}

/**
 * What a run cost: after − before for every counter, as numbers (a lesson's arithmetic is on
 * doubles; its counts stay far below 2^53), and MODELED_CYCLES, the difference priced by the
 * default cost table (src/cost-model.ts, docs/cost-model.md).
 */
export function counterDelta(before: Record<string, bigint>, after: Record<string, bigint>): Record<string, number> {
  const delta: Record<string, bigint> = {};
  for (const [k, v] of Object.entries(after)) delta[k] = v - (before[k] ?? 0n);
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(delta)) out[k] = Number(v);
  out.MODELED_CYCLES = modeledCycles(delta).total;
  return out;
}

/** Format a number the way the page and the test messages show it. */
export function formatFigure(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
}
