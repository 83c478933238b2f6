/**
 * A sweep's config file (docs/sweep.md): which axes vary and over what values. It is checked
 * whole before anything runs; every mistake is one line naming the field (`axes.tlbWays[1]: 3
 * is not a power of two`). The product of the axes is expanded here into points, each with
 * the run it stands for.
 */
import { parseCostOverrides, type CostTable } from '../cost-model.js';
import { ACTIVE_AXES, AXES, AXIS_BY_NAME, bad, workloadGuests, type AxisValue, type RunSpec } from './axes.js';
import type { GuestName } from '../bench/workloads.js';
import type { Mode } from '../vm.js';
import { parseTomlSubset } from './toml.js';
import { formatTlbModel, validateTlbModel } from '../tlb-model.js';

export interface SweepConfig {
  /** The report's title and the output files' base name. */
  name: string;
  description: string;
  /** Every axis named in the file, with its checked values, in the file's order. */
  axes: Record<string, AxisValue[]>;
  costs: Partial<CostTable>;
  /**
   * More products beside the main one (`axes`), each with its own axes, for a study whose
   * questions vary different axes (a full cross product of all of them would be mostly
   * uninteresting points). Each point then carries its section's name ('' for the main one).
   */
  sections: SweepSection[];
  /** The file's content as an object (the report shows it). */
  raw: unknown;
}

export interface SweepSection { name: string; description: string; axes: Record<string, AxisValue[]> }

export interface Point {
  /** The value of every active axis (defaults included): the CSV's first columns. */
  axes: Record<string, AxisValue>;
  run: RunSpec;
}

const TOP_LEVEL = ['name', 'description', 'axes', 'costs', 'sections'];
const SECTION_KEYS = ['name', 'description', 'axes'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Parse and check a config, JSON or (a file named *.toml) the TOML subset of toml.ts; `source`
 * names the file in messages.
 */
export function parseSweepConfig(text: string, source: string, defaultName: string): SweepConfig {
  let json: unknown;
  if (/\.toml$/i.test(source)) json = parseTomlSubset(text, source);
  else {
    try { json = JSON.parse(text); } catch (e) { throw bad(source, `not JSON (${(e as Error).message.split('\n')[0]})`); }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad(source, 'expected a JSON object with an "axes" object');
  const o = json as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!TOP_LEVEL.includes(k)) throw bad(k, `unknown field (known: ${TOP_LEVEL.join(', ')})`);
  }
  const name = o.name ?? defaultName;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw bad('name', `must be 1-64 letters, digits, '.', '_' or '-' (it names the output files), got ${JSON.stringify(name)}`);
  }
  const description = o.description ?? '';
  if (typeof description !== 'string') throw bad('description', 'must be a string');
  const axes = parseAxes(o.axes, 'axes');
  const sections: SweepSection[] = [];
  if (o.sections !== undefined) {
    if (!Array.isArray(o.sections)) throw bad('sections', 'must be a list of {"name", "description", "axes"} objects');
    for (const [i, raw] of (o.sections as unknown[]).entries()) {
      const f = `sections[${i}]`;
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(f, 'must be an object with "name" and "axes"');
      const sec = raw as Record<string, unknown>;
      for (const k of Object.keys(sec)) if (!SECTION_KEYS.includes(k)) throw bad(`${f}.${k}`, `unknown field (known: ${SECTION_KEYS.join(', ')})`);
      if (typeof sec.name !== 'string' || !NAME.test(sec.name)) {
        throw bad(`${f}.name`, `must be 1-64 letters, digits, '.', '_' or '-' (it names the section's figure files), got ${JSON.stringify(sec.name)}`);
      }
      if (sections.some((x) => x.name === sec.name)) throw bad(`${f}.name`, `repeats ${JSON.stringify(sec.name)}`);
      if (sec.description !== undefined && typeof sec.description !== 'string') throw bad(`${f}.description`, 'must be a string');
      sections.push({ name: sec.name, description: (sec.description as string | undefined) ?? '', axes: parseAxes(sec.axes, `${f}.axes`) });
    }
  }
  const costs = o.costs === undefined ? {} : parseCostOverrides(o.costs, `${source}: costs`);
  return { name, description, axes, costs, sections, raw: json };
}

/** One product's `axes` object, checked; `at` names it in messages (`axes`, `sections[1].axes`). */
function parseAxes(raw: unknown, at: string): Record<string, AxisValue[]> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(at, 'must be an object: axis name -> value or list of values');
  const axes: Record<string, AxisValue[]> = {};
  for (const [k, given] of Object.entries(raw as Record<string, unknown>)) {
    const axis = AXIS_BY_NAME.get(k);
    if (!axis) throw bad(`${at}.${k}`, `unknown axis (known: ${AXES.map((a) => a.name).join(', ')})`);
    const list = Array.isArray(given) ? given : [given];
    if (list.length === 0) throw bad(`${at}.${k}`, 'an empty list: the product would have no points');
    const values = list.map((v, i) => axis.check(v, Array.isArray(given) ? `${at}.${k}[${i}]` : `${at}.${k}`));
    const seen = new Set<AxisValue>();
    for (const [i, v] of values.entries()) {
      if (seen.has(v)) throw bad(`${at}.${k}[${i}]`, `repeats ${JSON.stringify(v)}`);
      seen.add(v);
    }
    axes[k] = values;
  }
  // Across axes: a set-associative TLB cannot have more ways than entries.
  if (axes.tlbWays && axes.tlbEntries) {
    const ways = Math.max(...(axes.tlbWays as number[]));
    const entries = Math.min(...(axes.tlbEntries as number[]));
    if (ways > entries) throw bad(`${at}.tlbWays`, `${ways} ways is more than ${entries} entries (${at}.tlbEntries)`);
  }
  // Values are checked first, so a mistake in a pending axis is still reported as such.
  for (const k of Object.keys(axes)) {
    const p = AXIS_BY_NAME.get(k)!.pending;
    if (p) throw bad(`${at}.${k}`, `this axis ${p}`);
  }
  // A workload must belong to some guest the product names.
  const guests = (axes.guest ?? [AXIS_BY_NAME.get('guest')!.default]) as GuestName[];
  for (const [i, w] of (axes.workload ?? []).entries()) {
    const name = String(w).split(' ')[0];
    if (!workloadGuests(name).some((g) => guests.includes(g))) {
      throw bad(`${at}.workload[${i}]`, `'${name}' is a ${workloadGuests(name).join('/')} workload, and the config's guests are ${guests.join(', ')}`);
    }
  }
  return axes;
}

/**
 * Why a combination is not a point (it is skipped, and the report says so), or undefined.
 * These are combinations that cannot run or that would repeat another point exactly.
 */
function skipReason(r: RunSpec): string | undefined {
  if (!workloadGuests(r.workload).includes(r.guest)) return `${r.workload} is not a ${r.guest} workload`;
  if (r.guest === 'linux' && r.mode === 'pv') return 'the stock Linux kernel has no port to the hvlab PV interface (docs/pv-abi.md)';
  if (r.guest === 'linux' && r.io !== 'emulated') return 'the Linux guest runs with its console on the UART (the emulated I/O path)';
  if (r.mode === 'pv' && (r.io === 'host' || r.io === 'offload')) return 'pv serves virtio in the core only';
  // The cache sits in the two-stage walk: anywhere else the point would repeat its "off" twin.
  if (r.nestedPwc && r.mode !== 'hvm-nested') return 'the nested page-walk cache acts only in hvm-nested';
  if (r.guest !== 'hvos' && r.bootargs.includes('hugepages')) return 'hugepages is hvos\'s boot argument (Linux would ignore it)';
  // Native has no hypervisor: guest RAM is machine RAM, nothing is placed or G-stage mapped.
  if (r.vm.gstagePages !== undefined && r.mode === 'native') return 'the G-stage page size needs a hypervisor (native runs on machine RAM)';
  return undefined;
}

export interface Product { points: Point[]; skipped: { axes: Record<string, AxisValue>; reason: string }[] }

/**
 * Expand the cross product, in the order of AXES (the last axis varies fastest); with sections,
 * the main product then each section's, every point's axes led by its section's name.
 */
export function expand(config: SweepConfig): Product {
  const products = config.sections.length ? [{ name: '', axes: config.axes }, ...config.sections] : [{ name: undefined, axes: config.axes }];
  const points: Point[] = [];
  const skipped: Product['skipped'] = [];
  for (const product of products) {
    let combos: Record<string, AxisValue>[] = [product.name === undefined ? {} : { section: product.name }];
    for (const axis of ACTIVE_AXES) {
      const values = product.axes[axis.name] ?? [axis.default];
      combos = combos.flatMap((c) => values.map((v) => ({ ...c, [axis.name]: v })));
    }
    for (const axes of combos) {
      const run: RunSpec = { guest: 'hvos', mode: 'native' as Mode, workload: '', command: '', io: 'emulated', nestedPwc: false, bootargs: [], vm: {} };
      for (const axis of ACTIVE_AXES) axis.apply!(axes[axis.name], run);
      // The size axes override the base model one field at a time: check the model they make.
      if (run.vm.tlbModel) {
        try { run.vm.tlbModel = validateTlbModel(run.vm.tlbModel); } catch (e) {
          throw bad(product.name ? `sections: ${product.name}` : 'axes', `the model TLB ${formatTlbModel(run.vm.tlbModel)} is not valid: ${(e as Error).message}`);
        }
      }
      const why = skipReason(run);
      if (why) skipped.push({ axes, reason: why });
      else points.push({ axes, run });
    }
  }
  if (points.length === 0) {
    throw bad('axes', `the product is empty: every combination is skipped (${[...new Set(skipped.map((s) => s.reason))].join('; ')})`);
  }
  return { points, skipped };
}

/** A short label: the axes that vary in this sweep, as `memwalk 512 8 / hvm-nested / nestedPwc`. */
export function pointLabel(p: Point, varying: readonly string[]): string {
  return varying.map((k) => {
    const v = p.axes[k];
    return typeof v === 'boolean' ? (v ? k : `no ${k}`) : typeof v === 'number' ? `${k} ${v}` : String(v);
  }).filter((x) => x !== '').join(' / ');
}

/** The axes with more than one value in this product. */
export function varyingAxes(points: readonly Point[] | readonly { axes: Record<string, AxisValue> }[]): string[] {
  return ['section', ...ACTIVE_AXES.map((a) => a.name)].filter((k) => new Set(points.map((p) => p.axes[k])).size > 1);
}
