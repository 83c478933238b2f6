// The debugger (src/debug.ts, assembly/cpu/debug.ts; docs/debugger.md) on hvos: breakpoints
// by ELF symbol, single steps, watchpoints, CSRs and privilege in the guest's and the
// hypervisor's views, memory through the guest's translation; and determinism: a run
// continued through breakpoints and watchpoints prints and counts exactly what a run without
// a debugger does.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Debugger, type DebugStop } from '../src/debug.js';
import { inputLines, runScripted, Vm, type Mode } from '../src/vm.js';
import { loadCoreModule } from '../src/node/load-core.js';
import { parseElf } from '../src/loader/elf.js';
import { HVOS_ELF } from './support/hvos.js';

const image = new Uint8Array(readFileSync(HVOS_ELF));
const symbols = parseElf(image, { base: 0x8000_0000n, size: 128n << 20n }, 'hvos').symbols;
const sym = (name: string) => {
  const v = symbols.get(name);
  if (v === undefined) throw new Error(`hvos has no symbol ${name}`);
  return v;
};
const INPUT = 'syscall 3\nspawn 2\nps\npoweroff\n';
const LIMIT = 400_000_000;

async function boot(mode: Mode): Promise<Vm> {
  const vm = await Vm.create({ mode, firmware: 'builtin' }, await loadCoreModule());
  vm.load(image, 'hvos');
  return vm;
}

/** Continue through every stop until the guest ends, delivering input whenever it idles. */
function runDebugged(dbg: Debugger, input: string, onStop: (s: DebugStop) => void): string {
  const lines = inputLines(input);
  const deliver = () => {
    const next = lines.shift();
    if (next === undefined) return false;
    dbg.vm.sendInput(next);
    return true;
  };
  for (let i = 0; i < 100_000; i++) {
    const s = dbg.cont(LIMIT, deliver);
    if (s.kind === 'exited') return s.info.reason;
    if (s.kind === 'idle' || s.kind === 'stopped') return s.kind;
    onStop(s);
  }
  return 'too many stops';
}

describe('debugger: breakpoints and determinism', () => {
  for (const mode of ['native', 'trap-emulate', 'hvm-nested'] as Mode[]) {
    it(`${mode}: continuing through breakpoints and a watchpoint changes no output and no counter`, async () => {
      const plain = await boot(mode);
      const plainStop = await runScripted(plain, INPUT, LIMIT);
      expect(plainStop.reason).toBe('pass');

      const vm = await boot(mode);
      const dbg = new Debugger(vm);
      dbg.setBreakpoint(sym('syscall'));
      dbg.setBreakpoint(sym('usertrap'));
      // The current process, written at every context switch.
      dbg.setWatchpoint(sym('curproc'), 8n, 'write');
      const hits = new Map<string, number>();
      const end = runDebugged(dbg, INPUT, (s) => {
        const key = s.kind === 'breakpoint' ? `bp:${s.pc === sym('syscall') ? 'syscall' : s.pc === sym('usertrap') ? 'usertrap' : s.pc.toString(16)}`
          : s.kind === 'watchpoint' ? `watch:${s.watch}` : s.kind;
        hits.set(key, (hits.get(key) ?? 0) + 1);
        if (s.kind === 'breakpoint') expect(vm.pc).toBe(s.pc);
        if (s.kind === 'watchpoint') expect(s.address).toBe(sym('curproc'));
      });
      expect(end).toBe('pass');
      expect(hits.get('bp:syscall')).toBeGreaterThan(20);
      expect(hits.get('bp:usertrap')).toBeGreaterThanOrEqual(hits.get('bp:syscall')!);
      expect(hits.get('watch:write')).toBeGreaterThan(0);
      expect(vm.readConsole()).toBe(plain.readConsole());
      expect(vm.instructions).toBe(plain.instructions);
      expect(vm.counters()).toEqual(plain.counters());
    }, 240_000);
  }
});

describe('debugger: state at a system call', () => {
  for (const mode of ['native', 'trap-emulate', 'hvm-nested', 'hvm-shadow'] as Mode[]) {
    it(`${mode}: at syscall() the guest is in S-mode with scause = ecall from U`, async () => {
      const vm = await boot(mode);
      const dbg = new Debugger(vm);
      dbg.setBreakpoint(sym('syscall'));
      const lines = inputLines('true\n');
      const s = dbg.cont(LIMIT, () => { const l = lines.shift(); if (l) vm.sendInput(l); return !!l; });
      expect(s).toEqual({ kind: 'breakpoint', pc: sym('syscall') });
      expect(dbg.privilege()).toEqual({ level: 1, virt: false, name: 'S' });
      expect(dbg.csr(0x142)).toBe(8n); // scause: environment call from U-mode
      // sstatus.SPP = 0 (came from U), SPIE set by the trap.
      const sstatus = dbg.csr(0x100)!;
      expect(sstatus & 0x100n).toBe(0n);
      // The trapframe's a7 is the system call number; a0 (the trapframe) is readable through
      // the guest's translation, and sepc points at an ecall in the user program.
      const tf = dbg.registers()[10];
      const sepc = dbg.csr(0x141)!;
      expect(sepc).toBeLessThan(0x8000_0000n);
      const inst = dbg.readMemory(sepc, 4);
      expect(new DataView(inst.buffer).getUint32(0, true)).toBe(0x0000_0073); // ecall
      expect(dbg.readMemory(tf, 8).length).toBe(8);
      // A step runs one instruction.
      const pc0 = dbg.pc;
      const st = dbg.step();
      expect(st.kind).toBe('stopped');
      expect(dbg.pc).not.toBe(pc0);
      if (mode === 'native') {
        expect(dbg.csr(0x600)).toBeDefined(); // hstatus exists on the bare machine
      } else {
        // The guest has no H CSRs; the hypervisor's view shows the real hart.
        expect(dbg.csr(0x600)).toBeUndefined();
        dbg.hypervisorView = true;
        expect(dbg.csr(0x600)).toBeDefined();
        const p = dbg.privilege();
        if (mode === 'trap-emulate') expect(p).toEqual({ level: 0, virt: false, name: 'U' });
        else expect(p).toEqual({ level: 1, virt: true, name: 'VS' });
        dbg.hypervisorView = false;
      }
    }, 120_000);
  }

  for (const mode of ['native', 'trap-emulate', 'pv'] as Mode[]) {
    it(`${mode}: step over a trap: from a user ecall to the instruction after it, the handler run`, async () => {
      const vm = await boot(mode);
      const dbg = new Debugger(vm);
      const lines = inputLines('syscall 20\npoweroff\n');
      const feed = () => { const l = lines.shift(); if (l) vm.sendInput(l); return !!l; };
      // Stop in the kernel's syscall() a few times (the shell's reads, then the `syscall`
      // program's calls) and take the user ecall of the last one (sepc).
      dbg.setBreakpoint(sym('syscall'));
      let ecall = 0n;
      for (let i = 0; i < 6; i++) {
        expect(dbg.cont(LIMIT, feed).kind).toBe('breakpoint');
        ecall = dbg.csr(0x141)!;
      }
      dbg.clearBreakpoint(sym('syscall'));
      dbg.setBreakpoint(ecall);
      const at = dbg.cont(LIMIT, feed);
      expect(at).toEqual({ kind: 'breakpoint', pc: ecall });
      expect(dbg.privilege().level).toBe(0);
      dbg.clearBreakpoint(ecall);
      const before = vm.instructions;
      const s = dbg.stepOverTrap(LIMIT, feed);
      expect(s.kind).toBe('stopped');
      expect(dbg.privilege().level).toBe(0);
      expect(dbg.pc).toBe(ecall + 4n);
      // The kernel's handler ran in between.
      expect(vm.instructions - before).toBeGreaterThan(20n);
    }, 120_000);
  }

  it('memory: a fault is an error, physical reads see the same bytes, writes land', async () => {
    const vm = await boot('trap-emulate');
    const dbg = new Debugger(vm);
    dbg.setBreakpoint(sym('syscall'));
    const lines = inputLines('true\n');
    expect(dbg.cont(LIMIT, () => { const l = lines.shift(); if (l) vm.sendInput(l); return !!l; }).kind).toBe('breakpoint');
    expect(() => dbg.readMemory(0x10n, 4)).toThrow(/not mapped/);
    const va = sym('syscall');
    const pa = dbg.translate(va)!;
    expect(pa).toBeDefined();
    expect(dbg.readMemory(pa, 16, true)).toEqual(dbg.readMemory(va, 16));
    const buf = new Uint8Array([1, 2, 3, 4]);
    const at = dbg.registers()[2] - 64n; // below the kernel stack pointer
    const old = dbg.readMemory(at, 4);
    dbg.writeMemory(at, buf);
    expect(dbg.readMemory(at, 4)).toEqual(buf);
    dbg.writeMemory(at, old);
    // Reading through the translation walks the guest's tables without a trace: no counter
    // moves (no TLB fill, no walk reference) and no A/D bit is set.
    const c0 = vm.counters();
    dbg.readMemory(va, 4096);
    expect(vm.counters()).toEqual(c0);
  }, 120_000);
});
