/**
 * GDB's `monitor` commands (qRcmd), documented in docs/debugger.md "Monitor commands":
 *   hv [on|off]        the hypervisor's view (the real hart) instead of the guest's; toggles
 *   phys ADDR [LEN]    a hex dump of physical memory (guest-physical in the guest's view)
 *   walk VA            the translation of VA in the current view
 *   info               mode, view, privilege, pc, instructions retired
 *   counters [PREFIX]  the nonzero counters (those starting with PREFIX)
 *   exits [N]          the last N VM exits from the exit log (default 8)
 *   help               this list
 * Every reply is text; a bad argument is a one-line error, not a failure of the packet.
 */
import { Debugger, DebugMemoryError } from '../debug.js';

const HELP = `monitor commands:
  hv [on|off]        show the hypervisor's view (the real hart) instead of the guest's
  phys ADDR [LEN]    hex dump of physical memory (guest-physical in the guest's view)
  walk VA            translate VA in the current view
  info               mode, view, privilege, pc, instructions
  counters [PREFIX]  nonzero counters
  exits [N]          the last N VM exits (default 8)
`;

const hex = (v: bigint) => `0x${v.toString(16)}`;

function parseNumber(text: string | undefined): bigint | undefined {
  if (text === undefined || !/^(0x[0-9a-f]+|\d+)$/i.test(text)) return undefined;
  return BigInt(text);
}

export function monitorCommand(dbg: Debugger, line: string): string {
  const [cmd, ...args] = line.trim().split(/\s+/);
  switch (cmd) {
    case 'hv': {
      const arg = args[0];
      if (arg !== undefined && arg !== 'on' && arg !== 'off') return `hv: '${arg}' is not on or off\n`;
      dbg.hypervisorView = arg === undefined ? !dbg.hypervisorView : arg === 'on';
      return `${dbg.hypervisorView ? "hypervisor's view (the real hart)" : "guest's view"}; privilege ${dbg.privilege().name}\n`;
    }
    case 'phys': {
      const addr = parseNumber(args[0]);
      const len = args[1] === undefined ? 64n : parseNumber(args[1]);
      if (addr === undefined || len === undefined || len <= 0n || len > 4096n) return 'phys: usage: phys ADDR [LEN], LEN 1..4096\n';
      try {
        return hexDump(addr, dbg.readMemory(addr, Number(len), true));
      } catch (e) {
        if (e instanceof DebugMemoryError) return `phys: ${e.message}\n`;
        throw e;
      }
    }
    case 'walk': {
      const va = parseNumber(args[0]);
      if (va === undefined) return 'walk: usage: walk VA\n';
      const pa = dbg.translate(va);
      const space = dbg.hypervisorView || dbg.vm.config.mode === 'native' || dbg.vm.config.mode === 'pv' ? 'host-physical' : 'guest-physical';
      return pa === undefined ? `walk: ${hex(va)} is not mapped\n` : `${hex(va)} -> ${space} ${hex(pa)}\n`;
    }
    case 'info': {
      const p = dbg.privilege();
      return `mode ${dbg.vm.config.mode}, ${dbg.hypervisorView ? "hypervisor's" : "guest's"} view, privilege ${p.name}, ` +
        `pc ${hex(dbg.pc)}, ${dbg.vm.instructions} instructions\n`;
    }
    case 'counters': {
      const prefix = (args[0] ?? '').toUpperCase();
      const lines = Object.entries(dbg.vm.counters()).filter(([k, v]) => v !== 0n && k.startsWith(prefix)).map(([k, v]) => `${k} ${v}`);
      return lines.length ? lines.join('\n') + '\n' : 'no such counter is nonzero\n';
    }
    case 'exits': {
      const n = args[0] === undefined ? 8n : parseNumber(args[0]);
      if (n === undefined || n <= 0n || n > 256n) return 'exits: usage: exits [N], N 1..256\n';
      const log = dbg.vm.exitLog(Number(n));
      if (log.length === 0) return 'no exits\n';
      return log.map((e) => `#${e.index} cause ${hex(e.cause)} pc ${hex(e.pc)} tval ${hex(e.tval)} at ${e.instructions}`).join('\n') + '\n';
    }
    case 'help': case '': case undefined: return HELP;
    default: return `unknown monitor command '${cmd}' (monitor help lists them)\n`;
  }
}

function hexDump(addr: bigint, bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const row = bytes.subarray(i, i + 16);
    lines.push(`${(addr + BigInt(i)).toString(16).padStart(16, '0')}  ${Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ')}`);
  }
  return lines.join('\n') + '\n';
}
