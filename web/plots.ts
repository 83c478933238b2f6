/**
 * Live plots (uPlot) of rates over time, one series per VM, so two VMs racing side by side
 * share an axis. Each plot is one entry of PLOTS.
 */
import uPlot from 'uplot';
import type { Counters } from './counters.js';

export interface PlotDef {
  id: string;
  title: string;
  /** The quantity whose per-second rate is plotted (undefined: not available). */
  value: (c: Counters, instructions: bigint) => bigint | undefined;
  /** Divide the rate by this (1e6 for MIPS). */
  scale: number;
}

const traps = (c: Counters): bigint => {
  let t = 0n;
  for (const [k, v] of Object.entries(c)) if (k.startsWith('EXC_') || k.startsWith('IRQ_')) t += v;
  return t;
};

export const PLOTS: PlotDef[] = [
  { id: 'mips', title: 'MIPS', value: (_c, instructions) => instructions, scale: 1e6 },
  { id: 'exits', title: 'VM exits per second', value: (c) => c.EXITS, scale: 1 },
  { id: 'traps', title: 'traps per second', value: traps, scale: 1 },
  { id: 'tlb-misses', title: 'TLB misses per second', scale: 1,
    value: (c) => (c.TLB_FETCH_MISSES ?? 0n) + (c.TLB_LOAD_MISSES ?? 0n) + (c.TLB_STORE_MISSES ?? 0n) },
];

/** Seconds of history kept. */
const WINDOW_S = 60;
const COLORS = ['#2f81f7', '#e5534b', '#57ab5a', '#c69026'];

export class LivePlot {
  readonly plot: uPlot;
  private readonly data: number[][];
  private readonly t0 = performance.now();

  /** `def` needs only its id and title here (the many-VM view plots values it computes itself); yMax fixes the top of the axis. */
  constructor(readonly def: Pick<PlotDef, 'id' | 'title'>, host: HTMLElement, seriesNames: string[], yMax?: number) {
    this.data = [[], ...seriesNames.map(() => [])];
    const opts: uPlot.Options = {
      title: def.title, width: Math.max(200, host.clientWidth), height: 150,
      legend: { show: seriesNames.length > 1 },
      scales: { x: { time: false }, ...(yMax === undefined ? {} : { y: { range: [0, yMax] as [number, number] } }) },
      axes: [{ label: 's', stroke: '#8b949e', grid: { stroke: '#30363d' } }, { stroke: '#8b949e', grid: { stroke: '#30363d' }, size: 60 }],
      series: [{ label: 't' }, ...seriesNames.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length], width: 2, points: { show: false } }))],
    };
    this.plot = new uPlot(opts, this.data as uPlot.AlignedData, host);
    new ResizeObserver(() => {
      const w = host.clientWidth;
      if (w > 0 && w !== this.plot.width) this.plot.setSize({ width: w, height: 150 });
    }).observe(host);
  }

  /** Add one sample: the rate for each series (null: no value). */
  push(rates: (number | null)[]): void {
    const t = (performance.now() - this.t0) / 1000;
    this.data[0].push(t);
    rates.forEach((r, i) => this.data[i + 1].push(r as number));
    while (this.data[0].length > 1 && this.data[0][0] < t - WINDOW_S) for (const s of this.data) s.shift();
    this.plot.setData(this.data as uPlot.AlignedData);
  }

  get samples(): number { return this.data[0].length; }
}
