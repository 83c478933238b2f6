/**
 * The subset of TOML (v1.0.0) a sweep config needs: top-level `key = value` pairs, tables
 * (`[axes]`, `[costs]`), and values that are basic strings, integers, floats, booleans and
 * arrays of them (arrays may span lines; trailing commas allowed), with `#` comments. Anything
 * else (dates, inline tables, dotted keys, literal and multi-line strings, arrays of tables)
 * is refused with the line it is on, never misread.
 */
import { HvlabError } from '../errors.js';

type Value = string | number | boolean | Value[];

class Reader {
  pos = 0;
  constructor(readonly text: string, readonly source: string) {}
  line(): number { return this.text.slice(0, this.pos).split('\n').length; }
  fail(what: string): never { throw new HvlabError('BAD_SWEEP', `${this.source}: line ${this.line()}: ${what}`); }
  peek(): string { return this.text[this.pos] ?? ''; }
  /** Skip spaces and tabs, and with `newlines` also line ends and comments. */
  skip(newlines: boolean): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\r') this.pos++;
      else if (c === '#') { while (this.pos < this.text.length && this.peek() !== '\n') this.pos++; }
      else if (newlines && c === '\n') this.pos++;
      else return;
    }
  }
  /** After a value or header: only a comment may follow on the line. */
  endOfLine(): void {
    this.skip(false);
    if (this.pos < this.text.length && this.peek() !== '\n') this.fail(`unexpected '${this.peek()}' (one key = value a line)`);
  }
  key(): string {
    const m = /^[A-Za-z0-9_-]+/.exec(this.text.slice(this.pos));
    if (!m) this.fail(this.peek() === '"' || this.peek() === "'" ? 'quoted keys are not supported' : `expected a key, found '${this.peek()}'`);
    this.pos += m[0].length;
    if (this.peek() === '.') this.fail('dotted keys are not supported');
    return m[0];
  }
  value(): Value {
    const c = this.peek();
    if (c === '"') return this.string();
    if (c === "'") this.fail('literal strings (\'...\') are not supported: use "..."');
    if (c === '[') {
      this.pos++;
      const out: Value[] = [];
      for (;;) {
        this.skip(true);
        if (this.peek() === ']') { this.pos++; return out; }
        out.push(this.value());
        this.skip(true);
        if (this.peek() === ',') { this.pos++; continue; }
        if (this.peek() === ']') { this.pos++; return out; }
        this.fail(`expected ',' or ']' in an array, found '${this.peek() || 'the end'}'`);
      }
    }
    if (c === '{') this.fail('inline tables are not supported');
    const m = /^(true|false|[+-]?(?:\d[\d_]*)(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?)(?=[\s,\]#]|$)/.exec(this.text.slice(this.pos));
    if (!m) this.fail(`expected a value (a "string", number, true, false or [array]), found '${this.text.slice(this.pos).split(/\s/)[0]}'`);
    this.pos += m[0].length;
    if (m[1] === 'true' || m[1] === 'false') return m[1] === 'true';
    return Number(m[1].replace(/_/g, ''));
  }
  string(): string {
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined || c === '\n') this.fail('a string is not closed on its line');
      this.pos++;
      if (c === '"') return out;
      if (c === '\\') {
        const e = this.text[this.pos++];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' };
        if (e in simple) out += simple[e];
        else this.fail(`unsupported escape '\\${e ?? ''}' in a string`);
      } else out += c;
    }
  }
}

/** Parse the TOML subset into a plain object (tables become nested objects). */
export function parseTomlSubset(text: string, source: string): Record<string, unknown> {
  const r = new Reader(text, source);
  const root: Record<string, unknown> = {};
  let table = root;
  for (;;) {
    r.skip(true);
    if (r.pos >= text.length) return root;
    if (r.peek() === '[') {
      r.pos++;
      if (r.peek() === '[') r.fail('arrays of tables are not supported');
      r.skip(false);
      const name = r.key();
      r.skip(false);
      if (r.peek() !== ']') r.fail(`expected ']' after the table name '${name}'`);
      r.pos++;
      r.endOfLine();
      if (name in root) r.fail(`table [${name}] is defined twice`);
      table = {};
      root[name] = table;
      continue;
    }
    const key = r.key();
    r.skip(false);
    if (r.peek() !== '=') r.fail(`expected '=' after '${key}'`);
    r.pos++;
    r.skip(false);
    if (key in table) r.fail(`'${key}' is defined twice`);
    table[key] = r.value();
    r.endOfLine();
  }
}
