/**
 * The page's configuration and its URL form, so a teacher can share a link: for example
 * `?mode=native&mem=64&clock=wall` or `?view=side&a=hvm-shadow&b=hvm-nested&run=ptchurn%2016%2032`. The side-by-side view
 * defaults to SIDE_DEFAULTS (web/modes.ts): trap-emulate against hvm-nested on `syscall 20000`.
 * `?image=linux&mode=hvm-nested&io=core` boots Linux (web/images.ts). Values the page cannot use
 * fall back to the defaults, with a note for the user.
 */
import { DEFAULT_MODE, SIDE_DEFAULTS, modeById } from './modes.js';
import { DEFAULT_IMAGE, IMAGES, imageById, modeRefusal, type ImageChoice } from './images.js';

export type View = 'single' | 'side';
export type ClockChoice = 'instret' | 'wall';
/** The I/O paths (src/vm.ts IO_PATHS, docs/io.md) with what the page says about each. */
export const IO_CHOICES: [string, string][] = [
  ['emulated', 'emulated: UART and emudisk, every register access an exit'],
  ['core', 'virtio, core: the device model inside the core (a light exit per kick)'],
  ['host', 'virtio, host: the device model in TypeScript (a heavy exit per kick)'],
  ['offload', 'virtio, offload: a worker polls the rings (no exits)'],
];
export const DISK_CHOICES: [DiskChoice, string][] = [
  ['none', 'none'], ['memory', '4 MiB, in memory'], ['keep', '4 MiB, kept in this browser'],
];
export type DiskChoice = 'none' | 'memory' | 'keep';

export interface Settings {
  view: View;
  /** Mode of the VM (single view) or of the left VM (side by side). */
  mode: string;
  /** Mode of the right VM (side by side). */
  modeB: string;
  memMiB: number;
  clock: ClockChoice;
  /** The workload the side-by-side race types into both VMs (default SIDE_DEFAULTS.workload). */
  workload: string;
  /** The I/O path of the VMs (docs/io.md). */
  io: string;
  /** The VMs' disk: none, a blank one, or one kept in the origin-private file system. */
  disk: DiskChoice;
  /** The guest: hvos or Linux (web/images.ts), or `upload`, an ELF from disk (not in links). */
  image: ImageChoice | 'upload';
  /** The guided lesson open beside the console (web/lessons.ts), and its step (0 = the first). */
  lesson?: string;
  step?: number;
  /** A snapshot the page starts from instead of booting (`?snapshot=URL`, web/snapshot.ts). */
  snapshot?: string;
}

export const MEMORY_CHOICES = [32, 64, 128, 256, 512, 1024];
export const DEFAULTS: Settings = {
  view: 'single', mode: DEFAULT_MODE, modeB: DEFAULT_MODE, memMiB: 128, clock: 'instret', workload: SIDE_DEFAULTS.workload,
  io: 'emulated', disk: 'none', image: DEFAULT_IMAGE,
};

/** The race's default workload for an image (hvos's is SIDE_DEFAULTS.workload). */
export function defaultWorkload(image: Settings['image']): string {
  return imageById(image)?.workload ?? SIDE_DEFAULTS.workload;
}

/**
 * Keep the modes runnable with the image: a mode that refuses it (pv with Linux) falls back to
 * the default mode, with the reason as a note.
 */
export function fitModes(s: Settings, notes: string[]): void {
  for (const key of ['mode', 'modeB'] as const) {
    if (key === 'modeB' && s.view !== 'side') continue;
    const why = modeRefusal(s.image, s[key]);
    if (why === undefined) continue;
    const fallback = s.view === 'side' ? SIDE_DEFAULTS[key === 'mode' ? 'a' : 'b'] : DEFAULT_MODE;
    notes.push(`${why}; using ${fallback}`);
    s[key] = fallback;
  }
}

function usableMode(id: string | null, notes: string[], fallback = DEFAULT_MODE): string {
  if (id === null) return fallback;
  const m = modeById(id);
  if (m?.available) return id;
  notes.push(m ? `mode '${id}' is not available yet; using ${fallback}` : `unknown mode '${id}'; using ${fallback}`);
  return fallback;
}

export function readSettings(search: string): { settings: Settings; notes: string[] } {
  const q = new URLSearchParams(search);
  const notes: string[] = [];
  const view: View = q.get('view') === 'side' ? 'side' : 'single';
  const side = view === 'side';
  const mode = usableMode(q.get(side ? 'a' : 'mode') ?? q.get('mode'), notes, side ? SIDE_DEFAULTS.a : DEFAULT_MODE);
  const modeB = usableMode(q.get('b'), notes, side ? SIDE_DEFAULTS.b : DEFAULT_MODE);
  let memMiB = DEFAULTS.memMiB;
  const mem = q.get('mem');
  if (mem !== null) {
    if (MEMORY_CHOICES.includes(Number(mem))) memMiB = Number(mem);
    else notes.push(`memory '${mem}' MiB is not one of ${MEMORY_CHOICES.join(', ')}; using ${memMiB}`);
  }
  const clockParam = q.get('clock');
  const clock: ClockChoice = clockParam === 'wall' ? 'wall' : 'instret';
  if (clockParam !== null && clockParam !== 'wall' && clockParam !== 'instret') notes.push(`unknown clock '${clockParam}'; using instret`);
  let image: ImageChoice = DEFAULT_IMAGE;
  const imageParam = q.get('image');
  if (imageParam !== null) {
    if (imageById(imageParam)) image = imageParam as ImageChoice;
    else notes.push(`unknown image '${imageParam}' (${IMAGES.map((i) => i.id).join(', ')}); using ${image}`);
  }
  const workload = q.get('run') ?? defaultWorkload(image);
  let io = DEFAULTS.io;
  const ioParam = q.get('io');
  if (ioParam !== null) {
    if (IO_CHOICES.some(([id]) => id === ioParam)) io = ioParam;
    else notes.push(`unknown I/O path '${ioParam}'; using ${io}`);
  }
  let disk = DEFAULTS.disk;
  const diskParam = q.get('disk');
  if (diskParam !== null) {
    if (DISK_CHOICES.some(([id]) => id === diskParam)) disk = diskParam as DiskChoice;
    else notes.push(`unknown disk '${diskParam}'; using ${disk}`);
  }
  const settings: Settings = { view, mode, modeB, memMiB, clock, workload, io, disk, image };
  // Which lessons exist is the lesson pane's to check (web/lessons.ts): here only the form.
  const lesson = q.get('lesson');
  if (lesson !== null && /^[a-z0-9-]+$/.test(lesson)) {
    settings.lesson = lesson;
    const step = Number(q.get('step') ?? '0');
    settings.step = Number.isInteger(step) && step >= 0 ? step : 0;
  }
  const snapshot = q.get('snapshot');
  if (snapshot !== null && snapshot !== '') settings.snapshot = snapshot;
  fitModes(settings, notes);
  return { settings, notes };
}

/** The settings of the other view: side by side starts from the default race's two modes. */
export function toggledView(s: Settings): Settings {
  return s.view === 'side' ? { ...s, view: 'single' } : { ...s, view: 'side', mode: SIDE_DEFAULTS.a, modeB: SIDE_DEFAULTS.b };
}

/** The query string for these settings; defaults are left out so links stay short. */
export function settingsQuery(s: Settings): string {
  const q = new URLSearchParams();
  if (s.view === 'side') {
    q.set('view', 'side');
    q.set('a', s.mode);
    q.set('b', s.modeB);
    if (s.workload !== defaultWorkload(s.image)) q.set('run', s.workload);
  } else if (s.mode !== DEFAULTS.mode) {
    q.set('mode', s.mode);
  }
  if (s.memMiB !== DEFAULTS.memMiB) q.set('mem', String(s.memMiB));
  if (s.clock !== DEFAULTS.clock) q.set('clock', s.clock);
  if (s.io !== DEFAULTS.io) q.set('io', s.io);
  if (s.disk !== DEFAULTS.disk) q.set('disk', s.disk);
  // An upload is left out: a link cannot carry the file, so it opens on the default image.
  if (s.image !== DEFAULTS.image && s.image !== 'upload') q.set('image', s.image);
  if (s.lesson !== undefined) {
    q.set('lesson', s.lesson);
    if (s.step) q.set('step', String(s.step));
  }
  if (s.snapshot !== undefined) q.set('snapshot', s.snapshot);
  const text = q.toString();
  return text === '' ? '' : `?${text}`;
}
