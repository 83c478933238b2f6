// The graders' command line (docs/debugger.md "Tracing" and "Snapshots"): `--trace-filter`
// output of hvos in three modes against golden files (the format is stable: a change to it is
// a deliberate regeneration), and `--snapshot-at N FILE` / `--restore FILE`: the run with a
// snapshot prints and counts what the run without does, and the restored run prints the rest
// of the uninterrupted run's output byte for byte, ending with the same counters.
//
// Regenerate the trace goldens (after an intended change): UPDATE_GOLDEN=1 npx vitest run test/trace-snapshot.test.ts
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HVOS_ELF } from './support/hvos.js';

const root = process.cwd();
const bin = join(root, 'bin', 'hvlab.js');
const goldenDir = join(root, 'test', 'golden', 'trace');
const tmp = mkdtempSync(join(tmpdir(), 'hvlab-trace-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function hvlab(args: string[], input: string) {
  const r = spawnSync(process.execPath, [bin, 'run', ...args], { cwd: root, input, encoding: 'latin1', timeout: 300_000, maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const TRACES: { name: string; mode: string; filter: string; input: string }[] = [
  // Every exit a user program of the trap-and-emulate guest causes: its ecalls and the
  // shadow faults of its first touches.
  { name: 'trap-emulate-user-exits', mode: 'trap-emulate', filter: 'exits,priv=U', input: 'true\npoweroff\n' },
  // Under hvm-nested only SBI calls, MMIO and interrupts exit, from the kernel.
  { name: 'hvm-nested-exits', mode: 'hvm-nested', filter: 'exits', input: 'true\npoweroff\n' },
  // The first instructions of the shell's `true` child in user space, natively.
  { name: 'native-user-start', mode: 'native', filter: 'priv=U,pc=0x10000-0x10040', input: 'true\npoweroff\n' },
];

describe('hvlab run --trace-filter: golden traces of hvos', () => {
  for (const t of TRACES) {
    it(`${t.name}: --mode ${t.mode} --trace-filter ${t.filter}`, () => {
      const r = hvlab([HVOS_ELF, '--mode', t.mode, '--trace-filter', t.filter], t.input);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('hvos$ poweroff');
      const golden = join(goldenDir, `${t.name}.txt`);
      if (process.env.UPDATE_GOLDEN) writeFileSync(golden, r.stderr, 'latin1');
      expect(r.stderr).toBe(readFileSync(golden, 'latin1'));
      expect(r.stderr.split('\n').length).toBeGreaterThan(5);
    }, 300_000);
  }
});

/** A --stats document without what depends on the host (wall time and what is derived from it). */
function stats(path: string): Record<string, unknown> {
  const s = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  for (const k of ['wallSeconds', 'mips', 'wall', 'image']) delete s[k];
  return s;
}

const SESSION = 'syscall 200\nspawn 3\nps\nmemwalk 16 2\nuptime\npoweroff\n';

describe('hvlab run --snapshot-at N FILE, --restore FILE', () => {
  for (const mode of ['native', 'trap-emulate', 'hvm-nested']) {
    it(`${mode}: the restored run goes on byte for byte as the uninterrupted one`, () => {
      const whole = hvlab([HVOS_ELF, '--mode', mode, '--stats', join(tmp, `${mode}-whole.json`)], SESSION);
      expect(whole.status).toBe(0);
      const snap = join(tmp, `${mode}.snap`);
      const taking = hvlab([HVOS_ELF, '--mode', mode, '--snapshot-at', '500000', snap, '--stats', join(tmp, `${mode}-taking.json`)], SESSION);
      expect(taking.status).toBe(0);
      // Taking the snapshot is invisible to the run.
      expect(taking.stdout).toBe(whole.stdout);
      expect(stats(join(tmp, `${mode}-taking.json`))).toEqual(stats(join(tmp, `${mode}-whole.json`)));
      const header = JSON.parse(readFileSync(snap, 'latin1').split('\n')[1]) as { instructions: string; outputBytes: number; linesDelivered: number };
      expect(header.instructions).toBe('500000');
      expect(header.linesDelivered).toBeGreaterThan(0);
      const restored = hvlab(['--restore', snap, '--stats', join(tmp, `${mode}-restored.json`)], SESSION);
      expect(restored.status).toBe(0);
      expect(restored.stdout.length).toBeGreaterThan(100);
      expect(restored.stdout).toBe(whole.stdout.slice(header.outputBytes));
      const a = stats(join(tmp, `${mode}-whole.json`));
      const b = stats(join(tmp, `${mode}-restored.json`));
      expect(b).toEqual(a);
    }, 300_000);
  }

  it('bad use is a one-line error', () => {
    const notSnap = join(tmp, 'not.snap');
    writeFileSync(notSnap, 'hello');
    expect(hvlab(['--restore', notSnap], '').stderr).toBe(`hvlab: ${notSnap}: not an hvlab snapshot (no 'hvlab-snapshot 1' header)\n`);
    expect(hvlab(['--restore', notSnap, HVOS_ELF], '').stderr).toBe(`hvlab: --restore ${notSnap} takes the machine from the snapshot: drop IMAGE ${HVOS_ELF}\n`);
    expect(hvlab([HVOS_ELF, '--snapshot-at', '100'], '').stderr).toBe('hvlab: --snapshot-at needs two values: N (instructions) and FILE\n');
    expect(hvlab([HVOS_ELF, '--snapshot-at', 'x', 'f'], '').stderr).toBe("hvlab: --snapshot-at: 'x' is not a positive whole number\n");
    const cut = join(tmp, 'cut.snap');
    writeFileSync(cut, 'hvlab-snapshot 1\n{"config":{"memMiB":128},"instructions":"1","outputBytes":0,"linesDelivered":0,"pendingInput":[]}\nxyz');
    expect(hvlab(['--restore', cut], '').stderr).toMatch(/^hvlab: snapshot is 3 bytes, this VM needs \d+ \(same memory size, I\/O path and core build\)\n$/);
    const late = hvlab([join(root, 'guests', 'prebuilt', 'hello.elf'), '--snapshot-at', '1000000000', join(tmp, 'never.snap')], '');
    expect(late.stderr).toMatch(/before --snapshot-at 1000000000: no snapshot written/);
  }, 60_000);
});
