/**
 * The many-VM config file of `hvlab run --config` and `hvlab top`: the shared parser
 * (src/multi-config.ts) with images and drives as files relative to the config file's folder,
 * and the files checked before anything is created.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { HvlabError } from '../errors.js';
import { parseMultiConfig as parseShared, type MultiConfig } from '../multi-config.js';

export { jsonErrorOffset, type MultiConfig, type VmSpec } from '../multi-config.js';

/**
 * Check a config's text. `path` names the file in messages and is where image paths are
 * relative to. Checks nothing on disk (loadMultiConfig does).
 */
export function parseMultiConfig(textIn: string, path: string): MultiConfig {
  // Files are relative to the config's folder; joined (not resolved) so messages show the
  // path as the user would type it from here.
  const base = dirname(path);
  return parseShared(textIn, { name: path, resolve: (_key, file) => (isAbsolute(file) ? file : join(base, file)) });
}

/** Read and check a config file and that every image and drive it names can be read. */
export async function loadMultiConfig(path: string): Promise<MultiConfig> {
  let textIn: string;
  try {
    textIn = await readFile(path, 'utf8');
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    const why = errno === 'ENOENT' ? 'no such file' : errno === 'EISDIR' ? 'is a directory' : errno === 'EACCES' ? 'permission denied' : (e as Error).message.split('\n')[0];
    throw new HvlabError('BAD_CONFIG', `--config ${path}: ${why}`);
  }
  const config = parseMultiConfig(textIn, path);
  for (const vm of config.vms) {
    for (const [key, file] of [['image', vm.imagePath], ['drive', vm.drivePath]] as const) {
      if (file === undefined) continue;
      let isFile: boolean;
      try { isFile = (await stat(file)).isFile(); } catch { isFile = false; }
      if (!isFile) {
        throw new HvlabError('BAD_CONFIG', `${path}: VM '${vm.name}': ${key} ${file}: ${await exists(file) ? 'is not a file' : 'no such file'}`);
      }
    }
  }
  return config;
}

async function exists(file: string): Promise<boolean> {
  try { await stat(file); return true; } catch { return false; }
}
