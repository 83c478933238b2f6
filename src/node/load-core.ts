/** Loading the compiled core from disk in Node (the browser uses Vite's asset URLs instead). */
import { readFile, access } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { HvlabError } from '../errors.js';
import type { Instantiate } from '../core.js';

let cached: Promise<{ module: WebAssembly.Module; instantiate: Instantiate }> | undefined;

/** The repository root: src/node (tests) or dist/src/node (compiled) lies below it. */
async function findBuildDir(): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'build');
    try {
      await access(join(candidate, 'core.wasm'));
      await access(join(dir, 'package.json'));
      return candidate;
    } catch { /* go up */ }
    dir = dirname(dir);
  }
  throw new HvlabError('CORE_MISSING', 'the compiled core build/core.wasm was not found: run `npm run build` first');
}

export function loadCoreModule(): Promise<{ module: WebAssembly.Module; instantiate: Instantiate }> {
  cached ??= (async () => {
    const dir = await findBuildDir();
    const module = await WebAssembly.compile(await readFile(join(dir, 'core.wasm')));
    const bindings = await import(pathToFileURL(join(dir, 'core.js')).href) as { instantiate: Instantiate };
    return { module, instantiate: bindings.instantiate };
  })();
  return cached;
}
