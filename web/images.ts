/**
 * The guest images the page offers (docs/web.md "Images"): hvos, the lab's own kernel, and
 * Linux 6.1 with its initramfs (docs/linux.md), besides an ELF the user uploads. DOM-free, so
 * the settings tests run in Node. The files themselves are fetched by web/main.ts.
 */
import type { Settings } from './settings.js';

/** The images a link can name (`image=`); an upload cannot be carried by a link. */
export type ImageChoice = 'hvos' | 'linux';

export interface ImageDef {
  id: ImageChoice;
  label: string;
  explain: string;
  /** The shell prompt at the end of the console: the race and the time-to-prompt wait for it. */
  prompt: RegExp;
  /** The side-by-side race's default workload with this image. */
  workload: string;
}

export const IMAGES: ImageDef[] = [
  { id: 'hvos', label: 'hvos (built in)', explain: 'hvlab\'s teaching kernel: boots in a fraction of a second, in every mode', prompt: /hvos\$ $/,
    workload: 'syscall 20000' },
  { id: 'linux', label: 'Linux 6.1', explain: 'a stock Linux 6.1 kernel with a small initramfs (docs/linux.md); about 2.7 MB, fetched when chosen',
    prompt: /hvlab# $/, workload: 'nullsys 20000' },
];

export const DEFAULT_IMAGE: ImageChoice = 'hvos';

/**
 * Linux's files as the site serves them (vite.config.ts guestFiles): `url` relative to the
 * page, `source` in the repository. `.bin`, so no server treats them as compressed.
 */
export const GUEST_FILES = [
  { name: 'Image', url: 'guests/linux-Image.bin', source: 'guests/linux/prebuilt/Image' },
  { name: 'initramfs.cpio.gz', url: 'guests/linux-initramfs.cpio.gz.bin', source: 'guests/linux/prebuilt/initramfs.cpio.gz' },
] as const;

export function imageById(id: string): ImageDef | undefined {
  return IMAGES.find((m) => m.id === id);
}

/** Any known shell prompt (an uploaded image may be either kernel). */
export const ANY_PROMPT = /(?:hvos\$|hvlab#) $/;

/**
 * Linux's command line for an I/O path: the kernel's console is the UART (`ttyS0`) on the
 * emulated path and the virtio console (`hvc0`) on the virtio paths, where the UART is not the
 * keyboard's device (src/vm.ts ioPathConfig). `initramfs_async=0` unpacks the initramfs before
 * the drivers probe, so the boot log has one order (docs/linux.md "The session").
 */
export function linuxBootargs(io: string): string {
  return `console=${io === 'emulated' ? 'ttyS0' : 'hvc0'} initramfs_async=0`;
}

/**
 * Why a mode cannot run an image, or undefined if it can. `pv` runs only a kernel written for
 * hvlab's PV interface (it makes hypercalls instead of privileged instructions, and its page
 * tables hold machine frames: docs/pv-abi.md); a stock Linux kernel traps on its first CSR
 * access with no PV handler registered.
 */
export function modeRefusal(image: string, mode: string): string | undefined {
  if (image === 'linux' && mode === 'pv') {
    return 'a stock Linux kernel cannot run in pv mode: pv needs a kernel written for hvlab\'s PV interface '
      + '(hypercalls instead of privileged instructions, page tables of machine frames; docs/pv-abi.md), as Xen PV needs a PV-enabled kernel';
  }
  return undefined;
}

/** Linux has no driver for emudisk, hvlab's own register-level disk: say so rather than show no disk. */
export function diskNote(s: Pick<Settings, 'image' | 'io' | 'disk'>): string | undefined {
  if (s.image === 'linux' && s.io === 'emulated' && s.disk !== 'none') {
    return 'Linux has no driver for emudisk (the emulated path\'s disk); choose a virtio I/O path (core, host or offload) to give it a virtio-blk disk, /dev/vda';
  }
  return undefined;
}
