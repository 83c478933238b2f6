// A kernel's own page tables under the hypervisor (guests/tests/ptatomic.c): turning
// translation on with satp (vsatp) right after running with it off, and atomic updates
// (AMOSWAP/AMOOR/AMOAND/AMOADD.W, LR/SC) of live PTEs, which shadow paging must perform for
// the guest (assembly/hv/fault.ts tableAmo) and hvm-nested must not cache across
// (assembly/mmu/tlb.ts tlbSelectGuest). Linux needs both: it clears PTEs with AMOSWAP.D, and
// its relocate_enable_mmu expects the fetch after its satp write to trap.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runGuest, UNMODIFIED_MODES, type CoreSource } from '../src/vm.js';
import { loadCoreModule } from '../src/node/load-core.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const image = new Uint8Array(readFileSync(join(root, 'guests', 'prebuilt', 'ptatomic.elf')));
const golden = readFileSync(join(root, 'test', 'golden', 'ptatomic.out'), 'latin1');

let source: CoreSource;
beforeAll(async () => { source = await loadCoreModule(); });

describe('ptatomic: satp Bare to Sv39 and atomic PTE updates in every mode', () => {
  for (const mode of UNMODIFIED_MODES) {
    it(`${mode}: the same console as test/golden/ptatomic.out (the native run)`, async () => {
      const r = await runGuest(image, { mode, firmware: 'builtin', maxInstructions: 10_000_000, source });
      expect(r.stop).toEqual({ reason: 'pass', code: 0 });
      expect(r.console).toBe(golden);
      // Under shadow paging every write to the live l0 table is a write-protect exit: the
      // AMOSWAP, AMOOR, AMOAND, SC and AMOADD.W, and the plain store that unmaps a page. The
      // SC without a reservation fails without touching memory, so it is no exit.
      const shadow = mode === 'trap-emulate' || mode === 'hvm-shadow';
      expect(r.counters.EXIT_SHADOW_WP ?? 0n).toBe(shadow ? 6n : 0n);
    }, 60_000);
  }
});
