// src/io against the real core (build/core.wasm): the records' layout the backends assume
// (src/io/layout.ts) is the one the core exports, and GuestMemory's guest-physical to linear
// translation agrees with the core's own (guestPageHost) in every mode, page by page, with the
// VM's scattered frames.
import { describe, expect, it } from 'vitest';
import { instantiateCore, type CoreHandle } from '../src/core.js';
import { loadCoreModule } from '../src/node/load-core.js';
import { CoreMemory, GuestMemory, PAGE } from '../src/io/memory.js';
import { readLayout, SLOT_BACKEND, SLOT_DEVICE_ID, Q_NUM, Q_READY } from '../src/io/layout.js';
import { MODES, RAM_BASE } from '../src/vm.js';

/** A core with a machine (and in a VM mode a VM) of `guestMiB` of guest RAM; `ramHost` is the
 * linear address of machine RAM. */
async function core(mode: typeof MODES[number], guestMiB: number): Promise<CoreHandle & { ramHost: number }> {
  const { module, instantiate } = await loadCoreModule();
  const h = await instantiateCore(instantiate, module, () => 0);
  const guestBytes = BigInt(guestMiB) << 20n;
  const machineBytes = mode === 'native' ? guestBytes : guestBytes + h.exports.vmOverheadBytes(guestBytes);
  const ramHost = h.exports.init(RAM_BASE, machineBytes, mode === 'native' ? 0 : 1, 0, 10n) >>> 0;
  expect(ramHost).not.toBe(0);
  if (mode !== 'native') expect(h.exports.vmCreate(MODES.indexOf(mode), guestBytes)).toBe(true);
  return { ...h, ramHost };
}

describe('src/io and the core agree', () => {
  it('slot and queue records: device ID at +0, backend at +28, queue records 48 bytes apart', async () => {
    const h = await core('native', 16);
    h.exports.setVirtioDevice(2, 2, 2);
    h.exports.setVirtioDevice(1, 3, 1);
    const layout = readLayout(h.exports);
    const m = new CoreMemory(h.memory);
    expect(m.u32(layout.slots[2] + SLOT_DEVICE_ID)).toBe(2);
    expect(m.u32(layout.slots[2] + SLOT_BACKEND)).toBe(2);
    expect(m.u32(layout.slots[1] + SLOT_DEVICE_ID)).toBe(3);
    expect(m.u32(layout.slots[1] + SLOT_BACKEND)).toBe(1);
    expect(layout.queues[1][1] - layout.queues[1][0]).toBe(48);
    expect(m.u32(layout.queues[1][0] + Q_NUM)).toBe(0);
    expect(m.u32(layout.queues[1][0] + Q_READY)).toBe(0);
  });

  for (const mode of MODES) {
    it(`GuestMemory translates as the core does (${mode})`, async () => {
      const guestMiB = 16;
      const h = await core(mode, guestMiB);
      const layout = readLayout(h.exports); // describes guest memory into the record
      const g = new GuestMemory(new CoreMemory(h.memory), layout.guestMap);
      const base = Number(RAM_BASE);
      const bytes = guestMiB << 20;
      // The core's answer: natively machine RAM at one offset; in a VM the page's frame
      // (guestPageHost gives the page's linear address).
      const coreLin = (gpa: number) => mode === 'native' ? h.ramHost + (gpa - base)
        : (h.exports.guestPageHost(BigInt(gpa)) >>> 0) + (gpa % PAGE);
      let scattered = 0;
      for (let off = 0; off < bytes; off += 97 * PAGE + 8) {
        const gpa = base + off;
        expect(g.lin(gpa, 8)).toBe(coreLin(gpa));
        if (off + PAGE < bytes && coreLin(gpa + PAGE) - coreLin(gpa) !== PAGE) scattered++;
      }
      // In a VM neighbouring guest pages are not neighbours in linear memory.
      expect(scattered > 0).toBe(mode !== 'native');
      expect(g.lin(base + bytes - 4, 4)).toBe(coreLin(base + bytes - 4));
      expect(g.lin(base + bytes, 1)).toBe(-1);
      expect(g.lin(base - 1, 1)).toBe(-1);
      expect(g.rangeOk(base, bytes)).toBe(true);
      expect(g.rangeOk(base, bytes + 1)).toBe(false);
    }, 60_000);
  }
});
