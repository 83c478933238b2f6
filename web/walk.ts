/**
 * The "Page walk" panel under a VM (docs/walk-trace.md): choose a virtual address (or click a
 * page fault in the exit log) and see the walk the current mode makes for it: native, shadow
 * (the guest's walk beside the shadow's, and the frame's reverse map), the two-dimensional
 * hvm-nested walk as a 4x4 grid with the nested page-walk cache's hits, pv over machine
 * frames. Each reference shows where the PTE is, its value and its flags; a fault shows where
 * the walk stopped. Also the vmprint table of the address space, and the memory map by owner.
 * The worker answers between chunks or while paused (src/web/runner.ts answerWalk).
 */
import type { WalkReply } from '../src/web/protocol.js';
import { formatVmprint, walkGrid, type AccessKind, type MemoryRegion, type Owner, type WalkRef,
  type WalkTrace } from '../src/walk-trace.js';
import type { VmPanel } from './vm-panel.js';

const hex = (v: bigint): string => `0x${v.toString(16)}`;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** Why a walk stopped at a reference, in the spec's words (privileged spec 4.3.2, 8.5). */
const OUTCOME_TEXT: Record<WalkRef['outcome'], string> = {
  next: 'points to the next table',
  leaf: 'leaf: the access is allowed',
  invalid: 'V = 0: page fault (4.3.2 step 3)',
  reserved: 'W without R, or reserved bits: page fault (step 3)',
  'no-pte': 'no PTE: its address is not memory, or its G-stage translation failed',
  'too-deep': 'a pointer at level 0: page fault (step 4)',
  permission: 'the leaf forbids this access: page fault (step 5)',
  misaligned: 'misaligned superpage: page fault (step 6)',
  'npwc-hit': 'the nested page-walk cache held this G-stage translation',
  rmap: 'a shadow PTE that maps this frame writable',
};

const FAULTS = new Set(['invalid', 'reserved', 'no-pte', 'too-deep', 'permission', 'misaligned']);

/** The colours of the memory map, by owner (also the legend's). */
export const OWNER_COLOURS: Record<Owner, string> = {
  free: '#1b2127', hypervisor: '#b07cd8', 'g-stage': '#e0a030', 'shadow-pool': '#d05a5a',
  guest: '#3d7bbf', 'guest-page-table': '#5cc98a', ram: '#3d7bbf', device: '#8a8f96',
};
const OWNER_LABELS: Record<Owner, string> = {
  free: 'unused', hypervisor: 'hypervisor', 'g-stage': 'G-stage tables', 'shadow-pool': 'shadow pool',
  guest: 'guest RAM', 'guest-page-table': 'page tables', ram: 'RAM', device: 'devices',
};

function refCell(r: WalkRef | undefined, label: string): string {
  if (!r) return `<td class="ref none" title="not reached">—</td>`;
  const cls = FAULTS.has(r.outcome) ? 'fault' : r.outcome;
  const title = escapeHtml(`${label}: ${OUTCOME_TEXT[r.outcome]}`);
  if (r.outcome === 'npwc-hit') {
    return `<td class="ref ${cls}" data-ref data-stage="${r.stage}" title="${title}">nested PWC hit<br><small>${hex(r.input)}</small></td>`;
  }
  return `<td class="ref ${cls}" data-ref data-stage="${r.stage}" data-level="${r.level}" data-pte-pa="${hex(r.ptePa)}" title="${title}">`
    + `<span class="a">@ ${hex(r.ptePa)}</span><br><span class="p">${hex(r.pte)}</span><br><span class="f">${r.flags}</span></td>`;
}

function refTable(refs: WalkRef[], caption: string): string {
  const rows = refs.map((r) => `<tr>${`<td>${r.stage === 'rmap' ? `slot ${r.level}` : `L${r.level}`}</td>`}${refCell(r, caption)}`
    + `<td class="why">${escapeHtml(OUTCOME_TEXT[r.outcome])}</td></tr>`).join('');
  return `<table class="walk-list"><caption>${escapeHtml(caption)}</caption><tbody>${rows}</tbody></table>`;
}

/** The 2-D walk as Bhargava et al. draw it: rows are VS-stage steps, columns G-stage levels. */
function gridHtml(t: WalkTrace): string {
  const grid = walkGrid(t)!;
  const rowNames = ['VS root (L2) table', 'VS L1 table', 'VS L0 table', 'data'];
  const head = '<tr><th>gPA translated</th><th>G L2</th><th>G L1</th><th>G L0</th><th>VS PTE read</th></tr>';
  const rows = grid.map((row, i) => {
    const gpa = row.find((c) => c?.stage === 'g')?.input;
    // A superpage ends the VS walk early: the last row is the data's either way.
    const name = i === grid.length - 1 && row[3] === undefined ? 'data' : rowNames[i];
    return `<tr><th>${name}<br><small>${gpa === undefined ? '' : hex(gpa)}</small></th>`
      + `${refCell(row[0], `G L2 for ${name}`)}${refCell(row[1], `G L1 for ${name}`)}${refCell(row[2], `G L0 for ${name}`)}`
      + `${row[3] ? refCell(row[3], `VS PTE of ${name}`) : '<td class="ref none">—</td>'}</tr>`;
  }).join('');
  return `<table class="walk-grid">${head}${rows}</table>`;
}

export function traceHtml(t: WalkTrace): string {
  const parts: string[] = [];
  const end = t.pa !== undefined ? ` → ${hex(t.pa)}` : '';
  const gpa = t.gpa !== undefined && t.mode !== 'native' ? ` (gPA ${hex(t.gpa)})` : '';
  parts.push(`<p class="walk-result" data-result="${t.result}"><b>${escapeHtml(t.kind)} ${hex(t.va)}</b> in ${t.mode}, `
    + `${t.priv}-mode: <b>${t.result}</b>${gpa}${end}; <b class="walk-refs">${t.references}</b> memory references</p>`);
  if (walkGrid(t)) {
    parts.push(gridHtml(t));
  } else if (t.mode === 'trap-emulate' || t.mode === 'hvm-shadow') {
    const guest = t.refs.filter((r) => r.stage === 'guest');
    const shadow = t.refs.filter((r) => r.stage === 'shadow');
    const rmap = t.refs.filter((r) => r.stage === 'rmap');
    parts.push(`<div class="walk-pair">${refTable(guest, `guest's table (gVA → gPA): ${t.guestResult}`)}`
      + `${refTable(shadow, 'shadow table the hart walks (gVA → hPA)')}</div>`);
    if (rmap.length > 0) parts.push(refTable(rmap, 'reverse map: shadow PTEs mapping the frame writable'));
  } else {
    const caption = t.mode === 'pv' ? 'the guest\'s table, machine frames (Xen-style direct paging)'
      : t.mode === 'native' ? 'Sv39 walk of satp' : `${t.mode} walk`;
    parts.push(refTable(t.refs, caption));
  }
  return parts.join('');
}

export class WalkPanel {
  readonly box: HTMLDetailsElement;
  /** The last answer (the browser test reads it). */
  last?: WalkReply;
  private readonly va: HTMLInputElement;
  private readonly kind: HTMLSelectElement;
  private readonly out: HTMLElement;
  private readonly vmprintOut: HTMLElement;
  private readonly mapOut: HTMLElement;
  private readonly note: HTMLElement;

  constructor(parent: HTMLElement, private readonly panel: VmPanel) {
    this.box = document.createElement('details');
    this.box.className = 'walk';
    this.box.innerHTML = `<summary>Page walk <small>(<a href="docs/walk-trace.md" target="_blank" rel="noopener">how to read it</a>)</small></summary>
      <form class="walk-form" onsubmit="return false">
        <label>Virtual address <input class="walk-va" value="0x80200000" size="20" spellcheck="false"></label>
        <select class="walk-kind"><option>load</option><option>store</option><option>fetch</option></select>
        <button type="button" class="walk-go">Trace</button>
        <button type="button" class="walk-vmprint" title="Every valid PTE of the current address space, as xv6's vmprint">vmprint</button>
        <label title="In the shadow modes: list the hypervisor's shadow table instead of the guest's"><input type="checkbox" class="walk-shadow"> shadow</label>
        <button type="button" class="walk-map" title="Machine RAM by owner, from the hypervisor's bookkeeping">Memory map</button>
      </form>
      <p class="walk-note"></p><div class="walk-out"></div><pre class="walk-vmprint-out" hidden></pre><div class="walk-map-out" hidden></div>`;
    parent.append(this.box);
    const q = <T extends HTMLElement>(sel: string) => this.box.querySelector(sel) as T;
    this.va = q('.walk-va');
    this.kind = q('.walk-kind');
    this.out = q('.walk-out');
    this.vmprintOut = q('.walk-vmprint-out');
    this.mapOut = q('.walk-map-out');
    this.note = q('.walk-note');
    q<HTMLButtonElement>('.walk-go').onclick = () => void this.run({});
    q<HTMLButtonElement>('.walk-vmprint').onclick = () => void this.run({ vmprint: true, shadow: q<HTMLInputElement>('.walk-shadow').checked });
    q<HTMLButtonElement>('.walk-map').onclick = () => void this.run({ map: true });
    this.va.onkeydown = (e) => { if (e.key === 'Enter') void this.run({}); };
  }

  /** Trace `va` (a click in the exit log): open the panel and draw the walk. */
  traceAddress(va: bigint, kind: AccessKind): Promise<void> {
    this.va.value = hex(va);
    this.kind.value = kind;
    this.box.open = true;
    return this.run({});
  }

  private async run(extra: { vmprint?: boolean; shadow?: boolean; map?: boolean }): Promise<void> {
    let va: bigint;
    try {
      va = BigInt.asUintN(64, BigInt(this.va.value.trim()));
    } catch {
      this.note.textContent = `not an address: '${this.va.value}' (write it in hex, as 0x80200000)`;
      return;
    }
    this.note.textContent = 'asking the VM…';
    const reply = await this.panel.walk({ va, kind: this.kind.value as AccessKind, ...extra });
    this.last = reply;
    if (reply.error || !reply.trace) {
      this.note.textContent = reply.error ?? 'no answer';
      return;
    }
    this.note.textContent = this.panel.state === 'paused' ? 'the VM is paused: this is its state now'
      : 'traced between two chunks of the running VM (nothing was changed: no A/D bits, TLB or counters)';
    this.out.innerHTML = traceHtml(reply.trace);
    if (reply.vmprint) {
      this.vmprintOut.hidden = false;
      this.vmprintOut.textContent = formatVmprint(reply.vmprint);
    }
    if (reply.map) {
      this.mapOut.hidden = false;
      drawMap(this.mapOut, reply.map);
    }
  }
}

/** Frames per row of the map: one row is 2 MiB, a megapage. */
const MAP_COLUMNS = 512;

/** Draw machine RAM frame by frame, coloured by owner, with devices and totals in the legend. */
export function drawMap(host: HTMLElement, map: MemoryRegion[]): void {
  const ram = map.filter((r) => r.owner !== 'device');
  const base = ram.length > 0 ? ram[0].start : 0n;
  const frames = ram.length > 0 ? Number((ram[ram.length - 1].end - base) >> 12n) : 0;
  const rows = Math.ceil(frames / MAP_COLUMNS);
  const canvas = document.createElement('canvas');
  canvas.width = MAP_COLUMNS;
  canvas.height = rows * 2;
  canvas.className = 'walk-map-canvas';
  const ctx = canvas.getContext('2d');
  const totals = new Map<Owner, number>();
  for (const r of ram) {
    const first = Number((r.start - base) >> 12n);
    const n = Number((r.end - r.start) >> 12n);
    totals.set(r.owner, (totals.get(r.owner) ?? 0) + n);
    if (!ctx) continue;
    ctx.fillStyle = OWNER_COLOURS[r.owner];
    for (let f = first; f < first + n;) {
      const row = Math.floor(f / MAP_COLUMNS);
      const col = f % MAP_COLUMNS;
      const run = Math.min(first + n - f, MAP_COLUMNS - col);
      ctx.fillRect(col, row * 2, run, 2);
      f += run;
    }
  }
  const caption = document.createElement('p');
  caption.className = 'walk-map-at';
  canvas.onmousemove = (e) => {
    const rect = canvas.getBoundingClientRect();
    const col = Math.floor((e.clientX - rect.left) * MAP_COLUMNS / rect.width);
    const row = Math.floor((e.clientY - rect.top) * rows / rect.height);
    const pa = base + (BigInt(row * MAP_COLUMNS + col) << 12n);
    const region = ram.find((r) => pa >= r.start && pa < r.end);
    caption.textContent = region ? `${hex(pa)}: ${OWNER_LABELS[region.owner]}` : '';
  };
  const legend = [...totals].map(([o, n]) => `<span class="swatch" style="background:${OWNER_COLOURS[o]}"></span>`
    + `<span data-owner="${o}">${OWNER_LABELS[o]} ${(n * 4 / 1024).toFixed(n * 4 < 10240 ? 2 : 1)} MiB</span>`).join(' ');
  const devices = map.filter((r) => r.owner === 'device').map((r) => `${escapeHtml(r.name ?? '')} ${hex(r.start)}`).join(', ');
  host.innerHTML = `<p class="walk-legend">${legend}</p><p class="walk-devices">devices: ${devices}</p>`
    + `<p class="walk-map-scale">each row is 2 MiB of machine RAM from ${hex(base)}, one pixel per 4 KiB frame</p>`;
  host.append(canvas, caption);
}
