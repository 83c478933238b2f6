/**
 * The page's many-VM configuration (docs/web.md "Many VMs"): the config of `hvlab run --config`
 * (src/multi-config.ts, docs/multi-vm.md "The config file"), parsed by the same parser with the
 * same checks and messages, named `config` in them, with images named by the page's built-in
 * names instead of files. DOM-free: the worker (src/web/multi-runner.ts) parses with it.
 *
 * The keys the CLI has for files (disk, drive), scripted input (input, append) and the slice
 * are refused with the reason: a page cannot name a file, and its consoles are typed into.
 * Where the CLI requires a key the page offers a default (pool, memory, image, name), so a
 * config typed into the editor can be short.
 */
import { configError, parseMultiConfig, type MultiConfig } from '../multi-config.js';

export const MULTI_DEFAULT_POOL_MIB = 256;
export const MULTI_DEFAULT_MEM_MIB = 16;
/** Each VM gets a terminal on the page; more than this many would not fit a tab row. */
export const MAX_PAGE_VMS = 16;

/** The CLI's keys the page cannot take, and why (the rest of the one-line message). */
const NOT_IN_PAGE: Record<string, string> = {
  disk: 'works in hvlab run --config, not in the page: the page\'s VMs have no disk',
  drive: 'works in hvlab run --config, not in the page: a page cannot name a file',
  append: 'works in hvlab run --config, not in the page: hvos takes no command line',
  input: 'works in hvlab run --config, not in the page: type into the VM\'s console tab instead',
  slice: 'works in hvlab run --config, not in the page: the page uses the scheduler\'s default slice',
};

/**
 * Parse and check a config. `images` are the image names the caller can supply. Throws an
 * HvlabError (code BAD_CONFIG) whose message is one line starting `config: `.
 */
export function parsePageConfig(text: string, images: readonly string[]): MultiConfig {
  const config = parseMultiConfig(text, {
    name: 'config',
    resolve: (_key, image, where) => {
      if (!images.includes(image)) configError(where, `unknown image ${JSON.stringify(image)} (the page offers ${images.join(', ')})`);
      return image;
    },
    unsupported: NOT_IN_PAGE,
    defaults: { poolMiB: MULTI_DEFAULT_POOL_MIB, memMiB: MULTI_DEFAULT_MEM_MIB, image: images[0], name: (i) => `vm${i + 1}` },
    maxVms: { count: MAX_PAGE_VMS, why: 'fit the page (one terminal each)' },
  });
  // An offload worker per VM would be a worker started from the page's worker for each VM; the
  // many-VM view serves its VMs' devices itself.
  for (const vm of config.vms) {
    if (vm.io === 'offload') configError(`config: VM '${vm.name}'`, 'io offload works in hvlab run --config, not in the page: use core or host');
  }
  return config;
}
