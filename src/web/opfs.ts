/**
 * The kept disk in the browser's origin-private file system (OPFS, the File System Standard's
 * `navigator.storage.getDirectory()`): one file per origin, read at boot and replaced when the
 * guest has written. Used by the VM worker (src/web/worker.ts) when the page's Disk control
 * says "keep"; the runner (runner.ts DiskStore) decides when to save.
 */
import type { DiskStore } from './runner.js';

interface OpfsFileHandle {
  getFile(): Promise<Blob>;
  createWritable(): Promise<{ write(data: Uint8Array): Promise<void>; close(): Promise<void> }>;
}
interface OpfsDirectory { getFileHandle(name: string, opts?: { create?: boolean }): Promise<OpfsFileHandle> }

/** The OPFS store, or undefined where the browser has none. */
export function opfsDiskStore(): DiskStore | undefined {
  const storage = (globalThis.navigator as { storage?: { getDirectory?: () => Promise<OpfsDirectory> } } | undefined)?.storage;
  if (!storage?.getDirectory) return undefined;
  const dir = () => storage.getDirectory!();
  return {
    async load(name) {
      try {
        const file = await (await (await dir()).getFileHandle(name)).getFile();
        return new Uint8Array(await file.arrayBuffer());
      } catch {
        return undefined; // not saved yet
      }
    },
    async save(name, bytes) {
      const w = await (await (await dir()).getFileHandle(name, { create: true })).createWritable();
      await w.write(bytes);
      await w.close();
    },
  };
}
