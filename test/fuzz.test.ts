// The fuzz targets' short fixed-seed runs (issue 17 item 2; docs/reliability.md): every target,
// every setup it covers, a fixed number of inputs from seed 1, under the full oracle (no host
// exception, budgets hold, hypervisor and core memory outside the VM untouched, shadow tables
// coherent). A failure prints its reproducer and the command that replays it. The long campaign
// is `npm run fuzz -- TARGET --seconds N`.
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { formatReport, runCampaign, type CampaignReport } from '../fuzz/campaign.js';
import { TARGETS } from '../fuzz/targets/index.js';
import { Machine } from '../fuzz/engine.js';
import { Code, OP, X, addi, ecall, jal, uType } from '../fuzz/asm.js';
import { xvmCase } from '../fuzz/targets/xvm.js';
import { Rng } from '../fuzz/rng.js';

const SEED = 1;
/** Inputs per target: about ten seconds each on the 2-core CI machine. */
const INPUTS: Record<string, number> = { insn: 600, pagetable: 480, mmio: 240, virtio: 480, sbi: 240, loaders: 1400, xvm: 16 };
/** Below this share of inputs reaching the code under test a target has stopped testing it. */
const MIN_REACH: Record<string, number> = { insn: 0.08, pagetable: 0.5, mmio: 0.6, virtio: 0.04, sbi: 0.6, loaders: 0.2, xvm: 0.5 };

function explain(r: CampaignReport): string {
  return r.failures.map((f) => `${f.kind} in ${f.setup} (input ${f.index}): ${f.message.split('\n')[0]}\n  reproducer: ${f.reproducer}\n  replay: ${f.command}`).join('\n');
}

describe('fuzz targets, fixed seed', () => {
  for (const t of TARGETS) {
    it(`${t.name}: ${INPUTS[t.name]} inputs, no failure, reach above ${MIN_REACH[t.name] * 100}%`, async () => {
      const r = await runCampaign(t, { seed: SEED, inputs: INPUTS[t.name], crashDir: join(tmpdir(), 'hvlab-fuzz-crashes') });
      console.log(formatReport(r));
      expect(r.failures, explain(r)).toEqual([]);
      expect(r.inputs).toBe(INPUTS[t.name]);
      expect(r.reached / r.inputs).toBeGreaterThan(MIN_REACH[t.name]);
      // Every setup (mode, firmware, I/O path; or loader kind) got its share.
      for (const b of Object.values(r.bySetup)) expect(b.inputs).toBeGreaterThan(0);
    }, 300_000);
  }
});

describe('the oracle can fail', () => {
  // Code that prints through the SBI debug console (DBCN write_byte, SBI v2.0 chapter 12) in a
  // loop: Vm.run hands each chunk of output to onConsole, where these tests misbehave as a buggy
  // core or host would.
  const printer = () => {
    const c = new Code();
    c.emit(uType(OP.LUI, X.a7, 0x44424), addi(X.a7, X.a7, 0x34E), addi(X.a6, X.zero, 2));
    c.emit(addi(X.a0, X.zero, 0x41), ecall(), jal(X.zero, -8));
    return c.bytes();
  };

  it('memory outside the VM that changes during an input is an escape', async () => {
    const m = await Machine.create({ mode: 'hvm-nested', firmware: 'builtin' });
    let done = false; // once: output arrives at every slice, and a second flip would undo the first
    m.vm.onConsole = () => { if (!done) { const ram = m.vm.ram(); new Uint8Array(ram.buffer)[ram.byteOffset - 8] ^= 1; done = true; } };
    expect(() => m.runCase({ input: { code: printer() }, budget: 5000, reached: () => true })).toThrow(/core memory outside the VM changed/);
  });

  // The xvm target's checks, each made to fire by a write the attacker could not have made.
  it('xvm: a change to the bystander\'s RAM is an escape', async () => {
    const c = xvmCase(new Rng(SEED, 0), 0, (host, { bystander }) => host.writeFrames(bystander, [7], new Uint8Array(4096).fill(1)));
    await expect(c.run()).rejects.toThrow("the bystander's RAM changed: it granted nothing");
  }, 60_000);

  it('xvm: a change to a victim page it did not grant writable is an escape', async () => {
    // Guest frame 0x200 is the victim's image's first page (its prologue): never granted.
    const c = xvmCase(new Rng(SEED, 1), 1, (host, { victim }) => host.writeFrames(victim, [0x200], new Uint8Array(4096).fill(3)));
    await expect(c.run()).rejects.toThrow(/the victim's page at 0x80200000 \(\+0x0\) changed: not granted writable to the attacker/);
  }, 60_000);

  it('a host exception during an input is a failure, not a crash of the runner', async () => {
    const m = await Machine.create({ mode: 'native', firmware: 'builtin' });
    m.vm.onConsole = () => { throw new TypeError('boom'); };
    expect(() => m.runCase({ input: { code: printer() }, budget: 5000, reached: () => true })).toThrow(/run: TypeError: boom/);
  });
});
