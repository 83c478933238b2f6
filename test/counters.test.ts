// Golden counters: under the deterministic (instret) clock every counter of a run is the same on
// every run, so the full record of nonzero counters is committed and compared exactly, and a
// few structural invariants that any run must satisfy are checked beside it.
//
// Regenerate after an intended change: UPDATE_GOLDEN=1 npx vitest run test/counters.test.ts
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunGuestOptions, RunGuestResult } from '../src/vm.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const goldenDir = join(root, 'test', 'golden', 'counters');
const updateGolden = !!process.env.UPDATE_GOLDEN;

interface Case {
  name: string;
  image: string;
  opts: RunGuestOptions;
  /** Translation uses only 4 KiB and 2 MiB leaves, never 1 GiB ones. */
  noGigapages: boolean;
}

const CASES: Case[] = [
  { name: 'hello', image: 'guests/prebuilt/hello.elf', opts: { firmware: 'none', maxInstructions: 1_000_000 }, noGigapages: true },
  { name: 'rv64i', image: 'guests/prebuilt/rv64i.elf', opts: { firmware: 'none', maxInstructions: 5_000_000 }, noGigapages: true },
  { name: 'sv39', image: 'guests/prebuilt/sv39.elf', opts: { firmware: 'none', maxInstructions: 20_000_000 }, noGigapages: false },
  // hvos maps its kernel with 2 MiB megapages where aligned and 4 KiB pages elsewhere.
  { name: 'hvos-echo', image: 'guests/hvos/prebuilt/hvos.elf', opts: { firmware: 'builtin', input: 'echo hi\npoweroff\n', maxInstructions: 50_000_000 }, noGigapages: true },
];

/** The nonzero counters, as decimal strings (JSON has no bigint). */
export function nonzero(counters: Record<string, bigint>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(counters)) if (v !== 0n) out[k] = v.toString();
  return out;
}

export function goldenCounters(name: string): Record<string, string> {
  return JSON.parse(readFileSync(join(goldenDir, `${name}.json`), 'utf8')) as Record<string, string>;
}

const results = new Map<string, RunGuestResult>();

beforeAll(async () => {
  const { runGuest } = await import('../src/vm.js');
  for (const c of CASES) {
    results.set(c.name, await runGuest(new Uint8Array(readFileSync(join(root, c.image))), c.opts));
  }
}, 120_000);

describe('golden counters', () => {
  for (const c of CASES) {
    it(`${c.name}: every nonzero counter equals test/golden/counters/${c.name}.json`, () => {
      const r = results.get(c.name)!;
      expect(r.stop.reason).toBe('pass');
      const got = nonzero(r.counters);
      const file = join(goldenDir, `${c.name}.json`);
      if (updateGolden) {
        mkdirSync(goldenDir, { recursive: true });
        writeFileSync(file, JSON.stringify(got, null, 2) + '\n');
      }
      expect(existsSync(file), file).toBe(true);
      expect(got).toEqual(goldenCounters(c.name));
    });
  }
});

describe('counter invariants', () => {
  for (const c of CASES) {
    describe(c.name, () => {
      const r = () => results.get(c.name)!;
      const v = (name: string) => r().counters[name];

      it('instructions by mode sum to the total, and one fetch lookup per instruction', () => {
        const sum = v('INSTRET_U') + v('INSTRET_S') + v('INSTRET_M');
        expect(sum).toBe(r().instructions);
        expect(sum).toBeGreaterThan(0n);
        expect(v('TLB_FETCH_LOOKUPS')).toBe(sum);
        const stats = r().stats as { instructions: { total: number; byMode: Record<string, number> } };
        expect(stats.instructions.total).toBe(Number(sum));
        expect(stats.instructions.byMode).toEqual({ U: Number(v('INSTRET_U')), S: Number(v('INSTRET_S')), M: Number(v('INSTRET_M')) });
      });

      it('TLB misses never exceed lookups, and every miss walks once', () => {
        for (const kind of ['FETCH', 'LOAD', 'STORE']) {
          expect(v(`TLB_${kind}_MISSES`), kind).toBeLessThanOrEqual(v(`TLB_${kind}_LOOKUPS`));
        }
        // A miss under Sv39 walks once (a non-canonical address faults before walking).
        const misses = v('TLB_FETCH_MISSES') + v('TLB_LOAD_MISSES') + v('TLB_STORE_MISSES');
        expect(v('WALKS')).toBe(misses);
      });

      it('a walk reads 1 to 3 PTEs: WALK_REFS is 3 x WALKS minus superpage and fault savings', () => {
        const walks = v('WALKS');
        const refs = v('WALK_REFS');
        expect(refs).toBeLessThanOrEqual(3n * walks);
        expect(refs).toBeGreaterThanOrEqual(walks);
        if (c.noGigapages && v('PAGE_FAULTS') === 0n) {
          // Every walk reaches a leaf at level 1 (2 MiB, 2 reads) or 0 (4 KiB, 3 reads).
          expect(refs).toBeGreaterThanOrEqual(2n * walks);
        }
      });

      it('page faults taken equal the page-fault exceptions counted', () => {
        const exc = v('EXC_INSTRUCTION_PAGE_FAULT') + v('EXC_LOAD_PAGE_FAULT') + v('EXC_STORE_PAGE_FAULT');
        expect(v('PAGE_FAULTS')).toBe(exc);
      });

      if (c.opts.firmware === 'builtin') {
        it('builtin firmware: nothing runs in M-mode and SBI calls are not traps', () => {
          expect(v('INSTRET_M')).toBe(0n);
          expect(v('EXC_ECALL_FROM_S')).toBe(0n);
        });
      } else {
        it('firmware none: no SBI call is served by the core', () => {
          for (const k of ['SBI_BASE', 'SBI_TIME', 'SBI_IPI', 'SBI_RFENCE', 'SBI_HSM', 'SBI_SRST', 'SBI_DBCN', 'SBI_OTHER']) {
            expect(v(k), k).toBe(0n);
          }
        });
      }
    });
  }

  it('bare-metal M-mode runs (hello, rv64i) never translate', () => {
    for (const name of ['hello', 'rv64i']) {
      const cs = results.get(name)!.counters;
      expect([cs.WALKS, cs.WALK_REFS, cs.PAGE_FAULTS, cs.TLB_FETCH_MISSES, cs.TLB_LOAD_MISSES, cs.TLB_STORE_MISSES]).toEqual([0n, 0n, 0n, 0n, 0n, 0n]);
    }
  });

  it('hvos: console bytes in and out match the session', () => {
    const r = results.get('hvos-echo')!;
    expect(r.counters.UART_RX_BYTES).toBe(BigInt('echo hi\npoweroff\n'.length));
    expect(r.counters.UART_TX_BYTES).toBe(BigInt(Buffer.byteLength(r.console, 'utf8')));
    // hvos ends lines with CR LF on its console.
    expect(r.console.replace(/\r\n/g, '\n')).toContain('hvos$ echo hi\nhi\nhvos$ poweroff\n');
  });
});
