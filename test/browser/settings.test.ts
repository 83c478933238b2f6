/**
 * The page's settings and their URL form (web/settings.ts, web/images.ts), in Node: the image
 * choice (`image=`), its round trip, the race's default workload per image, pv refused for
 * Linux with the reason, and the note about emudisk under Linux.
 */
import { describe, test, expect } from 'vitest';
import { DEFAULTS, readSettings, settingsQuery } from '../../web/settings.js';
import { diskNote, modeRefusal } from '../../web/images.js';

describe('web settings: the image choice', () => {
  test('image=linux is read, written back, and round-trips with the other settings', () => {
    const { settings, notes } = readSettings('?mode=hvm-nested&io=core&disk=memory&image=linux');
    expect(notes).toEqual([]);
    expect(settings).toMatchObject({ mode: 'hvm-nested', io: 'core', disk: 'memory', image: 'linux' });
    const query = settingsQuery(settings);
    expect(query).toBe('?mode=hvm-nested&io=core&disk=memory&image=linux');
    expect(readSettings(query).settings).toEqual(settings);
    // hvos is the default: no parameter for it.
    expect(readSettings('').settings.image).toBe('hvos');
    expect(settingsQuery({ ...DEFAULTS })).toBe('');
  });

  test('an upload is not in the URL (a link cannot carry the file)', () => {
    expect(settingsQuery({ ...DEFAULTS, image: 'upload', memMiB: 64 })).toBe('?mem=64');
  });

  test('an unknown image falls back to hvos with a note', () => {
    const { settings, notes } = readSettings('?image=windows');
    expect(settings.image).toBe('hvos');
    expect(notes).toEqual(["unknown image 'windows' (hvos, linux); using hvos"]);
  });

  test('pv with Linux is refused with the reason; the mode falls back (native, or the race\'s default side)', () => {
    const single = readSettings('?image=linux&mode=pv');
    expect(single.settings.mode).toBe('native');
    expect(single.notes).toHaveLength(1);
    expect(single.notes[0]).toMatch(/^a stock Linux kernel cannot run in pv mode: pv needs a kernel written for hvlab's PV interface .*docs\/pv-abi\.md.*; using native$/);
    const side = readSettings('?view=side&a=hvm-shadow&b=pv&image=linux');
    expect([side.settings.mode, side.settings.modeB]).toEqual(['hvm-shadow', 'hvm-nested']);
    expect(side.notes[0]).toMatch(/cannot run in pv mode.*; using hvm-nested$/);
    // hvos runs in pv; Linux in every other mode.
    expect(readSettings('?mode=pv').settings.mode).toBe('pv');
    for (const mode of ['native', 'trap-emulate', 'hvm-shadow', 'hvm-nested']) expect(modeRefusal('linux', mode)).toBeUndefined();
    expect(modeRefusal('hvos', 'pv')).toBeUndefined();
  });

  test('the race\'s workload defaults to the image\'s (syscall for hvos, nullsys for Linux) and stays out of the URL', () => {
    expect(readSettings('?view=side').settings.workload).toBe('syscall 20000');
    const linux = readSettings('?view=side&image=linux').settings;
    expect(linux.workload).toBe('nullsys 20000');
    expect(settingsQuery(linux)).toBe('?view=side&a=trap-emulate&b=hvm-nested&image=linux');
    expect(settingsQuery({ ...linux, workload: 'forkwait 100' })).toBe('?view=side&a=trap-emulate&b=hvm-nested&run=forkwait+100&image=linux');
  });

  test('Linux with a disk on the emulated path is told it has no emudisk driver', () => {
    expect(diskNote({ image: 'linux', io: 'emulated', disk: 'memory' })).toMatch(/^Linux has no driver for emudisk .*virtio-blk disk, \/dev\/vda$/);
    expect(diskNote({ image: 'linux', io: 'core', disk: 'memory' })).toBeUndefined();
    expect(diskNote({ image: 'linux', io: 'emulated', disk: 'none' })).toBeUndefined();
    expect(diskNote({ image: 'hvos', io: 'emulated', disk: 'memory' })).toBeUndefined();
  });
});
