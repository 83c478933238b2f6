/**
 * Snapshots, disks and sharing in the page (docs/web.md "Snapshots, disks and sharing"): the tool
 * row under the controls. Save downloads the whole machine as a file (src/web/snapshot-file.ts)
 * and keeps it in the origin-private file system; Restore saved brings that one back; Load
 * takes a file from disk; `?snapshot=URL` starts the page from a file on the web. Download disk
 * and Upload disk move the guest's disk in and out (hvos has no file system: a raw image, which
 * `blk read` shows sector by sector). Share puts a link to what is on the screen (image, mode,
 * options, the lesson and its step, the snapshot URL) on the clipboard and in a box.
 */
import { readSnapshotHeader, sha256Hex, SNAPSHOT_FILE, type SnapshotHeader } from '../src/web/snapshot-file.js';
import { UPLOAD_DISK_MAX_MIB, type BootConfig, type FromWorker } from '../src/web/protocol.js';
import { settingsQuery, type Settings } from './settings.js';
import type { ImageChoice } from './images.js';
import type { VmPanel } from './vm-panel.js';

/** A kernel and its initrd as the page boots them (web/main.ts Image). */
export interface PageImage { bytes: Uint8Array; name: string; initrd?: { bytes: Uint8Array; name: string } }

/** What the tools need from the page (web/main.ts App). */
export interface SnapshotHost {
  readonly settings: Settings;
  /** The compiled core (a restore makes a new VM with it). */
  coreModule(): WebAssembly.Module;
  /** The VM snapshots are taken of and restored into: the single view's panel. */
  lessonPanel(): VmPanel | undefined;
  /** A built-in image's files (fetched once per page, without booting). */
  builtIn(id: ImageChoice): Promise<PageImage>;
  /** The ELF the user uploaded, if that is what runs. */
  uploaded(): PageImage | undefined;
  /** The worker now runs a restored machine: take its settings and image, without booting. */
  adopt(choice: ImageChoice | 'upload', image: PageImage, config: BootConfig): void;
  /** Boot again with this disk image as the guest's disk. */
  useDiskImage(bytes: Uint8Array, name: string): void;
  notice(message: string): void;
}

/** Save a file the page made, as a download. */
function download(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

export class SnapshotTools {
  /** The last file the page made or read (the browser test reads it back). */
  lastFile?: Uint8Array;
  private readonly note: HTMLElement;

  constructor(private readonly host: SnapshotHost, root: HTMLElement) {
    root.innerHTML = `
      <button type="button" id="snap-save" title="Download the whole machine as a file, and keep it in this browser">Save snapshot</button>
      <button type="button" id="snap-restore" title="Restore the snapshot last saved in this browser">Restore saved</button>
      <button type="button" id="snap-load" title="Restore a snapshot file from your disk">Load snapshot…</button>
      <input type="file" id="snap-file" hidden accept=".hvsnap,application/octet-stream">
      <span class="tools-sep"></span>
      <button type="button" id="disk-download" title="Download the guest's disk as a raw image">Download disk</button>
      <button type="button" id="disk-upload" title="Boot with a file from your disk as the guest's disk (raw, at most ${UPLOAD_DISK_MAX_MIB} MiB; hvos: blk read 0)">Upload disk…</button>
      <input type="file" id="disk-file" hidden>
      <span class="tools-sep"></span>
      <button type="button" id="share" title="A link to this page as it is: image, mode, options, the lesson and its step">Share link</button>
      <input id="share-link" class="share-link" readonly hidden size="40">
      <span id="tools-note" class="tools-note" role="status"></span>`;
    const $ = <T extends HTMLElement>(id: string) => root.querySelector(`#${id}`) as T;
    this.note = $('tools-note');
    $('snap-save').onclick = () => void this.save();
    $('snap-restore').onclick = () => void this.restoreStored();
    const snapFile = $<HTMLInputElement>('snap-file');
    $('snap-load').onclick = () => snapFile.click();
    snapFile.onchange = () => {
      const f = snapFile.files?.[0];
      snapFile.value = '';
      if (f) void f.arrayBuffer().then((b) => this.restore(new Uint8Array(b), f.name));
    };
    $('disk-download').onclick = () => void this.downloadDisk();
    const diskFile = $<HTMLInputElement>('disk-file');
    $('disk-upload').onclick = () => diskFile.click();
    diskFile.onchange = () => {
      const f = diskFile.files?.[0];
      diskFile.value = '';
      if (!f) return;
      if (f.size > UPLOAD_DISK_MAX_MIB << 20) { this.say(`${f.name}: ${f.size} bytes; the page takes a disk image of at most ${UPLOAD_DISK_MAX_MIB} MiB`, true); return; }
      void f.arrayBuffer().then((b) => {
        this.host.useDiskImage(new Uint8Array(b), f.name);
        this.say(`booting with ${f.name} as the disk (${f.size} bytes)`);
      });
    };
    $('share').onclick = () => {
      const link = $<HTMLInputElement>('share-link');
      link.value = this.shareLink();
      link.hidden = false;
      link.select();
      void navigator.clipboard?.writeText(link.value).then(() => this.say('link copied'), () => this.say('copy the link from the box'));
    };
  }

  /** A link to what is on the screen (an uploaded image or disk cannot travel in it). */
  shareLink(): string {
    const s = this.host.settings;
    return `${location.origin}${location.pathname}${settingsQuery(s)}`;
  }

  private say(message: string, bad = false): void {
    this.note.textContent = message;
    this.note.dataset.bad = bad ? 'yes' : '';
    if (bad) this.host.notice(message);
  }

  private panel(): VmPanel | undefined {
    const p = this.host.lessonPanel();
    if (!p) this.say('snapshots work in the single-VM view', true);
    return p;
  }

  async save(): Promise<void> {
    const p = this.panel();
    if (!p) return;
    this.say('saving…');
    const r = await p.ask<Extract<FromWorker, { type: 'snapshot' }>>({ type: 'snapshot', console: p.screenText(), store: true });
    if (!r.file) { this.say(`could not save a snapshot: ${r.error}`, true); return; }
    this.lastFile = r.file;
    download(r.file, SNAPSHOT_FILE);
    this.say(`saved ${SNAPSHOT_FILE} (${mb(r.file.length)}), also kept in this browser`);
    p.focus();
  }

  async restoreStored(): Promise<void> {
    const p = this.panel();
    if (!p) return;
    const r = await p.ask<Extract<FromWorker, { type: 'stored' }>>({ type: 'load-stored' });
    if (!r.file) { this.say('no snapshot is kept in this browser yet: Save snapshot first', true); return; }
    await this.restore(r.file, `${SNAPSHOT_FILE} (kept in this browser)`);
  }

  /** Which of the page's images a snapshot was made with, or why none is. */
  private async imageFor(h: SnapshotHeader, name: string): Promise<{ choice: ImageChoice | 'upload'; image: PageImage }> {
    const matches = async (img: PageImage) => await sha256Hex(img.bytes) === h.imageSha256
      && (h.initrdSha256 === undefined ? !img.initrd : img.initrd !== undefined && await sha256Hex(img.initrd.bytes) === h.initrdSha256);
    const up = this.host.uploaded();
    if (up && await matches(up)) return { choice: 'upload', image: up };
    // Linux's files are fetched only for a snapshot that has an initrd (about 2.7 MB).
    for (const id of (h.initrdSha256 ? ['linux', 'hvos'] : ['hvos']) as ImageChoice[]) {
      const img = await this.host.builtIn(id);
      if (await matches(img)) return { choice: id, image: img };
    }
    throw new Error(`${name}: made with image ${h.imageName} (sha256 ${h.imageSha256.slice(0, 12)}…), which this page does not run: `
      + 'upload that image first, then load the snapshot again');
  }

  /**
   * Restore a snapshot file; every failure is one line in the notice, and the VM that ran runs on.
   * `fromUrl`: it is the file `?snapshot=` names, which the URL and the share link then keep.
   */
  async restore(file: Uint8Array, name: string, fromUrl = false): Promise<boolean> {
    const p = this.panel();
    if (!p) return false;
    this.say(`restoring ${name}…`);
    try {
      const header = readSnapshotHeader(file, name);
      const { choice, image } = await this.imageFor(header, name);
      const r = await p.ask<Extract<FromWorker, { type: 'restored' | 'restore-error' }>>({
        type: 'restore', module: this.host.coreModule(), file, fileName: name,
        image: image.bytes, imageName: image.name, initrd: image.initrd?.bytes, initrdName: image.initrd?.name,
      });
      if (r.type === 'restore-error') throw new Error(r.message);
      this.lastFile = file;
      if (!fromUrl) delete this.host.settings.snapshot;
      this.host.adopt(choice, image, header.config);
      p.showRestored(header.console);
      this.host.notice('');
      this.say(`restored ${name}: ${header.config.mode}, ${header.config.memMiB} MiB, ${BigInt(header.instructions).toLocaleString('en-US')} instructions in`);
      p.focus();
      return true;
    } catch (e) {
      this.say(e instanceof Error ? e.message : String(e), true);
      p.focus();
      return false;
    }
  }

  async downloadDisk(): Promise<void> {
    const p = this.panel();
    if (!p) return;
    const r = await p.ask<Extract<FromWorker, { type: 'disk' }>>({ type: 'get-disk' });
    if (!r.bytes) { this.say('this VM has no disk (choose one under Disk)', true); return; }
    this.lastFile = r.bytes;
    download(r.bytes, 'hvlab-disk.img');
    this.say(`downloaded hvlab-disk.img (${mb(r.bytes.length)})`);
    p.focus();
  }
}
