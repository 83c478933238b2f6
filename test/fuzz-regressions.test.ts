// Bugs the fuzz campaigns found (docs/reliability.md "Bugs found"), each pinned by a test named
// after it.
import { describe, expect, it } from 'vitest';
import { Vm } from '../src/vm.js';
import { loadCoreModule } from '../src/node/load-core.js';
import { buildImage, CODE_BYTES, imageBase } from '../fuzz/harness.js';

describe('fuzz regressions', () => {
  // insn campaign, seed 1: under trap-emulate, run(2000) retired 2003 instructions. The run loop
  // charged the budget with what the interpreter executed, but an instruction the hypervisor
  // emulates in a trap inside the chunk retires too (assembly/hv/retire.ts), uncharged.
  it('budget-emulated-retire: run(n) never retires more than n when the hypervisor emulates instructions', async () => {
    for (const mode of ['trap-emulate', 'hvm-shadow'] as const) {
      const vm = await Vm.create({ mode, firmware: 'builtin', memMiB: 16 }, await loadCoreModule());
      // addi a0, a0, 1 then csrr a1, sscratch (trapped and emulated under trap-emulate; a satp
      // read under hvm-shadow is not, so add csrw satp, zero: VTVM makes it trap), j back.
      const code = new Uint8Array(CODE_BYTES);
      const dv = new DataView(code.buffer);
      const words = [0x0015_0513, 0x1400_25F3, 0x1800_1073, 0xFF5F_F06F];
      words.forEach((w, i) => dv.setUint32(i * 4, w, true));
      vm.load(buildImage('s', { code }), 'budget', imageBase('s'));
      let over = 0;
      for (let i = 0; i < 2000; i++) {
        const n = 1 + (i % 7);
        const before = vm.instructions;
        vm.run(n);
        if (vm.instructions - before > BigInt(n)) over++;
      }
      expect(over, mode).toBe(0);
      expect(vm.instructions).toBeGreaterThan(4000n);
    }
  });

  // loaders campaign, seed 1, inputs 97 and 720 (once the debugger's static data had moved the
  // I/O block pointer under the snapshot flips): a snapshot whose IO_BASE word was damaged was
  // restored, and the console's RX ring was then reached through it - a wasm out-of-bounds
  // trap in the core, an unaligned Atomics access in the host.
  it('snapshot-io-base: a snapshot with the I/O block pointer set is refused, and the VM runs on', async () => {
    const vm = await Vm.create({ mode: 'native', firmware: 'builtin', memMiB: 16 }, await loadCoreModule());
    const code = new Uint8Array(CODE_BYTES);
    new DataView(code.buffer).setUint32(0, 0x0000_006F, true); // j .
    vm.load(buildImage('s', { code }), 'loop', imageBase('s'));
    vm.run(1000);
    const good = vm.snapshot();
    const io = vm.debugAccess().core.ioBasePtr() >>> 0;
    for (const v of [0x0100_0000, 0x13, 0xFFFF_FFF0]) {
      const bad = good.slice();
      new DataView(bad.buffer).setUint32(io, v, true);
      expect(() => vm.restore(bad)).toThrow('snapshot is damaged: its I/O block pointer is set, and a VM alone has none');
      vm.run(1000);
    }
    vm.restore(good);
    vm.sendInput('x');
    expect(vm.run(1000).info).toBeUndefined();
  });

  it('loaders seed 1 input 328: a snapshot whose console ring indices are more than a ring apart is refused', async () => {
    // The fuzzer's mutation made the output ring's head run 4 GB ahead of its tail: the next
    // drain copied that much of the core's memory as console output and the decoder threw.
    const vm = await Vm.create({ mode: 'native', firmware: 'builtin', memMiB: 16 }, await loadCoreModule());
    const code = new Uint8Array(CODE_BYTES);
    new DataView(code.buffer).setUint32(0, 0x0000_006F, true); // j .
    vm.load(buildImage('s', { code }), 'loop', imageBase('s'));
    vm.run(1000);
    const good = vm.snapshot();
    const core = vm.debugAccess().core;
    for (const [ptr, size, which] of [[core.txRingPtr() >>> 0, core.txRingSize(), 'output'], [core.rxRingPtr() >>> 0, core.rxRingSize(), 'input']] as const) {
      const bad = good.slice();
      const dv = new DataView(bad.buffer);
      dv.setUint32(ptr, (dv.getUint32(ptr + 4, true) + size + 1) >>> 0, true);
      expect(() => vm.restore(bad)).toThrow(`snapshot is damaged: its console ${which} ring holds more than the ring's ${size} bytes`);
    }
    vm.restore(good);
    expect(vm.run(1000).info).toBeUndefined();
  });
});
