// The H extension (privileged spec v1.12, chapter 8) on bare-metal guests: each guest runs on
// QEMU 7.2 with the H extension on (the reference; its own runner below, because test/qemu.ts
// fixes the -cpu flags) and on hvlab, against test/golden/<guest>.out. hspec holds the checks
// where QEMU 7.2 departs from the spec (docs/h-extension.md) and runs on hvlab only. hwalk's
// counters pin the cost of a two-dimensional page walk exactly.
//
// Regenerate golden files from QEMU: UPDATE_GOLDEN=1 npx vitest run test/hext.test.ts
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { QEMU_BINARY, qemuAvailable } from './qemu.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prebuilt = (name: string) => join(root, 'guests', 'prebuilt', `${name}.elf`);
const golden = (name: string) => join(root, 'test', 'golden', `${name}.out`);
const updateGolden = !!process.env.UPDATE_GOLDEN;

/** QEMU with the hypervisor extension: the flags of test/qemu.ts plus h=true. */
function runOnQemuH(elf: string, timeoutMs = 20_000): Promise<{ console: string; exitCode: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU_BINARY, ['-machine', 'virt', '-nographic', '-bios', 'none', '-m', '128M',
      '-serial', 'stdio', '-monitor', 'none', '-cpu', 'rv64,h=true', '-kernel', elf],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ console: Buffer.concat(out).toString('latin1'), exitCode: code });
    });
  });
}

async function runOnHvlab(name: string, maxInstructions = 20_000_000) {
  const { runGuest } = await import('../src/vm.js');
  const image = new Uint8Array(readFileSync(prebuilt(name)));
  return runGuest(image, { firmware: 'none', memMiB: 128, maxInstructions });
}

const GUESTS: { name: string; hvlabOnly?: boolean }[] = [
  { name: 'hext' },
  { name: 'hwalk' },
  { name: 'hspec', hvlabOnly: true },
];

describe('H-extension guests on QEMU (reference, h=true)', () => {
  const have = qemuAvailable();
  for (const g of GUESTS.filter((g) => !g.hvlabOnly)) {
    it.skipIf(!have)(g.name, async () => {
      const r = await runOnQemuH(prebuilt(g.name));
      if (updateGolden) writeFileSync(golden(g.name), r.console, 'latin1');
      expect(r.console).toBe(readFileSync(golden(g.name), 'latin1'));
      expect(r.exitCode).toBe(0);
    }, 60_000);
  }
});

describe('H-extension guests on hvlab', () => {
  for (const g of GUESTS) {
    it(g.name, async () => {
      const r = await runOnHvlab(g.name);
      expect(r.console).toBe(readFileSync(golden(g.name), 'latin1'));
      expect(r.stop.reason).toBe('pass');
    }, 60_000);
  }
});

describe('two-dimensional page walk cost (hwalk)', () => {
  it('a cold two-stage miss with 4 KiB pages costs 3 VS + 12 G references; G-stage Bare costs 3', async () => {
    const r = await runOnHvlab('hwalk');
    expect(r.stop.reason).toBe('pass');
    const c = r.counters;
    // Load 1: vsatp Sv39 over hgatp Sv39x4, 4 KiB pages at both stages. Its 3 VS-stage PTE
    // reads each need a G-stage walk of 3 reads (9), and the final gPA one more walk (3).
    expect(c.WALK_REFS_VS).toBe(3n);
    expect(c.WALK_REFS_G).toBe(12n);
    expect(c.WALKS_G).toBe(4n);
    // Load 2: hgatp Bare, a single-stage VS walk counted as an ordinary walk.
    expect(c.WALK_REFS).toBe(3n);
    expect(c.WALKS).toBe(2n);
    expect(c.GUEST_PAGE_FAULTS).toBe(0n);
  });
});
