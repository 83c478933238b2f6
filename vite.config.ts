/**
 * The web console (docs/web.md): Vite serves web/ in development (`npm start`) and builds it
 * to a static site in dist/web (`npm run build:web`). The core uses a shared
 * WebAssembly.Memory, so every response carries the cross-origin isolation headers; static
 * hosts that cannot send them get them from web/public/coi-sw.js instead.
 *
 * Vitest reads this file too (mode 'test'): it then gets an empty config, so the test suites
 * keep the repository root as their root.
 */
import { defineConfig, type Plugin, type UserConfig } from 'vite';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { GUEST_FILES } from './web/images.js';

const repo = dirname(fileURLToPath(import.meta.url));

/** The headers that make a page cross-origin isolated (SharedArrayBuffer, shared wasm memory). */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** The docs the page links to (each counter links into docs/counters.md), served beside it. */
const LINKED_DOCS = ['counters.md', 'web.md', 'hvos.md', 'cost-model.md', 'hypervisor.md', 'multi-vm.md', 'walk-trace.md'];

function linkedDocs(): Plugin {
  return {
    name: 'hvlab-linked-docs',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const m = /^\/docs\/([a-z-]+\.md)(?:[?#].*)?$/.exec(req.url ?? '');
        const file = m && LINKED_DOCS.includes(m[1]) ? join(repo, 'docs', m[1]) : undefined;
        if (!file || !existsSync(file)) return next();
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        res.end(readFileSync(file));
      });
    },
    generateBundle() {
      for (const name of LINKED_DOCS) {
        const file = join(repo, 'docs', name);
        if (existsSync(file)) this.emitFile({ type: 'asset', fileName: `docs/${name}`, source: readFileSync(file) });
      }
    },
  };
}

/**
 * The Linux guest's files (guests/linux/prebuilt, about 2.7 MB), served beside the page at
 * fixed paths and fetched only when Linux is chosen (web/images.ts GUEST_FILES). Not `?url`
 * imports: the dev server would treat an extensionless `Image` as a module, and a server that
 * sees `.gz` may send the file with `Content-Encoding: gzip` (vite's do), so the browser would
 * hand the page the decompressed archive instead of the file's bytes. `.bin` is opaque to all.
 */
function guestFiles(): Plugin {
  return {
    name: 'hvlab-guest-files',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '').replace(/[?#].*$/, '').replace(/^\//, '');
        const source = GUEST_FILES.find((f) => f.url === path)?.source;
        if (!source) return next();
        res.setHeader('Content-Type', 'application/octet-stream');
        res.end(readFileSync(join(repo, source)));
      });
    },
    generateBundle() {
      for (const f of GUEST_FILES) this.emitFile({ type: 'asset', fileName: f.url, source: readFileSync(join(repo, f.source)) });
    },
  };
}

export function webConfig(): UserConfig {
  return {
    root: join(repo, 'web'),
    // Relative asset paths: the built site works from any directory of any static host.
    base: './',
    publicDir: join(repo, 'web/public'),
    plugins: [linkedDocs(), guestFiles()],
    server: { headers: ISOLATION_HEADERS, fs: { allow: [repo] } },
    preview: { headers: ISOLATION_HEADERS },
    worker: { format: 'es' },
    build: {
      outDir: join(repo, 'dist/web'),
      emptyOutDir: true,
      target: 'es2022',
      // The guest image and the core stay files of their own (fetched, not inlined).
      assetsInlineLimit: 0,
      chunkSizeWarningLimit: 1000,
    },
  };
}

export default defineConfig(({ mode }) => (mode === 'test' ? {} : webConfig()));
