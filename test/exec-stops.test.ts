// Where the interpreter stops a straight-line run (assembly/cpu/exec.ts): at the budget's last
// instruction or at the end of the code page, whichever is first, for every kind of
// instruction. The page stop sits 2 bytes before the page's end, so an instruction in a page's
// last 4-byte slot steps over it: a stop tested with != there let the run go on past the page
// (reading the host memory beside it) and past the budget.
import { beforeAll, describe, expect, it } from 'vitest';
import { Vm, type CoreSource } from '../src/vm.js';
import { loadCoreModule } from '../src/node/load-core.js';
import { Stop } from '../src/core.js';

let source: CoreSource;
beforeAll(async () => { source = await loadCoreModule(); });

const RAM = 0x8000_0000n;
const A0 = 10;

/**
 * An M-mode program (firmware none): turn FP on, point t1 at RAM, jump to the page's last slot,
 * where `inst` runs; the next page adds 1 to a0 and loops.
 *   0x000 lui t0, 2; csrs mstatus, t0    mstatus.FS = Initial (FP instructions legal)
 *   0x008 auipc t1, 0                    t1 = 0x80000008, a RAM address for loads and stores
 *   0x00c j 0xffc
 *   0xffc inst
 *   0x1000 addi a0, a0, 1
 *   0x1004 j 0x1004
 */
function program(inst: number): Uint8Array {
  const words = new Uint32Array(0x1008 / 4);
  words.set([0x0000_22b7, 0x3002_a073, 0x0000_0317, 0x7f10_006f], 0);
  words[0xffc / 4] = inst;
  words[0x1000 / 4] = 0x0015_0513;
  words[0x1004 / 4] = 0x0000_006f;
  return new Uint8Array(words.buffer);
}

const FP_AT_PAGE_END: [string, number][] = [
  ['fld ft1, 0(t1)', 0x0003_3087],
  ['fsd ft1, 16(t1)', 0x0013_3827],
  ['fmadd.d ft1, ft1, ft1, ft1', 0x0a10_f0c3],
  ['fadd.d ft1, ft1, ft1', 0x0210_f0d3],
  ['addi a1, a1, 1 (an integer instruction, for comparison)', 0x0015_8593],
];

describe('a floating-point instruction in a page\'s last slot', () => {
  for (const [name, inst] of FP_AT_PAGE_END) {
    it(`${name}: run(5) ends right after it, at the next page, and run(1) goes on from there`, async () => {
      const vm = await Vm.create({ firmware: 'none' }, source);
      try {
        vm.load(program(inst), 'stop.bin', RAM);
        expect(vm.run(5).stop).toBe(Stop.Budget);
        expect(vm.instructions).toBe(5n);
        expect(vm.pc).toBe(RAM + 0x1000n);
        expect(vm.registers()[A0]).toBe(0n);
        expect(vm.run(1).stop).toBe(Stop.Budget);
        expect(vm.instructions).toBe(6n);
        expect(vm.pc).toBe(RAM + 0x1004n);
        expect(vm.registers()[A0]).toBe(1n);
      } finally { await vm.close(); }
    });
  }
});
